import SpamwardTestSupport
import Testing

@testable import MailMessage

private func addr(_ name: String?, _ local: String, _ domain: String) -> MailAddress {
    MailAddress(displayName: name, localPart: local, domain: domain)
}

@Suite struct MailAddressTests {
    static let cases: [(String, [MailAddress])] = [
        // Bare addr-spec; domain lowercased, local part kept.
        ("john@example.com", [addr(nil, "john", "example.com")]),
        ("  John.Doe@EXAMPLE.Com  ", [addr(nil, "John.Doe", "example.com")]),
        // Display names.
        ("John Doe <john@example.com>", [addr("John Doe", "john", "example.com")]),
        (
            "\"Doe, John\" <john@example.com>, jane@example.org",
            [addr("Doe, John", "john", "example.com"), addr(nil, "jane", "example.org")]
        ),
        ("\"Doe \\\"JD\\\" John\" <jd@example.com>", [addr("Doe \"JD\" John", "jd", "example.com")]),
        ("John (the man) Doe <jd@example.com>", [addr("John Doe", "jd", "example.com")]),
        ("John Q. Public <jqp@example.com>", [addr("John Q. Public", "jqp", "example.com")]),
        ("<john@example.com>", [addr(nil, "john", "example.com")]),
        ("\"\" <john@example.com>", [addr(nil, "john", "example.com")]),
        // RFC 2047 in display names, quoted or not.
        ("=?utf-8?B?5pel5pys?= <jp@example.jp>", [addr("日本", "jp", "example.jp")]),
        ("\"=?utf-8?Q?Caf=C3=A9?= =?utf-8?Q?_Bar?=\" <cafe@example.com>", [addr("Café Bar", "cafe", "example.com")]),
        ("=?iso-8859-1?Q?J=F6rg?= M\u{FC}ller <jm@example.de>", [addr("Jörg Müller", "jm", "example.de")]),
        // Comments as display names.
        ("john@example.com (John Doe)", [addr("John Doe", "john", "example.com")]),
        ("<john@example.com> (=?utf-8?Q?J=C3=B6hn?=)", [addr("Jöhn", "john", "example.com")]),
        ("John <john@example.com> (ignored)", [addr("John", "john", "example.com")]),
        ("john(comment)@(another)example.com", [addr("comment", "john", "example.com")]),
        // Groups.
        ("undisclosed-recipients:;", []),
        (
            "Friends: a@x.example, \"B\" <b@y.example>;, c@z.example",
            [addr(nil, "a", "x.example"), addr("B", "b", "y.example"), addr(nil, "c", "z.example")]
        ),
        ("Empty:;, Team: t@example.com;", [addr(nil, "t", "example.com")]),
        // Obsolete routes.
        ("<@relay1.example,@relay2.example:user@example.com>", [addr(nil, "user", "example.com")]),
        ("Route <@a.example:u@b.example>", [addr("Route", "u", "b.example")]),
        // Quoted local parts.
        ("\"john smith\"@example.com", [addr(nil, "\"john smith\"", "example.com")]),
        ("\"john.smith\"@example.com", [addr(nil, "john.smith", "example.com")]),
        ("<\"a\\\"b\"@example.com>", [addr(nil, "\"a\\\"b\"", "example.com")]),
        // IP literals.
        ("user@[192.0.2.1]", [addr(nil, "user", "[192.0.2.1]")]),
        ("Admin <root@[IPv6:2001:DB8::1]>", [addr("Admin", "root", "[ipv6:2001:db8::1]")]),
        // Missing @.
        ("MAILER-DAEMON", [addr(nil, "MAILER-DAEMON", "")]),
        ("<postmaster>", [addr(nil, "postmaster", "")]),
        ("Microsoft Support", [addr("Microsoft Support", "", "")]),
        // Junk tolerated.
        ("John Doe john@example.com", [addr("John Doe", "john", "example.com")]),
        ("a@example.com, , ,b@example.com", [addr(nil, "a", "example.com"), addr(nil, "b", "example.com")]),
        ("a@example.com; b@example.com", [addr(nil, "a", "example.com"), addr(nil, "b", "example.com")]),
        ("a@example.com b@example.com", [addr(nil, "a", "example.com")]),
        ("A <a@example.com> B <b@example.com>", [addr("A", "a", "example.com"), addr("B", "b", "example.com")]),
        ("service@paypal.com@evil.example", [addr(nil, "service@paypal.com", "evil.example")]),
        ("support@bank.example <x@evil.example>", [addr("support@bank.example", "x", "evil.example")]),
        ("\"Name\" <>", [addr("Name", "", "")]),
        ("<>", []),
        ("", []),
        ("(just a comment)", []),
        // Unbalanced quotes and brackets.
        ("\"Unbalanced <a@example.com>", [addr("Unbalanced", "a", "example.com")]),
        ("Jane <jane@example.com", [addr("Jane", "jane", "example.com")]),
        (
            "John <john@example.com, Jane <jane@example.org>",
            [addr("John", "john", "example.com"), addr("Jane", "jane", "example.org")]
        ),
        ("Bob (unclosed <bob@example.com>", [addr("Bob unclosed", "bob", "example.com")]),
        ("x@[1.2.3.4, y@example.com", [addr(nil, "x", "1.2.3.4"), addr(nil, "y", "example.com")]),
        ("a@example.com>, b@example.com", [addr(nil, "a", "example.com"), addr(nil, "b", "example.com")]),
    ]

    @Test(arguments: cases)
    func parses(input: String, expected: [MailAddress]) {
        #expect(MailAddress.parseList(input) == expected)
    }

    @Test func addressProperty() {
        #expect(addr(nil, "john", "example.com").address == "john@example.com")
        #expect(addr(nil, "MAILER-DAEMON", "").address == "MAILER-DAEMON")
        #expect(MailAddress.parseList("\"john smith\"@example.com").first?.address == "\"john smith\"@example.com")
    }

    @Test func atMostAThousand() {
        let list = (0..<3_000).map { "u\($0)@example.com" }.joined(separator: ", ")
        let parsed = MailAddress.parseList(list)
        #expect(parsed.count == MailAddress.maxAddresses)
        #expect(parsed.last?.localPart == "u999")
    }

    @Test(arguments: ["<@", "\"", "(", "[", "@", "<", "a@", "\\", ":", "(\"", "\"(", "<@a,"])
    func hostileRepetitionsFinish(unit: String) {
        let value = String(repeating: unit, count: 20_000)
        #expect(MailAddress.parseList(value).count <= MailAddress.maxAddresses)
    }

    @Test func randomInputNeverCrashes() {
        var rng = TestRandom(seed: 0x9A182725)
        let alphabet = Array("a@<>:;,.\"\\()[] \t=?Bé")
        for _ in 0..<500 {
            let s = rng.string(from: alphabet, count: Int(rng.next() % 80))
            _ = MailAddress.parseList(s)
        }
    }
}
