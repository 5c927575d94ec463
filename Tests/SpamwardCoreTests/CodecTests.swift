import MailMessage
import Testing

@testable import SpamwardCore

@Suite("Model codec")
struct CodecTests {
    static let metadata = ModelMetadata(
        tokenizerVersion: FeatureConfiguration.currentTokenizerVersion, hashSeed: FeatureConfiguration.default.hashSeed,
        featureBits: 22, learnedSpam: 1234, learnedHam: 5678, updatedAt: 1_700_000_123)

    static func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    static let trained: MessageScanner = Synth.trainedScanner(10)

    // MARK: bytes <-> snapshot

    @Test(arguments: [0, 1, 300])
    func encodeDecodeRoundTrip(payloadSize: Int) throws {
        let s = ModelSnapshot(metadata: Self.metadata, payload: Self.randomBytes(payloadSize, seed: 7))
        let bytes = ModelSnapshotCodec.encode(s)
        // magic + version + 7 u64 fields + payload
        #expect(bytes.count == 4 + 4 + 7 * 8 + payloadSize)
        #expect(Array(bytes.prefix(4)) == Array("SWM1".utf8))
        let d = try ModelSnapshotCodec.decode(bytes)
        #expect(d == s)
        #expect(d.metadata == Self.metadata)
        #expect(d.payload == s.payload)
    }

    @Test func negativeTimestampRoundTrips() throws {
        var m = Self.metadata
        m.updatedAt = -5
        let s = ModelSnapshot(metadata: m, payload: [1, 2, 3])
        #expect(try ModelSnapshotCodec.decode(ModelSnapshotCodec.encode(s)) == s)
    }

    @Test func everyTruncationThrows() {
        let bytes = ModelSnapshotCodec.encode(ModelSnapshot(metadata: Self.metadata, payload: Self.randomBytes(40, seed: 3)))
        for n in 0..<bytes.count {
            #expect(throws: ModelSnapshotCodec.DecodeError.self, "prefix of \(n) bytes") {
                _ = try ModelSnapshotCodec.decode(Array(bytes.prefix(n)))
            }
        }
    }

    @Test func wrongMagicThrows() {
        var bytes = ModelSnapshotCodec.encode(ModelSnapshot(metadata: Self.metadata, payload: [9, 9]))
        bytes[0] = UInt8(ascii: "X")
        let e = #expect(throws: ModelSnapshotCodec.DecodeError.self) { _ = try ModelSnapshotCodec.decode(bytes) }
        #expect(e?.description.contains("magic") == true)
    }

    @Test func wrongFormatVersionThrows() {
        var bytes = ModelSnapshotCodec.encode(ModelSnapshot(metadata: Self.metadata, payload: []))
        bytes[4] = 2
        let e = #expect(throws: ModelSnapshotCodec.DecodeError.self) { _ = try ModelSnapshotCodec.decode(bytes) }
        #expect(e?.description.contains("version 2") == true)
    }

    @Test func featureBitsOutOfRangeThrows() {
        var m = Self.metadata
        m.featureBits = 40
        let bytes = ModelSnapshotCodec.encode(ModelSnapshot(metadata: m, payload: []))
        #expect(throws: ModelSnapshotCodec.DecodeError.self) { _ = try ModelSnapshotCodec.decode(bytes) }
    }

    @Test(arguments: 0..<50)
    func randomBytesThrow(seed: Int) {
        let bytes = Self.randomBytes(seed * 7 % 200, seed: UInt64(seed))
        #expect(throws: ModelSnapshotCodec.DecodeError.self) { _ = try ModelSnapshotCodec.decode(bytes) }
    }

    /// Random bytes behind a valid magic and format version: decode must throw or succeed, never
    /// trap. Run in a child process so that a trap is a test failure, not a crash of the run.
    @Test func randomBytesAfterAValidHeaderNeverCrash() async {
        await #expect(processExitsWith: .success) {
            for seed in UInt64(0)..<200 {
                var rng = SplitMix64(seed: seed)
                var bytes = Array("SWM1".utf8) + [1, 0, 0, 0]
                for _ in 0..<(rng.next(below: 80)) { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
                _ = try? ModelSnapshotCodec.decode(bytes)
            }
        }
    }

    /// Same for a payload of random bytes given to `model(from:)`.
    @Test func randomPayloadNeverCrashesModelFrom() async {
        await #expect(processExitsWith: .success) {
            var md = ModelMetadata(
                tokenizerVersion: FeatureConfiguration.currentTokenizerVersion,
                hashSeed: FeatureConfiguration.default.hashSeed, featureBits: 12, learnedSpam: 1, learnedHam: 1,
                updatedAt: 0)
            md.featureBits = 12
            for seed in UInt64(0)..<200 {
                var rng = SplitMix64(seed: seed)
                // A valid combiner size, then random bytes.
                var payload: [UInt8] = [4, 0, 0, 0]
                for _ in 0..<(32 + 4 + rng.next(below: 60)) { payload.append(UInt8(truncatingIfNeeded: rng.next())) }
                _ = try? ModelSnapshotCodec.model(
                    from: ModelSnapshot(metadata: md, payload: payload),
                    configuration: FeatureConfiguration(featureBits: 12))
            }
        }
    }

    // MARK: model <-> snapshot

    @Test func snapshotRoundTripPreservesScores() throws {
        let s = Self.trained
        let snap = ModelSnapshotCodec.snapshot(of: s.model, updatedAt: 42)
        #expect(snap.metadata.learnedSpam == 10)
        #expect(snap.metadata.learnedHam == 10)
        #expect(snap.metadata.updatedAt == 42)
        #expect(snap.metadata.featureBits == 22)
        #expect(snap.metadata.tokenizerVersion == FeatureConfiguration.currentTokenizerVersion)
        // Through bytes, as a model file would go.
        let back = try ModelSnapshotCodec.model(from: try ModelSnapshotCodec.decode(ModelSnapshotCodec.encode(snap)))
        #expect(back.learnedSpam == 10)
        #expect(back.learnedHam == 10)
        #expect(back.weights == s.model.weights)
        #expect(back.counts == s.model.counts)
        #expect(back.combiner == s.model.combiner)
        #expect(back.bias == s.model.bias)
        for p in Synth.probes() {
            let v = s.features(s.parse(p))
            #expect(back.score(v) == s.model.score(v))
        }
        // A snapshot of the copy is byte for byte the same.
        #expect(ModelSnapshotCodec.snapshot(of: back, updatedAt: 42) == snap)
    }

    @Test func emptyModelRoundTrips() throws {
        let m = StatisticalModel()
        let snap = ModelSnapshotCodec.snapshot(of: m, updatedAt: 0)
        // combiner count + 4 doubles + bias + two zero counts.
        #expect(snap.payload.count == 4 + 4 * 8 + 4 + 8 + 8)
        let back = try ModelSnapshotCodec.model(from: snap)
        #expect(back.learnedCount == 0)
        #expect(back.combiner == StatisticalModel.initialCombiner)
    }

    @Test func pruningDropsSmallWeights() throws {
        let m = Self.trained.model
        let full = ModelSnapshotCodec.snapshot(of: m, updatedAt: 1)
        let nonZero = m.weights.filter { $0 != 0 }
        let magnitudes = nonZero.map { abs($0) }.sorted()
        let cut = magnitudes[magnitudes.count / 2]  // the median magnitude
        #expect(cut > 0)
        let pruned = ModelSnapshotCodec.snapshot(of: m, updatedAt: 1, pruning: .init(minAbsWeight: cut))
        #expect(pruned.payload.count < full.payload.count)
        let back = try ModelSnapshotCodec.model(from: pruned)
        let kept = back.weights.filter { $0 != 0 }
        #expect(kept.count == magnitudes.count { $0 >= cut })
        #expect(kept.count < nonZero.count)
        #expect(kept.allSatisfy { abs($0) >= cut })
        // Kept weights keep their values; counts are untouched without a count threshold.
        for (i, w) in back.weights.enumerated() where w != 0 { #expect(w == m.weights[i]) }
        #expect(back.counts == m.counts)

        let fewerCounts = ModelSnapshotCodec.snapshot(of: m, updatedAt: 1, pruning: .init(minTokenCount: 3))
        #expect(fewerCounts.payload.count < full.payload.count)
        let back2 = try ModelSnapshotCodec.model(from: fewerCounts)
        for i in 0..<(back2.counts.count / 2) {
            let n = back2.counts[2 * i] + back2.counts[2 * i + 1]
            #expect(n == 0 || n >= 3)
        }
    }

    @Test func otherTokenizerVersionIsRefused() {
        var snap = ModelSnapshotCodec.snapshot(of: Self.trained.model, updatedAt: 1)
        snap.metadata.tokenizerVersion = FeatureConfiguration.currentTokenizerVersion + 1
        let e = #expect(throws: ModelSnapshotCodec.DecodeError.self) { _ = try ModelSnapshotCodec.model(from: snap) }
        #expect(e?.description.contains("tokenizer version") == true)
    }

    @Test func otherHashSeedIsRefused() {
        var snap = ModelSnapshotCodec.snapshot(of: Self.trained.model, updatedAt: 1)
        snap.metadata.hashSeed ^= 1
        #expect(throws: ModelSnapshotCodec.DecodeError.self) { _ = try ModelSnapshotCodec.model(from: snap) }
    }

    @Test func damagedPayloadThrows() {
        let snap = ModelSnapshotCodec.snapshot(of: Self.trained.model, updatedAt: 1)
        for n in [0, 3, 10, snap.payload.count / 2, snap.payload.count - 1] {
            var s = snap
            s.payload = Array(snap.payload.prefix(n))
            #expect(throws: ModelSnapshotCodec.DecodeError.self, "payload cut to \(n) bytes") {
                _ = try ModelSnapshotCodec.model(from: s)
            }
        }
        var badComb = snap
        badComb.payload[0] = 9
        #expect(throws: ModelSnapshotCodec.DecodeError.self) { _ = try ModelSnapshotCodec.model(from: badComb) }
    }
}
