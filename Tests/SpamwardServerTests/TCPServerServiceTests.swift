import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@testable import SpamwardServer

/// The listener behind the milter and spamd front ends: the connection limit refuses the extra
/// connections (closing them unserved, which must not trap in NIO's "Deinited NIOAsyncWriter
/// without calling finish()") and the server goes on serving.
@Suite struct TCPServerServiceTests {
    static func echoServer(maxConnections: Int, bound: AtomicCounter) -> TCPServerService<ByteBuffer, ByteBuffer> {
        TCPServerService<ByteBuffer, ByteBuffer>(
            name: "test", frontEnd: .init(listen: ListenAddress(host: "127.0.0.1", port: 0), maxConnections: maxConnections),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test.tcp"), drainSeconds: 1,
            configure: { _ in },
            handle: { connection, _ in
                try await connection.executeThenClose { inbound, outbound in
                    for try await bytes in inbound { try await outbound.write(bytes) }
                }
            },
            onBound: { address in bound.add(address.port ?? 0) })
    }

    static func connect(_ port: Int) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
    }

    /// Sends `text` and returns what comes back before the server closes or echoes it all (a
    /// connection the server closed unserved may also fail the write or the read: "").
    static func exchange(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, _ text: String) async throws -> String {
        try await client.executeThenClose { inbound, outbound in
            var received = ""
            do {
                try await outbound.write(ByteBuffer(string: text))
                for try await var chunk in inbound {
                    received += chunk.readString(length: chunk.readableBytes) ?? ""
                    if received.utf8.count >= text.utf8.count { break }
                }
            } catch {}
            return received
        }
    }

    @Test(.timeLimit(.minutes(2))) func connectionsOverTheLimitAreClosedAndServingGoesOn() async throws {
        let bound = AtomicCounter()  // the bound port, once listening
        let server = Self.echoServer(maxConnections: 1, bound: bound)
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test.tcp")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while bound.add(0) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let p = bound.add(0)
            // One connection held open and served; three more over the limit are closed unserved.
            let first = try await Self.connect(p)
            let echoed = try await first.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "ping"))
                var iterator = inbound.makeAsyncIterator()
                var echoed = try await iterator.next().map { String(buffer: $0) } ?? ""
                for _ in 0..<3 {
                    #expect(try await Self.exchange(try await Self.connect(p), "refused?") == "")
                }
                try await outbound.write(ByteBuffer(string: "pong"))
                while echoed.utf8.count < 8, let more = try await iterator.next() { echoed += String(buffer: more) }
                return echoed
            }
            #expect(echoed == "pingpong")
            // The slot is free again once the first connection is gone.
            var served = ""
            for _ in 0..<100 where served.isEmpty {
                served = try await Self.exchange(try await Self.connect(p), "again")
                if served.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(served == "again")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
