import Foundation
import NIOCore
import NIOEmbedded
import NIOTestUtils
import SpamdProtocol
import Testing

/// A small zlib stream made by Python's `zlib.compress(message, 3)` (what spamc -z sends: deflateInit level 3).
let pythonZlibMessage = bytes("Subject: zlib test\r\n\r\nXJS*C4JDBQADN1 compressed body\r\n")
let pythonZlibBody: [UInt8] = Array(
    Data(base64Encoded: "eF4LLk3KSk0usVKoyslMUihJLS7h5eLlivAK1nI28XJxCnR08TNUSM7PLShKLS5OTVFIyk+p5OUCANdlEN8=") ?? Data())

private func request(
    _ method: SpamdMethod, _ version: SpamdProtocolVersion = .v1_5, headers: [(String, String)] = [],
    body: [UInt8] = [], compressed: Bool = false
) -> SpamdRequest {
    SpamdRequest(
        method: method, version: version,
        headers: SpamdHeaders(headers.map { SpamdHeaderField(name: $0.0, value: $0.1) }), body: body,
        wasCompressed: compressed)
}

private func verify(_ pairs: [([UInt8], [SpamdRequest])], configuration: SpamdConfiguration = .default) throws {
    try ByteToMessageDecoderVerifier.verifyDecoder(
        inputOutputPairs: pairs.map { (ByteBuffer(bytes: $0.0), $0.1) },
        decoderFactory: { SpamdRequestDecoder(configuration: configuration) })
}

/// Feeds `input` (whole or byte by byte), optionally signals the client's half-close, and returns the decoded
/// requests or the error the decoder threw.
private func decode(
    _ input: [UInt8], configuration: SpamdConfiguration = .default, dripFeed: Bool = false, eof: Bool = false
) -> Result<[SpamdRequest], any Error> {
    let channel = EmbeddedChannel(
        handler: ByteToMessageHandler(
            SpamdRequestDecoder(configuration: configuration), maximumBufferSize: configuration.maximumBufferSize))
    var decoded: [SpamdRequest] = []
    do {
        if dripFeed {
            for byte in input { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        } else if !input.isEmpty {
            try channel.writeInbound(ByteBuffer(bytes: input))
        }
        if eof {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            channel.embeddedEventLoop.run()
            try channel.throwIfErrorCaught()
        }
        while let request: SpamdRequest = try channel.readInbound() { decoded.append(request) }
        _ = try? channel.finish()
        return .success(decoded)
    } catch {
        _ = try? channel.finish()
        return .failure(error)
    }
}

private func decodeError(
    _ input: [UInt8], configuration: SpamdConfiguration = .default, dripFeed: Bool = false, eof: Bool = false
) -> SpamdError? {
    if case .failure(let error) = decode(input, configuration: configuration, dripFeed: dripFeed, eof: eof) {
        return error as? SpamdError
    }
    return nil
}

@Suite("SpamdRequestDecoder")
struct SpamdRequestDecoderTests {
    @Test(
        "Each check method with Content-length decodes whole, byte by byte and in bulk",
        arguments: [SpamdMethod.check, .symbols, .report, .reportIfSpam, .process, .headers])
    func checkMethods(method: SpamdMethod) throws {
        let body = bytes("Subject: hi\r\n\r\nhello\r\n")
        let input = bytes("\(method.rawValue) SPAMC/1.5\r\nUser: alice\r\nContent-length: \(body.count)\r\n\r\n") + body
        let expected = request(method, headers: [("User", "alice"), ("Content-length", "\(body.count)")], body: body)
        try verify([(input, [expected])])
    }

    @Test("PING, SKIP and TELL (learn, forget, report) decode, alone and interleaved")
    func pingSkipTell() throws {
        let learn = bytes(
            "TELL SPAMC/1.5\r\nMessage-class: spam\r\nSet: local\r\nUser: bob\r\nContent-length: 5\r\n\r\nspam!")
        let forget = bytes("TELL SPAMC/1.5\r\nRemove: local\r\nContent-length: 3\r\n\r\nabc")
        let report = bytes("TELL SPAMC/1.5\r\nMessage-class: spam\r\nSet: local,remote\r\nContent-length: 1\r\n\r\nx")
        try verify([
            (bytes("PING SPAMC/1.5\r\n\r\n"), [request(.ping)]),
            (bytes("SKIP SPAMC/1.5\r\n\r\n"), [request(.skip)]),
            (bytes("PING SPAMC/1.2\r\n"), [request(.ping, .v1_2)]),
            (learn, [
                request(
                    .tell,
                    headers: [
                        ("Message-class", "spam"), ("Set", "local"), ("User", "bob"), ("Content-length", "5"),
                    ], body: bytes("spam!"))
            ]),
            (forget, [request(.tell, headers: [("Remove", "local"), ("Content-length", "3")], body: bytes("abc"))]),
            (report, [
                request(
                    .tell, headers: [("Message-class", "spam"), ("Set", "local,remote"), ("Content-length", "1")],
                    body: bytes("x"))
            ]),
        ])
    }

    @Test("TELL headers are parsed into typed values, case-insensitively")
    func tellAccessors() throws {
        let input = bytes(
            "TELL SPAMC/1.5\r\nmessage-CLASS: Ham\r\nSET: local, remote\r\nremove:\r\nuser: carol\r\n"
                + "content-length: 0\r\n\r\n")
        let decoded = try decode(input).get()
        #expect(decoded.count == 1)
        let tell = try #require(decoded.first)
        #expect(tell.method == .tell)
        #expect(tell.messageClass == .ham)
        #expect(tell.setTargets == [.local, .remote])
        #expect(tell.removeTargets.isEmpty)
        #expect(tell.user == "carol")
        #expect(tell.contentLength == 0)
        #expect(tell.headers["USER"] == "carol")
        #expect(tell.headers.values(for: "set") == ["local, remote"])
    }

    @Test("A zlib body from an independent compressor (Python zlib, level 3) is inflated")
    func compressedBodyFromPython() throws {
        #expect(pythonZlibBody.count == 62)
        let input = bytes("CHECK SPAMC/1.5\r\nUser: dan\r\nCompress: zlib\r\nContent-length: \(pythonZlibBody.count)\r\n\r\n")
            + pythonZlibBody
        let expected = request(
            .check, headers: [("User", "dan"), ("Compress", "zlib"), ("Content-length", "\(pythonZlibBody.count)")],
            body: pythonZlibMessage, compressed: true)
        try verify([(input, [expected])])
    }

    @Test("Compressed bodies round-trip through the client encoder for every body-carrying method")
    func compressedRoundTrip() throws {
        let big = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: ($0 * 7) % 251) })
        var pairs: [([UInt8], [SpamdRequest])] = []
        for method in [SpamdMethod.process, .symbols, .tell] {
            let original = SpamdRequest(
                method: method, headers: method == .tell ? ["Message-class": "spam", "Set": "local"] : [:],
                body: method == .process ? big : spamMessage)
            let wire = try original.encoded(compressingBody: true)
            let decoded = try decode(wire).get()
            #expect(decoded.count == 1)
            #expect(decoded.first?.body == original.body)
            #expect(decoded.first?.wasCompressed == true)
            if method != .process, let first = decoded.first { pairs.append((wire, [first])) }
        }
        try verify(pairs)
    }

    @Test("Bare LF line endings are accepted")
    func bareLineFeeds() throws {
        let input = bytes("SYMBOLS SPAMC/1.5\nContent-length: 2\n\nok")
        try verify([(input, [request(.symbols, headers: [("Content-length", "2")], body: bytes("ok"))])])
    }

    @Test("Without Content-length the body runs until the client half-closes", arguments: [false, true])
    func bodyUntilEOF(dripFeed: Bool) throws {
        let input = bytes("PROCESS SPAMC/1.5\r\nUser: eve\r\n\r\n") + hamMessage
        #expect(try decode(input, dripFeed: dripFeed).get().isEmpty)
        let decoded = try decode(input, dripFeed: dripFeed, eof: true).get()
        #expect(decoded == [request(.process, headers: [("User", "eve")], body: hamMessage)])
    }

    @Test("Protocol 1.0 sends no headers: the body follows the request line until EOF")
    func protocolOneZero() throws {
        let decoded = try decode(bytes("CHECK SPAMC/1.0\r\n") + hamMessage, eof: true).get()
        #expect(decoded == [request(.check, .v1_0, body: hamMessage)])
    }

    @Test("A PING without line end at EOF is still a PING (spamd reads the last line)")
    func pingWithoutNewlineAtEOF() throws {
        #expect(try decode(bytes("PING SPAMC/1.2"), eof: true).get() == [request(.ping, .v1_2)])
    }

    @Test("Nothing is consumed until the request is complete")
    func needsMoreData() throws {
        let input = bytes("CHECK SPAMC/1.5\r\nContent-length: 10\r\n\r\n12345")
        var decoder = SpamdRequestDecoder()
        var buffer = ByteBuffer(bytes: input)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == input.count)
        buffer.writeBytes(bytes("67890"))
        let decoded = try decoder.decode(buffer: &buffer)
        #expect(decoded?.body == bytes("1234567890"))
        #expect(buffer.readableBytes == 0)
    }

    // MARK: - Errors and limits

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var eof: Bool
        var code: SpamdError.Code
        var line: String
        var testDescription: String { self.name }
    }

    /// Expected lines are those the real spamd 4.0.1 answered for the same input.
    static let errorCases: [ErrorCase] = [
        ErrorCase(
            name: "unknown method", input: "FOO SPAMC/1.5\r\n\r\n", eof: false, code: .badRequestLine,
            line: "SPAMD/1.0 76 Bad header line: FOO SPAMC/1.5\r\n"),
        ErrorCase(
            name: "not spamc at all", input: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", eof: false, code: .badRequestLine,
            line: "SPAMD/1.0 76 Bad header line: GET / HTTP/1.1\r\n"),
        ErrorCase(
            name: "bad version", input: "CHECK SPAMC/one\r\n\r\n", eof: false, code: .badRequestLine,
            line: "SPAMD/1.0 76 Bad header line: CHECK SPAMC/one\r\n"),
        ErrorCase(
            name: "non-numeric Content-length", input: "CHECK SPAMC/1.5\r\nContent-length: abc\r\n\r\n", eof: false,
            code: .badContentLength,
            line: "SPAMD/1.0 76 Bad header line: (Content-Length contains non-numeric bytes)\r\n"),
        ErrorCase(
            name: "negative Content-length", input: "CHECK SPAMC/1.5\r\nContent-length: -5\r\n\r\n", eof: false,
            code: .badContentLength,
            line: "SPAMD/1.0 76 Bad header line: (Content-Length contains non-numeric bytes)\r\n"),
        ErrorCase(
            name: "header without colon", input: "CHECK SPAMC/1.5\r\nbadheader\r\n\r\n", eof: false,
            code: .badHeaderLine,
            line: "SPAMD/1.0 76 Bad header line: (header not in 'Name: value' format)\r\n"),
        ErrorCase(
            name: "unsupported compression", input: "CHECK SPAMC/1.5\r\nCompress: gzip\r\nContent-length: 1\r\n\r\nx",
            eof: false, code: .unsupportedCompression,
            line: "SPAMD/1.0 76 Bad header line: (compression type not supported: gzip)\r\n"),
        ErrorCase(
            name: "compression without Content-length", input: "CHECK SPAMC/1.5\r\nCompress: zlib\r\n\r\nxyz",
            eof: false, code: .compressionRequiresContentLength,
            line: "SPAMD/1.0 69 Service Unavailable: Compress requires Content-length header\r\n"),
        ErrorCase(
            name: "corrupt zlib body", input: "CHECK SPAMC/1.5\r\nCompress: zlib\r\nContent-length: 7\r\n\r\ngarbage",
            eof: false, code: .decompressionFailed,
            line: "SPAMD/1.0 69 Service Unavailable: zlib: corrupt compressed data\r\n"),
        ErrorCase(
            name: "body shorter than Content-length", input: "CHECK SPAMC/1.5\r\nContent-length: 6494\r\n\r\nshort",
            eof: true, code: .contentLengthMismatch,
            line: "SPAMD/1.0 76 Bad header line: (Content-Length mismatch: Expected 6494 bytes, got 5 bytes)\r\n"),
        ErrorCase(
            name: "EOF during headers", input: "CHECK SPAMC/1.5\r\nContent-length: 5\r\n", eof: true,
            code: .eofDuringHeaders, line: "SPAMD/1.0 76 Bad header line: (EOF during headers)\r\n"),
        ErrorCase(
            name: "closed before request", input: "", eof: true, code: .closedBeforeRequest,
            line: "SPAMD/1.0 76 Bad header line: (closed before headers)\r\n"),
        ErrorCase(
            name: "TELL set and remove local",
            input: "TELL SPAMC/1.5\r\nMessage-class: spam\r\nSet: local\r\nRemove: local\r\nContent-length: 0\r\n\r\n",
            eof: false, code: .conflictingTellActions,
            line: "SPAMD/1.0 76 Bad header line: Unable to set local and remove local in the same operation.\r\n"),
        ErrorCase(
            name: "invalid Message-class", input: "TELL SPAMC/1.5\r\nMessage-class: eggs\r\nContent-length: 0\r\n\r\n",
            eof: false, code: .badMessageClass,
            line: "SPAMD/1.0 76 Bad header line: (Message-class header contains invalid class)\r\n"),
        ErrorCase(
            name: "control characters in User", input: "CHECK SPAMC/1.5\r\nUser: a\u{1}b\r\nContent-length: 0\r\n\r\n",
            eof: false, code: .badUser, line: "SPAMD/1.0 76 Bad header line: (User header contains control chars)\r\n"),
        ErrorCase(
            name: "conflicting Content-length headers",
            input: "CHECK SPAMC/1.5\r\nContent-length: 1\r\nContent-length: 2\r\n\r\nxy", eof: false,
            code: .badContentLength, line: "SPAMD/1.0 76 Bad header line: (conflicting Content-length headers)\r\n"),
    ]

    @Test("Bad input throws a typed error answered with spamd's error line", arguments: errorCases)
    func errors(testCase: ErrorCase) throws {
        for dripFeed in [false, true] {
            let error = try #require(decodeError(bytes(testCase.input), dripFeed: dripFeed, eof: testCase.eof))
            #expect(error.code == testCase.code)
            #expect(text(error.response.bytes) == testCase.line)
        }
    }

    @Test("A truncated zlib body is rejected, not silently shortened")
    func truncatedZlib() throws {
        let truncated = Array(pythonZlibBody.dropLast(5))
        let input = bytes("CHECK SPAMC/1.5\r\nCompress: zlib\r\nContent-length: \(truncated.count)\r\n\r\n") + truncated
        let error = try #require(decodeError(input))
        #expect(error.code == .decompressionFailed)
        #expect(error.exitCode == .unavailable)
        #expect(text(error.response.bytes) == "SPAMD/1.0 69 Service Unavailable: zlib: failed to find end of zlib stream\r\n")
    }

    @Test("An oversized header block is refused as soon as it exceeds the limit", arguments: [false, true])
    func oversizedHeaderBlock(dripFeed: Bool) throws {
        let configuration = SpamdConfiguration(maximumHeaderBytes: 256)
        // No end of line at all: detected without waiting for one.
        let endless = bytes("CHECK SPAMC/1.5\r\nX-Pad: " + String(repeating: "a", count: 300))
        let error = try #require(decodeError(endless, configuration: configuration, dripFeed: dripFeed))
        #expect(error.code == .headerBlockTooLarge)
        #expect(text(error.response.bytes) == "SPAMD/1.0 76 Bad header line: (header section exceeds 256 bytes)\r\n")
        // Many short lines.
        let many = bytes("CHECK SPAMC/1.5\r\n" + String(repeating: "X-A: b\r\n", count: 40) + "\r\n")
        #expect(decodeError(many, configuration: configuration, dripFeed: dripFeed)?.code == .headerBlockTooLarge)
        // The default (8 KiB) accepts a normal request.
        #expect(decodeError(bytes("PING SPAMC/1.5\r\n\r\n"), dripFeed: dripFeed) == nil)
    }

    @Test("More header lines than allowed are refused like spamd's 255-line limit")
    func tooManyHeaders() throws {
        let input = bytes("CHECK SPAMC/1.5\r\n" + String(repeating: "X: y\r\n", count: 256) + "\r\n")
        let error = try #require(decodeError(input, configuration: SpamdConfiguration(maximumHeaderBytes: 64 * 1024)))
        #expect(error.code == .tooManyHeaders)
        #expect(text(error.response.bytes) == "SPAMD/1.0 76 Bad header line: (too many headers)\r\n")
    }

    @Test("An oversized body is refused from its Content-length, before it arrives")
    func oversizedDeclaredBody() throws {
        let configuration = SpamdConfiguration(maximumBodyBytes: 1000)
        let input = bytes("PROCESS SPAMC/1.5\r\nContent-length: 1001\r\n\r\n")
        let error = try #require(decodeError(input, configuration: configuration))
        #expect(error.code == .bodyTooLarge)
        #expect(error.exitCode == .dataError)
        #expect(text(error.response.bytes) == "SPAMD/1.0 65 Bad message: (message exceeds 1000 bytes)\r\n")
        let huge = bytes("PROCESS SPAMC/1.5\r\nContent-length: 99999999999999999999999\r\n\r\n")
        #expect(decodeError(huge, configuration: configuration)?.code == .bodyTooLarge)
        let exact = bytes("PROCESS SPAMC/1.5\r\nContent-length: 1000\r\n\r\n") + [UInt8](repeating: 65, count: 1000)
        #expect(try decode(exact, configuration: configuration).get().first?.body.count == 1000)
    }

    @Test("An oversized body without Content-length is refused once it exceeds the limit")
    func oversizedStreamedBody() throws {
        let configuration = SpamdConfiguration(maximumBodyBytes: 1000)
        let input = bytes("PROCESS SPAMC/1.5\r\n\r\n") + [UInt8](repeating: 65, count: 1001)
        #expect(decodeError(input, configuration: configuration)?.code == .bodyTooLarge)
    }

    @Test("A zlib bomb is refused at the inflated-size limit")
    func zlibBomb() throws {
        let configuration = SpamdConfiguration(maximumBodyBytes: 100_000)
        let bomb = try SpamdRequest(method: .check, body: [UInt8](repeating: 0, count: 5_000_000))
            .encoded(compressingBody: true)
        #expect(bomb.count < 25_000)  // > 200:1
        let error = try #require(decodeError(bomb, configuration: configuration))
        #expect(error.code == .bodyTooLarge)
        // Exactly at the limit is fine.
        let fits = try SpamdRequest(method: .check, body: [UInt8](repeating: 0, count: 100_000))
            .encoded(compressingBody: true)
        #expect(try decode(fits, configuration: configuration).get().first?.body.count == 100_000)
    }
}
