#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Distinct values counted exactly up to a cap, then estimated with a HyperLogLog of 256 registers
/// (about 6.5% standard error). Memory: at most `cap` values, or 256 bytes.
public struct DistinctCounter: Sendable, Hashable, Codable {
    public private(set) var exact: Set<String> = []
    private var registers: [UInt8]? = nil
    public let cap: Int

    public init(cap: Int = 256) { self.cap = max(1, cap) }

    /// Whether the count is exact (the cap has not been crossed).
    public var isExact: Bool { registers == nil }

    public mutating func insert(_ value: String) {
        if registers != nil {
            Self.add(value, to: &registers!)  // in place: a copy out would copy the registers
            return
        }
        exact.insert(value)
        if exact.count > cap {
            var r = [UInt8](repeating: 0, count: 256)
            for v in exact { Self.add(v, to: &r) }
            registers = r
            exact = []
        }
    }

    public func contains(_ value: String) -> Bool? { registers == nil ? exact.contains(value) : nil }

    public var count: Int {
        guard let r = registers else { return exact.count }
        let m = Double(r.count)
        var sum = 0.0
        var zeros = 0
        for x in r {
            sum += 1 / Double(UInt64(1) << UInt64(x))
            if x == 0 { zeros += 1 }
        }
        let alpha = 0.7213 / (1 + 1.079 / m)
        let e = alpha * m * m / sum
        if e <= 2.5 * m, zeros > 0 {
            // Linear counting for small cardinalities: m·ln(m/zeros).
            return Int((m * log(m / Double(zeros))).rounded())
        }
        return Int(e.rounded())
    }

    private static let hash = StableHash(seed: 0x484C_4C31)
    private static func add(_ value: String, to r: inout [UInt8]) {
        let h = hash.hash("hll:", value)
        let index = Int(h >> 56)
        let rest = h << 8 | 0x80
        let rank = UInt8(rest.leadingZeroBitCount + 1)
        if rank > r[index] { r[index] = rank }
    }
}

/// Counts of values, keeping at most `cap` distinct keys (later new keys are only counted in
/// ``others``). Good enough for "top sender domains" of a campaign.
public struct BoundedCounts: Sendable, Hashable, Codable {
    public private(set) var counts: [String: Int] = [:]
    public private(set) var others = 0
    public let cap: Int
    public init(cap: Int = 16) { self.cap = max(1, cap) }

    public mutating func add(_ key: String, _ n: Int = 1) {
        if counts[key] != nil || counts.count < cap {
            counts[key, default: 0] += n
        } else {
            others += n
        }
    }

    /// Keys by decreasing count (ties by name).
    public var top: [(key: String, count: Int)] {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
