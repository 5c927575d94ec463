import MailAuth
import MailMessage
import Testing

@testable import SpamwardCore

@Suite("URL normalization and checks")
struct URLCheckTests {
    static let psl: PublicSuffixList? = PublicSuffixList.system

    @Test(arguments: [
        // (url, normalized host, registrable domain, normalized URL)
        ("HTTP://WWW.Example.COM/a", "www.example.com", "example.com", "http://www.example.com/a"),
        ("https://www.example.com./", "www.example.com", "example.com", "https://www.example.com/"),
        ("https://shop.example.co.uk/x", "shop.example.co.uk", "example.co.uk", "https://shop.example.co.uk/x"),
        ("http://paypal.com@evil.example/login", "evil.example", "evil.example", "http://evil.example/login"),
        ("http://0xC0A80101/", "192.168.1.1", "192.168.1.1", "http://192.168.1.1/"),
        ("http://3232235777/", "192.168.1.1", "192.168.1.1", "http://192.168.1.1/"),
        ("http://0300.0250.01.01/", "192.168.1.1", "192.168.1.1", "http://192.168.1.1/"),
        ("http:\\\\www.example.com\\a\\b", "www.example.com", "example.com", "http://www.example.com/a/b"),
        ("https://www.example.com/%7Euser/%2fx%41", "www.example.com", "example.com", "https://www.example.com/~user/%2FxA"),
        ("https://b\u{00FC}cher.example/", "xn--bcher-kva.example", "xn--bcher-kva.example", "https://xn--bcher-kva.example/"),
        ("https://XN--BCHER-KVA.example/", "xn--bcher-kva.example", "xn--bcher-kva.example", "https://xn--bcher-kva.example/"),
        ("https://www.example\u{3002}com/", "www.example.com", "example.com", "https://www.example.com/"),
        ("https://%77ww.example.com/", "www.example.com", "example.com", "https://www.example.com/"),
        ("https://a.b.c.example.com.au/", "a.b.c.example.com.au", "example.com.au", "https://a.b.c.example.com.au/"),
    ])
    func normalization(url: String, host: String, registrable: String, normalized: String) throws {
        try #require(Self.psl != nil, "the Public Suffix List (Debian publicsuffix) is not installed")
        let u = try #require(URLNormalizer.analyze(url, publicSuffixList: Self.psl))
        #expect(u.host == host)
        #expect(u.registrableDomain == registrable)
        #expect(u.normalized == normalized)
    }

    @Test func userinfoAndIPFlags() throws {
        let u = try #require(URLNormalizer.analyze("http://paypal.com@evil.example/"))
        #expect(u.userinfo == "paypal.com")
        let ip = try #require(URLNormalizer.analyze("http://0xC0A80101/"))
        #expect(ip.isIPAddress && ip.isObfuscatedIP)
        let plain = try #require(URLNormalizer.analyze("http://192.168.1.1/"))
        #expect(plain.isIPAddress && !plain.isObfuscatedIP)
        #expect(URLNormalizer.analyze("mailto:a@example.com") == nil)
    }

    @Test(arguments: [
        ("bücher", "bcher-kva"), ("münchen", "mnchen-3ya"), ("пример", "e1afmkfd"), ("例え", "r8jz45g"),
        ("paypal", "paypal-"), ("pаypal", "pypal-4ve"),
    ])
    func punycodeRoundTrip(unicode: String, encoded: String) throws {
        #expect(Punycode.encode(unicode) == encoded)
        #expect(Punycode.decode(encoded) == unicode)
    }

    @Test func punycodeRejectsGarbage() {
        #expect(Punycode.decode("!!!") == nil)
        #expect(Punycode.decode(String(repeating: "9", count: 500)) == nil)
        #expect(Punycode.toUnicode("xn--zz!.example") == "xn--zz!.example")
    }

    static func analyzed(_ s: String) -> AnalyzedURL? { URLNormalizer.analyze(s, publicSuffixList: psl) }

    @Test(arguments: [
        ("https://paypa1.com/", "paypal"), ("https://rnicrosoft.com/", "microsoft"), ("https://g00gle.com/", "google"),
        ("https://xn--pypal-4ve.com/", "paypal"), ("https://arnazon.co.uk/", "amazon"), ("https://linkedln.com/", "linkedin"),
        ("https://paypall.com/", "paypal"), ("https://netfl1x-billing.com/", "netflix"),
    ])
    func lookalikes(url: String, brand: String) throws {
        let u = try #require(Self.analyzed(url))
        #expect(BrandList.default.lookalike(of: u) == brand)
    }

    @Test(arguments: [
        "https://www.paypal.com/", "https://paypal.de/", "https://google.ch/", "https://www.example.com/",
        "https://apples.example.org/", "https://www.amazon.co.uk/", "https://microsoft.com/", "https://mail.google.com/",
        "https://ample.com/", "https://chaser.com/", "http://192.0.2.1/", "https://finance.example.com/",
        "https://apple-pie-recipes.example/",
    ])
    func notLookalikes(url: String) throws {
        let u = try #require(Self.analyzed(url))
        #expect(BrandList.default.lookalike(of: u) == nil)
    }

    @Test func brandInSubdomain() throws {
        let b = BrandList.default
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://paypal.com.login.example.net/"))) == "paypal.com")
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://paypal.secure.example.net/"))) == "paypal")
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://secure-paypal.example.net/"))) == "paypal")
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://secure-paypal.example/"))) == nil)  // no subdomain
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://www.paypal.com/"))) == nil)
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://apple.example.net/"))) == "apple")
        // A brand's name inside a longer label without a hyphen is not a hit; a hyphen on either side is.
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://www.paypalx.example.net/"))) == nil)
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://paypal-login.example.net/"))) == "paypal")
        #expect(b.brandInSubdomain(try #require(Self.analyzed("https://x.PAYPAL.example.net/"))) == "paypal")
    }

    @Test func blocklist() throws {
        let list = URIBlocklist(text: """
            # local list
            evil.example
            Bad.Hosting.Example.   # trailing dot and case
            *.wild.example
            192.0.2.66
            """)
        func listed(_ s: String) throws -> String? { list.listedName(for: try #require(Self.analyzed(s))) }
        #expect(try listed("http://evil.example/") == "evil.example")
        #expect(try listed("http://a.b.evil.example/") == "evil.example")
        #expect(try listed("http://x.bad.hosting.example/") == "bad.hosting.example")
        #expect(try listed("http://hosting.example/") == nil)
        #expect(try listed("http://other.hosting.example/") == nil)
        #expect(try listed("http://www.wild.example/") == "wild.example")
        #expect(try listed("http://192.0.2.66/") == "192.0.2.66")
        #expect(try listed("http://notevil.example/") == nil)
        #expect(try listed("http://evil.example.com/") == nil)
    }

    @Test func redirects() throws {
        #expect(URLChecks.isRedirect(try #require(Self.analyzed("https://www.google.com/url?q=https://evil.example/"))))
        #expect(URLChecks.isRedirect(try #require(Self.analyzed("https://t.example/r/http://evil.example/"))))
        #expect(URLChecks.isRedirect(try #require(Self.analyzed("https://x.example/?a=1&to=%2F%2Fevil.example"))))
        #expect(!URLChecks.isRedirect(try #require(Self.analyzed("https://x.example/search?q=http+tutorial"))))
    }

    @Test func uriblWithStaticResolver() async throws {
        var zone = StaticResolver()
        zone.add(.a(IPv4Address(127, 0, 0, 2)), at: "evil.example.multi.uribl.test")
        zone.add(.a(IPv4Address(127, 0, 0, 1)), at: "refused.example.multi.uribl.test")  // "query refused": not a listing
        zone.add(.a(IPv4Address(127, 0, 0, 4)), at: "7.2.0.192.multi.uribl.test")
        zone.fail("slow.example.multi.uribl.test")
        let checker = URIBLChecker(zones: [URIBLChecker.Zone(name: "multi.uribl.test", symbol: "URIBL_TEST", score: 4)],
                                   resolver: zone, publicSuffixList: Self.psl)
        let m = mail(cleanHeaders, "a https://www.evil.example/x b https://refused.example/ c http://192.0.2.7/ d https://slow.example/ e https://clean.example/")
        #expect(checker.lookupNames(m) == ["evil.example", "refused.example", "7.2.0.192", "slow.example", "clean.example"])
        let symbols = await checker.check(m)
        #expect(symbols.count == 1)
        #expect(symbols.first?.name == "URIBL_TEST")
        #expect(symbols.first?.score == 4)
        #expect(symbols.first?.options == ["evil.example (127.0.0.2)", "7.2.0.192 (127.0.0.4)"])
        #expect(await checker.check(mail(cleanHeaders, "https://clean.example/")) == [])
    }

    @Test func uriblConfiguredSentinelsReplaceTheBuiltInRulePerZone() async throws {
        var zone = StaticResolver()
        zone.add(.a(IPv4Address(127, 0, 0, 1)), at: "refused.example.multi.uribl.test")
        zone.add(.a(IPv4Address(127, 0, 0, 9)), at: "quota.example.multi.uribl.test")
        zone.add(.a(IPv4Address(127, 0, 0, 1)), at: "refused.example.other.test")
        let zones = [URIBLChecker.Zone(name: "multi.uribl.test", symbol: "URIBL_TEST", score: 4),
                     URIBLChecker.Zone(name: "other.test", symbol: "URIBL_OTHER", score: 1)]
        let m = mail(cleanHeaders, "a https://refused.example/ b https://quota.example/")
        // Built-in rule: 127.0.0.1 is refused everywhere, 127.0.0.9 lists.
        let builtin = await URIBLChecker(zones: zones, resolver: zone, publicSuffixList: Self.psl).lookup(m)
        #expect(builtin.symbols.map(\.name) == ["URIBL_TEST"] && builtin.symbols.first?.options == ["quota.example (127.0.0.9)"])
        #expect(builtin.warnings.map(\.zone) == ["multi.uribl.test", "other.test"])
        // uribl.test says 127.0.0.9 means "over quota" (and only that); other.test keeps the rule.
        var configured = URIBLChecker(zones: zones, resolver: zone, publicSuffixList: Self.psl)
        configured.sentinels = [DNSListSentinel(domain: "uribl.test", replies: [IPv4Address(127, 0, 0, 9)], reason: "quota")]
        let r = await configured.lookup(m)
        #expect(r.symbols.map(\.name) == ["URIBL_TEST"] && r.symbols.first?.options == ["refused.example (127.0.0.1)"])
        #expect(r.warnings.map(\.reply) == ["127.0.0.9", "127.0.0.1"])
        // Without the built-in rule other.test's 127.0.0.1 lists too.
        configured.builtinSentinels = false
        #expect(await configured.lookup(m).symbols.map(\.name) == ["URIBL_TEST", "URIBL_OTHER"])
    }
}
