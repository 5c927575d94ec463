import MailAuth
import Testing

@Suite struct DNSListSiteTests {
    @Test func postscreenExamples() throws {
        let zen = try DNSListSite(parsing: "zen.spamhaus.org=127.0.0.[2..11]*3")
        #expect(zen.domain == "zen.spamhaus.org" && zen.weight == 3)
        #expect(zen.matches(IPv4Address(127, 0, 0, 2)) && zen.matches(IPv4Address(127, 0, 0, 11)))
        #expect(!zen.matches(IPv4Address(127, 0, 0, 1)) && !zen.matches(IPv4Address(127, 0, 0, 12)))
        #expect(!zen.matches(IPv4Address(127, 0, 1, 2)))

        let wl = try DNSListSite(parsing: "list.dnswl.org=127.0.[0..255].[1..3]*-2")
        #expect(wl.weight == -2)
        #expect(wl.matches(IPv4Address(127, 0, 10, 2)) && !wl.matches(IPv4Address(127, 0, 10, 0)))

        let alt = try DNSListSite(parsing: "wl.mailspike.net=127.0.0.[17;18;20..22]*-1")
        #expect(alt.matches(IPv4Address(127, 0, 0, 18)) && alt.matches(IPv4Address(127, 0, 0, 21)))
        #expect(!alt.matches(IPv4Address(127, 0, 0, 19)))

        let plain = try DNSListSite(parsing: "bl.spamcop.net")
        #expect(plain.weight == 1 && plain.filter == nil && plain.matches(IPv4Address(127, 0, 0, 2)))
        let weighted = try DNSListSite(parsing: "Bl.Example.NET.*2")
        #expect(weighted.domain == "bl.example.net" && weighted.weight == 2)
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["zen.spamhaus.org=127.0.0.[2..11]*3", "list.dnswl.org=127.0.[0..255].[1..3]*-2", "a.test=127.0.0.[2;4..6]", "b.test"] {
            #expect(try DNSListSite(parsing: text).description == text)
        }
    }

    @Test func parseList() throws {
        let sites = try DNSListSite.parseList("zen.spamhaus.org*3, bl.spamcop.net\n  list.dnswl.org=127.0.[0..255].[1..3]*-2")
        #expect(sites.map(\.domain) == ["zen.spamhaus.org", "bl.spamcop.net", "list.dnswl.org"])
    }

    @Test(arguments: [
        "zen.spamhaus.org=127.0.0", "zen.spamhaus.org=127.0.0.[2..]", "zen.spamhaus.org=127.0.0.[5..2]",
        "zen.spamhaus.org=127.0.0.256", "zen.spamhaus.org*x", "zen.spamhaus.org=127.0.0.[2", "..bad*1", "",
        "zen.spamhaus.org=127.0.0.[]",
    ])
    func rejects(_ text: String) {
        #expect(throws: DNSListSyntaxError.self) { try DNSListSite(parsing: text) }
    }
}

@Suite struct DNSListCheckerTests {
    static let listed = IPAddress("192.0.2.99")!  // Safe to force unwrap: a literal.

    static func resolver() -> StaticResolver {
        var r = StaticResolver()
        r.add([.a(IPv4Address(127, 0, 0, 2)), .a(IPv4Address(127, 0, 0, 10))], at: "99.2.0.192.bl.test")
        r.add(.a(IPv4Address(127, 0, 0, 4)), at: "99.2.0.192.other.test")
        r.add(.a(IPv4Address(127, 0, 10, 2)), at: "99.2.0.192.wl.test")
        r.add(.a(IPv4Address(127, 255, 255, 254)), at: "99.2.0.192.zen.spamhaus.org")
        r.add(.a(IPv4Address(192, 0, 2, 1)), at: "99.2.0.192.hijacked.test")
        r.fail("99.2.0.192.slow.test", with: .timeout)
        r.add(.a(IPv4Address(127, 0, 0, 2)), at: "spammy.example.uribl.test")
        r.add(.a(IPv4Address(127, 0, 0, 1)), at: "spammy.example.multi.uribl.com")
        return r
    }

    @Test func scoresLikePostscreen() async throws {
        let sites = try DNSListSite.parseList(
            "bl.test=127.0.0.[2..11]*3 bl.test=127.0.0.10*2 other.test=127.0.0.2 other.test*1 wl.test=127.0.[0..255].[1..3]*-2 unlisted.test*5")
        let result = await DNSListChecker(resolver: Self.resolver(), sites: sites, threshold: 3).check(Self.listed)
        // bl.test: both entries match (3 + 2); other.test: only the unfiltered one (1); wl.test: -2.
        #expect(result.score == 4)
        #expect(result.isListed && !result.isAllowlisted)
        #expect(result.hits.map(\.weight) == [3, 2, 1, -2])
        #expect(result.hits.first?.replies == [IPv4Address(127, 0, 0, 2), IPv4Address(127, 0, 0, 10)])
        #expect(result.hits.first?.query == "99.2.0.192.bl.test")
        #expect(result.isListed(by: "bl.test") && !result.isListed(by: "unlisted.test"))
        #expect(result.warnings.isEmpty && result.failures.isEmpty)
    }

    @Test func allowlisted() async throws {
        let sites = try DNSListSite.parseList("wl.test=127.0.[0..255].[1..3]*-2")
        let result = await DNSListChecker(resolver: Self.resolver(), sites: sites).check(Self.listed)
        #expect(result.score == -2 && result.isAllowlisted && !result.isListed)
    }

    @Test func sentinelsAndForeignRepliesWarnAndDoNotScore() async throws {
        let sites = try DNSListSite.parseList("zen.spamhaus.org*3 hijacked.test*3")
        let result = await DNSListChecker(resolver: Self.resolver(), sites: sites).check(Self.listed)
        #expect(result.score == 0 && !result.isListed && result.hits.isEmpty)
        #expect(result.warnings.map(\.domain) == ["zen.spamhaus.org", "hijacked.test"])
        #expect(result.warnings.first?.reason.contains("public/open resolver") == true)
        // Without the default sentinels the same reply would have listed the address.
        let naive = await DNSListChecker(resolver: Self.resolver(), sites: [sites[0]], sentinels: []).check(Self.listed)
        #expect(naive.score == 3)
    }

    @Test func configurableSentinel() async throws {
        let sites = try DNSListSite.parseList("bl.test*3")
        let sentinel = DNSListSentinel(domain: "bl.test", replies: [IPv4Address(127, 0, 0, 10)], reason: "test refusal")
        let result = await DNSListChecker(resolver: Self.resolver(), sites: sites, sentinels: [sentinel]).check(Self.listed)
        #expect(result.score == 0 && result.warnings.first?.reason == "test refusal")
    }

    @Test func timeoutIsNotListed() async throws {
        let sites = try DNSListSite.parseList("slow.test*5 bl.test")
        let result = await DNSListChecker(resolver: Self.resolver(), sites: sites).check(Self.listed)
        #expect(result.score == 1)
        #expect(result.failures.count == 1 && result.failures.first?.isTimeout == true)
        #expect(result.failures.first?.domain == "slow.test")
    }

    @Test func domainLists() async throws {
        let sites = try DNSListSite.parseList("uribl.test=127.0.0.[2;4;8]*5 multi.uribl.com*5")
        let checker = DNSListChecker(resolver: Self.resolver(), sites: sites)
        let result = await checker.check(domain: "Spammy.Example.")
        #expect(result.score == 5 && result.hits.first?.query == "spammy.example.uribl.test")
        // multi.uribl.com answered 127.0.0.1: URIBL's "query refused".
        #expect(result.warnings.first?.domain == "multi.uribl.com")
        #expect(await checker.check(domain: "clean.example").score == 0)
    }

    @Test func queryNames() throws {
        // Safe to force unwrap: address literals.
        typealias C = DNSListChecker<StaticResolver>
        #expect(C.queryName(for: IPAddress("127.0.0.2")!, in: "zen.spamhaus.org.") == "2.0.0.127.zen.spamhaus.org")
        #expect(C.queryName(for: IPAddress("::ffff:192.0.2.1")!, in: "bl.test") == "1.2.0.192.bl.test")
        #expect(
            C.queryName(for: IPAddress("2001:db8::bad")!, in: "bl.test")
                == "d.a.b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test")
        #expect(C.queryName(forDomain: "Example.COM.", in: "multi.uribl.com") == "example.com.multi.uribl.com")
    }
}
