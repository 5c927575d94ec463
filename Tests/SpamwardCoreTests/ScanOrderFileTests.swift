import Foundation
import Testing

/// scripts/scan-order/scan-path.order, the link order of the scan path's functions in release
/// builds on Linux (Package.swift: `scanPathLinking`; docs/scan-profile.md, "Code layout"): made
/// by scripts/scan-order/generate.sh from a profile of a scan with rules and fingerprints.
@Suite struct ScanOrderFileTests {
    static let file = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/scan-order/scan-path.order")

    static func symbols() throws -> [Substring] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast()  // the text ends with a newline
            .map { $0 }
    }

    @Test func oneSymbolPerLineEachOnce() throws {
        let lines = try Self.symbols()
        #expect(lines.count > 100, "a scan runs hundreds of functions of its own modules")
        for line in lines {
            #expect(!line.isEmpty && !line.contains(" ") && !line.contains("\t"), "not one symbol: \(line)")
            // Recursion copies (`NAME'2`) and paths are callgrind's, not symbols.
            #expect(!line.contains("'") && !line.contains("/") && !line.contains("["), "not a symbol: \(line)")
        }
        #expect(Set(lines).count == lines.count, "a symbol listed twice")
    }

    /// The order is a full scan's (rules and fingerprints), not the core scan's alone, and the
    /// hottest functions come first.
    @Test func coversTheScanWithRulesAndFingerprints() throws {
        let lines = try Self.symbols()
        func position(_ part: String) -> Int? { lines.firstIndex { $0.contains(part) } }
        for part in [
            "11MailMessage", "BuilderV", "StatisticalModelV5score",  // the core: parse, features, score
            "RuleSetV13evaluateRules", "TextChecks", "URLAnalysis",  // the rules
            "FingerprinterV11fingerprint", "minHash",  // the fingerprint
        ] {
            #expect(position(part) != nil, "\(part) is not in the order")
        }
        // The word pass runs for every word of every message: among the first.
        let words = try #require(position("forEachWord"))
        #expect(words < 20)
    }
}
