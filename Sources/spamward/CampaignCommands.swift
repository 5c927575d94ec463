import ArgumentParser
import Foundation
import MailAuth
import MailMessage
import SpamwardCore

/// The online clustering of a labelled corpus, in index order, as `campaigns` and `botnet` run it.
struct CorpusCampaignRun {
    var tracker: CampaignTracker
    var trustedRelays: Set<IPAddress>
    var messages: Int
    var clustered: Int
    var withSender: Int
    var seconds: Double

    static func run(corpus: TRECCorpus, configuration: CampaignTracker.Configuration, progress: Bool) throws -> CorpusCampaignRun {
        let messages = try corpus.load(progress: progress)
        let clock = ContinuousClock()
        let t0 = clock.now
        // Pass 1: the corpus's own relays (its collectors' mail servers), from the Received chains.
        var chains: [[IPAddress]] = []
        chains.reserveCapacity(messages.count)
        var bar = ProgressBar(total: progress ? messages.count : 0, label: "relays")
        for (i, bytes) in messages.enumerated() {
            chains.append(SendingAddress.receivedChain(MessageParser.parse(bytes)))
            bar.update(i + 1)
        }
        bar.finish()
        let trusted = SendingAddress.inferTrustedRelays(chains)
        // Pass 2: fingerprint and cluster each message with its true label.
        let fingerprinter = Fingerprinter()
        var tracker = CampaignTracker(configuration: configuration)
        var clustered = 0, withSender = 0
        var time: Int64 = 0
        bar = ProgressBar(total: progress ? messages.count : 0, label: "campaigns")
        for (i, bytes) in messages.enumerated() {
            let m = MessageParser.parse(bytes)
            if let d = m.headers["Date"].flatMap(MessageDate.parse) { time = d }
            let sender = SendingAddress.fromReceived(m) { trusted.contains($0) }
            if sender != nil { withSender += 1 }
            let o = CampaignObservation(
                fingerprint: fingerprinter.fingerprint(m), sender: sender, senderDomain: m.from.first?.domain,
                subject: m.subject, verdict: nil, label: corpus.entries[i].label, time: time)
            if tracker.observe(o) != nil { clustered += 1 }
            bar.update(i + 1)
        }
        bar.finish()
        return CorpusCampaignRun(tracker: tracker, trustedRelays: trusted, messages: messages.count, clustered: clustered,
                                 withSender: withSender, seconds: (clock.now - t0).seconds)
    }
}

/// Purity and size figures of a clustering by true label.
struct CampaignStatistics: Codable {
    var messages: Int
    var clustered: Int
    var campaigns: Int
    var campaignsWithTwoOrMore: Int
    var messagesInCampaignsWithTwoOrMore: Int
    var impureCampaigns: Int
    var messagesInImpureCampaigns: Int
    /// Share of campaigns with ≥ 2 messages whose messages all have one label, in percent.
    var purityPercent: Double
    /// Spam campaigns (≥ 2 messages, spam majority) that contain ham.
    var spamCampaignsWithHam: Int
    var spamCampaigns: Int
    var hamCampaigns: Int
    /// Size bucket ("1", "2", "3-4", …) → campaigns.
    var sizeDistribution: [String: Int]
    var evicted: Int

    init(_ run: CorpusCampaignRun) {
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

    static let buckets = ["1", "2", "3-4", "5-9", "10-19", "20-49", "50+"]
    static func bucket(_ n: Int) -> String {
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
}

func isoDate(_ t: Int64) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm"
    return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
}

func cell(_ s: String, _ width: Int) -> String {
    let clean = String(s.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    if clean.count > width { return String(clean.prefix(width - 1)) + "…" }
    return clean + String(repeating: " ", count: width - clean.count)
}

/// Options both corpus commands take.
struct CampaignOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Corpus folder with an `index` file (TREC layout), clustered in index order.", valueName: "DIR"))
    var corpus: String
    @Option(help: "Estimated Jaccard similarity at which a message joins a campaign.")
    var joinThreshold: Double = CampaignTracker.Configuration().joinThreshold
    @Option(help: "Campaigns kept at most (least recently seen dropped first).")
    var maxCampaigns: Int = CampaignTracker.Configuration().maxCampaigns

    func validate() throws {
        guard joinThreshold > 0, joinThreshold <= 1 else { throw ValidationError("--join-threshold must be in (0, 1]") }
        guard maxCampaigns > 0 else { throw ValidationError("--max-campaigns must be positive") }
    }

    func run() throws -> CorpusCampaignRun {
        var config = CampaignTracker.Configuration()
        config.joinThreshold = joinThreshold
        config.maxCampaigns = maxCampaigns
        config.maxIdleSeconds = nil  // a corpus spans months; only the count bound applies
        return try CorpusCampaignRun.run(corpus: try TRECCorpus(root: corpus), configuration: config, progress: isatty(2) == 1)
    }
}

extension Spamward {
    struct Campaigns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cluster a labelled corpus into campaigns (near-identical messages) and show them.",
            discussion: """
                Messages are fingerprinted (MinHash of normalized word shingles) and clustered online
                in index order: each joins the campaign of its most similar earlier message at or above
                --join-threshold, else starts one. The sending address of each message is the first
                public address in its Received fields below the corpus's own relays (inferred: the
                addresses that received a large share of the corpus). Purity is by the corpus labels:
                a campaign of two or more messages is impure when it mixes spam and ham.
                See docs/campaigns.md.
                """)

        @OptionGroup var options: CampaignOptions
        @Option(help: "Campaigns listed (largest first).")
        var limit: Int = 20
        @Flag(help: "Print JSON: statistics and the listed campaigns.")
        var json = false

        func run() async throws {
            do {
                let r = try options.run()
                let stats = CampaignStatistics(r)
                let top = r.tracker.largest(max(0, limit))
                if json {
                    struct Out: Encodable {
                        var corpus: String
                        var statistics: CampaignStatistics
                        var trustedRelays: [String]
                        var seconds: Double
                        var campaigns: [CampaignSummary]
                    }
                    try printJSON(Out(corpus: options.corpus, statistics: stats, trustedRelays: r.trustedRelays.map(\.description).sorted(),
                                      seconds: r.seconds, campaigns: top.map(CampaignSummary.init)))
                    return
                }
                let header: [String] = [cell("id", 7), cell("msgs", 5), cell("spam/ham", 9), cell("IPs", 4), cell("/24s", 4),
                                        cell("first", 16), cell("last", 16), cell("top URL domain", 22), "subject"]
                print(header.joined(separator: " "))
                for c in top {
                    let mix: String = "\(c.labels.spam)/\(c.labels.ham)"
                    let domain: String = c.urlDomains.top.first?.key ?? "-"
                    let row: [String] = [cell(c.hexID, 7), cell(String(c.messages), 5), cell(mix, 9), cell(String(c.ips.count), 4),
                                         cell(String(c.subnets.count), 4), cell(isoDate(c.firstSeen), 16), cell(isoDate(c.lastSeen), 16),
                                         cell(domain, 22), cell(c.subjects.first ?? "", 40)]
                    print(row.joined(separator: " "))
                }
                print("")
                print("messages         \(stats.messages) (\(stats.clustered) with a text fingerprint, \(r.withSender) with a sending address), \(String(format: "%.2f", r.seconds)) s")
                print("trusted relays   \(r.trustedRelays.map(\.description).sorted().joined(separator: " "))")
                print("campaigns        \(stats.campaigns), of which \(stats.campaignsWithTwoOrMore) with 2+ messages (\(stats.messagesInCampaignsWithTwoOrMore) messages): \(stats.spamCampaigns) spam, \(stats.hamCampaigns) ham")
                print("sizes            " + CampaignStatistics.buckets.map { "\($0): \(stats.sizeDistribution[$0] ?? 0)" }.joined(separator: ", "))
                print("purity           \(String(format: "%.2f", stats.purityPercent))% of campaigns with 2+ messages have one label (\(stats.impureCampaigns) mixed, \(stats.messagesInImpureCampaigns) messages; \(stats.spamCampaignsWithHam) spam campaigns contain ham)")
                if stats.evicted > 0 { print("evicted          \(stats.evicted) campaigns (--max-campaigns)") }
            } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            }
        }
    }

    struct Botnet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score sending addresses by the campaigns they carry and list the botnet footprint.",
            discussion: """
                Clusters the corpus as `spamward campaigns` does, then scores each sending address:
                campaign-weight × spam campaigns + spread-weight × log2(1 + largest /24 spread of those
                campaigns) + burst-weight if bursty. Addresses at or above --list-threshold that sent no
                ham are listed. --zone writes the list as an rbldnsd ip4set zone. See docs/campaigns.md.
                """)

        @OptionGroup var options: CampaignOptions
        @Option(help: ArgumentHelp("Write the listed addresses as an rbldnsd ip4set zone.", valueName: "FILE"))
        var zone: String?
        @Option(help: "Score at or above which an address is listed.")
        var listThreshold: Double = BotnetPolicy.default.listThreshold
        @Option(help: "Weight of each spam campaign an address carried.")
        var campaignWeight: Double = BotnetPolicy.default.campaignWeight
        @Option(help: "Weight of log2(1 + /24 spread) of its campaigns.")
        var spreadWeight: Double = BotnetPolicy.default.spreadWeight
        @Option(help: "Weight of burstiness.")
        var burstWeight: Double = BotnetPolicy.default.burstWeight
        @Option(help: "Addresses shown (listed first, by score).")
        var limit: Int = 30
        @Flag(help: "Print JSON: the evidence of the shown addresses.")
        var json = false

        func run() async throws {
            do {
                let r = try options.run()
                var policy = BotnetPolicy()
                policy.listThreshold = listThreshold
                policy.campaignWeight = campaignWeight
                policy.spreadWeight = spreadWeight
                policy.burstWeight = burstWeight
                let evidence = BotnetScorer.evaluateAll(r.tracker, policy: policy)
                let list = BotnetList(evidence: evidence)
                if let zone {
                    do {
                        try list.ip4setZone(generatedAt: nowSeconds()).write(toFile: zone, atomically: true, encoding: .utf8)
                    } catch {
                        throw CLIError("\(zone): cannot write: \(error.localizedDescription)", code: .ioError)
                    }
                }
                let shown = Array(evidence.prefix(max(0, limit)))
                if json {
                    struct Out: Encodable {
                        var corpus: String
                        // The envelope of `GET /v1/botnet` (tracked, listed, policy, evidence) plus the corpus.
                        var tracked: Int
                        var listed: Int
                        var policy: BotnetPolicy
                        var evidence: [BotnetEvidence]
                    }
                    try printJSON(Out(corpus: options.corpus, tracked: evidence.count, listed: list.count, policy: policy, evidence: shown))
                    return
                }
                let header: [String] = [cell("address", 16), cell("listed", 10), cell("score", 5), cell("msgs", 5), cell("camp", 4),
                                        cell("spam", 4), cell("/24s", 4), cell("burst", 5), "campaigns"]
                print(header.joined(separator: " "))
                for e in shown {
                    let score: String = String(format: "%.2f", e.score)
                    let row: [String] = [cell(e.address, 16), cell(e.code ?? "-", 10), cell(score, 5), cell(String(e.messages), 5),
                                         cell(String(e.campaigns), 4), cell(String(e.spamCampaigns), 4), cell(String(e.maxCampaignSubnets), 4),
                                         cell(e.bursty ? "yes" : "no", 5), e.campaignIDs.joined(separator: " ")]
                    print(row.joined(separator: " "))
                }
                print("")
                print("senders          \(evidence.count) addresses (\(r.withSender) of \(r.messages) messages had one)")
                print("listed           \(list.count) at score ≥ \(listThreshold)" + (zone.map { ", zone written to \($0)" } ?? ""))
            } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            }
        }
    }
}
