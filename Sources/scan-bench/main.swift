// The scan path's harness: the core scan (parse + features + score), rule evaluation and fuzzy
// fingerprinting, with SpamwardCore's dependencies only (no server, no BoringSSL) so that a
// release build is quick, and no Foundation so that valgrind runs it (`spamward` itself crashes
// valgrind). CORPUS is a TREC layout folder (an `index` of `spam PATH` / `ham PATH` lines).
//   swift build -c release --product scan-bench
//   scan-bench time CORPUS [COUNT] [REPEATS]   # µs per message: core scan, rules, fingerprint, the ratio, and
//                                              # (scan with rules + fingerprint) - (core scan), alternating runs,
//                                              # divided between the rules and the fingerprint
//   scan-bench scan CORPUS [COUNT]             # learn the first COUNT, scan COUNT of the second half (CPU msg/s)
//   scan-bench digest CORPUS [COUNT]           # a digest of every message's feature vector
//   scan-bench hits CORPUS [COUNT]             # every message's rule hits and fingerprint (and that a scan's is the same)
//   scan-bench campaigns CORPUS [COUNT]        # the first COUNT clustered in index order as `spamward campaigns`
//                                              # does (purity, sizes), and the fuzzy index's recall on the second half
//   scan-bench per-rule CORPUS [COUNT] [REPEATS]
//   scan-bench core|full|rules|fingerprint|once CORPUS [COUNT]   # one stage once, for callgrind
//   scan-bench core|full CORPUS COUNT REPEATS                    # the scan REPEATS times, for perf record
//   scan-bench pollute CORPUS COUNT REPEATS [KB...]              # how much slower the core scan runs when KB of
//                                                                # other memory is touched after each message
// `digest` and `hits` print the same lines before and after a speed-up that changes nothing.
// callgrind: --toggle-collect='*timedLoop*' (scan), '*trainLoop*' (its learning), '*coreScan*'
// (core), '*fullScan*' (full: core + rules + fingerprint), '*RuleSetV8evaluate*' (rules), '*FingerprinterV11fingerprint*' (fingerprint).
import MailMessage
import SpamwardCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65_536, f) }
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
        if out.count > 32 << 20 { break }
    }
    return out
}

func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2 else {
    print("usage: scan-bench time|scan|digest|hits|campaigns|per-rule|core|full|rules|fingerprint|once CORPUS [COUNT] [REPEATS]")
    exit(64)
}
let mode = args[0]
let root = args[1]
let limit = args.count > 2 ? Int(args[2]) ?? Int.max : Int.max
let repeats = args.count > 3 ? Int(args[3]) ?? 3 : 3

guard let index = readFile(root + "/index") else {
    print("\(root)/index: cannot read")
    exit(66)
}
var entries: [(label: Label, path: String)] = []
for line in String(decoding: index, as: UTF8.self).split(separator: "\n") {
    let parts = line.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, let label = Label(rawValue: parts[0].lowercased()) else { continue }
    entries.append((label, String(parts[1])))
}

// The two modes over the corpus in index order (before the even spread below).
@inline(never) func timedLoop(_ s: MessageScanner, _ messages: [[UInt8]]) -> Int {
    var spam = 0
    for m in messages where s.score(s.parse(m)) > 0 { spam += 1 }
    return spam
}

@inline(never) func trainLoop(_ s: inout MessageScanner, _ messages: [[UInt8]], _ labels: [Label]) {
    for (m, label) in zip(messages, labels) { s.model.learn(s.features(s.parse(m)), as: label) }
}

func coreScanner() -> MessageScanner {
    var scanner = MessageScanner(model: StatisticalModel())
    scanner.rules = .empty
    scanner.ruleFeatures = false
    scanner.ruleScores = false
    return scanner
}

if mode == "scan" {
    // As `spamward bench --rules none`: learn the first COUNT (default 300), then scan COUNT of the second half.
    let half = entries.count / 2
    let count = min(limit == Int.max ? 300 : limit, half)
    func load(_ r: Range<Int>) -> [[UInt8]] { r.map { readFile(root + "/" + entries[$0].path) ?? [] } }
    var scanner = coreScanner()
    let train = load(0..<count)
    let test = load(half..<(half + count))
    trainLoop(&scanner, train, entries.prefix(count).map(\.label))
    let t0 = cpuSeconds()
    let spam = timedLoop(scanner, test)
    let t1 = cpuSeconds()
    print("scanned \(test.count) messages (\(spam) spam) after learning \(train.count): \(Int(Double(test.count) / (t1 - t0))) msg/s CPU")
    exit(0)
}
if mode == "campaigns" {
    // The corpus clustered in index order (the first COUNT, default all) as `spamward campaigns
    // --corpus` does (CorpusCampaignRun, CampaignStatistics), then the fuzzy index's recall: the
    // first half's spam learned, how many of the second half's messages match one at >= 0.5.
    let chosen = Array(entries.prefix(limit))
    let messages = chosen.map { readFile(root + "/" + $0.path) ?? [] }
    let labels = chosen.map(\.label)
    var configuration = CampaignTracker.Configuration()
    configuration.maxIdleSeconds = nil  // as the command: a corpus spans months
    let fingerprinter = Fingerprinter()
    let run = CorpusCampaignRun.run(messages, labels: labels, configuration: configuration, fingerprinter: fingerprinter)
    let stats = CampaignStatistics(run)
    print("fingerprint      definition \(FingerprintConfiguration.definition), version \(String(fingerprinter.configuration.version, radix: 16))")
    print("messages         \(stats.messages) (\(stats.clustered) with a text fingerprint, \(run.withSender) with a sending address)")
    print("campaigns        \(stats.campaigns), of which \(stats.campaignsWithTwoOrMore) with 2+ messages (\(stats.messagesInCampaignsWithTwoOrMore) messages): \(stats.spamCampaigns) spam, \(stats.hamCampaigns) ham")
    print("sizes            \(stats.sizeLine)")
    let purity = Double(Int(stats.purityPercent * 100)) / 100
    print("purity           \(purity)% of campaigns with 2+ messages have one label (\(stats.impureCampaigns) mixed, \(stats.messagesInImpureCampaigns) messages; \(stats.spamCampaignsWithHam) spam campaigns contain ham)")
    let half = messages.count / 2
    var index = FuzzyIndex()
    var learned = 0
    for i in 0..<half where labels[i] == .spam {
        index.add(fingerprinter.fingerprint(MessageParser.parse(messages[i])), as: .spam, now: 0)
        learned += 1
    }
    var matched: [Label: Int] = [:], total: [Label: Int] = [:]
    for i in half..<messages.count {
        total[labels[i], default: 0] += 1
        let fp = fingerprinter.fingerprint(MessageParser.parse(messages[i]))
        if index.match(fp, now: 0).contains(where: { $0.label == .spam && $0.similarity >= 0.5 }) { matched[labels[i], default: 0] += 1 }
    }
    print("fuzzy            \(learned) spam of the first half learned (\(index.count) entries); second half matching one at >= 0.5: spam \(matched[.spam] ?? 0) of \(total[.spam] ?? 0), ham \(matched[.ham] ?? 0) of \(total[.ham] ?? 0)")
    exit(0)
}
if mode == "digest" {
    // One line per message (the first COUNT, default all): index, token and n-gram counts, a
    // 64-bit digest of both slot lists in order; then a total. Each message's features are also
    // made after the rules ran on it (as a scan with rules does: what the rules derive from the
    // message, such as its parsed URLs, is then shared) and must be the same (exit 1 otherwise).
    let scanner = coreScanner()
    let ruleScanner = MessageScanner(model: StatisticalModel())
    func digest(_ v: FeatureVector) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in v.tokens { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        h = (h ^ 0xFFFF_FFFF) &* 0x100_0000_01b3
        for x in v.ngrams { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        return h
    }
    var total: UInt64 = 0
    var differ = 0
    for (i, e) in entries.prefix(limit).enumerated() {
        let bytes = readFile(root + "/" + e.path) ?? []
        let v = scanner.features(scanner.parse(bytes))
        let h = digest(v)
        print(i, v.tokens.count, v.ngrams.count, String(h, radix: 16))
        total = (total ^ h) &* 0x100_0000_01b3
        let m = scanner.parse(bytes)
        _ = RuleSet.standard.evaluate(m)
        if digest(scanner.features(m)) != h {
            differ += 1
            print(i, "FEATURES AFTER THE RULES DIFFER")
        }
        // A scan with rule features takes the Subject and From the rules made; the same vector
        // as the extractor's own (the hits given, nothing shared).
        if digest(ruleScanner.features(m)) != digest(ruleScanner.features(m, hits: ruleScanner.rules.evaluate(m))) {
            differ += 1
            print(i, "FEATURES WITH THE RULES' HEADER VALUES DIFFER")
        }
    }
    print("total", String(total, radix: 16))
    if differ > 0 { print("\(differ) messages' features differ after the rules ran"); exit(1) }
    exit(0)
}

if limit < entries.count {
    // An even spread over the corpus (it is ordered by folder).
    let step = Double(entries.count) / Double(limit)
    entries = (0..<limit).map { entries[Int(Double($0) * step)] }
}
let messages = entries.compactMap { readFile(root + "/" + $0.path) }
let parsed = messages.map { MessageParser.parse($0) }
let rules = RuleSet.standard
let fingerprinter = Fingerprinter()
var sink = 0

/// Parse + features + score of `messages` (a function of its own, for callgrind's --toggle-collect=*coreScan*).
@inline(never) func coreScan(_ scanner: MessageScanner, _ messages: ArraySlice<[UInt8]>) -> Int {
    var n = 0
    for m in messages { n &+= scanner.score(scanner.parse(m)) > 0 ? 1 : 0 }
    return n
}

/// Parse + features (rule hits among them) + score + fingerprint: what a scan with rules and
/// fuzzy fingerprints does (callgrind: --toggle-collect=*fullScan*).
@inline(never) func fullScan(_ scanner: MessageScanner, _ fingerprinter: Fingerprinter, _ messages: ArraySlice<[UInt8]>) -> Int {
    var n = 0
    for bytes in messages {
        let (score, fp) = scanner.score(scanner.parse(bytes), fingerprinter: fingerprinter)
        n &+= score > 0 ? 1 : 0
        n &+= fp.words
    }
    return n
}

/// `CampaignMonitor.scanned` for each message (callgrind: --toggle-collect=*fuzzyLoop*): symbol
/// counts and an order-sensitive digest of every symbol's name, score and options.
/// `fingerprints`: each message's, as the scan made it (nil: the monitor makes them).
@inline(never) func fuzzyLoop(_ monitor: CampaignMonitor, _ messages: ArraySlice<Message>, fingerprints: [MessageFingerprint]?,
                              start: Int64) -> ([String: Int], UInt64) {
    var counts: [String: Int] = [:]
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ s: String) { for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
    for (i, m) in messages.enumerated() {
        let r = monitor.scanned(m, fingerprint: fingerprints?[i], context: .none, verdict: .ham, now: start + Int64(i) * 10)
        for sym in r.symbols {
            counts[sym.name, default: 0] += 1
            mix(sym.name)
            mix(String(sym.score))
            for o in sym.options { mix(o) }
        }
        mix(r.campaign.map { "c\($0.campaignID) \($0.messages) \($0.similarity)" } ?? "-")
    }
    return (counts, h)
}

/// A scanner with the standard rules (features and scores) that learned the first half of `parsed`.
func trainedFullScanner(_ parsed: [Message], _ labels: [Label]) -> MessageScanner {
    var scanner = MessageScanner(model: StatisticalModel())
    for i in 0..<(parsed.count / 2) { scanner.model.learn(scanner.features(parsed[i]), as: labels[i]) }
    return scanner
}

/// A scanner without rules that learned the first half of `parsed`.
func trainedCoreScanner(_ parsed: [Message], _ labels: [Label]) -> MessageScanner {
    var scanner = coreScanner()
    for i in 0..<(parsed.count / 2) { scanner.model.learn(scanner.features(parsed[i]), as: labels[i]) }
    return scanner
}

/// The core scan of `messages`, each message followed by a read and write of one word in each
/// of `lines` cache lines of `p` (the same lines every message, as the rules' and the
/// fingerprint's tables are); `scan` false: those writes alone (callgrind/perf: *pollutedScan*).
@inline(never) func pollutedScan(_ s: MessageScanner, _ messages: ArraySlice<[UInt8]>, _ p: UnsafeMutablePointer<UInt64>,
                                 lines: Int, scan: Bool) -> Int {
    var n = 0
    for m in messages {
        if scan { n &+= s.score(s.parse(m)) > 0 ? 1 : 0 }
        var i = 0
        while i < lines {
            p[i &* 8] &+= 1
            i &+= 1
        }
    }
    return n &+ Int(truncatingIfNeeded: p[0])
}

switch mode {
case "core":
    // The core scan of the second half, after learning the first (callgrind: --toggle-collect=*coreScan*).
    let scanner = trainedCoreScanner(parsed, entries.map(\.label))
    for _ in 0..<(args.count > 3 ? repeats : 1) { sink &+= coreScan(scanner, messages[(messages.count / 2)...]) }
    print(sink)
case "full":
    // The scan with rules and fingerprints of the second half (callgrind: --toggle-collect=*fullScan*).
    let scanner = trainedFullScanner(parsed, entries.map(\.label))
    for _ in 0..<(args.count > 3 ? repeats : 1) { sink &+= fullScan(scanner, fingerprinter, messages[(messages.count / 2)...]) }
    print(sink)
case "hits":
    // Also checks that a scan's fingerprint (words collected by the feature pass) is the one made alone.
    let scanner = MessageScanner(model: StatisticalModel())
    var mismatches = 0
    for (e, m) in zip(entries, parsed) {
        let hits = rules.evaluate(m).map { "\($0.name)\($0.options.isEmpty ? "" : "(" + $0.options.joined(separator: "|") + ")")" }
        let fp = fingerprinter.fingerprint(m)
        if scanner.score(m, fingerprinter: fingerprinter).fingerprint != fp {
            mismatches += 1
            print("\(e.path)\tFINGERPRINT OF THE SCAN DIFFERS")
        }
        let mh = fp.minHash.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }
        print("\(e.path)\t\(hits.joined(separator: " "))\tfp=\(String(mh, radix: 16)) w=\(fp.words) html=\(String(fp.htmlStructure, radix: 16)) urls=\(fp.urlDomains.joined(separator: ","))")
    }
    if mismatches > 0 { print("\(mismatches) scans' fingerprints differ from the ones made alone"); exit(1) }
case "once":
    for m in parsed { sink &+= rules.evaluate(m).count }
    for m in parsed { sink &+= fingerprinter.fingerprint(m).words }
    print(sink)
case "rules":
    for m in parsed { sink &+= rules.evaluate(m).count }
    print(sink)
case "per-rule":
    // Each non-meta rule alone (it pays for the texts it reads), by CPU time.
    var costs: [(String, Double)] = []
    for d in RuleSet.standard.definitions where d.kind != .meta {
        guard let one = try? RuleSet([d]) else { continue }
        let t0 = cpuSeconds()
        for _ in 0..<repeats { for m in parsed { sink &+= one.evaluate(m).count } }
        costs.append((d.name, (cpuSeconds() - t0) / Double(repeats * parsed.count) * 1e6))
    }
    for (name, us) in costs.sorted(by: { $0.1 > $1.1 }) { print(name, Double(Int(us * 100)) / 100, "µs/msg") }
case "fingerprint":
    for m in parsed { sink &+= fingerprinter.fingerprint(m).words }
    print(sink)
case "fuzzy":
    // The campaign monitor as the daemon runs it after each scan: the first half's fingerprints
    // learned, then every message of the second half `scanned` (fuzzy lookup, campaign record,
    // botnet check) with the fingerprint its scan made, ten seconds apart. Prints the symbols'
    // counts and a digest of every symbol with its options (identical before and after a
    // speed-up), and the CPU time (callgrind: --toggle-collect=*fuzzyLoop*). A second monitor
    // does the same making each fingerprint itself (a fingerprint made alone: its own word pass).
    let half = parsed.count / 2
    let start: Int64 = 1_780_000_000
    let scanner = MessageScanner(model: StatisticalModel())
    var results: [(String, Double)] = []
    for given in [true, false] {
        let monitor = CampaignMonitor()
        for i in 0..<half { try await monitor.learn(parsed[i], as: entries[i].label, now: start + Int64(i) * 10) }
        let fingerprints = given ? parsed[half...].map { scanner.score($0, fingerprinter: monitor.fingerprinter).fingerprint } : nil
        let t0 = cpuSeconds()
        let (counts, digest) = fuzzyLoop(monitor, parsed[half...], fingerprints: fingerprints, start: start + Int64(half) * 10)
        let t1 = cpuSeconds()
        if given { for (name, n) in counts.sorted(by: { $0.key < $1.key }) { print(name, n) } }
        results.append((String(digest, radix: 16), (t1 - t0) / Double(parsed.count - half)))
    }
    print("digest", results[0].0, results[0].0 == results[1].0 ? "(the same with fingerprints made by the monitor)" : "DIFFERS from \(results[1].0) with fingerprints made by the monitor")
    print("\(Int(results[0].1 * 1e7) / 10) µs/msg (fuzzy + campaign + botnet, the scan's fingerprint given)")
    print("\(Int(results[1].1 * 1e7) / 10) µs/msg (fingerprint made alone + fuzzy + campaign + botnet)")
    if results[0].0 != results[1].0 { exit(1) }
case "pollute":
    // How much slower the core scan's own work runs when other memory is touched between its
    // messages (the rules' and fingerprint's working set evicting the core's cache lines):
    // for each size, (scan + touching KB) - (touching alone) - (scan alone), alternating runs,
    // best of REPEATS. Sizes: args after REPEATS, in KB (default 64 256 1024 4096).
    let sizes = args.count > 4 ? args[4...].compactMap { Int($0) } : [64, 256, 1024, 4096]
    let scanner = trainedCoreScanner(parsed, entries.map(\.label))
    let half = messages.count / 2
    let n = Double(messages.count - half)
    func us(_ t: Double) -> String { String(Double(Int(t / n * 1e7)) / 10) }
    for kb in sizes {
        let lines = max(1, kb * 1024 / 64)
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: lines * 8)
        p.initialize(repeating: 1, count: lines * 8)
        var plain = Double.infinity, both = Double.infinity, alone = Double.infinity
        for _ in 0..<max(1, repeats) {
            var t0 = cpuSeconds()
            sink &+= pollutedScan(scanner, messages[half...], p, lines: 0, scan: true)
            plain = min(plain, cpuSeconds() - t0)
            t0 = cpuSeconds()
            sink &+= pollutedScan(scanner, messages[half...], p, lines: lines, scan: true)
            both = min(both, cpuSeconds() - t0)
            t0 = cpuSeconds()
            sink &+= pollutedScan(scanner, messages[half...], p, lines: lines, scan: false)
            alone = min(alone, cpuSeconds() - t0)
        }
        print("\(kb) KB a message: core \(us(plain)) µs/msg, touching alone \(us(alone)), both \(us(both)): the core slower by \(us(both - alone - plain)) µs/msg")
        p.deallocate()
    }
default:
    func best(_ body: () -> Void) -> Double {
        var b = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t0 = cpuSeconds()
            body()
            b = min(b, cpuSeconds() - t0)
        }
        return b
    }
    // The core scan as `spamward bench --rules none` measures it: learn the first half, then
    // parse + features + score the second half.
    let scanner = trainedCoreScanner(parsed, entries.map(\.label))
    let half = messages.count / 2
    let n = Double(messages.count - half)
    let core = best { sink &+= coreScan(scanner, messages[half...]) }
    let rest = Array(parsed[half...])
    let ruleTime = best { for m in rest { sink &+= rules.evaluate(m).count } }
    let fpTime = best { for m in rest { sink &+= fingerprinter.fingerprint(m).words } }
    // The same scan with rules and fingerprints, alternating with the core scan so that both see
    // the same machine load: the added cost is the difference.
    let fullScanner = trainedFullScanner(parsed, entries.map(\.label))
    var coreAgain = Double.infinity, full = Double.infinity, withRules = Double.infinity
    for _ in 0..<max(1, repeats) {
        var t0 = cpuSeconds()
        sink &+= coreScan(scanner, messages[half...])
        coreAgain = min(coreAgain, cpuSeconds() - t0)
        t0 = cpuSeconds()
        sink &+= fullScan(fullScanner, fingerprinter, messages[half...])
        full = min(full, cpuSeconds() - t0)
        // The same scanner without a fingerprinter: the scan with rules alone (how the added
        // time divides between the rules and the fingerprint inside a scan).
        t0 = cpuSeconds()
        sink &+= coreScan(fullScanner, messages[half...])
        withRules = min(withRules, cpuSeconds() - t0)
    }
    func us(_ t: Double) -> String { String(Double(Int(t / n * 1e7)) / 10) }
    print("messages \(Int(n)) (scored half), repeats \(repeats), best CPU time")
    print("core scan    \(us(core)) µs/msg (parse + features + score)")
    print("rules        \(us(ruleTime)) µs/msg (\(rules.definitions.count) rules; on messages parsed once, whose parsed URLs and URL analysis stay memoized between repeats)")
    print("fingerprint  \(us(fpTime)) µs/msg (made alone, as learning does: its own word pass)")
    print("ratio (rules + fingerprint alone) / core = \(Double(Int((ruleTime + fpTime) / core * 1000)) / 10)%")
    print("core scan (alternating)        \(us(coreAgain)) µs/msg")
    print("scan with rules + fingerprint  \(us(full)) µs/msg (one word pass for features and fingerprint)")
    print("added by rules + fingerprint   \(us(full - coreAgain)) µs/msg = \(Double(Int((full - coreAgain) / coreAgain * 1000)) / 10)% of the core scan")
    print("  of which the rules           \(us(withRules - coreAgain)) µs/msg (the scan with rules, no fingerprint: \(us(withRules)) µs/msg)")
    print("  and the fingerprint          \(us(full - withRules)) µs/msg")
    if sink == 42 { print("") }
}
