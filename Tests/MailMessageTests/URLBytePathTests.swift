@testable import MailMessage
import Testing

/// The byte paths of the URL helpers against their definitions.
@Suite struct URLBytePathTests {
    /// Hosts built from pieces that exercise every branch: dots (leading, trailing, doubled),
    /// digits, country codes, registry labels, upper case, brackets.
    static func generatedHosts() -> [String] {
        let pieces = [
            "www", "example", "co", "uk", "com", "au", "ac", "jp", "10", "0", "255", ".", ".", ".", "", "A", "CO",
            "UK", "Org", "de", "x1", "-", "[", "]", "::1", "info", "res", "gr", "z",
        ]
        var hosts: [String] = []
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<3_000 {
            var h = ""
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            for _ in 0..<Int(state >> 60) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                h += pieces[Int(state >> 33) % pieces.count]
            }
            hosts.append(h)
        }
        return hosts
    }

    @Test func asciiRegistrableDomainGuessMatchesTheDefinition() {
        for host in Self.generatedHosts() {
            #expect(ParsedURL.registrableDomainGuess(forHost: host) == ParsedURL.unicodeRegistrableDomainGuess(forHost: host), "\(host)")
        }
        // Non-ASCII hosts take the Unicode path.
        #expect(ParsedURL.registrableDomainGuess(forHost: "WWW.BÜCHER.Example.DE") == "example.de")
        #expect(ParsedURL.registrableDomainGuess(forHost: "shop.ÉCOLE.co.uk") == "école.co.uk")
    }

    @Test(arguments: [
        ("paypal.com", "paypal.com"),
        ("(PayPal.COM).", "paypal.com"),
        ("secure.paypal.com/login", "secure.paypal.com"),
        ("paypal.com:443/x", "paypal.com"),
        ("a.b.c.download", "a.b.c.download"),
        ("shop.example.zz", "shop.example.zz"),
        ("https://www.PayPal.com/login", "www.paypal.com"),
        ("Sign in at https://bank.example", "bank.example"),
        ("see www.example.co.uk today", "www.example.co.uk"),
        ("see http://1.2.3.4/x", "1.2.3.4"),
    ] as [(String, String?)])
    func displayedHost(text: String, host: String?) {
        #expect(URLExtractor.displayedHost(in: text) == host)
    }

    @Test(arguments: [
        "Mr.Smith", "foo..com", ".com", "com.", "a.b.z1", "http://a.b", "x.verylongtopleveldomainname", "two words.com",
        "no dot here", "paypal.c_m",
    ])
    func noDisplayedHost(text: String) {
        #expect(URLExtractor.displayedHost(in: text) == nil)
    }

    @Test func urlStringsDropBracketedWhitespaceAndPrefixBareHosts() {
        #expect(URLExtractor.urls(in: "<http://example.com/a\n  b> www.example.org/x") == ["http://example.com/ab", "http://www.example.org/x"])
    }
}
