// Scan-path harness for instruction counts: learns the first COUNT messages of a TREC corpus,
// then parses, extracts features of and scores the COUNT messages of the second half (rules
// off, as `spamward bench --rules none`). Small and Foundation-free, so that valgrind runs it:
//   swift build -c release --product scan-bench
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*timedLoop*' \
//     .build/release/scan-bench CORPUS 300
// (`--toggle-collect='*trainLoop*'` counts the learning of the first COUNT instead.)
// `scan-bench CORPUS COUNT digest` prints a digest of every message's feature vector (all
// messages when COUNT is 0), to check that a speed-up leaves the features byte-identical.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailMessage
import SpamwardCore

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65_536, f) }
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

func runHarness() {
    let args = Array(CommandLine.arguments.dropFirst())
    guard let root = args.first, let index = readFile(root + "/index") else {
        print("usage: scan-bench CORPUS [COUNT] [digest]")
        exit(64)
    }
    let countArg = args.count > 1 ? Int(args[1]) ?? 300 : 300
    let digestMode = args.count > 2 && args[2] == "digest"
    var entries: [(Label, String)] = []
    for line in index.split(separator: UInt8(ascii: "\n")) {
        guard let sp = line.firstIndex(of: UInt8(ascii: " ")) else { continue }
        let label = String(decoding: line[line.startIndex..<sp], as: UTF8.self)
        let path = String(decoding: line[(sp + 1)...], as: UTF8.self)
        if let l = Label(rawValue: label) { entries.append((l, path)) }
    }
    let half = entries.count / 2
    let count = countArg <= 0 ? half : min(countArg, half)
    func load(_ r: Range<Int>) -> [[UInt8]] { r.map { readFile(root + "/" + entries[$0].1) ?? [] } }

    var scanner = MessageScanner(model: StatisticalModel())
    scanner.rules = .empty
    scanner.ruleFeatures = false
    scanner.ruleScores = false

    if digestMode {
        // One line per message: index, then a 64-bit digest of its tokens and n-grams in order.
        let all = load(0..<(countArg <= 0 ? entries.count : min(countArg, entries.count)))
        var total: UInt64 = 0
        for (i, bytes) in all.enumerated() {
            let v = scanner.features(scanner.parse(bytes))
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for x in v.tokens { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
            h = (h ^ 0xFFFF_FFFF) &* 0x100_0000_01b3
            for x in v.ngrams { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
            print(i, v.tokens.count, v.ngrams.count, String(h, radix: 16))
            total = (total ^ h) &* 0x100_0000_01b3
        }
        print("total", String(total, radix: 16))
        return
    }

    let train = load(0..<count)
    let test = load(half..<(half + count))
    trainLoop(&scanner, train, entries.prefix(count).map(\.0))

    var clock = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &clock)
    let t0 = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    var spam = 0
    spam = timedLoop(scanner, test)
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &clock)
    let t1 = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    print("scanned \(test.count) messages (\(spam) spam) after learning \(train.count): \(Int(Double(test.count) / (t1 - t0))) msg/s CPU")
}

@inline(never) func timedLoop(_ s: MessageScanner, _ messages: [[UInt8]]) -> Int {
    var spam = 0
    for m in messages where s.score(s.parse(m)) > 0 { spam += 1 }
    return spam
}

@inline(never) func trainLoop(_ s: inout MessageScanner, _ messages: [[UInt8]], _ labels: [Label]) {
    for (m, label) in zip(messages, labels) { s.model.learn(s.features(s.parse(m)), as: label) }
}

runHarness()
