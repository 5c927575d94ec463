import NIOCore

/// One command line as the client sent it, without its line end.
public struct SMTPLine: Sendable, Hashable {
    /// The line's bytes, without CRLF (or the bare LF).
    public var bytes: [UInt8]
    /// The line ended in a bare LF instead of CRLF (a protocol anomaly bots show).
    public var bareLF: Bool

    public init(_ bytes: [UInt8], bareLF: Bool = false) {
        self.bytes = bytes
        self.bareLF = bareLF
    }

    public init(_ text: String, bareLF: Bool = false) {
        self.init(Array(text.utf8), bareLF: bareLF)
    }

    /// The line as text (lossy for invalid UTF-8; commands are ASCII or UTF-8 with SMTPUTF8).
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Splits the client's byte stream into command lines.
///
/// - A line ends at LF; a CR before it is removed, and a bare LF is reported on the line.
/// - A line longer than ``maximumLineLength`` bytes (without the line end) throws
///   ``SMTPProtocolError/Code/lineTooLong`` as soon as that many bytes have arrived without an LF.
/// - Scans each byte once even when the input arrives a byte at a time.
///
/// Pipelining is the caller's judgement: after a line is returned, `buffer.readableBytes > 0`
/// means the client sent more before it saw the reply.
public struct SMTPLineDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = SMTPLine

    /// RFC 5321 §4.5.3.1.4 allows 512 octets per command line; extensions raise it. Default 2048.
    public let maximumLineLength: Int
    private var scanned = 0

    public init(maximumLineLength: Int = SMTP.maximumCommandLineLength) {
        self.maximumLineLength = max(16, maximumLineLength)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> SMTPLine? {
        let view = buffer.readableBytesView
        let start = view.startIndex
        guard let lf = view[(start + scanned)...].firstIndex(of: 0x0A) else {
            scanned = view.count
            if view.count > maximumLineLength + 1 {
                throw SMTPProtocolError(code: .lineTooLong, message: "no line end within \(maximumLineLength) bytes")
            }
            return nil
        }
        scanned = 0
        var end = lf
        let bareLF = !(lf > start && view[lf - 1] == 0x0D)
        if !bareLF { end = lf - 1 }
        guard end - start <= maximumLineLength else {
            throw SMTPProtocolError(code: .lineTooLong, message: "line of \(end - start) bytes")
        }
        let line = Array(view[start..<end])
        buffer.moveReaderIndex(forwardBy: lf - start + 1)
        return SMTPLine(line, bareLF: bareLF)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> SMTPLine? {
        try decode(buffer: &buffer)
    }
}

/// Protocol constants.
public enum SMTP {
    /// The longest command line accepted by default (RFC 5321 allows 512; extensions such as
    /// SIZE, SMTPUTF8 parameters and XCLIENT need more).
    public static let maximumCommandLineLength = 2048
    /// The longest reply line the client decoder accepts.
    public static let maximumReplyLineLength = 2048
    /// The most lines a multi-line reply may have.
    public static let maximumReplyLines = 100
}
