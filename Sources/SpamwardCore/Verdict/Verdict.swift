/// What to do with a message.
public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
    /// Deliver normally.
    case ham
    /// Deliver, tagged as possibly spam.
    case unsure
    /// Spam: reject, quarantine or file as junk, as the front end is configured.
    case spam
}

/// Score thresholds that map a score to an ``Action``.
public struct Thresholds: Sendable, Hashable, Codable {
    /// Scores at or above this are at least ``Action/unsure``. Default 0.5.
    public var unsure: Double
    /// Scores at or above this are ``Action/spam``. Default 2 (about 88% spam; measured to
    /// misfile about 0.1% of ham, see docs/evaluation.md).
    public var spam: Double
    public init(unsure: Double = 0.5, spam: Double = 2.0) {
        self.unsure = unsure
        self.spam = spam
    }
    public static let `default` = Thresholds()
    public func action(for score: Double) -> Action {
        score >= spam ? .spam : score >= unsure ? .unsure : .ham
    }
}

/// A named reason that moved the score: the explanation of a verdict.
public struct Symbol: Sendable, Hashable, Codable {
    /// Stable upper-case name (documented in docs/symbols.md).
    public var name: String
    /// Contribution to the score (positive: towards spam).
    public var score: Double
    /// One line for a human.
    public var description: String
    /// Details (the features behind a classifier symbol, the anomalies, …).
    public var options: [String]
    public init(name: String, score: Double, description: String, options: [String] = []) {
        self.name = name
        self.score = score
        self.description = description
        self.options = options
    }
}

/// One content feature and how much it moved the score.
public struct FeatureContribution: Sendable, Hashable, Codable {
    /// Readable name, e.g. `w:viagra`, `s:free`, `fd:example.com`, `4g:"ree "`.
    public var feature: String
    /// Contribution to the score (log-odds; positive: towards spam).
    public var weight: Double
    public init(feature: String, weight: Double) {
        self.feature = feature
        self.weight = weight
    }
}

/// The result of scanning a message: score, action, and why.
public struct Verdict: Sendable, Hashable, Codable {
    /// Spamminess: the log-odds that the message is spam, plus rule scores. Higher is spammier.
    public var score: Double
    /// Probability of spam according to the statistical model alone.
    public var probability: Double
    public var action: Action
    public var thresholds: Thresholds
    /// The symbols that add up to the score, largest first.
    public var symbols: [Symbol]
    /// The content features with the largest contributions (when explanations were asked for).
    public var topFeatures: [FeatureContribution]
    /// Digest of the message (hex), as used for learning; empty when the scan's context did not
    /// ask for it (``ScanContext/wantsDigest``).
    public var digest: String
    /// The RFC 8601 `Authentication-Results` field value (authserv-id first) when authentication
    /// ran before the scan; front ends add it to the message with the other verdict fields.
    public var authenticationResults: String?

    public init(score: Double, probability: Double, action: Action, thresholds: Thresholds, symbols: [Symbol],
                topFeatures: [FeatureContribution], digest: String) {
        self.score = score
        self.probability = probability
        self.action = action
        self.thresholds = thresholds
        self.symbols = symbols
        self.topFeatures = topFeatures
        self.digest = digest
    }
}
