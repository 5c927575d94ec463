/// The outcome of DMARC for one message (RFC 7489 sections 4 and 6.6, RFC 8601 `dmarc`).
public struct DMARCResult: Sendable, Hashable, CustomStringConvertible {
    /// The result codes of RFC 8601 / RFC 7489 section 11.2.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// An aligned SPF or DKIM pass.
        case pass
        /// A policy was found, and neither SPF nor DKIM passed aligned.
        case fail
        /// No policy published (or no usable From domain).
        case none
        /// A DNS error prevented a result (policy lookup, or an aligned SPF/DKIM temperror).
        case temperror
        /// The published policy record is unusable.
        case permerror

        public var description: String { rawValue }
    }

    /// What the receiver does with the message (RFC 7489 section 6.3 `p=` values, after
    /// `pct=` and local overrides).
    public enum Disposition: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case none, quarantine, reject
        public var description: String { rawValue }
    }

    /// A local decision not to apply the requested policy (RFC 7489 appendix C,
    /// `PolicyOverrideType`).
    public struct Override: Sendable, Hashable {
        /// `forwarded`, `sampled_out`, `trusted_forwarder`, `mailing_list`, `local_policy`, `other`.
        public var type: String
        /// The disposition applied instead.
        public var disposition: Disposition
        /// Free text for reports and logs.
        public var comment: String

        public init(type: String, disposition: Disposition, comment: String = "") {
            self.type = type
            self.disposition = disposition
            self.comment = comment
        }
    }

    public var code: Code
    /// The RFC5322.From domain (normalized).
    public var fromDomain: String
    /// Where the policy record was found (the From domain or its organizational domain).
    public var policyDomain: String?
    /// The record used.
    public var record: DMARCRecord?
    /// The policy requested for this message (`p=`, or `sp=` for a subdomain), before `pct=`.
    public var requestedPolicy: DMARCRecord.Policy?
    /// What to do: ``Disposition/none`` unless the result is fail.
    public var disposition: Disposition
    /// Whether SPF passed for a domain aligned with From.
    public var spfAligned: Bool
    /// The first `d=` of a passing DKIM signature aligned with From.
    public var alignedDKIMDomain: String?
    /// Whether `pct=` sampling excluded the message from the policy.
    public var sampledOut: Bool
    /// A local override, when one applied.
    public var override: Override?
    /// A short, human-readable reason.
    public var reason: String

    public init(
        code: Code, fromDomain: String, reason: String, policyDomain: String? = nil, record: DMARCRecord? = nil,
        requestedPolicy: DMARCRecord.Policy? = nil, disposition: Disposition = .none, spfAligned: Bool = false,
        alignedDKIMDomain: String? = nil, sampledOut: Bool = false, override: Override? = nil
    ) {
        self.code = code
        self.fromDomain = fromDomain
        self.reason = reason
        self.policyDomain = policyDomain
        self.record = record
        self.requestedPolicy = requestedPolicy
        self.disposition = disposition
        self.spfAligned = spfAligned
        self.alignedDKIMDomain = alignedDKIMDomain
        self.sampledOut = sampledOut
        self.override = override
    }

    /// Whether DKIM passed aligned.
    public var dkimAligned: Bool { alignedDKIMDomain != nil }

    public var description: String { "dmarc=\(code) header.from=\(fromDomain) (\(reason))" }

    /// The `resinfo` for Authentication-Results: `dmarc=fail (p=reject dis=reject; reason)
    /// header.from=example.com`.
    public var authenticationResults: String {
        var comment: [String] = []
        if let p = requestedPolicy { comment.append("p=\(p) dis=\(disposition)") }
        comment.append(reason)
        var out = "dmarc=\(code) (\(SPFResult.comment(comment.joined(separator: "; "))))"
        if !fromDomain.isEmpty { out += " header.from=\(SPFResult.propertyValue(fromDomain))" }
        return out
    }
}

/// DMARC evaluation (RFC 7489): policy discovery, identifier alignment of the SPF and DKIM
/// results with the RFC5322.From domain, and the policy disposition.
public struct DMARCEvaluator: Sendable {
    /// Policy and injection points.
    public struct Options: Sendable {
        /// Returns a number in 0..<100 per message; the policy applies when it is below `pct=`.
        /// Inject a constant for deterministic tests.
        public var sample: @Sendable () -> Int = { Int.random(in: 0..<100) }
        /// A local hook that may override the disposition of a failing message (trusted
        /// forwarders, mailing lists). Called only for `fail`.
        public var override: (@Sendable (DMARCResult) -> DMARCResult.Override?)? = nil

        public init() {}
    }

    public var resolver: any DNSResolver
    public var publicSuffixList: PublicSuffixList
    public var options: Options

    public init(resolver: any DNSResolver, publicSuffixList: PublicSuffixList, options: Options = Options()) {
        self.resolver = resolver
        self.publicSuffixList = publicSuffixList
        self.options = options
    }

    /// Whether `a` and `b` are aligned: the same name (strict), or the same organizational
    /// domain (relaxed, RFC 7489 section 3.1).
    public func aligned(_ a: String, _ b: String, mode: DMARCRecord.Alignment) -> Bool {
        let x = DNSName.normalized(a)
        let y = DNSName.normalized(b)
        guard !x.isEmpty, !y.isEmpty else { return false }
        if x == y { return true }
        guard mode == .relaxed else { return false }
        guard let ox = publicSuffixList.organizationalDomain(of: x), let oy = publicSuffixList.organizationalDomain(of: y)
        else { return false }
        return ox == oy
    }

    /// Evaluates DMARC for a message whose RFC5322.From domain is `fromDomain` (nil when the
    /// message has no single usable From address), given the SPF result (of the MAIL FROM
    /// identity, or HELO when MAIL FROM was empty) and the DKIM results.
    public func evaluate(fromDomain: String?, spf: SPFResult?, dkim: [DKIMResult]) async -> DMARCResult {
        guard let rawFrom = fromDomain, DNSName.isQueryable(rawFrom) else {
            return DMARCResult(code: .none, fromDomain: fromDomain ?? "", reason: "no usable RFC5322.From domain")
        }
        let from = DNSName.normalized(rawFrom)
        let lookup = await DMARCRecord.discover(fromDomain: from, resolver: resolver, publicSuffixList: publicSuffixList)
        return evaluate(fromDomain: from, lookup: lookup, spf: spf, dkim: dkim)
    }

    /// Evaluates DMARC with the policy already looked up (so that the lookup can run
    /// concurrently with SPF and DKIM).
    public func evaluate(fromDomain: String?, lookup: DMARCPolicyLookup, spf: SPFResult?, dkim: [DKIMResult]) -> DMARCResult {
        guard let rawFrom = fromDomain, DNSName.isQueryable(rawFrom) else {
            return DMARCResult(code: .none, fromDomain: fromDomain ?? "", reason: "no usable RFC5322.From domain")
        }
        let from = DNSName.normalized(rawFrom)
        let record: DMARCRecord
        let policyDomain: String
        switch lookup {
        case .none:
            return DMARCResult(code: .none, fromDomain: from, reason: "no DMARC record")
        case .temporaryError(let error):
            return DMARCResult(code: .temperror, fromDomain: from, reason: "policy lookup: \(error.code)")
        case .invalid(let error, let domain):
            return DMARCResult(code: .permerror, fromDomain: from, reason: "\(error)", policyDomain: domain)
        case .found(let r, let domain):
            record = r
            policyDomain = domain
        }
        let requested = DNSName.equal(policyDomain, from) ? record.policy : record.subdomainPolicy
        var result = DMARCResult(
            code: .fail, fromDomain: from, reason: "", policyDomain: policyDomain, record: record,
            requestedPolicy: requested)

        if let spf, spf.code == .pass, aligned(spf.domain, from, mode: record.spfAlignment) {
            result.spfAligned = true
        }
        result.alignedDKIMDomain =
            dkim.first { $0.code == .pass && aligned($0.domain, from, mode: record.dkimAlignment) }?.domain
        if result.spfAligned || result.dkimAligned {
            result.code = .pass
            result.reason =
                [result.spfAligned ? "SPF aligned" : nil, result.alignedDKIMDomain.map { "DKIM aligned d=\($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
            return result
        }
        // A DNS failure that might have produced an aligned pass: try again later, never fail.
        if let spf, spf.code == .temperror, aligned(spf.domain, from, mode: record.spfAlignment) {
            result.code = .temperror
            result.reason = "SPF temperror for an aligned domain"
            return result
        }
        if dkim.contains(where: { $0.code == .temperror && aligned($0.domain, from, mode: record.dkimAlignment) }) {
            result.code = .temperror
            result.reason = "DKIM temperror for an aligned domain"
            return result
        }

        result.reason = "no aligned SPF or DKIM pass"
        var disposition = DMARCResult.Disposition(rawValue: requested.rawValue) ?? .none
        if record.percentage < 100 && options.sample() >= record.percentage {
            // RFC 7489 section 6.6.4: messages not sampled get the next policy down.
            result.sampledOut = true
            disposition = disposition == .reject ? .quarantine : .none
            result.override = DMARCResult.Override(type: "sampled_out", disposition: disposition)
        }
        result.disposition = disposition
        if let hook = options.override, let override = hook(result) {
            result.override = override
            result.disposition = override.disposition
        }
        return result
    }
}
