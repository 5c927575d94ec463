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
/// Each query is answered by ``DNSBLResponder`` in a channel handler on the event loop (a lookup
/// is a dictionary access, so there is nothing to wait for, and a cooperative thread pool busy
/// with scans cannot delay an answer). TCP connections (RFC 7766 framing, two-byte length
/// prefix): at most ``Configuration/maxTCPConnections`` at once, each closed after
/// ``Configuration/tcpIdleSeconds`` without a query. A packet that cannot be
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
        let responder = self.responder
        let lookup = self.lookup
        let logger = self.logger
        let connections = OpenConnections(limit: configuration.maxTCPConnections)
        let idle = configuration.tcpIdleSeconds
        let group = self.group
        let configuration = self.configuration
        func bindUDP(_ port: Int) async throws -> any Channel {
            try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            UDPResponderHandler(responder: responder, lookup: lookup, logger: logger))
                    }
                }
                .bind(host: configuration.host, port: port).get()
        }
        func bindTCP(_ port: Int) async throws -> any Channel {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    guard connections.admit(channel) else { return channel.close() }
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(IdleStateHandler(readTimeout: .seconds(idle)))
                        try sync.addHandler(CloseOnIdleHandler())
                        try sync.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder(), maximumBufferSize: 70_000))
                        try sync.addHandler(TCPResponderHandler(responder: responder, lookup: lookup))
                    }
                }
                .bind(host: configuration.host, port: port).get()
        }
        // TCP listens on the UDP socket's port. With port 0 (an ephemeral port, as tests ask) the
        // port the kernel gave UDP may be held on the TCP side by another socket (a busy host's
        // outgoing connections use the same range): then both are bound again on a new port.
        var udp: any Channel
        var tcp: (any Channel)? = nil
        var attempt = 0
        while true {
            attempt += 1
            udp = try await bindUDP(configuration.port)
            guard configuration.tcp, let port = udp.localAddress?.port else { break }
            do {
                tcp = try await bindTCP(port)
                break
            } catch {
                try? await udp.close()
                guard configuration.port == 0, attempt < 20 else { throw error }
                logger.debug("DNSBL responder: TCP port taken; binding both again", metadata: ["port": "\(port)"])
            }
        }
        if let u = udp.localAddress {
            logger.info("DNSBL responder listening", metadata: [
                "dnsbl.zone": "\(responder.zone)", "address": "\(u)", "tcp": "\(tcp != nil)",
            ])
            onBound(u, tcp?.localAddress)
        }
        let serverChannels: [any Channel] = [udp] + (tcp.map { [$0] } ?? [])
        @Sendable func closeEverything() {
            // Answers take no time: open TCP connections are closed at once.
            for c in serverChannels { c.close(promise: nil) }
            connections.closeAll()
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                for c in serverChannels { try? await c.closeFuture.get() }
            } onGracefulShutdown: {
                closeEverything()
            }
        } onCancel: {
            closeEverything()
        }
        closeEverything()
    }
}

/// Answers each datagram on the event loop (a lookup is a dictionary access), so a busy
/// cooperative thread pool (scans) never delays DNS answers.
final class UDPResponderHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let responder: DNSBLResponder
    let lookup: @Sendable (String) -> DNSBLListing?
    let logger: Logger

    init(responder: DNSBLResponder, lookup: @escaping @Sendable (String) -> DNSBLListing?, logger: Logger) {
        self.responder = responder
        self.lookup = lookup
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let datagram = Self.unwrapInboundIn(data)
        let query = Array(datagram.data.readableBytesView)
        guard let reply = responder.respond(to: query, udp: true, serial: DNSBLServer.serial(), lookup: lookup) else { return }
        let envelope = AddressedEnvelope(remoteAddress: datagram.remoteAddress, data: context.channel.allocator.buffer(bytes: reply))
        let logger = self.logger
        let peer = datagram.remoteAddress
        // A peer's bad source address (port 0, broadcast) fails only its own reply.
        context.writeAndFlush(Self.wrapOutboundOut(envelope)).whenFailure { error in
            logger.debug("DNS reply not sent", metadata: ["error": "\(error)", "peer": "\(peer)"])
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An ICMP error for one peer (ECONNREFUSED on a later read) must not close the socket.
        logger.debug("DNS UDP error", metadata: ["error": "\(error)"])
    }
}

@available(*, unavailable)
extension UDPResponderHandler: Sendable {}

/// Answers each framed TCP query on the event loop; an unanswerable one closes the connection.
final class TCPResponderHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let responder: DNSBLResponder
    let lookup: @Sendable (String) -> DNSBLListing?

    init(responder: DNSBLResponder, lookup: @escaping @Sendable (String) -> DNSBLListing?) {
        self.responder = responder
        self.lookup = lookup
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = Self.unwrapInboundIn(data)
        guard let reply = responder.respond(to: Array(message.readableBytesView), udp: false, serial: DNSBLServer.serial(), lookup: lookup)
        else {
            context.close(promise: nil)
            return
        }
        var out = context.channel.allocator.buffer(capacity: reply.count + 2)
        out.writeInteger(UInt16(reply.count))
        out.writeBytes(reply)
        context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TCPResponderHandler: Sendable {}

/// The open TCP connections: at most `limit` at once; all closed on shutdown.
final class OpenConnections: Sendable {
    private let limit: Int
    private let state = Mutex<(open: [ObjectIdentifier: any Channel], closed: Bool)>(([:], false))

    init(limit: Int) { self.limit = limit }

    /// Whether `channel` may be served (and then it is tracked until it closes).
    func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { s -> Bool in
            guard !s.closed, s.open.count < limit else { return false }
            s.open[id] = channel
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.state.withLock { _ = $0.open.removeValue(forKey: id) } } }
        return admitted
    }

    var count: Int { state.withLock { $0.open.count } }

    func closeAll() {
        let channels = state.withLock { s -> [any Channel] in
            s.closed = true
            return Array(s.open.values)
        }
        for c in channels { c.close(promise: nil) }
    }
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
