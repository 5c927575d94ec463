import DNSWire
import Foundation
import Logging
import MailAuth
import NIOCore
import NIOPosix
import ServiceLifecycle
import SpamwardDNS
import SpamwardTestSupport
import Synchronization
import Testing

@testable import SpamwardDNSServer

/// The responder on real sockets, asked by Debian's `dig` (dnsutils) and by the project's resolver.
@Suite(.serialized) struct DNSBLServerTests {
    static let dig = ["/usr/bin/dig", "/usr/local/bin/dig"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let listed: [String: DNSBLListing] = [
        "198.51.100.7": DNSBLListing(code: 0x7F00_0002, text: "Spamward botnet footprint: 3 spam campaigns")
    ]

    /// Runs a server on a free loopback port for the duration of `body`.
    static func withServer(tcpIdleSeconds: Int64 = 10, _ body: (Int) async throws -> Void) async throws {
        let bound = Mutex<Int?>(nil)
        let server = DNSBLServer(
            configuration: .init(host: "127.0.0.1", port: 0, tcpIdleSeconds: tcpIdleSeconds), responder: try #require(DNSBLResponder(zone: "botnet.spamward.local")),
            logger: Logger(label: "test.dnsbl"), lookup: { Self.listed[$0] },
            onBound: { udp, _ in bound.withLock { $0 = udp.port } })
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test.dnsbl")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Binding is quick, but the whole suite starts in parallel: on 2 cores the server's task
            // may not run for over 30 s (CI, 30 Nov), so wait up to 3 minutes by the clock.
            var port: Int? = nil
            let deadline = ContinuousClock.now + .seconds(180)
            while port == nil && ContinuousClock.now < deadline {
                port = bound.withLock { $0 }
                if port == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            do {
                try await body(try #require(port))
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Runs a program to completion off the cooperative pool (SpamwardTestSupport).
    static func run(_ exe: String, _ args: [String]) async throws -> String {
        try await ProcessRunner.run(exe, args)
    }

    @Test(.enabled(if: dig != nil, "needs dig (apt-get install dnsutils)"))
    func digOverUDPAndTCP() async throws {
        let dig = try #require(Self.dig)
        try await Self.withServer { port in
            func q(_ args: String...) async throws -> String {
                try await Self.run(dig, ["+tries=4", "+time=5", "-p", "\(port)", "@127.0.0.1"] + args)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(try await q("+short", "7.100.51.198.botnet.spamward.local", "A") == "127.0.0.2")
            #expect(try await q("+short", "7.100.51.198.botnet.spamward.local", "TXT") == "\"Spamward botnet footprint: 3 spam campaigns\"")
            #expect(try await q("+short", "+tcp", "7.100.51.198.botnet.spamward.local", "A") == "127.0.0.2")
            #expect(try await q("+short", "2.0.0.127.botnet.spamward.local", "A") == "127.0.0.2")
            let nx = try await q("8.100.51.198.botnet.spamward.local", "A")
            #expect(nx.contains("status: NXDOMAIN"))
            #expect(nx.contains("flags: qr aa"))
            #expect(nx.contains("IN\tSOA\tns.botnet.spamward.local. hostmaster.botnet.spamward.local."))
            #expect(try await q("example.com", "A").contains("status: REFUSED"))
            #expect(try await q("+tcp", "example.com", "A").contains("status: REFUSED"))
            #expect(try await q("+short", "botnet.spamward.local", "SOA").hasPrefix("ns.botnet.spamward.local. hostmaster.botnet.spamward.local."))
        }
    }

    @Test func hostileDatagramsThenTheProjectsResolver() async throws {
        try await Self.withServer { port in
            // Junk first: random datagrams and a truncated TCP frame.
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            for n in [0, 1, 11, 12, 13, 100, 512, 4000] {
                let junk = (0..<n).map { _ in UInt8.random(in: 0...255) }
                try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: junk)))
            }
            try await channel.close()
            let tcp = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try await tcp.writeAndFlush(ByteBuffer(bytes: [0xFF, 0xFF, 1, 2, 3]))
            try await tcp.close()

            let resolver = NIODNSResolver(configuration: DNSResolverConfiguration(
                servers: [DNSServerAddress(host: "127.0.0.1", port: port)].compactMap { $0 }, timeoutMilliseconds: 10_000))
            defer { Task { await resolver.shutdown() } }
            let a = try await resolver.lookup("7.100.51.198.botnet.spamward.local", .a)
            #expect(a.addresses == [IPAddress("127.0.0.2")].compactMap { $0 })
            let txt = try await resolver.lookup("7.100.51.198.botnet.spamward.local", .txt)
            #expect(txt.txtRecords.map(\.text) == ["Spamward botnet footprint: 3 spam campaigns"])
            #expect(try await resolver.lookup("9.100.51.198.botnet.spamward.local", .a) == .nxDomain)
            await #expect(throws: DNSError.self) { try await resolver.lookup("www.example.com", .a) }
        }
    }
}

extension DNSBLServerTests {
    /// An idle TCP client does not hold up a graceful shutdown: with a 600 s idle timeout, a
    /// shutdown that waited for it would take ten minutes; the bound is loose for a loaded machine.
    @Test func shutdownClosesIdleTCPConnections() async throws {
        let started = ContinuousClock.now
        try await Self.withServer(tcpIdleSeconds: 600) { port in
            let tcp = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try await Task.sleep(for: .milliseconds(100))
            _ = tcp
        }
        #expect(ContinuousClock.now - started < .seconds(300))
    }
}
