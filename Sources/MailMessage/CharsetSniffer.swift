#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Guesses the charset of undeclared or mislabelled bytes. Every function is one or a few
/// linear passes over the bytes.
enum CharsetSniffer {
    static func sniff(_ bytes: ArraySlice<UInt8>) -> String {
        // The common case in one pass: 7-bit text without NUL or ESC bytes has no byte order
        // mark, is not UTF-16 (which needs zero bytes) nor ISO-2022 (which needs escapes), so
        // the steps below would all end in "us-ascii".
        if isPlainSevenBit(bytes) { return "us-ascii" }
        if let bom = bomCharset(bytes) { return bom }
        if let utf16 = utf16WithoutBOM(bytes) { return utf16 }
        let stats = ByteStats(bytes)
        if stats.high == 0 {
            if stats.escapes > 0, let iso = iso2022Charset(bytes) { return iso }
            return "us-ascii"
        }
        if UTF8Scan(bytes).isValid { return "utf-8" }
        if stats.escapes > 0, let iso = iso2022Charset(bytes) { return iso }
        // A few high bytes fit both Cyrillic and CJK ("ЦРОД" is "中文" in GB2312): then CJK
        // gets the first word.
        let cyrillic = cyrillicCharset(bytes, stats: stats)
        if let cyrillic, stats.high >= 6 { return cyrillic }
        if let cjk = cjkCharset(bytes, stats: stats) { return cjk }
        return cyrillic ?? "windows-1252"
    }

    // MARK: Marks, escapes, zero bytes

    /// Whether every byte is in 0x01...0x7F and none is ESC (0x1B): ``SevenBitScan``'s one pass.
    static func isPlainSevenBit(_ bytes: ArraySlice<UInt8>) -> Bool { SevenBitScan(bytes).isPlain }

    static func bomCharset(_ bytes: ArraySlice<UInt8>) -> String? {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return "utf-8" }
        if bytes.starts(with: [0xFF, 0xFE, 0x00, 0x00]) { return "utf-32le" }
        if bytes.starts(with: [0x00, 0x00, 0xFE, 0xFF]) { return "utf-32be" }
        if bytes.starts(with: [0xFF, 0xFE]) { return "utf-16le" }
        if bytes.starts(with: [0xFE, 0xFF]) { return "utf-16be" }
        return nil
    }

    static func highByteCount(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return 0 }
            let raw = UnsafeRawPointer(base)
            let count = buf.count
            var n = 0
            var i = 0
            // Eight bytes at a time: each byte's high bit moved to the bottom of its lane and
            // summed per lane. Invariant: every load reads bytes i..<i+8 with i + 8 <= count,
            // so it stays inside `buf`; at most 255 words are summed before the lanes are
            // added up, so no 8-bit lane overflows.
            while i + 8 <= count {
                var lanes: UInt64 = 0
                var words = 0
                while words < 255, i + 8 <= count {
                    lanes &+= (raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) >> 7) & 0x0101_0101_0101_0101
                    i &+= 8
                    words &+= 1
                }
                // Lanes to four 16-bit sums (each <= 510), then their total (<= 2040) in the top 16 bits.
                let pairs = (lanes & 0x00FF_00FF_00FF_00FF) &+ ((lanes >> 8) & 0x00FF_00FF_00FF_00FF)
                n &+= Int(truncatingIfNeeded: (pairs &* 0x0001_0001_0001_0001) >> 48)
            }
            while i < count {
                n &+= Int(buf[i] >> 7)
                i &+= 1
            }
            return n
        }
    }

    /// Whether any byte is ESC (0x1B), which every ISO-2022 designation starts with.
    static func containsEscape(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress, !buf.isEmpty else { return false }
            return memchr(base, 0x1B, buf.count) != nil
        }
    }

    /// Zero bytes at even and odd offsets from the start.
    static func zeroBytes(_ bytes: ArraySlice<UInt8>) -> (even: Int, odd: Int) {
        var even = 0
        var odd = 0
        var isOdd = false
        for b in bytes {
            if b == 0 {
                if isOdd { odd += 1 } else { even += 1 }
            }
            isOdd.toggle()
        }
        return (even, odd)
    }

    /// UTF-16 without a byte order mark shows as zero bytes in every other position (for text
    /// in the Latin range), which text in any other charset practically never has.
    static func utf16WithoutBOM(_ bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.count >= 4 else { return nil }
        let (even, odd) = zeroBytes(bytes)
        let units = bytes.count / 2
        if odd * 2 >= units, even * 10 <= units { return "utf-16le" }
        if even * 2 >= units, odd * 10 <= units { return "utf-16be" }
        return nil
    }

    /// The ISO-2022 charset announced by the first designation escape sequence, if any.
    static func iso2022Charset(_ bytes: ArraySlice<UInt8>) -> String? {
        guard containsEscape(bytes) else { return nil }
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i + 2 < end {
            if bytes[i] == 0x1B {
                let a = bytes[i + 1]
                let b = bytes[i + 2]
                let c: UInt8 = i + 3 < end ? bytes[i + 3] : 0
                switch (a, b) {
                case (0x24, 0x42), (0x24, 0x40), (0x28, 0x4A), (0x28, 0x49):  // ESC $ B, ESC $ @, ESC ( J, ESC ( I
                    return "iso-2022-jp"
                case (0x24, 0x28) where c == 0x44 || c == 0x51 || c == 0x4F || c == 0x50:  // ESC $ ( D/Q/O/P
                    return "iso-2022-jp"
                case (0x24, 0x29) where c == 0x43:  // ESC $ ) C
                    return "iso-2022-kr"
                case (0x24, 0x29) where c == 0x41 || c == 0x47 || c == 0x45:  // ESC $ ) A/G/E
                    return "iso-2022-cn"
                case (0x24, 0x2A) where c == 0x48, (0x24, 0x2B) where c >= 0x49 && c <= 0x4D:
                    return "iso-2022-cn"
                case (0x24, 0x41):  // ESC $ A (GB 2312 in ISO-2022-JP-2)
                    return "iso-2022-jp"
                default:
                    break
                }
            }
            i += 1
        }
        return nil
    }

    // MARK: Statistics

    struct ByteStats {
        var high = 0
        var escapes = 0
        var asciiLetters = 0

        init(_ bytes: ArraySlice<UInt8>) {
            // Branch-free counts (the three classes are disjoint: letters and ESC are < 0x80).
            bytes.withUnsafeBufferPointer { buf in
                var high = 0
                var escapes = 0
                var letters = 0
                for b in buf {
                    high &+= Int(b >> 7)
                    escapes &+= b == 0x1B ? 1 : 0
                    letters &+= (b | 0x20) &- 0x61 < 26 ? 1 : 0
                }
                self.high = high
                self.escapes = escapes
                self.asciiLetters = letters
            }
        }
    }

    // MARK: Cyrillic

    /// windows-1251 or KOI8-R when the high bytes are nearly all letters (0xC0...0xFF, plus
    /// Ё/ё) standing in runs of three or more, as whole Cyrillic words do and accented Latin
    /// letters don't, and at least half of them are among the fifteen most frequent Russian
    /// letters (о е а и н т с р в л к м д п у, in one case) of one of the two charsets.
    static func cyrillicCharset(_ bytes: ArraySlice<UInt8>, stats: ByteStats) -> String? {
        guard stats.high >= 3 else { return nil }
        var letters = 0
        var inLongRuns = 0
        var run = 0
        // Frequent letters: [windows-1251 lower, windows-1251 upper, KOI8-R lower, KOI8-R upper]
        var hits = [0, 0, 0, 0]
        for b in bytes {
            if b >= 0x80 {
                run += 1
                if b >= 0xC0 || b == 0xA8 || b == 0xB8 || b == 0xA3 || b == 0xB3 { letters += 1 }
                if b >= 0xC0 {
                    let k = Int(b & 0x1F)
                    let upperHalf = b >= 0xE0
                    if cp1251FrequentMask & (1 << k) != 0 { hits[upperHalf ? 0 : 1] += 1 }
                    if koi8FrequentMask & (1 << k) != 0 { hits[upperHalf ? 3 : 2] += 1 }
                }
            } else {
                if run >= 3 { inLongRuns += run }
                run = 0
            }
        }
        if run >= 3 { inLongRuns += run }
        guard letters * 10 >= stats.high * 9, inLongRuns * 10 >= stats.high * 6 else { return nil }
        let cp1251 = max(hits[0], hits[1])
        let koi8 = max(hits[2], hits[3])
        guard max(cp1251, koi8) * 2 >= letters else { return nil }
        return cp1251 >= koi8 ? "windows-1251" : "koi8-r"
    }

    /// Bit `b & 0x1F` set for the frequent lowercase letters of windows-1251 (0xE0...0xFF; the
    /// uppercase ones are the same bits in 0xC0...0xDF): а в д е и к л м н о п р с т у.
    private static let cp1251FrequentMask: UInt32 = {
        var m: UInt32 = 0
        for b in [0xE0, 0xE2, 0xE4, 0xE5, 0xE8, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF2, 0xF3] {
            m |= 1 << UInt32(b & 0x1F)
        }
        return m
    }()

    /// The same letters in KOI8-R, lowercase in 0xC0...0xDF, uppercase in 0xE0...0xFF.
    private static let koi8FrequentMask: UInt32 = {
        var m: UInt32 = 0
        for b in [0xC1, 0xD7, 0xC4, 0xC5, 0xC9, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xD0, 0xD2, 0xD3, 0xD4, 0xD5] {
            m |= 1 << UInt32(b & 0x1F)
        }
        return m
    }()

    // MARK: CJK

    /// A structural parse of the bytes in one multibyte charset: characters, invalid
    /// sequences, and a score that grows with how typical each character's lead byte is for
    /// text in that charset (kana for Japanese, Hangul for Korean, level-1 hanzi for GB, the
    /// frequent-character block for Big5).
    struct MultibyteScore {
        var characters = 0
        var errors = 0
        var score = 0.0

        mutating func add(_ s: Double) {
            characters += 1
            score += s
        }
        var metric: Double { score - 2.5 * Double(errors) }
    }

    static func cjkCharset(_ bytes: ArraySlice<UInt8>, stats: ByteStats) -> String? {
        // Mostly high-bit text: CJK characters are two high bytes each; a few Latin accents
        // among ASCII words are not. (Digits don't count: CJK spam is full of phone numbers.)
        guard stats.high >= 2, stats.high * 2 >= stats.asciiLetters else { return nil }
        let candidates: [(String, MultibyteScore)] = [
            ("shift_jis", scoreShiftJIS(bytes)),
            ("euc-jp", scoreEUCJP(bytes)),
            ("euc-kr", scoreEUCKR(bytes)),
            ("gbk", scoreGB(bytes)),
            ("big5", scoreBig5(bytes)),
        ]
        var best: (String, MultibyteScore)?
        for c in candidates where best == nil || c.1.metric > (best?.1.metric ?? 0) {
            best = c
        }
        guard let (name, s) = best, s.characters > 0 else { return nil }
        let fewErrors = s.errors * 20 <= s.characters
        // One or two characters prove little: ask more of them.
        let typical = s.score >= (s.characters < 3 ? 1.5 : 0.8) * Double(s.characters)
        return fewErrors && typical ? name : nil
    }

    @inline(__always) private static func inRange(_ b: UInt8, _ lo: UInt8, _ hi: UInt8) -> Bool { b >= lo && b <= hi }

    static func scoreShiftJIS(_ bytes: ArraySlice<UInt8>) -> MultibyteScore {
        var s = MultibyteScore()
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
            } else if inRange(b, 0xA1, 0xDF) {
                s.add(0.3)  // half-width katakana
                i += 1
            } else if (inRange(b, 0x81, 0x9F) || inRange(b, 0xE0, 0xFC)), i + 1 < end,
                inRange(bytes[i + 1], 0x40, 0x7E) || inRange(bytes[i + 1], 0x80, 0xFC)
            {
                let t = bytes[i + 1]
                switch b {
                case 0x82: s.add(t >= 0x9F ? 2.0 : 0.5)  // hiragana / full-width alphanumerics
                case 0x83: s.add(t <= 0x96 ? 2.0 : 0.3)  // katakana / Greek
                case 0x81: s.add(1.0)  // punctuation
                case 0x88...0x9F, 0xE0...0xEA:  // kanji
                    s.add(frequentSJIS.contains(UInt16(b) << 8 | UInt16(t)) ? 2.0 : 1.0)
                default: s.add(0.2)
                }
                i += 2
            } else {
                s.errors += 1
                i += 1
            }
        }
        return s
    }

    static func scoreEUCJP(_ bytes: ArraySlice<UInt8>) -> MultibyteScore {
        var s = MultibyteScore()
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
            } else if inRange(b, 0xA1, 0xFE), i + 1 < end, inRange(bytes[i + 1], 0xA1, 0xFE) {
                switch b {
                case 0xA4, 0xA5: s.add(2.0)  // hiragana, katakana
                case 0xA1: s.add(1.0)  // punctuation
                case 0xB0...0xF4:  // kanji
                    s.add(frequentEUCJP.contains(UInt16(b) << 8 | UInt16(bytes[i + 1])) ? 2.0 : 1.0)
                case 0xA2...0xA8: s.add(0.3)
                default: s.add(0.1)
                }
                i += 2
            } else if b == 0x8E, i + 1 < end, inRange(bytes[i + 1], 0xA1, 0xDF) {
                s.add(0.3)  // half-width katakana
                i += 2
            } else if b == 0x8F, i + 2 < end, inRange(bytes[i + 1], 0xA1, 0xFE), inRange(bytes[i + 2], 0xA1, 0xFE) {
                s.add(0.2)  // JIS X 0212
                i += 3
            } else {
                s.errors += 1
                i += 1
            }
        }
        return s
    }

    static func scoreEUCKR(_ bytes: ArraySlice<UInt8>) -> MultibyteScore {
        var s = MultibyteScore()
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            guard i + 1 < end else {
                s.errors += 1
                break
            }
            let t = bytes[i + 1]
            if inRange(b, 0xA1, 0xFE), inRange(t, 0xA1, 0xFE) {
                switch b {
                case 0xB0...0xC8: s.add(frequentKR.contains(UInt16(b) << 8 | UInt16(t)) ? 2.5 : 1.5)  // Hangul
                case 0xA1: s.add(1.0)
                case 0xCA...0xFD: s.add(0.5)  // Hanja
                case 0xA2...0xAC: s.add(0.3)
                default: s.add(0.1)
                }
                i += 2
            } else if inRange(b, 0x81, 0xC6), inRange(t, 0x41, 0x5A) || inRange(t, 0x61, 0x7A) || inRange(t, 0x81, 0xFE)
            {
                s.add(0.8)  // CP949 extended Hangul
                i += 2
            } else {
                s.errors += 1
                i += 1
            }
        }
        return s
    }

    static func scoreGB(_ bytes: ArraySlice<UInt8>) -> MultibyteScore {
        var s = MultibyteScore()
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            guard inRange(b, 0x81, 0xFE), i + 1 < end else {
                s.errors += 1
                i += 1
                continue
            }
            let t = bytes[i + 1]
            if inRange(t, 0x30, 0x39) {
                if i + 3 < end, inRange(bytes[i + 2], 0x81, 0xFE), inRange(bytes[i + 3], 0x30, 0x39) {
                    s.add(0.1)  // GB18030 four-byte
                    i += 4
                } else {
                    s.errors += 1
                    i += 1
                }
            } else if inRange(t, 0x40, 0x7E) || inRange(t, 0x80, 0xFE) {
                if t >= 0xA1 {
                    let frequent = frequentGB.contains(UInt16(b) << 8 | UInt16(t))
                    switch b {
                    case 0xB0...0xD7: s.add(frequent ? 2.5 : 1.5)  // level-1 hanzi
                    case 0xD8...0xF7: s.add(frequent ? 1.8 : 0.8)  // level-2 hanzi
                    case 0xA1...0xA3: s.add(1.0)  // punctuation
                    case 0x81...0xA0, 0xA4...0xA9: s.add(0.3)
                    default: s.add(0.1)
                    }
                } else {
                    s.add(0.3)  // GBK extension
                }
                i += 2
            } else {
                s.errors += 1
                i += 1
            }
        }
        return s
    }

    static func scoreBig5(_ bytes: ArraySlice<UInt8>) -> MultibyteScore {
        var s = MultibyteScore()
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
            } else if inRange(b, 0x81, 0xFE), i + 1 < end,
                inRange(bytes[i + 1], 0x40, 0x7E) || inRange(bytes[i + 1], 0xA1, 0xFE)
            {
                // About 40% of Big5 text has a trail byte below 0x7F, which the EUC charsets
                // (and GB2312) never have: weigh those up and the others down.
                let lowTrail = bytes[i + 1] <= 0x7E
                switch b {
                case 0xA4...0xC6: s.add(lowTrail ? 2.6 : 1.4)  // frequent hanzi
                case 0xC9...0xF9, 0xA1...0xA3: s.add(lowTrail ? 1.3 : 0.7)  // less frequent hanzi, punctuation
                default: s.add(0.1)
                }
                i += 2
            } else {
                s.errors += 1
                i += 1
            }
        }
        return s
    }
}

/// What one pass over text bytes finds: any 8-bit byte, any NUL or ESC byte. Eight bytes at a
/// time; ``CharsetSniffer/isPlainSevenBit(_:)`` is its ``isPlain``.
struct SevenBitScan {
    var high = false
    var nulOrEscape = false
    /// No 8-bit, NUL or ESC byte: what ``CharsetSniffer/isPlainSevenBit(_:)`` accepts.
    var isPlain: Bool { !high && !nulOrEscape }

    init(_ bytes: ArraySlice<UInt8>) {
        (high, nulOrEscape) = bytes.withUnsafeBufferPointer { buf -> (Bool, Bool) in
            guard let base = buf.baseAddress else { return (false, false) }
            let raw = UnsafeRawPointer(base)
            let count = buf.count
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            var bits: UInt64 = 0
            var controls: UInt64 = 0
            var i = 0
            // Invariant: every load reads bytes i..<i+8 with i + 8 <= count. A lane's high bit
            // in `controls` is set for a zero byte or an ESC byte (the zero-byte test
            // `(x - 1) & ~x & 0x80` on the word and on the word XOR ESC; it never flags a
            // high byte, and a borrow only flags a lane above a zero lane, flagged already).
            while i &+ 8 <= count {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let e = w ^ (0x1B &* ones)
                bits |= w
                controls |= ((w &- ones) & ~w) | ((e &- ones) & ~e)
                i &+= 8
            }
            var high = bits & highs != 0
            var control = controls & highs != 0
            while i < count {
                let b = buf[i]
                if b >= 0x80 { high = true }
                if b == 0 || b == 0x1B { control = true }
                i &+= 1
            }
            return (high, control)
        }
    }
}
