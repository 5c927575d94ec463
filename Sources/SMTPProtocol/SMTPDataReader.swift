import NIOCore

/// Reads a message after DATA: removes dot-stuffing, finds the end-of-data line, and stops
/// keeping bytes past a size limit (it still reads to the end so the session stays in step).
///
/// Lines keep their own line ends (bytes stay bytes); a bare LF is counted. The end is a line
/// holding only `.` (`.` CRLF, or `.` LF, which also counts as a bare LF).
public struct SMTPDataReader: Sendable {
    /// The most message bytes kept; more makes the result ``Message/oversize``.
    public let maximumMessageBytes: Int
    private var kept: [UInt8] = []
    private var total = 0
    private var atLineStart = true
    /// Lines that ended in LF without CR so far.
    public private(set) var bareLineFeeds = 0

    /// A finished message.
    public struct Message: Sendable, Hashable {
        /// The unstuffed message (empty when oversize).
        public var bytes: [UInt8]
        /// Its size on the wire after unstuffing, also when oversize.
        public var size: Int
        /// The message was larger than the limit; `bytes` is empty.
        public var oversize: Bool
        /// Lines that ended in a bare LF.
        public var bareLineFeeds: Int

        public init(bytes: [UInt8], size: Int, oversize: Bool, bareLineFeeds: Int) {
            self.bytes = bytes
            self.size = size
            self.oversize = oversize
            self.bareLineFeeds = bareLineFeeds
        }
    }

    public init(maximumMessageBytes: Int) {
        self.maximumMessageBytes = max(0, maximumMessageBytes)
    }

    /// Consumes what it can from `buffer`; returns the message once the end-of-data line is read
    /// (bytes after it stay in the buffer), nil while more is needed.
    public mutating func read(from buffer: inout ByteBuffer) -> Message? {
        while buffer.readableBytes > 0 {
            let view = buffer.readableBytesView
            let start = view.startIndex
            if atLineStart, view[start] == UInt8(ascii: ".") {
                // ".\r\n", ".\n" end the data; ".x" is stuffed.
                guard view.count >= 2 else { return nil }
                if view[start + 1] == 0x0A {
                    bareLineFeeds += 1
                    buffer.moveReaderIndex(forwardBy: 2)
                    return finish()
                }
                if view[start + 1] == 0x0D {
                    guard view.count >= 3 else { return nil }
                    if view[start + 2] == 0x0A {
                        buffer.moveReaderIndex(forwardBy: 3)
                        return finish()
                    }
                }
                buffer.moveReaderIndex(forwardBy: 1)  // the stuffed dot
                atLineStart = false
                continue
            }
            if let lf = view.firstIndex(of: 0x0A) {
                if !(lf > start && view[lf - 1] == 0x0D) && !(lf == start && lastKeptWasCR) { bareLineFeeds += 1 }
                append(view[start...lf])
                buffer.moveReaderIndex(forwardBy: lf - start + 1)
                atLineStart = true
            } else {
                append(view[start...])
                buffer.moveReaderIndex(forwardBy: view.count)
                atLineStart = false
            }
        }
        return nil
    }

    private var lastKeptWasCR = false

    private mutating func append(_ bytes: ByteBufferView.SubSequence) {
        total += bytes.count
        lastKeptWasCR = bytes.last == 0x0D
        if total <= maximumMessageBytes {
            kept.append(contentsOf: bytes)
        } else if !kept.isEmpty {
            kept = []
        }
    }

    private mutating func finish() -> Message {
        let oversize = total > maximumMessageBytes
        let m = Message(bytes: oversize ? [] : kept, size: total, oversize: oversize, bareLineFeeds: bareLineFeeds)
        kept = []
        total = 0
        bareLineFeeds = 0
        atLineStart = true
        lastKeptWasCR = false
        return m
    }
}

/// ``SMTPDataReader`` as a decoder (for tests and for pipelines that only carry message bodies).
public struct SMTPDataDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = SMTPDataReader.Message
    private var reader: SMTPDataReader

    public init(maximumMessageBytes: Int) {
        reader = SMTPDataReader(maximumMessageBytes: maximumMessageBytes)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> SMTPDataReader.Message? {
        reader.read(from: &buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> SMTPDataReader.Message? {
        reader.read(from: &buffer)
    }
}
