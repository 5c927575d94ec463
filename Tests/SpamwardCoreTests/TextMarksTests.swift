import CLiteralScan
import Testing

@testable import SpamwardCore

/// The text checks' scan with its marks found by AVX2 (`sw_text_marks`) against the SSE2 mask it
/// replaces (``TextChecks/eventMask(_:)``) and against the separate scans.
@Suite("Text scan marks")
struct TextMarksTests {
    typealias RNG = FastPathTests.RNG

    /// The marked positions of the blocks of 32 at `start`, `start + 32`, ... (while a block and
    /// the 4 bytes after it are in the text), by ``TextChecks/eventMask(_:)``: the reference.
    func referenceMarks(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> [Int] {
        var out: [Int] = []
        var i = start
        let p = UnsafeRawPointer(b.baseAddress!)
        while i + 36 <= b.count {
            for half in [0, 16] {
                let m = TextChecks.eventMask(p + i + half)
                for lane in 0..<16 where (m[lane / 8] >> UInt64((lane % 8) * 8 + 7)) & 1 != 0 { out.append(i + half + lane) }
            }
            i += 32
        }
        return out
    }

    /// `sw_text_marks` from `start` to the end, `cap` marks a call at most; and where it stopped.
    func vectorMarks(_ b: UnsafeBufferPointer<UInt8>, from start: Int, cap: Int) -> (marks: [Int], end: Int) {
        var out: [Int] = []
        var i = start
        var buffer = [UInt32](repeating: 0, count: cap)
        while i + 36 <= b.count {
            var resume = 0
            let count = buffer.withUnsafeMutableBufferPointer { sw_text_marks(b.baseAddress!, b.count, i, $0.baseAddress!, cap, &resume) }
            #expect(resume > i || count > 0)
            out += buffer[0..<count].map { Int($0) }
            i = resume
        }
        return (out, i)
    }

    /// Random bytes rich in what marks (look-alikes next to letters and to other bytes of 0x41 and
    /// above, repeats two and four apart, runs of non-ASCII bytes) at every start and with small
    /// output capacities (a block's marks that do not fit are read again by the next call).
    @Test func vectorMarksAreTheEventMask() {
        guard TextChecks.spelling.vectorMarks else { return }
        var rng = RNG(state: 0x7E47_3A2C)
        let alphabet: [UInt8] = Array("aZz0123456789@$!|. .-_*\n=ab".utf8) + [0x00, 0x3F, 0x40, 0x41, 0x5B, 0x7F, 0x80, 0xBF, 0xC3, 0xD0, 0xFF]
        var marked = 0
        for round in 0..<3_000 {
            let n = 36 + Int(rng.next() % 400)
            var bytes = (0..<n).map { _ in rng.pick(alphabet) }
            // Some spaced runs and long runs of non-ASCII bytes.
            for _ in 0..<Int(rng.next() % 4) {
                let at = Int(rng.next() % UInt64(n))
                let sep = rng.pick(Array(". -_*x".utf8))
                for k in stride(from: at + 1, to: min(n, at + 12), by: 2) { bytes[k] = sep }
            }
            if round % 4 == 0 {
                let at = Int(rng.next() % UInt64(n))
                for k in at..<min(n, at + 70) { bytes[k] = 0x80 | UInt8(truncatingIfNeeded: rng.next()) }
            }
            let start = 1 + Int(rng.next() % 64)
            let cap = rng.pick([32, 33, 40, 64, 256])
            bytes.withUnsafeBufferPointer { b in
                let expected = referenceMarks(b, from: start)
                let (actual, end) = vectorMarks(b, from: start, cap: cap)
                #expect(actual == expected, "round \(round)")
                let blocks = n - start < 36 ? 0 : (n - start - 36) / 32 + 1
                #expect(end == start + blocks * 32, "round \(round)")
                marked += expected.count
            }
        }
        #expect(marked > 30_000)
    }

    /// The whole scan with the AVX2 marks and with the SSE2 mask: the same tokens, runs and
    /// Greek/Cyrillic flag as the separate scans, on word texts long enough for the middle blocks,
    /// with limits reached inside them.
    @Test func textScanIsTheSameWithEitherMarks() {
        var rng = RNG(state: 0xA5_7E47)
        let words = ["the", "a", "I", "offer", "limited", "Viagra", "money", "x", "ok", "Hello", "world", "an", "of",
                     "v1agra", "fr33", "p@ypal", "c|alis", "$ave", "2024", "15", "v.i.a.g.r.a", "v i a g r a", "m-o-n-e-y",
                     "w_o_r_d", "a*b*c*d", "вход", "viаgra", "βeta", "é", "naïve", "e.g.", "--", "...", "***", "й ц у к",
                     "é.è.ê", "日本語のテキスト", "€5", "wow!"]
        let gaps = [" ", " ", " ", "  ", ", ", ". ", "\n", "\r\n", "-", "_", "*", ".", "; ", "\t", "", "'"]
        var tokens = 0, runs = 0, greek = 0
        for round in 0..<2_000 {
            var s = ""
            for _ in 0..<Int(rng.next() % 200) {
                let w = rng.next() % 4 == 0 ? rng.pick(words) : words[Int(rng.next() % 11)]
                s += w + rng.pick(gaps)
            }
            let maxSeparators = [3, 40, 100, 5_000][round % 4]
            let limit = [0, 1, 5, 1_000][(round / 4) % 4]
            let vector = s.withUTF8 { TextChecks.scanText($0, maxSeparators: maxSeparators, spacedRunLimit: limit, vectorMarks: true) }
            let sse2 = s.withUTF8 { TextChecks.scanText($0, maxSeparators: maxSeparators, spacedRunLimit: limit, vectorMarks: false) }
            let separate = s.withUTF8 { b in
                TextChecks.asciiPlain.withUnsafeBufferPointer { plain in
                    TextChecks.candidateTokens(b, maxSeparators: maxSeparators).filter {
                        let t = UnsafeBufferPointer(rebasing: b[$0.range])
                        return $0.nonASCII ? TextChecks.hasLookalike(t, plain, TextChecks.nonASCIILookalikeValues)
                            : TextChecks.asciiSpellsSpamWord(t)
                    }
                }
            }
            let spaced = limit <= 0 ? [] : s.withUTF8 { TextChecks.spacedRunStarts($0, limit: limit) }
            for scan in [vector, sse2] {
                #expect(scan.tokens.map(\.range) == separate.map(\.range), "\(s) \(maxSeparators)")
                #expect(scan.tokens.map(\.nonASCII) == separate.map(\.nonASCII), "\(s) \(maxSeparators)")
                #expect(scan.spacedRunStarts == spaced, "\(s) \(limit)")
                #expect(scan.hasGreekOrCyrillic == TextChecks.hasGreekOrCyrillic(s), "\(s)")
            }
            tokens += separate.count
            runs += spaced.count
            if TextChecks.hasGreekOrCyrillic(s) { greek += 1 }
        }
        #expect(tokens > 1_000 && runs > 1_000 && greek > 500)
    }
}

/// The spaced-word search of an ASCII window, which reads only the places where a run can start
/// (sixteen positions at a time), against the scalar search on windows long enough for its
/// middle blocks (up to 256 bytes, as the check's windows are).
@Suite("Spaced words in long windows")
struct SpacedWordWindowTests {
    @Test func asciiSpacedWordsInLongWindowsAreTheScalarSpacedWords() {
        var rng = FastPathTests.RNG(state: 0x5_BACE_2)
        let pieces = ["v i a g r a", "v.i.a.g.r.a", "f-r-e-e", "m_o_n_e_y", "c*a*s*h", "l 0 a n", "p.0.r.n", "F R E E",
                      "v i a g r a s", "a b c d e f g h i j k l m n o p q r s t u v", "x", "ab", " ", " ", ".", "-", "_", "*",
                      "1", "!", "w o r d", "s e x", "V1agra", "e.g.", "c a s i n o", "m.o.n.e.y.", "\n", "l.o.a.n-",
                      "plain words ", "and more plain text, ", "I ", "a ", "x-ray ", "e.g. "]
        var found = 0
        for round in 0..<6_000 {
            var window = ""
            let target = 1 + Int(rng.next() % 256)
            while window.utf8.count < target { window += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let atTextEnd = rng.next() % 2 == 0
            if spacedWordsAgree(window, atTextEnd: atTextEnd, round: round) { found += 1 }
        }
        #expect(found > 1_000)
    }
}
