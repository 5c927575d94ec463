import Foundation
import GRDB
import SpamwardCore

/// A row of table `fuzzy`: one learned fingerprint (``FuzzyRecord``); the MinHash signature is a
/// blob of little-endian 32-bit values.
struct FuzzyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "fuzzy"
    var id: Int64
    var label: String
    var signature: Data
    var addedAt: Int64
    var count: Int64
    /// ``FuzzyRecord/version`` (bit pattern); 0 in rows stored before the column existed.
    var version: Int64

    enum CodingKeys: String, CodingKey {
        case id, label, signature, count, version
        case addedAt = "added_at"
    }

    init(_ r: FuzzyRecord) {
        id = Int64(bitPattern: r.id)
        label = r.label.rawValue
        var bytes: [UInt8] = []
        bytes.reserveCapacity(r.minHash.count * 4)
        for v in r.minHash {
            for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
        }
        signature = Data(bytes)
        addedAt = r.addedAt
        count = Int64(r.count)
        version = Int64(bitPattern: r.version)
    }

    func record() throws -> FuzzyRecord {
        guard let label = Label(rawValue: label) else {
            throw SQLiteModelStoreError(code: .corruptRow, detail: "fuzzy.label \(label)")
        }
        let bytes = [UInt8](signature)
        guard bytes.count % 4 == 0 else { throw SQLiteModelStoreError(code: .corruptRow, detail: "fuzzy.signature length \(bytes.count)") }
        var values: [UInt32] = []
        values.reserveCapacity(bytes.count / 4)
        for i in stride(from: 0, to: bytes.count, by: 4) {
            values.append(UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
        return FuzzyRecord(id: UInt64(bitPattern: id), label: label, minHash: values, addedAt: addedAt, count: Int(max(1, count)),
                           version: UInt64(bitPattern: version))
    }
}

extension SQLiteModelStore: FuzzyStore {
    public func loadFuzzyRecords() async throws -> [FuzzyRecord] {
        try await writer.read { db in try FuzzyRow.order(Column("id")).fetchAll(db) }.map { try $0.record() }
    }

    public func saveFuzzyRecords(upsert: [FuzzyRecord], delete: [UInt64]) async throws {
        try await writer.write { db in
            for r in upsert { try FuzzyRow(r).insert(db, onConflict: .replace) }
            for id in delete { try FuzzyRow.deleteOne(db, key: Int64(bitPattern: id)) }
        }
    }
}
