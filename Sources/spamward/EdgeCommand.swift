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

        @Option(help: ArgumentHelp("Listen address.", valueName: "ADDR"))
        var listen: String = "0.0.0.0:25"
        @Option(help: ArgumentHelp("The MTA that receives accepted mail.", valueName: "ADDR"))
        var backend: String = "127.0.0.1:10025"
        @Option(help: ArgumentHelp("DNS server for the DNS lists, host[:port] (default: /etc/resolv.conf).", valueName: "ADDR"))
        var dns: String?
        @Option(help: ArgumentHelp("Our name in the greeting and EHLO reply.", valueName: "NAME"))
        var hostname: String = "localhost"
        @Option(help: ArgumentHelp("xclient, xforward or none.", valueName: "MODE"))
        var forwarding: String = "xclient"
        @Option(name: .customLong("allow"), help: ArgumentHelp("Never screened (CIDR); repeatable.", valueName: "CIDR"))
        var allow: [String] = []
        @Option(name: .customLong("deny"), help: ArgumentHelp("Always refused (CIDR); repeatable.", valueName: "CIDR"))
        var deny: [String] = []
        @Option(name: .customLong("dnsbl"), help: ArgumentHelp("A DNS list, site[=filter][*weight]; repeatable.", valueName: "SITE"))
        var dnsbl: [String] = []
        @Option(help: ArgumentHelp("DNS list score that fails the test.", valueName: "N"))
        var dnsblThreshold: Int = 1
        @Option(help: ArgumentHelp("Pregreet wait in milliseconds (0: off).", valueName: "MS"))
        var pregreetWaitMs: Int = 2000
        @Flag(help: "Do not announce PIPELINING (any pipelining is then a violation).")
        var noPipelining = false
        @Flag(help: "Greylist unknown (subnet, sender, recipient) triplets.")
        var greylist = false
        @Option(help: ArgumentHelp("Greylisting delay in seconds.", valueName: "S"))
        var greylistDelay: Int = 300
        @Option(name: .customLong("action"), help: ArgumentHelp("TEST=ACTION; repeatable.", valueName: "TEST=ACTION"))
        var actions: [String] = []
        @Option(help: ArgumentHelp("Largest message in bytes.", valueName: "N"))
        var maxMessageBytes: Int = 25 * 1024 * 1024
        @Option(help: ArgumentHelp("Most open client connections.", valueName: "N"))
        var maxConnections: Int = 10_000
        @Option(help: ArgumentHelp("Seconds sessions get to finish on shutdown.", valueName: "S"))
        var drainSeconds: Int = 10
        @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error.", valueName: "LEVEL"))
        var logLevel: String = "info"
        @OptionGroup var store: StoreOptions

        func configuration() throws -> EdgeConfiguration {
            var c = EdgeConfiguration()
            guard let l = ListenAddress(listen) else { throw ValidationError("--listen: \"\(listen)\" is not host:port") }
            guard let b = ListenAddress(backend) else { throw ValidationError("--backend: \"\(backend)\" is not host:port") }
            c.listenHost = l.host
            c.listenPort = l.port
            c.backendHost = b.host
            c.backendPort = b.port
            c.hostname = hostname
            guard let f = EdgeConfiguration.ClientForwarding(rawValue: forwarding) else {
                throw ValidationError("--forwarding: xclient, xforward or none")
            }
            c.forwarding = f
            c.allowlist = try allow.map { s in
                guard let n = IPNetwork(s) ?? IPAddress(s).flatMap({ IPNetwork(address: $0, prefixLength: $0.isIPv4 ? 32 : 128) }) else {
                    throw ValidationError("--allow: \"\(s)\" is not a CIDR network")
                }
                return n
            }
            c.denylist = try deny.map { s in
                guard let n = IPNetwork(s) ?? IPAddress(s).flatMap({ IPNetwork(address: $0, prefixLength: $0.isIPv4 ? 32 : 128) }) else {
                    throw ValidationError("--deny: \"\(s)\" is not a CIDR network")
                }
                return n
            }
            c.dnsLists = try dnsbl.map { s in
                do throws(DNSListSyntaxError) {
                    return try DNSListSite(parsing: s)
                } catch {
                    throw ValidationError("--dnsbl: \"\(s)\" is not site[=filter][*weight] (\(error.code))")
                }
            }
            c.dnsThreshold = dnsblThreshold
            c.pregreetWaitMilliseconds = max(0, pregreetWaitMs)
            c.announcePipelining = !noPipelining
            c.greylist.enabled = greylist
            c.greylist.delaySeconds = greylistDelay
            c.maxMessageBytes = maxMessageBytes
            c.maxConnections = maxConnections
            c.drainSeconds = drainSeconds
            for a in actions {
                let parts = a.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let test = EdgeTest(rawValue: parts[0]), let action = TestAction(rawValue: parts[1]) else {
                    throw ValidationError("--action: \"\(a)\" is not TEST=ignore|enforce|drop")
                }
                c.actions[test] = action
            }
            return c
        }

        func run() async throws {
            let c = try configuration()
            var dnsConfiguration = DNSResolverConfiguration()
            if let dns {
                guard let server = DNSServerAddress(dns) else { throw ValidationError("--dns: \"\(dns)\" is not host[:port]") }
                dnsConfiguration.servers = [server]
            }
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = level
                return h
            }
            let logger = Logger(label: "spamward.edge")
            let sqlite = try store.openStore()
            let (model, source) = try await store.loadModel(from: sqlite)
            logger.info("model loaded", metadata: ["model.source": "\(source.rawValue)", "store.path": "\(store.path)"])
            let filter = SpamFilter(scanner: MessageScanner(model: model), store: sqlite)
            let resolver: NIODNSResolver? =
                c.dnsLists.isEmpty ? nil : NIODNSResolver(configuration: dnsConfiguration, logger: Logger(label: "spamward.dns"))
            let edge = EdgeService(configuration: c, filter: filter, resolver: resolver, logger: logger, onBound: { address in
                print("edge listening on \(address)")
            })
            let group = ServiceGroup(configuration: .init(
                services: [edge], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
