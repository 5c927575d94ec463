/// The hashed, binary features of one message.
///
/// `tokens` are the word, header, URL and structure features that both models use; `ngrams`
/// are byte n-grams and word pairs that only the discriminative model uses. Both are slot
/// indices without duplicates, in the order features were first seen. `names` maps slots to readable names when extraction was
/// asked to keep them (for explanations).
public struct FeatureVector: Sendable {
    public var tokens: [UInt32] = []
    public var ngrams: [UInt32] = []
    public var names: [UInt32: String]? = nil
    /// The text words of the fuzzy fingerprint, collected by the same word pass when extraction
    /// was asked for them (``FeatureExtractor/extract(_:keepNames:ruleNames:authenticationResults:textWordLimit:)``).
    public var textWords: TextWords? = nil
    public init() {}
    public var count: Int { tokens.count + ngrams.count }
}

/// The words of a message's text parts that its fuzzy fingerprint is made of, in order: the
/// feature extractor's body words (`w:`, with their feature hashes) that ``TextNormalizer/accepts(_:)``
/// takes (letters only, 2 to 20 bytes, not random-looking, not inside a URL), at most `limit`.
///
/// A scan collects them while it reads the words for its features (one pass over the text for
/// both); ``FeatureExtractor/textWords(_:limit:)`` reads them alone, with the same steps, for a
/// message that is fingerprinted without a scan (learning). Both give the same words.
public struct TextWords: Sendable, Hashable {
    /// The words' hashes (the `w:` feature hashes before the slot mask).
    public internal(set) var hashes: [UInt64]
    /// How many text parts the words come from: the parts up to the one where `limit` was
    /// reached, else all of them.
    public internal(set) var partsRead: Int
    /// The hash seed and word limit they were collected with (a fingerprinter uses them only
    /// when both are its own).
    public let seed: UInt64
    public let limit: Int
}

