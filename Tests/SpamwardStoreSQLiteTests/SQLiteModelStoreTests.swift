import Foundation
import GRDB
import SpamwardCore
import Testing

@testable import SpamwardStoreSQLite

// MARK: - Fixtures

/// A folder that is removed when the value goes away; one per test, so tests can run in parallel.
final class TemporaryDirectory: Sendable {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("spamward-store-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    /// A database path in a folder that does not exist yet (the store creates it).
    var databasePath: String { path + "/nested/folder/spamward.sqlite" }
}

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemoryStore, sqliteInMemory, sqliteFile
    var testDescription: String { rawValue }

    /// A fresh, empty store, and the folder that must outlive it.
    func make() throws -> (store: any ModelStore, directory: TemporaryDirectory?) {
        switch self {
        case .inMemoryStore: return (InMemoryStore(), nil)
        case .sqliteInMemory: return (try SQLiteModelStore.inMemory(), nil)
        case .sqliteFile:
            let dir = try TemporaryDirectory()
            return (try SQLiteModelStore(path: dir.databasePath), dir)
        }
    }
}

func digest(_ n: Int) -> MessageDigest {
    var bytes = [UInt8](repeating: 0xA5, count: 16)
    withUnsafeBytes(of: UInt64(n).littleEndian) { raw in
        for (i, b) in raw.enumerated() { bytes[i] = b }
    }
    return MessageDigest(bytes: bytes)
}

func record(_ n: Int, _ label: Label, magnitude: Float = 0.25, at time: Int64 = 1_700_000_000) -> LearnRecord {
    LearnRecord(digest: digest(n), label: label, magnitude: magnitude, learnedAt: time)
}

func snapshot(payload: [UInt8], spam: Int = 3, ham: Int = 4, updatedAt: Int64 = 1_700_000_123) -> ModelSnapshot {
    ModelSnapshot(
        metadata: ModelMetadata(
            tokenizerVersion: 7, hashSeed: 0xF00D_CAFE_DEAD_BEEF, featureBits: 22,
            learnedSpam: spam, learnedHam: ham, updatedAt: updatedAt),
        payload: payload)
}

/// Deterministic, incompressible-looking bytes.
func bytes(count: Int, seed: UInt64 = 42) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        out[i] = UInt8(truncatingIfNeeded: state >> 56)
    }
    return out
}

// MARK: - The contract every ModelStore keeps

@Suite struct ModelStoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func emptyStoreHasNothing(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.make()
        _ = dir
        #expect(try await store.loadModel() == nil)
        #expect(try await store.learnRecords(for: []) == [:])
        #expect(try await store.learnRecords(for: [digest(1)]) == [:])
        #expect(try await store.statistics() == StoreStatistics(learnedSpam: 0, learnedHam: 0, modelBytes: 0, modelUpdatedAt: nil))
    }

    @Test(arguments: StoreKind.allCases)
    func saveThenLoadRoundTrips(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.make()
        _ = dir
        let first = snapshot(payload: bytes(count: 4096))
        try await store.save(first, changes: [])
        #expect(try await store.loadModel() == first)

        // A second save replaces the model (the seed keeps its high bit: stored as a bit pattern).
        var second = snapshot(payload: bytes(count: 100, seed: 9), spam: 10, ham: 20, updatedAt: 1_800_000_000)
        second.metadata.hashSeed = .max
        try await store.save(second, changes: [])
        #expect(try await store.loadModel() == second)
        let stats = try await store.statistics()
        #expect(stats.modelBytes == 100 && stats.modelUpdatedAt == 1_800_000_000)
    }

    @Test(arguments: StoreKind.allCases)
    func emptyPayloadRoundTrips(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.make()
        _ = dir
        let empty = snapshot(payload: [])
        try await store.save(empty, changes: [])
        #expect(try await store.loadModel() == empty)
        #expect(try await store.statistics().modelBytes == 0)
    }

    @Test(arguments: StoreKind.allCases)
    func changesAreAppliedInOrder(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.make()
        _ = dir
        let a = record(1, .spam, magnitude: 0.1)
        let b = record(2, .ham, magnitude: 1.5, at: 5)
        let c = record(3, .spam, magnitude: -0.3)
        try await store.save(snapshot(payload: [1, 2, 3]), changes: [.upsert(a), .upsert(b), .upsert(c)])
        #expect(try await store.learnRecords(for: [a.digest, b.digest, c.digest, digest(99)]) == [a.digest: a, b.digest: b, c.digest: c])
        #expect(try await store.statistics() == StoreStatistics(learnedSpam: 2, learnedHam: 1, modelBytes: 3, modelUpdatedAt: 1_700_000_123))

        // Relearn a as ham, forget b, forget and re-add c, forget a digest never learned.
        let a2 = record(1, .ham, magnitude: 0.75, at: 1_900_000_000)
        try await store.save(
            snapshot(payload: [4]),
            changes: [.upsert(a2), .remove(b.digest), .remove(c.digest), .upsert(c), .remove(digest(42))])
        #expect(try await store.learnRecords(for: [a.digest, b.digest, c.digest]) == [a.digest: a2, c.digest: c])
        #expect(try await store.statistics() == StoreStatistics(learnedSpam: 1, learnedHam: 1, modelBytes: 1, modelUpdatedAt: 1_700_000_123))
    }

    @Test(arguments: StoreKind.allCases)
    func manyDigestsAreLookedUpInBatches(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.make()
        _ = dir
        let records = (0..<1234).map { record($0, $0 % 3 == 0 ? .ham : .spam, magnitude: Float($0) / 8) }
        try await store.save(snapshot(payload: [0]), changes: records.map { .upsert($0) })
        // 1,300 asked for (66 of them never learned), with repeats: crosses the 500-per-query chunks.
        let asked = (0..<1300).map(digest) + (0..<50).map(digest)
        let found = try await store.learnRecords(for: asked)
        #expect(found.count == 1234)
        #expect(found == Dictionary(uniqueKeysWithValues: records.map { ($0.digest, $0) }))
        let stats = try await store.statistics()
        #expect(stats.learnedHam == 412 && stats.learnedSpam == 822)
    }

    @Test(arguments: StoreKind.allCases)
    func largePayloadRoundTrips(_ kind: StoreKind) async throws {
        let (store, dir) = try kind.make()
        _ = dir
        let big = snapshot(payload: bytes(count: 20 * 1024 * 1024, seed: 7))
        try await store.save(big, changes: [.upsert(record(1, .spam))])
        let loaded = try await store.loadModel()
        #expect(loaded?.payload.count == big.payload.count)
        #expect(loaded == big)
        #expect(try await store.statistics().modelBytes == 20 * 1024 * 1024)
    }
}

// MARK: - SQLite specifics

@Suite struct SQLiteModelStoreTests {
    @Test func reopenedFileSeesTheSavedData() async throws {
        let dir = try TemporaryDirectory()
        let model = snapshot(payload: bytes(count: 300_000))
        let r = record(5, .ham, magnitude: 2)
        do {
            let store = try SQLiteModelStore(path: dir.databasePath)
            #expect(store.path == dir.databasePath)
            try await store.save(model, changes: [.upsert(r)])
        }
        #expect(FileManager.default.fileExists(atPath: dir.databasePath))
        let reopened = try SQLiteModelStore(path: dir.databasePath)
        #expect(try await reopened.loadModel() == model)
        #expect(try await reopened.learnRecords(for: [r.digest]) == [r.digest: r])
        #expect(try await reopened.statistics().learnedHam == 1)
    }

    @Test func fileStoreIsInWALModeWithTheSchemaVersion() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteModelStore(path: dir.databasePath)
        let (mode, version, tables) = try await store.writer.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try MetaRow.fetchOne(db, key: MetaRow.Key.schemaVersion)?.value,
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' ORDER BY name")
            )
        }
        #expect(mode == "wal")
        #expect(version == "v1")
        #expect(tables == ["edge_greylist", "edge_passed", "fuzzy", "learned", "meta", "model"])
        #expect(try SQLiteModelStore.inMemory().path == nil)
    }

    @Test func aSaveThatFailsMidwayLeavesTheOldState() async throws {
        let store = try SQLiteModelStore.inMemory()
        let old = snapshot(payload: [1, 1, 1])
        let kept = record(1, .spam)
        try await store.save(old, changes: [.upsert(kept)])
        let before = try await store.statistics()

        // The model row and two changes are written before the 8-byte digest breaks a CHECK.
        let bad = LearnRecord(digest: MessageDigest(bytes: [1, 2, 3, 4, 5, 6, 7, 8]), label: .ham, magnitude: 1, learnedAt: 0)
        await #expect(throws: DatabaseError.self) {
            try await store.save(
                snapshot(payload: [2, 2], spam: 99),
                changes: [.remove(kept.digest), .upsert(record(2, .ham)), .upsert(bad)])
        }
        #expect(try await store.loadModel() == old)
        #expect(try await store.learnRecords(for: [kept.digest, digest(2)]) == [kept.digest: kept])
        #expect(try await store.statistics() == before)
    }

    @Test func aThrowingTransactionIsRolledBack() async throws {
        struct Abort: Error {}
        let dir = try TemporaryDirectory()
        let store = try SQLiteModelStore(path: dir.databasePath)
        let old = snapshot(payload: [9])
        try await store.save(old, changes: [.upsert(record(1, .ham))])
        await #expect(throws: Abort.self) {
            try await store.writer.write { db in
                try db.execute(sql: "UPDATE model SET payload = x'00', learned_spam = 1000")
                try db.execute(sql: "DELETE FROM learned")
                throw Abort()
            }
        }
        #expect(try await store.loadModel() == old)
        #expect(try await store.statistics().learnedHam == 1)
    }

    @Test func theSchemaRefusesWhatTheModelCannotMean() async throws {
        let store = try SQLiteModelStore.inMemory()
        try await store.writer.write { db in
            let payload = Data([1])
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO model VALUES (2, 1, 1, 1, 0, 0, 0, ?)", arguments: [payload])
            }
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO model VALUES (1, 1, 1, 1, 0, 0, 0, NULL)")
            }
            #expect(throws: DatabaseError.self) {
                try db.execute(
                    sql: "INSERT INTO learned VALUES (?, 'maybe', 1.0, 0)", arguments: [Data(repeating: 1, count: 16)])
            }
        }
    }

    @Test func aFileFromANewerSpamwardIsRefused() async throws {
        let dir = try TemporaryDirectory()
        do {
            let store = try SQLiteModelStore(path: dir.databasePath)
            try await store.writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
            }
        }
        #expect {
            _ = try SQLiteModelStore(path: dir.databasePath)
        } throws: { error in
            (error as? SQLiteModelStoreError)?.code == .newerSchema
        }
    }

    @Test func migrationsCanBeAppliedStepByStep() throws {
        let queue = try DatabaseQueue()
        try SQLiteModelStore.migrator.migrate(queue, upTo: "v1")
        let applied = try queue.read { try SQLiteModelStore.migrator.appliedMigrations($0) }
        #expect(applied == ["v1"])
        // Opening an up-to-date database is a no-op.
        _ = try SQLiteModelStore(writer: queue, path: nil)
    }

    @Test func vacuumKeepsTheData() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteModelStore(path: dir.databasePath)
        try await store.save(snapshot(payload: bytes(count: 2_000_000)), changes: [])
        let small = snapshot(payload: [7, 7])
        try await store.save(small, changes: [.upsert(record(3, .spam))])
        try await store.vacuum()
        #expect(try await store.loadModel() == small)
        #expect(try await store.statistics().learnedSpam == 1)
    }

    @Test func defaultPathFollowsXDG() {
        #expect(
            SQLiteModelStore.defaultPath(environment: ["XDG_DATA_HOME": "/data", "HOME": "/home/u"])
                == "/data/spamward/spamward.sqlite")
        #expect(
            SQLiteModelStore.defaultPath(environment: ["XDG_DATA_HOME": "relative", "HOME": "/home/u"])
                == "/home/u/.local/share/spamward/spamward.sqlite")
        #expect(
            SQLiteModelStore.defaultPath(environment: ["HOME": "/home/u"])
                == "/home/u/.local/share/spamward/spamward.sqlite")
        #expect(SQLiteModelStore.defaultPath().hasSuffix("/spamward/spamward.sqlite"))
    }

    @Test func anUncreatableFolderIsAStoreError() {
        #expect {
            _ = try SQLiteModelStore(path: "/proc/spamward-cannot-exist/x/spamward.sqlite")
        } throws: { error in
            (error as? SQLiteModelStoreError)?.code == .cannotCreateDirectory
        }
    }
}
