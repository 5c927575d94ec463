import MailMessage

/// What a learn or forget did.
public enum LearnOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// Learned for the first time.
    case learned
    /// Already learned with the same label: nothing changed (learning is idempotent).
    case alreadyLearned = "already-learned"
    /// Learned before with the other label: the earlier learn was undone and this one applied.
    case relearned
    /// Forgotten: the earlier learn was undone.
    case forgotten
    /// Asked to forget a message that was never learned.
    case notLearned = "not-learned"
}

/// Learning against a store: idempotent (digests of learned messages are kept), reversible
/// (`forget`, relearning with the other label), and atomic (``commit()`` saves the model and the
/// learned-message records in one transaction).
public struct LearningSession: Sendable {
    public private(set) var scanner: MessageScanner
    let store: any ModelStore
    var pending: [MessageDigest: LearnRecord?] = [:]
    var changes: [LearnChange] = []
    public private(set) var counts: [LearnOutcome: Int] = [:]

    public init(scanner: MessageScanner, store: any ModelStore) {
        self.scanner = scanner
        self.store = store
    }

    public var model: StatisticalModel { scanner.model }
    public var uncommittedChanges: Int { changes.count }

    func record(for digest: MessageDigest) async throws -> LearnRecord? {
        if let p = pending[digest] { return p }
        return try await store.learnRecords(for: [digest])[digest]
    }

    /// Learns `bytes` as `label`, or forgets it when `label` is nil.
    @discardableResult
    public mutating func learn(_ bytes: [UInt8], as label: Label?, now: Int64) async throws -> LearnOutcome {
        let message = scanner.parse(bytes)
        let digest = MessageScanner.digest(of: message)
        let existing = try await record(for: digest)
        let outcome: LearnOutcome
        if let label {
            if let existing, existing.label == label {
                outcome = .alreadyLearned
            } else {
                let v = scanner.features(message)
                if let existing { scanner.model.forget(v, as: existing.label, step: existing.magnitude) }
                let step = scanner.model.learn(v, as: label)
                let r = LearnRecord(digest: digest, label: label, magnitude: step, learnedAt: now)
                pending[digest] = .some(r)
                changes.append(.upsert(r))
                outcome = existing == nil ? .learned : .relearned
            }
        } else if let existing {
            let v = scanner.features(message)
            scanner.model.forget(v, as: existing.label, step: existing.magnitude)
            pending[digest] = .some(nil)
            changes.append(.remove(digest))
            outcome = .forgotten
        } else {
            outcome = .notLearned
        }
        counts[outcome, default: 0] += 1
        return outcome
    }

    /// Saves the model and the learned-message records atomically.
    public mutating func commit(now: Int64) async throws {
        let snapshot = ModelSnapshotCodec.snapshot(of: scanner.model, updatedAt: now)
        try await store.save(snapshot, changes: changes)
        changes.removeAll()
        pending.removeAll()
    }
}
