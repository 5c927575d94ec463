import CoreMetrics
import Metrics

/// The edge's counters, made once per listener (never per connection or message); a count is an
/// array index, no label is formatted or looked up per connection.
final class EdgeMetrics: Sendable {
    /// `spamward_edge_tests_total{test,action}`, at `test.index * actions + action.index`.
    private let tests: [Counter]
    private let messages: [String: Counter]
    let connections: Counter
    let refusedConnections: Counter

    /// Message outcomes counted in `spamward_edge_messages_total{result}`.
    static let messageResults = ["relayed", "rejected_by_backend", "spam_rejected", "oversize", "backend_failed", "aborted"]

    private static let allTests = EdgeTest.allCases
    private static let allActions = TestAction.allCases

    init() {
        var t: [Counter] = []
        for test in Self.allTests {
            for action in Self.allActions {
                t.append(Counter(label: "spamward_edge_tests_total", dimensions: [("test", test.rawValue), ("action", action.rawValue)]))
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
        guard let t = Self.allTests.firstIndex(of: test), let a = Self.allActions.firstIndex(of: action) else { return }
        tests[t * Self.allActions.count + a].increment()
    }

    func message(_ result: String) {
        messages[result]?.increment()
    }
}
