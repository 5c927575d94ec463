/// What an MTA should do with a message of each verdict action. The wire mapping (a milter
/// reply code, a spamd header, an Rspamd action name) lives in the front ends.
public struct ActionPolicy: Sendable, Hashable, Codable {
    /// What happens to a message.
    public enum Disposition: String, Sendable, Hashable, Codable, CaseIterable {
        /// Deliver, with the X-Spam headers added.
        case accept
        /// Deliver, marked as spam (X-Spam-Flag: YES), for the mail client's Junk rules.
        case tag
        /// Hold in the MTA's quarantine (Postfix's hold queue).
        case quarantine
        /// Refuse with a permanent SMTP error: the sender learns it was not delivered.
        case reject
        /// Accept and drop silently. Use with care: a false positive is lost without trace.
        case discard
    }

    /// For messages whose verdict is spam.
    public var spam: Disposition
    /// For messages whose verdict is unsure.
    public var unsure: Disposition
    /// For messages whose verdict is ham.
    public var ham: Disposition
    /// The text of the SMTP rejection (after `550 5.7.1`).
    public var rejectText: String

    public init(spam: Disposition = .reject, unsure: Disposition = .tag, ham: Disposition = .accept,
                rejectText: String = "Message rejected as spam") {
        self.spam = spam
        self.unsure = unsure
        self.ham = ham
        self.rejectText = rejectText
    }

    public static let `default` = ActionPolicy()

    public func disposition(for action: Action) -> Disposition {
        switch action {
        case .spam: spam
        case .unsure: unsure
        case .ham: ham
        }
    }
}

/// The header fields Spamward adds to a scanned message, in the style SpamAssassin made common
/// (so existing Sieve and procmail rules keep working).
public enum VerdictHeaders {
    /// The version string in X-Spam-Status and X-Spam-Checker-Version.
    public static let product = "Spamward 0.1"

    /// Name/value pairs, in the order they should be added.
    public static func fields(for verdict: Verdict, flagged: Bool) -> [(name: String, value: String)] {
        let names = verdict.symbols.map(\.name)
        let tests = names.isEmpty ? "none" : names.joined(separator: ",")
        var out: [(String, String)] = []
        out.append(("X-Spam-Checker-Version", product))
        out.append(("X-Spam-Flag", flagged ? "YES" : "NO"))
        out.append(("X-Spam-Score", format(verdict.score)))
        out.append(("X-Spam-Action", verdict.action.rawValue))
        out.append((
            "X-Spam-Status",
            "\(flagged ? "Yes" : "No"), score=\(format(verdict.score)) required=\(format(verdict.thresholds.spam)) tests=\(tests) version=\(product)"
        ))
        let symbols = verdict.symbols.map { "\($0.name)(\(format($0.score)))" }.joined(separator: ", ")
        out.append(("X-Spam-Symbols", symbols.isEmpty ? "none" : symbols))
        if let ar = verdict.authenticationResults { out.append(("Authentication-Results", ar)) }
        return out
    }

    /// A score with two decimals, as mail headers carry it.
    public static func format(_ x: Double) -> String {
        var bytes: [UInt8] = []
        appendFormatted(x, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ``format(_:)``'s ASCII bytes appended to `bytes`, without making a String (the `/checkv2`
    /// reply writes its header values in place with it).
    public static func appendFormatted(_ x: Double, to bytes: inout [UInt8]) {
        guard x.isFinite else {
            bytes.append(contentsOf: (x > 0 ? "1000.00" : "-1000.00").utf8)
            return
        }
        // A rule file can give any score: beyond 1e15 the cents would overflow `Int`, so the
        // value shown stops there.
        let r = (min(abs(x), 1e15) * 100).rounded()
        let whole = Int(r / 100)
        let frac = Int(r.truncatingRemainder(dividingBy: 100))  // 0...99: r is whole
        if x < 0 && r != 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(whole, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(frac / 10))
        bytes.append(UInt8(ascii: "0") + UInt8(frac % 10))
    }

    /// A non-negative integer's decimal digits (at most 24).
    private static func appendDecimal(_ n: Int, to bytes: inout [UInt8]) {
        guard n >= 10 else {
            bytes.append(UInt8(ascii: "0") + UInt8(n))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 digits
        var count = 0
        var v = n
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }
}

extension VerdictHeaders {
    /// Lowercased names of the fields Spamward writes; copies already in a message (forged by a
    /// sender, or left by an earlier filter) are removed when it rewrites the message.
    public static let ownFieldNames: Set<String> = [
        "x-spam-checker-version", "x-spam-flag", "x-spam-score", "x-spam-action", "x-spam-status", "x-spam-symbols",
        "x-spam-report",
    ]

    /// The message with Spamward's fields at the end of its header block (older copies removed),
    /// in the message's own line-ending style. The body is not touched.
    public static func rewrite(_ message: [UInt8], verdict: Verdict, flagged: Bool) -> [UInt8] {
        let end = headerBlockEnd(message)
        let head = message[..<end]
        let crlf = head.firstIndex(of: 0x0A).map { $0 > 0 && message[$0 - 1] == 0x0D } ?? true
        let newline: [UInt8] = crlf ? [0x0D, 0x0A] : [0x0A]
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 512)
        // Copy header lines, skipping own fields and their continuation lines.
        var i = head.startIndex
        var skipping = false
        while i < head.endIndex {
            let lineEnd = head[i...].firstIndex(of: 0x0A).map { $0 + 1 } ?? head.endIndex
            let line = head[i..<lineEnd]
            let first = line.first ?? 0
            if first == 0x20 || first == 0x09 {
                if !skipping { out += line }
            } else {
                skipping = isOwnField(line)
                if !skipping { out += line }
            }
            i = lineEnd
        }
        if let last = out.last, last != 0x0A, !out.isEmpty { out += newline }
        for f in fields(for: verdict, flagged: flagged) {
            out += Array("\(f.name): \(f.value)".utf8)
            out += newline
        }
        if end < message.count {
            out += message[end...]
        } else {
            out += newline
        }
        return out
    }

    /// Where the header block ends: the index of the empty line that separates it from the body
    /// (or the message's end when there is none).
    static func headerBlockEnd(_ m: [UInt8]) -> Int {
        var i = 0
        var lineStart = 0
        while i < m.count {
            if m[i] == 0x0A {
                let len = i - lineStart
                if len == 0 || (len == 1 && m[lineStart] == 0x0D) { return lineStart }
                lineStart = i + 1
            }
            i += 1
        }
        return m.count
    }

    static func isOwnField(_ line: ArraySlice<UInt8>) -> Bool {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon - line.startIndex <= 40 else { return false }
        var name = ""
        for b in line[line.startIndex..<colon] {
            let lower = (b >= 0x41 && b <= 0x5A) ? b + 0x20 : b
            name.unicodeScalars.append(Unicode.Scalar(lower))
        }
        return ownFieldNames.contains(name.trimmingSuffix(while: { $0 == " " || $0 == "\t" }))
    }

    /// A plain-text report in the layout SpamAssassin's users know (spamc -R, spamd REPORT).
    public static func report(for verdict: Verdict) -> String {
        var out = "Spamward \(verdict.action.rawValue): score \(format(verdict.score)), spam at \(format(verdict.thresholds.spam)), unsure at \(format(verdict.thresholds.unsure))\n\n"
        out += " pts rule name              description\n"
        out += "---- ---------------------- --------------------------------------------------\n"
        for s in verdict.symbols {
            let pts = format(s.score)
            let padPts = String(repeating: " ", count: max(0, 5 - pts.count)) + pts
            let name = s.name + String(repeating: " ", count: max(0, 22 - s.name.count))
            out += "\(padPts) \(name) \(s.description)\n"
            if !s.options.isEmpty {
                out += "      \(String(repeating: " ", count: 22)) [\(s.options.joined(separator: ", "))]\n"
            }
        }
        return out
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var s = Substring(self)
        while let last = s.last, predicate(last) { s = s.dropLast() }
        return String(s)
    }
}
