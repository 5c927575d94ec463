import ArgumentParser
import Logging
import MailAuth
import ServiceLifecycle
import UnixSignals
import SpamwardCore
import SpamwardDNS
import SpamwardEdge
import SpamwardServer

extension Spamward {
    struct Edge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the SMTP edge: screen clients before DATA, scan, relay the rest to the MTA.",
            discussion: """
                Put it on port 25 in front of Postfix (on another port, with
                smtpd_authorized_xclient_hosts covering the edge). ADDR is host:port. Tests and
                actions are described in docs/edge.md; --action TEST=ACTION sets one (tests:
                \(EdgeTest.allCases.map(\.rawValue).joined(separator: ", ")); actions: ignore, enforce, drop).
                SIGTERM or SIGINT stop gracefully: no new connections, sessions get --drain-seconds.
                """)

        @Option(help: ArgumentHelp("Configuration file (TOML): its [edge], [dns], [store] and [log] sections; the flags override it.", valueName: "FILE"))
        var config: String?
        @Option(help: ArgumentHelp("Listen address (default 127.0.0.1:25).", valueName: "ADDR"))
        var listen: String?
        @Option(help: ArgumentHelp("The MTA that receives accepted mail (default 127.0.0.1:10025).", valueName: "ADDR"))
        var backend: String?
        @Option(help: ArgumentHelp("DNS server for the DNS lists, host[:port] (default: [dns] servers, else /etc/resolv.conf).", valueName: "ADDR"))
        var dns: String?
        @Option(help: ArgumentHelp("Our name in the greeting and EHLO reply (default localhost).", valueName: "NAME"))
        var hostname: String?
        @Option(help: ArgumentHelp("xclient, xforward or none (default xclient).", valueName: "MODE"))
        var forwarding: String?
        @Option(name: .customLong("allow"), help: ArgumentHelp("Never screened (CIDR); repeatable; replaces edge.allow.", valueName: "CIDR"))
        var allow: [String] = []
        @Option(name: .customLong("deny"), help: ArgumentHelp("Always refused (CIDR); repeatable; replaces edge.deny.", valueName: "CIDR"))
        var deny: [String] = []
        @Option(name: .customLong("dnsbl"), help: ArgumentHelp("A DNS list, site[=filter][*weight]; repeatable; replaces edge.dnsbl_sites.", valueName: "SITE"))
        var dnsbl: [String] = []
        @Option(help: ArgumentHelp("DNS list score that fails the test (default 1).", valueName: "N"))
        var dnsblThreshold: Int?
        @Option(help: ArgumentHelp("Pregreet wait in milliseconds (0: off; default 2000).", valueName: "MS"))
        var pregreetWaitMs: Int?
        @Flag(help: "Do not announce PIPELINING (any pipelining is then a violation).")
        var noPipelining = false
        @Flag(help: "Greylist unknown (subnet, sender, recipient) triplets.")
        var greylist = false
        @Option(help: ArgumentHelp("Greylisting delay in seconds (default 300).", valueName: "S"))
        var greylistDelay: Int?
        @Option(name: .customLong("action"), help: ArgumentHelp("TEST=ACTION; repeatable.", valueName: "TEST=ACTION"))
        var actions: [String] = []
        @Option(help: ArgumentHelp("Largest message in bytes (default 25 MiB).", valueName: "N"))
        var maxMessageBytes: Int?
        @Option(help: ArgumentHelp("Most open client connections (default 10000).", valueName: "N"))
        var maxConnections: Int?
        @Option(help: ArgumentHelp("Seconds sessions get to finish on shutdown (default 10).", valueName: "S"))
        var drainSeconds: Int?
        @Option(help: ArgumentHelp("STARTTLS certificate chain (PEM); needs --tls-key.", valueName: "FILE"))
        var tlsCertificate: String?
        @Option(help: ArgumentHelp("STARTTLS private key (PEM).", valueName: "FILE"))
        var tlsKey: String?
        @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error (default: [log] level, else info).", valueName: "LEVEL"))
        var logLevel: String?
        @OptionGroup var store: StoreOptions

        /// The file's configuration (or the defaults) with the flags applied.
        func serverConfiguration() throws -> ServerConfiguration {
            var server: ServerConfiguration
            do {
                server = try ServerConfiguration.load(path: config)
            } catch {
                throw ValidationError("\(config ?? "configuration"): \(error.problems.joined(separator: "; "))")
            }
            var c = server.edge.configuration
            if let listen {
                guard let l = ListenAddress(listen) else { throw ValidationError("--listen: \"\(listen)\" is not host:port") }
                c.listenHost = l.host
                c.listenPort = l.port
            }
            if let backend {
                guard let b = ListenAddress(backend) else { throw ValidationError("--backend: \"\(backend)\" is not host:port") }
                c.backendHost = b.host
                c.backendPort = b.port
            }
            if let hostname { c.hostname = hostname }
            if let forwarding {
                guard let f = EdgeConfiguration.ClientForwarding(rawValue: forwarding) else {
                    throw ValidationError("--forwarding: xclient, xforward or none")
                }
                c.forwarding = f
            }
            if !allow.isEmpty {
                c.allowlist = try allow.map { s in
                    guard let n = IPNetwork(s) else { throw ValidationError("--allow: \"\(s)\" is not a CIDR network") }
                    return n
                }
            }
            if !deny.isEmpty {
                c.denylist = try deny.map { s in
                    guard let n = IPNetwork(s) else { throw ValidationError("--deny: \"\(s)\" is not a CIDR network") }
                    return n
                }
            }
            if !dnsbl.isEmpty {
                c.dnsLists = try dnsbl.map { s in
                    do throws(DNSListSyntaxError) {
                        return try DNSListSite(parsing: s)
                    } catch {
                        throw ValidationError("--dnsbl: \"\(s)\" is not site[=filter][*weight] (\(error.code))")
                    }
                }
            }
            if let dnsblThreshold { c.dnsThreshold = dnsblThreshold }
            if let pregreetWaitMs { c.pregreetWaitMilliseconds = max(0, pregreetWaitMs) }
            if noPipelining { c.announcePipelining = false }
            if greylist { c.greylist.enabled = true }
            if let greylistDelay { c.greylist.delaySeconds = greylistDelay }
            if let maxMessageBytes { c.maxMessageBytes = maxMessageBytes }
            if let maxConnections { c.maxConnections = maxConnections }
            if let drainSeconds { c.drainSeconds = drainSeconds }
            if let tlsCertificate { c.tlsCertificatePath = tlsCertificate }
            if let tlsKey { c.tlsKeyPath = tlsKey }
            if (c.tlsCertificatePath == nil) != (c.tlsKeyPath == nil) {
                throw ValidationError("--tls-certificate and --tls-key go together")
            }
            for a in actions {
                let parts = a.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let test = EdgeTest(rawValue: parts[0]), let action = TestAction(rawValue: parts[1]) else {
                    throw ValidationError("--action: \"\(a)\" is not TEST=ignore|enforce|drop")
                }
                c.actions[test] = action
            }
            if let dns {
                guard DNSServerAddress(dns) != nil else { throw ValidationError("--dns: \"\(dns)\" is not host[:port]") }
                server.dns.servers = [dns]
            }
            if let logLevel {
                guard ServerConfiguration.logLevels.contains(logLevel) else {
                    throw ValidationError("--log-level: one of \(ServerConfiguration.logLevels.joined(separator: ", "))")
                }
                server.logLevel = logLevel
            }
            if let db = store.db { server.storePath = db }
            server.edge.configuration = c
            return server
        }

        /// The edge's settings (file and flags).
        func configuration() throws -> EdgeConfiguration { try serverConfiguration().edge.configuration }

        func run() async throws {
            let server = try serverConfiguration()
            let c = server.edge.configuration
            do { _ = try EdgeTLS.context(for: c) } catch { throw ValidationError("\(error)") }
            let level = Logger.Level(rawValue: server.logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = level
                return h
            }
            let logger = Logger(label: "spamward.edge")
            var storeOptions = StoreOptions()
            storeOptions.db = server.storePath ?? store.path
            let sqlite = try storeOptions.openStore()
            let (model, source) = try await storeOptions.loadModel(from: sqlite)
            logger.info("model loaded", metadata: ["model.source": "\(source.rawValue)", "store.path": "\(storeOptions.path)"])
            let filter = SpamFilter(scanner: Serve.scanner(model: model, configuration: server), store: sqlite, policy: server.policy)
            let resolver: NIODNSResolver? =
                c.dnsLists.isEmpty ? nil : NIODNSResolver(configuration: server.dns.resolverConfiguration, logger: Logger(label: "spamward.dns"))
            let state = try await SQLiteEdgeState.open(store: sqlite, logger: logger)
            let edge = EdgeService(
                configuration: c, filter: filter, resolver: resolver, passed: state, greylistStore: state, logger: logger,
                onBound: { address in
                print("edge listening on \(address)")
            })
            let group = ServiceGroup(configuration: .init(
                services: [edge], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                await resolver?.shutdown()
                throw error
            }
            await resolver?.shutdown()
        }
    }
}
