import MailMessage
import Testing

@testable import SpamwardCore

/// The decoded Subject and parsed From fields that a scan's rules hand to the feature extractor
/// (``RuleSet/evaluateRules(_:sharing:)``, ``KnownHeaderValues``) against the extractor computing
/// them itself: the same vectors, names included.
@Suite("Header values shared by rules and features")
struct SharedHeaderValuesTests {
    /// Header blocks where the rules' lookup and the extractor's handlers could disagree: several
    /// Subject and From fields, names in other cases, encoded words, groups, non-ASCII and long
    /// names, no Subject or From at all.
    static let headerBlocks: [String] = [
        "Subject: hello\r\nFrom: Alice <alice@example.com>\r\n",
        "subject: first\r\nSUBJECT: second\r\nSubject: =?UTF-8?B?w6lsw6k=?=\r\n",
        "From: a@example.com\r\nfrom: \"Bob B\" <bob@example.org>, carol@example.net\r\nFROM: undisclosed:;\r\n",
        "Subject: =?ISO-8859-1?Q?caf=E9?= and more\r\nFrom: =?UTF-8?Q?Z=C3=BCrich?= <z@example.ch>\r\n",
        "S\u{00FC}bject: not a subject\r\nFr\u{00F6}m: x@example.com\r\nSubject: real\r\nFrom: y@example.com\r\n",
        "X-" + String(repeating: "a", count: 70) + ": long\r\nFrom: <>\r\nSubject:\r\n",
        "To: only@example.com\r\nReply-To: r@example.com\r\n",
        "From: group: a@x.example, b@y.example;, c@z.example, d@w.example, e@v.example, f@u.example\r\n",
        "From: broken <<<@@\r\nSubject: =?bogus?X?abc?=\r\nFrom: (comment) \"q\\\"uoted\" <q@example.com>\r\n",
        "Subject: \u{212A}elvin\r\nFrom: \"\u{212A}\" <k@example.com>\r\n",
    ]

    static func message(_ headers: String, _ text: String = "Some words of text here.\r\n") -> Message {
        MessageParser.parse(Array((headers + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text).utf8))
    }

    /// The crafted messages, the fixtures, and random header blocks made of the crafted fields.
    static func messages() -> [Message] {
        var out = headerBlocks.map { message($0) }
        let lines = headerBlocks.flatMap { $0.split(separator: "\r\n").map(String.init) }
        var rng = SplitMix64(seed: 0x5EED_0106)
        for _ in 0..<200 {
            var h = ""
            for _ in 0..<Int(rng.next() % 7) { h += lines[Int(rng.next() % UInt64(lines.count))] + "\r\n" }
            out.append(message(h))
        }
        return out
    }

    static func same(_ a: FeatureVector, _ b: FeatureVector) -> Bool {
        a.tokens == b.tokens && a.ngrams == b.ngrams && a.names == b.names
    }

    @Test func featuresWithTheRulesValuesAreTheSame() {
        let rules = RuleSet.standard
        let extractor = FeatureExtractor()
        var shared = 0
        for m in Self.messages() {
            let (hits, known) = rules.evaluateRules(m, sharing: true)
            #expect(hits == rules.evaluate(m))
            guard let known else {
                Issue.record("the standard rules share their header values")
                continue
            }
            if !known.fromLists.isEmpty || !known.subject.isEmpty { shared += 1 }
            let names = hits.map(\.name)
            for keepNames in [false, true] {
                let given = extractor.extract(m, keepNames: keepNames, ruleHits: hits, known: known)
                let alone = extractor.extract(m, keepNames: keepNames, ruleNames: names)
                #expect(Self.same(given, alone))
            }
        }
        #expect(shared > 100)
    }

    /// The scanner's paths that share (``MessageScanner/features(_:keepNames:)``, ``MessageScanner/score(_:)``)
    /// against the public path given the hits alone.
    @Test func scannerFeaturesAndScoresAreTheSame() {
        var scanner = MessageScanner(model: StatisticalModel())
        let messages = Self.messages()
        for (i, m) in messages.prefix(60).enumerated() {
            _ = scanner.model.learn(scanner.features(m), as: i % 3 == 0 ? .spam : .ham)
        }
        for m in messages {
            let hits = scanner.rules.evaluate(m)
            let alone = scanner.features(m, hits: hits)
            #expect(Self.same(scanner.features(m), alone))
            let score = scanner.model.score(alone).combined + hits.reduce(0) { $0 + $1.score }
            #expect(scanner.score(m) == score)
        }
    }

    /// The values are used: wrong ones change the vector (so the tests above compare something).
    @Test func givenValuesAreRead() {
        let extractor = FeatureExtractor()
        let m = Self.message(Self.headerBlocks[0])
        guard let known = RuleSet.standard.evaluateRules(m, sharing: true).known else {
            Issue.record("the standard rules share their header values")
            return
        }
        var wrongSubject = known
        wrongSubject.subject = "something else entirely"
        #expect(!Self.same(extractor.extract(m, ruleHits: [], known: wrongSubject), extractor.extract(m)))
        var wrongFrom = known
        wrongFrom.fromLists = [MailAddress.parseList("Mallory <m@elsewhere.example>")]
        #expect(!Self.same(extractor.extract(m, ruleHits: [], known: wrongFrom), extractor.extract(m)))
        #expect(RuleSet.empty.evaluateRules(m, sharing: true).known == nil)
    }
}
