import Logging
import MailAuth
import NIOCore
import NIOPosix
import SpamwardDNS
import SpamwardTestSupport
import Testing

/// Against the real unbound of scripts/test-dns.sh, zones in Tests/Fixtures/dns/.
@Suite(.enabled(Comment(rawValue: TestDNSServer.skipMessage)) { await TestDNSServer.isRunning() })
struct NIODNSResolverTests {
    static let server = DNSServerAddress(host: TestDNSServer.host, port: TestDNSServer.port).map { [$0] } ?? []

    /// The resolvers' own event loop: other test suites in this process may hold the shared
    /// singleton's threads (a blocked loop fires a query's timeout before reading its answer).
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Generous default timeout: on a loaded machine unbound itself can take seconds to answer,
    /// and a retry would break the tests that count queries.
    static func resolver(
        timeoutMilliseconds: Int = 15_000, ednsUDPPayloadBytes: Int = 1232, cacheMaxEntries: Int = 1000,
        servers: [DNSServerAddress] = server, attempts: Int = 2
    ) -> NIODNSResolver {
        NIODNSResolver(
            configuration: DNSResolverConfiguration(
                servers: servers, timeoutMilliseconds: timeoutMilliseconds, attempts: attempts,
                ednsUDPPayloadBytes: ednsUDPPayloadBytes, cacheMaxEntries: cacheMaxEntries),
            eventLoopGroup: group, logger: Logger(label: "test.dns"))
    }

    @Test func recordTypes() async throws {
        let r = Self.resolver()
        #expect(try await r.lookup("spamward.test", .a) == .answer([.a(IPv4Address(192, 0, 2, 1))]))
        #expect(try await r.lookup("SPAMWARD.test.", .aaaa).addresses == [IPAddress("2001:db8::1")].compactMap { $0 })
        let mx = try await r.lookup("spamward.test", .mx).mailExchangers.map { "\($0.preference) \($0.exchange)" }
        #expect(Set(mx) == ["10 mx1.spamward.test", "20 mx2.spamward.test"])
        let txt = try await r.lookup("_spf.spamward.test", .txt).txtRecords.map(\.text)
        #expect(txt == ["v=spf1 ip4:198.51.100.7 -all"])
        #expect(try await r.lookup("1.2.0.192.in-addr.arpa", .ptr).pointerNames == ["spamward.test"])
        #expect(try await r.lookup("many.spamward.test", .a).addresses.count == 30)
    }

    @Test func nxDomainAndNoData() async throws {
        let r = Self.resolver()
        #expect(try await r.lookup("nope.spamward.test", .a) == .nxDomain)
        #expect(try await r.lookup("textonly.spamward.test", .a) == .noData)
        #expect(try await r.lookup("textonly.spamward.test", .txt).txtRecords.map(\.text) == ["only text here"])
    }

    @Test func cnameChain() async throws {
        let r = Self.resolver()
        #expect(try await r.lookup("alias1.spamward.test", .a) == .answer([.a(IPv4Address(192, 0, 2, 10))]))
        #expect(try await r.lookup("alias1.spamward.test", .cname) == .answer([.cname("alias2.spamward.test")]))
        #expect(try await r.lookup("alias1.spamward.test", .txt) == .noData)
    }

    @Test(arguments: [1232, 0])
    func truncatedAnswerFallsBackToTCP(edns: Int) async throws {
        let r = Self.resolver(ednsUDPPayloadBytes: edns)
        let txt = try await r.lookup("big.spamward.test", .txt).txtRecords
        #expect(txt.count == 1 && txt.first?.data.count == 1400)
        #expect(txt.first?.text.hasPrefix("v=spamward-big 0000-") == true)
        // One UDP try that came back truncated, then TCP (a loaded machine may add a timed-out retry).
        #expect(r.statistics.udpQueries >= 1 && r.statistics.tcpQueries >= 1)
        #expect(r.statistics.udpQueries - r.statistics.timeouts == 1)
    }

    @Test func secondLookupIsServedFromTheCache() async throws {
        let r = Self.resolver()
        _ = try await r.lookup("mx1.spamward.test", .a)
        _ = try await r.lookup("nope.spamward.test", .a)
        let sent = r.statistics.udpQueries
        #expect(sent - r.statistics.timeouts == 2)
        #expect(try await r.lookup("MX1.spamward.test.", .a) == .answer([.a(IPv4Address(192, 0, 2, 25))]))
        #expect(try await r.lookup("nope.spamward.test", .a) == .nxDomain)  // negative caching (SOA minimum 300 s)
        #expect(r.statistics.udpQueries == sent)
        #expect(r.statistics.cacheHits == 2)
        // Another type is another question (a loaded machine may add a timed-out retry).
        let timeouts = r.statistics.timeouts
        _ = try await r.lookup("mx1.spamward.test", .aaaa)
        #expect(r.statistics.udpQueries - (r.statistics.timeouts - timeouts) == sent + 1)
        // Without a cache every lookup asks.
        let uncached = Self.resolver(cacheMaxEntries: 0)
        _ = try await uncached.lookup("mx1.spamward.test", .a)
        _ = try await uncached.lookup("mx1.spamward.test", .a)
        #expect(uncached.statistics.udpQueries == 2 && uncached.statistics.cacheHits == 0)
    }

    @Test func concurrentIdenticalLookupsAreCoalesced() async throws {
        let r = Self.resolver()
        let results = await withTaskGroup(of: DNSLookupResult?.self) { group in
            for _ in 0..<20 { group.addTask { try? await r.lookup("mx2.spamward.test", .a) } }
            var all: [DNSLookupResult?] = []
            for await x in group { all.append(x) }
            return all
        }
        #expect(results.allSatisfy { $0 == .answer([.a(IPv4Address(192, 0, 2, 26))]) })
        let s = r.statistics
        #expect(s.udpQueries == 1)
        #expect(s.coalesced + s.cacheHits == 19)
    }

    @Test func refused() async throws {
        let r = Self.resolver()
        do {
            _ = try await r.lookup("x.refused.test", .a)
            Issue.record("an answer from a refusing zone")
        } catch {
            #expect(error.code == .refused)
        }
    }

    @Test func invalidNames() async {
        let r = Self.resolver()
        for bad in ["", "a..b", String(repeating: "x", count: 64) + ".test"] {
            do {
                _ = try await r.lookup(bad, .a)
                Issue.record("looked up \(bad)")
            } catch {
                #expect(error.code == .invalidName)
            }
        }
        #expect(r.statistics.udpQueries == 0)
    }

    @Test func failsOverToTheNextServer() async throws {
        try await SilentServer.with { silent in
            let r = Self.resolver(timeoutMilliseconds: 8000, servers: [silent] + Self.server, attempts: 1)
            let answer = try await r.lookup("spamward.test", .a)
            #expect(answer == .answer([.a(IPv4Address(192, 0, 2, 1))]))
            #expect(r.statistics.timeouts == 1 && r.statistics.udpQueries == 2)
        }
    }

    @Test func shutdownFailsLaterLookups() async throws {
        let r = Self.resolver()
        _ = try await r.lookup("spamward.test", .a)
        await r.shutdown()
        do {
            _ = try await r.lookup("www.spamward.test", .a)
            Issue.record("lookup after shutdown")
        } catch {
            #expect(error.code == .network)
        }
    }

    @Test func spfThroughTheRealResolver() async throws {
        // The whole parallel suite can starve this process for many seconds: no SPF time limit here.
        var options = SPFVerifier.Options()
        options.timeLimit = .seconds(600)
        let spf = SPFVerifier(resolver: Self.resolver(), options: options)
        let ip = try #require(IPAddress("198.51.100.7"))
        let pass = await spf.check(ip: ip, helo: "mx.spamward.test", mailFrom: "user@spamward.test")
        #expect(pass.code == .pass, "\(pass)")
        let ip2 = try #require(IPAddress("192.0.2.77"))
        #expect(await spf.check(ip: ip2, helo: "mx.spamward.test", mailFrom: "user@spamward.test").code == .pass)
        let ip3 = try #require(IPAddress("203.0.113.9"))
        #expect(await spf.check(ip: ip3, helo: "mx.spamward.test", mailFrom: "user@spamward.test").code == .fail)
        #expect(await spf.check(ip: ip3, helo: "mx.spamward.test", mailFrom: "user@nope.spamward.test").code == .none)
    }

    @Test func dmarcAndDKIMRecordsAreReadable() async throws {
        let r = Self.resolver()
        #expect(try await r.lookup("_dmarc.spamward.test", .txt).txtRecords.first?.text.hasPrefix("v=DMARC1; p=reject") == true)
        #expect(try await r.lookup("sel1._domainkey.spamward.test", .txt).txtRecords.first?.text.hasPrefix("v=DKIM1; k=ed25519") == true)
    }
}

/// Without the test server: a port where nothing answers.
@Suite struct ResolverTimeoutTests {
    /// Bounded by the number of tries, not by wall time (a loaded machine can stall a task for
    /// tens of seconds): exactly two timed-out queries, each waited for, and then the error.
    @Test(.timeLimit(.minutes(2))) func timeoutWithinBoundedTime() async throws {
        try await SilentServer.with { silent in
            let r = NIODNSResolver(
                configuration: DNSResolverConfiguration(servers: [silent], timeoutMilliseconds: 200, attempts: 2))
            let start = ContinuousClock.now
            do {
                _ = try await r.lookup("spamward.test", .a)
                Issue.record("an answer from a silent server")
            } catch let error as DNSError {
                #expect(error.code == .timeout)
            } catch {
                Issue.record("unexpected \(error)")
            }
            let elapsed = ContinuousClock.now - start
            // 2 tries of 200 ms, each waited for.
            #expect(elapsed >= .milliseconds(350))
            #expect(r.statistics.timeouts == 2 && r.statistics.udpQueries == 2)
            // A timeout is not cached.
            #expect(r.cachedEntries == 0)
        }
    }

    @Test func noServers() async {
        let r = NIODNSResolver(configuration: DNSResolverConfiguration(servers: []))
        do {
            _ = try await r.lookup("spamward.test", .a)
            Issue.record("answer without servers")
        } catch {
            #expect(error.code == .network)
        }
    }
}

/// A UDP socket on loopback that reads queries and never answers.
enum SilentServer {
    static func with(_ body: (DNSServerAddress) async throws -> Void) async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        do {
            try await body(try #require(DNSServerAddress(host: "127.0.0.1", port: port)))
        } catch {
            try? await channel.close()
            throw error
        }
        try await channel.close()
    }
}
