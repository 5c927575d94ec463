import Foundation
import MailAuth
import Testing

/// ARC chains sealed by dkimpy (which seals with RSA keys only) (`dkim.arc_sign`, needs `pip install dkimpy pynacl authres`) and
/// validated here, intact and tampered.
enum DkimpyARC {
    static let available: Bool = Dkimpy.run(["python3", "-c", "import dkim, nacl, authres"])?.status == 0
}

@Suite("ARC chains from dkimpy", .enabled(if: DkimpyARC.available, "dkimpy/authres not installed (pip install dkimpy pynacl authres)"))
struct ARCInteropTests {
    /// Each job: a message and hops; each hop adds an Authentication-Results field for its
    /// authserv-id, optionally rewrites the body first (as a mailing list would), then seals.
    static let script = #"""
        import sys, json, base64, dkim
        req = json.load(sys.stdin)
        keys = {k.lower(): v.encode() for k, v in req["keys"].items()}
        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            return keys.get(n.rstrip(".").lower())
        out = []
        for job in req["jobs"]:
            msg = base64.b64decode(job["msg"])
            for hop in job["hops"]:
                if hop.get("rewrite"):
                    msg = msg.replace(b"the body", b"the [list] body")
                msg = ("Authentication-Results: %s; %s\r\n" % (hop["srv"], hop["ar"])).encode() + msg
                key = req["ed25519"].encode() if hop["alg"] == "ed25519-sha256" else req["rsa_pem"].encode()
                sigs = dkim.arc_sign(msg, hop["sel"].encode(), hop["domain"].encode(), key, hop["srv"].encode(),
                                     signature_algorithm=hop["alg"].encode(), timestamp=1790000000)
                msg = b"".join(sigs) + msg
            cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
            out.append({"msg": base64.b64encode(msg).decode(), "cv": (cv or b"").decode()})
        json.dump(out, sys.stdout)
        """#

    struct Setup {
        var rsa: DKIMSigningKey
        var ed: DKIMSigningKey
        var keys: [String: String]
        var resolver: StaticResolver

        init() throws {
            rsa = try DKIMSigningKey.generate(.rsaSHA256)
            ed = try DKIMSigningKey.generate(.ed25519SHA256)
            keys = [
                "arc._domainkey.example.org": rsa.keyRecord, "arc._domainkey.lists.example.net": rsa.keyRecord,
                "arc._domainkey.example.net": rsa.keyRecord,
            ]
            resolver = StaticResolver(keys.mapValues { [.txt(TXTRecord($0))] })
        }

        /// The seed as dkimpy wants it (base64 of the 32 raw bytes).
        var edSeed: String {
            let pem = ed.pemRepresentation
            let b64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            return Data(base64Encoded: b64).map { $0.suffix(32).base64EncodedString() } ?? ""
        }
    }

    struct Hop: Sendable {
        var srv, domain, sel, alg, ar: String
        var rewrite: Bool
        var json: [String: Any] { ["srv": srv, "domain": domain, "sel": sel, "alg": alg, "ar": ar, "rewrite": rewrite] }
    }

    static func hop(_ srv: String, _ domain: String, _ sel: String, _ alg: String, ar: String, rewrite: Bool = false) -> Hop {
        Hop(srv: srv, domain: domain, sel: sel, alg: alg, ar: ar, rewrite: rewrite)
    }

    static let message = "From: Joe <joe@example.com>\r\nTo: list@lists.example.net\r\nSubject: ARC test\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <arc@example.com>\r\n\r\nHello,\r\nthe body.\r\n"

    static func seal(_ setup: Setup, _ hopLists: [[Hop]]) async throws -> [(msg: String, cv: String)] {
        let jobs: [[String: Any]] = hopLists.map { ["msg": Data(message.utf8).base64EncodedString(), "hops": $0.map(\.json)] }
        let request: [String: Any] = [
            "keys": setup.keys, "jobs": jobs, "rsa_pem": setup.rsa.pemRepresentation, "ed25519": setup.edSeed,
        ]
        let data = try JSONSerialization.data(withJSONObject: request)
        let result = try #require(await Dkimpy.runDetached(["python3", "-c", script], stdin: data))
        try #require(result.status == 0, "dkimpy failed: \(result.err)")
        let list = try #require(try JSONSerialization.jsonObject(with: result.out) as? [[String: String]])
        return try list.map {
            (String(decoding: try #require(Data(base64Encoded: $0["msg"] ?? "")), as: UTF8.self), $0["cv"] ?? "")
        }
    }

    static let one = [hop("mx.example.org", "example.org", "arc", "rsa-sha256", ar: "spf=pass smtp.mailfrom=example.com")]
    static let two = one + [hop("mx.lists.example.net", "lists.example.net", "arc", "rsa-sha256", ar: "arc=pass")]
    static let three = two + [hop("mx.example.net", "example.net", "arc", "rsa-sha256", ar: "arc=pass")]
    static let rewritten = one + [hop("mx.lists.example.net", "lists.example.net", "arc", "rsa-sha256", ar: "arc=pass", rewrite: true)]

    @Test func intactChainsPass() async throws {
        let setup = try Setup()
        let sealed = try await Self.seal(setup, [Self.one, Self.two, Self.three, Self.rewritten])
        let verifier = ARCVerifier(resolver: setup.resolver)
        let expected: [(instances: Int, oldestPass: Int)] = [(1, 0), (2, 0), (3, 0), (2, 2)]
        for (i, s) in sealed.enumerated() {
            #expect(s.cv == "pass", "dkimpy's own verdict on chain \(i)")
            let r = await verifier.verify(message: Array(s.msg.utf8))
            #expect(r.code == .pass, "chain \(i): \(r)\n\(s.msg)")
            #expect(r.instances == expected[i].instances && r.oldestPass == expected[i].oldestPass, "chain \(i): \(r)")
            #expect(r.sets.first?.sealDomain == "example.org")
            #expect(r.sets.first?.authenticationResults.hasPrefix("mx.example.org;") == true)
        }
        // LF line endings are accepted as well.
        let lf = await verifier.verify(message: Array(sealed[1].msg.replacing("\r\n", with: "\n").utf8))
        #expect(lf.code == .pass)
    }

    @Test func tamperedChainsFail() async throws {
        let setup = try Setup()
        let sealed = try await Self.seal(setup, [Self.two])[0].msg
        let verifier = ARCVerifier(resolver: setup.resolver)
        func check(_ text: String, _ label: String, _ expected: ARCResult.Code = .fail) async {
            let r = await verifier.verify(message: Array(text.utf8))
            #expect(r.code == expected, "\(label): \(r)")
        }
        await check(sealed.replacing("the body", with: "the bodY"), "body changed after the last seal")
        await check(sealed.replacing("Subject: ARC test", with: "Subject: ARC t3st"), "signed header changed")
        await check(sealed.replacing("spf=pass smtp.mailfrom=example.com", with: "spf=fail smtp.mailfrom=example.com"),
                    "ARC-Authentication-Results i=1 changed")
        await check(sealed.replacing("cv=pass", with: "cv=fail"), "newest seal says fail")
        await check(sealed.replacing("cv=none", with: "cv=pass"), "first seal with cv=pass")
        // Drop the newest ARC-Seal (the first field, folded over several lines).
        let lines = sealed.components(separatedBy: "\r\n")
        var dropped: [String] = []
        var skipping = false
        for line in lines {
            if line.hasPrefix("ARC-Seal: i=2") { skipping = true; continue }
            if skipping && (line.hasPrefix(" ") || line.hasPrefix("\t")) { continue }
            skipping = false
            dropped.append(line)
        }
        await check(dropped.joined(separator: "\r\n"), "newest ARC-Seal removed")
        await check(sealed.replacing("i=2;", with: "i=3;"), "instance gap")
        await check(Self.message, "no ARC", .none)

        // A key lookup that times out is temperror, never fail or pass.
        var timeouts = setup.resolver
        timeouts.fail("arc._domainkey.lists.example.net")
        let temp = await ARCVerifier(resolver: timeouts).verify(message: Array(sealed.utf8))
        #expect(temp.code == .temperror, "\(temp)")
    }
}
