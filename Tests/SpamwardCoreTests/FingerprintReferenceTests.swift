import Testing

@testable import SpamwardCore

/// The fingerprint's faster steps against the straightforward code they replaced (kept here as
/// the reference): signatures and word judgements must not change, or stored fingerprints stop
/// matching.
@Suite("Fingerprint steps agree with the reference code")
struct FingerprintReferenceTests {
    /// The one-permutation MinHash with rotation densification as first written.
    static func referenceMinHash(_ words: [UInt64], slots k: Int, shingleWords n: Int) -> [UInt32] {
        var slots = [UInt64](repeating: .max, count: k)
        let count = words.count >= n ? words.count - n + 1 : 1
        for i in 0..<count {
            var h: UInt64 = 0x2545_F491_4F6C_DD1D
            for j in i..<min(i + n, words.count) { h = StableHash.mix(h &* 0x9E37_79B9_7F4A_7C15 ^ words[j]) }
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
}
