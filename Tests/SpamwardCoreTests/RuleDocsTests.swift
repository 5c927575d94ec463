import Foundation
import Testing

@testable import SpamwardCore

/// docs/rules.md is what admins read to understand a verdict: every built-in rule must have its
/// row there with the score the code uses, and no row may name a rule that no longer exists.
@Suite("Rule documentation")
struct RuleDocsTests {
    static let docs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/rules.md")

    /// Rows of the "Built-in rules" table: name → score.
    static func documentedScores() throws -> [String: Double] {
        let text = try String(contentsOf: docs, encoding: .utf8)
        let start = try #require(text.range(of: "## Built-in rules"))
        let section = text[start.upperBound...]
        let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
        var rows: [String: Double] = [:]
        for line in section[..<end].split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, cells[0].hasPrefix("`"), cells[0].hasSuffix("`") else { continue }
            rows[String(cells[0].dropFirst().dropLast())] = Double(cells[1])
        }
        return rows
    }

    @Test func everyBuiltinRuleIsDocumentedWithItsScore() throws {
        let rows = try Self.documentedScores()
        #expect(rows.count >= 10, "the table was not found in \(Self.docs.path)")
        for rule in BuiltinRules.definitions {
            let documented = rows[rule.name]
            #expect(documented != nil, "\(rule.name) has no row in docs/rules.md")
            if let documented { #expect(documented == rule.score, "\(rule.name): docs say \(documented), code says \(rule.score)") }
        }
        let names = Set(BuiltinRules.definitions.map(\.name))
        for name in rows.keys { #expect(names.contains(name), "docs/rules.md documents \(name), which is not a built-in rule") }
    }
}
