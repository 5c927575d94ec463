import Hummingbird
import SpamwardCore

/// `GET /v1/campaigns`'s reply: the largest campaigns first.
struct CampaignsResponse: ResponseEncodable {
    /// Campaigns tracked in all (the list holds at most `limit` of them).
    var tracked: Int
    var limit: Int
    var campaigns: [CampaignSummary]
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
