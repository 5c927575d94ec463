import MailMessage
import Testing

@Suite struct URLExtractorTests {
    // MARK: Finding URLs in text

    @Test(arguments: [
        ("see http://example.com/a?b=c#d now", ["http://example.com/a?b=c#d"]),
        ("HTTPS://Example.COM/Path", ["HTTPS://Example.COM/Path"]),
        ("ftp://files.example.org/pub/x.tgz", ["ftp://files.example.org/pub/x.tgz"]),
        ("visit www.example.com.", ["http://www.example.com"]),
        ("Visit WWW.Example.com/x!", ["http://WWW.Example.com/x"]),
        ("end: http://example.com/path.", ["http://example.com/path"]),
        (
            "list http://a.example/, http://b.example/; http://c.example/:",
            ["http://a.example/", "http://b.example/", "http://c.example/"]
        ),
        ("really? http://example.com/?!", ["http://example.com/"]),
        ("(see http://example.com/page)", ["http://example.com/page"]),
        ("http://en.wikipedia.org/wiki/Foo_(bar)", ["http://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("(http://en.wikipedia.org/wiki/Foo_(bar))", ["http://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("[http://example.com/x]", ["http://example.com/x"]),
        ("{http://example.com/x}.", ["http://example.com/x"]),
        ("http://[2001:db8::1]/x", ["http://[2001:db8::1]/x"]),
        ("<http://example.com/a b>", ["http://example.com/ab"]),
        ("<URL:http://example.com/long/\n   path>", ["http://example.com/long/path"]),
        ("<http://example.com/x>.", ["http://example.com/x"]),
        (
            "href=\"http://q.example/x\" and 'http://r.example/y'",
            ["http://q.example/x", "http://r.example/y"]
        ),
        ("a\u{00A0}http://nb.example/x\u{00A0}b", ["http://nb.example/x"]),
        ("http://例え.jp/パス", ["http://例え.jp/パス"]),
        ("**http://bold.example/**", ["http://bold.example/"]),
        ("http:\\\\back.example\\x", ["http:\\\\back.example\\x"]),
        ("dup http://d.example/ http://d.example/", ["http://d.example/"]),
        ("xhttp://no.example/ ahttp://no.example/", []),
        ("http:// nothing http:/one.example/ mailto:a@b.example", []),
        ("wwwx.example.com www.com user@www.example.com foo.www.example.com", []),
        ("www.", []),
        ("http://", []),
        ("", []),
    ])
    func findsURLs(text: String, expected: [String]) {
        #expect(URLExtractor.urls(in: text) == expected)
    }

    @Test func urlLimit() {
        let text = (0..<20).map { "http://h\($0).example/" }.joined(separator: " ")
        #expect(
            URLExtractor.urls(in: text, limit: 3) == [
                "http://h0.example/", "http://h1.example/", "http://h2.example/",
            ])
        #expect(URLExtractor.urls(in: text, limit: 0) == [])
    }

    @Test func hostileTextCompletes() {
        let mb = 1 << 20
        let cases: [String] = [
            String(repeating: "http://", count: mb / 7),
            String(repeating: "<http://x", count: mb / 9),
            "http://x.example/" + String(repeating: ")", count: mb),
            "http://x.example/" + String(repeating: "a", count: mb),
            String(repeating: "www.", count: mb / 4),
            String(repeating: "@", count: mb),
            String(repeating: "a.", count: mb / 2) + "@" + String(repeating: "b.", count: mb / 2),
            String(repeating: "x@y.com ", count: mb / 8),
        ]
        for text in cases {
            let urls = URLExtractor.urls(in: text, limit: 50)
            #expect(urls.count <= 50)
            #expect(urls.allSatisfy { $0.utf8.count <= URLExtractor.maxURLBytes })
            #expect(URLExtractor.emailAddresses(in: text, limit: 50).count <= 50)
        }
    }

    // MARK: E-mail addresses

    @Test(arguments: [
        ("Write to John.Doe+tag@Example.COM today.", ["John.Doe+tag@example.com"]),
        ("<a@b.example>, \"c_d@sub.e.example\"", ["a@b.example", "c_d@sub.e.example"]),
        ("mailto:info@shop.example?subject=x", ["info@shop.example"]),
        ("dup x@y.example X@Y.EXAMPLE x@y.example", ["x@y.example", "X@y.example"]),
        ("no: @example.com a@ a@b a@b. a@-b.com a@b.c1 .a@b.com", ["a@b.com"]),
        ("a..b@c.example, ok@xn--bcher-kva.example", ["ok@xn--bcher-kva.example"]),
        ("user@host.example.", ["user@host.example"]),
    ])
    func findsEmailAddresses(text: String, expected: [String]) {
        #expect(URLExtractor.emailAddresses(in: text, limit: 100) == expected)
    }

    // MARK: Parsing

    @Test func parsesAllComponents() throws {
        let u = try #require(
            ParsedURL.parse("HTTPS://User:Pw@WWW.Example.COM:8443/a/b/../c?q=1&r=2#Frag"))
        #expect(u.scheme == "https")
        #expect(u.userinfo == "User:Pw")
        #expect(u.host == "www.example.com")
        #expect(u.port == 8443)
        #expect(u.path == "/a/c")
        #expect(u.query == "q=1&r=2")
        #expect(u.fragment == "Frag")
        #expect(u.ipv4 == nil)
        #expect(u.registrableDomainGuess == "example.com")
        #expect(u.description == "https://User:Pw@www.example.com:8443/a/c?q=1&r=2#Frag")
    }

    @Test func userinfoTrick() throws {
        let u = try #require(ParsedURL.parse("http://paypal.com@evil.example/login"))
        #expect(u.userinfo == "paypal.com")
        #expect(u.host == "evil.example")
        #expect(u.path == "/login")
        let v = try #require(ParsedURL.parse("http://www.bank.com:secure@login@203.0.113.9/"))
        #expect(v.userinfo == "www.bank.com:secure@login")
        #expect(v.host == "203.0.113.9")
        #expect(v.ipv4 == 0xCB00_7109)
        #expect(v.isObfuscatedIPv4 == false)
    }

    @Test(arguments: [
        ("http://3232235777/", "192.168.1.1"),
        ("http://0xC0A80101/", "192.168.1.1"),
        ("http://0xc0.0xa8.0x01.0x01/", "192.168.1.1"),
        ("http://0300.0250.01.01/", "192.168.1.1"),
        ("http://192.168.257/", "192.168.1.1"),
        ("http://192.11010305/", "192.168.1.1"),
        ("http://192.168.1.1./", "192.168.1.1"),
        ("http://%31%39%32.168.1.1/", "192.168.1.1"),
    ])
    func obfuscatedIPv4(url: String, dotted: String) throws {
        let u = try #require(ParsedURL.parse(url))
        #expect(u.host == dotted)
        #expect(u.ipv4 == 0xC0A8_0101)
        #expect(u.isIPAddress)
        #expect(u.registrableDomainGuess == dotted)
        #expect(u.isObfuscatedIPv4 == (url != "http://192.168.1.1/"))
    }

    @Test(arguments: [
        "http://256.1.1.1/", "http://1.2.3.4.5/", "http://0x100000000/", "http://09.1.1.1/",
        "http://1.2.3.0x/x:",
    ])
    func invalidIPv4IsRejected(url: String) {
        if url == "http://1.2.3.0x/x:" {
            #expect(ParsedURL.parse(url)?.host == "1.2.3.0")  // "0x" alone is the number 0
        } else {
            #expect(ParsedURL.parse(url) == nil)
        }
    }

    @Test(arguments: [
        ("http://[2001:DB8::1]/x", "[2001:db8::1]", [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1] as [UInt16]),
        ("http://[::1]:8080/", "[::1]", [0, 0, 0, 0, 0, 0, 0, 1]),
        ("http://[::]/", "[::]", [0, 0, 0, 0, 0, 0, 0, 0]),
        ("http://[1:0:0:2:0:0:0:3]/", "[1:0:0:2::3]", [1, 0, 0, 2, 0, 0, 0, 3]),
        ("http://[::ffff:192.168.1.1]/", "[::ffff:c0a8:101]", [0, 0, 0, 0, 0, 0xffff, 0xc0a8, 0x101]),
        ("http://[1:2:3:4:5:6:7:8]/", "[1:2:3:4:5:6:7:8]", [1, 2, 3, 4, 5, 6, 7, 8]),
    ])
    func ipv6(url: String, host: String, pieces: [UInt16]) throws {
        let u = try #require(ParsedURL.parse(url))
        #expect(u.host == host)
        #expect(u.ipv6 == pieces)
        #expect(u.registrableDomainGuess == host)
    }

    @Test(arguments: [
        "http://[1:2:3]/", "http://[::1::2]/", "http://[1:2:3:4:5:6:7:8:9]/", "http://[::1/",
        "http://[g::1]/",
    ])
    func invalidIPv6IsRejected(url: String) {
        #expect(ParsedURL.parse(url) == nil)
    }

    @Test(arguments: [
        ("http:\\\\evil.example\\path\\x", "evil.example", "/path/x"),
        ("http:/evil.example/p", "evil.example", "/p"),
        ("http:evil.example", "evil.example", "/"),
        ("https:////evil.example", "evil.example", "/"),
        ("  http://Evil.Example/a\tb\nc  ", "evil.example", "/abc"),
        ("HTTP://EVIL.EXAMPLE", "evil.example", "/"),
        ("http://evil.example:80/", "evil.example", "/"),
        ("http://evil.example/a/./b/../../c/%2e%2E/d", "evil.example", "/d"),
        ("http://paypal。com/", "paypal.com", "/"),
        ("http://ex%41mple.com/", "example.com", "/"),
    ])
    func browserLeniency(url: String, host: String, path: String) throws {
        let u = try #require(ParsedURL.parse(url))
        #expect(u.scheme == "http" || u.scheme == "https")
        #expect(u.host == host)
        #expect(u.path == path)
        #expect(u.port == nil)
    }

    @Test func opaqueAndOtherSchemes() throws {
        let m = try #require(ParsedURL.parse("MAILTO:someone@example.com?subject=hi"))
        #expect(m.scheme == "mailto")
        #expect(m.host == "")
        #expect(m.path == "someone@example.com")
        #expect(m.query == "subject=hi")
        let j = try #require(ParsedURL.parse("javascript:alert(1)"))
        #expect(j.path == "alert(1)")
        let f = try #require(ParsedURL.parse("ftp://files.example.org:2121/pub"))
        #expect(f.port == 2121)
        #expect(f.path == "/pub")
    }

    @Test(arguments: [
        "", "   ", "example.com", "www.example.com/x", "/relative/path", "//example.com/x",
        "1http://x.example/",
        "http://", "http:///", "http://exa mple.com/", "http://exa<mple.com/",
        "http://example.com:99999/",
        "http://example.com:8o/", "http://user@/", ":foo", "http://www.example.com\u{00A0}UK/",
        "http://exa\u{200B}mple.com/",
    ])
    func rejectsNonURLs(s: String) {
        #expect(ParsedURL.parse(s) == nil)
    }

    @Test(arguments: [
        ("www.example.com", "example.com"),
        ("example.com", "example.com"),
        ("com", "com"),
        ("a.b.c.example.org", "example.org"),
        ("shop.example.co.uk", "example.co.uk"),
        ("www.example.com.au", "example.com.au"),
        ("foo.bar.ac.jp", "bar.ac.jp"),
        ("foo.co.example", "co.example"),
        ("www.example.com.", "example.com"),
        ("WWW.EXAMPLE.COM", "example.com"),
        ("10.0.0.1", "10.0.0.1"),
    ])
    func registrableDomainGuess(host: String, expected: String) {
        #expect(ParsedURL.registrableDomainGuess(forHost: host) == expected)
    }

    @Test func deterministicGarbageNeverCrashes() {
        // A fixed pseudo-random mix of URL-ish fragments and raw bytes.
        let pieces = [
            "http://", "https:", "www.", "ftp://", "[", "]", "(", ")", "<", ">", "@", ".", ":", "/", "\\",
            "%41", "0x",
            "1.2.3.4", "::", "a", "é", "\u{00A0}", " ", "\n", "\"", "'", "?", "#", "*", ",", "com",
            "xn--",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2_000 {
            var s = ""
            for _ in 0..<Int(state % 24) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                s += pieces[Int(state >> 33) % pieces.count]
            }
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let urls = URLExtractor.urls(in: s, limit: 10)
            #expect(urls.count <= 10)
            for u in urls { _ = ParsedURL.parse(u)?.registrableDomainGuess }
            _ = ParsedURL.parse(s)
            _ = URLExtractor.emailAddresses(in: s, limit: 10)
        }
    }

    @Test func extractedURLsParse() throws {
        let text = "Go to www.Example.com/Offer or http://[::1]:8080/x or HTTP://0x7f000001/"
        let parsed = URLExtractor.urls(in: text).compactMap(ParsedURL.parse)
        #expect(parsed.map(\.host) == ["www.example.com", "[::1]", "127.0.0.1"])
        #expect(parsed.map(\.path) == ["/Offer", "/x", "/"])
    }
}
