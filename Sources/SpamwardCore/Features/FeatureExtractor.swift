import MailMessage

/// Turns a parsed ``Message`` into a ``FeatureVector``.
///
/// Features (each hashed with its namespace, so equal words in different places differ):
/// - `w:` case-folded words of the visible text (Unicode letters and digits; CJK as single
///   characters and character pairs), long digit runs reduced to their shape;
/// - `s:` Subject words; `h:NAME:` words of selected header fields; `hn:` header names present;
/// - `fd:`/`rd:`/`rpd:` From, Reply-To and Return-Path domains; `rip:` Received IPv4 /24s and
///   `rh:` Received host names; `mid:` Message-ID shape and domain; `xm:` mailer;
/// - `ct:`, `cs:`, `cte:`, `st:` content types, charsets, encodings and MIME structure;
///   `att:` attachment extensions and types;
/// - `uh:`, `ud:`, `up:` URL hosts, domains and path words; `ht:` HTML tags; `an:` parser anomalies;
/// - byte 4-grams of the subject and visible text, and adjacent word pairs (`ngrams`).
///
/// Extraction is linear in the message and bounded by ``FeatureConfiguration/maxTokens``.
public struct FeatureExtractor: Sendable {
    public let configuration: FeatureConfiguration
    let hasher: StableHash

    public init(configuration: FeatureConfiguration = .default) {
        self.configuration = configuration
        self.hasher = StableHash(seed: configuration.hashSeed)
    }

    /// Extracts the features of `message`; with `keepNames`, also their readable names.
    public func extract(_ message: Message, keepNames: Bool = false) -> FeatureVector {
        var b = Builder(configuration: configuration, hasher: hasher, keepNames: keepNames)
        b.headers(message)
        b.structure(message)
        b.body(message)
        return b.finish()
    }
}

private let interestingHeaders: Set<String> = [
    "subject", "from", "to", "cc", "reply-to", "return-path", "received", "message-id", "x-mailer",
    "user-agent", "content-type", "list-id", "precedence", "x-priority", "organization", "sender",
    "errors-to", "x-msmail-priority", "importance", "mime-version", "content-transfer-encoding",
    "x-mimeole", "list-unsubscribe", "x-originating-ip", "date", "delivered-to",
]

struct Builder {
    let configuration: FeatureConfiguration
    let hasher: StableHash
    let keepNames: Bool
    let mask: UInt32
    var tokens: [UInt32] = []
    var ngrams: [UInt32] = []
    var names: [UInt32: String] = [:]
    var tokenBudget: Int

    init(configuration: FeatureConfiguration, hasher: StableHash, keepNames: Bool) {
        self.configuration = configuration
        self.hasher = hasher
        self.keepNames = keepNames
        self.mask = configuration.slotMask
        self.tokenBudget = configuration.maxTokens
        tokens.reserveCapacity(1024)
        ngrams.reserveCapacity(4096)
    }

    mutating func finish() -> FeatureVector {
        var v = FeatureVector()
        RadixSort.sort(&tokens, bits: configuration.featureBits)
        RadixSort.sort(&ngrams, bits: configuration.featureBits)
        v.tokens = Self.unique(tokens)
        v.ngrams = Self.unique(ngrams)
        if keepNames { v.names = names }
        return v
    }

    static func unique(_ a: [UInt32]) -> [UInt32] {
        guard var last = a.first else { return [] }
        var out: [UInt32] = [last]
        out.reserveCapacity(a.count)
        for x in a.dropFirst() where x != last {
            out.append(x)
            last = x
        }
        return out
    }

    // MARK: adding features

    @inline(__always) mutating func addToken(hash h: UInt64, name: @autoclosure () -> String) {
        let slot = UInt32(truncatingIfNeeded: h) & mask
        tokens.append(slot)
        if keepNames, names[slot] == nil { names[slot] = name() }
    }

    mutating func add(_ namespace: StaticString, _ value: String) {
        let h = StableHash.finish(StableHash.add(hasher.start(namespace), bytes: value.utf8))
        addToken(hash: h, name: "\(namespace)\(value)")
    }

    // MARK: headers

    mutating func headers(_ m: Message) {
        let headers = m.headers
        var receivedCount = 0
        for f in headers.fields {
            let lname = f.name.lowercased()
            if configuration.headerNameFeatures { add("hn:", lname) }
            if lname == "received" {
                receivedCount += 1
                if receivedCount <= configuration.receivedFields { received(f.value) }
            }
            guard interestingHeaders.contains(lname) else { continue }
            switch lname {
            case "subject":
                words(f.decodedValue, namespace: "s:", pairs: false)
            case "from", "reply-to", "return-path", "sender", "to", "cc", "errors-to", "delivered-to":
                let addrs = MailAddress.parseList(f.value)
                let ns: StaticString = lname == "from" ? "fd:" : lname == "reply-to" ? "rd:" : lname == "return-path" ? "rpd:" : "od:"
                for a in addrs.prefix(5) {
                    add(ns, a.domain)
                    if lname == "from" {
                        add("fl:", a.localPart.lowercased())
                        if let n = a.displayName, !n.isEmpty {
                            add("fn:", "present")
                            words(n, namespace: "fnw:", pairs: false)
                        } else {
                            add("fn:", "absent")
                        }
                    }
                }
                if addrs.count > 5 { add("nrcpt:", lname + String(min(addrs.count / 10, 10))) }
            case "message-id":
                messageID(f.value)
            case "x-mailer", "user-agent", "x-mimeole":
                add("xm:", Self.shape(f.value, keepLetters: true))
                headerWords(f.value, name: lname)
            case "date":
                dateShape(f.value)
            case "received":
                break
            default:
                headerWords(f.decodedValue, name: lname)
            }
        }
        add("nrcv:", String(min(receivedCount, 12)))
    }

    mutating func headerWords(_ value: String, name: String) {
        var start = hasher.start("h:")
        start = StableHash.add(start, bytes: name.utf8)
        start = StableHash.add(start, UInt8(ascii: ":"))
        forEachWord(value, maxWords: 40) { s, hashStart, word in
            _ = hashStart
            let h = StableHash.finish(StableHash.add(start, bytes: word))
            s.addToken(hash: h, name: "h:\(name):\(String(decoding: word, as: UTF8.self))")
        }
    }

    mutating func received(_ value: String) {
        // IPv4 addresses: the /24 and /16 prefixes.
        var octets: [Int] = []
        var cur = -1
        func flush(_ s: inout Builder) {
            if cur >= 0 { octets.append(cur) }
            cur = -1
            if octets.count == 4, octets.allSatisfy({ $0 <= 255 }) {
                s.add("rip:", "\(octets[0]).\(octets[1]).\(octets[2])")
                s.add("rip16:", "\(octets[0]).\(octets[1])")
            }
        }
        for c in value.utf8 {
            if c >= 48 && c <= 57 {
                cur = cur < 0 ? Int(c - 48) : min(cur * 10 + Int(c - 48), 1000)
            } else if c == UInt8(ascii: "."), cur >= 0 {
                octets.append(cur)
                cur = -1
                if octets.count > 4 { octets.removeFirst() }
            } else {
                flush(&self)
                octets.removeAll(keepingCapacity: true)
            }
        }
        flush(&self)
        // Host names after "from" and "by".
        let parts = value.split(separator: " ", maxSplits: 12, omittingEmptySubsequences: true)
        var i = 0
        while i + 1 < parts.count {
            if parts[i] == "from" || parts[i] == "by" {
                let host = parts[i + 1].lowercased().trimmingCharacters(in: "()[];")
                if host.contains(".") { add(parts[i] == "from" ? "rhf:" : "rhb:", Self.lastLabels(host, 2)) }
            } else if parts[i] == "with" {
                add("rw:", parts[i + 1].lowercased())
            }
            i += 1
        }
    }

    mutating func messageID(_ value: String) {
        var v = Substring(value)
        if let lt = v.firstIndex(of: "<") { v = v[v.index(after: lt)...] }
        if let gt = v.firstIndex(of: ">") { v = v[..<gt] }
        if let at = v.lastIndex(of: "@") {
            add("mid:", Self.shape(String(v[..<at]), keepLetters: false))
            add("midd:", Self.lastLabels(String(v[v.index(after: at)...]).lowercased(), 2))
        } else {
            add("mid:", "noat:" + Self.shape(String(v), keepLetters: false))
        }
    }

    mutating func dateShape(_ value: String) {
        // The zone and the presence of a day name.
        let parts = value.split(separator: " ")
        if let z = parts.last { add("tz:", String(z.prefix(8))) }
        add("dsh:", Self.shape(value, keepLetters: false))
    }

    /// Digits become 9, letters a (or kept), runs collapsed: a shape that survives randomization.
    static func shape(_ s: String, keepLetters: Bool) -> String {
        var out: [UInt8] = []
        var last: UInt8 = 0
        for c in s.utf8.prefix(64) {
            var m: UInt8
            if c >= 48 && c <= 57 { m = UInt8(ascii: "9") }
            else if (c | 0x20) >= 97 && (c | 0x20) <= 122 { m = keepLetters ? c | 0x20 : UInt8(ascii: "a") }
            else if c >= 0x80 { m = UInt8(ascii: "u") }
            else { m = c }
            if m == last && (m == UInt8(ascii: "9") || (!keepLetters && m == UInt8(ascii: "a"))) { continue }
            out.append(m)
            last = m
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func lastLabels(_ host: String, _ n: Int) -> String {
        let labels = host.split(separator: ".")
        return labels.suffix(n).joined(separator: ".")
    }

    // MARK: structure

    mutating func structure(_ m: Message) {
        for a in m.anomalies { add("an:", a.name) }
        var structure = ""
        for (i, p) in m.parts.prefix(64).enumerated() {
            add("ct:", p.contentType.mimeType)
            if let cs = p.contentType.charset { add("cs:", cs.lowercased()) }
            if p.transferEncoding != "7bit" { add("cte:", p.transferEncoding) }
            if i < 12 { structure += String(p.depth) + p.contentType.mimeType + ";" }
        }
        add("st:", structure)
        for a in m.attachments.prefix(32) {
            add("att:", a.contentType)
            if let name = a.filename, let dot = name.lastIndex(of: ".") {
                add("atx:", String(name[name.index(after: dot)...].prefix(8)).lowercased())
            }
        }
        add("nurl:", String(Self.log2Bucket(m.urls.count)))
        for u in m.urls.prefix(64) {
            guard let p = ParsedURL.parse(u) else { continue }
            add("uh:", p.host)
            add("ud:", Self.lastLabels(p.host, 2))
            if p.scheme != "http" && p.scheme != "https" { add("us:", p.scheme) }
            forEachWord(p.path, maxWords: 8) { s, _, word in
                s.addToken(hash: StableHash.finish(StableHash.add(s.hasher.start("up:"), bytes: word)),
                           name: "up:" + String(decoding: word, as: UTF8.self))
            }
        }
        var textBytes = 0
        for t in m.textParts {
            textBytes += t.text.utf8.count
            if let h = t.html {
                for (tag, _) in h.tagCounts.prefix(64) { add("ht:", tag) }
                add("himg:", String(Self.log2Bucket(h.imageCount)))
            }
        }
        add("tlen:", String(Self.log2Bucket(textBytes)))
    }

    static func log2Bucket(_ n: Int) -> Int { n <= 0 ? 0 : (Int.bitWidth - n.leadingZeroBitCount) }

    // MARK: body

    mutating func body(_ m: Message) {
        var ngramBudget = configuration.ngramTextBytes
        let subject = m.subject
        if ngramBudget > 0 { byteNgrams(Array(subject.utf8), budget: &ngramBudget) }
        for t in m.textParts {
            words(t.text, namespace: "w:", pairs: configuration.wordPairs)
            if ngramBudget > 0 { byteNgrams(Array(t.text.utf8), budget: &ngramBudget) }
            if tokenBudget <= 0 { break }
        }
        if configuration.ngramHeaderBytes > 0, let root = m.parts.first {
            var hb = configuration.ngramHeaderBytes
            byteNgrams(Array(m.bytes[root.headerRange].prefix(hb)), budget: &hb)
        }
    }

    /// Byte 4-grams of lowercased ASCII with runs of white space folded.
    mutating func byteNgrams(_ bytes: [UInt8], budget: inout Int) {
        var g: UInt32 = 0
        var n = 0
        var lastSpace = true
        let ns = hasher.start("4g:")
        for c in bytes {
            if budget <= 0 { break }
            var b = c
            if ASCIIClass.isSpace(b) {
                if lastSpace { continue }
                b = 0x20
                lastSpace = true
            } else {
                lastSpace = false
                if b >= 65 && b <= 90 { b |= 0x20 }
            }
            budget -= 1
            g = g << 8 | UInt32(b)
            n += 1
            if n >= 4 {
                let slot = UInt32(truncatingIfNeeded: hasher.hash(ns, value: UInt64(g))) & mask
                ngrams.append(slot)
                if keepNames, names[slot] == nil {
                    let four = [UInt8(truncatingIfNeeded: g >> 24), UInt8(truncatingIfNeeded: g >> 16),
                                UInt8(truncatingIfNeeded: g >> 8), UInt8(truncatingIfNeeded: g)]
                    names[slot] = "4g:\"" + String(decoding: four, as: UTF8.self) + "\""
                }
            }
        }
    }

    /// Tokenizes text into case-folded words and adds them (and adjacent pairs) under `namespace`.
    mutating func words(_ text: String, namespace: StaticString, pairs: Bool) {
        let start = hasher.start(namespace)
        var previous: UInt64 = 0
        let pairNS = hasher.start("wp:")
        var previousWord: String? = nil
        forEachWord(text, maxWords: tokenBudget) { s, _, word in
            let h = StableHash.finish(StableHash.add(start, bytes: word))
            s.addToken(hash: h, name: "\(namespace)\(String(decoding: word, as: UTF8.self))")
            s.tokenBudget -= 1
            if pairs {
                if previous != 0 {
                    let slot = UInt32(truncatingIfNeeded: s.hasher.hash(pairNS, value: previous &* 31 &+ h)) & s.mask
                    s.ngrams.append(slot)
                    if s.keepNames, s.names[slot] == nil {
                        s.names[slot] = "wp:\(previousWord ?? "") \(String(decoding: word, as: UTF8.self))"
                    }
                }
                previous = h
                if s.keepNames { previousWord = String(decoding: word, as: UTF8.self) }
            }
        }
    }

    /// Calls `body` with each case-folded word of `text` as UTF-8 bytes (at most `maxWords`).
    /// Words: runs of letters and digits, with `'` `-` `.` `_` `$` `@` `%` kept inside a word;
    /// 2 to 30 bytes; digit runs of more than 4 digits become their length shape; CJK characters
    /// are single words.
    mutating func forEachWord(_ text: String, maxWords: Int, _ body: (inout Builder, UInt64, ArraySlice<UInt8>) -> Void) {
        guard maxWords > 0 else { return }
        var emitted = 0
        var word: [UInt8] = []
        word.reserveCapacity(32)
        var digitsOnly = true
        var pendingJoiner: UInt8 = 0

        func emit(_ s: inout Builder) {
            defer {
                word.removeAll(keepingCapacity: true)
                digitsOnly = true
                pendingJoiner = 0
            }
            guard word.count >= 2 || (word.count >= 1 && word[0] >= 0x80) else { return }
            guard emitted < maxWords else { return }
            emitted += 1
            if digitsOnly && word.count > 4 {
                let shaped = Array("#d".utf8) + Array(String(word.count).utf8)
                body(&s, 0, shaped[...])
            } else if word.count > 30 {
                let shaped = Array("#long".utf8) + Array(word.prefix(12))
                body(&s, 0, shaped[...])
            } else {
                body(&s, 0, word[...])
            }
        }

        for scalar in text.unicodeScalars {
            if emitted >= maxWords { break }
            let v = scalar.value
            if v < 0x80 {
                let c = UInt8(truncatingIfNeeded: v)
                if (c >= 97 && c <= 122) || (c >= 65 && c <= 90) {
                    if pendingJoiner != 0 { word.append(pendingJoiner); pendingJoiner = 0 }
                    word.append(c | 0x20)
                    digitsOnly = false
                } else if c >= 48 && c <= 57 {
                    if pendingJoiner != 0 { word.append(pendingJoiner); pendingJoiner = 0 }
                    word.append(c)
                } else if !word.isEmpty, pendingJoiner == 0,
                          c == UInt8(ascii: "'") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_")
                            || c == UInt8(ascii: "@") || c == UInt8(ascii: "%") || c == UInt8(ascii: "$") {
                    pendingJoiner = c
                } else if c == UInt8(ascii: "$"), word.isEmpty {
                    word.append(c)
                } else {
                    emit(&self)
                }
                continue
            }
            if Self.isCJK(v) {
                emit(&self)
                word.append(contentsOf: Array(String(scalar).utf8))
                emit(&self)
                continue
            }
            let props = scalar.properties
            if props.isAlphabetic || props.numericType != nil {
                if pendingJoiner != 0 { word.append(pendingJoiner); pendingJoiner = 0 }
                if props.changesWhenLowercased {
                    word.append(contentsOf: Array(props.lowercaseMapping.utf8))
                } else {
                    word.append(contentsOf: Array(String(scalar).utf8))
                }
                digitsOnly = false
            } else {
                emit(&self)
            }
        }
        emit(&self)
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3040...0x30FF).contains(v) || (0xAC00...0xD7AF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0xF900...0xFAFF).contains(v)
    }
}

enum ASCIIClass {
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let s = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars[...]
        while let f = scalars.first, s.contains(f) { scalars = scalars.dropFirst() }
        while let l = scalars.last, s.contains(l) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

/// LSD radix sort of slot indices (linear time; `bits` is the number of significant bits).
enum RadixSort {
    static func sort(_ a: inout [UInt32], bits: Int) {
        let n = a.count
        if n < 64 {
            a.sort()
            return
        }
        let digit = 11
        let buckets = 1 << digit
        var tmp = [UInt32](repeating: 0, count: n)
        var counts = [Int](repeating: 0, count: buckets)
        var shift: UInt32 = 0
        while shift < UInt32(bits) {
            for k in 0..<buckets { counts[k] = 0 }
            let mask = UInt32(buckets - 1)
            a.withUnsafeBufferPointer { src in
                tmp.withUnsafeMutableBufferPointer { dst in
                    counts.withUnsafeMutableBufferPointer { c in
                        for x in src { c[Int((x >> shift) & mask)] += 1 }
                        var total = 0
                        for k in 0..<buckets {
                            let v = c[k]
                            c[k] = total
                            total += v
                        }
                        for x in src {
                            let b = Int((x >> shift) & mask)
                            dst[c[b]] = x
                            c[b] += 1
                        }
                    }
                }
            }
            swap(&a, &tmp)
            shift += UInt32(digit)
        }
    }
}
