/// An insertion-ordered set of strings (URLs, addresses), cheaper than `Set<String>` for the
/// extractors' use: many short inserts, then one array out.
///
/// Open addressing on a fast hash seeded once per process. Probing stops after ``maxProbes``
/// slots: a pathological input (or a crafted collision) then gets a duplicate through instead of
/// costing more time, so every insert is bounded.
struct URLDeduplicator {
    /// The strings, in order of first insertion.
    private(set) var items: [String] = []
    private struct Slot {
        var hash: UInt64 = 0
        /// Index + 1 into `items`, 0 for an empty slot.
        var index: Int32 = 0
    }
    private var slots: [Slot] = []

    static let maxProbes = 32
    private static let seed = UInt64.random(in: .min ... .max)

    var count: Int { items.count }

    /// Adds `string` unless it is already there. Returns whether it was added.
    @discardableResult
    mutating func insert(_ string: String) -> Bool {
        if items.count * 2 >= slots.count { grow() }
        let hash = Self.hash(string)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        for _ in 0..<Self.maxProbes {
            let s = slots[i]
            if s.index == 0 {
                slots[i] = Slot(hash: hash, index: Int32(truncatingIfNeeded: items.count + 1))
                items.append(string)
                return true
            }
            if s.hash == hash && items[Int(s.index) - 1] == string { return false }
            i = (i + 1) & mask
        }
        items.append(string)  // probe limit reached: kept, undeduplicated
        return true
    }

    private mutating func grow() {
        let size = max(64, slots.count * 2)
        slots = [Slot](repeating: Slot(), count: size)
        let mask = size - 1
        for (k, string) in items.enumerated() {
            let hash = Self.hash(string)
            var i = Int(truncatingIfNeeded: hash) & mask
            var probes = 0
            while slots[i].index != 0 && probes < Self.maxProbes {
                i = (i + 1) & mask
                probes += 1
            }
            if slots[i].index == 0 { slots[i] = Slot(hash: hash, index: Int32(truncatingIfNeeded: k + 1)) }
        }
    }

    private static func hash(_ string: String) -> UInt64 {
        string.utf8.withContiguousStorageIfAvailable { HTMLBytes.hash($0, 0..<$0.count, seed: seed) }
            ?? Array(string.utf8).withUnsafeBufferPointer { HTMLBytes.hash($0, 0..<$0.count, seed: seed) }
    }
}
