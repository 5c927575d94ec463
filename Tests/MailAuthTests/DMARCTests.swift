import MailAuth
import Testing

@Suite("DMARC records")
struct DMARCRecordTests {
    @Test func fullRecord() throws {
        let r = try DMARCRecord(
            parsing:
                "v=DMARC1; p=quarantine; sp=reject; np=reject; pct=25; adkim=s; aspf=r; rua=mailto:agg@example.com!10m, mailto:x@example.net; ruf=mailto:f@example.com; fo=1:d; rf=afrf; ri=3600;"
        )
        #expect(r.policy == .quarantine)
        #expect(r.subdomainPolicy == .reject)
        #expect(r.nonExistentSubdomainPolicy == .reject)
        #expect(r.percentage == 25)
        #expect(r.dkimAlignment == .strict)
        #expect(r.spfAlignment == .relaxed)
        #expect(r.aggregateReportURIs == ["mailto:agg@example.com!10m", "mailto:x@example.net"])
        #expect(r.failureReportURIs == ["mailto:f@example.com"])
        #expect(r.failureReportOptions == ["1", "d"])
        #expect(r.reportFormats == ["afrf"])
        #expect(r.reportInterval == 3600)
        #expect(r.warnings.isEmpty)
    }

    @Test func defaults() throws {
        let r = try DMARCRecord(parsing: "v=DMARC1;p=reject")
        #expect(r.policy == .reject)
        #expect(r.subdomainPolicy == .reject)
        #expect(r.explicitSubdomainPolicy == nil)
        #expect(r.percentage == 100)
        #expect(r.dkimAlignment == .relaxed)
        #expect(r.spfAlignment == .relaxed)
        #expect(r.failureReportOptions == ["0"])
        #expect(r.reportFormats == ["afrf"])
        #expect(r.reportInterval == 86_400)
    }

    @Test func whitespaceCaseAndUnknownTags() throws {
        let r = try DMARCRecord(parsing: " v = DMARC1 ;\tP = None ; future=1 ")
        #expect(r.policy == .none)
        #expect(r.warnings == ["unknown tag future ignored"])
        #expect(DMARCRecord.isDMARCRecord("v=DMARC1; p=none"))
        #expect(!DMARCRecord.isDMARCRecord("v=spf1 -all"))
        #expect(!DMARCRecord.isDMARCRecord("p=none; v=DMARC1"))
        #expect(!DMARCRecord.isDMARCRecord("v=dmarc1; p=none"), "the version must match precisely")
    }

    @Test func invalidOptionalValuesFallBackToDefaults() throws {
        let r = try DMARCRecord(parsing: "v=DMARC1; p=reject; sp=maybe; pct=150; adkim=x; fo=9; ri=-1")
        #expect(r.subdomainPolicy == .reject)
        #expect(r.percentage == 100)
        #expect(r.dkimAlignment == .relaxed)
        #expect(r.failureReportOptions == ["0"])
        #expect(r.reportInterval == 86_400)
        #expect(r.warnings.count == 5)
    }

    @Test func missingOrInvalidPolicyWithRuaIsNone() throws {
        let r = try DMARCRecord(parsing: "v=DMARC1; rua=mailto:d@example.com")
        #expect(r.policy == .none)
        #expect(r.warnings.count == 1)
        #expect(try DMARCRecord(parsing: "v=DMARC1; p=bogus; rua=mailto:d@example.com").policy == .none)
    }

    @Test(arguments: [
        ("v=DMARC1", DMARCRecordError.Code.missingPolicy),
        ("v=DMARC1; p=bogus", .invalidPolicy),
        ("p=none; v=DMARC1", .notDMARCRecord),
        ("v=DMARC2; p=none", .notDMARCRecord),
        ("", .notDMARCRecord),
        ("v=DMARC1; p=none; p=reject", .duplicateTag),
        ("v=DMARC1; =x; p=none", .syntaxError),
    ])
    func errors(_ text: String, _ code: DMARCRecordError.Code) {
        do {
            let r = try DMARCRecord(parsing: text)
            Issue.record("'\(text)' parsed as \(r)")
        } catch {
            #expect(error.code == code)
        }
    }
}

@Suite("Public Suffix List")
struct PublicSuffixListTests {
    /// The standard test cases of the list's `tests/test_psl.txt` (public domain; publicsuffix/list
    /// commit ffcfa83e, where `city.kobe.jp` is registrable under the `!city.kobe.jp` exception):
    /// input → registrable domain (nil when the input is a public suffix or invalid).
    static let cases: [(String, String?)] = [
        // Mixed case.
        ("COM", nil), ("example.COM", "example.com"), ("WwW.example.COM", "example.com"),
        // Leading dot.
        (".com", nil), (".example", nil), (".example.com", nil), (".example.example", nil),
        // Unlisted TLD.
        ("example", nil), ("example.example", "example.example"), ("b.example.example", "example.example"),
        ("a.b.example.example", "example.example"),
        // TLD with only 1 rule.
        ("biz", nil), ("domain.biz", "domain.biz"), ("b.domain.biz", "domain.biz"), ("a.b.domain.biz", "domain.biz"),
        // TLD with some 2-level rules.
        ("com", nil), ("example.com", "example.com"), ("b.example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("uk.com", nil), ("example.uk.com", "example.uk.com"), ("b.example.uk.com", "example.uk.com"),
        ("a.b.example.uk.com", "example.uk.com"), ("test.ac", "test.ac"),
        // TLD with only 1 (wildcard) rule.
        ("mm", nil), ("c.mm", nil), ("b.c.mm", "b.c.mm"), ("a.b.c.mm", "b.c.mm"),
        // More complex TLD.
        ("jp", nil), ("test.jp", "test.jp"), ("www.test.jp", "test.jp"), ("ac.jp", nil), ("test.ac.jp", "test.ac.jp"),
        ("www.test.ac.jp", "test.ac.jp"), ("kyoto.jp", nil), ("test.kyoto.jp", "test.kyoto.jp"), ("ide.kyoto.jp", nil),
        ("b.ide.kyoto.jp", "b.ide.kyoto.jp"), ("a.b.ide.kyoto.jp", "b.ide.kyoto.jp"), ("c.kobe.jp", nil),
        ("b.c.kobe.jp", "b.c.kobe.jp"), ("a.b.c.kobe.jp", "b.c.kobe.jp"), ("city.kobe.jp", "city.kobe.jp"),
        ("www.city.kobe.jp", "city.kobe.jp"),
        // TLD with a wildcard rule and exceptions.
        ("ck", nil), ("test.ck", nil), ("b.test.ck", "b.test.ck"), ("a.b.test.ck", "b.test.ck"), ("www.ck", "www.ck"),
        ("www.www.ck", "www.ck"),
        // US K12.
        ("us", nil), ("test.us", "test.us"), ("www.test.us", "test.us"), ("ak.us", nil), ("test.ak.us", "test.ak.us"),
        ("www.test.ak.us", "test.ak.us"), ("k12.ak.us", nil), ("test.k12.ak.us", "test.k12.ak.us"),
        ("www.test.k12.ak.us", "test.k12.ak.us"),
        // IDN labels.
        ("食狮.com.cn", "食狮.com.cn"), ("食狮.公司.cn", "食狮.公司.cn"), ("www.食狮.公司.cn", "食狮.公司.cn"),
        ("shishi.公司.cn", "shishi.公司.cn"), ("公司.cn", nil), ("食狮.中国", "食狮.中国"), ("www.食狮.中国", "食狮.中国"),
        ("shishi.中国", "shishi.中国"), ("中国", nil),
        // Same as above, but punycoded.
        ("xn--85x722f.com.cn", "xn--85x722f.com.cn"), ("xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
        ("www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
        ("shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn"),
        ("xn--55qx5d.cn", nil), ("xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s"),
        ("www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s"), ("shishi.xn--fiqs8s", "shishi.xn--fiqs8s"),
        ("xn--fiqs8s", nil),
    ]

    @Test(
        "test_psl.txt",
        .enabled(
            if: PublicSuffixList.system != nil,
            Comment(rawValue: "no Public Suffix List at " + PublicSuffixList.systemPath)),
        arguments: cases)
    func standardCases(_ input: String, _ expected: String?) throws {
        let list = try #require(PublicSuffixList.system)
        #expect(list.registrableDomain(of: input) == expected)
    }

    @Test func inlineRulesAndOrganizationalDomain() {
        let list = PublicSuffixList(
            """
            // comment
            com
            *.ck
            !www.ck
            co.uk
            uk
            公司.cn
            cn
            """)
        #expect(list.ruleCount == 7)
        #expect(list.publicSuffix(of: "mail.example.co.uk") == "co.uk")
        #expect(list.organizationalDomain(of: "Mail.Example.CO.UK.") == "example.co.uk")
        #expect(list.organizationalDomain(of: "co.uk") == "co.uk")
        #expect(list.publicSuffix(of: "a.b.ck") == "b.ck")
        #expect(list.registrableDomain(of: "a.www.ck") == "www.ck")
        #expect(list.publicSuffix(of: "x.unlisted") == "unlisted")
        #expect(list.registrableDomain(of: "www.xn--85x722f.xn--55qx5d.cn") == "xn--85x722f.xn--55qx5d.cn")
        #expect(list.registrableDomain(of: "a..com") == nil)
    }
}

@Suite("DMARC policy discovery")
struct DMARCDiscoveryTests {
    static let list = PublicSuffixList(
        """
        com
        uk
        co.uk
        """)

    @Test func exactThenOrganizationalDomain() async {
        var zone = StaticResolver([
            "_dmarc.example.com": [.txt(TXTRecord("v=DMARC1; p=reject")), .txt(TXTRecord("unrelated"))],
            "_dmarc.sub.example.co.uk": [.txt(TXTRecord("v=DMARC1; p=none"))],
            "_dmarc.example.co.uk": [.txt(TXTRecord("v=DMARC1; p=quarantine"))],
            "_dmarc.two.com": [.txt(TXTRecord("v=DMARC1; p=none")), .txt(TXTRecord("v=DMARC1; p=reject"))],
            "_dmarc.bad.com": [.txt(TXTRecord("v=DMARC1; p=maybe"))],
        ])
        zone.fail("_dmarc.slow.com")
        func discover(_ d: String) async -> DMARCPolicyLookup {
            await DMARCRecord.discover(fromDomain: d, resolver: zone, publicSuffixList: Self.list)
        }
        #expect(await discover("Mail.Example.com") == .found(DMARCRecord(policy: .reject), domain: "example.com"))
        #expect(await discover("example.com") == .found(DMARCRecord(policy: .reject), domain: "example.com"))
        #expect(await discover("sub.example.co.uk") == .found(DMARCRecord(policy: .none), domain: "sub.example.co.uk"))
        #expect(
            await discover("other.example.co.uk") == .found(DMARCRecord(policy: .quarantine), domain: "example.co.uk"))
        #expect(await discover("two.com") == .none)
        #expect(await discover("nothing.example.net") == .none)
        if case .invalid(let error, "bad.com") = await discover("bad.com") {
            #expect(error.code == .invalidPolicy)
        } else {
            Issue.record("bad.com should be invalid")
        }
        if case .temporaryError(let error) = await discover("slow.com") {
            #expect(error.code == .timeout)
        } else {
            Issue.record("slow.com should be a temporary error")
        }
    }
}
