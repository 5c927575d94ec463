import ArgumentParser
import Foundation
import MailMessage
import SpamwardCore

enum EvalProtocol: String, ExpressibleByArgument, CaseIterable {
    case split, online
}

/// How rules take part in an evaluation: their hits as learner features, their scores in the
/// verdict, both (the default, as in scanning), or not at all (the learner alone).
enum RuleMode: String, ExpressibleByArgument, CaseIterable {
    case all, features, scores, none

    func apply(to scanner: inout MessageScanner) {
        switch self {
        case .all: break
        case .features: scanner.ruleScores = false
        case .scores: scanner.ruleFeatures = false
        case .none:
            scanner.rules = .empty
            scanner.ruleFeatures = false
            scanner.ruleScores = false
        }
    }
}

/// The result of running one protocol over a corpus.
struct EvaluationRun {
    var labels: [Label] = []
    var scores: [Double] = []
    var paths: [String] = []
    var learnSeconds = 0.0
    var scoreSeconds = 0.0
    var learned = 0
    var scored = 0
    var duplicatesSkipped = 0
    /// The model after the run (set at its end, so that no second copy of the model is held
    /// while it learns).
    var model: StatisticalModel?

    /// Runs `proto` on the messages from an empty model.
    /// Which score to report: the combined one, or (for experiments) one component.
    enum Component: String, ExpressibleByArgument {
        case combined, discriminative, tokens, fisher
    }

    static func run(corpus: TRECCorpus, messages: [[UInt8]], proto: EvalProtocol, configuration: FeatureConfiguration,
                    thresholds: Thresholds, progress: Bool, component which: Component = .combined, rules: RuleMode = .all, fuzzy: Bool = false,
                    tune: (inout StatisticalModel) -> Void = { _ in }) -> EvaluationRun {
        // The scanner holds the only reference to the model: a second one (the empty model kept
        // elsewhere) would make the first learn copy all 48 MB of it.
        var scanner: MessageScanner = {
            var model = StatisticalModel(configuration: configuration)
            tune(&model)
            return MessageScanner(model: model, thresholds: thresholds)
        }()
        rules.apply(to: &scanner)
        var run = EvaluationRun()
        var learnedDigests = Set<MessageDigest>()
        let n = messages.count
        let half = n / 2
        var bar = ProgressBar(total: progress ? n : 0, label: proto.rawValue)
        let clock = ContinuousClock()

        // Optional fuzzy fingerprints: learned messages are added, scored ones get FUZZY_* scores.
        let fingerprinter = Fingerprinter()
        var fuzzyIndex = FuzzyIndex()
        func fuzzyScore(_ m: Message) -> Double {
            guard fuzzy else { return 0 }
            let fp = fingerprinter.fingerprint(m)
            return fuzzyIndex.symbols(for: fuzzyIndex.match(fp, now: 0)).reduce(0) { $0 + $1.score }
        }

        func component(_ scanner: MessageScanner, _ m: Message, _ hits: [RuleHit], _ v: FeatureVector) -> Double {
            let s = scanner.model.score(v)
            switch which {
            case .combined: return s.combined + (scanner.ruleScores ? hits.reduce(0) { $0 + $1.score } : 0) + fuzzyScore(m)
            case .discriminative: return s.discriminative
            case .tokens: return s.tokenLogOdds
            case .fisher: return s.fisher
            }
        }

        func learn(_ m: Message, _ v: FeatureVector, _ label: Label) {
            // Learning is idempotent: a duplicate message counts once.
            if learnedDigests.insert(MessageScanner.digest(of: m)).inserted {
                scanner.model.learn(v, as: label)
                if fuzzy { fuzzyIndex.add(fingerprinter.fingerprint(m), as: label, now: 0) }
                run.learned += 1
            } else {
                run.duplicatesSkipped += 1
            }
        }

        switch proto {
        case .split:
            let t0 = clock.now
            for i in 0..<half {
                let m = scanner.parse(messages[i])
                learn(m, scanner.features(m), corpus.entries[i].label)
                bar.update(i + 1)
            }
            let t1 = clock.now
            for i in half..<n {
                let m = scanner.parse(messages[i])
                let hits = scanner.ruleHits(m)
                run.scores.append(component(scanner, m, hits, scanner.features(m, hits: hits)))
                run.labels.append(corpus.entries[i].label)
                run.paths.append(corpus.entries[i].path)
                bar.update(i + 1)
            }
            let t2 = clock.now
            run.learnSeconds = (t1 - t0).seconds
            run.scoreSeconds = (t2 - t1).seconds
            run.scored = n - half
        case .online:
            var learnTime = Duration.zero
            var scoreTime = Duration.zero
            for i in 0..<n {
                let t0 = clock.now
                let m = scanner.parse(messages[i])
                let hits = scanner.ruleHits(m)
                let v = scanner.features(m, hits: hits)
                let s = component(scanner, m, hits, v)
                let t1 = clock.now
                learn(m, v, corpus.entries[i].label)
                let t2 = clock.now
                scoreTime += t1 - t0
                learnTime += t2 - t1
                run.scores.append(s)
                run.labels.append(corpus.entries[i].label)
                run.paths.append(corpus.entries[i].path)
                bar.update(i + 1)
            }
            run.learnSeconds = learnTime.seconds
            run.scoreSeconds = scoreTime.seconds
            run.scored = n
        }
        bar.finish()
        run.model = scanner.model
        return run
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}

extension Spamward {
    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate the learner on a labelled corpus (TREC layout), from an empty model.",
            discussion: """
                split: learn the first half of the index in order, then score the second half.
                online: TREC immediate feedback: score each message, then learn its true label.
                Prints (1-AUC)% with a 95% bootstrap interval, FPR and FNR at the spam threshold,
                FNR at FPR 0.1%, and messages per second. The store is not touched.
                """)

        @Argument(help: "Corpus folder with an `index` file.")
        var corpus: String
        @Option(name: .customLong("protocol"), help: "split or online.")
        var proto: EvalProtocol = .split
        @Option(help: ArgumentHelp("Write one line per scored message: RELPATH LABEL SCORE.", valueName: "FILE"))
        var scores: String?
        @Option(help: ArgumentHelp("Draw the ROC curve as SVG.", valueName: "FILE.svg"))
        var roc: String?
        @Flag(help: "Print the summary as JSON.")
        var json = false
        @OptionGroup var thresholdOptions: ThresholdOptions
        @Option(help: .hidden) var learningRate: Float?
        @Option(help: .hidden) var ngramBytes: Int?
        @Option(help: .hidden) var featureBits: Int?
        @Option(help: .hidden) var minDeviation: Double?
        @Option(help: .hidden) var robinsonStrength: Double?
        @Option(help: .hidden) var headerNgramBytes: Int?
        @Option(help: .hidden) var wordPairs: Bool?
        @Flag(help: .hidden) var debugModel = false
        @Option(help: .hidden) var initialCombiner: String?
        @Option(help: "Score to report: combined, or one component (discriminative, tokens, fisher) for comparison.")
        var component: EvaluationRun.Component = .combined
        @Option(help: "How rules take part: all (features and scores, as in scanning), features, scores, or none (the learner alone).")
        var rules: RuleMode = .all
        @Flag(help: "Add fuzzy-fingerprint symbols (FUZZY_SPAM / FUZZY_HAM from the learned messages) to the score.")
        var fuzzy = false

        func run() async throws {
            do {
                try runEval()
            } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            }
        }

        func runEval() throws {
            let c = try TRECCorpus(root: corpus)
            let progress = isatty(2) == 1
            let messages = try c.load(progress: progress)
            var config = FeatureConfiguration.default
            if let b = ngramBytes { config.ngramTextBytes = b }
            if let b = featureBits { config.featureBits = b }
            if let b = headerNgramBytes { config.ngramHeaderBytes = b }
            if let p = wordPairs { config.wordPairs = p }
            let wall0 = Date()
            let r = EvaluationRun.run(
                corpus: c, messages: messages, proto: proto, configuration: config,
                thresholds: thresholdOptions.thresholds, progress: progress, component: component, rules: rules, fuzzy: fuzzy
            ) { m in
                if let lr = learningRate { m.learningRate = lr }
                if let md = minDeviation { m.minDeviation = md }
                if let rs = robinsonStrength { m.robinsonStrength = rs }
                if let ic = initialCombiner {
                    let w = ic.split(separator: ",").compactMap { Double($0) }
                    if w.count == m.combinerWeights.count { m.combinerWeights = w }
                }
            }
            let wall = Date().timeIntervalSince(wall0)
            if debugModel, let m = r.model { printError("combiner \(m.combinerWeights)") }
            let summary = EvaluationSummary.summarize(labels: r.labels, scores: r.scores, threshold: thresholdOptions.spamThreshold)
            if let scores {
                var out = ""
                for i in 0..<r.scores.count {
                    out += "\(r.paths[i]) \(r.labels[i].rawValue) \(r.scores[i])\n"
                }
                try write(out, to: scores)
            }
            if let roc {
                let title = "Spamward \(proto.rawValue) on \((corpus as NSString).lastPathComponent)"
                try write(ROCCurve(labels: r.labels, scores: r.scores).svg(title: title), to: roc)
            }
            let scoreRate = Double(r.scored) / max(r.scoreSeconds, 1e-9)
            let learnRate = Double(r.learned + r.duplicatesSkipped) / max(r.learnSeconds, 1e-9)
            if json {
                struct Out: Encodable {
                    var corpus: String
                    var protocolName: String
                    var summary: EvaluationSummary
                    var scoreMessagesPerSecond: Double
                    var learnMessagesPerSecond: Double
                    var wallSeconds: Double
                    var learned: Int
                    var duplicatesSkipped: Int
                }
                try printJSON(Out(corpus: corpus, protocolName: proto.rawValue, summary: summary,
                                              scoreMessagesPerSecond: scoreRate, learnMessagesPerSecond: learnRate,
                                              wallSeconds: wall, learned: r.learned, duplicatesSkipped: r.duplicatesSkipped))
                return
            }
            func f(_ x: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", x) }
            print("corpus           \(corpus) (\(c.entries.count) messages)")
            print("protocol         \(proto.rawValue): learned \(r.learned) (\(r.duplicatesSkipped) duplicates counted once), scored \(r.scored) (\(summary.spamCount) spam, \(summary.hamCount) ham)")
            print("(1-AUC)%         \(f(summary.oneMinusAUCPercent, 4))  (95% CI \(f(summary.ciLow, 4))-\(f(summary.ciHigh, 4)))")
            print("threshold        \(thresholdOptions.spamThreshold): FPR \(f(summary.fpr * 100, 2))% (\(summary.falsePositives) ham), FNR \(f(summary.fnr * 100, 2))% (\(summary.falseNegatives) spam)")
            print("FNR at FPR 0.1%  \(f(summary.fnrAtFPR01, 2))%")
            print("FPR at FNR 1%    \(f(summary.fprAtFNR1, 2))%")
            print("speed            scoring \(Int(scoreRate)) msg/s, learning \(Int(learnRate)) msg/s (one core; parse + features + model), wall \(f(wall, 2)) s")
        }

        func write(_ s: String, to path: String) throws {
            do {
                try s.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("\(path): cannot write: \(error.localizedDescription)", code: .ioError)
            }
        }
    }
}
