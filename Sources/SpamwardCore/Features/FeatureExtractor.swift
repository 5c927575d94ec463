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
/// - `rule:` names of the rules that hit (given by the scanner);
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
    /// `ruleNames` are the rules that hit (features `rule:NAME`).
    /// `authenticationResults` are `method=result` tokens (features `auth:spf=pass`).
    /// With `textWordLimit` > 0, the vector also carries the fuzzy fingerprint's ``TextWords``
    /// (at most that many), collected by the same pass over the text; nil when that pass was cut
    /// short by ``FeatureConfiguration/maxTokens`` before it had them all (then
    /// ``textWords(_:limit:)`` reads them).
    public func extract(_ message: Message, keepNames: Bool = false, ruleNames: [String] = [],
                        authenticationResults: [String] = [], textWordLimit: Int = 0) -> FeatureVector {
        extract(message, keepNames: keepNames, ruleNames: ruleNames, authenticationResults: authenticationResults,
                textWordLimit: textWordLimit, ruleHits: [], known: nil)
    }

    /// ``extract(_:keepNames:ruleNames:authenticationResults:textWordLimit:)`` given header values
    /// the rules already made from the same message (`known`): the same vector, without decoding
    /// the Subject or parsing the From fields again. The names of `ruleHits` follow `ruleNames`
    /// (the hits read in place: no array of their names made).
    func extract(_ message: Message, keepNames: Bool = false, ruleNames: [String] = [],
                 authenticationResults: [String] = [], textWordLimit: Int = 0, ruleHits: [RuleHit],
                 known: KnownHeaderValues?) -> FeatureVector {
        var b = Builder(configuration: configuration, hasher: hasher, keepNames: keepNames)
        for r in ruleNames { b.add("rule:", r) }
        ruleHits.withUnsafeBufferPointer { hits in
            for h in hits { b.add("rule:", h.name) }
        }
        for a in authenticationResults { b.add("auth:", a) }
        b.headers(message, known: known)
        b.structure(message)
        b.collectingTextWords(limit: textWordLimit, parts: message.textParts) { $0.body(message) }
        let collected = b.collectedTextWords(parts: message.textParts.count, walkedAll: b.tokenBudget > 0)
        var v = b.finish()
        v.textWords = collected
        return v
    }

    /// The fuzzy fingerprint's words of `parts` (at most `limit`), read alone: the body word pass
    /// of ``extract(_:keepNames:ruleNames:authenticationResults:textWordLimit:)`` without a token
    /// budget, so that the words are those a scan collects.
    public func textWords(_ parts: [TextPart], limit: Int) -> TextWords {
        var b = Builder(configuration: configuration, hasher: hasher, keepNames: false)
        b.tokenBudget = Int.max
        // Room for `limit` words (no bound from the text): a pass read alone is never cut short.
        b.collectingTextWords(limit: limit, parts: parts, bounded: false) { b in
            for k in parts.indices {
                if b.textWordCount >= b.textWordLimit { break }
                b.words(parts[k].text, namespace: "w:", pairs: false, textPart: k)
            }
        }
        return b.collectedTextWords(parts: parts.count, walkedAll: true)
            ?? TextWords(hashes: b.textWords, partsRead: parts.count, seed: configuration.hashSeed, limit: b.textWordLimit)
    }
}

/// Values of the root part's header fields that the rules computed for a message and the
/// feature extractor reads too (``RuleSet/evaluate(_:sharing:)``): each is exactly what the
/// extractor would compute from the same field.
struct KnownHeaderValues {
    /// The first field named `Subject` (ASCII case-insensitive), decoded (`decodedValue`); ""
    /// when there is none.
    var subject: String
    /// `MailAddress.parseList` of the value of each field named `From` (ASCII case-insensitive),
    /// in order.
    var fromLists: [[MailAddress]]
}

/// What `Builder.headers` does with a field, chosen from its lowercased name.
enum HeaderHandler {
    case ignore, subject, from, replyTo, returnPath, otherAddress, messageID, mailer, date, received
    /// Words of the decoded value under `h:NAME:`.
    case words

    /// The handler for a lowercased field name: a switch on the length, then on the bytes.
    /// The names handled are subject, from, to, cc, reply-to, return-path, received,
    /// message-id, x-mailer, user-agent, content-type, list-id, precedence, x-priority,
    /// organization, sender, errors-to, x-msmail-priority, importance, mime-version,
    /// content-transfer-encoding, x-mimeole, list-unsubscribe, x-originating-ip, date and
    /// delivered-to; every other name is ignored.
    static func of(lowered n: UnsafeBufferPointer<UInt8>) -> HeaderHandler {
        func isName(_ literal: StaticString) -> Bool {
            literal.withUTF8Buffer { lit in
                guard lit.count == n.count else { return false }
                var i = 0
                while i < lit.count, lit[i] == n[i] { i &+= 1 }
                return i == lit.count
            }
        }
        switch n.count {
        case 2: return isName("to") || isName("cc") ? .words : .ignore
        case 4: return isName("from") ? .from : isName("date") ? .date : .ignore
        case 6: return isName("sender") ? .otherAddress : .ignore
        case 7: return isName("subject") ? .subject : isName("list-id") ? .words : .ignore
        case 8: return isName("received") ? .received : isName("reply-to") ? .replyTo : isName("x-mailer") ? .mailer : .ignore
        case 9: return isName("errors-to") ? .otherAddress : isName("x-mimeole") ? .mailer : .ignore
        case 10:
            if isName("message-id") { return .messageID }
            if isName("user-agent") { return .mailer }
            return isName("precedence") || isName("x-priority") || isName("importance") ? .words : .ignore
        case 11: return isName("return-path") ? .returnPath : .ignore
        case 12:
            return isName("content-type") || isName("mime-version") || isName("organization")
                || isName("delivered-to") ? .words : .ignore
        case 16: return isName("list-unsubscribe") || isName("x-originating-ip") ? .words : .ignore
        case 17: return isName("x-msmail-priority") ? .words : .ignore
        case 25: return isName("content-transfer-encoding") ? .words : .ignore
        default: return .ignore
        }
    }
}

struct Builder {
    let configuration: FeatureConfiguration
    let hasher: StableHash
    let keepNames: Bool
    let mask: UInt32
    var tokens: [UInt32] = []
    var ngrams: [UInt32] = []
    var names: [UInt32: String] = [:]
    var tokenBudget: Int
    /// The first Subject field, decoded (set by `headers`).
    var subject: String?
    /// The fuzzy fingerprint's text words (``TextWords``): collected from the body words while
    /// fewer than `textWordLimit` (0: not collected).
    var textWordLimit = 0
    var textWords: [UInt64] = []
    /// While ``collectingTextWords(limit:parts:_:)`` runs: the storage of the array that becomes
    /// `textWords` (room for `textWordRoom` words), and how many words are in it.
    var textWordStore: UnsafeMutablePointer<UInt64>? = nil
    var textWordRoom = 0
    var textWordCount = 0
    /// A fingerprint word found no room (the text bound of ``collectingTextWords(limit:parts:bounded:_:)``
    /// was wrong): the words collected are not complete.
    var textWordsCut = false
    /// 1 + the index of the text part in which `textWordLimit` was reached (0: not reached).
    var textWordsFullAt = 0

    init(configuration: FeatureConfiguration, hasher: StableHash, keepNames: Bool) {
        self.configuration = configuration
        self.hasher = hasher
        self.keepNames = keepNames
        self.mask = configuration.slotMask
        self.tokenBudget = configuration.maxTokens
        tokens.reserveCapacity(1024)
        ngrams.reserveCapacity(4096)
    }

    /// Runs `pass` (which reads `parts` with ``words(_:namespace:pairs:textPart:)``), collecting
    /// up to `limit` text words of `parts` into `textWords`. The words are written straight into
    /// the storage of the array they end in (no append, no uniqueness check per word). With
    /// `bounded`, that array has room for the words `parts` can hold (fewer than `limit` for
    /// short texts): a fingerprint word takes at least two bytes of text, and a separator byte
    /// unless a CJK character (a 3-byte word of its own) follows, so a part of L bytes holds at
    /// most (2L + 1) / 5 of them ("ab中ab中…"). Were that wrong, the words would be marked cut
    /// (``collectedTextWords(parts:walkedAll:)`` gives nil, and the fingerprinter reads them
    /// alone, unbounded), never silently dropped.
    mutating func collectingTextWords(limit: Int, parts: [TextPart], bounded: Bool = true, _ pass: (inout Builder) -> Void) {
        textWordLimit = max(0, limit)
        textWordCount = 0
        textWordsCut = false
        guard textWordLimit > 0 else {
            pass(&self)
            return
        }
        var bound = 0
        for p in parts { bound &+= p.text.utf8.count / 5 &* 2 &+ 2 }  // >= (2L + 1) / 5
        let room = bounded ? min(textWordLimit, bound) : textWordLimit
        let words = [UInt64](unsafeUninitializedCapacity: room) { storage, initialized in
            textWordStore = storage.baseAddress
            textWordRoom = min(room, storage.count)
            pass(&self)
            // Words 0..<textWordCount were written (textWordCount <= textWordRoom <= storage.count).
            initialized = textWordCount
            textWordStore = nil
            textWordRoom = 0
        }
        textWords = words
    }

    /// A fingerprint word found the words' room full at `count` words: when that is the limit,
    /// the words are complete (later words are not wanted); else the room's bound from the text
    /// was wrong and the words are marked cut (see ``collectingTextWords(limit:parts:bounded:_:)``).
    /// Out of line: the word loop keeps one compare a word.
    @inline(never)
    mutating func textWordFound(noRoomAt count: Int) {
        if count < textWordLimit { textWordsCut = true }
    }

    /// The text words collected, or nil when they are not complete: neither the limit was
    /// reached nor every text part read to its end (`walkedAll`).
    func collectedTextWords(parts: Int, walkedAll: Bool) -> TextWords? {
        guard textWordLimit > 0, !textWordsCut else { return nil }
        if textWordsFullAt > 0 {
            return TextWords(hashes: textWords, partsRead: textWordsFullAt, seed: hasher.seed, limit: textWordLimit)
        }
        guard walkedAll else { return nil }
        return TextWords(hashes: textWords, partsRead: parts, seed: hasher.seed, limit: textWordLimit)
    }

    mutating func finish() -> FeatureVector {
        var v = FeatureVector()
        v.tokens = SlotSet.unique(tokens)
        v.ngrams = SlotSet.unique(ngrams)
        if keepNames { v.names = names }
        return v
    }

    // MARK: adding features

    @inline(__always) mutating func addToken(hash h: UInt64, name: @autoclosure () -> String) {
        let slot = UInt32(truncatingIfNeeded: h) & mask
        tokens.append(slot)
        if keepNames, names[slot] == nil { names[slot] = name() }
    }

    mutating func add(_ namespace: StaticString, _ value: String) {
        // Native strings (nearly all) are hashed from their contiguous UTF-8, not byte by byte
        // through the view's iterator; the bytes, and so the hash, are the same.
        let start = hasher.start(namespace)
        let h = StableHash.finish(
            value.utf8.withContiguousStorageIfAvailable { StableHash.add(start, bytes: $0) }
                ?? StableHash.add(start, bytes: value.utf8))
        addToken(hash: h, name: "\(namespace)\(value)")
    }

    /// The same feature as `add(namespace, prefix + String(decoding: bytes, as: UTF8.self))`
    /// for valid UTF-8 `bytes`, without building the string (unless names are kept).
    mutating func add(_ namespace: StaticString, _ prefix: StaticString = "", bytes: UnsafeBufferPointer<UInt8>) {
        var h = hasher.start(namespace)
        prefix.withUTF8Buffer { h = StableHash.add(h, bytes: $0) }
        h = StableHash.add(h, bytes: bytes)
        addToken(hash: StableHash.finish(h), name: "\(namespace)\(prefix)" + String(decoding: bytes, as: UTF8.self))
    }

    // MARK: headers

    /// The header features of `m`; `known`: values the rules made already (nil: all computed here).
    mutating func headers(_ m: Message, known: KnownHeaderValues? = nil) {
        var receivedCount = 0
        // How many fields with an ASCII name folding to `from` were read (the index of the next
        // one in `known.fromLists`).
        var asciiFromFields = 0
        for f in m.headers.fields {
            var name = f.name
            // ASCII names (the usual case) are lowercased byte by byte into a small buffer;
            // for those, that is exactly what `lowercased()` gives.
            let done: Bool = name.withUTF8 { raw in
                guard raw.count <= 64, !raw.contains(where: { $0 >= 0x80 }) else { return false }
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: raw.count) { buf in
                    // `buf` has exactly `raw.count` elements, each written before the read below.
                    for i in 0..<raw.count {
                        let b = raw[i]
                        buf[i] = (b &- 65) < 26 ? b | 0x20 : b
                    }
                    header(f, lowered: UnsafeBufferPointer(buf), asciiName: true, known: known, asciiFromFields: &asciiFromFields,
                           receivedCount: &receivedCount)
                    return true
                }
            }
            if !done {
                var lname = f.name.lowercased()
                lname.withUTF8 {
                    header(f, lowered: $0, asciiName: false, known: nil, asciiFromFields: &asciiFromFields,
                           receivedCount: &receivedCount)
                }
            }
        }
        add("nrcv:", String(min(receivedCount, 12)))
    }

    /// The features of one header field whose lowercased name is `lname` (UTF-8 bytes);
    /// `asciiName`: the field's name is ASCII (then `lname` is it folded byte by byte, and the
    /// field is one of those the rules looked up by name: `known` may hold its value);
    /// `asciiFromFields`: how many such fields named From were read before this one.
    mutating func header(_ f: HeaderField, lowered lname: UnsafeBufferPointer<UInt8>, asciiName: Bool,
                         known: KnownHeaderValues?, asciiFromFields: inout Int, receivedCount: inout Int) {
        if configuration.headerNameFeatures { add("hn:", bytes: lname) }
        let handler = HeaderHandler.of(lowered: lname)
        switch handler {
        case .ignore:
            break
        case .received:
            receivedCount += 1
            if receivedCount <= configuration.receivedFields { received(f.value) }
        case .subject:
            // The first Subject field is the one the rules decoded (their lookup folds ASCII
            // names as this one does, and no other name reaches this case).
            let decoded: String
            if subject == nil, asciiName, let known {
                decoded = known.subject
            } else {
                decoded = f.decodedValue
            }
            if subject == nil { subject = decoded }
            words(decoded, namespace: "s:", pairs: false)
        case .from, .replyTo, .returnPath, .otherAddress:
            let addrs: [MailAddress]
            if handler == .from, asciiName {
                // The k-th From field is the k-th the rules parsed.
                if let known, asciiFromFields < known.fromLists.count {
                    addrs = known.fromLists[asciiFromFields]
                } else {
                    addrs = MailAddress.parseList(f.value)
                }
                asciiFromFields += 1
            } else {
                addrs = MailAddress.parseList(f.value)
            }
            let ns: StaticString = handler == .from ? "fd:" : handler == .replyTo ? "rd:" : handler == .returnPath ? "rpd:" : "od:"
            for a in addrs.prefix(5) {
                add(ns, a.domain)
                if handler == .from {
                    add("fl:", a.localPart.lowercased())
                    if let n = a.displayName, !n.isEmpty {
                        add("fn:", "present")
                        words(n, namespace: "fnw:", pairs: false)
                    } else {
                        add("fn:", "absent")
                    }
                }
            }
            if addrs.count > 5 {
                add("nrcpt:", String(decoding: lname, as: UTF8.self) + String(min(addrs.count / 10, 10)))
            }
        case .messageID:
            messageID(f.value)
        case .mailer:
            add("xm:", Self.shape(f.value, keepLetters: true))
            headerWords(f.value, name: lname)
        case .date:
            dateShape(f.value)
        case .words:
            headerWords(f.decodedValue, name: lname)
        }
    }

    /// Words of a header value under `h:NAME:`, `name` being the lowercased field name's bytes.
    mutating func headerWords(_ value: String, name: UnsafeBufferPointer<UInt8>) {
        var start = hasher.start("h:")
        start = StableHash.add(start, bytes: name)
        start = StableHash.add(start, UInt8(ascii: ":"))
        forEachWord(value, maxWords: 40, hashStart: start) { s, wordHash, word, _ in
            let h = StableHash.finish(wordHash)
            s.addToken(hash: h, name: "h:\(String(decoding: name, as: UTF8.self)):\(String(decoding: word, as: UTF8.self))")
        }
    }

    /// Received: the client's IPv4 /24 and /16, the `from` and `by` host domains and the
    /// `with` protocol. One pass over the bytes, splitting at white space and brackets.
    mutating func received(_ value: String) {
        var v = value
        v.withUTF8 { received($0) }
    }

    /// `received` on the UTF-8 bytes of the value (valid UTF-8: it comes from a String).
    mutating func received(_ u: UnsafeBufferPointer<UInt8>) {
        // The first 24 words and 4 dotted quads, in fixed scratch buffers (no allocation).
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: 24) { wordBuffer in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4) { ipBuffer in
                var wordCount = 0  // <= 24 == wordBuffer.count
                var ipCount = 0  // <= 4 == ipBuffer.count
                var i = 0
                let n = u.count
                while i < n, wordCount < 24 {
                    while i < n, Self.isReceivedSeparator(u[i]) { i += 1 }
                    let s = i
                    while i < n, !Self.isReceivedSeparator(u[i]) { i += 1 }
                    if i > s {
                        wordBuffer.initializeElement(at: wordCount, to: s..<i)
                        wordCount += 1
                        // A dotted quad has at least 7 bytes ("1.2.3.4"): shorter words ("by",
                        // "with", "id", "for", "ESMTP") are not looked at.
                        if i - s >= 7, ipCount < 4, let ip = Self.dottedQuad(UnsafeBufferPointer(rebasing: u[s..<i])) {
                            ipBuffer.initializeElement(at: ipCount, to: ip)
                            ipCount += 1
                        }
                    }
                }
                received(u, words: UnsafeBufferPointer(rebasing: wordBuffer[0..<wordCount]),
                         ips: UnsafeBufferPointer(rebasing: ipBuffer[0..<ipCount]))
            }
        }
    }

    /// `received` given the value's first words (ranges into `u`) and dotted quads.
    mutating func received(_ u: UnsafeBufferPointer<UInt8>, words: UnsafeBufferPointer<Range<Int>>, ips: UnsafeBufferPointer<UInt32>) {
        // The prefixes written as decimal text into a small buffer (no string interpolation).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buf in
            for ip in ips where ip >> 24 != 127 && ip >> 24 != 10 {
                var k = 0  // bytes written; at most 3 octets of 3 digits and 2 dots < 16
                Self.writeDecimal(ip >> 24, buf, &k)
                buf[k] = UInt8(ascii: "."); k += 1
                Self.writeDecimal((ip >> 16) & 255, buf, &k)
                let prefix16 = k
                buf[k] = UInt8(ascii: "."); k += 1
                Self.writeDecimal((ip >> 8) & 255, buf, &k)
                add("rip:", bytes: UnsafeBufferPointer(rebasing: buf[0..<k]))
                add("rip16:", bytes: UnsafeBufferPointer(rebasing: buf[0..<prefix16]))
            }
        }
        func equals(_ r: Range<Int>, _ literal: StaticString) -> Bool {
            guard r.count == literal.utf8CodeUnitCount else { return false }
            return literal.withUTF8Buffer { lit in
                var j = 0
                while j < lit.count, u[r.lowerBound + j] == lit[j] { j += 1 }
                return j == lit.count
            }
        }
        var k = 0
        while k + 1 < words.count {
            let w = words[k]
            if equals(w, "from") || equals(w, "by") {
                let host = words[k + 1]
                if u[host].contains(UInt8(ascii: ".")) {
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: host.count) { lower in
                        for (j, c) in u[host].enumerated() { lower[j] = (c &- 65) < 26 ? c | 0x20 : c }
                        let labels = Self.lastLabels(UnsafeBufferPointer(lower), 2)
                        add(w.count == 4 ? "rhf:" : "rhb:", bytes: UnsafeBufferPointer(rebasing: lower[labels]))
                    }
                }
            } else if equals(w, "with") {
                let next = UnsafeBufferPointer(rebasing: u[words[k + 1]])
                if next.allSatisfy({ $0 < 0x80 }) {
                    // ASCII: lowercased() is the ASCII case mapping.
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: next.count) { lower in
                        for (j, c) in next.enumerated() { lower[j] = (c &- 65) < 26 ? c | 0x20 : c }
                        add("rw:", bytes: UnsafeBufferPointer(lower))
                    }
                } else {
                    add("rw:", String(decoding: next, as: UTF8.self).lowercased())
                }
            }
            k += 1
        }
    }

    /// Writes `v` in decimal at `buf[k...]` and advances `k` (at most 10 digits).
    static func writeDecimal(_ v: UInt32, _ buf: UnsafeMutableBufferPointer<UInt8>, _ k: inout Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var x = v
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(truncatingIfNeeded: x % 10) + 48
                x /= 10
                count += 1
            } while x > 0 && count < 10
            while count > 0 {
                count -= 1
                buf[k] = d[count]
                k += 1
            }
        }
    }

    @inline(__always) static func isReceivedSeparator(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: "(") || c == UInt8(ascii: ")")
            || c == UInt8(ascii: "[") || c == UInt8(ascii: "]") || c == UInt8(ascii: ";")
    }

    /// An IPv4 address written as a dotted quad, possibly with surrounding junk like `:` or `,`.
    static func dottedQuad(_ w: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var octets: UInt32 = 0
        var count = 0
        var cur: UInt32 = 0
        var digits = 0
        for c in w {
            if (c &- 48) < 10 {
                cur = cur * 10 + UInt32(c - 48)
                digits += 1
                if digits > 3 || cur > 255 { return nil }
            } else if c == UInt8(ascii: ".") {
                guard digits > 0, count < 3 else { return nil }
                octets = octets << 8 | cur
                count += 1
                cur = 0
                digits = 0
            } else if digits == 0 && count == 0 {
                continue  // leading junk
            } else {
                break
            }
        }
        guard count == 3, digits > 0 else { return nil }
        return octets << 8 | cur
    }

    mutating func messageID(_ value: String) {
        var v = value
        let done = v.withUTF8 { u -> Bool in
            // ASCII without CR: every Character is one byte, so the byte search below finds
            // what the Character search would.
            guard Self.isPlainASCII(u) else { return false }
            var lo = 0
            var hi = u.count
            if let lt = u.firstIndex(of: UInt8(ascii: "<")) { lo = lt + 1 }
            if let gt = u[lo..<hi].firstIndex(of: UInt8(ascii: ">")) { hi = gt }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { out in
                if let at = u[lo..<hi].lastIndex(of: UInt8(ascii: "@")) {
                    let k = Self.shape(UnsafeBufferPointer(rebasing: u[lo..<at]), keepLetters: false, into: out)
                    add("mid:", bytes: UnsafeBufferPointer(rebasing: out[0..<k]))
                    let domain = UnsafeBufferPointer(rebasing: u[(at + 1)..<hi])
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: domain.count) { lower in
                        for (j, c) in domain.enumerated() { lower[j] = (c &- 65) < 26 ? c | 0x20 : c }
                        let labels = Self.lastLabels(UnsafeBufferPointer(lower), 2)
                        add("midd:", bytes: UnsafeBufferPointer(rebasing: lower[labels]))
                    }
                } else {
                    let k = Self.shape(UnsafeBufferPointer(rebasing: u[lo..<hi]), keepLetters: false, into: out)
                    add("mid:", "noat:", bytes: UnsafeBufferPointer(rebasing: out[0..<k]))
                }
            }
            return true
        }
        if !done { messageIDCharacters(value) }
    }

    /// `messageID` on Characters, for values that are not plain ASCII.
    mutating func messageIDCharacters(_ value: String) {
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
        var v = value
        let done = v.withUTF8 { u -> Bool in
            guard Self.isPlainASCII(u) else { return false }
            // The zone (the last space-separated part, at most 8 characters) and the shape.
            var end = u.count
            while end > 0, u[end - 1] == 0x20 { end -= 1 }
            if end > 0 {
                var start = end
                while start > 0, u[start - 1] != 0x20 { start -= 1 }
                add("tz:", bytes: UnsafeBufferPointer(rebasing: u[start..<min(end, start + 8)]))
            }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { out in
                let k = Self.shape(u, keepLetters: false, into: out)
                add("dsh:", bytes: UnsafeBufferPointer(rebasing: out[0..<k]))
            }
            return true
        }
        if !done { dateShapeCharacters(value) }
    }

    /// `dateShape` on Characters, for values that are not plain ASCII.
    mutating func dateShapeCharacters(_ value: String) {
        // The zone and the presence of a day name.
        let parts = value.split(separator: " ")
        if let z = parts.last { add("tz:", String(z.prefix(8))) }
        add("dsh:", Self.shape(value, keepLetters: false))
    }

    /// ASCII without CR: the only multi-scalar Character made of ASCII is CR LF.
    static func isPlainASCII(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in u where c >= 0x80 || c == 0x0D { return false }
        return true
    }

    /// ``shape(_:keepLetters:)`` of bytes, written into `out` (at least 64 bytes); returns the length.
    static func shape(_ input: UnsafeBufferPointer<UInt8>, keepLetters: Bool, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var k = 0
        var last: UInt8 = 0
        for c in input.prefix(64) {
            var m: UInt8
            if c >= 48 && c <= 57 { m = UInt8(ascii: "9") }
            else if (c | 0x20) >= 97 && (c | 0x20) <= 122 { m = keepLetters ? c | 0x20 : UInt8(ascii: "a") }
            else if c >= 0x80 { m = UInt8(ascii: "u") }
            else { m = c }
            if m == last && (m == UInt8(ascii: "9") || (!keepLetters && m == UInt8(ascii: "a"))) { continue }
            out[k] = m  // k < 64: at most one byte per input byte of the 64-byte prefix
            k += 1
            last = m
        }
        return k
    }

    /// ``lastLabels(_:_:)`` of bytes: the range of the last `n` dot-separated labels.
    static func lastLabels(_ u: UnsafeBufferPointer<UInt8>, _ n: Int) -> Range<Int> {
        var end = u.count
        while end > 0, u[end - 1] == UInt8(ascii: ".") { end -= 1 }
        var dots = 0
        var i = end
        while i > 0 {
            let j = i - 1
            if u[j] == UInt8(ascii: ".") {
                dots += 1
                if dots == n { return i..<end }
            }
            i = j
        }
        return 0..<end
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

    /// The last `n` dot-separated labels of a host name (a trailing dot ignored).
    static func lastLabels(_ host: String, _ n: Int) -> String {
        var u = host.utf8[...]
        while u.last == UInt8(ascii: ".") { u = u.dropLast() }
        var dots = 0
        var i = u.endIndex
        while i > u.startIndex {
            let j = u.index(before: i)
            if u[j] == UInt8(ascii: ".") {
                dots += 1
                if dots == n { return String(Substring(u[i...])) }
            }
            i = j
        }
        return String(Substring(u))
    }

    // MARK: structure

    mutating func structure(_ m: Message) {
        for a in m.anomalies { add("an:", a.name) }
        // `st:` is the hash of "DEPTH TYPE/SUBTYPE;" for the first 12 parts, and `ct:` that of each
        // "TYPE/SUBTYPE": hashed piece by piece, the strings are only built when names are kept.
        var structureHash = hasher.start("st:")
        for (i, p) in m.parts.prefix(64).enumerated() {
            let ct = p.contentType
            var h = StableHash.add(hasher.start("ct:"), bytes: ct.type.utf8)
            h = StableHash.add(StableHash.add(h, UInt8(ascii: "/")), bytes: ct.subtype.utf8)
            addToken(hash: StableHash.finish(h), name: "ct:" + ct.mimeType)
            if let cs = ct.charset { add("cs:", cs.lowercased()) }
            if p.transferEncoding != "7bit" { add("cte:", p.transferEncoding) }
            if i < 12 {
                structureHash = StableHash.add(structureHash, bytes: String(p.depth).utf8)
                structureHash = StableHash.add(structureHash, bytes: ct.type.utf8)
                structureHash = StableHash.add(StableHash.add(structureHash, UInt8(ascii: "/")), bytes: ct.subtype.utf8)
                structureHash = StableHash.add(structureHash, UInt8(ascii: ";"))
            }
        }
        addToken(hash: StableHash.finish(structureHash),
                 name: "st:" + m.parts.prefix(12).map { String($0.depth) + $0.contentType.mimeType + ";" }.joined())
        for a in m.attachments.prefix(32) {
            add("att:", a.contentType)
            if let name = a.filename, let dot = name.lastIndex(of: ".") {
                add("atx:", String(name[name.index(after: dot)...].prefix(8)).lowercased())
            }
        }
        add("nurl:", String(Self.log2Bucket(m.urls.count)))
        // The parsed forms the rules made (`Message.parsedURLs`) when they ran first; else each
        // URL parsed here and dropped (a scan without rules keeps nothing).
        let known = m.knownParsedURLs(64)
        for i in 0..<min(m.urls.count, 64) {
            let parsed = known.map { $0[$0.startIndex + i] } ?? ParsedURL.parse(m.urls[i])
            guard let p = parsed else { continue }
            add("uh:", p.host)
            var host = p.host
            host.withUTF8 { u in add("ud:", bytes: UnsafeBufferPointer(rebasing: u[Self.lastLabels(u, 2)])) }
            if p.scheme != "http" && p.scheme != "https" { add("us:", p.scheme) }
            forEachWord(p.path, maxWords: 8, hashStart: hasher.start("up:")) { s, wordHash, word, _ in
                s.addToken(hash: StableHash.finish(wordHash),
                           name: "up:" + String(decoding: word, as: UTF8.self))
            }
        }
        var textBytes = 0
        for t in m.textParts {
            textBytes += t.text.utf8.count
            if let h = t.html {
                // Sorted: dictionary order differs between processes, and feature order decides
                // the summation order of weights (bit-reproducible training).
                for tag in h.tagCounts.keys.sorted() { add("ht:", tag) }  // at most 256 names
                add("himg:", String(Self.log2Bucket(h.imageCount)))
            }
        }
        add("tlen:", String(Self.log2Bucket(textBytes)))
    }

    static func log2Bucket(_ n: Int) -> Int { n <= 0 ? 0 : (Int.bitWidth - n.leadingZeroBitCount) }

    // MARK: body

    mutating func body(_ m: Message) {
        var ngramBudget = configuration.ngramTextBytes
        // The Subject decoded by headers(), as Message.subject would give it (the first one).
        if ngramBudget > 0 { byteNgrams(subject ?? "", budget: &ngramBudget) }
        for (k, t) in m.textParts.enumerated() {
            words(t.text, namespace: "w:", pairs: configuration.wordPairs, textPart: k)
            if ngramBudget > 0 { byteNgrams(t.text, budget: &ngramBudget) }
            if tokenBudget <= 0 { break }
        }
        if configuration.ngramHeaderBytes > 0, let root = m.parts.first {
            var hb = configuration.ngramHeaderBytes
            let buffer = m.buffer(of: root)
            let range = root.headerRange.clamped(to: 0..<buffer.count)
            buffer.withUnsafeBufferPointer { all in
                byteNgrams(UnsafeBufferPointer(rebasing: all[range]), budget: &hb)
            }
        }
    }

    /// Byte 4-grams of lowercased ASCII with runs of white space folded.
    mutating func byteNgrams(_ text: String, budget: inout Int) {
        var t = text
        t.withUTF8 { byteNgrams($0, budget: &budget) }
    }

    mutating func byteNgrams(_ bytes: UnsafeBufferPointer<UInt8>, budget: inout Int) {
        let take = min(bytes.count, max(0, budget))
        guard take > 0 else { return }
        let ns = hasher.start("4g:")
        let mask = self.mask
        // Two tight passes over scratch buffers: first the normalized bytes (lowercased ASCII,
        // runs of white space folded to one space, at most `take` of them), then one slot per
        // 4 consecutive normalized bytes. Invariant: used <= take == scratch sizes.
        let used = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: take) { norm -> Int in
            let used = Self.normalizeNgramBytes(bytes, into: norm, take: take)
            guard used >= 4 else { return used }
            let grams = used - 3
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: grams) { scratch in
                // Fibonacci hashing of the 4 bytes (one multiplication): n-grams are many.
                @inline(__always) func slot(_ g: UInt32) -> UInt32 {
                    UInt32(truncatingIfNeeded: ((UInt64(g) ^ ns) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
                }
                // Five n-grams from each eight-byte load (bytes k..<k+8, the first byte on top:
                // n-gram k + j is bits 32 - 8j ..< 64 - 8j), while k + 8 <= used; then a byte at a time.
                var k = 0
                if let base = norm.baseAddress {
                    let raw = UnsafeRawPointer(base)
                    while k &+ 8 <= used {
                        let be = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: k, as: UInt64.self))
                        scratch[k] = slot(UInt32(truncatingIfNeeded: be >> 32))
                        scratch[k &+ 1] = slot(UInt32(truncatingIfNeeded: be >> 24))
                        scratch[k &+ 2] = slot(UInt32(truncatingIfNeeded: be >> 16))
                        scratch[k &+ 3] = slot(UInt32(truncatingIfNeeded: be >> 8))
                        scratch[k &+ 4] = slot(UInt32(truncatingIfNeeded: be))
                        k &+= 5
                    }
                }
                var g = UInt32(norm[k]) << 16 | UInt32(norm[k &+ 1]) << 8 | UInt32(norm[k &+ 2])
                while k < grams {
                    g = g << 8 | UInt32(norm[k &+ 3])
                    scratch[k] = slot(g)
                    k &+= 1
                }
                ngrams.append(contentsOf: UnsafeBufferPointer(scratch))
                if keepNames {
                    g = UInt32(norm[0]) << 16 | UInt32(norm[1]) << 8 | UInt32(norm[2])
                    for k in 0..<grams {
                        g = g << 8 | UInt32(norm[k &+ 3])
                        nameGram(scratch[k], g)
                    }
                }
            }
            return used
        }
        budget -= used
    }

    /// The byte n-grams' text: `bytes` lowercased (ASCII letters), each white space byte
    /// (``ASCIIClass/isSpace(_:)``) a space, a space after a space (or at the start) dropped;
    /// at most `take` (<= `norm.count`) bytes written to `norm`. Returns how many.
    ///
    /// Eight bytes at a time where that changes nothing: a word of eight bytes with no white
    /// space byte after another (nor first after a space) loses no byte, so it is lowercased and
    /// its white space made spaces with lane masks. Other words go through the byte loop
    /// (``normalizeNgramBytesReference(_:into:take:)``'s, which the tests compare with this).
    static func normalizeNgramBytes(_ bytes: UnsafeBufferPointer<UInt8>, into norm: UnsafeMutableBufferPointer<UInt8>,
                                    take: Int) -> Int {
        let take = min(take, norm.count)
        guard let src = bytes.baseAddress, let dst = norm.baseAddress, take > 0 else { return 0 }
        let raw = UnsafeRawPointer(src)
        let out = UnsafeMutableRawPointer(dst)
        let count = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let highs: UInt64 = 0x8080_8080_8080_8080
        // The high bit of each lane that is 0 in `x`, exactly (no borrow between lanes).
        @inline(__always) func zeroLanes(_ x: UInt64) -> UInt64 { ~(((x & low7) &+ low7) | x) & highs }
        var used = 0
        var lastSpace = true
        var i = 0
        return ASCIIClass.ngramByte.withUnsafeBufferPointer { table -> Int in
            while i < count && used < take {
                if i &+ 8 <= count && used &+ 8 <= take {
                    // Lane k is byte i + k (little-endian order, whatever the machine's).
                    let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    // White space: 0x20, 0x0A, and 0x09 or 0x0D (the bytes b with b | 4 == 0x0D).
                    // `below21`: the lanes below 0x21 (t + 0x5F reaches 0x80 from t = 0x21 on).
                    // The usual case first: every lane below 0x21 is a space.
                    let t = w & low7
                    let below21 = ~((t &+ (0x5F &* ones)) | w) & highs
                    var space = zeroLanes(w ^ (0x20 &* ones))
                    if below21 != space {
                        space |= zeroLanes(w ^ (0x0A &* ones)) | zeroLanes((w | (0x04 &* ones)) ^ (0x0D &* ones))
                    }
                    if space & (space << 8) == 0 && !(lastSpace && space & 0x80 != 0) {
                        // No byte dropped. Upper case: lanes below 0x80 from 'A' (0x41) to 'Z' (0x5A).
                        let upper = (t &+ (0x3F &* ones)) & ~(t &+ (0x25 &* ones)) & ~w & highs
                        let spaceBytes = (space >> 7) &* 0xFF
                        let v = ((w | (upper >> 2)) & ~spaceBytes) | (spaceBytes & (0x20 &* ones))
                        out.storeBytes(of: v.littleEndian, toByteOffset: used, as: UInt64.self)  // used + 8 <= take
                        used &+= 8
                        i &+= 8
                        lastSpace = space >> 63 != 0
                        continue
                    }
                }
                // The byte loop, up to the next eight bytes: a table lookup gives the
                // normalized byte; only white space maps to a space.
                let stop = min(count, i &+ 8)
                while i < stop && used < take {
                    let nb = table[Int(src[i])]
                    i &+= 1
                    let space = nb == 0x20
                    if space && lastSpace { continue }
                    dst[used] = nb
                    used &+= 1
                    lastSpace = space
                }
            }
            return used
        }
    }

    /// ``normalizeNgramBytes(_:into:take:)`` a byte at a time (the reference for the tests).
    static func normalizeNgramBytesReference(_ bytes: UnsafeBufferPointer<UInt8>, into norm: UnsafeMutableBufferPointer<UInt8>,
                                             take: Int) -> Int {
        let take = min(take, norm.count)
        var used = 0
        var lastSpace = true
        var i = 0
        while i < bytes.count && used < take {
            let nb = ASCIIClass.ngramByte[Int(bytes[i])]
            i += 1
            let space = nb == 0x20
            if space && lastSpace { continue }
            norm[used] = nb
            used += 1
            lastSpace = space
        }
        return used
    }

    @inline(never) mutating func nameGram(_ slot: UInt32, _ g: UInt32) {
        guard names[slot] == nil else { return }
        let four = [UInt8(truncatingIfNeeded: g >> 24), UInt8(truncatingIfNeeded: g >> 16),
                    UInt8(truncatingIfNeeded: g >> 8), UInt8(truncatingIfNeeded: g)]
        names[slot] = "4g:\"" + String(decoding: four, as: UTF8.self) + "\""
    }

    /// Tokenizes text into case-folded words and adds them (and adjacent pairs) under `namespace`.
    /// The word features of `text` under `namespace`; with `textPart` >= 0 (the index of the
    /// text part), also the fuzzy fingerprint's words while fewer than `textWordLimit`.
    mutating func words(_ text: String, namespace: StaticString, pairs: Bool, textPart: Int = -1) {
        let start = hasher.start(namespace)
        var previous: UInt64 = 0
        let pairNS = hasher.start("wp:")
        var previousWord: String? = nil
        let collect = textPart >= 0 && textWordCount < textWordLimit && textWordStore != nil
        defer {
            // The part in which the limit was reached (no word is collected past it: the room is
            // at most the limit).
            if collect, textWordCount >= textWordLimit, textWordsFullAt == 0 { textWordsFullAt = textPart + 1 }
        }
        forEachWord(text, maxWords: tokenBudget, hashStart: start, fingerprintWords: collect) { s, wordHash, word, fingerprintWord in
            let h = StableHash.finish(wordHash)
            s.addToken(hash: h, name: "\(namespace)\(String(decoding: word, as: UTF8.self))")
            s.tokenBudget -= 1
            if fingerprintWord {
                // One compare a word: the room is at most the limit, and is 0 unless the words'
                // storage is set (`collectingTextWords`); the limit's part is noted after the pass.
                let count = s.textWordCount
                if count < s.textWordRoom {
                    s.textWordStore.unsafelyUnwrapped[count] = h
                    s.textWordCount = count &+ 1
                } else {
                    s.textWordFound(noRoomAt: count)
                }
            }
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

    /// Calls `body` with each case-folded word of `text` as UTF-8 bytes (at most `maxWords`),
    /// and the word's running ``StableHash`` from `hashStart` (that is,
    /// `StableHash.add(hashStart, bytes: word)`, before `finish`), computed as the word is read.
    /// Words: runs of letters and digits, with `'` `-` `.` `_` `$` `@` `%` kept inside a word;
    /// 2 to 30 bytes; digit runs of more than 4 digits become their length shape; longer words
    /// become `#long` plus their first 12 bytes; CJK characters are single words.
    /// Works on the UTF-8 bytes with a fixed word buffer: no allocation per word. The word state
    /// lives in a local ``WordBuffer`` (not in variables captured by nested functions), so that
    /// it stays in registers.
    @inline(__always)
    ///
    /// With `fingerprintWords`, the body's last argument tells whether the word is one of the
    /// fuzzy fingerprint's (``TextNormalizer``): letters only, 2 to 20 bytes, not inside a URL
    /// (from `://` to the next white space) and, when ASCII and 5 letters or more, not
    /// random-looking; without it, false.
    mutating func forEachWord(_ text: String, maxWords: Int, hashStart: UInt64, fingerprintWords: Bool = false,
                              _ body: (inout Builder, UInt64, UnsafeBufferPointer<UInt8>, Bool) -> Void) {
        guard maxWords > 0 else { return }
        var text = text
        text.withUTF8 { utf8 in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: WordBuffer.capacity) { storage in
                var w = WordBuffer(storage: storage, hashStart: hashStart, judge: fingerprintWords)
                var emitted = 0
                var i = 0
                let n = utf8.count
                while i < n {
                    if emitted >= maxWords { break }
                    let c = utf8[i]
                    if c < 0x80 {
                        i &+= 1
                        switch ASCIIClass.wordClass(c) {
                        case ASCIIClass.letter:
                            w.flushJoiner()
                            w.append(c | 0x20)
                            w.digitsOnly = false
                            // The ASCII letters that follow, in a tight loop with the length and
                            // hash in registers (what the cases above would do byte by byte).
                            // `(d & 0xDF) - 65 < 26` holds for ASCII letters only (for d >= 0x80
                            // it is at least 63). While the word fits the buffer, each letter is
                            // stored and hashed; past the buffer (rare) only hashed.
                            var len = w.len
                            var h = w.hash
                            let fit = len < WordBuffer.capacity ? min(n, i &+ (WordBuffer.capacity &- len)) : i
                            while i < fit {
                                let d = utf8[i]
                                guard ((d & 0xDF) &- 65) < 26 else { break }
                                let lower = d | 0x20
                                w.storage[len] = lower  // len < capacity: at most capacity - len stores
                                h = StableHash.add(h, lower)
                                len &+= 1
                                i &+= 1
                            }
                            if i == fit {
                                while i < n {
                                    let d = utf8[i]
                                    guard ((d & 0xDF) &- 65) < 26 else { break }
                                    h = StableHash.add(h, d | 0x20)
                                    len &+= 1
                                    i &+= 1
                                }
                            }
                            w.len = len
                            w.hash = h
                        case ASCIIClass.digit:
                            w.flushJoiner()
                            w.plain = false
                            w.append(c)
                            var len = w.len
                            var h = w.hash
                            while i < n {
                                let d = utf8[i]
                                guard (d &- 48) < 10 else { break }
                                if len < WordBuffer.capacity { w.storage[len] = d }
                                h = StableHash.add(h, d)
                                len &+= 1
                                i &+= 1
                            }
                            w.len = len
                            w.hash = h
                        case ASCIIClass.joiner where w.len > 0 && w.pendingJoiner == 0:
                            w.pendingJoiner = c
                        default:
                            // `://` starts a URL (its scheme, the word before, is in it too);
                            // white space and control bytes end it (after the word before them).
                            if c == 0x3A, i &+ 1 < n, utf8[i] == 0x2F, utf8[i &+ 1] == 0x2F { w.inURL = true }
                            if c == UInt8(ascii: "$"), w.len == 0 {
                                w.plain = false
                                w.append(c)
                            } else if w.len > 0 {
                                w.emit(&self, &emitted, maxWords: maxWords, body)
                            } else {
                                w.pendingJoiner = 0
                            }
                            if c <= 0x20 { w.inURL = false }
                        }
                        continue
                    }
                    // Decode one scalar (the String is valid UTF-8).
                    var v: UInt32
                    var width: Int
                    if c < 0xE0 {
                        v = UInt32(c & 0x1F); width = 2
                    } else if c < 0xF0 {
                        v = UInt32(c & 0x0F); width = 3
                    } else {
                        v = UInt32(c & 0x07); width = 4
                    }
                    if i + width > n { break }
                    for k in 1..<width { v = v << 6 | UInt32(utf8[i + k] & 0x3F) }
                    let start = i
                    i += width
                    if Self.isCJK(v) {
                        w.emit(&self, &emitted, maxWords: maxWords, body)
                        for k in start..<i { w.append(utf8[k]) }
                        w.emit(&self, &emitted, maxWords: maxWords, body)
                        continue
                    }
                    guard let scalar = Unicode.Scalar(v) else { continue }
                    let props = scalar.properties
                    if props.isAlphabetic || props.numericType != nil {
                        w.flushJoiner()
                        if !props.isAlphabetic { w.plain = false }
                        if props.changesWhenLowercased {
                            for b in props.lowercaseMapping.utf8 { w.append(b) }
                        } else {
                            for k in start..<i { w.append(utf8[k]) }
                        }
                        w.digitsOnly = false
                    } else if w.len > 0 {
                        w.emit(&self, &emitted, maxWords: maxWords, body)
                    }
                }
                w.emit(&self, &emitted, maxWords: maxWords, body)
            }
        }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3040...0x30FF).contains(v) || (0xAC00...0xD7AF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0xF900...0xFAFF).contains(v)
    }
}

enum ASCIIClass {
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    static let other: UInt8 = 0, letter: UInt8 = 1, digit: UInt8 = 2, joiner: UInt8 = 3

    /// The byte n-gram normalization of each byte: white space (``isSpace(_:)``) becomes a space,
    /// ASCII letters are lowercased, every other byte stays. Only white space maps to 0x20.
    static let ngramByte: [UInt8] = (0...255).map { (b: Int) -> UInt8 in
        let c = UInt8(b)
        return isSpace(c) ? 0x20 : (c &- 65) < 26 ? c | 0x20 : c
    }

    /// The class of an ASCII byte for the word tokenizer: letter, digit, a joiner kept inside
    /// words (`'` `-` `.` `_` `@` `%` `$`), or other.
    @inline(__always) static func wordClass(_ c: UInt8) -> UInt8 {
        if (c &- 97) < 26 || (c &- 65) < 26 { return letter }
        if (c &- 48) < 10 { return digit }
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"),
             UInt8(ascii: "%"), UInt8(ascii: "$"):
            return joiner
        default:
            return other
        }
    }
}

/// The word being built by ``Builder/forEachWord(_:maxWords:hashStart:_:)``: bytes in a fixed
/// buffer (a word may be longer than the buffer; only its first `capacity` bytes are kept), and
/// the ``StableHash`` of all its bytes so far.
struct WordBuffer {
    static let capacity = 48
    /// Invariant: `storage.count >= capacity`; only indices `< min(len, capacity)` are read.
    let storage: UnsafeMutableBufferPointer<UInt8>
    var len = 0
    var digitsOnly = true
    /// Letters only so far (ASCII letters and alphabetic non-ASCII characters; no digit or joiner).
    var plain = true
    /// Inside a URL: from `://` to the next white space.
    var inURL = false
    /// Whether words are judged as fuzzy fingerprint words (``TextNormalizer``).
    let judge: Bool
    var pendingJoiner: UInt8 = 0
    /// Where every word's hash starts (the namespace's).
    let hashStart: UInt64
    /// `StableHash.add(hashStart, bytes:)` of every byte appended since the word began. A word
    /// given to the body as it is has at most 30 bytes (longer ones are given shaped), all in
    /// `storage`, so this is then the hash of exactly the bytes given.
    var hash: UInt64

    init(storage: UnsafeMutableBufferPointer<UInt8>, hashStart: UInt64, judge: Bool = false) {
        self.storage = storage
        self.hashStart = hashStart
        self.hash = hashStart
        self.judge = judge
    }

    @inline(__always) mutating func append(_ b: UInt8) {
        if len < Self.capacity { storage[len] = b }
        hash = StableHash.add(hash, b)
        len &+= 1
    }

    @inline(__always) mutating func flushJoiner() {
        if pendingJoiner != 0 {
            plain = false
            append(pendingJoiner)
            pendingJoiner = 0
        }
    }

    /// Passes the word (if it is one) to `body` and starts a new one.
    @inline(__always) mutating func emit(
        _ s: inout Builder, _ emitted: inout Int, maxWords: Int,
        _ body: (inout Builder, UInt64, UnsafeBufferPointer<UInt8>, Bool) -> Void
    ) {
        defer {
            len = 0
            digitsOnly = true
            plain = true
            pendingJoiner = 0
            hash = hashStart
        }
        guard len >= 2 || (len == 1 && storage[0] >= 0x80), emitted < maxWords else { return }
        emitted += 1
        // A fingerprint word: plain, 2 to 20 bytes (all in `storage`), outside a URL, not random.
        // (`storage` is the word pass's temporary allocation of `capacity` bytes: never nil.)
        let fingerprintWord = judge && plain && !inURL && len >= 2 && len <= 20
            && !TextNormalizer.looksRandom(storage.baseAddress.unsafelyUnwrapped, length: len)
        if digitsOnly && len > 4 {
            // "#d" and the length capped at 99 in decimal (5...99: one or two digits).
            let shown = min(len, 99)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4) { shaped in
                // `shaped` has 4 elements; at most indices 0...3 are written, then read.
                shaped[0] = UInt8(ascii: "#")
                shaped[1] = UInt8(ascii: "d")
                var k = 2
                if shown >= 10 {
                    shaped[k] = UInt8(ascii: "0") + UInt8(shown / 10)
                    k += 1
                }
                shaped[k] = UInt8(ascii: "0") + UInt8(shown % 10)
                let word = UnsafeBufferPointer(rebasing: shaped[0..<(k + 1)])
                body(&s, StableHash.add(hashStart, bytes: word), word, false)
            }
        } else if len > 30 {
            // "#long" and the first 12 bytes (len > 30, so storage[0..<12] were all written).
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 17) { shaped in
                // `shaped` has 17 elements: 5 for the prefix, 12 copied from `storage`.
                var k = 0
                for b in "#long".utf8 {
                    shaped[k] = b
                    k += 1
                }
                for j in 0..<12 {
                    shaped[k] = storage[j]
                    k += 1
                }
                let word = UnsafeBufferPointer(rebasing: shaped[0..<k])
                body(&s, StableHash.add(hashStart, bytes: word), word, false)
            }
        } else {
            body(&s, hash, UnsafeBufferPointer(rebasing: storage[0..<len]), fingerprintWord)
        }
    }
}

/// Removes duplicate slot indices, keeping first occurrences in order, with an
/// open-addressing hash set on a scratch buffer (linear time, no sorting).
enum SlotSet {
    static func unique(_ a: [UInt32]) -> [UInt32] {
        let n = a.count
        if n < 2 { return a }
        var capacity = 16
        while capacity < 2 * n { capacity <<= 1 }
        let mask = capacity - 1
        let empty = UInt32.max
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: capacity) { table in
            table.initialize(repeating: empty)
            return [UInt32](unsafeUninitializedCapacity: n) { out, count in
                var k = 0
                a.withUnsafeBufferPointer { src in
                    for x in src {
                        // Slots are already hash values (uniform low bits): no further mixing.
                        var h = Int(truncatingIfNeeded: x) & mask
                        while true {
                            let t = table[h]
                            if t == x { break }
                            if t == empty {
                                table[h] = x
                                out[k] = x
                                k &+= 1  // < n
                                break
                            }
                            h = (h &+ 1) & mask
                        }
                    }
                }
                count = k
            }
        }
    }
}
