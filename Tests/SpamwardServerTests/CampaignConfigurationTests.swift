import Foundation
import Logging
import MailAuth
import NIOCore
import ServiceLifecycle
import SpamwardCore
import SpamwardDNS
import SpamwardServer
import Synchronization
import Testing

/// `[campaigns]`, `[botnet]` and `[uribl]`, and the daemon serving the botnet list over DNS.
@Suite struct CampaignConfigurationTests {
    @Test func defaultsAreOff() throws {
        let c = try ServerConfiguration.parse(toml: "")
        #expect(!c.campaigns.enabled)
        #expect(c.campaigns.trustedNetworks.map(\.description).contains("10.0.0.0/8"))
        #expect(c.campaigns.trustedNetworks.map(\.description).contains("127.0.0.0/8"))
        #expect(c.botnet.dnsListen == nil)
        #expect(c.botnet.zone == "botnet.spamward.local")
        #expect(c.uribl.lists.isEmpty)
        #expect(c.campaignMonitor(store: InMemoryFuzzyStore()) == nil)
        #expect(c.uriblStage(resolver: StaticResolver(), logger: Logger(label: "t")) == nil)
    }

    @Test func sectionsParseAndRenderBack() throws {
        let c = try ServerConfiguration.parse(toml: """
            [campaigns]
            enabled = true
            trusted_networks = ["10.0.0.0/8", "64.4.0.0/16"]
            [botnet]
            score = 4.5
            footprint_score = 1.5
            list_threshold = 2.5
            dns_listen = "127.0.0.1:5399"
            zone = "BL.Example.ORG."
            ttl_seconds = 30
            refresh_seconds = 2
            [uribl]
            lists = ["multi.uribl.test", "dbl.example"]
            score = 2.5
            max_lookups = 5
            """)
        #expect(c.campaigns.enabled)
        #expect(c.campaigns.trustedNetworks.map(\.description) == ["10.0.0.0/8", "64.4.0.0/16"])
        #expect(c.botnet.listedScore == 4.5 && c.botnet.footprintScore == 1.5 && c.botnet.listThreshold == 2.5)
        #expect(c.botnet.dnsListen == ListenAddress(host: "127.0.0.1", port: 5399))
        #expect(c.botnet.zone == "bl.example.org")
        #expect(c.botnet.ttlSeconds == 30 && c.botnet.refreshSeconds == 2)
        #expect(c.uribl.lists == ["multi.uribl.test", "dbl.example"] && c.uribl.score == 2.5 && c.uribl.maxLookups == 5)
        let m = try #require(c.campaignMonitor(store: InMemoryFuzzyStore()))
        #expect(m.configuration.listedScore == 4.5 && m.configuration.botnet.listThreshold == 2.5)
        #expect(m.isTrustedRelay(try #require(IPAddress("64.4.3.2"))))
        #expect(!m.isTrustedRelay(try #require(IPAddress("81.2.69.1"))))
        let stage = try #require(c.uriblStage(resolver: StaticResolver(), logger: Logger(label: "t")))
        #expect(stage.checker.zones.map(\.symbol) == ["URIBL_MULTI_URIBL_TEST", "URIBL_DBL_EXAMPLE"])
        #expect(stage.checker.zones.allSatisfy { $0.score == 2.5 })
        #expect(c.warnings.isEmpty)
        let again = try ServerConfiguration.parse(toml: c.renderTOML(storePathDefault: "/tmp/s.sqlite"))
        #expect(again.campaigns == c.campaigns && again.botnet == c.botnet && again.uribl == c.uribl)
    }

    @Test func problemsAreReported() {
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.parse(toml: "[campaigns]\ntrusted_networks = [\"10.0.0.0/33\"]")
        }
        do {
            _ = try ServerConfiguration.parse(toml: """
                [botnet]
                dns_listen = "localhost:53"
                zone = "bad zone"
                list_threshold = 0
                colour = "red"
                [uribl]
                lists = ["ok.example", "not..valid"]
                """)
            Issue.record("accepted a bad file")
        } catch {
            let text = error.problems.joined(separator: "\n")
            #expect(text.contains("botnet.dns_listen"))
            #expect(text.contains("botnet.zone"))
            #expect(text.contains("botnet.list_threshold"))
            #expect(text.contains("unknown key \"colour\" in [botnet]"))
            #expect(text.contains("uribl.lists: \"not..valid\""))
        }
        var c = ServerConfiguration()
        c.botnet.dnsListen = ListenAddress(host: "0.0.0.0", port: 5399)
        #expect(c.warnings.contains { $0.contains("not loopback") })
        #expect(c.warnings.contains { $0.contains("campaigns are off") })
    }

    /// The daemon's own DNSBL responder serves what the monitor lists, asked with the project's resolver.
    @Test func daemonServesTheBotnetListOverDNS() async throws {
        var c = ServerConfiguration()
        c.milter.enabled = false
        c.spamd.enabled = false
        c.http.enabled = false
        c.authentication.enabled = false
        c.campaigns.enabled = true
        c.botnet.listThreshold = 2
        c.botnet.refreshSeconds = 0
        c.botnet.dnsListen = ListenAddress(host: "127.0.0.1", port: 0)
        c.botnet.zone = "bl.spamward.test"
        let monitor = c.campaignMonitor(store: InMemoryFuzzyStore())
        let filter = SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: InMemoryStore(), campaigns: monitor)
        let port = Mutex<Int?>(nil)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let services = SpamwardServices(configuration: c, filter: filter, logger: logger, onBound: { name, address in
            if name == "dnsbl" { port.withLock { $0 = address.port } }
        })
        #expect(services.services.count == 1)
        let group = services.serviceGroup(logger: logger)
        let task = Task { try await group.run() }
        defer { task.cancel() }
        var bound: Int? = nil
        let deadline = ContinuousClock.now + .seconds(180)  // a loaded machine binds late
        while bound == nil && ContinuousClock.now < deadline {
            bound = port.withLock { $0 }
            if bound == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let p = try #require(bound)
        CampaignRoutesTests.feed(filter)
        let resolver = NIODNSResolver(configuration: DNSResolverConfiguration(
            servers: [DNSServerAddress(host: "127.0.0.1", port: p)].compactMap { $0 }, timeoutMilliseconds: 10_000, cacheMaxEntries: 0))
        let a = try await resolver.lookup("10.2.0.192.bl.spamward.test", .a)
        #expect(a.addresses.map(\.description) == ["127.0.0.2"])
        let txt = try await resolver.lookup("10.2.0.192.bl.spamward.test", .txt)
        #expect(txt.txtRecords.first?.text.hasPrefix("Spamward botnet footprint: 2 spam campaigns") == true)
        #expect(try await resolver.lookup("11.2.0.192.bl.spamward.test", .a) == .nxDomain)
        await resolver.shutdown()
        await group.triggerGracefulShutdown()
        try await task.value
    }
}
