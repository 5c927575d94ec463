/// The measures of the reference scorer (`score.py`), for a labelled test set scored by a
/// classifier: higher score = spammier, spam = the positive class.
///
/// Every function here is a port of the function of the same purpose in `score.py`, and gives
/// the same numbers (up to floating-point summation order):
///
/// - ``auc(labels:scores:)``: ROC area by Mann-Whitney, average ranks for ties (`auc_of`).
/// - ``rocPoints(labels:scores:)``: one ROC vertex per distinct score threshold (`roc_points`).
/// - ``tprAtFPR(fpr:tpr:_:)`` / ``fprAtTPR(fpr:tpr:_:)``: the curve crossing a rate, linearly
///   interpolated between adjacent vertices (`tpr_at_fpr` / `fpr_at_tpr`).
/// - ``bootstrapInterval(labels:scores:resamples:confidence:seed:)``: a stratified-bootstrap
///   interval of 100·(1−AUC) (`bootstrap_ci`; our own deterministic PRNG, not numpy's).
/// - ``errorCounts(labels:scores:threshold:)``: false positives and negatives when a message is
///   spam iff `score >= threshold` (`at_threshold`).
///
/// Failed messages (a NaN score) are ranked as the least spammy, as a mail system failing open
/// would do: ``cleanedScores(_:)`` replaces NaN by (smallest finite score − 1), and ±∞ by
/// ±`Double.greatestFiniteMagnitude`. Every public function here cleans its scores first.
public enum EvaluationMetrics {
    /// The scores as the reference scorer ranks them: NaN becomes (smallest finite score − 1),
    /// or 0 when no score is finite; +∞ and −∞ become ±`Double.greatestFiniteMagnitude`.
    public static func cleanedScores(_ scores: [Double]) -> [Double] {
        var minFinite = Double.infinity
        for s in scores where s.isFinite { minFinite = Swift.min(minFinite, s) }
        let floor = minFinite.isFinite ? minFinite - 1.0 : 0.0
        return scores.map { s in
            if s.isNaN { return floor }
            if s == .infinity { return .greatestFiniteMagnitude }
            if s == -.infinity { return -.greatestFiniteMagnitude }
            return s
        }
    }

    /// ROC area (the probability that a random spam scores above a random ham, ties counting
    /// one half), or NaN when either class is empty.
    public static func auc(labels: [Label], scores: [Double]) -> Double {
        precondition(labels.count == scores.count, "one label per score")
        return auc(isSpam: labels.map { $0 == .spam }, cleaned: cleanedScores(scores))
    }

    /// The ROC vertices, one per distinct score threshold taken from the highest score down,
    /// from (0, 0) to (1, 1). Rates are fractions; a rate is NaN when its class is empty.
    public static func rocPoints(labels: [Label], scores: [Double]) -> (fpr: [Double], tpr: [Double]) {
        precondition(labels.count == scores.count, "one label per score")
        return rocPoints(isSpam: labels.map { $0 == .spam }, cleaned: cleanedScores(scores))
    }

    /// The true-positive rate where the ROC curve crosses false-positive rate `x` (a fraction
    /// in 0...1), interpolated linearly between the vertices around it.
    public static func tprAtFPR(fpr: [Double], tpr: [Double], _ x: Double) -> Double {
        guard !fpr.isEmpty, fpr.count == tpr.count else { return .nan }
        // Last vertex with fpr <= x (numpy `searchsorted(side: "right") - 1`; NaN sorts last).
        let i = Swift.max(0, firstIndex(in: fpr) { !($0 <= x) } - 1)
        if fpr[i] == x || i == fpr.count - 1 { return tpr[i] }
        let (f0, f1, t0, t1) = (fpr[i], fpr[i + 1], tpr[i], tpr[i + 1])
        return t0 + (x - f0) * (t1 - t0) / (f1 - f0)
    }

    /// The false-positive rate where the ROC curve crosses true-positive rate `x` (a fraction
    /// in 0...1), interpolated linearly between the vertices around it.
    public static func fprAtTPR(fpr: [Double], tpr: [Double], _ x: Double) -> Double {
        guard !fpr.isEmpty, fpr.count == tpr.count else { return .nan }
        // First vertex with tpr >= x (numpy `searchsorted(side: "left")`; NaN sorts last).
        let j = firstIndex(in: tpr) { !($0 < x) }
        guard j < tpr.count else { return .nan }
        if j == 0 || tpr[j] == x { return fpr[j] }
        let (f0, f1, t0, t1) = (fpr[j - 1], fpr[j], tpr[j - 1], tpr[j])
        return f0 + (x - t0) * (f1 - f0) / (t1 - t0)
    }

    /// A stratified-bootstrap interval of 100·(1−AUC): `resamples` test sets are drawn with
    /// replacement, as many spam from the spam and as many ham from the ham, and the interval is
    /// the central `confidence` share of their values (numpy's linear percentile). Deterministic
    /// for a given seed. NaN bounds when either class is empty or `resamples` is 0.
    public static func bootstrapInterval(
        labels: [Label], scores: [Double], resamples: Int = 1000, confidence: Double = 0.95, seed: UInt64 = 1
    ) -> (low: Double, high: Double) {
        precondition(labels.count == scores.count, "one label per score")
        return bootstrapInterval(
            isSpam: labels.map { $0 == .spam }, cleaned: cleanedScores(scores),
            resamples: resamples, confidence: confidence, seed: seed)
    }

    /// Ham scored as spam and spam scored as ham, when a message is spam iff its (cleaned)
    /// score is `>= threshold`.
    public static func errorCounts(
        labels: [Label], scores: [Double], threshold: Double
    ) -> (falsePositives: Int, falseNegatives: Int) {
        precondition(labels.count == scores.count, "one label per score")
        return errorCounts(isSpam: labels.map { $0 == .spam }, cleaned: cleanedScores(scores), threshold: threshold)
    }

    // MARK: - On cleaned scores

    static func auc(isSpam: [Bool], cleaned s: [Double]) -> Double {
        let n = s.count
        let nPos = isSpam.count { $0 }
        let nNeg = n - nPos
        guard nPos > 0, nNeg > 0 else { return .nan }
        let order = s.indices.sorted { s[$0] < s[$1] }
        var rankSumPos = 0.0
        var start = 0
        while start < n {
            var end = start + 1
            while end < n, s[order[end]] == s[order[end - 1]] { end += 1 }
            // Average of the 1-based ranks start+1 ... end.
            let average = Double(start + end + 1) / 2.0
            for k in start..<end where isSpam[order[k]] { rankSumPos += average }
            start = end
        }
        return (rankSumPos - Double(nPos * (nPos + 1)) / 2.0) / Double(nPos * nNeg)
    }

    static func rocPoints(isSpam: [Bool], cleaned s: [Double]) -> (fpr: [Double], tpr: [Double]) {
        let n = s.count
        guard n > 0 else { return ([0], [0]) }
        let order = s.indices.sorted { s[$0] > s[$1] }
        let nPos = isSpam.count { $0 }
        let nNeg = n - nPos
        var fpr: [Double] = [0]
        var tpr: [Double] = [0]
        var tp = 0
        var fp = 0
        for k in 0..<n {
            if isSpam[order[k]] { tp += 1 } else { fp += 1 }
            if k == n - 1 || s[order[k + 1]] != s[order[k]] {
                // x / 0 is NaN, as in numpy, when a class is empty.
                tpr.append(Double(tp) / Double(nPos))
                fpr.append(Double(fp) / Double(nNeg))
            }
        }
        return (fpr, tpr)
    }

    static func bootstrapInterval(
        isSpam: [Bool], cleaned s: [Double], resamples: Int, confidence: Double, seed: UInt64
    ) -> (low: Double, high: Double) {
        let pos = s.indices.filter { isSpam[$0] }
        let neg = s.indices.filter { !isSpam[$0] }
        guard !pos.isEmpty, !neg.isEmpty, resamples > 0 else { return (.nan, .nan) }

        // Rank groups (distinct scores, ascending) once; a resample only counts how many of its
        // spam and ham fall in each group, and the Mann-Whitney U follows in one pass. U is an
        // exact half-integer, so this equals the average-rank formula of `auc(isSpam:cleaned:)`.
        let order = s.indices.sorted { s[$0] < s[$1] }
        var group = [Int](repeating: 0, count: s.count)
        var groupCount = 0
        for k in order.indices {
            if k > 0, s[order[k]] != s[order[k - 1]] { groupCount += 1 }
            group[order[k]] = groupCount
        }
        groupCount += 1
        let posGroups = pos.map { group[$0] }
        let negGroups = neg.map { group[$0] }

        var rng = SplitMix64(seed: seed)
        var posIn = [Int](repeating: 0, count: groupCount)
        var negIn = [Int](repeating: 0, count: groupCount)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        for _ in 0..<resamples {
            for g in 0..<groupCount {
                posIn[g] = 0
                negIn[g] = 0
            }
            for _ in 0..<posGroups.count { posIn[posGroups[rng.next(below: posGroups.count)]] += 1 }
            for _ in 0..<negGroups.count { negIn[negGroups[rng.next(below: negGroups.count)]] += 1 }
            var twiceU = 0
            var negBelow = 0
            for g in 0..<groupCount {
                twiceU += posIn[g] * (2 * negBelow + negIn[g])
                negBelow += negIn[g]
            }
            let auc = (Double(twiceU) / 2.0) / Double(pos.count * neg.count)
            values.append(100.0 * (1.0 - auc))
        }
        values.sort()
        let tail = (1.0 - confidence) / 2.0
        return (percentile(sorted: values, tail), percentile(sorted: values, 1.0 - tail))
    }

    static func errorCounts(
        isSpam: [Bool], cleaned s: [Double], threshold: Double
    ) -> (falsePositives: Int, falseNegatives: Int) {
        var fp = 0
        var fn = 0
        for (spam, score) in zip(isSpam, s) {
            let predicted = score >= threshold
            if predicted, !spam { fp += 1 }
            if !predicted, spam { fn += 1 }
        }
        return (fp, fn)
    }

    // MARK: - Helpers

    /// The first index whose element satisfies `predicate`, for a predicate that is false on a
    /// prefix and true after it (a binary search); `elements.count` if none.
    static func firstIndex(in elements: [Double], where predicate: (Double) -> Bool) -> Int {
        var low = 0
        var high = elements.count
        while low < high {
            let mid = low + (high - low) / 2
            if predicate(elements[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// numpy's default ("linear") percentile; `q` is a fraction in 0...1.
    static func percentile(sorted values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let h = q * Double(values.count - 1)
        let lower = Swift.min(Swift.max(Int(h.rounded(.down)), 0), values.count - 1)
        let upper = Swift.min(lower + 1, values.count - 1)
        let fraction = h - Double(lower)
        return values[lower] + (values[upper] - values[lower]) * fraction
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast, fixed-seed generator, so that
/// bootstrap intervals are reproducible across runs and platforms.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (multiply-shift; the bias is below 2⁻³² for any bound we use).
    mutating func next(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}

/// The reference scorer's summary of one evaluation run (`score.py`'s `summary.json`), in full
/// precision (`score.py` rounds when it prints).
///
/// ``oneMinusAUCPercent``, ``ciLow``, ``ciHigh``, ``fnrAtFPR01`` and ``fprAtFNR1`` are percents
/// (0...100), as `score.py` prints them; ``auc``, ``fpr``, ``fnr`` and ``accuracy`` are fractions
/// (0...1; `score.py` prints the last three ×100).
/// A measure that is undefined (for example the AUC of a test set without ham) is NaN, and is
/// encoded as `null` (and decoded back to NaN), so the summary always encodes as plain JSON.
public struct EvaluationSummary: Sendable, Hashable, Codable {
    /// Test messages.
    public var count: Int
    public var spamCount: Int
    public var hamCount: Int
    /// ROC area, Mann-Whitney with ties counting one half (a fraction).
    public var auc: Double
    /// 100·(1−AUC), the TREC spam-track summary measure.
    public var oneMinusAUCPercent: Double
    /// Lower bound of the 95% stratified-bootstrap interval of ``oneMinusAUCPercent``.
    public var ciLow: Double
    /// Upper bound of the 95% stratified-bootstrap interval of ``oneMinusAUCPercent``.
    public var ciHigh: Double
    /// A message counts as spam iff its score is `>= threshold`.
    public var threshold: Double
    /// Ham misfiled as spam at ``threshold``, a fraction of the ham.
    public var fpr: Double
    /// Spam missed at ``threshold``, a fraction of the spam.
    public var fnr: Double
    /// Messages classified right at ``threshold``, a fraction of all.
    public var accuracy: Double
    public var falsePositives: Int
    public var falseNegatives: Int
    /// FNR (percent) where the ROC curve crosses FPR = 0.1%.
    public var fnrAtFPR01: Double
    /// FPR (percent) where the ROC curve crosses FNR = 1%.
    public var fprAtFNR1: Double
    /// Messages whose score is NaN (the classifier failed); ranked as the least spammy.
    public var errors: Int

    public init(
        count: Int, spamCount: Int, hamCount: Int, auc: Double, oneMinusAUCPercent: Double,
        ciLow: Double, ciHigh: Double, threshold: Double, fpr: Double, fnr: Double, accuracy: Double,
        falsePositives: Int, falseNegatives: Int, fnrAtFPR01: Double, fprAtFNR1: Double, errors: Int
    ) {
        self.count = count
        self.spamCount = spamCount
        self.hamCount = hamCount
        self.auc = auc
        self.oneMinusAUCPercent = oneMinusAUCPercent
        self.ciLow = ciLow
        self.ciHigh = ciHigh
        self.threshold = threshold
        self.fpr = fpr
        self.fnr = fnr
        self.accuracy = accuracy
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.fnrAtFPR01 = fnrAtFPR01
        self.fprAtFNR1 = fprAtFNR1
        self.errors = errors
    }

    /// Scores a test set as `score.py` does.
    ///
    /// - Parameters:
    ///   - labels: the true class of each message.
    ///   - scores: the classifier's score of each message (higher = spammier; NaN = failed).
    ///   - threshold: the classifier's own decision threshold (spam iff `score >= threshold`).
    ///   - bootstrap: bootstrap resamples for ``ciLow``/``ciHigh`` (0 leaves them NaN).
    public static func summarize(
        labels: [Label], scores: [Double], threshold: Double, bootstrap: Int = 1000
    ) -> EvaluationSummary {
        precondition(labels.count == scores.count, "one label per score")
        let isSpam = labels.map { $0 == .spam }
        let s = EvaluationMetrics.cleanedScores(scores)
        let n = s.count
        let spamCount = isSpam.count { $0 }
        let hamCount = n - spamCount
        let auc = EvaluationMetrics.auc(isSpam: isSpam, cleaned: s)
        let (fprs, tprs) = EvaluationMetrics.rocPoints(isSpam: isSpam, cleaned: s)
        let ci = EvaluationMetrics.bootstrapInterval(
            isSpam: isSpam, cleaned: s, resamples: bootstrap, confidence: 0.95, seed: 1)
        let (fp, fn) = EvaluationMetrics.errorCounts(isSpam: isSpam, cleaned: s, threshold: threshold)
        func fraction(_ part: Int, of whole: Int) -> Double {
            whole > 0 ? Double(part) / Double(whole) : .nan
        }
        return EvaluationSummary(
            count: n, spamCount: spamCount, hamCount: hamCount,
            auc: auc, oneMinusAUCPercent: 100.0 * (1.0 - auc), ciLow: ci.low, ciHigh: ci.high,
            threshold: threshold,
            fpr: fraction(fp, of: hamCount), fnr: fraction(fn, of: spamCount),
            accuracy: fraction(n - fp - fn, of: n),
            falsePositives: fp, falseNegatives: fn,
            fnrAtFPR01: 100.0 * (1.0 - EvaluationMetrics.tprAtFPR(fpr: fprs, tpr: tprs, 0.001)),
            fprAtFNR1: 100.0 * EvaluationMetrics.fprAtTPR(fpr: fprs, tpr: tprs, 0.99),
            errors: scores.count { $0.isNaN })
    }

    private enum CodingKeys: String, CodingKey {
        case count, spamCount, hamCount, auc, oneMinusAUCPercent, ciLow, ciHigh, threshold
        case fpr, fnr, accuracy, falsePositives, falseNegatives, fnrAtFPR01, fprAtFNR1, errors
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func rate(_ key: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: key) ?? .nan }
        self.init(
            count: try c.decode(Int.self, forKey: .count),
            spamCount: try c.decode(Int.self, forKey: .spamCount),
            hamCount: try c.decode(Int.self, forKey: .hamCount),
            auc: try rate(.auc), oneMinusAUCPercent: try rate(.oneMinusAUCPercent),
            ciLow: try rate(.ciLow), ciHigh: try rate(.ciHigh), threshold: try rate(.threshold),
            fpr: try rate(.fpr), fnr: try rate(.fnr), accuracy: try rate(.accuracy),
            falsePositives: try c.decode(Int.self, forKey: .falsePositives),
            falseNegatives: try c.decode(Int.self, forKey: .falseNegatives),
            fnrAtFPR01: try rate(.fnrAtFPR01), fprAtFNR1: try rate(.fprAtFNR1),
            errors: try c.decode(Int.self, forKey: .errors))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func rate(_ value: Double, _ key: CodingKeys) throws {
            if value.isFinite { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        try c.encode(count, forKey: .count)
        try c.encode(spamCount, forKey: .spamCount)
        try c.encode(hamCount, forKey: .hamCount)
        try rate(auc, .auc)
        try rate(oneMinusAUCPercent, .oneMinusAUCPercent)
        try rate(ciLow, .ciLow)
        try rate(ciHigh, .ciHigh)
        try rate(threshold, .threshold)
        try rate(fpr, .fpr)
        try rate(fnr, .fnr)
        try rate(accuracy, .accuracy)
        try c.encode(falsePositives, forKey: .falsePositives)
        try c.encode(falseNegatives, forKey: .falseNegatives)
        try rate(fnrAtFPR01, .fnrAtFPR01)
        try rate(fprAtFNR1, .fprAtFNR1)
        try c.encode(errors, forKey: .errors)
    }
}
