import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SpamwardHTTP
import Synchronization

/// A TCP listener whose connections each run in a child task (a discarding task group, so one bad
/// peer cannot stop the server).
///
/// Bounded: at most `maxConnections` at once (more are closed at once), each closed after its
/// total time. On graceful shutdown the listener closes, open connections get `drainSeconds` to
/// finish what they are doing, and then are closed.
struct TCPServerService<Inbound: Sendable, Outbound: Sendable>: Service {
    let name: String
    let frontEnd: ServerConfiguration.FrontEnd
    let group: any EventLoopGroup
    let logger: Logger
    let drainSeconds: Int64
    /// Adds the protocol's decoder and encoder to a new channel (on its event loop).
    let configure: @Sendable (any Channel) throws -> Void
    /// Serves one connection until it ends.
    let handle: @Sendable (NIOAsyncChannel<Inbound, Outbound>, Logger) async throws -> Void
    /// Told the bound address once listening (tests bind port 0).
    let onBound: @Sendable (SocketAddress) -> Void

    func run() async throws {
        let configure = self.configure
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: frontEnd.listen.host, port: frontEnd.listen.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configure(channel)
                    let async = try NIOAsyncChannel<Inbound, Outbound>(wrappingChannelSynchronously: channel)
                    // A connection accepted but never served (refused over the limit, or still
                    // queued when the listener's task ends) must not trap in NIO's "Deinited
                    // NIOAsyncWriter without calling finish()": its writer is finished when the
                    // channel closes (finishing twice is harmless). apple/swift-nio#2637.
                    let outbound = async.outbound
                    channel.closeFuture.whenComplete { _ in outbound.finish() }
                    return async
                }
            }
        if let address = server.channel.localAddress {
            logger.info("listening", metadata: ["frontend": "\(name)", "address": "\(address)"])
            onBound(address)
        }
        let metrics = FrontEndMetrics(frontEnd: name)
        let open = AtomicCounter()
        let serial = AtomicCounter()
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        let id = serial.add(1)
                        let count = open.add(1)
                        var connLogger = logger
                        connLogger[metadataKey: "\(name).conn_id"] = "\(id)"
                        if count > frontEnd.maxConnections {
                            open.add(-1)
                            connLogger.warning("too many connections; closing", metadata: ["limit": "\(frontEnd.maxConnections)"])
                            connection.outbound.finish()
                            connection.channel.close(promise: nil)
                            continue
                        }
                        group.addTask {
                            await serve(connection, metrics: metrics, logger: connLogger)
                            open.add(-1)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            logger.info("stopping: no new connections", metadata: ["frontend": "\(name)"])
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<Inbound, Outbound>, metrics: FrontEndMetrics, logger: Logger) async {
        let channel = connection.channel
        metrics.connection(+1)
        defer { metrics.connection(-1) }
        let total = channel.eventLoop.scheduleTask(in: .seconds(Int64(frontEnd.totalTimeoutSeconds))) {
            logger.notice("connection exceeded its total time; closing")
            channel.close(promise: nil)
        }
        defer { total.cancel() }
        let drain = drainSeconds
        await withGracefulShutdownHandler {
            do {
                try await handle(connection, logger)
            } catch {
                logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
            }
        } onGracefulShutdown: {
            channel.eventLoop.scheduleTask(in: .seconds(drain)) { channel.close(promise: nil) }
        }
    }
}

/// A shared counter (an atomic in a class, so tasks can share it).
final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds `delta` and returns the new value.
    @discardableResult
    func add(_ delta: Int) -> Int { value.add(delta, ordering: .relaxed).newValue }
}
