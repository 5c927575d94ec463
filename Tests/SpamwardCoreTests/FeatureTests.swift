import MailMessage
import Testing

@testable import SpamwardCore

@Suite("Features")
struct FeatureTests {
    let extractor = FeatureExtractor()

    func features(_ text: String, keepNames: Bool = true, extractor: FeatureExtractor? = nil) -> FeatureVector {
        (extractor ?? self.extractor).extract(MessageParser.parse(Array(text.utf8)), keepNames: keepNames)
    }

    /// The slot whose readable name is `name`, if the vector has that feature.
    func slot(named name: String, in v: FeatureVector) -> UInt32? {
        v.names?.first { $0.value == name }?.key
    }

    // MARK: stable hash

    @Test func stableHashValueIsPinned() {
        // Pinned value, observed once (and checked against an independent Python
        // implementation of FNV-1a + the MurmurHash3 finalizer). Hashes are persisted inside saved
        // models: if this test fails, the hash function changed, every stored model is silently
        // invalid, and FeatureConfiguration.currentTokenizerVersion must be bumped.
        #expect(StableHash(seed: 1).hash("w:", "viagra") == 0x54ED_AB32_C5BC_5342)
        #expect(StableHash(seed: 1).hash("w:", "viagra") == StableHash(seed: 1).hash("w:", "viagra"))
        // Seed and namespace both matter.
        #expect(StableHash(seed: 2).hash("w:", "viagra") != 0x54ED_AB32_C5BC_5342)
        #expect(StableHash(seed: 1).hash("s:", "viagra") != 0x54ED_AB32_C5BC_5342)
    }

    @Test func stableHashPiecewiseEqualsWhole() {
        let h = StableHash(seed: 1)
        let piecewise = StableHash.finish(StableHash.add(h.start("w:"), bytes: "viagra".utf8))
        #expect(piecewise == h.hash("w:", "viagra"))
    }

    @Test func digest128IsPinnedAndPartAware() {
        let d = StableHash.digest128([Array("ab".utf8)[...], Array("c".utf8)[...]])
        #expect(d.count == 16)
        // Moving the boundary between parts changes the digest.
        let e = StableHash.digest128([Array("a".utf8)[...], Array("bc".utf8)[...]])
        #expect(d != e)
        #expect(d == StableHash.digest128([Array("ab".utf8)[...], Array("c".utf8)[...]]))
    }

    // MARK: extraction

    @Test(arguments: [0, 1, 2, 3])
    func extractionIsDeterministic(index: Int) {
        let text = Synth.message(spam: index % 2 == 0, index: index, words: 200)
        let a = features(text, keepNames: false)
        let b = features(text, keepNames: false)
        let c = features(text, keepNames: true)
        #expect(a.tokens == b.tokens)
        #expect(a.ngrams == b.ngrams)
        #expect(a.names == nil)
        // Keeping names does not change the features.
        #expect(c.tokens == a.tokens)
        #expect(c.ngrams == a.ngrams)
        #expect(!a.tokens.isEmpty)
        #expect(!a.ngrams.isEmpty)
        // A fresh extractor (same configuration) gives the same slots.
        let d = features(text, keepNames: false, extractor: FeatureExtractor(configuration: .default))
        #expect(d.tokens == a.tokens)
    }

    @Test func differentSeedGivesDifferentSlots() {
        let text = Synth.message(spam: true, index: 1)
        var config = FeatureConfiguration.default
        config.hashSeed = 12345
        let a = features(text, keepNames: false)
        let b = features(text, keepNames: false, extractor: FeatureExtractor(configuration: config))
        #expect(a.tokens != b.tokens)
    }

    static func bodyMessage(_ body: String, subject: String = "hello") -> String {
        """
        From: someone@example.com
        To: user@example.org
        Subject: \(subject)
        Message-ID: <x1@example.com>

        \(body)

        """
    }

    @Test(arguments: ["VIAGRA", "Viagra", "viagra", "ViAgRa"])
    func wordsAreCaseFolded(spelling: String) throws {
        let reference = features(Self.bodyMessage("buy viagra today"))
        let v = features(Self.bodyMessage("buy \(spelling) today"))
        let refSlot = try #require(slot(named: "w:viagra", in: reference))
        let s = try #require(slot(named: "w:viagra", in: v))
        #expect(s == refSlot)
        #expect(v.tokens.contains(s))
        #expect(v.tokens == reference.tokens)
        #expect(slot(named: "w:" + spelling, in: v) == (spelling == "viagra" ? s : nil))
        // The slot is the hash of the namespaced, folded word.
        let h = StableHash(seed: FeatureConfiguration.default.hashSeed).hash("w:", "viagra")
        #expect(s == UInt32(truncatingIfNeeded: h) & FeatureConfiguration.default.slotMask)
    }

    @Test func nonASCIIWordsAreCaseFolded() throws {
        let a = features(Self.bodyMessage("GRÜSSE aus MÜNCHEN"))
        let b = features(Self.bodyMessage("grüsse aus münchen"))
        #expect(slot(named: "w:münchen", in: a) != nil)
        #expect(a.tokens == b.tokens)
    }

    @Test func headerScopedFeaturesExist() throws {
        let text = """
            From: "Pharmacy Deals" <deals@Cheap-Meds.example>
            To: user@example.org
            Subject: Discount pills tonight
            Message-ID: <abc123@cheap-meds.example>
            Content-Type: text/plain; charset=us-ascii

            Visit http://buy.cheap-meds.example/offer?id=7 for the best discount.

            """
        let v = features(text)
        let names = Set(try #require(v.names).values)
        #expect(names.contains("s:discount"))
        #expect(names.contains("s:pills"))
        #expect(names.contains("fd:cheap-meds.example"))
        #expect(names.contains("uh:buy.cheap-meds.example"))
        #expect(names.contains("w:discount"))
        // A subject word and the same body word are different features.
        let subjectSlot = try #require(slot(named: "s:discount", in: v))
        let bodySlot = try #require(slot(named: "w:discount", in: v))
        #expect(subjectSlot != bodySlot)
        // Every named slot is one of the vector's features.
        let all = Set(v.tokens).union(v.ngrams)
        for slot in try #require(v.names).keys { #expect(all.contains(slot)) }
        // "pills" is only in the subject: no body feature for it.
        #expect(!names.contains("w:pills"))
    }

    static let sizes = [1, 10, 100, 5_000]

    @Test(arguments: sizes)
    func tokensAndNgramsAreUnique(words: Int) {
        let v = features(Synth.message(spam: true, index: words, words: words), keepNames: false)
        for list in [v.tokens, v.ngrams] {
            #expect(Set(list).count == list.count, "duplicate slots")
            #expect(!list.isEmpty)
            #expect(list.allSatisfy { $0 <= FeatureConfiguration.default.slotMask })
        }
        #expect(v.count == v.tokens.count + v.ngrams.count)
    }

    /// About 2 MB of random letter strings in one text/plain body.
    static func hugeMessage(bytes target: Int, seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        var body: [UInt8] = []
        body.reserveCapacity(target + 64)
        let letters = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        var lineLength = 0
        while body.count < target {
            let n = 3 + rng.next(below: 8)
            for _ in 0..<n { body.append(letters[rng.next(below: 26)]) }
            lineLength += n + 1
            if lineLength > 70 {
                body.append(0x0A)
                lineLength = 0
            } else {
                body.append(0x20)
            }
        }
        return Self.bodyMessage(String(decoding: body, as: UTF8.self), subject: "lots of random words here")
    }

    @Test(arguments: [20_000, 1_000])
    func hugeMessageStaysWithinMaxTokens(maxTokens: Int) {
        var config = FeatureConfiguration.default
        config.maxTokens = maxTokens
        let text = Self.hugeMessage(bytes: 2 << 20, seed: 99)
        #expect(text.utf8.count > 2 << 20)
        let v = features(text, keepNames: false, extractor: FeatureExtractor(configuration: config))
        // Header and structure features add a few dozen tokens beyond the word budget.
        let slack = 200
        #expect(v.tokens.count <= maxTokens + slack)
        // Random words are nearly all distinct, so the budget is actually reached (not a vacuous bound).
        #expect(v.tokens.count >= maxTokens * 9 / 10)
        // N-grams: at most one word pair per word, plus the byte 4-grams of the text budget.
        #expect(v.ngrams.count <= maxTokens + config.ngramTextBytes + slack)
    }
}

@Suite("Authentication features")
struct AuthenticationFeatureTests {
    static let message = Array("""
        Authentication-Results: forged.example; dmarc=pass header.from=bank.example\r
        Received: from mx.example.org\r
        Authentication-Results: mx.example.org; spf=fail smtp.mailfrom=bank.example;\r
         dkim=none (no signature); dmarc=fail (p=reject) header.from=bank.example; arc=none\r
        From: Bank <service@bank.example>\r
        Subject: verify your account\r
        \r
        Click here.\r
        """.utf8)

    func names(_ v: FeatureVector) -> Set<String> { Set(v.names?.values.map { $0 } ?? []) }

    @Test func lastFieldGivesMethodResultFeatures() {
        let scanner = MessageScanner(model: StatisticalModel())
        let m = scanner.parse(Self.message)
        let n = names(scanner.features(m, keepNames: true))
        #expect(n.isSuperset(of: ["auth:spf=fail", "auth:dkim=none", "auth:dmarc=fail", "auth:arc=none"]), "\(n.filter { $0.hasPrefix("auth:") })")
        #expect(!n.contains("auth:dmarc=pass"), "only the last field (the one Spamward adds) counts")
    }

    @Test func scanUsesTheStagesResultsAndTheyMatchALaterLearn() {
        let scanner = MessageScanner(model: StatisticalModel())
        let plain = scanner.parse(Array("From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n".utf8))
        var context = ScanContext()
        context.authenticationResults = "mx.test; spf=pass smtp.mailfrom=b.example; dkim=pass header.d=b.example"
        let scanned = scanner.features(plain, hits: [], keepNames: true, authenticationResults: context.authenticationResults)
        #expect(names(scanned).isSuperset(of: ["auth:spf=pass", "auth:dkim=pass"]))
        // The delivered copy carries the field; learning it sees the same features.
        let delivered = scanner.parse(Array("Authentication-Results: \(context.authenticationResults ?? "")\r\nFrom: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n".utf8))
        let learned = scanner.features(delivered, hits: [], keepNames: true)
        #expect(names(learned).filter { $0.hasPrefix("auth:") } == names(scanned).filter { $0.hasPrefix("auth:") })
    }
}
