/// An SMTP wire error: a line over the limit, a malformed reply, an oversized reply.
public struct SMTPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case lineTooLong, malformedReply, replyTooLong }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A command or data line longer than the configured limit.
        public static let lineTooLong = Code(.lineTooLong)
        /// A reply line that does not start with three digits and a space or hyphen.
        public static let malformedReply = Code(.malformedReply)
        /// A multi-line reply with more lines than the limit.
        public static let replyTooLong = Code(.replyTooLong)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// A short explanation (never the payload).
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SMTPProtocolError(\(code)): \(message)" }
}
