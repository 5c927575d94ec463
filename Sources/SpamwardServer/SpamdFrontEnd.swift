import Logging
import NIOCore
import ServiceLifecycle
import SpamdProtocol
import SpamwardCore
import SpamwardHTTP

/// The spamd protocol front end: `spamc` (and Exim's `spamd_address`) talk to it as to
/// SpamAssassin's spamd.
enum SpamdFrontEnd {
    static func service(
        configuration: ServerConfiguration, filter: SpamFilter, group: any EventLoopGroup, logger: Logger,
        onBound: @escaping @Sendable (String, SocketAddress) -> Void
    ) -> any Service {
        let spamdConfiguration = SpamdConfiguration(
            maximumBodyBytes: configuration.maxMessageBytes,
            requestTimeout: .seconds(configuration.spamd.idleTimeoutSeconds),
            handlerTimeout: .seconds(120))
        let metrics = FrontEndMetrics(frontEnd: "spamd")
        return TCPServerService<SpamdRequest, SpamdResponse>(
            name: "spamd", frontEnd: configuration.spamd, group: group, logger: logger, drainSeconds: 10,
            configure: { channel in try SpamdConnection.addHandlers(to: channel, configuration: spamdConfiguration) },
            handle: { connection, logger in
                let handler = SpamwardSpamdHandler(
                    filter: filter, access: configuration.access, metrics: metrics, logger: logger,
                    clientAddress: connection.channel.remoteAddress?.ipAddress)
                let outcome = await SpamdConnection.serve(connection, configuration: spamdConfiguration, logger: logger, handler: handler)
                if outcome.request == nil || outcome.response?.exitCode != .ok { metrics.rejectedInput() }
            },
            onBound: { onBound("spamd", $0) })
    }
}

/// Answers spamd requests with the shared filter.
struct SpamwardSpamdHandler: SpamdRequestHandler {
    let filter: SpamFilter
    let access: AccessPolicy
    let metrics: FrontEndMetrics
    let logger: Logger
    /// The client's address; TELL is allowed from trusted networks only (spamd has no password).
    let clientAddress: String?

    func check(_ request: SpamdRequest) async throws -> SpamdVerdict {
        let started = ContinuousClock.now
        // The per-feature explanation costs more than the scan; only the reports show it.
        let explain = request.method == .report || request.method == .reportIfSpam
        var context = ScanContext.none
        context.wantsDigest = false  // no spamd reply carries it
        let verdict = await filter.check(filter.scanner.parse(request.body), context: context, explain: explain)
        metrics.scanned(verdict, since: started)
        let flagged = verdict.action == .spam
        logger.info("scanned", metadata: [
            "spamd.method": "\(request.method.rawValue)", "scan.action": "\(verdict.action.rawValue)",
            "scan.score": "\(VerdictHeaders.format(verdict.score))",
        ])
        var rewritten: [UInt8]? = nil
        if request.method == .process || request.method == .headers {
            rewritten = VerdictHeaders.rewrite(request.body, verdict: verdict, flagged: flagged)
        }
        return SpamdVerdict(
            isSpam: flagged, score: verdict.score, threshold: verdict.thresholds.spam,
            symbols: verdict.symbols.map(\.name),
            // Only REPORT and REPORT_IFSPAM send the report: not built for the other methods.
            report: explain ? VerdictHeaders.report(for: verdict) : nil, message: rewritten)
    }

    func tell(_ request: SpamdRequest) async throws -> SpamdTellResult {
        guard access.allows(address: clientAddress, secret: nil) else {
            metrics.rejectedInput()
            throw SpamdError.permissionDenied("TELL is only accepted from trusted networks")
        }
        let local = SpamdTellTarget.local
        var result = SpamdTellResult()
        let outcome: LearnOutcome
        do {
            if request.setTargets.contains(local) {
                guard let cls = request.messageClass else {
                    throw SpamdError.protocolError(.badMessageClass, "Message-class is required to learn")
                }
                outcome = try await filter.learn(request.body, as: cls == .spam ? .spam : .ham, now: WallClock.nowSeconds())
                if outcome != .alreadyLearned { result.didSet.append(local) }
            } else if request.removeTargets.contains(local) {
                outcome = try await filter.learn(request.body, as: nil, now: WallClock.nowSeconds())
                if outcome == .forgotten { result.didRemove.append(local) }
            } else {
                return result  // only "remote" asked: there is no remote reporting to do
            }
        } catch let e as SpamdError {
            throw e
        } catch {
            metrics.fault()
            logger.error("learning failed", metadata: ["error": "\(error)"])
            throw SpamdError.temporaryFailure("learning failed; nothing was changed")
        }
        metrics.learned(outcome)
        logger.info("learned", metadata: ["learn.outcome": "\(outcome.rawValue)"])
        return result
    }
}
