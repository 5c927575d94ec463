/// One entry of a DNS list configuration, in Postfix's `postscreen_dnsbl_sites` syntax
/// (postconf(5)): `domain[=filter][*weight]`.
///
/// - `zen.spamhaus.org` — any A reply counts, weight 1.
/// - `zen.spamhaus.org=127.0.0.[2..11]*3` — only replies matching the filter count, weight 3.
/// - `list.dnswl.org=127.0.[0..255].[1..3]*-2` — an allowlist: a negative weight.
/// - `b.example=127.0.0.[2;4..6;9]` — `;` separates alternatives inside `[…]`.
///
/// The filter is four dot-separated octet patterns, each a number 0…255 or a bracketed list of
/// numbers and `n..m` ranges. The same domain may appear in several entries (one query is made
/// and every entry whose filter matches adds its weight once).
public struct DNSListSite: Sendable, Hashable, CustomStringConvertible {
    /// The list's zone, lower case, without a trailing dot (`zen.spamhaus.org`).
    public var domain: String
    /// Which replies count; nil: any reply.
    public var filter: DNSListReplyFilter?
    /// Added to the score when the list answers with a matching reply (negative for allowlists).
    public var weight: Int

    public init(domain: String, filter: DNSListReplyFilter? = nil, weight: Int = 1) {
        self.domain = DNSName.normalized(domain)
        self.filter = filter
        self.weight = weight
    }

    /// Parses one `domain[=filter][*weight]` entry.
    public init(parsing text: String) throws(DNSListSyntaxError) {
        var rest = Substring(text.trimmingASCIIWhitespace)
        var weight = 1
        if let star = rest.lastIndex(of: "*") {
            let w = rest[rest.index(after: star)...]
            guard let n = Int(w), n > -1_000_000, n < 1_000_000 else { throw DNSListSyntaxError(.badWeight, in: text) }
            weight = n
            rest = rest[..<star]
        }
        var filter: DNSListReplyFilter?
        if let eq = rest.firstIndex(of: "=") {
            filter = try DNSListReplyFilter(parsing: String(rest[rest.index(after: eq)...]), entry: text)
            rest = rest[..<eq]
        }
        guard DNSName.isQueryable(String(rest)) else { throw DNSListSyntaxError(.badDomain, in: text) }
        self.init(domain: String(rest), filter: filter, weight: weight)
    }

    /// Parses a whole `postscreen_dnsbl_sites` value: entries separated by whitespace or commas.
    public static func parseList(_ text: String) throws(DNSListSyntaxError) -> [DNSListSite] {
        var sites: [DNSListSite] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" || $0 == "\r\n" }) {
            sites.append(try DNSListSite(parsing: String(word)))
        }
        return sites
    }

    /// Whether a reply counts for this entry.
    public func matches(_ reply: IPv4Address) -> Bool { filter?.matches(reply) ?? true }

    /// The entry in configuration syntax.
    public var description: String {
        domain + (filter.map { "=\($0)" } ?? "") + (weight == 1 ? "" : "*\(weight)")
    }
}

/// Which A replies of a DNS list count: four octet patterns (`127.0.0.[2..11]`).
public struct DNSListReplyFilter: Sendable, Hashable, CustomStringConvertible {
    /// For each of the four octets, the ranges it may be in.
    public var octets: [[ClosedRange<UInt8>]]

    /// A filter of four octet patterns; nil unless there are four, each non-empty.
    public init?(octets: [[ClosedRange<UInt8>]]) {
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty }) else { return nil }
        self.octets = octets
    }

    /// Parses `d.d.d.d` where each `d` is a number or `[n;n..m;…]`.
    public init(parsing text: String, entry: String? = nil) throws(DNSListSyntaxError) {
        // Split at the dots between octets, not at the ".." of ranges inside brackets.
        var parts: [Substring] = []
        var start = text.startIndex
        var depth = 0
        for i in text.indices {
            switch text[i] {
            case "[": depth += 1
            case "]": depth -= 1
            case "." where depth == 0:
                parts.append(text[start..<i])
                start = text.index(after: i)
            default: break
            }
        }
        parts.append(text[start...])
        guard parts.count == 4, depth == 0 else { throw DNSListSyntaxError(.badFilter, in: entry ?? text) }
        var octets: [[ClosedRange<UInt8>]] = []
        for part in parts {
            var alternatives: [ClosedRange<UInt8>] = []
            var body = part
            if body.hasPrefix("[") {
                guard body.hasSuffix("]"), body.count >= 3 else { throw DNSListSyntaxError(.badFilter, in: entry ?? text) }
                body = body.dropFirst().dropLast()
                for alt in body.split(separator: ";", omittingEmptySubsequences: false) {
                    let bounds = alt.split(separator: "..", maxSplits: 1, omittingEmptySubsequences: false)
                    guard let lo = UInt8(bounds[0]), let hi = bounds.count == 2 ? UInt8(bounds[1]) : lo, lo <= hi else {
                        throw DNSListSyntaxError(.badFilter, in: entry ?? text)
                    }
                    alternatives.append(lo...hi)
                }
            } else {
                guard let n = UInt8(body) else { throw DNSListSyntaxError(.badFilter, in: entry ?? text) }
                alternatives.append(n...n)
            }
            octets.append(alternatives)
        }
        self.octets = octets
    }

    public func matches(_ reply: IPv4Address) -> Bool {
        zip(reply.octets, octets).allSatisfy { octet, ranges in ranges.contains { $0.contains(octet) } }
    }

    public var description: String {
        octets.map { ranges in
            if ranges.count == 1, let r = ranges.first, r.lowerBound == r.upperBound { return "\(r.lowerBound)" }
            return "[" + ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)..\($0.upperBound)" }
                .joined(separator: ";") + "]"
        }.joined(separator: ".")
    }
}

/// A DNS list entry that could not be parsed.
public struct DNSListSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case badDomain, badFilter, badWeight }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The domain is not a queryable name.
        public static let badDomain = Code(.badDomain)
        /// The `=filter` part is not four octet patterns.
        public static let badFilter = Code(.badFilter)
        /// The `*weight` part is not an integer.
        public static let badWeight = Code(.badWeight)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The entry as configured (configuration text, not message data).
    public var entry: String

    init(_ code: Code, in entry: String) {
        self.code = code
        self.entry = entry
    }

    public var description: String { "DNSListSyntaxError.\(code): \(entry)" }
}

extension String {
    var trimmingASCIIWhitespace: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[first...last]
    }
}
