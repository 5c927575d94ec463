import ArgumentParser
import Foundation
import SpamwardCore

extension Spamward {
    struct Learn: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn messages as spam or ham, or forget them.",
            discussion: """
                Learning is idempotent (a message learned twice counts once) and reversible
                (--forget undoes a learn; learning with the other label corrects the earlier one).
                The model and the record of learned messages are saved together, atomically.
                """)

        @Flag(help: "Learn as spam.") var spam = false
        @Flag(help: "Learn as ham.") var ham = false
        @Flag(help: "Forget earlier learns of these messages.") var forget = false
        @Argument(help: "Message files, directories, Maildirs or mbox files; none or - for stdin.")
        var paths: [String] = []
        @OptionGroup var store: StoreOptions
        @Option(help: "Save every N messages (each save is atomic).")
        var commitEvery: Int = 5_000

        func validate() throws {
            let n = [spam, ham, forget].filter { $0 }.count
            guard n == 1 else { throw ValidationError("give exactly one of --spam, --ham, --forget") }
            guard commitEvery > 0 else { throw ValidationError("--commit-every must be positive") }
        }

        func run() async throws {
            let label: Label? = spam ? .spam : ham ? .ham : nil
            var inputs = try await CommandInputs.open(paths: paths, store: store)
            let (sources, db) = (inputs.sources, inputs.db)
            var session = LearningSession(scanner: MessageScanner(model: db.model), store: db.store)
            var bar = ProgressBar(total: sources.items.count, label: label.map { "learn \($0.rawValue)" } ?? "forget")
            var done = 0
            do {
                for item in sources.items {
                    for m in inputs.read(item) {
                        try await session.learn(m.bytes, as: label, now: nowSeconds())
                        if session.uncommittedChanges >= commitEvery { try await session.commit(now: nowSeconds()) }
                    }
                    done += 1
                    bar.update(done)
                }
                try await session.commit(now: nowSeconds())
            } catch {
                bar.finish()
                printError("learning failed, nothing after the last save was kept: \(error)")
                throw ExitCode(CLIError.Code.ioError.rawValue)
            }
            bar.finish()
            let c = session.counts
            let parts = LearnOutcome.allCases.compactMap { o in c[o].map { "\($0) \(o.rawValue)" } }
            print(parts.isEmpty ? "no messages" : parts.joined(separator: ", "))
            print("model: \(session.model.learnedSpam) spam, \(session.model.learnedHam) ham learned (\(store.path))")
            if inputs.failed { throw ExitCode(CLIError.Code.ioError.rawValue) }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what the store holds.")
        @OptionGroup var store: StoreOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let db: SpamwardStoreSQLiteHandle
            do { db = try await SpamwardStoreSQLiteHandle.open(store) } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            }
            let s = try await db.store.statistics()
            let c = db.model.configuration
            if json {
                struct Out: Encodable {
                    var store: String
                    var modelSource: String
                    var statistics: StoreStatistics
                    var modelLearnedSpam: Int
                    var modelLearnedHam: Int
                    var tokenizerVersion: Int
                    var featureBits: Int
                }
                try printJSON(Out(store: store.path, modelSource: db.source.rawValue, statistics: s,
                                              modelLearnedSpam: db.model.learnedSpam, modelLearnedHam: db.model.learnedHam,
                                              tokenizerVersion: c.tokenizerVersion, featureBits: c.featureBits))
                return
            }
            print("store            \(store.path)")
            print("model            \(db.source.rawValue): \(db.model.learnedSpam) spam, \(db.model.learnedHam) ham learned")
            print("learned here     \(s.learnedSpam) spam, \(s.learnedHam) ham (messages on record)")
            print("model size       \(s.modelBytes) bytes")
            if let u = s.modelUpdatedAt { print("saved            \(Date(timeIntervalSince1970: TimeInterval(u)))") }
            print("tokenizer        version \(c.tokenizerVersion), \(c.slotCount) feature slots")
        }
    }
}
