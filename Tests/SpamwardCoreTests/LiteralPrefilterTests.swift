import MailMessage
import Testing

@testable import SpamwardCore

/// The literal prefilters' derivations (patterns → conditions) and the rule that makes them
/// exact: a prefilter never rejects a text its regex matches.
@Suite("Literal prefilters: derivations and exactness")
struct LiteralPrefilterTests {
    typealias RNG = FastPathTests.RNG

    /// The conditions as strings (each condition: its literals).
    func conditions(_ pattern: String) -> [[String]]? {
        LiteralPrefilter(pattern: pattern)?.allOf.map { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test(arguments: [
        // A class of one byte is that byte; `{n,}` and `{n}` give n copies.
        ("[ ]{5,}[0-9a-z]{4,}$", [["     "]]),
        ("ab{3}cd", [["abbbcd"]]),
        ("a[-]{2}b", [["a--b"]]),
        ("x[.]y", [["x.y"]]),
        ("[\\]]{3}", [["]]]"]]),
        ("[]]{3}", [["]]]"]]),
        ("a{0,3}bcd", [["bcd"]]),
        ("[ab]{5,}xyz", [["xyz"]]),
        ("[^ ]{5,}abc", [["abc"]]),
        ("q{20,}", [[String(repeating: "q", count: LiteralPrefilter.maximumCopies)]]),
        ("q{2}{3}x", []),
        // A POSIX class inside a class is skipped whole (its `]` does not end the class).
        ("[[:alpha:]]abc", [["abc"]]),
        ("[[:digit:]x]{3}abc", [["abc"]]),
        // Alternatives without a long literal fall back to a rare byte.
        ("\\$[0-9]{2,}|[0-9]+% off|free money|cash bonus", [["$", "% off", "free money", "cash bonus"]]),
        ("(\\$[0-9]{2,}|[0-9]+% off|free money|cash bonus)", [["$", "% off", "free money", "cash bonus"]]),
        ("\\$[0-9]+", [["$"]]),
        ("@[a-z]+\\.(com|net)", [[".com", ".net"]]),
        ("a[0-9]|bcd", []),
        ("(a|per) day", [[" day"]]),
        // Unchanged derivations of the built-in patterns.
        ("(earn|make) \\$?[0-9,]+ (a|per) (day|week|month)", [["earn", "make"], [" day", " week", " month"]]),
        ("X-(Mailer|Library): *(Bulk|Mass|Group) ?Mail", [["x-mailer", "x-library"], ["bulk", "mass", "group"], ["mail"]]),
    ])
    func derivations(pattern: String, expected: [[String]]) {
        #expect((conditions(pattern) ?? []) == expected, "/\(pattern)/")
    }

    @Test func shortLiteralsAreMarkedAndKeptOutOfSharedSearches() throws {
        #expect(LiteralPrefilter(pattern: "\\$[0-9]+|free money")?.hasShortLiterals == true)
        #expect(LiteralPrefilter(pattern: "[ ]{5,}x")?.hasShortLiterals == false)
        // A group's short condition is dropped beside long conditions.
        #expect(conditions("(\\$[0-9]|abc) defgh") == [[" defgh"]])
        // Of the built-in rules, only SUBJECT_MONEY has a short literal; no body rule does.
        let short = BuiltinRules.definitions.filter { $0.kind != .meta && $0.kind != .eval }
            .filter { LiteralPrefilter(pattern: $0.pattern)?.hasShortLiterals == true }.map(\.name)
        #expect(short == ["SUBJECT_MONEY"])
        // A rule with short literals gets no shared search, even among many body rules.
        var defs = BuiltinRules.definitions
        defs.append(.body("DOLLARS", "\\$[0-9]{3,}|cash bonus", score: 1, ""))
        let set = try RuleSet(defs)
        let rule = try #require(set.index["DOLLARS"])
        let body = try #require(set.index["BODY_PILLS"])
        #expect(set.prefilterPlan.searchOf[rule] == -1)
        #expect(set.prefilterPlan.searchOf[body] >= 0)
        let m = mail(["Subject: offer"], "only $5000 today")
        #expect(hitNames(set, m).contains("DOLLARS"))
        #expect(!hitNames(set, mail(["Subject: offer"], "only $50 today")).contains("DOLLARS"))
    }

    /// Patterns of the new derivations (one-byte classes, counted repeats, rare-byte fallbacks)
    /// and texts built from their pieces: whenever PCRE2 matches a text, the prefilter passes it
    /// (folded and unfolded), and the rule sets with and without prefilters hit alike as header
    /// and as body rules. Taking one copy too many of a repeated byte, or a class's byte wrong,
    /// fails this.
    @Test func prefilterNeverRejectsAMatch() throws {
        let patterns = [
            "[ ]{5,}[0-9a-z]{4,}$", "(\\$[0-9]{2,}|[0-9]+% off|free money|cash bonus)", "ab{3}c", "a[-]{2}b", "x[.]y[ ]z",
            "\\$[0-9]+|#{2}", "[[:alpha:]]{2}zzz", "q{4,}|w{3}", "(%|@)[a-z]{2}", "[]]{2}x", "xc{3,4}d",
        ]
        let pieces = [
            " ", "  ", "     ", "      ", "$", "$1", "$12", "$123", "5% off", "% off", "FREE money", "cash Bonus", "abbbc", "abbc",
            "a--b", "a-b", "x.y z", "x.y  z", "#", "##", "zz", "ab", "qqq", "qqqq", "www", "ww", "%ab", "@cd", "]]x", "]x", "xccd",
            "xcccd", "xccccd", "zzz", "a1b2", "ABCD", "x", "\n", "é",
        ]
        var rng = RNG(state: 0x9E4F_11A7)
        var defs: [RuleDefinition] = []
        for (i, p) in patterns.enumerated() {
            defs.append(.header("H\(i)", "Subject", p, score: 1, "", caseInsensitive: i % 2 == 0))
            defs.append(.body("B\(i)", p, score: 1, "", caseInsensitive: i % 2 == 1))
        }
        let with = try RuleSet(defs, prefilters: true)
        let without = try RuleSet(defs, prefilters: false)
        let scratch = MatchScratch.allocate()
        defer { scratch.free() }
        var matched = 0
        var rejected = 0
        for round in 0..<4_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 6) { text += rng.pick(pieces) }
            let bytes = Array(text.utf8)
            for (i, p) in patterns.enumerated() {
                let caseless = (i + round) % 2 == 0
                let regex = try PCRE2Matcher(p, caseInsensitive: caseless, rule: "T")
                let filter = try #require(LiteralPrefilter(pattern: p), "/\(p)/ has a prefilter")
                let hit = bytes.withUnsafeBufferPointer { regex.matches($0, scratch: scratch) }
                let passes = bytes.withUnsafeBufferPointer { filter.mayMatch(unfolded: $0) }
                let folded = RuleInput.fold(bytes)
                let passesFolded = folded.withUnsafeBufferPointer { filter.mayMatch($0) }
                #expect(passes == passesFolded, "/\(p)/ on \(text.debugDescription)")
                if hit {
                    matched += 1
                    #expect(passes, "/\(p)/ (caseless \(caseless)) matches \(text.debugDescription) but its prefilter rejects it")
                } else if !passes {
                    rejected += 1
                }
            }
            if round % 8 == 0 {
                let m = mail(["Subject: " + String(text.map { $0 == "\n" ? " " : $0 })], text)
                #expect(hitNames(with, m) == hitNames(without, m), "text: \(text.debugDescription)")
            }
        }
        #expect(matched > 1_000)
        #expect(rejected > 2_000)  // the prefilters do reject
    }
}
