/// A DKIM signing algorithm (`a=`, RFC 6376 section 3.3, RFC 8463).
public enum DKIMAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// RSA PKCS#1 v1.5 over SHA-256.
    case rsaSHA256 = "rsa-sha256"
    /// RSA PKCS#1 v1.5 over SHA-1: verified, but no longer acceptable (RFC 8301).
    case rsaSHA1 = "rsa-sha1"
    /// Ed25519 over the SHA-256 of the data (RFC 8463).
    case ed25519SHA256 = "ed25519-sha256"

    /// The key type (`k=` of the key record).
    public var keyType: String { self == .ed25519SHA256 ? "ed25519" : "rsa" }
    /// The hash algorithm (`h=` of the key record).
    public var hash: String { self == .rsaSHA1 ? "sha1" : "sha256" }

    public var description: String { rawValue }
}

/// A canonicalization algorithm (RFC 6376 section 3.4).
public enum DKIMCanonicalization: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case simple
    case relaxed

    public var description: String { rawValue }
}

/// Why a DKIM-Signature or key record could not be used.
public struct DKIMSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case syntaxError, duplicateTag, missingTag, unsupportedVersion, unsupportedAlgorithm,
                unsupportedCanonicalization, unsupportedQueryMethod, invalidBase64, invalidValue,
                fromNotSigned, identityMismatch, unsupportedKeyType, serviceTypeMismatch
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A malformed tag list.
        public static let syntaxError = Code(.syntaxError)
        /// A tag given twice.
        public static let duplicateTag = Code(.duplicateTag)
        /// A required tag is absent.
        public static let missingTag = Code(.missingTag)
        /// `v=` is not `1` (signature) or `DKIM1` (key).
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// `a=` names an algorithm this verifier does not implement.
        public static let unsupportedAlgorithm = Code(.unsupportedAlgorithm)
        /// `c=` names an unknown canonicalization.
        public static let unsupportedCanonicalization = Code(.unsupportedCanonicalization)
        /// `q=` does not include `dns/txt`.
        public static let unsupportedQueryMethod = Code(.unsupportedQueryMethod)
        /// `b=`, `bh=` or `p=` is not base64.
        public static let invalidBase64 = Code(.invalidBase64)
        /// A tag value is malformed (numbers, domains, selectors, empty lists).
        public static let invalidValue = Code(.invalidValue)
        /// `h=` does not include From.
        public static let fromNotSigned = Code(.fromNotSigned)
        /// `i=` is not in `d=` or a subdomain of it.
        public static let identityMismatch = Code(.identityMismatch)
        /// The key record's `k=` is unknown.
        public static let unsupportedKeyType = Code(.unsupportedKeyType)
        /// The key record's `s=` excludes email.
        public static let serviceTypeMismatch = Code(.serviceTypeMismatch)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { "DKIMSignatureError.\(code)" + (detail.isEmpty ? "" : ": \(detail)") }
}

/// A parsed DKIM-Signature header field value (RFC 6376 section 3.5).
public struct DKIMSignature: Sendable, Hashable {
    /// `a=`.
    public var algorithm: DKIMAlgorithm
    /// `b=`, decoded.
    public var signature: [UInt8]
    /// `b=` as written, FWS removed (the first 8 characters are `header.b` of RFC 6008).
    public var signatureBase64: String
    /// `bh=`, decoded.
    public var bodyHash: [UInt8]
    /// `c=` header part (default simple).
    public var headerCanonicalization: DKIMCanonicalization
    /// `c=` body part (default simple).
    public var bodyCanonicalization: DKIMCanonicalization
    /// `d=`, as written.
    public var domain: String
    /// `h=`, field names as written (compare case-insensitively).
    public var signedHeaders: [String]
    /// `i=`, as written; nil when absent (the default is `@` + ``domain``).
    public var identity: String?
    /// `l=`: how many bytes of the canonicalized body were signed; nil for all.
    public var bodyLength: Int64?
    /// `q=` (default `dns/txt`).
    public var queryMethods: [String]
    /// `s=`.
    public var selector: String
    /// `t=`: signing time, seconds since the epoch.
    public var timestamp: Int64?
    /// `x=`: expiration time, seconds since the epoch.
    public var expiration: Int64?
    /// `z=`: copied header fields, as written (diagnostic only).
    public var copiedHeaders: String?

    /// The name of the key record: `selector._domainkey.domain`.
    public var keyName: String { "\(selector)._domainkey.\(domain)" }

    /// Parses a DKIM-Signature value (everything after the colon; folding allowed).
    public init(parsing value: [UInt8]) throws(DKIMSignatureError) {
        let tags = try DKIMTagList.parse(
            value, syntax: { DKIMSignatureError(.syntaxError, detail: $0) },
            duplicate: { DKIMSignatureError(.duplicateTag, detail: "\($0)=") })
        func required(_ name: String) throws(DKIMSignatureError) -> String {
            guard let v = tags[name] else { throw DKIMSignatureError(.missingTag, detail: "\(name)=") }
            return v
        }
        guard try required("v") == "1" else { throw DKIMSignatureError(.unsupportedVersion, detail: "v=") }

        let a = DKIMTagList.lowercased(try required("a"))
        guard let algorithm = DKIMAlgorithm(rawValue: a) else {
            throw DKIMSignatureError(.unsupportedAlgorithm, detail: a)
        }
        self.algorithm = algorithm

        let b = DKIMTagList.removingFWS(try required("b"))
        guard let sig = DKIMBase64.decode(b), !sig.isEmpty else { throw DKIMSignatureError(.invalidBase64, detail: "b=") }
        signature = sig
        signatureBase64 = b
        guard let bh = DKIMBase64.decode(try required("bh")), !bh.isEmpty else {
            throw DKIMSignatureError(.invalidBase64, detail: "bh=")
        }
        bodyHash = bh

        headerCanonicalization = .simple
        bodyCanonicalization = .simple
        if let c = tags["c"] {
            let parts = DKIMTagList.lowercased(c).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let h = DKIMCanonicalization(rawValue: String(parts[0])) else {
                throw DKIMSignatureError(.unsupportedCanonicalization, detail: c)
            }
            headerCanonicalization = h
            if parts.count == 2 {
                guard let bc = DKIMCanonicalization(rawValue: String(parts[1])) else {
                    throw DKIMSignatureError(.unsupportedCanonicalization, detail: c)
                }
                bodyCanonicalization = bc
            }
        }

        domain = try required("d")
        guard DNSName.isQueryable(domain), !domain.hasSuffix(".") else {
            throw DKIMSignatureError(.invalidValue, detail: "d=")
        }
        selector = try required("s")
        guard DNSName.isQueryable(selector), !selector.hasSuffix(".") else {
            throw DKIMSignatureError(.invalidValue, detail: "s=")
        }

        signedHeaders = DKIMTagList.colonList(try required("h"))
        guard !signedHeaders.contains(where: { $0.isEmpty || $0.utf8.contains(UInt8(ascii: ":")) }) else {
            throw DKIMSignatureError(.invalidValue, detail: "h=")
        }
        guard signedHeaders.contains(where: { DKIMTagList.lowercased($0) == "from" }) else {
            throw DKIMSignatureError(.fromNotSigned)
        }

        if let i = tags["i"] {
            // i= is [local-part] "@" domain, and the domain is d= or a subdomain of it.
            guard let at = i.utf8.lastIndex(of: UInt8(ascii: "@")) else {
                throw DKIMSignatureError(.invalidValue, detail: "i=")
            }
            let iDomain = String(i[i.index(after: at)...])
            guard DNSName.isSubdomain(iDomain, of: domain) else {
                throw DKIMSignatureError(.identityMismatch, detail: "i=\(i) d=\(domain)")
            }
            identity = i
        } else {
            identity = nil
        }

        if let l = tags["l"] {
            guard !l.isEmpty, l.utf8.count <= 76, l.utf8.allSatisfy(DKIMTagList.isDigit) else {
                throw DKIMSignatureError(.invalidValue, detail: "l=")
            }
            bodyLength = Int64(l) ?? Int64.max
        } else {
            bodyLength = nil
        }

        if let q = tags["q"] {
            queryMethods = DKIMTagList.colonList(q)
            guard queryMethods.contains(where: { DKIMTagList.lowercased($0) == "dns/txt" }) else {
                throw DKIMSignatureError(.unsupportedQueryMethod, detail: q)
            }
        } else {
            queryMethods = ["dns/txt"]
        }

        if let t = tags["t"] {
            guard let n = DKIMTagList.number(t) else { throw DKIMSignatureError(.invalidValue, detail: "t=") }
            timestamp = n
        } else {
            timestamp = nil
        }
        if let x = tags["x"] {
            guard let n = DKIMTagList.number(x) else { throw DKIMSignatureError(.invalidValue, detail: "x=") }
            expiration = n
        } else {
            expiration = nil
        }
        if let t = timestamp, let x = expiration, x < t {
            throw DKIMSignatureError(.invalidValue, detail: "x= before t=")
        }
        copiedHeaders = tags["z"]
    }

    /// Parses a DKIM-Signature value given as a string.
    public init(parsing value: String) throws(DKIMSignatureError) {
        try self.init(parsing: Array(value.utf8))
    }
}

/// A parsed DKIM key record (RFC 6376 section 3.6.1, RFC 8463).
public struct DKIMKeyRecord: Sendable, Hashable {
    /// `h=`: acceptable hash algorithms, lower-cased; nil when absent (all allowed).
    public var hashAlgorithms: [String]?
    /// `k=`: the key type, lower-cased (default `rsa`).
    public var keyType: String
    /// `n=`: notes for humans.
    public var notes: String?
    /// `p=`, decoded; empty when the key is revoked.
    public var publicKey: [UInt8]
    /// `s=`: service types, lower-cased (default `*`).
    public var serviceTypes: [String]
    /// `t=`: flags, lower-cased (`y`: testing, `s`: `i=` must be in `d=` exactly).
    public var flags: [String]

    /// Whether `p=` is empty: the key was revoked.
    public var isRevoked: Bool { publicKey.isEmpty }
    /// `t=y`: the domain is testing DKIM.
    public var isTesting: Bool { flags.contains("y") }
    /// `t=s`: the `i=` domain must equal `d=`.
    public var requiresSameDomain: Bool { flags.contains("s") }

    /// Parses a key record (the TXT strings joined).
    public init(parsing record: [UInt8]) throws(DKIMSignatureError) {
        let tags = try DKIMTagList.parse(
            record, syntax: { DKIMSignatureError(.syntaxError, detail: $0) },
            duplicate: { DKIMSignatureError(.duplicateTag, detail: "\($0)=") })
        if let v = tags["v"] {
            guard tags.tags.first?.name == "v", v == "DKIM1" else {
                throw DKIMSignatureError(.unsupportedVersion, detail: "v=\(v)")
            }
        }
        hashAlgorithms = tags["h"].map { DKIMTagList.colonList(DKIMTagList.lowercased($0)) }
        keyType = DKIMTagList.lowercased(tags["k"] ?? "rsa")
        guard keyType == "rsa" || keyType == "ed25519" else {
            throw DKIMSignatureError(.unsupportedKeyType, detail: "k=\(keyType)")
        }
        notes = tags["n"]
        guard let p = tags["p"] else { throw DKIMSignatureError(.missingTag, detail: "p=") }
        guard let key = DKIMBase64.decode(p) else { throw DKIMSignatureError(.invalidBase64, detail: "p=") }
        publicKey = key
        serviceTypes = tags["s"].map { DKIMTagList.colonList(DKIMTagList.lowercased($0)) } ?? ["*"]
        guard serviceTypes.contains("*") || serviceTypes.contains("email") else {
            throw DKIMSignatureError(.serviceTypeMismatch, detail: "s=")
        }
        flags = tags["t"].map { DKIMTagList.colonList(DKIMTagList.lowercased($0)) } ?? []
    }

    /// Parses a key record given as a string.
    public init(parsing record: String) throws(DKIMSignatureError) {
        try self.init(parsing: Array(record.utf8))
    }
}
