import Logging
import MailAuth
import SpamwardCore
import SpamwardEdge
import SpamwardStoreSQLite
import Synchronization

/// The SMTP edge's temporary allowlist and greylisting triplets, kept in the SQLite store so
/// that they survive a restart (tables `edge_passed` and `edge_greylist`).
///
/// Passed clients are also held in memory (``InMemoryPassedClientStore``), filled from the
/// store at ``open(store:now:logger:)``: the per-connection check never touches SQLite. Writes
/// go to both; a store write that fails is logged and the entry stays in memory. Expired rows
/// are deleted at open and then at most once an hour, when a client is recorded.
public final class SQLiteEdgeState: PassedClientStore, GreylistStore {
    let store: SQLiteModelStore
    let memory: InMemoryPassedClientStore
    let logger: Logger
    let now: @Sendable () -> Int64
    private let lastPurge: Atomic<Int64>
    private let lastTripletPurge: Atomic<Int64>
    /// How long triplets are kept (learned from the edge's first ``purgeTriplets(before:)``; 0
    /// until then: no periodic purge).
    private let tripletRetention = Atomic<Int64>(0)

    init(store: SQLiteModelStore, memory: InMemoryPassedClientStore, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.memory = memory
        self.logger = logger
        self.now = now
        lastPurge = Atomic(now())
        lastTripletPurge = Atomic(now())
    }

    /// Purges what expired and loads the valid passed clients into memory.
    public static func open(store: SQLiteModelStore, logger: Logger,
                            now: @escaping @Sendable () -> Int64 = { WallClock.nowSeconds() }) async throws -> SQLiteEdgeState {
        let t = now()
        try await store.purgeEdgePassed(now: t)
        let rows = try await store.edgePassedClients(now: t)
        let memory = InMemoryPassedClientStore()
        memory.restore(rows.compactMap { row in IPAddress(row.address).map { ($0, row.expires) } }, now: t)
        logger.info("edge passed clients loaded", metadata: ["edge.passed.entries": "\(rows.count)"])
        return SQLiteEdgeState(store: store, memory: memory, logger: logger, now: now)
    }

    public func hasPassed(_ address: IPAddress, now: Int64) async -> Bool {
        await memory.hasPassed(address, now: now)
    }

    public func hasPassedWithoutWaiting(_ address: IPAddress, now: Int64) -> Bool? {
        memory.hasPassedWithoutWaiting(address, now: now)
    }

    public func recordPassed(_ address: IPAddress, expires: Int64) async {
        let t = now()
        // A client seen again within the hour keeps its stored expiry (one write per hour at most).
        if await memory.hasPassed(address, now: expires - 3600) { return }
        await memory.recordPassed(address, expires: expires)
        do {
            try await store.recordEdgePassed(address: address.unmapped.description, expires: expires)
        } catch {
            logger.warning("cannot save a passed client", metadata: ["error": "\(error)"])
        }
        if t - lastPurge.load(ordering: .relaxed) >= 3600 {
            lastPurge.store(t, ordering: .relaxed)
            _ = await purgeExpired(now: t)
        }
    }

    public func purgeExpired(now: Int64) async -> Int {
        let n = await memory.purgeExpired(now: now)
        do {
            return max(n, try await store.purgeEdgePassed(now: now))
        } catch {
            logger.warning("cannot purge expired passed clients", metadata: ["error": "\(error)"])
            return n
        }
    }

    public func loadTriplets(since: Int64) async -> [GreylistTriplet] {
        do {
            return try await store.edgeGreylist(since: since).map {
                GreylistTriplet(key: $0.triplet, first: $0.firstSeen, last: $0.lastSeen, passed: $0.passed)
            }
        } catch {
            logger.warning("cannot load greylisting triplets", metadata: ["error": "\(error)"])
            return []
        }
    }

    public func saveTriplet(_ t: GreylistTriplet) async {
        do {
            try await store.saveEdgeGreylist(.init(triplet: t.key, firstSeen: t.first, lastSeen: t.last, passed: t.passed))
        } catch {
            logger.warning("cannot save a greylisting triplet", metadata: ["error": "\(error)"])
        }
        // Triplets past their retention are deleted at most once an hour while the edge runs.
        let current = now()
        let retention = tripletRetention.load(ordering: .relaxed)
        if retention > 0, current - lastTripletPurge.load(ordering: .relaxed) >= 3600 {
            lastTripletPurge.store(current, ordering: .relaxed)
            await deleteTriplets(before: current - retention)
        }
    }

    /// Forgets triplets last used at or before `before`, and keeps `now() - before` as the
    /// retention for the hourly purge.
    public func purgeTriplets(before: Int64) async {
        tripletRetention.store(max(0, now() - before), ordering: .relaxed)
        await deleteTriplets(before: before)
    }

    private func deleteTriplets(before: Int64) async {
        do {
            try await store.purgeEdgeGreylist(before: before)
        } catch {
            logger.warning("cannot purge greylisting triplets", metadata: ["error": "\(error)"])
        }
    }
}
