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
        /// Score of `BOTNET_FOOTPRINT` when the sending address becomes listed with this message.
        public var botnetScore: Double = 2.0
        /// Score of `BOTNET_LISTED` when the sending address was already on the botnet list
        /// before this message (the list the DNS responder and `/v1/botnet` serve).
        public var listedScore: Double = 3.0
        /// The botnet list that ``currentBotnetList()`` serves is recomputed at most this often
        /// (every tracked address is evaluated); 0 recomputes on every call.
        public var listRefreshSeconds: Double = 5
        /// Also add learned ham to the fuzzy index (`FUZZY_HAM`).
        public var learnHam = true
        public init() {}
    }

    struct State: Sendable {
        var fuzzy: FuzzyIndex
        var tracker: CampaignTracker
    }

    /// The last computed botnet list and when it was computed.
    struct ListCache: Sendable {
        var list = BotnetList()
        var computedAt: ContinuousClock.Instant? = nil
        var refreshing = false
    }

    /// The settings now (``update(configuration:trustedNetworks:)`` changes the scores, the botnet
    /// policy and the refresh interval on a reload).
    public var configuration: Configuration { settings.withLock { $0.configuration } }
    /// The settings a reload can change, behind their own short lock.
    private let settings: Mutex<Settings>
    struct Settings: Sendable {
        var configuration: Configuration
        var trustedNetworks: [IPNetwork]
    }
    public let fingerprinter: Fingerprinter
    private let state: Mutex<State>
    private let store: any FuzzyStore
    private let listCache = Mutex(ListCache())
    /// Relays whose addresses are skipped when the sending address is read from Received fields.
    public let trustedRelays: Set<IPAddress>
    /// Networks of trusted relays (the site's own MTAs, collectors, loopback and private ranges):
    /// a client in them is not the sender, and their hops in the Received chain are skipped.
    public var trustedNetworks: [IPNetwork] { settings.withLock { $0.trustedNetworks } }

    /// - Parameters:
    ///   - trustedRelays: Single relay addresses to skip (inferred from a corpus).
    ///   - trustedNetworks: Relay networks to skip (configured, `[campaigns] trusted_networks`).
    public init(configuration: Configuration = Configuration(), store: any FuzzyStore = InMemoryFuzzyStore(),
                publicSuffixList: PublicSuffixList? = PublicSuffixList.system, trustedRelays: Set<IPAddress> = [],
                trustedNetworks: [IPNetwork] = []) {
        self.settings = Mutex(Settings(configuration: configuration, trustedNetworks: trustedNetworks))
        self.fingerprinter = Fingerprinter(configuration: configuration.fingerprint, publicSuffixList: publicSuffixList)
        self.state = Mutex(State(
            fuzzy: FuzzyIndex(configuration: configuration.fuzzy, fingerprint: configuration.fingerprint),
            tracker: CampaignTracker(configuration: configuration.campaigns, fingerprint: configuration.fingerprint)))
        self.store = store
        self.trustedRelays = trustedRelays
    }

    /// Takes new settings (a reload): the botnet policy and scores, the list's refresh interval,
    /// whether ham is learned and the trusted networks apply from the next scan on. The
    /// fingerprint, fuzzy index and tracker settings shape the learned state and are kept; the
    /// names of those that differ are returned (they need a restart).
    @discardableResult
    public func update(configuration new: Configuration, trustedNetworks: [IPNetwork]) -> [String] {
        let kept = settings.withLock { s in
            var kept: [String] = []
            var applied = new
            if new.fingerprint != s.configuration.fingerprint {
                kept.append("fingerprint")
                applied.fingerprint = s.configuration.fingerprint
            }
            if new.fuzzy != s.configuration.fuzzy {
                kept.append("fuzzy")
                applied.fuzzy = s.configuration.fuzzy
            }
            if new.campaigns != s.configuration.campaigns {
                kept.append("campaigns")
                applied.campaigns = s.configuration.campaigns
            }
            s = Settings(configuration: applied, trustedNetworks: trustedNetworks)
            return kept
        }
        listCache.withLock { $0.computedAt = nil }  // the new policy may list other addresses
        return kept
    }

    /// Whether `ip` is one of the trusted relays (an address or inside a trusted network).
    public func isTrustedRelay(_ ip: IPAddress) -> Bool {
        trustedRelays.contains(ip) || trustedNetworks.contains { $0.contains(ip) }
    }

    /// The address that sent `message` for campaign and botnet bookkeeping: the SMTP client
    /// unless it is a trusted relay, else the first untrusted public hop of the Received chain.
    public func sendingAddress(_ message: Message, context: ScanContext) -> IPAddress? {
        let networks = trustedNetworks  // one lock per message, not per hop
        let relays = trustedRelays
        return SendingAddress.of(message, context: context) { ip in
            relays.contains(ip) || networks.contains { $0.contains(ip) }
        }
    }

    /// Loads the learned fingerprints from the store (call once at startup); records the index
    /// cannot use (another fingerprint version, see ``FuzzyIndex/restore(_:)``) are deleted from it.
    public func restore() async throws {
        let records = try await store.loadFuzzyRecords()
        let dropped = state.withLock { $0.fuzzy.restore(records) }
        if !dropped.isEmpty { try await store.saveFuzzyRecords(upsert: [], delete: dropped) }
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
    /// `fingerprint`: the message's fingerprint by ``fingerprinter`` when the scan made it
    /// (``MessageScanner/scan(_:context:explain:fingerprinter:)``); nil: made here.
    public func scanned(_ message: Message, fingerprint: MessageFingerprint? = nil, context: ScanContext, verdict: Action?,
                        label: Label? = nil, now: Int64) -> ScanResult {
        let fp = fingerprint ?? fingerprinter.fingerprint(message)
        let sender = sendingAddress(message, context: context)
        // Listed before this message (by earlier evidence): the list others query.
        let listed = sender.flatMap { currentBotnetList().lookup($0.description) }
        let observation = CampaignObservation(
            fingerprint: fp, sender: sender, senderDomain: message.from.first?.domain,
            subject: message.subject, verdict: verdict, label: label, time: now)
        let configuration = self.configuration
        let policy = configuration.botnet
        return state.withLock { s in
            let matches = s.fuzzy.match(fp, now: now)
            var symbols = s.fuzzy.symbols(for: matches)
            let assignment = s.tracker.observe(observation)
            if let sender, let listed {
                symbols.append(Symbol(name: "BOTNET_LISTED", score: configuration.listedScore,
                                      description: "the sending address is on the botnet list: " + listed.text,
                                      options: [sender.description, listed.code]))
            } else if let sender, let record = s.tracker.senders[sender] {
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
        let sender = sendingAddress(message, context: .none)
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
    public func campaigns(limit: Int = 100) -> [Campaign] {
        let tracker = state.withLock { $0.tracker }  // a snapshot: sorted outside the lock
        return tracker.largest(limit)
    }

    /// Every tracked sending address with its evidence, listed ones first.
    public func botnetEvidence() -> [BotnetEvidence] {
        let policy = configuration.botnet
        let tracker = state.withLock { $0.tracker }  // a snapshot: evaluated outside the lock
        return BotnetScorer.evaluateAll(tracker, policy: policy)
    }

    /// The botnet list computed now from every tracked address. The evaluation runs on a
    /// copy-on-write snapshot of the tracker, outside the lock, so scans are not held up by it.
    public func botnetList() -> BotnetList {
        let policy = configuration.botnet
        let tracker = state.withLock { $0.tracker }
        let listed = tracker.senders.values.compactMap { r -> BotnetEvidence? in
            let e = BotnetScorer.evaluate(r, campaigns: tracker.campaigns, policy: policy)
            return e.listed ? e : nil
        }
        return BotnetList(evidence: listed)
    }

    /// The botnet list as served (the verdict's `BOTNET_LISTED`, the DNS responder, `/v1/botnet/zone`):
    /// recomputed when older than ``Configuration/listRefreshSeconds``. While one caller
    /// recomputes, the others get the previous list.
    public func currentBotnetList() -> BotnetList {
        let now = ContinuousClock.now
        let refresh = configuration.listRefreshSeconds
        let cached = listCache.withLock { c -> BotnetList? in
            if let at = c.computedAt, refresh > 0, now - at < .milliseconds(Int64(refresh * 1000)) { return c.list }
            if c.refreshing, c.computedAt != nil { return c.list }
            c.refreshing = true
            return nil
        }
        if let cached { return cached }
        let list = botnetList()
        listCache.withLock { c in
            c.list = list
            c.computedAt = now
            c.refreshing = false
        }
        return list
    }

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
