import MailMessage
import Testing

@testable import SpamwardCore

@Suite("Literal search (one pass for all prefilter literals of a text)")
struct LiteralSearchTests {
    /// A small deterministic generator (xorshift), so that failures reproduce.
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(n))
        }
    }

    func found(_ search: LiteralSearch, _ text: [UInt8]) -> Set<Int> {
        let f = text.withUnsafeBufferPointer { search.scan($0) }
        return Set((0..<search.literals.count).filter { f.contains(Int32($0)) })
    }

    func expected(_ literals: [[UInt8]], _ text: [UInt8]) -> Set<Int> {
        let folded = RuleInput.fold(text)
        return folded.withUnsafeBufferPointer { f in
            Set(literals.indices.filter { LiteralPrefilter.contains(f, LiteralPrefilter.Needle(literals[$0])) })
        }
    }

    @Test func findsWhatTheByteSearchFinds() throws {
        // Overlapping literals (one inside another, shared prefixes and suffixes), searched in
        // texts of mixed case over a small alphabet so that they occur often.
        let literals: [[UInt8]] = ["abc", "bca", "abcab", "cab", "aab", "b$c", "a-b", "ccc", "abcabcabc", "x\u{e9}y"]
            .map { Array($0.utf8) }
        let search = try #require(LiteralSearch(literals))
        let alphabet: [UInt8] = Array("abcABC$-x".utf8) + [0xC3, 0xA9, 0x79, 0x0A]
        var g = Generator(state: 0x9E37_79B9_7F4A_7C15)
        var hits = 0
        for length in [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 31, 64, 200] {
            for _ in 0..<150 {
                let text = (0..<length).map { _ in alphabet[g.next(alphabet.count)] }
                let want = expected(literals, text)
                #expect(found(search, text) == want, "text: \(text)")
                // Each literal's first end: the first occurrence in the folded text.
                let f = text.withUnsafeBufferPointer { search.scan($0) }
                let folded = RuleInput.fold(text)
                for (id, lit) in literals.enumerated() {
                    let first = folded.count >= lit.count
                        ? (0...(folded.count - lit.count)).first { folded[$0..<($0 + lit.count)].elementsEqual(lit) } : nil
                    #expect(Int(f.firstEnd[id]) == (first.map { $0 + lit.count } ?? -1), "literal \(id) in \(text)")
                }
                hits += want.count
            }
        }
        #expect(hits > 500)  // the literals do occur
    }

    @Test func caseAndPositions() throws {
        let search = try #require(LiteralSearch([Array("click here".utf8), Array("100%".utf8), Array("here".utf8)]))
        #expect(found(search, Array("CLICK HERE".utf8)) == [0, 2])
        #expect(found(search, Array("100%".utf8)) == [1])  // the whole text, ending at the last byte
        #expect(found(search, Array("x100% clickhere".utf8)) == [1, 2])
        #expect(found(search, Array("".utf8)) == [])
        #expect(found(search, Array("click her".utf8)) == [])
    }

    @Test func manyLiteralsSpanSeveralWords() throws {
        let literals = (0..<150).map { Array("w\($0)z".utf8) }
        let search = try #require(LiteralSearch(literals))
        #expect(search.wordCount == 3)
        #expect(found(search, Array("W7Z and w149z, w64z".utf8)) == [7, 149, 64])
    }

    @Test func planJudgesConditionsLikeThePrefilter() throws {
        let patterns = ["click here to (be )?(removed|unsubscribe)", "(act now|limited time offer)", "money[- ]back guarantee",
                        "(lower|reduce) your (interest|debt)", "[0-9]+x"]
        let prefilters = patterns.map { LiteralPrefilter(pattern: $0) }
        let plan = PrefilterPlan(prefilters: prefilters, textKeys: patterns.map { _ in AnyHashable("body") }, minimumLiterals: 1)
        #expect(plan.searches.count == 1)
        #expect(plan.searchOf == [0, 0, 0, 0, -1])
        let texts = ["Click here to be REMOVED", "click here to stay", "act NOW", "money-back guarantee", "lower your debt",
                     "reduce your interest and click here to unsubscribe", "lower my debt", ""]
        for t in texts {
            let bytes = Array(t.utf8)
            let bits = bytes.withUnsafeBufferPointer { plan.searches[0].scan($0) }
            let folded = RuleInput.fold(bytes)
            for r in 0..<4 {
                let old = folded.withUnsafeBufferPointer { prefilters[r]?.mayMatch($0) ?? true }
                #expect(plan.passes(r, bits) == old, "rule \(patterns[r]) on \(t)")
            }
        }
    }

    /// The plan's flat per-rule data (``PrefilterPlan/flat``) answers as the nested arrays it was
    /// made from: conditions, the earliest start and each leading literal's first start, for the
    /// standard rules' body search on texts rich in their literals; and the plan's leading
    /// literals of each rule are its pattern's, in order (what ``RuleInput`` reads by index).
    /// The rule input's search into memory it owns (`scan(_:into:)`, every entry written over
    /// whatever the memory held) gives the first ends `scan(_:)` gives, short texts (one chain)
    /// and long ones (interleaved segments) alike.
    @Test func scanIntoOwnedMemoryIsTheScan() throws {
        let search = try #require(RuleSet.standard.prefilterPlan.searches.first)
        let words = search.literals.map { String(decoding: $0, as: UTF8.self) } + ["filler ", " ", "\n", "x", "MAKE", "Earn"]
        var rng = FastPathTests.RNG(state: 0x5CA1)
        let ends = UnsafeMutableBufferPointer<Int32>.allocate(capacity: search.literals.count + 3)
        defer { ends.deallocate() }
        for round in 0..<1_500 {
            var text = ""
            for _ in 0..<Int(rng.next() % (round % 3 == 0 ? 200 : 20)) { text += rng.pick(words) + (rng.next() % 2 == 0 ? " " : "") }
            let bytes = Array(text.utf8)
            ends.initialize(repeating: Int32(truncatingIfNeeded: rng.next()))
            let expected = bytes.withUnsafeBufferPointer { search.scan($0) }
            bytes.withUnsafeBufferPointer { search.scan($0, into: ends) }
            #expect(Array(ends.prefix(search.literals.count)) == expected.firstEnd, "\(bytes.count) bytes")
            let view = UnsafeBufferPointer(ends)
            for r in RuleSet.standard.prefilterPlan.searchOf.indices where RuleSet.standard.prefilterPlan.searchOf[r] == 0 {
                let plan = RuleSet.standard.prefilterPlan
                #expect(plan.passes(r, ends: view) == plan.passes(r, expected))
                #expect(plan.earliestStart(r, ends: view) == plan.earliestStart(r, expected, in: search))
            }
        }
    }

    @Test func flatPlanIsTheNestedArrays() throws {
        let rules = RuleSet.standard
        let plan = rules.prefilterPlan
        let search = try #require(plan.searches.first)
        var checkedLeading = 0
        for (r, c) in rules.compiled.enumerated() where plan.searchOf[r] >= 0 {
            guard case .regex(_, let p) = c, let leading = p.leading else { continue }
            #expect(plan.leading[r].map { plan.searches[plan.searchOf[r]].literals[Int($0)] } == leading.map(\.bytes))
            checkedLeading += 1
        }
        #expect(checkedLeading >= 5)
        let words = search.literals.map { String(decoding: $0, as: UTF8.self) } + ["filler ", " ", "\n", "x"]
        var rng = FastPathTests.RNG(state: 0xF1A7)
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 12) { text += rng.pick(words) + (rng.next() % 2 == 0 ? " " : "") }
            let bytes = Array(text.utf8)
            let found = bytes.withUnsafeBufferPointer { search.scan($0) }
            for r in plan.searchOf.indices where plan.searchOf[r] == 0 {
                var passes = true
                for condition in plan.conditions[r] where !condition.contains(where: { found.contains($0) }) { passes = false }
                #expect(plan.passes(r, found) == passes)
                let ids = plan.leading[r]
                let starts = ids.map { found.contains($0) ? Int(found.firstEnd[Int($0)]) - search.literals[Int($0)].count : Int.max }
                let earliest: Int? = ids.isEmpty ? 0 : starts.min().flatMap { $0 == Int.max ? nil : max(0, $0) }
                #expect(plan.earliestStart(r, found, in: search) == earliest)
                var firstAt = [Int](repeating: -1, count: ids.count)
                let written = firstAt.withUnsafeMutableBufferPointer { plan.firstLeadingStarts(r, found, into: $0) }
                #expect(written)
                #expect(firstAt == starts, "rule \(r) on \(text.debugDescription)")
            }
        }
        // Rules without a search: no conditions, start 0, no leading starts.
        if let r = plan.searchOf.firstIndex(of: -1) {
            let found = LiteralSearch.Found(firstEnd: [])
            #expect(plan.passes(r, found))
            #expect(plan.earliestStart(r, found, in: search) == 0)
            var one = [Int](repeating: -1, count: 1)
            #expect(!one.withUnsafeMutableBufferPointer { plan.firstLeadingStarts(r, found, into: $0) })
        }
    }

    @Test(arguments: [
        ("click here to (be )?removed", ["click here to "]),
        ("(earn|make) \\$?[0-9,]+ (a|per) day", ["earn", "make"]),
        ("(act now|order (now|today)|don't)", ["act now", "order now", "order today", "don't"]),
        // Literal text then a required group of plain alternatives: the text before each.
        ("X-(Mailer|Library): *(Bulk|Mass) ?Mail", ["x-mailer", "x-library"]),
        ("\\.(exe|scr)$", [".exe", ".scr"]),
        ("xy(ab|cd)+z", ["xyab", "xycd"]),
        ("x(ab|c)+y", []),
        ("ab(cd|ef)?g", []),
        ("(?:order (now|today[0-9]))", ["order "]),
        ("\\bFree\\b", ["free"]),
        ("abc|(?:def|ghi)x", ["abc", "def", "ghi"]),
        ("money[- ]back", ["money"]),
        ("ab+cd", ["ab"].filter { $0.count >= 3 }),
        ("abcd+e", ["abcd"]),
        ("abcd?e", ["abc"]),
        ("(abc)?def", []),
        ("(?i)abcdef", []),
        ("(?<=x)abcdef", []),
        ("^abcdef", []),
        ("abc|[0-9]+", []),
        ("\\$[0-9]{2,}|[0-9]+% off", []),
        ("x{2}yyy", []),
    ])
    func leadingLiterals(pattern: String, expected: [String]) {
        let l = LiteralPrefilter.leadingLiterals(pattern: pattern)
        #expect((l?.map { String(decoding: $0, as: UTF8.self) } ?? []) == expected)
    }

    /// Every match starts at or after the first occurrence of a leading literal: PCRE2 run from
    /// there finds what it finds from the start (here checked against the whole-text match).
    @Test func startingLateFindsTheSameMatches() throws {
        let patterns = ["(earn|make) \\$?[0-9,]+ (a|per) (day|week)", "\\bfree\\b", "click here to (be )?removed",
                        "(?<=x)abc", "(lower|reduce) your debt"]
        let texts = ["I make $100 a day and earn $5 per week", "freedom is free", "click here to removed CLICK HERE TO BE REMOVED",
                     "abc xabc", "LOWER your DEBT", "earn money", "a free", ""]
        var defs: [RuleDefinition] = []
        for (i, p) in patterns.enumerated() {
            for ci in [false, true] { defs.append(.body("R\(i)\(ci ? "I" : "")", p, score: 1, "", caseInsensitive: ci)) }
        }
        // Filler rules so that the body gets a shared search.
        for i in 0..<6 { defs.append(.body("F\(i)", "filler\(i)word", score: 1, "")) }
        let with = try RuleSet(defs, prefilters: true)
        #expect(with.prefilterPlan.searches.count == 1)
        let without = try RuleSet(defs, prefilters: false)
        var total = 0
        for t in texts {
            let m = mail(["Subject: -"], t)
            let a = hitNames(with, m)
            #expect(a == hitNames(without, m), "text: \(t)")
            total += a.count
        }
        #expect(total >= 8)
    }
}
