import ArgumentParser
import Foundation
import MailAuth
import MailMessage
import SpamwardCore

extension Spamward {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure parsing, scanning and learning speed and peak memory on a corpus.",
            discussion: """
                Messages are read into memory first; every rate is messages per second of CPU time
                on one core (so that other load on the machine disturbs it less); the split
                evaluation and bogofilter are compared in wall time.
                With --bogofilter, bogofilter's batch training and classification of the same halves
                are timed in the same run (bogofilter must be installed) and the ratio is printed.
                Build with -c release for meaningful figures.
                """)

        @Argument(help: "Corpus folder with an `index` file (TREC layout).")
        var corpus: String
        @Option(help: "Repeat each measurement this many times and keep the best.")
        var repeats: Int = 3
        @Flag(help: "Also time bogofilter on the same split, side by side.")
        var bogofilter = false
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "How rules take part: all (default, as in scanning), features, scores, or none.")
        var rules: RuleMode = .all
        @Flag(help: "Also time the built-in rules with each regular-expression engine, with and without prefilters.")
        var ruleEngines = false
        @Flag(help: "Also time each built-in rule on its own and print the slowest.")
        var ruleProfile = false
        /// The hashed feature space's size as a power of two (default: the model default).
        @Option(help: .hidden) var featureBits: Int?

        func run() async throws {
            do { try runBench() } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            }
        }

        struct Result: Encodable {
            var messages: Int
            var megabytes: Double
            var parseMessagesPerSecond: Double
            var featuresMessagesPerSecond: Double
            var modelMessagesPerSecond: Double
            var featuresPerMessage: Double
            var scanMessagesPerSecond: Double
            var rulesMessagesPerSecond: Double
            var ruleEngineMessagesPerSecond: [String: Double]?
            var learnMessagesPerSecond: Double
            var splitEvalSeconds: Double
            var peakRSSMegabytes: Double
            /// Fingerprinting parsed messages alone (as learning does); scans that also fingerprint
            /// (one word pass for both); those with the fuzzy lookup and campaign bookkeeping too.
            var fingerprintMessagesPerSecond: Double
            var scanWithFingerprintMessagesPerSecond: Double
            var campaignMessagesPerSecond: Double
            /// What fingerprinting (+ lookup + campaign) adds to a scan, over the scan time of the
            /// same messages.
            var fingerprintToScanRatio: Double
            var campaignToScanRatio: Double
            var bogofilterSeconds: Double?
            var ratioToBogofilter: Double?
            /// bogofilter's classification of the second half alone (best wall time), in messages
            /// per second: a baseline for the scan rate measured on the same machine in the same run.
            var bogofilterClassifyMessagesPerSecond: Double?
        }

        func runBench() throws {
            let c = try TRECCorpus(root: corpus)
            let messages = try c.load(progress: isatty(2) == 1)
            let n = messages.count
            let half = n / 2
            let clock = ContinuousClock()
            var featureConfiguration = FeatureConfiguration.default
            if let featureBits { featureConfiguration.featureBits = featureBits }
            // Stage rates are in CPU time of this process (single-threaded here), so that other
            // load on the machine slows them less than wall time; the split evaluation and
            // bogofilter are compared in wall time.
            func cpuSeconds() -> Double {
                var t = timespec()
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
                return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
            }
            func best(_ body: () -> Void) -> Double {
                var b = Double.infinity
                for _ in 0..<max(1, repeats) {
                    let t0 = cpuSeconds()
                    body()
                    b = min(b, cpuSeconds() - t0)
                }
                return b
            }
            func bestWall(_ body: () -> Void) -> Double {
                var b = Double.infinity
                for _ in 0..<max(1, repeats) {
                    let t0 = clock.now
                    body()
                    b = min(b, (clock.now - t0).seconds)
                }
                return b
            }
            var sink = 0
            let parse = best {
                for m in messages { sink &+= MessageParser.parse(m).parts.count }
            }
            // The whole split evaluation first, while no other model or parsed message is held
            // (its own model is the only one in memory then).
            let eval = bestWall {
                let r = EvaluationRun.run(corpus: c, messages: messages, proto: .split, configuration: featureConfiguration,
                                          thresholds: .default, progress: false, rules: rules)
                sink &+= r.scored
            }
            // Learn the first half (from empty each time), then scan the second half. Each
            // repeat makes its own empty scanner: one kept for all of them would be a third 48 MB
            // model in memory (and make the first learn copy it).
            func emptyScanner() -> MessageScanner {
                var s = MessageScanner(model: StatisticalModel(configuration: featureConfiguration))
                rules.apply(to: &s)
                return s
            }
            var lastTrained: MessageScanner?
            let learn = best {
                lastTrained = nil  // the previous repeat's model is freed before the next is made
                var s = emptyScanner()
                for i in 0..<half {
                    let m = s.parse(messages[i])
                    s.model.learn(s.features(m), as: c.entries[i].label)
                }
                lastTrained = s
            }
            let trained = lastTrained ?? emptyScanner()
            lastTrained = nil
            let scan = best {
                for i in half..<n { sink &+= trained.score(trained.parse(messages[i])) > 0 ? 1 : 0 }
            }
            // The stages of a scan, each on its own: features of parsed messages, then the
            // model on extracted features.
            let parsed = (half..<n).map { trained.parse(messages[$0]) }
            var vectors: [FeatureVector] = []
            let features = best {
                vectors = parsed.map { trained.features($0) }
            }
            let model = best {
                for v in vectors { sink &+= trained.model.score(v).combined > 0 ? 1 : 0 }
            }
            // The rules alone, on parsed messages.
            let ruleTime = best {
                for m in parsed { sink &+= trained.rules.evaluate(m).count }
            }
            var engineRates: [String: Double]? = nil
            if ruleEngines {
                var rates: [String: Double] = [:]
                for engine in RegexEngine.allCases {
                    for prefilter in [true, false] {
                        let set = try RuleSet.builtIn(engine: engine, prefilters: prefilter)
                        let t = best { for m in parsed { sink &+= set.evaluate(m).count } }
                        rates["\(engine.rawValue)\(prefilter ? "+prefilter" : "")"] = Double(parsed.count) / t
                    }
                }
                // Only the regular-expression rules, to see the engines without the Swift checks.
                for engine in RegexEngine.allCases {
                    for prefilter in [true, false] {
                        let regexOnly = BuiltinRules.definitions.filter { $0.kind != .eval && $0.kind != .meta }
                        let set = try RuleSet(regexOnly, engine: engine, prefilters: prefilter)
                        let t = best { for m in parsed { sink &+= set.evaluate(m).count } }
                        rates["regex-only:\(engine.rawValue)\(prefilter ? "+prefilter" : "")"] = Double(parsed.count) / t
                    }
                }
                engineRates = rates
            }
            if ruleProfile {
                var costs: [(String, Double)] = []
                for d in BuiltinRules.definitions where d.kind != .meta {
                    let set = try RuleSet([d])
                    let t = best { for m in parsed { sink &+= set.evaluate(m).count } }
                    costs.append((d.name, t / Double(parsed.count) * 1e6))
                }
                for (name, us) in costs.sorted(by: { $0.1 > $1.1 }) {
                    print(name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%9.2f µs/msg", us))
                }
                // The messages the whole rule set takes longest on.
                var slow: [(Int, Double)] = []
                for (i, m) in parsed.enumerated() {
                    let t0 = cpuSeconds()
                    sink &+= trained.rules.evaluate(m).count
                    slow.append((i, (cpuSeconds() - t0) * 1e6))
                }
                let total = slow.reduce(0) { $0 + $1.1 }
                print(String(format: "all rules: %.1f µs/msg on average; slowest messages:", total / Double(slow.count)))
                for (i, us) in slow.sorted(by: { $0.1 > $1.1 }).prefix(8) {
                    let m = parsed[i]
                    print(String(format: "  %@ %8.0f µs  %d bytes, %d text bytes, %d URLs", c.entries[half + i].path, us,
                                 m.bytes.count, m.text.utf8.count, m.urls.count))
                    var perRule: [(String, Double)] = []
                    for d in BuiltinRules.definitions where d.kind != .meta {
                        let set = try RuleSet([d])
                        let t = best { sink &+= set.evaluate(m).count }
                        perRule.append((d.name, t * 1e6))
                    }
                    print("     " + perRule.sorted { $0.1 > $1.1 }.prefix(3).map { String(format: "%@ %.0f µs", $0.0, $0.1) }.joined(separator: ", "))
                }
            }
            // Fingerprints of the parsed messages alone (as learning makes them), then scans that
            // also fingerprint (one word pass for both, as SpamFilter scans with campaigns on),
            // then those with the fuzzy lookup (against the learned half) and the campaign
            // bookkeeping. The last two are compared with the scan (the same messages from bytes).
            let fingerprinter = Fingerprinter()
            let fingerprint = best {
                for m in parsed { sink &+= fingerprinter.fingerprint(m).words }
            }
            let scanWithFingerprint = best {
                for i in half..<n { sink &+= trained.score(trained.parse(messages[i]), fingerprinter: fingerprinter).fingerprint.words }
            }
            var fuzzyIndex = FuzzyIndex()
            for i in 0..<half { fuzzyIndex.add(fingerprinter.fingerprint(trained.parse(messages[i])), as: c.entries[i].label, now: 0) }
            let campaign = best {
                var tracker = CampaignTracker()
                for i in half..<n {
                    let m = trained.parse(messages[i])
                    let fp = trained.score(m, fingerprinter: fingerprinter).fingerprint
                    sink &+= fuzzyIndex.match(fp, now: 0).count
                    let o = CampaignObservation(fingerprint: fp, sender: SendingAddress.fromReceived(m), senderDomain: m.from.first?.domain,
                                                subject: m.subject, verdict: .ham, label: nil, time: 0)
                    sink &+= tracker.observe(o)?.messages ?? 0
                }
            }
            var result = Result(
                messages: n, megabytes: Double(messages.reduce(0) { $0 + $1.count }) / 1e6,
                parseMessagesPerSecond: Double(n) / parse,
                featuresMessagesPerSecond: Double(n - half) / features, modelMessagesPerSecond: Double(n - half) / model,
                featuresPerMessage: Double(vectors.reduce(0) { $0 + $1.count }) / Double(max(1, vectors.count)),
                scanMessagesPerSecond: Double(n - half) / scan,
                rulesMessagesPerSecond: Double(n - half) / ruleTime, ruleEngineMessagesPerSecond: engineRates,
                learnMessagesPerSecond: Double(half) / learn, splitEvalSeconds: eval,
                peakRSSMegabytes: Self.peakRSSMegabytes(),
                fingerprintMessagesPerSecond: Double(n - half) / fingerprint,
                scanWithFingerprintMessagesPerSecond: Double(n - half) / scanWithFingerprint,
                campaignMessagesPerSecond: Double(n - half) / campaign,
                fingerprintToScanRatio: (scanWithFingerprint - scan) / scan, campaignToScanRatio: (campaign - scan) / scan)
            if bogofilter {
                let t = try Self.timeBogofilter(corpus: c, half: half, repeats: repeats)
                result.bogofilterSeconds = t.total
                result.ratioToBogofilter = eval / t.total
                result.bogofilterClassifyMessagesPerSecond = Double(n - half) / t.classify
            }
            if sink == 42 { print("") }  // keep the work observable
            if json {
                try printJSON(result)
                return
            }
            func f(_ x: Double) -> String { String(format: "%.0f", x) }
            print("corpus             \(corpus): \(n) messages, \(String(format: "%.1f", result.megabytes)) MB (in memory)")
            print("parse              \(f(result.parseMessagesPerSecond)) msg/s")
            print("features           \(f(result.featuresMessagesPerSecond)) msg/s (extraction alone, \(f(result.featuresPerMessage)) features per message)")
            print("model              \(f(result.modelMessagesPerSecond)) msg/s (scoring extracted features alone)")
            print("scan               \(f(result.scanMessagesPerSecond)) msg/s (parse + rules + features + score, model of \(half) messages; rules: \(rules.rawValue))")
            print("rules              \(f(result.rulesMessagesPerSecond)) msg/s (\(trained.rules.definitions.count) rules evaluated alone on parsed messages)")
            for (k, v) in (result.ruleEngineMessagesPerSecond ?? [:]).sorted(by: { $0.key < $1.key }) {
                print("  rules \(k)\(String(repeating: " ", count: max(1, 28 - k.count)))\(f(v)) msg/s")
            }
            print("learn              \(f(result.learnMessagesPerSecond)) msg/s (parse + features + update)")
            print("fingerprint        \(f(result.fingerprintMessagesPerSecond)) msg/s (of parsed messages alone, as learning makes them)")
            print("scan + fingerprint \(f(result.scanWithFingerprintMessagesPerSecond)) msg/s (one word pass for both): the fingerprint adds \(String(format: "%.1f", result.fingerprintToScanRatio * 100))% to the scan time")
            print("+ fuzzy + campaign \(f(result.campaignMessagesPerSecond)) msg/s (scan, fingerprint, fuzzy lookup, campaign record): \(String(format: "%.1f", result.campaignToScanRatio * 100))% added to the scan time")
            print("split eval         \(String(format: "%.3f", eval)) s (learn \(half), score \(n - half), from an empty model)")
            if let b = result.bogofilterSeconds, let r = result.ratioToBogofilter {
                print("bogofilter         \(String(format: "%.3f", b)) s (batch train + classify of the same halves)")
                print("ratio              \(String(format: "%.3f", r))x bogofilter's wall time")
            }
            if let b = result.bogofilterClassifyMessagesPerSecond {
                print("bogofilter classify \(f(b)) msg/s (wall, one process for the second half); scan is \(String(format: "%.2f", result.scanMessagesPerSecond / b))x that")
            }
            print("peak RSS           \(String(format: "%.0f", result.peakRSSMegabytes)) MB")
        }

        static func peakRSSMegabytes() -> Double {
            var u = rusage()
            getrusage(RUSAGE_SELF.rawValue, &u)
            return Double(u.ru_maxrss) / 1024  // KiB on Linux
        }

        /// bogofilter's batch training (-s/-n -B) and classification (-b) of the same halves,
        /// as the peer harness runs it. Returns the best total wall time and the best wall time of
        /// the classification alone.
        static func timeBogofilter(corpus c: TRECCorpus, half: Int, repeats: Int) throws -> (total: Double, classify: Double) {
            guard let bogo = ["/usr/bin/bogofilter", "/usr/local/bin/bogofilter"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
            else { throw CLIError("bogofilter is not installed (apt-get install bogofilter)", code: .noInput) }
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("spamward-bench-\(getpid())")
            defer { try? FileManager.default.removeItem(at: tmp) }
            func path(_ e: TRECCorpus.Entry) -> String { (c.root as NSString).appendingPathComponent(e.path) }
            let spam = c.entries[..<half].filter { $0.label == .spam }.map(path)
            let ham = c.entries[..<half].filter { $0.label == .ham }.map(path)
            let test = c.entries[half...].map(path)
            var bestTime = Double.infinity
            var bestClassify = Double.infinity
            for _ in 0..<max(1, repeats) {
                try? FileManager.default.removeItem(at: tmp)
                try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
                let db = tmp.path
                let t0 = Date()
                for chunk in stride(from: 0, to: spam.count, by: 500) {
                    try runProcess(bogo, ["-C", "-d", db, "-s", "-B"] + spam[chunk..<min(chunk + 500, spam.count)], stdin: nil)
                }
                for chunk in stride(from: 0, to: ham.count, by: 500) {
                    try runProcess(bogo, ["-C", "-d", db, "-n", "-B"] + ham[chunk..<min(chunk + 500, ham.count)], stdin: nil)
                }
                let t1 = Date()
                try runProcess(bogo, ["-C", "-d", db, "-e", "-TT", "-b"], stdin: test.joined(separator: "\n") + "\n")
                let t2 = Date()
                bestTime = min(bestTime, t2.timeIntervalSince(t0))
                bestClassify = min(bestClassify, t2.timeIntervalSince(t1))
            }
            return (bestTime, bestClassify)
        }

        static func runProcess(_ exe: String, _ args: [String], stdin: String?) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            let inPipe = Pipe()
            if stdin != nil { p.standardInput = inPipe }
            try p.run()
            if let s = stdin {
                inPipe.fileHandleForWriting.write(Data(s.utf8))
                try inPipe.fileHandleForWriting.close()
            }
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw CLIError("\(exe) exited with status \(p.terminationStatus)", code: .software)
            }
        }
    }

    struct TrainStarter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train-starter",
            abstract: "Train the starter model that ships with Spamward from a labelled corpus.",
            discussion: """
                Learns every message of the corpus index in order from an empty model and writes
                a pruned model file. The shipped model was made with:
                  spamward train-starter ../shared/corpora/spamassassin \\
                    --out Sources/SpamwardStarterModel/Resources/starter.swmodel
                """)

        @Argument(help: "Corpus folder with an `index` file (TREC layout).")
        var corpus: String
        @Option(help: ArgumentHelp("Where to write the model.", valueName: "FILE"))
        var out: String
        @Option(help: "Drop weights smaller than this in magnitude.")
        var minWeight: Float = 0
        @Option(help: "Drop tokens seen fewer times than this.")
        var minCount: UInt32 = 0

        func run() async throws {
            do {
                let c = try TRECCorpus(root: corpus)
                let messages = try c.load(progress: isatty(2) == 1)
                var s = MessageScanner(model: StatisticalModel())
                var seen = Set<MessageDigest>()
                var bar = ProgressBar(total: messages.count, label: "learn")
                for (i, bytes) in messages.enumerated() {
                    let m = s.parse(bytes)
                    if seen.insert(MessageScanner.digest(of: m)).inserted {
                        s.model.learn(s.features(m), as: c.entries[i].label)
                    }
                    bar.update(i + 1)
                }
                bar.finish()
                // A fixed timestamp keeps the file reproducible.
                let snap = ModelSnapshotCodec.snapshot(
                    of: s.model, updatedAt: 0, pruning: .init(minAbsWeight: minWeight, minTokenCount: minCount))
                let bytes = ModelSnapshotCodec.encode(snap)
                try Data(bytes).write(to: URL(fileURLWithPath: out), options: .atomic)
                print("wrote \(out): \(bytes.count) bytes, \(s.model.learnedSpam) spam and \(s.model.learnedHam) ham learned")
            } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            }
        }
    }
}
