import Crypto
import Foundation
import MailAuth
import Testing
import _CryptoExtras

/// Messages signed here and verified by dkimpy (and by our own verifier).
@Suite("DKIM signing, verified by dkimpy", .enabled(if: Dkimpy.available, "dkimpy not installed (pip install dkimpy pynacl)"))
struct DKIMSignerInteropTests {
    /// Verifies each message with dkimpy, answering key queries from `keys` (name -> TXT data).
    static let verifyScript = #"""
        import sys, json, base64, dkim
        req = json.load(sys.stdin)
        keys = {k.lower(): v.encode() for k, v in req["keys"].items()}
        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            return keys.get(n.rstrip(".").lower())
        out = []
        for m in req["messages"]:
            try:
                out.append(bool(dkim.verify(base64.b64decode(m), dnsfunc=dnsfunc)))
            except Exception as e:
                out.append(False)
        json.dump(out, sys.stdout)
        """#

    static func dkimpyVerify(_ messages: [[UInt8]], keys: [String: String]) async throws -> [Bool] {
        let request: [String: Any] = ["keys": keys, "messages": messages.map { Data($0).base64EncodedString() }]
        let data = try JSONSerialization.data(withJSONObject: request)
        let result = try #require(await Dkimpy.runDetached(["python3", "-c", verifyScript], stdin: data))
        try #require(result.status == 0, "dkimpy failed: \(result.err)")
        return try #require(try JSONSerialization.jsonObject(with: result.out) as? [Bool])
    }

    struct Setup {
        var rsa: DKIMSigningKey
        var ed: DKIMSigningKey
        var keys: [String: String]
        var resolver: StaticResolver

        init() throws {
            rsa = try DKIMSigningKey.generate(.rsaSHA256)
            ed = try DKIMSigningKey.generate(.ed25519SHA256)
            keys = ["rsa._domainkey.example.com": rsa.keyRecord, "ed._domainkey.example.com": ed.keyRecord]
            resolver = StaticResolver(keys.mapValues { [.txt(TXTRecord($0))] })
        }

        func signer(_ alg: DKIMAlgorithm, _ c: (DKIMCanonicalization, DKIMCanonicalization), length: Bool = false)
            throws -> DKIMSigner
        {
            var options = DKIMSigner.Options()
            options.headerCanonicalization = c.0
            options.bodyCanonicalization = c.1
            options.includeBodyLength = length
            options.timestamp = 1_790_000_000
            options.expirationSeconds = length ? 86_400 * 365 * 50 : nil
            return try DKIMSigner(
                domain: "example.com", selector: alg == .ed25519SHA256 ? "ed" : "rsa", key: alg == .ed25519SHA256 ? ed : rsa,
                options: options)
        }
    }

    static let canonicalizations: [(DKIMCanonicalization, DKIMCanonicalization)] = [
        (.simple, .simple), (.relaxed, .relaxed), (.relaxed, .simple), (.simple, .relaxed),
    ]

    /// 64 messages: both algorithms, four canonicalizations, eight bodies, two header sets.
    static func cases() -> [(message: String, alg: DKIMAlgorithm, c: (DKIMCanonicalization, DKIMCanonicalization), length: Bool)] {
        var out: [(String, DKIMAlgorithm, (DKIMCanonicalization, DKIMCanonicalization), Bool)] = []
        for alg in [DKIMAlgorithm.rsaSHA256, .ed25519SHA256] {
            for c in canonicalizations {
                for (i, body) in DKIMInteropTests.bodies.enumerated() {
                    let headers = DKIMInteropTests.headerSets[i % DKIMInteropTests.headerSets.count]
                    out.append((headers + "\r\n" + body, alg, c, i == 3))
                }
            }
        }
        return out
    }

    @Test func dkimpyVerifiesOurSignatures() async throws {
        let setup = try Setup()
        let cases = Self.cases()
        var signed: [[UInt8]] = []
        for c in cases {
            signed.append(try setup.signer(c.alg, c.c, length: c.length).sign(Array(c.message.utf8)))
        }
        #expect(signed.count == 64)
        let verdicts = try await Self.dkimpyVerify(signed, keys: setup.keys)
        #expect(verdicts.count == 64)
        for (i, ok) in verdicts.enumerated() where !ok {
            Issue.record("dkimpy rejected \(cases[i].alg) \(cases[i].c):\n\(String(decoding: signed[i], as: UTF8.self))")
        }
        #expect(verdicts.filter { $0 }.count == 64)

        // Our own verifier agrees.
        let verifier = DKIMVerifier(resolver: setup.resolver)
        for (i, message) in signed.enumerated() {
            let r = await verifier.verify(message: message)
            #expect(r.count == 1 && r.first?.code == .pass, "\(cases[i].alg) \(cases[i].c): \(r)")
        }
    }

    @Test func dkimpyRejectsTamperedMessages() async throws {
        let setup = try Setup()
        let base = DKIMInteropTests.headerSets[1] + "\r\nHello,\r\n  the body.\r\n"
        var tampered: [[UInt8]] = []
        var labels: [String] = []
        var untouched: [[UInt8]] = []
        for alg in [DKIMAlgorithm.rsaSHA256, .ed25519SHA256] {
            for c in Self.canonicalizations {
                let signed = String(decoding: try setup.signer(alg, c).sign(Array(base.utf8)), as: UTF8.self)
                untouched.append(Array(signed.utf8))
                let edits: [(String, String)] = [
                    ("the body", "the bodY"),  // body
                    ("ann@example.net", "eve@example.net"),  // signed header
                    ("Subject:  folded", "Subject: fold3d"),  // signed header
                ]
                for (from, to) in edits {
                    tampered.append(Array(signed.replacing(from, with: to).utf8))
                    labels.append("\(alg) \(c): \(from) -> \(to)")
                }
                // A second From is caught by oversigning.
                tampered.append(Array(("From: eve@evil.example\r\n" + signed).utf8))
                labels.append("\(alg) \(c): added From")
            }
        }
        let good = try await Self.dkimpyVerify(untouched, keys: setup.keys)
        #expect(good.allSatisfy { $0 } && good.count == untouched.count)
        let verdicts = try await Self.dkimpyVerify(tampered, keys: setup.keys)
        #expect(verdicts.count == tampered.count)
        for (i, ok) in verdicts.enumerated() { #expect(!ok, "dkimpy accepted \(labels[i])") }
        let verifier = DKIMVerifier(resolver: setup.resolver)
        for (i, message) in tampered.enumerated() {
            #expect(await verifier.verify(message: message).first?.code == .fail, "\(labels[i])")
        }
    }
}
