import MailAuth
import MailMessage

/// A URL of a message, normalized as a browser would resolve it, with what the URL checks need.
public struct AnalyzedURL: Sendable, Hashable {
    /// The URL as found in the message.
    public var original: String
    /// `scheme://host[:port]/path[?query]`: lower-case scheme and host, the host in its ASCII
    /// (Punycode) form without trailing dots, the userinfo dropped, IPv4 in dotted decimal, and
    /// percent-encoded unreserved characters decoded (other escapes upper-cased). No fragment.
    public var normalized: String
    /// The host in ASCII form (`xn--` labels), lower-cased, no trailing dot.
    public var host: String
    /// The host with `xn--` labels decoded (what the reader sees).
    public var unicodeHost: String
    /// The registrable domain (Public Suffix List; the host itself for IP addresses).
    public var registrableDomain: String
    /// The userinfo before `@`, when present.
    public var userinfo: String?
    public var isIPAddress: Bool
    /// IPv4 written in hex, octal or as one number.
    public var isObfuscatedIP: Bool
    public var path: String
    public var query: String?
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
    struct HostNames {
        var unicode: String
        var ascii: String
        var registrable: String
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
        let asciiHost = names.ascii, unicodeHost = names.unicode, registrable = names.registrable
        let path = normalizePercent(p.path)
        let query = p.query.map(normalizePercent)
        // scheme://host[:port]path[?query], made as one byte buffer (the parts are valid UTF-8).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(p.scheme.utf8.count + asciiHost.utf8.count + path.utf8.count + (query?.utf8.count ?? 0) + 12)
        bytes.append(contentsOf: p.scheme.utf8)
        bytes.append(contentsOf: [0x3A, 0x2F, 0x2F])
        bytes.append(contentsOf: asciiHost.utf8)
        if let port = p.port {
            bytes.append(0x3A)
            bytes.append(contentsOf: String(port).utf8)
        }
        bytes.append(contentsOf: path.utf8)
        if let query {
            bytes.append(0x3F)
            bytes.append(contentsOf: query.utf8)
        }
        let normalized = String(decoding: bytes, as: UTF8.self)
        return AnalyzedURL(original: raw, normalized: normalized, host: asciiHost, unicodeHost: unicodeHost,
                           registrableDomain: registrable, userinfo: p.userinfo, isIPAddress: p.isIPAddress,
                           isObfuscatedIP: p.isObfuscatedIPv4, path: path, query: query)
    }

    static func hostNames(_ p: ParsedURL, publicSuffixList: PublicSuffixList?) -> HostNames? {
        var host = p.host
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
        let registrable: String
        if p.isIPAddress {
            registrable = asciiHost
        } else if let psl = publicSuffixList {
            registrable = psl.registrableDomain(of: asciiHost) ?? asciiHost
        } else {
            registrable = ParsedURL.registrableDomainGuess(forHost: asciiHost)
        }
        return HostNames(unicode: unicodeHost, ascii: asciiHost, registrable: registrable)
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
        guard s.utf8.contains(0x25) else { return s }
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
