import CoreMetrics
import Metrics

/// The edge's counters, made once per listener (never per connection or message).
final class EdgeMetrics: Sendable {
    private let tests: [String: Counter]
    private let messages: [String: Counter]
    let connections: Counter
    let refusedConnections: Counter

    /// Message outcomes counted in `spamward_edge_messages_total{result}`.
    static let messageResults = ["relayed", "rejected_by_backend", "spam_rejected", "oversize", "backend_failed", "aborted"]

    init() {
        var t: [String: Counter] = [:]
        for test in EdgeTest.allCases {
            for action in TestAction.allCases {
                t["\(test.rawValue)/\(action.rawValue)"] = Counter(
                    label: "spamward_edge_tests_total", dimensions: [("test", test.rawValue), ("action", action.rawValue)])
            }
        }
        tests = t
        var m: [String: Counter] = [:]
        for r in Self.messageResults {
            m[r] = Counter(label: "spamward_edge_messages_total", dimensions: [("result", r)])
        }
        messages = m
        connections = Counter(label: "spamward_edge_connections_total")
        refusedConnections = Counter(label: "spamward_edge_connections_refused_total")
    }

    func failed(_ test: EdgeTest, _ action: TestAction) {
        tests["\(test.rawValue)/\(action.rawValue)"]?.increment()
    }

    func message(_ result: String) {
        messages[result]?.increment()
    }
}
