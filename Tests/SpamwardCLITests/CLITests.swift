import Foundation
import Testing

/// The result of one run of the `spamward` executable.
struct RunResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs the built `spamward` executable (found beside the test bundle) in a temporary folder.
final class CLI: Sendable {
    let root: URL
    let executable: URL

    init() throws {
        executable = try Self.findExecutable()
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("spamward-cli-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var db: String { path("x.sqlite") }

    func path(_ rel: String) -> String { root.appendingPathComponent(rel).path }

    /// Writes a file (creating its folders) and returns its path.
    @discardableResult
    func write(_ rel: String, _ text: String) throws -> String {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// The products folder is the one that holds the test bundle (`…/debug/SpamwardPackageTests.xctest`);
    /// `spamward` (and `spamward-loadgen`) are built there because this test target depends on them.
    static func findExecutable(named name: String = "spamward") throws -> URL {
        let fm = FileManager.default
        if name == "spamward", let p = ProcessInfo.processInfo.environment["SPAMWARD_EXECUTABLE"], fm.isExecutableFile(atPath: p) {
            return URL(fileURLWithPath: p)
        }
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath(), Bundle.main.bundleURL]
        for b in Bundle.allBundles where b.bundleURL.pathExtension == "xctest" { starts.append(b.bundleURL) }
        for start in starts {
            var dir = start.deletingLastPathComponent()
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent(name)
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                   fm.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw CLIMissing(name: name, searched: starts.map(\.path))
    }

    struct CLIMissing: Error, CustomStringConvertible {
        var name = "spamward"
        var searched: [String]
        var description: String { "\(name) executable not found near \(searched)" }
    }

    /// Runs `spamward args…` with standard input from /dev/null; output goes through files, so
    /// large outputs cannot block the child.
    func run(_ args: [String]) throws -> RunResult {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.currentDirectoryURL = root
        let id = UUID().uuidString
        let outURL = root.appendingPathComponent(".out-\(id)"), errURL = root.appendingPathComponent(".err-\(id)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try out.close()
        try err.close()
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        return RunResult(
            status: p.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// `spamward SUBCOMMAND --db TMP/x.sqlite args…`
    func run(_ subcommand: String, _ args: String...) throws -> RunResult {
        try run([subcommand, "--db", db] + args)
    }

    /// `stats --json` as a dictionary.
    func stats() throws -> [String: Any] {
        let r = try run("stats", "--json")
        guard r.status == 0, let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw CLIMissing(searched: ["stats failed: \(r)"])
        }
        return o
    }
}

/// Synthetic messages for the CLI tests.
enum Mail {
    static let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

    static let spamWords = ["viagra", "cialis", "pills", "pharmacy", "cheap", "discount", "loan", "credit",
                            "approved", "cash", "offer", "winner", "guaranteed", "mortgage", "refinance", "meds"]
    static let hamWords = ["meeting", "agenda", "review", "code", "patch", "branch", "merge", "tests",
                           "schedule", "tomorrow", "project", "design", "document", "notes", "release", "build"]

    static func message(spam: Bool, index: Int, body extra: String = "") -> String {
        let words = spam ? spamWords : hamWords
        var body: [String] = []
        for k in 0..<30 { body.append(words[(index * 7 + k * (k + index)) % words.count]) }
        let kind = spam ? "spam" : "ham"
        let from = spam ? "deals\(index % 3)@cheap-meds.example" : "dev\(index % 3)@acme-corp.example"
        let subject = spam ? "Cheap \(words[index % words.count]) offer \(index)" : "Re: \(words[index % words.count]) notes \(index)"
        return """
            From: \(from)
            To: user@example.org
            Subject: \(subject)
            Message-ID: <\(kind)-\(index)@cli.example>
            Date: Tue, 4 Mar 2025 09:00:00 +0000

            \(body.joined(separator: " "))
            \(extra)

            """
    }

    static func gtubeMessage() -> String { message(spam: true, index: 0, body: "test string:\n" + gtube) }
}

/// Every suite that runs child processes and waits for them (blocking a thread of the cooperative
/// pool) is nested here, so that at most one such test runs at a time and the in-process servers
/// of the other test targets keep a thread.
@Suite(.serialized) enum ProcessTests {}

extension ProcessTests {
@Suite("spamward command line", .serialized)
struct CLITests {
    let cli: CLI

    init() throws { cli = try CLI() }

    @Test func helpListsTheSubcommands() throws {
        let r = try cli.run(["--help"])
        #expect(r.status == 0, "\(r)")
        for sub in ["check", "learn", "eval", "stats"] {
            #expect(r.stdout.contains(sub), "--help does not list \(sub)")
        }
        let v = try cli.run(["--version"])
        #expect(v.status == 0)
        #expect(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test func checkGTUBEIsSpam() throws {
        let f = try cli.write("gtube.eml", Mail.gtubeMessage())
        let r = try cli.run("check", f)
        #expect(r.status == 1, "\(r)")
        let first = try #require(r.stdout.split(separator: "\n").first)
        #expect(first.hasPrefix("\(f): spam score"), "\(r)")
        #expect(r.stdout.contains("GTUBE"))
        #expect(r.stderr.isEmpty, "\(r)")
        // --quiet: one line only.
        let q = try cli.run("check", "-q", f)
        #expect(q.status == 1)
        #expect(q.stdout.split(separator: "\n").count == 1, "\(q)")
    }

    @Test func checkJSONIsParseable() throws {
        let f = try cli.write("gtube.eml", Mail.gtubeMessage())
        let h = try cli.write("ham.eml", Mail.message(spam: false, index: 1))
        let r = try cli.run("check", "--json", f, h)
        #expect(r.status == 1, "\(r)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2, "one JSON object per message: \(r)")
        var files: [String] = []
        for line in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(o.keys) == ["file", "verdict"])
            let file = try #require(o["file"] as? String)
            files.append(file)
            let verdict = try #require(o["verdict"] as? [String: Any])
            #expect(verdict["score"] is Double || verdict["score"] is Int)
            #expect(verdict["symbols"] is [Any])
            if file == f {
                #expect(verdict["action"] as? String == "spam")
                let symbols = try #require(verdict["symbols"] as? [[String: Any]])
                #expect(symbols.contains { $0["name"] as? String == "GTUBE" })
            }
        }
        #expect(files == [f, h])
    }

    @Test func checkMissingFileReportsAndChecksTheOthers() throws {
        let h = try cli.write("ham.eml", Mail.message(spam: false, index: 2))
        let missing = cli.path("no-such-message.eml")
        let r = try cli.run("check", missing, h)
        #expect(r.status == 74, "\(r)")
        let errLines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(errLines.count == 1, "\(r)")
        #expect(errLines.first?.contains(missing) == true)
        #expect(errLines.first?.hasPrefix("spamward: ") == true)
        #expect(r.stdout.contains("\(h): "), "the readable file is still checked: \(r)")
    }

    @Test func checkEmptyStoreSaysWhichModel() throws {
        let h = try cli.write("ham.eml", Mail.message(spam: false, index: 3))
        let r = try cli.run("check", h)
        #expect([0, 2].contains(r.status), "\(r)")
        #expect(r.stdout.contains("model: "), "an unlearned store says it uses the starter/empty model: \(r)")
    }

    @Test func learnIsIdempotentAndForgetWorks() throws {
        for i in 0..<3 { try cli.write("spam/msg\(i).eml", Mail.message(spam: true, index: 10 + i)) }
        let dir = cli.path("spam")
        let before = try cli.stats()
        let spam0 = try #require(before["modelLearnedSpam"] as? Int)

        let first = try cli.run("learn", "--spam", dir)
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("3 learned"), "\(first)")

        let second = try cli.run("learn", "--spam", dir)
        #expect(second.status == 0, "\(second)")
        #expect(second.stdout.contains("3 already-learned"), "\(second)")
        #expect(!second.stdout.contains(" learned,") && !second.stdout.hasPrefix("3 learned"), "\(second)")

        var stats = try cli.stats()
        #expect(stats["modelSource"] as? String == "store")
        #expect(stats["modelLearnedSpam"] as? Int == spam0 + 3)
        var st = try #require(stats["statistics"] as? [String: Any])
        #expect(st["learnedSpam"] as? Int == 3)
        #expect(st["learnedHam"] as? Int == 0)

        let forget = try cli.run("learn", "--forget", cli.path("spam/msg1.eml"))
        #expect(forget.status == 0, "\(forget)")
        #expect(forget.stdout.contains("1 forgotten"), "\(forget)")
        let again = try cli.run("learn", "--forget", cli.path("spam/msg1.eml"))
        #expect(again.stdout.contains("1 not-learned"), "\(again)")

        stats = try cli.stats()
        #expect(stats["modelLearnedSpam"] as? Int == spam0 + 2)
        st = try #require(stats["statistics"] as? [String: Any])
        #expect(st["learnedSpam"] as? Int == 2)

        // Relearning a spam as ham corrects it.
        let re = try cli.run("learn", "--ham", cli.path("spam/msg0.eml"))
        #expect(re.stdout.contains("1 relearned"), "\(re)")
        st = try #require(try cli.stats()["statistics"] as? [String: Any])
        #expect(st["learnedSpam"] as? Int == 1)
        #expect(st["learnedHam"] as? Int == 1)
    }

    @Test(arguments: [["--spam", "--ham"], ["--spam", "--forget"], []])
    func learnNeedsExactlyOneLabel(flags: [String]) throws {
        let f = try cli.write("m.eml", Mail.message(spam: true, index: 20))
        let r = try cli.run(["learn", "--db", cli.db] + flags + [f])
        #expect(r.status == 64, "\(r)")
        #expect(r.stderr.contains("exactly one of"), "\(r)")
        #expect(r.stdout.isEmpty)
    }

    @Test func statsShowsLearnedCounts() throws {
        for i in 0..<2 { try cli.write("s/\(i).eml", Mail.message(spam: true, index: 30 + i)) }
        for i in 0..<4 { try cli.write("h/\(i).eml", Mail.message(spam: false, index: 30 + i)) }
        #expect(try cli.run("learn", "--spam", cli.path("s")).status == 0)
        #expect(try cli.run("learn", "--ham", cli.path("h")).status == 0)
        let r = try cli.run("stats")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("2 spam, 4 ham (messages on record)"), "\(r)")
        #expect(r.stdout.contains(cli.db))
        let st = try #require(try cli.stats()["statistics"] as? [String: Any])
        #expect(st["learnedSpam"] as? Int == 2)
        #expect(st["learnedHam"] as? Int == 4)
        #expect((st["modelBytes"] as? Int ?? 0) > 0)
    }

    /// A TREC corpus: `index` of 40 lines, spam and ham alternating in pairs.
    func makeCorpus(_ name: String) throws -> (root: String, entries: [(label: String, path: String)]) {
        var entries: [(label: String, path: String)] = []
        for i in 0..<40 {
            let spam = (i / 2) % 2 == 0
            let rel = "data/inmail.\(i + 1)"
            try cli.write("\(name)/\(rel)", Mail.message(spam: spam, index: 100 + i))
            entries.append((spam ? "spam" : "ham", rel))
        }
        try cli.write("\(name)/index", entries.map { "\($0.label) \($0.path)" }.joined(separator: "\n") + "\n")
        return (cli.path(name), entries)
    }

    @Test func evalOnATinyCorpus() throws {
        let (root, entries) = try makeCorpus("trec")
        #expect(entries.filter { $0.label == "spam" }.count == 20)
        let scores = cli.path("scores.txt")
        let r = try cli.run(["eval", root, "--scores", scores])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("(1-AUC)%"), "\(r)")
        #expect(r.stdout.contains("40 messages"), "\(r)")
        let lines = try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 20)
        // split: the second half of the index, in index order.
        for (line, e) in zip(lines, entries[20...]) {
            let parts = line.split(separator: " ")
            #expect(parts.count == 3, "bad line \(line)")
            guard parts.count == 3 else { continue }
            #expect(String(parts[0]) == e.path)
            #expect(String(parts[1]) == e.label)
            #expect(Double(parts[2]) != nil, "score is not a number: \(line)")
        }
        // Learned from 20 distinct messages, the scores separate these easy classes.
        let parsed = lines.map { $0.split(separator: " ") }.filter { $0.count == 3 }
        let spamScores = parsed.filter { $0[1] == "spam" }.compactMap { Double($0[2]) }
        let hamScores = parsed.filter { $0[1] == "ham" }.compactMap { Double($0[2]) }
        #expect(spamScores.count == 10 && hamScores.count == 10)
        #expect((spamScores.min() ?? 0) > (hamScores.max() ?? 0), "spam \(spamScores) ham \(hamScores)")
    }

    @Test func evalJSONAndOnlineProtocol() throws {
        let (root, _) = try makeCorpus("trec2")
        let scores = cli.path("online.txt")
        let r = try cli.run(["eval", root, "--protocol", "online", "--json", "--scores", scores])
        #expect(r.status == 0, "\(r)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(o["protocolName"] as? String == "online")
        #expect(o["learned"] as? Int == 40)
        #expect(try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n").count == 40)
    }

    @Test func evalWithoutIndexFails() throws {
        try cli.write("noindex/data/inmail.1", Mail.message(spam: true, index: 1))
        let r = try cli.run(["eval", cli.path("noindex")])
        #expect(r.status != 0, "\(r)")
        #expect(r.status == 66, "\(r)")
        #expect(r.stderr.contains("index"), "\(r)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r)")
        #expect(r.stdout.isEmpty)
    }

    @Test func evalWithMalformedIndexFails() throws {
        try cli.write("badindex/index", "spam data/1\nmaybe data/2\n")
        try cli.write("badindex/data/1", Mail.message(spam: true, index: 1))
        let r = try cli.run(["eval", cli.path("badindex")])
        #expect(r.status == 65, "\(r)")
        #expect(r.stderr.contains(":2:"), "\(r)")
    }

    @Test func mboxIsLearnedAsSeparateMessages() throws {
        var mbox = ""
        for i in 0..<3 {
            mbox += "From sender\(i)@example.com Tue Mar  4 09:00:00 2025\n"
            mbox += Mail.message(spam: false, index: 200 + i)
            mbox += "\n"
        }
        let f = try cli.write("box.mbox", mbox)
        let r = try cli.run("learn", "--ham", f)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("3 learned"), "\(r)")
        let st = try #require(try cli.stats()["statistics"] as? [String: Any])
        #expect(st["learnedHam"] as? Int == 3)
        let again = try cli.run("learn", "--ham", f)
        #expect(again.stdout.contains("3 already-learned"), "\(again)")
        // check names each message of the mbox.
        let c = try cli.run("check", "-q", f)
        let lines = c.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(c)")
        #expect(lines.first?.hasPrefix("\(f)#1: ") == true)
    }

    /// A message learned from its own file is the same message when it comes again inside an mbox.
    @Test func messageInAnMboxIsTheSameAsItsFile() throws {
        let single = Mail.message(spam: true, index: 300)
        let f = try cli.write("single.eml", single)
        #expect(try cli.run("learn", "--spam", f).stdout.contains("1 learned"))
        let mbox = "From a@example.com Tue Mar  4 09:00:00 2025\n" + single + "\n"
            + "From b@example.com Tue Mar  4 09:00:00 2025\n" + Mail.message(spam: true, index: 301)
        let box = try cli.write("two.mbox", mbox)
        let r = try cli.run("learn", "--spam", box)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("1 learned, 1 already-learned"), "\(r)")
    }
}
}
