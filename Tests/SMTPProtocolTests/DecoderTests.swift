import NIOCore
import NIOTestUtils
import SMTPProtocol
import Testing

@Suite struct LineDecoderTests {
    @Test func crlfAndBareLFLines() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (ByteBuffer(string: "EHLO a.example\r\n"), [SMTPLine("EHLO a.example")]),
                (ByteBuffer(string: "MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n"),
                 [SMTPLine("MAIL FROM:<a@b>", bareLF: true), SMTPLine("RCPT TO:<c@d>")]),
                (ByteBuffer(string: "\r\n"), [SMTPLine("")]),
            ],
            decoderFactory: { SMTPLineDecoder() })
    }

    @Test func lineOverTheLimitThrows() throws {
        var decoder = SMTPLineDecoder(maximumLineLength: 20)
        var ok = ByteBuffer(string: String(repeating: "x", count: 20) + "\r\n")
        #expect(try decoder.decode(buffer: &ok)?.bytes.count == 20)
        var long = ByteBuffer(string: String(repeating: "x", count: 40))
        #expect(throws: SMTPProtocolError.self) { try decoder.decode(buffer: &long) }
        var decoder2 = SMTPLineDecoder(maximumLineLength: 20)
        var longWithEnd = ByteBuffer(string: String(repeating: "x", count: 21) + "\r\n")
        #expect(throws: SMTPProtocolError.self) { try decoder2.decode(buffer: &longWithEnd) }
    }

    @Test func leavesTheRestForPipeliningDetection() throws {
        var decoder = SMTPLineDecoder()
        var buffer = ByteBuffer(string: "EHLO x\r\nMAIL FROM:<>\r\n")
        #expect(try decoder.decode(buffer: &buffer) == SMTPLine("EHLO x"))
        #expect(buffer.readableBytes > 0)
        #expect(try decoder.decode(buffer: &buffer) == SMTPLine("MAIL FROM:<>"))
        #expect(buffer.readableBytes == 0)
    }
}

@Suite struct ReplyDecoderTests {
    @Test func singleAndMultiLine() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (ByteBuffer(string: "220 mx ESMTP\r\n"), [SMTPReply(220, "mx ESMTP")]),
                (ByteBuffer(string: "250-mx\r\n250-PIPELINING\r\n250 XCLIENT ADDR NAME\r\n"),
                 [SMTPReply(code: 250, lines: ["mx", "PIPELINING", "XCLIENT ADDR NAME"])]),
                (ByteBuffer(string: "354\r\n451 4.3.0 Error\r\n"), [SMTPReply(354, ""), SMTPReply(451, "4.3.0 Error")]),
            ],
            decoderFactory: { SMTPReplyDecoder() })
    }

    @Test(arguments: ["hello\r\n", "25 x\r\n", "250x\r\n", "250-a\r\n251 b\r\n"])
    func malformedRepliesThrow(_ wire: String) {
        var decoder = SMTPReplyDecoder()
        var buffer = ByteBuffer(string: wire)
        #expect(throws: SMTPProtocolError.self) {
            while try decoder.decode(buffer: &buffer) != nil {}
        }
    }

    @Test func encoderRoundTrip() throws {
        let reply = SMTPReply(code: 250, lines: ["mx.example", "PIPELINING", "SIZE 1000", "8BITMIME"])
        var buffer = reply.bytes
        #expect(buffer.getString(at: 0, length: buffer.readableBytes)
            == "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n")
        var decoder = SMTPReplyDecoder()
        #expect(try decoder.decode(buffer: &buffer) == reply)
    }

    @Test func encoderNeverSplitsAReply() {
        let b = SMTPReply(550, "5.7.1 evil\r\n250 ok").bytes
        #expect(b.getString(at: 0, length: b.readableBytes) == "550 5.7.1 evil  250 ok\r\n")
    }
}

@Suite struct DataReaderTests {
    private func message(_ bytes: String, bareLF: Int = 0) -> SMTPDataReader.Message {
        SMTPDataReader.Message(bytes: Array(bytes.utf8), size: bytes.utf8.count, oversize: false, bareLineFeeds: bareLF)
    }

    @Test func unstuffsAndStopsAtTheEnd() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (ByteBuffer(string: "Subject: x\r\n\r\n..leading dot\r\n.\r\n"),
                 [message("Subject: x\r\n\r\n.leading dot\r\n")]),
                (ByteBuffer(string: "a\r\n.\r\nb\nc\r\n.\r\n"), [message("a\r\n"), message("b\nc\r\n", bareLF: 1)]),
                (ByteBuffer(string: ".\r\n"), [message("")]),
            ],
            decoderFactory: { SMTPDataDecoder(maximumMessageBytes: 1000) })
    }

    @Test func bareLFEnd() {
        var reader = SMTPDataReader(maximumMessageBytes: 100)
        var buffer = ByteBuffer(string: "x\n.\nQUIT\r\n")
        let m = reader.read(from: &buffer)
        #expect(m?.bytes == Array("x\n".utf8))
        #expect(m?.bareLineFeeds == 2)
        #expect(buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes) == "QUIT\r\n")
    }

    @Test func oversizeIsReadToTheEndButNotKept() {
        var reader = SMTPDataReader(maximumMessageBytes: 10)
        var buffer = ByteBuffer(string: String(repeating: "0123456789\r\n", count: 5) + ".\r\nRSET\r\n")
        let m = reader.read(from: &buffer)
        #expect(m?.oversize == true)
        #expect(m?.bytes.isEmpty == true)
        #expect(m?.size == 60)
        #expect(buffer.readableBytes == 6)
    }

    @Test func incompleteMessageNeedsMore() {
        var reader = SMTPDataReader(maximumMessageBytes: 100)
        var buffer = ByteBuffer(string: "a\r\n.")
        #expect(reader.read(from: &buffer) == nil)
        buffer.writeString("\r\n")
        #expect(reader.read(from: &buffer)?.bytes == Array("a\r\n".utf8))
    }
}

@Suite struct CommandParsingTests {
    @Test(arguments: [
        ("EHLO mx.example.com", SMTPCommand.ehlo("mx.example.com")),
        ("helo  [192.0.2.1] ", .helo("[192.0.2.1]")),
        ("MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME", .mail(reversePath: "a@example.com", parameters: ["SIZE=100", "BODY=8BITMIME"])),
        ("mail from: <>", .mail(reversePath: "", parameters: [])),
        ("RCPT TO:<b@example.org>", .rcpt(forwardPath: "b@example.org", parameters: [])),
        ("RCPT TO:<>", .syntaxError("RCPT")),
        ("MAIL FROM <a@b>", .syntaxError("MAIL")),
        ("DATA", .data), ("QUIT", .quit), ("RSET", .rset), ("NOOP x", .noop), ("STARTTLS", .startTLS),
        ("VRFY root", .vrfy("root")),
        ("GET / HTTP/1.0", .nonSMTP("GET")), ("CONNECT 1.2.3.4:25 HTTP/1.0", .nonSMTP("CONNECT")),
        ("Subject: buy now", .nonSMTP("Subject:")),
        ("XYZZY", .unknown("XYZZY")), ("EHLO", .syntaxError("EHLO")),
    ])
    func parses(_ line: String, _ expected: SMTPCommand) {
        #expect(SMTPCommand(SMTPLine(line)) == expected)
    }
}
