import Hummingbird
import HummingbirdCore
import Logging
import MailAuth
import NIOCore
import NIOPosix
import ServiceLifecycle
import SpamwardCore
import SpamwardEdge
import SpamwardHTTP
import UnixSignals

extension ServerConfiguration {
    /// Sets the number of event-loop threads of NIO's shared group (``eventLoopThreads(cores:)``).
    /// Call before anything uses the group: NIO fixes the count when the group is first made.
    public func configureEventLoops() {
        NIOSingletons.groupLoopCountSuggestion = eventLoopThreads(cores: System.coreCount)
    }
}

/// What `spamward serve` runs, built the same way by the command and by the end-to-end tests.
public struct SpamwardServices: Sendable {
    /// The services in start order: front ends, the botnet DNSBL responder when configured,
    /// then the SMTP edge when `[edge] enabled` (shutdown runs in reverse: the edge stops taking
    /// connections first and drains).
    public var services: [any Service]
    /// The shared filter.
    public var filter: SpamFilter
    /// Applies a re-read configuration (what SIGHUP does after `reload` read it).
    public var reloader: ConfigurationReloader

    /// What SIGHUP reads again: the configuration and a scanner with the store's model and the
    /// configuration's thresholds.
    public struct Reloaded: Sendable {
        public var configuration: ServerConfiguration
        public var scanner: MessageScanner
        public init(configuration: ServerConfiguration, scanner: MessageScanner) {
            self.configuration = configuration
            self.scanner = scanner
        }
    }

    /// Builds the front ends that `configuration` enables.
    ///
    /// - Parameters:
    ///   - configuration: The effective configuration.
    ///   - filter: The filter the front ends share.
    ///   - logger: The root logger; each front end adds its metadata.
    ///   - metricsText: Renders `/metrics` (nil leaves the route out).
    ///   - reload: Called on SIGHUP: reads the configuration and the model again; what can change
    ///     without a restart is then applied by ``reloader`` (a throw keeps everything running as it is).
    ///   - resolver: The daemon's DNS resolver, which the edge's DNS lists share (nil: the edge
    ///     asks no DNS lists), and which reloaded authentication and URIBL stages use.
    ///   - passedClients: The edge's temporary allowlist (nil: in memory).
    ///   - greylistStore: Where the edge's greylisting triplets persist (nil: memory only).
    ///   - onBound: Told each front end's bound address (tests listen on port 0).
    public init(
        configuration: ServerConfiguration, filter: SpamFilter, logger: Logger,
        metricsText: (@Sendable () -> String)? = nil,
        reload: (@Sendable () async throws -> Reloaded)? = nil,
        resolver: (any DNSResolver)? = nil,
        passedClients: (any PassedClientStore)? = nil,
        greylistStore: (any GreylistStore)? = nil,
        onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }
    ) {
        self.filter = filter
        var services: [any Service] = []
        let group = MultiThreadedEventLoopGroup.singleton
        if configuration.milter.enabled {
            services.append(MilterFrontEnd.service(configuration: configuration, filter: filter, group: group,
                                                   logger: logger, onBound: onBound))
        }
        if configuration.spamd.enabled {
            services.append(SpamdFrontEnd.service(configuration: configuration, filter: filter, group: group,
                                                  logger: logger, onBound: onBound))
        }
        if let dnsbl = configuration.botnetDNSServer(monitor: filter.campaigns, logger: logger, onBound: onBound) {
            services.append(dnsbl)
        }
        if configuration.http.enabled {
            let router = buildRouter(filter: filter, configuration: configuration.httpFrontEnd, metricsText: metricsText)
            var httpLogger = logger
            httpLogger[metadataKey: "frontend"] = "http"
            let listen = configuration.http.listen
            let app = Application(
                router: router,
                server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.http.idleTimeoutSeconds)))),
                configuration: ApplicationConfiguration(
                    address: .hostname(listen.host, port: listen.port), serverName: "Spamward",
                    reuseAddress: true,
                    availableConnectionsDelegate: MaximumAvailableConnections(configuration.http.maxConnections)),
                onServerRunning: { channel in
                    if let address = channel.localAddress { onBound("http", address) }
                },
                eventLoopGroupProvider: .shared(group),
                logger: httpLogger
            )
            services.append(app)
        }
        if configuration.rspamd.enabled {
            var workerLogger = logger
            workerLogger[metadataKey: "frontend"] = "rspamd_worker"
            services.append(RspamdWorkerService(
                filter: filter, configuration: configuration.rspamdWorker, group: group, logger: workerLogger,
                onBound: { onBound("rspamd", $0) }))
        }
        var edge: EdgeService? = nil
        if configuration.edge.enabled {
            var edgeLogger = logger
            edgeLogger[metadataKey: "frontend"] = "edge"
            let service = EdgeService(
                configuration: configuration.edge.configuration, filter: filter, resolver: resolver,
                passed: passedClients ?? InMemoryPassedClientStore(), greylistStore: greylistStore, group: group,
                logger: edgeLogger,
                onBound: { onBound("edge", $0) })
            services.append(service)
            edge = service
        }
        let reloader = ConfigurationReloader(configuration: configuration, filter: filter, edge: edge, resolver: resolver,
                                             logger: logger)
        self.reloader = reloader
        if let reload {
            services.append(ReloadOnHangup(read: reload, reloader: reloader, logger: logger))
        }
        self.services = services
    }

    /// Runs the services until SIGTERM or SIGINT (or until one fails).
    public func run(logger: Logger) async throws {
        try await serviceGroup(logger: logger).run()
    }

    /// A service group that stops gracefully on SIGTERM and SIGINT.
    public func serviceGroup(logger: Logger) -> ServiceGroup {
        ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    }
}

/// Reloads on SIGHUP without dropping connections.
struct ReloadOnHangup: Service {
    let read: @Sendable () async throws -> SpamwardServices.Reloaded
    let reloader: ConfigurationReloader
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.notice("SIGHUP: reloading")
            let reloaded: SpamwardServices.Reloaded
            do {
                reloaded = try await read()
            } catch {
                logger.error("reload failed; keeping the running configuration", metadata: ["error": "\(error)"])
                continue
            }
            let outcome = await reloader.apply(reloaded.configuration, scanner: reloaded.scanner)
            for setting in outcome.needsRestart {
                logger.warning("changed setting needs a restart; keeping the running value", metadata: ["setting": "\(setting)"])
            }
            for failure in outcome.failed {
                logger.error("reload of a section failed; keeping its running settings", metadata: ["error": "\(failure)"])
            }
            logger.notice("reloaded", metadata: ["reload.applied": "\(outcome.applied.joined(separator: ","))"])
        }
    }
}
