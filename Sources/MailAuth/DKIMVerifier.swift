import Crypto
import _CryptoExtras

/// The outcome of verifying one DKIM-Signature (RFC 6376 section 6, RFC 8601 section 2.7.1).
public struct DKIMResult: Sendable, Hashable, CustomStringConvertible {
    /// The result codes of RFC 8601 for `dkim`.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The signature verified.
        case pass
        /// The signature did not verify (hashes, expiry, revoked key).
        case fail
        /// The signature could not be processed (unsupported algorithm or version).
        case neutral
        /// A transient DNS error; retrying later may succeed.
        case temperror
        /// Malformed signature or key record, missing or unusable key.
        case permerror
        /// The signature verified but is not acceptable by local policy (rsa-sha1).
        case policy

        public var description: String { rawValue }
    }

    /// Why a signature did not pass; extensible without breaking callers.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case bodyHashMismatch = "body hash mismatch"
            case signatureMismatch = "signature mismatch"
            case expired = "signature expired"
            case keyRevoked = "key revoked"
            case bodyTooShort = "body shorter than l="
            case malformedSignature = "malformed signature"
            case unsupported = "unsupported signature"
            case noKey = "no key"
            case malformedKey = "malformed key"
            case keyTooSmall = "key too small"
            case keyMismatch = "key not usable for this signature"
            case dnsFailure = "DNS failure"
            case weakAlgorithm = "rsa-sha1 is not acceptable"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The canonicalized body does not hash to `bh=`.
        public static let bodyHashMismatch = Reason(.bodyHashMismatch)
        /// `b=` does not verify over the signed header fields.
        public static let signatureMismatch = Reason(.signatureMismatch)
        /// `x=` is in the past.
        public static let expired = Reason(.expired)
        /// The key record has an empty `p=`.
        public static let keyRevoked = Reason(.keyRevoked)
        /// `l=` is larger than the canonicalized body.
        public static let bodyTooShort = Reason(.bodyTooShort)
        /// The DKIM-Signature could not be parsed or violates RFC 6376 (see the detail).
        public static let malformedSignature = Reason(.malformedSignature)
        /// Unknown version, algorithm, canonicalization or query method.
        public static let unsupported = Reason(.unsupported)
        /// No key record at `selector._domainkey.domain`.
        public static let noKey = Reason(.noKey)
        /// The key record or the key in it could not be parsed.
        public static let malformedKey = Reason(.malformedKey)
        /// An RSA key under the minimum size (1024 bits, RFC 8301).
        public static let keyTooSmall = Reason(.keyTooSmall)
        /// The key's type, hash algorithms or flags exclude this signature.
        public static let keyMismatch = Reason(.keyMismatch)
        /// The key lookup failed (timeout, SERVFAIL).
        public static let dnsFailure = Reason(.dnsFailure)
        /// rsa-sha1 (RFC 8301).
        public static let weakAlgorithm = Reason(.weakAlgorithm)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// Why the result is not `pass`; nil for pass.
    public var reason: Reason?
    /// More context for logs (never a payload).
    public var detail: String
    /// `d=` (empty when the signature could not be parsed that far).
    public var domain: String
    /// `s=`.
    public var selector: String
    /// `i=`, when given.
    public var identity: String?
    /// `a=`, when known.
    public var algorithm: DKIMAlgorithm?
    /// The first 8 characters of `b=` (RFC 6008 `header.b`).
    public var signaturePrefix: String
    /// Whether the key record says `t=y` (testing).
    public var testing: Bool

    public init(
        code: Code, reason: Reason? = nil, detail: String = "", domain: String = "", selector: String = "",
        identity: String? = nil, algorithm: DKIMAlgorithm? = nil, signaturePrefix: String = "", testing: Bool = false
    ) {
        self.code = code
        self.reason = reason
        self.detail = detail
        self.domain = domain
        self.selector = selector
        self.identity = identity
        self.algorithm = algorithm
        self.signaturePrefix = signaturePrefix
        self.testing = testing
    }

    public var description: String {
        "dkim=\(code) d=\(domain) s=\(selector)" + (reason.map { " (\($0)\(detail.isEmpty ? "" : ": \(detail)"))" } ?? "")
    }

    /// The `resinfo` for an RFC 8601 Authentication-Results header field, without the leading
    /// `;`: `dkim=pass header.d=example.com header.s=sel header.b=abcd1234`, with a comment for
    /// results other than pass.
    public var authenticationResults: String {
        var out = "dkim=\(code)"
        if let reason { out += " (\(SPFResult.comment(reason.description)))" }
        if !domain.isEmpty { out += " header.d=\(SPFResult.propertyValue(domain))" }
        if !selector.isEmpty { out += " header.s=\(SPFResult.propertyValue(selector))" }
        if !signaturePrefix.isEmpty { out += " header.b=\(SPFResult.propertyValue(signaturePrefix))" }
        return out
    }
}

/// Verifies the DKIM signatures of a message (RFC 6376, RFC 8301, RFC 8463).
public struct DKIMVerifier: Sendable {
    /// Limits and policy.
    public struct Options: Sendable {
        /// At most this many DKIM-Signature fields (from the top) are verified; the others get no
        /// result.
        public var maxSignatures = 5
        /// The smallest RSA key accepted (RFC 8301: 1024).
        public var minimumRSABits = 1024
        /// The current time, seconds since the epoch (for `x=`). Nil: expiry is not checked.
        public var clock: (@Sendable () -> Int64)?
        /// How far in the future `t=` may be before the signature is rejected (nil: not checked).
        public var maxClockSkew: Int64? = nil

        public init() {}
    }

    public var resolver: any DNSResolver
    public var options: Options

    public init(resolver: any DNSResolver, options: Options = Options()) {
        self.resolver = resolver
        self.options = options
    }

    /// One result per DKIM-Signature field, top to bottom, at most ``Options/maxSignatures``;
    /// empty when the message is unsigned.
    public func verify(message: [UInt8]) async -> [DKIMResult] {
        let normalized = DKIMCanonicalizer.normalizingLineEndings(message)
        let (headers, body) = DKIMCanonicalizer.split(normalized)
        let signatures = headers.filter { DKIMTagList.lowercased($0.name) == "dkim-signature" }
        var results: [DKIMResult] = []
        var bodyCache: [String: [UInt8]] = [:]
        for field in signatures.prefix(options.maxSignatures) {
            results.append(await verify(field, headers: headers, body: body, bodyCache: &bodyCache))
        }
        return results
    }

    private func verify(
        _ field: DKIMHeaderField, headers: [DKIMHeaderField], body: ArraySlice<UInt8>,
        bodyCache: inout [String: [UInt8]]
    ) async -> DKIMResult {
        let sig: DKIMSignature
        do {
            sig = try DKIMSignature(parsing: Array(field.value))
        } catch {
            let unsupported: Set<DKIMSignatureError.Code> = [
                .unsupportedVersion, .unsupportedAlgorithm, .unsupportedCanonicalization, .unsupportedQueryMethod,
            ]
            if unsupported.contains(error.code) {
                return DKIMResult(code: .neutral, reason: .unsupported, detail: error.description)
            }
            return DKIMResult(code: .permerror, reason: .malformedSignature, detail: error.description)
        }
        var result = DKIMResult(
            code: .pass, domain: sig.domain, selector: sig.selector, identity: sig.identity,
            algorithm: sig.algorithm, signaturePrefix: String(sig.signatureBase64.prefix(8)))
        func finish(_ code: DKIMResult.Code, _ reason: DKIMResult.Reason?, _ detail: String = "") -> DKIMResult {
            result.code = code
            result.reason = reason
            result.detail = detail
            return result
        }

        if let now = options.clock?() {
            if let x = sig.expiration, x < now { return finish(.fail, .expired, "x=\(x)") }
            if let skew = options.maxClockSkew, let t = sig.timestamp, t > now + skew {
                return finish(.permerror, .malformedSignature, "t= in the future")
            }
        }

        // The key.
        let key: DKIMKeyRecord
        switch await lookupKey(domain: sig.domain, selector: sig.selector, algorithm: sig.algorithm) {
        case .failure(let f): return finish(f.code, f.reason, f.detail)
        case .success(let k): key = k
        }
        result.testing = key.isTesting
        if key.requiresSameDomain, let i = sig.identity, let at = i.utf8.lastIndex(of: UInt8(ascii: "@")) {
            let iDomain = String(i[i.index(after: at)...])
            if !DNSName.equal(iDomain, sig.domain) {
                return finish(.permerror, .keyMismatch, "t=s and i= is a subdomain of d=")
            }
        }

        // The body hash.
        let cacheKey = "\(sig.bodyCanonicalization)/\(sig.algorithm.hash)/\(sig.bodyLength.map(String.init) ?? "-")"
        let computedBodyHash: [UInt8]
        if let cached = bodyCache[cacheKey] {
            computedBodyHash = cached
        } else {
            var canonical = DKIMCanonicalizer.body(body, sig.bodyCanonicalization)
            if let l = sig.bodyLength {
                guard l <= Int64(canonical.count) else {
                    return finish(.fail, .bodyTooShort, "l=\(l), body \(canonical.count)")
                }
                canonical.removeLast(canonical.count - Int(l))
            }
            computedBodyHash = Self.hash(canonical, sig.algorithm)
            bodyCache[cacheKey] = computedBodyHash
        }
        guard computedBodyHash == sig.bodyHash else { return finish(.fail, .bodyHashMismatch) }

        // The header hash input.
        var data: [UInt8] = []
        for h in DKIMCanonicalizer.selectHeaders(sig.signedHeaders, from: headers) {
            data += DKIMCanonicalizer.header(h, sig.headerCanonicalization)
        }
        data += DKIMCanonicalizer.header(
            DKIMCanonicalizer.removingSignatureValue(field), sig.headerCanonicalization, withCRLF: false)

        if let failure = checkSignature(sig.signature, over: data, key: key, algorithm: sig.algorithm) {
            return finish(failure.code, failure.reason, failure.detail)
        }
        if sig.algorithm == .rsaSHA1 { return finish(.policy, .weakAlgorithm) }
        return finish(.pass, nil)
    }

    /// Why a key or a signature check did not succeed.
    struct Failure: Error {
        var code: DKIMResult.Code
        var reason: DKIMResult.Reason
        var detail: String
        init(_ code: DKIMResult.Code, _ reason: DKIMResult.Reason, _ detail: String = "") {
            self.code = code
            self.reason = reason
            self.detail = detail
        }
    }

    /// Fetches and checks the key record at `selector._domainkey.domain` for `algorithm`
    /// (shared by DKIM and ARC). DNS errors give temperror, everything else permerror or fail.
    func lookupKey(domain: String, selector: String, algorithm: DKIMAlgorithm) async -> Result<DKIMKeyRecord, Failure> {
        let keyName = "\(selector)._domainkey.\(domain)"
        let answer: DNSLookupResult
        do {
            answer = try await resolver.lookup(keyName, .txt)
        } catch {
            if error.code == .invalidName { return .failure(Failure(.permerror, .noKey, error.description)) }
            return .failure(Failure(.temperror, .dnsFailure, error.description))
        }
        let records = answer.txtRecords
        guard !records.isEmpty else { return .failure(Failure(.permerror, .noKey, keyName)) }
        // RFC 6376 section 3.6.2.2: several records are ambiguous; use the first one that parses.
        var parsedKey: DKIMKeyRecord?
        var keyError: DKIMSignatureError?
        for record in records where parsedKey == nil {
            do {
                parsedKey = try DKIMKeyRecord(parsing: record.data)
            } catch {
                keyError = keyError ?? error
            }
        }
        guard let key = parsedKey else {
            return .failure(Failure(.permerror, .malformedKey, keyError?.description ?? ""))
        }
        if key.isRevoked { return .failure(Failure(.fail, .keyRevoked)) }
        if let hashes = key.hashAlgorithms, !hashes.contains(algorithm.hash) {
            return .failure(Failure(.permerror, .keyMismatch, "key h= excludes \(algorithm.hash)"))
        }
        guard key.keyType == algorithm.keyType else {
            return .failure(Failure(.permerror, .keyMismatch, "k=\(key.keyType) for a=\(algorithm)"))
        }
        return .success(key)
    }

    /// Checks `signature` over the header hash input `data`; nil when it verifies.
    func checkSignature(_ signature: [UInt8], over data: [UInt8], key: DKIMKeyRecord, algorithm: DKIMAlgorithm)
        -> Failure?
    {
        let valid: Bool
        switch algorithm {
        case .rsaSHA256, .rsaSHA1:
            let publicKey: _RSA.Signing.PublicKey
            do {
                publicKey = try _RSA.Signing.PublicKey(unsafeDERRepresentation: key.publicKey)
            } catch {
                return Failure(.permerror, .malformedKey, "not an RSA public key of 1024 bits or more")
            }
            guard publicKey.keySizeInBits >= options.minimumRSABits else {
                return Failure(.permerror, .keyTooSmall, "\(publicKey.keySizeInBits) bits")
            }
            let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
            if algorithm == .rsaSHA1 {
                valid = publicKey.isValidSignature(rsaSignature, for: Insecure.SHA1.hash(data: data), padding: .insecurePKCS1v1_5)
            } else {
                valid = publicKey.isValidSignature(rsaSignature, for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
            }
        case .ed25519SHA256:
            let publicKey: Curve25519.Signing.PublicKey
            do {
                publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey)
            } catch {
                return Failure(.permerror, .malformedKey, "not an Ed25519 public key")
            }
            valid = publicKey.isValidSignature(signature, for: Array(SHA256.hash(data: data)))
        }
        return valid ? nil : Failure(.fail, .signatureMismatch)
    }

    static func hash(_ data: [UInt8], _ algorithm: DKIMAlgorithm) -> [UInt8] {
        algorithm == .rsaSHA1 ? Array(Insecure.SHA1.hash(data: data)) : Array(SHA256.hash(data: data))
    }
}
