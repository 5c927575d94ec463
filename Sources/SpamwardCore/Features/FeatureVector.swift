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
    public init() {}
    public var count: Int { tokens.count + ngrams.count }
}
