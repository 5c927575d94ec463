import NIOCore

/// A response from the filter to the MTA (`SMFIR_*`).
///
/// Build header and reply responses through ``MilterDecision`` / ``MilterHeaderModification`` /
/// ``MilterSMTPReply``, which validate their input; the encoder only removes NUL bytes, which the
/// wire format cannot carry inside strings.
public indirect enum MilterResponse: Sendable, Hashable {
    /// 'c': continue (at end of message: accept).
    case `continue`
    /// 'a': accept the message.
    case accept
    /// 'r': reject with the MTA's default 5xx reply.
    case reject
    /// 't': temporary failure with the MTA's default 4xx reply.
    case tempfail
    /// 'd': accept and silently discard.
    case discard
    /// 'y': reply with a specific SMTP code, enhanced status and text.
    case replyCode(MilterSMTPReply)
    /// 'h': append a header.
    case addHeader(name: String, value: String)
    /// 'i': insert a header at `index` (0 = before the first header).
    case insertHeader(index: UInt32, name: String, value: String)
    /// 'm': change the `index`-th (1-based) header called `name`; an empty value deletes it.
    case changeHeader(index: UInt32, name: String, value: String)
    /// 'q': quarantine the message with a reason (a modification, followed by a final response).
    case quarantine(reason: String)
    /// 'p': progress; resets the MTA's timer while the filter works.
    case progress
    /// 's': skip further events of this kind (body chunks), if `SMFIP_SKIP` was negotiated.
    case skip
    /// 'O': the filter's option negotiation reply.
    case optionNegotiation(MilterOptions)

    /// The wire response code.
    public var code: UInt8 {
        switch self {
        case .continue: Milter.ResponseCode.continue
        case .accept: Milter.ResponseCode.accept
        case .reject: Milter.ResponseCode.reject
        case .tempfail: Milter.ResponseCode.tempfail
        case .discard: Milter.ResponseCode.discard
        case .replyCode: Milter.ResponseCode.replyCode
        case .addHeader: Milter.ResponseCode.addHeader
        case .insertHeader: Milter.ResponseCode.insertHeader
        case .changeHeader: Milter.ResponseCode.changeHeader
        case .quarantine: Milter.ResponseCode.quarantine
        case .progress: Milter.ResponseCode.progress
        case .skip: Milter.ResponseCode.skip
        case .optionNegotiation: Milter.ResponseCode.optionNegotiation
        }
    }

    /// Appends the complete frame (length, code, payload) to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(self.code)
        switch self {
        case .continue, .accept, .reject, .tempfail, .discard, .progress, .skip:
            break
        case .replyCode(let reply):
            Self.writeCString(reply.wireText, to: &buffer)
        case .addHeader(let name, let value):
            Self.writeCString(name, to: &buffer)
            Self.writeCString(value, to: &buffer)
        case .insertHeader(let index, let name, let value), .changeHeader(let index, let name, let value):
            buffer.writeInteger(index)
            Self.writeCString(name, to: &buffer)
            Self.writeCString(value, to: &buffer)
        case .quarantine(let reason):
            Self.writeCString(reason, to: &buffer)
        case .optionNegotiation(let options):
            buffer.writeInteger(options.version)
            buffer.writeInteger(options.actions.rawValue)
            buffer.writeInteger(options.protocolFlags.rawValue)
        }
        let length = buffer.writerIndex - lengthIndex - 4
        buffer.setInteger(UInt32(truncatingIfNeeded: length), at: lengthIndex)
    }

    private static func writeCString(_ string: String, to buffer: inout ByteBuffer) {
        for byte in string.utf8 where byte != 0 {
            buffer.writeInteger(byte)
        }
        buffer.writeInteger(UInt8(0))
    }
}

/// Encodes ``MilterResponse``s into frames; for `MessageToByteHandler`.
public struct MilterResponseEncoder: MessageToByteEncoder, Sendable {
    /// The encoded message type.
    public typealias OutboundIn = MilterResponse

    /// Creates an encoder.
    public init() {}

    /// Writes one frame.
    public func encode(data: MilterResponse, out: inout ByteBuffer) throws {
        data.encode(into: &out)
    }
}

/// A validated SMTP reply for `SMFIR_REPLYCODE`: a 4xx/5xx code, an RFC 3463 enhanced status whose
/// class matches the code, and a single line of text.
public struct MilterSMTPReply: Sendable, Hashable, CustomStringConvertible {
    /// The three-digit reply code, 400...599.
    public let code: Int
    /// The enhanced status code, e.g. `5.7.1`.
    public let enhancedStatus: String
    /// The reply text, unescaped.
    public let text: String

    /// Validates and creates a reply.
    ///
    /// - Parameters:
    ///   - code: 400...599.
    ///   - enhancedStatus: `class.subject.detail` with `class` equal to the code's first digit;
    ///     `nil` means `X.0.0` (Postfix refuses replies whose text does not start with the code's class).
    ///   - text: printable ASCII and tabs, no CR/LF; '%' is allowed and escaped on the wire.
    /// - Throws: ``MilterProtocolError`` with code ``MilterProtocolError/Code/invalidReply``.
    public init(code: Int, enhancedStatus: String? = nil, text: String) throws(MilterProtocolError) {
        guard (400...599).contains(code) else {
            throw MilterProtocolError(code: .invalidReply, message: "reply code \(code) is not 4xx or 5xx")
        }
        let replyClass = code / 100
        let status = enhancedStatus ?? "\(replyClass).0.0"
        let parts = status.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "\(replyClass)",
            parts[1...].allSatisfy({ (1...3).contains($0.utf8.count) && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } })
        else {
            throw MilterProtocolError(
                code: .invalidReply, message: "enhanced status code is malformed or does not match the reply class")
        }
        guard text.utf8.allSatisfy({ $0 == 0x09 || (0x20...0x7E).contains($0) }) else {
            throw MilterProtocolError(
                code: .invalidReply, message: "reply text must be printable ASCII without CR, LF or NUL")
        }
        guard text.utf8.count <= 450 else {
            throw MilterProtocolError(code: .invalidReply, message: "reply text longer than 450 bytes")
        }
        self.code = code
        self.enhancedStatus = status
        self.text = text
    }

    /// `"550 5.7.1 text"` without escaping.
    public var description: String {
        self.text.isEmpty ? "\(self.code) \(self.enhancedStatus)" : "\(self.code) \(self.enhancedStatus) \(self.text)"
    }

    /// The text sent in `SMFIR_REPLYCODE`: like ``description`` with every '%' doubled (libmilter
    /// rule; Sendmail formats the reply with printf, Postfix undoubles it).
    public var wireText: String {
        self.description.replacingPercent()
    }
}

extension String {
    fileprivate func replacingPercent() -> String {
        guard self.utf8.contains(UInt8(ascii: "%")) else { return self }
        var result = ""
        result.reserveCapacity(self.utf8.count + 4)
        for character in self {
            if character == "%" {
                result.append("%%")
            } else {
                result.append(character)
            }
        }
        return result
    }
}
