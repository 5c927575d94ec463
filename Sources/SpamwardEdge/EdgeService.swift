import CoreMetrics
import Logging
import MailAuth
import NIOCore
import NIOPosix
import SMTPProtocol
import ServiceLifecycle
import SpamwardCore
import Synchronization

/// The SMTP edge as a service: listens, screens every client, relays the rest to the backend.
///
/// Each connection runs in a child task of a discarding task group. On graceful shutdown the
/// listener closes and open sessions get ``EdgeConfiguration/drainSeconds`` to finish; then they
/// are closed. A session closed before its message's final dot was relayed leaves nothing at the
/// backend: the edge sends the end-of-data line only after it holds the whole message.
public struct EdgeService: Service {
    var shared: EdgeShared
    let logger: Logger
    let onBound: @Sendable (SocketAddress) -> Void
    let rateLimiter: RateLimiter
    /// What new sessions start with: the start's settings until a reload replaces them.
    let live: LiveEdgeSettings
    let resolver: AnyDNSResolver?
    /// Where greylisting persists, kept for a reload that turns greylisting on.
    let greylistStore: (any GreylistStore)?
    /// Sessions started: clients that passed the screening before the greeting and that the SMTP
    /// front (``EdgeFront``) handed on (the others are answered by ``ScreeningHandler`` and never
    /// get one).
    let sessionCount = SharedCounter()

    /// How many sessions were started (tests: a refused client never gets one).
    package var sessionsStarted: Int { sessionCount.value }

    /// - Parameters:
    ///   - resolver: for the DNS lists (none configured: not used).
    ///   - passed: the temporary allowlist of clients that passed.
    ///   - greylistStore: where greylisting triplets persist (nil: memory only); read at start.
    ///   - now: the clock in seconds (tests move it).
    ///   - onBound: told the bound address once listening (tests bind port 0).
    public init(configuration: EdgeConfiguration, filter: SpamFilter, resolver: (any DNSResolver)? = nil,
                passed: any PassedClientStore = InMemoryPassedClientStore(),
                greylistStore: (any GreylistStore)? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
                now: @escaping @Sendable () -> Int64 = { WallClock.nowSeconds() },
                onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in })
    {
        let resolver = resolver.map { AnyDNSResolver(base: $0) }
        self.resolver = resolver
        self.greylistStore = greylistStore
        let checker = Self.dnsListChecker(configuration, resolver: resolver)
        shared = EdgeShared(
            configuration: configuration, filter: filter, dnsLists: checker, passed: passed,
            greylist: configuration.greylist.enabled ? Greylist(configuration: configuration.greylist) : nil,
            greylistStore: configuration.greylist.enabled ? greylistStore : nil,
            pool: configuration.backendPoolSize > 0 && configuration.forwarding != .xclient
                ? BackendPool(capacity: configuration.backendPoolSize,
                              maxIdleMilliseconds: Int64(configuration.backendPoolIdleSeconds) * 1000)
                : nil,
            metrics: EdgeMetrics(), group: group, now: now)
        if configuration.maxBackendConnections > 0 {
            shared.backendSlots = BackendSlots(limit: configuration.maxBackendConnections)
        }
        self.logger = logger
        self.onBound = onBound
        rateLimiter = RateLimiter(limits: configuration.rate)
        live = LiveEdgeSettings(shared)
    }

    static func dnsListChecker(_ configuration: EdgeConfiguration, resolver: AnyDNSResolver?) -> DNSListChecker<AnyDNSResolver>? {
        resolver.map {
            DNSListChecker(resolver: $0, sites: configuration.dnsLists, sentinels: configuration.dnsSentinels,
                           threshold: configuration.dnsThreshold)
        }
    }

    /// The settings that only a restart changes: the listener, the backend and how clients are
    /// forwarded to it (the pooled backend connections depend on them).
    public static func restartSettings(_ old: EdgeConfiguration, _ new: EdgeConfiguration) -> [String] {
        var out: [String] = []
        if old.listenHost != new.listenHost || old.listenPort != new.listenPort { out.append("edge.listen") }
        if old.backendHost != new.backendHost || old.backendPort != new.backendPort { out.append("edge.backend") }
        if old.forwarding != new.forwarding { out.append("edge.forwarding") }
        if old.backendPoolSize != new.backendPoolSize { out.append("edge.backend_pool_size") }
        if old.backendPoolIdleSeconds != new.backendPoolIdleSeconds { out.append("edge.backend_pool_idle_seconds") }
        if old.maxBackendConnections != new.maxBackendConnections { out.append("edge.max_backend_connections") }
        return out
    }

    /// Applies `new` to the sessions that start from now on (open ones finish with what they
    /// started with): allow and deny lists, test actions, DNS lists and their sentinels, limits,
    /// timeouts, greylisting and rate settings (their learned state is kept), the STARTTLS
    /// certificate. Returns the names of the changed settings that need a restart (those keep
    /// their running values); throws when the new certificate cannot be used (nothing changes).
    public func reload(_ new: EdgeConfiguration) async throws -> [String] {
        let tls = try EdgeTLS.context(for: new)
        var started: Greylist? = nil
        let kept = live.update { current in
            let kept = Self.restartSettings(current.configuration, new)
            var applied = new
            let old = current.configuration
            applied.listenHost = old.listenHost
            applied.listenPort = old.listenPort
            applied.backendHost = old.backendHost
            applied.backendPort = old.backendPort
            applied.forwarding = old.forwarding
            applied.backendPoolSize = old.backendPoolSize
            applied.backendPoolIdleSeconds = old.backendPoolIdleSeconds
            applied.maxBackendConnections = old.maxBackendConnections
            var greylist = current.greylist
            if applied.greylist.enabled {
                if let greylist {
                    greylist.update(configuration: applied.greylist)
                } else {
                    greylist = Greylist(configuration: applied.greylist)
                    started = greylist
                }
            } else {
                greylist = nil
            }
            rateLimiter.update(limits: applied.rate)
            var next = EdgeShared(
                configuration: applied, filter: current.filter, dnsLists: Self.dnsListChecker(applied, resolver: resolver),
                passed: current.passed, greylist: greylist, greylistStore: applied.greylist.enabled ? greylistStore : nil,
                pool: current.pool, metrics: current.metrics, group: current.group, now: current.now)
            next.tls = tls
            next.startTLSHook = current.startTLSHook
            next.backendSlots = current.backendSlots
            current = next
            return kept
        }
        if let started, let store = greylistStore {
            // Turned on by this reload: the triplets saved before it was turned off still count.
            started.restore(await store.loadTriplets(since: now() - started.retentionSeconds))
        }
        return kept
    }

    private func now() -> Int64 { shared.now() }

    /// Tests only: see ``EdgeShared/startTLSHook``.
    package var startTLSHook: StartTLSHook? {
        get { live.current.startTLSHook }
        set {
            shared.startTLSHook = newValue
            live.update { $0.startTLSHook = newValue }
        }
    }

    public func run() async throws {
        let c = shared.configuration
        let tls = try EdgeTLS.context(for: c)
        live.update { $0.tls = tls }
        let shared = live.current
        let now = shared.now()
        let purged = await shared.passed.purgeExpired(now: now)
        if purged > 0 { logger.info("expired passed clients purged", metadata: ["edge.passed.purged": "\(purged)"]) }
        if let greylist = shared.greylist, let store = shared.greylistStore {
            await store.purgeTriplets(before: now - greylist.retentionSeconds)
            let triplets = await store.loadTriplets(since: now - greylist.retentionSeconds)
            greylist.restore(triplets)
            logger.info("greylisting triplets restored", metadata: ["edge.greylist.triplets": "\(triplets.count)"])
        }
        // Every client is screened before the greeting by a channel handler (no task yet); the
        // ones that pass come out of `admitted` and get a session task, and the screening's
        // asynchronous work (DNS lists) comes out of `work` and gets a child task.
        let (admitted, admittedInput) = AsyncStream.makeStream(of: AdmittedConnection.self)
        let (work, workInput) = AsyncStream.makeStream(of: EdgeAcceptor.Work.self)
        let acceptor = EdgeAcceptor(admitted: admittedInput, work: workInput, sessions: sessionCount, limiter: rateLimiter, logger: logger)
        let live = self.live
        let server: any Channel
        do {
            server = try await ServerBootstrap(group: shared.group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ScreeningHandler(acceptor: acceptor, shared: live.current))
                    }
                }
                .bind(host: c.listenHost, port: c.listenPort).get()
        } catch {
            acceptor.stopAdmitting()
            acceptor.stopWork()
            throw error
        }
        server.closeFuture.whenComplete { _ in acceptor.stopAdmitting() }
        if let address = server.localAddress {
            logger.info("listening", metadata: ["frontend": "edge", "address": "\(address)", "backend": "\(c.backendHost):\(c.backendPort)"])
            onBound(address)
        }
        let logger = self.logger
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { service in
                service.addTask {
                    await withDiscardingTaskGroup { jobs in
                        for await job in work { jobs.addTask { await job() } }
                    }
                }
                await withDiscardingTaskGroup { sessions in
                    for await connection in admitted {
                        sessions.addTask { await Self.serve(connection, logger: logger) }
                    }
                    // Cancelled rather than stopped gracefully: the listener closes all the same.
                    server.close(promise: nil)
                }
                acceptor.stopWork()
            }
        } onGracefulShutdown: {
            logger.info("stopping: no new connections", metadata: ["frontend": "edge"])
            server.close(promise: nil)
        }
        shared.pool?.closeAll()
    }

    static func serve(_ connection: AdmittedConnection, logger: Logger) async {
        let channel = connection.channel.channel
        let shared = connection.shared
        var logger = logger
        logger[metadataKey: "edge.conn_id"] = "\(connection.id)"
        logger[metadataKey: "client.ip"] = "\(connection.client)"
        let drain = shared.configuration.drainSeconds
        do {
            try await withGracefulShutdownHandler {
                try await connection.channel.executeThenClose { inbound, outbound in
                    var session = EdgeSession(
                        connection: connection, logger: logger, inbound: inbound.makeAsyncIterator(), outbound: outbound)
                    await session.run()
                }
            } onGracefulShutdown: {
                channel.eventLoop.scheduleTask(in: .seconds(Int64(drain))) {
                    channel.writeAndFlush(SMTPReply(421, "4.3.2 Service shutting down").bytes, promise: nil)
                    channel.close(promise: nil)
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
    }
}

/// A monotonic clock in milliseconds for the rate buckets.
enum MonotonicClock {
    static func nowMilliseconds() -> Int64 {
        let d = ContinuousClock.now - start
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
    static let start = ContinuousClock.now
}

/// A counter tasks share (an atomic in a class).
final class SharedCounter: Sendable {
    private let atomic = Atomic<Int>(0)
    /// Adds `delta` and returns the new value.
    @discardableResult
    func add(_ delta: Int) -> Int { atomic.add(delta, ordering: .relaxed).newValue }
    var value: Int { atomic.load(ordering: .relaxed) }
}

/// The edge's settings for new sessions, replaced whole on a reload (behind a short lock).
final class LiveEdgeSettings: Sendable {
    private let state: Mutex<EdgeShared>

    init(_ shared: EdgeShared) { state = Mutex(shared) }

    var current: EdgeShared { state.withLock { $0 } }

    func update<T>(_ body: (inout EdgeShared) -> T) -> T { state.withLock { body(&$0) } }
}
