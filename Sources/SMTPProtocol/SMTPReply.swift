import NIOCore

/// A server reply: a three-digit code and one or more text lines.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    /// The text lines (each without the code and separator). At least one, possibly empty.
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    public init(_ code: Int, _ text: String) {
        self.init(code: code, lines: [text])
    }

    /// 2xx.
    public var isPositive: Bool { (200..<300).contains(code) }
    /// 3xx (354 after DATA).
    public var isIntermediate: Bool { (300..<400).contains(code) }
    /// 4xx.
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    /// 5xx.
    public var isPermanentFailure: Bool { (500..<600).contains(code) }

    /// All lines joined with a space.
    public var text: String { lines.joined(separator: " ") }

    public var description: String { "\(code) \(text)" }

    /// Writes the reply: `code-text` CRLF for every line but the last, `code text` CRLF for it.
    /// CR and LF inside a line are replaced by spaces so a reply can never split.
    public func encode(into buffer: inout ByteBuffer) {
        let c = String(max(100, min(999, code)))
        for (i, line) in lines.enumerated() {
            buffer.writeString(c)
            buffer.writeInteger(i == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if line.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
                buffer.writeBytes(line.utf8.map { $0 == 0x0D || $0 == 0x0A ? 0x20 : $0 })
            } else {
                buffer.writeString(line)  // no array made per line (the usual case)
            }
            buffer.writeBytes([0x0D, 0x0A])
        }
    }

    /// The encoded bytes.
    public var bytes: ByteBuffer {
        var b = ByteBuffer()
        encode(into: &b)
        return b
    }
}

/// Encodes ``SMTPReply`` values in a channel pipeline.
public struct SMTPReplyEncoder: MessageToByteEncoder {
    public typealias OutboundIn = SMTPReply
    public init() {}
    public func encode(data: SMTPReply, out: inout ByteBuffer) throws { data.encode(into: &out) }
}

/// Client side: decodes a server's replies, single- and multi-line.
///
/// Lines are bounded by ``SMTP/maximumReplyLineLength`` and a reply by ``SMTP/maximumReplyLines``.
/// A line that does not start with three digits followed by space, hyphen or the line end throws
/// ``SMTPProtocolError/Code/malformedReply``; a continuation line with a different code too.
public struct SMTPReplyDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = SMTPReply
    private var lineDecoder = SMTPLineDecoder(maximumLineLength: SMTP.maximumReplyLineLength)
    private var pendingCode: Int?
    private var pendingLines: [String] = []

    public init() {}

    public mutating func decode(buffer: inout ByteBuffer) throws -> SMTPReply? {
        while let line = try lineDecoder.decode(buffer: &buffer) {
            let b = line.bytes
            guard b.count >= 3, b[0...2].allSatisfy({ (0x30...0x39).contains($0) }),
                b.count == 3 || b[3] == 0x20 || b[3] == 0x2D
            else {
                throw SMTPProtocolError(code: .malformedReply, message: "reply line does not start with a code")
            }
            let code = Int(b[0] - 0x30) * 100 + Int(b[1] - 0x30) * 10 + Int(b[2] - 0x30)
            if let p = pendingCode, p != code {
                throw SMTPProtocolError(code: .malformedReply, message: "continuation with code \(code) after \(p)")
            }
            pendingCode = code
            pendingLines.append(b.count > 4 ? String(decoding: b[4...], as: UTF8.self) : "")
            if pendingLines.count > SMTP.maximumReplyLines {
                throw SMTPProtocolError(code: .replyTooLong, message: "more than \(SMTP.maximumReplyLines) lines")
            }
            if b.count == 3 || b[3] == 0x20 {
                let reply = SMTPReply(code: code, lines: pendingLines)
                pendingCode = nil
                pendingLines = []
                return reply
            }
        }
        return nil
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> SMTPReply? {
        try decode(buffer: &buffer)
    }
}
