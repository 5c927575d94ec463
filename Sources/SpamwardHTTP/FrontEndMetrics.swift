import Metrics
import SpamwardCore

/// The metrics every front end records, through swift-metrics (exported by whichever backend the
/// process bootstraps; `spamward serve` uses Prometheus).
public struct FrontEndMetrics: Sendable {
    /// The front end's name: `milter`, `spamd`, `http`, `rspamd`.
    public let frontEnd: String
    private let scanTimer: Metrics.Timer
    private let rejectedInputs: Counter
    private let faults: Counter
    /// One counter per action, made once: the per-message path does no metric lookups.
    private let messages: [Action: Counter]
    /// Made once too: the spamd protocol opens a connection per message.
    private let openConnections: Meter

    public init(frontEnd: String) {
        self.frontEnd = frontEnd
        self.scanTimer = Metrics.Timer(label: "spamward_scan_duration_seconds", dimensions: [("frontend", frontEnd)],
                                       preferredDisplayUnit: .seconds)
        self.rejectedInputs = Counter(label: "spamward_rejected_inputs_total", dimensions: [("frontend", frontEnd)])
        self.faults = Counter(label: "spamward_faults_total", dimensions: [("frontend", frontEnd)])
        var messages: [Action: Counter] = [:]
        for action in Action.allCases {
            messages[action] = Counter(label: "spamward_messages_total", dimensions: [("frontend", frontEnd), ("action", action.rawValue)])
        }
        self.messages = messages
        self.openConnections = Meter(label: "spamward_open_connections", dimensions: [("frontend", frontEnd)])
    }

    /// One scanned message whose scan started at `start`; returns the scan's duration in
    /// nanoseconds (for the log line).
    @discardableResult
    public func scanned(_ verdict: Verdict, since start: ContinuousClock.Instant) -> UInt64 {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        let ns = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        scanned(verdict, nanoseconds: ns)
        return ns
    }

    /// One scanned message: its action and how long the scan took.
    public func scanned(_ verdict: Verdict, nanoseconds: UInt64) {
        messages[verdict.action]?.increment()
        scanTimer.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// One learn or forget request and its outcome.
    public func learned(_ outcome: LearnOutcome) {
        Counter(label: "spamward_learn_total", dimensions: [("frontend", frontEnd), ("outcome", outcome.rawValue)])
            .increment()
    }

    /// An input refused before scanning (too big, malformed request, unauthorized).
    public func rejectedInput() { rejectedInputs.increment() }

    /// An internal fault answered with a temporary failure (or the configured fail-open).
    public func fault() { faults.increment() }

    /// A connection opened (+1) or closed (-1).
    public func connection(_ delta: Int) {
        if delta >= 0 { openConnections.increment(by: Double(delta)) } else { openConnections.decrement(by: Double(-delta)) }
    }
}
