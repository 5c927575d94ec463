import ArgumentParser
import SpamwardCore
import SpamwardRuleFile

extension Spamward {
    struct RulesCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "List the rules (built-in plus rule files), or check rule files for errors.",
            discussion: """
                With no file, lists the built-in rules. Each FILE is a TOML rule file (docs/rules.md);
                they are applied in order on top of the built-in set. Errors name the file, the rule
                and the key, and exit with status 65.
                """)

        @Argument(help: "Rule files (TOML).")
        var files: [String] = []
        @Flag(help: "Only check the files; print nothing on success.")
        var check = false

        func run() throws {
            let set: RuleSet
            do {
                set = try RuleFile.ruleSet(try files.map { path throws(RuleError) in try RuleFile.load(path) })
            } catch {
                printError(error.description)
                throw ExitCode(CLIError.Code.dataError.rawValue)
            }
            if check { return }
            for d in set.definitions {
                let state = d.enabled ? "" : "  (disabled)"
                let score = String((d.score * 100).rounded() / 100)
                let name = d.name + String(repeating: " ", count: max(1, 24 - d.name.count))
                let kind = d.kind.rawValue + String(repeating: " ", count: max(1, 8 - d.kind.rawValue.count))
                let s = score + String(repeating: " ", count: max(1, 8 - score.count))
                print("\(name)\(kind)\(s)\(d.description)\(state)")
            }
        }
    }
}
