import ArgumentParser
import Foundation
import SpamwardCore

extension Spamward {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score messages and explain each verdict.",
            discussion: """
                Reads files, directories, Maildirs, mbox files, or standard input (no path or "-").
                Exit code: 0 all ham, 1 some spam, 2 some unsure (and no spam), 74 when a message
                could not be read (the others are still checked).
                """)

        @Argument(help: "Message files, directories, Maildirs or mbox files; none or - for stdin.")
        var paths: [String] = []
        @Flag(help: "Print JSON (one object per message, one per line).")
        var json = false
        @Flag(name: .shortAndLong, help: "Print only the verdict line, no explanation.")
        var quiet = false
        @OptionGroup var store: StoreOptions
        @OptionGroup var thresholdOptions: ThresholdOptions

        func run() async throws {
            var inputs = try await CommandInputs.open(paths: paths, store: store)
            let (sources, db) = (inputs.sources, inputs.db)
            let scanner = MessageScanner(model: db.model, thresholds: thresholdOptions.thresholds)
            var worst: Action = .ham
            var sawUnsure = false
            for item in sources.items {
                for m in inputs.read(item) {
                    let v = scanner.scan(m.bytes, explain: true)
                    if v.action == .spam { worst = .spam }
                    if v.action == .unsure { sawUnsure = true }
                    if json {
                        print(VerdictReport.json(v, name: m.name))
                    } else {
                        print(VerdictReport.text(v, name: m.name, quiet: quiet, modelSource: db.source))
                    }
                }
            }
            if inputs.failed { throw ExitCode(CLIError.Code.ioError.rawValue) }
            if worst == .spam { throw ExitCode(1) }
            if sawUnsure { throw ExitCode(2) }
        }
    }
}

/// The store and the model the commands work with.
struct SpamwardStoreSQLiteHandle {
    var store: any ModelStore
    var model: StatisticalModel
    var source: ModelSource

    static func open(_ options: StoreOptions) async throws -> SpamwardStoreSQLiteHandle {
        let s = try options.openStore()
        let (m, src) = try await options.loadModel(from: s)
        return SpamwardStoreSQLiteHandle(store: s, model: m, source: src)
    }
}

enum VerdictReport {
    static func fmt(_ x: Double) -> String { String(format: "%+.2f", x) }

    static func text(_ v: Verdict, name: String, quiet: Bool, modelSource: ModelSource) -> String {
        var out = "\(name): \(v.action.rawValue) score \(String(format: "%.2f", v.score)) (spam >= \(v.thresholds.spam), unsure >= \(v.thresholds.unsure))"
        if quiet { return out }
        if modelSource != .store { out += "\n  model: \(modelSource.rawValue) (no local learning yet)" }
        for s in v.symbols {
            out += "\n  \(s.name.padded(18)) \(fmt(s.score).padded(9, left: true))  \(s.description)"
            if !s.options.isEmpty && s.name != "STAT_SPAM" && s.name != "STAT_HAM" {
                out += "\n  \("".padded(18)) \("".padded(9))  [\(s.options.joined(separator: ", "))]"
            }
        }
        if !v.topFeatures.isEmpty {
            out += "\n  content features that moved the score most:"
            for f in v.topFeatures {
                out += "\n    \(fmt(f.weight).padded(8, left: true))  \(f.feature)"
            }
        }
        return out
    }

    static func json(_ v: Verdict, name: String) -> String {
        struct Out: Encodable {
            var file: String
            var verdict: Verdict
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? enc.encode(Out(file: name, verdict: v))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension String {
    func padded(_ n: Int, left: Bool = false) -> String {
        let c = count
        if c >= n { return self }
        let pad = String(repeating: " ", count: n - c)
        return left ? pad + self : self + pad
    }
}
