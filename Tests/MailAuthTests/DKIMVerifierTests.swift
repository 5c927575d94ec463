import Crypto
import MailAuth
import Testing
import _CryptoExtras

/// Signs messages in-process (with the library's canonicalization) to reach the verifier's error
/// paths without an external signer; the dkimpy interop suite checks the canonicalization itself.
enum TestSigner {
    enum Key: Sendable {
        /// The private key's raw representation (Curve25519 keys are not Sendable).
        case ed25519([UInt8])
        case rsa(_RSA.Signing.PrivateKey, sha1: Bool)
    }

    static func sign(
        _ message: String, key: Key, domain: String = "example.com", selector: String = "sel",
        c: String = "relaxed/relaxed", h: String = "from:to:subject", extra: String = "", bodyLength: Int? = nil
    ) throws -> [UInt8] {
        let bytes = DKIMCanonicalizer.normalizingLineEndings(Array(message.utf8))
        let (headers, body) = DKIMCanonicalizer.split(bytes)
        let parts = c.split(separator: "/").map(String.init)
        let hc = DKIMCanonicalization(rawValue: parts[0]) ?? .simple
        let bc = DKIMCanonicalization(rawValue: parts.count > 1 ? parts[1] : "simple") ?? .simple
        var canonicalBody = DKIMCanonicalizer.body(body, bc)
        if let bodyLength { canonicalBody = Array(canonicalBody.prefix(bodyLength)) }
        let a: String
        let bh: [UInt8]
        switch key {
        case .ed25519:
            a = "ed25519-sha256"
            bh = Array(SHA256.hash(data: canonicalBody))
        case .rsa(_, let sha1):
            a = sha1 ? "rsa-sha1" : "rsa-sha256"
            bh = sha1 ? Array(Insecure.SHA1.hash(data: canonicalBody)) : Array(SHA256.hash(data: canonicalBody))
        }
        let l = bodyLength.map { " l=\($0);" } ?? ""
        let value =
            " v=1; a=\(a); c=\(c); d=\(domain); s=\(selector);\(l)\(extra)\r\n\th=\(h);\r\n\tbh=\(DKIMBase64.encode(bh)); b="
        let field = DKIMHeaderField(name: "DKIM-Signature", raw: Array("DKIM-Signature:\(value)\r\n".utf8))
        var data: [UInt8] = []
        for f in DKIMCanonicalizer.selectHeaders(h.split(separator: ":").map(String.init), from: headers) {
            data += DKIMCanonicalizer.header(f, hc)
        }
        data += DKIMCanonicalizer.header(field, hc, withCRLF: false)
        let b: [UInt8]
        switch key {
        case .ed25519(let seed):
            let k = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            b = Array(try k.signature(for: Array(SHA256.hash(data: data))))
        case .rsa(let k, let sha1):
            let s =
                sha1
                ? try k.signature(for: Insecure.SHA1.hash(data: data), padding: .insecurePKCS1v1_5)
                : try k.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
            b = Array(s.rawRepresentation)
        }
        return Array("DKIM-Signature:\(value)\(DKIMBase64.encode(b))\r\n".utf8) + bytes
    }

    static func keyRecord(_ key: Key, extra: String = "") -> DNSRecord {
        switch key {
        case .ed25519(let seed):
            .txt(
                TXTRecord(
                    "v=DKIM1; k=ed25519;\(extra) p="
                        + DKIMBase64.encode(
                            (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)).map {
                                Array($0.publicKey.rawRepresentation)
                            } ?? [])))
        case .rsa(let k, _):
            .txt(TXTRecord("v=DKIM1; k=rsa;\(extra) p=\(DKIMBase64.encode(Array(k.publicKey.derRepresentation)))"))
        }
    }
}

@Suite("DKIM verifier")
struct DKIMVerifierTests {
    static let message = "From: Joe <joe@example.com>\r\nTo: ann@example.net\r\nSubject: hello\r\n\r\nHi Ann,\r\n  see you.\r\n"
    static let ed = TestSigner.Key.ed25519(Array(Curve25519.Signing.PrivateKey().rawRepresentation))

    static func verify(
        _ signed: [UInt8], zone: [String: [DNSRecord]], now: Int64? = nil, configure: (inout StaticResolver) -> Void = { _ in }
    ) async -> [DKIMResult] {
        var resolver = StaticResolver(zone)
        configure(&resolver)
        var options = DKIMVerifier.Options()
        if let now { options.clock = { now } }
        return await DKIMVerifier(resolver: resolver, options: options).verify(message: signed)
    }

    static var zone: [String: [DNSRecord]] { ["sel._domainkey.example.com": [TestSigner.keyRecord(ed)]] }

    @Test func passAndAuthenticationResults() async throws {
        let signed = try TestSigner.sign(Self.message, key: Self.ed)
        let results = await Self.verify(signed, zone: Self.zone)
        #expect(results.count == 1)
        let r = try #require(results.first)
        #expect(r.code == .pass, "\(r)")
        #expect(r.reason == nil)
        #expect(r.algorithm == .ed25519SHA256)
        #expect(r.signaturePrefix.count == 8)
        // The key is random, so the b= prefix may hold '/' or '+'; RFC 8601 values with MIME
        // tspecials ('/' among them) must be quoted.
        let b = r.signaturePrefix
        let value = b.contains(where: { "()<>@,;:\\\"/[]?=".contains($0) }) ? "\"\(b)\"" : b
        #expect(r.authenticationResults == "dkim=pass header.d=example.com header.s=sel header.b=\(value)")
        #expect(await Self.verify(Array(Self.message.utf8), zone: Self.zone).isEmpty)
    }

    @Test func expiry() async throws {
        let signed = try TestSigner.sign(Self.message, key: Self.ed, extra: " t=1000; x=2000;")
        #expect(await Self.verify(signed, zone: Self.zone, now: 1500).first?.code == .pass)
        let late = try #require(await Self.verify(signed, zone: Self.zone, now: 2001).first)
        #expect(late.code == .fail && late.reason == .expired)
        #expect(late.authenticationResults.hasPrefix("dkim=fail (signature expired) header.d=example.com"))
    }

    @Test func keyProblems() async throws {
        let signed = try TestSigner.sign(Self.message, key: Self.ed, extra: " i=joe@sub.example.com;")
        let name = "sel._domainkey.example.com"
        func check(_ records: [DNSRecord], _ code: DKIMResult.Code, _ reason: DKIMResult.Reason?) async {
            let r = await Self.verify(signed, zone: [name: records]).first
            #expect(r?.code == code && r?.reason == reason, "\(String(describing: r))")
        }
        await check([.txt(TXTRecord("v=DKIM1; k=ed25519; p="))], .fail, .keyRevoked)
        await check([TestSigner.keyRecord(Self.ed, extra: " h=sha1;")], .permerror, .keyMismatch)
        await check([TestSigner.keyRecord(Self.ed, extra: " t=s;")], .permerror, .keyMismatch)
        await check([TestSigner.keyRecord(Self.ed, extra: " t=y;")], .pass, nil)
        await check([.txt(TXTRecord("v=DKIM1; k=rsa; p=AAAA"))], .permerror, .keyMismatch)
        await check([.txt(TXTRecord("v=DKIM1; k=ed25519; p=AAAA"))], .permerror, .malformedKey)
        await check([.txt(TXTRecord("v=DKIM1; k=ed25519; p=A;; x"))], .permerror, .malformedKey)
        await check([.a(IPv4Address(192, 0, 2, 1))], .permerror, .noKey)
        let missing = await Self.verify(signed, zone: [:]).first
        #expect(missing?.code == .permerror && missing?.reason == .noKey)
        let timeout = await Self.verify(signed, zone: Self.zone) { $0.fail(name) }.first
        #expect(timeout?.code == .temperror && timeout?.reason == .dnsFailure)
    }

    @Test func tamperingAndBodyLength() async throws {
        let signed = try TestSigner.sign(Self.message, key: Self.ed, bodyLength: 10)
        #expect(await Self.verify(signed, zone: Self.zone).first?.code == .pass)
        let appended = signed + Array("appended text\r\n".utf8)
        #expect(await Self.verify(appended, zone: Self.zone).first?.code == .pass, "l= leaves the rest unsigned")
        let short = try TestSigner.sign(Self.message, key: Self.ed, bodyLength: 10_000)
        #expect(await Self.verify(short, zone: Self.zone).first?.reason == .bodyTooShort)

        let full = try TestSigner.sign(Self.message, key: Self.ed)
        let body = String(decoding: full, as: UTF8.self).replacing("see you", with: "see me")
        let b = await Self.verify(Array(body.utf8), zone: Self.zone).first
        #expect(b?.code == .fail && b?.reason == .bodyHashMismatch)
        let subject = String(decoding: full, as: UTF8.self).replacing("Subject: hello", with: "Subject: Hello")
        let s = await Self.verify(Array(subject.utf8), zone: Self.zone).first
        #expect(s?.code == .fail && s?.reason == .signatureMismatch)
        let added = Array("Received: from x by y\r\nX-Extra: 1\r\n".utf8) + full
        #expect(await Self.verify(added, zone: Self.zone).first?.code == .pass)
    }

    @Test func malformedAndUnsupportedSignatures() async throws {
        let noFrom = try TestSigner.sign(Self.message, key: Self.ed, h: "to:subject")
        let r = await Self.verify(noFrom, zone: Self.zone).first
        #expect(r?.code == .permerror && r?.reason == .malformedSignature)
        let unknown = Array("DKIM-Signature: v=1; a=rsa-sha512; d=example.com; s=sel; h=from; bh=AA==; b=AA==\r\n".utf8)
            + Array(Self.message.utf8)
        let u = await Self.verify(unknown, zone: Self.zone).first
        #expect(u?.code == .neutral && u?.reason == .unsupported)
    }

    @Test func signatureLimitAndRSA() async throws {
        var signed = Array(Self.message.utf8)
        for _ in 0..<7 { signed = try TestSigner.sign(String(decoding: signed, as: UTF8.self), key: Self.ed) }
        let results = await Self.verify(signed, zone: Self.zone)
        #expect(results.count == 5)
        #expect(results.allSatisfy { $0.code == .pass })

        let rsaKey = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        for sha1 in [false, true] {
            let key = TestSigner.Key.rsa(rsaKey, sha1: sha1)
            let m = try TestSigner.sign(Self.message, key: key, selector: "rsa", c: "simple/simple")
            let r = await Self.verify(m, zone: ["rsa._domainkey.example.com": [TestSigner.keyRecord(key)]]).first
            #expect(r?.code == (sha1 ? .policy : .pass), "\(String(describing: r))")
        }
    }
}
