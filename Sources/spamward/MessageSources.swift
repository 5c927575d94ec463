import Foundation

/// One message to process, named for reports.
struct InputMessage {
    var name: String
    var bytes: [UInt8]
}

/// Where messages come from: files, directories (recursively, Maildir included), mbox files
/// and standard input ("-" or no path).
struct MessageSources {
    enum Item {
        case file(String)
        case stdin
    }

    var items: [Item] = []
    /// Paths that could not be listed.
    var errors: [String] = []

    init(paths: [String]) {
        if paths.isEmpty {
            items = [.stdin]
            return
        }
        let fm = FileManager.default
        for p in paths {
            if p == "-" {
                items.append(.stdin)
                continue
            }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else {
                errors.append("\(p): no such file or directory")
                continue
            }
            if isDir.boolValue {
                guard let e = fm.enumerator(atPath: p) else {
                    errors.append("\(p): cannot list directory")
                    continue
                }
                var files: [String] = []
                while let rel = e.nextObject() as? String {
                    let full = (p as NSString).appendingPathComponent(rel)
                    var d: ObjCBool = false
                    if fm.fileExists(atPath: full, isDirectory: &d), !d.boolValue {
                        let base = (rel as NSString).lastPathComponent
                        // Skip Maildir's tmp/ (partial deliveries) and dovecot's index files.
                        if rel.hasPrefix("tmp/") || rel.contains("/tmp/") || base.hasPrefix("dovecot") || base.hasPrefix(".") { continue }
                        if base == "index" && fm.fileExists(atPath: (p as NSString).appendingPathComponent("index")) && rel == "index" { continue }
                        files.append(full)
                    }
                }
                files.sort()
                items.append(contentsOf: files.map { .file($0) })
            } else {
                items.append(.file(p))
            }
        }
    }

    /// Reads the item; an mbox file yields all its messages.
    static func read(_ item: Item) throws -> [InputMessage] {
        switch item {
        case .stdin:
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return split(name: "<stdin>", bytes: [UInt8](data))
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("\(path): cannot read file", code: .noInput)
            }
            return split(name: path, bytes: [UInt8](data))
        }
    }

    /// Splits an mbox (several messages separated by `From ` lines after a blank line);
    /// a single message, with or without a leading `From ` line, is returned whole.
    static func split(name: String, bytes: [UInt8]) -> [InputMessage] {
        guard bytes.starts(with: "From ".utf8) else { return [InputMessage(name: name, bytes: bytes)] }
        var starts: [Int] = [0]
        var i = 0
        let n = bytes.count
        while i < n {
            guard let lf = bytes[i...].firstIndex(of: 0x0A) else { break }
            let next = lf + 1
            // A separator: a line starting with "From " preceded by an empty line.
            if next + 5 <= n, bytes[next..<(next + 5)].elementsEqual("From ".utf8) {
                let prevEmpty = lf >= 1 && (bytes[lf - 1] == 0x0A || (lf >= 2 && bytes[lf - 1] == 0x0D && bytes[lf - 2] == 0x0A))
                if prevEmpty { starts.append(next) }
            }
            i = next
        }
        if starts.count == 1 { return [InputMessage(name: name, bytes: bytes)] }
        var out: [InputMessage] = []
        for (k, s) in starts.enumerated() {
            var e = k + 1 < starts.count ? starts[k + 1] : n
            // The blank line before the next "From " line is the separator, not message content.
            if k + 1 < starts.count {
                if e > s, bytes[e - 1] == 0x0A { e -= 1 }
                if e > s, bytes[e - 1] == 0x0D { e -= 1 }
            }
            out.append(InputMessage(name: "\(name)#\(k + 1)", bytes: Array(bytes[s..<e])))
        }
        return out
    }
}

/// A progress bar on standard error, shown only when it is a terminal.
struct ProgressBar {
    let total: Int
    let label: String
    let enabled: Bool
    let start = Date()
    var lastDraw = Date.distantPast

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        enabled = isatty(2) == 1 && total > 1
    }

    mutating func update(_ done: Int) {
        guard enabled else { return }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let width = 30
        let frac = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int(frac * Double(width))
        let rate = Double(done) / max(now.timeIntervalSince(start), 1e-6)
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\r\(label) [\(bar)] \(done)/\(total) \(Int(rate)) msg/s"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
