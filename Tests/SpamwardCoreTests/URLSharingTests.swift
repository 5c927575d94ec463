import MailAuth
import MailMessage
import Testing

@testable import SpamwardCore

/// The URL analysis shared by the feature extractor, the rules and the fingerprint (one parse and
/// one host analysis per message) against the separate computations it replaced.
@Suite("URL analysis shared per message")
struct URLSharingTests {
    static let psl: PublicSuffixList? = PublicSuffixList.system

    /// URLs whose hosts the three readers take differently: case, trailing dots, userinfo, ports,
    /// IP forms, IDNA, percent escapes, a host only of dots, `www.` without a scheme.
    static let tricky: [String] = [
        "http://www.example.com/a", "HTTP://WWW.EXAMPLE.COM/b", "http://www.example.com./c", "http://www.example.com../d",
        "https://shop.example.co.uk/x?y=1", "http://paypal.com@evil.example/login", "http://user:pw@evil.example:8080/",
        "http://0xC0A80101/", "http://3232235777/x", "http://192.168.1.1/", "http://192.168.1.1./", "http://1.2.3.4../",
        "http://[::1]/v6", "https://b\u{00FC}cher.example/", "https://XN--BCHER-KVA.example/", "https://www.example\u{3002}com/",
        "https://%77ww.example.com/", "http://.../", "www.plain-host.org/path", "https://com/", "https://co.uk/",
        "http://a--b.example.net/", "http://xn--nxasmq6b.example/", "https://bit.ly/abc", "http://example.com:80/",
        "mailto:someone@example.com", "ftp://files.example.org/f", "http://EXAMPLE.org\\path\\x", "http://example.org/%41%2f",
        "http://paypa1.com/", "https://paypal.com.login.example.net/", "http://redirect.example/?u=http%3A%2F%2Fx.example",
    ]

    /// A message whose text lists `urls`, parsed.
    static func message(_ urls: [String]) -> Message {
        MessageParser.parse(Array(("Subject: links\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + urls.joined(separator: " \n") + "\n").utf8))
    }

    /// Random messages: tricky URLs, and many distinct hosts (past the linear searches' limit).
    static func messages() -> [Message] {
        var rng = SplitMix(seed: 0x5EED_0006)
        var out = [message(tricky), message(tricky.reversed())]
        for _ in 0..<60 {
            var urls: [String] = []
            for _ in 0..<Int(rng.next() % 40) {
                if rng.next() % 3 == 0 {
                    urls.append(tricky[Int(rng.next() % UInt64(tricky.count))])
                } else {
                    let host = ["a", "b", "c", "www.d", "e.co.uk", "F", "g."][Int(rng.next() % 7)] + String(rng.next() % 30)
                    let suffix = [".com", ".net", ".co.uk", ".org.", ".COM"][Int(rng.next() % 5)]
                    urls.append("http://\(host)\(suffix)/p\(rng.next() % 5)")
                }
            }
            out.append(message(urls))
        }
        return out
    }

    /// ``RuleInput/urls`` and ``RuleInput/distinctHostIndices`` as they were computed before the
    /// shared analysis (a set of the URLs seen, ``URLNormalizer/analyze(_:publicSuffixList:hostCache:)``
    /// URL by URL, a set of the host names).
    static func reference(_ m: Message, _ list: PublicSuffixList?) -> (urls: [AnalyzedURL], distinct: [Int]) {
        var seen = Set<String>()
        var urls: [AnalyzedURL] = []
        var hosts: [String: URLNormalizer.HostNames?] = [:]
        for raw in m.urls where seen.insert(raw).inserted {
            if let u = URLNormalizer.analyze(raw, publicSuffixList: list, hostCache: &hosts) { urls.append(u) }
            if seen.count >= URLChecks.maxURLs { break }
        }
        var hostSet = Set<String>()
        let distinct = urls.indices.filter { hostSet.insert(urls[$0].host).inserted }
        return (urls, distinct)
    }

    @Test func messageURLsAreDistinctStrings() {
        for m in Self.messages() { #expect(Set(m.urls).count == m.urls.count) }
    }

    @Test func parsedURLsAreTheParsesSharedByCopies() {
        for m in Self.messages() {
            let copy = m
            #expect(m.knownParsedURLs(64) == (m.urls.isEmpty ? [] : nil))
            let few = copy.parsedURLs(3)
            #expect(few == m.urls.prefix(3).map { ParsedURL.parse($0) })
            let all = m.parsedURLs(500)
            #expect(all == m.urls.map { ParsedURL.parse($0) })
            #expect(copy.knownParsedURLs(64).map(Array.init) == Array(all.prefix(64)))
            #expect(copy.parsedURLs(2) == Array(all.prefix(2)))
        }
    }

    @Test func analysisIsTheURLByURLAnalysis() {
        for list in [Self.psl, PublicSuffixList("com\nco.uk\n"), nil] {
            for m in Self.messages() {
                let (urls, distinct) = Self.reference(m, list)
                let a = URLAnalysis(m, publicSuffixList: list)
                #expect(a.urls == urls)
                #expect(a.distinctHostIndices == distinct)
                // Through the rule input (kept with the message, then found again).
                let input = RuleInput(message: m, environment: RuleEnvironment(publicSuffixList: list))
                #expect(input.urls == urls)
                #expect(input.distinctHostIndices == distinct)
                let again = RuleInput(message: m, environment: RuleEnvironment(publicSuffixList: list))
                #expect(m.urls.isEmpty || again.urlAnalysis === input.urlAnalysis)
            }
        }
    }

    @Test func analysisIsRemadeForAnotherList() {
        let m = Self.message(Self.tricky)
        let a = URLAnalysis.of(m, publicSuffixList: PublicSuffixList("com\n"))
        #expect(URLAnalysis.of(m, publicSuffixList: PublicSuffixList("com\n")) !== a)  // read separately: another list
        let list = PublicSuffixList("org\n")
        let b = URLAnalysis.of(m, publicSuffixList: list)
        let copy = list
        #expect(URLAnalysis.of(m, publicSuffixList: copy) === b)
        #expect(b.urls == Self.reference(m, list).urls)
    }

    @Test func aMessageWithoutURLsKeepsNothing() {
        let m = MessageParser.parse(Array("Subject: x\r\n\r\nno links here\n".utf8))
        #expect(m.urls.isEmpty && m.parsedURLs(10).isEmpty && m.knownParsedURLs(10) == [])
        #expect(URLAnalysis.of(m, publicSuffixList: Self.psl).urls.isEmpty)
        #expect(m.memoized(URLAnalysis.self) == nil)
    }

    @Test func uriblNamesAreTheURLByURLNames() {
        let checker = URIBLChecker(zones: [], resolver: StaticResolver(), publicSuffixList: Self.psl)
        for m in Self.messages() {
            var seen = Set<String>()
            var names: [String] = []
            for u in Self.reference(m, Self.psl).urls {
                let name = u.isIPAddress
                    ? (u.host.hasPrefix("[") ? nil : u.host.split(separator: ".").reversed().joined(separator: "."))
                    : u.registrableDomain
                if let name, names.count < checker.maxLookups, seen.insert(name).inserted { names.append(name) }
            }
            #expect(checker.lookupNames(m) == names)
        }
    }

    /// The fingerprint's URL domains taken from the rules' analysis are the ones it computes alone.
    @Test func fingerprintDomainsFromTheAnalysisAreItsOwn() {
        for list in [Self.psl, PublicSuffixList("com\nco.uk\n"), nil] {
            let fingerprinter = Fingerprinter(publicSuffixList: list)
            for m in Self.messages() {
                let alone = fingerprinter.urlDomains(m.urls)
                #expect(fingerprinter.urlDomains(m) == alone)
                let analysis = URLAnalysis.of(m, publicSuffixList: list)
                #expect(m.urls.isEmpty || m.memoized(URLAnalysis.self) === analysis)
                #expect(fingerprinter.urlDomains(m) == alone)
                // An analysis made with another list is not taken.
                _ = URLAnalysis.of(m, publicSuffixList: PublicSuffixList("example\n"))
                #expect(fingerprinter.urlDomains(m) == alone)
            }
        }
    }

    /// The shared path is the one taken for plain hosts (not only the fingerprint's own).
    @Test func fingerprintTakesTheAnalysisForPlainHosts() {
        let m = Self.message(["http://www.example.com/a", "HTTP://Shop.Example.co.uk./x", "http://1.2.3.4/"])
        let analysis = URLAnalysis.of(m, publicSuffixList: Self.psl)
        func shared(_ i: Int) -> (host: String, domain: String?)? {
            var url = m.urls[i]
            return url.withUTF8 { b in
                guard case let r?? = Fingerprinter.asciiHostRange(of: b) else { return nil }
                return analysis.fingerprintHost(ofURL: i, b, r)
            }
        }
        #expect(shared(0)?.host == "www.example.com")
        #expect(shared(1)?.host == "shop.example.co.uk")
        #expect(shared(2) == nil)  // an IP address: the fingerprint's own test decides
        if Self.psl != nil { #expect(shared(0)?.domain == "example.com" && shared(1)?.domain == "example.co.uk") }
    }

    /// The feature extractor reading the rules' parsed URLs gives the features it gives alone.
    @Test func featuresWithSharedParsesAreTheSame() {
        let extractor = FeatureExtractor(configuration: .default)
        for m in Self.messages() {
            let alone = extractor.extract(m, keepNames: true)
            let shared = MessageParser.parse(m.bytes)  // parsed again: nothing kept yet
            _ = shared.parsedURLs(URLChecks.maxURLs)
            let v = extractor.extract(shared, keepNames: true)
            #expect(v.tokens == alone.tokens)
            #expect(v.ngrams == alone.ngrams)
            #expect(v.names == alone.names)
        }
    }

    /// Short subdomains are passed over only when no brand domain or name could fit in them.
    @Test func shortSubdomainsNamingABrand() throws {
        let list = BrandList([BrandList.Brand(name: "abcd", domains: ["a.b"])])
        let u = try #require(URLNormalizer.analyze("http://a.b.evil.example/", publicSuffixList: nil))
        #expect(list.brandInSubdomain(u) == "a.b")
        let v = try #require(URLNormalizer.analyze("http://abcd.evil.example/", publicSuffixList: nil))
        #expect(list.brandInSubdomain(v) == "abcd")
        let w = try #require(URLNormalizer.analyze("http://www.paypal-login.example/", publicSuffixList: nil))
        #expect(BrandList.default.brandInSubdomain(w) == nil)
    }

    @Test func analyzedURLIsAValue() {
        let u = URLNormalizer.analyze("http://paypal.com@Evil.example/a?b", publicSuffixList: nil)!
        var v = u
        #expect(v == u && v.hashValue == u.hashValue)
        v.host = "other.example"
        #expect(u.host == "evil.example" && v.host == "other.example" && v != u)
        v.host = u.host
        #expect(v == u && v.hashValue == u.hashValue)
        v.query = nil
        #expect(u.query == "b" && v != u)
    }
}

/// SpamwardCore's SplitMix64, a small deterministic generator for test inputs.
private typealias SplitMix = SplitMix64

extension URLAnalysis {
    /// The ASCII host of the message's URL at `index` and, when the list gave it, its registrable
    /// domain, as ``Fingerprinter/urlDomains(_:)`` takes them from the analysis: only when that
    /// host is the fingerprint's (`url[range]` lower-cased) and not an IP address.
    func fingerprintHost(ofURL index: Int, _ url: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> (host: String, domain: String?)? {
        withFingerprintEntries { entries, hosts in
            guard let e = entries.first(where: { Int($0.url) == index }) else { return nil }
            let names = hosts[Int(e.host)].names
            guard !names.isIPAddress, Fingerprinter.isHost(url, range, named: names.ascii) else { return nil }
            return (names.ascii, names.fromList ? names.registrable : nil)
        }
    }
}
