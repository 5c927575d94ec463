/// One campaign as JSON: the one shape that `GET /v1/campaigns` and `spamward campaigns --json`
/// both print (docs/campaigns.md, "JSON shapes").
public struct CampaignSummary: Sendable, Hashable, Codable {
    /// A value (a domain) and how many of the campaign's messages carried it.
    public struct Count: Sendable, Hashable, Codable {
        public var value: String
        public var count: Int
        public init(value: String, count: Int) {
            self.value = value
            self.count = count
        }
    }

    /// `c` + hex, in order of creation.
    public var id: String
    public var messages: Int
    /// Seconds since 1970 (the messages' `Date` or the scan time).
    public var firstSeen: Int64
    public var lastSeen: Int64
    /// The same as ISO 8601 UTC (`2026-11-29T20:15:00Z`).
    public var firstSeenUTC: String
    public var lastSeenUTC: String
    /// Distinct sending addresses (exact while `ipsExact`, else a HyperLogLog estimate).
    public var ips: Int
    public var ipsExact: Bool
    /// Distinct sending /24s (/48s for IPv6).
    public var subnets24: Int
    /// The most frequent sender and link domains, most frequent first.
    public var senderDomains: [Count]
    public var urlDomains: [Count]
    /// The first few distinct subjects.
    public var subjects: [String]
    /// Verdicts the scans reached (spam, unsure, ham).
    public var verdicts: VerdictMix
    /// True labels learned (daemon) or given by the corpus (command line) for its messages.
    public var labels: LabelMix
    /// Whether it counts as a spam campaign.
    public var isSpam: Bool

    public init(_ c: Campaign) {
        id = c.hexID
        messages = c.messages
        firstSeen = c.firstSeen
        lastSeen = c.lastSeen
        firstSeenUTC = UTCTime.iso8601(c.firstSeen)
        lastSeenUTC = UTCTime.iso8601(c.lastSeen)
        ips = c.ips.count
        ipsExact = c.ips.isExact
        subnets24 = c.subnets.count
        senderDomains = c.senderDomains.top.map { Count(value: $0.key, count: $0.count) }
        urlDomains = c.urlDomains.top.map { Count(value: $0.key, count: $0.count) }
        subjects = c.subjects
        verdicts = c.verdicts
        labels = c.labels
        isSpam = c.isSpam
    }
}

/// Seconds since 1970 as ISO 8601 UTC text, without Foundation.
public enum UTCTime {
    public static func iso8601(_ t: Int64) -> String {
        let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
        let secs = t - days * 86_400
        // Civil from days (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
    }
}
