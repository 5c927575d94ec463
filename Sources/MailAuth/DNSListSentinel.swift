/// A reply by which a DNS list says "I will not answer you" rather than "listed": the query came
/// through a public resolver, over quota, or from a blocked network. Such a reply must not score;
/// ``DNSListChecker`` reports it as a warning so the operator can fix the resolver setup.
public struct DNSListSentinel: Sendable, Hashable {
    /// The lists this applies to: the zone and every zone under it (`spamhaus.org` covers
    /// `zen.spamhaus.org`).
    public var domain: String
    /// The replies that mean "refused".
    public var replies: Set<IPv4Address>
    /// Why, for the warning (`"Spamhaus: query via public/open resolver"`).
    public var reason: String

    public init(domain: String, replies: Set<IPv4Address>, reason: String) {
        self.domain = DNSName.normalized(domain)
        self.replies = replies
        self.reason = reason
    }

    /// Whether `reply` from the list `listDomain` is this sentinel.
    public func matches(_ reply: IPv4Address, listDomain: String) -> Bool {
        replies.contains(reply) && DNSName.isSubdomain(listDomain, of: domain)
    }

    /// The documented error replies of the big public lists:
    /// - Spamhaus (`spamhaus.org`, `spamhaus.net`): 127.255.255.252 (typing error in the DNSBL
    ///   name), 127.255.255.254 (query via a public/open resolver), 127.255.255.255 (excessive
    ///   number of queries);
    /// - URIBL (`uribl.com`) and SURBL (`surbl.org`): 127.0.0.1 (query refused / blocked).
    public static let defaults: [DNSListSentinel] = [
        DNSListSentinel(
            domain: "spamhaus.org", replies: [IPv4Address(127, 255, 255, 252)], reason: "Spamhaus: typing error in DNSBL name"),
        DNSListSentinel(
            domain: "spamhaus.org", replies: [IPv4Address(127, 255, 255, 254)],
            reason: "Spamhaus: query via public/open resolver"),
        DNSListSentinel(
            domain: "spamhaus.org", replies: [IPv4Address(127, 255, 255, 255)], reason: "Spamhaus: excessive number of queries"),
        DNSListSentinel(
            domain: "spamhaus.net", replies: [IPv4Address(127, 255, 255, 252), IPv4Address(127, 255, 255, 254), IPv4Address(127, 255, 255, 255)],
            reason: "Spamhaus DQS: query refused"),
        DNSListSentinel(domain: "uribl.com", replies: [IPv4Address(127, 0, 0, 1)], reason: "URIBL: query refused (blocked resolver)"),
        DNSListSentinel(domain: "surbl.org", replies: [IPv4Address(127, 0, 0, 1)], reason: "SURBL: query refused (blocked resolver)"),
    ]
}
