import CLiteralScan
import MailMessage

/// Checks on the visible text that regular expressions cannot express well: spam words spelled
/// with digits, symbols, separators or look-alike letters, and words mixing scripts.
enum TextChecks {
    /// Words spammers disguise. Compared after undoing the disguise.
    static let spamWords: Set<String> = [
        "viagra", "cialis", "levitra", "xanax", "valium", "vicodin", "tramadol", "phentermine", "pharmacy", "rolex",
        "replica", "casino", "lottery", "mortgage", "penis", "enlargement", "erection", "porn", "sex", "bitcoin",
        "refinance", "loan", "credit", "winner", "prize", "free", "money", "cash", "paypal", "password", "account",
        "verify", "unsubscribe", "pills", "meds", "diet", "weight",
    ]

    /// Look-alike characters and their plain letters (leetspeak, and Cyrillic/Greek homoglyphs).
    static let lookalikes: [Unicode.Scalar: Character] = [
        "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "i", "€": "e",
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ɡ": "g", "ο": "o", "α": "a", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "ρ": "p",
    ]

    static let maxWords = 5_000

    /// Spam words written with look-alikes (`v1agra`, `viаgra` with a Cyrillic а) or with one
    /// separator between every letter (`v.i.a.g.r.a`, `v-i-a-g-r-a`, `v i a g r a`).
    static func obfuscatedWords(_ m: Message) -> [String]? { obfuscatedWords(subjectAndText: m.subject + "\n" + m.text) }

    /// - Parameter text: the subject, a newline and the visible text.
    static func obfuscatedWords(subjectAndText text: String) -> [String]? {
        var copy = text
        return obfuscatedWords(subjectAndText: text, scan: copy.withUTF8 { scanText($0, maxSeparators: maxWords, spacedRunLimit: maxSpacedRuns) })
    }

    /// - Parameter scan: ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)`` of `text` (with ``maxWords``
    ///   and ``maxSpacedRuns``), shared with the mixed-script check.
    static func obfuscatedWords(subjectAndText text: String, scan textScan: TextScan) -> [String]? {
        var copy = text
        return copy.withUTF8 { obfuscatedWords(text: $0, scan: textScan) }
    }

    /// - Parameters:
    ///   - buf: the UTF-8 bytes of the subject, a newline and the visible text.
    ///   - scan: ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)`` of `buf` (with ``maxWords`` and
    ///     ``maxSpacedRuns``), shared with the mixed-script check.
    static func obfuscatedWords(text buf: UnsafeBufferPointer<UInt8>, scan textScan: TextScan) -> [String]? {
        // Most texts have neither (nothing to read, no tables to fetch).
        if textScan.tokens.isEmpty && textScan.spacedRunStarts.isEmpty { return nil }
        var found: [String] = []
        let tables = Self.spelling
        let lookalikes = tables.lookalikes
        // Look-alike spellings: tokens of letters, digits and look-alike symbols.
        var token: [Unicode.Scalar] = []
        // Whether the token has anything but ASCII letters: plain ASCII-letter words (nearly all)
        // cannot be disguised spellings.
        var disguised = false
        func flushToken() {
            defer {
                token.removeAll(keepingCapacity: true)
                disguised = false
            }
            guard disguised, token.count >= 4, token.count <= 20 else { return }
            // The spam words are ASCII letters: each scalar must read as ASCII letters (a
            // look-alike, an ASCII letter, or a letter whose lower case is ASCII, as the Kelvin
            // sign's `k`), and one must be a look-alike. Most tokens (words of other scripts) stop
            // at their first other letter, before any string is made.
            var hasLookalike = false
            for s in token {
                if lookalikes[s] != nil {
                    hasLookalike = true
                } else if s.value < 0x80 {
                    guard (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A else { return }
                } else {
                    let lower = Character(s).lowercased()
                    guard !lower.isEmpty, lower.utf8.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return }
                }
            }
            guard hasLookalike else { return }
            var plain = ""
            var changed = false
            var hasLetter = false
            for s in token {
                if let l = lookalikes[s] {
                    plain.append(l)
                    changed = true
                } else {
                    plain.append(Character(s).lowercased())
                    if s.properties.isAlphabetic { hasLetter = true }
                }
            }
            if changed, hasLetter, spamWords.contains(plain), found.count < 5 {
                found.append(String(String.UnicodeScalarView(token)))
            }
        }
        // The scalar-level tokenizer, for tokens with non-ASCII bytes.
        func scan(_ scalars: String.UnicodeScalarView) {
            for s in scalars {
                let v = s.value
                let isTokenChar: Bool =
                    v < 0x80
                    ? isASCIITokenByte(UInt8(v))
                    : s.properties.isAlphabetic || v == 0x20AC
                if isTokenChar {
                    token.append(s)
                    if v >= 0x80 || (v | 0x20) < 0x61 || (v | 0x20) > 0x7A { disguised = true }
                } else {
                    flushToken()
                }
            }
        }
        // Bytes first: runs of ASCII letters (nearly every word) are skipped without decoding;
        // runs with a digit or symbol are checked as they are, and runs with non-ASCII bytes
        // are decoded and tokenized by scalars.
        tables.asciiPlain.withUnsafeBufferPointer { plainTable in
            let byLength = tables.spamWordsByLength
            for r in textScan.tokens {
                let t = UnsafeBufferPointer(rebasing: buf[r.range])
                if r.nonASCII {
                    // (The scan keeps only the tokens with a look-alike: a token without one, most
                    // words of other languages, spells nothing.)
                    scan(String(decoding: t, as: UTF8.self).unicodeScalars)
                } else {
                    // ASCII: only letters and look-alike symbols can spell a spam word (nearly
                    // every candidate, a number or a price, stops here without a string made).
                    guard asciiSpellsSpamWord(t, plainTable, byLength) else { continue }
                    for b in buf[r.range] { token.append(Unicode.Scalar(b)) }
                    disguised = true
                }
                flushToken()
            }
        }
        // Spaced-out spellings: single letters separated by the same separator. Only the places
        // where the bytes show such a run are examined, each in a window of 256 bytes.
        tables.asciiPlain.withUnsafeBufferPointer { plainTable in
            for start in textScan.spacedRunStarts where found.count < 5 {
                var end = min(buf.count, start + 256)
                while end < buf.count && buf[end] & 0xC0 == 0x80 { end += 1 }
                let bytes = UnsafeBufferPointer(rebasing: buf[start..<end])
                // ASCII windows (nearly all) are read as bytes; others are decoded.
                if !bytes.contains(where: { $0 >= 0x80 }) {
                    spacedWords(inASCII: bytes, atTextEnd: end == buf.count, into: &found, plainTable, tables.spamWordsByLength)
                } else {
                    spacedWords(in: Array(String(decoding: bytes, as: UTF8.self).unicodeScalars), atTextEnd: end == buf.count,
                                into: &found, lookalikes)
                }
            }
        }
        return found.isEmpty ? nil : found
    }

    /// The spaced-out spam words in a window of scalars that starts at a spaced run (single
    /// letters, each followed by the same separator), appended to `found` (each once, at most 5).
    /// The general path, for windows with non-ASCII bytes.
    static func spacedWords(in scalars: [Unicode.Scalar], atTextEnd: Bool, into found: inout [String],
                            _ lookalikes: [Unicode.Scalar: Character]) {
        func plain(_ s: Unicode.Scalar) -> Character? {
            if let l = lookalikes[s], !isLetter(s) || script(s) != .latin { return l }
            if s.value < 0x80 { return isLetter(s) ? Character(Unicode.Scalar(UInt8(s.value) | 0x20)) : nil }
            return s.properties.isAlphabetic ? Character(s).lowercased().first : nil
        }
        // Every window starts at a single character after a separator (or the text start).
        var i = 0
        while i + 2 < scalars.count, found.count < 5 {
            let sep = scalars[i + 1]
            guard isSeparator(sep), isLetter(scalars[i]), i == 0 || !isLetter(scalars[i - 1]), let first = plain(scalars[i])
            else {
                i += 1
                continue
            }
            var letters = String(first)
            var j = i
            // Each letter must stand alone: one followed by a letter starts the next word.
            while j + 2 < scalars.count, scalars[j + 1] == sep, let l = plain(scalars[j + 2]),
                  j + 3 < scalars.count ? !isLetter(scalars[j + 3]) : atTextEnd
            {
                letters.append(l)
                j += 2
                if letters.count > 20 { break }
            }
            let end = j + 1
            // A run cut by the window's end is judged only where the text really ends.
            let complete = end < scalars.count ? !isLetter(scalars[end]) : atTextEnd
            if letters.count >= 4, complete, spamWords.contains(letters),
               !found.contains(String(String.UnicodeScalarView(scalars[i..<end])))
            {
                found.append(String(String.UnicodeScalarView(scalars[i..<end])))
            }
            i = end
        }
    }

    /// ``spacedWords(in:atTextEnd:into:_:)`` of an ASCII window, read as bytes: each byte is its
    /// scalar, ``asciiPlain`` its plain letter, and the letters are compared with the spam words
    /// of their length as bytes. `FastPathTests` compares the two.
    static func spacedWords(inASCII w: UnsafeBufferPointer<UInt8>, atTextEnd: Bool, into found: inout [String],
                            _ plain: UnsafeBufferPointer<UInt8>, _ byLength: [[[UInt8]]]) {
        @inline(__always) func letter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
        let n = w.count
        guard n >= 3, let p = w.baseAddress else { return }
        // The run's plain letters (at most 21 are read: more than 20 is no spam word).
        var letters: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &letters) { buffer in
            // Where a run can start (a letter after a non-letter or the window's start, then a
            // separator), sixteen positions at a time (``runStartLanes(_:_:at:)``): the loop this
            // replaces passed over every other position one at a time; the runs are read from
            // the same places in the same order (a start inside a run already read is skipped,
            // as that loop went on after the run).
            var i = 0
            var block = 0
            while block &+ 2 < n, found.count < 5 {
                var bits = runStartLanes(p, n, at: block)
                block &+= 16
                while bits != 0, found.count < 5 {
                    let start = block &- 16 &+ bits.trailingZeroBitCount
                    bits &= bits &- 1
                    guard start >= i else { continue }
                    i = start
                    let sep = w[i + 1]
                    buffer[0] = plain[Int(w[i])]
                    var count = 1
                    var j = i
                    // Each letter must stand alone: one followed by a letter starts the next word.
                    while j + 2 < n, w[j + 1] == sep, plain[Int(w[j + 2])] != 0, j + 3 < n ? !letter(w[j + 3]) : atTextEnd {
                        buffer[count] = plain[Int(w[j + 2])]
                        count += 1
                        j += 2
                        if count > 20 { break }
                    }
                    let end = j + 1
                    // A run cut by the window's end is judged only where the text really ends.
                    let complete = end < n ? !letter(w[end]) : atTextEnd
                    if count >= 4, complete, count < byLength.count,
                       byLength[count].contains(where: { $0.elementsEqual(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) })
                    {
                        let word = String(decoding: UnsafeBufferPointer(rebasing: w[i..<end]), as: UTF8.self)
                        if !found.contains(word) { found.append(word) }
                    }
                    i = end
                }
            }
        }
    }

    /// The positions `at ..< at + 16` of the `n` bytes at `p` where a spaced run can start (below
    /// `n - 2`): a letter, after a non-letter (or at 0), before `.`, `-`, `_`, `*` or a space; bit
    /// k for `at + k`. Read from a zero-padded copy at the window's ends.
    @inline(__always) static func runStartLanes(_ p: UnsafePointer<UInt8>, _ n: Int, at: Int) -> UInt32 {
        // (`n - 2 - at` >= 1: the caller reads blocks that start below `n - 2`.)
        let valid: UInt32 = n &- 2 &- at >= 16 ? 0xFFFF : (1 << UInt32(n &- 2 &- at)) &- 1
        if at >= 1 && at &+ 17 <= n { return runStartLanes(UnsafeRawPointer(p + at)) & valid }
        var copy = (V16(repeating: 0), V16(repeating: 0))
        return withUnsafeMutableBytes(of: &copy) { raw in
            if at >= 1 { raw[0] = p[at &- 1] }
            (raw.baseAddress! + 1).copyMemory(from: p + at, byteCount: min(n &- at, 17))
            return runStartLanes(UnsafeRawPointer(raw.baseAddress! + 1)) & valid
        }
    }

    /// ``runStartLanes(_:_:at:)`` of the 16 positions at `q` (reading the byte before them and 17 from `q`).
    @inline(__always) static func runStartLanes(_ q: UnsafeRawPointer) -> UInt32 {
        @inline(__always) func letters(_ v: V16) -> V16 { lanes(((v | V16(repeating: 0x20)) &- V16(repeating: 0x61)) .< V16(repeating: 26)) }
        let before = q.loadUnaligned(fromByteOffset: -1, as: V16.self)
        let v0 = q.loadUnaligned(as: V16.self)
        let v1 = q.loadUnaligned(fromByteOffset: 1, as: V16.self)
        let separator = lanes(v1 .== V16(repeating: 0x20)) | lanes(v1 .== V16(repeating: 0x2E)) | lanes(v1 .== V16(repeating: 0x2D))
            | lanes(v1 .== V16(repeating: 0x5F)) | lanes(v1 .== V16(repeating: 0x2A))
        let m = unsafeBitCast(letters(v0) & separator & ~letters(before), to: SIMD2<UInt64>.self) & SIMD2(repeating: 0x8080_8080_8080_8080)
        // One bit a lane: the high bits gathered by a multiplication.
        let low = UInt32(truncatingIfNeeded: (m[0] &* 0x0002_0408_1020_4081) >> 56)
        let high = UInt32(truncatingIfNeeded: (m[1] &* 0x0002_0408_1020_4081) >> 56)
        return low | high << 8
    }

    /// Plain letters of the ASCII look-alikes and letters (lower case), 0 for the other bytes.
    static let asciiPlain: [UInt8] = (0..<128).map { b -> UInt8 in
        let v = UInt8(b)
        if (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A { return v | 0x20 }
        if let l = lookalikes[Unicode.Scalar(v)], let a = l.asciiValue { return a }
        return 0
    }

    /// Spam words as bytes, for the ASCII check.
    static let spamWordBytes: Set<[UInt8]> = Set(spamWords.map { Array($0.utf8) })

    /// Whether an ASCII token of letters, digits and symbols, with its look-alikes read as letters,
    /// is a spam word with at least one look-alike and one letter: what the scalar path would
    /// find for it.
    static func asciiSpellsSpamWord(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        asciiPlain.withUnsafeBufferPointer { asciiSpellsSpamWord(t, $0, spamWordsByLength) }
    }

    /// ``asciiSpellsSpamWord(_:)`` with ``asciiPlain`` and ``spamWordsByLength`` passed in (read
    /// once per text, not once per token).
    @inline(__always) static func asciiSpellsSpamWord(_ t: UnsafeBufferPointer<UInt8>, _ plain: UnsafeBufferPointer<UInt8>,
                                                      _ byLength: [[[UInt8]]]) -> Bool {
        // No spam word of that length (of 4 to 20 bytes: most long tokens, hexadecimal numbers and
        // identifiers, stop here), then whether every byte reads as a letter, with a look-alike
        // and a letter among them (numbers and prices stop here), then the spam words of that
        // length, compared with the plain letters as they are read.
        guard t.count >= 4, t.count <= 20, t.count < byLength.count, !byLength[t.count].isEmpty else { return false }
        var changed = false, hasLetter = false
        for b in t {
            guard b < 0x80, plain[Int(b)] != 0 else { return false }
            if (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A { hasLetter = true } else { changed = true }
        }
        guard changed && hasLetter else { return false }
        for word in byLength[t.count] where word.elementsEqual(t, by: { $0 == plain[Int($1)] }) { return true }
        return false
    }

    /// The tables the obfuscated-word check reads, in one static (one `swift_once` per text
    /// rather than one per table).
    struct SpellingTables: Sendable {
        let lookalikes: [Unicode.Scalar: Character]
        let asciiPlain: [UInt8]
        let spamWordsByLength: [[[UInt8]]]
        let nonASCIILookalikeValues: [UInt32]
        /// Whether ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)`` finds its marks with
        /// AVX2 (`sw_text_marks`).
        let vectorMarks: Bool
    }

    static let spelling = SpellingTables(lookalikes: lookalikes, asciiPlain: asciiPlain, spamWordsByLength: spamWordsByLength,
                                         nonASCIILookalikeValues: nonASCIILookalikeValues,
                                         vectorMarks: sw_teddy_available() != 0)

    /// The scalar values of the non-ASCII ``lookalikes``, in increasing order.
    static let nonASCIILookalikeValues: [UInt32] = lookalikes.keys.map(\.value).filter { $0 >= 0x80 }.sorted()

    /// Whether the UTF-8 bytes `t` hold a look-alike (``lookalikes``: an ASCII one, a byte whose
    /// ``asciiPlain`` is no letter, or a non-ASCII one): a token without one spells no spam word.
    static func hasLookalike(_ t: UnsafeBufferPointer<UInt8>, _ plain: UnsafeBufferPointer<UInt8>,
                             _ values: [UInt32]) -> Bool {
        var i = 0
        let n = t.count
        while i < n {
            let b = t[i]
            if b < 0x80 {
                if plain[Int(b)] != 0 && (b | 0x20) &- 0x61 >= 26 { return true }
                i &+= 1
                continue
            }
            // The scalar's value from its lead byte and continuation bytes (the text is valid UTF-8).
            var v: UInt32
            var length: Int
            if b < 0xE0 {
                v = UInt32(b & 0x1F)
                length = 2
            } else if b < 0xF0 {
                v = UInt32(b & 0x0F)
                length = 3
            } else {
                v = UInt32(b & 0x07)
                length = 4
            }
            var k = 1
            while k < length, i &+ k < n {
                v = v << 6 | UInt32(t[i &+ k] & 0x3F)
                k &+= 1
            }
            for x in values {
                if x == v { return true }
                if x > v { break }
            }
            i &+= length
        }
        return false
    }

    /// ``spamWordBytes`` by length (index: the length in bytes).
    static let spamWordsByLength: [[[UInt8]]] = {
        var out = [[[UInt8]]](repeating: [], count: (spamWordBytes.map(\.count).max() ?? 0) + 1)
        for w in spamWordBytes.sorted(by: { $0.lexicographicallyPrecedes($1) }) { out[w.count].append(w) }
        return out
    }()

    /// What one pass over the text finds: ``candidateTokens(_:maxSeparators:)`` that can spell a
    /// spam word (the non-ASCII ones, and the ASCII ones for which ``asciiSpellsSpamWord(_:)``
    /// holds), ``spacedRunStarts(_:limit:)`` and whether there is a Greek or Cyrillic letter.
    struct TextScan {
        var tokens: [(range: Range<Int>, nonASCII: Bool)] = []
        var spacedRunStarts: [Int] = []
        var hasGreekOrCyrillic = false
    }

    /// Byte classes for ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)``.
    static let classToken: UInt8 = 1, classLetter: UInt8 = 2, classNonASCII: UInt8 = 4, classSeparator: UInt8 = 8,
        classContinuation: UInt8 = 16, classGreekCyrillic: UInt8 = 32, classLookalike: UInt8 = 64
    static let byteClasses: [UInt8] = (0..<256).map { b -> UInt8 in
        let v = UInt8(b)
        var c: UInt8 = 0
        if v >= 0x80 || isASCIITokenByte(v) { c |= classToken }
        if (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A { c |= classLetter }
        if v >= 0x80 { c |= classNonASCII }
        if v == 0x2E || v == 0x2D || v == 0x5F || v == 0x2A || v == 0x20 { c |= classSeparator }
        if v & 0xC0 == 0x80 { c |= classContinuation }
        if v >= 0xCD && v <= 0xD3 { c |= classGreekCyrillic }
        // A byte that can be (the first of) a look-alike: an ASCII one, or the UTF-8 lead byte of
        // a non-ASCII one. A token without such a byte has no look-alike (``hasLookalike(_:_:_:)``).
        if v < 0x80 ? asciiPlain[b] != 0 && c & classLetter == 0 : lookalikeLeadBytes.contains(v) { c |= classLookalike }
        return c
    }

    /// The UTF-8 lead bytes of the non-ASCII look-alikes.
    static let lookalikeLeadBytes: Set<UInt8> = Set(nonASCIILookalikeValues.compactMap {
        Unicode.Scalar($0).flatMap { String($0).utf8.first }
    })

    /// The spaced-run half of ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)``'s state: characters
    /// are counted between separators, and three single characters in a row with the same
    /// separator start a run.
    struct RunScan {
        var run = 0, runStart = 0, charCount = 0, charStart = 0
        var sep: UInt8 = 0
        var done: Bool

        /// The byte `b` of class `c` at `i`.
        @inline(__always) mutating func take(_ b: UInt8, _ c: UInt8, at i: Int, into starts: inout [Int], limit: Int) {
            guard c & classContinuation == 0 else { return }
            if c & classSeparator != 0 {
                if charCount == 1 {
                    if run > 0 && b == sep {
                        run += 1
                    } else {
                        run = 1
                        runStart = charStart
                    }
                    sep = b
                    if run == 3 {
                        starts.append(runStart)
                        if starts.count >= limit { done = true }
                    }
                } else {
                    run = 0
                }
                charCount = 0
            } else {
                if charCount == 0 { charStart = i }
                charCount += 1
            }
        }
    }

    /// ``candidateTokens(_:maxSeparators:)``, ``spacedRunStarts(_:limit:)`` and
    /// ``hasGreekOrCyrillic(_:)`` together, reading only the few places where they can find
    /// something.
    ///
    /// Sixteen bytes at a time (SSE2 lanes and their comparisons), a mask marks the bytes where
    /// something can start (``eventMask(_:)``): a look-alike symbol next to a letter (every ASCII
    /// candidate that can spell a spam word has one), the first byte of a run of non-ASCII bytes
    /// (each non-ASCII token has one, and so has a non-ASCII character alone between separators),
    /// and a byte equal to the bytes two and four after it but not to the next one (every spaced
    /// run of ASCII characters has one: `x.v.i.` at its first separator). Most blocks of mail text
    /// have none and cost under three instructions a byte. At a marked byte, the token around it is
    /// read (back to its start, on to its end; a Greek or Cyrillic lead byte is noted there: it is
    /// in a non-ASCII token); the spaced-run state machine (``RunScan``) is run over the bytes around it, resuming either
    /// where it stopped or, when that is far back, just after the nearest separator that ends a
    /// segment of other than one character (where its state is known: no run, no character). The
    /// machine stops only between runs, so a run is never cut. Exact: `FastPathTests` compares it
    /// with the three separate scans.
    ///
    /// Where AVX2 is available (`vectorMarks` nil: ``SpellingTables/vectorMarks``), the blocks
    /// between the text's first 32 bytes and its last ones are marked by `sw_text_marks` (the
    /// same marks, 32 bytes at a time, as a list of positions); `FastPathTests` compares the two.
    static func scanText(_ buf: UnsafeBufferPointer<UInt8>, maxSeparators: Int, spacedRunLimit: Int,
                         vectorMarks: Bool? = nil) -> TextScan {
        var out = TextScan()
        let n = buf.count
        guard let p = buf.baseAddress, n > 0 else { return out }
        let spelling = Self.spelling
        let vector = (vectorMarks ?? spelling.vectorMarks) && n <= Int(UInt32.max)
        return byteClasses.withUnsafeBufferPointer { tableBuffer in spelling.asciiPlain.withUnsafeBufferPointer { plain in
            var events = EventScan(p: p, n: n, table: tableBuffer.baseAddress!, plain: plain,
                                   spamWordsByLength: spelling.spamWordsByLength,
                                   lookalikeValues: spelling.nonASCIILookalikeValues, maxSeparators: maxSeparators,
                                   spacedRunLimit: spacedRunLimit)
            var done = events.tokensDone && events.runsDone
            // The first 32 bytes (the first block's byte before it is not in the text).
            var i = min(n, 32)
            if !done { done = Self.paddedBlocks(p, n, at: 0, count: i, &events, &out) }
            if vector {
                // The marks of the blocks from 32 on (while a block and the 4 bytes after it are
                // in the text), up to 64 at a time.
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { marks in
                    let m = marks.baseAddress.unsafelyUnwrapped
                    while i &+ 36 <= n, !done {
                        var resume = 0
                        let count = sw_text_marks(p, n, i, m, 64, &resume)
                        i = resume
                        if count > 0 { done = events.visit(m, count: count, &out) }
                    }
                }
            }
            // Two blocks a step (the loop's overhead and the test over 32 bytes).
            while i &+ 36 <= n, !done {
                let q = UnsafeRawPointer(p + i)
                let m = Self.eventMask(q)
                let m2 = Self.eventMask(q + 16)
                if m[0] | m[1] | m2[0] | m2[1] != 0 {
                    if m[0] | m[1] != 0 {
                        events.visit(m[0], m[1], at: i, &out)
                        done = events.tokensDone && events.runsDone
                    }
                    if !done && m2[0] | m2[1] != 0 {
                        events.visit(m2[0], m2[1], at: i &+ 16, &out)
                        done = events.tokensDone && events.runsDone
                    }
                }
                i &+= 32
            }
            // The last bytes (fewer than 36), through the same padded copy as the first (one copy
            // of the block step's code for both ends: a one-block loop of its own, run at most
            // once a text, was code fetched for every message).
            while i < n, !done {
                let count = min(n &- i, 32)
                done = Self.paddedBlocks(p, n, at: i, count: count, &events, &out)
                i &+= count
            }
            // A Greek or Cyrillic lead byte (0xCD...0xD3) is in a token with a non-ASCII byte; every
            // such token is read (``EventScan/token(around:_:)`` notes the lead) until the tokens
            // are done, and the bytes after the last one read are searched here.
            if events.tokensDone && !out.hasGreekOrCyrillic {
                out.hasGreekOrCyrillic = Self.hasGreekOrCyrillicLead(p + events.tokenNext, n &- events.tokenNext)
            }
            return out
        } }
    }

    /// ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)``'s first or last bytes: up to 32 bytes from
    /// `i`, read from a copy (the byte before them, or 0 at the text's start: no letter; then up to
    /// 36 bytes of the text; then zeros, which mark nothing and are no letters). Lanes past
    /// `i + count` mark nothing. Returns whether both scans are done. Out of line: one copy of its
    /// code serves both ends of the text.
    @inline(never) static func paddedBlocks(_ p: UnsafePointer<UInt8>, _ n: Int, at i: Int, count: Int, _ events: inout EventScan,
                             _ out: inout TextScan) -> Bool {
        var copy = (V16(repeating: 0), V16(repeating: 0), V16(repeating: 0))
        return withUnsafeMutableBytes(of: &copy) { raw in
            let q = raw.baseAddress! + 1
            if i > 0 { raw[0] = p[i &- 1] }
            q.copyMemory(from: p + i, byteCount: min(n &- i, 36))
            @inline(__always) func valid(_ count: Int) -> SIMD2<UInt64> {
                SIMD2(count >= 8 ? ~0 : (1 << UInt64(count &* 8)) &- 1,
                      count >= 16 ? ~0 : count <= 8 ? 0 : (1 << UInt64((count &- 8) &* 8)) &- 1)
            }
            let m = eventMask(UnsafeRawPointer(q)) & valid(count)
            events.visit(m[0], m[1], at: i, &out)
            if count > 16, !(events.tokensDone && events.runsDone) {
                let m2 = eventMask(UnsafeRawPointer(q + 16)) & valid(count &- 16)
                events.visit(m2[0], m2[1], at: i &+ 16, &out)
            }
            return events.tokensDone && events.runsDone
        }
    }

    typealias V16 = SIMD16<UInt8>

    /// Whether one of the `n` bytes at `p` is 0xCD...0xD3 (a Greek or Cyrillic lead byte), sixteen
    /// at a time.
    static func hasGreekOrCyrillicLead(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i &+ 16 <= n {
            let t = UnsafeRawPointer(p + i).loadUnaligned(as: V16.self) &- V16(repeating: 0xCD)
            let m = unsafeBitCast(lanes(t .< V16(repeating: 0xD3 - 0xCD + 1)), to: SIMD2<UInt64>.self)
            if m[0] | m[1] != 0 { return true }
            i &+= 16
        }
        while i < n {
            if p[i] &- 0xCD <= 0xD3 - 0xCD { return true }
            i &+= 1
        }
        return false
    }

    /// The lanes of a comparison as bytes: 0xFF where it holds, 0 elsewhere. Lane comparisons
    /// of `SIMD16<UInt8>` compile to SSE2's `pcmpeqb`, and unsigned `<` to `pminub` and `pcmpeqb`
    /// (the result's lanes are all ones or all zeros); combined as bytes with `&`, `|`, `~`.
    @inline(__always) static func lanes(_ m: SIMDMask<SIMD16<Int8>>) -> V16 { unsafeBitCast(m, to: V16.self) }

    /// For the 16 bytes at `q` (reading the byte before them and 20 from `q`): the high bit of each
    /// lane set where ``scanText`` must look.
    ///
    /// - A look-alike symbol (`0`-`7`, `@`, `$`, `!`, `|`) next to a byte of 0x41 or above (every
    ///   ASCII letter, and a few other bytes, non-ASCII ones too): an ASCII token can spell a spam
    ///   word only when all its bytes are letters or look-alikes, with at least one of each, so it
    ///   has a look-alike next to a letter. (`2` and `6` are marked too, and rejected where the
    ///   token is read.) Numbers, prices and dates are not marked.
    /// - A non-ASCII byte after an ASCII one (or the text's start): the first of each run of
    ///   non-ASCII bytes. Non-ASCII tokens are all candidates, and a run of non-ASCII bytes lies in
    ///   one token (they are all token bytes); a non-ASCII character alone between separators (one
    ///   of a spaced run) starts such a run. The bytes after the first are never looked at.
    /// - A byte equal to the bytes two and four on but not to the next one: every spaced run of
    ///   ASCII characters has one (`x.v.i.` at its first separator).
    @inline(__always) static func eventMask(_ q: UnsafeRawPointer) -> SIMD2<UInt64> {
        let before = q.loadUnaligned(fromByteOffset: -1, as: V16.self)
        let v0 = q.loadUnaligned(as: V16.self)
        let v1 = q.loadUnaligned(fromByteOffset: 1, as: V16.self)
        let v2 = q.loadUnaligned(fromByteOffset: 2, as: V16.self)
        let v4 = q.loadUnaligned(fromByteOffset: 4, as: V16.self)
        let lookalike = lanes((v0 & V16(repeating: 0xF8)) .== V16(repeating: 0x30)) | lanes(v0 .== V16(repeating: 0x40))
            | lanes(v0 .== V16(repeating: 0x24)) | lanes(v0 .== V16(repeating: 0x21)) | lanes(v0 .== V16(repeating: 0x7C))
        // (`before | v1` is 0x41 or above when either is, and when one is `@` and the other has
        // low bits: a few more marks. `pointwiseMax` was not inlined.)
        let nextToLetter = lanes((before | v1) .>= V16(repeating: 0x41))
        // Equal to the bytes two and four on, not to the next one.
        let run = lanes(v0 .== v2) & lanes(v0 .== v4) & ~lanes(v0 .== v1)
        // The high bit of `v0` and not of `before`: the first byte of a run of non-ASCII bytes.
        return unsafeBitCast((lookalike & nextToLetter) | run | (v0 & ~before), to: SIMD2<UInt64>.self)
            & SIMD2(repeating: 0x8080_8080_8080_8080)
    }

    /// The bytes that are no token byte (``separatorLanes(_:)``) in `blocks` blocks of 16 at `p`.
    static func nonTokenBytes(_ p: UnsafePointer<UInt8>, blocks: Int) -> Int {
        var total = 0
        var q = UnsafeRawPointer(p)
        var left = blocks
        while left > 0 {
            let step = min(left, 255)
            total &+= nonTokenBytes(q, upTo255Blocks: step)
            q += step &* 16
            left &-= step
        }
        return total
    }

    /// ``nonTokenBytes(_:blocks:)`` of at most 255 blocks, sixteen bytes at a time: each lane
    /// counts them (a comparison's lane is 0xFF, so subtracting it adds one), then the lanes are
    /// added up (in pairs to 16 bits, then by a multiplication). A function of its own: inlined
    /// into a loop over the chunks of 255 blocks, its loop kept its constants in a rotating chain of
    /// register copies (48 instructions a block instead of 31).
    @inline(never) static func nonTokenBytes(_ p: UnsafeRawPointer, upTo255Blocks blocks: Int) -> Int {
        var counts = V16(repeating: 0)
        var q = p
        for _ in 0..<blocks {
            counts &-= separatorLanes(q.loadUnaligned(as: V16.self))
            q += 16
        }
        let h = unsafeBitCast(counts, to: SIMD2<UInt64>.self)
        let pairs = (h & SIMD2(repeating: 0x00FF_00FF_00FF_00FF)) &+ ((h &>> 8) & SIMD2(repeating: 0x00FF_00FF_00FF_00FF))
        return Int(((pairs[0] &+ pairs[1]) &* 0x0001_0001_0001_0001) &>> 48)
    }

    /// 0xFF in each lane that is no token byte (ASCII, and not ``isASCIITokenByte(_:)``), 0 in the
    /// others. (Written as ASCII and no letter, digit or symbol: with the non-ASCII lanes or-ed
    /// into the token lanes instead, LLVM made a longer loop of it.)
    @inline(__always) static func separatorLanes(_ v: V16) -> V16 {
        let letter = lanes(((v | V16(repeating: 0x20)) &- V16(repeating: 0x61)) .< V16(repeating: 26))
        let digit = lanes((v &- V16(repeating: 0x30)) .< V16(repeating: 10))
        let symbol = lanes(v .== V16(repeating: 0x40)) | lanes(v .== V16(repeating: 0x24)) | lanes(v .== V16(repeating: 0x21))
            | lanes(v .== V16(repeating: 0x7C))
        return lanes(v .< V16(repeating: 0x80)) & ~(letter | digit | symbol)
    }

    /// The state of ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)`` between marked bytes.
    struct EventScan {
        let p: UnsafePointer<UInt8>
        let n: Int
        let table: UnsafePointer<UInt8>
        /// ``asciiPlain`` and ``spamWordsByLength``, for the ASCII tokens.
        let plain: UnsafeBufferPointer<UInt8>
        let spamWordsByLength: [[[UInt8]]]
        /// ``nonASCIILookalikeValues``, for the non-ASCII tokens.
        let lookalikeValues: [UInt32]
        let maxSeparators: Int
        let spacedRunLimit: Int
        /// Tokens: those ending before `tokenNext` are read; non-token bytes before `counted` are
        /// `separators` (counted only for texts longer than `maxSeparators`).
        var tokenNext = 0
        var counted = 0
        var separators = 0
        var tokensDone = false
        /// Spaced runs: the machine has read the bytes before `machineAt`.
        var machine: RunScan
        var machineAt = 0
        var runsDone: Bool

        init(p: UnsafePointer<UInt8>, n: Int, table: UnsafePointer<UInt8>, plain: UnsafeBufferPointer<UInt8>,
             spamWordsByLength: [[[UInt8]]], lookalikeValues: [UInt32], maxSeparators: Int, spacedRunLimit: Int) {
            self.p = p
            self.n = n
            self.table = table
            self.plain = plain
            self.spamWordsByLength = spamWordsByLength
            self.lookalikeValues = lookalikeValues
            self.maxSeparators = maxSeparators
            self.spacedRunLimit = spacedRunLimit
            self.machine = RunScan(done: spacedRunLimit <= 0)
            self.runsDone = spacedRunLimit <= 0
        }

        /// The marked lanes of the block at `i` (the high bit of each byte of `low`, then of `high`), in order.
        @inline(never) mutating func visit(_ low: UInt64, _ high: UInt64, at i: Int, _ out: inout TextScan) {
            var bits = low
            while bits != 0 {
                at(i &+ (bits.trailingZeroBitCount >> 3), &out)
                bits &= bits &- 1
            }
            bits = high
            while bits != 0 {
                at(i &+ 8 &+ (bits.trailingZeroBitCount >> 3), &out)
                bits &= bits &- 1
            }
        }

        /// The marked bytes at the `count` positions of `marks`, in order; whether both scans are done.
        @inline(never) mutating func visit(_ marks: UnsafePointer<UInt32>, count: Int, _ out: inout TextScan) -> Bool {
            for k in 0..<count {
                at(Int(marks[k]), &out)
                if tokensDone && runsDone { return true }
            }
            return false
        }

        /// A marked byte at `f`.
        @inline(__always) mutating func at(_ f: Int, _ out: inout TextScan) {
            let b = p[f]
            if !tokensDone, f >= tokenNext, table[Int(b)] & (classToken | classLetter) == classToken {
                token(around: f, &out)
            }
            if !runsDone, f >= machineAt,
               b >= 0x80 ? aloneCharacter(at: f)
                   : table[Int(b)] & classSeparator != 0 && f &+ 4 < n && p[f &+ 2] == b && p[f &+ 4] == b && p[f &+ 1] != b
            {
                runs(near: f, &out)
            }
        }

        /// Whether the non-ASCII byte at `f` starts a character that is alone between separators
        /// (or the text's start) as ``RunScan`` counts characters (continuation bytes skipped): only
        /// such a character can be one of a spaced run's, and each run with a non-ASCII character has
        /// one. (Most non-ASCII bytes are inside words of other languages.)
        @inline(__always) func aloneCharacter(at f: Int) -> Bool {
            guard p[f] & 0xC0 != 0x80 else { return false }
            var j = f &- 1
            while j >= 0, p[j] & 0xC0 == 0x80 { j &-= 1 }
            guard j < 0 || table[Int(p[j])] & classSeparator != 0 else { return false }
            var e = f &+ 1
            while e < n, p[e] & 0xC0 == 0x80 { e &+= 1 }
            return e < n && table[Int(p[e])] & classSeparator != 0
        }

        /// The token around the token byte `f` (no ASCII letter): kept when it is a candidate.
        mutating func token(around f: Int, _ out: inout TextScan) {
            // The classes of the token's bytes, or-ed.
            var classes = table[Int(p[f])]
            var s = f
            while s > 0 {
                let c = table[Int(p[s &- 1])]
                if c & classToken == 0 { break }
                classes |= c
                s &-= 1
            }
            var e = f &+ 1
            while e < n {
                let c = table[Int(p[e])]
                if c & classToken == 0 { break }
                classes |= c
                e &+= 1
            }
            let nonASCII = classes & classNonASCII != 0
            if classes & classGreekCyrillic != 0 { out.hasGreekOrCyrillic = true }
            tokenNext = e
            // Kept while at most `maxSeparators` non-token bytes come before it.
            if n > maxSeparators && s > maxSeparators {
                // Sixteen bytes at a time, then byte by byte.
                if counted &+ 16 <= s {
                    let blocks = (s &- counted) &>> 4
                    separators &+= TextChecks.nonTokenBytes(p + counted, blocks: blocks)
                    counted &+= blocks &* 16
                }
                while counted < s {
                    if table[Int(p[counted])] & classToken == 0 { separators &+= 1 }
                    counted &+= 1
                }
                if separators > maxSeparators {
                    tokensDone = true
                    return
                }
            }
            // An ASCII token is kept only when its look-alikes and letters spell a spam word (most
            // candidates are numbers and prices); a non-ASCII one only when it has a look-alike
            // (most are words of other languages, nearly all without a look-alike's byte).
            let t = UnsafeBufferPointer(start: p + s, count: e &- s)
            if nonASCII {
                guard classes & classLookalike != 0, TextChecks.hasLookalike(t, plain, lookalikeValues) else { return }
                out.tokens.append((s..<e, true))
            } else if TextChecks.asciiSpellsSpamWord(t, plain, spamWordsByLength) {
                out.tokens.append((s..<e, false))
            }
        }

        /// Runs the spaced-run machine over the bytes around `f`, which may be part of a run.
        mutating func runs(near f: Int, _ out: inout TextScan) {
            if f &- machineAt > 16 {
                // Resume after the nearest separator before `f` that ends a segment of 0 or 2+
                // characters (no run goes on across it), if there is one after `machineAt`.
                var j = f &- 1
                while j >= machineAt {
                    guard table[Int(p[j])] & classSeparator != 0 else {
                        j &-= 1
                        continue
                    }
                    var k = j &- 1
                    var chars = 0
                    while k >= 0, table[Int(p[k])] & classSeparator == 0 {
                        if p[k] & 0xC0 != 0x80 {
                            chars &+= 1
                            if chars > 1 { break }
                        }
                        k &-= 1
                    }
                    if chars != 1 {
                        machine.run = 0
                        machine.charCount = 0
                        machineAt = j &+ 1
                        break
                    }
                    j = k
                }
            }
            // Every run with a byte marked at `f` ends its third character within 11 bytes.
            let target = min(n, f &+ 12)
            var i = machineAt
            while i < n {
                if i >= target && machine.run == 0 { break }
                let b = p[i]
                machine.take(b, table[Int(b)], at: i, into: &out.spacedRunStarts, limit: spacedRunLimit)
                i &+= 1
                if machine.done {
                    runsDone = true
                    break
                }
            }
            machineAt = i
        }
    }

    /// ASCII letters, digits and the symbols that stand in for letters (`@`, `$`, `!`, `|`).
    @inline(__always) static func isASCIITokenByte(_ b: UInt8) -> Bool {
        ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x40 || b == 0x24 || b == 0x21 || b == 0x7C
    }

    /// A letter of any script, with a fast path for ASCII.
    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x80 ? (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A : s.properties.isAlphabetic
    }

    /// The separators of spaced-out spellings: `.`, `-`, `_`, `*` and space.
    @inline(__always) static func isSeparator(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x2E, 0x2D, 0x5F, 0x2A, 0x20: return true
        default: return false
        }
    }

    /// The runs of token bytes (ASCII letters, digits, `@$!|`, any non-ASCII byte) that could be a
    /// disguised word: those with non-ASCII bytes, and ASCII ones of 4 to 20 bytes with a digit or
    /// symbol. Runs of ASCII letters alone (nearly every word) are skipped. Stops after
    /// `maxSeparators` separators. A tight loop over local state (no captured variables).
    static func candidateTokens(_ buf: UnsafeBufferPointer<UInt8>, maxSeparators: Int) -> [(range: Range<Int>, nonASCII: Bool)] {
        var out: [(range: Range<Int>, nonASCII: Bool)] = []
        var start = -1
        var nonASCII = false
        var nonLetter = false
        var separators = 0
        var i = 0
        let n = buf.count
        while i <= n {
            let b: UInt8 = i < n ? buf[i] : 0x20
            if b >= 0x80 || isASCIITokenByte(b) {
                if start < 0 { start = i }
                if b >= 0x80 {
                    nonASCII = true
                } else if (b | 0x20) &- 0x61 >= 26 {
                    nonLetter = true
                }
            } else {
                if start >= 0 {
                    let length = i - start
                    if nonASCII || (nonLetter && length >= 4 && length <= 20) { out.append((start..<i, nonASCII)) }
                    start = -1
                    nonASCII = false
                    nonLetter = false
                }
                separators += 1
                if separators > maxSeparators { break }
            }
            i += 1
        }
        return out
    }

    /// Places examined for spaced-out spellings per message.
    static let maxSpacedRuns = 1_000

    /// Byte offsets where three or more single characters in a row, each followed by the same
    /// separator (`v.i.a.`), begin: every spaced-out word of four or more letters has such a run
    /// (and `e.g.` has not). At most `limit` offsets.
    static func spacedRunStarts(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> [Int] {
        var starts: [Int] = []
        var run = 0  // single characters in a row, each followed by `sep`
        var runStart = 0
        var sep: UInt8 = 0
        var charCount = 0  // characters since the last separator
        var charStart = 0  // where the last character began
        for (i, b) in bytes.enumerated() {
            if b & 0xC0 == 0x80 { continue }  // UTF-8 continuation byte: same character
            if b == 0x2E || b == 0x2D || b == 0x5F || b == 0x2A || b == 0x20 {
                if charCount == 1 {
                    if run > 0 && b == sep {
                        run += 1
                    } else {
                        run = 1
                        runStart = charStart
                    }
                    sep = b
                    if run == 3 {
                        starts.append(runStart)
                        if starts.count >= limit { return starts }
                    }
                } else {
                    run = 0
                }
                charCount = 0
            } else {
                if charCount == 0 { charStart = i }
                charCount += 1
            }
        }
        return starts
    }

    enum Script { case latin, cyrillic, greek, other }

    static func script(_ s: Unicode.Scalar) -> Script {
        switch s.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F: return .latin
        case 0x400...0x4FF: return .cyrillic
        case 0x370...0x3FF: return .greek
        default: return .other
        }
    }

    /// Whether `word` has letters of Latin and of Cyrillic or Greek.
    static func isMixedScript(_ word: some Sequence<Unicode.Scalar>) -> Bool {
        var latin = false
        var other = false
        for s in word {
            switch script(s) {
            case .latin: latin = true
            case .cyrillic, .greek: other = true
            case .other: break
            }
        }
        return latin && other
    }

    /// Whether UTF-8 text has a Greek or Cyrillic letter (lead bytes 0xCD...0xD3): the fast exit.
    static func hasGreekOrCyrillic(_ text: String) -> Bool {
        text.utf8.contains { $0 >= 0xCD && $0 <= 0xD3 }
    }

    static func mixedScriptWords(_ m: Message) -> [String]? { mixedScriptWords(subjectAndText: m.subject + "\n" + m.text) }

    static func mixedScriptWords(subjectAndText text: String) -> [String]? {
        mixedScriptWords(subjectAndText: text, hasGreekOrCyrillic: hasGreekOrCyrillic(text))
    }

    /// - Parameter hasGreekOrCyrillic: ``hasGreekOrCyrillic(_:)`` of `text` (from ``scanText(_:maxSeparators:spacedRunLimit:vectorMarks:)``).
    static func mixedScriptWords(subjectAndText text: String, hasGreekOrCyrillic: Bool) -> [String]? {
        guard hasGreekOrCyrillic else { return nil }
        var found: [String] = []
        var word = String.UnicodeScalarView()
        var words = 0
        func flush() {
            if word.count >= 3, isMixedScript(word), found.count < 5 { found.append(String(word)) }
            word = String.UnicodeScalarView()
            words += 1
        }
        for s in text.unicodeScalars {
            if s.properties.isAlphabetic {
                word.append(s)
            } else if !word.isEmpty {
                flush()
                if words > maxWords || found.count >= 5 { break }
            }
        }
        if !word.isEmpty { flush() }
        return found.isEmpty ? nil : found
    }
}
