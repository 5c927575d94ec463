/// Asks DNS lists (DNSBL, DNSWL, URI/domain lists) about an address or a domain and scores the
/// answers the way Postfix's postscreen does: every configured ``DNSListSite`` whose filter
/// matches one of its list's replies adds its weight once; the sum is compared with a threshold.
///
/// All lists are asked in parallel, one A query per distinct list domain. Generic over
/// ``DNSResolver``, so the SMTP edge (NIO resolver) and the content scanner (any resolver) share
/// it; it does no I/O of its own and logs nothing.
///
/// A reply that is a ``DNSListSentinel`` for its list (for example Spamhaus' 127.255.255.254,
/// "query via public resolver") or is outside 127.0.0.0/8 makes that list's answer void: it does
/// not score and is reported in ``DNSListResult/warnings``. A lookup error (timeout, SERVFAIL)
/// does not score either; it is reported in ``DNSListResult/failures``.
public struct DNSListChecker<Resolver: DNSResolver>: Sendable {
    public var resolver: Resolver
    public var sites: [DNSListSite]
    public var sentinels: [DNSListSentinel]
    /// A score at or above this is "listed" (postscreen_dnsbl_threshold, default 1).
    public var threshold: Int
    /// A score at or below this is "allowlisted" (postscreen_dnsbl_allowlist_threshold, default
    /// 0 in Postfix — a negative total; here -1 so that no list answering at all is not
    /// allowlisting).
    public var allowlistThreshold: Int

    public init(
        resolver: Resolver, sites: [DNSListSite], sentinels: [DNSListSentinel] = DNSListSentinel.defaults,
        threshold: Int = 1, allowlistThreshold: Int = -1
    ) {
        self.resolver = resolver
        self.sites = sites
        self.sentinels = sentinels
        self.threshold = threshold
        self.allowlistThreshold = allowlistThreshold
    }

    /// The query name for `ip` in the list `domain`: reversed octets for IPv4
    /// (`2.0.0.127.zen.spamhaus.org`), reversed nibbles for IPv6 (RFC 5782 section 2.4). IPv4-mapped
    /// IPv6 addresses are asked as IPv4.
    public static func queryName(for ip: IPAddress, in domain: String) -> String {
        switch ip.unmapped {
        case .v4(let a):
            return a.octets.reversed().map { String($0) }.joined(separator: ".") + "." + DNSName.normalized(domain)
        case .v6(let a):
            let hex = Array("0123456789abcdef".utf8)
            var nibbles: [UInt8] = []
            var v = a.value
            for _ in 0..<32 {
                nibbles.append(hex[Int(v & 0xF)])
                nibbles.append(UInt8(ascii: "."))
                v >>= 4
            }
            return String(decoding: nibbles, as: UTF8.self) + DNSName.normalized(domain)
        }
    }

    /// The query name for a domain in a URI/domain list (`example.com.multi.uribl.com`).
    public static func queryName(forDomain name: String, in domain: String) -> String {
        DNSName.normalized(name) + "." + DNSName.normalized(domain)
    }

    /// Asks every list about an IP address (DNSBL / DNSWL).
    public func check(_ ip: IPAddress) async -> DNSListResult {
        await check { Self.queryName(for: ip, in: $0) }
    }

    /// Asks every list about a domain (URI lists such as URIBL, SURBL, Spamhaus DBL).
    public func check(domain: String) async -> DNSListResult {
        await check { Self.queryName(forDomain: domain, in: $0) }
    }

    /// One A lookup as a value (no typed-throws closure inside the task group).
    private static func ask(_ resolver: Resolver, _ name: String) async -> Result<DNSLookupResult, DNSError> {
        do throws(DNSError) {
            return .success(try await resolver.lookup(name, .a))
        } catch {
            return .failure(error)
        }
    }

    private func check(queryName: (String) -> String) async -> DNSListResult {
        var domains: [String] = []
        for s in sites where !domains.contains(s.domain) { domains.append(s.domain) }
        let resolver = self.resolver
        let answers: [String: (String, Result<DNSLookupResult, DNSError>)]
        if domains.count == 1, let d = domains.first {
            // One list (the common case): asked in this task, no task group and child task.
            let name = queryName(d)
            answers = [d: (name, await Self.ask(resolver, name))]
        } else {
            answers = await askAll(domains, queryName: queryName)
        }
        return score(domains, answers)
    }

    /// Asks every list domain in parallel, one child task each.
    private func askAll(_ domains: [String], queryName: (String) -> String) async
        -> [String: (String, Result<DNSLookupResult, DNSError>)]
    {
        let resolver = self.resolver
        return await withTaskGroup(of: (String, String, Result<DNSLookupResult, DNSError>).self) { group in
            for d in domains {
                let name = queryName(d)
                group.addTask { (d, name, await Self.ask(resolver, name)) }
            }
            var all: [String: (String, Result<DNSLookupResult, DNSError>)] = [:]
            for await (d, name, r) in group { all[d] = (name, r) }
            return all
        }
    }

    /// Scores the answers of the list domains.
    private func score(_ domains: [String], _ answers: [String: (String, Result<DNSLookupResult, DNSError>)]) -> DNSListResult {
        var result = DNSListResult(threshold: threshold, allowlistThreshold: allowlistThreshold)
        for d in domains {
            guard let (name, answer) = answers[d] else { continue }
            let replies: [IPv4Address]
            switch answer {
            case .failure(let error):
                result.failures.append(DNSListFailure(domain: d, query: name, error: error))
                continue
            case .success(let r):
                replies = r.records.compactMap { if case .a(let a) = $0 { a } else { nil } }
            }
            if replies.isEmpty { continue }
            if let sentinel = sentinels.first(where: { s in replies.contains { s.matches($0, listDomain: d) } }) {
                result.warnings.append(DNSListWarning(domain: d, query: name, replies: replies, reason: sentinel.reason))
                continue
            }
            if replies.contains(where: { $0.octets[0] != 127 }) {
                result.warnings.append(
                    DNSListWarning(
                        domain: d, query: name, replies: replies,
                        reason: "reply outside 127.0.0.0/8: not a DNS list answer (wildcard or hijacking resolver?)"))
                continue
            }
            for site in sites where site.domain == d {
                let matching = replies.filter(site.matches)
                guard !matching.isEmpty else { continue }
                result.hits.append(DNSListHit(site: site, query: name, replies: matching))
                result.score += site.weight
            }
        }
        return result
    }
}

/// What the DNS lists said about one address or domain.
public struct DNSListResult: Sendable, Hashable {
    /// The sum of the weights of the matching entries.
    public var score = 0
    /// The threshold it was checked against.
    public var threshold: Int
    /// The allowlist threshold it was checked against.
    public var allowlistThreshold: Int
    /// The entries that matched, in configuration order.
    public var hits: [DNSListHit] = []
    /// Lists whose answer was void (a refusal sentinel, or a reply outside 127/8): not scored.
    public var warnings: [DNSListWarning] = []
    /// Lists that could not be asked (timeout, SERVFAIL, …): not scored, not listed.
    public var failures: [DNSListFailure] = []

    public init(threshold: Int, allowlistThreshold: Int) {
        self.threshold = threshold
        self.allowlistThreshold = allowlistThreshold
    }

    /// The score reached the threshold.
    public var isListed: Bool { score >= threshold }
    /// The score is at or below the allowlist threshold.
    public var isAllowlisted: Bool { score <= allowlistThreshold }
    /// Whether a list with this domain matched.
    public func isListed(by domain: String) -> Bool { hits.contains { $0.site.domain == DNSName.normalized(domain) } }
}

/// One matching entry.
public struct DNSListHit: Sendable, Hashable {
    /// The configured entry (its weight was added).
    public var site: DNSListSite
    /// The name asked.
    public var query: String
    /// The replies that matched the entry's filter.
    public var replies: [IPv4Address]
    /// The entry's weight.
    public var weight: Int { site.weight }
}

/// A list whose answer was not used.
public struct DNSListWarning: Sendable, Hashable {
    public var domain: String
    public var query: String
    public var replies: [IPv4Address]
    public var reason: String
}

/// A list that could not be asked.
public struct DNSListFailure: Sendable, Hashable {
    public var domain: String
    public var query: String
    public var error: DNSError
    /// True when the list did not answer in time.
    public var isTimeout: Bool { error.code == .timeout }
}
