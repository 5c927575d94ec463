#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Spamward's learner: two online models over the same hashed features and a small online
/// combiner that weighs them.
///
/// - A discriminative model: online logistic regression over binary features (words, header
///   and structure tokens, word pairs and byte 4-grams), the family that did best at the TREC
///   spam tracks. Every learn applies one gradient step whose size is remembered, so that a
///   learn can be undone exactly (``forget``).
/// - A generative token model: per-feature spam and ham counts, scored with Robinson's smoothed
///   token probabilities (the bogofilter family), over the token features only. Counting makes
///   learning and forgetting exact.
/// - A combiner: a fixed linear combination of the two models' log-odds (and a summary of
///   the token model). Its weights were measured as the logistic regression of the components'
///   prequential scores (each learned message's scores from *before* it was learned); keeping
///   them fixed makes every learn exactly reversible.
public struct StatisticalModel: Sendable {
    public let configuration: FeatureConfiguration
    /// Logistic-regression weights, one per slot.
    var weights: [Float]
    var bias: Float = 0
    /// Spam and ham counts per slot, interleaved: `counts[2*i]` spam, `counts[2*i+1]` ham.
    var counts: [UInt32]
    public internal(set) var learnedSpam: Int = 0
    public internal(set) var learnedHam: Int = 0
    /// Combiner weights over ``ModelScores/combinerInputs``, the last one the bias.
    var combiner: [Double]

    /// Learning rate of the logistic regression: the most one learn moves that message's own
    /// log-odds (the per-feature step is this divided by the number of active features).
    public var learningRate: Float = 16
    /// Robinson's strength of the prior and the prior probability of an unseen token.
    public var robinsonStrength: Double = 0.0178
    public var robinsonPrior: Double = 0.52
    /// Token probabilities closer than this to 0.5 are ignored by the token model.
    public var minDeviation: Double = 0.45

    /// The combiner's weights: where an online logistic regression over the components'
    /// prequential scores settled after the first half of the SpamAssassin corpus (see
    /// docs/learner.md). They are stored in the model file, so a future model can carry others.
    public static let initialCombiner: [Double] = [0.6, 0.2, -0.13, 0.15]

    /// The combiner's weights (discriminative, token log-odds / sqrt(n), Fisher / 10, bias).
    public var combinerWeights: [Double] {
        get { combiner }
        set { if newValue.count == combiner.count { combiner = newValue } }
    }

    public init(configuration: FeatureConfiguration = .default) {
        self.configuration = configuration
        weights = Self.slotArray(repeating: 0, count: configuration.slotCount)
        counts = Self.slotArray(repeating: 0, count: configuration.slotCount * 2)
        combiner = Self.initialCombiner
    }

    public var learnedCount: Int { learnedSpam + learnedHam }

    /// A slot array (16 or 32 MB) whose storage is advised as transparent huge pages before it
    /// is first written. Scoring and learning read one random slot per feature; with 4 KiB
    /// pages nearly every read also missed the TLB. Without huge pages (other kernels, or THP
    /// off) the advice is ignored and the array is the same.
    static func slotArray<T>(repeating value: T, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if os(Linux)
            if let base = buffer.baseAddress, count > 0 {
                // The whole 4 KiB pages inside the buffer (madvise takes a page-aligned start).
                let page: UInt = 4096
                let start = (UInt(bitPattern: base) + page - 1) & ~(page - 1)
                let end = UInt(bitPattern: base + count) & ~(page - 1)
                if end > start, let p = UnsafeMutableRawPointer(bitPattern: start) {
                    _ = madvise(p, Int(end - start), MADV_HUGEPAGE)
                }
            }
            #endif
            buffer.initialize(repeating: value)
            initialized = count
        }
    }

    // MARK: scoring

    /// The component scores of one message.
    public struct ModelScores: Sendable, Hashable {
        /// Logistic regression log-odds.
        public var discriminative: Double
        /// Token model: sum of the log-odds of the significant tokens.
        public var tokenLogOdds: Double
        /// Token model: number of significant tokens.
        public var significantTokens: Int
        /// Token model: Fisher's combination of the significant tokens' probabilities, as
        /// log Q(spam-side) - log Q(ham-side) (positive: spam). The continuous form of
        /// Robinson's indicator, without its saturation at 0 and 1.
        public var fisher: Double = 0
        /// Combined log-odds of spam.
        public var combined: Double

        var combinerInputs: [Double] {
            let n = Double(max(significantTokens, 1))
            return [Self.clip(discriminative), Self.clip(tokenLogOdds / n.squareRoot()), Self.clip(fisher / 10), 1]
        }
        static func clip(_ x: Double) -> Double { min(40, max(-40, x)) }
    }

    /// Robinson's smoothed probability that a token with these counts means spam, or `nil`
    /// for a token never seen. `invSpam`/`invHam` are 1 / messages learned of each class.
    @inline(__always)
    static func robinson(spam: UInt32, ham: UInt32, invSpam: Double, invHam: Double, strength: Double, prior: Double) -> Double? {
        if spam == 0 && ham == 0 { return nil }
        let ps = Double(spam) * invSpam, ph = Double(ham) * invHam
        let n = Double(spam) + Double(ham)
        return (strength * prior + n * ps / (ps + ph)) / (strength + n)
    }

    @inline(__always) func tokenProbability(slot: Int) -> Double? {
        Self.robinson(spam: counts[2 &* slot], ham: counts[2 &* slot &+ 1],
                      invSpam: 1 / Double(max(learnedSpam, 1)), invHam: 1 / Double(max(learnedHam, 1)),
                      strength: robinsonStrength, prior: robinsonPrior)
    }

    /// The logistic regression's log-odds alone.
    public func discriminativeScore(_ v: FeatureVector) -> Double {
        weights.withUnsafeBufferPointer { w in
            var acc: Float = bias
            for i in v.tokens { acc += w[Int(i)] }
            for i in v.ngrams { acc += w[Int(i)] }
            return Double(acc)
        }
    }

    /// Scores a feature vector.
    ///
    /// The memory reads come first, in one pass without data-dependent branches: each token's
    /// weight and its two counts (a random slot each of 16 and 32 MB), then the n-grams'
    /// weights, so that the processor keeps many cache misses in flight. The token model's
    /// arithmetic (with its branches on the counts) then runs on the gathered copy. Branching on
    /// each count as it arrived stalled the loop on one miss at a time (~10% of a scan's time).
    /// The sums are the same additions in the same order as ``discriminativeScore`` and the
    /// token loop it replaced, so the scores are bit-identical.
    public func score(_ v: FeatureVector) -> ModelScores {
        let trained = learnedSpam > 0 && learnedHam > 0
        var sum = 0.0
        var n = 0
        var sumLnF = 0.0, sumLn1mF = 0.0
        let z: Double = v.tokens.withUnsafeBufferPointer { tokens in
            // Spam count in the low half, ham count in the high half; `tokens.count` elements,
            // each written in the first loop before the second reads it.
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: trained ? tokens.count : 0) { pairs in
                var acc: Float = bias
                weights.withUnsafeBufferPointer { w in
                    if trained {
                        counts.withUnsafeBufferPointer { c in
                            for j in 0..<tokens.count {
                                let i = Int(tokens[j])
                                acc += w[i]
                                let k = 2 &* i
                                pairs[j] = UInt64(c[k]) | UInt64(c[k &+ 1]) << 32
                            }
                        }
                    } else {
                        for i in tokens { acc += w[Int(i)] }
                    }
                    for i in v.ngrams { acc += w[Int(i)] }
                }
                if trained {
                    let invS = 1 / Double(learnedSpam), invH = 1 / Double(learnedHam)
                    let strength = robinsonStrength, prior = robinsonPrior
                    let minDev = minDeviation
                    for pair in pairs {
                        guard let f = Self.robinson(spam: UInt32(truncatingIfNeeded: pair),
                                                    ham: UInt32(truncatingIfNeeded: pair >> 32),
                                                    invSpam: invS, invHam: invH, strength: strength, prior: prior),
                              abs(f - 0.5) >= minDev
                        else { continue }
                        let (lf, l1f) = LogTable.logs(f)
                        sum += lf - l1f
                        sumLnF += lf
                        sumLn1mF += l1f
                        n += 1
                    }
                }
                return Double(acc)
            }
        }
        var s = ModelScores(discriminative: z, tokenLogOdds: sum, significantTokens: n, combined: 0)
        if n > 0 {
            s.fisher = Self.logChi2Q(-2 * sumLnF, 2 * n) - Self.logChi2Q(-2 * sumLn1mF, 2 * n)
        }
        let x = s.combinerInputs
        var c = 0.0
        for k in 0..<x.count { c += combiner[k] * x[k] }
        s.combined = c
        return s
    }

    /// Per-feature contributions to the combined log-odds (for explanations), largest first.
    ///
    /// A feature's contribution is its logistic-regression weight times the combiner's weight
    /// for that model, plus (for tokens the token model counted) its share of the token model's
    /// two terms: the log-odds sum term exactly, and the Fisher term in proportion to the
    /// token's log-odds. The contributions add up to the combined score less the bias terms.
    public func contributions(_ v: FeatureVector, scores s: ModelScores, limit: Int) -> [(slot: UInt32, weight: Double)] {
        var out: [(UInt32, Double)] = []
        let n = Double(max(s.significantTokens, 1))
        let clippedFisher = ModelScores.clip(s.fisher / 10)
        let fisherShare = s.tokenLogOdds != 0 ? combiner[2] * clippedFisher / s.tokenLogOdds : 0
        let tokenScale = combiner[1] / n.squareRoot() + fisherShare
        var seen = Set<UInt32>()
        for i in v.tokens {
            var c = Double(weights[Int(i)]) * combiner[0]
            if learnedSpam > 0 && learnedHam > 0, let f = tokenProbability(slot: Int(i)), abs(f - 0.5) >= minDeviation {
                let (lf, l1f) = LogTable.logs(f)
                c += (lf - l1f) * tokenScale
            }
            if c != 0 { out.append((i, c)) }
            seen.insert(i)
        }
        for i in v.ngrams where !seen.contains(i) {
            let c = Double(weights[Int(i)]) * combiner[0]
            if c != 0 { out.append((i, c)) }
        }
        out.sort { abs($0.1) > abs($1.1) }
        return Array(out.prefix(limit))
    }

    /// Same, scoring the vector first.
    public func contributions(_ v: FeatureVector, limit: Int) -> [(slot: UInt32, weight: Double)] {
        contributions(v, scores: score(v), limit: limit)
    }

    // MARK: learning

    /// Learns one message with its true label. Returns the step size to keep for ``forget``.
    @discardableResult
    public mutating func learn(_ v: FeatureVector, as label: Label) -> Float {
        let before = discriminativeScore(v)
        let y: Double = label == .spam ? 1 : 0
        // Logistic regression step.
        // The step is normalized by the number of active features, so that one message moves
        // its own log-odds by at most `learningRate`, however long it is.
        let p = Self.sigmoid(before)
        let active = Float(max(1, v.tokens.count + v.ngrams.count))
        let g = learningRate * Float(y - p) / active
        apply(v, step: g)
        // Token counts.
        count(v, label: label, delta: 1)
        if label == .spam { learnedSpam += 1 } else { learnedHam += 1 }
        return g
    }

    /// Undoes a learn of this message with this label and step size.
    public mutating func forget(_ v: FeatureVector, as label: Label, step: Float) {
        apply(v, step: -step)
        count(v, label: label, delta: -1)
        if label == .spam { learnedSpam = max(0, learnedSpam - 1) } else { learnedHam = max(0, learnedHam - 1) }
    }

    mutating func apply(_ v: FeatureVector, step: Float) {
        guard step != 0 else { return }
        weights.withUnsafeMutableBufferPointer { w in
            for i in v.tokens { w[Int(i)] += step }
            for i in v.ngrams { w[Int(i)] += step }
        }
        bias += step
    }

    mutating func count(_ v: FeatureVector, label: Label, delta: Int) {
        let off = label == .spam ? 0 : 1
        counts.withUnsafeMutableBufferPointer { c in
            for i in v.tokens {
                let k = 2 * Int(i) + off
                if delta > 0 {
                    if c[k] < UInt32.max { c[k] += 1 }
                } else if c[k] > 0 {
                    c[k] -= 1
                }
            }
        }
    }

    /// log of the upper tail of the chi-square distribution with an even number of degrees
    /// of freedom: Q(x, 2k) = e^(-x/2) * sum_{i<k} (x/2)^i / i!. The sum is accumulated in
    /// linear space and rescaled before it could overflow, so the cost is k multiplications.
    static func logChi2Q(_ x: Double, _ dof: Int) -> Double {
        let m = x / 2
        guard m > 0 else { return 0 }
        let k = dof / 2
        var term = 1.0
        var sum = 1.0
        var logScale = 0.0
        if k > 1 {
            for i in 1..<k {
                term *= m / Double(i)
                sum += term
                if sum > 1e280 {
                    sum *= 1e-280
                    term *= 1e-280
                    logScale += 644.7238260383328  // 280 * ln(10)
                }
            }
        }
        return min(0, -m + log(sum) + logScale)
    }

    @inline(__always) static func sigmoid(_ z: Double) -> Double { 1 / (1 + exp(-min(60, max(-60, z)))) }
}


/// ln(f) and ln(1 - f) for token probabilities, clamped to [0.001, 0.999], from a table of
/// 8,192 steps (the error is far below what the combination can notice, and it avoids two `log`
/// calls per token).
enum LogTable {
    static let steps = 8192
    static let table: [Double] = {
        var t = [Double](repeating: 0, count: steps + 1)
        for i in 0...steps {
            let f = min(0.999, max(0.001, Double(i) / Double(steps)))
            t[i] = log(f)
        }
        return t
    }()

    @inline(__always) static func logs(_ f: Double) -> (Double, Double) {
        // `Int(y.rounded())` for y >= 0 without libm's `round` (a call per token on x86-64
        // without SSE4.1): the truncation plus one when the exact fraction is at least one half.
        // For y < 0 (never: f is a probability) the index differs but clamps to the same 0.
        let y = f * Double(steps)
        var i = Int(y)
        if y - Double(i) >= 0.5 { i &+= 1 }
        let j = steps - i
        return table.withUnsafeBufferPointer { t in (t[min(max(i, 0), steps)], t[min(max(j, 0), steps)]) }
    }
}
