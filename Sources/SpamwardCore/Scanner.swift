#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailMessage

/// Scores messages: bytes → ``Message`` → ``FeatureVector`` → ``Verdict``.
///
/// A value type: copy it freely between tasks; the model's storage is shared copy-on-write.
public struct MessageScanner: Sendable {
    public var model: StatisticalModel
    public var extractor: FeatureExtractor
    public var thresholds: Thresholds
    public var limits: ParseLimits
    /// Content features listed in an explanation.
    public var explanationSize: Int = 10
    /// The rules evaluated on every scan (and, for their features, on every learn).
    public var rules: RuleSet = .standard
    /// Whether rule hits are features the learner weighs (`rule:NAME`). Learning and scanning use
    /// the same scanner, so they see the same rule features.
    public var ruleFeatures: Bool = true
    /// Whether rule scores add to the verdict's score.
    public var ruleScores: Bool = true

    public init(model: StatisticalModel, thresholds: Thresholds = .default, limits: ParseLimits = .default) {
        self.model = model
        self.extractor = FeatureExtractor(configuration: model.configuration)
        self.thresholds = thresholds
        self.limits = limits
    }

    public func parse(_ bytes: [UInt8]) -> Message { MessageParser.parse(bytes, limits: limits) }

    /// The features of `message`, rule hits (`rule:NAME`) included when ``ruleFeatures`` is on.
    public func features(_ message: Message, keepNames: Bool = false) -> FeatureVector {
        guard ruleFeatures else { return features(message, hits: [], keepNames: keepNames) }
        let (hits, known) = rules.evaluateRules(message, sharing: true)
        return features(message, hits: hits, keepNames: keepNames, known: known)
    }

    /// The features of `message` given its rule hits (evaluated once by the caller).
    ///
    /// Authentication results are features too (`auth:spf=pass`, `auth:dmarc=fail`, …): from
    /// `authenticationResults` (the value this scan's authentication stage produced), else from
    /// the message's last `Authentication-Results` field, which is the one Spamward's front ends
    /// add. Learning a delivered message thus sees the same features its scan saw.
    ///
    /// With `textWordLimit` > 0 the vector carries the fuzzy fingerprint's words
    /// (``FeatureVector/textWords``).
    public func features(_ message: Message, hits: [RuleHit], keepNames: Bool = false,
                         authenticationResults: String? = nil, textWordLimit: Int = 0) -> FeatureVector {
        features(message, hits: hits, keepNames: keepNames, authenticationResults: authenticationResults,
                 textWordLimit: textWordLimit, known: nil)
    }

    /// ``features(_:hits:keepNames:authenticationResults:textWordLimit:)`` given the header values
    /// the evaluation of `hits` made (``RuleSet/evaluateRules(_:sharing:)``), not computed again.
    func features(_ message: Message, hits: [RuleHit], keepNames: Bool = false, authenticationResults: String? = nil,
                  textWordLimit: Int = 0, known: KnownHeaderValues?) -> FeatureVector {
        let ar = authenticationResults ?? message.headers.all("Authentication-Results").last?.value
        return extractor.extract(message, keepNames: keepNames, authenticationResults: ar.map(Self.authenticationTokens) ?? [],
                                 textWordLimit: textWordLimit, ruleHits: ruleFeatures ? hits : [], known: known)
    }

    /// How many fingerprint words this scanner's word pass collects for `fingerprinter`: its
    /// word limit when the two hash words alike (the same seed), else 0 (it reads them itself).
    func textWordLimit(for fingerprinter: Fingerprinter) -> Int {
        fingerprinter.wordExtractor.configuration.hashSeed == extractor.configuration.hashSeed ? max(0, fingerprinter.configuration.maxWords) : 0
    }

    /// `method=result` of each result in an RFC 8601 field value (the authserv-id dropped),
    /// lower-cased, for SPF, DKIM, DMARC and ARC; at most 16.
    static func authenticationTokens(_ value: String) -> [String] {
        var out: [String] = []
        for clause in value.split(separator: ";").dropFirst().prefix(16) {
            let token = clause.drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
                .prefix { $0 != " " && $0 != "\t" && $0 != "\r" && $0 != "\n" && $0 != "(" }
            guard let eq = token.firstIndex(of: "=") else { continue }
            let method = token[..<eq].lowercased()
            guard ["spf", "dkim", "dmarc", "arc"].contains(method) else { continue }
            let t = method + "=" + token[token.index(after: eq)...].lowercased()
            if !out.contains(t) { out.append(t) }
        }
        return out
    }

    /// The rules that hit `message`.
    public func ruleHits(_ message: Message) -> [RuleHit] { rules.evaluate(message) }

    /// The digest used to make learning idempotent: the Message-ID and the body bytes, so that
    /// headers added in transit or by filters (Received, X-Spam-*) do not change it. Line
    /// endings (CRLF or LF) and trailing white space at the end of the body are normalized,
    /// so the same message read from SMTP, a Maildir or an mbox has the same digest.
    public static func digest(of message: Message) -> MessageDigest {
        MessageDigest.of(messageID: (message.headers["Message-ID"] ?? "").utf8, body: message.body)
    }

    public func scan(_ bytes: [UInt8], context: ScanContext = .none, explain: Bool = true) -> Verdict {
        scan(parse(bytes), context: context, explain: explain)
    }

    /// Only the numeric score (no explanation): the fast path for evaluations.
    public func score(_ message: Message) -> Double {
        let (hits, known) = rules.evaluateRules(message, sharing: true)
        let v = features(message, hits: hits, known: known)
        return model.score(v).combined + (ruleScores ? hits.reduce(0) { $0 + $1.score } : 0)
    }

    /// ``score(_:)`` and the message's fuzzy fingerprint, with one pass over the text for both:
    /// the feature extractor collects the fingerprint's words as it reads the words of its features.
    public func score(_ message: Message, fingerprinter: Fingerprinter) -> (score: Double, fingerprint: MessageFingerprint) {
        let (hits, known) = rules.evaluateRules(message, sharing: true)
        let v = features(message, hits: hits, textWordLimit: textWordLimit(for: fingerprinter), known: known)
        let score = model.score(v).combined + (ruleScores ? hits.reduce(0) { $0 + $1.score } : 0)
        return (score, fingerprinter.fingerprint(message, textWords: v.textWords))
    }

    /// ``scan(_:context:explain:)`` and the message's fuzzy fingerprint, with one pass over the
    /// text for both (as ``score(_:fingerprinter:)``).
    public func scan(_ message: Message, context: ScanContext = .none, explain: Bool = true,
                     fingerprinter: Fingerprinter) -> (verdict: Verdict, fingerprint: MessageFingerprint) {
        let (verdict, words) = scan(message, context: context, explain: explain, textWordLimit: textWordLimit(for: fingerprinter))
        return (verdict, fingerprinter.fingerprint(message, textWords: words))
    }

    public func scan(_ message: Message, context: ScanContext = .none, explain: Bool = true) -> Verdict {
        scan(message, context: context, explain: explain, textWordLimit: 0).verdict
    }

    func scan(_ message: Message, context: ScanContext, explain: Bool, textWordLimit: Int) -> (verdict: Verdict, textWords: TextWords?) {
        let (hits, known) = rules.evaluateRules(message, sharing: true)
        let v = features(message, hits: hits, keepNames: explain, authenticationResults: context.authenticationResults,
                         textWordLimit: textWordLimit, known: known)
        let s = model.score(v)
        var symbols: [Symbol] = []
        var top: [FeatureContribution] = []
        if explain, let names = v.names {
            for (slot, w) in model.contributions(v, scores: s, limit: explanationSize) {
                top.append(FeatureContribution(feature: names[slot] ?? "slot:\(slot)", weight: w))
            }
        }
        let p = StatisticalModel.sigmoid(s.combined)
        if model.learnedSpam == 0 || model.learnedHam == 0 {
            symbols.append(Symbol(name: "STAT_UNTRAINED", score: s.combined,
                                  description: "statistical model has not learned both spam and ham yet"))
        } else {
            let name = s.combined >= 0 ? "STAT_SPAM" : "STAT_HAM"
            let desc = "statistical classifier: \(Self.percent(p)) spam (discriminative \(Self.fmt(s.discriminative)), tokens \(Self.fmt(s.tokenLogOdds)) over \(s.significantTokens) significant tokens)"
            symbols.append(Symbol(name: name, score: s.combined, description: desc,
                                  options: top.prefix(5).map { "\($0.feature) \(Self.fmt($0.weight))" }))
        }
        for h in hits {
            var sym = h.symbol
            if !ruleScores { sym.score = 0 }
            symbols.append(sym)
        }
        symbols.append(contentsOf: context.symbols)
        if !message.anomalies.isEmpty {
            symbols.append(Symbol(name: "MIME_ANOMALIES", score: 0,
                                  description: "parser found malformed or unusual structure (weighed by the classifier)",
                                  options: message.anomalies.map(\.name)))
        }
        let score = symbols.reduce(0) { $0 + $1.score }
        symbols.sort { abs($0.score) > abs($1.score) }
        let verdict = Verdict(score: score, probability: p, action: thresholds.action(for: score), thresholds: thresholds,
                              symbols: symbols, topFeatures: top,
                              digest: context.wantsDigest ? Self.digest(of: message).hex : "")
        return (verdict, v.textWords)
    }

    static func fmt(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return String(r)
    }
    static func percent(_ p: Double) -> String { String((p * 1000).rounded() / 10) + "%" }
}

/// GTUBE detection, used by the built-in rule of that name (see ``RuleSet``).
public enum Rules {
    static let gtube = Array("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X".utf8)

    /// ``gtube`` searched by its first `*` (index 3): `X`, its first byte, starts every `X-`
    /// header and is a base64 digit, so a search by it stopped many times a message; `*` is
    /// neither, and rare in mail.
    static let gtubeNeedle: LiteralPrefilter.Needle = {
        var needle = LiteralPrefilter.Needle(gtube)
        needle.rareIndex = 3
        return needle
    }()

    /// GTUBE, the standard anti-spam test string, in the raw message or its decoded text.
    public static func isGTUBE(_ m: borrowing Message) -> Bool {
        if m.bytes.withUnsafeBufferPointer({ containsGTUBE($0) }) { return true }
        // The parts read in place (iterating the array copies each part: its charset, text and HTML).
        return m.textParts.withUnsafeBufferPointer { parts in
            for k in parts.indices {
                var text = parts[k].text
                if text.withUTF8({ containsGTUBE($0) }) { return true }
            }
            return false
        }
    }

    /// Whether `hay` contains GTUBE (``gtubeNeedle``).
    static func containsGTUBE(_ hay: UnsafeBufferPointer<UInt8>) -> Bool {
        LiteralPrefilter.contains(hay, gtubeNeedle)
    }
}
