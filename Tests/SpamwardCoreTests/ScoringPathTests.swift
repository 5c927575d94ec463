import Testing

@testable import SpamwardCore

/// The scan path's speed-ups must not change a single bit of the results: these compare the
/// fast code with straightforward reference versions on seeded random inputs.
struct ScoringPathTests {
    /// Random feature vectors over a small space (so that slots repeat across vectors and the
    /// counts a vector reads are often non-zero), each without duplicate slots.
    static func vectors(count: Int, bits: Int, seed: UInt64) -> [FeatureVector] {
        var rng = SplitMix64(seed: seed)
        let space = UInt32(1 << bits)
        return (0..<count).map { _ in
            var v = FeatureVector()
            var seen = Set<UInt32>()
            for _ in 0..<Int(rng.next() % 300) {
                let s = UInt32(truncatingIfNeeded: rng.next()) % space
                if seen.insert(s).inserted { v.tokens.append(s) }
            }
            for _ in 0..<Int(rng.next() % 1500) {
                let s = UInt32(truncatingIfNeeded: rng.next()) % space
                if seen.insert(s).inserted { v.ngrams.append(s) }
            }
            return v
        }
    }

    /// The scoring as it was written before the gathering pass: the weights summed over tokens
    /// then n-grams, then the token model's loop reading the counts in place.
    static func referenceScore(_ m: StatisticalModel, _ v: FeatureVector) -> StatisticalModel.ModelScores {
        var acc: Float = m.bias
        for i in v.tokens { acc += m.weights[Int(i)] }
        for i in v.ngrams { acc += m.weights[Int(i)] }
        var sum = 0.0, n = 0, sumLnF = 0.0, sumLn1mF = 0.0
        if m.learnedSpam > 0 && m.learnedHam > 0 {
            let invS = 1 / Double(m.learnedSpam), invH = 1 / Double(m.learnedHam)
            for i in v.tokens {
                let k = 2 * Int(i)
                guard let f = StatisticalModel.robinson(spam: m.counts[k], ham: m.counts[k + 1], invSpam: invS, invHam: invH,
                                                        strength: m.robinsonStrength, prior: m.robinsonPrior),
                      abs(f - 0.5) >= m.minDeviation
                else { continue }
                let i = Int((f * Double(LogTable.steps)).rounded())
                let lf = LogTable.table[min(max(i, 0), LogTable.steps)]
                let l1f = LogTable.table[min(max(LogTable.steps - i, 0), LogTable.steps)]
                sum += lf - l1f
                sumLnF += lf
                sumLn1mF += l1f
                n += 1
            }
        }
        var s = StatisticalModel.ModelScores(discriminative: Double(acc), tokenLogOdds: sum, significantTokens: n, combined: 0)
        if n > 0 {
            s.fisher = StatisticalModel.logChi2Q(-2 * sumLnF, 2 * n) - StatisticalModel.logChi2Q(-2 * sumLn1mF, 2 * n)
        }
        let x = s.combinerInputs
        var c = 0.0
        for k in 0..<x.count { c += m.combinerWeights[k] * x[k] }
        s.combined = c
        return s
    }

    @Test func scoresAreBitIdenticalToTheReference() {
        let configuration = FeatureConfiguration(featureBits: 12)
        var model = StatisticalModel(configuration: configuration)
        let train = Self.vectors(count: 200, bits: 12, seed: 7)
        let test = Self.vectors(count: 200, bits: 12, seed: 8)
        var compared = 0
        for (k, v) in train.enumerated() {
            // Also before both classes are learned (the token model off), and after each learn.
            for t in test.prefix(3) {
                let fast = model.score(t), slow = Self.referenceScore(model, t)
                #expect(fast.combined.bitPattern == slow.combined.bitPattern)
                #expect(fast.discriminative.bitPattern == slow.discriminative.bitPattern)
                compared += 1
            }
            model.learn(v, as: k % 3 == 0 ? .spam : .ham)
        }
        var significant = 0
        for t in test {
            let fast = model.score(t), slow = Self.referenceScore(model, t)
            #expect(fast == slow)
            #expect(fast.combined.bitPattern == slow.combined.bitPattern)
            significant += fast.significantTokens
        }
        // The comparison exercised the token model, not only the weights.
        #expect(significant > 1000)
        #expect(compared == 600)
    }

    @Test func uniqueSlotsKeepFirstOccurrencesInOrder() {
        var rng = SplitMix64(seed: 42)
        for size in [0, 1, 2, 3, 17, 100, 1000, 5000] {
            for range in [UInt32(4), 64, 4096, UInt32.max - 1] {
                let a = (0..<size).map { _ in UInt32(truncatingIfNeeded: rng.next()) % range }
                var seen = Set<UInt32>()
                let expected = a.filter { seen.insert($0).inserted }
                #expect(SlotSet.unique(a) == expected)
            }
        }
    }
}
