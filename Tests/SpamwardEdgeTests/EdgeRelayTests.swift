import Foundation
import MailAuth
import NIOCore
import SMTPProtocol
import SpamwardCore
import SpamwardEdge
import Testing

/// End to end against the real test Postfix (backend 127.0.0.1:10026, XCLIENT authorized,
/// Maildir /var/tmp/spamward-postfix/mail/inbox). Clients connect from 127.0.0.N so the backend
/// sees an address other than the edge's own.
@Suite(.serialized) struct EdgeRelayTests {
    func tag(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

    @Test func hamIsRelayedOnceWithTheClientsAddressAndVerdictHeaders() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start { _ in }
        let t = tag("ham")
        var sent = 0
        for i in 0..<5 {
            let client = try await TestClient.connect(to: edge.address, from: "127.0.0.\(20 + i)")
            let r = try await client.transaction(helo: "client\(i).example.com", from: "s\(i)@example.com", to: ["inbox@spamward.test"],
                                                 message: Backend.message(tag: t, index: i, spam: false))
            #expect(r?.code == 250, "ham \(i): \(String(describing: r))\n\(edge.logs.all.joined(separator: "\n"))")
            #expect(r?.text.contains("queued as") == true, "the 250 must be Postfix's own: \(String(describing: r))")
            if r?.code == 250 { sent += 1 }
            await client.close()
        }
        let files = await Backend.waitForDelivery(tag: t, count: sent)
        #expect(files.count == 5, "accepted 5, delivered \(files.count)")
        for i in 0..<5 {
            let f = files.first { $0.contains("Message-ID: <\(t)-\(i)@example.com>") } ?? ""
            #expect(f.contains("[127.0.0.\(20 + i)]"), "the client's address must reach Postfix by XCLIENT:\n\(f.prefix(600))")
            #expect(f.contains("from client\(i).example.com"), "HELO by XCLIENT:\n\(f.prefix(600))")
            #expect(f.contains("X-Spam-Flag: NO"))
            #expect(f.contains("\n.leading dot line stays intact"), "dot-stuffing changed the body")
        }
        await edge.stop()
    }

    @Test func spamIsRejectedWithReasonAndNeverRelayed() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start { _ in }
        let t = tag("spam")
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.30")
        let r = try await client.transaction(from: "s@example.com", to: ["inbox@spamward.test"],
                                             message: Backend.message(tag: t, index: 1, spam: true))
        #expect(r?.code == 550)
        #expect(r?.text.contains("5.7.1 [SW-SPAM]") == true, "\(String(describing: r))")
        // The same session can still deliver ham afterwards.
        let ham = try await TestClient.connect(to: edge.address, from: "127.0.0.30")
        let h = try await ham.transaction(from: "s@example.com", to: ["inbox@spamward.test"], message: Backend.message(tag: t, index: 2, spam: false))
        #expect(h?.code == 250)
        let files = await Backend.waitForDelivery(tag: t, count: 1)
        #expect(files.count == 1)
        #expect(files.allSatisfy { !$0.contains("GTUBE") })
        #expect(edge.logs.all.contains { $0.contains("message rejected") && $0.contains("edge.reason=SW-SPAM") })
        await edge.stop()
    }

    @Test func xforwardSessionsReuseIdleBackendConnections() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start {
            $0.forwarding = .xforward
            $0.backendPoolSize = 4
        }
        let t = tag("pool")
        let maillog = "/var/tmp/spamward-postfix/maillog"
        func forwarded(_ i: Int) -> Int {
            let text = (try? String(contentsOfFile: maillog, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "orig_client=unknown[127.0.0.\(40 + i)]").count - 1
        }
        let before = (0..<3).map(forwarded)
        for i in 0..<3 {
            let client = try await TestClient.connect(to: edge.address, from: "127.0.0.\(40 + i)")
            let r = try await client.transaction(helo: "pool\(i).example.com", from: "p\(i)@example.com", to: ["inbox@spamward.test"],
                                                 message: Backend.message(tag: t, index: i, spam: false))
            #expect(r?.code == 250 && r?.text.contains("queued as") == true, "\(String(describing: r))")
            await client.close()
        }
        let files = await Backend.waitForDelivery(tag: t, count: 3)
        #expect(files.count == 3, "accepted 3, delivered \(files.count)")
        let relayed = edge.logs.all.filter { $0.contains("message relayed") }
        #expect(relayed.count == 3)
        #expect(relayed.filter { $0.contains("backend.reused=true") }.count == 2, "\(relayed.joined(separator: "\n"))")
        // XFORWARD went with every transaction, also on the reused connection (Postfix logs it
        // as orig_client; it does not change the Received: field).
        #expect((0..<3).map(forwarded) == before.map { $0 + 1 }, "Postfix's log lacks the forwarded client addresses")
        await edge.stop()
    }

    @Test func xclientSessionsNeverShareABackendConnection() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start { $0.backendPoolSize = 4 }
        let t = tag("nopool")
        for i in 0..<2 {
            let client = try await TestClient.connect(to: edge.address, from: "127.0.0.\(45 + i)")
            let r = try await client.transaction(from: "n\(i)@example.com", to: ["inbox@spamward.test"],
                                                 message: Backend.message(tag: t, index: i, spam: false))
            #expect(r?.code == 250)
            await client.close()
        }
        let files = await Backend.waitForDelivery(tag: t, count: 2)
        #expect(files.count == 2)
        #expect(!edge.logs.all.contains { $0.contains("backend.reused=true") })
        await edge.stop()
    }

    @Test func backendDownMeans451AndNothingLost() async throws {
        // No Postfix needed: the backend port is closed.
        let edge = try await RunningEdge.start { $0.backendPort = 9 }
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.31")
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        let m = try await client.command("MAIL FROM:<a@example.com>")
        #expect(m?.code == 451)
        #expect(m?.text.contains("[SW-BACKEND]") == true)
        #expect(try await client.command("QUIT")?.code == 221)
        await edge.stop()
    }

    @Test func slowBackendMeans451() async throws {
        // A backend that greets and then never answers.
        let silent = try await SilentServer.start()
        let edge = try await RunningEdge.start {
            $0.backendPort = silent.port
            $0.backendTimeoutSeconds = 1
        }
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.32")
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        let m = try await client.command("MAIL FROM:<a@example.com>")
        #expect(m?.code == 451, "\(String(describing: m))")
        await client.close()
        await edge.stop()
        await silent.stop()
    }

    @Test func clientLeavingMidDataDeliversNothing() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start { _ in }
        let t = tag("cut")
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.33")
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        #expect(try await client.command("MAIL FROM:<a@example.com>")?.code == 250)
        #expect(try await client.command("RCPT TO:<inbox@spamward.test>")?.code == 250)
        #expect(try await client.command("DATA")?.code == 354)
        let whole = Backend.message(tag: t, index: 1, spam: false)
        try await client.send(bytes: Array(whole.prefix(whole.count - 10)))
        try await Task.sleep(for: .milliseconds(200))
        await client.close()
        // A complete message right after, so "nothing delivered" is not just "slow".
        let next = try await TestClient.connect(to: edge.address, from: "127.0.0.33")
        let r = try await next.transaction(from: "a@example.com", to: ["inbox@spamward.test"], message: Backend.message(tag: t, index: 2, spam: false))
        #expect(r?.code == 250)
        let files = await Backend.waitForDelivery(tag: t, count: 1, settle: .seconds(1))
        #expect(files.count == 1, "only the complete message may arrive")
        #expect(files.allSatisfy { $0.contains("<\(t)-2@example.com>") })
        await edge.stop()
    }

    @Test func shutdownWithSessionsInFlightDeliversNoPartialMessage() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start { $0.drainSeconds = 1 }
        let t = tag("stop")
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.34")
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        #expect(try await client.command("MAIL FROM:<a@example.com>")?.code == 250)
        #expect(try await client.command("RCPT TO:<inbox@spamward.test>")?.code == 250)
        #expect(try await client.command("DATA")?.code == 354)
        let whole = Backend.message(tag: t, index: 1, spam: false)
        try await client.send(bytes: Array(whole.prefix(40)))
        await edge.stop()  // drains 1 s, then closes the unfinished session
        let last = try? await client.reply(timeout: .seconds(5))
        #expect(last == nil || last?.code == 421, "\(String(describing: last))")
        #expect(await client.waitClosed())
        let files = await Backend.waitForDelivery(tag: t, count: 1, settle: .seconds(1))
        #expect(files.isEmpty)
    }

    @Test func xforwardAlsoRelays() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start { $0.forwarding = .xforward }
        let t = tag("xfwd")
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.35")
        let r = try await client.transaction(from: "a@example.com", to: ["inbox@spamward.test"], message: Backend.message(tag: t, index: 1, spam: false))
        #expect(r?.code == 250)
        #expect(await Backend.waitForDelivery(tag: t, count: 1).count == 1)
        await edge.stop()
    }
}
