import MailMessage

/// A named authentication finding with a score, for the verdict (SpamwardCore turns these into
/// its `Symbol`; MailAuth does not depend on it). Positive scores point towards spam.
public struct AuthSymbol: Sendable, Hashable, CustomStringConvertible {
    /// Stable upper-case name (`SPF_PASS`, `DMARC_POLICY_REJECT`), documented in
    /// docs/authentication.md.
    public var name: String
    public var score: Double
    /// One line for a human.
    public var description: String
    /// Details: domains, selectors, reasons.
    public var options: [String]

    public init(name: String, score: Double, description: String, options: [String] = []) {
        self.name = name
        self.score = score
        self.description = description
        self.options = options
    }
}

/// Every authentication result for one message.
public struct AuthenticationResults: Sendable, Hashable {
    /// SPF for the MAIL FROM identity (HELO for the null sender); nil without a client address.
    public var spf: SPFResult?
    /// One result per DKIM-Signature, top to bottom.
    public var dkim: [DKIMResult]
    public var dmarc: DMARCResult
    public var arc: ARCResult
    /// The symbols, in the order SPF, DKIM, DMARC, ARC.
    public var symbols: [AuthSymbol]

    public init(spf: SPFResult?, dkim: [DKIMResult], dmarc: DMARCResult, arc: ARCResult, symbols: [AuthSymbol] = []) {
        self.spf = spf
        self.dkim = dkim
        self.dmarc = dmarc
        self.arc = arc
        self.symbols = symbols
    }

    /// The `resinfo` parts (RFC 8601 section 2.2), one per method result.
    public var resultInfos: [String] {
        var out: [String] = []
        if let spf { out.append(spf.authenticationResults) }
        out += dkim.isEmpty ? ["dkim=none"] : dkim.map(\.authenticationResults)
        out.append(dmarc.authenticationResults)
        out.append(arc.authenticationResults)
        return out
    }

    /// The value of an `Authentication-Results:` header field (RFC 8601) for `authservID`:
    /// `mx.example.com; spf=pass (…) smtp.mailfrom=example.com; dkim=pass header.d=…; …`.
    /// `separator` joins the parts: `"; "` for one line, `";\r\n\t"` to fold.
    public func headerValue(authservID: String, separator: String = "; ") -> String {
        ([authservID] + resultInfos).joined(separator: separator)
    }
}

/// Runs SPF, DKIM, ARC and DMARC for a message and its envelope, concurrently where the
/// protocols allow, and scores the results.
public struct MessageAuthenticator: Sendable {
    /// Options of each method and the symbol scores.
    public struct Options: Sendable {
        public var spf = SPFVerifier.Options()
        public var dkim = DKIMVerifier.Options()
        public var dmarc = DMARCEvaluator.Options()
        public var arc = ARCVerifier.Options()
        /// Scores replacing the defaults of ``MessageAuthenticator/defaultScores``, by symbol name.
        public var scores: [String: Double] = [:]

        public init() {}
    }

    /// Every symbol this authenticator produces, with its default score and description.
    public static let symbols: [(name: String, score: Double, description: String)] = [
        ("SPF_PASS", -0.2, "SPF: the client may send for the envelope sender's domain"),
        ("SPF_FAIL", 1.0, "SPF: the envelope sender's domain says the client may not send for it"),
        ("SPF_SOFTFAIL", 0.3, "SPF: the client is probably not allowed to send for the domain (~all)"),
        ("SPF_NEUTRAL", 0.0, "SPF: the domain makes no assertion about the client (?all)"),
        ("SPF_NONE", 0.0, "SPF: the domain publishes no SPF record"),
        ("SPF_TEMPERROR", 0.0, "SPF: a DNS error prevented the check"),
        ("SPF_PERMERROR", 0.0, "SPF: the domain's SPF record is broken"),
        ("DKIM_VALID", -0.2, "DKIM: a signature verified"),
        ("DKIM_INVALID", 1.0, "DKIM: a signature did not verify (altered message or wrong key)"),
        ("DKIM_WEAK_SHA1", 0.5, "DKIM: a signature verified but uses rsa-sha1, no longer acceptable"),
        ("DKIM_TEMPERROR", 0.0, "DKIM: a key lookup failed temporarily"),
        ("DKIM_PERMERROR", 0.0, "DKIM: a signature or its key is malformed or missing"),
        ("DKIM_NEUTRAL", 0.0, "DKIM: a signature uses an unsupported version or algorithm"),
        ("DKIM_NONE", 0.0, "DKIM: the message is not signed"),
        ("DMARC_PASS", -0.5, "DMARC: SPF or DKIM passed for a domain aligned with From"),
        ("DMARC_POLICY_REJECT", 2.0, "DMARC failed, and the From domain asks to reject such mail"),
        ("DMARC_POLICY_QUARANTINE", 1.5, "DMARC failed, and the From domain asks to quarantine such mail"),
        ("DMARC_POLICY_NONE", 0.1, "DMARC failed; the From domain only monitors (p=none)"),
        ("DMARC_NONE", 0.0, "DMARC: the From domain publishes no policy"),
        ("DMARC_TEMPERROR", 0.0, "DMARC: a DNS error prevented the evaluation"),
        ("DMARC_PERMERROR", 0.0, "DMARC: the From domain's policy record is broken"),
        ("ARC_PASS", -0.5, "ARC: the chain of custody from earlier hops verified"),
        ("ARC_FAIL", 1.0, "ARC: the chain of custody is broken"),
        ("ARC_NONE", 0.0, "ARC: the message carries no ARC sets"),
        ("ARC_TEMPERROR", 0.0, "ARC: a key lookup failed temporarily"),
    ]

    public var resolver: any DNSResolver
    public var publicSuffixList: PublicSuffixList
    public var options: Options

    public init(resolver: any DNSResolver, publicSuffixList: PublicSuffixList, options: Options = Options()) {
        self.resolver = resolver
        self.publicSuffixList = publicSuffixList
        self.options = options
    }

    /// The RFC5322.From domain DMARC evaluates: the domain of the single address of the single
    /// From field; nil when there is none or more than one (RFC 7489 section 6.6.1).
    public static func fromDomain(of message: Message) -> String? {
        let fields = message.headers.all("From")
        guard fields.count == 1, let field = fields.first else { return nil }
        let addresses = MailAddress.parseList(field.value)
        guard addresses.count == 1, let domain = addresses.first?.domain, !domain.isEmpty else { return nil }
        return domain
    }

    /// Authenticates `message` received from `clientIP` (nil: SPF is skipped) with this HELO
    /// name and MAIL FROM address (empty or nil for the null sender).
    public func authenticate(_ message: Message, clientIP: IPAddress?, helo: String?, mailFrom: String?) async
        -> AuthenticationResults
    {
        // The bytes DKIM and ARC hash: the message without an mbox "From " line.
        let bytes = message.mboxFromLine.map { Array(message.bytes[$0.upperBound...]) } ?? message.bytes
        let fromDomain = Self.fromDomain(of: message)
        let spfVerifier = SPFVerifier(resolver: resolver, options: options.spf)
        let dkimVerifier = DKIMVerifier(resolver: resolver, options: options.dkim)
        let arcVerifier = ARCVerifier(resolver: resolver, options: options.arc)
        let psl = publicSuffixList
        let resolver = self.resolver

        async let spf: SPFResult? =
            if let clientIP { await spfVerifier.check(ip: clientIP, helo: helo ?? "", mailFrom: mailFrom ?? "") } else { nil }
        async let dkim = dkimVerifier.verify(message: bytes)
        async let arc = arcVerifier.verify(message: bytes)
        async let policy: DMARCPolicyLookup? =
            if let fromDomain, DNSName.isQueryable(fromDomain) {
                await DMARCRecord.discover(fromDomain: fromDomain, resolver: resolver, publicSuffixList: psl)
            } else { nil }

        let spfResult = await spf
        let dkimResults = await dkim
        let evaluator = DMARCEvaluator(resolver: resolver, publicSuffixList: psl, options: options.dmarc)
        let dmarc = evaluator.evaluate(fromDomain: fromDomain, lookup: await policy ?? .none, spf: spfResult, dkim: dkimResults)
        var results = AuthenticationResults(spf: spfResult, dkim: dkimResults, dmarc: dmarc, arc: await arc)
        results.symbols = symbols(for: results)
        return results
    }

    /// The symbols for a set of results.
    public func symbols(for r: AuthenticationResults) -> [AuthSymbol] {
        var out: [AuthSymbol] = []
        func add(_ name: String, _ options: [String]) {
            guard let entry = Self.symbols.first(where: { $0.name == name }) else { return }
            out.append(AuthSymbol(name: name, score: self.options.scores[name] ?? entry.score, description: entry.description, options: options))
        }
        if let spf = r.spf {
            add("SPF_" + spf.code.rawValue.uppercased(), [spf.domain, spf.reason].filter { !$0.isEmpty })
        }
        if r.dkim.isEmpty {
            add("DKIM_NONE", [])
        } else {
            let groups: [(String, Set<DKIMResult.Code>)] = [
                ("DKIM_VALID", [.pass]), ("DKIM_INVALID", [.fail]), ("DKIM_WEAK_SHA1", [.policy]),
                ("DKIM_TEMPERROR", [.temperror]), ("DKIM_PERMERROR", [.permerror]), ("DKIM_NEUTRAL", [.neutral]),
            ]
            for (name, codes) in groups {
                let matching = r.dkim.filter { codes.contains($0.code) }
                guard !matching.isEmpty else { continue }
                add(name, matching.map { $0.domain.isEmpty ? ($0.reason?.description ?? "") : "\($0.domain):\($0.selector)" })
            }
        }
        switch r.dmarc.code {
        case .pass: add("DMARC_PASS", [r.dmarc.fromDomain])
        case .fail:
            var options = [r.dmarc.fromDomain]
            if r.dmarc.sampledOut { options.append("sampled out") }
            if let o = r.dmarc.override { options.append("override \(o.type)") }
            switch r.dmarc.requestedPolicy ?? .none {
            case .reject: add("DMARC_POLICY_REJECT", options)
            case .quarantine: add("DMARC_POLICY_QUARANTINE", options)
            case .none: add("DMARC_POLICY_NONE", options)
            }
        case .none: add("DMARC_NONE", r.dmarc.fromDomain.isEmpty ? [] : [r.dmarc.fromDomain])
        case .temperror: add("DMARC_TEMPERROR", [r.dmarc.reason])
        case .permerror: add("DMARC_PERMERROR", [r.dmarc.reason])
        }
        switch r.arc.code {
        case .pass: add("ARC_PASS", r.arc.sets.map(\.sealDomain))
        case .fail: add("ARC_FAIL", [r.arc.reason])
        case .none: add("ARC_NONE", [])
        case .temperror: add("ARC_TEMPERROR", [r.arc.reason])
        }
        return out
    }
}
