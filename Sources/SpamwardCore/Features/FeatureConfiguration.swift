/// How messages are turned into hashed features. Stored beside the model (version, seed and
/// bits); a model trained with other values is refused.
public struct FeatureConfiguration: Sendable, Hashable, Codable {
    /// Version of the tokenizer: bump whenever extraction changes what a feature means.
    public static let currentTokenizerVersion = 1

    public var tokenizerVersion: Int
    /// Seed of the stable hash.
    public var hashSeed: UInt64
    /// log2 of the number of hashed feature slots (default 22: 4,194,304 slots).
    public var featureBits: Int
    /// Bytes of visible text (subject first) that byte n-grams are taken from (default 1,000).
    public var ngramTextBytes: Int
    /// Bytes of the raw header block that byte n-grams are taken from (default 2,000).
    public var ngramHeaderBytes: Int
    /// Word tokens taken per message (default 20,000).
    public var maxTokens: Int
    /// Whether word pairs (adjacent words) are features for the discriminative model (default off:
    /// measured worse on the SpamAssassin corpus).
    public var wordPairs: Bool
    /// Whether the names of the header fields present are features.
    public var headerNameFeatures: Bool
    /// How many Received fields (from the top) give IP-prefix and host features.
    public var receivedFields: Int

    public init(
        tokenizerVersion: Int = FeatureConfiguration.currentTokenizerVersion,
        hashSeed: UInt64 = 0x5350_414D_5741_5244,  // "SPAMWARD"
        featureBits: Int = 22,
        ngramTextBytes: Int = 1_000,
        ngramHeaderBytes: Int = 2_000,
        maxTokens: Int = 20_000,
        wordPairs: Bool = false,
        headerNameFeatures: Bool = false,
        receivedFields: Int = 2
    ) {
        self.headerNameFeatures = headerNameFeatures
        self.receivedFields = receivedFields
        self.tokenizerVersion = tokenizerVersion
        self.hashSeed = hashSeed
        self.featureBits = featureBits
        self.ngramTextBytes = ngramTextBytes
        self.ngramHeaderBytes = ngramHeaderBytes
        self.maxTokens = maxTokens
        self.wordPairs = wordPairs
    }

    public static let `default` = FeatureConfiguration()
    public var slotCount: Int { 1 << featureBits }
    public var slotMask: UInt32 { UInt32(truncatingIfNeeded: (1 << featureBits) - 1) }
}
