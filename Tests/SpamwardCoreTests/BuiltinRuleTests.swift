import MailMessage
import Testing

@testable import SpamwardCore

/// Each built-in rule fires on a small fixture and not on the clean message.
@Suite("Built-in rules")
struct BuiltinRuleTests {
    /// Received 2026-11-27; the environment's clock is far later, to show the Received time wins.
    static let env = RuleEnvironment(now: 1_900_000_000, uriBlocklist: URIBlocklist(["evil.example", "bad.hosting.example"]))
    static let rules: RuleSet = {
        var r = RuleSet.standard
        r.environment = env
        return r
    }()

    static func hits(_ m: Message) -> Set<String> { Set(rules.evaluate(m).map(\.name)) }

    static func replacing(_ name: String, with line: String?) -> [String] {
        var h = cleanHeaders.filter { !$0.hasPrefix(name + ":") }
        if let line { h.append(line) }
        return h
    }

    static let cleanBody = "Hi Bob,\r\n\r\nshall we meet for lunch on Friday at noon? The menu is at https://www.example.com/menu.\r\n\r\nAlice\r\n"

    @Test func cleanMessageHitsNothing() {
        #expect(Self.hits(mail(cleanHeaders, Self.cleanBody)) == [])
    }

    @Test(arguments: [
        ("GTUBE", [], "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"),
        ("FORGED_OUTLOOK", ["X-Mailer: Microsoft Outlook Express 6.00.2600.0000"], cleanBody),
        ("MISSING_DATE", ["-Date"], cleanBody),
        ("MISSING_MESSAGE_ID", ["-Message-ID"], cleanBody),
        ("DATE_IN_FUTURE", ["Date: Mon, 30 Nov 2026 10:00:00 +0000"], cleanBody),
        ("DATE_IN_PAST", ["Date: Tue, 27 Nov 2018 10:00:00 +0000"], cleanBody),
        ("SUBJECT_ALL_CAPS", ["Subject: BUY NOW AND SAVE BIG"], cleanBody),
        ("FROM_NAME_ADDRESS", ["From: \"service@paypal.com\" <x@evil.example>"], cleanBody),
        ("TOO_MANY_RECIPIENTS", ["To: " + (1...25).map { "u\($0)@example.net" }.joined(separator: ", ")], cleanBody),
        ("OBFUSCATED_WORD", [], "Buy v1agra today"),
        ("OBFUSCATED_WORD", [], "Buy v.i.a.g.r.a today"),
        ("OBFUSCATED_WORD", [], "Buy vi\u{0430}gra today"),
        ("MIXED_SCRIPT_WORD", [], "Your \u{0440}ayment is due"),
        ("URL_SHORTENER", [], "see https://bit.ly/abc"),
        ("URL_REDIRECTOR", [], "see https://www.example.com/r?url=http%3A%2F%2Fevil.example%2F"),
        ("URL_NUMERIC_IP", [], "see http://192.0.2.7/login"),
        ("URL_OBFUSCATED_IP", [], "see http://0xC0000207/login"),
        ("URL_USERINFO", [], "see http://paypal.com@evil.example/login"),
        ("URL_LOOKALIKE", [], "see https://paypa1.com/login"),
        ("URL_LOOKALIKE", [], "see https://xn--pypal-4ve.com/login"),
        ("URL_BRAND_SUBDOMAIN", [], "see https://paypal.com.login.example.net/"),
        ("URL_MIXED_SCRIPT", [], "see https://xn--pypal-4ve.com/login"),
        ("URL_BLOCKLISTED", [], "see https://www.evil.example/x"),
        ("BODY_NOT_SPAM", [], "This is not spam, you asked for it."),
    ] as [(String, [String], String)])
    func fires(rule: String, headerChanges: [String], body: String) {
        var headers = cleanHeaders
        for c in headerChanges {
            if c.hasPrefix("-") {
                headers = headers.filter { !$0.hasPrefix(c.dropFirst() + ":") }
            } else if let colon = c.firstIndex(of: ":") {
                let name = c[..<colon]
                headers = headers.filter { !$0.hasPrefix(name + ":") } + [c]
            }
        }
        let hits = Self.hits(mail(headers, body))
        #expect(hits.contains(rule), "\(rule) did not fire; hits: \(hits.sorted())")
    }

    @Test func mimeRules() {
        let boundary = "b1"
        func multipart(_ parts: [String]) -> Message {
            var body = ""
            for p in parts { body += "--\(boundary)\r\n" + p + "\r\n" }
            body += "--\(boundary)--\r\n"
            return mail(cleanHeaders + ["MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=\(boundary)"], body)
        }
        let text = "Content-Type: text/plain\r\n\r\nsee attached"
        let exe = "Content-Type: application/octet-stream; name=\"invoice.pdf.exe\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA"
        let hits = Self.hits(multipart([text, exe]))
        #expect(hits.contains("EXECUTABLE_ATTACHMENT"))
        #expect(hits.contains("DOUBLE_EXTENSION"))
        let pdf = "Content-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK"
        #expect(Self.hits(multipart([text, pdf])).isDisjoint(with: ["EXECUTABLE_ATTACHMENT", "DOUBLE_EXTENSION"]))

        // base64 text part that is plain ASCII.
        let b64 = "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\n" + "SGVsbG8gQm9iLCB0aGlzIGlzIGEgcGxhaW4gQVNDSUkgdGV4dCBwYXJ0Lg=="
        #expect(Self.hits(multipart([b64])).contains("BASE64_TEXT"))
        #expect(!Self.hits(multipart([text])).contains("BASE64_TEXT"))

        // HTML only, images, few words.
        let htmlImg = mail(cleanHeaders + ["MIME-Version: 1.0", "Content-Type: text/html"],
                           "<html><body><a href=\"https://shop.example.com/\"><img src=\"https://img.example.com/a.png\"></a> Buy now</body></html>")
        #expect(Self.hits(htmlImg).contains("HTML_ONLY_IMAGES"))
        let htmlWords = mail(cleanHeaders + ["MIME-Version: 1.0", "Content-Type: text/html"],
                             "<html><body><p>" + String(repeating: "word ", count: 80) + "</p><img src=\"https://img.example.com/a.png\"></body></html>")
        #expect(!Self.hits(htmlWords).contains("HTML_ONLY_IMAGES"))

        // Hidden text, and several obfuscations at once (a meta rule).
        let hidden = mail(cleanHeaders + ["MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8"],
                          "<html><body><p>Cheap v1agra here</p><div style=\"display:none\">lorem ipsum dolor sit amet consectetur adipiscing elit</div>in\u{200B}vi\u{200B}si\u{200B}b\u{200B}l\u{200B}e\u{200B}</body></html>")
        let h = Self.hits(hidden)
        #expect(h.contains("HTML_HIDDEN_TEXT"))
        #expect(h.contains("INVISIBLE_CHARACTERS"))
        #expect(h.contains("OBFUSCATED_WORD"))
        #expect(h.contains("OBFUSCATION_SEVERAL"))
    }

    @Test func spacedOutWordsAnywhereInLongTexts() throws {
        func words(_ body: String) -> [String]? {
            TextChecks.obfuscatedWords(MessageParser.parse(Array(("Subject: x\r\n\r\n" + body).utf8)))
        }
        let filler = String(repeating: "An ordinary sentence, e.g. this one, with a b and i.e. notes. ", count: 2_000)
        #expect(words(filler) == nil)
        // Deep inside a long text, at its very end, with spaces, and with a Cyrillic look-alike.
        #expect(words(filler + " buy v.i.a.g.r.a now " + filler) == ["v.i.a.g.r.a"])
        #expect(words(filler + " c-a-s-h") == ["c-a-s-h"])
        #expect(words("get v i a g r a here") == ["v i a g r a"])
        #expect(words("cheap p.h.\u{0430}.r.m.a.c.y") == ["p.h.\u{0430}.r.m.a.c.y"])
        // A spaced run that goes on into a word is not the spam word.
        #expect(words("l.o.a.nable") == nil)
        // Look-alike spellings (read in the first 5,000 words), also with non-ASCII letters.
        #expect(words("v1agra " + filler) == ["v1agra"])
        #expect(words("vi\u{0430}gra") == ["vi\u{0430}gra"])
    }

    @Test func datesUseReceivedTimeThenNow() {
        // With a Received field, its time decides whatever the clock says (the fixtures above).
        // Without one, the environment's clock: the Date is 2026-11-27 10:00 UTC.
        let noReceived = mail(cleanHeaders.filter { !$0.hasPrefix("Received:") }, "x")
        func dateHits(now: Int64) -> Set<String> {
            var r = Self.rules
            r.environment.now = now
            return Set(r.evaluate(noReceived).map(\.name)).intersection(["DATE_IN_FUTURE", "DATE_IN_PAST"])
        }
        #expect(dateHits(now: 1_796_000_000) == [])  // 2026-11-30
        #expect(dateHits(now: 1_500_000_000) == ["DATE_IN_FUTURE"])  // 2017
        #expect(dateHits(now: 1_900_000_000) == ["DATE_IN_PAST"])  // 2030
        #expect(Self.hits(mail(cleanHeaders, "x")).isDisjoint(with: ["DATE_IN_FUTURE", "DATE_IN_PAST"]))
    }

    @Test func metaMissingHeaders() {
        let m = mail(cleanHeaders.filter { !$0.hasPrefix("Date:") && !$0.hasPrefix("Message-ID:") }, "x")
        #expect(Self.hits(m).isSuperset(of: ["MISSING_DATE", "MISSING_MESSAGE_ID", "MISSING_HEADERS"]))
    }

    @Test func notFiringOnLookalikeFreeText() {
        // Ordinary words with digits, brand names on their own domains, and French accents.
        let m = mail(cleanHeaders, "Version 1.3 of the app, see https://www.paypal.com/help and https://google.de/ — crédit agricole, café")
        let h = Self.hits(m)
        #expect(h.isDisjoint(with: ["OBFUSCATED_WORD", "MIXED_SCRIPT_WORD", "URL_LOOKALIKE", "URL_BRAND_SUBDOMAIN"]), "\(h)")
    }

    /// GTUBE's search (by its first `*`) finds exactly what a byte-by-byte search finds, at the
    /// haystack's start and end too, among look-alike strings: `*`s and `X`s everywhere, cut and
    /// changed copies of the string. (A needle of other bytes, or a search that stops early, fails.)
    @Test func gtubeSearchIsTheByteSearch() {
        let g = Rules.gtube
        func naive(_ h: [UInt8]) -> Bool {
            guard h.count >= g.count else { return false }
            return (0...(h.count - g.count)).contains { s in h[s..<(s + g.count)].elementsEqual(g) }
        }
        var rng = SplitMix64(seed: 7)
        let pieces: [[UInt8]] = [Array("X-Mailer: *".utf8), Array("**".utf8), Array("XJS*".utf8), Array(" text ".utf8),
                                 Array(g.prefix(20)), Array(g.suffix(30)), Array(g.dropLast()), g]
        var found = 0
        for _ in 0..<3_000 {
            var h: [UInt8] = []
            for _ in 0..<Int(rng.next() % 6) { h += pieces[Int(rng.next() % UInt64(pieces.count))] }
            if rng.next() % 4 == 0, !h.isEmpty {
                // One byte changed: a near copy must not be found.
                let i = Int(rng.next() % UInt64(h.count))
                h[i] = rng.next() % 2 == 0 ? UInt8(ascii: "*") : h[i] ^ 0x20
            }
            let expected = naive(h)
            if expected { found += 1 }
            let got = h.withUnsafeBufferPointer { Rules.containsGTUBE($0) }
            #expect(got == expected, "\(String(decoding: h, as: UTF8.self))")
        }
        #expect(found > 100)
        // The string alone, and at the very end after `*`s.
        #expect(g.withUnsafeBufferPointer { Rules.containsGTUBE($0) })
        #expect((Array("***".utf8) + g).withUnsafeBufferPointer { Rules.containsGTUBE($0) })
    }
}
