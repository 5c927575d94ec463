import MailAuth
import Testing

@Suite("StaticResolver")
struct StaticResolverTests {
    @Test func namesAnswersAndFailures() async throws {
        var zone = StaticResolver([
            "Mail.Example.com.": [.a(IPv4Address(192, 0, 2, 1)), .txt(TXTRecord(["v=spf1 ", "-all"]))],
            "alias.example.com": [.cname("mail.example.com.")],
            "loop1.example.com": [.cname("loop2.example.com")],
            "loop2.example.com": [.cname("LOOP1.example.com")],
        ])
        zone.fail("slow.example.com")
        zone.fail("half.example.com", with: .serverFailure, types: [.txt])
        zone.add(.a(IPv4Address(192, 0, 2, 9)), at: "half.example.com")

        #expect(try await zone.lookup("mail.example.COM", .a) == .answer([.a(IPv4Address(192, 0, 2, 1))]))
        let txt = try await zone.lookup("mail.example.com.", .txt).txtRecords
        #expect(txt.first?.strings.count == 2)
        #expect(txt.first?.text == "v=spf1 -all")
        #expect(try await zone.lookup("mail.example.com", .mx) == .noData)
        #expect(try await zone.lookup("example.com", .txt) == .noData, "an empty non-terminal exists")
        #expect(try await zone.lookup("nowhere.example.com", .a) == .nxDomain)
        #expect(try await zone.lookup("alias.example.com", .a).addresses == [.v4(IPv4Address(192, 0, 2, 1))])
        #expect(try await zone.lookup("alias.example.com", .cname) == .answer([.cname("mail.example.com.")]))
        await #expect(throws: DNSError.self) { try await zone.lookup("loop1.example.com", .a) }
        do {
            _ = try await zone.lookup("slow.example.com", .a)
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.type == .a)
        }
        await #expect(throws: DNSError.self) { try await zone.lookup("half.example.com", .txt) }
        #expect(try await zone.lookup("half.example.com", .a).addresses.count == 1)
        do {
            _ = try await zone.lookup("a..b", .a)
            Issue.record("expected invalidName")
        } catch {
            #expect(error.code == .invalidName)
        }
    }
}

@Suite("SPF checks")
struct SPFVerifierTests {
    static func verifier(_ records: [String: [DNSRecord]], configure: (inout StaticResolver) -> Void = { _ in })
        -> SPFVerifier
    {
        var zone = StaticResolver(records)
        configure(&zone)
        var options = SPFVerifier.Options()
        options.clock = { 1_700_000_000 }
        return SPFVerifier(resolver: zone, options: options)
    }

    static func txt(_ s: String) -> DNSRecord { .txt(TXTRecord(s)) }
    static let client = IPAddress.v4(IPv4Address(192, 0, 2, 10))

    @Test func passReportsMechanismAndAuthenticationResults() async {
        let spf = Self.verifier(["example.com": [Self.txt("v=spf1 ip4:192.0.2.0/24 -all")]])
        let r = await spf.check(ip: Self.client, helo: "mail.example.com", mailFrom: "<user@example.com>")
        #expect(r.code == .pass)
        #expect(r.identity == .mailFrom)
        #expect(r.domain == "example.com")
        #expect(r.sender == "user@example.com")
        #expect(r.mechanism == "ip4:192.0.2.0/24")
        #expect(r.explanation == nil)
        #expect(r.authenticationResults.hasPrefix("spf=pass ("))
        #expect(r.authenticationResults.hasSuffix(") smtp.mailfrom=example.com"))
    }

    @Test func failHasDefaultExplanationWithMacros() async {
        let spf = Self.verifier(["example.com": [Self.txt("v=spf1 -all")]])
        let r = await spf.check(ip: Self.client, helo: "x", mailFrom: "user@example.com")
        #expect(r.code == .fail)
        #expect(r.explanation == "192.0.2.10 is not authorized to send mail for example.com")
    }

    @Test func expModifierWithMacros() async {
        let spf = Self.verifier([
            "example.com": [Self.txt("v=spf1 -all exp=why.%{d}")],
            "why.example.com": [Self.txt("%{c} may not send as %{s} (checked by %{r} at %{t})")],
        ])
        let r = await spf.check(ip: Self.client, helo: "x", mailFrom: "user@example.com")
        #expect(r.explanation == "192.0.2.10 may not send as user@example.com (checked by unknown at 1700000000)")
    }

    @Test func heloIdentityWhenMailFromIsEmpty() async {
        let spf = Self.verifier(["mail.example.com": [Self.txt("v=spf1 a -all"), .a(IPv4Address(192, 0, 2, 10))]])
        let r = await spf.check(ip: Self.client, helo: "mail.example.com", mailFrom: "<>")
        #expect(r.code == .pass)
        #expect(r.identity == .helo)
        #expect(r.sender == "postmaster@mail.example.com")
        #expect(r.authenticationResults.hasSuffix(" smtp.helo=mail.example.com"))
        let direct = await spf.checkHELO(ip: Self.client, helo: "mail.example.com")
        #expect(direct.code == .pass)
        #expect(await spf.checkHELO(ip: Self.client, helo: "[192.0.2.10]").code == .none)
        #expect(await spf.checkHELO(ip: Self.client, helo: "localhost").code == .none)
    }

    @Test func ipv4MappedClientIsIPv4() async throws {
        let spf = Self.verifier(["example.com": [Self.txt("v=spf1 ip6:::/0 ip4:192.0.2.10 -all")]])
        let r = await spf.check(ip: try #require(IPAddress("::ffff:192.0.2.10")), helo: "x", mailFrom: "a@example.com")
        #expect(r.code == .pass)
        #expect(r.mechanism == "ip4:192.0.2.10")
        #expect(r.ip == Self.client)
    }

    @Test func dnsErrorsAreTemperror() async {
        let spf = Self.verifier(
            ["example.com": [Self.txt("v=spf1 a:slow.example.com ip4:192.0.2.10 -all")]],
            configure: { $0.fail("slow.example.com", with: .serverFailure) })
        let r = await spf.check(ip: Self.client, helo: "x", mailFrom: "a@example.com")
        #expect(r.code == .temperror)
        #expect(r.reason.contains("serverFailure"))
        let timeout = Self.verifier([:], configure: { $0.fail("example.com") })
        #expect(await timeout.check(ip: Self.client, helo: "x", mailFrom: "a@example.com").code == .temperror)
    }

    @Test func lookupLimitCountsEvaluatedTermsOnly() async {
        let tenLookups = Array(repeating: "a:none.example.net", count: 1) + Array(repeating: "mx:example.org", count: 9)
        let records: [String: [DNSRecord]] = [
            "at.example.com": [Self.txt("v=spf1 " + tenLookups.joined(separator: " ") + " ip4:192.0.2.10 a a -all")],
            "over.example.com": [Self.txt("v=spf1 " + tenLookups.joined(separator: " ") + " a ip4:192.0.2.10 -all")],
            "example.org": [.mx(preference: 10, exchange: "mx.example.org")],
            "mx.example.org": [.a(IPv4Address(198, 51, 100, 1))],
        ]
        let spf = Self.verifier(records)
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@at.example.com").code == .pass)
        let over = await spf.check(ip: Self.client, helo: "x", mailFrom: "a@over.example.com")
        #expect(over.code == .permerror)
        #expect(over.reason.contains("more than 10"))
    }

    @Test func voidLookupLimit() async {
        let spf = Self.verifier([
            "two.example.com": [Self.txt("v=spf1 a:n1.example.com exists:n2.example.com ?all")],
            "three.example.com": [Self.txt("v=spf1 a:n1.example.com exists:n2.example.com mx:n3.example.com ?all")],
        ])
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@two.example.com").code == .neutral)
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@three.example.com").code == .permerror)
    }

    @Test func includeAndRedirectSemantics() async {
        let spf = Self.verifier([
            "example.com": [Self.txt("v=spf1 include:_spf.example.net redirect=_spf.example.org")],
            "_spf.example.net": [Self.txt("v=spf1 ip4:198.51.100.0/24 -all")],
            "_spf.example.org": [Self.txt("v=spf1 ip4:192.0.2.0/28 ~all exp=nope.example.org")],
            "none.example.com": [Self.txt("v=spf1 include:nothing.example.com -all")],
        ])
        let r = await spf.check(ip: Self.client, helo: "x", mailFrom: "a@example.com")
        #expect(r.code == .pass)
        #expect(r.mechanismDomain == "_spf.example.org")
        let other = await spf.check(ip: .v4(IPv4Address(203, 0, 113, 5)), helo: "x", mailFrom: "a@example.com")
        #expect(other.code == .softfail)
        #expect(other.mechanism == "~all")
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@none.example.com").code == .permerror)
    }

    @Test func pMacroAndPtrMechanism() async throws {
        let spf = Self.verifier([
            "example.com": [Self.txt("v=spf1 ptr -all")],
            "10.2.0.192.in-addr.arpa": [.ptr("mail.example.com."), .ptr("spoof.example.com")],
            "mail.example.com": [.a(IPv4Address(192, 0, 2, 10))],
            "other.example.com": [Self.txt("v=spf1 exists:%{p}.allow.example.com -all")],
            "mail.example.com.allow.example.com": [.a(IPv4Address(127, 0, 0, 2))],
        ])
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@example.com").code == .pass)
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@other.example.com").code == .pass)
        let unvalidated = IPAddress.v4(IPv4Address(192, 0, 2, 11))
        #expect(await spf.check(ip: unvalidated, helo: "x", mailFrom: "a@example.com").code == .fail)
    }

    @Test func noRecordMultipleRecordsAndSyntaxErrors() async {
        let spf = Self.verifier([
            "plain.example.com": [Self.txt("google-site-verification=abc")],
            "two.example.com": [Self.txt("v=spf1 -all"), Self.txt("v=spf1 +all")],
            "bad.example.com": [Self.txt("v=spf1 ip4:192.0.2.10 -all moo")],
        ])
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@plain.example.com").code == .none)
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@nxdomain.example.com").code == .none)
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@two.example.com").code == .permerror)
        let bad = await spf.check(ip: Self.client, helo: "x", mailFrom: "a@bad.example.com")
        #expect(bad.code == .permerror)
        #expect(bad.reason.contains("moo"))
        #expect(await spf.check(ip: Self.client, helo: "x", mailFrom: "a@[192.0.2.10]").code == .none)
    }

    @Test func authenticationResultsEscapesComment() {
        let r = SPFResult(
            code: .fail, identity: .mailFrom, domain: "example.com", sender: "a@example.com", ip: Self.client,
            reason: "bad (really)\r\nX-Injected: yes \\ ok")
        #expect(
            r.authenticationResults == #"spf=fail (bad \(really\)??X-Injected: yes \\ ok) smtp.mailfrom=example.com"#)
        let odd = SPFResult(code: .none, identity: .helo, domain: "[1.2.3.4]", sender: "", ip: Self.client, reason: "r")
        #expect(odd.authenticationResults == #"spf=none (r) smtp.helo="[1.2.3.4]""#)
    }
}
