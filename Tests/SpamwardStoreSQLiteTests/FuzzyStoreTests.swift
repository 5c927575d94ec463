import SpamwardCore
import Testing

@testable import SpamwardStoreSQLite

@Suite("SQLite fuzzy store")
struct SQLiteFuzzyStoreTests {
    @Test func recordsRoundTripAndDelete() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteModelStore(path: dir.databasePath)
        let a = FuzzyRecord(id: 1, label: .spam, minHash: (0..<128).map { UInt32($0) &* 2_654_435_761 }, addedAt: 100)
        let b = FuzzyRecord(id: UInt64.max, label: .ham, minHash: [0, 1, .max], addedAt: 200, count: 3)
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
}
