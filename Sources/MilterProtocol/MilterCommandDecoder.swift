import NIOCore

/// Decodes milter frames (`uint32 length`, `char command`, `data[length - 1]`) into ``MilterCommand``s.
///
/// - Returns `nil` (need more data) without moving the reader index while a frame is incomplete.
/// - Throws ``MilterProtocolError`` with ``MilterProtocolError/Code/invalidFrameLength`` for a zero
///   or negative length and ``MilterProtocolError/Code/frameTooLarge`` for a length above
///   ``maximumFrameSize``, as soon as the four length bytes are available.
/// - Throws ``MilterProtocolError/Code/malformedPayload`` when a known command's payload is unusable.
///   Missing NUL terminators at the end of a payload are tolerated.
/// - Unknown command codes decode to ``MilterCommand/unrecognized(code:payload:)``.
public struct MilterCommandDecoder: NIOSingleStepByteToMessageDecoder {
    /// The decoded message type.
    public typealias InboundOut = MilterCommand

    /// The largest accepted value of a frame's length field (command byte plus payload).
    public let maximumFrameSize: Int

    /// Creates a decoder.
    /// - Parameter maximumFrameSize: the largest accepted frame length, default 1 MiB.
    public init(maximumFrameSize: Int = Milter.defaultMaximumFrameSize) {
        self.maximumFrameSize = max(1, maximumFrameSize)
    }

    /// Decodes one command if a whole frame is available.
    public mutating func decode(buffer: inout ByteBuffer) throws -> MilterCommand? {
        guard let rawLength = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return nil
        }
        guard rawLength != 0, rawLength <= UInt32(Int32.max) else {
            throw MilterProtocolError(
                code: .invalidFrameLength, message: "frame length \(Int32(bitPattern: rawLength)) is not positive")
        }
        let length = Int(rawLength)
        guard length <= self.maximumFrameSize else {
            throw MilterProtocolError(
                code: .frameTooLarge, message: "frame length \(length) exceeds maximum \(self.maximumFrameSize)")
        }
        guard buffer.readableBytes >= 4 + length,
            var frame = buffer.getSlice(at: buffer.readerIndex + 4, length: length),
            let code = frame.readInteger(as: UInt8.self)
        else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: 4 + length)
        return try Self.parse(code: code, payload: frame)
    }

    /// Decodes what is left when the connection closes; an incomplete frame is dropped.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> MilterCommand? {
        try self.decode(buffer: &buffer)
    }

    /// Parses one command payload (the bytes after the command code).
    public static func parse(code: UInt8, payload: ByteBuffer) throws(MilterProtocolError) -> MilterCommand {
        var payload = payload
        switch code {
        case Milter.CommandCode.optionNegotiation:
            guard let version = payload.readInteger(as: UInt32.self),
                let actions = payload.readInteger(as: UInt32.self),
                let flags = payload.readInteger(as: UInt32.self)
            else {
                throw MilterProtocolError(code: .malformedPayload, message: "SMFIC_OPTNEG shorter than 12 bytes")
            }
            return .optionNegotiation(
                MilterOptions(
                    version: version, actions: MilterActions(rawValue: actions),
                    protocolFlags: MilterProtocolFlags(rawValue: flags)))

        case Milter.CommandCode.macro:
            guard let commandCode = payload.readInteger(as: UInt8.self) else {
                throw MilterProtocolError(code: .malformedPayload, message: "SMFIC_MACRO without command code")
            }
            let strings = Self.nulSeparatedStrings(payload)
            var macros: [MilterMacro] = []
            macros.reserveCapacity(strings.count / 2 + 1)
            var index = 0
            while index < strings.count {
                let value = index + 1 < strings.count ? strings[index + 1] : ""
                macros.append(MilterMacro(name: strings[index], value: value))
                index += 2
            }
            return .macros(MilterMacroDefinition(commandCode: commandCode, macros: macros))

        case Milter.CommandCode.connect:
            let hostname = Self.string(Self.readCString(&payload))
            guard let familyByte = payload.readInteger(as: UInt8.self) else {
                return .connect(MilterConnectInfo(hostname: hostname, family: .unknown))
            }
            let family = MilterAddressFamily(rawValue: familyByte)
            if family == .unknown {
                return .connect(MilterConnectInfo(hostname: hostname, family: family))
            }
            guard let port = payload.readInteger(as: UInt16.self) else {
                throw MilterProtocolError(code: .malformedPayload, message: "SMFIC_CONNECT without port")
            }
            let address = Self.string(Self.readCString(&payload))
            return .connect(MilterConnectInfo(hostname: hostname, family: family, port: port, address: address))

        case Milter.CommandCode.helo:
            return .helo(Self.string(Self.readCString(&payload)))

        case Milter.CommandCode.mail, Milter.CommandCode.recipient:
            let arguments = Self.nulSeparatedStrings(payload)
            guard !arguments.isEmpty else {
                throw MilterProtocolError(
                    code: .malformedPayload,
                    message: code == Milter.CommandCode.mail ? "SMFIC_MAIL without address" : "SMFIC_RCPT without address")
            }
            return code == Milter.CommandCode.mail ? .mail(arguments: arguments) : .recipient(arguments: arguments)

        case Milter.CommandCode.header:
            guard payload.readableBytes > 0 else {
                throw MilterProtocolError(code: .malformedPayload, message: "SMFIC_HEADER without name")
            }
            let name = Self.readCString(&payload)
            let value = Self.readCString(&payload)
            return .header(MilterHeaderField(rawName: name, rawValue: value))

        case Milter.CommandCode.endOfHeaders:
            return .endOfHeaders
        case Milter.CommandCode.body:
            return .body(payload)
        case Milter.CommandCode.endOfMessage:
            return .endOfMessage(payload)
        case Milter.CommandCode.abort:
            return .abort
        case Milter.CommandCode.quit:
            return .quit
        case Milter.CommandCode.quitNewConnection:
            return .quitNewConnection
        case Milter.CommandCode.data:
            return .data
        case Milter.CommandCode.unknown:
            return .unknownSMTPCommand(Self.string(Self.readCString(&payload)))
        default:
            return .unrecognized(code: code, payload: payload)
        }
    }

    /// Reads bytes up to (and consuming) the next NUL, or all remaining bytes if there is none.
    static func readCString(_ buffer: inout ByteBuffer) -> [UInt8] {
        let view = buffer.readableBytesView
        if let nul = view.firstIndex(of: 0) {
            let bytes = Array(view[view.startIndex..<nul])
            buffer.moveReaderIndex(forwardBy: nul - view.startIndex + 1)
            return bytes
        }
        let bytes = Array(view)
        buffer.moveReaderIndex(forwardBy: bytes.count)
        return bytes
    }

    /// Splits a payload into NUL-terminated strings; a missing final terminator is tolerated and
    /// empty strings between terminators are kept.
    static func nulSeparatedStrings(_ buffer: ByteBuffer) -> [String] {
        var buffer = buffer
        var result: [String] = []
        while buffer.readableBytes > 0 {
            result.append(Self.string(Self.readCString(&buffer)))
        }
        return result
    }

    static func string(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
