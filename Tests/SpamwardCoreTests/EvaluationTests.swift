import Foundation
import Testing

@testable import SpamwardCore

// Expected numbers come from running the functions of /work/shared/peers/score.py (auc_of,
// roc_points, tpr_at_fpr, fpr_at_tpr, at_threshold, and summarize's NaN/inf cleaning) with
// python3 + numpy on the same arrays, printed with repr(). score.py reports FPR, FNR and
// accuracy at the threshold in percent; EvaluationSummary keeps them as fractions.

private let tolerance = 1e-9

private func close(_ a: Double, _ b: Double) -> Bool {
    (a.isNaN && b.isNaN) || abs(a - b) <= tolerance
}

private struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    var labels: [Label]
    var scores: [Double]
    var threshold: Double
    // Expected (score.py).
    var auc: Double
    var oneMinusAUCPercent: Double
    var fnrAtFPR01: Double
    var fprAtFNR1: Double
    var falsePositives: Int
    var falseNegatives: Int
    var fpr: Double
    var fnr: Double
    var accuracy: Double
    var errors: Int
    /// tpr_at_fpr and fpr_at_tpr at x = 0, 0.1, 0.25, 0.5, 0.7, 1.
    var tprAtFPR: [Double]
    var fprAtTPR: [Double]
    var testDescription: String { name }
}

private let probes = [0.0, 0.1, 0.25, 0.5, 0.7, 1.0]

private func labels(_ s: String) -> [Label] { s.map { $0 == "s" ? .spam : .ham } }

/// 1500 ham and 300 spam with many ties, two of them failed (NaN).
private let dLabels = [Label](repeating: .ham, count: 1500) + [Label](repeating: .spam, count: 300)
private let dScores: [Double] = {
    var s = (0..<1500).map { Double(($0 * 7919) % 997) / 100.0 }
    s += (0..<300).map { Double(($0 * 104_729) % 991) / 100.0 + 4.0 }
    s[10] = .nan
    s[1600] = .nan
    return s
}()

private let cases: [Case] = [
    Case(
        name: "ties and a NaN", labels: labels("shsshhshsh"),
        scores: [0.9, 0.1, 0.8, 0.4, 0.4, 0.2, 0.7, 0.8, .nan, 0.05], threshold: 0.5,
        auc: 0.68, oneMinusAUCPercent: 31.999999999999996,
        fnrAtFPR01: 79.89999999999999, fprAtFNR1: 100.0,
        falsePositives: 1, falseNegatives: 2, fpr: 0.2, fnr: 0.4, accuracy: 0.7, errors: 1,
        tprAtFPR: [0.2, 0.30000000000000004, 0.65, 0.8, 0.8, 1.0],
        fprAtTPR: [0.0, 0.0, 0.04999999999999999, 0.2, 0.29999999999999993, 1.0]),
    Case(
        name: "infinities and NaNs", labels: labels("sssssshhhhhhh"),
        scores: [3, 2, 2, 1, .nan, .infinity, 2, 1, 1, 0, -.infinity, .nan, -1], threshold: 1.0,
        auc: 0.7976190476190477, oneMinusAUCPercent: 20.238095238095234,
        fnrAtFPR01: 66.43333333333334, fprAtFNR1: 84.85714285714285,
        falsePositives: 3, falseNegatives: 1, fpr: 0.42857142857142855, fnr: 0.16666666666666666,
        accuracy: 0.6923076923076923, errors: 2,
        tprAtFPR: [0.3333333333333333, 0.5666666666666667, 0.7291666666666666, 0.8333333333333334, 0.8333333333333334, 1.0],
        fprAtTPR: [0.0, 0.0, 0.0, 0.07142857142857144, 0.19999999999999996, 0.8571428571428571]),
    Case(
        name: "separable", labels: labels("sssshhhh"), scores: [5, 6, 7, 8, 1, 2, 3, 4], threshold: 4.5,
        auc: 1.0, oneMinusAUCPercent: 0.0, fnrAtFPR01: 0.0, fprAtFNR1: 0.0,
        falsePositives: 0, falseNegatives: 0, fpr: 0.0, fnr: 0.0, accuracy: 1.0, errors: 0,
        tprAtFPR: [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], fprAtTPR: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    Case(
        name: "1800 messages", labels: dLabels, scores: dScores, threshold: 8.0,
        auc: 0.8155977777777778, oneMinusAUCPercent: 18.440222222222225,
        fnrAtFPR01: 60.0, fprAtFNR1: 59.599999999999994,
        falsePositives: 298, falseNegatives: 121, fpr: 0.19866666666666666, fnr: 0.4033333333333333,
        accuracy: 0.7672222222222222, errors: 2,
        tprAtFPR: [0.4, 0.49333333333333335, 0.6433333333333333, 0.8933333333333333, 0.9966666666666667, 1.0],
        fprAtTPR: [0.0, 0.0, 0.0, 0.106, 0.30533333333333335, 1.0]),
    Case(
        name: "all failed", labels: labels("shsh"), scores: [.nan, .nan, .nan, .nan], threshold: 0.0,
        auc: 0.5, oneMinusAUCPercent: 50.0, fnrAtFPR01: 99.9, fprAtFNR1: 99.0,
        falsePositives: 2, falseNegatives: 0, fpr: 1.0, fnr: 0.0, accuracy: 0.5, errors: 4,
        tprAtFPR: probes, fprAtTPR: probes),
]

@Suite struct EvaluationTests {
    @Test(arguments: cases)
    fileprivate func matchesReferenceScorer(_ c: Case) {
        let s = EvaluationSummary.summarize(labels: c.labels, scores: c.scores, threshold: c.threshold)
        #expect(s.count == c.labels.count)
        #expect(s.spamCount == c.labels.count { $0 == .spam })
        #expect(s.hamCount == c.labels.count { $0 == .ham })
        #expect(close(s.auc, c.auc), "auc \(s.auc)")
        #expect(close(s.oneMinusAUCPercent, c.oneMinusAUCPercent), "1-auc \(s.oneMinusAUCPercent)")
        #expect(close(s.fnrAtFPR01, c.fnrAtFPR01), "fnr@fpr0.1% \(s.fnrAtFPR01)")
        #expect(close(s.fprAtFNR1, c.fprAtFNR1), "fpr@fnr1% \(s.fprAtFNR1)")
        #expect(s.threshold == c.threshold)
        #expect(s.falsePositives == c.falsePositives)
        #expect(s.falseNegatives == c.falseNegatives)
        #expect(close(s.fpr, c.fpr), "fpr \(s.fpr)")
        #expect(close(s.fnr, c.fnr), "fnr \(s.fnr)")
        #expect(close(s.accuracy, c.accuracy), "accuracy \(s.accuracy)")
        #expect(s.errors == c.errors)
        #expect(s.ciLow <= s.oneMinusAUCPercent + tolerance)
        #expect(s.oneMinusAUCPercent <= s.ciHigh + tolerance)

        let (fpr, tpr) = EvaluationMetrics.rocPoints(labels: c.labels, scores: c.scores)
        for (x, expected) in zip(probes, c.tprAtFPR) {
            let got = EvaluationMetrics.tprAtFPR(fpr: fpr, tpr: tpr, x)
            #expect(close(got, expected), "tpr_at_fpr(\(x)) = \(got), want \(expected)")
        }
        for (x, expected) in zip(probes, c.fprAtTPR) {
            let got = EvaluationMetrics.fprAtTPR(fpr: fpr, tpr: tpr, x)
            #expect(close(got, expected), "fpr_at_tpr(\(x)) = \(got), want \(expected)")
        }
    }

    @Test func rocVerticesMatchReference() {
        let (fpr, tpr) = EvaluationMetrics.rocPoints(
            labels: labels("shsshhshsh"), scores: [0.9, 0.1, 0.8, 0.4, 0.4, 0.2, 0.7, 0.8, .nan, 0.05])
        #expect(fpr == [0.0, 0.0, 0.2, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
        #expect(tpr == [0.0, 0.2, 0.4, 0.6, 0.8, 0.8, 0.8, 0.8, 1.0])
    }

    @Test func nanRanksBelowEveryFiniteScoreAndInfinitiesAreClamped() {
        let s = EvaluationMetrics.cleanedScores([2, .nan, -3, .infinity, -.infinity])
        #expect(s == [2, -4, -3, .greatestFiniteMagnitude, -.greatestFiniteMagnitude])
        #expect(EvaluationMetrics.cleanedScores([.nan, .infinity]) == [0, .greatestFiniteMagnitude])
    }

    @Test func bootstrapIsDeterministicAndBracketsTheValue() {
        let a = EvaluationSummary.summarize(labels: dLabels, scores: dScores, threshold: 8)
        let b = EvaluationSummary.summarize(labels: dLabels, scores: dScores, threshold: 8)
        #expect(a.ciLow == b.ciLow && a.ciHigh == b.ciHigh)
        #expect(a.ciLow < a.oneMinusAUCPercent && a.oneMinusAUCPercent < a.ciHigh)
        // score.py (numpy's generator) gives [15.8609, 21.206]; ours uses another PRNG, so only
        // the width should be alike.
        #expect(abs((a.ciHigh - a.ciLow) - (21.206 - 15.8609)) < 1.5)
        let other = EvaluationMetrics.bootstrapInterval(labels: dLabels, scores: dScores, seed: 2)
        #expect(other.low != a.ciLow || other.high != a.ciHigh)
    }

    @Test func bootstrapOfOneResampleWithEveryMessageOnceIsTheAUC() {
        // With a single class member on each side every resample is the test set itself.
        let r = EvaluationMetrics.bootstrapInterval(labels: [.spam, .ham], scores: [1, 0], resamples: 5)
        #expect(r.low == 0 && r.high == 0)
        let t = EvaluationMetrics.bootstrapInterval(labels: [.spam, .ham], scores: [1, 1], resamples: 5)
        #expect(t.low == 50 && t.high == 50)
    }

    @Test func undefinedMeasuresAreNaNAndEncodeAsNull() throws {
        let s = EvaluationSummary.summarize(labels: [.spam, .spam], scores: [1, 2], threshold: 1.5)
        #expect(s.auc.isNaN && s.ciLow.isNaN && s.ciHigh.isNaN && s.fpr.isNaN)
        #expect(s.fnr == 0.5 && s.falseNegatives == 1 && s.hamCount == 0)
        let empty = EvaluationSummary.summarize(labels: [], scores: [], threshold: 0)
        #expect(empty.count == 0 && empty.auc.isNaN && empty.accuracy.isNaN)
        #expect(!EvaluationSummary.summarize(labels: [.spam, .ham], scores: [1, 0], threshold: 0, bootstrap: 0).auc.isNaN)

        let json = try JSONEncoder().encode(s)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"auc\":null") && text.contains("\"fnr\":0.5"))
        let back = try JSONDecoder().decode(EvaluationSummary.self, from: json)
        #expect(back.auc.isNaN && back.ciLow.isNaN && back.fnr == 0.5 && back.count == 2 && back.errors == 0)
        let full = EvaluationSummary.summarize(labels: dLabels, scores: dScores, threshold: 8)
        #expect(try JSONDecoder().decode(EvaluationSummary.self, from: JSONEncoder().encode(full)) == full)
    }

    @Test func percentileIsNumpyLinear() {
        let v = [1.0, 2, 3, 4, 10]
        #expect(EvaluationMetrics.percentile(sorted: v, 0.5) == 3)
        #expect(close(EvaluationMetrics.percentile(sorted: v, 0.975), 9.4))
        #expect(close(EvaluationMetrics.percentile(sorted: v, 0.025), 1.1))
    }

    @Test func splitMixIsTheReferenceSequence() {
        // First outputs of SplitMix64 seeded with 1234567 (Vigna's reference implementation).
        var g = SplitMix64(seed: 1_234_567)
        #expect(g.next() == 6_457_827_717_110_365_317)
        #expect(g.next() == 3_203_168_211_198_807_973)
        for _ in 0..<1000 { #expect((0..<7).contains(g.next(below: 7))) }
    }

    // MARK: - ROC curve

    @Test func rocCurvePointsAndSVG() {
        let curve = ROCCurve(labels: dLabels, scores: dScores)
        #expect(curve.points.first! == (fpr: 0, tpr: 0))
        #expect(curve.points.last! == (fpr: 1, tpr: 1))
        #expect(close(curve.oneMinusAUCPercent, 18.440222222222225))
        let svg = curve.svg(title: "Spamward <test> & \"friends\"")
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("<polyline"))
        #expect(svg.contains("Spamward &lt;test&gt; &amp; &quot;friends&quot;"))
        #expect(!svg.contains("<test>"))
        #expect(svg.contains("18.4402"))
        for label in ["0.01%", "0.1%", "1%", "10%", "100%"] { #expect(svg.contains(">\(label)</text>")) }
        // Balanced tags (every element here is either self-closed or closed).
        let opened = svg.split(separator: "<").filter { !$0.hasPrefix("/") && !$0.contains("/>") }.count
        let closed = svg.split(separator: "</").count - 1
        #expect(opened == closed)
    }

    @Test func svgCoordinatesStayInsideTheFrame() {
        let svg = ROCCurve(labels: labels("shsshhshsh"), scores: [0.9, 0.1, 0.8, 0.4, 0.4, 0.2, 0.7, 0.8, .nan, 0.05])
            .svg(title: "t", width: 400, height: 300)
        let start = svg.firstRange(of: "points=\"")!.upperBound
        let list = svg[start...].prefix { $0 != "\"" }
        for pair in list.split(separator: " ") {
            let xy = pair.split(separator: ",").map { Double($0)! }
            #expect(xy.count == 2)
            #expect((0...400).contains(xy[0]) && (0...300).contains(xy[1]))
        }
    }

    @Test func fixedFormatting() {
        #expect(ROCCurve.fixed(3.14159, decimals: 2) == "3.14")
        #expect(ROCCurve.fixed(-0.004, decimals: 2) == "0.00")
        #expect(ROCCurve.fixed(-2.5, decimals: 1) == "-2.5")
        #expect(ROCCurve.fixed(7, decimals: 0) == "7")
        #expect(ROCCurve.fixed(.nan, decimals: 3) == "nan")
        #expect(ROCCurve.fixed(0.05, decimals: 3) == "0.050")
    }
}
