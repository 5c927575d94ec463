import Hummingbird
import SpamwardCore

/// `POST /v1/check`'s reply.
struct CheckResponse: ResponseEncodable {
    var verdict: Verdict
    /// What the configured policy does with it: accept, tag, quarantine, reject, discard.
    var disposition: ActionPolicy.Disposition
    /// The header fields a filter adds to the message.
    var headers: [HeaderDTO]
}

struct HeaderDTO: Codable {
    var name: String
    var value: String
}

/// `POST /v1/learn` and `/v1/forget`'s reply.
struct LearnResponse: ResponseEncodable {
    var outcome: LearnOutcome
    var digest: String?
}

/// `GET /v1/stats`'s reply.
struct StatsResponse: ResponseEncodable {
    var learnedSpam: Int
    var learnedHam: Int
    var modelBytes: Int
    var modelUpdatedAt: Int64?
    var tokenizerVersion: Int
    var featureBits: Int
    var thresholds: Thresholds
}

struct HealthResponse: ResponseEncodable {
    var status: String
}

// MARK: Rspamd

/// Rspamd's `/checkv2` reply, in the shape rspamc, Exim and Haraka read.
/// The front ends write it straight from the verdict (`SpamwardAPI.rspamdCheckJSON`); this DTO
/// (`Encodable`) stays as the reference that writer is tested
/// against.
struct RspamdCheckResponse: Encodable {
    struct SymbolDTO: Codable {
        var name: String
        var score: Double
        var metric_score: Double
        var description: String
        var options: [String]?
    }
    struct HeaderValue: Codable {
        var value: String
        var order: Int
    }
    struct Milter: Codable {
        var add_headers: [String: HeaderValue]
        var remove_headers: [String: Int]
    }
    var is_skipped: Bool
    var score: Double
    var required_score: Double
    var action: String
    var thresholds: [String: Double]
    var symbols: [String: SymbolDTO]
    var messages: [String: String]
    var milter: Milter
    var message_id: String?
    var time_real: Double
    var scan_time: Double

    enum CodingKeys: String, CodingKey {
        case is_skipped, score, required_score, action, thresholds, symbols, messages, milter, time_real, scan_time
        case message_id = "message-id"
    }
}

struct RspamdLearnResponse: ResponseEncodable {
    var success: Bool
    var outcome: LearnOutcome
}

struct RspamdStatResponse: ResponseEncodable {
    var scanned: Int
    var learned: Int
    var spam_count: Int
    var ham_count: Int
    var version: String
}
