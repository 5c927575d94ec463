#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// The test unbound of scripts/test-dns.sh (zones in Tests/Fixtures/dns/).
public enum TestDNSServer {
    public static let host = "127.0.0.1"
    /// 5354, or `SPAMWARD_DNS_PORT` (a second checkout's own server).
    public static let port = getenv("SPAMWARD_DNS_PORT").flatMap { Int(String(cString: $0)) } ?? 5354
    /// Why the tests that need it are skipped.
    public static let skipMessage =
        "the test DNS server is not running on 127.0.0.1:\(port): start it with `scripts/test-dns.sh start` (needs unbound)"

    /// Whether the server answers an SOA query for `zone` with one answer, asked with a hand-made
    /// packet (not with the resolver under test, so a broken resolver fails tests instead of
    /// skipping them). Waits at most 2 s.
    public static func isRunning(zone: String = "spamward.test") async -> Bool {
        // ID 0x5357, RD, one question: ZONE SOA IN.
        var query: [UInt8] = [0x53, 0x57, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in zone.split(separator: ".") where !label.isEmpty && label.utf8.count < 64 {
            query.append(UInt8(label.utf8.count))
            query += Array(label.utf8)
        }
        query += [0, 0, 6, 0, 1]
        do {
            let server = try SocketAddress(ipAddress: host, port: port)
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0) { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                            wrappingChannelSynchronously: ch)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query)))
                return try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        for try await reply in inbound {
                            let b = Array(reply.data.readableBytesView)
                            // Same ID, a response, RCODE 0, one answer.
                            return b.count > 12 && b[0] == 0x53 && b[1] == 0x57 && b[2] & 0x80 != 0 && b[3] & 0x0F == 0 && b[7] == 1
                        }
                        return false
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(2))
                        return false
                    }
                    let first = try await group.next() ?? false
                    group.cancelAll()
                    return first
                }
            }
        } catch {
            return false
        }
    }
}
