import Foundation
import GRDB
import SpamwardCore

/// The single row of table `model`: the serialized model and the facts it depends on.
struct ModelRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "model"
    /// Always 1 (the schema enforces a single row).
    var id: Int64 = 1
    var tokenizerVersion: Int64
    /// The UInt64 seed's bit pattern (SQLite integers are signed).
    var hashSeed: Int64
    var featureBits: Int64
    var learnedSpam: Int64
    var learnedHam: Int64
    var updatedAt: Int64
    var payload: Data

    enum CodingKeys: String, CodingKey {
        case id
        case tokenizerVersion = "tokenizer_version"
        case hashSeed = "hash_seed"
        case featureBits = "feature_bits"
        case learnedSpam = "learned_spam"
        case learnedHam = "learned_ham"
        case updatedAt = "updated_at"
        case payload
    }

    init(_ snapshot: ModelSnapshot) {
        let m = snapshot.metadata
        tokenizerVersion = Int64(m.tokenizerVersion)
        hashSeed = Int64(bitPattern: m.hashSeed)
        featureBits = Int64(m.featureBits)
        learnedSpam = Int64(m.learnedSpam)
        learnedHam = Int64(m.learnedHam)
        updatedAt = m.updatedAt
        payload = Data(snapshot.payload)
    }

    var snapshot: ModelSnapshot {
        ModelSnapshot(
            metadata: ModelMetadata(
                tokenizerVersion: Int(tokenizerVersion), hashSeed: UInt64(bitPattern: hashSeed),
                featureBits: Int(featureBits), learnedSpam: Int(learnedSpam), learnedHam: Int(learnedHam),
                updatedAt: updatedAt),
            payload: [UInt8](payload))
    }
}
