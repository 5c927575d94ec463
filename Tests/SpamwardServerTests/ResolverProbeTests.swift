import Logging
import NIOCore
import NIOPosix
import SpamwardDNS
import SpamwardServer
import Synchronization
import Testing

/// The start-up probe of the DNS servers, against two real UDP sockets on loopback: one that
/// answers every query with REFUSED, one that reads and never answers.
@Suite struct ResolverProbeTests {
    typealias Datagrams = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    static func bindUDP() async throws -> Datagrams {
        try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { ch in
                ch.eventLoop.makeCompletedFuture { try Datagrams(wrappingChannelSynchronously: ch) }
            }
    }

    /// Answers each query with its own header and question, QR set and RCODE 5 (REFUSED).
    static func refuseAll(_ channel: Datagrams) async throws {
        try await channel.executeThenClose { inbound, outbound in
            for try await query in inbound {
                var b = Array(query.data.readableBytesView)
                guard b.count >= 12 else { continue }
                b[2] |= 0x80
                b[3] = (b[3] & 0xF0) | 5
                try await outbound.write(AddressedEnvelope(remoteAddress: query.remoteAddress, data: ByteBuffer(bytes: b)))
            }
        }
    }

    static func server(_ channel: Datagrams) throws -> DNSServerAddress {
        let port = try #require(channel.channel.localAddress?.port)
        return try #require(DNSServerAddress(host: "127.0.0.1", port: port))
    }

    @Test func silentServersAreNamedAndAnsweringOnesAreNot() async throws {
        let answering = try await Self.bindUDP()
        let silent = try await Self.bindUDP()  // bound, so no ICMP error either: the probe times out
        let answeringServer = try Self.server(answering)
        let silentServer = try Self.server(silent)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.refuseAll(answering) }
            // Up to 3 tries: on a loaded machine the responder task may not run within a timeout.
            var found: [ResolverProbe.Silent] = []
            for _ in 0..<3 {
                found = await ResolverProbe.silentServers(
                    DNSResolverConfiguration(servers: [answeringServer, silentServer]), timeoutMilliseconds: 2000)
                if found.count == 1 { break }
            }
            #expect(found.map(\.server) == [silentServer.description])
            #expect(found.first?.error == "timeout")

            let records = LogRecords()  // URIBLDaemonTests.swift
            await ResolverProbe.warnIfSilent(DNSResolverConfiguration(servers: [silentServer]), timeoutMilliseconds: 2000,
                                             logger: records.logger)
            let logged = records.records.withLock { $0 }
            #expect(logged.count == 1)
            #expect(logged.first?.0 == .warning)
            #expect(logged.first?.1.contains("every scan will wait for the DNS timeouts") == true)
            #expect(logged.first?.2["dns.server"]?.description == silentServer.description)
            group.cancelAll()
            try? await answering.channel.close()
        }
        try await silent.channel.close()
    }
}
