import MailAuth
import Testing

/// Sentinel entries of the configuration (`DOMAIN=IP[,IP...][:REASON]`) and how they merge with
/// the defaults.
@Suite struct DNSListSentinelConfigurationTests {
    @Test func parsesDomainRepliesAndReason() throws {
        let s = try DNSListSentinel(parsing: " Spamhaus.ORG.=127.255.255.254, 127.255.255.255 : refused: use a local resolver ")
        #expect(s.domain == "spamhaus.org")
        #expect(s.replies == [IPv4Address(127, 255, 255, 254), IPv4Address(127, 255, 255, 255)])
        #expect(s.reason == "refused: use a local resolver")
        let plain = try DNSListSentinel(parsing: "bl.example=127.0.0.1")
        #expect(plain.replies == [IPv4Address(127, 0, 0, 1)])
        #expect(plain.reason == "bl.example: query refused (configured sentinel)")
        let none = try DNSListSentinel(parsing: "uribl.com=")
        #expect(none.domain == "uribl.com" && none.replies.isEmpty)
    }

    @Test func printedEntryParsesBack() throws {
        let s = try DNSListSentinel(parsing: "bl.example=127.0.0.9,127.0.0.1:blocked")
        #expect(s.configurationText == "bl.example=127.0.0.1,127.0.0.9:blocked")
        #expect(try DNSListSentinel(parsing: s.configurationText) == s)
        for d in DNSListSentinel.defaults {
            #expect(try DNSListSentinel(parsing: d.configurationText) == d)
        }
    }

    @Test(arguments: [
        ("spamhaus.org", DNSListSentinelSyntaxError.Code.missingReplies),
        ("bad name!=127.0.0.1", .badDomain),
        ("=127.0.0.1", .badDomain),
        ("bl.example=127.0.0", .badReply),
        ("bl.example=10.0.0.1", .badReply),
        ("bl.example=127.0.0.1,", .badReply),
        ("bl.example=127.0.0.1:", .badReason),
        ("bl.example=127.0.0.1:two\nlines", .badReason),
    ])
    func rejectsBadEntries(text: String, code: DNSListSentinelSyntaxError.Code) {
        #expect {
            _ = try DNSListSentinel(parsing: text)
        } throws: { error in
            (error as? DNSListSentinelSyntaxError)?.code == code
        }
    }

    @Test func configuredEntriesReplaceTheDefaultsOfTheirDomain() throws {
        let spamhaus = try DNSListSentinel(parsing: "spamhaus.org=127.255.255.250:custom")
        let extra = try DNSListSentinel(parsing: "bl.example=127.0.0.1")
        let merged = DNSListSentinel.merged(with: [spamhaus, extra])
        // The three spamhaus.org defaults are gone, spamhaus.net/uribl.com/surbl.org stay.
        #expect(merged.filter { $0.domain == "spamhaus.org" } == [spamhaus])
        #expect(merged.count == DNSListSentinel.defaults.count - 3 + 2)
        #expect(merged.contains(extra))
        #expect(merged.contains { $0.domain == "uribl.com" })
        // An entry with no replies only removes.
        let removed = DNSListSentinel.merged(with: [try DNSListSentinel(parsing: "uribl.com=")])
        #expect(!removed.contains { $0.domain == "uribl.com" })
        #expect(removed.count == DNSListSentinel.defaults.count - 1)
        // Without the defaults only the configured ones are left.
        #expect(DNSListSentinel.merged(keepDefaults: false, with: [extra]) == [extra])
        #expect(DNSListSentinel.merged(with: []) == DNSListSentinel.defaults)
    }

    @Test func checkerUsesTheMergedSentinels() async throws {
        var r = StaticResolver()
        let client = try #require(IPAddress("192.0.2.99"))
        r.add(.a(IPv4Address(127, 255, 255, 254)), at: "99.2.0.192.zen.spamhaus.org")
        r.add(.a(IPv4Address(127, 0, 0, 200)), at: "99.2.0.192.bl.example")
        let sites = try DNSListSite.parseList("zen.spamhaus.org*3 bl.example*3")
        // Defaults: Spamhaus' reply is a sentinel, bl.example's 127.0.0.200 lists.
        let plain = await DNSListChecker(resolver: r, sites: sites, threshold: 3).check(client)
        #expect(plain.score == 3 && plain.warnings.map(\.domain) == ["zen.spamhaus.org"])
        // bl.example configured to refuse with 127.0.0.200; Spamhaus' defaults removed.
        let configured = DNSListSentinel.merged(with: [
            try DNSListSentinel(parsing: "bl.example=127.0.0.200:over quota"), try DNSListSentinel(parsing: "spamhaus.org="),
        ])
        let result = await DNSListChecker(resolver: r, sites: sites, sentinels: configured, threshold: 3).check(client)
        #expect(result.score == 3 && result.hits.map(\.site.domain) == ["zen.spamhaus.org"])
        #expect(result.warnings.map(\.domain) == ["bl.example"] && result.warnings.first?.reason == "over quota")
    }
}
