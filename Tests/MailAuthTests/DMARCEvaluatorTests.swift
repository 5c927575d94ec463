import MailAuth
import Testing

@Suite("DMARC evaluation")
struct DMARCEvaluatorTests {
    static let psl = PublicSuffixList("com\norg\nco.uk\n")
    static let ip = IPAddress.v4(IPv4Address(192, 0, 2, 1))

    static func resolver(_ records: [String: String]) -> StaticResolver {
        StaticResolver(records.mapValues { [.txt(TXTRecord($0))] })
    }

    static func spf(_ code: SPFResult.Code, _ domain: String) -> SPFResult {
        SPFResult(code: code, identity: .mailFrom, domain: domain, sender: "x@\(domain)", ip: ip, reason: "test")
    }

    static func dkim(_ code: DKIMResult.Code, _ domain: String) -> DKIMResult {
        DKIMResult(code: code, domain: domain, selector: "s")
    }

    static func evaluator(_ record: String, at name: String = "_dmarc.example.com", sample: Int = 0)
        -> DMARCEvaluator
    {
        var options = DMARCEvaluator.Options()
        options.sample = { sample }
        return DMARCEvaluator(resolver: resolver([name: record]), publicSuffixList: psl, options: options)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var record: String
        var from: String
        var spf: (SPFResult.Code, String)?
        var dkim: [(DKIMResult.Code, String)]
        var expected: DMARCResult.Code
        var spfAligned = false
        var dkimAligned = false
        var testDescription: String { "\(record) from=\(from) spf=\(String(describing: spf)) dkim=\(dkim)" }
    }

    static let cases: [Case] = [
        // SPF alignment.
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: (.pass, "example.com"), dkim: [], expected: .pass, spfAligned: true),
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: (.pass, "bounce.example.com"), dkim: [], expected: .pass, spfAligned: true),
        Case(record: "v=DMARC1; p=reject; aspf=s", from: "example.com", spf: (.pass, "bounce.example.com"), dkim: [], expected: .fail),
        Case(record: "v=DMARC1; p=reject; aspf=s", from: "example.com", spf: (.pass, "EXAMPLE.com."), dkim: [], expected: .pass, spfAligned: true),
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: (.pass, "example.org"), dkim: [], expected: .fail),
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: (.softfail, "example.com"), dkim: [], expected: .fail),
        // Different registrable domains under a multi-label public suffix are not aligned.
        Case(record: "v=DMARC1; p=reject", from: "a.co.uk", spf: (.pass, "b.co.uk"), dkim: [], expected: .fail),
        // DKIM alignment.
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: nil, dkim: [(.pass, "example.com")], expected: .pass, dkimAligned: true),
        Case(record: "v=DMARC1; p=reject", from: "news.example.com", spf: nil, dkim: [(.pass, "example.com")], expected: .pass, dkimAligned: true),
        Case(record: "v=DMARC1; p=reject; adkim=s", from: "news.example.com", spf: nil, dkim: [(.pass, "example.com")], expected: .fail),
        Case(record: "v=DMARC1; p=reject; adkim=s", from: "example.com", spf: nil, dkim: [(.pass, "example.com")], expected: .pass, dkimAligned: true),
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: nil, dkim: [(.fail, "example.com"), (.pass, "esp.example.org")], expected: .fail),
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: nil, dkim: [(.pass, "esp.example.org"), (.pass, "mail.example.com")], expected: .pass, dkimAligned: true),
        // Both.
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: (.pass, "example.com"), dkim: [(.pass, "example.com")], expected: .pass, spfAligned: true, dkimAligned: true),
        // DNS failures of aligned identifiers give temperror, never fail.
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: (.temperror, "example.com"), dkim: [], expected: .temperror),
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: nil, dkim: [(.temperror, "example.com")], expected: .temperror),
        Case(record: "v=DMARC1; p=reject", from: "example.com", spf: nil, dkim: [(.temperror, "example.org")], expected: .fail),
    ]

    @Test(arguments: cases)
    func alignment(_ c: Case) async {
        let name = "_dmarc." + (Self.psl.organizationalDomain(of: c.from) ?? c.from)
        let evaluator = Self.evaluator(c.record, at: name)
        let result = await evaluator.evaluate(
            fromDomain: c.from, spf: c.spf.map { Self.spf($0.0, $0.1) }, dkim: c.dkim.map { Self.dkim($0.0, $0.1) })
        #expect(result.code == c.expected, "\(result)")
        #expect(result.spfAligned == c.spfAligned)
        #expect(result.dkimAligned == c.dkimAligned)
        #expect(result.disposition == (c.expected == .fail ? .reject : .none))
    }

    @Test func policyForSubdomainsAndPercentage() async {
        let record = "v=DMARC1; p=reject; sp=quarantine; pct=30"
        let fail: [DKIMResult] = [Self.dkim(.fail, "example.com")]
        // Sampled in (12 < 30): the requested policy applies.
        let top = await Self.evaluator(record, sample: 12).evaluate(fromDomain: "example.com", spf: nil, dkim: fail)
        #expect(top.code == .fail && top.requestedPolicy == .reject && top.disposition == .reject && !top.sampledOut)
        let sub = await Self.evaluator(record, sample: 12).evaluate(fromDomain: "a.example.com", spf: nil, dkim: fail)
        #expect(sub.requestedPolicy == .quarantine && sub.disposition == .quarantine)
        #expect(sub.policyDomain == "example.com")
        // Sampled out (30 >= 30): one step down.
        let out = await Self.evaluator(record, sample: 30).evaluate(fromDomain: "example.com", spf: nil, dkim: fail)
        #expect(out.sampledOut && out.disposition == .quarantine && out.override?.type == "sampled_out")
        let outSub = await Self.evaluator(record, sample: 99).evaluate(fromDomain: "a.example.com", spf: nil, dkim: fail)
        #expect(outSub.disposition == DMARCResult.Disposition.none)
        #expect(top.authenticationResults == "dmarc=fail (p=reject dis=reject; no aligned SPF or DKIM pass) header.from=example.com")
    }

    @Test func noneTemperrorPermerrorAndOverride() async {
        let psl = Self.psl
        let none = await DMARCEvaluator(resolver: StaticResolver(), publicSuffixList: psl)
            .evaluate(fromDomain: "example.com", spf: Self.spf(.pass, "example.com"), dkim: [])
        #expect(none.code == DMARCResult.Code.none && none.disposition == .none)
        let missing = await DMARCEvaluator(resolver: StaticResolver(), publicSuffixList: psl)
            .evaluate(fromDomain: nil, spf: nil, dkim: [])
        #expect(missing.code == DMARCResult.Code.none)

        var timeouts = StaticResolver()
        timeouts.fail("_dmarc.example.com")
        let temp = await DMARCEvaluator(resolver: timeouts, publicSuffixList: psl)
            .evaluate(fromDomain: "example.com", spf: nil, dkim: [Self.dkim(.fail, "example.com")])
        #expect(temp.code == .temperror && temp.disposition == .none)

        let perm = await Self.evaluator("v=DMARC1; p=bogus").evaluate(fromDomain: "example.com", spf: nil, dkim: [])
        #expect(perm.code == .permerror)

        var options = DMARCEvaluator.Options()
        options.sample = { 0 }
        options.override = { result in
            result.fromDomain == "example.com"
                ? DMARCResult.Override(type: "mailing_list", disposition: .none, comment: "known list") : nil
        }
        let overridden = await DMARCEvaluator(
            resolver: Self.resolver(["_dmarc.example.com": "v=DMARC1; p=reject"]), publicSuffixList: psl, options: options
        ).evaluate(fromDomain: "example.com", spf: nil, dkim: [])
        #expect(overridden.code == .fail && overridden.disposition == .none && overridden.override?.type == "mailing_list")
    }
}
