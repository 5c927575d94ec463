import Hummingbird
import SpamwardCore

/// `GET /v1/campaigns`'s reply: the largest campaigns first.
struct CampaignsResponse: ResponseEncodable {
    /// Campaigns tracked in all (the list holds at most `limit` of them).
    var tracked: Int
    var limit: Int
    var campaigns: [CampaignDTO]
}

/// A value and how often it was seen.
struct CountDTO: Codable {
    var value: String
    var count: Int
}

/// One campaign as the API shows it.
struct CampaignDTO: Codable {
    /// `c` + hex, in order of creation.
    var id: String
    var messages: Int
    /// Seconds since 1970, and the same as ISO 8601 (UTC).
    var firstSeen: Int64
    var lastSeen: Int64
    var firstSeenUTC: String
    var lastSeenUTC: String
    /// Distinct sending addresses (exact while `ipsExact`, else a HyperLogLog estimate).
    var ips: Int
    var ipsExact: Bool
    /// Distinct sending /24s (/48s for IPv6).
    var subnets24: Int
    var senderDomains: [CountDTO]
    var urlDomains: [CountDTO]
    /// The first few distinct subjects.
    var subjects: [String]
    /// Verdicts the scans reached (spam, unsure, ham).
    var verdicts: VerdictMix
    /// True labels learned for its messages.
    var labels: LabelMix
    var isSpam: Bool

    init(_ c: Campaign) {
        id = c.hexID
        messages = c.messages
        firstSeen = c.firstSeen
        lastSeen = c.lastSeen
        firstSeenUTC = UTCTime.iso8601(c.firstSeen)
        lastSeenUTC = UTCTime.iso8601(c.lastSeen)
        ips = c.ips.count
        ipsExact = c.ips.isExact
        subnets24 = c.subnets.count
        senderDomains = c.senderDomains.top.map { CountDTO(value: $0.key, count: $0.count) }
        urlDomains = c.urlDomains.top.map { CountDTO(value: $0.key, count: $0.count) }
        subjects = c.subjects
        verdicts = c.verdicts
        labels = c.labels
        isSpam = c.isSpam
    }
}

/// `GET /v1/botnet`'s reply: listed addresses (all tracked ones with `?all=true`), highest score first.
struct BotnetResponse: ResponseEncodable {
    /// Addresses tracked in all.
    var tracked: Int
    /// Addresses listed now.
    var listed: Int
    var policy: BotnetPolicy
    var evidence: [BotnetEvidence]
}

/// Seconds since 1970 as ISO 8601 UTC text, without Foundation.
enum UTCTime {
    static func iso8601(_ t: Int64) -> String {
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
