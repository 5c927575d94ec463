/// A DNS message that could not be decoded or encoded: what went wrong and the byte offset
/// where it was found. Never carries the payload.
public struct DNSWireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case truncated, pointerLoop, pointerForward, nameTooLong, labelTooLong, badLabelType,
                rdataLengthMismatch, messageTooLong, invalidName, tooManyRecords, trailingBytes
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The message ended in the middle of a field.
        public static let truncated = Code(.truncated)
        /// A compression pointer chain is longer than ``DNSWireLimits/maxPointerHops``.
        public static let pointerLoop = Code(.pointerLoop)
        /// A compression pointer points at or after itself (the way loops are built).
        public static let pointerForward = Code(.pointerForward)
        /// A domain name is longer than 255 bytes in wire form.
        public static let nameTooLong = Code(.nameTooLong)
        /// A label is longer than 63 bytes.
        public static let labelTooLong = Code(.labelTooLong)
        /// A label length byte with the reserved top bits 01 or 10 (RFC 6891 section 5).
        public static let badLabelType = Code(.badLabelType)
        /// A record's data does not have the length its RDLENGTH says.
        public static let rdataLengthMismatch = Code(.rdataLengthMismatch)
        /// The encoded message would exceed 65,535 bytes.
        public static let messageTooLong = Code(.messageTooLong)
        /// A name given as text is not a valid domain name.
        public static let invalidName = Code(.invalidName)
        /// More records than ``DNSWireLimits/maxRecords``.
        public static let tooManyRecords = Code(.tooManyRecords)
        /// Bytes after the last record.
        public static let trailingBytes = Code(.trailingBytes)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// Byte offset in the message where the problem was found.
    public var offset: Int

    public init(code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "DNSWireError.\(code) at byte \(offset)" }
}

/// The bounds the decoder enforces.
public enum DNSWireLimits {
    /// Longest domain name in wire form (RFC 1035 section 3.1).
    public static let maxNameBytes = 255
    /// Longest label (RFC 1035 section 3.1).
    public static let maxLabelBytes = 63
    /// Most compression pointers followed while reading one name.
    public static let maxPointerHops = 64
    /// Most records across all sections of one message.
    public static let maxRecords = 4096
    /// Largest message (the TCP length prefix is 16 bits).
    public static let maxMessageBytes = 65535
}
