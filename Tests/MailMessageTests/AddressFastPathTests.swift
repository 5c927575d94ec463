import Foundation
import SpamwardTestSupport
import Testing

@testable import MailMessage

/// The single-address fast path of `MailAddress.parseList` must give what the full tokenizing
/// parser gives, on every value it accepts.
@Suite struct AddressFastPathTests {
    /// The shapes the fast path exists for are taken by it (so the comparisons below test it).
    @Test(arguments: [
        "john@example.com", "  John.Doe@EXAMPLE.Com  ", "<john@example.com>", "John Doe <john@example.com>",
        "\"Doe, John\" <john@example.com>", "John \t Q.  Public\r\n <JQP@Example.COM>", "\"  spaced  \" <a@b.example>",
        "=?utf-8?B?5pel5pys?= <jp@example.jp>", "\"=?utf-8?Q?Caf=C3=A9?=\" <cafe@example.com>", "\"\" <john@example.com>",
        // Names read in place (no `=?`, single spaces) and trimmed as `cleaned` trims.
        "Bob Q. Smith <bob@example.com>", "\u{0B}Bob\u{0C} <bob@example.com>", "\"\u{0B} Bob \t\" <bob@example.com>",
        "\" \" <bob@example.com>", "Bob=?x <bob@example.com>", "\"a=?b\" <bob@example.com>",
        "john@example.com (John)", "john@example.com(John Q. Public)", " tim.one@comcast.net (Tim Peters)\r\n ",
        "a@b.example ()", "a@b.example ( \t)", "a@b.example (=?utf-8?Q?J=C3=B6rg?=)", "a@b.example (x \"y\" <z@w>, v)",
    ])
    func commonShapesTakeTheFastPath(value: String) {
        var v = value
        let fast = v.withUTF8 { AddressFastPath.parse($0) }
        #expect(fast != nil)
        #expect(fast.map { [$0] } == MailAddress.parseListTokens(value))
    }

    @Test(arguments: [
        "a@example.com, b@example.com", "(John) john@example.com", "a@b.example (x) (y)", "a@b.example (J\u{F6}rg)",
        "a@b.example (a\\)b)", "a@b.example ((x))", "a@b.example (a\\b)", "a@b.example (x)y", "\"a\\\"b\" <x@y.example>", "<a @b.example>",
        "J\u{F6}rg <j@example.de>", "\"Jo\" hn <j@example.de>", "<>", "<@relay.example:u@b.example>", "a@b@c.example",
        "user@[192.0.2.1]", "Jane <jane@example.com", "MAILER-DAEMON",
    ])
    func otherShapesAreLeftToTheParser(value: String) {
        var v = value
        #expect(v.withUTF8 { AddressFastPath.parse($0) } == nil)
    }

    /// Random values built from the pieces the shapes are made of (and some that break them).
    @Test func randomValuesAgree() {
        var rng = TestRandom(seed: 0x5AFE_AD0E)
        let pieces = ["a", "Bo", "x.y", "@", "<", ">", " ", "  ", "\t", "\r\n ", "\"", "\\", ",", ";", ":", "(", ")",
                      "[", "]", "=?", "?=", "=?utf-8?Q?J=C3=B6?=", "EXAMPLE.com", ".", "é", "-", "_", "\u{0B}", "\u{0C}", "="]
        var accepted = 0
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<Int(rng.next() % 12) { s += pieces[Int(rng.next() % UInt64(pieces.count))] }
            // Bias towards the fast shapes: half the values end in an angle address, a quarter are
            // an address followed by the pieces as a comment.
            if rng.next() % 2 == 0 {
                s += " <" + pieces[Int(rng.next() % 3)] + "@" + pieces[Int(rng.next() % 3)] + ">"
            } else if rng.next() % 2 == 0 {
                s = pieces[Int(rng.next() % 3)] + "@" + pieces[Int(rng.next() % 3)] + " (" + s + ")"
            }
            var v = s
            if let fast = v.withUTF8({ AddressFastPath.parse($0) }) {
                accepted += 1
                #expect([fast] == MailAddress.parseListTokens(s), "\(s.debugDescription)")
            }
            #expect(MailAddress.parseList(s) == MailAddress.parseListTokens(s), "\(s.debugDescription)")
        }
        #expect(accepted > 1_000)
    }

    /// Every address field of the SpamAssassin corpus parses the same both ways.
    @Test func corpusAddressFieldsAgree() throws {
        guard let root = SharedData.root else {
            print("skipped: ../shared/corpora is absent")
            return
        }
        let base = root.appendingPathComponent("corpora/spamassassin")
        guard let index = try? String(contentsOf: base.appendingPathComponent("index"), encoding: .utf8) else {
            print("skipped: ../shared/corpora/spamassassin/index is absent")
            return
        }
        let names: Set<String> = ["from", "reply-to", "return-path", "sender", "errors-to", "to", "cc"]
        var compared = 0
        var fast = 0
        for line in index.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let data = FileManager.default.contents(atPath: base.appendingPathComponent(String(parts[1])).path)
            else { continue }
            let message = MessageParser.parse([UInt8](data))
            for f in message.headers.fields where names.contains(f.name.lowercased()) {
                compared += 1
                var v = f.value
                if v.withUTF8({ AddressFastPath.parse($0) }) != nil { fast += 1 }
                #expect(MailAddress.parseList(f.value) == MailAddress.parseListTokens(f.value), "\(f.value.debugDescription)")
            }
        }
        #expect(compared > 1_000)
        #expect(fast * 2 > compared)  // the fast path takes most of them
    }
}
