import Crypto
import _CryptoExtras

/// A private key for DKIM signing: RSA (2048 bits or more recommended, 1024 the minimum) or
/// Ed25519 (RFC 8463).
public struct DKIMSigningKey: Sendable {
    enum Storage: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        /// The 32-byte seed (swift-crypto's Curve25519 key is not Sendable).
        case ed25519([UInt8])
    }
    let storage: Storage

    /// An RSA key.
    public init(rsa key: _RSA.Signing.PrivateKey) { storage = .rsa(key) }
    /// An Ed25519 key.
    public init(ed25519 key: Curve25519.Signing.PrivateKey) { storage = .ed25519(Array(key.rawRepresentation)) }

    /// A new random key: RSA of `rsaBits` bits for rsa-sha256, or Ed25519.
    public static func generate(_ algorithm: DKIMAlgorithm, rsaBits: Int = 2048) throws(DKIMSigningError) -> DKIMSigningKey {
        switch algorithm {
        case .ed25519SHA256:
            return DKIMSigningKey(ed25519: Curve25519.Signing.PrivateKey())
        case .rsaSHA256, .rsaSHA1:
            let size: _RSA.Signing.KeySize
            switch rsaBits {
            case 2048: size = .bits2048
            case 3072: size = .bits3072
            case 4096: size = .bits4096
            default: throw DKIMSigningError(.invalidKey, detail: "RSA keys of 2048, 3072 or 4096 bits")
            }
            do {
                return DKIMSigningKey(rsa: try _RSA.Signing.PrivateKey(keySize: size))
            } catch {
                throw DKIMSigningError(.invalidKey, detail: "RSA key generation failed")
            }
        }
    }

    /// Loads a key from text:
    /// - PEM `RSA PRIVATE KEY` (PKCS#1) or `PRIVATE KEY` (PKCS#8) holding an RSA key of 1024
    ///   bits or more;
    /// - PEM `PRIVATE KEY` (PKCS#8, RFC 8410) holding an Ed25519 key;
    /// - a bare base64 Ed25519 seed of 32 bytes (the form dkimpy and OpenDKIM use).
    public init(pem text: String) throws(DKIMSigningError) {
        let trimmed = text.utf8.filter { !DKIMTagList.isFWS($0) }
        guard !trimmed.isEmpty else { throw DKIMSigningError(.invalidKey, detail: "empty key") }
        guard text.firstRange(of: "-----BEGIN") != nil else {
            // A bare base64 Ed25519 seed.
            guard let seed = DKIMBase64.decode(text), seed.count == 32 else {
                throw DKIMSigningError(.invalidKey, detail: "not PEM and not a base64 Ed25519 seed of 32 bytes")
            }
            storage = .ed25519(seed)
            return
        }
        if let der = Self.pemBody(text, label: "PRIVATE KEY"), let seed = Self.ed25519Seed(fromPKCS8: der) {
            storage = .ed25519(seed)
            return
        }
        do {
            storage = .rsa(try _RSA.Signing.PrivateKey(unsafePEMRepresentation: text))
        } catch {
            throw DKIMSigningError(.invalidKey, detail: "not an RSA (PKCS#1/PKCS#8) or Ed25519 (PKCS#8) private key")
        }
    }

    /// The algorithm this key signs with (rsa-sha256 or ed25519-sha256).
    public var algorithm: DKIMAlgorithm {
        switch storage {
        case .rsa: .rsaSHA256
        case .ed25519: .ed25519SHA256
        }
    }

    /// The public key as DKIM publishes it in `p=`: SubjectPublicKeyInfo DER for RSA, the 32
    /// raw bytes for Ed25519 (RFC 8463 section 4).
    public var publicKeyBytes: [UInt8] {
        switch storage {
        case .rsa(let k): Array(k.publicKey.derRepresentation)
        case .ed25519(let seed): Self.ed25519(seed).map { Array($0.publicKey.rawRepresentation) } ?? []
        }
    }

    /// The TXT record data to publish at `selector._domainkey.domain`:
    /// `v=DKIM1; k=rsa; p=MIIB…`. Long records must be split into strings of 255 bytes when
    /// written into a zone file (``TXTRecord/init(_:)-(String)`` does that).
    public var keyRecord: String {
        "v=DKIM1; k=\(algorithm.keyType); p=\(DKIMBase64.encode(publicKeyBytes))"
    }

    /// The private key as PEM: PKCS#8 `PRIVATE KEY` for both types (RFC 8410 for Ed25519).
    public var pemRepresentation: String {
        switch storage {
        case .rsa(let k):
            return k.pemRepresentation
        case .ed25519(let seed):
            let der = Self.pkcs8Ed25519Prefix + seed
            let b64 = Array(DKIMBase64.encode(der).utf8)
            var out = "-----BEGIN PRIVATE KEY-----\n"
            var i = 0
            while i < b64.count {
                out += String(decoding: b64[i..<min(i + 64, b64.count)], as: UTF8.self) + "\n"
                i += 64
            }
            return out + "-----END PRIVATE KEY-----\n"
        }
    }

    /// Signs `data` (the canonicalized header hash input).
    func sign(_ data: [UInt8]) throws(DKIMSigningError) -> [UInt8] {
        do {
            switch storage {
            case .rsa(let k):
                return Array(try k.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation)
            case .ed25519(let seed):
                guard let k = Self.ed25519(seed) else { throw DKIMSigningError(.invalidKey, detail: "bad Ed25519 seed") }
                return Array(try k.signature(for: Array(SHA256.hash(data: data))))
            }
        } catch {
            throw DKIMSigningError(.signingFailed, detail: "\(error)")
        }
    }

    /// DER prefix of a PKCS#8 Ed25519 private key (RFC 8410 section 7): SEQUENCE { INTEGER 0,
    /// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }.
    static let pkcs8Ed25519Prefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    static func ed25519(_ seed: [UInt8]) -> Curve25519.Signing.PrivateKey? {
        try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    static func ed25519Seed(fromPKCS8 der: [UInt8]) -> [UInt8]? {
        guard der.count == 48, der.starts(with: pkcs8Ed25519Prefix) else { return nil }
        return Array(der[16...])
    }

    /// The base64-decoded body of the first PEM block with this label.
    static func pemBody(_ text: String, label: String) -> [UInt8]? {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        guard let b = text.firstRange(of: begin), let e = text[b.upperBound...].firstRange(of: end) else {
            return nil
        }
        return DKIMBase64.decode(String(text[b.upperBound..<e.lowerBound]))
    }
}

/// Why a message could not be signed or a key not loaded.
public struct DKIMSigningError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case invalidKey, invalidParameter, noFromField, signingFailed }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The key could not be read, generated or used.
        public static let invalidKey = Code(.invalidKey)
        /// A domain, selector, identity or header name that cannot go into a signature.
        public static let invalidParameter = Code(.invalidParameter)
        /// The message has no From field (RFC 6376 requires signing it).
        public static let noFromField = Code(.noFromField)
        /// The crypto library refused to sign.
        public static let signingFailed = Code(.signingFailed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { "DKIMSigningError.\(code)" + (detail.isEmpty ? "" : ": \(detail)") }
}
