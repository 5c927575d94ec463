import Crypto
import MailAuth
import Testing

@Suite("DKIM tags, keys, base64")
struct DKIMParsingTests {
    static let sig =
        "v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel;\r\n\tt=1700000000; x=1800000000; l=42; q=dns/txt;"
        + " i=joe@mail.example.com; z=From:joe=40example.com;\r\n h=From : To:Subject:from; bh=AAEC\r\n AwQ=;"
        + " b=dGVz\r\n dA==;"

    @Test func parsesEveryTag() throws {
        let s = try DKIMSignature(parsing: Self.sig)
        #expect(s.algorithm == .rsaSHA256)
        #expect(s.headerCanonicalization == .relaxed)
        #expect(s.bodyCanonicalization == .simple)
        #expect(s.domain == "example.com")
        #expect(s.selector == "sel")
        #expect(s.keyName == "sel._domainkey.example.com")
        #expect(s.timestamp == 1_700_000_000)
        #expect(s.expiration == 1_800_000_000)
        #expect(s.bodyLength == 42)
        #expect(s.identity == "joe@mail.example.com")
        #expect(s.signedHeaders == ["From", "To", "Subject", "from"])
        #expect(s.bodyHash == [0, 1, 2, 3, 4])
        #expect(s.signature == Array("test".utf8))
        #expect(s.signatureBase64 == "dGVzdA==")
        #expect(s.copiedHeaders == "From:joe=40example.com")
    }

    @Test func defaults() throws {
        let s = try DKIMSignature(parsing: "v=1; a=ed25519-sha256; d=example.org; s=x; h=from; bh=AA==; b=AA==")
        #expect(s.algorithm == .ed25519SHA256)
        #expect(s.headerCanonicalization == .simple && s.bodyCanonicalization == .simple)
        #expect(s.identity == nil && s.bodyLength == nil && s.timestamp == nil)
        let r = try DKIMSignature(parsing: "v=1; a=rsa-sha256; c=relaxed; d=example.org; s=x; h=from; bh=AA==; b=AA==")
        #expect(r.headerCanonicalization == .relaxed && r.bodyCanonicalization == .simple)
    }

    @Test(arguments: [
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=to; bh=AA==; b=AA==", "fromNotSigned"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==", "missingTag"),
        ("v=1; a=rsa-sha256; d=example.com; d=example.com; s=s; h=from; bh=AA==; b=AA==", "duplicateTag"),
        ("v=2; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==; b=AA==", "unsupportedVersion"),
        ("v=1; a=rsa-md5; d=example.com; s=s; h=from; bh=AA==; b=AA==", "unsupportedAlgorithm"),
        ("v=1; a=rsa-sha256; c=fancy/simple; d=example.com; s=s; h=from; bh=AA==; b=AA==", "unsupportedCanonicalization"),
        ("v=1; a=rsa-sha256; q=http; d=example.com; s=s; h=from; bh=AA==; b=AA==", "unsupportedQueryMethod"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=A!A=; b=AA==", "invalidBase64"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==; b=AA==; i=a@example.net", "identityMismatch"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==; b=AA==; t=20; x=10", "invalidValue"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==; b=AA==; l=-1", "invalidValue"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==; b=AA==; t=abc", "invalidValue"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from;; bh=AA==; b=AA==", "syntaxError"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==; b=AA==; 9x=1", "syntaxError"),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AA==; b=AA==; novalue", "syntaxError"),
    ])
    func rejects(_ value: String, _ code: String) {
        do {
            _ = try DKIMSignature(parsing: value)
            Issue.record("accepted \(value)")
        } catch {
            #expect(error.code.description == code, "\(value): \(error)")
        }
    }

    @Test func keyRecords() throws {
        let k = try DKIMKeyRecord(parsing: "v=DKIM1; k=ed25519; h=sha256; n=notes here; s=email:*; t=y:s; p=AAEC")
        #expect(k.keyType == "ed25519")
        #expect(k.hashAlgorithms == ["sha256"])
        #expect(k.notes == "notes here")
        #expect(k.serviceTypes == ["email", "*"])
        #expect(k.isTesting && k.requiresSameDomain)
        #expect(k.publicKey == [0, 1, 2])
        let d = try DKIMKeyRecord(parsing: "p=")
        #expect(d.keyType == "rsa" && d.isRevoked && d.hashAlgorithms == nil && d.serviceTypes == ["*"])
        #expect(throws: DKIMSignatureError.self) { try DKIMKeyRecord(parsing: "k=rsa; v=DKIM1; p=AA==") }
        #expect(throws: DKIMSignatureError.self) { try DKIMKeyRecord(parsing: "v=DKIM2; p=AA==") }
        #expect(throws: DKIMSignatureError.self) { try DKIMKeyRecord(parsing: "v=DKIM1; k=dsa; p=AA==") }
        #expect(throws: DKIMSignatureError.self) { try DKIMKeyRecord(parsing: "v=DKIM1; k=rsa") }
        #expect(throws: DKIMSignatureError.self) { try DKIMKeyRecord(parsing: "v=DKIM1; s=web; p=AA==") }
        #expect(throws: DKIMSignatureError.self) { try DKIMKeyRecord(parsing: "v=DKIM1; p=A*A=") }
    }

    @Test func base64() {
        #expect(DKIMBase64.decode("TWFu") == Array("Man".utf8))
        #expect(DKIMBase64.decode(" T W\r\n\tF u ") == Array("Man".utf8))
        #expect(DKIMBase64.decode("TWE=") == Array("Ma".utf8))
        #expect(DKIMBase64.decode("TWE") == Array("Ma".utf8))
        #expect(DKIMBase64.decode("TQ= =") == Array("M".utf8))
        #expect(DKIMBase64.decode("") == [])
        #expect(DKIMBase64.decode("T") == nil)
        #expect(DKIMBase64.decode("TQ=a") == nil)
        #expect(DKIMBase64.decode("TWE==") == nil)
        #expect(DKIMBase64.decode("TW-u") == nil)
        for n in 0..<20 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(DKIMBase64.decode(DKIMBase64.encode(bytes)) == bytes)
        }
    }
}

@Suite("DKIM canonicalization")
struct DKIMCanonicalizationTests {
    // RFC 6376 section 3.4.6.
    static let example = Array(
        "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n".utf8)

    @Test func rfcExampleRelaxed() {
        let (headers, body) = DKIMCanonicalizer.split(Self.example)
        #expect(headers.map(\.name) == ["A", "B"])
        let h = headers.flatMap { DKIMCanonicalizer.header($0, .relaxed) }
        #expect(String(decoding: h, as: UTF8.self) == "a:X\r\nb:Y Z\r\n")
        #expect(String(decoding: DKIMCanonicalizer.body(body, .relaxed), as: UTF8.self) == " C\r\nD E\r\n")
    }

    @Test func rfcExampleSimple() {
        let (headers, body) = DKIMCanonicalizer.split(Self.example)
        let h = headers.flatMap { DKIMCanonicalizer.header($0, .simple) }
        #expect(String(decoding: h, as: UTF8.self) == "A: X\r\nB : Y\t\r\n\tZ  \r\n")
        #expect(String(decoding: DKIMCanonicalizer.body(body, .simple), as: UTF8.self) == " C \r\nD \t E\r\n")
    }

    @Test func emptyAndUnterminatedBodies() {
        func s(_ b: String, _ c: DKIMCanonicalization) -> String {
            String(decoding: DKIMCanonicalizer.body(ArraySlice(b.utf8), c), as: UTF8.self)
        }
        #expect(s("", .simple) == "\r\n")
        #expect(s("", .relaxed) == "")
        #expect(s("\r\n\r\n", .simple) == "\r\n")
        #expect(s(" \r\n\t\r\n", .relaxed) == "")
        #expect(s("abc", .simple) == "abc\r\n")
        #expect(s("abc  ", .relaxed) == "abc\r\n")
        #expect(s("a  b\t\tc \r\n\r\nx\r\n\r\n", .relaxed) == "a b c\r\n\r\nx\r\n")
    }

    @Test func bareLineFeedsAndSignatureValueRemoval() {
        let msg = DKIMCanonicalizer.normalizingLineEndings(Array("A: 1\nDKIM-Signature: v=1; b=abc\n def;\n bh=x; b2=3\n\nbody\n".utf8))
        #expect(String(decoding: msg, as: UTF8.self) == "A: 1\r\nDKIM-Signature: v=1; b=abc\r\n def;\r\n bh=x; b2=3\r\n\r\nbody\r\n")
        let (headers, _) = DKIMCanonicalizer.split(msg)
        let stripped = DKIMCanonicalizer.removingSignatureValue(headers[1])
        #expect(String(decoding: stripped.raw, as: UTF8.self) == "DKIM-Signature: v=1; b=;\r\n bh=x; b2=3\r\n")
        let last = DKIMCanonicalizer.removingSignatureValue(
            DKIMCanonicalizer.split(Array("DKIM-Signature: a=1; b= ab\r\n cd\r\n\r\n".utf8)).headers[0])
        #expect(String(decoding: last.raw, as: UTF8.self) == "DKIM-Signature: a=1; b=\r\n")
    }

    @Test func headerSelectionIsBottomUp() {
        let (headers, _) = DKIMCanonicalizer.split(Array("Received: 1\r\nFrom: a\r\nReceived: 2\r\nTo: b\r\n\r\n".utf8))
        let picked = DKIMCanonicalizer.selectHeaders(["received", "RECEIVED", "received", "from", "x"], from: headers)
        #expect(picked.map { String(decoding: $0.raw, as: UTF8.self) } == ["Received: 2\r\n", "Received: 1\r\n", "From: a\r\n"])
    }
}
