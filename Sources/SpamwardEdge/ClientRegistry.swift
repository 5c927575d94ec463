import MailAuth
import Synchronization

/// The subnet a client counts in for rates and greylisting: /24 for IPv4, /64 for IPv6.
public func clientSubnet(_ address: IPAddress) -> String {
    switch address.unmapped {
    case .v4(let a): return "\(IPv4Address(a.value & 0xFFFF_FF00))/24"
    case .v6(let a): return "\(IPv6Address(a.value & ~UInt128(UInt64.max)))/64"
    }
}

/// Leaky buckets for connection rates and counters for concurrency, per client address and per
/// subnet. Bounded: at most `maxKeys` buckets; empty buckets are dropped first.
public final class RateLimiter: Sendable {
    private struct Bucket { var level: Double; var updated: Double; var open: Int }
    /// A client address or its subnet (the network address): no string is made per connection.
    private struct Key: Hashable {
        var isSubnet: Bool
        var address: IPAddress
    }
    private let maxKeys: Int
    private let state = Mutex<[Key: Bucket]>([:])
    private let currentLimits: Mutex<RateLimits>

    /// The limits now.
    public var limits: RateLimits { currentLimits.withLock { $0 } }

    public init(limits: RateLimits, maxKeys: Int = 200_000) {
        self.currentLimits = Mutex(limits)
        self.maxKeys = maxKeys
    }

    /// New limits (a reload); the buckets and open counts are kept.
    public func update(limits: RateLimits) {
        currentLimits.withLock { $0 = limits }
    }

    /// Admits a new connection at time `now` (seconds), or says which test it fails. When
    /// admitted, call ``release(_:)`` when it closes.
    public func admit(_ address: IPAddress, now: Double) -> EdgeViolation? {
        let (ip, net) = Self.keys(address)
        let limits = self.limits
        return state.withLock { buckets in
            if buckets.count > maxKeys { buckets = buckets.filter { $0.value.open > 0 } }
            var a = buckets[ip] ?? Bucket(level: 0, updated: now, open: 0)
            var n = buckets[net] ?? Bucket(level: 0, updated: now, open: 0)
            Self.leak(&a, now: now, perMinute: limits.connectionsPerMinutePerAddress)
            Self.leak(&n, now: now, perMinute: limits.connectionsPerMinutePerSubnet)
            defer {
                buckets[ip] = a
                buckets[net] = n
            }
            if limits.maxConcurrentPerAddress > 0, a.open >= limits.maxConcurrentPerAddress {
                return EdgeViolation(test: .concurrency, evidence: "\(a.open) open from the address")
            }
            if limits.maxConcurrentPerSubnet > 0, n.open >= limits.maxConcurrentPerSubnet {
                return EdgeViolation(test: .concurrency, evidence: "\(n.open) open from the subnet")
            }
            if limits.connectionsPerMinutePerAddress > 0, a.level + 1 > limits.burstPerAddress {
                return EdgeViolation(test: .rate, evidence: "address bucket \(Int(a.level))/\(Int(limits.burstPerAddress))")
            }
            if limits.connectionsPerMinutePerSubnet > 0, n.level + 1 > limits.burstPerSubnet {
                return EdgeViolation(test: .rate, evidence: "subnet bucket \(Int(n.level))/\(Int(limits.burstPerSubnet))")
            }
            a.level += 1
            n.level += 1
            a.open += 1
            n.open += 1
            return nil
        }
    }

    /// An admitted connection closed.
    public func release(_ address: IPAddress) {
        let (ip, net) = Self.keys(address)
        state.withLock { buckets in
            for key in [ip, net] {
                if var b = buckets[key] {
                    b.open = max(0, b.open - 1)
                    buckets[key] = b
                }
            }
        }
    }

    private static func keys(_ address: IPAddress) -> (Key, Key) {
        let a = address.unmapped
        let subnet: IPAddress
        switch a {
        case .v4(let v): subnet = .v4(IPv4Address(v.value & 0xFFFF_FF00))
        case .v6(let v): subnet = .v6(IPv6Address(v.value & ~UInt128(UInt64.max)))
        }
        return (Key(isSubnet: false, address: a), Key(isSubnet: true, address: subnet))
    }

    private static func leak(_ b: inout Bucket, now: Double, perMinute: Double) {
        let elapsed = max(0, now - b.updated)
        b.level = max(0, b.level - elapsed * perMinute / 60)
        b.updated = now
    }
}

/// Clients that passed the tests recently (postscreen's temporary allowlist).
/// ``InMemoryPassedClientStore`` keeps them in memory (tests, `spamward-edge-sim`); the server
/// module's SQLite implementation keeps them in the store across restarts.
public protocol PassedClientStore: Sendable {
    /// Whether `address` passed and its entry has not expired at `now` (seconds).
    func hasPassed(_ address: IPAddress, now: Int64) async -> Bool
    /// Records that `address` passed, until `expires` (seconds).
    func recordPassed(_ address: IPAddress, expires: Int64) async
    /// Forgets the entries expired at `now`; returns how many.
    func purgeExpired(now: Int64) async -> Int
    /// ``hasPassed(_:now:)`` when the store can answer without waiting (from memory), else nil
    /// (the edge then asks ``hasPassed(_:now:)`` off the event loop).
    func hasPassedWithoutWaiting(_ address: IPAddress, now: Int64) -> Bool?
}

extension PassedClientStore {
    public func hasPassedWithoutWaiting(_ address: IPAddress, now: Int64) -> Bool? { nil }
}

/// ``PassedClientStore`` in memory, bounded (expired entries and then the oldest are dropped).
public final class InMemoryPassedClientStore: PassedClientStore {
    private let entries = Mutex<[IPAddress: Int64]>([:])
    private let maxEntries: Int

    public init(maxEntries: Int = 500_000) { self.maxEntries = maxEntries }

    public func hasPassed(_ address: IPAddress, now: Int64) async -> Bool {
        entries.withLock { ($0[address.unmapped] ?? 0) > now }
    }

    public func hasPassedWithoutWaiting(_ address: IPAddress, now: Int64) -> Bool? {
        entries.withLock { ($0[address.unmapped] ?? 0) > now }
    }

    public func purgeExpired(now: Int64) async -> Int {
        entries.withLock { e in
            let before = e.count
            e = e.filter { $0.value > now }
            return before - e.count
        }
    }

    /// Adds entries read from a store (expired ones are skipped).
    public func restore(_ restored: [(IPAddress, Int64)], now: Int64) {
        entries.withLock { e in
            for (address, expires) in restored.prefix(maxEntries) where expires > now {
                e[address.unmapped] = Swift.max(e[address.unmapped] ?? 0, expires)
            }
        }
    }

    public func recordPassed(_ address: IPAddress, expires: Int64) async {
        let max = maxEntries
        entries.withLock { e in
            if e.count >= max {
                let now = expires - 1
                e = e.filter { $0.value > now - 86_400 * 365 && $0.value >= now - 1 }
                if e.count >= max, let oldest = e.min(by: { $0.value < $1.value }) { e[oldest.key] = nil }
            }
            e[address.unmapped] = expires
        }
    }
}

/// A greylisting triplet's state, as a store keeps it.
public struct GreylistTriplet: Sendable, Hashable {
    /// `subnet/sender/recipient` (lowercased).
    public var key: String
    /// The first attempt and the last use (seconds).
    public var first: Int64
    public var last: Int64
    /// Whether a retry came after the delay (the triplet passes until it ages out).
    public var passed: Bool
    public init(key: String, first: Int64, last: Int64, passed: Bool) {
        self.key = key
        self.first = first
        self.last = last
        self.passed = passed
    }
}

/// Where greylisting triplets persist across restarts (the server's SQLite store).
public protocol GreylistStore: Sendable {
    /// The triplets last used after `since` (seconds).
    func loadTriplets(since: Int64) async -> [GreylistTriplet]
    /// Saves one triplet's new state.
    func saveTriplet(_ triplet: GreylistTriplet) async
    /// Forgets triplets last used at or before `before`.
    func purgeTriplets(before: Int64) async
}

/// Greylisting (postgrey semantics) on (client subnet, sender, recipient).
public final class Greylist: Sendable {
    private struct Entry { var first: Int64; var last: Int64; var passed: Bool }
    private let currentConfiguration: Mutex<GreylistConfiguration>
    private let entries = Mutex<[String: Entry]>([:])

    /// The settings now.
    public var configuration: GreylistConfiguration { currentConfiguration.withLock { $0 } }

    public init(configuration: GreylistConfiguration) { self.currentConfiguration = Mutex(configuration) }

    /// New delays, windows and bound (a reload); the triplets are kept.
    public func update(configuration: GreylistConfiguration) {
        currentConfiguration.withLock { $0 = configuration }
    }

    /// Seconds after its last use that a triplet is of no more use (a waiting one after the
    /// retry window, a passed one after the maximum age).
    public var retentionSeconds: Int64 { Int64(max(configuration.retryWindowSeconds, configuration.maxAgeSeconds)) }

    /// Adds triplets read from a store (at most `maxEntries`, the most recent first).
    public func restore(_ triplets: [GreylistTriplet]) {
        let limit = configuration.maxEntries
        entries.withLock { e in
            for t in triplets.sorted(by: { $0.last > $1.last }).prefix(limit) {
                e[t.key] = Entry(first: t.first, last: t.last, passed: t.passed)
            }
        }
    }

    /// Whether the triplet may pass at `now` (seconds); nil when it may, else the seconds left
    /// to wait (0 when the retry window expired and the wait started over).
    public func check(address: IPAddress, sender: String, recipient: String, now: Int64) -> Int64? {
        checkTriplet(address: address, sender: sender, recipient: recipient, now: now).wait
    }

    /// ``check(address:sender:recipient:now:)`` and the triplet's new state when a store should
    /// save it (new, passed, or last saved use over an hour old), else nil.
    public func checkTriplet(address: IPAddress, sender: String, recipient: String, now: Int64)
        -> (wait: Int64?, save: GreylistTriplet?)
    {
        let key = "\(clientSubnet(address))/\(sender.lowercased())/\(recipient.lowercased())"
        let c = configuration
        return entries.withLock { e in
            let before = e[key]
            let wait = Self.decide(&e, key: key, now: now, configuration: c)
            guard let after = e[key] else { return (wait, nil) }
            let changed = before == nil || before?.passed != after.passed || before?.first != after.first
                || after.last - (before?.last ?? 0) >= 3600
            return (wait, changed ? GreylistTriplet(key: key, first: after.first, last: after.last, passed: after.passed) : nil)
        }
    }

    private static func decide(_ e: inout [String: Entry], key: String, now: Int64, configuration c: GreylistConfiguration) -> Int64? {
        do {
            if e.count >= c.maxEntries {
                e = e.filter { now - $0.value.last <= (c.retryWindowSeconds < c.maxAgeSeconds ? Int64(c.retryWindowSeconds) : Int64(c.maxAgeSeconds)) }
                if e.count >= c.maxEntries, let oldest = e.min(by: { $0.value.last < $1.value.last }) { e[oldest.key] = nil }
            }
            if var entry = e[key] {
                if entry.passed {
                    if now - entry.last <= Int64(c.maxAgeSeconds) {
                        entry.last = now
                        e[key] = entry
                        return nil
                    }
                } else if now - entry.first > Int64(c.retryWindowSeconds) {
                    // too late: start over
                } else if now - entry.first >= Int64(c.delaySeconds) {
                    entry.passed = true
                    entry.last = now
                    e[key] = entry
                    return nil
                } else {
                    entry.last = now
                    e[key] = entry
                    return Int64(c.delaySeconds) - (now - entry.first)
                }
            }
            e[key] = Entry(first: now, last: now, passed: false)
            return Int64(c.delaySeconds)
        }
    }
}
