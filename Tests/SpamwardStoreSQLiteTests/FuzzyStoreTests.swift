import GRDB
import SpamwardCore
import Testing

@testable import SpamwardStoreSQLite

@Suite("SQLite fuzzy store")
struct SQLiteFuzzyStoreTests {
    @Test func recordsRoundTripAndDelete() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteModelStore(path: dir.databasePath)
        let a = FuzzyRecord(id: 1, label: .spam, minHash: (0..<128).map { UInt32($0) &* 2_654_435_761 }, addedAt: 100,
                            version: FingerprintConfiguration.default.version)
        let b = FuzzyRecord(id: UInt64.max, label: .ham, minHash: [0, 1, .max], addedAt: 200, count: 3, version: .max)
        try await store.saveFuzzyRecords(upsert: [a, b], delete: [])
        // Reopened: the records survive a restart, bit for bit.
        let reopened = try SQLiteModelStore(path: dir.databasePath)
        #expect(try await reopened.loadFuzzyRecords() == [b, a].sorted { Int64(bitPattern: $0.id) < Int64(bitPattern: $1.id) })
        var a2 = a
        a2.count = 2
        try await reopened.saveFuzzyRecords(upsert: [a2], delete: [UInt64.max])
        #expect(try await reopened.loadFuzzyRecords() == [a2])
    }

    @Test func aFuzzyIndexRestoresFromTheStore() async throws {
        let store = try SQLiteModelStore.inMemory()
        var index = FuzzyIndex()
        let fingerprint = MessageFingerprint(minHash: (0..<128).map { UInt32($0) &* 40_503 &+ 7 }, words: 60, htmlStructure: 0, urlDomains: [])
        let changes = index.add(fingerprint, as: .spam, now: 10)
        try await store.saveFuzzyRecords(upsert: changes.upsert, delete: changes.delete)
        var restored = FuzzyIndex()
        restored.restore(try await store.loadFuzzyRecords())
        #expect(restored.count == 1)
        #expect(restored.match(fingerprint, now: 20).first?.label == .spam)
    }

    /// Rows stored before fingerprint versions (definition 1: the column's default 0) and rows of
    /// another configuration are dropped on restore and deleted from the store; current ones stay.
    @Test func fingerprintsOfAnotherVersionAreDroppedOnRestore() async throws {
        let store = try SQLiteModelStore.inMemory()
        try await store.writer.write { db in
            try db.execute(sql: "INSERT INTO fuzzy (id, label, signature, added_at, count) VALUES (5, 'spam', zeroblob(512), 100, 1)")
        }
        var other = FingerprintConfiguration()
        other.seed = 1
        let signature = (0..<128).map { UInt32($0) &* 40_503 &+ 7 }
        let current = FuzzyRecord(id: 6, label: .spam, minHash: signature, addedAt: 100, version: FingerprintConfiguration.default.version)
        let foreign = FuzzyRecord(id: 7, label: .spam, minHash: signature, addedAt: 100, version: other.version)
        try await store.saveFuzzyRecords(upsert: [current, foreign], delete: [])
        #expect(try await store.loadFuzzyRecords().map(\.version) == [0, current.version, other.version])
        #expect(other.version != current.version)
        let monitor = CampaignMonitor(store: store, publicSuffixList: nil)
        try await monitor.restore()
        #expect(try await store.loadFuzzyRecords().map(\.id) == [6])
    }
}
