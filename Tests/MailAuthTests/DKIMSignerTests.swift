import Crypto
import MailAuth
import Testing
import _CryptoExtras

@Suite struct DKIMSignerTests {
    static let message = Array(
        "From: Joe <joe@example.com>\r\nTo: ann@example.net\r\nSubject: hi\r\nX-Other: 1\r\n\r\nBody text\r\n".utf8)

    @Test func signatureFieldIsFoldedAndParses() throws {
        let key = try DKIMSigningKey.generate(.rsaSHA256)
        let signer = try DKIMSigner(domain: "example.com", selector: "s1", key: key)
        let field = try signer.signatureField(for: Self.message)
        #expect(field.hasPrefix("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;"))
        #expect(field.hasSuffix("\r\n"))
        for line in field.split(separator: "\r\n") { #expect(line.utf8.count <= 78, "\(line)") }
        let colon = try #require(field.firstIndex(of: ":"))
        let sig = try DKIMSignature(parsing: String(field[field.index(after: colon)...]))
        // In the order of the default list; From oversigned; X-Other is not in the list.
        #expect(sig.signedHeaders == ["from", "subject", "to", "from"])
        #expect(sig.signature.count == 256)
        #expect(sig.bodyLength == nil && sig.timestamp == nil)
    }

    @Test(arguments: [DKIMAlgorithm.rsaSHA256, .ed25519SHA256])
    func ownVerifierAcceptsAndKeyRecordParses(_ alg: DKIMAlgorithm) async throws {
        let key = try DKIMSigningKey.generate(alg)
        let record = try DKIMKeyRecord(parsing: key.keyRecord)
        #expect(record.keyType == alg.keyType)
        var options = DKIMSigner.Options()
        options.includeBodyLength = true
        options.timestamp = 1_000
        options.expirationSeconds = 60
        options.identity = "joe@mail.example.com"
        let signer = try DKIMSigner(domain: "example.com", selector: "s1", key: key, options: options)
        let signed = try signer.sign(Self.message)
        let resolver = StaticResolver(["s1._domainkey.example.com": [.txt(TXTRecord(key.keyRecord))]])
        let result = await DKIMVerifier(resolver: resolver).verify(message: signed)
        #expect(result.map(\.code) == [.pass])
        #expect(result.first?.identity == "joe@mail.example.com")

        var expiring = DKIMVerifier.Options()
        expiring.clock = { 2_000 }
        let expired = await DKIMVerifier(resolver: resolver, options: expiring).verify(message: signed)
        #expect(expired.first?.reason == .expired)
    }

    @Test func pemRoundTripAndFormats() throws {
        let rsa = try DKIMSigningKey.generate(.rsaSHA256)
        #expect(try DKIMSigningKey(pem: rsa.pemRepresentation).publicKeyBytes == rsa.publicKeyBytes)
        let ed = try DKIMSigningKey.generate(.ed25519SHA256)
        let edPEM = ed.pemRepresentation
        #expect(edPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let again = try DKIMSigningKey(pem: edPEM)
        #expect(again.algorithm == .ed25519SHA256 && again.publicKeyBytes == ed.publicKeyBytes)
        // PKCS#1 RSA.
        let raw = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let pkcs1 = raw.pemRepresentation.replacing("PRIVATE KEY", with: "RSA PRIVATE KEY")
        // swift-crypto's pemRepresentation is PKCS#1 already when labelled so; accept both.
        if let k = try? DKIMSigningKey(pem: pkcs1) { #expect(k.algorithm == .rsaSHA256) }
        #expect(throws: DKIMSigningError.self) { try DKIMSigningKey(pem: "not a key") }
        #expect(throws: DKIMSigningError.self) { try DKIMSigningKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
    }

    @Test func rejectsBadParameters() throws {
        let key = try DKIMSigningKey.generate(.ed25519SHA256)
        #expect(throws: DKIMSigningError.self) { try DKIMSigner(domain: "exa mple.com", selector: "s", key: key) }
        #expect(throws: DKIMSigningError.self) { try DKIMSigner(domain: "example.com", selector: "s;x", key: key) }
        var o = DKIMSigner.Options()
        o.identity = "a@other.org"
        #expect(throws: DKIMSigningError.self) { try DKIMSigner(domain: "example.com", selector: "s", key: key, options: o) }
        let signer = try DKIMSigner(domain: "example.com", selector: "s", key: key)
        #expect(throws: DKIMSigningError.self) { try signer.sign(Array("To: a@b\r\n\r\nx\r\n".utf8)) }
    }

    @Test func keepsLFLineEndings() async throws {
        let key = try DKIMSigningKey.generate(.ed25519SHA256)
        let signer = try DKIMSigner(domain: "example.com", selector: "s", key: key)
        let lf = Self.message.filter { $0 != 0x0D }
        let signed = try signer.sign(lf)
        #expect(!signed.contains(0x0D))
        let resolver = StaticResolver(["s._domainkey.example.com": [.txt(TXTRecord(key.keyRecord))]])
        #expect(await DKIMVerifier(resolver: resolver).verify(message: signed).map(\.code) == [.pass])
    }
}
