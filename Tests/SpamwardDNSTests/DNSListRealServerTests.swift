import MailAuth
import SpamwardDNS
import SpamwardTestSupport
import Testing

/// DNS list checks against the zones dnsbl.test, dnswl.test, sentinel.test and uribl.test of the
/// test unbound.
@Suite(.enabled(Comment(rawValue: TestDNSServer.skipMessage)) { await TestDNSServer.isRunning() })
struct DNSListRealServerTests {
    static func checker(_ sites: String, threshold: Int = 3) throws -> DNSListChecker<NIODNSResolver> {
        let sentinels = DNSListSentinel.defaults + [
            DNSListSentinel(domain: "sentinel.test", replies: [IPv4Address(127, 255, 255, 254)], reason: "test list refuses us")
        ]
        return DNSListChecker(
            resolver: TestResolverFactory.make(), sites: try DNSListSite.parseList(sites), sentinels: sentinels,
            threshold: threshold)
    }

    @Test func testEntryIsListedWithWeights() async throws {
        let c = try Self.checker("dnsbl.test=127.0.0.[2..11]*3 dnsbl.test=127.0.0.10*1 dnswl.test=127.0.[0..255].[1..3]*-2 sentinel.test*5")
        let r = await c.check(try #require(IPAddress("127.0.0.2")))
        #expect(r.score == 2)  // 3 + 1 - 2; the sentinel list does not score
        #expect(r.hits.map(\.weight) == [3, 1, -2])
        #expect(Set(r.hits.first?.replies ?? []) == [IPv4Address(127, 0, 0, 2), IPv4Address(127, 0, 0, 10)])
        #expect(r.warnings.map(\.domain) == ["sentinel.test"])
        #expect(r.warnings.first?.replies == [IPv4Address(127, 255, 255, 254)])
        #expect(r.failures.isEmpty)
        #expect(!r.isListed)  // threshold 3
    }

    @Test func otherAddresses() async throws {
        let c = try Self.checker("dnsbl.test=127.0.0.[2..11]*3 dnswl.test=127.0.[0..255].[1..3]*-2")
        // 127.0.0.1 must never be listed (RFC 5782 section 5).
        #expect(await c.check(try #require(IPAddress("127.0.0.1"))).score == 0)
        let listed = await c.check(try #require(IPAddress("192.0.2.99")))
        #expect(listed.score == 3 && listed.isListed && listed.hits.first?.replies == [IPv4Address(127, 0, 0, 4)])
        let v6 = await c.check(try #require(IPAddress("2001:db8::bad")))
        #expect(v6.score == 3 && v6.isListed)
        let allow = await c.check(try #require(IPAddress("198.51.100.7")))
        #expect(allow.score == -2 && allow.isAllowlisted)
    }

    @Test func uriList() async throws {
        let c = try Self.checker("uribl.test=127.0.0.[2;8]*5 uribl.test=127.0.0.4*1")
        #expect(await c.check(domain: "spammy.example").score == 5)
        #expect(await c.check(domain: "grey.example").score == 1)
        #expect(await c.check(domain: "clean.example").score == 0)
    }
}

enum TestResolverFactory {
    static func make() -> NIODNSResolver {
        NIODNSResolver(
            configuration: DNSResolverConfiguration(
                servers: [DNSServerAddress(host: TestDNSServer.host, port: TestDNSServer.port)].compactMap { $0 },
                timeoutMilliseconds: 10_000),
            eventLoopGroup: NIODNSResolverTests.group)
    }
}
