/// What the filter wants done with a message at end of message: header modifications and a final action.
public struct MilterDecision: Sendable, Hashable {
    /// The final action.
    public var action: MilterFinalAction
    /// Header modifications, sent in order before the final action.
    public var headerModifications: [MilterHeaderModification]

    /// Creates a decision.
    public init(action: MilterFinalAction, headerModifications: [MilterHeaderModification] = []) {
        self.action = action
        self.headerModifications = headerModifications
    }

    /// Accept without modifications.
    public static let accept = MilterDecision(action: .accept)
    /// Continue (equivalent to accept at end of message) without modifications.
    public static let `continue` = MilterDecision(action: .continue)
    /// Temporary failure with the MTA's default reply.
    public static let tempfail = MilterDecision(action: .tempfail(nil))
    /// Reject with the MTA's default reply.
    public static let reject = MilterDecision(action: .reject(nil))
    /// Accept and silently discard.
    public static let discard = MilterDecision(action: .discard)

    /// Reject with a specific reply.
    public static func reject(_ reply: MilterSMTPReply, headerModifications: [MilterHeaderModification] = []) -> Self {
        MilterDecision(action: .reject(reply), headerModifications: headerModifications)
    }

    /// Temporary failure with a specific reply.
    public static func tempfail(_ reply: MilterSMTPReply, headerModifications: [MilterHeaderModification] = []) -> Self {
        MilterDecision(action: .tempfail(reply), headerModifications: headerModifications)
    }
}

/// The final answer to end of message.
public enum MilterFinalAction: Sendable, Hashable {
    /// 'a': accept.
    case accept
    /// 'c': continue; at end of message the same as accept.
    case `continue`
    /// 'y' with the reply, or 'r' (MTA default, Postfix `550 5.7.1 Command rejected`) when `nil`.
    /// The reply's code decides whether the MTA rejects permanently; use a 5xx reply.
    case reject(MilterSMTPReply?)
    /// 'y' with the reply, or 't' (MTA default, Postfix `451 4.7.1 Service unavailable`) when `nil`.
    /// Use a 4xx reply.
    case tempfail(MilterSMTPReply?)
    /// 'd': accept and silently drop.
    case discard
    /// 'q' with the reason (Postfix: hold queue), then 'a'. Requires `SMFIF_QUARANTINE`; when the
    /// MTA did not grant it, the message is only accepted.
    case quarantine(reason: String)
}

/// What to do when the decision function fails or times out.
public enum MilterFaultAction: Sendable, Hashable {
    /// Answer 't' so the MTA retries later (fail closed, the default).
    case tempfail
    /// Answer 'a' so mail flows unscanned (fail open).
    case accept

    /// The equivalent decision.
    public var decision: MilterDecision {
        switch self {
        case .tempfail: .tempfail
        case .accept: .accept
        }
    }
}

/// A validated header modification.
///
/// Values are given as they should appear after `"Name: "`, without the leading space; folded
/// values use LF or CRLF followed by a space or tab. The state machine adds the leading space when
/// `SMFIP_HDR_LEADSPC` was negotiated (otherwise the MTA adds it).
public struct MilterHeaderModification: Sendable, Hashable {
    /// The kind of modification.
    public enum Operation: Sendable, Hashable {
        /// 'h': append after the last header.
        case add
        /// 'i': insert at a position, 0 = before the first header. (Postfix counts its own
        /// `Received:` header, which the filter does not see.)
        case insert(index: UInt32)
        /// 'm': replace the value of the n-th (1-based) header with this name.
        case change(occurrence: UInt32)
        /// 'm' with an empty value: delete the n-th (1-based) header with this name.
        case delete(occurrence: UInt32)
    }

    /// The operation.
    public let operation: Operation
    /// The header name.
    public let name: String
    /// The value as sent to the MTA (LF line breaks), empty for delete.
    public let value: String

    private init(operation: Operation, name: String, value: String) {
        self.operation = operation
        self.name = name
        self.value = value
    }

    /// Appends a header.
    public static func add(name: String, value: String) throws(MilterProtocolError) -> Self {
        Self(operation: .add, name: try Self.validName(name), value: try Self.validValue(value))
    }

    /// Inserts a header at `index` (0 = first).
    public static func insert(at index: Int, name: String, value: String) throws(MilterProtocolError) -> Self {
        guard index >= 0, index < Int(Int32.max) else {
            throw MilterProtocolError(code: .invalidHeader, message: "insert index out of range")
        }
        return Self(operation: .insert(index: UInt32(index)), name: try Self.validName(name), value: try Self.validValue(value))
    }

    /// Changes the `occurrence`-th (1-based) header called `name`. An empty value deletes it.
    public static func change(name: String, occurrence: Int = 1, value: String) throws(MilterProtocolError) -> Self {
        let occurrence = try Self.validOccurrence(occurrence)
        let value = try Self.validValue(value)
        return Self(
            operation: value.isEmpty ? .delete(occurrence: occurrence) : .change(occurrence: occurrence),
            name: try Self.validName(name), value: value)
    }

    /// Deletes the `occurrence`-th (1-based) header called `name`.
    public static func delete(name: String, occurrence: Int = 1) throws(MilterProtocolError) -> Self {
        Self(operation: .delete(occurrence: try Self.validOccurrence(occurrence)), name: try Self.validName(name), value: "")
    }

    private static func validOccurrence(_ occurrence: Int) throws(MilterProtocolError) -> UInt32 {
        guard occurrence >= 1, occurrence < Int(Int32.max) else {
            throw MilterProtocolError(code: .invalidHeader, message: "header occurrence must be 1 or more")
        }
        return UInt32(occurrence)
    }

    private static func validName(_ name: String) throws(MilterProtocolError) -> String {
        guard !name.isEmpty, name.utf8.count <= 255,
            name.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ":") })
        else {
            throw MilterProtocolError(
                code: .invalidHeader, message: "header name must be 1-255 printable ASCII characters without ':'")
        }
        return name
    }

    /// Normalises CRLF to LF and checks that every line break is followed by folding whitespace
    /// (anything else would inject a header or end the header section) and that no other control
    /// characters appear.
    private static func validValue(_ value: String) throws(MilterProtocolError) -> String {
        let bytes = Array(value.utf8)
        guard bytes.count <= 65_000 else {
            throw MilterProtocolError(code: .invalidHeader, message: "header value longer than 65000 bytes")
        }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                index += 1
                continue
            }
            if byte == 0x0A {
                guard index + 1 < bytes.count, bytes[index + 1] == 0x20 || bytes[index + 1] == 0x09 else {
                    throw MilterProtocolError(
                        code: .invalidHeader, message: "line break in header value not followed by whitespace")
                }
            } else if byte < 0x20 && byte != 0x09 || byte == 0x7F {
                throw MilterProtocolError(code: .invalidHeader, message: "control character in header value")
            }
            result.append(byte)
            index += 1
        }
        return String(decoding: result, as: UTF8.self)
    }
}
