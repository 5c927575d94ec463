/// RFC 2047 encoded words (`=?charset?B?…?=`, `=?charset?Q?…?=`) in header values, decoded
/// with the tolerance real mail needs:
///
/// - encoding letters in either case; a charset with an RFC 2231 language suffix
///   (`=?utf-8*en?Q?…?=`);
/// - white space between adjacent encoded words dropped; encoded words glued to other text or
///   inside quoted strings decoded as well;
/// - adjacent encoded words in the same charset joined as bytes before decoding, so that a
///   multibyte character split between two words survives;
/// - damaged base64 (junk characters, missing padding, data after padding) and Q text (bad
///   `=XX` escapes, white space) decoded as far as possible, with ``Anomaly/badEncodedWord``;
/// - an unknown charset sniffed, with ``Anomaly/encodedWordUnknownCharset``;
/// - an `=?` that doesn't start a complete encoded word left as it is.
///
/// Decoding is linear in the length of the value.
public enum EncodedWords {
    public static func decode(_ value: String) -> DecodedText {
        guard containsEncodedWordStart(value.utf8) else { return DecodedText(text: value, charset: "us-ascii") }
        let bytes = Array(value.utf8)
        let segments = split(bytes)
        return assemble(segments, bytes: bytes)
    }

    // MARK: Scanning

    struct Word {
        /// Lowercased, without a language suffix.
        var label: String
        /// The canonical charset name, or `nil` when unknown.
        var charset: String?
        var bytes: [UInt8]
        var isMalformed: Bool
    }

    enum Segment {
        case text(Range<Int>)
        case word(Word)
    }

    private static func containsEncodedWordStart(_ utf8: String.UTF8View) -> Bool {
        if let found = utf8.withContiguousStorageIfAvailable({ containsEncodedWordStart($0) }) { return found }
        var previous: UInt8 = 0
        for b in utf8 {
            if previous == UInt8(ascii: "=") && b == UInt8(ascii: "?") { return true }
            previous = b
        }
        return false
    }

    /// Whether "=?" occurs in the bytes, on a buffer pointer (native strings are contiguous).
    private static func containsEncodedWordStart(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        guard u.count >= 2 else { return false }
        for i in 1..<u.count where u[i] == UInt8(ascii: "?") && u[i - 1] == UInt8(ascii: "=") {
            return true
        }
        return false
    }

    static func split(_ bytes: [UInt8]) -> [Segment] {
        var segments: [Segment] = []
        var terminator = TerminatorFinder()
        var i = 0
        var textStart = 0
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: "="), bytes[i + 1] == UInt8(ascii: "?"),
                let (word, end) = parseWord(bytes, at: i, terminator: &terminator)
            {
                if textStart < i { segments.append(.text(textStart..<i)) }
                segments.append(.word(word))
                i = end
                textStart = end
            } else {
                i += 1
            }
        }
        if textStart < bytes.count { segments.append(.text(textStart..<bytes.count)) }
        return segments
    }

    /// Finds the first `?=` at or after a position. Positions asked for never decrease, so
    /// remembering the last answer keeps all searches together linear.
    struct TerminatorFinder {
        private var searchedFrom = Int.max
        private var found: Int?

        mutating func find(in bytes: [UInt8], from p: Int) -> Int? {
            if searchedFrom <= p {
                guard let f = found else { return nil }
                if f >= p { return f }
            }
            searchedFrom = p
            found = nil
            var k = p
            while k + 1 < bytes.count {
                if bytes[k] == UInt8(ascii: "?"), bytes[k + 1] == UInt8(ascii: "=") {
                    found = k
                    break
                }
                k += 1
            }
            return found
        }
    }

    /// Parses the encoded word starting at `start` (which holds `=?`); returns it and the
    /// index just past its `?=`.
    private static func parseWord(_ bytes: [UInt8], at start: Int, terminator: inout TerminatorFinder) -> (Word, Int)? {
        let n = bytes.count
        var j = start + 2
        while j < n, bytes[j] != UInt8(ascii: "?") {
            let b = bytes[j]
            guard b > 0x20, b < 0x7F, j - start - 2 < 75 else { return nil }
            j += 1
        }
        guard j > start + 2, j + 2 < n, bytes[j + 2] == UInt8(ascii: "?") else { return nil }
        let encoding = bytes[j + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        let textStart = j + 3
        guard let end = terminator.find(in: bytes, from: textStart) else { return nil }

        var labelBytes = bytes[(start + 2)..<j]
        if let star = labelBytes.firstIndex(of: UInt8(ascii: "*")) { labelBytes = labelBytes[..<star] }
        let label = String(decoding: labelBytes.map { ASCII.lower($0) }, as: UTF8.self)
        let text = bytes[textStart..<end]
        let decoded = encoding == UInt8(ascii: "b") ? decodeBase64(text) : decodeQ(text)
        let word = Word(
            label: label, charset: Charset.normalize(label), bytes: decoded.bytes, isMalformed: decoded.malformed)
        return (word, end + 2)
    }

    // MARK: Assembly

    private static func assemble(_ segments: [Segment], bytes: [UInt8]) -> DecodedText {
        var out = ""
        var anomalies: [Anomaly] = []
        var firstCharset: String?
        var pending: Word?

        func flush() {
            guard let w = pending else { return }
            pending = nil
            let decoded: DecodedText
            if let charset = w.charset {
                decoded = Charset.decode(w.bytes[...], declared: charset)
            } else {
                decoded = Charset.decode(w.bytes[...], declared: nil)
                anomalies.append(.encodedWordUnknownCharset)
            }
            anomalies.append(contentsOf: decoded.anomalies)
            if firstCharset == nil { firstCharset = decoded.charset }
            out += decoded.text
        }

        for (index, segment) in segments.enumerated() {
            switch segment {
            case .word(let w):
                if w.isMalformed { anomalies.append(.badEncodedWord) }
                if var p = pending, p.label == w.label || (p.charset != nil && p.charset == w.charset) {
                    p.bytes.append(contentsOf: w.bytes)
                    pending = p
                } else {
                    flush()
                    pending = w
                }
            case .text(let range):
                let betweenWords =
                    index > 0 && index + 1 < segments.count
                    && { if case .word = segments[index - 1] { return true } else { return false } }()
                    && { if case .word = segments[index + 1] { return true } else { return false } }()
                if betweenWords, bytes[range].allSatisfy(ASCII.isWhitespace) { continue }
                flush()
                out += String(decoding: bytes[range], as: UTF8.self)
            }
        }
        flush()
        return DecodedText(text: out, charset: firstCharset ?? "us-ascii", anomalies: Charset.uniqued(anomalies))
    }

    // MARK: B and Q

    /// Base64, skipping anything outside the alphabet and restarting after padding (two
    /// words' worth glued together); `malformed` for junk, URL-safe letters, missing padding or
    /// a dangling sextet.
    static func decodeBase64(_ text: ArraySlice<UInt8>) -> (bytes: [UInt8], malformed: Bool) {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var malformed = false
        var acc: UInt32 = 0
        var bits = 0
        var sextets = 0  // in the current unpadded group of four
        var padded = false
        for c in text {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "-"):
                v = 62
                malformed = true
            case UInt8(ascii: "_"):
                v = 63
                malformed = true
            case UInt8(ascii: "="):
                if sextets == 1 { malformed = true }
                acc = 0
                bits = 0
                sextets = 0
                padded = true
                continue
            default:
                malformed = true
                continue
            }
            if padded {
                malformed = true  // data after padding
                padded = false
            }
            acc = (acc << 6 | v) & 0xFFFFFF
            bits += 6
            sextets = (sextets + 1) % 4
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        if sextets != 0 { malformed = true }  // missing padding, or a dangling sextet
        return (out, malformed)
    }

    /// RFC 2047 Q: `_` is a space, `=XX` a byte; anything else stands for itself.
    static func decodeQ(_ text: ArraySlice<UInt8>) -> (bytes: [UInt8], malformed: Bool) {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var malformed = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == UInt8(ascii: "_") {
                out.append(0x20)
            } else if c == UInt8(ascii: "=") {
                if let hi = hexValue(text, i + 1), let lo = hexValue(text, i + 2) {
                    out.append(hi << 4 | lo)
                    i += 3
                    continue
                }
                malformed = true
                out.append(c)
            } else {
                if c == 0x20 || c == 0x09 || c == UInt8(ascii: "?") { malformed = true }
                out.append(c)
            }
            i += 1
        }
        return (out, malformed)
    }

    private static func hexValue(_ text: ArraySlice<UInt8>, _ i: Int) -> UInt8? {
        guard i < text.endIndex else { return nil }
        let c = text[i]
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
