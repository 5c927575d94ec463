#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks whether an SMTP client may send mail for a domain: RFC 7208's `check_host()`.
///
/// ```swift
/// let spf = SPFVerifier(resolver: resolver)
/// let result = await spf.check(ip: clientIP, helo: "mail.example.com", mailFrom: "user@example.com")
/// if result.code == .fail { … result.explanation … }
/// header += "; " + result.authenticationResults
/// ```
///
/// Every mechanism and modifier and all macros are supported. The limits of section 4.6.4 are
/// enforced: at most ``Options/lookupLimit`` DNS-querying terms (`include`, `a`, `mx`, `ptr`,
/// `exists`, `redirect`) per check, at most ``Options/voidLookupLimit`` void lookups, at most
/// ``Options/mxLimit`` MX records per `mx` and ``Options/ptrLimit`` names per PTR lookup, and an
/// overall ``Options/timeLimit``. DNS errors give `temperror`, never a silent pass or fail.
public struct SPFVerifier: Sendable {
    /// Limits and local settings.
    public struct Options: Sendable {
        /// DNS-querying terms per check (RFC 7208: 10); one more is `permerror`.
        public var lookupLimit = 10
        /// Lookups answering NXDOMAIN or no records (RFC 7208: 2); one more is `permerror`.
        public var voidLookupLimit = 2
        /// MX records an `mx` mechanism may return (RFC 7208: 10); more is `permerror`.
        public var mxLimit = 10
        /// PTR names considered by `ptr` and `%{p}` (RFC 7208: 10); the rest are ignored.
        public var ptrLimit = 10
        /// Hard cap on `include`/`redirect` nesting, whatever ``lookupLimit`` says.
        public var maxDepth = 20
        /// Time for a whole check; when exceeded, the result is `temperror` (RFC 7208 section 4.6.4
        /// asks for at least 20 seconds).
        public var timeLimit: Duration = .seconds(20)
        /// The explanation for `fail` when the record has no usable `exp=`; macros are expanded.
        public var defaultExplanation = "%{i} is not authorized to send mail for %{d}"
        /// `%{r}`: this host's domain name.
        public var receivingHost = "unknown"
        /// `%{t}`: seconds since the epoch.
        public var clock: @Sendable () -> Int64 = { Int64(time(nil)) }

        /// RFC 7208's limits and a 20-second time limit.
        public init() {}
    }

    /// Where the records come from.
    public var resolver: any DNSResolver
    /// Limits and local settings.
    public var options: Options

    public init(resolver: any DNSResolver, options: Options = Options()) {
        self.resolver = resolver
        self.options = options
    }

    /// Checks the MAIL FROM identity, or the HELO identity when MAIL FROM is empty (the null
    /// reverse-path of bounces), as RFC 7208 section 2.4 describes.
    /// - Parameters:
    ///   - ip: the SMTP client's address.
    ///   - helo: the HELO/EHLO argument.
    ///   - mailFrom: the MAIL FROM address, with or without angle brackets; empty for `<>`.
    public func check(ip: IPAddress, helo: String, mailFrom: String) async -> SPFResult {
        var sender = Substring(mailFrom)
        while sender.first == " " { sender = sender.dropFirst() }
        while sender.last == " " { sender = sender.dropLast() }
        if sender.first == "<" && sender.last == ">" { sender = sender.dropFirst().dropLast() }
        if sender.isEmpty { return await checkHELO(ip: ip, helo: helo) }
        let (_, domain) = Self.split(String(sender))
        return await checkHost(ip: ip, domain: domain, sender: String(sender), helo: helo, identity: .mailFrom)
    }

    /// Checks the HELO identity: `check_host(ip, helo, postmaster@helo)`. A HELO that is not a
    /// fully qualified domain name (an address literal, a single label) gives `none`.
    public func checkHELO(ip: IPAddress, helo: String) async -> SPFResult {
        await checkHost(ip: ip, domain: helo, sender: "postmaster@" + helo, helo: helo, identity: .helo)
    }

    /// RFC 7208's `check_host(<ip>, <domain>, <sender>)` with the HELO domain for `%{h}`.
    /// A sender without a local-part is taken as `postmaster@…`.
    public func checkHost(
        ip: IPAddress, domain: String, sender: String, helo: String, identity: SPFIdentity = .mailFrom
    )
        async -> SPFResult
    {
        let ip = ip.unmapped
        var domain = domain
        if domain.hasSuffix(".") { domain.removeLast() }
        let (local, senderDomain) = Self.split(sender)
        let fullSender = local + "@" + senderDomain
        func result(_ code: SPFResult.Code, _ reason: String) -> SPFResult {
            SPFResult(code: code, identity: identity, domain: domain, sender: fullSender, ip: ip, reason: reason)
        }
        guard Self.isCheckableDomain(domain) else {
            return result(.none, "'\(domain)' is not a fully qualified domain name")
        }
        let context = SPFMacroContext(
            sender: fullSender, localPart: local, senderDomain: senderDomain, domain: domain, helo: helo, ip: ip,
            receivingHost: options.receivingHost, timestamp: options.clock())
        var evaluation = SPFEvaluation(
            resolver: resolver, options: options, ip: ip, base: context,
            deadline: ContinuousClock.now.advanced(by: options.timeLimit))
        do {
            let outcome = try await evaluation.checkHost(domain, depth: 0, explain: true)
            var r = result(outcome.code, outcome.reason)
            r.mechanism = outcome.mechanism
            r.mechanismDomain = outcome.mechanismDomain
            r.explanation = outcome.explanation
            return r
        } catch {
            return result(error.code, error.reason)
        }
    }

    /// `local-part` and domain of a sender; an empty or missing local-part is `postmaster`.
    static func split(_ sender: String) -> (local: String, domain: String) {
        guard let at = sender.lastIndex(of: "@") else { return ("postmaster", sender) }
        let local = String(sender[..<at])
        return (local.isEmpty ? "postmaster" : local, String(sender[sender.index(after: at)...]))
    }

    /// RFC 7208 section 4.3: a multi-label name with labels of 1…63 printable ASCII characters.
    static func isCheckableDomain(_ domain: String) -> Bool {
        DNSName.isQueryable(domain) && domain.utf8.contains(UInt8(ascii: "."))
            && domain.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: "]") }
    }
}

/// The state of one check: counters, the client, the macro values.
struct SPFEvaluation {
    let resolver: any DNSResolver
    let options: SPFVerifier.Options
    let ip: IPAddress
    let base: SPFMacroContext
    let deadline: ContinuousClock.Instant
    var lookups = 0
    var voids = 0

    init(
        resolver: any DNSResolver, options: SPFVerifier.Options, ip: IPAddress, base: SPFMacroContext,
        deadline: ContinuousClock.Instant
    ) {
        self.resolver = resolver
        self.options = options
        self.ip = ip
        self.base = base
        self.deadline = deadline
    }

    struct Outcome {
        var code: SPFResult.Code
        var mechanism: String? = nil
        var mechanismDomain: String? = nil
        var explanation: String? = nil
        var reason: String
    }

    /// Ends the whole check with `temperror` or `permerror`.
    struct Abort: Error {
        var code: SPFResult.Code
        var reason: String
        static func perm(_ reason: String) -> Abort { Abort(code: .permerror, reason: reason) }
        static func temp(_ reason: String) -> Abort { Abort(code: .temperror, reason: reason) }
    }

    // MARK: check_host

    mutating func checkHost(_ domain: String, depth: Int, explain: Bool) async throws(Abort) -> Outcome {
        guard depth <= options.maxDepth else { throw .perm("include/redirect nested too deeply") }
        guard DNSName.isQueryable(domain) else {
            return Outcome(code: .none, reason: "'\(domain)' is not a valid domain name")
        }
        let answer = try await query(domain, .txt, countVoid: false)
        let candidates = answer.txtRecords.map(\.data).filter(SPFRecord.isSPFRecord)
        guard !candidates.isEmpty else { return Outcome(code: .none, reason: "no SPF record for \(domain)") }
        guard candidates.count == 1 else { throw .perm("\(domain) has \(candidates.count) SPF records") }
        let record: SPFRecord
        do {
            record = try SPFRecord(parsing: candidates[0])
        } catch {
            throw .perm("syntax error in the SPF record of \(domain): \(error.code) in '\(Self.printable(error.term))'")
        }
        var context = base
        context.domain = domain

        for directive in record.directives {
            guard try await matches(directive, domain: domain, context: context, depth: depth) else { continue }
            let code = directive.qualifier.result
            var outcome = Outcome(
                code: code, mechanism: directive.text, mechanismDomain: domain,
                reason: "\(ip) matched '\(directive.text)' in the SPF record of \(domain)")
            if code == .fail && explain {
                outcome.explanation = await explanation(record, context: context)
            }
            return outcome
        }
        if let redirect = record.redirect {
            try countLookup("redirect=\(redirect)")
            let target = await expandDomain(redirect, context)
            let outcome = try await checkHost(target, depth: depth + 1, explain: explain)
            guard outcome.code != .none else { throw .perm("redirect=\(Self.printable(target)) has no SPF record") }
            return outcome
        }
        return Outcome(code: .neutral, reason: "no mechanism matched \(ip) in the SPF record of \(domain)")
    }

    private mutating func matches(_ directive: SPFDirective, domain: String, context: SPFMacroContext, depth: Int)
        async throws(Abort) -> Bool
    {
        if directive.mechanism.countsAgainstLookupLimit { try countLookup(directive.text) }
        switch directive.mechanism {
        case .all:
            return true
        case .ip4(let network, let length):
            if case .v4(let a) = ip { return a.isIn(network, prefixLength: length) }
            return false
        case .ip6(let network, let length):
            if case .v6(let a) = ip { return a.isIn(network, prefixLength: length) }
            return false
        case .a(let spec, let v4, let v6):
            let target = spec == nil ? domain : await expandDomain(spec, context)
            return try await addressMatches(target, v4, v6)
        case .mx(let spec, let v4, let v6):
            let target = spec == nil ? domain : await expandDomain(spec, context)
            guard DNSName.isQueryable(target) else { return false }
            let exchangers = try await query(target, .mx, countVoid: true).mailExchangers
            guard exchangers.count <= options.mxLimit else {
                throw .perm("\(Self.printable(target)) has \(exchangers.count) MX records (limit \(options.mxLimit))")
            }
            for mx in exchangers.sorted(by: { $0.preference < $1.preference }) {
                let host = DNSName.normalized(mx.exchange)
                if host.isEmpty { continue }  // null MX (RFC 7505)
                if try await addressMatches(host, v4, v6) { return true }
            }
            return false
        case .ptr(let spec):
            let target = spec == nil ? domain : await expandDomain(spec, context)
            for name in try await pointerNames(countVoid: true) where DNSName.isSubdomain(name, of: target) {
                if await isValidated(name) { return true }
            }
            return false
        case .exists(let spec):
            let target = await expandDomain(spec, context)
            guard DNSName.isQueryable(target) else { return false }
            let answer = try await query(target, .a, countVoid: true)
            return answer.records.contains { $0.type == .a }
        case .include(let spec):
            let target = await expandDomain(spec, context)
            let outcome = try await checkHost(target, depth: depth + 1, explain: false)
            switch outcome.code {
            case .pass: return true
            case .fail, .softfail, .neutral: return false
            case .none: throw .perm("include:\(Self.printable(target)) has no SPF record")
            case .temperror, .permerror: throw Abort(code: outcome.code, reason: outcome.reason)
            }
        }
    }

    /// Whether an A (IPv4 client) or AAAA (IPv6 client) record of `name` covers the client.
    private mutating func addressMatches(_ name: String, _ v4: Int, _ v6: Int) async throws(Abort) -> Bool {
        guard DNSName.isQueryable(name) else { return false }
        switch ip {
        case .v4(let client):
            let answer = try await query(name, .a, countVoid: true)
            return answer.records.contains {
                if case .a(let a) = $0 { client.isIn(a, prefixLength: v4) } else { false }
            }
        case .v6(let client):
            let answer = try await query(name, .aaaa, countVoid: true)
            return answer.records.contains {
                if case .aaaa(let a) = $0 { client.isIn(a, prefixLength: v6) } else { false }
            }
        }
    }

    // MARK: PTR and %{p}

    /// The first ``SPFVerifier/Options/ptrLimit`` names of the client's PTR records; DNS errors
    /// give none (RFC 7208 section 5.5).
    private mutating func pointerNames(countVoid: Bool) async throws(Abort) -> [String] {
        let name = ip.reverseDNSName
        guard ContinuousClock.now < deadline else { throw .temp("time limit exceeded") }
        let answer: DNSLookupResult
        do {
            answer = try await resolver.lookup(name, .ptr)
        } catch {
            return []
        }
        if countVoid && answer.isVoid { try countVoidLookup() }
        return Array(answer.pointerNames.prefix(options.ptrLimit))
    }

    /// Whether `name` has an address record equal to the client's; DNS errors count as no.
    private func isValidated(_ name: String) async -> Bool {
        guard DNSName.isQueryable(name), ContinuousClock.now < deadline else { return false }
        do {
            let answer = try await resolver.lookup(name, ip.isIPv4 ? .a : .aaaa)
            return answer.addresses.contains(ip)
        } catch {
            return false
        }
    }

    /// `%{p}`: a validated name of the client, preferring `domain` itself, then its subdomains.
    private mutating func validatedDomain(for domain: String) async -> String? {
        guard let names = try? await pointerNames(countVoid: false) else { return nil }
        let exact = names.filter { DNSName.equal($0, domain) }
        let sub = names.filter { !DNSName.equal($0, domain) && DNSName.isSubdomain($0, of: domain) }
        let other = names.filter { !DNSName.isSubdomain($0, of: domain) }
        for name in exact + sub + other where await isValidated(name) {
            return name.hasSuffix(".") ? String(name.dropLast()) : name
        }
        return nil
    }

    private mutating func expandDomain(_ spec: SPFMacroString?, _ context: SPFMacroContext) async -> String {
        guard let spec else { return context.domain }
        var context = context
        if spec.usesValidatedDomain { context.validatedDomain = await validatedDomain(for: context.domain) }
        return spec.expandDomain(context)
    }

    // MARK: exp=

    /// The explanation for a `fail` (RFC 7208 section 6.2): the `exp=` text, or the default when
    /// there is no `exp=` or its lookup or text is unusable.
    private mutating func explanation(_ record: SPFRecord, context: SPFMacroContext) async -> String {
        if let exp = record.explanation, let text = await explanationText(exp, context) { return text }
        guard let template = try? SPFMacroString(options.defaultExplanation, usage: .explanation) else {
            return options.defaultExplanation
        }
        var context = context
        if template.usesValidatedDomain { context.validatedDomain = await validatedDomain(for: context.domain) }
        return template.expand(context)
    }

    private mutating func explanationText(_ exp: SPFMacroString, _ context: SPFMacroContext) async -> String? {
        let target = await expandDomain(exp, context)
        guard DNSName.isQueryable(target), ContinuousClock.now < deadline else { return nil }
        let answer: DNSLookupResult
        do {
            answer = try await resolver.lookup(target, .txt)
        } catch {
            return nil
        }
        let records = answer.txtRecords
        guard records.count == 1 else { return nil }
        let data = records[0].data
        guard data.allSatisfy({ $0 < 0x80 }),
            let template = try? SPFMacroString(String(decoding: data, as: UTF8.self), usage: .explanation)
        else { return nil }
        var context = context
        if template.usesValidatedDomain { context.validatedDomain = await validatedDomain(for: context.domain) }
        return template.expand(context)
    }

    // MARK: DNS and limits

    private mutating func query(_ name: String, _ type: DNSRecordType, countVoid: Bool) async throws(Abort)
        -> DNSLookupResult
    {
        guard ContinuousClock.now < deadline else { throw .temp("time limit exceeded") }
        let answer: DNSLookupResult
        do {
            answer = try await resolver.lookup(name, type)
        } catch {
            throw .temp("DNS \(error.code) looking up \(type) \(Self.printable(name))")
        }
        if countVoid && answer.isVoid { try countVoidLookup() }
        return answer
    }

    private mutating func countLookup(_ term: String) throws(Abort) {
        lookups += 1
        if lookups > options.lookupLimit {
            throw .perm("more than \(options.lookupLimit) DNS-querying terms (at '\(Self.printable(term))')")
        }
    }

    private mutating func countVoidLookup() throws(Abort) {
        voids += 1
        if voids > options.voidLookupLimit {
            throw .perm("more than \(options.voidLookupLimit) void DNS lookups")
        }
    }

    /// Text from DNS, shortened and made printable for a reason string.
    static func printable(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars.prefix(100) {
            if scalar >= " " && scalar <= "~" { out.unicodeScalars.append(scalar) } else { out += "?" }
        }
        return out
    }
}
