import MailAuth
import MailMessage
import Synchronization

/// The daemon's shared fuzzy index, campaign tracker and botnet scoring, behind one short lock.
///
/// Fingerprinting runs outside the lock; the lock covers only the index lookups and bookkeeping
/// (bounded work per message). Learning persists fingerprints through a ``FuzzyStore``.
public final class CampaignMonitor: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        public var fingerprint = FingerprintConfiguration.default
        public var fuzzy = FuzzyIndex.Configuration()
        public var campaigns = CampaignTracker.Configuration()
        public var botnet = BotnetPolicy.default
        /// Score of `BOTNET_FOOTPRINT` when the sending address is listed.
        public var botnetScore: Double = 2.0
        /// Also add learned ham to the fuzzy index (`FUZZY_HAM`).
        public var learnHam = true
        public init() {}
    }

    struct State: Sendable {
        var fuzzy: FuzzyIndex
        var tracker: CampaignTracker
    }

    public let configuration: Configuration
    public let fingerprinter: Fingerprinter
    private let state: Mutex<State>
    private let store: any FuzzyStore
    /// Relays whose addresses are skipped when the sending address is read from Received fields.
    public let trustedRelays: Set<IPAddress>

    public init(configuration: Configuration = Configuration(), store: any FuzzyStore = InMemoryFuzzyStore(),
                publicSuffixList: PublicSuffixList? = PublicSuffixList.system, trustedRelays: Set<IPAddress> = []) {
        self.configuration = configuration
        self.fingerprinter = Fingerprinter(configuration: configuration.fingerprint, publicSuffixList: publicSuffixList)
        self.state = Mutex(State(
            fuzzy: FuzzyIndex(configuration: configuration.fuzzy, fingerprint: configuration.fingerprint),
            tracker: CampaignTracker(configuration: configuration.campaigns, fingerprint: configuration.fingerprint)))
        self.store = store
        self.trustedRelays = trustedRelays
    }

    /// Loads the learned fingerprints from the store (call once at startup).
    public func restore() async throws {
        let records = try await store.loadFuzzyRecords()
        state.withLock { $0.fuzzy.restore(records) }
    }

    /// What the monitor adds to one scan.
    public struct ScanResult: Sendable {
        public var symbols: [Symbol]
        public var campaign: CampaignAssignment?
        public var sender: IPAddress?
        public var fuzzy: [FuzzyMatch]
    }

    /// Fingerprints a scanned message, looks it up in the fuzzy index, records it in its campaign
    /// (with the verdict the scan reached so far) and checks the sender's botnet listing.
    public func scanned(_ message: Message, context: ScanContext, verdict: Action?, label: Label? = nil, now: Int64) -> ScanResult {
        let fp = fingerprinter.fingerprint(message)
        let sender = SendingAddress.of(message, context: context) { self.trustedRelays.contains($0) }
        let observation = CampaignObservation(
            fingerprint: fp, sender: sender, senderDomain: message.from.first?.domain,
            subject: message.subject, verdict: verdict, label: label, time: now)
        let policy = configuration.botnet
        return state.withLock { s in
            let matches = s.fuzzy.match(fp, now: now)
            var symbols = s.fuzzy.symbols(for: matches)
            let assignment = s.tracker.observe(observation)
            if let sender, let record = s.tracker.senders[sender] {
                let e = BotnetScorer.evaluate(record, campaigns: s.tracker.campaigns, policy: policy)
                if e.listed {
                    symbols.append(Symbol(name: "BOTNET_FOOTPRINT", score: configuration.botnetScore,
                                          description: e.text, options: [e.address, e.code ?? ""]))
                }
            }
            if let a = assignment, a.messages > 1 {
                symbols.append(Symbol(name: "CAMPAIGN", score: 0,
                                      description: "one of \(a.messages) near-identical messages (campaign c\(String(a.campaignID, radix: 16)))",
                                      options: ["c" + String(a.campaignID, radix: 16), "similarity=\(format2(a.similarity))"]))
            }
            return ScanResult(symbols: symbols, campaign: assignment, sender: sender, fuzzy: matches)
        }
    }

    /// Learns a message's fingerprint as `label` (ham only when ``Configuration/learnHam``),
    /// labels its campaign, and persists the change; `nil` forgets it (under either label).
    public func learn(_ message: Message, as label: Label?, previous: Label? = nil, now: Int64) async throws {
        let fp = fingerprinter.fingerprint(message)
        let sender = SendingAddress.of(message, context: .none) { self.trustedRelays.contains($0) }
        let learnHam = configuration.learnHam
        let changes = state.withLock { s -> FuzzyIndex.Changes in
            var c = FuzzyIndex.Changes()
            if let previous { c.delete += s.fuzzy.remove(fp, label: previous).delete }
            guard let label else {
                for l in Label.allCases { c.delete += s.fuzzy.remove(fp, label: l).delete }
                return c
            }
            s.tracker.label(fp, as: label, sender: sender)
            if label == .spam || learnHam {
                let added = s.fuzzy.add(fp, as: label, now: now)
                c.upsert += added.upsert
                c.delete += added.delete
            }
            return c
        }
        if !changes.isEmpty { try await store.saveFuzzyRecords(upsert: changes.upsert, delete: changes.delete) }
    }

    /// The campaigns, largest first.
    public func campaigns(limit: Int = 100) -> [Campaign] { state.withLock { $0.tracker.largest(limit) } }

    /// Every tracked sending address with its evidence, listed ones first.
    public func botnetEvidence() -> [BotnetEvidence] {
        let policy = configuration.botnet
        return state.withLock { BotnetScorer.evaluateAll($0.tracker, policy: policy) }
    }

    /// The current botnet list.
    public func botnetList() -> BotnetList { BotnetList(evidence: botnetEvidence()) }

    /// Sizes, for metrics and tests.
    public var counts: (fuzzy: Int, campaigns: Int, senders: Int) {
        state.withLock { ($0.fuzzy.count, $0.tracker.campaigns.count, $0.tracker.senders.count) }
    }
}

extension Verdict {
    /// The verdict with `extra` symbols added: score and action recomputed, symbols re-sorted.
    public func adding(_ extra: [Symbol]) -> Verdict {
        guard !extra.isEmpty else { return self }
        var v = self
        v.symbols += extra
        v.symbols.sort { abs($0.score) > abs($1.score) }
        v.score += extra.reduce(0) { $0 + $1.score }
        v.action = thresholds.action(for: v.score)
        return v
    }
}
