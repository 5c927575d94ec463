import MilterProtocol
import NIOCore
import NIOTestUtils
import Testing

@Suite struct DecoderTests {
    private func verify(_ pairs: [([UInt8], [MilterCommand])]) throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: pairs.map { (ByteBuffer(bytes: $0.0), $0.1) },
            decoderFactory: { MilterCommandDecoder() })
    }

    @Test func commandFitsNIOAnyInlineStorage() {
        #expect(MemoryLayout<MilterCommand>.size <= 24)
        #expect(MemoryLayout<MilterResponse>.size <= 24)
    }

    @Test func optionNegotiation() throws {
        try verify([
            (
                Wire.optneg(version: 6, actions: 0x1FF, protocol: 0x1F_FFFF),
                [
                    .optionNegotiation(
                        MilterOptions(
                            version: 6, actions: MilterActions(rawValue: 0x1FF),
                            protocolFlags: MilterProtocolFlags(rawValue: 0x1F_FFFF)))
                ]
            )
        ])
    }

    @Test func macrosWithAndWithoutBraces() throws {
        let expected = MilterCommand.macros(
            MilterMacroDefinition(
                commandCode: UInt8(ascii: "M"),
                macros: [
                    MilterMacro(name: "i", value: "4BxQ1k0abc"), MilterMacro(name: "{auth_authen}", value: "alice"),
                    MilterMacro(name: "{empty}", value: ""),
                ]))
        try verify([(Wire.macros("M", [("i", "4BxQ1k0abc"), ("{auth_authen}", "alice"), ("{empty}", "")]), [expected])])
    }

    @Test func macroWithOddCountAndNoTerminator() throws {
        // "D" "C" "j\0mx" (no final NUL) then a dangling name without value.
        let payload: [UInt8] = [UInt8(ascii: "C")] + Wire.cstr("j") + Wire.cstr("mx") + Array("v".utf8)
        let expected = MilterCommand.macros(
            MilterMacroDefinition(
                commandCode: UInt8(ascii: "C"),
                macros: [MilterMacro(name: "j", value: "mx"), MilterMacro(name: "v", value: "")]))
        try verify([(Wire.frame("D", payload), [expected])])
    }

    @Test func connectFamilies() throws {
        try verify([
            (
                Wire.connect(host: "mail.example.org", family: "4", port: 25, address: "192.0.2.1"),
                [.connect(MilterConnectInfo(hostname: "mail.example.org", family: .inet, port: 25, address: "192.0.2.1"))]
            ),
            (
                Wire.connect(host: "[2001:db8::1]", family: "6", port: 587, address: "2001:db8::1"),
                [.connect(MilterConnectInfo(hostname: "[2001:db8::1]", family: .inet6, port: 587, address: "2001:db8::1"))]
            ),
            (
                Wire.connect(host: "localhost", family: "L", port: 0, address: "/var/run/sock"),
                [.connect(MilterConnectInfo(hostname: "localhost", family: .unix, port: 0, address: "/var/run/sock"))]
            ),
            (
                Wire.frame("C", Wire.cstr("localhost") + [UInt8(ascii: "U")]),
                [.connect(MilterConnectInfo(hostname: "localhost", family: .unknown))]
            ),
        ])
    }

    @Test func envelopeAndContentCommands() throws {
        try verify([
            (Wire.helo("client.example.org"), [.helo("client.example.org")]),
            (Wire.mail(["<a@example.org>", "SIZE=10"]), [.mail(arguments: ["<a@example.org>", "SIZE=10"])]),
            (Wire.rcpt(["<b@example.net>"]), [.recipient(arguments: ["<b@example.net>"])]),
            (Wire.header("Subject", "Hi there"), [.header(MilterHeaderField(name: "Subject", value: "Hi there"))]),
            (Wire.eoh, [.endOfHeaders]),
            (Wire.body("line 1\r\nline 2\r\n"), [.body(ByteBuffer(bytes: Array("line 1\r\nline 2\r\n".utf8)))]),
            (Wire.eom, [.endOfMessage(ByteBuffer())]),
            (Wire.frame("E", Array("tail\r\n".utf8)), [.endOfMessage(ByteBuffer(bytes: Array("tail\r\n".utf8)))]),
        ])
    }

    @Test func controlCommands() throws {
        try verify([
            (Wire.abort, [.abort]),
            (Wire.quit, [.quit]),
            (Wire.frame("K"), [.quitNewConnection]),
            (Wire.frame("T"), [.data]),
            (Wire.frame("U", Wire.cstr("XFOO bar")), [.unknownSMTPCommand("XFOO bar")]),
            (Wire.frame("Z", [1, 2, 3]), [.unrecognized(code: UInt8(ascii: "Z"), payload: ByteBuffer(bytes: [1, 2, 3]))]),
        ])
    }

    @Test func severalFramesInOneBuffer() throws {
        let input = Wire.macros("H", [("{tls_version}", "TLSv1.3")]) + Wire.helo("x") + Wire.abort
        try verify([
            (
                input,
                [
                    .macros(
                        MilterMacroDefinition(
                            commandCode: UInt8(ascii: "H"), macros: [MilterMacro(name: "{tls_version}", value: "TLSv1.3")])),
                    .helo("x"), .abort,
                ]
            )
        ])
    }

    @Test func missingTerminatorsAreTolerated() throws {
        try verify([
            (Wire.frame("H", Array("no-nul".utf8)), [.helo("no-nul")]),
            (Wire.frame("L", Wire.cstr("X-A") + Array("v".utf8)), [.header(MilterHeaderField(name: "X-A", value: "v"))]),
            (Wire.frame("L", Array("X-B".utf8)), [.header(MilterHeaderField(name: "X-B", value: ""))]),
            (Wire.frame("M", Array("<a@b>".utf8)), [.mail(arguments: ["<a@b>"])]),
        ])
    }

    @Test func eightBitHeaderValueKeptRaw() throws {
        let raw: [UInt8] = [0x43, 0x61, 0x66, 0xE9]  // "Caf\xE9", Latin-1, not UTF-8
        try verify([
            (
                Wire.frame("L", Wire.cstr("Subject") + raw + [0]),
                [.header(MilterHeaderField(rawName: Array("Subject".utf8), rawValue: raw))]
            )
        ])
    }

    @Test func incompleteFrameDoesNotMoveReaderIndex() throws {
        var decoder = MilterCommandDecoder()
        let full = Wire.helo("client.example.org")
        for cut in [0, 2, 4, 5, full.count - 1] {
            var buffer = ByteBuffer(bytes: full.prefix(cut))
            let before = buffer.readerIndex
            #expect(try decoder.decode(buffer: &buffer) == nil)
            #expect(buffer.readerIndex == before)
        }
    }

    @Test func zeroLengthIsAnError() throws {
        var decoder = MilterCommandDecoder()
        var buffer = ByteBuffer(bytes: Wire.u32(0))
        let error = try #require(throws: MilterProtocolError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error.code == .invalidFrameLength)
    }

    @Test func negativeLengthIsAnError() throws {
        var decoder = MilterCommandDecoder()
        var buffer = ByteBuffer(bytes: Wire.u32(0xFFFF_FFFF) + [UInt8(ascii: "B")])
        let error = try #require(throws: MilterProtocolError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error.code == .invalidFrameLength)
    }

    @Test func oversizedFrameFailsAsSoonAsTheLengthIsKnown() throws {
        var decoder = MilterCommandDecoder(maximumFrameSize: 1024)
        var buffer = ByteBuffer(bytes: Wire.u32(1025))
        let error = try #require(throws: MilterProtocolError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error.code == .frameTooLarge)

        var defaultDecoder = MilterCommandDecoder()
        var big = ByteBuffer(bytes: Wire.u32(UInt32(1 << 20) + 1))
        let bigError = try #require(throws: MilterProtocolError.self) { try defaultDecoder.decode(buffer: &big) }
        #expect(bigError.code == .frameTooLarge)

        // Exactly at the limit is fine.
        var atLimit = ByteBuffer(bytes: Wire.frame("B", [UInt8](repeating: 0x41, count: 1023)))
        #expect(try decoder.decode(buffer: &atLimit) == .body(ByteBuffer(bytes: [UInt8](repeating: 0x41, count: 1023))))
    }

    @Test func malformedPayloads() throws {
        let cases: [[UInt8]] = [
            Wire.frame("O", Wire.u32(6) + Wire.u32(1)),  // 8 of 12 bytes
            Wire.frame("D"),  // no command code
            Wire.frame("C", Wire.cstr("host") + [UInt8(ascii: "4"), 0]),  // half a port
            Wire.frame("M"),  // no address
            Wire.frame("R"),
            Wire.frame("L"),  // no header name
        ]
        for bytes in cases {
            var decoder = MilterCommandDecoder()
            var buffer = ByteBuffer(bytes: bytes)
            let error = try #require(throws: MilterProtocolError.self) { try decoder.decode(buffer: &buffer) }
            #expect(error.code == .malformedPayload)
        }
    }

    @Test func expectsReplyFollowsTheProtocol() {
        #expect(MilterCommand.helo("x").expectsReply)
        #expect(MilterCommand.endOfMessage(ByteBuffer()).expectsReply)
        #expect(!MilterCommand.abort.expectsReply)
        #expect(!MilterCommand.macros(MilterMacroDefinition(commandCode: 0x43, macros: [])).expectsReply)
        #expect(!MilterCommand.quitNewConnection.expectsReply)
    }
}
