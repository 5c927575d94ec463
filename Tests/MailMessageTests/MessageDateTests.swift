import SpamwardTestSupport
import Testing

@testable import MailMessage

@Suite struct MessageDateTests {
    @Test(
        arguments: [
            // RFC 5322.
            ("Mon, 2 Jan 2006 15:04:05 -0700", 1_136_239_445),
            ("Mon, 02 Jan 2006 15:04:05 -0700", 1_136_239_445),
            ("Fri, 21 Nov 1997 09:55:06 -0600", 880_127_706),
            ("Tue, 1 Jul 2003 10:52:37 +0200", 1_057_049_557),
            ("Thu, 13 Feb 1969 23:32:54 -0330", -27_723_426),
            // Missing day of week, missing seconds.
            ("2 Jan 2006 15:04:05 -0700", 1_136_239_445),
            ("Mon, 2 Jan 2006 15:04 +0000", 1_136_214_240),
            // Comments, folding white space and junk at the end.
            ("Mon, 2 Jan 2006 15:04:05 -0700 (MST)", 1_136_239_445),
            ("Mon (day), 2 (two)\r\n Jan 2006 15:04:05 -0700", 1_136_239_445),
            ("Mon, 2 Jan 2006 15:04:05 -0700 some junk 1234", 1_136_239_445),
            // Named zones.
            ("Fri, 21 Nov 1997 09:55:06 CST", 880_127_706),
            ("Fri, 31 Dec 1999 23:59:59 PST", 946_713_599),
            ("Mon, 2 Jan 2006 22:04:05 GMT", 1_136_239_445),
            ("Mon, 2 Jan 2006 22:04:05 UT", 1_136_239_445),
            ("Mon, 2 Jan 2006 22:04:05 Z", 1_136_239_445),
            ("Mon, 2 Jan 2006 22:04:05 A", 1_136_239_445),  // military zones count as +0000
            ("Mon, 2 Jan 2006 22:04:05", 1_136_239_445),  // no zone
            ("Tue, 3 Mar 2009 21:00:00 JST", 1_236_081_600),
            // Two- and three-digit years.
            ("Mon, 2 Jan 06 15:04:05 -0700", 1_136_239_445),
            ("1 Jan 49 00:00:00 +0000", 2_493_072_000),
            ("1 Jan 50 00:00:00 +0000", -631_152_000),
            ("1 Jan 103 00:00:00 +0000", 1_041_379_200),
            // Lowercase and full month names, odd separators.
            ("mon, 2 jan 2006 15:04:05 -0700", 1_136_239_445),
            ("Monday, 2 January 2006 15:04:05 -0700", 1_136_239_445),
            ("Mon, 2-Jan-2006 15:04:05 -0700", 1_136_239_445),
            ("Mon,2 Jan 2006 15:04:05 -07:00", 1_136_239_445),
            // asctime, ISO 8601, a.m./p.m., glued zones.
            ("Tue Mar  3 12:00:00 2009", 1_236_081_600),
            ("2009-03-03T12:00:00Z", 1_236_081_600),
            ("2009-03-03 15:30:00 +0000", 1_236_094_200),
            ("Tue, 3 Mar 2009 3:30:00 PM +0000", 1_236_094_200),
            ("Tue, 3 Mar 2009 12:00:00+0000", 1_236_081_600),
            ("Tue, 3 Mar 2009 12:00:00 GMT+0000", 1_236_081_600),
            // Leap day, epoch, leap second clamped.
            ("Thu, 29 Feb 2024 00:00:00 +0000", 1_709_164_800),
            ("Thu, 1 Jan 1970 00:00:00 +0000", 0),
            ("Fri, 31 Dec 1999 23:59:60 -0800", 946_713_599),
        ] as [(String, Int64)])
    func parses(value: String, expected: Int64) {
        #expect(MessageDate.parse(value) == expected)
    }

    @Test(arguments: [
        "", "garbage", "Mon", "Tomorrow at noon", "2 Foo 2006 15:04:05", "Mon, 31 Feb 2006 10:00:00 +0000",
        "Mon, 0 Jan 2006 10:00:00 +0000", "Jan 2006", "15:04:05 -0700", "Mon, 2 Jan 99999 15:04:05",
        "(2 Jan 2006 15:04:05)", "2009-13-03T12:00:00Z", "Mon, 29 Feb 2100 00:00:00 +0000",
    ])
    func rejectsGarbage(value: String) {
        #expect(MessageDate.parse(value) == nil)
    }

    @Test func badTimeIsIgnoredNotFatal() {
        // An impossible time or zone is dropped; the date itself survives.
        #expect(MessageDate.parse("2 Jan 2006 25:99:00 +0000") == 1_136_160_000)
        #expect(MessageDate.parse("2 Jan 2006 00:00:00 +9999") == 1_136_160_000)
    }

    @Test func longInputIsBounded() {
        let junk = String(repeating: "(", count: 100_000)
        #expect(MessageDate.parse("2 Jan 2006 00:00:00 +0000 " + junk) == 1_136_160_000)
        #expect(MessageDate.parse(String(repeating: "9", count: 100_000)) == nil)
    }

    @Test func randomInputNeverCrashes() {
        var rng = TestRandom(seed: 0x88542FCC)
        let alphabet = Array("0123456789:+-() ,JanMonZT")
        for _ in 0..<500 {
            let s = rng.string(from: alphabet, count: Int(rng.next() % 80))
            _ = MessageDate.parse(s)
        }
    }
    /// The one-pass reader of the common form must give what the general parser gives, wherever it
    /// accepts an input: the templates, and random mutations of them (characters replaced, removed
    /// or doubled).
    @Test func canonicalFormAgreesWithGeneralParser() {
        let templates = [
            "Mon, 2 Jan 2006 15:04:05 -0700", "Tue, 01 Jul 2003 10:52:37 +0200", "2 Jan 2006 15:04 +0000",
            " Thu, 13 Feb 1969 23:32:54 -0330 (EST)", "\r\n\tSat, 29 Feb 2000 00:00:00 +1400", "Sun, 31 Dec 2023 23:59:60 -0000",
            "wed, 3 mAr 2009 12:00:00 +0200", "Fri, 21 Nov 1997 9:55:06 -0600 some junk",
            // Two- and three-digit years, no zone, named zones (read by the one-pass reader too).
            "22 Sep 02 15:51:31 -0000", "Fri, 29 Jun 01 01:03:58 EST", "Sun, 19 May 2002 00:31:45 UT",
            "Wed, 22 May 2002 20:51:38", "Tue, 3 Sep 2002 23:43:57 \r\n", "Tue, 23 Jul 102 14:34:01 edt (Eastern)",
            "Mon, 2 Jan 2006 15:04:05 GMT", "Mon, 2 Jan 2006 15:04:05 utc", "Mon, 2 Jan 2006 15:04 z",
            "Thu, 4 Jul 2002 10:00:00 CST", "Thu, 4 Jul 2002 10:00:00 CDT", "Thu, 4 Jul 2002 10:00:00 MST",
            "Thu, 4 Jul 2002 10:00:00 MDT", "Thu, 4 Jul 2002 10:00:00 PST", "Thu, 4 Jul 2002 10:00:00 PDT",
            "Thu, 4 Jul 2002 10:00:00 CET", "Thu, 4 Jul 2002 10:00:00 Cest", "Thu, 4 Jul 2002 10:00:00 EDT",
        ]
        var accepted = 0
        for t in templates {
            #expect(MessageDate.parseCanonical(t) != nil, "\(t)")
            #expect(MessageDate.parseCanonical(t) == MessageDate.parseGeneral(t), "\(t)")
        }
        var rng = TestRandom(seed: 0x5EED_DA7E)
        let alphabet = Array("0123456789:+-(), \tJanFebMonSepZxT.EDUGMCSPat\r\n")
        for _ in 0..<20_000 {
            var chars = Array(templates[Int(rng.next() % UInt64(templates.count))])
            for _ in 0..<(1 + Int(rng.next() % 3)) where !chars.isEmpty {
                let k = Int(rng.next() % UInt64(chars.count))
                switch rng.next() % 3 {
                case 0: chars[k] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: chars.remove(at: k)
                default: chars.insert(chars[k], at: k)
                }
            }
            let s = String(chars)
            if let c = MessageDate.parseCanonical(s) {
                accepted += 1
                #expect(c == MessageDate.parseGeneral(s), "\(s)")
            }
        }
        // Many mutations keep the form (a digit for a digit): the comparison is not vacuous.
        #expect(accepted > 1_000)
    }

    /// The fixed-layout reader (``MessageDate/parseFixed(_:)``) must give what the longer reader
    /// gives wherever it answers: on dates of its layout with every field at its limits (29 Feb in
    /// leap and other years, 31 in 30-day months, hour 23/24, second 60, zone 2359/2400/0060) and
    /// random mutations (a digit, a space, a letter or a sign replaced, removed or doubled).
    @Test func fixedLayoutAgreesWithTheLongerReader() {
        func both(_ s: String) -> (fixed: Int64??, forms: Int64?) {
            var copy = s
            return copy.withUTF8 { (MessageDate.parseFixed($0), MessageDate.parseCanonicalForms(bytes: $0)) }
        }
        var templates = [
            "Mon, 2 Jan 2006 15:04:05 -0700", "Tue, 01 Jul 2003 10:52:37 +0200", "  Thu, 13 Feb 1969 23:32:54 -0330 (EST)",
            "\tSat, 29 Feb 2000 00:00:00 +1400", "Sun, 31 Dec 2023 23:59:60 -0000", "wed, 3 mAr 2009 12:00:00 +0200",
            "21 Nov 1997 09:55:06 -0600 some junk", "Fri, 29 Feb 1900 12:00:00 +0000", "Sat, 31 Apr 2002 12:00:00 +0000",
            "Mon, 1 Jan 0999 00:00:00 +0000", "Mon, 01 Jan 2002 24:00:00 +0000", "Mon, 01 Jan 2002 00:60:00 +0000",
            "Mon, 01 Jan 2002 00:00:61 +0000", "Mon, 01 Jan 2002 00:00:00 +2400", "Mon, 01 Jan 2002 00:00:00 -0060",
            "Mon, 0 Jan 2002 00:00:00 +0000", "Tue, 28 Feb 2002 23:59:59 +2359\r\n", "Wed, 22 May 2002 20:51:38 -0700\t",
            " Wed,  9 Oct 2002 12:34:56 +0100 (IST)", "Thu,9 Aug 2002 01:02:03 -0400", "FRI,\t 30 SEP 2002 11:12:13 +0000",
        ]
        for day in 1...31 { templates.append("Thu, \(day) Sep 2002 0\(day % 10):1\(day % 6):5\(day % 10) +0\(day % 10)00") }
        var answered = 0
        for t in templates {
            let (fixed, forms) = both(t)
            if let fixed {
                answered += 1
                #expect(fixed == forms, "\(t)")
            }
        }
        #expect(answered >= 30)
        var rng = TestRandom(seed: 0xF1_ED1A)
        let alphabet = Array("0123456789012345678901234567890123456789:+-(), \tJanFebMonSepZ.\r\n")
        answered = 0
        for _ in 0..<30_000 {
            var chars = Array(templates[Int(rng.next() % UInt64(templates.count))])
            for _ in 0..<(1 + Int(rng.next() % 2)) where !chars.isEmpty {
                let k = Int(rng.next() % UInt64(chars.count))
                switch rng.next() % 4 {
                case 0, 1: chars[k] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 2: chars.remove(at: k)
                default: chars.insert(chars[k], at: k)
                }
            }
            let s = String(chars)
            let (fixed, forms) = both(s)
            if let fixed {
                answered += 1
                #expect(fixed == forms, "\(s)")
                #expect(fixed != nil, "\(s)")
            }
        }
        #expect(answered > 1_500)
    }
}
