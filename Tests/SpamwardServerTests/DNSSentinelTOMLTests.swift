import MailAuth
import SpamwardEdge
import SpamwardServer
import Testing

/// The DNS list sentinels in `[edge]` (`dnsbl_sentinels`, `dnsbl_default_sentinels`) and
/// `[uribl]` (`sentinels`, `default_sentinels`): parsed, merged with the defaults, validated
/// with the key and the entry, printed in the effective settings.
@Suite struct DNSSentinelTOMLTests {
    @Test func defaultsWithoutKeys() throws {
        let c = try ServerConfiguration.parse(toml: "")
        #expect(c.edge.configuration.dnsSentinels == DNSListSentinel.defaults)
        #expect(c.uribl.sentinels.isEmpty && c.uribl.defaultSentinels)
    }

    @Test func edgeEntriesAddAndReplacePerList() throws {
        let c = try ServerConfiguration.parse(toml: """
            [edge]
            dnsbl_sentinels = ["dnsbl.example.net=127.0.0.255:example.net refused", "spamhaus.org=127.255.255.250"]
            """)
        let s = c.edge.configuration.dnsSentinels
        #expect(s.contains(DNSListSentinel(domain: "dnsbl.example.net", replies: [IPv4Address(127, 0, 0, 255)], reason: "example.net refused")))
        // The three spamhaus.org defaults are replaced by the one entry.
        #expect(s.filter { $0.domain == "spamhaus.org" }.map(\.replies) == [[IPv4Address(127, 255, 255, 250)]])
        #expect(s.contains { $0.domain == "spamhaus.net" } && s.contains { $0.domain == "uribl.com" })

        let only = try ServerConfiguration.parse(toml: """
            [edge]
            dnsbl_default_sentinels = false
            dnsbl_sentinels = ["bl.example=127.0.0.1"]
            """)
        #expect(only.edge.configuration.dnsSentinels.map(\.domain) == ["bl.example"])
        let none = try ServerConfiguration.parse(toml: "[edge]\ndnsbl_default_sentinels = false\n")
        #expect(none.edge.configuration.dnsSentinels.isEmpty)
        let removed = try ServerConfiguration.parse(toml: "[edge]\ndnsbl_sentinels = [\"surbl.org=\"]\n")
        #expect(removed.edge.configuration.dnsSentinels == DNSListSentinel.defaults.filter { $0.domain != "surbl.org" })
    }

    @Test func uriblEntries() throws {
        let c = try ServerConfiguration.parse(toml: """
            [uribl]
            lists = ["multi.uribl.com"]
            default_sentinels = false
            sentinels = ["uribl.com=127.0.0.1,127.0.0.255:URIBL refused"]
            """)
        #expect(!c.uribl.defaultSentinels)
        #expect(c.uribl.sentinels.map(\.configurationText) == ["uribl.com=127.0.0.1,127.0.0.255:URIBL refused"])
    }

    @Test func badEntriesAreProblemsWithTheirKey() {
        let text = """
            [edge]
            dnsbl_sentinels = ["spamhaus.org", "bad name!=127.0.0.1", "bl.example=10.0.0.1", "bl.example=127.0.0.1:"]
            dnsbl_default_sentinels = "no"
            [uribl]
            sentinels = ["uribl.com=127.0.0.x"]
            default_sentinels = 1
            """
        #expect {
            try ServerConfiguration.parse(toml: text)
        } throws: { error in
            guard let e = error as? ConfigurationError else { return false }
            let all = e.problems.joined(separator: "\n")
            let expected = [
                "edge.dnsbl_sentinels: \"spamhaus.org\": expected DOMAIN=IP",
                "edge.dnsbl_sentinels: \"bad name!=127.0.0.1\": the domain is not a DNS name",
                "edge.dnsbl_sentinels: \"bl.example=10.0.0.1\": each reply must be an IPv4 address in 127.0.0.0/8",
                "edge.dnsbl_sentinels: \"bl.example=127.0.0.1:\": the reason",
                "edge.dnsbl_default_sentinels", "uribl.sentinels: \"uribl.com=127.0.0.x\"", "uribl.default_sentinels",
            ]
            for text in expected where !all.contains(text) {
                Issue.record("no problem says \(text):\n\(all)")
            }
            return e.problems.count == expected.count
        }
    }

    @Test func effectiveSentinelsArePrintedAndReadBack() throws {
        let c = try ServerConfiguration.parse(toml: """
            [edge]
            dnsbl_sentinels = ["dnsbl.example.net=127.0.0.255:refused, \\"really\\"", "uribl.com="]
            [uribl]
            sentinels = ["surbl.org=127.0.0.1"]
            """)
        let text = c.renderTOML(storePathDefault: "/tmp/s.sqlite")
        #expect(text.contains("dnsbl_default_sentinels = false"))
        #expect(text.contains("127.255.255.254:Spamhaus: query via public/open resolver"), "\(text)")
        #expect(text.contains("dnsbl.example.net=127.0.0.255:refused, \\\"really\\\""), "\(text)")
        #expect(!text.contains("uribl.com=127.0.0.1"), "\(text)")
        #expect(text.contains("sentinels = [\"surbl.org=127.0.0.1:"), "\(text)")
        let again = try ServerConfiguration.parse(toml: text)
        #expect(again.edge.configuration.dnsSentinels == c.edge.configuration.dnsSentinels)
        #expect(again.uribl.sentinels == c.uribl.sentinels && again.uribl.defaultSentinels == c.uribl.defaultSentinels)
    }
}
