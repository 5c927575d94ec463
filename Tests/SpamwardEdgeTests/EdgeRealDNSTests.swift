import Foundation
import MailAuth
import NIOCore
import NIOPosix
import SMTPProtocol
import SpamwardDNS
import SpamwardEdge
import Testing

/// The edge with the project's resolver against the real test name server (unbound on
/// 127.0.0.1:5354, zones in Tests/Fixtures/dns/, started by `scripts/test-dns.sh start`).
@Suite(.serialized) struct EdgeRealDNSTests {
    static let skipMessage =
        "SKIPPED: the test DNS server is not running on 127.0.0.1:5354: start it with `scripts/test-dns.sh start` (needs unbound)"

    /// Whether unbound answers an SOA query for dnsbl.test, asked with a hand-made packet (not
    /// with the resolver under test, so a broken resolver fails the test instead of skipping it).
    static func serverIsRunning() async -> Bool {
        let query: [UInt8] =
            [0x45, 0x44, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5] + Array("dnsbl".utf8) + [4] + Array("test".utf8) + [0, 0, 6, 0, 1]
        do {
            let server = try SocketAddress(ipAddress: "127.0.0.1", port: 5354)
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0) { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: ch)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query)))
                return try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        for try await reply in inbound {
                            let b = Array(reply.data.readableBytesView)
                            return b.count > 12 && b[0] == 0x45 && b[1] == 0x44 && b[2] & 0x80 != 0 && b[3] & 0x0F == 0 && b[7] == 1
                        }
                        return false
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(2))
                        return false
                    }
                    let first = try await group.next() ?? false
                    group.cancelAll()
                    return first
                }
            }
        } catch {
            return false
        }
    }

    /// The resolver's own event loop, apart from the shared singleton other suites use.
    static let dnsGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    @Test func clientListedInTheTestZoneIsRefused() async throws {
        guard await Self.serverIsRunning() else { print(Self.skipMessage); return }
        let resolver = NIODNSResolver(configuration: DNSResolverConfiguration(
            servers: [try #require(DNSServerAddress(host: "127.0.0.1", port: 5354))], timeoutMilliseconds: 10_000),
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
