import Synchronization

/// A ``ModelStore`` that keeps everything in memory: for tests and for evaluations, which always
/// start from an empty model.
public final class InMemoryStore: ModelStore {
    private struct State {
        var snapshot: ModelSnapshot?
        var records: [MessageDigest: LearnRecord] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    public func loadModel() async throws -> ModelSnapshot? { state.withLock { $0.snapshot } }

    public func save(_ snapshot: ModelSnapshot, changes: [LearnChange]) async throws {
        state.withLock { s in
            s.snapshot = snapshot
            for change in changes {
                switch change {
                case .upsert(let r): s.records[r.digest] = r
                case .remove(let d): s.records[d] = nil
                }
            }
        }
    }

    public func learnRecords(for digests: [MessageDigest]) async throws -> [MessageDigest: LearnRecord] {
        state.withLock { s in
            var out: [MessageDigest: LearnRecord] = [:]
            for d in digests { if let r = s.records[d] { out[d] = r } }
            return out
        }
    }

    public func statistics() async throws -> StoreStatistics {
        state.withLock { s in
            StoreStatistics(
                learnedSpam: s.records.values.count { $0.label == .spam },
                learnedHam: s.records.values.count { $0.label == .ham },
                modelBytes: s.snapshot?.payload.count ?? 0,
                modelUpdatedAt: s.snapshot?.metadata.updatedAt)
        }
    }
}
