import DNSWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small authoritative DNS server for one DNSBL zone, over UDP and TCP on one address (meant
/// for loopback: the MTA's own postscreen or the Spamward edge asks it).
///
/// Each datagram is answered by ``DNSBLResponder`` in the receive loop (a lookup is a dictionary
/// access, so there is nothing to wait for). TCP connections (RFC 7766 framing, two-byte length
/// prefix) each run in a child task: at most ``Configuration/maxTCPConnections`` at once, each
/// closed after ``Configuration/tcpIdleSeconds`` without a query. A packet that cannot be
/// answered is dropped or gets FORMERR; nothing a peer sends stops the server.
public struct DNSBLServer: Service {
    public struct Configuration: Sendable {
        /// The listening IP address (not a host name) and port; port 0 picks a free one.
        public var host: String
        public var port: Int
        /// Also listen on TCP (same address and port). Default true.
        public var tcp: Bool
        public var maxTCPConnections: Int
        public var tcpIdleSeconds: Int64

        public init(host: String = "127.0.0.1", port: Int, tcp: Bool = true, maxTCPConnections: Int = 64, tcpIdleSeconds: Int64 = 10) {
            self.host = host
            self.port = port
            self.tcp = tcp
            self.maxTCPConnections = maxTCPConnections
            self.tcpIdleSeconds = tcpIdleSeconds
        }
    }

    public let configuration: Configuration
    public let responder: DNSBLResponder
    let lookup: @Sendable (String) -> DNSBLListing?
    let group: any EventLoopGroup
    let logger: Logger
    let onBound: @Sendable (_ udp: SocketAddress, _ tcp: SocketAddress?) -> Void

    /// - Parameters:
    ///   - lookup: The listing of an address, read on every query (it must be quick).
    ///   - onBound: Told the bound UDP and TCP addresses once listening (tests use port 0).
    public init(configuration: Configuration, responder: DNSBLResponder, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger, lookup: @escaping @Sendable (String) -> DNSBLListing?,
                onBound: @escaping @Sendable (SocketAddress, SocketAddress?) -> Void = { _, _ in }) {
        self.configuration = configuration
        self.responder = responder
        self.group = group
        self.logger = logger
        self.lookup = lookup
        self.onBound = onBound
    }

    /// The SOA serial: the current time (a list that changes any second has no better one).
    static func serial() -> UInt32 { UInt32(truncatingIfNeeded: time(nil)) }

    public func run() async throws {
        let udp = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        var tcp: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>? = nil
        if configuration.tcp, let port = udp.channel.localAddress?.port {
            let idle = configuration.tcpIdleSeconds
            do {
                tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 64)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: configuration.host, port: port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(idle)))
                            try channel.pipeline.syncOperations.addHandler(CloseOnIdleHandler())
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder(), maximumBufferSize: 70_000))
                            return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
            } catch {
                try? await udp.channel.close()
                throw error
            }
        }
        if let u = udp.channel.localAddress {
            logger.info("DNSBL responder listening", metadata: [
                "dnsbl.zone": "\(responder.zone)", "address": "\(u)", "tcp": "\(tcp != nil)",
            ])
            onBound(u, tcp?.channel.localAddress)
        }
        let serverChannels: [any Channel] = [udp.channel] + (tcp.map { [$0.channel] } ?? [])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                tasks.addTask { try await serveUDP(udp) }
                if let tcp { tasks.addTask { try await serveTCP(tcp) } }
            }
        } onGracefulShutdown: {
            for c in serverChannels { c.close(promise: nil) }
        }
    }

    private func serveUDP(_ channel: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>) async throws {
        try await channel.executeThenClose { inbound, outbound in
            for try await datagram in inbound {
                let query = Array(datagram.data.readableBytesView)
                guard let reply = responder.respond(to: query, udp: true, serial: Self.serial(), lookup: lookup) else { continue }
                do {
                    // A peer's bad source address (port 0, broadcast) fails only its own reply.
                    try await outbound.write(AddressedEnvelope(remoteAddress: datagram.remoteAddress, data: ByteBuffer(bytes: reply)))
                } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
                    throw error
                } catch {
                    logger.debug("DNS reply not sent", metadata: ["error": "\(error)", "peer": "\(datagram.remoteAddress)"])
                }
            }
        }
    }

    private func serveTCP(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) async throws {
        let open = ConnectionCount()
        let limit = configuration.maxTCPConnections
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in inbound {
                    if open.add(1) > limit {
                        open.add(-1)
                        connection.channel.close(promise: nil)
                        continue
                    }
                    group.addTask {
                        defer { open.add(-1) }
                        do {
                            try await serveConnection(connection)
                        } catch {
                            logger.debug("DNS TCP connection ended with an error", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
    }

    private func serveConnection(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        let channel = connection.channel
        // On graceful shutdown an open connection is closed at once (answers take no time).
        try await withGracefulShutdownHandler {
            try await answer(connection)
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    private func answer(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            for try await message in inbound {
                guard let reply = responder.respond(to: Array(message.readableBytesView), udp: false, serial: Self.serial(), lookup: lookup)
                else { return }
                var out = ByteBuffer()
                out.writeInteger(UInt16(reply.count))
                out.writeBytes(reply)
                try await outbound.write(out)
            }
        }
    }
}

/// Open TCP connections (an atomic in a class, so child tasks can share it).
final class ConnectionCount: Sendable {
    private let value = Atomic<Int>(0)
    /// Adds `delta` and returns the new count.
    @discardableResult
    func add(_ delta: Int) -> Int { value.add(delta, ordering: .relaxed).newValue }
}

/// DNS over TCP framing (RFC 1035 section 4.2.2): a two-byte length, then the message.
struct DNSTCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        // Safe to force unwrap: the bytes were counted above.
        let message = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }
}

/// Closes a TCP connection that sent nothing for the idle time.
final class CloseOnIdleHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

@available(*, unavailable)
extension CloseOnIdleHandler: Sendable {}
