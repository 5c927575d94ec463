import Logging
import NIOCore
import Synchronization

/// What the daemon does for each kind of request. Implementations must be `Sendable`; they run concurrently
/// for concurrent connections and should honour task cancellation (it signals a handler timeout).
///
/// Throw a ``SpamdError`` to answer with a specific error line (e.g. ``SpamdError/unavailable(_:code:)``);
/// any other error is answered `SPAMD/1.0 75 Temporary failure: (internal error)` — never with a fake result.
public protocol SpamdRequestHandler: Sendable {
    /// CHECK, SYMBOLS, REPORT, REPORT_IFSPAM, PROCESS and HEADERS: judge `request.body`.
    func check(_ request: SpamdRequest) async throws -> SpamdVerdict

    /// TELL: learn/forget (`Set`/`Remove: local`) or report/revoke (`remote`) `request.body` as
    /// `request.messageClass`. The default refuses as spamd does without `--allow-tell`.
    func tell(_ request: SpamdRequest) async throws -> SpamdTellResult

    /// PING: throw to refuse; the default does nothing and the client gets `PONG`.
    func ping(_ request: SpamdRequest) async throws
}

extension SpamdRequestHandler {
    /// Refuses TELL with `SPAMD/1.0 69 Service Unavailable: TELL commands are not enabled, ...`.
    public func tell(_ request: SpamdRequest) async throws -> SpamdTellResult {
        throw SpamdError.tellDisabled
    }

    /// Answers every PING.
    public func ping(_ request: SpamdRequest) async throws {}
}

/// What happened on one connection.
public struct SpamdConnectionOutcome: Sendable, Hashable {
    /// The request, when one was decoded.
    public var request: SpamdRequest?
    /// The reply written, when one was (``SpamdResponse/silent`` for SKIP).
    public var response: SpamdResponse?
    /// Whether bytes were handed to the channel (false for SKIP and when nothing could be written).
    public var wroteResponse: Bool

    /// Creates an outcome.
    public init(request: SpamdRequest?, response: SpamdResponse?, wroteResponse: Bool) {
        self.request = request
        self.response = response
        self.wroteResponse = wroteResponse
    }
}

/// Runs spamd connections: one request, one reply, close.
///
/// Wiring into a server:
/// ```swift
/// let server = try await ServerBootstrap(group: group)
///     .serverChannelOption(.backlog, value: 256)
///     .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
///     .childChannelOption(.allowRemoteHalfClosure, value: true)
///     .bind(host: "127.0.0.1", port: 783) { channel in
///         channel.eventLoop.makeCompletedFuture {
///             try SpamdConnection.configure(channel, configuration: configuration)
///         }
///     }
/// try await withThrowingDiscardingTaskGroup { group in
///     try await server.executeThenClose { connections in
///         for try await connection in connections {
///             group.addTask {
///                 await SpamdConnection.serve(connection, configuration: configuration, logger: logger, handler: handler)
///             }
///         }
///     }
/// }
/// ```
public enum SpamdConnection {
    private static let connectionCounter = Atomic<UInt64>(0)

    /// Installs the spamd codec on a freshly accepted channel and wraps it for async use. Call it on the channel's
    /// event loop, e.g. in `ServerBootstrap.bind(...) { channel in channel.eventLoop.makeCompletedFuture { ... } }`.
    ///
    /// Enables `allowRemoteHalfClosure` (spamc half-closes after sending; the reply must still go out), adds a
    /// `ByteToMessageHandler` with ``SpamdRequestDecoder`` and a ``SpamdResponseEncoder`` that closes after the reply.
    public static func configure(
        _ channel: any Channel, configuration: SpamdConfiguration = .default
    ) throws -> NIOAsyncChannel<SpamdRequest, SpamdResponse> {
        try self.addHandlers(to: channel, configuration: configuration)
        return try NIOAsyncChannel<SpamdRequest, SpamdResponse>(
            wrappingChannelSynchronously: channel, configuration: .init())
    }

    /// Installs the codec without wrapping the channel (for callers building their own pipeline).
    public static func addHandlers(to channel: any Channel, configuration: SpamdConfiguration = .default) throws {
        if let options = channel.syncOptions {
            try options.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        }
        let decoder = ByteToMessageHandler(
            SpamdRequestDecoder(configuration: configuration), maximumBufferSize: configuration.maximumBufferSize)
        try channel.pipeline.syncOperations.addHandler(decoder)
        try channel.pipeline.syncOperations.addHandler(SpamdResponseEncoder(closeAfterResponse: true))
    }

    /// Serves one connection made by ``configure(_:configuration:)`` and closes it: reads one request, asks
    /// `handler`, writes the reply, waits (at most ``SpamdConfiguration/writeTimeout``) until it has been written.
    /// Never throws: connection-level failures are logged at debug level.
    @discardableResult
    public static func serve(
        _ connection: NIOAsyncChannel<SpamdRequest, SpamdResponse>,
        configuration: SpamdConfiguration = .default,
        logger: Logger,
        handler: some SpamdRequestHandler
    ) async -> SpamdConnectionOutcome {
        let channel = connection.channel
        let logger = self.connectionLogger(logger)
        do {
            return try await connection.executeThenClose { inbound, outbound in
                let outcome = try await self.run(
                    inbound: inbound, outbound: outbound, configuration: configuration, logger: logger,
                    handler: handler, timersOn: channel.eventLoop)
                if outcome.wroteResponse {
                    // The encoder closes the channel once the reply is on the wire; executeThenClose would close
                    // it at once and could drop a reply still queued for a slow reader.
                    let deadline = channel.eventLoop.scheduleTask(in: timeAmount(configuration.writeTimeout)) {
                        channel.close(promise: nil)
                    }
                    try? await channel.closeFuture.get()
                    deadline.cancel()
                }
                return outcome
            }
        } catch {
            logger.debug("spamd connection failed", metadata: ["spamd.error": "\(error)"])
            return SpamdConnectionOutcome(request: nil, response: nil, wroteResponse: false)
        }
    }

    /// The protocol exchange on an async channel's streams: receive one request (within
    /// ``SpamdConfiguration/requestTimeout``), let `handler` answer it (within
    /// ``SpamdConfiguration/handlerTimeout``), write the reply. Decoding errors and timeouts are answered with
    /// spamd's error lines. Does not close the channel; with ``SpamdResponseEncoder`` the channel closes itself
    /// once the reply is written (see ``serve(_:configuration:logger:handler:)``).
    ///
    /// With `timersOn`, the two timeouts are timers on that event loop (the connection's) that
    /// cancel the receive or the handler; without, each is a task group racing a sleeping task
    /// (two task groups and two sleeping timer tasks per request: ~4.5% of the daemon's CPU under load).
    public static func run(
        inbound: NIOAsyncChannelInboundStream<SpamdRequest>,
        outbound: NIOAsyncChannelOutboundWriter<SpamdResponse>,
        configuration: SpamdConfiguration = .default,
        logger: Logger,
        handler: some SpamdRequestHandler,
        timersOn eventLoop: (any EventLoop)? = nil
    ) async throws -> SpamdConnectionOutcome {
        var logger = self.connectionLogger(logger)

        // 1. Receive.
        let received = await self.race(
            deadline: configuration.requestTimeout, on: eventLoop,
            onTimeout: .failure(
                SpamdError.timeout(
                    "(\(seconds(configuration.requestTimeout)) second socket timeout reading input from client)"))
        ) { () async -> Result<SpamdRequest?, any Error> in
            do {
                var iterator = inbound.makeAsyncIterator()
                return .success(try await iterator.next())
            } catch {
                return .failure(error)
            }
        }
        let request: SpamdRequest
        switch received {
        case .success(.some(let decoded)):
            request = decoded
        case .success(.none):
            logger.debug("spamd connection closed without request")
            return SpamdConnectionOutcome(request: nil, response: nil, wroteResponse: false)
        case .failure(let error as SpamdError):
            logger.notice(
                "spamd request rejected",
                metadata: ["spamd.error": "\(error.code)", "spamd.code": "\(error.exitCode.rawValue)"])
            let wrote = await self.write(error.response, to: outbound, logger: logger)
            return SpamdConnectionOutcome(request: nil, response: error.response, wroteResponse: wrote)
        case .failure(let error):
            logger.debug("spamd connection read failed", metadata: ["spamd.error": "\(error)"])
            return SpamdConnectionOutcome(request: nil, response: nil, wroteResponse: false)
        }

        logger[metadataKey: "spamd.method"] = "\(request.method.rawValue)"
        logger.debug(
            "spamd request received",
            metadata: [
                "spamd.version": "\(request.version)", "spamd.body_bytes": "\(request.body.count)",
                "spamd.compressed": "\(request.wasCompressed)",
            ])

        if request.method == .skip {
            return SpamdConnectionOutcome(request: request, response: .silent, wroteResponse: false)
        }

        // 2. Answer.
        let timeout = SpamdError.timeout(
            "(\(seconds(configuration.handlerTimeout)) second timeout while trying to \(request.method.rawValue))")
        let handlerLogger = logger
        let response = await self.race(deadline: configuration.handlerTimeout, on: eventLoop, onTimeout: timeout.response) {
            await self.response(to: request, handler: handler, logger: handlerLogger)
        }
        if response == timeout.response {
            logger.warning("spamd handler timed out")
        }

        // 3. Reply.
        let wrote = await self.write(response, to: outbound, logger: logger)
        logger.debug("spamd reply sent", metadata: ["spamd.code": "\(response.exitCode.rawValue)"])
        return SpamdConnectionOutcome(request: request, response: response, wroteResponse: wrote)
    }

    /// Asks `handler` and renders its answer for `request` (no timeout). Errors become error lines:
    /// ``SpamdError`` as itself, anything else as `EX_TEMPFAIL`.
    public static func response(
        to request: SpamdRequest, handler: some SpamdRequestHandler, logger: Logger
    ) async -> SpamdResponse {
        do {
            switch request.method {
            case .ping:
                try await handler.ping(request)
                return .pong
            case .skip:
                return .silent
            case .tell:
                let result = try await handler.tell(request)
                return SpamdResponse(replyingTo: request, tellResult: result)
            case .check, .symbols, .report, .reportIfSpam, .process, .headers:
                let verdict = try await handler.check(request)
                return SpamdResponse(replyingTo: request, verdict: verdict)
            }
        } catch let error as SpamdError {
            logger.notice(
                "spamd handler refused request",
                metadata: ["spamd.error": "\(error.code)", "spamd.code": "\(error.exitCode.rawValue)"])
            return error.response
        } catch is CancellationError {
            return SpamdError.temporaryFailure("(cancelled)").response
        } catch {
            logger.error("spamd handler failed", metadata: ["spamd.error": "\(error)"])
            return SpamdError.temporaryFailure("(internal error)").response
        }
    }

    // MARK: - Helpers

    private static func write(
        _ response: SpamdResponse, to outbound: NIOAsyncChannelOutboundWriter<SpamdResponse>, logger: Logger
    ) async -> Bool {
        do {
            try await outbound.write(response)
            return !response.isSilent
        } catch {
            logger.debug("spamd reply could not be written", metadata: ["spamd.error": "\(error)"])
            return false
        }
    }

    /// Runs `operation`, or returns `onTimeout` if it has not finished after `deadline`: with an
    /// event loop, a timer there cancels the operation (one task, no sleeping timer task); without,
    /// ``race(deadline:onTimeout:_:)``. Either way the operation is cancelled and awaited before
    /// this returns, and an operation that finished first is never reported as timed out.
    private static func race<Value: Sendable>(
        deadline: Duration, on eventLoop: (any EventLoop)?, onTimeout: Value,
        _ operation: @escaping @Sendable () async -> Value
    ) async -> Value {
        guard let eventLoop else { return await race(deadline: deadline, onTimeout: onTimeout, operation) }
        let state = RaceState()
        let task = Task {
            let value = await operation()
            state.finish()
            return value
        }
        let timer = eventLoop.scheduleTask(in: timeAmount(deadline)) {
            if state.timeOut() { task.cancel() }
        }
        let value = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        timer.cancel()
        return state.timedOut ? onTimeout : value
    }

    /// Who won a ``race(deadline:on:onTimeout:_:)``: the operation or its timer.
    private final class RaceState: Sendable {
        private static let running = 0, finished = 1, timedOutState = 2
        private let state = Atomic<Int>(RaceState.running)
        /// The operation finished (unless the timer won).
        func finish() { _ = state.compareExchange(expected: Self.running, desired: Self.finished, ordering: .acquiringAndReleasing) }
        /// The timer fired: true when the operation had not finished, so it must be cancelled.
        func timeOut() -> Bool {
            state.compareExchange(expected: Self.running, desired: Self.timedOutState, ordering: .acquiringAndReleasing).exchanged
        }
        var timedOut: Bool { state.load(ordering: .acquiring) == Self.timedOutState }
    }

    /// Runs `operation`, or returns `onTimeout` if it has not finished after `deadline`. The caller gets the
    /// timeout value at once; the operation is cancelled and awaited before this returns.
    private static func race<Value: Sendable>(
        deadline: Duration, onTimeout: Value, _ operation: @escaping @Sendable () async -> Value
    ) async -> Value {
        await withTaskGroup(of: Value?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                do {
                    try await Task.sleep(for: deadline)
                } catch {
                    return nil  // cancelled: the operation finished first
                }
                return onTimeout
            }
            var result = onTimeout
            while let next = await group.next() {
                if let value = next {
                    result = value
                    break
                }
            }
            group.cancelAll()
            return result
        }
    }

    private static func connectionLogger(_ logger: Logger) -> Logger {
        guard logger[metadataKey: "spamd.conn_id"] == nil else { return logger }
        var logger = logger
        let id = self.connectionCounter.wrappingAdd(1, ordering: .relaxed).newValue
        logger[metadataKey: "spamd.conn_id"] = "\(id)"
        return logger
    }
}

/// Whole seconds as spamd prints them (`30`); sub-second parts with up to three decimals (`0.3`).
private func seconds(_ duration: Duration) -> String {
    let (whole, attoseconds) = duration.components
    let millis = attoseconds / 1_000_000_000_000_000
    guard millis > 0 else { return "\(whole)" }
    var fraction = String(millis)
    fraction = String(repeating: "0", count: max(0, 3 - fraction.count)) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(whole).\(fraction)"
}

private func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return .nanoseconds(seconds < 0 ? 0 : Int64.max) }
    let (total, overflow2) = nanos.addingReportingOverflow(attoseconds / 1_000_000_000)
    return .nanoseconds(overflow2 ? Int64.max : max(0, total))
}
