import MailMessage
import Testing

@testable import SpamwardCore

/// A message built from header lines and a body (CRLF line ends).
func mail(_ headers: [String], _ body: String) -> Message {
    let text = headers.joined(separator: "\r\n") + "\r\n\r\n" + body
    return MessageParser.parse(Array(text.utf8))
}

let cleanHeaders = [
    "From: Alice Example <alice@example.org>", "To: bob@example.net", "Subject: Lunch on Friday",
    "Date: Fri, 27 Nov 2026 10:00:00 +0000", "Message-ID: <abc123@example.org>",
    "Received: from mx.example.org by mx.example.net; Fri, 27 Nov 2026 10:00:05 +0000",
]

func hitNames(_ set: RuleSet, _ m: Message) -> Set<String> { Set(set.evaluate(m).map(\.name)) }

@Suite("Rule engine")
struct RuleEngineTests {
    @Test func regexRuleKinds() throws {
        let set = try RuleSet([
            .header("SUBJ", "Subject", "lunch", score: 1, "s", caseInsensitive: true),
            .header("SUBJ_CASE", "Subject", "lunch", score: 1, "s"),
            RuleDefinition(name: "FROM_NAME", kind: .header, pattern: "^Alice", header: "From", headerPart: .name, score: 1, description: ""),
            RuleDefinition(name: "FROM_ADDR", kind: .header, pattern: "^alice@example\\.org$", header: "From", headerPart: .addr, score: 1, description: ""),
            RuleDefinition(name: "ALL_HDR", kind: .header, pattern: "Message-ID: <abc", header: "ALL", score: 1, description: ""),
            .body("BODY", "see you at (noon|one)", score: 1, "b"),
            RuleDefinition(name: "RAW", kind: .rawbody, pattern: "=3D", score: 1, description: ""),
            RuleDefinition(name: "FULL", kind: .full, pattern: "(?m)^To: bob@", score: 1, description: ""),
            RuleDefinition(name: "URI", kind: .uri, pattern: "^https://www\\.example\\.com/menu$", score: 1, description: ""),
        ], environment: RuleEnvironment(now: 1_800_000_000))
        let m = mail(cleanHeaders, "Hi Bob, see you at noon. Menu: https://WWW.Example.COM./menu\r\nx=3D\r\n")
        let hits = hitNames(set, m)
        #expect(hits == ["SUBJ", "FROM_NAME", "FROM_ADDR", "ALL_HDR", "BODY", "RAW", "URI"].reduce(into: Set<String>()) { $0.insert($1) }.union(["FULL"]))
        #expect(!hits.contains("SUBJ_CASE"))
    }

    /// Each target reads its own text and no other (the evaluation loop passes the targets
    /// without payload as constants, by kind): a pattern found only in the headers, only in the
    /// raw body, only in the decoded body, only in a URL, hits exactly the rules of the kinds
    /// whose text has it, and the options name the header a header rule read.
    @Test func eachTargetReadsItsOwnText() throws {
        var defs: [RuleDefinition] = []
        for (probe, pattern) in [("HDR", "probe-in-header"), ("RAWB", "probe=3Din"), ("DEC", "probe=in"), ("URL", "probe-in-url")] {
            defs.append(RuleDefinition(name: "ALL_\(probe)", kind: .header, pattern: pattern, header: "ALL", score: 1, description: ""))
            defs.append(RuleDefinition(name: "X_\(probe)", kind: .header, pattern: pattern, header: "X-Probe", score: 1, description: ""))
            defs.append(RuleDefinition(name: "RAW_\(probe)", kind: .rawbody, pattern: pattern, score: 1, description: ""))
            defs.append(RuleDefinition(name: "FULL_\(probe)", kind: .full, pattern: pattern, score: 1, description: ""))
            defs.append(.body("BODY_\(probe)", pattern, score: 1, ""))
            defs.append(RuleDefinition(name: "URI_\(probe)", kind: .uri, pattern: pattern, score: 1, description: ""))
        }
        let set = try RuleSet(defs, environment: RuleEnvironment(now: 1_800_000_000))
        let m = mail(cleanHeaders + ["X-Probe: probe-in-header", "Content-Transfer-Encoding: quoted-printable"],
                     "See probe=3Din the body: http://example.com/probe-in-url\r\n")
        let hits = set.evaluate(m)
        let names = Set(hits.map(\.name))
        #expect(names == ["ALL_HDR", "X_HDR", "FULL_HDR", "RAW_RAWB", "FULL_RAWB", "BODY_DEC", "BODY_URL", "RAW_URL", "FULL_URL", "URI_URL"])
        #expect(hits.first { $0.name == "X_HDR" }?.options == ["X-Probe"])
    }

    @Test func metaRules() throws {
        let defs: [RuleDefinition] = [
            .body("A", "alpha", score: 0, ""), .body("B", "beta", score: 0, ""), .body("C", "gamma", score: 0, ""),
            .meta("A_AND_NOT_B", "A && !B", score: 1, ""),
            .meta("TWO_OF_THREE", "(A + B + C) >= 2", score: 1, ""),
            .meta("ANY", "(A || B) || C", score: 1, ""),
            .meta("NESTED", "TWO_OF_THREE && !(A_AND_NOT_B)", score: 1, ""),
            .meta("EXACTLY_ONE", "A + B + C == 1", score: 1, ""),
        ]
        let set = try RuleSet(defs)
        #expect(hitNames(set, mail(cleanHeaders, "alpha")) == ["A", "A_AND_NOT_B", "ANY", "EXACTLY_ONE"])
        #expect(hitNames(set, mail(cleanHeaders, "alpha beta")) == ["A", "B", "TWO_OF_THREE", "ANY", "NESTED"])
        #expect(hitNames(set, mail(cleanHeaders, "nothing")) == [])
        // Metas may come before the rules they read.
        let reordered = try RuleSet(Array(defs.reversed()))
        #expect(hitNames(reordered, mail(cleanHeaders, "alpha beta")) == ["A", "B", "TWO_OF_THREE", "ANY", "NESTED"])
        // A disabled rule counts as not hit.
        var d2 = defs
        d2[1].enabled = false
        #expect(hitNames(try RuleSet(d2), mail(cleanHeaders, "alpha beta")) == ["A", "A_AND_NOT_B", "ANY", "EXACTLY_ONE"])
    }

    // MARK: validation errors

    func error(_ defs: [RuleDefinition]) -> RuleError? {
        do {
            _ = try RuleSet(defs)
            return nil
        } catch { return error }
    }

    @Test func invalidRegexNamesRuleAndOffset() throws {
        let e = try #require(error([.body("BAD_RE", "abc(def", score: 1, "")]))
        #expect(e.code == .invalidRegex)
        #expect(e.rule == "BAD_RE")
        #expect(e.offset == 7)
        #expect(e.description.contains("rule BAD_RE"))
        #expect(e.description.contains("missing closing parenthesis"))
    }

    @Test func validationErrors() throws {
        #expect(error([.body("bad name!", "x", score: 1, "")])?.code == .invalidName)
        #expect(error([.body("1ABC", "x", score: 1, "")])?.code == .invalidName)
        #expect(error([.body("A", "x", score: 1, ""), .body("A", "y", score: 1, "")])?.code == .duplicateName)
        #expect(error([.body("A", "x", score: .nan, "")])?.code == .invalidScore)
        #expect(error([RuleDefinition(name: "H", kind: .header, pattern: "x", score: 1, description: "")])?.code == .missingHeader)
        #expect(error([.header("H", "Bad Name", "x", score: 1, "")])?.code == .missingHeader)
        let unknown = error([.body("A", "x", score: 1, ""), .meta("M", "A && NOPE", score: 1, "")])
        #expect(unknown?.code == .unknownRule)
        #expect(unknown?.offset == 5)
        #expect(unknown?.rule == "M")
        #expect(error([.meta("M", "(A", score: 1, ""), .body("A", "x", score: 1, "")])?.code == .invalidMetaExpression)
        #expect(error([.meta("M", "A &&", score: 1, ""), .body("A", "x", score: 1, "")])?.code == .invalidMetaExpression)
        #expect(error([.meta("M", "A B", score: 1, ""), .body("A", "x", score: 1, "")])?.code == .invalidMetaExpression)
        let cycle = error([.meta("M1", "M2", score: 1, ""), .meta("M2", "M3 || M1", score: 1, ""), .meta("M3", "1", score: 1, "")])
        #expect(cycle?.code == .dependencyCycle)
        #expect(cycle?.message.contains("M1 -> M2 -> M1") == true)
        #expect(error([.eval("E", check: "no_such_check", score: 1, "")])?.code == .unknownCheck)
    }

    @Test func overrides() throws {
        let set = try RuleSet.builtIn(overrides: [RuleOverride(name: "MISSING_DATE", score: 0.25),
                                                  RuleOverride(name: "MISSING_MESSAGE_ID", enabled: false)])
        let m = mail(["From: a@example.org", "Subject: hi"], "hello")
        let hits = set.evaluate(m)
        #expect(hits.first { $0.name == "MISSING_DATE" }?.score == 0.25)
        #expect(!hits.contains { $0.name == "MISSING_MESSAGE_ID" })
        #expect(throws: RuleError.self) { try set.applying([RuleOverride(name: "NO_SUCH_RULE", score: 1)]) }
    }

    // MARK: prefilter

    @Test(arguments: [
        ("click here to (be )?removed", ["click here to "]),
        ("abc|defg|hij", ["abc", "defg", "hij"]),
        ("foo(bar)?bazz", ["bazz"]),
        ("colou?r chart", ["r chart"]),
        ("a+bcd", ["bcd"]),
        ("xyz{0,2}qqq", ["qqq"]),
        ("\\$[0-9]{2,}|[0-9]+% off", []),
        ("(?x) a b c", []),
        ("\\bfree\\b", ["free"]),
        ("money\\.back", ["money.back"]),
        ("FOO.BAR", ["foo"]),
        ("FOO.BARZ", ["barz"]),
    ])
    func prefilterLiterals(pattern: String, expected: [String]) {
        let p = LiteralPrefilter(pattern: pattern)
        #expect((p?.anyOf.map { String(decoding: $0, as: UTF8.self) } ?? []) == expected)
    }

    @Test func prefilterDoesNotChangeResults() throws {
        let patterns = [
            "click here to (be )?(removed|unsubscribe)", "100% (guaranteed|free)", "act now|limited time offer",
            "money[- ]back guarantee", "\\bfree\\b", "colou?r", "VIAGRA", "(?i)viagra", "a+b+c+", "x{0,3}yz",
            "[0-9]{3}-[0-9]{4}", "^Subject", "remove$", "foo\\.bar", "\\$[0-9]+", "ab|cd|ef", "é[a-z]+",
            "X-(Mailer|Library): *(Bulk|Mass|Group) ?Mail", "\\.(exe|scr)$", "(earn|make) \\$?[0-9,]+ (a|per) (day|week)",
            "order (?:now|today)", "x(ab|c)+y",
        ]
        let texts = [
            "Click HERE to be removed from this list", "100% Guaranteed FREE!!!", "Act Now", "limited TIME offer",
            "Money back guarantee", "free", "freedom", "color colour colr", "viagra Viagra VIAGRA", "aabbcc", "yz xxxyz",
            "555-1234", "Subject: x", "please remove", "foo.bar fooxbar", "$100", "ab", "", "xéa café",
            "x-mailer: bulk mail", "X-Library:Group Mail", "X-Mailer: Mass mail", "x mailer: bulk mail", "get setup.EXE",
            "setup.exe now", "setup.scr", "earn $1,000 a day", "MAKE 50 per week", "earn 5 a month", "order today", "ORDER NOW!",
            "order later", "xababcy", "xy", "xcy",
        ]
        var defs: [RuleDefinition] = []
        for (i, p) in patterns.enumerated() {
            defs.append(.body("R\(i)", p, score: 1, "", caseInsensitive: i % 2 == 0))
            defs.append(.body("S\(i)", p, score: 1, "", caseInsensitive: i % 2 == 1))
        }
        let with = try RuleSet(defs, prefilters: true)
        let without = try RuleSet(defs, prefilters: false)
        var total = 0
        for t in texts {
            let m = mail(["Subject: -"], t)
            let a = hitNames(with, m)
            #expect(a == hitNames(without, m), "text: \(t)")
            total += a.count
        }
        #expect(total > 20)  // the texts do hit
        // Header rules: each text alone, prefiltered literal by literal (no shared search), the
        // regex run from the first leading literal when the pattern has some.
        var headerDefs: [RuleDefinition] = []
        for (i, p) in patterns.enumerated() {
            headerDefs.append(.header("H\(i)", "Subject", p, score: 1, "", caseInsensitive: i % 2 == 0))
        }
        let headerWith = try RuleSet(headerDefs, prefilters: true)
        let headerWithout = try RuleSet(headerDefs, prefilters: false)
        var headerTotal = 0
        for t in texts {
            let m = mail(["Subject: " + t], "-")
            let a = hitNames(headerWith, m)
            #expect(a == hitNames(headerWithout, m), "subject: \(t)")
            headerTotal += a.count
        }
        #expect(headerTotal > 20)
    }

    @Test func enginesAgree() throws {
        let defs: [RuleDefinition] = [
            .body("A", "click here to (be )?(removed|unsubscribe)", score: 1, ""),
            .body("B", "[0-9]{3}-[0-9]{4}", score: 1, ""), .body("C", "^free", score: 1, "", caseInsensitive: false),
        ]
        let m = mail(["Subject: free"], "click here to be removed 555-1234")
        let expected: Set<String> = ["A", "B", "C"]
        for engine in RegexEngine.allCases {
            #expect(hitNames(try RuleSet(defs, engine: engine), m) == expected, "engine \(engine)")
        }
    }

    // MARK: scanner integration

    @Test func hitsAreSymbolsAndFeatures() throws {
        var scanner = MessageScanner(model: StatisticalModel())
        scanner.rules = try RuleSet([.body("PILLS", "cheap pills", score: 2.5, "sells pills")])
        let m = mail(cleanHeaders, "Buy cheap pills now")
        let v = scanner.scan(m)
        let sym = try #require(v.symbols.first { $0.name == "PILLS" })
        #expect(sym.score == 2.5)
        #expect(sym.description == "sells pills")
        let f = scanner.features(m, keepNames: true)
        #expect(f.names?.values.contains("rule:PILLS") == true)
        let clean = scanner.features(mail(cleanHeaders, "hello"), keepNames: true)
        #expect(clean.names?.values.contains("rule:PILLS") == false)
        // Without rule features, the vector has no rule token; without scores the symbol scores 0.
        scanner.ruleFeatures = false
        #expect(scanner.features(m, keepNames: true).names?.values.contains("rule:PILLS") == false)
        scanner.ruleScores = false
        #expect(scanner.scan(m).symbols.first { $0.name == "PILLS" }?.score == 0)
    }

    @Test func learningWeighsRuleFeatures() throws {
        var scanner = MessageScanner(model: StatisticalModel())
        scanner.rules = try RuleSet([.body("MARKER", "zqxmarker", score: 0, "")])
        for i in 0..<30 {
            scanner.model.learn(scanner.features(mail(cleanHeaders, "offer \(i) zqxmarker")), as: .spam)
            scanner.model.learn(scanner.features(mail(cleanHeaders, "offer \(i) plain")), as: .ham)
        }
        let spam = scanner.scan(mail(cleanHeaders, "offer 99 zqxmarker")).score
        let ham = scanner.scan(mail(cleanHeaders, "offer 99 plain")).score
        #expect(spam > ham)
    }

    @Test func gtubeStillWorks() {
        let scanner = MessageScanner(model: StatisticalModel())
        let v = scanner.scan(mail(cleanHeaders, "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"))
        #expect(v.symbols.contains { $0.name == "GTUBE" && $0.score == 1000 })
        #expect(v.action == .spam)
    }

    @Test func builtInRulesCompileWithEveryEngineThatCan() throws {
        #expect(RuleSet.standard.definitions.count == BuiltinRules.definitions.count)
        #expect(try RuleSet.builtIn(prefilters: false).definitions.count == BuiltinRules.definitions.count)
    }
}
