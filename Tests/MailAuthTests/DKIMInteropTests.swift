import Crypto
import Dispatch
import Foundation
import MailAuth
import Testing
import _CryptoExtras

/// Messages signed by dkimpy (an independent implementation, `pip install dkimpy pynacl`) and
/// verified here. Skipped when python3 cannot import dkim and nacl.
enum Dkimpy {
    static let script = #"""
        import sys, json, base64, dkim
        req = json.load(sys.stdin)
        out = []
        for job in req["jobs"]:
            msg = base64.b64decode(job["msg"])
            if job["alg"] == "ed25519-sha256":
                key = req["ed25519"].encode()
            else:
                key = req["rsa_pem"].encode()
            sig = dkim.sign(msg, b"sel-" + job["alg"].split("-")[0].encode(), b"example.com", key,
                            canonicalize=(job["hc"].encode(), job["bc"].encode()),
                            signature_algorithm=job["alg"].encode(), length=job["length"])
            out.append(base64.b64encode(sig + msg).decode())
        json.dump(out, sys.stdout)
        """#

    static func run(_ arguments: [String], stdin: Data = Data()) -> (status: Int32, out: Data, err: String)? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        let error = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = error
        do { try p.run() } catch { return nil }
        input.fileHandleForWriting.write(stdin)
        try? input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, out, String(decoding: err, as: UTF8.self))
    }

    static let available: Bool = run(["python3", "-c", "import dkim, nacl"])?.status == 0

    /// ``run(_:stdin:)`` on a Dispatch thread, so the blocking wait stays off the cooperative pool.
    static func runDetached(_ arguments: [String], stdin: Data = Data()) async -> (status: Int32, out: Data, err: String)? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: run(arguments, stdin: stdin)) }
        }
    }

    /// Signs each job's message with dkimpy; returns the signed messages in order.
    static func sign(rsaPEM: String, ed25519Seed: String, jobs: [[String: Any]]) async throws -> [[UInt8]] {
        let request: [String: Any] = ["rsa_pem": rsaPEM, "ed25519": ed25519Seed, "jobs": jobs]
        let data = try JSONSerialization.data(withJSONObject: request)
        let result = try #require(await runDetached(["python3", "-c", script], stdin: data))
        try #require(result.status == 0, "dkimpy failed: \(result.err)")
        let list = try #require(try JSONSerialization.jsonObject(with: result.out) as? [String])
        return try list.map { try #require(Data(base64Encoded: $0)).map { $0 } }
    }
}

@Suite("DKIM interop with dkimpy", .enabled(if: Dkimpy.available, "dkimpy not installed (pip install dkimpy pynacl)"))
struct DKIMInteropTests {
    static let bodies: [String] = [
        "Hello,\r\n\r\nthis is a test.\r\n",
        "",
        "\r\n\r\n\r\n",
        "trailing spaces   \r\n\ttabs\t\there \r\n\r\n\r\n",
        "no final line break",
        "  leading and  inner   spaces\r\n \r\n\t\r\nend\r\n",
        "Gr\u{FC}\u{DF}e aus K\u{F6}ln \u{2014} UTF-8 body\r\n",
        String(repeating: "A long line of text that goes on and on. ", count: 40) + "\r\n",
    ]
    static let headerSets: [String] = [
        "From: Joe <joe@example.com>\r\nTo: ann@example.net\r\nSubject: hello\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n",
        "Received: from a by b; Sun, 29 Nov 2026 12:00:00 +0000\r\nFrom:   Joe\t<joe@example.com>  \r\nTo: ann@example.net,\r\n\tbob@example.net\r\nSubject:  folded\r\n  subject\t line \r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n",
    ]
    static let canonicalizations = [("simple", "simple"), ("relaxed", "relaxed"), ("relaxed", "simple"), ("simple", "relaxed")]
    static let algorithms = ["rsa-sha256", "ed25519-sha256"]

    struct Keys {
        var rsa: _RSA.Signing.PrivateKey
        var ed: Curve25519.Signing.PrivateKey
        var resolver: StaticResolver

        init() throws {
            rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            ed = Curve25519.Signing.PrivateKey()
            resolver = StaticResolver([
                "sel-rsa._domainkey.example.com": [
                    .txt(TXTRecord("v=DKIM1; k=rsa; p=\(rsa.publicKey.derRepresentation.base64EncodedString())"))
                ],
                "sel-ed25519._domainkey.example.com": [
                    .txt(TXTRecord("v=DKIM1; k=ed25519; p=\(ed.publicKey.rawRepresentation.base64EncodedString())"))
                ],
            ])
        }

        func sign(_ jobs: [[String: Any]]) async throws -> [[UInt8]] {
            try await Dkimpy.sign(rsaPEM: rsa.pemRepresentation, ed25519Seed: ed.rawRepresentation.base64EncodedString(), jobs: jobs)
        }
    }

    static func job(_ message: String, _ alg: String, _ c: (String, String), length: Bool = false) -> [String: Any] {
        ["msg": Data(message.utf8).base64EncodedString(), "alg": alg, "hc": c.0, "bc": c.1, "length": length]
    }

    @Test func verifiesGeneratedMessages() async throws {
        let keys = try Keys()
        var jobs: [[String: Any]] = []
        for alg in Self.algorithms {
            for c in Self.canonicalizations {
                for (i, body) in Self.bodies.enumerated() {
                    let headers = Self.headerSets[i % Self.headerSets.count]
                    jobs.append(Self.job(headers + "\r\n" + body, alg, c, length: i == 3))
                }
            }
        }
        let signed = try await keys.sign(jobs)
        #expect(signed.count == 64)
        let verifier = DKIMVerifier(resolver: keys.resolver)
        var passed = 0
        for (index, message) in signed.enumerated() {
            let results = await verifier.verify(message: message)
            #expect(results.count == 1)
            if results.first?.code == .pass {
                passed += 1
            } else {
                Issue.record("message \(index) (\(jobs[index]["alg"] ?? "")/\(jobs[index]["hc"] ?? "")/\(jobs[index]["bc"] ?? "")): \(results)\n\(String(decoding: message, as: UTF8.self))")
            }
        }
        #expect(passed == 64)
    }

    @Test func tampering() async throws {
        let keys = try Keys()
        let base = Self.headerSets[1] + "\r\nHello,\r\n  the body.\r\n"
        var jobs: [[String: Any]] = []
        for alg in Self.algorithms { for c in Self.canonicalizations { jobs.append(Self.job(base, alg, c)) } }
        let signed = try await keys.sign(jobs)
        let verifier = DKIMVerifier(resolver: keys.resolver)
        for (index, message) in signed.enumerated() {
            let text = String(decoding: message, as: UTF8.self)
            let label = "\(jobs[index]["alg"] ?? "") \(jobs[index]["hc"] ?? "")/\(jobs[index]["bc"] ?? "")"
            let bodyRelaxed = (jobs[index]["bc"] as? String) == "relaxed"
            let headerRelaxed = (jobs[index]["hc"] as? String) == "relaxed"

            #expect(await verifier.verify(message: message).first?.code == .pass, "\(label)")

            let body = await verifier.verify(message: Array(text.replacing("the body", with: "the bodY").utf8)).first
            #expect(body?.code == .fail && body?.reason == .bodyHashMismatch, "\(label): \(String(describing: body))")

            let header = await verifier.verify(message: Array(text.replacing("ann@example.net", with: "eve@example.net").utf8)).first
            #expect(header?.code == .fail && header?.reason == .signatureMismatch, "\(label): \(String(describing: header))")

            let added = await verifier.verify(message: Array(("Received: from relay\r\nX-Spam: no\r\n" + text).utf8)).first
            #expect(added?.code == .pass, "\(label): unsigned header added")

            let spaced = await verifier.verify(message: Array(text.replacing("Subject:  folded", with: "Subject: folded").utf8)).first
            #expect(spaced?.code == (headerRelaxed ? .pass : .fail), "\(label): header whitespace")

            let bodySpaces = await verifier.verify(message: Array(text.replacing("the body.", with: "the   body. ").utf8)).first
            #expect(bodySpaces?.code == (bodyRelaxed ? .pass : .fail), "\(label): body whitespace")

            let lf = await verifier.verify(message: Array(text.replacing("\r\n", with: "\n").utf8)).first
            #expect(lf?.code == .pass, "\(label): LF line endings")
        }
    }
}
