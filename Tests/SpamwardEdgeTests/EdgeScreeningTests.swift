import Foundation
import MailAuth
import NIOCore
import NIOPosix
import SMTPProtocol
import SpamwardCore
import SpamwardEdge
import Testing

/// Screening in a running edge. Refused clients never reach the backend, so most of these run
/// without Postfix; those that relay the passing case skip without it.
@Suite(.serialized) struct EdgeScreeningTests {
    func tag(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

    @Test func pregreetClientIsDroppedOrRefusedAtRCPT() async throws {
        // A 10-minute wait: with `drop` the early bytes are answered at once, so the wait costs
        // nothing, and on a loaded machine (a full parallel `swift test` at load 14 once took
        // longer than 1.5 s to send them) the bot's early bytes surely arrive within it.
        let edge = try await RunningEdge.start {
            $0.actions[.pregreet] = .drop
            $0.pregreetWaitMilliseconds = 600_000
        }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.40")
        try await bot.send("EHLO bot\r\n")  // before the greeting
        let r = try await bot.reply()
        #expect(r?.code == 521)
        #expect(r?.text.contains("[SW-PREGREET]") == true, "\(String(describing: r))")
        #expect(await bot.waitClosed())
        await edge.stop()

        let enforcing = try await RunningEdge.start {
            $0.backendPort = 9  // enforce never reaches the backend
            // Enforce waits the whole time before the greeting: long enough for a loaded machine.
            $0.pregreetWaitMilliseconds = 5000
        }
        let bot2 = try await TestClient.connect(to: enforcing.address, from: "127.0.0.41")
        try await bot2.send("EHLO bot\r\n")
        let greet = try await bot2.reply()
        #expect(greet?.code == 220)
        #expect(greet?.lines.count == 2, "the teaser and the greeting: \(String(describing: greet))")
        #expect(try await bot2.reply()?.code == 250)  // the EHLO it sent early
        #expect(try await bot2.command("MAIL FROM:<bot@example.net>")?.code == 250)
        let rcpt = try await bot2.command("RCPT TO:<inbox@spamward.test>")
        #expect(rcpt?.code == 550)
        #expect(rcpt?.text == "5.7.1 [SW-PREGREET] Client spoke before its turn")
        #expect(enforcing.logs.all.contains {
            $0.contains("edge.test=pregreet") && $0.contains("edge.action=enforce") && $0.contains("smtp.helo=bot")
                && $0.contains("smtp.recipient_domain=spamward.test")
        }, "\(enforcing.logs.all)")
        await enforcing.stop()
    }

    @Test func droppedClientsAreAnsweredBeforeThePregreetWaitEnds() async throws {
        // A 10-minute wait; a client that spoke early, or is listed, with `drop` is answered at once
        // (as postscreen does), so a bot costs the edge no wait. Loose bound for a loaded machine: 5 minutes.
        let resolver = StaticResolver(["79.0.0.127.bl.spamward.test": [.a(IPv4Address(127, 0, 0, 2))]])
        let lists = [try DNSListSite(parsing: "bl.spamward.test")]
        let edge = try await RunningEdge.start({
            $0.actions[.pregreet] = .drop
            $0.actions[.dnsbl] = .drop
            $0.pregreetWaitMilliseconds = 600_000
            $0.dnsLists = lists
            $0.backendPort = 9
        }, resolver: resolver)
        let start = ContinuousClock.now
        let talker = try await TestClient.connect(to: edge.address, from: "127.0.0.48")
        try await talker.send("EHLO bot\r\n")
        let r = try await talker.reply()
        #expect(r?.code == 521 && r?.text.contains("[SW-PREGREET]") == true, "\(String(describing: r))")
        #expect(ContinuousClock.now - start < .seconds(300), "the pregreet drop waited for the whole greet wait")

        let listedStart = ContinuousClock.now
        let listed = try await TestClient.connect(to: edge.address, from: "127.0.0.79")
        let l = try await listed.reply()
        #expect(l?.code == 521 && l?.text.contains("[SW-DNSBL]") == true, "\(String(describing: l))")
        #expect(ContinuousClock.now - listedStart < .seconds(300), "the DNSBL drop waited for the whole greet wait")
        await edge.stop()
    }

    @Test func pipeliningWithoutTheCapabilityIsRefused() async throws {
        let edge = try await RunningEdge.start {
            $0.announcePipelining = false
            $0.backendPort = 9
        }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.42")
        let greet = try await bot.reply()
        #expect(greet?.code == 220)
        let ehlo = try await bot.command("EHLO bot.example.net")
        #expect(ehlo?.lines.contains("PIPELINING") == false)
        try await bot.send("MAIL FROM:<bot@example.net>\r\nRCPT TO:<inbox@spamward.test>\r\nDATA\r\n")
        #expect(try await bot.reply()?.code == 250)
        let rcpt = try await bot.reply()
        #expect(rcpt?.code == 550)
        #expect(rcpt?.text.contains("[SW-PIPELINING]") == true, "\(String(describing: rcpt))")
        #expect(try await bot.reply()?.code == 554)  // DATA without recipients
        await edge.stop()
    }

    @Test func pipeliningWithTheCapabilityIsFineButNotAfterEHLO() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let edge = try await RunningEdge.start { _ in }
        let good = try await TestClient.connect(to: edge.address, from: "127.0.0.43")
        #expect(try await good.reply()?.code == 220)
        #expect(try await good.command("EHLO good.example.com")?.lines.contains("PIPELINING") == true)
        try await good.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<inbox@spamward.test>\r\nDATA\r\n")
        #expect(try await good.reply()?.code == 250)
        #expect(try await good.reply()?.code == 250)
        #expect(try await good.reply()?.code == 354)
        let t = tag("pipe")
        try await good.send(bytes: dotStuff(Backend.message(tag: t, index: 1, spam: false)))
        #expect(try await good.reply()?.code == 250)
        #expect(await Backend.waitForDelivery(tag: t, count: 1).count == 1)

        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.44")
        #expect(try await bot.reply()?.code == 220)
        try await bot.send("EHLO bot.example.net\r\nMAIL FROM:<bot@example.net>\r\nRCPT TO:<inbox@spamward.test>\r\n")
        #expect(try await bot.reply()?.code == 250)
        #expect(try await bot.reply()?.code == 250)
        #expect(try await bot.reply()?.text.contains("[SW-PIPELINING]") == true)
        await edge.stop()
    }

    @Test(arguments: ["GET / HTTP/1.1", "CONNECT 10.0.0.1:25 HTTP/1.0", "Subject: hello"])
    func nonSMTPCommandsAreDropped(_ line: String) async throws {
        let edge = try await RunningEdge.start { $0.backendPort = 9 }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.45")
        #expect(try await bot.reply()?.code == 220)
        let r = try await bot.command(line)
        #expect(r?.code == 521)
        #expect(r?.text.contains("[SW-NONSMTP]") == true)
        #expect(await bot.waitClosed())
        await edge.stop()
    }

    @Test func denylistedAddressIsDroppedAndAllowlistSkipsTests() async throws {
        let edge = try await RunningEdge.start {
            $0.denylist = [IPNetwork("127.0.0.64/28")!]  // Safe to force unwrap: a literal.
            $0.allowlist = [IPNetwork("127.0.0.70/32")!]  // Safe to force unwrap: a literal.
            $0.backendPort = 9
        }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.66")
        let r = try await bot.reply()
        #expect(r?.code == 521)
        #expect(r?.text == "5.7.1 [SW-DENYLIST] Client address is denied")
        #expect(await bot.waitClosed())
        let friend = try await TestClient.connect(to: edge.address, from: "127.0.0.70")
        try await friend.send("EHLO early.example.com\r\n")  // would be a pregreet, but allowlisted
        let greet = try await friend.reply()
        #expect(greet?.lines.count == 1, "no teaser for allowlisted clients: \(String(describing: greet))")
        #expect(try await friend.reply()?.code == 250)
        await edge.stop()
    }

    @Test func dnsListedClientIsRefused() async throws {
        let resolver = StaticResolver([
            "77.0.0.127.bl.spamward.test": [.a(IPv4Address(127, 0, 0, 2))],
            "78.0.0.127.bl.spamward.test": [.a(IPv4Address(127, 0, 0, 2))],
            "78.0.0.127.wl.spamward.test": [.a(IPv4Address(127, 0, 10, 2))],
        ])
        let lists = try DNSListSite.parseList("bl.spamward.test=127.0.0.[2..11]*2 wl.spamward.test=127.0.[0..255].[2..3]*-2")
        let edge = try await RunningEdge.start({
            $0.dnsLists = lists
            $0.dnsThreshold = 2
            $0.backendPort = 9
        }, resolver: resolver)
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.77")
        #expect(try await bot.reply()?.code == 220)
        #expect(try await bot.command("HELO bot.example.net")?.code == 250)
        #expect(try await bot.command("MAIL FROM:<x@example.net>")?.code == 250)
        let r = try await bot.command("RCPT TO:<inbox@spamward.test>")
        #expect(r?.text.contains("[SW-DNSBL]") == true, "\(String(describing: r))")
        #expect(edge.logs.all.contains { $0.contains("edge.test=dnsbl") && $0.contains("bl.spamward.test=127.0.0.2") })
        // Listed but also on the allowlist: score 0, goes on to the (closed) backend → 451.
        let ok = try await TestClient.connect(to: edge.address, from: "127.0.0.78")
        #expect(try await ok.reply()?.code == 220)
        #expect(try await ok.command("HELO ok.example.net")?.code == 250)
        #expect(try await ok.command("MAIL FROM:<x@example.net>")?.code == 451)
        await edge.stop()
    }

    /// A well-behaved client's MAIL with a SIZE over the limit is refused by its session (the
    /// front hands it off at EHLO) before any backend is asked.
    @Test func mailSizeOverTheLimitIsRefusedInTheSession() async throws {
        let edge = try await RunningEdge.start {
            $0.pregreetWaitMilliseconds = 0
            $0.maxMessageBytes = 1000
            $0.backendPort = 9
        }
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.48")
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.org")?.code == 250)
        let tooLarge = try await client.command("MAIL FROM:<a@example.org> SIZE=1001")
        #expect(tooLarge?.code == 552 && tooLarge?.text.hasPrefix("5.3.4") == true, "\(String(describing: tooLarge))")
        #expect(edge.service.sessionsStarted == 1)
        await edge.stop()
    }

    @Test func heloAddressLiteralOfAnotherHostIsRefused() async throws {
        let edge = try await RunningEdge.start { $0.backendPort = 9 }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.46")
        #expect(try await bot.reply()?.code == 220)
        #expect(try await bot.command("EHLO [192.0.2.1]")?.code == 250)
        #expect(try await bot.command("MAIL FROM:<x@example.net>")?.code == 250)
        #expect(try await bot.command("RCPT TO:<inbox@spamward.test>")?.text.contains("[SW-HELO]") == true)
        await edge.stop()
    }

    @Test func tooManyErrorsCloses() async throws {
        let edge = try await RunningEdge.start {
            $0.maxErrors = 3
            $0.backendPort = 9
        }
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.47")
        #expect(try await bot.reply()?.code == 220)
        for _ in 0..<3 { #expect(try await bot.command("XYZZY")?.code == 500) }
        try await bot.send("XYZZY\r\n")
        #expect(try await bot.reply()?.code == 500)
        let r = try await bot.reply()
        #expect(r?.code == 521)
        #expect(r?.text.contains("[SW-ERRORS]") == true)
        #expect(await bot.waitClosed())
        await edge.stop()
    }

    @Test func connectionBurstIsRateLimited() async throws {
        let edge = try await RunningEdge.start {
            $0.rate.burstPerAddress = 3
            $0.rate.connectionsPerMinutePerAddress = 1
            $0.pregreetWaitMilliseconds = 0
            $0.backendPort = 9
        }
        var codes: [Int] = []
        for _ in 0..<5 {
            let c = try await TestClient.connect(to: edge.address, from: "127.0.0.48")
            codes.append(try await c.reply()?.code ?? 0)
            await c.close()
        }
        #expect(codes == [220, 220, 220, 421, 421])
        #expect(edge.logs.all.contains { $0.contains("edge.reason=SW-RATE") })
        await edge.stop()
    }

    @Test func greylistingDefersThenAccepts() async throws {
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let clock = TestClock()
        let edge = try await RunningEdge.start({
            $0.greylist.enabled = true
            $0.greylist.delaySeconds = 60
            $0.pregreetWaitMilliseconds = 0
        }, clock: clock)
        let t = tag("grey")
        let first = try await TestClient.connect(to: edge.address, from: "127.0.0.49")
        let r1 = try await first.transaction(from: "g@example.com", to: ["inbox@spamward.test"], message: Backend.message(tag: t, index: 1, spam: false))
        #expect(r1?.code == 450)
        #expect(r1?.text.contains("[SW-GREYLIST]") == true)
        clock.advance(30)
        let early = try await TestClient.connect(to: edge.address, from: "127.0.0.49")
        #expect(try await early.transaction(from: "g@example.com", to: ["inbox@spamward.test"], message: Backend.message(tag: t, index: 1, spam: false))?.code == 450)
        clock.advance(31)
        let retry = try await TestClient.connect(to: edge.address, from: "127.0.0.49")
        let r3 = try await retry.transaction(from: "g@example.com", to: ["inbox@spamward.test"], message: Backend.message(tag: t, index: 1, spam: false))
        #expect(r3?.code == 250)
        #expect(await Backend.waitForDelivery(tag: t, count: 1).count == 1)
        await edge.stop()
    }
}

/// A TCP server that greets like SMTP and then never answers (a stuck backend).
struct SilentServer {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    final class Greeter: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "220 silent ESMTP\r\n")), promise: nil)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }

    static func start() async throws -> SilentServer {
        let ch = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Greeter()) } }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: ch)
    }

    func stop() async { try? await channel.close() }
}

extension EdgeScreeningTests {
    /// Connections over `maxConnections` get 421 and are closed unserved (which must not trap
    /// in NIO's "Deinited NIOAsyncWriter without calling finish()"); the edge goes on serving.
    @Test func connectionsOverTheLimitGet421AndTheEdgeGoesOn() async throws {
        let edge = try await RunningEdge.start {
            $0.maxConnections = 1
            $0.backendPort = 9
        }
        let held = try await TestClient.connect(to: edge.address, from: "127.0.0.61")
        #expect(try await held.reply()?.code == 220)
        for i in 0..<3 {
            let extra = try await TestClient.connect(to: edge.address, from: "127.0.0.\(62 + i)")
            let r = try await extra.reply()
            #expect(r?.code == 421, "\(String(describing: r))")
            #expect(await extra.waitClosed())
        }
        #expect(try await held.command("NOOP")?.code == 250)
        await held.close()
        var greeted: SMTPReply? = nil
        for _ in 0..<100 where greeted?.code != 220 {
            let next = try await TestClient.connect(to: edge.address, from: "127.0.0.70")
            greeted = try await next.reply()
            await next.close()
            if greeted?.code != 220 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(greeted?.code == 220)
        await edge.stop()
    }
}
