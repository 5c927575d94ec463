import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle
import SpamwardCore
import SpamwardServer
import Testing

/// The Rspamd worker listener (`[rspamd]`): the real `rspamc` against it, the same JSON as the
/// Hummingbird route, and its limits (413, bad method and path, pipelining order, idle clients).
@Suite(.serialized) struct RspamdWorkerTests {
    /// Starts the HTTP API and the worker (milter and spamd off).
    static func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> (RunningServer, Task<Void, any Error>) {
        try await RunningServer.start { c in
            c.milter.enabled = false
            c.spamd.enabled = false
            c.rspamd.enabled = true
            configure(&c)
        }
    }

    @Test(.timeLimit(.minutes(2))) func rspamcSymbolsOnTheWorkerPort() async throws {
        guard RspamcTests.available else {
            print("skipped: \(RspamcTests.rspamc) not installed (apt-get install rspamd; .ci/run does it)")
            return
        }
        let (server, task) = try await Self.start { $0.http.enabled = false }
        let host = "127.0.0.1:\(server.port("rspamd"))"
        let spam = try RspamcTests().file(TestMessages.gtube)
        let ham = try RspamcTests().file(TestMessages.ham(3))
        defer {
            try? FileManager.default.removeItem(atPath: spam)
            try? FileManager.default.removeItem(atPath: ham)
        }

        let s = try await runTool(RspamcTests.rspamc, ["-t", "60", "-h", host, "-i", "192.0.2.7", "-F", "sender@example.com",
                                                       "-r", "rcpt@example.org", "--header", "Queue-Id: Q123", "symbols", spam])
        #expect(s.status == 0, "\(s)")
        #expect(s.out.contains("Action: reject"), "\(s.out)")
        #expect(s.out.contains("Spam: true"))
        #expect(s.out.contains("Symbol: GTUBE (1000.00)"))
        #expect(s.out.contains("Message-ID: gtube-1@example.com"))

        let h = try await runTool(RspamcTests.rspamc, ["-t", "60", "-h", host, "symbols", ham])
        #expect(h.status == 0, "\(h)")
        #expect(h.out.contains("Spam: false"), "\(h.out)")
        #expect(h.out.contains("Action: no action"))

        // Learning is the controller's (the HTTP port's): the worker says so instead of pretending.
        let l = try await runTool(RspamcTests.rspamc, ["-t", "60", "-h", host, "learn_spam", spam])
        #expect(!(l.out.contains("success = true")), "\(l)")
        #expect(try await server.filter.statistics().learnedSpam == 0)
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func sameReplyAsTheHummingbirdRoute() async throws {
        let (server, task) = try await Self.start()
        let envelope = "IP: 192.0.2.7\r\nHelo: mail.example.com\r\nFrom: <sender@example.com>\r\nRcpt: <a@example.org>\r\n"
            + "Rcpt: b@example.org\r\nQueue-Id: Q42\r\nUser: someone\r\nSettings: {}\r\n"
        for (message, extra) in [(TestMessages.gtube, ""), (TestMessages.ham(5), envelope), (TestMessages.ham(6), "Explain: yes\r\n")] {
            var replies: [[String: Any]] = []
            for name in ["http", "rspamd"] {
                let raw = try await Self.exchange(server.port(name), Self.checkv2(message, headers: extra, close: true))
                let responses = try Self.responses(raw)
                try #require(responses.count == 1, "\(name): \(String(decoding: raw, as: UTF8.self))")
                #expect(responses[0].status == 200)
                #expect(responses[0].headers["content-type"] == "application/json; charset=utf-8")
                var json = try #require(try JSONSerialization.jsonObject(with: Data(responses[0].body)) as? [String: Any])
                #expect(json["time_real"] is Double && json["scan_time"] is Double)
                json["time_real"] = nil
                json["scan_time"] = nil
                replies.append(json)
            }
            // Key order aside (dictionaries), the same JSON: compared in a canonical form.
            let canonical = try replies.map {
                String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self)
            }
            #expect(canonical[0] == canonical[1])
            #expect(canonical[0].contains("\"action\""))
            #expect(replies[1]["action"] != nil && replies[1]["symbols"] != nil)
        }
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func pipelinedRequestsAreAnsweredInOrder() async throws {
        let (server, task) = try await Self.start { $0.http.enabled = false }
        let port = server.port("rspamd")
        var batch: [UInt8] = []
        batch += Self.checkv2(TestMessages.ham(1))
        batch += Array("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        batch += Self.checkv2(TestMessages.gtube)
        batch += Self.checkv2(TestMessages.ham(2), close: true)
        let responses = try Self.responses(try await Self.exchange(port, batch))
        try #require(responses.count == 4)
        #expect(responses.map(\.status) == [200, 200, 200, 200])
        #expect(String(decoding: responses[1].body, as: UTF8.self) == "pong\r\n")
        let ids = [0, 2, 3].map { i in
            (try? JSONSerialization.jsonObject(with: Data(responses[i].body)) as? [String: Any])?["message-id"] as? String
        }
        #expect(ids == ["ham-1@example.com", "gtube-1@example.com", "ham-2@example.com"])
        #expect(responses[3].headers["connection"] == "close")
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func limitsAndErrors() async throws {
        let (server, task) = try await Self.start {
            $0.http.enabled = false
            $0.maxMessageBytes = 2048
        }
        let port = server.port("rspamd")

        // Too large by its Content-Length: 413 at once, and the connection is closed.
        let big = Self.checkv2(Array(repeating: UInt8(ascii: "a"), count: 4096))
        var r = try Self.responses(try await Self.exchange(port, big))
        try #require(r.count == 1)
        #expect(r[0].status == 413)
        #expect(r[0].headers["connection"] == "close")
        #expect(String(decoding: r[0].body, as: UTF8.self).contains("larger than 2048 bytes"))

        // Too large in chunks (no Content-Length).
        var chunked = Array("POST /checkv2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for _ in 0..<3 { chunked += Array("400\r\n".utf8) + Array(repeating: UInt8(ascii: "b"), count: 1024) + Array("\r\n".utf8) }
        chunked += Array("0\r\n\r\n".utf8)
        r = try Self.responses(try await Self.exchange(port, chunked))
        try #require(r.count == 1)
        #expect(r[0].status == 413)

        // Wrong method, unknown and controller paths: clear JSON errors, and the connection goes on.
        var batch = Array("GET /checkv2 HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        batch += Array("POST /learnspam HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".utf8)
        batch += Array("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        batch += Self.checkv2(TestMessages.ham(1), close: true)
        r = try Self.responses(try await Self.exchange(port, batch))
        try #require(r.count == 4)
        #expect(r.map(\.status) == [405, 404, 404, 200])
        #expect(r[0].headers["allow"] == "POST")
        for e in r.prefix(3) {
            let json = try JSONSerialization.jsonObject(with: Data(e.body)) as? [String: Any]
            #expect((json?["error"] as? [String: Any])?["message"] is String, "\(e)")
        }

        // Not HTTP at all: 400 and closed.
        r = try Self.responses(try await Self.exchange(port, Array("HELLO THERE\r\n\r\n".utf8)))
        #expect(r.first?.status == 400)
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func idleAndSlowClientsAreClosed() async throws {
        let (server, task) = try await Self.start {
            $0.http.enabled = false
            $0.rspamd.idleTimeoutSeconds = 1
        }
        let port = server.port("rspamd")
        // A client that stops in the middle of its request's head, one in the middle of its body,
        // and one that never sends anything: each is closed by the server (the read sees EOF).
        for partial in ["POST /checkv2 HTTP/1.1\r\nHost: x\r\nContent-Le", "POST /checkv2 HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc", ""] {
            let raw = try await Self.exchange(port, Array(partial.utf8))
            #expect(raw.isEmpty, "\(String(decoding: raw, as: UTF8.self))")
        }
        // A keep-alive client served and then idle is closed too, after its reply.
        let r = try Self.responses(try await Self.exchange(port, Self.checkv2(TestMessages.ham(1))))
        #expect(r.map(\.status) == [200])
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func connectionsOverTheLimitAreClosed() async throws {
        let (server, task) = try await Self.start {
            $0.http.enabled = false
            $0.rspamd.maxConnections = 1
        }
        let port = server.port("rspamd")
        let held = try await Self.connect(port)
        try await held.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: Self.checkv2(TestMessages.ham(1))))
            var iterator = inbound.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first.map { String(buffer: $0) }?.hasPrefix("HTTP/1.1 200") == true)
            // The second connection is over the limit: closed unanswered.
            #expect(try await Self.exchange(port, Self.checkv2(TestMessages.ham(2), close: true)).isEmpty)
        }
        // Once the first is gone the slot is free again.
        var served: [Response] = []
        for _ in 0..<100 where served.isEmpty {
            served = try Self.responses(try await Self.exchange(port, Self.checkv2(TestMessages.ham(3), close: true)))
            if served.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(served.map(\.status) == [200])
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func aFullScanQueueAnswers503AndTheConnectionGoesOn() async throws {
        let (server, task) = try await Self.start {
            $0.http.enabled = false
            $0.rspamdMaxPendingScans = 0  // not allowed in the file (1...): every scan is refused
        }
        var batch = Self.checkv2(TestMessages.ham(1))
        batch += Array("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        let r = try Self.responses(try await Self.exchange(server.port("rspamd"), batch))
        #expect(r.map(\.status) == [503, 200])
        let json = try JSONSerialization.jsonObject(with: Data(r[0].body)) as? [String: Any]
        #expect(((json?["error"] as? [String: Any])?["message"] as? String)?.contains("busy") == true, "\(r)")
        #expect(json?["action"] == nil && json?["score"] == nil)
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func gracefulShutdownAnswersTheRequestInProgressThenCloses() async throws {
        let (server, task) = try await Self.start { $0.http.enabled = false }
        let count = 400
        let batch = (0..<count).flatMap { Self.checkv2(TestMessages.ham($0)) }
        let client = try await Self.connect(server.port("rspamd"))
        let raw = try await client.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: [UInt8].self) { group in
                group.addTask {
                    try? await outbound.write(ByteBuffer(bytes: batch))
                    return []
                }
                group.addTask {
                    var received: [UInt8] = []
                    var stopping = false
                    do {
                        for try await chunk in inbound {
                            received += chunk.readableBytesView
                            // Once the first reply is in, stop the server while the next scans.
                            if !stopping, (try? Self.responses(received).count) ?? 0 >= 1 {
                                stopping = true
                                await server.group.triggerGracefulShutdown()
                            }
                        }
                    } catch {}
                    return received
                }
                var raw: [UInt8] = []
                for try await part in group { raw += part }
                return raw
            }
        }
        let r = try Self.responses(raw)
        // Every reply that came is complete and a real one; the one in progress at the shutdown
        // was answered (and told the connection closes); the rest were not started.
        #expect(r.count >= 2 && r.count < count, "\(r.count)")
        #expect(r.allSatisfy { $0.status == 200 })
        #expect(r.last?.headers["connection"] == "close")
        try await task.value
    }

    @Test(.timeLimit(.minutes(2))) func expectContinueGetsAnInterimReply() async throws {
        let (server, task) = try await Self.start { $0.http.enabled = false }
        let raw = try await Self.exchange(server.port("rspamd"),
                                          Self.checkv2(TestMessages.ham(1), headers: "Expect: 100-continue\r\n", close: true))
        #expect(String(decoding: raw, as: UTF8.self).hasPrefix("HTTP/1.1 100 Continue\r\n"))
        #expect(try Self.responses(raw).map(\.status) == [200])
        try await server.stop(task)
    }

    @Test(.timeLimit(.minutes(2))) func aReloadedScannerIsUsedByLaterScans() async throws {
        let (server, task) = try await Self.start { $0.http.enabled = false }
        func requiredScore() async throws -> Double? {
            let r = try Self.responses(try await Self.exchange(server.port("rspamd"), Self.checkv2(TestMessages.ham(1), close: true)))
            return (try JSONSerialization.jsonObject(with: Data(r.first?.body ?? [])) as? [String: Any])?["required_score"] as? Double
        }
        #expect(try await requiredScore() == 2.0)
        // What SIGHUP does (ConfigurationReloader): the shared filter gets a new scanner.
        var scanner = server.filter.scanner
        scanner.thresholds = Thresholds(unsure: 1, spam: 9)
        await server.filter.replace(scanner: scanner, policy: server.filter.policy)
        #expect(try await requiredScore() == 9.0)
        try await server.stop(task)
    }

    // MARK: a raw HTTP/1.1 client

    static func checkv2(_ message: [UInt8], headers: String = "", close: Bool = false) -> [UInt8] {
        Array("POST /checkv2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(message.count)\r\n\(headers)\(close ? "Connection: close\r\n" : "")\r\n".utf8)
            + message
    }

    static func connect(_ port: Int) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
    }

    /// Sends `bytes` and reads until the server closes the connection.
    static func exchange(_ port: Int, _ bytes: [UInt8]) async throws -> [UInt8] {
        let client = try await connect(port)
        return try await client.executeThenClose { inbound, outbound in
            var received: [UInt8] = []
            do {
                if !bytes.isEmpty { try await outbound.write(ByteBuffer(bytes: bytes)) }
                for try await chunk in inbound { received += chunk.readableBytesView }
            } catch {}
            return received
        }
    }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    /// Splits a byte stream of HTTP/1.1 responses (each with a Content-Length).
    static func responses(_ raw: [UInt8]) throws -> [Response] {
        var out: [Response] = []
        var rest = raw[...]
        let separator: [UInt8] = [13, 10, 13, 10]
        while !rest.isEmpty {
            guard let end = rest.indices.first(where: { rest[$0...].starts(with: separator) }) else { break }
            let head = String(decoding: rest[rest.startIndex..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let status = Int(head[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyStart = end + 4
            let bodyEnd = min(rest.endIndex, bodyStart + length)
            if status >= 200 {
                out.append(Response(status: status, headers: headers, body: Array(rest[bodyStart..<bodyEnd])))
            }
            rest = rest[bodyEnd...]
        }
        return out
    }
}
