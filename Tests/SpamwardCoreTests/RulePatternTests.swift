import CLiteralScan
import MailMessage
import Testing

@testable import SpamwardCore

/// The regex rules' shortcuts (decided without the engine, or the engine started only where a
/// match can start) and RuleInput's header lookups, against the plain engine and the message's
/// own accessors.
@Suite("Rule patterns: shortcuts agree with the engine")
struct RulePatternTests {
    typealias RNG = FastPathTests.RNG

    /// Matches of the whole pattern, PCRE2 alone.
    func reference(_ pattern: String, caseInsensitive: Bool, _ text: [UInt8]) throws -> Bool {
        let m = try PCRE2Matcher(pattern, caseInsensitive: caseInsensitive, rule: "T")
        let md = MatchScratch.allocate()
        defer { md.free() }
        return text.withUnsafeBufferPointer { m.matches($0, scratch: md) }
    }

    @Test(arguments: [
        ("\\.(exe|scr|vbs|hta|pif|bat)$", true), ("\\.(exe|scr|vbs|hta|pif|bat)$", false),
        ("ab$", true), ("ab$", false), ("a(b|)c$", true), ("x\\.y(?:z|w)q$", true), ("(ex|e)xe$", false),
        ("a b$", true),
    ])
    func endLiteralsAreTheRegex(pattern: String, caseInsensitive: Bool) throws {
        let end = try #require(EndLiterals(pattern: pattern, caseInsensitive: caseInsensitive))
        var rng = RNG(state: 0x5EED_0001 &+ UInt64(pattern.utf8.count))
        let alphabet: [Character] = ["a", "b", "c", "A", "B", "C", "e", "x", "E", "X", ".", "\n", "s", "r", " ", "y", "z", "q", "é"]
        var matched = 0
        for _ in 0..<3_000 {
            var text = Array(rng.string(alphabet, Int(rng.next() % 12)).utf8)
            // Put a spelling at the end often enough to see matches.
            if rng.next() % 3 == 0 {
                let l = end.literals[Int(rng.next() % UInt64(end.literals.count))]
                text += l.map { rng.next() % 2 == 0 ? $0 : ($0 &- 0x61 < 26 ? $0 & 0xDF : $0) }
                if rng.next() % 3 == 0 { text.append(0x0A) }
            }
            let expected = try reference(pattern, caseInsensitive: caseInsensitive, text)
            let got = text.withUnsafeBufferPointer { end.matches($0) }
            #expect(got == expected, "/\(pattern)/ on \(String(decoding: text, as: UTF8.self).debugDescription)")
            if expected { matched += 1 }
        }
        #expect(matched >= 100)
    }

    @Test(arguments: [
        "a+$", "^abc$", "a|b$", "(a|b)?c$", "a.b$", "\\d$", "ab\\$", "abc", "(a(b|c))$", "[ab]$", "a{2}$", "(a|b)(c|d)$",
        "\\Qa\\E$", "(?i)a$", "ab*$", "$",
    ])
    func endLiteralsRefuseOtherPatterns(pattern: String) {
        #expect(EndLiterals(pattern: pattern, caseInsensitive: true) == nil)
    }

    /// Long texts (over ``RulePattern/onePassLength``) with many occurrences of the patterns'
    /// leading literals and near misses: the anchored runs at each occurrence (body, through the
    /// shared search), PCRE2's own start (a fixed first byte, whole message) and the end
    /// literals (uri) give the hits of the rule set without prefilters.
    @Test func longTextsHitAsWithoutShortcuts() throws {
        var defs = BuiltinRules.definitions.filter { $0.kind == .body || $0.kind == .full || $0.kind == .uri || $0.kind == .header }
        defs.append(.body("LATE", "(remove|taken off) (from )?(our|this) (mailing )?list", score: 1, "", caseInsensitive: false))
        defs.append(RuleDefinition(name: "FULL_PLAIN", kind: .full, pattern: "X-Spam-(Flag|Level): *YES", score: 1,
                                   description: "", caseInsensitive: false))
        let with = try RuleSet(defs, prefilters: true)
        #expect(with.prefilterPlan.searches.count >= 1)
        let without = try RuleSet(defs, prefilters: false)
        let pieces = [
            "remove ", "Remove from ", "our ", "this ", "mailing ", "list", "taken off ", "make ", "earn $100 ", "a ", "per ",
            "day", "week ", "lower ", "your ", "debt ", "mortgage ", "next of kin ", "the sum of ", "usd ", "million ",
            "click here to ", "be ", "removed ", "unsubscribe ", "100% ", "free ", "act now ", "order ", "today ", "now ",
            "money-back guarantee ", "this is not spam ", "isn't ", "online pharmacy ", "weight loss ", "word ", "the ",
            "\n", "x", "X-", "X-Mailer: ", "x-library:  mass mail ", "bulk ", "Mail ", "X-Spam-Level: ", "YES ",
            "http://example.com/a.exe ", "http://example.com/b.EXE\n", "http://example.com/c.exe.txt ",
        ]
        var rng = RNG(state: 0x1234_5678)
        var hits = 0
        var names = Set<String>()
        for _ in 0..<400 {
            var body = ""
            let n = 60 + Int(rng.next() % 200)
            for _ in 0..<n { body += pieces[Int(rng.next() % UInt64(pieces.count))] }
            var headers = ["From: \(pieces[Int(rng.next() % 8)])<a@example.org>", "Subject: \(pieces[Int(rng.next() % UInt64(pieces.count))])"]
            if rng.next() % 2 == 0 { headers.append("X-Mailer: \(["Group Mail", "Outlook", "bulk  mail"][Int(rng.next() % 3)])") }
            let m = mail(headers, body)
            let a = with.evaluate(m).map { "\($0.name)\($0.options)" }
            let b = without.evaluate(m).map { "\($0.name)\($0.options)" }
            #expect(a == b, "body: \(body.debugDescription)")
            hits += a.count
            for h in with.evaluate(m) { names.insert(h.name) }
        }
        #expect(hits >= 400)
        // Each shortcut had matches to find.
        for name in ["LATE", "BODY_EARN_MONEY", "BODY_NIGERIAN", "BODY_CREDIT", "FULL_BULK_MAILER", "FULL_PLAIN", "URI_EXECUTABLE"] {
            #expect(names.contains(name), "\(name) never hit")
        }
    }

    /// ``RulePattern/matchesAtEachLeading(_:firstAt:from:_:_:scratch:)`` (each case of a
    /// literal's rare byte searched for apart, and each case's next occurrence kept until it is
    /// passed) against PCRE2 over the whole text, on texts where the leading literals occur often
    /// in every mix of cases (the rare byte in upper case among them), with near misses, the first
    /// occurrences known (as the shared search gives them) or not, and from several offsets.
    @Test func eachLeadingOccurrenceInEitherCase() throws {
        let patterns = [
            "(earn|make) \\$?[0-9,]+ (a|per) (day|week|month)", "(remove|taken off) (from )?(our|this) (mailing )?list",
            "(click|tap) here to (be )?(removed|unsubscribe)", "(next of kin|beneficiary|the sum of) .{0,40}(us\\$|usd|million)",
            "(lower|reduce) your (interest|mortgage|debt)", "(\\.exe|-x-) file",
        ]
        let fillers = [
            "make ", "MAKE ", "maKe ", "mAke ", "earn ", "EARN ", "eArn ", "$100 ", "1,000 ", "a ", "per ", "day", "week ",
            "remove ", "REMOVE ", "remoVe ", "from ", "our ", "this ", "list", "mailing ", "taken off ", "TAKEN OFF ",
            "click here to ", "CLICK HERE TO ", "clicK here to ", "tap here to ", "TAP ", "be ", "removed", "unsubscribe", "next of kin ", "NEXT OF KIN ",
            "the sum of ", "THE SUM OF ", "usd", "million", "lower ", "LOWER ", "loWer ", "your ", "debt", "mortgage",
            ".exe ", ".EXE ", "-x- ", "-X- ", "file", " ", "\n", "ma", "ke", "mak", "k", "K", "v", "V", "word ",
        ].map { Array($0.utf8) }
        var rng = RNG(state: 0xCA5E_0001)
        let md = MatchScratch.allocate()
        defer { md.free() }
        var matched = 0, tries = 0
        for pattern in patterns {
            let p = try RulePattern(pattern, caseInsensitive: true, engine: .pcre2, rule: "T")
            let anchored = try #require(p.anchored, "/\(pattern)/ has no anchored form")
            let leading = try #require(p.leading)
            for _ in 0..<300 {
                var text: [UInt8] = []
                let n = 20 + Int(rng.next() % 120)
                for _ in 0..<n { text += rng.pick(fillers) }
                let expected = text.withUnsafeBufferPointer { p.matcher.matches($0, scratch: md) }
                for known in [false, true] {
                    for offset in [0, Int(rng.next() % 40)] {
                        // Where a match can start at the earliest: the first leading occurrence.
                        let firsts = leading.map { needle in
                            text.withUnsafeBufferPointer { LiteralPrefilter.firstFolded($0, needle) } ?? Int.max
                        }
                        let start = max(offset, 0)
                        let got = withUnsafeTemporaryAllocation(of: Int.self, capacity: leading.count) { firstAt in
                            for k in leading.indices { firstAt[k] = known && firsts[k] >= start ? firsts[k] : -1 }
                            return text.withUnsafeBufferPointer {
                                p.matchesAtEachLeading($0, firstAt: firstAt, from: start, anchored, leading, scratch: md)
                            }
                        }
                        // From an offset, only the matches starting there or later count.
                        let reference = start == 0 ? expected : text.withUnsafeBufferPointer { t in
                            (start...t.count).contains { anchored.matches(t, from: $0, scratch: md) }
                        }
                        #expect(got == reference, "/\(pattern)/ from \(start) (firsts known: \(known)): \(String(decoding: text, as: UTF8.self).debugDescription)")
                        tries += 1
                        if got { matched += 1 }
                    }
                }
            }
        }
        #expect(matched >= tries / 10 && matched <= tries - tries / 10, "\(matched) of \(tries) matched")
    }

    /// ``EndRun`` (a repeated byte, a repeated class, `$`) against PCRE2 on texts of spaces,
    /// tags in both cases, tabs and line feeds (a final one among them), in both case modes.
    @Test(arguments: [
        ("[ ]{5,}[0-9a-z]{4,}$", true, " "), ("[ ]{5,}[0-9a-z]{4,}$", false, " "), (" +[a-c]{2,}$", true, " "),
        ("x{2,}[0-9]+$", true, "x"), ("x{2,}[0-9]+$", false, "x"), ("[_]{3,}[a-z0-9]{1,}$", true, "_"),
    ])
    func endRunIsTheRegex(pattern: String, caseInsensitive: Bool, run: String) throws {
        let end = try #require(EndRun(pattern: pattern, caseInsensitive: caseInsensitive))
        var rng = RNG(state: 0x5EED_00E1 &+ UInt64(pattern.utf8.count))
        let pieces = [" ", "     ", "      ", "ab12", "AB12", "a", "Zz9", "xx", "X", "xxX", "7", "_", "___", "-", "\t", "\n", "abcd", "é",
                      "cab", "CAB", "b"]
        var matched = 0
        for _ in 0..<4_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 7) { text += rng.pick(pieces) }
            // Often a run of the byte (one too few to several too many) and a few more pieces.
            if rng.next() % 2 == 0 {
                text += String(repeating: run, count: 1 + Int(rng.next() % 7))
                for _ in 0..<Int(rng.next() % 3) { text += rng.pick(pieces) }
            }
            let bytes = Array(text.utf8)
            let expected = try reference(pattern, caseInsensitive: caseInsensitive, bytes)
            let got = bytes.withUnsafeBufferPointer { end.matches($0) }
            #expect(got == expected, "/\(pattern)/ on \(text.debugDescription)")
            if expected { matched += 1 }
        }
        #expect(matched >= 30)
    }

    @Test(arguments: [
        "[ ]{5,}[ a-z]{4,}$", "[ ]{5,}[0-9a-z]{4,}", "[ ]{5}[0-9a-z]{4,}$", "[ ]*[0-9a-z]{4,}$", "[^ ]{5,}[a-z]+$",
        "[ ]{5,}[\\w]{4,}$", "[ab]{5,}[0-9]+$", "a{0,}[0-9]+$", "[ ]{5,}[[:alpha:]]+$", "(?i)a+[0-9]+$",
    ])
    func endRunRefusesOtherPatterns(pattern: String) {
        #expect(EndRun(pattern: pattern, caseInsensitive: true) == nil)
    }

    /// `sw_find_pair` (vector and scalar) against a byte-by-byte search, from every start, on
    /// texts of 0-200 bytes where the pair occurs in both cases of its letters, near block ends
    /// and at the last position.
    @Test func pairSearchIsTheByteSearch() {
        var rng = RNG(state: 0x9A17_0001)
        let alphabet: [UInt8] = Array("xX-y+ \n".utf8) + [0x58 | 0x80, 0x78 ^ 0x20 ^ 0x40]
        let pairs: [(UInt8, UInt8, UInt8, UInt8)] = [(0x78, 0x20, 0x2D, 0), (0x2D, 0, 0x78, 0x20), (0x78, 0x20, 0x78, 0x20), (0x2D, 0, 0x2D, 0)]
        var found = 0
        for round in 0..<600 {
            let n = round < 100 ? round : Int(rng.next() % 200)
            let text = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let (a, fa, b, fb) = pairs[round % pairs.count]
            text.withUnsafeBufferPointer { t in
                guard let base = t.baseAddress else { return }
                for start in 0...n {
                    var expected = n
                    var i = start
                    while i + 1 < n {
                        if t[i] | fa == a && t[i + 1] | fb == b {
                            expected = i
                            break
                        }
                        i += 1
                    }
                    for avx2: Int32 in LiteralSearch.vectorAvailable ? [0, 1] : [0] {
                        let got = sw_find_pair(base, n, start, a, fa, b, fb, avx2)
                        #expect(got == expected, "pair \(a) \(b) from \(start) in \(text) (avx2 \(avx2))")
                    }
                    if expected < n { found += 1 }
                }
            }
        }
        #expect(found > 10_000)
    }

    /// A pattern that finds its own start and whose leading literals share their first two
    /// bytes (``RulePattern/leadingPair``) over long texts: tried anchored where the pair occurs,
    /// it matches exactly when PCRE2 over the whole text does, with the pair and the literals in
    /// every mix of cases, near misses (`x-mail`, `x-libr`, `X-` alone) and matches at the text's
    /// ends.
    @Test func pairStartsAreTheRegex() throws {
        let patterns = [
            ("X-(Mailer|Library): *(Bulk|Mass|Group) ?Mail", true), ("X-(Mailer|Library): *(Bulk|Mass|Group) ?Mail", false),
            ("money[- ]back guarantee", true), ("x-(ab|cd)e", true), ("\\bx-ab", false),
        ]
        let fillers = [
            "X-Mailer: ", "x-mailer:", "X-MAILER:  ", "x-Library: ", "X-LIBRARY:", "Bulk", "bulk ", "MASS", "group ", "Mail",
            " mail", "x-mail", "X-libr", "X-", "x-", "x", "X", "-", "money back guarantee", "MONEY-BACK GUARANTEE", "money",
            "mo", "x-abe", "X-CDE", "x-ab", "ax-ab", "\n", " ", "QUJD", "eHh4", "word ",
        ].map { Array($0.utf8) }
        var rng = RNG(state: 0x9A17_0002)
        let md = MatchScratch.allocate()
        defer { md.free() }
        var matched = 0, tries = 0
        for (pattern, caseless) in patterns {
            let p = try RulePattern(pattern, caseInsensitive: caseless, engine: .pcre2, rule: "T")
            #expect(p.findsOwnStart, "/\(pattern)/")
            _ = try #require(p.leadingPair, "/\(pattern)/ has no leading pair")
            for _ in 0..<400 {
                var text: [UInt8] = []
                while text.count <= RulePattern.onePassLength { text += rng.pick(fillers) }
                for _ in 0..<Int(rng.next() % 200) { text += rng.pick(fillers) }
                let expected = text.withUnsafeBufferPointer { p.matcher.matches($0, scratch: md) }
                let got = text.withUnsafeBufferPointer { p.matches($0, scratch: md) }
                #expect(got == expected, "/\(pattern)/: \(String(decoding: text, as: UTF8.self).debugDescription)")
                tries += 1
                if expected { matched += 1 }
            }
        }
        #expect(matched >= tries / 10 && matched <= tries - tries / 10, "\(matched) of \(tries) matched")
        // No pair: different second bytes, or a literal of one byte.
        #expect(try RulePattern("x(ab|-c)", caseInsensitive: true, engine: .pcre2, rule: "T").leadingPair == nil)
    }

    /// ``RuleInput/field(_:)`` and ``RuleInput/fields(_:)`` against the message's header fields,
    /// names of equal length and first byte included, in any case.
    @Test func headerLookupsAreTheMessagesFields() {
        let names = ["Received", "X-Mailer", "x-mailer", "RECEIVED", "Receiver", "Date", "From", "DATE", "date", "Dare",
                     "To", "Cc", "cc", "Message-ID", "Message-Id", "Message-IE", "Subject", "X-Spam", "Ü-Name", "ü-name"]
        var rng = RNG(state: 77)
        for _ in 0..<300 {
            var headers: [String] = []
            for _ in 0..<Int(rng.next() % 12) { headers.append("\(names[Int(rng.next() % UInt64(names.count))]): v\(rng.next() % 100)") }
            let m = mail(headers, "body")
            let input = RuleInput(message: m, environment: .default)
            for name in names + ["X-MAILER", "message-id", "Missing", "", "TO"] {
                #expect(input.field(name) == m.headers.first(name), "\(name) in \(headers)")
                #expect(input.fields(name) == m.headers.all(name), "\(name) in \(headers)")
            }
        }
    }

    /// FORGED_OUTLOOK's hex-heavy Message-ID test on bytes against the Character definition.
    /// `BuiltinRules.hasBytes` (memchr and memcmp on the string's bytes) against
    /// `String.containsBytes` for the needles `FORGED_OUTLOOK` uses, on random strings of 0-40
    /// bytes (inline and native, non-ASCII, the needles whole, cut short and in other cases).
    @Test func hasBytesIsContainsBytes() {
        let needles: [StaticString] = ["Outlook", "Outlook Express", "Microsoft Outlook", "$", "outlook", "PR", "x"]
        let pieces = ["Outlook", "Outloo", "outlook", "OUTLOOK", " Express", "Microsoft ", "Microsoft Outlook", "$", "P", "R", "PR",
                      "pr", "<", "@", "é", "ü", " ", "a", "Outlook Expres", "x"]
        var rng = RNG(state: 0xB17E5)
        var hits = 0
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<Int(rng.next() % 6) { s += rng.pick(pieces) }
            for needle in needles {
                let expected = s.containsBytes(needle)
                #expect(BuiltinRules.hasBytes(s, needle) == expected, "\(s.debugDescription) \(needle)")
                if expected { hits += 1 }
            }
        }
        #expect(hits > 10_000)
    }

    @Test func hexHeavyLocalPartIsTheCharacterCount() {
        func reference(_ mid: String) -> Bool {
            let local = mid.drop { $0 == "<" }.prefix { $0 != "@" }
            return local.filter(\.isHexDigit).count * 2 >= local.count
        }
        let alphabet: [Character] = ["<", "<", "@", ">", "0", "9", "a", "F", "g", "Z", ".", "$", "\u{FF11}", "\u{301}", "é", "\r\n"]
        var rng = RNG(state: 4242)
        var heavy = 0
        for _ in 0..<5_000 {
            let mid = rng.string(alphabet, Int(rng.next() % 16))
            let expected = reference(mid)
            #expect(BuiltinRules.isHexHeavyLocalPart(mid) == expected, "\(mid.debugDescription)")
            if expected { heavy += 1 }
        }
        #expect(heavy >= 500 && heavy <= 4_500)
    }

    /// SUBJECT_ALL_CAPS on bytes against the scalar definition.
    @Test func subjectAllCapsIsTheScalarCount() {
        func reference(_ subject: String) -> [String]? {
            var upper = 0, lower = 0
            for s in subject.unicodeScalars where s.properties.isAlphabetic {
                if s.properties.isUppercase { upper += 1 } else if s.properties.isLowercase { lower += 1 }
            }
            let words = subject.split(whereSeparator: { $0 == " " }).count
            return upper >= 10 && lower == 0 && words >= 2 ? [] : nil
        }
        let alphabet: [Character] = ["A", "B", "C", "D", "E", " ", " ", "!", "1", "a", "É", "é", "Ж", "ж", "中", "$"]
        var rng = RNG(state: 99)
        var hits = 0
        for _ in 0..<5_000 {
            var s = rng.string(alphabet, Int(rng.next() % 30))
            if rng.next() % 2 == 0 { s = s.filter { $0 != "a" && $0 != "é" && $0 != "ж" } }
            let expected = reference(s)
            #expect(BuiltinRules.subjectAllCaps(s) == expected, "\(s.debugDescription)")
            if expected != nil { hits += 1 }
        }
        #expect(hits >= 100)
    }
}
