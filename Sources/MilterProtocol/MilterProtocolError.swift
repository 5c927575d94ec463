/// An error of the milter protocol layer: a malformed or oversized frame, a command out of order,
/// an invalid value handed to a response builder, or a timeout.
public struct MilterProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of error; compare against the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) {
            self.name = name
        }

        /// A frame's length field is zero or does not fit a signed 32-bit integer.
        public static let invalidFrameLength = Code("invalidFrameLength")
        /// A frame's length field exceeds the configured maximum frame size.
        public static let frameTooLarge = Code("frameTooLarge")
        /// A command's payload does not have the structure its command code requires.
        public static let malformedPayload = Code("malformedPayload")
        /// A command arrived in a state where the protocol does not allow it.
        public static let unexpectedCommand = Code("unexpectedCommand")
        /// A command code this library does not know.
        public static let unrecognizedCommand = Code("unrecognizedCommand")
        /// The MTA offered a protocol version below ``Milter/minimumProtocolVersion``.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// An SMTP reply (code, enhanced status or text) that the MTA would refuse.
        public static let invalidReply = Code("invalidReply")
        /// A header name or value that cannot be sent to the MTA.
        public static let invalidHeader = Code("invalidHeader")
        /// The decision function did not answer in time.
        public static let decisionTimeout = Code("decisionTimeout")

        /// The code's name.
        public var description: String { self.name }
    }

    /// The kind of error.
    public let code: Code
    /// A human-readable explanation; never contains message content.
    public let message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `"<code>: <message>"`.
    public var description: String { "\(self.code): \(self.message)" }
}
