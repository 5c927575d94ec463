import Foundation
import MailMessage
import NIOCore
import SpamwardCore
@testable import SpamwardHTTP
import Testing

/// The hand-written JSON (`/checkv2`'s reply) says what JSONEncoder says about the same values.
@Suite struct JSONWriterTests {
    /// A JSON document of `text` as a string, an object key and an array element, by the writer.
    static func written(_ text: String) -> ByteBuffer {
        var w = JSONWriter()
        w.beginObject()
        w.key("value")
        w.string(text)
        w.key(text)
        w.beginArray()
        w.string(text)
        w.string("after")
        w.endArray()
        w.endObject()
        return w.buffer
    }

    @Test(arguments: ["simple", "quote \" backslash \\ slash /", "line\nbreak\r\ttab \u{01}\u{1F}", "non-ASCII: é 漢字 🙂", ""])
    func writerMatchesJSONEncoder(_ text: String) throws {
        let written = try #require(try JSONSerialization.jsonObject(with: Data(Self.written(text).readableBytesView)) as? NSDictionary)
        let encoded = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode([text, "after"])) as? [String])
        #expect(written["value"] as? String == text)
        #expect(written[text] as? [String] == encoded)
        #expect(encoded == [text, "after"])
    }

    /// Real messages: the repository's fixtures and, when the shared corpus is beside the
    /// checkout, the first 150 files of each of its folders.
    static func realMessages() throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: TestMessages.fixtures.path).sorted() {
            out.append(Array(try Data(contentsOf: TestMessages.fixtures.appendingPathComponent(name))))
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            let corpus = dir.appendingPathComponent("shared/corpora/spamassassin")
            if fm.fileExists(atPath: corpus.path) {
                for folder in ["easy_ham", "hard_ham", "spam", "spam_2"] {
                    let base = corpus.appendingPathComponent(folder)
                    let names = ((try? fm.contentsOfDirectory(atPath: base.path)) ?? []).sorted().prefix(150)
                    for n in names {
                        if let d = try? Data(contentsOf: base.appendingPathComponent(n)), d.count <= 1 << 20 { out.append(Array(d)) }
                    }
                }
                break
            }
            dir = dir.deletingLastPathComponent()
        }
        return out
    }

    /// A reply as JSON values, without its timings (measured separately by each writer).
    static func values(_ data: Data) throws -> NSDictionary {
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
        let copy = try #require(object.mutableCopy() as? NSMutableDictionary)
        #expect(copy["time_real"] is Double && copy["scan_time"] is Double)
        copy.removeObjects(forKeys: ["time_real", "scan_time"])
        return copy
    }

    /// `/checkv2`'s reply written straight from the verdict has the same JSON values as the
    /// `Encodable` DTO encoded by JSONEncoder: over real messages' verdicts, under policies that
    /// accept, tag and reject, and over verdicts with repeated symbol names (once, the last
    /// value), many symbols, text to escape and an `Authentication-Results` header.
    @Test func directWriterMatchesTheEncodedDTO() throws {
        let filter = makeFilter()
        let policies = [ActionPolicy.default, ActionPolicy(spam: .quarantine, unsure: .reject, ham: .tag, rejectText: "5.7.1 \"no\"\n")]
        let messages = try Self.realMessages()
        try #require(messages.count >= 2)
        var compared = 0
        var symbolsSeen = 0
        func compare(_ verdict: Verdict, _ message: Message, _ policy: ActionPolicy) throws {
            let started = ContinuousClock.now
            let direct = SpamwardAPI.rspamdCheckJSON(verdict: verdict, message: message, policy: policy, since: started)
            let dto = SpamwardAPI.rspamdCheckResponse(verdict: verdict, message: message, policy: policy, since: started)
            let written = try Self.values(Data(direct.readableBytesView))
            let encoded = try Self.values(try JSONEncoder().encode(dto))
            let text = String(decoding: direct.readableBytesView, as: UTF8.self)
            #expect(written == encoded, "\(text)")
            // Parsers keep the last of repeated keys: count the symbol objects in the text too.
            #expect(text.components(separatedBy: "{\"name\":").count - 1 == Set(verdict.symbols.map(\.name)).count, "\(text)")
            compared += 1
        }
        for bytes in messages {
            let message = filter.scanner.parse(bytes)
            let verdict = filter.scan(message, context: .none, explain: false)
            symbolsSeen += verdict.symbols.count
            for policy in policies { try compare(verdict, message, policy) }
        }
        #expect(symbolsSeen > messages.count)  // the rules fired: symbols were compared

        // Repeated names, few (direct comparison) and many (the index), with text to escape.
        let message = filter.scanner.parse(messages[0])
        var verdict = filter.scan(message, context: .none, explain: false)
        let odd = "quote \" backslash \\ line\nbreak \u{01} é 🙂"
        for count in [3, 17, 40] {
            var symbols: [Symbol] = []
            for i in 0..<count {
                let name: String = i % 3 == 0 ? "SAME" : "S" + String(i % 7) + odd
                let options: [String] = i % 2 == 0 ? [] : ["o" + String(i), odd]
                symbols.append(Symbol(name: name, score: Double(i) / 3, description: "d" + String(i) + " " + odd, options: options))
            }
            verdict.symbols = symbols
            verdict.authenticationResults = "mx.example.org; spf=pass \(odd)"
            for action in [Action.spam, .unsure, .ham] {
                verdict.action = action
                for policy in policies { try compare(verdict, message, policy) }
            }
        }
        #expect(compared == messages.count * 2 + 3 * 3 * 2)
    }

    /// Scores written in place read as `VerdictHeaders.format` writes them.
    @Test func scoresInPlaceMatchVerdictHeadersFormat() throws {
        var values: [Double] = [0, -0.0, 0.004, -0.004, 0.005, -0.005, 0.015, 1, -1, 9.995, 10, 99.999, 1002.5392925895648,
                                -123.456, 1e11, -1e11, 999_999_999_999.99, 1e12, -3e15, .nan, .infinity, -.infinity,
                                .leastNonzeroMagnitude, .greatestFiniteMagnitude / 1e300]
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2000 { values.append(Double.random(in: -2000...2000, using: &g)) }
        for _ in 0..<200 { values.append(Double(Int.random(in: -100_000...100_000, using: &g)) / 1000) }
        for x in values {
            var w = JSONWriter()
            w.beginString()
            w.stringPartScore(x)
            w.endString()
            #expect(String(decoding: w.bytes, as: UTF8.self) == "\"" + VerdictHeaders.format(x) + "\"", "\(x)")
        }
    }

    @Test(arguments: ["<a.b@example.com>", " <x y@z> ", "", "<>", "plain", "<\u{0301}é <漢字@例え.jp>", "<\"q\"\\@x>\r\n\t"])
    func messageIDsAsRspamdCarriesThem(_ id: String) {
        var w = JSONWriter()
        w.messageID(id)
        var expected = JSONWriter()
        expected.string(String(id.filter { $0 != "<" && $0 != ">" && $0 != " " }))
        #expect(w.bytes == expected.bytes)
    }

    @Test func nonFiniteNumbersStayValidJSON() throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("score")
        w.number(.nan)
        w.key("time_real")
        w.number(.infinity)
        w.key("low")
        w.number(-.infinity)
        w.endObject()
        let o = try #require(try JSONSerialization.jsonObject(with: Data(w.buffer.readableBytesView)) as? [String: Any])
        #expect(o["score"] as? Double == 0)
        #expect(o["time_real"] as? Double == 0)
        #expect(o["low"] as? Double == 0)
    }
}
