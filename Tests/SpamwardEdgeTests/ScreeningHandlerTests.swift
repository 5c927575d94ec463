import Foundation
import MailAuth
import NIOCore
import SMTPProtocol
import SpamwardEdge
import Testing

/// The screening before the greeting runs in a channel handler: clients refused there (drop,
/// rate) get their reply and are closed without a session ever being started; the ones that
/// pass get a session that knows what the screening found.
@Suite struct ScreeningHandlerTests {
    @Test func refusedClientsNeverGetASession() async throws {
        let resolver = StaticResolver(["81.0.0.127.bl.spamward.test": [.a(IPv4Address(127, 0, 0, 2))]])
        let lists = [try DNSListSite(parsing: "bl.spamward.test")]
        let edge = try await RunningEdge.start({
            $0.denylist = [IPNetwork("127.0.0.80/32")!]  // Safe to force unwrap: a literal.
            $0.actions[.pregreet] = .drop
            $0.actions[.dnsbl] = .drop
            $0.dnsLists = lists
            $0.rate.burstPerAddress = 1
            $0.rate.connectionsPerMinutePerAddress = 1
            $0.allowlist = [IPNetwork("127.0.0.85/32")!]  // Safe to force unwrap: a literal.
            // A long wait: the drops must not depend on timing on a loaded machine.
            $0.pregreetWaitMilliseconds = 600_000
            $0.backendPort = 9
        }, resolver: resolver)
        // Denylisted: 521 at once.
        let denied = try await TestClient.connect(to: edge.address, from: "127.0.0.80")
        let d = try await denied.reply()
        #expect(d?.code == 521 && d?.text == "5.7.1 [SW-DENYLIST] Client address is denied", "\(String(describing: d))")
        #expect(await denied.waitClosed())
        // Listed with drop: 521 after the teaser.
        let listed = try await TestClient.connect(to: edge.address, from: "127.0.0.81")
        let l = try await listed.reply()
        #expect(l?.code == 521 && l?.text.contains("[SW-DNSBL]") == true, "\(String(describing: l))")
        #expect(await listed.waitClosed())
        // Spoke before its turn with drop: 521.
        let talker = try await TestClient.connect(to: edge.address, from: "127.0.0.82")
        try await talker.send("EHLO bot\r\n")
        let t = try await talker.reply()
        #expect(t?.code == 521 && t?.text.contains("[SW-PREGREET]") == true, "\(String(describing: t))")
        #expect(await talker.waitClosed())
        // Over the rate (burst 1): the second connection from one address gets 421.
        let first = try await TestClient.connect(to: edge.address, from: "127.0.0.83")
        let second = try await TestClient.connect(to: edge.address, from: "127.0.0.83")
        let r = try await second.reply()
        #expect(r?.code == 421 && r?.text.contains("[SW-RATE]") == true, "\(String(describing: r))")
        #expect(await second.waitClosed())
        #expect(edge.service.sessionsStarted == 0, "a refused client got a session")
        // Each refusal is logged with its evidence, the connection's id and the client.
        let logs = edge.logs.all
        #expect(logs.contains { $0.contains("edge.test=denylist") && $0.contains("edge.evidence=in 127.0.0.80/32") && $0.contains("client.ip=127.0.0.80") && $0.contains("edge.conn_id=") })
        #expect(logs.contains { $0.contains("edge.test=dnsbl") && $0.contains("edge.action=drop") && $0.contains("bl.spamward.test=127.0.0.2") })
        #expect(logs.contains { $0.contains("edge.test=pregreet") && $0.contains("edge.evidence=10 bytes before the greeting") })
        #expect(logs.contains { $0.contains("edge.test=rate") && $0.contains("client.ip=127.0.0.83") })
        await first.close()
        // An allowlisted client is not screened: it gets the greeting at once, and the one session.
        let friend = try await TestClient.connect(to: edge.address, from: "127.0.0.85")
        let greet = try await friend.reply()
        #expect(greet?.code == 220 && greet?.lines.count == 1, "\(String(describing: greet))")
        #expect(try await friend.command("EHLO ok.example.com")?.code == 250)
        #expect(edge.service.sessionsStarted == 1)
        await edge.stop()
    }

    @Test func enforcedFindingsAreAnsweredWithoutASession() async throws {
        // pregreet = enforce: the early bytes are kept and read as the client's first command after
        // the greeting, and the finding refuses its recipients. Such a client never reaches the
        // backend, so the handler's front answers it: no session.
        // A long wait (enforce does not end it early): on a loaded machine the early bytes must
        // surely arrive within it (300 ms did not, once, in a full parallel `swift test`).
        let edge = try await RunningEdge.start {
            $0.actions[.pregreet] = .enforce
            $0.pregreetWaitMilliseconds = 5000
            $0.backendPort = 9
        }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.84")
        try await bot.send("EHLO early.example.net\r\n")
        let greet = try await bot.reply()
        #expect(greet?.code == 220)
        #expect(try await bot.reply()?.code == 250, "the early EHLO was lost")
        #expect(try await bot.command("MAIL FROM:<x@example.net>")?.code == 250)
        let rcpt = try await bot.command("RCPT TO:<inbox@spamward.test>")
        #expect(rcpt?.code == 550 && rcpt?.text.contains("[SW-PREGREET]") == true, "\(String(describing: rcpt))")
        #expect(edge.service.sessionsStarted == 0)
        let logs = edge.logs.all
        #expect(logs.contains {
            $0.contains("edge.test=pregreet") && $0.contains("edge.action=enforce") && $0.contains("smtp.helo=early.example.net")
                && $0.contains("smtp.sender_domain=example.net") && $0.contains("smtp.recipient_domain=spamward.test")
                && $0.contains("client.ip=127.0.0.84")
        }, "\(logs)")
        #expect(try await bot.command("QUIT")?.code == 221)
        #expect(await bot.waitClosed())
        await edge.stop()
    }

    @Test func aPipeliningBotGetsItsRepliesAndNoSession() async throws {
        let edge = try await RunningEdge.start {
            $0.pregreetWaitMilliseconds = 0
            $0.backendPort = 9  // never reached
        }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.86")
        #expect(try await bot.reply()?.code == 220)
        try await bot.send("EHLO bot.example.net\r\nMAIL FROM:<bot@example.net>\r\nRCPT TO:<inbox@spamward.test>\r\nDATA\r\n")
        #expect(try await bot.reply()?.code == 250)
        #expect(try await bot.reply()?.code == 250)
        let rcpt = try await bot.reply()
        #expect(rcpt?.code == 550 && rcpt?.text == "5.7.1 [SW-PIPELINING] Improper command pipelining", "\(String(describing: rcpt))")
        #expect(try await bot.reply()?.code == 554)  // DATA without recipients
        let logs = edge.logs.all
        #expect(logs.contains { $0.contains("edge.test=pipelining") && $0.contains("bytes sent before the reply to EHLO") })
        #expect(logs.contains { $0.contains("edge.test=pipelining") && $0.contains("smtp.recipient_domain=spamward.test") })
        // With drop: 521 at once and closed.
        await bot.close()
        #expect(edge.service.sessionsStarted == 0, "a pipelining bot got a session")
        await edge.stop()

        let strict = try await RunningEdge.start {
            $0.pregreetWaitMilliseconds = 0
            $0.actions[.pipelining] = .drop
            $0.backendPort = 9
        }
        let rude = try await TestClient.connect(to: strict.address, from: "127.0.0.87")
        #expect(try await rude.reply()?.code == 220)
        try await rude.send("EHLO bot.example.net\r\nMAIL FROM:<bot@example.net>\r\n")
        let r = try await rude.reply()
        #expect(r?.code == 521 && r?.text.contains("[SW-PIPELINING]") == true, "\(String(describing: r))")
        #expect(await rude.waitClosed())
        // A client that behaves gets its session, which reads its first command.
        let good = try await TestClient.connect(to: strict.address, from: "127.0.0.88")
        #expect(try await good.reply()?.code == 220)
        #expect(try await good.command("EHLO good.example.com")?.lines.contains("PIPELINING") == true)
        #expect(try await good.command("NOOP")?.code == 250)
        #expect(strict.service.sessionsStarted == 1)
        await good.close()
        await strict.stop()
    }

    @Test func aSilentClientInTheFrontTimesOut() async throws {
        let edge = try await RunningEdge.start {
            $0.pregreetWaitMilliseconds = 0
            $0.commandTimeoutSeconds = 1
            $0.backendPort = 9
        }
        let silent = try await TestClient.connect(to: edge.address, from: "127.0.0.90")
        #expect(try await silent.reply()?.code == 220)
        let bye = try await silent.reply(timeout: .seconds(30))
        #expect(bye?.code == 421 && bye?.text.hasPrefix("4.4.2") == true, "\(String(describing: bye))")
        #expect(await silent.waitClosed())
        #expect(edge.service.sessionsStarted == 0)
        await edge.stop()
    }

    @Test func clientsInTheFrontAreClosedWhenTheEdgeStops() async throws {
        let edge = try await RunningEdge.start {
            $0.pregreetWaitMilliseconds = 0
            $0.backendPort = 9
        }
        let idle = try await TestClient.connect(to: edge.address, from: "127.0.0.89")
        #expect(try await idle.reply()?.code == 220)
        await edge.stop()
        let bye = try await idle.reply(timeout: .seconds(10))
        #expect(bye?.code == 421, "\(String(describing: bye))")
        #expect(await idle.waitClosed())
    }

    @Test func peerAddressesAreReadFromTheSocketAddress() throws {
        let v4 = try SocketAddress(ipAddress: "192.0.2.7", port: 25)
        #expect(ScreeningHandlerProbe.ipAddress(v4) == IPAddress("192.0.2.7"))
        let v6 = try SocketAddress(ipAddress: "2001:db8::1:2", port: 25)
        #expect(ScreeningHandlerProbe.ipAddress(v6) == IPAddress("2001:db8::1:2"))
        let mapped = try SocketAddress(ipAddress: "::ffff:198.51.100.9", port: 25)
        #expect(ScreeningHandlerProbe.ipAddress(mapped)?.unmapped == IPAddress("198.51.100.9"))
    }
}
