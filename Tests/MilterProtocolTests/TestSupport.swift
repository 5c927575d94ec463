import MilterProtocol
import NIOCore

/// Builders for MTA-side frames, written from the protocol description.
enum Wire {
    static func u32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func u16(_ value: UInt16) -> [UInt8] {
        [UInt8(value >> 8), UInt8(value & 0xFF)]
    }

    static func cstr(_ string: String) -> [UInt8] {
        Array(string.utf8) + [0]
    }

    static func frame(_ code: Character, _ payload: [UInt8] = []) -> [UInt8] {
        u32(UInt32(payload.count + 1)) + [UInt8(ascii: code.unicodeScalars.first!)] + payload
    }

    static func optneg(version: UInt32 = 6, actions: UInt32 = 0x1FF, protocol flags: UInt32 = postfixV6Protocol) -> [UInt8] {
        frame("O", u32(version) + u32(actions) + u32(flags))
    }

    /// What Postfix 2.6+ offers with `milter_protocol = 6`.
    static let postfixV6Protocol: UInt32 = 0x1F_FFFF

    static func macros(_ code: Character, _ pairs: [(String, String)]) -> [UInt8] {
        frame("D", [UInt8(ascii: code.unicodeScalars.first!)] + pairs.flatMap { cstr($0.0) + cstr($0.1) })
    }

    static func connect(host: String, family: Character, port: UInt16, address: String) -> [UInt8] {
        frame("C", cstr(host) + [UInt8(ascii: family.unicodeScalars.first!)] + u16(port) + cstr(address))
    }

    static func helo(_ name: String) -> [UInt8] { frame("H", cstr(name)) }
    static func mail(_ args: [String]) -> [UInt8] { frame("M", args.flatMap(cstr)) }
    static func rcpt(_ args: [String]) -> [UInt8] { frame("R", args.flatMap(cstr)) }
    static func header(_ name: String, _ value: String) -> [UInt8] { frame("L", cstr(name) + cstr(value)) }
    static func body(_ text: String) -> [UInt8] { frame("B", Array(text.utf8)) }
    static let eoh = frame("N")
    static let eom = frame("E")
    static let abort = frame("A")
    static let quit = frame("Q")
}

extension ByteBuffer {
    init(_ bytes: [UInt8]) {
        self.init(bytes: bytes)
    }
}

extension MilterResponse {
    /// The encoded frame as bytes.
    var wireBytes: [UInt8] {
        var buffer = ByteBuffer()
        self.encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }
}

/// A message as a test MTA would send it: commands in Postfix's order.
enum PostfixSession {
    static let offer = MilterCommand.optionNegotiation(
        MilterOptions(version: 6, actions: MilterActions(rawValue: 0x1FF), protocolFlags: MilterProtocolFlags(rawValue: Wire.postfixV6Protocol)))

    static func connectCommands() -> [MilterCommand] {
        [
            .macros(
                MilterMacroDefinition(
                    commandCode: UInt8(ascii: "C"),
                    macros: [
                        MilterMacro(name: "j", value: "mx.example.net"),
                        MilterMacro(name: "{daemon_name}", value: "smtpd"),
                        MilterMacro(name: "{client_addr}", value: "192.0.2.7"),
                    ])),
            .connect(MilterConnectInfo(hostname: "client.example.org", family: .inet, port: 40123, address: "192.0.2.7")),
            .helo("client.example.org"),
        ]
    }

    static func messageCommands(queueID: String, sender: String, body: String, subject: String = "Hello") -> [MilterCommand] {
        [
            .macros(
                MilterMacroDefinition(
                    commandCode: UInt8(ascii: "M"),
                    macros: [MilterMacro(name: "{mail_addr}", value: sender), MilterMacro(name: "{auth_authen}", value: "alice")])),
            .mail(arguments: ["<\(sender)>", "SIZE=1234", "BODY=8BITMIME"]),
            .macros(MilterMacroDefinition(commandCode: UInt8(ascii: "R"), macros: [MilterMacro(name: "{rcpt_addr}", value: "bob@example.net")])),
            .recipient(arguments: ["<bob@example.net>"]),
            .recipient(arguments: ["<carol@example.net>", "NOTIFY=NEVER"]),
            .macros(MilterMacroDefinition(commandCode: UInt8(ascii: "T"), macros: [MilterMacro(name: "i", value: queueID)])),
            .data,
            .header(MilterHeaderField(name: "From", value: " <\(sender)>")),
            .header(MilterHeaderField(name: "Subject", value: " \(subject)")),
            .endOfHeaders,
            .body(ByteBuffer(bytes: Array(body.utf8))),
            .macros(MilterMacroDefinition(commandCode: UInt8(ascii: "E"), macros: [MilterMacro(name: "i", value: queueID)])),
            .endOfMessage(ByteBuffer()),
        ]
    }
}
