import MailAuth
import MailMessage
import Testing

@testable import SpamwardCore

/// The URL work made lazy or done on bytes (issue 6, 2026-11-30 midday) against the reference
/// computations it replaced: the normalized form composed when read, a URL's end read from its
/// parts, the open-redirect test on bytes, `ParsedURL`'s copy-on-write box.
@Suite("URL work on demand")
struct URLLazyTests {
    typealias RNG = FastPathTests.RNG

    static let schemes = ["http://", "HTTPS://", "https://", "ftp://", "http:\\\\", "http:/"]
    static let hosts = ["www.example.com", "EXAMPLE.org", "a.b.example.co.uk", "0xC0A80101", "192.168.1.1", "[::1]",
                        "b\u{00FC}cher.example", "xn--bcher-kva.example", "user@host.example", "paypal.com@evil.example",
                        "x.example.", "%77ww.example.com", "h"]
    static let ports = ["", ":80", ":443", ":8080", ":1", ":65535"]
    static let paths = ["", "/", "/a", "/a.exe", "/x/y.EXE", "/%7Euser/%2fx%41", "/a/../b", "/./c.scr", "/http://evil.example/",
                        "/r/HTTPS:/x", "/%68ttp://e.example", "/caf\u{00E9}/http://x", "/\u{0301}http://x", "/e.bat\n"]
    static let queries = ["", "?", "?q=1", "?a=1&to=http://e.example", "?to=%2F%2Fevil", "?u=HtTpS://x", "?x=.exe",
                          "?a&b=c", "?r=http%3A%2F%2Fe.example", "?v=//\u{0301}x", "?v=%2F%2F%CC%81x", "?v=http:/x",
                          "?q=http+tutorial", "?&&=//x", "?a=b=//c", "?t=%E2%80%8Bhttp://x", "?k=\u{212A}"]

    static func randomURL(_ rng: inout RNG) -> String {
        rng.pick(schemes) + rng.pick(hosts) + rng.pick(ports) + rng.pick(paths) + rng.pick(queries)
            + (rng.next() % 4 == 0 ? "#frag" : "")
    }

    /// What `URLNormalizer.analyzed` stored before it composed the form on demand.
    static func eagerNormalized(_ raw: String) -> String? {
        guard let p = ParsedURL.parse(raw), !p.host.isEmpty, let u = URLNormalizer.analyze(raw, publicSuffixList: nil) else { return nil }
        return p.scheme + "://" + u.host + (p.port.map { ":\($0)" } ?? "") + URLNormalizer.normalizePercent(p.path)
            + (p.query.map { "?" + URLNormalizer.normalizePercent($0) } ?? "")
    }

    @Test func composedNormalizedIsTheEagerOne() throws {
        var rng = RNG(state: 0x6E0F)
        var checked = 0
        for _ in 0..<3_000 {
            let raw = Self.randomURL(&rng)
            guard let u = URLNormalizer.analyze(raw, publicSuffixList: nil) else {
                #expect(Self.eagerNormalized(raw) == nil, "\(raw.debugDescription)")
                continue
            }
            let normalized = u.normalized
            #expect(normalized == Self.eagerNormalized(raw), "\(raw.debugDescription)")
            // Every tail length, read from the parts, is the string's suffix.
            let bytes = Array(normalized.utf8)
            for k in [0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20, 40, 200] {
                let tail = u.withNormalizedTail(k) { Array($0) }
                #expect(tail == Array(bytes.suffix(k)), "\(raw.debugDescription) \(k)")
            }
            checked += 1
        }
        #expect(checked > 1_500)
    }

    @Test func normalizedGivenOrSetStaysAsGiven() throws {
        let given = AnalyzedURL(original: "x", normalized: "custom://form", host: "h.example", unicodeHost: "h.example",
                                registrableDomain: "h.example", userinfo: nil, isIPAddress: false, isObfuscatedIP: false,
                                path: "/p", query: nil)
        #expect(given.normalized == "custom://form")
        #expect(given.withNormalizedTail(4) { Array($0) } == Array("form".utf8))
        var u = try #require(URLNormalizer.analyze("https://www.example.com/a?b", publicSuffixList: nil))
        let copy = u
        // Setting a part keeps the normalized form it had (as when the form was stored).
        u.host = "other.example"
        u.path = "/z"
        #expect(u.normalized == "https://www.example.com/a?b")
        #expect(u.withNormalizedTail(3) { Array($0) } == Array("a?b".utf8))
        #expect(copy.normalized == "https://www.example.com/a?b" && copy.host == "www.example.com")
        u.normalized = "set://x"
        #expect(u.normalized == "set://x" && u != copy)
        #expect(copy == (try #require(URLNormalizer.analyze("https://www.example.com/a?b", publicSuffixList: nil))))
    }

    @Test func redirectOnBytesIsTheReference() throws {
        var rng = RNG(state: 0x4ED1)
        var redirects = 0
        var fallbacks = 0
        for _ in 0..<5_000 {
            let raw = Self.randomURL(&rng)
            guard let u = URLNormalizer.analyze(raw, publicSuffixList: nil) else { continue }
            let fast = URLChecks.isRedirect(u)
            #expect(fast == URLChecks.isRedirectReference(u), "\(raw.debugDescription)")
            if fast { redirects += 1 }
            var path = u.path
            let onBytes: Bool? = path.withUTF8 { p in
                guard var q = u.query else { return URLChecks.redirectOnBytes(path: p, query: nil) }
                return q.withUTF8 { URLChecks.redirectOnBytes(path: p, query: $0) }
            }
            if let onBytes { #expect(onBytes == URLChecks.isRedirectReference(u), "\(raw.debugDescription)") } else { fallbacks += 1 }
        }
        #expect(redirects > 500)
        #expect(fallbacks > 0)
    }

    /// The word-at-a-time scan answers as the byte one (nil exactly for non-ASCII bytes), on
    /// random texts of the bytes it looks for, around word boundaries.
    @Test func asciiMayContainURLIsTheByteScan() {
        var rng = RNG(state: 0x5CA9)
        let alphabet: [UInt8] = Array("/%hHtTpPx.:=&".utf8) + [0x80, 0xC3]
        var found = 0
        for round in 0..<20_000 {
            // Up to 40 bytes, and every tenth text up to 120 (several words of the eight-position loop).
            let n = Int(rng.next() % (round % 10 == 0 ? 120 : 40))
            let bytes = (0..<n).map { _ -> UInt8 in
                let b = rng.pick(alphabet)
                return b >= 0x80 && rng.next() % 8 != 0 ? 0x61 : b
            }
            bytes.withUnsafeBufferPointer { b in
                let fast = URLChecks.asciiMayContainURL(b)
                if b.contains(where: { $0 >= 0x80 }) {
                    #expect(fast == nil, "\(bytes)")
                } else {
                    #expect(fast == URLChecks.mayContainURL(bytes: b), "\(bytes)")
                    if fast == true { found += 1 }
                }
            }
        }
        #expect(found > 2_000)
    }

    @Test func uriRulesDecidedByTheEndHitAsTheRegex() throws {
        let defs = [
            RuleDefinition(name: "URI_END", kind: .uri, pattern: "\\.(exe|scr|vbs|hta|pif|bat)$", score: 1, description: "",
                           caseInsensitive: true),
            RuleDefinition(name: "URI_QEND", kind: .uri, pattern: "\\?x=\\.exe$", score: 1, description: "", caseInsensitive: false),
            RuleDefinition(name: "URI_PORT", kind: .uri, pattern: "m:8080/$", score: 1, description: "", caseInsensitive: false),
        ]
        let with = try RuleSet(defs, prefilters: true)
        let without = try RuleSet(defs, prefilters: false)
        var rng = RNG(state: 0xE4D)
        var hits = 0
        for _ in 0..<300 {
            let urls = (0..<(1 + Int(rng.next() % 6))).map { _ in Self.randomURL(&rng) }
            let body = urls.map { "see \($0) now" }.joined(separator: "\n")
            let m = mail(["From: a@example.org", "Subject: s"], body + "\n")
            let a = with.evaluate(m).map { "\($0.name)\($0.options)" }
            let b = without.evaluate(m).map { "\($0.name)\($0.options)" }
            #expect(a == b, "\(urls)")
            hits += a.count
        }
        #expect(hits > 30)
    }

    @Test func parsedURLCopiesOnWrite() throws {
        let p = try #require(ParsedURL.parse("http://user@www.example.com:8080/a?b#c"))
        var q = p
        #expect(q == p && q.hashValue == p.hashValue)
        q.host = "other.example"
        q.query = nil
        #expect(p.host == "www.example.com" && p.query == "b" && p.userinfo == "user" && p.port == 8080 && p.fragment == "c")
        #expect(q.host == "other.example" && q.query == nil && q.port == 8080)
        #expect(q != p)
        q.host = "www.example.com"
        q.query = "b"
        #expect(q == p && q.hashValue == p.hashValue)
        let ip = try #require(ParsedURL.parse("http://0xC0A80101/"))
        #expect(ip.ipv4 == 0xC0A8_0101 && ip.isObfuscatedIPv4 && ip.host == "192.168.1.1")
        let v6 = try #require(ParsedURL.parse("http://[0:0::1]/"))
        #expect(v6.ipv6 == [0, 0, 0, 0, 0, 0, 0, 1] && v6.host == "[::1]")
    }
}
