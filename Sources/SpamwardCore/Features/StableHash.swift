/// A stable, seeded 64-bit hash for persisted feature indices.
///
/// Swift's `Hasher` is seeded per process, so it cannot be used for anything stored. This is
/// FNV-1a over the bytes, seeded, followed by the MurmurHash3 64-bit finalizer for avalanche.
/// The exact function is part of the tokenizer version: changing it invalidates saved models.
public struct StableHash: Sendable, Hashable {
    public let seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    @inline(__always) public static func mix(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// Starts a hash with a namespace byte string (the feature's kind, e.g. "w:").
    @inline(__always) public func start(_ namespace: StaticString) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        namespace.withUTF8Buffer { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 } }
        return h
    }

    @inline(__always) public static func add(_ h: UInt64, _ byte: UInt8) -> UInt64 {
        (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    @inline(__always) public static func add<S: Sequence<UInt8>>(_ h: UInt64, bytes: S) -> UInt64 {
        var h = h
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    @inline(__always) public static func finish(_ h: UInt64) -> UInt64 { mix(h) }

    /// Hash of a namespaced string.
    public func hash(_ namespace: StaticString, _ text: String) -> UInt64 {
        Self.finish(Self.add(start(namespace), bytes: text.utf8))
    }

    /// Hash of a namespaced 64-bit value (for n-grams and combined hashes).
    @inline(__always) public func hash(_ namespace: UInt64, value: UInt64) -> UInt64 {
        Self.mix(value &* 0x9E37_79B9_7F4A_7C15 ^ namespace ^ seed)
    }

    /// A 128-bit digest of some bytes (two independent seeded passes), for learned-message digests.
    public static func digest128<C: Collection<UInt8>>(_ parts: [C]) -> [UInt8] {
        var d = Digest128()
        for part in parts {
            for byte in part { d.add(byte) }
            d.endPart()
        }
        return d.bytes
    }
}

/// The running state of ``StableHash/digest128(_:)``: bytes added one at a time, parts ended, then
/// the 16 bytes. For digests of bytes that are not at hand as whole parts.
struct Digest128 {
    private var a: UInt64 = 0xcbf2_9ce4_8422_2325
    private var b: UInt64 = 0x84222325_cbf29ce4
    private var n: UInt64 = 0

    @inline(__always) mutating func add(_ byte: UInt8) {
        a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 ^ (b >> 29)
        n &+= 1
    }

    @inline(__always) mutating func endPart() {
        a = (a ^ 0xFF) &* 0x0000_0100_0000_01b3
        b = (b ^ 0xFE) &* 0x0000_0100_0000_01b3
    }

    var bytes: [UInt8] {
        let x = StableHash.mix(a ^ n), y = StableHash.mix(b &+ n &* 0x9E37_79B9_7F4A_7C15)
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: x >> UInt64(s))) }
        for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: y >> UInt64(s))) }
        return out
    }
}
