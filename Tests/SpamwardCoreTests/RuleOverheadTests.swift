import MailAuth
@testable import MailMessage
import Testing

@testable import SpamwardCore

/// The rules' per-message shortcuts (issue 6) against the paths they replace: meta expressions
/// as postfix programs, the shortener filter, attachment extensions on bytes, brand subdomains on
/// bytes, and the boxed environment.
@Suite("Rule overhead shortcuts")
struct RuleOverheadTests {
    // MARK: Meta programs

    static func randomExpression(_ rng: inout SplitMix64, depth: Int, rules: Int) -> MetaExpression {
        let pick = depth >= 5 ? Int.random(in: 0..<2, using: &rng) : Int.random(in: 0..<8, using: &rng)
        func sub() -> MetaExpression { randomExpression(&rng, depth: depth + 1, rules: rules) }
        switch pick {
        case 0: return .rule(Int.random(in: 0..<rules, using: &rng))
        case 1: return .number([0, 1, 2, 3, 0.5, -1, 1e308][Int.random(in: 0..<7, using: &rng)])
        case 2: return .not(sub())
        case 3: return .and(sub(), sub())
        case 4: return .or(sub(), sub())
        case 5: return .add(sub(), sub())
        case 6: return .subtract(sub(), sub())
        default:
            let ops: [MetaExpression.Comparison] = [.greater, .greaterOrEqual, .less, .lessOrEqual, .equal, .notEqual]
            return .compare(sub(), ops[Int.random(in: 0..<ops.count, using: &rng)], sub())
        }
    }

    @Test func metaProgramsAreTheExpressions() {
        var rng = SplitMix64(seed: 61)
        let rules = 6
        var program = MetaProgram()
        var expressions: [MetaExpression] = []
        for _ in 0..<3_000 {
            let e = Self.randomExpression(&rng, depth: 0, rules: rules)
            #expect(program.append(e) == expressions.count)
            expressions.append(e)
        }
        for (k, e) in expressions.enumerated() {
            for _ in 0..<4 {
                let hits = (0..<rules).map { _ in Bool.random(using: &rng) }
                let expected = e.value { hits[$0] }
                let got = program.value(k) { hits[$0] }
                #expect(got == expected || (got.isNaN && expected.isNaN), "expression \(k): \(e)")
            }
        }
    }

    @Test func metaRulesOfARuleSet() throws {
        let defs: [RuleDefinition] = [
            .body("A", "alpha", score: 1, ""),
            .body("B", "beta", score: 1, ""),
            .body("C", "gamma", score: 1, ""),
            .meta("M1", "(A + B + C) >= 2", score: 1, ""),
            .meta("M2", "A && !(B || C)", score: 1, ""),
            .meta("M3", "M1 || (C - A) == 1", score: 1, ""),
        ]
        let set = try RuleSet(defs)
        for text in ["alpha", "alpha beta", "gamma", "beta gamma", "alpha beta gamma", "nothing"] {
            let m = MessageParser.parse(Array("Subject: x\r\n\r\n\(text)\r\n".utf8))
            let hits = Set(set.evaluate(m).map(\.name))
            let a = hits.contains("A"), b = hits.contains("B"), c = hits.contains("C")
            let m1 = [a, b, c].filter { $0 }.count >= 2
            #expect(hits.contains("M1") == m1, "\(text)")
            #expect(hits.contains("M2") == (a && !(b || c)), "\(text)")
            #expect(hits.contains("M3") == (m1 || (c ? 1 : 0) - (a ? 1 : 0) == 1), "\(text)")
        }
    }

    // MARK: Shortener filter

    @Test func shortenerFilterNeverRulesOutAMember() {
        var rng = SplitMix64(seed: 62)
        let lists: [Set<String>] = [
            URLChecks.shorteners,
            ["a.b", "K.io", "\u{212A}.io", "x"],  // a non-ASCII name: the filter is not used
            [],
            ["", "t.co"],
        ]
        let pieces = ["bit", "ly", ".", "t", "co", "K", "k", "\u{212A}", "tiny", "url", "com", "x", "é", "e\u{301}", "-", "1"]
        for names in lists {
            let filter = URLChecks.ShortNameFilter(names)
            var candidates = Array(names) + ["bit.ly", "BIT.LY", "\u{212A}.io", "K.io", "", "example.com", "www.example.com"]
            for _ in 0..<5_000 {
                var s = ""
                for _ in 0..<Int.random(in: 0...5, using: &rng) { s += pieces[Int.random(in: 0..<pieces.count, using: &rng)] }
                candidates.append(s)
            }
            for c in candidates {
                var copy = c
                let may = copy.withUTF8 { filter.mayContain($0) }
                if names.contains(c) { #expect(may, "\(c) is a member of \(names)") }
            }
        }
        // The usual case is ruled out.
        let filter = URLChecks.ShortNameFilter(URLChecks.shorteners)
        var host = "www.example.com"
        #expect(host.withUTF8 { filter.mayContain($0) } == false)
    }

    // MARK: Attachment extensions

    /// What ``BuiltinRules/attachments(_:double:)`` reads of a name, as first written.
    static func referenceExecutable(_ name: String) -> Bool {
        let parts = name.lowercased().split(separator: ".").map { $0.trimmingTrailingSpaces() }
        guard parts.count >= 2, let last = parts.last else { return false }
        return BuiltinRules.executableExtensions.contains(last)
    }

    @Test func executableExtensionOnBytesIsTheSplit() {
        var rng = SplitMix64(seed: 63)
        let pieces = ["invoice", "pdf", "EXE", "exe", "Scr", ".", ".", "..", " ", "\"", "'", "js", "a", "application", "x",
                      "é", "\u{301}", "\r\n", "doc", "com", "bat ", "vbs\""]
        var names = ["a.exe", "a.EXE", "a.exe ", "a.exe\"", ".exe", "exe", "a..exe", "a.exe.", "a.exe..", "a.", ".", "",
                     "report.pdf", "x.application", "x.applicatio", "é.exe", "a.\u{301}exe"]
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...6, using: &rng) { s += pieces[Int.random(in: 0..<pieces.count, using: &rng)] }
            names.append(s)
        }
        var decided = 0
        for name in names {
            guard let fast = BuiltinRules.mayHaveExecutableExtension(name) else { continue }
            decided += 1
            #expect(fast == Self.referenceExecutable(name), "\(name.debugDescription)")
        }
        #expect(decided > 10_000)
    }

    // MARK: Brand subdomains

    /// ``BrandList/brandInSubdomain(_:)`` as first written (byte arrays).
    static func referenceBrandInSubdomain(_ list: BrandList, _ u: AnalyzedURL) -> String? {
        guard !u.isIPAddress, u.host.utf8.count > u.registrableDomain.utf8.count else { return nil }
        let subLength = u.host.utf8.count - u.registrableDomain.utf8.count - 1
        if subLength < list.shortestSubdomainNamingABrand { return nil }
        let host = Array(u.host.utf8)
        let sub = host[0..<(host.count - u.registrableDomain.utf8.count - 1)]
        func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
            guard let first = needle.first, haystack.count >= needle.count else { return false }
            var i = haystack.startIndex
            while i <= haystack.endIndex - needle.count {
                if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
                i += 1
            }
            return false
        }
        for n in list.domainNeedles where contains(sub, n.bytes) && !list.brands[n.brand].domains.contains(u.registrableDomain) {
            return n.domain
        }
        var start = sub.startIndex
        while start < sub.endIndex {
            let end = sub[start...].firstIndex(of: 0x2E) ?? sub.endIndex
            let label = sub[start..<end]
            for (i, name) in list.nameBytes.enumerated() where name.count >= 4 && label.count >= name.count {
                let hit = label.count == name.count
                    ? label.elementsEqual(name)
                    : (label.starts(with: name) && label[label.startIndex + name.count] == 0x2D)
                        || (label.reversed().starts(with: name.reversed()) && label[label.endIndex - name.count - 1] == 0x2D)
                if hit && !list.brands[i].domains.contains(u.registrableDomain) { return list.brands[i].name }
            }
            start = end + 1
        }
        return nil
    }

    @Test func brandInSubdomainOnBytesIsTheReference() {
        var rng = SplitMix64(seed: 64)
        let labels = ["paypal", "paypal-secure", "secure-paypal", "paypal.com", "apple", "www", "mail", "login", "amazon.co.uk",
                      "x", "ebay", "e", "dhl", "me.com", "fb.com", "gmail", "a-b", "xn--bcher-kva", "0", "10"]
        let suffixes = ["example.net", "example.co.uk", "paypal.com", "apple.com", "evil.example", "com"]
        var hits = 0
        for _ in 0..<5_000 {
            var host = ""
            for _ in 0..<Int.random(in: 0...3, using: &rng) { host += labels[Int.random(in: 0..<labels.count, using: &rng)] + "." }
            host += suffixes[Int.random(in: 0..<suffixes.count, using: &rng)]
            guard let u = URLNormalizer.analyze("https://\(host)/x", publicSuffixList: URLCheckTests.psl) else { continue }
            let expected = Self.referenceBrandInSubdomain(.default, u)
            if expected != nil { hits += 1 }
            #expect(BrandList.default.brandInSubdomain(u) == expected, "\(host)")
        }
        #expect(hits > 100)
    }

    // MARK: Environment

    @Test func environmentSettersKeepTheOtherValues() {
        var e = RuleEnvironment(now: 5, publicSuffixList: nil, shorteners: ["a.b"])
        let copy = e
        e.now = 7
        e.shorteners = ["c.d"]
        e.uriBlocklist = URIBlocklist(["evil.example"])
        #expect(e.now == 7 && e.shorteners == ["c.d"] && e.publicSuffixList == nil)
        #expect(e.uriBlocklist.domains == ["evil.example"])
        #expect(copy.now == 5 && copy.shorteners == ["a.b"] && copy.uriBlocklist.isEmpty)
        #expect(e.brands.brands.count == BrandList.default.brands.count)
        // The filter follows the names set.
        var host = "c.d"
        #expect(host.withUTF8 { e.storage.shortenerFilter.mayContain($0) })
        var old = "a.b"
        #expect(old.withUTF8 { e.storage.shortenerFilter.mayContain($0) } == false)
    }

    /// ``RuleInput/body`` (the input's own buffer) against the subject, a line feed and the text
    /// parts joined by line feeds, then a line feed when there are text parts, on messages with
    /// no, one and several text parts, non-ASCII subjects and texts; and the text checks' part
    /// (``RuleInput/withSubjectAndText(_:)``) without the final line feed.
    /// The reference time read in place (`RuleInput.receivedTime`: the date after the last `;`
    /// parsed from the field's bytes) and `receivedDate` against what follows the last `;`
    /// Character (then `MessageDate.parse`), on canonical dates, the forms only the general parser reads, no `;`,
    /// non-ASCII next to the `;`, and random pieces of all of these.
    /// `TOO_MANY_RECIPIENTS` on a rule input (one pass over the name heads, values read in
    /// place) against the check on the message's fields: To and Cc fields in any case, other
    /// two-letter names with the same heads (`Tx`, `Co`), lists of 0 to 30 addresses and commas
    /// in quoted names.
    @Test func tooManyRecipientsOnTheInputIsTheFieldCheck() {
        var rng = SplitMix64(seed: 0x70_0AA7)
        let names = ["To", "TO", "to", "Cc", "CC", "cC", "Tx", "Co", "Bcc", "From", "T"]
        var hits = 0
        for _ in 0..<2_000 {
            var raw = "Subject: x\r\n"
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let name = names[Int.random(in: 0..<names.count, using: &rng)]
                let count = Int.random(in: 0...30, using: &rng)
                let list = (0..<count).map { k in Bool.random(using: &rng) ? "\"Doe, J\" <a\(k)@x.com>" : "a\(k)@x.com" }
                raw += "\(name): \(list.joined(separator: ", "))\r\n"
            }
            let m = MessageParser.parse(Array((raw + "\r\nbody\r\n").utf8))
            let input = RuleInput(message: m, environment: .default)
            let expected = BuiltinRules.tooManyRecipients(m)
            #expect(BuiltinRules.tooManyRecipients(input) == expected, "\(raw)")
            if expected != nil { hits += 1 }
        }
        #expect(hits > 200)
    }

    /// `HTML_ONLY_IMAGES`' word count (read on contiguous bytes, stopping at 50) against the
    /// whitespace-separated pieces of the parts, counted apart (a word does not go on from one
    /// part into the next): random texts of words, spaces, tabs, CR, LF and non-ASCII letters.
    @Test func htmlOnlyImagesCountsTheWords() {
        var rng = SplitMix64(seed: 0x1A6E5)
        let pieces = ["word", "é", "x", " ", " ", "\t", "\r\n", "\n", "\r", "  ", "日本"]
        var html = HTMLContent()
        html.imageCount = 2
        var hits = 0
        for _ in 0..<3_000 {
            var parts: [TextPart] = []
            var expected = 0
            for k in 0..<Int.random(in: 1...3, using: &rng) {
                var text = ""
                for _ in 0..<Int.random(in: 0...60, using: &rng) { text += pieces[Int.random(in: 0..<pieces.count, using: &rng)] }
                expected += text.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }).count
                parts.append(TextPart(partIndex: k, isHTML: true, charset: "utf-8", text: text, html: html))
            }
            let options = BuiltinRules.htmlOnlyImages(parts)
            #expect(options == (expected < 50 ? ["\(2 * parts.count) images, \(expected) words"] : nil), "\(parts.map(\.text))")
            if options != nil { hits += 1 }
        }
        #expect(hits > 300)
    }

    /// `FROM_NAME_ADDRESS` on the bytes of an ASCII display name against the Character path, on
    /// random names of words, addresses, dots, `@`s, separators, upper case, CR LF and non-ASCII
    /// (not read on bytes), with real addresses equal to a shown one or not.
    @Test func asciiNameAddressIsTheCharacterPath() {
        var rng = SplitMix64(seed: 0xF20A_11CE)
        let pieces = ["john", "Bank", "x", "@", "@", ".", ".", "..", " ", "<", ">", "(", ")", "\"", "'", "[", "]", ",",
                      ";", ":", "-", "_", "\r\n", "\t", "com", "Example", "é", "\u{212A}", "@@", "a.b", "2",
                      "john@example.com", "Pay@Secure.Com", "x@y.z.", ".a@b.c"]
        let addresses = ["john@example.com", "JOHN@EXAMPLE.COM", "x@y.z", "", "a@b", "\u{212A}@x.com", "bank@pay.com"]
        var hits = 0, ascii = 0
        for _ in 0..<20_000 {
            var name = ""
            for _ in 0..<Int.random(in: 1...12, using: &rng) { name += pieces[Int.random(in: 0..<pieces.count, using: &rng)] }
            var address = addresses[Int.random(in: 0..<addresses.count, using: &rng)]
            if Bool.random(using: &rng), let word = name.split(separator: " ").first { address = String(word) }
            let expected = BuiltinRules.nameAddress(name, address)
            if let fast = BuiltinRules.asciiNameAddress(name, address) {
                ascii += 1
                #expect(fast == expected, "\(name.debugDescription) \(address)")
            } else {
                #expect(name.utf8.contains { $0 >= 0x80 }, "\(name.debugDescription)")
            }
            if expected != nil { hits += 1 }
            let list = [MailAddress(displayName: name, localPart: address, domain: "")]
            #expect(BuiltinRules.fromNameAddress(list) == expected, "\(name.debugDescription) \(address)")
        }
        #expect(hits > 1_000)
        #expect(ascii > 10_000)
    }

    @Test func receivedTimeIsTheDateString() {
        let dates = [
            " Tue, 1 Dec 2026 00:17:17 +0000", "Tue, 01 Dec 2026 00:17:17 -0700 (PDT)", " 1 Dec 2026 00:17 +0100",
            " Mon, 29 Jul 2002 11:54:34 EST", " Tue Mar  3 12:00:00 2009", " 2009-03-03T12:00:00Z", " 3-Mar-2009",
            " Sat, 31 Feb 2002 10:00:00 +0000", "", " ", " junk", " Wed, 31 Jul 2002 25:61:00 +0000",
            "\r\n\tThu, 1 Aug 2002 02:03:04 +0200", " Fri, 2 Aug 02 1:2:3 GMT", " ünïcödé 1 Dec 2026",
        ]
        let heads = ["from a.example by b.example with SMTP id 1;", "by mx;", "no semicolon at all ", "a;b;", "é;", "x é;", ";é"]
        var values: [String] = []
        for h in heads { for d in dates { values.append(h + d) } }
        var rng = FastPathTests.RNG(state: 0xDA7E)
        let pieces = heads + dates + [";", "é", " ", "1", "Dec", "+0000"]
        for _ in 0..<3_000 {
            var v = ""
            for _ in 0..<Int(rng.next() % 6) { v += rng.pick(pieces) }
            values.append(v)
        }
        var parsed = 0
        for v in values {
            // The reference reads Characters only: what follows the last `;` Character.
            let date = v.lastIndex(of: ";").map { String(v[v.index(after: $0)...]) }
            #expect(RuleInput.receivedDate(v) == date, "\(v.debugDescription)")
            let expected = date.flatMap { MessageDate.parse($0) }
            #expect(RuleInput.receivedTime(v) == expected, "\(v.debugDescription)")
            if expected != nil { parsed += 1 }
        }
        #expect(parsed >= 50)
    }

    @Test func bodyIsTheSubjectAndTextParts() {
        let bodies: [(headers: [String], body: String)] = [
            (["Subject: plain"], "one line\r\n"),
            (["Subject: =?UTF-8?B?w6ljaGFudGlsbG9u?="], "caf\u{e9} cr\u{e8}me \u{1F600}\r\n"),
            ([], ""),
            (["Subject: empty body"], ""),
            (["Subject: two", "MIME-Version: 1.0", "Content-Type: multipart/alternative; boundary=\"b\""],
             "--b\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html <b>part</b></p>\r\n--b--\r\n"),
            (["Subject: attachment only", "MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=\"b\""],
             "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\nAAAA\r\n--b--\r\n"),
        ]
        for (headers, body) in bodies {
            let m = mail(headers, body)
            let input = RuleInput(message: m, environment: .default)
            var expected = Array(input.subject.utf8) + [0x0A]
            for (k, p) in m.textParts.enumerated() {
                if k > 0 { expected.append(0x0A) }
                expected += Array(p.text.utf8)
            }
            let textLength = expected.count
            if !m.textParts.isEmpty { expected.append(0x0A) }
            let got = input.body
            #expect(Array(got.bytes) == expected, "\(headers) \(body.debugDescription)")
            #expect(got.textLength == textLength)
            // Made once: the same buffer on every read.
            #expect(input.body.bytes.baseAddress == got.bytes.baseAddress)
            #expect(input.withSubjectAndText { Array($0) } == Array(expected[0..<textLength]))
        }
    }
}
