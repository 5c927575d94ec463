/// Finds URLs and e-mail addresses in plain text, in one pass over the UTF-8 bytes.
public enum URLExtractor {
    /// Bytes kept of one URL; the rest of a longer one is skipped.
    public static let maxURLBytes = 8_192
    /// How far a URL in angle brackets (`<http://…>`, RFC 3986 appendix C) may extend, line breaks included.
    static let maxBracketedBytes = 2_048

    /// URLs in `text`: `http://`, `https://` and `ftp://` (any case, `\` accepted for `/`) and bare
    /// `www.` host names (returned as `http://www.…`). A URL ends at whitespace, a control character,
    /// `<`, `>`, `"`, `'` or a backtick; trailing `.,;:!?*` are not part of it, nor are closing
    /// brackets `)]}` that have no opening partner inside the URL. A URL inside `<…>` (or `<URL:…>`)
    /// runs to the `>` and may be broken over lines, whose whitespace is removed.
    /// Deduplicated, in order of first appearance, at most `limit`.
    public static func urls(in text: String, limit: Int = 1_000) -> [String] {
        guard limit > 0 else { return [] }
        var text = text
        return text.withUTF8 { p in
            var found = URLDeduplicator()
            var i = 0
            while i < p.count && found.count < limit {
                guard let (range, next, isWWW, bracketed) = nextURL(p, from: i) else { break }
                i = next
                found.insert(urlString(p, range, isWWW: isWWW, bracketed: bracketed))
            }
            return found.items
        }
    }

    /// The URL found at `p[range]` as a string: whitespace removed (a bracketed URL may be broken
    /// over lines), `http://` before a bare `www.` host. Built in place, without a byte array.
    static func urlString(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, isWWW: Bool, bracketed: Bool) -> String {
        // An unbracketed URL has no whitespace: its bytes as they are.
        if !isWWW && !bracketed { return String(decoding: UnsafeBufferPointer(rebasing: p[range]), as: UTF8.self) }
        let prefix: StaticString = "http://"
        let extra = isWWW ? prefix.utf8CodeUnitCount : 0
        return String(unsafeUninitializedCapacity: range.count + extra) { out in
            var o = 0
            if isWWW {
                prefix.withUTF8Buffer { for b in $0 { out[o] = b; o += 1 } }
            }
            for k in range {
                let b = p[k]
                if !HTMLBytes.isSpace(b) {
                    out[o] = b
                    o += 1
                }
            }
            return o
        }
    }

    /// The next URL at or after `start`: its bytes (whitespace inside must still be removed when
    /// it was bracketed), where to continue, whether it is a bare `www.` host, and whether it was
    /// bracketed.
    ///
    /// Looks for the rare bytes every URL has — the `:` of `scheme:` and the `.` of `www.` — eight
    /// bytes at a time, and only then at what surrounds them.
    static func nextURL(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> (Range<Int>, Int, Bool, Bool)? {
        let n = p.count
        var k = start
        while k < n {
            k = firstColonOrDot(p, from: k)
            guard k < n else { return nil }
            var candidate = -1
            if p[k] == 0x3A {
                if k + 1 < n && (p[k + 1] == 0x2F || p[k + 1] == 0x5C) {
                    if k - 5 >= start && HTMLBytes.equalsLower(p, k - 5, "https") {
                        candidate = k - 5
                    } else if k - 4 >= start && HTMLBytes.equalsLower(p, k - 4, "http") {
                        candidate = k - 4
                    } else if k - 3 >= start && HTMLBytes.equalsLower(p, k - 3, "ftp") {
                        candidate = k - 3
                    }
                }
            } else if k - 3 >= start && p[k - 1] | 0x20 == 0x77 && p[k - 2] | 0x20 == 0x77 && p[k - 3] | 0x20 == 0x77 {
                candidate = k - 3  // "www." (any case), tested inline: most dots end sentences
            }
            if candidate >= 0 {
                let (found, resume) = url(p, at: candidate)
                if let found { return found }
                k = max(resume, k + 1)
            } else {
                k += 1
            }
        }
        return nil
    }

    /// Index of the first ':' or '.' at or after `start`, or `p.count`.
    @inline(__always) static func firstColonOrDot(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var k = start
        let n = p.count
        #if _endian(little)
            if let base = UnsafeRawPointer(p.baseAddress) {
                let ones: UInt64 = 0x0101_0101_0101_0101
                let highs: UInt64 = 0x8080_8080_8080_8080
                while k &+ 8 <= n {
                    let w = base.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                    let c = w ^ (0x3A &* ones)
                    let d = w ^ (0x2E &* ones)
                    let z = ((c &- ones) & ~c | (d &- ones) & ~d) & highs
                    if z != 0 { return k &+ (z.trailingZeroBitCount &>> 3) }
                    k &+= 8
                }
            }
        #endif
        while k < n && p[k] != 0x3A && p[k] != 0x2E { k &+= 1 }
        return k
    }

    /// The URL whose scheme (or "www") starts at `p[i]`, if there is one there; otherwise where
    /// looking for the next one may resume.
    static func url(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> ((Range<Int>, Int, Bool, Bool)?, Int) {
        let n = p.count
        let previous: UInt8 = i > 0 ? p[i - 1] : 0x20
        guard !HTMLBytes.isAlnum(previous) else { return (nil, i + 1) }
        var hostStart = -1
        let isWWW = (p[i] | 0x20) == 0x77
        if isWWW {
            if previous != 0x2E && previous != 0x2D && previous != 0x40 && previous != 0x2F && previous != 0x5F
                && HTMLBytes.equalsLower(p, i, "www.") && i + 4 < n && isHostByte(p[i + 4])
            {
                hostStart = i + 4
            }
        } else {
            var k = i
            if HTMLBytes.equalsLower(p, i, "https:") {
                k = i + 6
            } else if HTMLBytes.equalsLower(p, i, "http:") {
                k = i + 5
            } else if HTMLBytes.equalsLower(p, i, "ftp:") {
                k = i + 4
            }
            if k > i {
                var slashes = 0
                while k < n && slashes < 3 && (p[k] == 0x2F || p[k] == 0x5C) {
                    k += 1
                    slashes += 1
                }
                if slashes >= 2 && k < n && (isHostByte(p[k]) || p[k] == 0x5B) { hostStart = k }
            }
        }
        guard hostStart >= 0 else { return (nil, i + 1) }
        // Bracketed: "<http://…>" or "<URL:http://…>".
        if previous == 0x3C || (i >= 5 && HTMLBytes.equalsLower(p, i - 5, "<url:")) {
            if let close = bracketEnd(p, from: hostStart), !isWWW || looksLikeWWWHost(p, i..<close) {
                return ((i..<capped(p, i, close, isWWW), close + 1, isWWW, true), close + 1)
            }
        }
        var end = hostStart
        // Unbalanced closing brackets: ")" "]" "}" without a partner, per kind.
        var excess: (Int, Int, Int) = (0, 0, 0)
        while end < n {
            let c = p[end]
            if c <= 0x20 || c == 0x7F || c == 0x3C || c == 0x3E || c == 0x22 || c == 0x27 || c == 0x60 { break }
            // No-break and ideographic spaces end a URL too.
            if c == 0xC2 && end + 1 < n && p[end + 1] == 0xA0 { break }
            if c == 0xE3 && end + 2 < n && p[end + 1] == 0x80 && p[end + 2] == 0x80 { break }
            switch c {
            case 0x28: excess.0 -= 1
            case 0x29: excess.0 += 1
            case 0x5B: excess.1 -= 1
            case 0x5D: excess.1 += 1
            case 0x7B: excess.2 -= 1
            case 0x7D: excess.2 += 1
            default: break
            }
            end += 1
        }
        let scanned = end
        // Trailing punctuation, and closing brackets without a partner.
        while end > hostStart {
            let c = p[end - 1]
            if c == 0x29 {
                guard excess.0 > 0 else { break }
                excess.0 -= 1
            } else if c == 0x5D {
                guard excess.1 > 0 else { break }
                excess.1 -= 1
            } else if c == 0x7D {
                guard excess.2 > 0 else { break }
                excess.2 -= 1
            } else if !(c == 0x2E || c == 0x2C || c == 0x3B || c == 0x3A || c == 0x21 || c == 0x3F || c == 0x2A) {
                break
            }
            end -= 1
        }
        // The host byte at hostStart can't be stripped, so end > hostStart here.
        if isWWW && !looksLikeWWWHost(p, i..<end) { return (nil, scanned) }
        // Continue after what was taken; stripped punctuation can't start a URL.
        return ((i..<capped(p, i, end, isWWW), end, isWWW, false), end)
    }

    /// `end`, or less so that the URL (with "http://" for a `www.` one) fits ``maxURLBytes``,
    /// without splitting a UTF-8 sequence.
    static func capped(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ isWWW: Bool) -> Int {
        let limit = start + maxURLBytes - (isWWW ? 7 : 0)
        guard end > limit else { return end }
        var e = limit
        while e > start && p[e] & 0xC0 == 0x80 { e -= 1 }
        return e
    }

    @inline(__always) static func isHostByte(_ c: UInt8) -> Bool { HTMLBytes.isAlnum(c) || c >= 0x80 }

    /// Index of the `>` closing a bracketed URL that starts at `start`, if it comes soon and
    /// nothing that can't be in a URL (`<`, `"`, a blank line) comes first.
    static func bracketEnd(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let limit = min(p.count, start + maxBracketedBytes)
        var k = start
        var newlines = 0
        while k < limit {
            let c = p[k]
            if c == 0x3E { return k }
            if c == 0x3C || c == 0x22 { return nil }
            if c == 0x0A {
                newlines += 1
                if newlines > 1 { return nil }
            } else if !HTMLBytes.isSpace(c) {
                newlines = 0
            }
            k += 1
        }
        return nil
    }

    /// "www.x.y": a dot after the first label that follows "www.", then a label character.
    static func looksLikeWWWHost(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        var k = r.lowerBound + 4
        var sawLabel = false
        while k < r.upperBound {
            let c = p[k]
            if c == 0x2E {
                return sawLabel && k + 1 < r.upperBound && isHostByte(p[k + 1])
            }
            guard isHostByte(c) || c == 0x2D else { return false }
            sawLabel = true
            k += 1
        }
        return false
    }

    // MARK: E-mail addresses

    /// Bytes allowed unquoted in a local part (RFC 5322 atext, plus '.').
    @inline(__always) static func isAtext(_ c: UInt8) -> Bool {
        if HTMLBytes.isAlnum(c) { return true }
        switch c {
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B,
            0x7C, 0x7D, 0x7E:
            return true
        default:
            return false
        }
    }

    /// E-mail addresses (`local@domain.tld`) in `text`: a dot-atom local part of at most 64 bytes and
    /// a domain of at least two labels ending in an alphabetic top-level label; the domain is
    /// lower-cased. Deduplicated, in order of first appearance, at most `limit`.
    public static func emailAddresses(in text: String, limit: Int = 1_000) -> [String] {
        guard limit > 0 else { return [] }
        var text = text
        return text.withUTF8 { p in
            let n = p.count
            var found = URLDeduplicator()
            var floor = 0  // bytes before this were used by the previous address
            var i = 0
            while i < n && found.count < limit {
                i = HTMLBytes.firstIndex(of: 0x40, in: p, from: i, to: n)
                guard i < n else { break }
                let at = i
                i += 1
                // Local part: atext leftwards, at most 65 bytes looked at.
                var lo = at
                while lo > floor && at - lo <= 64 && isAtext(p[lo - 1]) { lo -= 1 }
                if at - lo > 64 { continue }
                // Leading punctuation (quotes, brackets) is not part of the address.
                while lo < at && !HTMLBytes.isAlnum(p[lo]) && p[lo] != 0x5F { lo += 1 }
                guard lo < at, p[at - 1] != 0x2E else { continue }
                // Domain: letters, digits, '-', '.' rightwards, at most 255 bytes.
                var hi = at + 1
                while hi < n && hi - at <= 255 && (HTMLBytes.isAlnum(p[hi]) || p[hi] == 0x2D || p[hi] == 0x2E) {
                    hi += 1
                }
                var domainEnd = hi
                while domainEnd > at + 1 && (p[domainEnd - 1] == 0x2E || p[domainEnd - 1] == 0x2D) { domainEnd -= 1 }
                guard isLocalPart(p, lo..<at), isDomain(p, (at + 1)..<domainEnd) else { continue }
                var bytes = Array(p[lo..<at])
                bytes.append(0x40)
                for k in (at + 1)..<domainEnd { bytes.append(HTMLBytes.lower(p[k])) }
                found.insert(String(decoding: bytes, as: UTF8.self))
                floor = domainEnd
                i = domainEnd
            }
            return found.items
        }
    }

    static func isLocalPart(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        guard !r.isEmpty, p[r.lowerBound] != 0x2E, p[r.upperBound - 1] != 0x2E else { return false }
        for k in r.dropFirst() where p[k] == 0x2E && p[k - 1] == 0x2E { return false }
        return true
    }

    /// At least two non-empty labels of letters, digits and inner hyphens; the last one alphabetic
    /// (two letters or more) or a punycode `xn--` label.
    static func isDomain(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        guard !r.isEmpty else { return false }
        var labels = 0
        var labelStart = r.lowerBound
        var k = r.lowerBound
        while k <= r.upperBound {
            if k == r.upperBound || p[k] == 0x2E {
                let label = labelStart..<k
                guard !label.isEmpty, label.count <= 63, p[label.lowerBound] != 0x2D, p[k - 1] != 0x2D else {
                    return false
                }
                labels += 1
                if k == r.upperBound {
                    let alphabetic = label.count >= 2 && label.allSatisfy { HTMLBytes.isAlpha(p[$0]) }
                    let punycode = label.count > 4 && HTMLBytes.equalsLower(p, label.lowerBound, "xn--")
                    return labels >= 2 && (alphabetic || punycode)
                }
                labelStart = k + 1
            }
            k += 1
        }
        return false
    }

    // MARK: Link text

    /// Top-level domains (besides two-letter country codes) that make a bare word like
    /// `paypal.com` read as a domain name.
    static let displayTLDs: Set<String> = [
        "com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "io", "app", "dev", "xyz", "top", "online",
        "site", "club", "shop", "store", "live", "link", "click", "email", "tech", "website", "space", "fun",
        "icu", "buzz", "work", "pro", "mobi", "name", "asia", "tel", "travel", "cloud", "page", "blog", "news",
        "today", "life", "world", "bank", "money", "finance", "support", "services", "help", "security", "app",
        "secure", "login", "account", "verify", "one", "vip", "win", "bid", "loan", "date", "review", "stream",
        "download", "racing", "party", "trade", "science", "men", "cam", "rest", "bar", "cfd", "sbs", "lol",
    ]

    /// The host a reader would take the text of a link to point to: that of the first URL in it,
    /// or, when the whole text is one word that looks like a domain name (`paypal.com`,
    /// `secure.paypal.com/login`), that domain. Lower-cased; nil when the text shows no host.
    static func displayedHost(in text: String) -> String? {
        var text = text
        return text.withUTF8 { displayedHost(bytes: $0) }
    }

    /// ``displayedHost(in:)`` on the UTF-8 bytes of the text.
    static func displayedHost(bytes b: UnsafeBufferPointer<UInt8>) -> String? {
        // Every host name shown has a dot; an IPv6 literal has brackets.
        guard b.contains(where: { $0 == 0x2E || $0 == 0x5B }) else { return nil }
        if let (range, _, isWWW, bracketed) = nextURL(b, from: 0) {
            // The first URL of the text, as ``urls(in:limit:)`` returns it.
            var first = urlString(b, range, isWWW: isWWW, bracketed: bracketed)
            // A host ending in a one-letter or numeric label is a broken-up name, not a domain.
            guard let url = first.withUTF8({ ParsedURL.parse(bytes: $0) }), !url.host.isEmpty else { return nil }
            if url.isIPAddress { return url.host }
            var host = url.host
            let alphabeticTLD = host.withUTF8 { h in
                // The last non-empty label.
                var end = h.count
                while end > 0 && h[end - 1] == 0x2E { end -= 1 }
                var start = end
                while start > 0 && h[start - 1] != 0x2E { start -= 1 }
                let tld = h[start..<end]
                return tld.count >= 2 && tld.allSatisfy({ HTMLBytes.isAlpha($0) || $0 >= 0x80 || $0 == 0x2D })
            }
            return alphabeticTLD ? url.host : nil
        }
        var lo = 0
        var hi = b.count
        // Surrounding whitespace and punctuation ("(paypal.com)", "paypal.com.").
        while lo < hi
            && (HTMLBytes.isSpace(b[lo]) || b[lo] == 0x28 || b[lo] == 0x3C || b[lo] == 0x5B || b[lo] == 0x22
                || b[lo] == 0x27)
        {
            lo += 1
        }
        while hi > lo {
            let c = b[hi - 1]
            guard
                HTMLBytes.isSpace(c) || c == 0x29 || c == 0x3E || c == 0x5D || c == 0x2E || c == 0x2C || c == 0x3B
                    || c == 0x3A || c == 0x21 || c == 0x3F || c == 0x22 || c == 0x27
            else { break }
            hi -= 1
        }
        guard lo < hi, hi - lo <= 512, !b[lo..<hi].contains(where: HTMLBytes.isSpace) else { return nil }
        // The host part: up to a '/', '?', '#' or ':'.
        var hostEnd = lo
        while hostEnd < hi && b[hostEnd] != 0x2F && b[hostEnd] != 0x3F && b[hostEnd] != 0x23 && b[hostEnd] != 0x3A {
            hostEnd += 1
        }
        // Labels: at least two, none empty, of letters, digits, '-' and non-ASCII bytes.
        var dots = 0
        var lastDot = -1
        for k in lo..<hostEnd {
            let c = b[k]
            if c == 0x2E {
                guard k > lo && b[k - 1] != 0x2E else { return nil }
                dots += 1
                lastDot = k
            } else if !(HTMLBytes.isAlnum(c) || c == 0x2D || c >= 0x80) {
                return nil
            }
        }
        guard dots >= 1, lastDot + 1 < hostEnd else { return nil }
        let tld = (lastDot + 1)..<hostEnd
        let isCountryCode = tld.count == 2 && HTMLBytes.isAlpha(b[tld.lowerBound]) && HTMLBytes.isAlpha(b[lastDot + 2])
        if !isCountryCode {
            guard let key = HTMLPackedName.pack(b, tld, fold: true), displayTLDTable.lookup(key) != nil else { return nil }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: b[lo..<hostEnd]).lazy.map(HTMLBytes.lower), as: UTF8.self)
    }

    /// ``displayTLDs`` as packed names, for the byte path.
    static let displayTLDTable = HTMLKeywordTable<Bool>(Set(displayTLDs).map { ($0, true) })
}
