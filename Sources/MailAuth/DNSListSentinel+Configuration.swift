extension DNSListSentinel {
    /// Parses a sentinel entry of the configuration: `DOMAIN=IP[,IP…][:REASON]`, e.g.
    /// `spamhaus.org=127.255.255.254,127.255.255.255:Spamhaus refused the query`.
    ///
    /// `DOMAIN=` with no address is allowed: it says "no sentinels for this domain" and, merged
    /// with ``merged(defaults:with:)``, removes the defaults of that domain. The reason is
    /// optional (`DOMAIN: query refused (configured sentinel)` when left out).
    public init(parsing text: String) throws(DNSListSentinelSyntaxError) {
        let entry = String(text.trimmingASCIIWhitespace)
        guard let eq = entry.firstIndex(of: "=") else { throw DNSListSentinelSyntaxError(.missingReplies, in: text) }
        let domain = String(entry[..<eq])
        guard Self.isListDomain(domain) else { throw DNSListSentinelSyntaxError(.badDomain, in: text) }
        var rest = entry[entry.index(after: eq)...]
        var reason: String?
        if let colon = rest.firstIndex(of: ":") {
            let r = String(String(rest[rest.index(after: colon)...]).trimmingASCIIWhitespace)
            guard !r.isEmpty, r.utf8.count <= 200, !r.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw DNSListSentinelSyntaxError(.badReason, in: text)
            }
            reason = r
            rest = rest[..<colon]
        }
        var replies: Set<IPv4Address> = []
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) {
            let p = String(part).trimmingASCIIWhitespace
            if p.isEmpty && rest.allSatisfy({ $0 == " " }) { continue }
            guard let a = IPv4Address(p), a.value >> 24 == 127 else { throw DNSListSentinelSyntaxError(.badReply, in: text) }
            replies.insert(a)
        }
        guard replies.count <= 256 else { throw DNSListSentinelSyntaxError(.badReply, in: text) }
        self.init(domain: domain, replies: replies, reason: reason ?? "\(DNSName.normalized(domain)): query refused (configured sentinel)")
    }

    /// A list's domain: labels of letters, digits, `-` and `_` (1 to 63 bytes), at most 253
    /// bytes, a trailing dot allowed.
    static func isListDomain(_ name: String) -> Bool {
        var n = Substring(name)
        if n.hasSuffix(".") { n = n.dropLast() }
        guard !n.isEmpty, n.utf8.count <= 253 else { return false }
        return n.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.utf8.allSatisfy { b in
                    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                        || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
                }
        }
    }

    /// The entry in configuration syntax (replies in ascending order).
    public var configurationText: String {
        "\(domain)=\(replies.sorted().map(\.description).joined(separator: ",")):\(reason)"
    }

    /// The sentinels in effect: `defaults` (when `keepDefaults`), except those whose domain an
    /// entry of `configured` names exactly (the configured entries replace them), then the
    /// configured entries that have replies (an entry with none only removes).
    public static func merged(
        defaults: [DNSListSentinel] = DNSListSentinel.defaults, keepDefaults: Bool = true, with configured: [DNSListSentinel]
    ) -> [DNSListSentinel] {
        let replaced = Set(configured.map(\.domain))
        let kept = keepDefaults ? defaults.filter { !replaced.contains($0.domain) } : []
        return kept + configured.filter { !$0.replies.isEmpty }
    }
}

/// A sentinel entry of the configuration that does not parse.
public struct DNSListSentinelSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case badDomain, missingReplies, badReply, badReason }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The domain is not a queryable name.
        public static let badDomain = Code(.badDomain)
        /// No `=` before the replies.
        public static let missingReplies = Code(.missingReplies)
        /// A reply is not an IPv4 address in 127.0.0.0/8 (or there are more than 256).
        public static let badReply = Code(.badReply)
        /// The reason after `:` is empty, too long (over 200 bytes) or not one printable line.
        public static let badReason = Code(.badReason)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The entry as configured (configuration text, not message data).
    public var entry: String

    init(_ code: Code, in entry: String) {
        self.code = code
        self.entry = entry
    }

    /// What is wrong, for `spamward config check`.
    public var explanation: String {
        switch code {
        case .badDomain: "the domain is not a DNS name"
        case .missingReplies: "expected DOMAIN=IP[,IP...][:REASON]"
        case .badReply: "each reply must be an IPv4 address in 127.0.0.0/8 (at most 256)"
        default: "the reason after ':' must be one printable line of 1 to 200 characters"
        }
    }

    public var description: String { "DNSListSentinelSyntaxError.\(code): \(entry)" }
}
