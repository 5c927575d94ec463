import Logging
import MailAuth
import SpamwardCore
import SpamwardEdge
import SpamwardHTTP
import Synchronization

/// Applies a re-read configuration to the running daemon (SIGHUP) without dropping connections.
///
/// What changes at once (for scans and sessions that start afterwards; running ones finish with
/// what they started with): the model, thresholds and action policy; `[authentication]` (on, off,
/// authserv-id); `[uribl]` (lists, score, lookups); the `[campaigns]` trusted networks; the
/// `[botnet]` scores, list threshold and refresh interval; and `[edge]` except its listener,
/// backend and pool (lists, actions, DNS lists and sentinels, limits, timeouts, greylisting and
/// rate settings, the certificate). Each section is rebuilt whole from the parsed configuration,
/// so settings added to a section later are picked up without touching this type.
///
/// What needs a restart is named in the outcome and keeps its running value: listen addresses
/// and front-end limits, the store, the DNS servers, `[access]`, the log level, message size
/// and fault handling, turning campaigns or the edge on or off, the botnet DNS responder.
public final class ConfigurationReloader: Sendable {
    /// What one reload did.
    public struct Outcome: Sendable, Hashable {
        /// The sections applied.
        public var applied: [String] = []
        /// Changed settings that only a restart applies (their running values are kept).
        public var needsRestart: [String] = []
        /// Sections that could not be applied, with the reason (their running values are kept).
        public var failed: [String] = []
    }

    private let running: Mutex<ServerConfiguration>
    private let filter: SpamFilter
    private let edge: EdgeService?
    private let resolver: (any DNSResolver)?
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: The configuration the daemon started with.
    ///   - edge: The running edge (nil: off).
    ///   - resolver: The daemon's resolver, for rebuilt authentication and URIBL stages (nil:
    ///     those stages are kept as they are).
    public init(configuration: ServerConfiguration, filter: SpamFilter, edge: EdgeService?,
                resolver: (any DNSResolver)?, logger: Logger) {
        self.running = Mutex(configuration)
        self.filter = filter
        self.edge = edge
        self.resolver = resolver
        self.logger = logger
    }

    /// The configuration in effect (the start's, with the reloaded sections applied).
    public var configuration: ServerConfiguration { running.withLock { $0 } }

    /// Applies `new`, with `scanner` carrying the reloaded model and `new`'s thresholds.
    public func apply(_ new: ServerConfiguration, scanner: MessageScanner) async -> Outcome {
        let old = configuration
        var outcome = Outcome()
        var effective = old
        outcome.needsRestart = old.restartOnlyChanges(to: new)

        await filter.replace(scanner: scanner, policy: new.policy)
        effective.thresholds = new.thresholds
        effective.policy = new.policy
        outcome.applied += ["model", "scan", "actions"]

        if let resolver {
            filter.replace(authentication: new.authenticationStage(resolver: resolver, logger: logger),
                           uribl: new.uriblStage(resolver: resolver, logger: logger))
            effective.authentication = new.authentication
            effective.uribl = new.uribl
            outcome.applied += ["authentication", "uribl"]
        } else if new.authentication != old.authentication || new.uribl != old.uribl {
            outcome.failed.append("authentication, uribl: no resolver in this process")
        }

        if let monitor = filter.campaigns {
            let kept = monitor.update(configuration: new.campaignMonitorConfiguration,
                                      trustedNetworks: new.campaigns.trustedNetworks)
            outcome.needsRestart += kept.map { "campaigns.\($0)" }
            effective.campaigns.trustedNetworks = new.campaigns.trustedNetworks
            effective.botnet.listedScore = new.botnet.listedScore
            effective.botnet.footprintScore = new.botnet.footprintScore
            effective.botnet.listThreshold = new.botnet.listThreshold
            effective.botnet.refreshSeconds = new.botnet.refreshSeconds
            outcome.applied += ["campaigns", "botnet"]
        }

        if let edge, new.edge.enabled {
            do {
                _ = try await edge.reload(new.edge.configuration)  // its restart-only settings are named above
                var e = new.edge.configuration
                let o = old.edge.configuration
                (e.listenHost, e.listenPort, e.backendHost, e.backendPort) = (o.listenHost, o.listenPort, o.backendHost, o.backendPort)
                (e.forwarding, e.backendPoolSize, e.backendPoolIdleSeconds) = (o.forwarding, o.backendPoolSize, o.backendPoolIdleSeconds)
                e.maxBackendConnections = o.maxBackendConnections
                effective.edge.configuration = e
                outcome.applied.append("edge")
            } catch {
                outcome.failed.append("edge: \(error)")
            }
        }
        running.withLock { $0 = effective }
        return outcome
    }
}

extension ServerConfiguration {
    /// The names of the settings that differ between this (running) configuration and `new`
    /// and that only a restart applies.
    public func restartOnlyChanges(to new: ServerConfiguration) -> [String] {
        var out: [String] = []
        func check(_ name: String, _ changed: Bool) { if changed { out.append(name) } }
        check("store", storePath != new.storePath)
        check("milter", milter != new.milter)
        check("spamd", spamd != new.spamd)
        check("http", http != new.http)
        check("rspamd", rspamd != new.rspamd || rspamdScanThreads != new.rspamdScanThreads
                || rspamdMaxPendingScans != new.rspamdMaxPendingScans)
        check("access", access.trustedNetworks != new.access.trustedNetworks || access.password != new.access.password)
        check("log_level", logLevel != new.logLevel)
        check("server.event_loops", eventLoops != new.eventLoops)
        check("max_message_bytes", maxMessageBytes != new.maxMessageBytes)
        check("on_fault", onFault != new.onFault)
        check("oversize", oversize != new.oversize)
        check("dns", dns != new.dns)
        check("campaigns.enabled", campaigns.enabled != new.campaigns.enabled)
        check("botnet.dns_listen", botnet.dnsListen != new.botnet.dnsListen)
        check("botnet.zone", botnet.zone != new.botnet.zone)
        check("botnet.ttl_seconds", botnet.ttlSeconds != new.botnet.ttlSeconds)
        check("edge.enabled", edge.enabled != new.edge.enabled)
        if edge.enabled && new.edge.enabled {
            out += EdgeService.restartSettings(edge.configuration, new.edge.configuration)
        }
        return out
    }
}
