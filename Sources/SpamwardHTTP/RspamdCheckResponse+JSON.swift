import MailMessage
import NIOCore
import SpamwardCore

extension SpamwardAPI {
    /// Rspamd's `/checkv2` reply for a scanned message, written straight from the verdict into
    /// one buffer: the same JSON values as ``rspamdCheckResponse(verdict:message:policy:since:)``
    /// encoded (tested against it), without its dictionaries and their copies of every name and
    /// value (building them was 3.8% of the Rspamd worker's CPU). Shared by the Hummingbird route
    /// and the Rspamd worker listener: symbols, the verdict headers as milter headers, the reject
    /// text when the disposition rejects, the time since `started`.
    ///
    /// JSON objects are keyed by name: a symbol (or header) name that repeats is written once,
    /// with its last value, as the dictionaries kept it. Keys are in the verdict's order.
    static func rspamdCheckJSON(verdict: Verdict, message: Message, policy: ActionPolicy,
                                since started: ContinuousClock.Instant) -> ByteBuffer {
        let disposition = policy.disposition(for: verdict.action)
        let thresholds = verdict.thresholds
        let symbols = verdict.symbols
        var w = JSONWriter(capacity: 768 + symbols.count * 192)
        w.beginObject()
        w.key("is_skipped")
        w.bool(false)
        w.key("score")
        w.number(verdict.score)
        w.key("required_score")
        w.number(thresholds.spam)
        w.key("action")
        w.string(Self.rspamdAction(disposition))
        w.key("thresholds")
        w.beginObject()
        w.key("reject")
        w.number(thresholds.spam)
        w.key("add header")
        w.number(thresholds.unsure)
        w.endObject()

        w.key("symbols")
        w.beginObject()
        let symbolIndex = LastOfName(symbols, name: \.name)
        for i in symbols.indices where symbolIndex.isLast(i, in: symbols, name: \.name) {
            let s = symbols[i]
            w.key(s.name)
            w.beginObject()
            w.key("name")
            w.string(s.name)
            w.key("score")
            w.number(s.score)
            w.key("metric_score")
            w.number(s.score)
            w.key("description")
            w.string(s.description)
            if !s.options.isEmpty {
                w.key("options")
                w.beginArray()
                for o in s.options { w.string(o) }
                w.endArray()
            }
            w.endObject()
        }
        w.endObject()

        w.key("messages")
        w.beginObject()
        if disposition == .reject {
            w.key("smtp_message")
            w.string(policy.rejectText)
        }
        w.endObject()

        w.key("milter")
        w.beginObject()
        w.key("add_headers")
        w.beginObject()
        Self.writeVerdictHeaders(verdict, into: &w)
        w.endObject()
        w.key("remove_headers")
        w.beginObject()
        for name in Self.verdictHeaderNames {
            w.key(name)
            w.number(0)
        }
        if verdict.authenticationResults != nil {
            w.key("Authentication-Results")
            w.number(0)
        }
        w.endObject()
        w.endObject()

        if let id = message.headers["Message-ID"] {
            w.key("message-id")
            w.messageID(id)
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        w.key("time_real")
        w.number(seconds)
        w.key("scan_time")
        w.number(seconds)
        w.endObject()
        return w.buffer
    }
}

extension SpamwardAPI {
    /// The names of `VerdictHeaders.fields` in its order, `Authentication-Results` (last, when
    /// the verdict has it) aside: all different, so each is written once.
    static let verdictHeaderNames = [
        "X-Spam-Checker-Version", "X-Spam-Flag", "X-Spam-Score", "X-Spam-Action", "X-Spam-Status", "X-Spam-Symbols",
    ]

    /// `VerdictHeaders.fields(for: verdict, flagged: verdict.action == .spam)` as milter
    /// `add_headers` members (`"name":{"value":...,"order":i}`), the values written in place
    /// (building them as Strings, with the symbol lists joined, was 1.4% of the worker's CPU).
    /// The same values: the test compares this reply with the one built from `fields`.
    static func writeVerdictHeaders(_ verdict: Verdict, into w: inout JSONWriter) {
        let flagged = verdict.action == .spam
        func field(_ order: Int, _ value: (inout JSONWriter) -> Void) {
            w.key(verdictHeaderNames[order])
            w.beginObject()
            w.key("value")
            value(&w)
            w.key("order")
            w.number(order)
            w.endObject()
        }
        field(0) { $0.string(VerdictHeaders.product) }
        field(1) { $0.string(flagged ? "YES" : "NO") }
        field(2) { w in
            w.beginString()
            w.stringPartScore(verdict.score)
            w.endString()
        }
        field(3) { $0.string(verdict.action.rawValue) }
        field(4) { w in
            w.beginString()
            w.stringPart(flagged ? "Yes, score=" : "No, score=")
            w.stringPartScore(verdict.score)
            w.stringPart(" required=")
            w.stringPartScore(verdict.thresholds.spam)
            w.stringPart(" tests=")
            if verdict.symbols.isEmpty { w.stringPart("none") }
            for (i, s) in verdict.symbols.enumerated() {
                if i > 0 { w.stringPart(",") }
                w.stringPart(s.name)
            }
            w.stringPart(" version=")
            w.stringPart(VerdictHeaders.product)
            w.endString()
        }
        field(5) { w in
            w.beginString()
            if verdict.symbols.isEmpty { w.stringPart("none") }
            for (i, s) in verdict.symbols.enumerated() {
                if i > 0 { w.stringPart(", ") }
                w.stringPart(s.name)
                w.stringPart("(")
                w.stringPartScore(s.score)
                w.stringPart(")")
            }
            w.endString()
        }
        if let ar = verdict.authenticationResults {
            w.key("Authentication-Results")
            w.beginObject()
            w.key("value")
            w.string(ar)
            w.key("order")
            w.number(verdictHeaderNames.count)
            w.endObject()
        }
    }
}

/// Which element of an array is the last with its name (a JSON object keeps one value per key).
/// Up to 16 elements it compares names directly (no allocation); beyond, it indexes them once,
/// so a verdict with many symbols costs linear time, not quadratic.
struct LastOfName {
    private let lastIndex: [String: Int]?

    init<E>(_ elements: [E], name: (E) -> String) {
        guard elements.count > 16 else {
            lastIndex = nil
            return
        }
        var index: [String: Int] = [:]
        index.reserveCapacity(elements.count)
        for (i, e) in elements.enumerated() { index[name(e)] = i }
        lastIndex = index
    }

    func isLast<E>(_ i: Int, in elements: [E], name: (E) -> String) -> Bool {
        if let lastIndex { return lastIndex[name(elements[i])] == i }
        let n = name(elements[i])
        var j = i + 1
        while j < elements.count {
            if name(elements[j]) == n { return false }
            j += 1
        }
        return true
    }
}
