import MailMessage
import Synchronization

/// The filter a daemon shares between its front ends.
///
/// Scans run concurrently against the current model (each scan takes a copy-on-write reference
/// under a short lock, so learning never stops scanning). Learning is serialized, persisted in the
/// store before it is acknowledged, and then published to later scans.
public final class SpamFilter: Sendable {
    private let current: Mutex<MessageScanner>
    private let currentPolicy: Mutex<ActionPolicy>
    private let learner: LearnQueue
    private let store: any ModelStore
    /// Fuzzy fingerprints, campaigns and the botnet footprint (nil: off).
    public let campaigns: CampaignMonitor?
    private let stages: Mutex<Stages>
    /// The stages before the scan, replaced together on a reload.
    private struct Stages: Sendable {
        var authentication: AuthenticationStage?
        var uribl: URIBLStage?
    }
    /// SPF, DKIM, DMARC and ARC before each ``check(_:context:explain:)`` (nil: off).
    public var authentication: AuthenticationStage? { stages.withLock { $0.authentication } }
    /// URIBL lookups of the links before each ``check(_:context:explain:)`` (nil: off).
    public var uribl: URIBLStage? { stages.withLock { $0.uribl } }

    /// - Parameters:
    ///   - scanner: The scanner with the model to start from (the store's, else the starter model).
    ///   - store: Where learning is persisted.
    ///   - policy: What each verdict means for the MTA.
    ///   - campaigns: Fuzzy matching, campaign tracking and botnet scoring for every scan and learn.
    ///   - uribl: URIBL lookups of the message's link domains in ``check(_:context:explain:)``.
    public init(scanner: MessageScanner, store: any ModelStore, policy: ActionPolicy = .default,
                campaigns: CampaignMonitor? = nil, authentication: AuthenticationStage? = nil, uribl: URIBLStage? = nil) {
        self.campaigns = campaigns
        self.stages = Mutex(Stages(authentication: authentication, uribl: uribl))
        self.current = Mutex(scanner)
        self.currentPolicy = Mutex(policy)
        self.store = store
        self.learner = LearnQueue(session: LearningSession(scanner: scanner, store: store))
    }

    /// The scanner (and model) that scans use now.
    public var scanner: MessageScanner { current.withLock { $0 } }

    /// What each verdict means for the MTA now.
    public var policy: ActionPolicy { currentPolicy.withLock { $0 } }

    /// The thresholds verdicts are decided with.
    public var thresholds: Thresholds { current.withLock { $0.thresholds } }

    /// Parses and scores one message.
    public func scan(_ bytes: [UInt8], context: ScanContext = .none, explain: Bool = true) -> Verdict {
        let s = scanner
        return scan(s.parse(bytes), with: s, context: context, explain: explain)
    }

    /// Scores an already parsed message.
    public func scan(_ message: Message, context: ScanContext = .none, explain: Bool = true) -> Verdict {
        scan(message, with: scanner, context: context, explain: explain)
    }

    /// Authenticates and looks links up in URIBLs (each when configured, concurrently) and then
    /// scores a message: what the daemon's front ends call. The verdict carries the authentication
    /// and URIBL symbols and the `Authentication-Results` value.
    public func check(_ message: Message, context: ScanContext = .none, explain: Bool = true) async -> Verdict {
        let (authentication, uribl) = stages.withLock { ($0.authentication, $0.uribl) }
        if authentication == nil && uribl == nil { return scan(message, context: context, explain: explain) }
        var context = context
        async let uriblSymbols = uribl?.symbols(for: message) ?? []
        var field: String? = nil
        if let authentication { field = await authentication.authenticate(message, context: &context).fieldValue }
        context.symbols += await uriblSymbols
        var verdict = scan(message, context: context, explain: explain)
        if let field { verdict.authenticationResults = field }
        return verdict
    }

    private func scan(_ message: Message, with scanner: MessageScanner, context: ScanContext, explain: Bool) -> Verdict {
        guard let campaigns else { return scanner.scan(message, context: context, explain: explain) }
        // One pass over the text for the features and the fingerprint's words.
        let (verdict, fingerprint) = scanner.scan(message, context: context, explain: explain, fingerprinter: campaigns.fingerprinter)
        let extra = campaigns.scanned(message, fingerprint: fingerprint, context: context, verdict: verdict.action,
                                      now: WallClock.nowSeconds())
        return verdict.adding(extra.symbols)
    }

    /// Learns `bytes` as `label` (forgets them when `label` is nil), saves the model and the
    /// learned-message record atomically, and only then returns; later scans use the new model.
    public func learn(_ bytes: [UInt8], as label: Label?, now: Int64) async throws -> LearnOutcome {
        let (outcome, scanner) = try await learner.learn(bytes, as: label, now: now)
        if let campaigns {
            switch outcome {
            case .learned: try await campaigns.learn(self.scanner.parse(bytes), as: label, now: now)
            case .relearned: try await campaigns.learn(self.scanner.parse(bytes), as: label, previous: label?.opposite, now: now)
            case .forgotten: try await campaigns.learn(self.scanner.parse(bytes), as: nil, now: now)
            case .alreadyLearned, .notLearned: break
            }
        }
        if let scanner {
            let model = scanner.model
            current.withLock { $0.model = model }
        }
        return outcome
    }

    /// Replaces the model, thresholds and policy (a reload), for scans and for later learning.
    public func replace(scanner: MessageScanner, policy: ActionPolicy) async {
        await learner.reset(LearningSession(scanner: scanner, store: store))
        current.withLock { $0 = scanner }
        currentPolicy.withLock { $0 = policy }
    }

    /// Replaces the authentication and URIBL stages (a reload; nil turns one off). Scans already
    /// running finish with the stages they started with.
    public func replace(authentication: AuthenticationStage?, uribl: URIBLStage?) {
        stages.withLock { $0 = Stages(authentication: authentication, uribl: uribl) }
    }

    /// What the store holds.
    public func statistics() async throws -> StoreStatistics {
        try await store.statistics()
    }
}

/// Serializes learning: one learn at a time, in arrival order, each committed before the next.
private actor LearnQueue {
    private var session: LearningSession
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(session: LearningSession) {
        self.session = session
    }

    func reset(_ session: LearningSession) async {
        await acquire()
        defer { release() }
        self.session = session
    }

    /// Returns the outcome and, when the model changed, the scanner with the new model.
    func learn(_ bytes: [UInt8], as label: Label?, now: Int64) async throws -> (LearnOutcome, MessageScanner?) {
        await acquire()
        defer { release() }
        var s = session
        let outcome = try await s.learn(bytes, as: label, now: now)
        guard s.uncommittedChanges > 0 else { return (outcome, nil) }
        try await s.commit(now: now)
        session = s
        return (outcome, s.scanner)
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
