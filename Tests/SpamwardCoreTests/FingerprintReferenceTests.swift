import Foundation
import Testing

@testable import SpamwardCore

/// The fingerprint's faster steps against straightforward code of the same definition (kept here
/// as the reference): signatures and word judgements must not change within a definition
/// (``FingerprintConfiguration/definition``), or stored fingerprints stop matching.
@Suite("Fingerprint steps agree with the reference code")
struct FingerprintReferenceTests {
    /// Definition 2's word hash, byte by byte: the length, then each 8-byte little-endian block
    /// (zero-padded) xored in, multiplied, folded.
    static func referenceWordHash(_ folded: [UInt8], start: UInt64) -> UInt64 {
        var h = start ^ UInt64(folded.count)
        for blockStart in stride(from: 0, to: folded.count, by: 8) {
            var block: UInt64 = 0
            for (j, b) in folded[blockStart..<min(blockStart + 8, folded.count)].enumerated() { block += UInt64(b) << UInt64(8 * j) }
            h = (h ^ block) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 32
        }
        return h
    }

    /// The one-permutation MinHash with rotation densification as first written, with
    /// definition 2's shingle hash (the word hashes combined, one mix).
    static func referenceMinHash(_ words: [UInt64], slots k: Int, shingleWords n: Int) -> [UInt32] {
        var slots = [UInt64](repeating: .max, count: k)
        let count = words.count >= n ? words.count - n + 1 : 1
        for i in 0..<count {
            var h = words[i]
            for j in (i + 1)..<min(i + n, words.count) { h = h &* 0x9E37_79B9_7F4A_7C15 ^ words[j] }
            h = StableHash.mix(h ^ 0x2545_F491_4F6C_DD1D)
            let slot = Int(((h >> 32) &* UInt64(k)) >> 32)
            let value = h & 0xFFFF_FFFF
            if value < slots[slot] { slots[slot] = value }
        }
        var out = [UInt32](repeating: 0, count: k)
        for i in 0..<k {
            if slots[i] != .max {
                out[i] = UInt32(truncatingIfNeeded: slots[i])
                continue
            }
            var d = 1
            while slots[(i + d) % k] == .max { d += 1 }
            out[i] = UInt32(truncatingIfNeeded: StableHash.mix(slots[(i + d) % k] &+ UInt64(d) &* 0x9E37_79B9))
        }
        return out
    }

    @Test(arguments: [(128, 2), (128, 1), (128, 3), (100, 2), (7, 2), (1, 2)])
    func minHashIsTheReference(slots: Int, shingleWords: Int) {
        var configuration = FingerprintConfiguration()
        configuration.slots = slots
        configuration.shingleWords = shingleWords
        let fingerprinter = Fingerprinter(configuration: configuration, publicSuffixList: nil)
        var rng = SplitMix64(seed: 0x0BE5 &+ UInt64(slots * 10 + shingleWords))
        for round in 0..<300 {
            // Few words (many empty slots to densify) up to many; a small vocabulary repeats shingles.
            let count = 1 + Int(rng.next() % UInt64(round < 150 ? 20 : 600))
            let words = (0..<count).map { _ in rng.next() % 64 == 0 ? rng.next() : rng.next() % 40 }
            #expect(fingerprinter.minHash(words) == Self.referenceMinHash(words, slots: slots, shingleWords: shingleWords),
                    "\(count) words")
        }
    }

    /// ``TextNormalizer/looksRandom(_:)`` as first written.
    static func referenceLooksRandom(_ w: [UInt8]) -> Bool {
        let n = w.count
        if n > 20 { return true }
        guard n >= 5 else { return false }
        var vowels = 0, run = 0, maxRun = 0, caseChanges = 0
        var previousUpper: Bool? = nil
        for b in w {
            guard b < 0x80 else { return false }
            let up = b >= 0x41 && b <= 0x5A
            if let p = previousUpper, p != up { caseChanges += 1 }
            previousUpper = up
            switch b | 0x20 {
            case 0x61, 0x65, 0x69, 0x6F, 0x75, 0x79:
                vowels += 1
                run = 0
            default:
                run += 1
                maxRun = max(maxRun, run)
            }
        }
        let firstUpperOnly = caseChanges == 1 && w[0] >= 0x41 && w[0] <= 0x5A
        if caseChanges >= 2 || (caseChanges == 1 && !firstUpperOnly) { return true }
        return vowels == 0 || maxRun >= 5 || (n >= 8 && vowels * 6 < n)
    }

    @Test func looksRandomIsTheReference() {
        var rng = SplitMix64(seed: 0x7A2D)
        // Runs of letters (what the word pass hands over): ASCII of both cases, vowels weighted
        // up, now and then a byte of a non-ASCII character.
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZaeiouyAEIOUY".utf8) + [0xC3, 0xA9]
        var randomOnes = 0, words = 0
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 26)
            let w = (0..<n).map { _ in letters[Int(rng.next() % UInt64(letters.count))] }
            let expected = Self.referenceLooksRandom(w)
            let got = w.withUnsafeBufferPointer { TextNormalizer.looksRandom($0) }
            #expect(got == expected, "\(String(decoding: w, as: UTF8.self))")
            if expected { randomOnes += 1 } else { words += 1 }
        }
        // Both answers were exercised.
        #expect(randomOnes > 1_000 && words > 1_000)
    }

    /// The word pass's SWAR masks flag exactly the bytes the byte classes do.
    @Test func wordPassMasksAreTheByteClasses() {
        var rng = SplitMix64(seed: 0x5A5A)
        let interesting: [UInt8] = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x08, 0x1F, 0x20, 0x21, 0x2E, 0x2F, 0x30, 0x39, 0x3A, 0x3B,
                                    0x40, 0x41, 0x5A, 0x5B, 0x60, 0x61, 0x7A, 0x7B, 0x7F, 0x80, 0x89, 0xA0, 0xC3, 0xFF, 0x00]
        for round in 0..<50_000 {
            var bytes = [UInt8](repeating: 0, count: 8)
            for k in 0..<8 {
                bytes[k] = round % 2 == 0 ? interesting[Int(rng.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: rng.next())
            }
            let x = bytes.withUnsafeBufferPointer { TextNormalizer.load($0.baseAddress!, 0) }
            let space = TextNormalizer.spaceMask(x), letter = TextNormalizer.letterMask(x)
            for k in 0..<8 {
                let bit = UInt64(0x80) << UInt64(8 * k)
                #expect((space & bit != 0) == TextNormalizer.isSpace(bytes[k]), "space \(bytes[k])")
                #expect((letter & bit != 0) == TextNormalizer.isLetter(bytes[k]), "letter \(bytes[k])")
            }
            #expect(space & ~TextNormalizer.highBits == 0 && letter & ~TextNormalizer.highBits == 0)
        }
        // Vowels of lower-case letters, zero bytes after the word.
        let lower = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 9)
            var bytes = [UInt8](repeating: 0, count: 8)
            for k in 0..<n { bytes[k] = lower[Int(rng.next() % 26)] }
            let f = bytes.withUnsafeBufferPointer { TextNormalizer.load($0.baseAddress!, 0) }
            let vowels = TextNormalizer.gather(TextNormalizer.vowelMask(f))
            for k in 0..<8 {
                let expected = k < n && Array("aeiouy".utf8).contains(bytes[k])
                #expect((vowels >> UInt64(k)) & 1 == (expected ? 1 : 0), "\(String(decoding: bytes[0..<n], as: UTF8.self)) at \(k)")
            }
        }
    }

    /// The word pass judges each ASCII word by masks as ``referenceLooksRandom(_:)`` does, and
    /// hashes it as ``referenceWordHash(_:start:)``.
    @Test func wordPassJudgementIsTheReference() {
        var rng = SplitMix64(seed: 0x3D7A)
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZaeiouyAEIOUYbcdfg".utf8)
        let start = StableHash(seed: FingerprintConfiguration.default.seed).start("fw:")
        var randomOnes = 0, words = 0
        for _ in 0..<40_000 {
            let n = 2 + Int(rng.next() % 19)  // 2...20
            let w = (0..<n).map { _ in letters[Int(rng.next() % UInt64(letters.count))] }
            let padded = w + [UInt8](repeating: 0x20, count: TextNormalizer.padding)
            let got = padded.withUnsafeBufferPointer { TextNormalizer.asciiWord($0.baseAddress!, length: n, start: start) }
            let folded = w.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            switch got {
            case .random:
                #expect(Self.referenceLooksRandom(w), "\(String(decoding: w, as: UTF8.self))")
                randomOnes += 1
            case .hash(let h):
                #expect(!Self.referenceLooksRandom(w), "\(String(decoding: w, as: UTF8.self))")
                #expect(h == Self.referenceWordHash(folded, start: start))
                words += 1
            case .nonASCII:
                Issue.record("ASCII word taken for non-ASCII")
            }
        }
        #expect(randomOnes > 5_000 && words > 5_000)
    }

    /// The fingerprint version changes with every setting that changes a signature (and not with
    /// the LSH bands), is never 0 (records stored before versions), and an old record without
    /// one decodes as 0.
    @Test func fingerprintVersionTellsConfigurationsApart() throws {
        let base = FingerprintConfiguration.default
        var variants: [FingerprintConfiguration] = []
        for change in 0..<6 {
            var c = base
            switch change {
            case 0: c.slots = 64
            case 1: c.shingleWords = 3
            case 2: c.maxTextBytes = 1_000
            case 3: c.maxWords = 100
            case 4: c.minWords = 5
            default: c.seed = 1
            }
            variants.append(c)
        }
        let versions = Set(([base] + variants).map(\.version))
        #expect(versions.count == 7 && !versions.contains(0))
        var bands = base
        bands.bands = 16
        #expect(bands.version == base.version)
        #expect(FingerprintConfiguration.definition == 2)
        // A record stored as JSON before versions existed.
        let json = #"{"id":3,"label":"spam","minHash":[1,2,3],"addedAt":10,"count":1}"#
        let old = try JSONDecoder().decode(FuzzyRecord.self, from: Data(json.utf8))
        #expect(old.version == 0)
        var index = FuzzyIndex()
        let current = FuzzyRecord(id: 4, label: .spam, minHash: (0..<128).map { UInt32($0) }, addedAt: 10, version: base.version)
        var foreign = current
        foreign.id = 5
        foreign.version = variants[5].version
        #expect(Set(index.restore([old, current, foreign])) == [3, 5])
        #expect(index.allRecords.map(\.id) == [4])
    }
}
