/// The outcome of validating a message's ARC chain (RFC 8617 section 5.2, RFC 8601 `arc`).
public struct ARCResult: Sendable, Hashable, CustomStringConvertible {
    /// The chain validation status (`cv=` words of RFC 8617, plus temperror).
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The message has no ARC header fields.
        case none
        /// Every ARC-Seal and the newest ARC-Message-Signature verified.
        case pass
        /// The chain is broken, malformed, or reports a failure itself.
        case fail
        /// A key could not be fetched (DNS timeout, SERVFAIL); retrying may succeed. Not a chain
        /// status of RFC 8617: a seal is never written with it.
        case temperror

        public var description: String { rawValue }
    }

    /// One ARC set, as found.
    public struct Set: Sendable, Hashable {
        /// `i=`.
        public var instance: Int
        /// The sealer's `d=` (ARC-Seal).
        public var sealDomain: String
        /// The sealer's `s=`.
        public var sealSelector: String
        /// `cv=` of the ARC-Seal.
        public var chainValidation: String
        /// The ARC-Authentication-Results value after `i=N;` (what the sealer saw), FWS as written.
        public var authenticationResults: String
        /// Whether the ARC-Message-Signature verified (nil: not checked).
        public var messageSignatureValid: Bool?
    }

    public var code: Code
    /// A short, human-readable reason.
    public var reason: String
    /// The sets, oldest (i=1) first; empty when there is none or the structure is invalid.
    public var sets: [Set]
    /// The number of the newest set (N); 0 without ARC.
    public var instances: Int
    /// For pass: the oldest instance whose AMS still verifies is `oldestPass`; 0 when all of them
    /// do (RFC 8617 section 5.2 step 5). Nil unless the result is pass.
    public var oldestPass: Int?

    public init(code: Code, reason: String, sets: [Set] = [], instances: Int = 0, oldestPass: Int? = nil) {
        self.code = code
        self.reason = reason
        self.sets = sets
        self.instances = instances
        self.oldestPass = oldestPass
    }

    public var description: String { "arc=\(code) (\(reason))" }

    /// The `resinfo` for Authentication-Results: `arc=pass (i=2) header.oldest-pass=0`.
    public var authenticationResults: String {
        var out = "arc=\(code) (\(SPFResult.comment(instances > 0 ? "i=\(instances); \(reason)" : reason)))"
        if let oldestPass { out += " header.oldest-pass=\(oldestPass)" }
        return out
    }
}

/// Validates ARC chains (RFC 8617) with the DKIM machinery: key records, canonicalization and
/// signature algorithms are DKIM's.
public struct ARCVerifier: Sendable {
    /// Limits.
    public struct Options: Sendable {
        /// The highest instance accepted (RFC 8617 section 4.2.1: 50).
        public var maxInstances = 50
        /// The smallest RSA key accepted (RFC 8301: 1024).
        public var minimumRSABits = 1024

        public init() {}
    }

    public var resolver: any DNSResolver
    public var options: Options

    public init(resolver: any DNSResolver, options: Options = Options()) {
        self.resolver = resolver
        self.options = options
    }

    private struct RawSet {
        var aar: DKIMHeaderField?
        var ams: DKIMHeaderField?
        var seal: DKIMHeaderField?
    }

    /// Validates the chain of `message`.
    public func verify(message: [UInt8]) async -> ARCResult {
        let normalized = DKIMCanonicalizer.normalizingLineEndings(message)
        let (headers, body) = DKIMCanonicalizer.split(normalized)

        // Step 1: collect the sets.
        var byInstance: [Int: RawSet] = [:]
        var sawARC = false
        for field in headers {
            let name = DKIMTagList.lowercased(field.name)
            guard name == "arc-seal" || name == "arc-message-signature" || name == "arc-authentication-results" else {
                continue
            }
            sawARC = true
            guard let i = Self.instance(of: field.value), i >= 1, i <= options.maxInstances else {
                return ARCResult(code: .fail, reason: "\(field.name) without a valid i=")
            }
            var set = byInstance[i] ?? RawSet()
            switch name {
            case "arc-seal":
                guard set.seal == nil else { return ARCResult(code: .fail, reason: "two ARC-Seal fields for i=\(i)") }
                set.seal = field
            case "arc-message-signature":
                guard set.ams == nil else { return ARCResult(code: .fail, reason: "two ARC-Message-Signature fields for i=\(i)") }
                set.ams = field
            default:
                guard set.aar == nil else {
                    return ARCResult(code: .fail, reason: "two ARC-Authentication-Results fields for i=\(i)")
                }
                set.aar = field
            }
            byInstance[i] = set
        }
        guard sawARC else { return ARCResult(code: .none, reason: "no ARC sets") }
        let n = byInstance.keys.max() ?? 0
        guard byInstance.count == n else { return ARCResult(code: .fail, reason: "instances are not 1...\(n)", instances: n) }

        // Parse each set; the structure must be complete.
        var sets: [ARCResult.Set] = []
        var seals: [(field: DKIMHeaderField, tags: DKIMTagList)] = []
        var ordered: [(aar: DKIMHeaderField, ams: DKIMHeaderField, seal: DKIMHeaderField)] = []
        for i in 1...n {
            guard let raw = byInstance[i], let aar = raw.aar, let ams = raw.ams, let seal = raw.seal else {
                return ARCResult(code: .fail, reason: "incomplete ARC set i=\(i)", instances: n)
            }
            let tags: DKIMTagList
            do {
                tags = try DKIMTagList.parse(Array(seal.value), syntax: { ARCTagError(text: $0) }, duplicate: { ARCTagError(text: "duplicate \($0)=") })
            } catch {
                return ARCResult(code: .fail, reason: "ARC-Seal i=\(i): \(error.text)", instances: n)
            }
            guard tags["h"] == nil else { return ARCResult(code: .fail, reason: "ARC-Seal i=\(i) has h=", instances: n) }
            let cv = DKIMTagList.lowercased(tags["cv"] ?? "")
            sets.append(
                ARCResult.Set(
                    instance: i, sealDomain: tags["d"] ?? "", sealSelector: tags["s"] ?? "", chainValidation: cv,
                    authenticationResults: Self.afterInstance(aar.value)))
            seals.append((seal, tags))
            ordered.append((aar, ams, seal))
        }

        // Step 2: the newest seal reports a failure.
        if sets[n - 1].chainValidation == "fail" {
            return ARCResult(code: .fail, reason: "ARC-Seal i=\(n) says cv=fail", sets: sets, instances: n)
        }
        // Step 3: cv= must be none for i=1 and pass for the others.
        for set in sets {
            let expected = set.instance == 1 ? "none" : "pass"
            guard set.chainValidation == expected else {
                return ARCResult(
                    code: .fail, reason: "ARC-Seal i=\(set.instance) has cv=\(set.chainValidation), expected \(expected)",
                    sets: sets, instances: n)
            }
        }

        // Step 4: the newest AMS must verify.
        var bodyCache: [String: [UInt8]] = [:]
        switch await verifyAMS(ordered[n - 1].ams, headers: headers, body: body, bodyCache: &bodyCache) {
        case .failure(let f):
            sets[n - 1].messageSignatureValid = false
            let code: ARCResult.Code = f.code == .temperror ? .temperror : .fail
            return ARCResult(code: code, reason: "ARC-Message-Signature i=\(n): \(f.reason) \(f.detail)", sets: sets, instances: n)
        case .success:
            sets[n - 1].messageSignatureValid = true
        }
        // Step 5: the oldest AMS that still verifies.
        var oldestPass = 0
        if n > 1 {
            for i in stride(from: n - 1, through: 1, by: -1) {
                if case .failure = await verifyAMS(ordered[i - 1].ams, headers: headers, body: body, bodyCache: &bodyCache) {
                    sets[i - 1].messageSignatureValid = false
                    oldestPass = i + 1
                    break
                }
                sets[i - 1].messageSignatureValid = true
            }
        }
        // Step 6: every seal, newest first.
        for i in stride(from: n, through: 1, by: -1) {
            var data: [UInt8] = []
            for k in 1...i {
                let (aar, ams, seal) = ordered[k - 1]
                data += DKIMCanonicalizer.header(aar, .relaxed)
                data += DKIMCanonicalizer.header(ams, .relaxed)
                if k < i { data += DKIMCanonicalizer.header(seal, .relaxed) }
            }
            data += DKIMCanonicalizer.header(
                DKIMCanonicalizer.removingSignatureValue(ordered[i - 1].seal), .relaxed, withCRLF: false)
            if let f = await verifySignature(tags: seals[i - 1].tags, data: data) {
                let code: ARCResult.Code = f.code == .temperror ? .temperror : .fail
                return ARCResult(code: code, reason: "ARC-Seal i=\(i): \(f.reason) \(f.detail)", sets: sets, instances: n)
            }
        }
        return ARCResult(code: .pass, reason: "chain of \(n) verified", sets: sets, instances: n, oldestPass: oldestPass)
    }

    private var dkim: DKIMVerifier {
        var o = DKIMVerifier.Options()
        o.minimumRSABits = options.minimumRSABits
        return DKIMVerifier(resolver: resolver, options: o)
    }

    /// Checks `b=` (with `a=`, `d=`, `s=` from `tags`) over `data`; nil when it verifies.
    private func verifySignature(tags: DKIMTagList, data: [UInt8]) async -> DKIMVerifier.Failure? {
        guard let a = tags["a"], let algorithm = DKIMAlgorithm(rawValue: DKIMTagList.lowercased(a)),
            algorithm != .rsaSHA1
        else { return DKIMVerifier.Failure(.permerror, .unsupported, "a=\(tags["a"] ?? "")") }
        guard let d = tags["d"], let s = tags["s"], DNSName.isQueryable(d), DNSName.isQueryable(s) else {
            return DKIMVerifier.Failure(.permerror, .malformedSignature, "d= or s=")
        }
        guard let b = tags["b"], let signature = DKIMBase64.decode(b), !signature.isEmpty else {
            return DKIMVerifier.Failure(.permerror, .malformedSignature, "b=")
        }
        let verifier = dkim
        switch await verifier.lookupKey(domain: d, selector: s, algorithm: algorithm) {
        case .failure(let f): return f
        case .success(let key): return verifier.checkSignature(signature, over: data, key: key, algorithm: algorithm)
        }
    }

    /// Verifies an ARC-Message-Signature like a DKIM-Signature (`i=` is the instance, no `v=`).
    private func verifyAMS(
        _ field: DKIMHeaderField, headers: [DKIMHeaderField], body: ArraySlice<UInt8>, bodyCache: inout [String: [UInt8]]
    ) async -> Result<Void, DKIMVerifier.Failure> {
        let tags: DKIMTagList
        do {
            tags = try DKIMTagList.parse(Array(field.value), syntax: { ARCTagError(text: $0) }, duplicate: { ARCTagError(text: "duplicate \($0)=") })
        } catch {
            return .failure(DKIMVerifier.Failure(.permerror, .malformedSignature, error.text))
        }
        guard let a = tags["a"], let algorithm = DKIMAlgorithm(rawValue: DKIMTagList.lowercased(a)) else {
            return .failure(DKIMVerifier.Failure(.permerror, .unsupported, "a="))
        }
        // c= as in DKIM; when absent, relaxed/relaxed (what ARC signers write and dkimpy assumes).
        var hc = DKIMCanonicalization.relaxed
        var bc = DKIMCanonicalization.relaxed
        if let c = tags["c"] {
            let parts = DKIMTagList.lowercased(c).split(separator: "/").map(String.init)
            guard (1...2).contains(parts.count), let h = DKIMCanonicalization(rawValue: parts[0]) else {
                return .failure(DKIMVerifier.Failure(.permerror, .unsupported, "c=\(c)"))
            }
            hc = h
            bc = parts.count == 2 ? (DKIMCanonicalization(rawValue: parts[1]) ?? .simple) : .simple
            if parts.count == 2 && DKIMCanonicalization(rawValue: parts[1]) == nil {
                return .failure(DKIMVerifier.Failure(.permerror, .unsupported, "c=\(c)"))
            }
        }
        guard let h = tags["h"], let bhText = tags["bh"], let bh = DKIMBase64.decode(bhText) else {
            return .failure(DKIMVerifier.Failure(.permerror, .malformedSignature, "h= or bh="))
        }
        let names = DKIMTagList.colonList(h)
        guard !names.contains(where: { DKIMTagList.lowercased($0) == "arc-seal" }) else {
            return .failure(DKIMVerifier.Failure(.permerror, .malformedSignature, "h= includes ARC-Seal"))
        }
        let cacheKey = "\(bc)/\(algorithm.hash)"
        let bodyHash: [UInt8]
        if let cached = bodyCache[cacheKey] {
            bodyHash = cached
        } else {
            bodyHash = DKIMVerifier.hash(DKIMCanonicalizer.body(body, bc), algorithm)
            bodyCache[cacheKey] = bodyHash
        }
        guard bodyHash == bh else { return .failure(DKIMVerifier.Failure(.fail, .bodyHashMismatch)) }
        var data: [UInt8] = []
        for header in DKIMCanonicalizer.selectHeaders(names, from: headers) {
            data += DKIMCanonicalizer.header(header, hc)
        }
        data += DKIMCanonicalizer.header(DKIMCanonicalizer.removingSignatureValue(field), hc, withCRLF: false)
        if let f = await verifySignature(tags: tags, data: data) { return .failure(f) }
        return .success(())
    }

    /// The `i=` of an ARC field value: the tag `i` (for ARC-Authentication-Results, the leading
    /// `i=N;`).
    static func instance(of value: ArraySlice<UInt8>) -> Int? {
        // Every ARC field starts its tag list or AAR value with i= in practice, but the seal and
        // AMS may put it anywhere: scan tag-specs for a name of exactly "i".
        for spec in value.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).prefix(64) {
            guard let eq = spec.firstIndex(of: UInt8(ascii: "=")) else { continue }
            guard DKIMTagList.trimFWS(spec[spec.startIndex..<eq]).elementsEqual([UInt8(ascii: "i")]) else { continue }
            let digits = DKIMTagList.trimFWS(spec[(eq + 1)...])
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(DKIMTagList.isDigit) else { return nil }
            return Int(String(decoding: digits, as: UTF8.self))
        }
        return nil
    }

    /// The AAR value after `i=N;`, trimmed.
    static func afterInstance(_ value: ArraySlice<UInt8>) -> String {
        guard let semi = value.firstIndex(of: UInt8(ascii: ";")) else { return "" }
        return String(decoding: DKIMTagList.trimFWS(value[(semi + 1)...]), as: UTF8.self)
    }
}

struct ARCTagError: Error {
    var text: String
}
