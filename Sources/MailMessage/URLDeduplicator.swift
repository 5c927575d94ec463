/// An insertion-ordered set of URL strings, cheaper than `Set<String>` for the extractors' use
/// (many short inserts, then one array out).
///
/// Open addressing on a fast hash seeded once per process. Probing stops after ``maxProbes``
/// slots: a pathological input (or a crafted collision) then gets a duplicate through instead of
/// costing more time, so every insert is bounded.
struct URLDeduplicator {
    /// The URLs, in order of first insertion.
    private(set) var urls: [String] = []
    /// Index + 1 into `urls`, 0 for an empty slot.
    private var slots: [Int32] = []
    private var slotHashes: [UInt64] = []

    static let maxProbes = 32
    private static let seed = UInt64.random(in: .min ... .max)

    var count: Int { urls.count }

    /// Adds `url` unless it is already there. Returns whether it was added.
    @discardableResult
    mutating func insert(_ url: String) -> Bool {
        if urls.count * 2 >= slots.count { grow() }
        let hash = Self.hash(url)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        for _ in 0..<Self.maxProbes {
            let s = slots[i]
            if s == 0 {
                slots[i] = Int32(urls.count + 1)
                slotHashes[i] = hash
                urls.append(url)
                return true
            }
            if slotHashes[i] == hash && urls[Int(s) - 1] == url { return false }
            i = (i + 1) & mask
        }
        urls.append(url)  // probe limit reached: keep it, undeduplicated
        return true
    }

    private mutating func grow() {
        let size = max(64, slots.count * 2)
        slots = [Int32](repeating: 0, count: size)
        slotHashes = [UInt64](repeating: 0, count: size)
        let mask = size - 1
        for (k, url) in urls.enumerated() {
            let hash = Self.hash(url)
            var i = Int(truncatingIfNeeded: hash) & mask
            for _ in 0..<Self.maxProbes where slots[i] != 0 { i = (i + 1) & mask }
            if slots[i] == 0 {
                slots[i] = Int32(k + 1)
                slotHashes[i] = hash
            }
        }
    }

    private static func hash(_ url: String) -> UInt64 {
        url.utf8.withContiguousStorageIfAvailable { HTMLBytes.hash($0, 0..<$0.count, seed: seed) }
            ?? Array(url.utf8).withUnsafeBufferPointer { HTMLBytes.hash($0, 0..<$0.count, seed: seed) }
    }
}
