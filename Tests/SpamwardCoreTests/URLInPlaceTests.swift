import MailAuth
import MailMessage
import Testing

@testable import SpamwardCore

/// The URL checks read each analyzed URL in place (``URLItem``: the message's URL, its parse and
/// its host's names; 2026-11-30 evening) instead of an ``AnalyzedURL`` box per URL: every value
/// they read, against the ``AnalyzedURL`` the analysis made before (URL by URL, the reference of
/// ``URLSharingTests``).
@Suite("URLs read in place")
struct URLInPlaceTests {
    typealias RNG = FastPathTests.RNG

    /// URLs whose path or query has a `%` that percent normalization changes in a way the
    /// redirect test sees (`%2%46` is `%2F` once normalized, a `/` once decoded; read raw, it
    /// decodes to `%2F`), and the pieces around it.
    static let percentEdges: [String] = [
        "http://h.example/?u=%2%46/x", "http://h.example/?u=%2%66%2F/x", "http://h.example/%2%46http:/x",
        "http://h.example/a%4%41?q=1", "http://h.example/?u=http%3A%2F%2Fx.example", "http://h.example/%68ttp://x",
        "http://h.example/?u=//x", "http://h.example/path.exe", "http://h.example/p?x=1.EXE", "http://h.example:8080/",
        "http://user:pw@h.example/", "http://0x7f000001/x.exe", "http://[::1]/", "https://b\u{00FC}cher.example/x.scr",
    ]

    /// Messages of random URLs (``URLLazyTests/randomURL(_:)``'s pieces, hosts repeated),
    /// ``URLSharingTests``' messages and the percent edges.
    static func messages() -> [Message] {
        var rng = RNG(state: 0x1A_F1ACE)
        var out = URLSharingTests.messages()
        out.append(URLSharingTests.message(percentEdges))
        for _ in 0..<80 {
            var urls: [String] = []
            for _ in 0..<Int(rng.next() % 24) {
                urls.append(rng.next() % 5 == 0 ? rng.pick(percentEdges) : URLLazyTests.randomURL(&rng))
            }
            out.append(URLSharingTests.message(urls))
        }
        return out
    }

    static let lists: [PublicSuffixList?] = [PublicSuffixList.system, PublicSuffixList("com\nco.uk\nexample\n"), nil]

    /// The items `forEach` lends, as values (their fields read inside the call).
    struct Read: Equatable {
        var analyzed: AnalyzedURL
        var host, registrableDomain, unicodeHost, path: String
        var userinfo, query: String?
        var unicodeHostIsASCII, isIPAddress, isObfuscatedIP, isRedirect: Bool
        var normalized: String
        var tails: [[UInt8]]

        static let tailLengths = [0, 1, 2, 3, 4, 5, 6, 8, 12, 40, 300]

        init(_ u: URLItem) {
            analyzed = u.analyzed
            host = u.host
            registrableDomain = u.registrableDomain
            unicodeHost = u.unicodeHost
            path = u.path
            userinfo = u.userinfo
            query = u.query
            unicodeHostIsASCII = u.unicodeHostIsASCII
            isIPAddress = u.isIPAddress
            isObfuscatedIP = u.isObfuscatedIP
            isRedirect = URLChecks.isRedirect(u)
            normalized = u.normalized
            tails = Self.tailLengths.map { k in u.withNormalizedTail(k) { Array($0) } }
        }

        /// What the same reads gave of the analyzed URL the analysis kept before.
        init(reference u: AnalyzedURL) {
            analyzed = u
            host = u.host
            registrableDomain = u.registrableDomain
            unicodeHost = u.unicodeHost
            path = u.path
            userinfo = u.userinfo
            query = u.query
            unicodeHostIsASCII = u.unicodeHostIsASCII
            isIPAddress = u.isIPAddress
            isObfuscatedIP = u.isObfuscatedIP
            isRedirect = URLChecks.isRedirectReference(u)
            normalized = u.normalized
            let bytes = Array(u.normalized.utf8)
            tails = Self.tailLengths.map { Array(bytes.suffix($0)) }
        }
    }

    @Test func itemsAreTheAnalyzedURLs() {
        var items = 0
        var redirects = 0
        var percentRedirects = 0
        for list in Self.lists {
            for m in Self.messages() {
                let (reference, distinct) = URLSharingTests.reference(m, list)
                let a = URLAnalysis(m, publicSuffixList: list)
                var read: [Read] = []
                a.forEach(hosts: false) { u in
                    read.append(Read(u))
                    return false
                }
                let expected = reference.map(Read.init(reference:))
                #expect(read.count == expected.count)
                for (r, e) in zip(read, expected) where r != e { Issue.record("\(e.analyzed.original.debugDescription): \(r) != \(e)") }
                #expect(a.count == reference.count)
                #expect(a.urls == reference)
                #expect(a.normalizedURLs() == reference.map(\.normalized))
                // The host-only walk lends the first URL of each distinct host, in order.
                var hosts: [AnalyzedURL] = []
                a.forEach(hosts: true) { u in
                    hosts.append(u.analyzed)
                    return false
                }
                #expect(hosts == distinct.map { reference[$0] })
                items += read.count
                redirects += read.filter(\.isRedirect).count
                percentRedirects += read.filter { $0.isRedirect && ($0.path.contains("%") || $0.query?.contains("%") == true) }.count
            }
        }
        #expect(items > 3_000)
        #expect(redirects > 100 && percentRedirects > 10)
    }

    /// The options of up to three URLs and the first normalized form whose end matches, against
    /// the loops over the analyzed URLs they replaced; each stops where those did.
    @Test func optionsAndEndsAreTheLoopsOverAnalyzedURLs() {
        let list = PublicSuffixList.system
        var hits = 0
        for m in Self.messages() {
            let (reference, distinct) = URLSharingTests.reference(m, list)
            let a = URLAnalysis(m, publicSuffixList: list)
            for hostsOnly in [false, true] {
                let urls = hostsOnly ? distinct.map { reference[$0] } : reference
                var visited = 0
                let options = a.options(hosts: hostsOnly) { u in
                    visited += 1
                    return u.isIPAddress || u.path.utf8.count > 2 ? u.normalized : nil
                }
                let expected = Array(urls.filter { $0.isIPAddress || $0.path.utf8.count > 2 }.map(\.normalized).prefix(3))
                #expect(options == (expected.isEmpty ? nil : expected))
                // Stopped at the third option.
                if expected.count == 3 {
                    let third = urls.indices.filter { urls[$0].isIPAddress || urls[$0].path.utf8.count > 2 }[2]
                    #expect(visited == third + 1)
                } else {
                    #expect(visited == urls.count)
                }
                hits += expected.count
            }
            for (k, suffix) in [(4, ".exe"), (5, ".exe\n"), (1, "/"), (3, "1=1")] {
                let found = a.firstNormalized(tail: k) { $0.elementsEqual(suffix.utf8.suffix(k)) }
                let expected = reference.first { Array($0.normalized.utf8.suffix(k)) == Array(suffix.utf8.suffix(k)) }?.normalized
                #expect(found == expected)
                if found != nil { hits += 1 }
            }
        }
        #expect(hits > 500)
    }

    /// ``BrandList/brandInSubdomain(_:)`` passes over the domain search for a subdomain without a
    /// dot only when every brand domain has one: a list with a dotless domain against the
    /// reference (``RuleOverheadTests/referenceBrandInSubdomain(_:_:)``), and the default list.
    @Test func brandSubdomainsWithoutDotsAreTheReference() {
        let dotless = BrandList([
            BrandList.Brand(name: "acme", domains: ["acme.example", "intranet"]),
            BrandList.Brand(name: "paypal", domains: ["paypal.com"]),
        ])
        #expect(!dotless.tables.needlesAllDotted && BrandList.default.tables.needlesAllDotted)
        var rng = RNG(state: 0xD07)
        let labels = ["intranet", "myintranetx", "acme", "acme-login", "login-acme", "paypal", "paypal-x", "xpaypal", "lacme",
                      "www", "mail", "paypal.com", "acme.example", "a", "intranet-acme"]
        let suffixes = ["example.net", "evil.example", "acme.example", "paypal.com", "com"]
        var hits = [0, 0]
        for _ in 0..<5_000 {
            var host = ""
            for _ in 0..<Int(rng.next() % 4) { host += rng.pick(labels) + "." }
            host += rng.pick(suffixes)
            guard let u = URLNormalizer.analyze("https://\(host)/x", publicSuffixList: URLCheckTests.psl) else { continue }
            for (k, list) in [dotless, BrandList.default].enumerated() {
                let expected = RuleOverheadTests.referenceBrandInSubdomain(list, u)
                #expect(list.brandInSubdomain(u) == expected, "\(host)")
                if expected != nil { hits[k] += 1 }
            }
        }
        #expect(hits[0] > 200 && hits[1] > 100)
    }

    /// The checks that take the in-place names answer as the ones that take an ``AnalyzedURL``.
    @Test func brandAndBlocklistChecksOnNamesAreTheURLOnes() {
        let brands = BrandList.default
        let blocklist = URIBlocklist(text: "example.com\n*.evil.example\n1.2.3.4\nb\u{00FC}cher.example\nco.uk\n")
        var brandHits = 0
        var listed = 0
        for list in Self.lists {
            for m in Self.messages() + [URLSharingTests.message(URLSharingTests.tricky)] {
                let a = URLAnalysis(m, publicSuffixList: list)
                a.forEach(hosts: false) { u in
                    let r = u.analyzed
                    let sub = brands.brandInSubdomain(isIPAddress: u.isIPAddress, host: u.host, registrableDomain: u.registrableDomain)
                    #expect(sub == brands.brandInSubdomain(r))
                    if !r.isIPAddress {
                        #expect(brands.lookalike(registrableDomain: u.registrableDomain) == brands.lookalike(of: r))
                    }
                    let name = blocklist.listedName(host: u.host, registrableDomain: u.registrableDomain, isIPAddress: u.isIPAddress)
                    #expect(name == blocklist.listedName(for: r))
                    if sub != nil || (!r.isIPAddress && brands.lookalike(of: r) != nil) { brandHits += 1 }
                    if name != nil { listed += 1 }
                    return false
                }
            }
        }
        #expect(brandHits > 0 && listed > 0)
    }

    /// `url_lookalike`'s and `url_shortener`'s options (their rare steps out of line, 2026-12-01:
    /// the answers of a message's several domains, linear and then through a dictionary, a hit's
    /// option, the shortener set lookups) against the options computed from the analysis's
    /// ``AnalyzedURL``s: messages with one host, with a few, and with more domains than the
    /// linear search keeps (lookalikes and shorteners before and after the switch, repeated).
    @Test func lookalikeAndShortenerOptionsAreTheURLOnes() {
        let brands = BrandList.default
        let shorteners = URLChecks.shorteners
        var many: [String] = []
        let looks = ["paypa1.com", "g00gle.com", "rnicrosoft.com", "arnazon.co.uk", "linkedln.com"]
        for k in 0..<40 {
            many.append("http://h\(k).domain\(k % 23).example/x")
            if k % 7 == 3 { many.append("http://www\(k).\(looks[k % looks.count])/") }
            if k % 9 == 4 { many.append("http://\(k % 2 == 0 ? "bit.ly" : "www.tinyurl.com")/a\(k)") }
        }
        let late = Array(many.suffix(30)) + ["https://paypa1.com/", "http://x.t.co/y", "https://g00gle.com/z"]
        let shaped = [many, late, ["https://paypa1.com/"], ["http://bit.ly/x"], ["https://paypa1.com/", "https://paypa1.com/a"],
                      looks.map { "https://\($0)/" }, ["http://192.0.2.1/", "https://g00gle.com/", "http://is.gd/q"]]
        var hits = [0, 0]
        for list in Self.lists {
            let environment = RuleEnvironment(publicSuffixList: list)
            for m in Self.messages() + shaped.map(URLSharingTests.message) {
                let input = RuleInput(message: m, environment: environment)
                let a = input.urlAnalysis
                let urls = a.urls
                var lookalike: [String] = []
                var shortener: [String] = []
                for k in a.distinctHostIndices {
                    let r = urls[k]
                    if !r.isIPAddress, lookalike.count < 3, let brand = brands.lookalike(of: r) {
                        lookalike.append("\(r.unicodeHost) looks like \(brand)")
                    }
                    if shortener.count < 3, shorteners.contains(r.host) || shorteners.contains(r.registrableDomain) {
                        shortener.append(r.normalized)
                    }
                }
                #expect(URLChecks.lookalikeOptions(input) == (lookalike.isEmpty ? nil : lookalike))
                #expect(URLChecks.shortenerOptions(input) == (shortener.isEmpty ? nil : shortener))
                if !lookalike.isEmpty { hits[0] += 1 }
                if !shortener.isEmpty { hits[1] += 1 }
            }
        }
        #expect(hits[0] >= 10 && hits[1] >= 8)
    }

    /// The nine URL checks' answers from the one pass (``URLCheckResults``, 2026-12-01 evening)
    /// against each check's own loop (``URLChecks/referenceChecks``): messages with many hosts,
    /// IP addresses, userinfos, redirects, mixed scripts, shorteners, lookalikes and brand
    /// subdomains (each check past three hits, and the checks' hits on the same URLs), under three
    /// Public Suffix Lists, a non-empty blocklist and a brand list of its own.
    @Test func oneURLPassIsEachChecksOwnLoop() {
        let pieces: [(Int) -> String] = [
            { "http://192.0.2.\($0)/" }, { "http://0x7f00000\($0)/x" }, { "http://u\($0).example:pw@evil\($0).example/" },
            { "http://paypal.com@h\($0).example/" }, { "https://r\($0).example/?u=http%3A%2F%2Fx.example" },
            { "https://r\($0).example/go/https://y.example/" }, { "https://\u{0440}a\u{0443}pal\($0).example/" },
            { "http://bit.ly/q\($0)" }, { "http://www\($0).tinyurl.com/" }, { "https://paypa1.com/\($0)" },
            { "https://paypal.com.login\($0).example.net/" }, { "http://listed\($0).evil.example/" }, { "http://1.2.3.4/\($0)" },
            // A subdomain of exactly the shortest length that can name a brand (4 bytes).
            { "https://ebay.s\($0).example/" },
        ]
        var hostile: [String] = []
        for k in 0..<5 {
            for p in pieces { hostile.append(p(k)) }
        }
        let shaped = [hostile, hostile.reversed(), Array(hostile.prefix(13)), URLSharingTests.tricky]
        let environments = URLInPlaceTests.lists.map { RuleEnvironment(publicSuffixList: $0) } + [
            RuleEnvironment(uriBlocklist: URIBlocklist(text: "evil.example\n1.2.3.4\nexample.com\nb\u{00FC}cher.example\n")),
            RuleEnvironment(brands: BrandList([BrandList.Brand(name: "example", domains: ["example.com"])]),
                            shorteners: ["x.example", "t.co"]),
        ]
        var hits: [String: Int] = [:]
        for environment in environments {
            for m in Self.messages() + shaped.map(URLSharingTests.message) {
                let input = RuleInput(message: m, environment: environment)
                let reference = RuleInput(message: m, environment: environment)
                for (name, check) in URLChecks.checks {
                    let expected = URLChecks.referenceChecks[name]!.run(reference)
                    #expect(check.run(input) == expected, "\(name)")
                    #expect(input.urlCheckResults.options(of: name) == expected, "\(name)")
                    hits[name, default: 0] += expected?.count ?? 0
                }
            }
        }
        #expect(Set(hits.keys) == Set(URLChecks.referenceChecks.keys))
        for (name, count) in hits { #expect(count >= 10, "\(name): \(count)") }
    }
}
