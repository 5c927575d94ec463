import MailMessage
import SpamwardCore
import Testing

@testable import SpamwardRuleFile

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Rule files")
struct RuleFileTests {
    static let example = """
        disabled = ["HTML_TINY_TEXT"]

        [scores]
        DATE_IN_PAST = 0.25

        [rules.CHEAP_MEDS]
        type = "body"
        pattern = "cheap (meds|pills)"
        case_insensitive = true
        score = 1.5
        description = "offers cheap medication"

        [rules.FROM_SHOUTS]
        type = "header"
        header = "From:name"
        pattern = "^[A-Z ]{8,}$"
        score = 0.5

        [rules.MEDS_AND_CAPS]
        type = "meta"
        expression = "CHEAP_MEDS && (SUBJECT_ALL_CAPS || FROM_SHOUTS)"
        score = 1

        [rules.MY_OBFUSCATION]
        type = "eval"
        check = "obfuscated_word"
        score = 0.5
        """

    @Test func parsesAndApplies() throws {
        let f = try RuleFile.parse(Self.example, path: "test.toml")
        #expect(f.rules.map(\.name) == ["CHEAP_MEDS", "FROM_SHOUTS", "MEDS_AND_CAPS", "MY_OBFUSCATION"])
        let shouts = try #require(f.rules.first { $0.name == "FROM_SHOUTS" })
        #expect(shouts.header == "From" && shouts.headerPart == .name)
        let set = try RuleFile.ruleSet([f])
        let d = try #require(set.definitions.first { $0.name == "DATE_IN_PAST" })
        #expect(d.score == 0.25)
        #expect(set.definitions.first { $0.name == "HTML_TINY_TEXT" }?.enabled == false)
        let text = "From: \"BEST DEALS ONLINE\" <x@example.org>\r\nSubject: BUY CHEAP PILLS TODAY\r\n\r\nCheap Pills for everyone, v1agra too\r\n"
        let hits = Set(set.evaluate(MessageParser.parse(Array(text.utf8))).map(\.name))
        #expect(hits.isSuperset(of: ["CHEAP_MEDS", "FROM_SHOUTS", "MEDS_AND_CAPS", "MY_OBFUSCATION", "OBFUSCATED_WORD"]))
    }

    func failure(_ toml: String) -> RuleError? {
        do {
            _ = try RuleFile.ruleSet([try RuleFile.parse(toml, path: "bad.toml")])
            return nil
        } catch { return error }
    }

    @Test(arguments: [
        ("[rules.A]\ntype = \"body\"\npattern = \"x(\"\nscore = 1", RuleError.Code.invalidRegex, "A", "pattern"),
        ("[rules.A]\ntype = \"body\"\nscore = 1", .missingKey, "A", "pattern"),
        ("[rules.A]\npattern = \"x\"\nscore = 1", .missingKey, "A", "type"),
        ("[rules.A]\ntype = \"body\"\npattern = \"x\"", .missingKey, "A", "score"),
        ("[rules.A]\ntype = \"bodyy\"\npattern = \"x\"\nscore = 1", .invalidValue, "A", "type"),
        ("[rules.A]\ntype = \"body\"\npattern = \"x\"\nscore = \"high\"", .invalidScore, "A", "score"),
        ("[rules.A]\ntype = \"body\"\npattern = \"x\"\nscore = 1\ncolour = 2", .unknownKey, "A", "colour"),
        ("[rules.A]\ntype = \"body\"\npattern = 3\nscore = 1", .invalidValue, "A", "pattern"),
        ("[rules.A]\ntype = \"body\"\npattern = \"x\"\nscore = 1\ncase_insensitive = \"yes\"", .invalidValue, "A", "case_insensitive"),
        ("[rules.A]\ntype = \"header\"\npattern = \"x\"\nscore = 1", .missingKey, "A", "header"),
        ("[rules.A]\ntype = \"header\"\nheader = \"From:display\"\npattern = \"x\"\nscore = 1", .invalidValue, "A", "header"),
        ("[rules.A]\ntype = \"body\"\nheader = \"From\"\npattern = \"x\"\nscore = 1", .unknownKey, "A", "header"),
        ("[rules.A]\ntype = \"meta\"\npattern = \"B\"\nscore = 1", .unknownKey, "A", "pattern"),
        ("[rules.A]\ntype = \"meta\"\nexpression = \"B && GTUBE\"\nscore = 1", .unknownRule, "A", "expression"),
        ("[rules.A]\ntype = \"meta\"\nexpression = \"(GTUBE\"\nscore = 1", .invalidMetaExpression, "A", "expression"),
        ("[rules.A]\ntype = \"eval\"\ncheck = \"nope\"\nscore = 1", .unknownCheck, "A", "check"),
        ("[rules.GTUBE]\ntype = \"body\"\npattern = \"x\"\nscore = 1", .duplicateName, "GTUBE", "rules.GTUBE"),
        ("[rules.a-b]\ntype = \"body\"\npattern = \"x\"\nscore = 1", .invalidName, "a-b", "rules.a-b"),
        ("[scores]\nNO_SUCH = 1", .unknownRule, "NO_SUCH", "scores/disabled/enabled"),
        ("[scores]\nGTUBE = \"x\"", .invalidScore, "GTUBE", "scores.GTUBE"),
        ("disabled = \"GTUBE\"", .invalidValue, "", "disabled"),
        ("colour = 1", .unknownKey, "", "colour"),
    ] as [(String, RuleError.Code, String, String)])
    func errors(toml: String, code: RuleError.Code, rule: String, key: String) throws {
        let e = try #require(failure(toml))
        #expect(e.code == code)
        #expect(e.rule == rule)
        #expect(e.key == key)
        #expect(e.file == "bad.toml")
        #expect(e.description.hasPrefix("bad.toml: "))
    }

    @Test func syntaxErrorHasLine() throws {
        let e = try #require(failure("[rules.A]\ntype = \"body\nscore = 1"))
        #expect(e.code == .syntax)
        #expect(e.message.contains("line"))
    }

    @Test func regexErrorShowsOffset() throws {
        let e = try #require(failure("[rules.A]\ntype = \"body\"\npattern = \"ab[cd\"\nscore = 1"))
        #expect(e.offset != nil)
        #expect(e.description.contains("rule A: pattern: invalid regular expression"))
    }

    @Test func blocklistFilesRelativeToRuleFile() throws {
        let dir = "/tmp/spamward-rulefile-\(getpid())"
        mkdir(dir, 0o700)
        defer {
            unlink(dir + "/list.txt")
            unlink(dir + "/rules.toml")
            rmdir(dir)
        }
        func write(_ path: String, _ text: String) {
            let f = fopen(path, "wb")
            fputs(text, f)
            fclose(f)
        }
        write(dir + "/list.txt", "# test\nevil.example\n")
        write(dir + "/rules.toml", "uri_blocklists = [\"list.txt\"]\n")
        let f = try RuleFile.load(dir + "/rules.toml")
        #expect(f.uriBlocklists == [dir + "/list.txt"])
        let set = try RuleFile.ruleSet([f])
        let m = MessageParser.parse(Array("Subject: x\r\n\r\nhttps://www.evil.example/\r\n".utf8))
        #expect(set.evaluate(m).contains { $0.name == "URL_BLOCKLISTED" })
        #expect(throws: RuleError.self) { try RuleFile.load(dir + "/missing.toml") }
    }

    @Test func shippedExampleLoads() throws {
        // The example under etc/ must always load.
        let file = #filePath
        let root = file[..<(file.firstRange(of: "/Tests/")?.lowerBound ?? file.endIndex)]
        let path = String(root) + "/etc/rules.example.toml"
        let f = try RuleFile.load(path)
        #expect(!f.rules.isEmpty)
        _ = try RuleFile.ruleSet([f])
    }
}
