import Logging
import MilterProtocol
import NIOCore
import ServiceLifecycle
import SpamwardCore
import SpamwardHTTP

/// The milter front end: Postfix's `smtpd_milters` (or Sendmail's `INPUT_MAIL_FILTER`) talk to it.
enum MilterFrontEnd {
    static func service(
        configuration: ServerConfiguration, filter: SpamFilter, group: any EventLoopGroup, logger: Logger,
        onBound: @escaping @Sendable (String, SocketAddress) -> Void
    ) -> any Service {
        let milterConfiguration = MilterConfiguration(
            maximumMessageBytes: configuration.maxMessageBytes,
            idleTimeout: .seconds(configuration.milter.idleTimeoutSeconds),
            faultAction: configuration.onFault == .accept ? .accept : .tempfail)
        let metrics = FrontEndMetrics(frontEnd: "milter")
        return TCPServerService<MilterCommand, MilterResponse>(
            name: "milter", frontEnd: configuration.milter, group: group, logger: logger, drainSeconds: 10,
            configure: { channel in try MilterConnection.configurePipeline(on: channel, configuration: milterConfiguration) },
            handle: { connection, logger in
                try await MilterConnection.run(channel: connection, configuration: milterConfiguration, logger: logger) {
                    transaction in
                    try await decide(transaction, filter: filter, configuration: configuration, metrics: metrics, logger: logger)
                }
            },
            onBound: { onBound("milter", $0) })
    }

    /// The verdict for one message as a milter decision.
    static func decide(
        _ transaction: MilterTransaction, filter: SpamFilter, configuration: ServerConfiguration,
        metrics: FrontEndMetrics, logger: Logger
    ) async throws -> MilterDecision {
        var logger = logger
        if let q = transaction.queueID { logger[metadataKey: "mail.queue_id"] = "\(q)" }
        var modifications = try removals(of: transaction.headers)
        if transaction.truncated {
            metrics.rejectedInput()
            logger.notice("message over the size limit", metadata: [
                "mail.size": "\(transaction.messageSize)", "limit": "\(configuration.maxMessageBytes)",
                "policy": "\(configuration.oversize.rawValue)",
            ])
            switch configuration.oversize {
            case .accept:
                modifications.append(try .add(name: "X-Spam-Status", value: "No, skipped=oversize size=\(transaction.messageSize) version=\(VerdictHeaders.product)"))
                return MilterDecision(action: .accept, headerModifications: modifications)
            case .tempfail:
                return .tempfail(try MilterSMTPReply(code: 452, enhancedStatus: "4.3.4", text: "Message too big to scan now"))
            case .reject:
                return .reject(try MilterSMTPReply(code: 552, enhancedStatus: "5.3.4", text: "Message too big"))
            }
        }
        let started = ContinuousClock.now
        let message = filter.scanner.parse(transaction.message)
        let verdict = await filter.check(message, context: scanContext(of: transaction), explain: false)
        metrics.scanned(verdict, since: started)
        let policy = filter.policy
        let disposition = policy.disposition(for: verdict.action)
        logger.info("scanned", metadata: [
            "scan.action": "\(verdict.action.rawValue)", "scan.score": "\(VerdictHeaders.format(verdict.score))",
            "scan.disposition": "\(disposition.rawValue)",
            "scan.symbols": "\(verdict.symbols.map(\.name).joined(separator: ","))",
        ])
        let flagged = verdict.action == .spam || (verdict.action == .unsure && disposition == .tag)
        for f in VerdictHeaders.fields(for: verdict, flagged: flagged) {
            modifications.append(try .add(name: f.name, value: f.value))
        }
        switch disposition {
        case .accept, .tag:
            return MilterDecision(action: .accept, headerModifications: modifications)
        case .quarantine:
            return MilterDecision(action: .quarantine(reason: "Spamward: \(verdict.action.rawValue) score \(VerdictHeaders.format(verdict.score))"),
                                  headerModifications: modifications)
        case .reject:
            let reason = verdict.symbols.first.map { " (\($0.name))" } ?? ""
            return .reject(try MilterSMTPReply(code: 550, enhancedStatus: "5.7.1", text: policy.rejectText + reason))
        case .discard:
            return .discard
        }
    }

    /// What the MTA told us about the client and the envelope.
    static func scanContext(of transaction: MilterTransaction) -> ScanContext {
        var context = ScanContext(
            clientAddress: transaction.client.address, clientHostname: transaction.client.hostname,
            helo: transaction.client.helo, mailFrom: transaction.sender?.address,
            recipients: transaction.recipients.map(\.address), queueID: transaction.queueID)
        context.wantsDigest = false  // the milter's actions never carry it
        return context
    }

    /// Deletions of the message's own copies of Spamward's header fields, last occurrence first so
    /// the indexes stay valid.
    static func removals(of headers: [MilterHeaderField]) throws -> [MilterHeaderModification] {
        var counts: [String: (name: String, count: Int)] = [:]
        for h in headers {
            let key = h.name.lowercased()
            guard VerdictHeaders.ownFieldNames.contains(key) else { continue }
            counts[key, default: (h.name, 0)].count += 1
        }
        var out: [MilterHeaderModification] = []
        for key in counts.keys.sorted() {
            guard let entry = counts[key] else { continue }
            for occurrence in stride(from: entry.count, through: 1, by: -1) {
                out.append(try .delete(name: entry.name, occurrence: occurrence))
            }
        }
        return out
    }
}
