/// One learned fingerprint: a local fuzzy hash, like an entry of Rspamd's fuzzy storage.
public struct FuzzyRecord: Sendable, Hashable, Codable {
    public var id: UInt64
    public var label: Label
    public var minHash: [UInt32]
    /// Seconds since 1970.
    public var addedAt: Int64
    /// How many learns matched this entry (a near-copy learned again refreshes it instead of adding).
    public var count: Int
    /// The ``FingerprintConfiguration/version`` that made the signature; 0: stored before versions
    /// existed (definition 1). ``FuzzyIndex/restore(_:)`` drops records of another version.
    public var version: UInt64
    public init(id: UInt64, label: Label, minHash: [UInt32], addedAt: Int64, count: Int = 1, version: UInt64) {
        self.id = id
        self.label = label
        self.minHash = minHash
        self.addedAt = addedAt
        self.count = count
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case id, label, minHash, addedAt, count, version }

    /// A record encoded before versions existed reads as version 0.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(UInt64.self, forKey: .id)
        label = try c.decode(Label.self, forKey: .label)
        minHash = try c.decode([UInt32].self, forKey: .minHash)
        addedAt = try c.decode(Int64.self, forKey: .addedAt)
        count = try c.decode(Int.self, forKey: .count)
        version = try c.decodeIfPresent(UInt64.self, forKey: .version) ?? 0
    }
}

/// Where learned fingerprints persist, so the fuzzy index survives restarts.
public protocol FuzzyStore: Sendable {
    /// Every stored record.
    func loadFuzzyRecords() async throws -> [FuzzyRecord]
    /// Adds or replaces `upsert` and deletes `delete`, atomically.
    func saveFuzzyRecords(upsert: [FuzzyRecord], delete: [UInt64]) async throws
}

/// A ``FuzzyStore`` in memory (tests, and a daemon without persistence).
public actor InMemoryFuzzyStore: FuzzyStore {
    private var records: [UInt64: FuzzyRecord] = [:]
    public init() {}
    public func loadFuzzyRecords() -> [FuzzyRecord] { records.values.sorted { $0.id < $1.id } }
    public func saveFuzzyRecords(upsert: [FuzzyRecord], delete: [UInt64]) {
        for r in upsert { records[r.id] = r }
        for id in delete { records[id] = nil }
    }
}

/// A fuzzy match of a message against learned fingerprints.
public struct FuzzyMatch: Sendable, Hashable, Codable {
    public var label: Label
    /// Estimated Jaccard similarity of the normalized texts.
    public var similarity: Double
    public var recordID: UInt64
    /// How many learns the matched entry stands for.
    public var count: Int
}

/// The learned fingerprints, indexed with LSH: learning spam (and reported spam) adds a message's
/// fingerprint; a later near-copy gets `FUZZY_SPAM` with its similarity. Learned ham gives
/// `FUZZY_HAM` (protects newsletters and other bulk ham). Bounded: at most
/// ``Configuration/maxEntries``, least recently used evicted first, entries older than
/// ``Configuration/maxAgeSeconds`` ignored and dropped. Fingerprints given to it must come from a
/// ``Fingerprinter`` with its ``fingerprintConfiguration`` (stored records carry that
/// configuration's ``FingerprintConfiguration/version``).
public struct FuzzyIndex: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        /// Similarity at or above which a message matches a learned fingerprint.
        public var threshold: Double = 0.5
        /// A learn this similar to an entry of the same label refreshes it instead of adding one.
        public var mergeThreshold: Double = 0.9
        /// Score of `FUZZY_SPAM` at similarity 1 (half of it at ``threshold``).
        public var spamWeight: Double = 4.0
        /// Score of `FUZZY_HAM` at similarity 1 (half of it at ``threshold``); negative.
        public var hamWeight: Double = -2.0
        public var maxEntries: Int = 100_000
        /// Entries not learned again for this long expire (default 90 days); nil: never.
        public var maxAgeSeconds: Int64? = 90 * 86_400
        public init() {}
    }

    public let configuration: Configuration
    public let fingerprintConfiguration: FingerprintConfiguration
    private var lsh: MinHashLSH
    private var records: [UInt64: FuzzyRecord] = [:]
    private var recency = RecencyQueue<UInt64>()
    private var nextID: UInt64 = 1

    public init(configuration: Configuration = Configuration(), fingerprint: FingerprintConfiguration = .default) {
        self.configuration = configuration
        self.fingerprintConfiguration = fingerprint
        self.lsh = MinHashLSH(bands: fingerprint.bands, rows: fingerprint.rows)
    }

    public var count: Int { records.count }
    public var allRecords: [FuzzyRecord] { records.values.sorted { $0.id < $1.id } }

    /// The changes an operation made, for a ``FuzzyStore``.
    public struct Changes: Sendable, Hashable {
        public var upsert: [FuzzyRecord] = []
        public var delete: [UInt64] = []
        public var isEmpty: Bool { upsert.isEmpty && delete.isEmpty }
    }

    /// Loads stored records; returns the ids of those dropped, for the store to delete: records
    /// made by another fingerprint definition or configuration (``FuzzyRecord/version`` is not
    /// this index's ``FingerprintConfiguration/version``: their signatures cannot be compared
    /// with new ones), signatures of another size, and the overflow of ``Configuration/maxEntries``.
    @discardableResult
    public mutating func restore(_ stored: [FuzzyRecord]) -> [UInt64] {
        let version = fingerprintConfiguration.version
        var dropped: [UInt64] = []
        for r in stored.sorted(by: { $0.addedAt < $1.addedAt }) {
            guard r.version == version, r.minHash.count == fingerprintConfiguration.slots else {
                dropped.append(r.id)
                continue
            }
            records[r.id] = r
            lsh.insert(r.id, signature: r.minHash)
            recency.touch(r.id)
            nextID = max(nextID, r.id + 1)
        }
        return dropped + evictOverflow()
    }

    /// Adds a learned message's fingerprint (no-op for a message without a text signature).
    @discardableResult
    public mutating func add(_ fingerprint: MessageFingerprint, as label: Label, now: Int64) -> Changes {
        var changes = Changes()
        guard fingerprint.hasText else { return changes }
        if let near = lsh.nearest(fingerprint.minHash, threshold: configuration.mergeThreshold),
            var r = records[near.id], r.label == label {
            r.count += 1
            r.addedAt = now
            records[r.id] = r
            recency.touch(r.id)
            changes.upsert.append(r)
            return changes
        }
        let r = FuzzyRecord(id: nextID, label: label, minHash: fingerprint.minHash, addedAt: now,
                            version: fingerprintConfiguration.version)
        nextID += 1
        records[r.id] = r
        lsh.insert(r.id, signature: r.minHash)
        recency.touch(r.id)
        changes.upsert.append(r)
        changes.delete = evictOverflow()
        return changes
    }

    /// Forgets the entries matching `fingerprint` with `label` at ``Configuration/mergeThreshold``
    /// (an unlearn or a label correction).
    @discardableResult
    public mutating func remove(_ fingerprint: MessageFingerprint, label: Label) -> Changes {
        var changes = Changes()
        guard fingerprint.hasText else { return changes }
        for id in lsh.candidates(fingerprint.minHash) {
            guard let r = records[id], r.label == label,
                MessageFingerprint.similarity(r.minHash, fingerprint.minHash) >= configuration.mergeThreshold else { continue }
            drop(id)
            changes.delete.append(id)
        }
        return changes
    }

    /// Drops entries older than ``Configuration/maxAgeSeconds``.
    @discardableResult
    public mutating func expire(now: Int64) -> Changes {
        var changes = Changes()
        guard let age = configuration.maxAgeSeconds else { return changes }
        for r in records.values where now - r.addedAt > age {
            drop(r.id)
            changes.delete.append(r.id)
        }
        return changes
    }

    /// The best match of each label above the threshold (spam first when both match).
    public func match(_ fingerprint: MessageFingerprint, now: Int64) -> [FuzzyMatch] {
        guard fingerprint.hasText else { return [] }
        var spam: FuzzyMatch? = nil
        var ham: FuzzyMatch? = nil
        for id in lsh.candidates(fingerprint.minHash) {
            guard let r = records[id] else { continue }
            if let age = configuration.maxAgeSeconds, now - r.addedAt > age { continue }
            let s = MessageFingerprint.similarity(r.minHash, fingerprint.minHash)
            let isSpam = r.label == .spam
            guard s >= configuration.threshold, s > ((isSpam ? spam : ham)?.similarity ?? -1) else { continue }
            let m = FuzzyMatch(label: r.label, similarity: s, recordID: r.id, count: r.count)
            if isSpam { spam = m } else { ham = m }
        }
        return [spam, ham].compactMap { $0 }
    }

    /// `FUZZY_SPAM` / `FUZZY_HAM` for the matches, scored by similarity.
    public func symbols(for matches: [FuzzyMatch]) -> [Symbol] {
        matches.map { m in
            let t = configuration.threshold
            let scale = 0.5 + 0.5 * max(0, min(1, (m.similarity - t) / max(1e-9, 1 - t)))
            let spam = m.label == .spam
            let weight = spam ? configuration.spamWeight : configuration.hamWeight
            let pct = Int((m.similarity * 100).rounded())
            return Symbol(
                name: spam ? "FUZZY_SPAM" : "FUZZY_HAM", score: weight * scale,
                description: "near-copy (\(pct)% similar text) of \(m.count == 1 ? "a message" : "\(m.count) messages") learned as \(m.label.rawValue)",
                options: ["similarity=\(String(format2(m.similarity)))", "entry=\(m.recordID)", "learned=\(m.count)"])
        }
    }

    private mutating func drop(_ id: UInt64) {
        records[id] = nil
        lsh.remove(id)
        recency.remove(id)
    }

    private mutating func evictOverflow() -> [UInt64] {
        var out: [UInt64] = []
        while records.count > max(1, configuration.maxEntries), let id = recency.oldest() {
            drop(id)
            out.append(id)
        }
        return out
    }
}

/// Two decimals, without Foundation.
func format2(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    var s = String(r)
    if let dot = s.firstIndex(of: "."), s.distance(from: dot, to: s.endIndex) == 2 { s += "0" }
    return s
}
