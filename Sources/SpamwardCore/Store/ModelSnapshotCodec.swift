/// Binary encoding of models: a ``ModelSnapshot`` (metadata + payload) as one byte string (the
/// starter model file, exports), and a ``StatisticalModel`` as a payload.
///
/// Layout (little endian): magic `SWM1`, format version, metadata fields, payload length,
/// payload. The payload holds the combiner and bias, then the non-zero weights and counts as
/// (gap-encoded slot, value) pairs, so that a model is about as large as what it has learned.
public enum ModelSnapshotCodec {
    public struct DecodeError: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    static let magic: [UInt8] = Array("SWM1".utf8)
    static let formatVersion: UInt32 = 1

    // MARK: snapshot <-> bytes

    public static func encode(_ s: ModelSnapshot) -> [UInt8] {
        var w = ByteWriter()
        w.bytes(magic)
        w.u32(formatVersion)
        w.u64(UInt64(bitPattern: Int64(s.metadata.tokenizerVersion)))
        w.u64(s.metadata.hashSeed)
        w.u64(UInt64(s.metadata.featureBits))
        w.u64(UInt64(s.metadata.learnedSpam))
        w.u64(UInt64(s.metadata.learnedHam))
        w.u64(UInt64(bitPattern: s.metadata.updatedAt))
        w.u64(UInt64(s.payload.count))
        w.bytes(s.payload)
        return w.out
    }

    public static func decode(_ bytes: [UInt8]) throws -> ModelSnapshot {
        var r = ByteReader(bytes)
        guard try r.bytes(4) == magic else { throw DecodeError("not a Spamward model (bad magic)") }
        let version = try r.u32()
        guard version == formatVersion else { throw DecodeError("unsupported model format version \(version)") }
        let tv = Int(Int64(bitPattern: try r.u64()))
        let seed = try r.u64()
        let bits = try r.int(max: 64)
        let ls = try r.int(max: Int(Int32.max)), lh = try r.int(max: Int(Int32.max))
        let updated = Int64(bitPattern: try r.u64())
        let n = try r.int(max: bytes.count)
        let payload = try r.bytes(n)
        guard (10...28).contains(bits) else { throw DecodeError("bad feature bits \(bits)") }
        return ModelSnapshot(
            metadata: ModelMetadata(tokenizerVersion: tv, hashSeed: seed, featureBits: bits, learnedSpam: ls, learnedHam: lh, updatedAt: updated),
            payload: payload)
    }

    // MARK: model <-> snapshot

    /// Pruning for small exported models (the starter model): weights of smaller magnitude and
    /// tokens seen fewer times are dropped.
    public struct Pruning: Sendable {
        public var minAbsWeight: Float
        public var minTokenCount: UInt32
        public init(minAbsWeight: Float = 0, minTokenCount: UInt32 = 0) {
            self.minAbsWeight = minAbsWeight
            self.minTokenCount = minTokenCount
        }
    }

    public static func snapshot(of m: StatisticalModel, updatedAt: Int64, pruning: Pruning = Pruning()) -> ModelSnapshot {
        var w = ByteWriter()
        w.u32(UInt32(m.combiner.count))
        for c in m.combiner { w.u64(c.bitPattern) }
        w.u32(m.bias.bitPattern)
        var nonZero = 0
        for x in m.weights where x != 0 && abs(x) >= pruning.minAbsWeight { nonZero += 1 }
        w.u64(UInt64(nonZero))
        var last = -1
        for (i, x) in m.weights.enumerated() where x != 0 && abs(x) >= pruning.minAbsWeight {
            w.varint(UInt64(i - last))
            w.u32(x.bitPattern)
            last = i
        }
        let slots = m.configuration.slotCount
        var nc = 0
        for i in 0..<slots {
            let s = m.counts[2 * i], h = m.counts[2 * i + 1]
            if s &+ h > 0 && s &+ h >= pruning.minTokenCount { nc += 1 }
        }
        w.u64(UInt64(nc))
        last = -1
        for i in 0..<slots {
            let s = m.counts[2 * i], h = m.counts[2 * i + 1]
            guard s &+ h > 0 && s &+ h >= pruning.minTokenCount else { continue }
            w.varint(UInt64(i - last))
            w.varint(UInt64(s))
            w.varint(UInt64(h))
            last = i
        }
        let c = m.configuration
        return ModelSnapshot(
            metadata: ModelMetadata(tokenizerVersion: c.tokenizerVersion, hashSeed: c.hashSeed, featureBits: c.featureBits,
                                    learnedSpam: m.learnedSpam, learnedHam: m.learnedHam, updatedAt: updatedAt),
            payload: w.out)
    }

    /// Rebuilds a model. Throws if the snapshot was made by another tokenizer or is damaged.
    public static func model(from s: ModelSnapshot, configuration: FeatureConfiguration = .default) throws -> StatisticalModel {
        let md = s.metadata
        guard md.tokenizerVersion == configuration.tokenizerVersion, md.hashSeed == configuration.hashSeed else {
            throw DecodeError(
                "model was made by tokenizer version \(md.tokenizerVersion) (seed \(md.hashSeed)); this Spamward uses version \(configuration.tokenizerVersion): relearn or reset the model")
        }
        var config = configuration
        config.featureBits = md.featureBits
        var m = StatisticalModel(configuration: config)
        var r = ByteReader(s.payload)
        let nComb = try r.int32()
        guard nComb == m.combiner.count else { throw DecodeError("bad combiner size \(nComb)") }
        for k in 0..<nComb { m.combiner[k] = Double(bitPattern: try r.u64()) }
        m.bias = Float(bitPattern: try r.u32())
        let slots = config.slotCount
        let nw = try r.int(max: slots)
        var idx = -1
        for _ in 0..<nw {
            idx += try r.gap(max: slots)
            guard idx >= 0 && idx < slots else { throw DecodeError("weight slot out of range") }
            m.weights[idx] = Float(bitPattern: try r.u32())
        }
        let nc = try r.int(max: slots)
        idx = -1
        for _ in 0..<nc {
            idx += try r.gap(max: slots)
            guard idx >= 0 && idx < slots else { throw DecodeError("count slot out of range") }
            m.counts[2 * idx] = UInt32(truncatingIfNeeded: try r.varint())
            m.counts[2 * idx + 1] = UInt32(truncatingIfNeeded: try r.varint())
        }
        m.learnedSpam = md.learnedSpam
        m.learnedHam = md.learnedHam
        return m
    }
}

struct ByteWriter {
    var out: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { out.append(contentsOf: b) }
    mutating func u32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}

struct ByteReader {
    let data: [UInt8]
    var pos = 0
    init(_ d: [UInt8]) { data = d }
    struct EOF: Error {}
    mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= data.count - pos else { throw ModelSnapshotCodec.DecodeError("model data is truncated") }
        defer { pos += n }
        return Array(data[pos..<(pos + n)])
    }
    mutating func u32() throws -> UInt32 {
        var v: UInt32 = 0
        for (k, b) in try bytes(4).enumerated() { v |= UInt32(b) << UInt32(8 * k) }
        return v
    }
    mutating func u64() throws -> UInt64 {
        var v: UInt64 = 0
        for (k, b) in try bytes(8).enumerated() { v |= UInt64(b) << UInt64(8 * k) }
        return v
    }
    /// A 64-bit count that must be at most `max` (damaged files throw, never trap).
    mutating func int(max: Int) throws -> Int {
        let v = try u64()
        guard v <= UInt64(max) else { throw ModelSnapshotCodec.DecodeError("model data is damaged (count \(v) out of range)") }
        return Int(v)
    }
    mutating func int32() throws -> Int { Int(try u32()) }
    /// A slot gap (1 ... max).
    mutating func gap(max: Int) throws -> Int {
        let v = try varint()
        guard v >= 1, v <= UInt64(max) else { throw ModelSnapshotCodec.DecodeError("model data is damaged (bad slot gap)") }
        return Int(v)
    }
    mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < data.count else { throw ModelSnapshotCodec.DecodeError("model data is truncated") }
            let b = data[pos]
            pos += 1
            guard shift < 64 else { throw ModelSnapshotCodec.DecodeError("bad varint") }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }
}
