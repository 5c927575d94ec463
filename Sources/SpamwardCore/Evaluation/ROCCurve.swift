#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The ROC curve of a scored test set (spam = positive), with a standalone SVG rendering in the
/// style of the TREC spam track: both error rates on log scales.
public struct ROCCurve: Sendable {
    /// The ROC vertices, one per distinct score threshold, from (0, 0) to (1, 1); fractions.
    public var points: [(fpr: Double, tpr: Double)]
    /// 100·(1−AUC) of the same test set, shown in the plot's title.
    public var oneMinusAUCPercent: Double

    /// The curve of `scores` (higher = spammier; NaN = failed, ranked least spammy).
    public init(labels: [Label], scores: [Double]) {
        let (fpr, tpr) = EvaluationMetrics.rocPoints(labels: labels, scores: scores)
        points = Array(zip(fpr, tpr)).map { (fpr: $0.0, tpr: $0.1) }
        oneMinusAUCPercent = 100.0 * (1.0 - EvaluationMetrics.auc(labels: labels, scores: scores))
    }

    /// The lowest rate drawn; smaller rates (including 0) are drawn on this edge.
    static let minimumRate = 1e-4

    /// A standalone SVG document: x = false-positive rate (ham misfiled as spam), y = false-
    /// negative rate (spam missed), both from 0.01% to 100% on log scales, with a grid at every
    /// decade and the (1−AUC)% in the title. A better filter hugs the lower-left corner.
    public func svg(title: String, width: Int = 640, height: Int = 640) -> String {
        let left = 72.0
        let right = 24.0
        let top = 48.0
        let bottom = 56.0
        let plotWidth = Swift.max(Double(width) - left - right, 10)
        let plotHeight = Swift.max(Double(height) - top - bottom, 10)
        let decades = -log10(Self.minimumRate)

        // A rate (fraction) to an offset along an axis of `length`, log scale.
        func along(_ rate: Double, _ length: Double) -> Double {
            let clipped = rate.isNaN ? Self.minimumRate : Swift.min(Swift.max(rate, Self.minimumRate), 1)
            return (log10(clipped) + decades) / decades * length
        }
        func x(_ fpr: Double) -> Double { left + along(fpr, plotWidth) }
        func y(_ fnr: Double) -> Double { top + plotHeight - along(fnr, plotHeight) }

        var out = ""
        out += #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" "#
        out += #"viewBox="0 0 \#(width) \#(height)" font-family="sans-serif" font-size="12">"# + "\n"
        out += #"<rect x="0" y="0" width="\#(width)" height="\#(height)" fill="white"/>"# + "\n"

        let heading = "\(title) — (1−AUC)% = \(Self.fixed(oneMinusAUCPercent, decimals: 4))"
        out += #"<text x="\#(Self.fixed(Double(width) / 2, decimals: 1))" y="24" text-anchor="middle" "#
        out += #"font-size="14">\#(Self.escapeXML(heading))</text>"# + "\n"

        // Grid: minor lines at 2…9 × each decade, major lines and labels at each decade.
        out += ##"<g stroke="#e4e4e4" stroke-width="1">"## + "\n"
        var decade = Self.minimumRate
        while decade < 1 {
            for m in 2...9 {
                let r = decade * Double(m)
                out += line(x(r), top, x(r), top + plotHeight)
                out += line(left, y(r), left + plotWidth, y(r))
            }
            decade *= 10
        }
        out += "</g>\n"
        out += ##"<g stroke="#b0b0b0" stroke-width="1">"## + "\n"
        for (rate, _) in Self.ticks {
            out += line(x(rate), top, x(rate), top + plotHeight)
            out += line(left, y(rate), left + plotWidth, y(rate))
        }
        out += "</g>\n"

        // Axes, ticks and their labels.
        out += #"<g stroke="black" stroke-width="1">"# + "\n"
        out += line(left, top + plotHeight, left + plotWidth, top + plotHeight)
        out += line(left, top, left, top + plotHeight)
        for (rate, _) in Self.ticks {
            out += line(x(rate), top + plotHeight, x(rate), top + plotHeight + 5)
            out += line(left - 5, y(rate), left, y(rate))
        }
        out += "</g>\n"
        for (rate, label) in Self.ticks {
            out += #"<text x="\#(Self.fixed(x(rate), decimals: 1))" y="\#(Self.fixed(top + plotHeight + 19, decimals: 1))" "#
            out += #"text-anchor="middle">\#(label)</text>"# + "\n"
            out += #"<text x="\#(Self.fixed(left - 8, decimals: 1))" y="\#(Self.fixed(y(rate) + 4, decimals: 1))" "#
            out += #"text-anchor="end">\#(label)</text>"# + "\n"
        }
        out += #"<text x="\#(Self.fixed(left + plotWidth / 2, decimals: 1))" y="\#(Self.fixed(Double(height) - 12, decimals: 1))" "#
        out += #"text-anchor="middle">False positive rate (ham misfiled as spam), log scale</text>"# + "\n"
        let midY = Self.fixed(top + plotHeight / 2, decimals: 1)
        out += #"<text x="16" y="\#(midY)" text-anchor="middle" transform="rotate(-90 16 \#(midY))">"#
        out += "False negative rate (spam missed), log scale</text>\n"

        // The curve, skipping vertices that land on the same point as the previous one.
        var coordinates: [String] = []
        for p in points {
            let c = "\(Self.fixed(x(p.fpr), decimals: 1)),\(Self.fixed(y(1 - p.tpr), decimals: 1))"
            if coordinates.last != c { coordinates.append(c) }
        }
        out += ##"<polyline fill="none" stroke="#c0392b" stroke-width="2" stroke-linejoin="round" points=""##
        out += coordinates.joined(separator: " ")
        out += "\"/>\n</svg>\n"
        return out
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) -> String {
        let f = { Self.fixed($0, decimals: 1) }
        return #"<line x1="\#(f(x1))" y1="\#(f(y1))" x2="\#(f(x2))" y2="\#(f(y2))"/>"# + "\n"
    }

    private static let ticks: [(Double, String)] = [
        (1e-4, "0.01%"), (1e-3, "0.1%"), (1e-2, "1%"), (1e-1, "10%"), (1, "100%"),
    ]

    /// `value` with exactly `decimals` digits after the point ("nan" when not finite).
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * Double(scale)).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let units = Int64(scaled)
        let sign = value < 0 && units != 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(units) }
        var fraction = String(units % scale)
        while fraction.count < decimals { fraction = "0" + fraction }
        return sign + String(units / scale) + "." + fraction
    }

    /// `text` with the five XML special characters replaced by entities.
    static func escapeXML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            // Other C0 controls are not allowed in XML 1.0 at all.
            case "\u{0}"..."\u{1F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
