import Logging
import MailMessage
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SpamwardCore
import Synchronization

/// Settings of the Rspamd worker listener (`[rspamd]`).
public struct RspamdWorkerConfiguration: Sendable {
    /// Where it listens.
    public var host: String
    public var port: Int
    /// A connection with no bytes from the client this long (between requests or inside one) is
    /// closed; time spent scanning does not count.
    public var idleTimeoutSeconds: Int
    /// A connection open this long in total is closed.
    public var totalTimeoutSeconds: Int
    /// Connections beyond this many are closed at once.
    public var maxConnections: Int
    /// Threads that scan (parse, score, reply); 0: one per core.
    public var scanThreads: Int
    /// Scans queued or running at once; a request beyond them gets 503 at once.
    public var maxPendingScans: Int
    /// On graceful shutdown, how long open connections get to finish the request they are in.
    public var drainSeconds: Int
    /// Largest message body accepted; a bigger one gets 413 and the connection is closed.
    public var maxMessageBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 11336, idleTimeoutSeconds: Int = 30,
                totalTimeoutSeconds: Int = 300, maxConnections: Int = 512, scanThreads: Int = 0,
                maxPendingScans: Int = 256, drainSeconds: Int = 10, maxMessageBytes: Int = 25 << 20) {
        self.host = host
        self.port = port
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
        self.maxConnections = maxConnections
        self.scanThreads = scanThreads
        self.maxPendingScans = maxPendingScans
        self.drainSeconds = drainSeconds
        self.maxMessageBytes = maxMessageBytes
    }

    /// The scan threads it starts: ``scanThreads``, or one per core.
    public var effectiveScanThreads: Int { scanThreads > 0 ? scanThreads : max(1, System.coreCount) }
}

/// Rspamd's normal worker (its port 11333), served directly on SwiftNIO's HTTP/1 pipeline:
/// `POST /checkv2` and `GET /ping` only, as Rspamd splits scanning from its controller (learning,
/// statistics), which stays on the Hummingbird HTTP port with Spamward's own API.
///
/// Per request, the event loop decodes the request and collects the body; a scan thread parses,
/// scores, logs and writes the reply's JSON (the same reply and log line as the Hummingbird route);
/// the event loop writes it. Bounded: `maxConnections` connections, at most one request per
/// connection in progress (pipelined requests wait in NIO's pipelining handler, which stops
/// reading meanwhile, and are answered in order), `maxPendingScans` scans queued or running
/// (503 beyond), `maxMessageBytes` per body (413, then close), idle and total timeouts.
public struct RspamdWorkerService: Service {
    let worker: RspamdWorker
    let group: any EventLoopGroup
    let onBound: @Sendable (SocketAddress) -> Void

    /// - Parameters:
    ///   - filter: The shared filter (a SIGHUP reload swaps its scanner and policy; later scans use them).
    ///   - configuration: Address, limits, timeouts, scan threads.
    ///   - group: The event loops.
    ///   - logger: The front end's logger (one `scanned` line per message at info).
    ///   - onBound: Told the bound address once listening.
    public init(filter: SpamFilter, configuration: RspamdWorkerConfiguration, group: any EventLoopGroup,
                logger: Logger, onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.worker = RspamdWorker(filter: filter, configuration: configuration, logger: logger)
        self.group = group
        self.onBound = onBound
    }

    public func run() async throws {
        let worker = self.worker
        let configuration = worker.configuration
        let logger = worker.logger
        worker.start()
        let server: any Channel
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in worker.accept(channel) }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            try? await worker.stop()
            throw error
        }
        if let address = server.localAddress {
            logger.info("listening", metadata: ["address": "\(address)"])
            onBound(address)
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await server.closeFuture.get()
            } onGracefulShutdown: {
                logger.info("stopping: no new connections")
                server.close(promise: nil)
            }
        } onCancel: {
            server.close(promise: nil)
        }
        await worker.drain()
        try? await worker.stop()
    }
}

/// What the worker's connections share: the filter, limits, metrics, the scan threads and the
/// open connections.
final class RspamdWorker: Sendable {
    let filter: SpamFilter
    let configuration: RspamdWorkerConfiguration
    let logger: Logger
    let metrics = FrontEndMetrics(frontEnd: "rspamd_worker")
    /// Scans queued or running.
    let pending = Atomic<Int>(0)
    /// The scan threads. Swift tasks on the concurrency pool cost the same per request here
    /// (0.190 and 0.203 ms against 0.183 and 0.203 in alternating runs, docs/loadbench.md); the
    /// threads keep scans off the pool that Hummingbird and the other front ends use.
    private let pool: NIOThreadPool
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let serial = Atomic<Int>(0)

    init(filter: SpamFilter, configuration: RspamdWorkerConfiguration, logger: Logger) {
        self.filter = filter
        self.configuration = configuration
        self.logger = logger
        self.pool = NIOThreadPool(numberOfThreads: configuration.effectiveScanThreads)
    }

    func start() { pool.start() }

    func stop() async throws { try await pool.shutdownGracefully() }

    /// A new connection (on its event loop): refused over the limit, else given the HTTP/1
    /// pipeline and a handler.
    func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        let id = ObjectIdentifier(channel)
        let count = connections.withLock {
            $0[id] = channel
            return $0.count
        }
        guard count <= configuration.maxConnections else {
            connections.withLock { _ = $0.removeValue(forKey: id) }
            metrics.rejectedInput()
            logger.warning("too many connections; closing", metadata: ["limit": "\(configuration.maxConnections)"])
            return channel.close()
        }
        channel.closeFuture.whenComplete { [self] _ in
            connections.withLock { _ = $0.removeValue(forKey: id) }
        }
        var connLogger = logger
        connLogger[metadataKey: "rspamd_worker.conn_id"] = "\(serial.add(1, ordering: .relaxed).newValue)"
        let handlerLogger = connLogger
        return channel.eventLoop.makeCompletedFuture {
            // Undecodable requests are answered by RspamdWorkerHandler, not NIO's error handler,
            // which writes its 400 even when the connection is already gone (a request cut off by
            // a graceful shutdown: NIO's pipelining handler asserts on that write). No outbound
            // header validation: the worker's reply headers are its own constants and a
            // Content-Length (NIO's validator scanned every reply's header bytes again: 1.5% of
            // the worker's CPU under load).
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true, withErrorHandling: false, withOutboundHeaderValidation: false)
            try channel.pipeline.syncOperations.addHandler(RspamdWorkerHandler(worker: self, logger: handlerLogger))
        }
    }

    /// Graceful shutdown: every connection finishes the request it is in (NIO's pipelining
    /// handler closes idle ones at once and the others after their reply); what is still open
    /// after `drainSeconds` is closed.
    func drain() async {
        let open = connections.withLock { Array($0.values) }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        let deadline = ContinuousClock.now + .seconds(configuration.drainSeconds)
        while ContinuousClock.now < deadline, connections.withLock({ !$0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = connections.withLock { Array($0.values) }
        if !left.isEmpty {
            logger.notice("closing connections still open after the drain time", metadata: ["connections": "\(left.count)"])
            for channel in left { channel.close(promise: nil) }
        }
        for channel in left { try? await channel.closeFuture.get() }
    }

    /// The outcome of one `/checkv2` request.
    enum Outcome: Sendable {
        /// Rspamd's JSON reply.
        case reply(ByteBuffer)
        /// No scan happened (the scan threads are stopping): a 503.
        case unavailable(String)
    }

    /// Scans `body` off the event loop and hands the outcome to `done` (on a scan thread or a task).
    func scan(_ body: [UInt8], headers: HTTPHeaders, started: ContinuousClock.Instant, logger: Logger,
              done: @escaping @Sendable (Outcome) -> Void) {
        let filter = self.filter
        if filter.authentication == nil && filter.uribl == nil {
            // No DNS stages: the scan is synchronous CPU work for a scan thread.
            pool.submit { [self] state in
                defer { pending.subtract(1, ordering: .relaxed) }
                guard case .active = state else {
                    done(.unavailable("shutting down"))
                    return
                }
                done(.reply(checkSync(body, headers: headers, started: started, logger: logger)))
            }
        } else {
            // Authentication and URIBL lookups wait for DNS: a task (a scan thread would sit idle).
            Task { [self] in
                defer { pending.subtract(1, ordering: .relaxed) }
                done(.reply(await check(body, headers: headers, started: started, logger: logger)))
            }
        }
    }

    private func checkSync(_ body: [UInt8], headers: HTTPHeaders, started: ContinuousClock.Instant, logger: Logger) -> ByteBuffer {
        let scanContext = Self.scanContext(headers)
        let explain = SpamwardAPI.wantsExplanation(headers.first(name: "Explain"))
        let message = filter.scanner.parse(body)
        let scanStarted = ContinuousClock.now
        // What `SpamFilter.check` does without authentication and URIBL stages.
        let verdict = filter.scan(message, context: scanContext, explain: explain)
        return finish(verdict, message: message, queueID: scanContext.queueID, scanStarted: scanStarted,
                      started: started, logger: logger)
    }

    private func check(_ body: [UInt8], headers: HTTPHeaders, started: ContinuousClock.Instant, logger: Logger) async -> ByteBuffer {
        let scanContext = Self.scanContext(headers)
        let explain = SpamwardAPI.wantsExplanation(headers.first(name: "Explain"))
        let message = filter.scanner.parse(body)
        let scanStarted = ContinuousClock.now
        let verdict = await filter.check(message, context: scanContext, explain: explain)
        return finish(verdict, message: message, queueID: scanContext.queueID, scanStarted: scanStarted,
                      started: started, logger: logger)
    }

    private func finish(_ verdict: Verdict, message: Message, queueID: String?, scanStarted: ContinuousClock.Instant,
                        started: ContinuousClock.Instant, logger: Logger) -> ByteBuffer {
        let ns = metrics.scanned(verdict, since: scanStarted)
        SpamwardAPI.logScanned(verdict, nanoseconds: ns, queueID: queueID, frontEnd: metrics.frontEnd, logger: logger)
        return SpamwardAPI.rspamdCheckJSON(verdict: verdict, message: message, policy: filter.policy, since: started)
    }

    static func scanContext(_ headers: HTTPHeaders) -> ScanContext {
        var context = SpamwardAPI.scanContext { headers[$0.name] }
        context.wantsDigest = false  // Rspamd's reply has no digest
        return context
    }
}

/// One connection of the Rspamd worker, on its event loop.
final class RspamdWorkerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// Waiting for a request.
        case idle
        /// Collecting a `/checkv2` body.
        case receivingCheck
        /// A request answered at its end (`/ping`, errors): its body is dropped.
        case receivingOther
        /// The scan of the last request is queued or running.
        case scanning
        /// Closing or closed: everything else is ignored.
        case closed
    }

    /// A reply decided at the request's head, written at its end.
    private struct Reply {
        var status: HTTPResponseStatus
        var contentType: String
        var body: ByteBuffer
        var allow: String? = nil
    }

    private let worker: RspamdWorker
    private let logger: Logger
    private var phase = Phase.idle
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var started = ContinuousClock.now
    private var other: Reply?
    private var lastActivity = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?
    private var totalTimer: Scheduled<Void>?
    /// Whether this connection was counted in the open-connections metric.
    private var counted = false

    init(worker: RspamdWorker, logger: Logger) {
        self.worker = worker
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        worker.metrics.connection(+1)
        counted = true
        lastActivity = .now()
        armIdle(context: context, in: .seconds(Int64(worker.configuration.idleTimeoutSeconds)))
        let loop = context.eventLoop.assumeIsolated()
        totalTimer = loop.scheduleTask(in: .seconds(Int64(worker.configuration.totalTimeoutSeconds))) { [self] in
            guard phase != .closed else { return }
            logger.notice("connection exceeded its total time; closing")
            close(context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted {
            counted = false
            worker.metrics.connection(-1)
        }
        phase = .closed
        idleTimer?.cancel()
        idleTimer = nil
        totalTimer?.cancel()
        totalTimer = nil
        body = []
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        guard error is HTTPParserError else {
            close(context: context)
            return
        }
        // Not HTTP/1.1 (or cut off at the end of the connection): 400 and close, unless a reply
        // is already due on this connection or it is gone.
        worker.metrics.rejectedInput()
        switch phase {
        case .idle, .receivingCheck, .receivingOther:
            guard context.channel.isActive else {
                close(context: context)
                return
            }
            body = []
            other = nil
            respond(context: context, .badRequest, contentType: "application/json; charset=utf-8",
                    body: Self.errorJSON("not a valid HTTP/1.1 request"), close: true)
        case .scanning, .closed:
            close(context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            lastActivity = .now()
            received(head, context: context)
        case .body(let chunk):
            switch phase {
            case .receivingCheck:
                guard body.count + chunk.readableBytes <= worker.configuration.maxMessageBytes else {
                    tooLarge(context: context)
                    return
                }
                body.append(contentsOf: chunk.readableBytesView)
            case .receivingOther, .idle, .scanning, .closed:
                break
            }
            lastActivity = .now()
        case .end:
            lastActivity = .now()
            switch phase {
            case .receivingCheck:
                startScan(context: context)
            case .receivingOther:
                phase = .idle
                if let reply = other {
                    other = nil
                    respond(context: context, reply.status, contentType: reply.contentType, body: reply.body, allow: reply.allow)
                }
            case .idle, .scanning, .closed:
                break
            }
        }
    }

    // MARK: requests

    private func received(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard phase == .idle else { return }
        self.head = head
        started = .now
        let uri = head.uri
        let path = uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri[...]
        switch path {
        case "/checkv2":
            guard head.method == .POST else {
                answerAtEnd(.methodNotAllowed, error: "use POST /checkv2", allow: "POST")
                return
            }
            let max = worker.configuration.maxMessageBytes
            if let text = head.headers.first(name: "Content-Length"), let length = Int(text), length > max {
                tooLarge(context: context)
                return
            }
            if head.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                      promise: nil)
            }
            let expected = head.headers.first(name: "Content-Length").flatMap { Int($0) } ?? 0
            body = []
            // Grown as bytes arrive past 1 MiB: a Content-Length alone reserves no more.
            body.reserveCapacity(min(max, 1 << 20, Swift.max(0, expected)))
            phase = .receivingCheck
        case "/ping":
            guard head.method == .GET else {
                answerAtEnd(.methodNotAllowed, error: "use GET /ping", allow: "GET")
                return
            }
            other = Reply(status: .ok, contentType: "text/plain", body: ByteBuffer(string: "pong\r\n"))
            phase = .receivingOther
        default:
            worker.metrics.rejectedInput()
            answerAtEnd(.notFound, error: "this is Spamward's Rspamd worker port: it serves POST /checkv2 and GET /ping; learning, /stat and Spamward's own API are on the HTTP port")
        }
    }

    private func answerAtEnd(_ status: HTTPResponseStatus, error message: String, allow: String? = nil) {
        if status == .methodNotAllowed { worker.metrics.rejectedInput() }
        other = Reply(status: status, contentType: "application/json; charset=utf-8", body: Self.errorJSON(message), allow: allow)
        phase = .receivingOther
    }

    /// 413, then close: the rest of the body is not read.
    private func tooLarge(context: ChannelHandlerContext) {
        worker.metrics.rejectedInput()
        body = []
        logger.notice("message too large; closing", metadata: ["limit": "\(worker.configuration.maxMessageBytes)"])
        respond(context: context, .payloadTooLarge, contentType: "application/json; charset=utf-8",
                body: Self.errorJSON("message larger than \(worker.configuration.maxMessageBytes) bytes"), close: true)
    }

    private func startScan(context: ChannelHandlerContext) {
        let pendingNow = worker.pending.add(1, ordering: .relaxed).newValue
        guard pendingNow <= worker.configuration.maxPendingScans else {
            worker.pending.subtract(1, ordering: .relaxed)
            worker.metrics.rejectedInput()
            body = []
            phase = .idle
            logger.warning("scan queue full; answering 503", metadata: ["limit": "\(worker.configuration.maxPendingScans)"])
            respond(context: context, .serviceUnavailable, contentType: "application/json; charset=utf-8",
                    body: Self.errorJSON("busy: \(worker.configuration.maxPendingScans) scans pending; retry later"))
            return
        }
        phase = .scanning
        let bytes = body
        body = []
        let headers = head?.headers ?? HTTPHeaders()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        worker.scan(bytes, headers: headers, started: started, logger: logger) { outcome in
            loop.execute {
                let (handler, context) = bound.value
                handler.scanned(outcome, context: context)
            }
        }
    }

    private func scanned(_ outcome: RspamdWorker.Outcome, context: ChannelHandlerContext) {
        guard phase == .scanning else { return }  // closed meanwhile
        phase = .idle
        lastActivity = .now()
        switch outcome {
        case .reply(let json):
            respond(context: context, .ok, contentType: "application/json; charset=utf-8", body: json)
        case .unavailable(let why):
            worker.metrics.fault()
            logger.error("scan not run; answering 503", metadata: ["reason": "\(why)"])
            respond(context: context, .serviceUnavailable, contentType: "application/json; charset=utf-8",
                    body: Self.errorJSON("scan not run: \(why); retry later"), close: true)
        }
    }

    // MARK: replies

    private func respond(context: ChannelHandlerContext, _ status: HTTPResponseStatus, contentType: String,
                         body: ByteBuffer, allow: String? = nil, close: Bool = false) {
        let version = head?.version ?? .http1_1
        let keepAlive = !close && (head?.isKeepAlive ?? false)
        var headers = HTTPHeaders()
        headers.reserveCapacity(4)
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if let allow { headers.add(name: "Allow", value: allow) }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if version.major == 1 && version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        head = nil
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            phase = .closed
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
        }
    }

    private func close(context: ChannelHandlerContext) {
        phase = .closed
        context.close(promise: nil)
    }

    /// Spamward's error body, as the Hummingbird routes write it: `{"error":{"message":"..."}}`.
    static func errorJSON(_ message: String) -> ByteBuffer {
        var w = JSONWriter(capacity: 64 + message.utf8.count)
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.key("message")
        w.string(message)
        w.endObject()
        w.endObject()
        return w.buffer
    }

    // MARK: timeouts

    /// Closes the connection after `idleTimeoutSeconds` without a byte from the client, except
    /// while its request is being scanned.
    private func armIdle(context: ChannelHandlerContext, in delay: TimeAmount) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            idleTimer = nil
            let idle = TimeAmount.seconds(Int64(worker.configuration.idleTimeoutSeconds))
            switch phase {
            case .closed:
                return
            case .scanning:
                armIdle(context: context, in: idle)
            case .idle, .receivingCheck, .receivingOther:
                let quiet = NIODeadline.now() - lastActivity
                if quiet >= idle {
                    if phase == .idle && head == nil {
                        logger.debug("idle connection closed")
                    } else {
                        worker.metrics.rejectedInput()
                        logger.notice("client idle in the middle of a request; closing")
                    }
                    close(context: context)
                } else {
                    armIdle(context: context, in: idle - quiet)
                }
            }
        }
    }
}
