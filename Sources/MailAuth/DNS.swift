/// The DNS as SPF, DKIM and DMARC see it: one question (a name and a record type) at a time,
/// answered with records, "no such record" or "no such name", or an error.
///
/// The daemon's resolver (asynchronous, UDP and TCP, with a cache) implements this;
/// ``StaticResolver`` answers from in-memory zone data for tests. An implementation:
/// - compares names case-insensitively and accepts them with or without a trailing dot;
/// - follows CNAME chains itself and answers with the records of the asked type at the end of
///   the chain (asking for ``DNSRecordType/cname`` returns the CNAME record itself);
/// - returns ``DNSLookupResult/noData`` when the name exists without records of the type and
///   ``DNSLookupResult/nxDomain`` when the name does not exist (RCODE 3);
/// - throws ``DNSError`` for everything else (timeouts, SERVFAIL, REFUSED, malformed answers),
///   which SPF turns into `temperror` and DKIM/DMARC into their temporary failures.
public protocol DNSResolver: Sendable {
    /// The records of `type` at `name`.
    func lookup(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSLookupResult
}

/// A DNS resource record type (the 16-bit TYPE of RFC 1035), with names for the ones mail
/// authentication uses.
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// IPv4 address.
    public static let a = DNSRecordType(rawValue: 1)
    /// Name server.
    public static let ns = DNSRecordType(rawValue: 2)
    /// Alias.
    public static let cname = DNSRecordType(rawValue: 5)
    /// Reverse mapping (address to name).
    public static let ptr = DNSRecordType(rawValue: 12)
    /// Mail exchanger.
    public static let mx = DNSRecordType(rawValue: 15)
    /// Text: SPF policies, DKIM keys, DMARC policies.
    public static let txt = DNSRecordType(rawValue: 16)
    /// IPv6 address.
    public static let aaaa = DNSRecordType(rawValue: 28)

    public var description: String {
        switch rawValue {
        case 1: "A"
        case 2: "NS"
        case 5: "CNAME"
        case 12: "PTR"
        case 15: "MX"
        case 16: "TXT"
        case 28: "AAAA"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The data of a TXT record: one or more character strings of up to 255 bytes each.
///
/// SPF, DKIM and DMARC read the strings joined without separators (``data`` / ``text``); the
/// separate strings are kept for callers that care where the boundaries were.
public struct TXTRecord: Sendable, Hashable, CustomStringConvertible {
    /// The character strings as received (bytes, not necessarily UTF-8).
    public var strings: [[UInt8]]

    /// A record of these character strings.
    public init(strings: [[UInt8]]) { self.strings = strings }

    /// A record of these strings (UTF-8 encoded, one character string each).
    public init(_ strings: [String]) { self.strings = strings.map { Array($0.utf8) } }

    /// A record of one string (UTF-8 encoded), split into character strings of 255 bytes.
    public init(_ text: String) {
        let bytes = Array(text.utf8)
        var parts: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            parts.append(Array(bytes[i..<min(i + 255, bytes.count)]))
            i += 255
        }
        strings = parts.isEmpty ? [[]] : parts
    }

    /// The strings joined without separators (RFC 7208 section 3.3, RFC 6376 section 3.6.2.2).
    public var data: [UInt8] { Array(strings.joined()) }

    /// ``data`` decoded as UTF-8 (invalid sequences become U+FFFD).
    public var text: String { String(decoding: data, as: UTF8.self) }

    public var description: String { text }
}

/// One resource record's data, by type.
public enum DNSRecord: Sendable, Hashable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    /// A mail exchanger; an `exchange` of `""` or `"."` is a null MX (RFC 7505).
    case mx(preference: UInt16, exchange: String)
    case txt(TXTRecord)
    case ptr(String)
    case cname(String)

    /// The record's type.
    public var type: DNSRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .mx: .mx
        case .txt: .txt
        case .ptr: .ptr
        case .cname: .cname
        }
    }
}

/// The answer to one DNS question.
public enum DNSLookupResult: Sendable, Hashable {
    /// The name has records of the type asked for (never empty).
    case answer([DNSRecord])
    /// The name exists, but has no records of this type (RCODE 0 with no answers).
    case noData
    /// The name does not exist (RCODE 3, "Name Error").
    case nxDomain

    /// The records of an answer; empty for ``noData`` and ``nxDomain``.
    public var records: [DNSRecord] {
        if case .answer(let r) = self { return r }
        return []
    }

    /// True for ``noData``, ``nxDomain`` and an empty answer: what RFC 7208 calls a "void lookup".
    public var isVoid: Bool { records.isEmpty }

    /// The TXT records of the answer.
    public var txtRecords: [TXTRecord] {
        records.compactMap { if case .txt(let t) = $0 { t } else { nil } }
    }

    /// The A and AAAA addresses of the answer.
    public var addresses: [IPAddress] {
        records.compactMap {
            switch $0 {
            case .a(let a): .v4(a)
            case .aaaa(let a): .v6(a)
            default: nil
            }
        }
    }

    /// The MX records of the answer, in the order received.
    public var mailExchangers: [(preference: UInt16, exchange: String)] {
        records.compactMap { if case .mx(let p, let e) = $0 { (p, e) } else { nil } }
    }

    /// The names of the PTR records of the answer.
    public var pointerNames: [String] {
        records.compactMap { if case .ptr(let n) = $0 { n } else { nil } }
    }
}

/// A DNS lookup that did not produce an answer.
public struct DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case timeout, serverFailure, refused, formatError, notImplemented, malformedResponse,
                network, invalidName, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No answer in time.
        public static let timeout = Code(.timeout)
        /// SERVFAIL (RCODE 2), also for CNAME loops and DNSSEC validation failures.
        public static let serverFailure = Code(.serverFailure)
        /// REFUSED (RCODE 5).
        public static let refused = Code(.refused)
        /// FORMERR (RCODE 1).
        public static let formatError = Code(.formatError)
        /// NOTIMP (RCODE 4).
        public static let notImplemented = Code(.notImplemented)
        /// The answer could not be parsed or did not match the question.
        public static let malformedResponse = Code(.malformedResponse)
        /// The name server could not be reached.
        public static let network = Code(.network)
        /// The name cannot be asked for (empty label, label over 63 bytes, name over 253 bytes).
        public static let invalidName = Code(.invalidName)
        /// Any other RCODE or failure.
        public static let other = Code(.other)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The name asked for.
    public var name: String
    /// The type asked for.
    public var type: DNSRecordType
    /// A short, human-readable context, never a payload.
    public var detail: String

    public init(code: Code, name: String, type: DNSRecordType, detail: String = "") {
        self.code = code
        self.name = name
        self.type = type
        self.detail = detail
    }

    public var description: String {
        "DNSError.\(code): \(type) \(name)" + (detail.isEmpty ? "" : " (\(detail))")
    }
}

/// Helpers for domain names as plain strings.
public enum DNSName {
    /// The name lower-cased (ASCII letters only, as DNS compares them) without a trailing dot.
    public static func normalized(_ name: String) -> String {
        var u = Array(name.utf8)
        if u.last == UInt8(ascii: ".") { u.removeLast() }
        for i in u.indices where u[i] >= UInt8(ascii: "A") && u[i] <= UInt8(ascii: "Z") { u[i] += 32 }
        return String(decoding: u, as: UTF8.self)
    }

    /// Whether two names are the same name (case-insensitive, trailing dot ignored).
    public static func equal(_ a: String, _ b: String) -> Bool { normalized(a) == normalized(b) }

    /// Whether `name` is `domain` or one of its subdomains (case-insensitive, trailing dots
    /// ignored).
    public static func isSubdomain(_ name: String, of domain: String) -> Bool {
        let n = normalized(name)
        let d = normalized(domain)
        return n == d || n.hasSuffix("." + d)
    }

    /// Whether a query can be composed for `name`: not empty, labels of 1…63 bytes, at most 253
    /// bytes without the trailing dot.
    public static func isQueryable(_ name: String) -> Bool {
        var u = Array(name.utf8)
        if u.last == UInt8(ascii: ".") { u.removeLast() }
        guard !u.isEmpty, u.count <= 253 else { return false }
        var label = 0
        for c in u {
            if c == UInt8(ascii: ".") {
                if label == 0 { return false }
                label = 0
            } else {
                label += 1
                if label > 63 { return false }
            }
        }
        return label > 0
    }
}
