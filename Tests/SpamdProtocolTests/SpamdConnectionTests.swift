import NIOCore
import NIOPosix
import SpamdProtocol
import Testing

/// The runner over real TCP sockets, with a raw client.
@Suite("SpamdConnection over TCP")
struct SpamdConnectionTests {
    @Test("CHECK with Content-length: reply, then the server closes")
    func check() async throws {
        let handler = RecordingHandler()
        let reply = try await withSpamdServer(handler: handler) { port in
            try await rawExchange(
                port: port, sending: try SpamdRequest(method: .check, headers: ["User": "alice"], body: spamMessage).encoded())
        }
        #expect(text(reply) == "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n\r\n")
        #expect(handler.requests.count == 1)
        #expect(handler.requests.first?.user == "alice")
        #expect(handler.requests.first?.body == spamMessage)
    }

    @Test("The reply is written even when the client has not half-closed")
    func withoutHalfClose() async throws {
        let reply = try await withSpamdServer(handler: RecordingHandler()) { port in
            try await rawExchange(port: port, sending: bytes("PING SPAMC/1.5\r\n\r\n"), halfClose: false)
        }
        #expect(text(reply) == "SPAMD/1.5 0 PONG\r\n")
    }

    @Test("A body without Content-length ends at the client's half-close")
    func bodyUntilHalfClose() async throws {
        let handler = RecordingHandler()
        let reply = try await withSpamdServer(handler: handler) { port in
            try await rawExchange(port: port, sending: bytes("SYMBOLS SPAMC/1.5\r\nUser: x\r\n\r\n") + spamMessage)
        }
        #expect(text(reply).hasSuffix("\r\n\r\nGTUBE,SPAMWARD_TEST"))
        #expect(handler.requests.first?.body == spamMessage)
    }

    @Test("A zlib-compressed request (as spamc -z sends it) is inflated before the handler sees it")
    func compressed() async throws {
        let handler = RecordingHandler()
        let wire = bytes("CHECK SPAMC/1.5\r\nUser: dan\r\nCompress: zlib\r\nContent-length: \(pythonZlibBody.count)\r\n\r\n")
            + pythonZlibBody
        let reply = try await withSpamdServer(handler: handler) { port in
            try await rawExchange(port: port, sending: wire)
        }
        // Replies are never compressed: spamc does not inflate them.
        #expect(text(reply) == "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n\r\n")
        #expect(handler.requests.first?.body == pythonZlibMessage)
        #expect(handler.requests.first?.wasCompressed == true)
    }

    @Test("A large PROCESS reply reaches a slow reader completely before the close")
    func largeReplyIsFlushed() async throws {
        let big = bytes("Subject: big\r\n\r\n") + [UInt8](repeating: UInt8(ascii: "x"), count: 8 * 1024 * 1024)
        let handler = RecordingHandler(rewrittenMessage: big)
        let reply = try await withSpamdServer(handler: handler) { port in
            try await rawExchange(
                port: port, sending: try SpamdRequest(method: .process, body: hamMessage).encoded(),
                readDelay: .milliseconds(500))
        }
        let head = "SPAMD/1.1 0 EX_OK\r\nContent-length: \(big.count)\r\nSpam: False ; 0.5 / 5.0\r\n\r\n"
        #expect(reply.count == head.utf8.count + big.count)
        #expect(text(Array(reply.prefix(head.utf8.count))) == head)
    }

    @Test("SKIP gets no reply; the connection is just closed")
    func skip() async throws {
        let handler = RecordingHandler()
        let reply = try await withSpamdServer(handler: handler) { port in
            try await rawExchange(port: port, sending: bytes("SKIP SPAMC/1.5\r\n\r\n"))
        }
        #expect(reply.isEmpty)
        #expect(handler.requests.isEmpty)
    }

    @Test("Protocol errors are answered with spamd's error line")
    func protocolErrors() async throws {
        try await withSpamdServer(handler: RecordingHandler()) { port in
            let unknown = try await rawExchange(port: port, sending: bytes("FOO SPAMC/1.5\r\n\r\n"))
            #expect(text(unknown) == "SPAMD/1.0 76 Bad header line: FOO SPAMC/1.5\r\n")
            let empty = try await rawExchange(port: port, sending: [])
            #expect(text(empty) == "SPAMD/1.0 76 Bad header line: (closed before headers)\r\n")
            let short = try await rawExchange(port: port, sending: bytes("CHECK SPAMC/1.5\r\nContent-length: 10\r\n\r\nabc"))
            #expect(text(short) == "SPAMD/1.0 76 Bad header line: (Content-Length mismatch: Expected 10 bytes, got 3 bytes)\r\n")
        }
    }

    @Test("Oversized requests are refused and the connection closed, without reading the whole body")
    func oversized() async throws {
        let configuration = SpamdConfiguration(maximumHeaderBytes: 1024, maximumBodyBytes: 10_000)
        try await withSpamdServer(handler: RecordingHandler(), configuration: configuration) { port in
            let body = try await rawExchange(
                port: port, sending: bytes("PROCESS SPAMC/1.5\r\nContent-length: 10001\r\n\r\n"), halfClose: false)
            #expect(text(body) == "SPAMD/1.0 65 Bad message: (message exceeds 10000 bytes)\r\n")
            let header = try await rawExchange(
                port: port, sending: bytes("CHECK SPAMC/1.5\r\nX: " + String(repeating: "y", count: 2000)), halfClose: false)
            #expect(text(header) == "SPAMD/1.0 76 Bad header line: (header section exceeds 1024 bytes)\r\n")
        }
    }

    @Test("A handler failure is a temporary failure, never a clean result")
    func handlerFailure() async throws {
        try await withSpamdServer(handler: RecordingHandler(failure: PlainError())) { port in
            let reply = try await rawExchange(port: port, sending: try SpamdRequest(method: .check, body: hamMessage).encoded())
            #expect(text(reply) == "SPAMD/1.0 75 Temporary failure: (internal error)\r\n")
        }
        try await withSpamdServer(handler: RecordingHandler(failure: SpamdError.unavailable("(store offline)"))) { port in
            let reply = try await rawExchange(port: port, sending: try SpamdRequest(method: .check, body: hamMessage).encoded())
            #expect(text(reply) == "SPAMD/1.0 69 Service Unavailable: (store offline)\r\n")
        }
    }

    @Test("TELL is refused by default, as by spamd without --allow-tell")
    func tellDisabled() async throws {
        let reply = try await withSpamdServer(handler: CheckOnlyHandler()) { port in
            try await rawExchange(
                port: port,
                sending: try SpamdRequest(method: .tell, headers: ["Message-class": "spam", "Set": "local"], body: spamMessage)
                    .encoded())
        }
        #expect(text(reply) == "SPAMD/1.0 69 Service Unavailable: TELL commands are not enabled, set the --allow-tell switch.\r\n")
    }

    @Test("A slow client gets the timeout line")
    func requestTimeout() async throws {
        let configuration = SpamdConfiguration(requestTimeout: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await withSpamdServer(handler: RecordingHandler(), configuration: configuration) { port in
            try await rawExchange(port: port, sending: bytes("CHECK SPAMC/1.5\r\nContent-len"), halfClose: false)
        }
        #expect(text(reply) == "SPAMD/1.0 79 Timeout: (0.3 second socket timeout reading input from client)\r\n")
        #expect(clock.now - start < .seconds(300))
    }

    @Test("A slow handler gets the client a timeout line at the deadline")
    func handlerTimeout() async throws {
        let configuration = SpamdConfiguration(handlerTimeout: .milliseconds(300))
        let handler = RecordingHandler(delay: .seconds(3600))
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await withSpamdServer(handler: handler, configuration: configuration) { port in
            try await rawExchange(port: port, sending: try SpamdRequest(method: .report, body: hamMessage).encoded())
        }
        #expect(text(reply) == "SPAMD/1.0 79 Timeout: (0.3 second timeout while trying to REPORT)\r\n")
        #expect(clock.now - start < .seconds(300))
    }

    @Test("Concurrent connections are served independently")
    func concurrent() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let spam = index.isMultiple(of: 2)
                        let reply = try await rawExchange(
                            port: port, sending: try SpamdRequest(method: .check, body: spam ? spamMessage : hamMessage).encoded())
                        return text(reply).contains(spam ? "Spam: True ; 1000.0" : "Spam: False ; 0.5")
                    }
                }
                for try await ok in group { #expect(ok) }
            }
        }
        #expect(handler.requests.count == 20)
    }
}
