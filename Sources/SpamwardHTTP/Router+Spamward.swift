import HTTPTypes
import Hummingbird
import MailMessage
import Logging
import NIOCore
import SpamwardCore
import Synchronization

/// Builds the HTTP routes: Spamward's own JSON API (`/v1/...`, `/health`; the campaign and
/// botnet views `/v1/campaigns`, `/v1/botnet`, `/v1/botnet/zone` when the filter tracks
/// campaigns, behind the learning endpoints' access policy), Rspamd's protocol
/// (`/checkv2`, `/learnspam`, `/learnham`, `/ping`, `/stat`) and, when given, `/metrics`.
///
/// - Parameters:
///   - filter: The shared filter.
///   - configuration: Limits, access policy and action policy.
///   - metricsText: Renders the Prometheus exposition text for `/metrics`; nil leaves it out.
public func buildRouter(
    filter: SpamFilter, configuration: HTTPFrontEndConfiguration,
    metricsText: (@Sendable () -> String)? = nil
) -> Router<SpamwardRequestContext> {
    let router = Router(context: SpamwardRequestContext.self)
    let api = SpamwardAPI(filter: filter, configuration: configuration)
    router.get("/health") { _, _ in HealthResponse(status: "ok") }
    router.post("/v1/check") { request, context in try await api.check(request, context) }
    router.post("/v1/learn") { request, context in try await api.learn(request, context, forget: false) }
    router.post("/v1/forget") { request, context in try await api.learn(request, context, forget: true) }
    router.get("/v1/stats") { _, _ in try await api.stats() }
    router.get("/v1/campaigns") { request, context in try api.campaigns(request, context) }
    router.get("/v1/botnet") { request, context in try api.botnet(request, context) }
    router.get("/v1/botnet/zone") { request, context in try api.botnetZone(request, context) }
    router.post("/checkv2") { request, context in try await api.rspamdCheck(request, context) }
    router.post("/learnspam") { request, context in try await api.rspamdLearn(request, context, as: .spam) }
    router.post("/learnham") { request, context in try await api.rspamdLearn(request, context, as: .ham) }
    router.get("/ping") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "pong\r\n"))) }
    router.get("/stat") { _, _ in try await api.rspamdStat() }
    if let metricsText {
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
    }
    return router
}

/// The handlers behind the routes.
final class SpamwardAPI: Sendable {
    let filter: SpamFilter
    let configuration: HTTPFrontEndConfiguration
    let ownMetrics = FrontEndMetrics(frontEnd: "http")
    let rspamdMetrics = FrontEndMetrics(frontEnd: "rspamd")
    let scanned = Atomic<Int>(0)

    init(filter: SpamFilter, configuration: HTTPFrontEndConfiguration) {
        self.filter = filter
        self.configuration = configuration
    }

    // MARK: own API

    func check(_ request: Request, _ context: SpamwardRequestContext) async throws -> CheckResponse {
        let bytes = try await body(request, context, metrics: ownMetrics)
        let explain = request.uri.queryParameters.get("explain") != "false"
        let scanContext = Self.scanContext(of: request)
        let verdict = await scan(filter.scanner.parse(bytes), scanContext: scanContext, explain: explain, metrics: ownMetrics,
                           context: context)
        let disposition = filter.policy.disposition(for: verdict.action)
        let fields = VerdictHeaders.fields(for: verdict, flagged: verdict.action == .spam)
        return CheckResponse(verdict: verdict, disposition: disposition,
                             headers: fields.map { HeaderDTO(name: $0.name, value: $0.value) })
    }

    func learn(_ request: Request, _ context: SpamwardRequestContext, forget: Bool) async throws -> LearnResponse {
        try authorize(request, context, metrics: ownMetrics)
        var label: Label? = nil
        if !forget {
            guard let text = request.uri.queryParameters.get("label"), let l = Label(rawValue: text.lowercased()) else {
                ownMetrics.rejectedInput()
                throw HTTPError(.badRequest, message: "give ?label=spam or ?label=ham")
            }
            label = l
        }
        let bytes = try await body(request, context, metrics: ownMetrics)
        let outcome = try await learn(bytes, as: label, metrics: ownMetrics, context: context)
        return LearnResponse(outcome: outcome, digest: nil)
    }

    func stats() async throws -> StatsResponse {
        let s = try await filter.statistics()
        let scanner = filter.scanner
        return StatsResponse(learnedSpam: s.learnedSpam, learnedHam: s.learnedHam, modelBytes: s.modelBytes,
                             modelUpdatedAt: s.modelUpdatedAt,
                             tokenizerVersion: scanner.model.configuration.tokenizerVersion,
                             featureBits: scanner.model.configuration.featureBits, thresholds: scanner.thresholds)
    }

    // MARK: campaign and botnet views (admin)

    /// The campaign monitor, after the access check; 404 when campaigns are off.
    func monitor(_ request: Request, _ context: SpamwardRequestContext) throws -> CampaignMonitor {
        try authorize(request, context, metrics: ownMetrics, what: "campaign and botnet views")
        guard let monitor = filter.campaigns else {
            throw HTTPError(.notFound, message: "campaign tracking is off: run spamward serve with --campaigns or [campaigns] enabled = true")
        }
        return monitor
    }

    /// `?limit=N` in 1…10,000 (default `fallback`); anything else is a 400.
    func limit(_ request: Request, default fallback: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return fallback }
        guard let n = Int(text), (1...10_000).contains(n) else {
            ownMetrics.rejectedInput()
            throw HTTPError(.badRequest, message: "limit must be an integer in 1...10000")
        }
        return n
    }

    func campaigns(_ request: Request, _ context: SpamwardRequestContext) throws -> CampaignsResponse {
        let monitor = try monitor(request, context)
        let n = try limit(request, default: 100)
        let list = monitor.campaigns(limit: n)
        return CampaignsResponse(tracked: monitor.counts.campaigns, limit: n, campaigns: list.map(CampaignSummary.init))
    }

    func botnet(_ request: Request, _ context: SpamwardRequestContext) throws -> BotnetResponse {
        let monitor = try monitor(request, context)
        let n = try limit(request, default: 1000)
        let all = request.uri.queryParameters.get("all") == "true"
        let evidence = monitor.botnetEvidence()
        let listed = evidence.filter(\.listed)
        return BotnetResponse(tracked: evidence.count, listed: listed.count, policy: monitor.configuration.botnet,
                              evidence: Array((all ? evidence : listed).prefix(n)))
    }

    /// The list as an rbldnsd zone file: `ip4set` by default, `?family=6` for the IPv6 `ip6trie`.
    func botnetZone(_ request: Request, _ context: SpamwardRequestContext) throws -> Response {
        let monitor = try monitor(request, context)
        let list = monitor.currentBotnetList()
        let ttl = configuration.botnetZoneTTLSeconds
        let text: String
        switch request.uri.queryParameters.get("family") {
        case nil, "4": text = list.ip4setZone(ttl: ttl, generatedAt: WallClock.nowSeconds())
        case "6": text = list.ip6trieZone(ttl: ttl)
        default:
            ownMetrics.rejectedInput()
            throw HTTPError(.badRequest, message: "family must be 4 or 6")
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Rspamd protocol

    func rspamdCheck(_ request: Request, _ context: SpamwardRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let bytes = try await body(request, context, metrics: rspamdMetrics)
        var scanContext = Self.scanContext(of: request)
        scanContext.wantsDigest = false  // Rspamd's reply has no digest
        let message = filter.scanner.parse(bytes)
        // Rspamd's clients (MTAs) read symbols and the action; the per-feature explanation, which
        // costs more than the scan, only when asked for with `Explain: yes`.
        let explain = Self.wantsExplanation(request.headers[.explain])
        let verdict = await scan(message, scanContext: scanContext, explain: explain, metrics: rspamdMetrics, context: context)
        let json = Self.rspamdCheckJSON(verdict: verdict, message: message, policy: filter.policy, since: started)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: json))
    }

    /// `Explain: yes` asks `/checkv2` for the per-feature explanation.
    static func wantsExplanation(_ value: String?) -> Bool { value?.lowercased() == "yes" }

    /// Rspamd's `/checkv2` reply for a scanned message as the `Encodable` DTO: symbols, the
    /// verdict headers as milter headers, the reject text when the disposition rejects, the time
    /// since `started`. The front ends write ``rspamdCheckJSON(verdict:message:policy:since:)``
    /// instead (no dictionaries); this stays as the reference it is tested against.
    static func rspamdCheckResponse(verdict: Verdict, message: Message, policy: ActionPolicy,
                                    since started: ContinuousClock.Instant) -> RspamdCheckResponse {
        let disposition = policy.disposition(for: verdict.action)
        var symbols: [String: RspamdCheckResponse.SymbolDTO] = [:]
        for s in verdict.symbols {
            symbols[s.name] = .init(name: s.name, score: s.score, metric_score: s.score, description: s.description,
                                    options: s.options.isEmpty ? nil : s.options)
        }
        var add: [String: RspamdCheckResponse.HeaderValue] = [:]
        var remove: [String: Int] = [:]
        for (i, f) in VerdictHeaders.fields(for: verdict, flagged: verdict.action == .spam).enumerated() {
            add[f.name] = .init(value: f.value, order: i)
            remove[f.name] = 0
        }
        var messages: [String: String] = [:]
        if disposition == .reject { messages["smtp_message"] = policy.rejectText }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let thresholds = verdict.thresholds
        return RspamdCheckResponse(
            is_skipped: false, score: verdict.score, required_score: thresholds.spam,
            action: Self.rspamdAction(disposition), thresholds: ["reject": thresholds.spam, "add header": thresholds.unsure],
            symbols: symbols, messages: messages, milter: .init(add_headers: add, remove_headers: remove),
            message_id: message.headers["Message-ID"].map { String($0.filter { $0 != "<" && $0 != ">" && $0 != " " }) }, time_real: seconds, scan_time: seconds)
    }

    func rspamdLearn(_ request: Request, _ context: SpamwardRequestContext, as label: Label) async throws -> RspamdLearnResponse {
        try authorize(request, context, metrics: rspamdMetrics)
        let bytes = try await body(request, context, metrics: rspamdMetrics)
        let outcome = try await learn(bytes, as: label, metrics: rspamdMetrics, context: context)
        return RspamdLearnResponse(success: true, outcome: outcome)
    }

    func rspamdStat() async throws -> RspamdStatResponse {
        let s = try await filter.statistics()
        return RspamdStatResponse(scanned: scanned.load(ordering: .relaxed), learned: s.learnedSpam + s.learnedHam,
                                  spam_count: s.learnedSpam, ham_count: s.learnedHam, version: VerdictHeaders.product)
    }

    /// Rspamd's action names for our dispositions.
    static func rspamdAction(_ d: ActionPolicy.Disposition) -> String {
        switch d {
        case .accept: "no action"
        case .tag: "add header"
        case .quarantine, .reject, .discard: "reject"
        }
    }

    // MARK: shared

    func body(_ request: Request, _ context: SpamwardRequestContext, metrics: FrontEndMetrics) async throws -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: configuration.maxMessageBytes)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError {
            metrics.rejectedInput()
            throw error
        } catch {
            metrics.rejectedInput()
            throw HTTPError(.contentTooLarge, message: "message larger than \(configuration.maxMessageBytes) bytes")
        }
    }

    /// The envelope as Rspamd's clients send it (`IP`, `Hostname`, `Helo`, `From`, `Rcpt` (repeated),
    /// `Queue-Id`); the own API reads the same headers.
    static func scanContext(of request: Request) -> ScanContext {
        scanContext { header in
            switch header {
            case .ip: request.headers[values: .clientIP]
            case .hostname: request.headers[values: .clientHostname]
            case .helo: request.headers[values: .helo]
            case .from: request.headers[values: .mailFrom]
            case .rcpt: request.headers[values: .recipient]
            case .queueID: request.headers[values: .queueID]
            }
        }
    }

    /// The request headers of Rspamd's protocol that make the scan's envelope.
    enum EnvelopeHeader: CaseIterable {
        case ip, hostname, helo, from, rcpt, queueID

        /// The header's name as Rspamd's clients send it.
        var name: String {
            switch self {
            case .ip: "IP"
            case .hostname: "Hostname"
            case .helo: "Helo"
            case .from: "From"
            case .rcpt: "Rcpt"
            case .queueID: "Queue-Id"
            }
        }
    }

    /// The envelope from Rspamd's request headers, given each header's values in order; shared
    /// by the Hummingbird routes and the Rspamd worker listener. Empty values count as absent;
    /// `From` and each `Rcpt` lose their angle brackets.
    static func scanContext(_ values: (EnvelopeHeader) -> [String]) -> ScanContext {
        func value(_ header: EnvelopeHeader) -> String? {
            guard let v = values(header).first?.trimmingASCIISpaces, !v.isEmpty else { return nil }
            return v
        }
        let from = values(.from).first.map { Self.unbracket($0.trimmingASCIISpaces) }
        return ScanContext(
            clientAddress: value(.ip), clientHostname: value(.hostname), helo: value(.helo),
            mailFrom: from, recipients: values(.rcpt).map { Self.unbracket($0.trimmingASCIISpaces) },
            queueID: value(.queueID))
    }

    static func unbracket(_ s: String) -> String {
        s.hasPrefix("<") && s.hasSuffix(">") && s.count >= 2 ? String(s.dropFirst().dropLast()) : s
    }

    func scan(_ message: Message, scanContext: ScanContext, explain: Bool, metrics: FrontEndMetrics,
              context: SpamwardRequestContext) async -> Verdict {
        let queueID = scanContext.queueID
        let started = ContinuousClock.now
        let verdict = await filter.check(message, context: scanContext, explain: explain)
        let ns = metrics.scanned(verdict, since: started)
        scanned.add(1, ordering: .relaxed)
        Self.logScanned(verdict, nanoseconds: ns, queueID: queueID, frontEnd: metrics.frontEnd, logger: context.logger)
        return verdict
    }

    /// The one log line per scanned message (every HTTP front end writes the same line); the queue
    /// id goes with the line's own metadata (setting it on the logger would copy the logger's
    /// metadata for one line).
    static func logScanned(_ verdict: Verdict, nanoseconds ns: UInt64, queueID: String?, frontEnd: String, logger: Logger) {
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "scan.action": .string(verdict.action.rawValue), "scan.score": .string(VerdictHeaders.format(verdict.score)),
            "scan.duration_us": .string(String(ns / 1000)), "frontend": .string(frontEnd),
        ]
        if let queueID { metadata["mail.queue_id"] = .string(queueID) }
        logger.info("scanned", metadata: metadata)
    }

    func learn(_ bytes: [UInt8], as label: Label?, metrics: FrontEndMetrics, context: SpamwardRequestContext) async throws -> LearnOutcome {
        do {
            let outcome = try await filter.learn(bytes, as: label, now: WallClock.nowSeconds())
            metrics.learned(outcome)
            context.logger.info("learned", metadata: ["learn.outcome": "\(outcome.rawValue)", "frontend": "\(metrics.frontEnd)"])
            return outcome
        } catch {
            metrics.fault()
            context.logger.error("learning failed", metadata: ["error": "\(error)"])
            throw HTTPError(.serviceUnavailable, message: "learning failed; nothing was changed")
        }
    }

    /// Protected endpoints: trusted networks pass; others need `Authorization: Bearer <token>` or
    /// Rspamd's `Password:` header.
    func authorize(_ request: Request, _ context: SpamwardRequestContext, metrics: FrontEndMetrics,
                   what: String = "learning") throws {
        var secret: String? = request.headers[.password]
        if secret == nil, let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            secret = String(auth.dropFirst(7))
        }
        guard configuration.access.allows(address: context.remoteAddress?.ipAddress, secret: secret) else {
            metrics.rejectedInput()
            throw HTTPError(.unauthorized, message: "\(what) need\(what.hasSuffix("s") ? "" : "s") a password from this address")
        }
    }

}

extension String {
    var trimmingASCIISpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension HTTPField.Name {
    // Safe to force unwrap: constant, valid field names.
    static let queueID = HTTPField.Name("Queue-Id")!
    static let clientIP = HTTPField.Name("IP")!
    static let clientHostname = HTTPField.Name("Hostname")!
    static let helo = HTTPField.Name("Helo")!
    static let mailFrom = HTTPField.Name("From")!
    static let recipient = HTTPField.Name("Rcpt")!
    static let password = HTTPField.Name("Password")!
    static let explain = HTTPField.Name("Explain")!
}
