import MailMessage
import Testing

@testable import SpamwardCore

/// The literal prefilters' derivations around character classes, and that a prefilter never
/// rejects a text its regex matches.
@Suite("Literal prefilters: classes")
struct LiteralPrefilterTests {
    typealias RNG = FastPathTests.RNG

    /// The conditions as strings (each condition: its literals).
    func conditions(_ pattern: String) -> [[String]]? {
        LiteralPrefilter(pattern: pattern)?.allOf.map { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test(arguments: [
        // A POSIX class inside a class is skipped whole: its `]` does not end the class (read so,
        // `]abc` became a required literal).
        ("[[:alpha:]]abc", [["abc"]]),
        ("[[:digit:]x]{3}abc", [["abc"]]),
        ("x[[.-.]]yzw", [["yzw"]]),
        ("[^[:space:]]+ tail", [[" tail"]]),
        ("[]abc]def", [["def"]]),
        ("[\\]]qrs", [["qrs"]]),
    ])
    func classesAreSkippedWhole(pattern: String, expected: [[String]]) {
        #expect((conditions(pattern) ?? []) == expected, "/\(pattern)/")
    }

    /// Patterns with POSIX and bracket classes and texts built from their pieces: whenever PCRE2
    /// matches a text, the prefilter passes it. Reading the first `]` of `[[:alpha:]]` as the
    /// class's end fails this.
    @Test func prefilterNeverRejectsAMatch() throws {
        let patterns = ["[[:alpha:]]abc", "[[:digit:]]{2}xyz", "[^[:space:]]+ tail", "[]]{2}end", "[[:upper:]][[:lower:]]+ing"]
        let pieces = ["a", "Z", "7", "abc", "]abc", "12xyz", "1xyz", "x tail", " tail", "]]end", "]end", "Going", "going", " ", "\n"]
        var rng = RNG(state: 0x9E4F_11A7)
        let scratch = MatchScratch.allocate()
        defer { scratch.free() }
        var matched = 0
        for round in 0..<3_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 6) { text += rng.pick(pieces) }
            let bytes = Array(text.utf8)
            for (i, p) in patterns.enumerated() {
                let regex = try PCRE2Matcher(p, caseInsensitive: (i + round) % 2 == 0, rule: "T")
                let filter = try #require(LiteralPrefilter(pattern: p), "/\(p)/ has a prefilter")
                guard bytes.withUnsafeBufferPointer({ regex.matches($0, scratch: scratch) }) else { continue }
                matched += 1
                #expect(bytes.withUnsafeBufferPointer { filter.mayMatch(unfolded: $0) },
                        "/\(p)/ matches \(text.debugDescription) but its prefilter rejects it")
            }
        }
        #expect(matched > 1_000)
    }
}
