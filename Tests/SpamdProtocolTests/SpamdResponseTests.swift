import NIOCore
import NIOEmbedded
import SpamdProtocol
import Testing

private func reply(
    _ method: SpamdMethod, _ verdict: SpamdVerdict, version: SpamdProtocolVersion = .v1_5, body: [UInt8] = []
) -> String {
    text(SpamdResponse(replyingTo: SpamdRequest(method: method, version: version, body: body), verdict: verdict).bytes)
}

private let gtube = SpamdVerdict(
    isSpam: true, score: 1000, threshold: 5, symbols: ["GTUBE", "NO_RECEIVED", "NO_RELAYS"],
    report: "Spam detection software, running on the system \"vm\",\nhas identified this incoming email.\n",
    message: bytes("X-Spam-Flag: YES\r\nSubject: hi\r\n\r\nhello\r\n"))
private let clean = SpamdVerdict(isSpam: false, score: 0, threshold: 5, symbols: [], report: "clean\n")

/// Golden replies: the exact bytes spamd 4.0.1 sent for the same method, version and verdict.
@Suite("SpamdResponse rendering")
struct SpamdResponseTests {
    @Test("CHECK")
    func check() {
        #expect(reply(.check, gtube) == "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n\r\n")
        #expect(reply(.check, clean) == "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n")
    }

    @Test("SYMBOLS: comma-separated, no line end from protocol 1.3; CRLF-terminated and no length before")
    func symbols() {
        #expect(
            reply(.symbols, gtube)
                == "SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS")
        #expect(reply(.symbols, clean) == "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: False ; 0.0 / 5.0\r\n\r\n")
        #expect(
            reply(.symbols, gtube, version: .v1_2)
                == "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS\r\n")
    }

    @Test("REPORT carries the report for spam and ham")
    func report() throws {
        let expected = "SPAMD/1.1 0 EX_OK\r\nContent-length: \(gtube.report?.utf8.count ?? -1)\r\n"
            + "Spam: True ; 1000.0 / 5.0\r\n\r\n" + (gtube.report ?? "")
        #expect(reply(.report, gtube) == expected)
        #expect(reply(.report, clean) == "SPAMD/1.1 0 EX_OK\r\nContent-length: 6\r\nSpam: False ; 0.0 / 5.0\r\n\r\nclean\n")
    }

    @Test("REPORT_IFSPAM says Yes/No (as spamd does) and sends no report for ham")
    func reportIfSpam() {
        #expect(
            reply(.reportIfSpam, gtube)
                == "SPAMD/1.1 0 EX_OK\r\nContent-length: \(gtube.report?.utf8.count ?? -1)\r\n"
                + "Spam: Yes ; 1000.0 / 5.0\r\n\r\n" + (gtube.report ?? ""))
        #expect(reply(.reportIfSpam, clean) == "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: No ; 0.0 / 5.0\r\n\r\n")
    }

    @Test("PROCESS sends the rewritten message; the original when the verdict has none; older shapes by version")
    func process() {
        let message = "X-Spam-Flag: YES\r\nSubject: hi\r\n\r\nhello\r\n"
        #expect(
            reply(.process, gtube)
                == "SPAMD/1.1 0 EX_OK\r\nContent-length: \(message.utf8.count)\r\nSpam: True ; 1000.0 / 5.0\r\n\r\n" + message)
        #expect(
            reply(.process, clean, body: bytes("Subject: x\r\n\r\nbody"))
                == "SPAMD/1.1 0 EX_OK\r\nContent-length: 18\r\nSpam: False ; 0.0 / 5.0\r\n\r\nSubject: x\r\n\r\nbody")
        #expect(
            reply(.process, gtube, version: .v1_2)
                == "SPAMD/1.1 0 EX_OK\r\nContent-length: \(message.utf8.count)\r\n\r\n" + message)
        #expect(reply(.process, gtube, version: .v1_0) == "SPAMD/1.0 0 EX_OK\r\n" + message)
    }

    @Test("HEADERS sends the rewritten header block through the empty line")
    func headers() {
        let block = "X-Spam-Flag: YES\r\nSubject: hi\r\n\r\n"
        #expect(
            reply(.headers, gtube)
                == "SPAMD/1.1 0 EX_OK\r\nContent-length: \(block.utf8.count)\r\nSpam: True ; 1000.0 / 5.0\r\n\r\n" + block)
        var lf = gtube
        lf.message = bytes("A: b\n\nbody\n\nmore")
        #expect(reply(.headers, lf).hasSuffix("\r\n\r\nA: b\n\n"))
        lf.message = bytes("A: b\r\nno body")
        #expect(reply(.headers, lf).hasSuffix("\r\n\r\nA: b\r\nno body"))
    }

    @Test("PING, SKIP and TELL")
    func pingSkipTell() {
        #expect(text(SpamdResponse.pong.bytes) == "SPAMD/1.5 0 PONG\r\n")
        #expect(SpamdResponse.silent.bytes.isEmpty)
        #expect(reply(.ping, clean) == "SPAMD/1.5 0 PONG\r\n")
        let tell = SpamdRequest(method: .tell)
        #expect(
            text(SpamdResponse(replyingTo: tell, tellResult: SpamdTellResult(didSet: [.local])).bytes)
                == "SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n\r\n")
        #expect(
            text(
                SpamdResponse(replyingTo: tell, tellResult: SpamdTellResult(didSet: [.remote, .local], didRemove: [.remote]))
                    .bytes) == "SPAMD/1.1 0 EX_OK\r\nDidSet: local,remote\r\nDidRemove: remote\r\n\r\n\r\n")
        #expect(
            text(SpamdResponse(replyingTo: tell, tellResult: SpamdTellResult()).bytes) == "SPAMD/1.1 0 EX_OK\r\n\r\n\r\n")
        #expect(text(SpamdResponse(replyingTo: tell, verdict: clean).bytes).hasPrefix("SPAMD/1.0 70 "))
    }

    @Test("Error lines")
    func errorLines() {
        #expect(text(SpamdError.tellDisabled.response.bytes)
            == "SPAMD/1.0 69 Service Unavailable: TELL commands are not enabled, set the --allow-tell switch.\r\n")
        #expect(text(SpamdError.temporaryFailure("(internal error)").response.bytes)
            == "SPAMD/1.0 75 Temporary failure: (internal error)\r\n")
        #expect(text(SpamdError.timeout("(300 second timeout while trying to CHECK)").response.bytes)
            == "SPAMD/1.0 79 Timeout: (300 second timeout while trying to CHECK)\r\n")
        #expect(text(SpamdError.permissionDenied("(user not allowed)").response.bytes)
            == "SPAMD/1.0 77 Permission denied: (user not allowed)\r\n")
        // Whatever goes into an error line, it stays one line.
        #expect(text(SpamdError.unavailable("a\r\nSpam: True").response.bytes)
            == "SPAMD/1.0 69 Service Unavailable: a??Spam: True\r\n")
    }

    struct ScoreCase: Sendable, CustomTestStringConvertible {
        var score: Double
        var threshold: Double
        var isSpam: Bool
        var expected: String
        var testDescription: String { "\(self.score)/\(self.threshold) spam=\(self.isSpam) → \(self.expected)" }
    }

    @Test(
        "Scores are printed like spamd's get_tag_value_for_score (C %.1f on the binary value)",
        arguments: [
            ScoreCase(score: 15.3, threshold: 5, isSpam: true, expected: "15.3 / 5.0"),
            ScoreCase(score: 15.25, threshold: 5, isSpam: true, expected: "15.2 / 5.0"),  // exact tie: to even
            ScoreCase(score: 2.675, threshold: 5, isSpam: false, expected: "2.7 / 5.0"),
            ScoreCase(score: 0.35, threshold: 5, isSpam: false, expected: "0.3 / 5.0"),  // 0.34999… in binary
            ScoreCase(score: -0.04, threshold: 5, isSpam: false, expected: "-0.0 / 5.0"),
            ScoreCase(score: -3.21, threshold: 6.5, isSpam: false, expected: "-3.2 / 6.5"),
            ScoreCase(score: 4.96, threshold: 5, isSpam: false, expected: "4.9 / 5.0"),  // ham never shows ≥ threshold
            ScoreCase(score: 7, threshold: 5, isSpam: false, expected: "4.9 / 5.0"),
            ScoreCase(score: 3, threshold: 5, isSpam: true, expected: "3.0 / 5.0"),
            ScoreCase(score: .nan, threshold: 5, isSpam: false, expected: "0.0 / 5.0"),
            ScoreCase(score: 1e300, threshold: 5, isSpam: true, expected: "1000000000.0 / 5.0"),
        ])
    func scores(testCase: ScoreCase) {
        let pair = SpamdScoreFormat.scoreAndThreshold(
            score: testCase.score, threshold: testCase.threshold, isSpam: testCase.isSpam)
        #expect("\(pair.score) / \(pair.threshold)" == testCase.expected)
    }

    @Test("The encoder writes the reply and then closes the channel")
    func encoderClosesAfterWrite() throws {
        let channel = EmbeddedChannel(handler: SpamdResponseEncoder())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 783)).wait()
        try channel.writeOutbound(SpamdResponse.pong)
        var written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(written.readString(length: written.readableBytes) == "SPAMD/1.5 0 PONG\r\n")
        #expect(!channel.isActive)
    }
}
