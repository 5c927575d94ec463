import MailAuth
import MailMessage

/// The online clustering of a labelled corpus in its order, as `spamward campaigns`,
/// `spamward botnet` and `scan-bench campaigns` run it: the corpus's own relays are inferred from
/// the Received chains first, then every message is fingerprinted and observed with its true label.
public struct CorpusCampaignRun: Sendable {
    public var tracker: CampaignTracker
    /// The inferred relays (``SendingAddress/inferTrustedRelays(_:minimumShare:)``).
    public var trustedRelays: Set<IPAddress>
    public var messages: Int
    /// Messages with a text signature (clustered into a campaign).
    public var clustered: Int
    /// Messages with a sending address.
    public var withSender: Int

    /// The two passes over the corpus, for progress reports.
    public enum Pass: Sendable { case relays, campaigns }

    /// Clusters `messages` (raw bytes, in corpus order) labelled `labels` (same count).
    /// - Parameter progress: Called after each message of each pass with the messages done so far.
    public static func run(_ messages: [[UInt8]], labels: [Label], configuration: CampaignTracker.Configuration,
                           fingerprinter: Fingerprinter = Fingerprinter(),
                           progress: (Pass, Int) -> Void = { _, _ in }) -> CorpusCampaignRun
    {
        precondition(messages.count == labels.count, "one label per message")
        // Pass 1: the corpus's own relays (its collectors' mail servers), from the Received chains.
        var chains: [[IPAddress]] = []
        chains.reserveCapacity(messages.count)
        for (i, bytes) in messages.enumerated() {
            chains.append(SendingAddress.receivedChain(MessageParser.parse(bytes)))
            progress(.relays, i + 1)
        }
        let trusted = SendingAddress.inferTrustedRelays(chains)
        // Pass 2: fingerprint and cluster each message with its true label.
        var tracker = CampaignTracker(configuration: configuration, fingerprint: fingerprinter.configuration)
        var clustered = 0, withSender = 0
        var time: Int64 = 0
        for (i, bytes) in messages.enumerated() {
            let m = MessageParser.parse(bytes)
            if let d = m.headers["Date"].flatMap(MessageDate.parse) { time = d }
            let sender = SendingAddress.fromReceived(m) { trusted.contains($0) }
            if sender != nil { withSender += 1 }
            let o = CampaignObservation(
                fingerprint: fingerprinter.fingerprint(m), sender: sender, senderDomain: m.from.first?.domain,
                subject: m.subject, verdict: nil, label: labels[i], time: time)
            if tracker.observe(o) != nil { clustered += 1 }
            progress(.campaigns, i + 1)
        }
        return CorpusCampaignRun(tracker: tracker, trustedRelays: trusted, messages: messages.count, clustered: clustered,
                                 withSender: withSender)
    }
}

/// Purity and size figures of a clustering by true label.
public struct CampaignStatistics: Sendable, Hashable, Codable {
    public var messages: Int
    public var clustered: Int
    public var campaigns: Int
    public var campaignsWithTwoOrMore: Int
    public var messagesInCampaignsWithTwoOrMore: Int
    public var impureCampaigns: Int
    public var messagesInImpureCampaigns: Int
    /// Share of campaigns with ≥ 2 messages whose messages all have one label, in percent.
    public var purityPercent: Double
    /// Spam campaigns (≥ 2 messages, spam majority) that contain ham.
    public var spamCampaignsWithHam: Int
    public var spamCampaigns: Int
    public var hamCampaigns: Int
    /// Size bucket (``buckets``: "1", "2", "3-4", …) → campaigns.
    public var sizeDistribution: [String: Int]
    public var evicted: Int

    public init(_ run: CorpusCampaignRun) {
        let all = Array(run.tracker.campaigns.values)
        let multi = all.filter { $0.messages >= 2 }
        messages = run.messages
        clustered = run.clustered
        campaigns = all.count
        campaignsWithTwoOrMore = multi.count
        messagesInCampaignsWithTwoOrMore = multi.reduce(0) { $0 + $1.messages }
        let impure = multi.filter { $0.labels.isMixed }
        impureCampaigns = impure.count
        messagesInImpureCampaigns = impure.reduce(0) { $0 + $1.messages }
        purityPercent = multi.isEmpty ? 100 : 100 * Double(multi.count - impure.count) / Double(multi.count)
        spamCampaigns = multi.filter { $0.labels.spam > $0.labels.ham }.count
        hamCampaigns = multi.count - spamCampaigns
        spamCampaignsWithHam = multi.filter { $0.labels.spam > $0.labels.ham && $0.labels.ham > 0 }.count
        var dist: [String: Int] = [:]
        for c in all { dist[Self.bucket(c.messages), default: 0] += 1 }
        sizeDistribution = dist
        evicted = run.tracker.evicted
    }

    /// The size buckets of ``sizeDistribution``, smallest first.
    public static let buckets = ["1", "2", "3-4", "5-9", "10-19", "20-49", "50+"]
    public static func bucket(_ n: Int) -> String {
        switch n {
        case ...1: "1"
        case 2: "2"
        case 3...4: "3-4"
        case 5...9: "5-9"
        case 10...19: "10-19"
        case 20...49: "20-49"
        default: "50+"
        }
    }

    /// The size distribution in bucket order: `1: 4700, 2: 180, …`.
    public var sizeLine: String { Self.buckets.map { "\($0): \(sizeDistribution[$0] ?? 0)" }.joined(separator: ", ") }
}
