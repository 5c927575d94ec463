import ArgumentParser
import Foundation
import MailAuth
import MailMessage
import SpamwardCore

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

    /// The corpus clustered in index order (SpamwardCore's ``CorpusCampaignRun``), with progress
    /// bars, and the seconds it took after loading.
    func run() throws -> (run: CorpusCampaignRun, seconds: Double) {
        var config = CampaignTracker.Configuration()
        config.joinThreshold = joinThreshold
        config.maxCampaigns = maxCampaigns
        config.maxIdleSeconds = nil  // a corpus spans months; only the count bound applies
        let trec = try TRECCorpus(root: corpus)
        let progress = isatty(2) == 1
        let messages = try trec.load(progress: progress)
        let clock = ContinuousClock()
        let t0 = clock.now
        var relays = ProgressBar(total: progress ? messages.count : 0, label: "relays")
        var campaigns = ProgressBar(total: progress ? messages.count : 0, label: "campaigns")
        let r = CorpusCampaignRun.run(messages, labels: trec.entries.map(\.label), configuration: config) { pass, done in
            switch pass {
            case .relays:
                relays.update(done)
                if done == messages.count { relays.finish() }
            case .campaigns:
                campaigns.update(done)
                if done == messages.count { campaigns.finish() }
            }
        }
        return (r, (clock.now - t0).seconds)
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
                let (r, seconds) = try options.run()
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
                                      seconds: seconds, campaigns: top.map(CampaignSummary.init)))
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
                print("messages         \(stats.messages) (\(stats.clustered) with a text fingerprint, \(r.withSender) with a sending address), \(String(format: "%.2f", seconds)) s")
                print("trusted relays   \(r.trustedRelays.map(\.description).sorted().joined(separator: " "))")
                print("campaigns        \(stats.campaigns), of which \(stats.campaignsWithTwoOrMore) with 2+ messages (\(stats.messagesInCampaignsWithTwoOrMore) messages): \(stats.spamCampaigns) spam, \(stats.hamCampaigns) ham")
                print("sizes            " + stats.sizeLine)
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
                let (r, _) = try options.run()
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
