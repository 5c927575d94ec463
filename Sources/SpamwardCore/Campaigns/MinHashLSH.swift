/// Locality-sensitive hashing over MinHash signatures: each signature is cut into bands, and two
/// signatures that agree on all rows of any band are candidates. With `b` bands of `r` rows, a
/// pair of Jaccard similarity `s` becomes a candidate with probability `1 - (1 - s^r)^b`
/// (32 × 4: 0.87 at s = 0.5, 0.99 at s = 0.6, 0.12 at s = 0.2).
///
/// Bounded: each bucket keeps at most ``maxBucketSize`` entries (the newest); the owner bounds the
/// number of entries (``count``) and removes old ones.
public struct MinHashLSH: Sendable {
    public let bands: Int
    public let rows: Int
    public let maxBucketSize: Int
    private var buckets = BucketTable()
    private var signatures: [UInt64: [UInt32]] = [:]

    public init(bands: Int, rows: Int, maxBucketSize: Int = 32) {
        self.bands = max(1, bands)
        self.rows = max(1, rows)
        self.maxBucketSize = max(1, maxBucketSize)
    }

    public var count: Int { signatures.count }

    public func signature(of id: UInt64) -> [UInt32]? { signatures[id] }

    public var ids: Dictionary<UInt64, [UInt32]>.Keys { signatures.keys }

    private func keys(_ signature: [UInt32]) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(bands)
        for band in 0..<bands {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(band) &* 0x9E37_79B9_7F4A_7C15
            let start = band * rows
            guard start + rows <= signature.count else { break }
            for i in start..<(start + rows) { h = StableHash.mix(h ^ UInt64(signature[i])) }
            out.append(h)
        }
        return out
    }

    /// Adds (or replaces) the signature of `id`.
    public mutating func insert(_ id: UInt64, signature: [UInt32]) {
        if signatures[id] != nil { remove(id) }
        signatures[id] = signature
        let limit = maxBucketSize
        for key in keys(signature) {
            // In place (through the dictionary's modify accessor): a copy of the list per band
            // cost an allocation each.
            buckets.withList(key) { Self.appendBounded(id, to: &$0, limit: limit) }
        }
    }

    private static func appendBounded(_ id: UInt64, to list: inout [UInt64], limit: Int) {
        if list.count >= limit { list.removeFirst() }
        list.append(id)
    }

    public mutating func remove(_ id: UInt64) {
        guard let signature = signatures.removeValue(forKey: id) else { return }
        for key in keys(signature) {
            buckets.remove(id, fromList: key)
        }
    }

    /// Entries sharing at least one band with `signature` (each once, in the order first met).
    public func candidates(_ signature: [UInt32]) -> [UInt64] {
        var lists: [[UInt64]] = []
        lists.reserveCapacity(bands)
        var total = 0
        for key in keys(signature) {
            guard let list = buckets.list(key) else { continue }
            lists.append(list)
            total += list.count
        }
        if lists.isEmpty { return [] }
        return IDSet.firstOccurrences(lists, total: total)
    }

    /// The most similar entry whose estimated Jaccard similarity is at least `threshold`.
    public func nearest(_ signature: [UInt32], threshold: Double) -> (id: UInt64, similarity: Double)? {
        var best: (id: UInt64, similarity: Double)? = nil
        for id in candidates(signature) {
            guard let other = signatures[id] else { continue }
            let s = MessageFingerprint.similarity(signature, other)
            if s >= threshold, s > (best?.similarity ?? -1) { best = (id, s) }
        }
        return best
    }
}

/// The LSH buckets: band key -> entry ids, in an open-addressing table with linear probing.
/// Band keys are already well-mixed 64-bit hashes, so the table indexes by their bits (a
/// `Dictionary` hashed each of the 32 keys per lookup again with SipHash). Removal shifts the
/// following cells back (no tombstones); the table doubles at half full.
struct BucketTable: Sendable {
    private var keys: [UInt64] = []
    private var lists: [[UInt64]] = []
    private var used: [Bool] = []
    private(set) var count = 0

    private var mask: Int { keys.count - 1 }

    @inline(__always) private func home(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The cell holding `key`, or nil.
    private func find(_ key: UInt64) -> Int? {
        guard count > 0 else { return nil }
        let m = mask
        var i = home(key, m)
        while used[i] {
            if keys[i] == key { return i }
            i = (i &+ 1) & m
        }
        return nil
    }

    func list(_ key: UInt64) -> [UInt64]? {
        guard let i = find(key) else { return nil }
        return lists[i]
    }

    /// Changes the list of `key` in place (an empty list first if there is none); a list left
    /// empty is removed.
    mutating func withList(_ key: UInt64, _ change: (inout [UInt64]) -> Void) {
        if (count + 1) * 2 > keys.count { grow() }
        let m = mask
        var i = home(key, m)
        while used[i], keys[i] != key { i = (i &+ 1) & m }
        if !used[i] {
            used[i] = true
            keys[i] = key
            lists[i] = []
            count += 1
        }
        change(&lists[i])
        if lists[i].isEmpty { removeCell(i) }
    }

    mutating func remove(_ id: UInt64, fromList key: UInt64) {
        guard let i = find(key) else { return }
        lists[i].removeAll { $0 == id }
        if lists[i].isEmpty { removeCell(i) }
    }

    private mutating func removeCell(_ at: Int) {
        let m = mask
        var hole = at
        used[hole] = false
        lists[hole] = []
        count -= 1
        var j = (hole &+ 1) & m
        while used[j] {
            let h = home(keys[j], m)
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !stays {
                keys[hole] = keys[j]
                lists[hole] = lists[j]
                used[hole] = true
                used[j] = false
                lists[j] = []
                hole = j
            }
            j = (j &+ 1) & m
        }
    }

    private mutating func grow() {
        let old = (keys, lists, used)
        let capacity = max(64, keys.count * 2)
        keys = [UInt64](repeating: 0, count: capacity)
        lists = [[UInt64]](repeating: [], count: capacity)
        used = [Bool](repeating: false, count: capacity)
        let m = capacity - 1
        for k in 0..<old.2.count where old.2[k] {
            var i = home(old.0[k], m)
            while used[i] { i = (i &+ 1) & m }
            used[i] = true
            keys[i] = old.0[k]
            lists[i] = old.1[k]
        }
    }
}

/// Order-preserving deduplication of entry ids with an open-addressing table on a scratch
/// buffer (a `Set<UInt64>` hashed every id with SipHash).
enum IDSet {
    static func firstOccurrences(_ lists: [[UInt64]], total: Int) -> [UInt64] {
        var capacity = 16
        while capacity < 2 * total { capacity <<= 1 }
        let mask = capacity - 1
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: capacity) { table in
            // 0 marks an empty cell; the id 0 (never issued, but accepted) is tracked apart.
            table.initialize(repeating: 0)
            var sawZero = false
            var out: [UInt64] = []
            out.reserveCapacity(total)
            for list in lists {
                for id in list {
                    if id == 0 {
                        if !sawZero { sawZero = true; out.append(0) }
                        continue
                    }
                    var h = Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
                    while true {
                        let t = table[h]
                        if t == id { break }
                        if t == 0 {
                            table[h] = id
                            out.append(id)
                            break
                        }
                        h = (h &+ 1) & mask
                    }
                }
            }
            return out
        }
    }
}

/// Least-recently-used order over ids, with O(1) amortized touch and eviction (stale queue
/// entries are skipped lazily; the queue is compacted when it grows past twice the live count).
struct RecencyQueue<Key: Hashable & Sendable>: Sendable {
    private var queue: [(id: Key, stamp: UInt64)] = []
    private var head = 0
    private var stamps: [Key: UInt64] = [:]
    private var clock: UInt64 = 0

    var count: Int { stamps.count }

    mutating func touch(_ id: Key) {
        clock += 1
        stamps[id] = clock
        queue.append((id, clock))
        if queue.count - head > 2 * stamps.count + 1024 { compact() }
    }

    mutating func remove(_ id: Key) { stamps[id] = nil }

    /// The least recently used id, without removing it.
    mutating func oldest() -> Key? {
        while head < queue.count {
            let e = queue[head]
            if stamps[e.id] == e.stamp { return e.id }
            head += 1
        }
        return nil
    }

    private mutating func compact() {
        queue = queue[head...].filter { stamps[$0.id] == $0.stamp }
        head = 0
    }
}
