import Foundation
import SpamwardCore

/// A corpus in TREC spam-track layout: a folder with an `index` of `spam PATH` / `ham PATH`
/// lines (paths relative to the folder, in order), one raw message per file.
struct TRECCorpus {
    struct Entry {
        var label: Label
        var path: String
    }
    let root: String
    var entries: [Entry]

    init(root: String) throws {
        self.root = root
        let indexPath = (root as NSString).appendingPathComponent("index")
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw CLIError("\(indexPath): cannot read the corpus index (expected TREC layout: an index file of `spam PATH` / `ham PATH` lines)", code: .noInput)
        }
        var entries: [Entry] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).enumerated() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let label = Label(rawValue: parts[0].lowercased()) else {
                if line.allSatisfy(\.isWhitespace) { continue }
                throw CLIError("\(indexPath):\(n + 1): malformed line (expected `spam PATH` or `ham PATH`)", code: .dataError)
            }
            entries.append(Entry(label: label, path: String(parts[1]).trimmingCharacters(in: .whitespaces)))
        }
        guard !entries.isEmpty else { throw CLIError("\(indexPath): the index lists no messages", code: .dataError) }
        self.entries = entries
    }

    /// Reads every message into memory (so that timings measure Spamward, not the disk).
    func load(progress: Bool) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(entries.count)
        var bar = ProgressBar(total: progress ? entries.count : 0, label: "reading")
        for (i, e) in entries.enumerated() {
            let p = (root as NSString).appendingPathComponent(e.path)
            guard let d = FileManager.default.contents(atPath: p) else {
                throw CLIError("\(p): cannot read message listed in the index", code: .noInput)
            }
            out.append([UInt8](d))
            bar.update(i + 1)
        }
        bar.finish()
        return out
    }
}
