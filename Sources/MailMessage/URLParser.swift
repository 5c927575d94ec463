/// An absolute URL taken apart (RFC 3986 syntax, with the WHATWG URL Standard's browser leniency).
///
/// ``parse(_:)`` accepts what a browser would follow when it's clicked in a mail: `\` as `/`,
/// missing or extra slashes after `http:`, surrounding whitespace and embedded tabs or newlines,
/// and IPv4 hosts in decimal, hex or octal. It normalizes the scheme and host to lower case, the
/// IPv4 host to dotted decimal and an IPv6 host to its RFC 5952 text form.
public struct ParsedURL: Sendable, Hashable {
    /// The fields, in one copy-on-write box: parsed URLs are kept in arrays and passed around
    /// (the rules, the feature extractor and the fingerprint read the same ones), and a copy is
    /// then one retain instead of one per string.
    final class Fields: @unchecked Sendable {
        // Mutated only while uniquely referenced (copy on write), so sharing is safe.
        var scheme: String
        var userinfo: String?
        var host: String
        var port: Int?
        var path: String
        var query: String?
        var fragment: String?
        var ipv4: UInt32?
        var ipv6: [UInt16]?
        var isObfuscatedIPv4: Bool

        init(scheme: String, userinfo: String?, host: String, port: Int?, path: String, query: String?, fragment: String?,
             ipv4: UInt32?, ipv6: [UInt16]?, isObfuscatedIPv4: Bool) {
            self.scheme = scheme
            self.userinfo = userinfo
            self.host = host
            self.port = port
            self.path = path
            self.query = query
            self.fragment = fragment
            self.ipv4 = ipv4
            self.ipv6 = ipv6
            self.isObfuscatedIPv4 = isObfuscatedIPv4
        }

        func copy() -> Fields {
            Fields(scheme: scheme, userinfo: userinfo, host: host, port: port, path: path, query: query, fragment: fragment,
                   ipv4: ipv4, ipv6: ipv6, isObfuscatedIPv4: isObfuscatedIPv4)
        }
    }

    private var fields: Fields

    /// The box, copied first when it is shared (before a field is set).
    private var unique: Fields {
        mutating get {
            if !isKnownUniquelyReferenced(&fields) { fields = fields.copy() }
            return fields
        }
    }

    /// Lower-cased scheme, without the `:`.
    public var scheme: String {
        get { fields.scheme }
        set { unique.scheme = newValue }
    }
    /// What comes before the last `@` of the authority (`user:password`), as written. A URL such as
    /// `http://paypal.com@evil.example/` shows one domain and goes to another; nil when absent or empty.
    public var userinfo: String? {
        get { fields.userinfo }
        set { unique.userinfo = newValue }
    }
    /// Lower-cased, percent-decoded host name; dotted decimal for IPv4; `[…]` for IPv6;
    /// empty for URLs without an authority (`mailto:`, `data:`).
    public var host: String {
        get { fields.host }
        set { unique.host = newValue }
    }
    /// Explicit port, nil when absent or the scheme's default.
    public var port: Int? {
        get { fields.port }
        set { unique.port = newValue }
    }
    /// Path with `\` as `/` and dot segments removed (for hierarchical URLs); `/` when empty for
    /// http, https, ftp, ws, wss and file. For opaque URLs (`mailto:x@y`), everything after the scheme.
    public var path: String {
        get { fields.path }
        set { unique.path = newValue }
    }
    /// Query without the `?`; nil when there is no `?`.
    public var query: String? {
        get { fields.query }
        set { unique.query = newValue }
    }
    /// Fragment without the `#`; nil when there is no `#`.
    public var fragment: String? {
        get { fields.fragment }
        set { unique.fragment = newValue }
    }
    /// The host as an IPv4 address, when it is one (`0xC0A80101` and `3232235777` included).
    public var ipv4: UInt32? {
        get { fields.ipv4 }
        set { unique.ipv4 = newValue }
    }
    /// The host as eight 16-bit pieces, when it is an IPv6 literal.
    public var ipv6: [UInt16]? {
        get { fields.ipv6 }
        set { unique.ipv6 = newValue }
    }
    /// The IPv4 host was written other than as four decimal numbers (hex, octal, fewer parts) —
    /// an obfuscation browsers accept and people don't read.
    public var isObfuscatedIPv4: Bool {
        get { fields.isObfuscatedIPv4 }
        set { unique.isObfuscatedIPv4 = newValue }
    }

    public init(scheme: String, host: String, path: String) {
        fields = Fields(scheme: scheme, userinfo: nil, host: host, port: nil, path: path, query: nil, fragment: nil,
                        ipv4: nil, ipv6: nil, isObfuscatedIPv4: false)
    }

    public static func == (a: ParsedURL, b: ParsedURL) -> Bool {
        if a.fields === b.fields { return true }
        let x = a.fields, y = b.fields
        return x.scheme == y.scheme && x.userinfo == y.userinfo && x.host == y.host && x.port == y.port
            && x.path == y.path && x.query == y.query && x.fragment == y.fragment && x.ipv4 == y.ipv4
            && x.ipv6 == y.ipv6 && x.isObfuscatedIPv4 == y.isObfuscatedIPv4
    }

    public func hash(into hasher: inout Hasher) {
        let x = fields
        hasher.combine(x.scheme)
        hasher.combine(x.userinfo)
        hasher.combine(x.host)
        hasher.combine(x.port)
        hasher.combine(x.path)
        hasher.combine(x.query)
        hasher.combine(x.fragment)
        hasher.combine(x.ipv4)
        hasher.combine(x.ipv6)
        hasher.combine(x.isObfuscatedIPv4)
    }

    /// Schemes with an authority, `\`-as-`/` and a default port, per the URL Standard.
    static func defaultPort(_ scheme: String) -> Int?? {
        switch scheme {
        case "http", "ws": return .some(80)
        case "https", "wss": return .some(443)
        case "ftp": return .some(21)
        case "file": return .some(nil)
        default: return nil
        }
    }

    /// The host is an IP address literal.
    public var isIPAddress: Bool { fields.ipv4 != nil || fields.ipv6 != nil }

    /// Whether ``userinfo`` is present (without copying it).
    public var hasUserinfo: Bool { fields.userinfo != nil }

    /// A guess at the registrable domain ("site") of the host without the Public Suffix List:
    /// the last two labels, or the last three when the top-level domain is a two-letter country code
    /// and the second-level label is a common registry label (`co.uk`, `com.au`, `ac.jp`…).
    /// IP addresses are returned whole.
    public var registrableDomainGuess: String {
        isIPAddress ? host : Self.registrableDomainGuess(forHost: host)
    }

    static let commonSecondLevelLabels: Set<Substring> = [
        "ac", "co", "com", "edu", "gob", "gov", "go", "gv", "ltd", "mil", "ne", "net", "nic", "nom", "or", "org",
        "plc", "sch", "info", "biz", "in", "lg", "ad", "ed", "gr", "res",
    ]

    /// ``commonSecondLevelLabels`` as packed names, for the byte path.
    static let commonSecondLevelTable = HTMLKeywordTable<Bool>(commonSecondLevelLabels.map { (String($0), true) })

    /// ``registrableDomainGuess`` for a host name given as text (lower-cased by the caller or not).
    public static func registrableDomainGuess(forHost host: String) -> String {
        var host = host
        if let guess = host.withUTF8({ asciiRegistrableDomainGuess($0) }) { return guess }
        return unicodeRegistrableDomainGuess(forHost: host)
    }

    /// ``registrableDomainGuess(forHost:)`` of an ASCII host, on its bytes (one string built, for
    /// the result); nil when `b` has a byte above 0x7F (Unicode lower-casing may change lengths).
    static func asciiRegistrableDomainGuess(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        var upper = false
        var digitsAndDots = true
        for c in b {
            if c >= 0x80 { return nil }
            if c &- 0x41 < 26 { upper = true }
            if !(HTMLBytes.isDigit(c) || c == 0x2E) { digitsAndDots = false }
        }
        var hi = b.count
        while hi > 0 && b[hi - 1] == 0x2E { hi -= 1 }
        @inline(__always) func result(_ lo: Int) -> String {
            let r = UnsafeBufferPointer(rebasing: b[lo..<hi])
            return upper ? String(decoding: r.lazy.map(HTMLBytes.lower), as: UTF8.self) : String(decoding: r, as: UTF8.self)
        }
        if hi > 0 && b[0] == 0x5B { return result(0) }  // "[…]"
        // The last three dots: the labels are split there (empty labels kept).
        var d1 = -1
        var d2 = -1
        var d3 = -1
        var k = hi - 1
        while k >= 0 {
            if b[k] == 0x2E {
                if d1 < 0 {
                    d1 = k
                } else if d2 < 0 {
                    d2 = k
                } else {
                    d3 = k
                    break
                }
            }
            k -= 1
        }
        guard d2 >= 0 else { return result(0) }  // at most two labels
        if digitsAndDots && b[0] != 0x2E {
            // Every label non-empty and all digits: a dotted number, kept whole.
            var emptyLabel = false
            for j in 1..<hi where b[j] == 0x2E && b[j - 1] == 0x2E {
                emptyLabel = true
                break
            }
            if !emptyLabel { return result(0) }
        }
        let tld = (d1 + 1)..<hi
        let sld = (d2 + 1)..<d1
        var keepThree = false
        if tld.count == 2 && HTMLBytes.isAlpha(b[tld.lowerBound]) && HTMLBytes.isAlpha(b[tld.lowerBound + 1]),
            let key = HTMLPackedName.pack(b, sld, fold: true), commonSecondLevelTable.lookup(key) != nil
        {
            keepThree = true
        }
        return result(keepThree ? d3 + 1 : d2 + 1)
    }

    /// ``registrableDomainGuess(forHost:)`` with Unicode lower-casing, for non-ASCII hosts.
    static func unicodeRegistrableDomainGuess(forHost host: String) -> String {
        var h = host.lowercased()
        while h.hasSuffix(".") { h.removeLast() }
        if h.hasPrefix("[") { return h }
        let labels = h.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count > 2 else { return h }
        if labels.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(HTMLBytes.isDigit) }) { return h }
        let tld = labels[labels.count - 1]
        let sld = labels[labels.count - 2]
        let keep =
            tld.utf8.count == 2 && tld.utf8.allSatisfy(HTMLBytes.isAlpha) && commonSecondLevelLabels.contains(sld)
            ? 3 : 2
        return labels.suffix(keep).joined(separator: ".")
    }

    // MARK: Parsing

    /// Parses an absolute URL; nil when `s` has no scheme or its authority is malformed
    /// (empty or invalid host for a special scheme, bad port, bad IP literal).
    public static func parse(_ s: String) -> ParsedURL? {
        var s = s
        return s.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes raw: UnsafeBufferPointer<UInt8>) -> ParsedURL? {
        // Strip surrounding C0 controls and spaces; drop tabs and newlines anywhere.
        var lo = 0
        var hi = raw.count
        while lo < hi && raw[lo] <= 0x20 { lo += 1 }
        while hi > lo && raw[hi - 1] <= 0x20 { hi -= 1 }
        guard lo < hi else { return nil }
        let trimmed = UnsafeBufferPointer(rebasing: raw[lo..<hi])
        if HTMLBytes.containsTabOrNewline(trimmed, 0..<trimmed.count) {
            let filtered = trimmed.filter { $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
            return filtered.withUnsafeBufferPointer { parseClean($0) }
        }
        return parseClean(trimmed)
    }

    @inline(__always) private static func string(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
    }

    /// `b[r]` as a string with ASCII upper case folded.
    private static func lowercasedString(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        if !b[r].contains(where: { $0 &- 0x41 < 26 }) { return string(b, r) }
        return String(decoding: b[r].lazy.map(HTMLBytes.lower), as: UTF8.self)
    }

    /// Parses trimmed bytes without tabs or newlines.
    private static func parseClean(_ b: UnsafeBufferPointer<UInt8>) -> ParsedURL? {
        // Scheme.
        guard let first = b.first, HTMLBytes.isAlpha(first) else { return nil }
        var i = 1
        while i < b.count {
            let c = b[i]
            if HTMLBytes.isAlnum(c) || c == 0x2B || c == 0x2D || c == 0x2E {
                i += 1
            } else {
                break
            }
        }
        guard i < b.count, b[i] == 0x3A else { return nil }
        // "http" and "https" as literals (no string to build); others lower-cased.
        let scheme: String
        let defaultPort: Int??
        let isFile: Bool
        if i == 4 && HTMLBytes.equalsLower(b, 0, "http") {
            scheme = "http"
            defaultPort = .some(80)
            isFile = false
        } else if i == 5 && HTMLBytes.equalsLower(b, 0, "https") {
            scheme = "https"
            defaultPort = .some(443)
            isFile = false
        } else {
            scheme = lowercasedString(b, 0..<i)
            defaultPort = Self.defaultPort(scheme)
            isFile = scheme == "file"
        }
        i += 1
        let special = defaultPort != nil
        var url = ParsedURL(scheme: scheme, host: "", path: "")

        // Fragment and query split off the end first.
        var end = b.count
        let hash = HTMLBytes.firstIndex(of: 0x23, in: b, from: i, to: end)
        if hash < end {
            url.fragment = string(b, (hash + 1)..<end)
            end = hash
        }
        let q = HTMLBytes.firstIndex(of: 0x3F, in: b, from: i, to: end)
        if q < end {
            url.query = string(b, (q + 1)..<end)
            end = q
        }

        @inline(__always) func isSlash(_ c: UInt8) -> Bool { c == 0x2F || (special && c == 0x5C) }

        var slashes = 0
        while i + slashes < end && isSlash(b[i + slashes]) { slashes += 1 }
        let hasAuthority = special ? (!isFile || slashes >= 2) : slashes >= 2
        if !hasAuthority {
            // Opaque (mailto:, data:) or path-only (file:/x) URL.
            url.path = special ? normalizePath(b, i..<end, special: true) : string(b, i..<end)
            return url
        }
        // Special schemes ignore any number of slashes; others need exactly "//".
        i += special ? slashes : 2
        // One pass over the authority: its end, its last '@', the first ':' after that, and
        // whether the bytes between are those of the usual host (``hostByteClass``).
        var authorityEnd = i
        var lastAt = -1
        var colon = -1
        var hostClasses: UInt8 = 0
        Self.hostByteClass.withUnsafeBufferPointer { classes in
            while authorityEnd < end {
                let c = b[authorityEnd]
                if isSlash(c) { break }
                if c == 0x40 {
                    lastAt = authorityEnd
                    colon = -1
                    hostClasses = 0
                } else if colon < 0 {
                    if c == 0x3A { colon = authorityEnd } else { hostClasses |= classes[Int(c)] }
                }
                authorityEnd += 1
            }
        }

        var hostStart = i
        if lastAt >= 0 {
            if lastAt > i { url.userinfo = string(b, i..<lastAt) }
            hostStart = lastAt + 1
        }
        var hostEnd = authorityEnd
        if hostStart < authorityEnd && b[hostStart] == 0x5B {  // '['
            guard let close = b[hostStart..<authorityEnd].firstIndex(of: 0x5D),
                let pieces = parseIPv6(b, (hostStart + 1)..<close)
            else { return nil }
            url.ipv6 = pieces
            url.host = "[" + formatIPv6(pieces) + "]"
            hostEnd = close + 1
            guard hostEnd == authorityEnd || b[hostEnd] == 0x3A else { return nil }
        } else {
            if colon >= 0 { hostEnd = colon }
            // The usual host (no byte of another class): its bytes lower-cased, unless it ends in a
            // number (an IPv4 form), which the general path reads.
            let usual = hostClasses & 4 == 0
            guard let host = parseHost(b, hostStart..<hostEnd, special: special, usual: usual, upper: hostClasses & 2 != 0, url: &url)
            else { return nil }
            url.host = host
        }
        if hostEnd < authorityEnd {  // ":port"
            let digits = b[(hostEnd + 1)..<authorityEnd]
            var port = 0
            for c in digits {
                guard HTMLBytes.isDigit(c) else { return nil }
                port = port * 10 + Int(c - 0x30)
                if port > 65_535 { return nil }
            }
            if !digits.isEmpty && port != defaultPort.flatMap({ $0 }) { url.port = port }
        }
        if special && url.host.isEmpty && !isFile { return nil }
        url.path = normalizePath(b, authorityEnd..<end, special: special)
        return url
    }

    /// The URL Standard's "ends in a number" check: is the last label (ignoring one trailing dot)
    /// all digits, or 0x and hex digits? Only then is the host parsed as IPv4.
    private static func endsInNumber(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        var end = r.upperBound
        if end > r.lowerBound && b[end - 1] == 0x2E { end -= 1 }
        var start = end
        while start > r.lowerBound && b[start - 1] != 0x2E { start -= 1 }
        guard start < end else { return false }
        if b[start..<end].allSatisfy(HTMLBytes.isDigit) { return true }
        return end - start >= 2 && b[start] == 0x30 && (b[start + 1] | 0x20) == 0x78
            && b[(start + 2)..<end].allSatisfy { HTMLBytes.hexValue($0) != nil }
    }

    /// The class of a host byte, as a bit: 1 for a lower-case ASCII letter, a digit, `-`, `.` or
    /// `_`; 2 for an upper-case ASCII letter; 4 for any other byte.
    static let hostByteClass: [UInt8] = (0..<256).map { v -> UInt8 in
        let c = UInt8(v)
        if c &- 0x61 < 26 || HTMLBytes.isDigit(c) || c == 0x2D || c == 0x2E || c == 0x5F { return 1 }
        return c &- 0x41 < 26 ? 2 : 4
    }

    /// Decodes, lower-cases and checks a host; recognizes IPv4 in all the forms browsers accept.
    /// `usual`: every byte of `b[r]` is an ASCII letter, digit, `-`, `.` or `_` (`upper`: with an
    /// upper-case letter), as the caller found while reading the authority.
    private static func parseHost(
        _ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, special: Bool, usual: Bool, upper: Bool, url: inout ParsedURL
    ) -> String? {
        // The usual host: ASCII letters, digits, '-', '.', '_', and not a number. What the general
        // path below makes of it: the same bytes, lower-cased.
        if special && !r.isEmpty && usual && !endsInNumber(b, r) { return upper ? lowercasedString(b, r) : string(b, r) }
        var h: [UInt8] = []
        h.reserveCapacity(r.count)
        var i = r.lowerBound
        while i < r.upperBound {
            let c = b[i]
            if c == 0x25, i + 2 < r.upperBound, let x = HTMLBytes.hexValue(b[i + 1]),
                let y = HTMLBytes.hexValue(b[i + 2])
            {
                h.append(UInt8(x << 4 | y))
                i += 3
            } else {
                h.append(c)
                i += 1
            }
        }
        guard special else {
            // Opaque host: keep as written, lower-cased.
            return String(decoding: h.map(HTMLBytes.lower), as: UTF8.self)
        }
        var ascii = true
        for k in h.indices {
            let c = h[k]
            if c >= 0x80 {
                ascii = false
                continue
            }
            switch c {
            case 0...0x20, 0x23, 0x25, 0x2F, 0x3A, 0x3C, 0x3E, 0x3F, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x7C, 0x7F:
                return nil
            default:
                h[k] = HTMLBytes.lower(c)
            }
        }
        var host = String(decoding: h, as: UTF8.self)
        if !ascii {
            // Unicode host: lower-case and map the ideographic and full-width dots to '.', as IDNA does;
            // spaces (which IDNA maps to U+0020) and invisible format characters make it invalid.
            var mapped = String.UnicodeScalarView()
            for u in host.lowercased().unicodeScalars {
                if u.properties.isWhitespace || u.properties.generalCategory == .format { return nil }
                mapped.append(u == "\u{3002}" || u == "\u{FF0E}" || u == "\u{FF61}" ? "." : u)
            }
            host = String(mapped)
            h = Array(host.utf8)
            if h.contains(where: { $0 <= 0x20 || $0 == 0x25 || $0 == 0x2F || $0 == 0x3A || $0 == 0x40 }) { return nil }
        }
        switch ipv4(h) {
        case .notIPv4:
            return host
        case .invalid:
            return nil
        case .address(let v):
            let dotted = formatIPv4(v)
            url.ipv4 = v
            url.isObfuscatedIPv4 = !b[r].elementsEqual(dotted.utf8)
            return dotted
        }
    }

    private enum IPv4Result { case notIPv4, invalid, address(UInt32) }

    /// The URL Standard's IPv4 parser: "ends in a number" decides, then 1–4 parts in decimal,
    /// octal (leading 0) or hex (0x), the last part filling the remaining bytes.
    private static func ipv4(_ h: [UInt8]) -> IPv4Result {
        var parts = h.split(separator: 0x2E, omittingEmptySubsequences: false)
        if parts.count > 1, let last = parts.last, last.isEmpty { parts.removeLast() }
        guard let last = parts.last, !last.isEmpty else { return .notIPv4 }
        let lastIsNumber =
            last.allSatisfy(HTMLBytes.isDigit)
            || (last.count >= 2 && last.first == 0x30 && (last[last.startIndex + 1] | 0x20) == 0x78
                && last.dropFirst(2).allSatisfy { HTMLBytes.hexValue($0) != nil })
        guard lastIsNumber else { return .notIPv4 }
        guard parts.count <= 4 else { return .invalid }
        var numbers: [UInt64] = []
        for part in parts {
            guard let v = ipv4Number(part) else { return .invalid }
            numbers.append(v)
        }
        for v in numbers.dropLast() where v > 255 { return .invalid }
        guard let lastValue = numbers.last, lastValue < (UInt64(1) << (8 * UInt64(5 - numbers.count))) else {
            return .invalid
        }
        var value = lastValue
        for (k, v) in numbers.dropLast().enumerated() { value += v << (8 * UInt64(3 - k)) }
        return .address(UInt32(truncatingIfNeeded: value))
    }

    private static func ipv4Number(_ part: ArraySlice<UInt8>) -> UInt64? {
        guard !part.isEmpty else { return nil }
        var digits = part[...]
        var radix: UInt64 = 10
        if digits.count >= 2 && digits.first == 0x30 && (digits[digits.startIndex + 1] | 0x20) == 0x78 {
            digits = digits.dropFirst(2)
            radix = 16
            if digits.isEmpty { return 0 }
        } else if digits.count >= 2 && digits.first == 0x30 {
            digits = digits.dropFirst()
            radix = 8
        }
        var v: UInt64 = 0
        for c in digits {
            guard let d = HTMLBytes.hexValue(c).map(UInt64.init), d < radix else { return nil }
            v = v * radix + d
            if v > 0xFFFF_FFFF { return nil }
        }
        return v
    }

    static func formatIPv4(_ v: UInt32) -> String {
        "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
    }

    /// RFC 4291 text form, with an embedded dotted IPv4 tail allowed.
    static func parseIPv6(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> [UInt16]? {
        var pieces = [UInt16](repeating: 0, count: 8)
        var index = 0
        var compress: Int?
        var i = r.lowerBound
        let end = r.upperBound
        if i < end && b[i] == 0x3A {
            guard i + 1 < end, b[i + 1] == 0x3A else { return nil }
            i += 2
            index = 1
            compress = 1
        }
        while i < end {
            guard index < 8 else { return nil }
            if b[i] == 0x3A {
                guard compress == nil else { return nil }
                i += 1
                index += 1
                compress = index
                continue
            }
            var value: UInt32 = 0
            var length = 0
            while length < 4 && i < end, let d = HTMLBytes.hexValue(b[i]) {
                value = value * 16 + d
                i += 1
                length += 1
            }
            if i < end && b[i] == 0x2E {
                // IPv4 tail.
                guard length > 0, index <= 6 else { return nil }
                i -= length
                var seen = 0
                while i < end {
                    var octet: Int?
                    if seen > 0 {
                        guard b[i] == 0x2E, seen < 4 else { return nil }
                        i += 1
                    }
                    guard i < end, HTMLBytes.isDigit(b[i]) else { return nil }
                    while i < end, HTMLBytes.isDigit(b[i]) {
                        let d = Int(b[i] - 0x30)
                        if let o = octet {
                            guard o != 0 else { return nil }
                            octet = o * 10 + d
                        } else {
                            octet = d
                        }
                        guard let o = octet, o <= 255 else { return nil }
                        i += 1
                    }
                    pieces[index] = pieces[index] << 8 | UInt16(octet ?? 0)
                    seen += 1
                    if seen == 2 || seen == 4 { index += 1 }
                }
                guard seen == 4 else { return nil }
                break
            }
            if i < end && b[i] == 0x3A {
                i += 1
                guard i < end else { return nil }
            } else if i < end {
                return nil
            }
            guard length > 0 else { return nil }
            pieces[index] = UInt16(value)
            index += 1
        }
        if let c = compress {
            var swaps = index - c
            index = 7
            while index != 0 && swaps > 0 {
                pieces.swapAt(index, c + swaps - 1)
                index -= 1
                swaps -= 1
            }
        } else if index != 8 {
            return nil
        }
        return pieces
    }

    /// RFC 5952: lower-case hex, the longest run (of two or more) of zero pieces compressed.
    static func formatIPv6(_ pieces: [UInt16]) -> String {
        var bestStart = -1
        var bestLength = 1
        var k = 0
        while k < 8 {
            if pieces[k] == 0 {
                var e = k
                while e < 8 && pieces[e] == 0 { e += 1 }
                if e - k > bestLength {
                    bestStart = k
                    bestLength = e - k
                }
                k = e
            } else {
                k += 1
            }
        }
        var s = ""
        k = 0
        while k < 8 {
            if k == bestStart {
                s += k == 0 ? "::" : ":"
                k += bestLength
                continue
            }
            s += String(pieces[k], radix: 16)
            if k < 7 { s += ":" }
            k += 1
        }
        return s
    }

    /// Path with `\` as `/` (special schemes) and `.`/`..` segments resolved; `/` when empty (special).
    static func normalizePath(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, special: Bool) -> String {
        guard !r.isEmpty else { return special ? "/" : "" }
        // Most paths need nothing: no backslash, no dot segment, no "%2e".
        @inline(__always) func isSeparator(_ c: UInt8) -> Bool { c == 0x2F || (special && c == 0x5C) }
        @inline(__always) func needsWork(at k: Int) -> Bool {
            let c = b[k]
            if c == 0x5C && special { return true }
            if c == 0x25 { return k + 2 < r.upperBound && b[k + 1] == 0x32 && (b[k + 2] | 0x20) == 0x65 }
            if c == 0x2E && (k == r.lowerBound || isSeparator(b[k - 1])) {
                let next = k + 1
                return next == r.upperBound || isSeparator(b[next])
                    || (b[next] == 0x2E && (next + 1 == r.upperBound || isSeparator(b[next + 1])))
            }
            return false
        }
        // Eight bytes at a time: only words with a `\`, `%` or `.` are looked at byte by byte.
        var needsAny = false
        var k = r.lowerBound
        if let base = UnsafeRawPointer(b.baseAddress), r.upperBound <= b.count {
            let ones: UInt64 = 0x0101_0101_0101_0101
            @inline(__always) func hasZero(_ y: UInt64) -> Bool { (y &- ones) & ~y & 0x8080_8080_8080_8080 != 0 }
            while !needsAny && k + 8 <= r.upperBound {
                let x = base.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                if hasZero(x ^ (0x5C &* ones)) || hasZero(x ^ (0x25 &* ones)) || hasZero(x ^ (0x2E &* ones)) {
                    for j in k..<(k + 8) where needsWork(at: j) {
                        needsAny = true
                        break
                    }
                }
                k += 8
            }
        }
        while !needsAny && k < r.upperBound {
            needsAny = needsWork(at: k)
            k += 1
        }
        guard needsAny else { return string(b, r) }
        return normalizePath(Array(b[r]), special: special)
    }

    /// The general path of ``normalizePath(_:_:special:)`` (the reference of its shortcut).
    static func normalizePath(_ b: [UInt8], special: Bool) -> String {
        var p = b
        if special {
            for k in p.indices where p[k] == 0x5C { p[k] = 0x2F }
        }
        let hasDot = p.contains(0x2E)
        guard hasDot else { return String(decoding: p, as: UTF8.self) }
        // Segments after the leading '/'.
        let absolute = p.first == 0x2F
        let segments = (absolute ? p.dropFirst() : p[...]).split(separator: 0x2F, omittingEmptySubsequences: false)
        var kept: [ArraySlice<UInt8>] = []
        for (k, seg) in segments.enumerated() {
            let isLast = k == segments.count - 1
            if isDotSegment(seg, double: false) {
                if isLast { kept.append([]) }
            } else if isDotSegment(seg, double: true) {
                if !kept.isEmpty { kept.removeLast() }
                if isLast { kept.append([]) }
            } else {
                kept.append(seg)
            }
        }
        var out: [UInt8] = absolute ? [0x2F] : []
        for (k, seg) in kept.enumerated() {
            if k > 0 { out.append(0x2F) }
            out.append(contentsOf: seg)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `.` / `%2e`, or `..` with any mix of `.` and `%2e`.
    private static func isDotSegment(_ s: ArraySlice<UInt8>, double: Bool) -> Bool {
        var dots = 0
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == 0x2E {
                i += 1
            } else if s[i] == 0x25 && s.endIndex - i >= 3 && s[i + 1] == 0x32 && (s[i + 2] | 0x20) == 0x65 {
                i += 3
            } else {
                return false
            }
            dots += 1
        }
        return dots == (double ? 2 : 1)
    }
}

extension ParsedURL: CustomStringConvertible {
    /// The normalized URL.
    public var description: String {
        var s = scheme + ":"
        if !host.isEmpty || userinfo != nil || ParsedURL.defaultPort(scheme) != nil {
            s += "//"
            if let u = userinfo { s += u + "@" }
            s += host
            if let port { s += ":\(port)" }
        }
        s += path
        if let query { s += "?" + query }
        if let fragment { s += "#" + fragment }
        return s
    }
}
