import ArgumentParser
import Foundation
import Logging
import MailMessage
import Metrics
import Prometheus
import SpamwardCore
import SpamwardDNS
import SpamwardEdge
import SpamwardServer
import SpamwardStoreSQLite

extension Spamward {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the filter daemon: milter, spamd protocol, HTTP (own API and Rspamd's) and, with [edge] enabled, the SMTP edge.",
            discussion: """
                Listens on loopback by default: milter 127.0.0.1:11332, spamd 127.0.0.1:11783,
                HTTP 127.0.0.1:11333; the Rspamd worker (--rspamd: POST /checkv2 and GET /ping on
                a lean listener of its own, e.g. 127.0.0.1:11336) is off unless configured. ADDR is
                host:port, or "off" to disable that front end. The
                flags override the configuration file. SIGTERM or SIGINT stop gracefully; SIGHUP
                reloads the configuration and the model from the store without dropping
                connections: scan thresholds and actions, [authentication], [uribl], [campaigns],
                [botnet] and [edge]; settings that need a restart (listen addresses, the store,
                [dns], [access]) are logged and keep their running values.
                """)

        @Option(help: ArgumentHelp("Configuration file (TOML).", valueName: "FILE"))
        var config: String?
        @OptionGroup var store: StoreOptions
        @Option(help: ArgumentHelp("Milter listen address, or off.", valueName: "ADDR"))
        var milter: String?
        @Option(help: ArgumentHelp("spamd protocol listen address, or off.", valueName: "ADDR"))
        var spamd: String?
        @Option(help: ArgumentHelp("HTTP listen address, or off.", valueName: "ADDR"))
        var http: String?
        @Option(help: ArgumentHelp("Rspamd worker listen address (/checkv2 and /ping without Hummingbird), or off (the default).", valueName: "ADDR"))
        var rspamd: String?
        @Flag(help: "Fingerprint every scan: FUZZY_SPAM/FUZZY_HAM from learned messages (kept in the store), campaigns and the botnet footprint (docs/campaigns.md); overrides [campaigns] enabled.")
        var campaigns = false

        func run() async throws {
            var configuration = try ServerConfiguration.load(path: config)
            try applyOverrides(&configuration)
            configuration.configureEventLoops()  // before the front ends or the resolver make the group
            let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
            // Each log line's timestamp goes through strftime, which with TZ unset stats
            // /etc/localtime every time (glibc): name the same zone once (1% of the daemon's CPU
            // under load, with one line per scan).
            if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
            // StreamLogHandler's lines, cheaper to write once per scanned message (LineLogHandler).
            LoggingSystem.bootstrap { label in LineLogHandler.standardError(label: label, level: level) }
            let logger = Logger(label: "spamward")
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            // Scans take well under a millisecond: buckets from 50 µs to 1 s.
            factory.durationHistogramBuckets["spamward_scan_duration_seconds"] = [
                .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
                .milliseconds(250), .seconds(1),
            ]
            MetricsSystem.bootstrap(factory)
            for w in configuration.warnings { logger.warning("configuration", metadata: ["warning": "\(w)"]) }
            if configuration.edge.enabled {
                // A certificate that cannot be used stops the start with its reason.
                do { _ = try EdgeTLS.context(for: configuration.edge.configuration) } catch { throw CLIError("\(error)", code: .dataError) }
            }

            let path = configuration.storePath ?? store.path
            var storeOptions = StoreOptions()
            storeOptions.db = path
            let sqlite = try storeOptions.openStore()
            let (model, source) = try await storeOptions.loadModel(from: sqlite)
            logger.info("model loaded", metadata: ["model.source": "\(source.rawValue)", "store.path": "\(path)"])
            let scanner = Self.scanner(model: model, configuration: configuration)
            let monitor = configuration.campaignMonitor(store: sqlite)
            if let monitor {
                try await monitor.restore()
                logger.info("fuzzy fingerprints loaded", metadata: ["fuzzy.entries": "\(monitor.counts.fuzzy)"])
            }
            let resolver = NIODNSResolver(
                configuration: configuration.dns.resolverConfiguration, logger: logger)
            let authentication = configuration.authenticationStage(resolver: resolver, logger: logger)
            let uribl = configuration.uriblStage(resolver: resolver, logger: logger)
            if uribl != nil {
                logger.info("URIBL lookups on", metadata: ["uribl.lists": "\(configuration.uribl.lists.joined(separator: ","))"])
            }
            if let authentication {
                logger.info("email authentication on", metadata: [
                    "authserv_id": "\(authentication.authservID)",
                    "dns.servers": "\(configuration.dns.resolverConfiguration.servers.map(\.description).joined(separator: ","))",
                ])
            }
            if authentication != nil || uribl != nil {
                // A resolver that never answers makes every scan wait for its timeouts: say so now.
                await ResolverProbe.warnIfSilent(configuration.dns.resolverConfiguration, logger: logger)
            }
            let filter = SpamFilter(scanner: scanner, store: sqlite, policy: configuration.policy, campaigns: monitor,
                                    authentication: authentication, uribl: uribl)
            // The edge's temporary allowlist and greylisting triplets live in the same store.
            let edgeState = configuration.edge.enabled ? try await SQLiteEdgeState.open(store: sqlite, logger: logger) : nil
            let configPath = config
            let overrides = self
            let reloadStore = storeOptions
            let services = SpamwardServices(
                configuration: configuration, filter: filter, logger: logger,
                metricsText: { registry.emitToString() },
                reload: {
                    var c = try ServerConfiguration.load(path: configPath)
                    try overrides.applyOverrides(&c)
                    for w in c.warnings { logger.warning("configuration", metadata: ["warning": "\(w)"]) }
                    let (m, src) = try await reloadStore.loadModel(from: sqlite)
                    logger.info("model loaded", metadata: ["model.source": "\(src.rawValue)"])
                    return .init(configuration: c, scanner: Self.scanner(model: m, configuration: c))
                },
                resolver: resolver, passedClients: edgeState, greylistStore: edgeState)
            do {
                try await services.run(logger: logger)
            } catch {
                await resolver.shutdown()
                throw error
            }
            await resolver.shutdown()
        }

        static func scanner(model: StatisticalModel, configuration: ServerConfiguration) -> MessageScanner {
            var limits = ParseLimits.default
            limits.maxMessageBytes = configuration.maxMessageBytes
            return MessageScanner(model: model, thresholds: configuration.thresholds, limits: limits)
        }

        func applyOverrides(_ c: inout ServerConfiguration) throws {
            for (flag, value, keyPath) in [
                ("--milter", milter, \ServerConfiguration.milter), ("--spamd", spamd, \ServerConfiguration.spamd),
                ("--http", http, \ServerConfiguration.http), ("--rspamd", rspamd, \ServerConfiguration.rspamd),
            ] {
                guard let value else { continue }
                if value == "off" {
                    c[keyPath: keyPath].enabled = false
                } else if let a = ListenAddress(value) {
                    c[keyPath: keyPath].enabled = true
                    c[keyPath: keyPath].listen = a
                } else {
                    throw ValidationError("\(flag): \"\(value)\" is not host:port or off")
                }
            }
            if let db = store.db { c.storePath = db }
            if campaigns { c.campaigns.enabled = true }
        }
    }

    struct ConfigCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config", abstract: "Work with the configuration file.",
            subcommands: [Check.self])

        struct Check: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Validate a configuration file and print the effective settings.",
                discussion: "Exit code 0 when valid, 65 (with every problem listed) when not.")

            @Option(help: ArgumentHelp("Configuration file (TOML); none checks the defaults.", valueName: "FILE"))
            var config: String?

            func run() async throws {
                let result = Result { () throws(ConfigurationError) in try ServerConfiguration.load(path: config) }
                guard case .success(let c) = result else {
                    if case .failure(let e) = result {
                        for p in e.problems { printError("\(config ?? "configuration"): \(p)") }
                    }
                    throw ExitCode(CLIError.Code.dataError.rawValue)
                }
                do {
                    _ = try EdgeTLS.context(for: c.edge.configuration)
                } catch {
                    printError("\(config ?? "configuration"): \(error)")
                    throw ExitCode(CLIError.Code.dataError.rawValue)
                }
                for w in c.warnings { printError("warning: \(w)") }
                print(c.renderTOML(storePathDefault: SQLiteModelStore.defaultPath()), terminator: "")
            }
        }
    }
}
