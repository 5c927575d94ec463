import MailMessage
import Testing

@testable import SpamwardCore

/// The scan of long texts (``LiteralSearch/scan(_:)``: segments read interleaved, or any later
/// shortcut) against the one-chain scan (``LiteralSearch/scanSerial(_:)``) and against a plain
/// search of the folded text: the same literals with the same first ends, on texts where the
/// literals occur often, in any case, overlapping each other, and across the segments' boundaries.
@Suite("Literal search of long texts (first ends as the one-chain scan finds them)")
struct LiteralSearchSegmentTests {
    /// The literal search tests' generator (xorshift), so that failures reproduce.
    typealias Generator = LiteralSearchTests.Generator

    /// Each literal's first end in the folded text (-1: absent), by comparing at every position.
    static func naiveFirstEnds(_ literals: [[UInt8]], _ text: [UInt8]) -> [Int32] {
        let folded = RuleInput.fold(text)
        return literals.map { lit in
            guard folded.count >= lit.count else { return -1 }
            for s in 0...(folded.count - lit.count) where folded[s..<(s + lit.count)].elementsEqual(lit) {
                return Int32(s + lit.count)
            }
            return -1
        }
    }

    /// `text` with random ASCII letters in upper case.
    static func randomCase(_ text: [UInt8], _ g: inout Generator) -> [UInt8] {
        text.map { b in b >= 0x61 && b <= 0x7A && g.next(3) == 0 ? b - 0x20 : b }
    }

    /// A text of `length` bytes made of literals (whole, or cut short), filler words and single
    /// bytes, in random case.
    static func randomText(_ literals: [[UInt8]], length: Int, rare: Bool, _ g: inout Generator) -> [UInt8] {
        let filler: [[UInt8]] = ["the ", "and ", "you", " ", "\n", "of", "e", "s", "-", "\u{e9}", "0", "X"].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(length + 64)
        while out.count < length {
            switch g.next(rare ? 40 : 6) {
            case 0:
                out += literals[g.next(literals.count)]
            case 1:
                let lit = literals[g.next(literals.count)]
                out += lit.prefix(1 + g.next(lit.count))
            case 2:
                let lit = literals[g.next(literals.count)]
                out += lit.suffix(1 + g.next(lit.count))
            default:
                out += filler[g.next(filler.count)]
            }
        }
        return randomCase(Array(out.prefix(length)), &g)
    }

    func check(_ search: LiteralSearch, _ literals: [[UInt8]], _ text: [UInt8], naive: Bool = true) {
        let fast = text.withUnsafeBufferPointer { search.scan($0) }
        let serial = text.withUnsafeBufferPointer { search.scanSerial($0) }
        #expect(fast.firstEnd == serial.firstEnd, "length \(text.count): \(String(decoding: text, as: UTF8.self))")
        if naive { #expect(serial.firstEnd == Self.naiveFirstEnds(literals, text), "length \(text.count)") }
        // Each way of scanning long texts, whichever `scan` takes here.
        if text.count >= LiteralSearch.interleavedMinimum {
            let interleaved = text.withUnsafeBufferPointer { search.scanInterleaved($0) }
            #expect(interleaved.firstEnd == serial.firstEnd, "interleaved, length \(text.count)")
        }
        if let vector = text.withUnsafeBufferPointer({ search.scanVector($0) }) {
            #expect(vector.firstEnd == serial.firstEnd, "vector, length \(text.count): \(String(decoding: text, as: UTF8.self))")
        }
    }

    static let smallLiterals: [[UInt8]] = ["abc", "bca", "abcab", "cab", "aab", "b$c", "a-b", "ccc", "abcabcabcabc", "x\u{e9}y",
                                           "longest literal of all"].map { Array($0.utf8) }

    @Test func randomTextsOfManyLengths() throws {
        let search = try #require(LiteralSearch(Self.smallLiterals))
        var g = Generator(state: 0x2545_F491_4F6C_DD1D)
        var present = 0
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 100, 255, 256, 257, 258, 259, 260, 300, 333, 511, 512, 513, 1000, 1021, 4096, 5003] {
            for round in 0..<40 {
                let text = Self.randomText(Self.smallLiterals, length: length, rare: round % 2 == 1, &g)
                check(search, Self.smallLiterals, text)
                present += text.withUnsafeBufferPointer { search.scan($0) }.firstEnd.filter { $0 >= 0 }.count
            }
        }
        #expect(present > 3000)
    }

    /// One occurrence of a literal at every position of a filler text: each crosses every
    /// boundary between segments (and every block of eight bytes) once.
    @Test func oneOccurrenceAtEveryPosition() throws {
        let search = try #require(LiteralSearch(Self.smallLiterals))
        for length in [256, 259, 300, 515] {
            for lit in [Self.smallLiterals[10], Self.smallLiterals[8], Self.smallLiterals[0]] {
                for at in 0...(length - lit.count) {
                    var text = [UInt8](repeating: UInt8(ascii: "z"), count: length)
                    text.replaceSubrange(at..<(at + lit.count), with: lit)
                    check(search, Self.smallLiterals, text, naive: false)
                    let found = text.withUnsafeBufferPointer { search.scan($0) }
                    let id = Self.smallLiterals.firstIndex(of: lit)!
                    // (The filler can make it occur earlier: `c` before `cccc`.)
                    #expect(found.firstEnd[id] >= 0 && found.firstEnd[id] <= Int32(at + lit.count), "\(lit.count) bytes at \(at) of \(length)")
                }
            }
        }
    }

    /// A literal in a later segment and again, later, in an earlier one: the earlier one's end is
    /// the first (each segment is read at once with the others, so the later one is seen first).
    @Test func earliestEndAcrossSegments() throws {
        let search = try #require(LiteralSearch(Self.smallLiterals))
        var g = Generator(state: 0x9E37_79B9_7F4A_7C15)
        for length in [256, 400, 1000, 3000] {
            for _ in 0..<200 {
                var text = [UInt8](repeating: UInt8(ascii: " "), count: length)
                for _ in 0..<(1 + g.next(6)) {
                    let lit = Self.smallLiterals[g.next(Self.smallLiterals.count)]
                    let at = g.next(length - lit.count + 1)
                    text.replaceSubrange(at..<(at + lit.count), with: lit)
                }
                check(search, Self.smallLiterals, Self.randomCase(text, &g))
            }
        }
    }

    /// A table too large for 16-bit entries (32-bit ones), and a small one (16-bit), the same.
    @Test func wideAndNarrowTables() throws {
        var g = Generator(state: 0x1234_5678_9ABC_DEF1)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 -$%'".utf8)
        var wide = Set<[UInt8]>()
        while wide.count < 500 { wide.insert((0..<(6 + g.next(20))).map { _ in alphabet[g.next(alphabet.count)] }) }
        let literals = Array(wide)
        let big = try #require(LiteralSearch(literals))
        #expect(!big.hasNarrowTable)
        let small = try #require(LiteralSearch(Self.smallLiterals))
        #expect(small.hasNarrowTable)
        var present = 0
        for length in [100, 255, 256, 1000, 3000] {
            for round in 0..<6 {
                let text = Self.randomText(literals, length: length, rare: round % 2 == 1, &g)
                check(big, literals, text)
                present += text.withUnsafeBufferPointer { big.scan($0) }.firstEnd.filter { $0 >= 0 }.count
            }
        }
        #expect(present > 100)
    }

    /// Literals of four bytes or more (a vector filter where the machine has one): more than eight
    /// (buckets shared), fingerprints at several offsets, non-letters, non-ASCII bytes.
    static let vectorLiterals: [[UInt8]] = ["abcd", "bcda", "abcabcab", "b$cd", "a-bc", "cccc", "abcabcabcabc", "x\u{e9}yz",
                                            "longest literal of all", "0% of", "zzzz", "the sum of ", "make "].map { Array($0.utf8) }

    /// The vector filter's scan (every candidate verified, literals found once) against the folded
    /// text searched at every position: random texts of 0-600 bytes, and each literal alone at every
    /// position of a text (at the start, where its fingerprint's offset reaches before the text, and
    /// at the end, where fewer than eight bytes follow it), in random case.
    @Test func vectorFilterFindsWhatTheAutomatonFinds() throws {
        let literals = Self.vectorLiterals
        let search = try #require(LiteralSearch(literals))
        #expect(search.hasVectorFilter == LiteralSearch.vectorAvailable)
        guard search.hasVectorFilter else { return }
        var g = Generator(state: 0x0BAD_5EED_1234_5678)
        var present = 0
        for length in 0..<600 {
            let text = Self.randomText(literals, length: length, rare: length % 2 == 1, &g)
            check(search, literals, text)
            present += text.withUnsafeBufferPointer { search.scanVector($0)! }.firstEnd.filter { $0 >= 0 }.count
        }
        #expect(present > 1000)
        let filler = Array("qwertyuiop asdfghjkl zxcvbnm QWERTY 123 \n".utf8)
        for lit in literals {
            for length in [lit.count, lit.count + 1, lit.count + 7, 40, 77, 300] {
                for at in 0...(length - lit.count) {
                    var text = (0..<length).map { filler[($0 * 7 + length) % filler.count] }
                    text.replaceSubrange(at..<(at + lit.count), with: Self.randomCase(lit, &g))
                    let found = text.withUnsafeBufferPointer { search.scanVector($0)! }
                    let id = try #require(literals.firstIndex(of: lit))
                    // (The filler can make it occur earlier: `c` before `cccc`.)
                    #expect(found.firstEnd[id] >= 0 && found.firstEnd[id] <= Int32(at + lit.count), "\(String(decoding: lit, as: UTF8.self)) at \(at) of \(length)")
                    #expect(found.firstEnd == Self.naiveFirstEnds(literals, text))
                }
            }
        }
    }

    /// Which searches get the vector filter: literals of four bytes or more, at most 32 of them.
    @Test func vectorFilterOnlyForShortSetsOfLongLiterals() throws {
        let small = try #require(LiteralSearch(Self.smallLiterals))  // "abc": three bytes
        #expect(!small.hasVectorFilter)
        var many = Set<[UInt8]>()
        var g = Generator(state: 0x5151_2727_8989_0303)
        while many.count < LiteralSearch.vectorMaximumLiterals + 1 { many.insert((0..<8).map { _ in UInt8(0x61 + g.next(26)) }) }
        #expect(try #require(LiteralSearch(Array(many))).hasVectorFilter == false)
        let body = try #require(RuleSet.standard.prefilterPlan.searches.first)
        #expect(body.hasVectorFilter == LiteralSearch.vectorAvailable)
    }

    /// The standard rules' body literals, on texts of mail-like words and those literals.
    @Test func standardBodyLiterals() throws {
        let plan = RuleSet.standard.prefilterPlan
        #expect(!plan.searches.isEmpty)
        #expect(plan.searches.allSatisfy { $0.hasNarrowTable })
        var g = Generator(state: 0xD1B5_4A32_D192_ED03)
        for search in plan.searches {
            let literals = search.literals
            for length in [200, 256, 700, 2048, 9000] {
                for round in 0..<30 {
                    check(search, literals, Self.randomText(literals, length: length, rare: round % 3 != 0, &g))
                }
            }
        }
    }
}
