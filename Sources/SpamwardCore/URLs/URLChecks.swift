#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import MailMessage

/// The URL signals of the built-in rules (each an `eval` check whose options name the URL).
public enum URLChecks {
    /// URLs of a message that are analyzed.
    public static let maxURLs = 200

    /// Host names of well-known URL shorteners (matched on the host and the registrable domain).
    public static let shorteners: Set<String> = [
        "bit.ly", "bitly.com", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "v.gd", "buff.ly", "rebrand.ly",
        "cutt.ly", "shorturl.at", "tiny.cc", "t.ly", "rb.gy", "s.id", "lnkd.in", "x.co", "tr.im", "snip.ly", "bl.ink",
        "short.io", "shorte.st", "adf.ly", "po.st", "soo.gd", "clck.ru", "u.to", "cli.re", "qr.net", "1url.com",
        "tiny.pl", "urlz.fr", "shorturl.com", "youtu.be", "db.tt", "qrco.de", "lc.chat", "2.gp", "bc.vc", "ouo.io",
    ]

    /// The checks: each reads its answer from the one pass over the message's URLs
    /// (``URLCheckResults``, made once per rule input).
    static let checks: [String: BuiltinRules.Check] = [
        "url_shortener": BuiltinRules.Check { $0.urlCheckResults.shortener },
        "url_redirector": BuiltinRules.Check { $0.urlCheckResults.redirector },
        "url_numeric_ip": BuiltinRules.Check { $0.urlCheckResults.numericIP },
        "url_obfuscated_ip": BuiltinRules.Check { $0.urlCheckResults.obfuscatedIP },
        "url_userinfo": BuiltinRules.Check { $0.urlCheckResults.userinfo },
        "url_lookalike": BuiltinRules.Check { $0.urlCheckResults.lookalike },
        "url_brand_subdomain": BuiltinRules.Check { $0.urlCheckResults.brandSubdomain },
        "url_mixed_script": BuiltinRules.Check { $0.urlCheckResults.mixedScript },
        "url_blocklisted": BuiltinRules.Check { $0.urlCheckResults.blocklisted },
    ]

    /// The checks as each walked the analysis with its own loop (the reference of
    /// ``URLCheckResults``).
    static let referenceChecks: [String: BuiltinRules.Check] = [
        "url_shortener": BuiltinRules.Check { input in shortenerOptions(input) },
        "url_redirector": BuiltinRules.Check { input in first(input) { isRedirect($0) } },
        "url_numeric_ip": BuiltinRules.Check { input in first(input) { $0.isIPAddress && !$0.isObfuscatedIP } },
        "url_obfuscated_ip": BuiltinRules.Check { input in first(input) { $0.isObfuscatedIP } },
        "url_userinfo": BuiltinRules.Check { input in
            // A user name that looks like a host name ("paypal.com@evil.example"), or any password.
            first(input) { u in u.userinfo.map(userinfoLooksLikeHost) ?? false }
        },
        "url_lookalike": BuiltinRules.Check { input in lookalikeOptions(input) },
        "url_brand_subdomain": BuiltinRules.Check { input in
            let brands = input.environment.storage.brands
            return firstOption(input, hosts: true) { u in
                brands.brandInSubdomain(isIPAddress: u.isIPAddress, host: u.host, registrableDomain: u.registrableDomain)
                    .map { "\(u.host) names \($0)" }
            }
        },
        "url_mixed_script": BuiltinRules.Check { input in
            first(input, hosts: true) { u in
                // An ASCII host name cannot mix scripts.
                !u.unicodeHostIsASCII
                    && u.unicodeHost.split(separator: ".").contains { TextChecks.isMixedScript($0.unicodeScalars) }
            }
        },
        "url_blocklisted": BuiltinRules.Check { input in
            let list = input.environment.storage.uriBlocklist
            // An empty list (the default) lists nothing: the URLs are not read.
            guard !list.isEmpty else { return nil }
            return firstOption(input, hosts: true) { u in
                list.listedName(host: u.host, registrableDomain: u.registrableDomain, isIPAddress: u.isIPAddress)
                    .map { "\(u.host) (\($0))" }
            }
        },
    ]

    /// What rules out most host names as shorteners without hashing them: the UTF-8 lengths and
    /// first bytes of a set of names, when they are all ASCII. An ASCII string equals an ASCII
    /// name only when their bytes are equal, so an ASCII string of another length or first byte
    /// is none of them. A non-ASCII string (which can equal an ASCII name: U+212A is canonically
    /// `K`), or any string when a name is not ASCII, may be one.
    struct ShortNameFilter: Sendable {
        /// Bit `b` of `heads[length]`'s word `b >> 6`: a name of `length` bytes starting with byte `b` (< 0x80).
        private let heads: [UInt64]
        private let longest: Int
        private let usable: Bool

        init(_ names: Set<String>) {
            usable = names.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }
            longest = names.reduce(0) { max($0, $1.utf8.count) }
            var heads = [UInt64](repeating: 0, count: 2 * (longest + 1))
            for n in names {
                guard let b = n.utf8.first, b < 0x80 else { continue }
                heads[2 * n.utf8.count + Int(b >> 6)] |= 1 << UInt64(b & 63)
            }
            self.heads = heads
        }

        /// Whether a string of UTF-8 `bytes` may be one of the names (false: it is none).
        func mayContain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard usable, let b = bytes.first, b < 0x80 else { return true }
            let n = bytes.count
            if n <= longest && heads[2 * n + Int(b >> 6)] & (1 << UInt64(b & 63)) != 0 { return true }
            // No name of this length and first byte: none of them, if the string is ASCII.
            return !bytes.allSatisfy { $0 < 0x80 }
        }
    }

    /// Whether a userinfo has a `.` or a `:` (as Characters): on bytes when it is ASCII, where
    /// neither byte can join a neighbour into another Character.
    static func userinfoLooksLikeHost(_ s: String) -> Bool {
        var ascii = true
        var found = false
        for c in s.utf8 {
            if c >= 0x80 {
                ascii = false
                break
            }
            if c == 0x2E || c == 0x3A { found = true }
        }
        if ascii { return found }
        return s.contains(".") || s.contains(":")
    }

    /// The options of `url_shortener`. A host that is its own registrable domain (no subdomain)
    /// is looked up once. Names the filter rules out (most: no shortener has their length and
    /// first byte) are not hashed.
    ///
    /// Code footprint: the set lookups (rare) are out of line (``isShortener(_:_:)``): inlined,
    /// each `Set.contains` (hashing and string comparisons) was copied into every unrolled copy
    /// of the loop, 4,384 bytes of code for this check.
    static func shortenerOptions(_ input: RuleInput) -> [String]? {
        let environment = input.environment.storage
        let shorteners = environment.shorteners, filter = environment.shortenerFilter
        return first(input, hosts: true) { u in
            u.withHostBytes { host, domain in
                if filter.mayContain(host), isShortener(u.host, shorteners) { return true }
                guard !(domain.count == host.count && domain.elementsEqual(host)), filter.mayContain(domain) else { return false }
                return isShortener(registrableDomainOf: u, shorteners)
            }
        }
    }

    @inline(never) static func isShortener(_ name: String, _ shorteners: Set<String>) -> Bool {
        shorteners.contains(name)
    }

    /// Whether `u`'s registrable domain, when it is not its host name, is a shortener.
    @inline(never) static func isShortener(registrableDomainOf u: URLItem, _ shorteners: Set<String>) -> Bool {
        let h = u.host, d = u.registrableDomain
        return d != h && shorteners.contains(d)
    }

    /// The options of `url_lookalike`: up to three distinct hosts whose registrable domain imitates
    /// a brand's. The answer depends on the registrable domain only: once per domain when the
    /// message has several hosts (its few domains searched linearly, then through a dictionary:
    /// ``LookalikeAnswers``).
    ///
    /// Code footprint: what is rare (a hit's option string, the answers of a message with several
    /// hosts) is out of line, so that a message's one host runs through compact code (inlined,
    /// the dictionary's code sat between the hot instructions: 3,995 bytes).
    static func lookalikeOptions(_ input: RuleInput) -> [String]? {
        let analysis = input.urlAnalysis
        let hostCount = analysis.distinctHostCount
        guard hostCount > 0 else { return nil }
        let brands = input.environment.brands
        var out: [String] = []
        var answers = LookalikeAnswers()
        analysis.forEach(hosts: true) { u in
            guard !u.isIPAddress else { return false }
            let brand = hostCount == 1
                ? brands.lookalike(registrableDomain: u.registrableDomain)
                : answers.brand(of: u.registrableDomain, hostCount: hostCount, brands)
            guard let brand else { return false }
            return appendLookalike(&out, u, brand)
        }
        return out.isEmpty ? nil : out
    }

    /// Appends `url_lookalike`'s option for `u`; whether there are three.
    @inline(never) static func appendLookalike(_ out: inout [String], _ u: URLItem, _ brand: String) -> Bool {
        out.append("\(u.unicodeHost) looks like \(brand)")
        return out.count >= 3
    }

    /// The lookalike answers of a message's registrable domains (with several hosts): searched
    /// linearly while they are few, then through a dictionary.
    struct LookalikeAnswers {
        var answers: [(domain: String, brand: String?)] = []
        var brandOf: [String: String?] = [:]

        /// The brand `domain` imitates (computed once per domain).
        @inline(never) mutating func brand(of domain: String, hostCount: Int, _ brands: BrandList) -> String? {
            if let known = URLChecks.known(domain, answers, brandOf) { return known }
            // One allocation: the answers are kept only while there are few.
            if answers.isEmpty { answers.reserveCapacity(min(hostCount, SmallStringIndex.linearLimit + 1)) }
            let brand = brands.lookalike(registrableDomain: domain)
            answers.append((domain, brand))
            if answers.count == SmallStringIndex.linearLimit + 1 {
                for a in answers { brandOf[a.domain] = .some(a.brand) }
            } else if answers.count > SmallStringIndex.linearLimit + 1 {
                brandOf[domain] = .some(brand)
            }
            return brand
        }
    }

    /// The answer kept for `domain` (`.some(nil)`: no brand), if any: in `answers` while they are
    /// few, else in `table`.
    static func known(_ domain: String, _ answers: [(domain: String, brand: String?)], _ table: [String: String?]) -> String?? {
        if answers.count <= SmallStringIndex.linearLimit {
            for k in answers.indices where answers[k].domain == domain { return .some(answers[k].brand) }
            return nil
        }
        return table[domain]
    }

    @inline(__always) static func first(_ input: RuleInput, hosts: Bool = false, _ test: (URLItem) -> Bool) -> [String]? {
        firstOption(input, hosts: hosts) { test($0) ? $0.normalized : nil }
    }

    /// The options of up to three URLs that hit. `hosts`: the check reads only the host, so
    /// only the first URL of each host name is tested. The URLs are read in place from the
    /// message's analysis (``URLAnalysis/forEach(hosts:_:)``).
    @inline(__always) static func firstOption(_ input: RuleInput, hosts: Bool = false, _ option: (URLItem) -> String?) -> [String]? {
        input.urlAnalysis.options(hosts: hosts, option)
    }

    /// Whether `s` has `http` (any case), `//` or `%`: what a URL inside it, or its escape, needs.
    static func mayContainURL(_ s: String) -> Bool {
        var s = s  // withUTF8 makes the storage contiguous if it is not (native strings already are)
        return s.withUTF8 { mayContainURL(bytes: $0) }
    }

    /// ``mayContainURL(_:)`` on contiguous bytes: a `%`, a `/` after a `/`, or `http` in any case
    /// (checked only where an `h` or `H` is).
    static func mayContainURL(bytes b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c == 0x25 || (c == 0x2F && i > 0 && b[i - 1] == 0x2F) { return true }
            if c | 0x20 == 0x68, i + 3 < n, b[i + 1] | 0x20 == 0x74, b[i + 2] | 0x20 == 0x74, b[i + 3] | 0x20 == 0x70 {
                return true
            }
            i += 1
        }
        return false
    }

    /// nil when `b` has a byte above 0x7F, else ``mayContainURL(bytes:)``: eight positions at a
    /// time, without branches on the bytes. Each of the tested bytes is an exact lane mask
    /// (``zeroLanes(_:)`` of the word xor the byte), and the loads at `i + 1`, `i + 2`, `i + 3`
    /// put the bytes after each position in its lane: `%` at a position, `//` starting there, or
    /// `http` in any case starting there. (Paths have a `/` and an `h` in most words: the byte
    /// loop that a word with one of them ran cost more than the whole word test.)
    static func asciiMayContainURL(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        let n = b.count
        var may = false
        var i = 0
        @inline(__always) func at(_ j: Int) -> Bool {
            let c = b[j]
            if c == 0x25 || (c == 0x2F && j > 0 && b[j - 1] == 0x2F) { return true }
            return c | 0x20 == 0x68 && j + 3 < n && b[j + 1] | 0x20 == 0x74 && b[j + 2] | 0x20 == 0x74 && b[j + 3] | 0x20 == 0x70
        }
        if let base = UnsafeRawPointer(b.baseAddress) {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let high: UInt64 = 0x8080_8080_8080_8080
            let fold = 0x20 &* ones
            // Positions i..<i + 8, their bytes and the three after each (loads up to i + 10).
            while i &+ 11 <= n {
                let x0 = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if x0 & high != 0 { return nil }
                if !may {
                    let x1 = base.loadUnaligned(fromByteOffset: i &+ 1, as: UInt64.self)
                    let x2 = base.loadUnaligned(fromByteOffset: i &+ 2, as: UInt64.self)
                    let x3 = base.loadUnaligned(fromByteOffset: i &+ 3, as: UInt64.self)
                    let percent = zeroLanes(x0 ^ (0x25 &* ones))
                    // A `/` at position k + 1 after a `/` at k (as the byte test reads it at k + 1).
                    let slashes = zeroLanes(x0 ^ (0x2F &* ones)) & zeroLanes(x1 ^ (0x2F &* ones))
                    let http = zeroLanes((x0 | fold) ^ (0x68 &* ones)) & zeroLanes((x1 | fold) ^ (0x74 &* ones))
                        & zeroLanes((x2 | fold) ^ (0x74 &* ones)) & zeroLanes((x3 | fold) ^ (0x70 &* ones))
                    may = percent | slashes | http != 0
                }
                i &+= 8
            }
        }
        while i < n {
            if b[i] >= 0x80 { return nil }
            if !may && at(i) { may = true }
            i += 1
        }
        return may
    }

    /// 0x80 in each byte lane of `y` that is 0, 0 in the others: exact for every byte value (no
    /// borrow or carry crosses lanes, unlike the `(y - ones) & ~y` test).
    @inline(__always) static func zeroLanes(_ y: UInt64) -> UInt64 {
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((y & low) &+ low) | y | low)
    }

    /// An open redirect: a query parameter or a path segment that is itself an http(s) URL.
    public static func isRedirect(_ u: AnalyzedURL) -> Bool {
        isRedirect(path: u.path, query: u.query) ?? isRedirectReference(u)
    }

    /// ``isRedirect(_:)`` of a URL read in place: the parsed path and query as they are when
    /// neither has a `%` (then percent normalization leaves them unchanged).
    static func isRedirect(_ u: URLItem) -> Bool {
        let p = u.parsedPointer.pointee.unsafelyUnwrapped
        var path = p.path
        let query = p.query
        var q = query ?? ""
        let plain: Bool?? = path.withUTF8 { pb in
            q.withUTF8 { qb in
                if let base = pb.baseAddress, memchr(base, 0x25, pb.count) != nil { return nil }
                if query != nil, let base = qb.baseAddress, memchr(base, 0x25, qb.count) != nil { return nil }
                return .some(redirectOnBytes(path: pb, query: query == nil ? nil : qb))
            }
        }
        switch plain {
        case .some(.some(let answer)): return answer
        case .some(.none): return isRedirectReference(u.analyzed)
        case .none: return isRedirect(path: u.path, query: u.query) ?? isRedirectReference(u.analyzed)
        }
    }

    /// ``redirectOnBytes(path:query:)`` of the strings.
    @inline(__always) static func isRedirect(path: String, query: String?) -> Bool? {
        var path = path
        return path.withUTF8 { p in
            guard var query else { return redirectOnBytes(path: p, query: nil) }
            return query.withUTF8 { q in redirectOnBytes(path: p, query: q) }
        }
    }

    /// ``isRedirectReference(_:)`` on bytes, without decoding or lower-casing copies of the path
    /// and query; nil when they hold a byte above 0x7F (Characters and Unicode lower-casing are
    /// left to the reference then), or a match is followed by one once decoded.
    ///
    /// With ASCII path and query, the reference's Characters are their bytes (a `&`, `=` or `/`
    /// never joins a neighbour; CR LF is one Character but none of the tested bytes), and only
    /// decoded escapes can be non-ASCII: a decoded value starts with `http://`, `https://` or
    /// `//` (ASCII case folded) exactly when its bytes do, unless the next decoded byte starts a
    /// non-ASCII scalar, which could join the last `/` (nil then); non-ASCII scalars lower-case to
    /// none of the bytes tested (U+212A, the one with an ASCII lower case, gives `k`).
    static func redirectOnBytes(path p: UnsafeBufferPointer<UInt8>, query q: UnsafeBufferPointer<UInt8>?) -> Bool? {
        // Fast exit: without `http`, `//` or a percent escape there is no URL inside.
        guard let inPath = asciiMayContainURL(p) else { return nil }
        var may = inPath
        if let q {
            guard let inQuery = asciiMayContainURL(q) else { return nil }
            may = may || inQuery
        }
        guard may else { return false }
        if let q {
            // Each `&`-separated pair with an `=`: its value from the first `=` on.
            var start = 0
            let n = q.count
            while start < n {
                var end = start
                while end < n && q[end] != 0x26 { end += 1 }
                var eq = start
                while eq < end && q[eq] != 0x3D { eq += 1 }
                if eq < end {
                    switch valueStartsWithURL(q, (eq + 1)..<end) {
                    case true?: return true
                    case nil: return nil
                    case false?: break
                    }
                }
                start = end + 1
            }
        }
        return pathHoldsURL(p)
    }

    /// Whether the percent-decoded bytes `b[r]` start with `http://`, `https://` or `//` (ASCII
    /// case folded); nil when they do but the next decoded byte is not ASCII.
    static func valueStartsWithURL(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool? {
        // The first nine decoded bytes are enough: "https://" and the byte after it.
        var d: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &d) { out in
            var i = r.lowerBound
            while i < r.upperBound && count < 9 {
                var c = b[i]
                if c == 0x25, i + 2 < r.upperBound, let h = URLNormalizer.hex(b[i + 1]), let l = URLNormalizer.hex(b[i + 2]) {
                    c = h << 4 | l
                    i += 3
                } else {
                    i += 1
                }
                out[count] = c &- 0x41 < 26 ? c | 0x20 : c
                count += 1
            }
        }
        return withUnsafeBytes(of: &d) { v -> Bool? in
            // At most one of the three can match ("http://" and "https://" differ at their fifth
            // byte, "//" and both at their first).
            for prefix: StaticString in ["http://", "https://", "//"] {
                let n = prefix.utf8CodeUnitCount
                guard count >= n else { continue }
                let pb = prefix.utf8Start
                var k = 0
                while k < n && v[k] == pb[k] { k += 1 }
                guard k == n else { continue }
                return count > n && v[n] >= 0x80 ? nil : true
            }
            return false
        }
    }

    /// Whether the percent-decoded path, ASCII case folded, holds `/http:/` or `/https:/` (what
    /// `/http://` and `/https://` start with); nil when such a match has a non-ASCII byte next to it.
    static func pathHoldsURL(_ p: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard p.contains(0x25) else { return holdsURLPrefix(p) }
        var decoded = [UInt8]()
        decoded.reserveCapacity(p.count)
        var i = 0
        while i < p.count {
            if p[i] == 0x25, i + 2 < p.count, let h = URLNormalizer.hex(p[i + 1]), let l = URLNormalizer.hex(p[i + 2]) {
                decoded.append(h << 4 | l)
                i += 3
            } else {
                decoded.append(p[i])
                i += 1
            }
        }
        return decoded.withUnsafeBufferPointer { holdsURLPrefix($0) }
    }

    /// ``pathHoldsURL(_:)`` on decoded bytes.
    static func holdsURLPrefix(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        @inline(__always) func folded(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }
        let n = b.count
        var i = 0
        while i + 7 <= n {
            // "/http:/" or "/https:/" at i.
            if b[i] == 0x2F, folded(b[i + 1]) == 0x68, folded(b[i + 2]) == 0x74, folded(b[i + 3]) == 0x74,
                folded(b[i + 4]) == 0x70
            {
                var k = i + 5
                if k < n && folded(b[k]) == 0x73 { k += 1 }
                if k + 1 < n, b[k] == 0x3A, b[k + 1] == 0x2F {
                    let end = k + 2
                    if (i > 0 && b[i - 1] >= 0x80) || (end < n && b[end] >= 0x80) { return nil }
                    return true
                }
            }
            i += 1
        }
        return false
    }

    /// ``isRedirect(_:)`` as first written, on Strings (the reference of the byte path).
    static func isRedirectReference(_ u: AnalyzedURL) -> Bool {
        // Fast exit: without `http`, `//` or a percent escape there is no URL inside.
        guard mayContainURL(u.path) || u.query.map(mayContainURL) == true else { return false }
        if let q = u.query {
            for pair in q.split(separator: "&") {
                guard let eq = pair.firstIndex(of: "=") else { continue }
                let v = URLNormalizer.percentDecoded(pair[pair.index(after: eq)...]).lowercased()
                if v.hasPrefix("http://") || v.hasPrefix("https://") || v.hasPrefix("//") { return true }
            }
        }
        let p = URLNormalizer.percentDecoded(Substring(u.path)).lowercased()
        // "/http:/" is in "/http://", "/https:/" in "/https://".
        return containsASCII(p, "/http:/") || containsASCII(p, "/https:/")
    }

    /// `s.contains(needle)` (Characters) for an ASCII needle that starts and ends with `/`:
    /// by bytes, where a match between ASCII bytes (or at the ends) is a match of Characters; a
    /// match next to a non-ASCII byte (a combining mark could join the `/`) is left to `contains`.
    static func containsASCII(_ s: String, _ needle: StaticString) -> Bool {
        var t = s
        let answer: Bool? = t.withUTF8 { b in
            needle.withUTF8Buffer { nb in
                let n = nb.count, count = b.count
                guard count >= n else { return false }
                var i = 0
                while i <= count - n {
                    if b[i] == nb[0] {
                        var k = 1
                        while k < n && b[i + k] == nb[k] { k += 1 }
                        if k == n {
                            if (i > 0 && b[i - 1] >= 0x80) || (i + n < count && b[i + n] >= 0x80) { return nil }
                            return true
                        }
                    }
                    i += 1
                }
                return false
            }
        }
        if let answer { return answer }
        return s.contains(needle.description)
    }
}

/// Brands whose domains phishing imitates, and the domains that really are theirs.
public struct BrandList: Sendable {
    public struct Brand: Sendable, Hashable {
        /// The name as it appears in domains (`paypal`).
        public var name: String
        /// Registrable domains that belong to the brand.
        public var domains: Set<String>
        public init(name: String, domains: Set<String>) {
            self.name = name
            self.domains = domains
        }
    }

    /// The brands and their precomputed tables, in one immutable box: a copy of the list (every
    /// rule input's environment holds one) is one retain.
    let tables: BrandTables

    public var brands: [Brand] { tables.brands }
    var skeletons: [String] { tables.skeletons }
    var skeletonScalars: [[Unicode.Scalar]] { tables.skeletonScalars }
    var skeletonBytes: [[UInt8]] { tables.skeletonBytes }
    var skeletonLengths: [Int] { tables.skeletonLengths }
    var skeletonPool: [UInt8] { tables.skeletonPool }
    var skeletonStarts: [Int] { tables.skeletonStarts }
    var skeletonFirst: [UInt8] { tables.skeletonFirst }
    var nameBytes: [[UInt8]] { tables.nameBytes }
    var domainNeedles: [(bytes: [UInt8], domain: String, brand: Int)] { tables.domainNeedles }
    var skeletonIndex: [String: [Int]] { tables.skeletonIndex }
    var owners: [String: [Int]] { tables.owners }
    var allSkeletonsASCII: Bool { tables.allSkeletonsASCII }
    var shortestSubdomainNamingABrand: Int { tables.shortestSubdomainNamingABrand }

    public init(_ brands: [Brand]) { tables = BrandTables(brands) }

    public static let `default` = BrandList([
        Brand(name: "paypal", domains: ["paypal.com", "paypal.me", "paypalobjects.com", "paypal.de", "paypal.co.uk"]),
        Brand(name: "apple", domains: ["apple.com", "icloud.com", "me.com"]),
        Brand(name: "icloud", domains: ["icloud.com", "apple.com"]),
        Brand(name: "amazon", domains: ["amazon.com", "amazon.de", "amazon.co.uk", "amazon.fr", "amazon.co.jp", "amazonaws.com", "amazon.es", "amazon.it"]),
        Brand(name: "microsoft", domains: ["microsoft.com", "live.com", "office.com", "outlook.com", "microsoftonline.com"]),
        Brand(name: "office365", domains: ["office.com", "microsoft.com"]),
        Brand(name: "outlook", domains: ["outlook.com", "microsoft.com", "live.com"]),
        Brand(name: "google", domains: ["google.com", "gmail.com", "googleusercontent.com", "google.de", "google.co.uk"]),
        Brand(name: "gmail", domains: ["gmail.com", "google.com"]),
        Brand(name: "netflix", domains: ["netflix.com"]),
        Brand(name: "facebook", domains: ["facebook.com", "fb.com", "facebookmail.com"]),
        Brand(name: "instagram", domains: ["instagram.com"]),
        Brand(name: "linkedin", domains: ["linkedin.com"]),
        Brand(name: "ebay", domains: ["ebay.com", "ebay.de", "ebay.co.uk"]),
        Brand(name: "dhl", domains: ["dhl.com", "dhl.de"]),
        Brand(name: "fedex", domains: ["fedex.com"]),
        Brand(name: "chase", domains: ["chase.com", "jpmorganchase.com"]),
        Brand(name: "wellsfargo", domains: ["wellsfargo.com"]),
        Brand(name: "bankofamerica", domains: ["bankofamerica.com"]),
        Brand(name: "citibank", domains: ["citibank.com", "citi.com"]),
        Brand(name: "dropbox", domains: ["dropbox.com"]),
        Brand(name: "docusign", domains: ["docusign.com", "docusign.net"]),
        Brand(name: "coinbase", domains: ["coinbase.com"]),
        Brand(name: "binance", domains: ["binance.com"]),
        Brand(name: "adobe", domains: ["adobe.com"]),
        Brand(name: "yahoo", domains: ["yahoo.com", "yahoo.co.jp", "yahoo.de"]),
    ])

    /// Confusable characters folded to one representative (after lower-casing).
    static let confusables: [Unicode.Scalar: String] = [
        "0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s",
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "l", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ɡ": "g", "ο": "o", "α": "a", "ν": "v", "ι": "l", "κ": "k", "τ": "t", "ρ": "p", "ӏ": "l", "ı": "l", "ḷ": "l",
        "á": "a", "à": "a", "â": "a", "ä": "a", "å": "a", "é": "e", "è": "e", "ê": "e", "ë": "e", "í": "l", "ì": "l",
        "î": "l", "ï": "l", "ó": "o", "ò": "o", "ô": "o", "ö": "o", "ú": "u", "ù": "u", "û": "u", "ü": "u", "ç": "c",
        "ñ": "n", "ý": "y", "ÿ": "y", "-": "", "_": "",
    ]

    /// A confusable skeleton (in the spirit of UTS 39): look-alike characters folded, `rn` as `m`,
    /// `vv` as `w`, `cl` as `d`, separators dropped.
    public static func skeleton(_ s: String) -> String {
        asciiSkeleton(s) ?? scalarSkeleton(s)
    }

    /// ``skeleton(_:)`` scalar by scalar (any string).
    static func scalarSkeleton(_ s: String) -> String {
        var out = ""
        for u in s.lowercased().unicodeScalars {
            if let r = confusables[u] { out += r } else { out.unicodeScalars.append(u) }
        }
        return out.replacingAll("rn", "m").replacingAll("vv", "w").replacingAll("cl", "d")
    }

    /// ASCII confusables, by byte (0 for none; 0xFF: dropped).
    static let asciiConfusables: [UInt8] = (0..<128).map { b -> UInt8 in
        let v = UInt8(b)
        let lower = (v &- 0x41) < 26 ? v | 0x20 : v
        guard let r = confusables[Unicode.Scalar(lower)] else { return lower }
        return r.utf8.first ?? 0xFF
    }

    /// ``skeleton(_:)`` of an ASCII string, by byte (nil for other strings).
    static func asciiSkeleton(_ s: String) -> String? {
        guard s.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        return String(decoding: asciiSkeletonBytes(Array(s.utf8)[...]), as: UTF8.self)
    }

    /// ``skeleton(_:)`` of ASCII bytes, as bytes: the confusables folded, then `rn`, `vv` and `cl`
    /// replaced in one pass from left to right. The three pairs share no letter but `v` (in `vv`
    /// only) and their replacements are in none of them, so one pass replaces what the three
    /// passes of ``scalarSkeleton(_:)`` do.
    static func asciiSkeletonBytes(_ s: ArraySlice<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: s.count) { out, count in
            count = s.withUnsafeBufferPointer { asciiSkeleton($0, into: out) }
        }
    }

    /// The brand `u`'s registrable domain imitates (same skeleton, or one edit away for names of six
    /// or more letters), when the domain is not the brand's own.
    public func lookalike(of u: AnalyzedURL) -> String? {
        guard !u.isIPAddress else { return nil }
        return lookalike(registrableDomain: u.registrableDomain)
    }

    /// ``lookalike(of:)`` of a URL (not an IP address) whose registrable domain is `reg`.
    func lookalike(registrableDomain reg: String) -> String? {
        var regBytes = reg
        if allSkeletonsASCII, let answer = regBytes.withUTF8({ asciiLookalike($0) }) { return answer }
        return generalLookalike(registrableDomain: reg)
    }

    /// ``lookalike(registrableDomain:)`` given the UTF-8 bytes of `reg` (read already).
    @inline(__always) func lookalike(registrableDomain reg: String, bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if allSkeletonsASCII, let answer = asciiLookalike(bytes) { return answer }
        return generalLookalike(registrableDomain: reg)
    }

    /// ``lookalike(of:)`` of a host's registrable domain `reg`, for any name (the reference of
    /// ``asciiLookalike(_:)``).
    func generalLookalike(registrableDomain reg: String) -> String? {
        // ASCII (nearly always): a '.' byte is a Character of its own.
        guard reg.utf8.allSatisfy({ $0 < 0x80 }) ? reg.utf8.contains(0x2E) : reg.contains(".") else { return nil }
        let unicodeReg = Punycode.toUnicode(reg)
        // ASCII names (nearly all) by byte: each byte is a Character of its own there.
        let ascii = unicodeReg.utf8.allSatisfy { $0 < 0x80 }
        let label = ascii
            ? String(unicodeReg[..<(unicodeReg.utf8.firstIndex(of: 0x2E) ?? unicodeReg.endIndex)])
            : String(unicodeReg[..<(unicodeReg.firstIndex(of: ".") ?? unicodeReg.endIndex)])
        let sk = Self.skeleton(label)
        let skScalars = Array(sk.unicodeScalars)
        // Hyphenated names: a disguised brand as one part (`netfl1x-billing`).
        let hyphen = ascii ? label.utf8.contains(0x2D) : label.contains("-")
        let parts = hyphen ? label.split(separator: "-").filter { $0.count >= 4 }.map(String.init) : []
        let partSkeletons = parts.map { ($0, Self.skeleton($0)) }
        let ownBrands = owners[reg] ?? []
        if ascii {
            // The same tests in the same order, on bytes: ASCII strings are equal exactly when
            // their bytes are (brand names and the skeletons of ASCII labels are ASCII).
            let labelBytes = Array(label.utf8)
            let skBytes = Array(sk.utf8)
            for i in brands.indices where !ownBrands.contains(i) {
                if nameBytes[i] == labelBytes { continue }
                if skeletonBytes[i] == skBytes { return brands[i].name }
                let bs = skeletonScalars[i]
                if bs.count >= 6, skScalars.count >= 6, skScalars.first == bs.first, Self.withinOneEdit(skScalars, bs) {
                    return brands[i].name
                }
                for (p, psk) in partSkeletons where psk == skeletons[i] && p != brands[i].name { return brands[i].name }
            }
            return nil
        }
        for (i, b) in brands.enumerated() where !ownBrands.contains(i) {
            if label == b.name { continue }  // the brand's name under another suffix is not a lookalike
            let bsk = skeletons[i]
            if sk == bsk { return b.name }
            // One edit away (same first letter) for longer names: `paypall`, `amazom`.
            let bs = skeletonScalars[i]
            if bs.count >= 6, skScalars.count >= 6, skScalars.first == bs.first, Self.withinOneEdit(skScalars, bs) { return b.name }
            for (p, psk) in partSkeletons where p != b.name && psk == bsk { return b.name }
        }
        return nil
    }

    /// ``lookalike(of:)`` for an ASCII registrable domain without `--` (so with no `xn--` label,
    /// and Punycode leaves it as it is), on bytes: the same tests in the same order. nil when the
    /// domain is not such a name (the general path answers then).
    /// Needs every brand's skeleton ASCII (``allSkeletonsASCII``).
    func asciiLookalike(_ reg: UnsafeBufferPointer<UInt8>) -> String?? {
        var dot = -1
        var previous: UInt8 = 0
        var hyphen = false
        for (i, c) in reg.enumerated() {
            // Control bytes and space: a CR LF would be one Character; left to the general path.
            if c >= 0x80 || c <= 0x20 || (c == 0x2D && previous == 0x2D) { return nil }
            if c == 0x2E && dot < 0 { dot = i }
            if c == 0x2D && dot < 0 { hyphen = true }
            previous = c
        }
        guard dot >= 0 else { return .some(nil) }
        if !hyphen, let answer = unhyphenatedLookalike(reg, label: dot) { return answer }
        return hyphenatedLookalike(reg, label: dot)
    }

    /// ``asciiLookalike(_:)`` of a checked ASCII domain whose first label, `reg[0..<label]`, has no
    /// hyphen (so no parts): the label's skeleton made in a stack buffer and compared in place
    /// with the brands' of a length and first byte that allow an equal skeleton or one edit.
    /// nil (not answered) for a label whose skeleton is empty.
    func unhyphenatedLookalike(_ reg: UnsafeBufferPointer<UInt8>, label: Int) -> String?? {
        let t = tables
        guard t.lookalikeTableUsable else { return unhyphenatedLookalikeInArrays(reg, label: label) }
        let n = t.brandCount
        return t.lookalikeTable.withUnsafeBufferPointer { table -> String?? in
            guard let base = table.baseAddress else { return unhyphenatedLookalikeInArrays(reg, label: label) }
            let records = base + BrandTables.lookalikeRecords
            let pool = records + 4 * n
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(label, 1)) { sk -> String?? in
                let skCount = Self.asciiSkeleton(UnsafeBufferPointer(rebasing: reg[0..<label]), into: sk, confusables: base)
                guard skCount > 0 else { return nil }
                let skb = UnsafeBufferPointer(rebasing: sk[0..<skCount])
                let first = skb[0]
                for i in 0..<n {
                    let r = records + 4 * i
                    // An equal skeleton and one edit (same first byte, both of six or more, lengths
                    // at most one apart) both need the same first byte.
                    guard r[0] == first else { continue }
                    let length = Int(r[1])
                    let bs = UnsafeBufferPointer(start: pool + (Int(r[2]) | Int(r[3]) << 8), count: length)
                    guard Self.imitates(skb, bs) else { continue }
                    if let answer = brandUnlessOwn(i, reg, label: label) { return .some(answer) }
                }
                return .some(nil)
            }
        }
    }

    /// Whether a label whose ASCII skeleton is `label` imitates a brand whose skeleton is `brand`:
    /// the same skeleton, or one edit apart when both have six bytes or more (so their lengths
    /// are at most one apart).
    @inline(__always) static func imitates(_ label: UnsafeBufferPointer<UInt8>, _ brand: UnsafeBufferPointer<UInt8>) -> Bool {
        if brand.count == label.count {
            return brand.elementsEqual(label) || (brand.count >= 6 && withinOneEdit(label, brand))
        }
        return brand.count >= 6 && label.count >= 6 && abs(brand.count - label.count) == 1 && withinOneEdit(label, brand)
    }

    /// Brand `i`'s name, unless `reg` is one of its domains or its first label, `reg[0..<label]`,
    /// is the brand's name (out of line: asked only of a label that imitates a brand).
    @inline(never) func brandUnlessOwn(_ i: Int, _ reg: UnsafeBufferPointer<UInt8>, label: Int) -> String? {
        if owners[String(decoding: reg, as: UTF8.self)]?.contains(i) == true
            || nameBytes[i].elementsEqual(UnsafeBufferPointer(rebasing: reg[0..<label]))
        {
            return nil
        }
        return brands[i].name
    }

    /// ``unhyphenatedLookalike(_:label:)`` from the separate arrays (the skeletons' first bytes,
    /// lengths, starts and pool): for skeletons the packed table cannot hold, and the reference
    /// of the packed table's answers.
    func unhyphenatedLookalikeInArrays(_ reg: UnsafeBufferPointer<UInt8>, label: Int) -> String?? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(label, 1)) { sk -> String?? in
            let skCount = Self.asciiSkeleton(UnsafeBufferPointer(rebasing: reg[0..<label]), into: sk)
            guard skCount > 0 else { return nil }
            let skb = UnsafeBufferPointer(rebasing: sk[0..<skCount])
            let first = skb[0]
            return skeletonPool.withUnsafeBufferPointer { pool -> String?? in
                for i in brands.indices {
                    // An equal skeleton and one edit (same first byte, both of six or more, lengths
                    // at most one apart) both need the same first byte.
                    guard skeletonFirst[i] == first else { continue }
                    let length = skeletonLengths[i]
                    let bs = UnsafeBufferPointer(rebasing: pool[skeletonStarts[i]..<(skeletonStarts[i] + length)])
                    guard Self.imitates(skb, bs) else { continue }
                    // Passed over when the domain is the brand's own or the label is its name.
                    if owners[String(decoding: reg, as: UTF8.self)]?.contains(i) == true
                        || nameBytes[i].elementsEqual(UnsafeBufferPointer(rebasing: reg[0..<label]))
                    {
                        continue
                    }
                    return .some(brands[i].name)
                }
                return .some(nil)
            }
        }
    }

    /// ``asciiSkeletonBytes(_:)`` of `s` written to `out` (at least as long as `s`); returns the
    /// skeleton's length.
    static func asciiSkeleton(_ s: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        asciiConfusables.withUnsafeBufferPointer { table in asciiSkeleton(s, into: out, confusables: table.baseAddress!) }
    }

    /// ``asciiSkeleton(_:into:)`` with the 128 ASCII confusables read at `table`.
    @inline(__always)
    static func asciiSkeleton(_ s: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>,
                              confusables table: UnsafePointer<UInt8>) -> Int {
        var w = 0
        for b in s {
            let r = table[Int(b & 0x7F)]
            if r != 0xFF {
                out[w] = r
                w += 1
            }
        }
        // In place: the write index never passes the read index.
        var i = 0, k = 0
        while i < w {
            let a = out[i]
            if i + 1 < w {
                let b = out[i + 1]
                let pair: UInt8 =
                    a == 0x72 && b == 0x6E ? 0x6D  // rn -> m
                    : a == 0x76 && b == 0x76 ? 0x77  // vv -> w
                    : a == 0x63 && b == 0x6C ? 0x64  // cl -> d
                    : 0
                if pair != 0 {
                    out[k] = pair
                    k += 1
                    i += 2
                    continue
                }
            }
            out[k] = a
            k += 1
            i += 1
        }
        return k
    }

    /// ``asciiLookalike(_:)`` of a checked ASCII domain whose first label, `reg[0..<label]`, has a
    /// hyphen (parts tested too).
    func hyphenatedLookalike(_ reg: UnsafeBufferPointer<UInt8>, label dot: Int) -> String?? {
        let labelBytes = Array(reg[0..<dot])
        let skBytes = Self.asciiSkeletonBytes(labelBytes[...])
        // Hyphenated names: a disguised brand as one part (`netfl1x-billing`); parts of four or
        // more bytes (ASCII: bytes are Characters).
        var parts: [ArraySlice<UInt8>] = []
        var partSkeletons: [[UInt8]] = []
        if labelBytes.contains(0x2D) {
            for p in labelBytes.split(separator: 0x2D) where p.count >= 4 {
                parts.append(p)
                partSkeletons.append(Self.asciiSkeletonBytes(p))
            }
        }
        // A brand is passed over when the domain is its own or the label is its name: both are
        // asked only of a brand the label would imitate (the domain's owners looked up then).
        var ownBrands: [Int]? = nil
        let skCount = skBytes.count
        for i in brands.indices {
            // Neither the same skeleton nor one edit away (lengths apart by at most one, both of
            // six or more) nor a part's: passed over on the lengths, without reading the skeleton.
            let length = skeletonLengths[i]
            if parts.isEmpty && length != skCount && !(length >= 6 && skCount >= 6 && abs(length - skCount) <= 1) { continue }
            let bs = skeletonBytes[i]
            // Skeletons of ASCII names are ASCII: one byte a scalar.
            let imitates = bs == skBytes
                || (bs.count >= 6 && skBytes.count >= 6 && skBytes.first == bs.first && Self.withinOneEdit(skBytes, bs))
            var byPart = false
            if !imitates {
                for k in parts.indices where partSkeletons[k] == bs && !parts[k].elementsEqual(nameBytes[i]) {
                    byPart = true
                    break
                }
            }
            guard imitates || byPart else { continue }
            if ownBrands == nil { ownBrands = owners[String(decoding: reg, as: UTF8.self)] ?? [] }
            if ownBrands?.contains(i) == true || nameBytes[i] == labelBytes { continue }
            return .some(brands[i].name)
        }
        return .some(nil)
    }

    /// A brand's name or domain among the labels left of `u`'s registrable domain
    /// (`paypal.com.login.example.net`, `paypal.secure-login.example`), when the domain is not the brand's.
    public func brandInSubdomain(_ u: AnalyzedURL) -> String? {
        brandInSubdomain(isIPAddress: u.isIPAddress, host: u.host, registrableDomain: u.registrableDomain)
    }

    /// ``brandInSubdomain(_:)`` of a URL's host names.
    func brandInSubdomain(isIPAddress: Bool, host: String, registrableDomain: String) -> String? {
        guard !isIPAddress else { return nil }
        var h = host, d = registrableDomain
        return h.withUTF8 { host in
            d.withUTF8 { domain in
                guard host.count > domain.count else { return nil }
                // A subdomain shorter than every brand domain and than four bytes (the shortest name
                // tested; a label is no longer than the subdomain) names none: `www.` of most hosts.
                let subLength = host.count - domain.count - 1
                if subLength < shortestSubdomainNamingABrand { return nil }
                return brandInSubdomain(UnsafeBufferPointer(rebasing: host[0..<subLength]), registrableDomain: registrableDomain)
            }
        }
    }

    /// ``brandInSubdomain(_:)`` of the subdomain's bytes `sub` (the labels left of the
    /// registrable domain, without the dot before it).
    func brandInSubdomain(_ sub: UnsafeBufferPointer<UInt8>, registrableDomain: String) -> String? {
        let t = tables
        // A subdomain without a dot (`mail`, `images`) holds no brand domain when every brand
        // domain has one (the default list's all do): the needle search is passed over.
        if t.needlesAllDotted && !sub.contains(0x2E) { return labelNamingABrand(sub, registrableDomain: registrableDomain) }
        // The brand domains and names read in place from their pools (iterating the arrays
        // copied each needle: a retain and release of its bytes and its string).
        let needle: Int? = t.needlePool.withUnsafeBufferPointer { pool in
            t.subdomainRecords.withUnsafeBufferPointer { records in
                let packed = t.subdomainRecordsUsable
                for k in t.needleRanges.indices {
                    // Passed over on its record (no range or byte of the pool read): longer than
                    // the subdomain, or its first byte nowhere it could start.
                    if packed {
                        let length = Int(records[4 &* k])
                        guard length > 0, length <= sub.count, let base = sub.baseAddress,
                            memchr(base, Int32(records[4 &* k &+ 1]), sub.count - length + 1) != nil
                        else { continue }
                    }
                    let n = UnsafeBufferPointer(rebasing: pool[t.needleRanges[k]])
                    if Self.contains(sub, n) && !t.brands[t.domainNeedles[k].brand].domains.contains(registrableDomain) { return k }
                }
                return nil
            }
        }
        if let needle { return t.domainNeedles[needle].domain }
        return labelNamingABrand(sub, registrableDomain: registrableDomain)
    }

    /// The brand name that a label of the subdomain `sub` is, or starts or ends with (and a
    /// hyphen), when the domain is not the brand's.
    func labelNamingABrand(_ sub: UnsafeBufferPointer<UInt8>, registrableDomain: String) -> String? {
        let t = tables
        // Labels equal to a brand's name, or starting or ending with it and a hyphen.
        let brand: Int? = t.namePool.withUnsafeBufferPointer { pool in
            var start = 0
            while start < sub.count {
                var end = start
                while end < sub.count && sub[end] != 0x2E { end += 1 }
                let label = UnsafeBufferPointer(rebasing: sub[start..<end])
                for i in t.nameRanges.indices {
                    let name = UnsafeBufferPointer(rebasing: pool[t.nameRanges[i]])
                    // Equal, or starting or ending with the name: the first or the last bytes are the name's.
                    guard name.count >= 4 && label.count >= name.count,
                        label[0] == name[0] || label[label.count - 1] == name[name.count - 1]
                    else { continue }
                    let hit = label.count == name.count
                        ? label.elementsEqual(name)
                        : (label.starts(with: name) && label[name.count] == 0x2D)
                            || (label.reversed().starts(with: name.reversed()) && label[label.count - name.count - 1] == 0x2D)
                    if hit && !t.brands[i].domains.contains(registrableDomain) { return i }
                }
                start = end + 1
            }
            return nil
        }
        return brand.map { t.brands[$0].name }
    }

    /// Whether `needle` occurs in `haystack` (bytes).
    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        haystack.withUnsafeBufferPointer { contains($0, needle) }
    }

    /// Whether `needle` occurs in `haystack` (bytes).
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        needle.withUnsafeBufferPointer { contains(haystack, $0) }
    }

    /// Whether `needle` occurs in `haystack` (bytes).
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        let n = needle.count
        var i = 0
        let last = haystack.count - n
        while i <= last {
            if haystack[i] == first && UnsafeBufferPointer(rebasing: haystack[i..<(i + n)]).elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    static func withinOneEdit(_ a: String, _ b: String) -> Bool {
        withinOneEdit(Array(a.unicodeScalars), Array(b.unicodeScalars))
    }

    /// Whether `x` becomes `y` by at most one insertion, deletion or substitution (of bytes, or of
    /// scalars): arrays, or byte buffers of the lookalike check.
    static func withinOneEdit<C: RandomAccessCollection>(_ x: C, _ y: C) -> Bool where C.Element: Equatable, C.Index == Int {
        if abs(x.count - y.count) > 1 { return false }
        let x0 = x.startIndex, y0 = y.startIndex
        var i = 0, j = 0, edits = 0
        while i < x.count && j < y.count {
            if x[x0 + i] == y[y0 + j] {
                i += 1
                j += 1
                continue
            }
            edits += 1
            if edits > 1 { return false }
            if x.count > y.count { i += 1 } else if x.count < y.count { j += 1 } else {
                i += 1
                j += 1
            }
        }
        return edits + (x.count - i) + (y.count - j) <= 1
    }
}

extension String {
    /// Every occurrence of `a` replaced by `b` (ASCII needles; no Foundation).
    func replacingAll(_ a: String, _ b: String) -> String {
        let needle = Array(a.utf8)
        let bytes = Array(utf8)
        guard !needle.isEmpty, bytes.count >= needle.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + needle.count <= bytes.count, bytes[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: b.utf8)
                i += needle.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// ``BrandList``'s brands and the tables computed from them once.
final class BrandTables: Sendable {
    let brands: [BrandList.Brand]
    /// Precomputed once: every brand's skeleton (as scalars for the edit distance), its name and
    /// domains as bytes, and which brands own each domain.
    let skeletons: [String]
    let skeletonScalars: [[Unicode.Scalar]]
    let skeletonBytes: [[UInt8]]
    /// The byte count of each skeleton.
    let skeletonLengths: [Int]
    /// Every skeleton's bytes one after the other (brand `i`'s from `skeletonStarts[i]`, for
    /// `skeletonLengths[i]`), read in place by the ASCII lookalike check; `skeletonFirst[i]` is
    /// its first byte (0 for an empty skeleton).
    let skeletonPool: [UInt8]
    let skeletonStarts: [Int]
    let skeletonFirst: [UInt8]
    let nameBytes: [[UInt8]]
    let domainNeedles: [(bytes: [UInt8], domain: String, brand: Int)]
    let skeletonIndex: [String: [Int]]
    /// For each brand domain, the brands that own it.
    let owners: [String: [Int]]
    /// Whether every skeleton is ASCII (one byte a scalar), as the built-in brands' are.
    let allSkeletonsASCII: Bool
    /// The length under which a subdomain can hold no brand domain and no label of four or more
    /// bytes (``BrandList/brandInSubdomain(_:)``).
    let shortestSubdomainNamingABrand: Int
    /// Whether every brand domain has a dot (then a subdomain without one holds none).
    let needlesAllDotted: Bool

    init(_ brands: [BrandList.Brand]) {
        self.brands = brands
        skeletons = brands.map { BrandList.skeleton($0.name) }
        skeletonScalars = skeletons.map { Array($0.unicodeScalars) }
        skeletonBytes = skeletons.map { Array($0.utf8) }
        skeletonLengths = skeletonBytes.map(\.count)
        skeletonPool = skeletonBytes.flatMap { $0 }
        var starts: [Int] = []
        var next = 0
        for b in skeletonBytes {
            starts.append(next)
            next += b.count
        }
        skeletonStarts = starts
        skeletonFirst = skeletonBytes.map { $0.first ?? 0 }
        nameBytes = brands.map { Array($0.name.utf8) }
        domainNeedles = brands.enumerated().flatMap { i, b in b.domains.sorted().map { (Array($0.utf8), $0, i) } }
        var index: [String: [Int]] = [:]
        for (i, s) in skeletons.enumerated() { index[s, default: []].append(i) }
        skeletonIndex = index
        var owners: [String: [Int]] = [:]
        for (i, b) in brands.enumerated() { for d in b.domains { owners[d, default: []].append(i) } }
        self.owners = owners
        allSkeletonsASCII = skeletons.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }
        shortestSubdomainNamingABrand = min(4, domainNeedles.map(\.bytes.count).min() ?? 4)
        needlesAllDotted = domainNeedles.allSatisfy { $0.bytes.contains(0x2E) }
        (needlePool, needleRanges) = Self.pool(domainNeedles.map(\.bytes))
        (namePool, nameRanges) = Self.pool(nameBytes)
        brandCount = brands.count
        var table = BrandList.asciiConfusables
        var fits = table.count == 128 && skeletonPool.count <= Int(UInt16.max)
        for i in brands.indices {
            fits = fits && skeletonLengths[i] <= 255
            table += [skeletonFirst[i], UInt8(truncatingIfNeeded: skeletonLengths[i]),
                      UInt8(truncatingIfNeeded: skeletonStarts[i]), UInt8(truncatingIfNeeded: skeletonStarts[i] >> 8)]
        }
        table += skeletonPool
        lookalikeTable = table
        lookalikeTableUsable = fits
        var sub: [UInt8] = []
        var subFits = true
        for r in needleRanges {
            subFits = subFits && r.count <= 255
            sub += [UInt8(truncatingIfNeeded: r.count), 0, 0, 0]
        }
        for (k, r) in needleRanges.enumerated() where !r.isEmpty {
            sub[4 * k + 1] = needlePool[r.lowerBound]
            sub[4 * k + 2] = needlePool[r.upperBound - 1]
        }
        subdomainRecords = sub
        subdomainRecordsUsable = subFits
    }

    /// What ``BrandList/brandInSubdomain(_:registrableDomain:)`` reads of every brand domain
    /// before it compares bytes, in one array (the ranges are 16 bytes each, some fifteen lines):
    /// a 4-byte record per domain needle: its length, first and last byte. (The same records for
    /// the names in ``BrandList/labelNamingABrand(_:registrableDomain:)`` took fewer instructions
    /// but more time: 31 -> 44 samples in three alternating pairs; not kept.)
    let subdomainRecords: [UInt8]
    /// Whether every needle is at most 255 bytes (the records' lengths are exact).
    let subdomainRecordsUsable: Bool

    /// `brands.count`, beside the other fields (reading it from the array is one more cold line).
    let brandCount: Int
    /// What the ASCII lookalike check of an unhyphenated label reads, in one allocation (a few
    /// adjacent lines instead of five arrays and a global, each a cold line or more a message):
    /// the 128 ASCII confusables (``BrandList/asciiConfusables``), then a 4-byte record per brand
    /// (its skeleton's first byte, length, and start in the pool, little-endian 16 bits), then the
    /// skeletons' pool (``skeletonPool``).
    let lookalikeTable: [UInt8]
    /// Whether ``lookalikeTable`` holds every skeleton (lengths up to 255, a pool of at most 65,535
    /// bytes); otherwise the arrays are read.
    let lookalikeTableUsable: Bool
    static let lookalikeRecords = 128

    /// `domainNeedles`' bytes one after the other, needle `k`'s at `needleRanges[k]`; the same
    /// for `nameBytes` (read in place by ``BrandList/brandInSubdomain(_:registrableDomain:)``).
    let needlePool: [UInt8]
    let needleRanges: [Range<Int>]
    let namePool: [UInt8]
    let nameRanges: [Range<Int>]

    static func pool(_ items: [[UInt8]]) -> ([UInt8], [Range<Int>]) {
        var pool: [UInt8] = []
        var ranges: [Range<Int>] = []
        for b in items {
            ranges.append(pool.count..<(pool.count + b.count))
            pool.append(contentsOf: b)
        }
        return (pool, ranges)
    }
}
