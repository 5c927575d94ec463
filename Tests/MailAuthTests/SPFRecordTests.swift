import MailAuth
import Testing

@Suite("SPF records and macros")
struct SPFRecordTests {
    // MARK: macros: RFC 7208 section 7.4

    static let context = SPFMacroContext(
        sender: "strong-bad@email.example.com", localPart: "strong-bad", senderDomain: "email.example.com",
        domain: "email.example.com", helo: "mx.example.org", ip: .v4(IPv4Address(192, 0, 2, 3)),
        validatedDomain: "mx.example.org", receivingHost: "mx.example.net", timestamp: 1_700_000_000)

    @Test(arguments: [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
        ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
        ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
        ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
    ])
    func rfcMacroExamples(_ macro: String, _ expected: String) throws {
        let parsed = try SPFMacroString(macro, usage: .domainSpec)
        #expect(parsed.expand(Self.context) == expected)
    }

    @Test func rfcMacroExampleIPv6() throws {
        var context = Self.context
        context.ip = try #require(IPAddress("2001:db8::cb01"))
        let parsed = try SPFMacroString("%{ir}.%{v}._spf.%{d2}", usage: .domainSpec)
        // The RFC prints the nibbles in lower case; this implementation writes them in upper case
        // as the OpenSPF suite expects in explanations. DNS names compare case-insensitively.
        #expect(
            parsed.expand(context).lowercased()
                == "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com")
        #expect(try SPFMacroString("%{c} %{v}", usage: .explanation).expand(context) == "2001:db8::cb01 ip6")
    }

    @Test func explanationLettersEscapesAndURLEncoding() throws {
        let exp = try SPFMacroString("%{c} %{r} %{t} %{p}%%%_%-", usage: .explanation)
        #expect(exp.expand(Self.context) == "192.0.2.3 mx.example.net 1700000000 mx.example.org% %20")
        var context = Self.context
        context.localPart = "~jack&jill=up-a_b3.c"
        #expect(try SPFMacroString("l=%{L}", usage: .explanation).expand(context) == "l=~jack%26jill%3Dup-a_b3.c")
        context.validatedDomain = nil
        #expect(try SPFMacroString("%{p}", usage: .explanation).expand(context) == "unknown")
        context.localPart = "foo-bar+zip+quux"
        #expect(try SPFMacroString("%{l2r+-}", usage: .domainSpec).expand(context) == "bar.foo")
    }

    @Test func longExpansionIsTruncatedFromTheLeft() throws {
        var context = Self.context
        context.senderDomain = String(repeating: "abcdefghi.", count: 30) + "example.com"
        let spec = try SPFMacroString("x.%{o}", usage: .domainSpec)
        let name = spec.expandDomain(context)
        #expect(name.utf8.count <= 253)
        #expect(name.hasSuffix(".example.com"))
        #expect(name.hasPrefix("abcdefghi."))
    }

    @Test(arguments: [
        ("%", SPFMacroString.Usage.domainSpec),
        ("foo%.example.com", .domainSpec),
        ("%(ir).example.com", .domainSpec),
        ("%{x}.example.com", .domainSpec),
        ("%{a}.example.com", .domainSpec),
        ("%{d0}.example.com", .domainSpec),
        ("%{d", .domainSpec),
        ("%{d2r+x}.example.com", .domainSpec),
        ("%{c}.example.com", .domainSpec),
        ("%{r}.example.com", .domainSpec),
        ("%{t}.example.com", .domainSpec),
        ("The %{x}-files.", .explanation),
        ("tab\there", .explanation),
        ("%abc", .modifierValue),
    ])
    func invalidMacros(_ text: String, _ usage: SPFMacroString.Usage) {
        #expect(throws: SPFRecordError.self) { try SPFMacroString(text, usage: usage) }
    }

    @Test(arguments: [
        "example.com", "%{d}", "_spf.%{d2}", "foo.xn--zckzah", "a.b-c", "x.1-2", "%%",
        "macro%%percent%_%_space%-url-space.example.com", "foo:bar/baz.example.com",
    ])
    func validDomainSpecs(_ text: String) {
        #expect(throws: Never.self) { try SPFMacroString(text, usage: .domainSpec) }
    }

    @Test(arguments: [
        "", "museum", "museum.", "foo-bar", "abc.123", "example.-com", "example.com-", "example.com:8080",
        "example.com/24", "-all", "%{d}.", "a..", "foo.example.com\0",
    ])
    func invalidDomainSpecs(_ text: String) {
        #expect(throws: SPFRecordError.self) { try SPFMacroString(text, usage: .domainSpec) }
    }

    // MARK: records

    @Test func parsesAllTermKinds() throws {
        let record = try SPFRecord(
            parsing:
                "V=SPF1 a a:mail.%{d}/24 mx//64 mx:example.org/28//48 ptr ptr:example.net -ip4:192.0.2.0/24 ~ip6:2001:db8::/32 ?exists:%{ir}.bl.example.com +include:_spf.example.com -all redirect=_spf.example.org exp=why.%{d} x-note=%{l}"
        )
        #expect(record.directives.count == 11)
        guard record.directives.count == 11 else { return }
        #expect(record.directives[0].mechanism == .a(domain: nil, ipv4Prefix: 32, ipv6Prefix: 128))
        if case .a(let d, 24, 128) = record.directives[1].mechanism {
            #expect(d?.text == "mail.%{d}")
        } else {
            Issue.record("a:mail.%{d}/24 parsed as \(record.directives[1].mechanism)")
        }
        #expect(record.directives[2].mechanism == .mx(domain: nil, ipv4Prefix: 32, ipv6Prefix: 64))
        if case .mx(let d, 28, 48) = record.directives[3].mechanism {
            #expect(d?.text == "example.org")
        } else {
            Issue.record("mx dual cidr parsed as \(record.directives[3].mechanism)")
        }
        #expect(record.directives[4].mechanism == .ptr(nil))
        #expect(record.directives[6].qualifier == .fail)
        #expect(record.directives[6].mechanism == .ip4(IPv4Address(192, 0, 2, 0), prefixLength: 24))
        #expect(record.directives[7].qualifier == .softfail)
        #expect(record.directives[8].qualifier == .neutral)
        #expect(record.directives[9].qualifier == .pass)
        #expect(record.directives[10].text == "-all")
        #expect(record.redirect?.text == "_spf.example.org")
        #expect(record.explanation?.text == "why.%{d}")
        #expect(record.unknownModifiers.map(\.name) == ["x-note"])
    }

    @Test func spacesAndVersion() throws {
        #expect(SPFRecord.isSPFRecord(Array("v=spf1".utf8)))
        #expect(SPFRecord.isSPFRecord(Array("v=SpF1 -all".utf8)))
        #expect(!SPFRecord.isSPFRecord(Array("v=spf10".utf8)))
        #expect(!SPFRecord.isSPFRecord(Array("v=spf1mx".utf8)))
        #expect(!SPFRecord.isSPFRecord(Array(" v=spf1".utf8)))
        #expect(try SPFRecord(parsing: "v=spf1  a   -all ").directives.count == 2)
        #expect(try SPFRecord(parsing: "v=spf1").directives.isEmpty)
    }

    @Test(arguments: [
        ("v=spf10 -all", SPFRecordError.Code.notSPFRecord),
        ("v=spf1 a:\u{FEFF}x.example.com -all", .nonASCII),
        ("v=spf1 ip4:1.2.3.4 -all moo", .unknownMechanism),
        ("v=spf1 redirect:example.com", .unknownMechanism),
        ("v=spf1 moo.cow/far_out=man:dog/cat", .unknownMechanism),
        ("v=spf1 -redirect=example.com", .invalidModifierName),
        ("v=spf1 =all", .invalidModifierName),
        ("v=spf1 1up=foo", .invalidModifierName),
        ("v=spf1 exp=a.example.com exp=b.example.com", .duplicateModifier),
        ("v=spf1 redirect=a.example.com -all redirect=a.example.com", .duplicateModifier),
        ("v=spf1 redirect=", .invalidDomainSpec),
        ("v=spf1 exp=", .invalidDomainSpec),
        ("v=spf1 exp=-all", .invalidDomainSpec),
        ("v=spf1 a:museum", .invalidDomainSpec),
        ("v=spf1 a:", .invalidDomainSpec),
        ("v=spf1 include:example.com/24", .invalidDomainSpec),
        ("v=spf1 a:ctrl.example.com\rptr -all", .invalidMacro),
        ("v=spf1 exists:%{ir}.%{c}.example.com", .invalidMacro),
        ("v=spf1 -all foo=%abc", .invalidMacro),
        ("v=spf1 ip4:1.2.3.4/33", .invalidCIDRLength),
        ("v=spf1 ip4:1.2.3.4/032", .invalidCIDRLength),
        ("v=spf1 ip4:1.2.3.4//32", .invalidCIDRLength),
        ("v=spf1 ip6:::1/129", .invalidCIDRLength),
        ("v=spf1 ip6:::1//64", .invalidCIDRLength),
        ("v=spf1 a/24/64", .invalidCIDRLength),
        ("v=spf1 mx//129", .invalidCIDRLength),
        ("v=spf1 ip4:1.2.3", .invalidIPAddress),
        ("v=spf1 ip4:1.2.3.4:8080", .invalidIPAddress),
        ("v=spf1 ip6::CAFE::BABE", .invalidIPAddress),
        ("v=spf1 all:foo", .unexpectedArgument),
        ("v=spf1 -all.", .unknownMechanism),
        ("v=spf1 -all/8", .unexpectedArgument),
        ("v=spf1 ptr/0", .unexpectedArgument),
        ("v=spf1 include", .missingArgument),
        ("v=spf1 exists", .missingArgument),
        ("v=spf1 ip4", .missingArgument),
    ])
    func recordErrors(_ text: String, _ code: SPFRecordError.Code) {
        do {
            let record = try SPFRecord(parsing: text)
            Issue.record("'\(text)' parsed as \(record.directives)")
        } catch {
            #expect(error.code == code, "'\(text)': \(error)")
        }
    }

    @Test func unknownModifiersAreKeptButIgnored() throws {
        let record = try SPFRecord(parsing: "v=spf1 default=pass moo.cow-far_out=man:dog/cat ?all")
        #expect(record.unknownModifiers.map(\.name) == ["default", "moo.cow-far_out"])
        #expect(record.directives.count == 1)
    }
}
