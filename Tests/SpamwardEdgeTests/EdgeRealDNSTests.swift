import Foundation
import MailAuth
import NIOCore
import NIOPosix
import SMTPProtocol
import SpamwardDNS
import SpamwardEdge
import SpamwardTestSupport
import Testing

/// The edge with the project's resolver against the real test name server (unbound on
/// 127.0.0.1:5354, zones in Tests/Fixtures/dns/, started by `scripts/test-dns.sh start`).
@Suite(.serialized) struct EdgeRealDNSTests {
    static let skipMessage = "SKIPPED: " + TestDNSServer.skipMessage

    /// Whether unbound answers for dnsbl.test (asked with a hand-made packet, not with the
    /// resolver under test, so a broken resolver fails the test instead of skipping it).
    static func serverIsRunning() async -> Bool { await TestDNSServer.isRunning(zone: "dnsbl.test") }

    /// The resolver's own event loop, apart from the shared singleton other suites use.
    static let dnsGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    @Test func clientListedInTheTestZoneIsRefused() async throws {
        guard await Self.serverIsRunning() else { print(Self.skipMessage); return }
        let resolver = NIODNSResolver(configuration: DNSResolverConfiguration(
            servers: [try #require(DNSServerAddress(host: TestDNSServer.host, port: TestDNSServer.port))], timeoutMilliseconds: 10_000),
            eventLoopGroup: Self.dnsGroup)
        let lists = [try DNSListSite(parsing: "dnsbl.test=127.0.0.[2..11]")]
        let edge = try await RunningEdge.start({
            $0.dnsLists = lists
            $0.dnsTimeoutMilliseconds = 5000  // a loaded machine
            $0.backendPort = 9  // a refused client never reaches the backend
        }, resolver: resolver)

        // 127.0.0.2 is listed in dnsbl.test (2.0.0.127.dnsbl.test A 127.0.0.2 and 127.0.0.10).
        let bot = try await TestClient.connect(to: edge.address, from: "127.0.0.2")
        #expect(try await bot.reply()?.code == 220)
        #expect(try await bot.command("HELO bot.example.net")?.code == 250)
        #expect(try await bot.command("MAIL FROM:<x@example.net>")?.code == 250)
        let r = try await bot.command("RCPT TO:<inbox@spamward.test>")
        #expect(r?.code == 550 && r?.text.contains("[SW-DNSBL]") == true, "\(String(describing: r))")
        #expect(edge.logs.all.contains { $0.contains("edge.test=dnsbl") && $0.contains("dnsbl.test=127.0.0.") }, "\(edge.logs.all)")

        // 127.0.0.3 is not listed: it passes the lists and goes on to the (closed) backend → 451.
        let ok = try await TestClient.connect(to: edge.address, from: "127.0.0.3")
        #expect(try await ok.reply()?.code == 220)
        #expect(try await ok.command("HELO ok.example.net")?.code == 250)
        #expect(try await ok.command("MAIL FROM:<x@example.net>")?.code == 451)
        #expect(!edge.logs.all.contains { $0.contains("edge.test=dnsbl") && $0.contains("client.ip=127.0.0.3") })
        #expect(resolver.statistics.udpQueries >= 2, "both clients were asked about over UDP")
        await edge.stop()
    }
}
