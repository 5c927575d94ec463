import Crypto
import Logging
import MailAuth
import MailMessage
import SpamwardDNS
import SpamwardTestSupport
import Testing

/// SPF, DKIM (ed25519, the RFC 8463 example key published as sel1._domainkey.spamward.test),
/// DMARC (p=reject at spamward.test) and ARC through the real resolver and the test name server.
@Suite(.enabled(Comment(rawValue: TestDNSServer.skipMessage)) { await TestDNSServer.isRunning() })
struct AuthenticationEndToEndTests {
    /// RFC 8463 appendix A's private key; its public half is in Tests/Fixtures/dns/spamward.test.zone.
    static let seed: [UInt8] = Array(
        base64: "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")

    static let message = Array("""
        From: Joe <joe@spamward.test>\r
        To: jane@example.org\r
        Subject: end to end\r
        Date: Sun, 29 Nov 2026 10:00:00 +0000\r
        Message-ID: <e2e-1@spamward.test>\r
        \r
        Signed at spamward.test, checked through unbound.\r
        """.utf8)

    func authenticator() throws -> MessageAuthenticator {
        let psl = PublicSuffixList("test\n")
        let resolver = NIODNSResolver(
            // Generous timeouts: on a loaded machine unbound itself can take seconds to answer.
            configuration: DNSResolverConfiguration(
                servers: DNSServerAddress(host: TestDNSServer.host, port: TestDNSServer.port).map { [$0] } ?? [],
                timeoutMilliseconds: 10_000, attempts: 3),
            eventLoopGroup: NIODNSResolverTests.group, logger: Logger(label: "test.auth"))
        // The whole parallel suite can starve this process for many seconds: no SPF time limit here.
        var options = MessageAuthenticator.Options()
        options.spf.timeLimit = .seconds(600)
        return MessageAuthenticator(resolver: resolver, publicSuffixList: psl, options: options)
    }

    func signed() throws -> [UInt8] {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Self.seed)
        return try DKIMSigner(domain: "spamward.test", selector: "sel1", key: DKIMSigningKey(ed25519: key)).sign(Self.message)
    }

    @Test func signedFromAnAllowedAddressPassesEverything() async throws {
        let auth = try authenticator()
        let ip = try #require(IPAddress("198.51.100.7"))  // in _spf.spamward.test
        let r = await auth.authenticate(
            MessageParser.parse(try signed()), clientIP: ip, helo: "mx.spamward.test", mailFrom: "joe@spamward.test")
        #expect(r.spf?.code == .pass)
        #expect(r.dkim.map(\.code) == [.pass])
        #expect(r.dmarc.code == .pass)
        let header = r.headerValue(authservID: "mx.test")
        #expect(header.hasPrefix("mx.test;") && header.contains("spf=pass") && header.contains("dkim=pass")
                && header.contains("dmarc=pass"), "\(header)")
        #expect(r.symbols.map(\.name).contains("DMARC_PASS"))
    }

    @Test func forgedFromAnotherAddressFailsDMARCWithReject() async throws {
        let auth = try authenticator()
        var tampered = try signed()
        // Change the body after signing: DKIM fails; SPF fails for this address; DMARC p=reject.
        tampered.append(contentsOf: Array("PS: send money\r\n".utf8))
        let ip = try #require(IPAddress("203.0.113.9"))
        let r = await auth.authenticate(
            MessageParser.parse(tampered), clientIP: ip, helo: "bot.example.net", mailFrom: "joe@spamward.test")
        #expect(r.spf?.code == .fail)
        #expect(r.dkim.map(\.code) == [.fail])
        #expect(r.dmarc.code == .fail)
        #expect(r.symbols.map(\.name).contains("DMARC_POLICY_REJECT"), "\(r.symbols.map(\.name))")
    }
}

extension Array where Element == UInt8 {
    fileprivate init(base64 text: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in text.utf8 where table[Int(c)] != 0xFF {
            acc = (acc << 6) | UInt32(table[Int(c)])
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        self = out
    }
}
