import Foundation
import Testing

/// `spamward dkim keygen|sign` and `spamward auth` through the built binary, with DNS answered
/// from a `--zone` file.
extension ProcessTests {
@Suite("auth and dkim commands", .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/publicsuffix/public_suffix_list.dat"), "no Public Suffix List (apt-get install publicsuffix)"))
struct AuthCLITests {
    static let message = "From: Joe <joe@example.com>\nTo: ann@example.net\nSubject: hi\nDate: Sun, 29 Nov 2026 12:00:00 +0000\n\nHello there.\n"

    /// Keygen + sign, returns the CLI, the zone path and the signed message path.
    func setup(_ algorithm: String) throws -> (CLI, String, String) {
        let cli = try CLI()
        let keygen = try cli.run(["dkim", "keygen", "--algorithm", algorithm, "--out", cli.path("key.pem"),
                                  "--selector", "sel", "--domain", "example.com"])
        #expect(keygen.status == 0, "\(keygen)")
        #expect(keygen.stdout.hasPrefix("sel._domainkey.example.com TXT \"v=DKIM1; k=\(algorithm.hasPrefix("rsa") ? "rsa" : "ed25519"); p="))
        let zone = try cli.write("zone.txt", keygen.stdout + """
            example.com TXT "v=spf1 ip4:192.0.2.0/24 -all"
            _dmarc.example.com TXT "v=DMARC1; p=reject"
            slow.example TIMEOUT

            """)
        let msg = try cli.write("m.eml", Self.message)
        let sign = try cli.run(["dkim", "sign", "--domain", "example.com", "--selector", "sel", "--key", cli.path("key.pem"), msg])
        #expect(sign.status == 0, "\(sign)")
        #expect(sign.stdout.hasPrefix("DKIM-Signature: v=1; a=\(algorithm); c=relaxed/relaxed; d=example.com;"))
        #expect(sign.stdout.hasSuffix(Self.message))
        return (cli, zone, try cli.write("signed.eml", sign.stdout))
    }

    @Test(arguments: ["rsa-sha256", "ed25519-sha256"])
    func signThenAuthenticate(_ algorithm: String) throws {
        let (cli, zone, signed) = try setup(algorithm)
        let r = try cli.run(["auth", signed, "--ip", "192.0.2.7", "--helo", "mx.example.com", "--mail-from", "joe@example.com",
                             "--zone", zone, "--authserv-id", "mx.test"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("spf: pass (mailfrom example.com)"))
        #expect(r.stdout.contains("dkim[0]: pass d=example.com s=sel a=\(algorithm)"))
        #expect(r.stdout.contains("dmarc: pass header.from=example.com p=reject"))
        #expect(r.stdout.contains("symbol: DMARC_PASS -0.5"))
        #expect(r.stdout.contains("Authentication-Results: mx.test;\n\tspf=pass"))

        // Tampered, from an address outside the SPF record: everything fails, DMARC asks to reject.
        let bad = try cli.write("bad.eml", try String(contentsOfFile: signed, encoding: .utf8).replacing("Hello there.", with: "Hello there!"))
        let j = try cli.run(["auth", bad, "--ip", "203.0.113.9", "--helo", "x", "--mail-from", "joe@example.com", "--zone", zone, "--json"])
        #expect(j.status == 0, "\(j)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        #expect((o["spf"] as? [String: Any])?["result"] as? String == "fail")
        let dkim = try #require(o["dkim"] as? [[String: Any]])
        #expect(dkim.count == 1 && dkim.first?["result"] as? String == "fail" && dkim.first?["reason"] as? String == "body hash mismatch")
        #expect((o["dmarc"] as? [String: Any])?["result"] as? String == "fail")
        #expect((o["dmarc"] as? [String: Any])?["disposition"] as? String == "reject")
        #expect((o["arc"] as? [String: Any])?["result"] as? String == "none")
        let names = (o["symbols"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["SPF_FAIL", "DKIM_INVALID", "DMARC_POLICY_REJECT", "ARC_NONE"])
    }

    @Test func dnsTimeoutsAndUsageErrors() throws {
        let cli = try CLI()
        let zone = try cli.write("zone.txt", "example.com TIMEOUT\n_dmarc.example.com TIMEOUT\n")
        let msg = try cli.write("m.eml", Self.message)
        let r = try cli.run(["auth", msg, "--ip", "192.0.2.7", "--mail-from", "joe@example.com", "--zone", zone, "--json"])
        #expect(r.status == 0, "\(r)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((o["spf"] as? [String: Any])?["result"] as? String == "temperror")
        #expect((o["dmarc"] as? [String: Any])?["result"] as? String == "temperror")

        #expect(try cli.run(["auth", msg, "--zone", cli.path("missing.txt")]).status == 66)
        #expect(try cli.run(["auth", msg, "--zone", try cli.write("bad.txt", "example.com BOGUS x\n")]).status == 65)
        #expect(try cli.run(["auth", msg, "--dns", "not-an-address"]).status == 64)
        #expect(try cli.run(["auth", msg, "--zone", zone, "--ip", "not-an-ip"]).status == 64)
        #expect(try cli.run(["dkim", "sign", "--domain", "example.com", "--selector", "s", "--key", try cli.write("k", "junk"), msg]).status == 65)
    }
}
}
