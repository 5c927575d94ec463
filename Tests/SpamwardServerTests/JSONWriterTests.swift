import Foundation
import NIOCore
@testable import SpamwardHTTP
import Testing

/// `/checkv2`'s hand-written JSON says what JSONEncoder says about the same reply.
@Suite struct JSONWriterTests {
    static func reply(_ text: String) -> RspamdCheckResponse {
        RspamdCheckResponse(
            is_skipped: false, score: 7.25, required_score: 5, action: "reject",
            thresholds: ["reject": 5, "add header": 2.5],
            symbols: [
                "BAYES_SPAM": .init(name: "BAYES_SPAM", score: 3.5, metric_score: 3.5, description: text, options: ["a\"b", "c\\d"]),
                "NO_OPTS": .init(name: "NO_OPTS", score: -0.000012, metric_score: -0.000012, description: "plain", options: nil),
            ],
            messages: ["smtp_message": "5.7.1 \(text)"],
            milter: .init(add_headers: ["X-Spam-Status": .init(value: "Yes, \(text)", order: 0)], remove_headers: ["X-Spam-Status": 0]),
            message_id: "id@example.com", time_real: 0.00123, scan_time: 1e-7)
    }

    @Test(arguments: ["simple", "quote \" backslash \\ slash /", "line\nbreak\r\ttab \u{01}\u{1F}", "non-ASCII: é 漢字 🙂"])
    func writerMatchesJSONEncoder(_ text: String) throws {
        let r = Self.reply(text)
        let written = try #require(try JSONSerialization.jsonObject(with: Data(r.json.readableBytesView)) as? NSDictionary)
        let encoded = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as? NSDictionary)
        #expect(written == encoded)
    }

    @Test func nonFiniteNumbersStayValidJSON() throws {
        var r = Self.reply("x")
        r.score = .nan
        r.time_real = .infinity
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.json.readableBytesView)) as? [String: Any])
        #expect(o["score"] as? Double == 0)
        #expect(o["time_real"] as? Double == 0)
    }
}
