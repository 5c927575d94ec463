import MailAuth
import MailMessage
import Testing

@Suite("Message authentication")
struct MessageAuthenticatorTests {
    static let psl = PublicSuffixList("com\norg\nnet\n")
    static let ip = IPAddress.v4(IPv4Address(192, 0, 2, 10))

    static func zone(_ key: DKIMSigningKey) -> StaticResolver {
        StaticResolver([
            "example.com": [.txt(TXTRecord("v=spf1 ip4:192.0.2.0/24 -all"))],
            "_dmarc.example.com": [.txt(TXTRecord("v=DMARC1; p=reject"))],
            "sel._domainkey.example.com": [.txt(TXTRecord(key.keyRecord))],
            "sel._domainkey.elsewhere.org": [.txt(TXTRecord(key.keyRecord))],
        ])
    }

    static func message(from: String = "Joe <joe@example.com>") -> [UInt8] {
        Array("From: \(from)\r\nTo: ann@example.net\r\nSubject: hello\r\n\r\nHi there.\r\n".utf8)
    }

    @Test func legitimateMessagePassesEverything() async throws {
        let key = try DKIMSigningKey.generate(.ed25519SHA256)
        let signed = try DKIMSigner(domain: "example.com", selector: "sel", key: key).sign(Self.message())
        let auth = MessageAuthenticator(resolver: Self.zone(key), publicSuffixList: Self.psl)
        let r = await auth.authenticate(MessageParser.parse(signed), clientIP: Self.ip, helo: "mx.example.com", mailFrom: "joe@example.com")
        #expect(r.spf?.code == .pass)
        #expect(r.dkim.map(\.code) == [.pass])
        #expect(r.dmarc.code == .pass && r.dmarc.spfAligned && r.dmarc.dkimAligned)
        #expect(r.arc.code == ARCResult.Code.none)
        #expect(r.symbols.map(\.name) == ["SPF_PASS", "DKIM_VALID", "DMARC_PASS", "ARC_NONE"])
        #expect(r.symbols.reduce(0) { $0 + $1.score } < 0)
        let header = r.headerValue(authservID: "mx.test")
        #expect(header.hasPrefix("mx.test; spf=pass ("))
        #expect(header.contains("; dkim=pass header.d=example.com header.s=sel header.b="))
        #expect(header.contains("; dmarc=pass (p=reject dis=none; SPF aligned, DKIM aligned d=example.com) header.from=example.com; arc=none"))
    }

    @Test func forgedFromIsRejectedByPolicy() async throws {
        let key = try DKIMSigningKey.generate(.rsaSHA256)
        // Signed by an unrelated domain, sent from an address outside example.com's SPF.
        let signed = try DKIMSigner(domain: "elsewhere.org", selector: "sel", key: key).sign(Self.message())
        let auth = MessageAuthenticator(resolver: Self.zone(key), publicSuffixList: Self.psl)
        let r = await auth.authenticate(
            MessageParser.parse(signed), clientIP: .v4(IPv4Address(203, 0, 113, 5)), helo: "evil.example", mailFrom: "x@example.com")
        #expect(r.spf?.code == .fail)
        #expect(r.dkim.map(\.code) == [.pass])
        #expect(r.dmarc.code == .fail && r.dmarc.disposition == .reject)
        #expect(r.symbols.map(\.name) == ["SPF_FAIL", "DKIM_VALID", "DMARC_POLICY_REJECT", "ARC_NONE"])
        #expect(r.symbols.first { $0.name == "DKIM_VALID" }?.options == ["elsewhere.org:sel"])

        var options = MessageAuthenticator.Options()
        options.scores["DMARC_POLICY_REJECT"] = 7
        let rescored = MessageAuthenticator(resolver: Self.zone(key), publicSuffixList: Self.psl, options: options)
        #expect(rescored.symbols(for: r).first { $0.name == "DMARC_POLICY_REJECT" }?.score == 7)
    }

    @Test func dnsTimeoutsAreTemperrorsNeverPassOrFail() async throws {
        let key = try DKIMSigningKey.generate(.ed25519SHA256)
        let signed = try DKIMSigner(domain: "example.com", selector: "sel", key: key).sign(Self.message())
        var resolver = StaticResolver()
        resolver.fail("example.com")
        resolver.fail("_dmarc.example.com")
        resolver.fail("sel._domainkey.example.com")
        let auth = MessageAuthenticator(resolver: resolver, publicSuffixList: Self.psl)
        let r = await auth.authenticate(MessageParser.parse(signed), clientIP: Self.ip, helo: "mx.example.com", mailFrom: "joe@example.com")
        #expect(r.spf?.code == .temperror)
        #expect(r.dkim.map(\.code) == [.temperror])
        #expect(r.dmarc.code == .temperror)
        #expect(r.symbols.map(\.name) == ["SPF_TEMPERROR", "DKIM_TEMPERROR", "DMARC_TEMPERROR", "ARC_NONE"])
        #expect(r.symbols.allSatisfy { $0.score == 0 })
    }

    @Test func noClientAndTwoFromAddresses() async throws {
        let auth = MessageAuthenticator(resolver: StaticResolver(), publicSuffixList: Self.psl)
        let r = await auth.authenticate(
            MessageParser.parse(Self.message(from: "a@example.com, b@example.org")), clientIP: nil, helo: nil, mailFrom: nil)
        #expect(r.spf == nil)
        #expect(r.dmarc.code == DMARCResult.Code.none)
        #expect(r.symbols.map(\.name) == ["DKIM_NONE", "DMARC_NONE", "ARC_NONE"])
        #expect(r.headerValue(authservID: "mx.test") == "mx.test; dkim=none; dmarc=none (no usable RFC5322.From domain); arc=none (no ARC sets)")
    }

    @Test func everySymbolIsDocumented() throws {
        let names = MessageAuthenticator.symbols.map(\.name)
        #expect(Set(names).count == names.count)
        for s in MessageAuthenticator.symbols {
            #expect(s.name.allSatisfy { $0.isUppercase || $0 == "_" || $0.isNumber }, "\(s.name)")
            #expect(!s.description.isEmpty)
        }
    }
}
