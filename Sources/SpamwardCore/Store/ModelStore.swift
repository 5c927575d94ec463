/// The true class of a message.
public enum Label: String, Sendable, Hashable, Codable, CaseIterable {
    case spam, ham
    public var opposite: Label { self == .spam ? .ham : .spam }
}

/// A stable digest of a message's content, used to make learning idempotent.
public struct MessageDigest: Hashable, Sendable, Codable, CustomStringConvertible {
    /// 16 bytes.
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    public init?(hex: String) {
        let u = Array(hex.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        bytes = out
    }
    public var description: String { hex }
}

/// What the store remembers of one learned message: enough to make learning idempotent and
/// to undo the learn exactly (``magnitude`` is the learner's update size for that message).
public struct LearnRecord: Sendable, Hashable, Codable {
    public var digest: MessageDigest
    public var label: Label
    /// The learner-specific size of the update that this learn applied (see ``Classifier``).
    public var magnitude: Float
    /// Seconds since 1970.
    public var learnedAt: Int64
    public init(digest: MessageDigest, label: Label, magnitude: Float, learnedAt: Int64) {
        self.digest = digest
        self.label = label
        self.magnitude = magnitude
        self.learnedAt = learnedAt
    }
}

/// A change to the set of learned messages, saved together with the model that includes it.
public enum LearnChange: Sendable, Hashable {
    case upsert(LearnRecord)
    case remove(MessageDigest)
}

/// Facts stored beside the model: what must match for the model to be usable.
public struct ModelMetadata: Sendable, Hashable, Codable {
    /// Version of the tokenizer / feature extractor that produced the hashed features.
    public var tokenizerVersion: Int
    /// Seed of the stable feature hash.
    public var hashSeed: UInt64
    /// log2 of the number of hashed feature slots.
    public var featureBits: Int
    public var learnedSpam: Int
    public var learnedHam: Int
    /// Seconds since 1970 of the last save.
    public var updatedAt: Int64
    public init(tokenizerVersion: Int, hashSeed: UInt64, featureBits: Int, learnedSpam: Int, learnedHam: Int, updatedAt: Int64) {
        self.tokenizerVersion = tokenizerVersion
        self.hashSeed = hashSeed
        self.featureBits = featureBits
        self.learnedSpam = learnedSpam
        self.learnedHam = learnedHam
        self.updatedAt = updatedAt
    }
}

/// A serialized model: the metadata plus an opaque payload that only the classifier reads.
public struct ModelSnapshot: Sendable, Hashable {
    public var metadata: ModelMetadata
    public var payload: [UInt8]
    public init(metadata: ModelMetadata, payload: [UInt8]) {
        self.metadata = metadata
        self.payload = payload
    }
}

/// Counts a store reports.
public struct StoreStatistics: Sendable, Hashable, Codable {
    public var learnedSpam: Int
    public var learnedHam: Int
    public var modelBytes: Int
    public var modelUpdatedAt: Int64?
    public init(learnedSpam: Int, learnedHam: Int, modelBytes: Int, modelUpdatedAt: Int64?) {
        self.learnedSpam = learnedSpam
        self.learnedHam = learnedHam
        self.modelBytes = modelBytes
        self.modelUpdatedAt = modelUpdatedAt
    }
}

/// Where the model and the record of learned messages live.
///
/// The store is asked once per message (or per batch), never per token: the learner's hot
/// state lives in memory, and the store persists it. Implementations must make ``save(_:changes:)``
/// atomic: after a crash, either the old model and old records or the new model and new
/// records are visible, never a mix.
public protocol ModelStore: Sendable {
    /// The last saved model, or `nil` for a fresh store.
    func loadModel() async throws -> ModelSnapshot?
    /// Saves the model and applies the learn-record changes in one transaction.
    func save(_ snapshot: ModelSnapshot, changes: [LearnChange]) async throws
    /// The records of those digests that were learned (absent ones are missing from the result).
    func learnRecords(for digests: [MessageDigest]) async throws -> [MessageDigest: LearnRecord]
    /// Counts for `stats`.
    func statistics() async throws -> StoreStatistics
}
