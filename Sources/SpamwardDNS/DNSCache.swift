import MailAuth

/// The resolver's answer cache: (name, type) → result, each with its own expiry; bounded to
/// `maxEntries`. A plain value: ``NIODNSResolver`` keeps it behind a lock.
///
/// When full, expired entries go first, then the eighth of the entries closest to expiry, so an
/// insert costs O(1) amortized and the cache never grows past its bound.
struct DNSCache {
    struct Key: Hashable {
        var name: String
        var type: UInt16
    }

    private struct Entry {
        var result: DNSLookupResult
        var expiresAt: ContinuousClock.Instant
    }

    private var entries: [Key: Entry] = [:]
    let maxEntries: Int

    init(maxEntries: Int) { self.maxEntries = max(0, maxEntries) }

    var count: Int { entries.count }

    /// The unexpired result for `key` at `now` and its remaining lifetime; removes an expired one.
    mutating func get(_ key: Key, now: ContinuousClock.Instant) -> (DNSLookupResult, Duration)? {
        guard let e = entries[key] else { return nil }
        guard e.expiresAt > now else {
            entries[key] = nil
            return nil
        }
        return (e.result, e.expiresAt - now)
    }

    mutating func put(_ key: Key, _ result: DNSLookupResult, ttl: Duration, now: ContinuousClock.Instant) {
        guard maxEntries > 0, ttl > .zero else { return }
        if entries[key] == nil && entries.count >= maxEntries { evict(now: now) }
        entries[key] = Entry(result: result, expiresAt: now + ttl)
    }

    mutating func removeAll() { entries.removeAll() }

    private mutating func evict(now: ContinuousClock.Instant) {
        entries = entries.filter { $0.value.expiresAt > now }
        guard entries.count >= maxEntries else { return }
        let drop = max(1, maxEntries / 8)
        let soonest = entries.sorted { $0.value.expiresAt < $1.value.expiresAt }.prefix(drop).map(\.key)
        for k in soonest { entries[k] = nil }
    }
}
