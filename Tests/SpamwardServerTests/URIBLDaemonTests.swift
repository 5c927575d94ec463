#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import MailAuth
import MailMessage
import SpamwardCore
import SpamwardDNS
import SpamwardServer
import Synchronization
import Testing

/// The test unbound of scripts/test-dns.sh (zone uribl.test from Tests/Fixtures/dns/).
enum URIBLTestServer {
    /// 5354, or `SPAMWARD_DNS_PORT` (a second checkout's own server).
    static let port = getenv("SPAMWARD_DNS_PORT").flatMap { Int(String(cString: $0)) } ?? 5354

    static func resolver() -> NIODNSResolver {
        NIODNSResolver(configuration: DNSResolverConfiguration(
            servers: [DNSServerAddress(host: "127.0.0.1", port: port)].compactMap { $0 }, timeoutMilliseconds: 10_000, attempts: 1))
    }

    /// Whether the server answers the fixture's sentinel record (so the fixture is the current one).
    static func isRunning() async -> Bool {
        let r = NIODNSResolver(configuration: DNSResolverConfiguration(
            servers: [DNSServerAddress(host: "127.0.0.1", port: port)].compactMap { $0 }, timeoutMilliseconds: 5000, attempts: 2))
        defer { Task { await r.shutdown() } }
        guard let answer = try? await r.lookup("refused.example.uribl.test", .a) else { return false }
        return answer.addresses.map(\.description) == ["127.0.0.1"]
    }
}

/// Log records kept in memory (one handler per test).
final class LogRecords: Sendable {
    let records = Mutex<[(Logger.Level, String, Logger.Metadata)]>([])

    struct Handler: LogHandler {
        let sink: LogRecords
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            sink.records.withLock { $0.append((event.level, "\(event.message)", merged)) }
        }
    }

    var logger: Logger { Logger(label: "test.uribl") { _ in Handler(sink: self) } }
}

@Suite(.enabled("the test DNS server (with the current uribl.test fixture) is not running on 127.0.0.1:\(URIBLTestServer.port): start it with `scripts/test-dns.sh start`") {
    await URIBLTestServer.isRunning()
})
struct URIBLDaemonTests {
    static func message(_ links: [String]) -> [UInt8] {
        Array("""
            From: shop@offers.example\r
            To: user@example.org\r
            Subject: today only\r
            Message-ID: <\(links.joined().hashValue)@offers.example>\r
            \r
            Our prices: \(links.joined(separator: " and "))\r
            """.utf8)
    }

    @Test func listedDomainsScoreAndSentinelsOnlyWarn() async throws {
        var c = try ServerConfiguration.parse(toml: """
            [uribl]
            lists = ["uribl.test"]
            score = 3.5
            [dns]
            servers = ["127.0.0.1:\(URIBLTestServer.port)"]
            timeout_ms = 3000
            """)
        c.authentication.enabled = false
        let resolver = NIODNSResolver(configuration: c.dns.resolverConfiguration)
        let logs = LogRecords()
        let stage = try #require(c.uriblStage(resolver: resolver, logger: logs.logger))
        let filter = SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: InMemoryStore(), uribl: stage)

        let spammy = filter.scanner.parse(Self.message(["http://www.spammy.example/buy?id=7", "https://clean.example/"]))
        let verdict = await filter.check(spammy)
        let symbol = try #require(verdict.symbols.first { $0.name == "URIBL_URIBL_TEST" })
        #expect(symbol.score == 3.5)
        #expect(symbol.options == ["spammy.example (127.0.0.2)"])
        #expect(abs(verdict.score - filter.scan(spammy).score - 3.5) < 1e-9)

        // 127.0.0.1 is "query refused": no symbol, one warning (then throttled).
        let refused = filter.scanner.parse(Self.message(["http://refused.example/x"]))
        let v2 = await filter.check(refused)
        #expect(!v2.symbols.contains { $0.name.hasPrefix("URIBL") })
        #expect(abs(v2.score - filter.scan(refused).score) < 1e-9)
        _ = await filter.check(refused)
        let warnings = logs.records.withLock { $0.filter { $0.0 == .warning } }
        #expect(warnings.count == 1)
        #expect(warnings.first?.2["uribl.reply"] == "127.0.0.1")
        #expect(warnings.first?.2["uribl.zone"] == "uribl.test")

        // Unlisted domains: nothing.
        let clean = await filter.check(filter.scanner.parse(Self.message(["http://clean.example/"])))
        #expect(!clean.symbols.contains { $0.name.hasPrefix("URIBL") })
        await resolver.shutdown()
    }

    @Test func checkerReportsSentinelsAsWarnings() async throws {
        let resolver = URIBLTestServer.resolver()
        let checker = URIBLChecker(zones: [.init(name: "uribl.test", symbol: "URIBL_TEST", score: 1)], resolver: resolver)
        let r = await checker.lookup(MessageParser.parse(Self.message(["http://grey.example/", "http://refused.example/"])))
        #expect(r.symbols.first?.options == ["grey.example (127.0.0.4)"])
        #expect(r.warnings == [URIBLChecker.Warning(zone: "uribl.test", query: "refused.example.uribl.test", reply: "127.0.0.1")])
        await resolver.shutdown()
    }
}
