#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import MailAuth
import MailMessage

/// A URL of a message, normalized as a browser would resolve it, with what the URL checks need.
///
/// A value type whose fields live in one shared, copy-on-write box: the URL checks pass URLs
/// around by value, and a copy is one retain instead of one per string.
public struct AnalyzedURL: Sendable, Hashable {
    final class Fields: @unchecked Sendable {
        // Mutated only while uniquely referenced (copy on write), so sharing is safe.
        var original: String
        /// The normalized form when it was given or set; nil when it is the one composed of the
        /// parts (``composedNormalized``), which is then made only when read.
        var storedNormalized: String?
        /// The parts the normalized form is composed of when it is not stored: the lower-cased
        /// scheme and the explicit port (besides ``host``, ``path`` and ``query``).
        var scheme: String
        var port: Int?
        var host: String
        var unicodeHost: String {
            didSet { unicodeHostIsASCII = unicodeHost.utf8.allSatisfy { $0 < 0x80 } }
        }
        /// Whether ``unicodeHost`` is ASCII (then it mixes no scripts): known from the host names.
        var unicodeHostIsASCII: Bool
        var registrableDomain: String
        var userinfo: String?
        var isIPAddress: Bool
        var isObfuscatedIP: Bool
        var path: String
        var query: String?

        init(original: String, storedNormalized: String?, scheme: String, port: Int?, host: String, unicodeHost: String,
             unicodeHostIsASCII: Bool, registrableDomain: String, userinfo: String?, isIPAddress: Bool, isObfuscatedIP: Bool,
             path: String, query: String?) {
            self.original = original
            self.storedNormalized = storedNormalized
            self.scheme = scheme
            self.port = port
            self.host = host
            self.unicodeHost = unicodeHost
            self.unicodeHostIsASCII = unicodeHostIsASCII
            self.registrableDomain = registrableDomain
            self.userinfo = userinfo
            self.isIPAddress = isIPAddress
            self.isObfuscatedIP = isObfuscatedIP
            self.path = path
            self.query = query
        }

        func copy() -> Fields {
            Fields(original: original, storedNormalized: storedNormalized, scheme: scheme, port: port, host: host,
                   unicodeHost: unicodeHost, unicodeHostIsASCII: unicodeHostIsASCII, registrableDomain: registrableDomain, userinfo: userinfo,
                   isIPAddress: isIPAddress, isObfuscatedIP: isObfuscatedIP, path: path, query: query)
        }

        var normalized: String { storedNormalized ?? composedNormalized }

        /// Calls `body` with the UTF-8 bytes of ``host`` and of ``registrableDomain``.
        func withHostBytes<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> R) -> R {
            // (`withUTF8` of copies: measured cheaper than `utf8.withContiguousStorageIfAvailable`,
            // which is not inlined.)
            var h = host, d = registrableDomain
            return h.withUTF8 { h in d.withUTF8 { d in body(h, d) } }
        }

        /// `scheme://host[:port]path[?query]`, written straight into the string's storage (the
        /// parts are valid UTF-8).
        var composedNormalized: String {
            var scheme = scheme, host = host, path = path, query = query ?? ""
            var portText = port.map { String($0) } ?? ""
            let hasQuery = self.query != nil
            let capacity = scheme.utf8.count + host.utf8.count + path.utf8.count + query.utf8.count + portText.utf8.count + 5
            return String(unsafeUninitializedCapacity: capacity) { out in
                var n = 0
                @inline(__always) func put(_ s: inout String) {
                    s.withUTF8 { b in
                        if let from = b.baseAddress, let to = out.baseAddress { (to + n).initialize(from: from, count: b.count) }
                        n += b.count
                    }
                }
                put(&scheme)
                out[n] = 0x3A
                out[n + 1] = 0x2F
                out[n + 2] = 0x2F
                n += 3
                put(&host)
                if port != nil {
                    out[n] = 0x3A
                    n += 1
                    put(&portText)
                }
                put(&path)
                if hasQuery {
                    out[n] = 0x3F
                    n += 1
                    put(&query)
                }
                return n
            }
        }

        /// The normalized form's last `count` bytes (all of them when it is shorter), without
        /// making the string when it is composed: for patterns decided by how a URL ends.
        func withNormalizedTail<R>(_ count: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            if let s = storedNormalized {
                if let answer = s.utf8.withContiguousStorageIfAvailable({ b in
                    body(UnsafeBufferPointer(rebasing: b[max(0, b.count - count)...]))
                }) {
                    return answer
                }
                var s = s
                return s.withUTF8 { b in body(UnsafeBufferPointer(rebasing: b[max(0, b.count - count)...])) }
            }
            return Self.withComposedTail(count, scheme: scheme, port: port, host: host, path: path, query: query, body)
        }

        /// The last `count` bytes (all of them when it is shorter) of
        /// `scheme://host[:port]path[?query]`, without making the string.
        static func withComposedTail<R>(_ count: Int, scheme: String, port: Int?, host: String, path: String, query: String?,
                                        _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            // Nearly always the last part (the query, else the path) holds the whole tail: read in place.
            let last = query ?? path
            if last.utf8.count >= count,
                let answer = last.utf8.withContiguousStorageIfAvailable({ b in
                    body(UnsafeBufferPointer(rebasing: b[max(0, b.count - count)...]))
                })
            {
                return answer
            }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(count, 1)) { out in
                // Written from the end: the parts from the last (query) to the first (scheme).
                var w = count
                @inline(__always) func put(_ s: inout String) {
                    guard w > 0 else { return }
                    s.withUTF8 { b in
                        let k = min(w, b.count)
                        for j in 0..<k { out[w - k + j] = b[b.count - k + j] }
                        w -= k
                    }
                }
                @inline(__always) func put(_ c: UInt8) {
                    guard w > 0 else { return }
                    w -= 1
                    out[w] = c
                }
                if var q = query {
                    put(&q)
                    put(0x3F)
                }
                var p = path
                put(&p)
                if let port {
                    var digits = String(port)
                    put(&digits)
                    put(0x3A)
                }
                var h = host
                put(&h)
                put(0x2F)
                put(0x2F)
                put(0x3A)
                var sc = scheme
                put(&sc)
                return body(UnsafeBufferPointer(rebasing: out[w..<count]))
            }
        }
    }

    private var fields: Fields

    public init(original: String, normalized: String, host: String, unicodeHost: String, registrableDomain: String,
                userinfo: String?, isIPAddress: Bool, isObfuscatedIP: Bool, path: String, query: String?) {
        fields = Fields(original: original, storedNormalized: normalized, scheme: "", port: nil, host: host,
                        unicodeHost: unicodeHost, unicodeHostIsASCII: unicodeHost.utf8.allSatisfy { $0 < 0x80 },
                        registrableDomain: registrableDomain, userinfo: userinfo,
                        isIPAddress: isIPAddress, isObfuscatedIP: isObfuscatedIP, path: path, query: query)
    }

    /// A URL whose normalized form is `scheme://host[:port]path[?query]` of these parts, made
    /// only when it is read (most URLs are read by host only).
    init(original: String, scheme: String, port: Int?, host: String, unicodeHost: String, unicodeHostIsASCII: Bool,
         registrableDomain: String, userinfo: String?, isIPAddress: Bool, isObfuscatedIP: Bool, path: String, query: String?) {
        fields = Fields(original: original, storedNormalized: nil, scheme: scheme, port: port, host: host,
                        unicodeHost: unicodeHost, unicodeHostIsASCII: unicodeHostIsASCII, registrableDomain: registrableDomain, userinfo: userinfo,
                        isIPAddress: isIPAddress, isObfuscatedIP: isObfuscatedIP, path: path, query: query)
    }

    /// The box, copied first when it is shared (before a field is set).
    private var unique: Fields {
        mutating get {
            if !isKnownUniquelyReferenced(&fields) { fields = fields.copy() }
            return fields
        }
    }

    /// The box, copied first when shared, with the normalized form stored: for setting a part it
    /// is composed of, which does not change a normalized form already given.
    private var uniqueWithNormalized: Fields {
        mutating get {
            let f = unique
            if f.storedNormalized == nil { f.storedNormalized = f.composedNormalized }
            return f
        }
    }

    /// The URL as found in the message.
    public var original: String {
        get { fields.original }
        set { unique.original = newValue }
    }
    /// `scheme://host[:port]/path[?query]`: lower-case scheme and host, the host in its ASCII
    /// (Punycode) form without trailing dots, the userinfo dropped, IPv4 in dotted decimal, and
    /// percent-encoded unreserved characters decoded (other escapes upper-cased). No fragment.
    /// Made each time it is read, unless it was given: read it once per use.
    public var normalized: String {
        get { fields.normalized }
        set { unique.storedNormalized = newValue }
    }

    /// ``normalized``'s last `count` bytes (all when it is shorter), without making the string.
    func withNormalizedTail<R>(_ count: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        fields.withNormalizedTail(count, body)
    }
    /// The host in ASCII form (`xn--` labels), lower-cased, no trailing dot.
    public var host: String {
        get { fields.host }
        set { uniqueWithNormalized.host = newValue }
    }
    /// Calls `body` with the UTF-8 bytes of ``host`` and of ``registrableDomain``, read in place.
    func withHostBytes<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> R) -> R {
        fields.withHostBytes(body)
    }
    /// The host with `xn--` labels decoded (what the reader sees).
    public var unicodeHost: String {
        get { fields.unicodeHost }
        set { unique.unicodeHost = newValue }
    }
    /// Whether ``unicodeHost`` is ASCII.
    var unicodeHostIsASCII: Bool { fields.unicodeHostIsASCII }
    /// The registrable domain (Public Suffix List; the host itself for IP addresses).
    public var registrableDomain: String {
        get { fields.registrableDomain }
        set { unique.registrableDomain = newValue }
    }
    /// The userinfo before `@`, when present.
    public var userinfo: String? {
        get { fields.userinfo }
        set { unique.userinfo = newValue }
    }
    public var isIPAddress: Bool {
        get { fields.isIPAddress }
        set { unique.isIPAddress = newValue }
    }
    /// IPv4 written in hex, octal or as one number.
    public var isObfuscatedIP: Bool {
        get { fields.isObfuscatedIP }
        set { unique.isObfuscatedIP = newValue }
    }
    public var path: String {
        get { fields.path }
        set { uniqueWithNormalized.path = newValue }
    }
    public var query: String? {
        get { fields.query }
        set { uniqueWithNormalized.query = newValue }
    }

    public static func == (a: AnalyzedURL, b: AnalyzedURL) -> Bool {
        if a.fields === b.fields { return true }
        let x = a.fields, y = b.fields
        return x.original == y.original && x.normalized == y.normalized && x.host == y.host
            && x.unicodeHost == y.unicodeHost && x.registrableDomain == y.registrableDomain
            && x.userinfo == y.userinfo && x.isIPAddress == y.isIPAddress && x.isObfuscatedIP == y.isObfuscatedIP
            && x.path == y.path && x.query == y.query
    }

    public func hash(into hasher: inout Hasher) {
        let x = fields
        hasher.combine(x.original)
        hasher.combine(x.normalized)
        hasher.combine(x.host)
        hasher.combine(x.unicodeHost)
        hasher.combine(x.registrableDomain)
        hasher.combine(x.userinfo)
        hasher.combine(x.isIPAddress)
        hasher.combine(x.isObfuscatedIP)
        hasher.combine(x.path)
        hasher.combine(x.query)
    }
}

/// Normalizes URLs (on top of ``ParsedURL``'s browser-like parsing): IDNA, trailing dots, full-width
/// dots, percent-encoding, registrable domains.
public enum URLNormalizer {
    /// Analyzes one URL; nil when it does not parse or has no host (`mailto:`, `data:`).
    public static func analyze(_ raw: String, publicSuffixList: PublicSuffixList? = PublicSuffixList.system) -> AnalyzedURL? {
        var cache: [String: HostNames?] = [:]
        return analyze(raw, publicSuffixList: publicSuffixList, hostCache: &cache)
    }

    /// A host's spellings and registrable domain, computed once per host name and message.
    struct HostNames: Sendable {
        var unicode: String
        var ascii: String
        var registrable: String
        /// `registrable` is the Public Suffix List's answer for `ascii` (not the host itself or a
        /// guess without the list).
        var fromList: Bool
        var isIPAddress: Bool
        /// Whether ``unicode`` is ASCII.
        var unicodeIsASCII: Bool
    }

    /// ``analyze(_:publicSuffixList:)`` with the host names of earlier URLs (of the same message)
    /// remembered in `hostCache`.
    static func analyze(_ raw: String, publicSuffixList: PublicSuffixList?, hostCache: inout [String: HostNames?]) -> AnalyzedURL? {
        guard let p = ParsedURL.parse(raw), !p.host.isEmpty else { return nil }
        let names: HostNames
        if let cached = hostCache[p.host] {
            guard let cached else { return nil }
            names = cached
        } else {
            let computed = hostNames(p, publicSuffixList: publicSuffixList)
            hostCache[p.host] = .some(computed)
            guard let computed else { return nil }
            names = computed
        }
        return analyzed(raw, p, names)
    }

    /// The analysis of `raw`, parsed as `p`, whose host's names are `names` (``hostNames(_:publicSuffixList:)``).
    static func analyzed(_ raw: String, _ p: ParsedURL, _ names: HostNames) -> AnalyzedURL {
        // The normalized form, scheme://host[:port]path[?query], is made from these parts when
        // it is read (a `uri` rule that needs the whole text, or a hit's option).
        AnalyzedURL(original: raw, scheme: p.scheme, port: p.port, host: names.ascii, unicodeHost: names.unicode,
                    unicodeHostIsASCII: names.unicodeIsASCII,
                    registrableDomain: names.registrable, userinfo: p.userinfo, isIPAddress: p.isIPAddress,
                    isObfuscatedIP: p.isObfuscatedIPv4, path: normalizePercent(p.path), query: p.query.map(normalizePercent))
    }

    /// The registrable domain of the ASCII host name `host` (not an IP address), and whether the
    /// list gave it.
    @inline(__always) static func registrable(_ host: String, _ publicSuffixList: PublicSuffixList?) -> (String, Bool) {
        guard publicSuffixList != nil else { return (ParsedURL.registrableDomainGuess(forHost: host), false) }
        // Through the optional: binding the list copies it (a retain of each of its tables).
        if let r = publicSuffixList?.registrableDomain(of: host) { return (r, true) }
        return (host, false)
    }

    static func hostNames(_ p: ParsedURL, publicSuffixList: PublicSuffixList?) -> HostNames? {
        var host = p.host
        if !p.isIPAddress, isPlainASCIIHost(&host) {
            // ASCII without `--` (so no `xn--` label): no full stops to map, and the Unicode and
            // ASCII spellings are the host itself (what Punycode.toUnicode and toASCII return).
            while host.utf8.last == 0x2E { host.removeLast() }
            guard !host.isEmpty else { return nil }
            let (registrable, fromList) = registrable(host, publicSuffixList)
            return HostNames(unicode: host, ascii: host, registrable: registrable, fromList: fromList, isIPAddress: false,
                             unicodeIsASCII: true)
        }
        if !p.isIPAddress {
            // Ideographic and full-width full stops separate labels like '.' (UTS 46).
            if host.utf8.contains(where: { $0 >= 0x80 }) {
                host = String(host.map { $0 == "\u{3002}" || $0 == "\u{FF0E}" || $0 == "\u{FF61}" ? "." : $0 })
            }
            while host.hasSuffix(".") { host.removeLast() }
            guard !host.isEmpty else { return nil }
        }
        let unicodeHost = p.isIPAddress ? host : Punycode.toUnicode(host)
        let asciiHost = p.isIPAddress ? host : (Punycode.toASCII(unicodeHost) ?? host)
        if p.isIPAddress {
            return HostNames(unicode: unicodeHost, ascii: asciiHost, registrable: asciiHost, fromList: false, isIPAddress: true,
                             unicodeIsASCII: unicodeHost.utf8.allSatisfy { $0 < 0x80 })
        }
        let (registrable, fromList) = registrable(asciiHost, publicSuffixList)
        return HostNames(unicode: unicodeHost, ascii: asciiHost, registrable: registrable, fromList: fromList, isIPAddress: false,
                         unicodeIsASCII: unicodeHost.utf8.allSatisfy { $0 < 0x80 })
    }

    /// Whether `host` is ASCII and has no `--` (hence no `xn--` label in any case).
    static func isPlainASCIIHost(_ host: inout String) -> Bool {
        host.withUTF8 { b in
            var previous: UInt8 = 0
            for c in b {
                if c >= 0x80 || (c == 0x2D && previous == 0x2D) { return false }
                previous = c
            }
            return true
        }
    }

    /// Whether contiguous bytes contain `byte`.
    @inline(__always) static func contains(_ s: inout String, _ byte: UInt8) -> Bool {
        s.withUTF8 { b in
            guard let base = b.baseAddress else { return false }
            return memchr(base, Int32(byte), b.count) != nil
        }
    }

    @inline(__always) static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// RFC 3986 section 6.2.2: decode escapes of unreserved characters, upper-case the others.
    static func normalizePercent(_ s: String) -> String {
        var t = s
        guard contains(&t, 0x25) else { return s }
        let b = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == 0x25, i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                let v = h << 4 | l
                let unreserved = (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39)
                    || v == 0x2D || v == 0x2E || v == 0x5F || v == 0x7E
                if unreserved {
                    out.append(v)
                } else {
                    out.append(0x25)
                    out.append(LiteralPrefilter.upper(b[i + 1]))
                    out.append(LiteralPrefilter.upper(b[i + 2]))
                }
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decodes all escapes (for finding URLs inside query strings).
    static func percentDecoded(_ s: Substring) -> String {
        guard s.utf8.contains(0x25) || s.utf8.contains(0x2B) else { return String(s) }
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == 0x25, i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension LiteralPrefilter {
    @inline(__always) static func upper(_ b: UInt8) -> UInt8 { (b &- 97) < 26 ? b & 0xDF : b }
}
