import ArgumentParser
import Foundation
import SpamwardCore
import SpamwardStarterModel
import SpamwardStoreSQLite

/// Options every command that touches the store takes.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Path of the SQLite store.", valueName: "PATH"))
    var db: String?

    var path: String { db ?? SQLiteModelStore.defaultPath() }

    func openStore() throws -> SQLiteModelStore {
        do {
            return try SQLiteModelStore(path: path)
        } catch {
            throw CLIError("cannot open store \(path): \(error)", code: .ioError)
        }
    }

    /// The model in the store, else the starter model, else an empty model.
    func loadModel(from store: SQLiteModelStore) async throws -> (StatisticalModel, ModelSource) {
        if let snapshot = try await store.loadModel() {
            do {
                return (try ModelSnapshotCodec.model(from: snapshot), .store)
            } catch {
                throw CLIError("the model in \(path) cannot be used: \(error)", code: .dataError)
            }
        }
        if let starter = StarterModel.load(), let m = try? ModelSnapshotCodec.model(from: starter) {
            return (m, .starter)
        }
        return (StatisticalModel(), .empty)
    }
}

enum ModelSource: String {
    case store, starter, empty
}

/// Threshold options for commands that decide.
struct ThresholdOptions: ParsableArguments {
    @Option(help: "Score at or above which a message is spam.")
    var spamThreshold: Double = Thresholds.default.spam
    @Option(help: "Score at or above which a message is unsure.")
    var unsureThreshold: Double = Thresholds.default.unsure

    var thresholds: Thresholds { Thresholds(unsure: unsureThreshold, spam: spamThreshold) }

    func validate() throws {
        guard unsureThreshold <= spamThreshold else {
            throw ValidationError("--unsure-threshold must not be above --spam-threshold")
        }
    }
}

/// An error with a one-line message and an exit code (sysexits.h values).
struct CLIError: Error, CustomStringConvertible {
    enum Code: Int32 {
        case usage = 64, dataError = 65, noInput = 66, software = 70, ioError = 74
    }
    var description: String
    var code: Code
    init(_ description: String, code: Code) {
        self.description = description
        self.code = code
    }
}

extension CLIError {
    var exit: ExitCode { ExitCode(code.rawValue) }
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data(("spamward: " + s + "\n").utf8))
}

func nowSeconds() -> Int64 { WallClock.nowSeconds() }

/// Prints a value as pretty, key-sorted JSON on standard output.
func printJSON(_ value: some Encodable) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try enc.encode(value), as: UTF8.self))
}

/// The inputs of a command that reads messages and uses the store: the message sources (with
/// their listing errors already reported) and the opened store with its model.
struct CommandInputs {
    var sources: MessageSources
    var db: SpamwardStoreSQLiteHandle
    /// Whether some path could not be listed.
    var failed: Bool

    /// The messages of one source item; an unreadable item is reported, marks the run as
    /// failed, and yields nothing (the batch goes on).
    mutating func read(_ item: MessageSources.Item) -> [InputMessage] {
        do {
            return try MessageSources.read(item)
        } catch {
            printError("\(error)")
            failed = true
            return []
        }
    }

    static func open(paths: [String], store: StoreOptions) async throws -> CommandInputs {
        let sources = MessageSources(paths: paths)
        for e in sources.errors { printError(e) }
        do {
            return CommandInputs(sources: sources, db: try await SpamwardStoreSQLiteHandle.open(store), failed: !sources.errors.isEmpty)
        } catch let e as CLIError {
            printError(e.description)
            throw e.exit
        }
    }
}
