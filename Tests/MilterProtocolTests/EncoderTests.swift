import MilterProtocol
import NIOCore
import Testing

@Suite struct EncoderTests {
    @Test func simpleResponsesAreFiveBytes() {
        let cases: [(MilterResponse, Character)] = [
            (.continue, "c"), (.accept, "a"), (.reject, "r"), (.tempfail, "t"), (.discard, "d"), (.progress, "p"),
            (.skip, "s"),
        ]
        for (response, code) in cases {
            #expect(response.wireBytes == [0, 0, 0, 1, UInt8(ascii: code.unicodeScalars.first!)])
        }
    }

    @Test func replyCodeGoldenBytes() throws {
        let reply = try MilterSMTPReply(code: 550, enhancedStatus: "5.7.1", text: "Message rejected as spam (SW_SPAM)")
        let text = "550 5.7.1 Message rejected as spam (SW_SPAM)"
        let expected = Wire.u32(UInt32(text.utf8.count + 2)) + [UInt8(ascii: "y")] + Array(text.utf8) + [0]
        #expect(MilterResponse.replyCode(reply).wireBytes == expected)
    }

    @Test func replyCodeEscapesPercent() throws {
        let reply = try MilterSMTPReply(code: 451, enhancedStatus: "4.7.1", text: "100% busy, try %s later")
        #expect(reply.wireText == "451 4.7.1 100%% busy, try %%s later")
        #expect(reply.description == "451 4.7.1 100% busy, try %s later")
        let bytes = MilterResponse.replyCode(reply).wireBytes
        #expect(Array(bytes[5...]) == Array("451 4.7.1 100%% busy, try %%s later".utf8) + [0])
    }

    @Test func replyWithoutEnhancedStatusGetsClassDefault() throws {
        #expect(try MilterSMTPReply(code: 554, text: "no").wireText == "554 5.0.0 no")
        #expect(try MilterSMTPReply(code: 421, text: "").wireText == "421 4.0.0")
    }

    @Test(arguments: [
        (250, "2.0.0", "ok"),  // not 4xx/5xx
        (600, "6.0.0", "x"),
        (550, "4.7.1", "class mismatch"),
        (550, "5.7", "two parts"),
        (550, "5.7.1234", "detail too long"),
        (550, "5.x.1", "not digits"),
        (550, "5.7.1", "line\r\nbreak"),
        (550, "5.7.1", "bare\nLF"),
        (550, "5.7.1", "nul\u{0}byte"),
        (550, "5.7.1", "non-ascii é"),
    ])
    func invalidRepliesAreRefused(code: Int, status: String, text: String) throws {
        let error = try #require(throws: MilterProtocolError.self) {
            try MilterSMTPReply(code: code, enhancedStatus: status, text: text)
        }
        #expect(error.code == .invalidReply)
    }

    @Test func headerResponsesGoldenBytes() {
        #expect(
            MilterResponse.addHeader(name: "X-Spam", value: "yes").wireBytes
                == Wire.u32(12) + [UInt8(ascii: "h")] + Wire.cstr("X-Spam") + Wire.cstr("yes"))
        #expect(
            MilterResponse.insertHeader(index: 0, name: "X-A", value: "1").wireBytes
                == Wire.u32(11) + [UInt8(ascii: "i")] + Wire.u32(0) + Wire.cstr("X-A") + Wire.cstr("1"))
        #expect(
            MilterResponse.changeHeader(index: 2, name: "Subject", value: "").wireBytes
                == Wire.u32(14) + [UInt8(ascii: "m")] + Wire.u32(2) + Wire.cstr("Subject") + [0])
        #expect(
            MilterResponse.quarantine(reason: "spam").wireBytes == Wire.u32(6) + [UInt8(ascii: "q")] + Wire.cstr("spam"))
    }

    @Test func optionNegotiationGoldenBytes() {
        let options = MilterOptions(
            version: 6, actions: [.addHeaders, .changeHeaders, .quarantine],
            protocolFlags: [.noUnknown, .noData, .skip, .headerLeadingSpace])
        #expect(
            MilterResponse.optionNegotiation(options).wireBytes
                == Wire.u32(13) + [UInt8(ascii: "O")] + Wire.u32(6) + Wire.u32(0x31) + Wire.u32(0x10_0700))
    }

    @Test func encoderStripsNULInsideStrings() {
        #expect(
            MilterResponse.addHeader(name: "X\u{0}Y", value: "a\u{0}b").wireBytes
                == Wire.u32(7) + [UInt8(ascii: "h")] + Wire.cstr("XY") + Wire.cstr("ab"))
    }

    @Test func messageToByteEncoderWritesFrames() throws {
        let encoder = MilterResponseEncoder()
        var buffer = ByteBuffer()
        try encoder.encode(data: .continue, out: &buffer)
        try encoder.encode(data: .accept, out: &buffer)
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 1, 0x63, 0, 0, 0, 1, 0x61])
    }

    @Test func headerModificationValidation() throws {
        #expect(throws: MilterProtocolError.self) { try MilterHeaderModification.add(name: "", value: "x") }
        #expect(throws: MilterProtocolError.self) { try MilterHeaderModification.add(name: "X:Y", value: "x") }
        #expect(throws: MilterProtocolError.self) { try MilterHeaderModification.add(name: "X Y", value: "x") }
        // A line break must be followed by folding whitespace, or it would inject a header.
        #expect(throws: MilterProtocolError.self) {
            try MilterHeaderModification.add(name: "X-A", value: "a\r\nBcc: evil@example.org")
        }
        #expect(throws: MilterProtocolError.self) { try MilterHeaderModification.add(name: "X-A", value: "a\n") }
        #expect(throws: MilterProtocolError.self) { try MilterHeaderModification.add(name: "X-A", value: "bell\u{7}") }
        #expect(throws: MilterProtocolError.self) { try MilterHeaderModification.change(name: "X-A", occurrence: 0, value: "v") }
        #expect(throws: MilterProtocolError.self) { try MilterHeaderModification.insert(at: -1, name: "X-A", value: "v") }

        let folded = try MilterHeaderModification.add(name: "X-Report", value: "line one\r\n\tline two")
        #expect(folded.value == "line one\n\tline two")
        let delete = try MilterHeaderModification.change(name: "X-Old", value: "")
        #expect(delete.operation == .delete(occurrence: 1))
    }
}
