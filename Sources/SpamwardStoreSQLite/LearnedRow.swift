import Foundation
import GRDB
import SpamwardCore

/// A row of table `learned`: one learned message, keyed by its 16-byte digest.
struct LearnedRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "learned"
    var digest: Data
    /// "spam" or "ham" (``Label``'s raw value; the schema checks it).
    var label: String
    var magnitude: Double
    var learnedAt: Int64

    enum CodingKeys: String, CodingKey {
        case digest, label, magnitude
        case learnedAt = "learned_at"
    }

    init(_ record: LearnRecord) {
        digest = Data(record.digest.bytes)
        label = record.label.rawValue
        magnitude = Double(record.magnitude)
        learnedAt = record.learnedAt
    }

    func learnRecord() throws -> LearnRecord {
        guard let label = Label(rawValue: label) else {
            throw SQLiteModelStoreError(code: .corruptRow, detail: "learned.label \(label)")
        }
        return LearnRecord(
            digest: MessageDigest(bytes: [UInt8](digest)), label: label,
            magnitude: Float(magnitude), learnedAt: learnedAt)
    }
}
