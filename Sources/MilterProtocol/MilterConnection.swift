import Logging
import NIOCore
import Synchronization

/// Runs the filter side of milter connections over `NIOAsyncChannel`.
///
/// ```swift
/// let server = try await ServerBootstrap(group: group)
///     .bind(host: "127.0.0.1", port: 8891) { channel in
///         channel.eventLoop.makeCompletedFuture {
///             try MilterConnection.makeAsyncChannel(wrapping: channel, configuration: configuration)
///         }
///     }
/// try await server.executeThenClose { connections in
///     try await withThrowingDiscardingTaskGroup { group in
///         for try await connection in connections {
///             group.addTask {
///                 try? await MilterConnection.run(
///                     channel: connection, configuration: configuration, logger: logger
///                 ) { transaction in try await verdict(for: transaction) }
///             }
///         }
///     }
/// }
/// ```
public enum MilterConnection {
    /// The decision function: called once per message at end of message.
    public typealias Decide = @Sendable (MilterTransaction) async throws -> MilterDecision

    /// Adds the frame decoder (bounded by ``MilterConfiguration/maximumFrameSize``) and the response
    /// encoder to `channel`'s pipeline. Must run on the channel's event loop.
    public static func configurePipeline(on channel: any Channel, configuration: MilterConfiguration) throws {
        let frameLimit = max(1, configuration.maximumFrameSize)
        let bufferLimit = frameLimit > Int.max / 4 ? Int.max : frameLimit * 2 + 4096
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(
            ByteToMessageHandler(MilterCommandDecoder(maximumFrameSize: frameLimit), maximumBufferSize: bufferLimit))
        try operations.addHandler(MessageToByteHandler(MilterResponseEncoder()))
    }

    /// Configures the pipeline (see ``configurePipeline(on:configuration:)``) and wraps the channel
    /// into a `NIOAsyncChannel` of commands and responses. Must run on the channel's event loop,
    /// e.g. inside `ServerBootstrap.bind`'s channel initializer.
    public static func makeAsyncChannel(
        wrapping channel: any Channel, configuration: MilterConfiguration
    ) throws -> NIOAsyncChannel<MilterCommand, MilterResponse> {
        try self.configurePipeline(on: channel, configuration: configuration)
        return try NIOAsyncChannel<MilterCommand, MilterResponse>(wrappingChannelSynchronously: channel)
    }

    /// Serves one connection until the MTA quits or disconnects, then closes the channel.
    ///
    /// Protocol errors, decoder errors, idle timeouts and I/O errors end the session and are logged;
    /// they are not thrown.
    public static func run(
        channel: NIOAsyncChannel<MilterCommand, MilterResponse>,
        configuration: MilterConfiguration,
        logger: Logger,
        decide: @escaping Decide
    ) async throws {
        try await channel.executeThenClose { inbound, outbound in
            await self.run(
                inbound: inbound, outbound: outbound, configuration: configuration, logger: logger, decide: decide)
        }
    }

    /// Serves one connection from an inbound command stream and an outbound response writer.
    ///
    /// - Each command goes through a ``MilterSessionStateMachine``; replies are written as it says.
    /// - At end of message `decide` runs, bounded by ``MilterConfiguration/decisionTimeout``; if it
    ///   throws or times out, ``MilterConfiguration/faultAction`` is answered (tempfail by default).
    /// - A protocol error is answered with tempfail (when the command expects a reply) and ends the session.
    /// - If the MTA sends nothing for ``MilterConfiguration/idleTimeout`` while the filter waits, the
    ///   session ends.
    ///
    /// The function returns when the session ends; the caller closes the channel (or use
    /// ``run(channel:configuration:logger:decide:)``, which does). Logs use the metadata key
    /// `milter.conn_id` (added if `logger` lacks it) and `mail.queue_id`.
    public static func run(
        inbound: NIOAsyncChannelInboundStream<MilterCommand>,
        outbound: NIOAsyncChannelOutboundWriter<MilterResponse>,
        configuration: MilterConfiguration,
        logger: Logger,
        decide: @escaping Decide
    ) async {
        var logger = logger
        if logger[metadataKey: "milter.conn_id"] == nil {
            logger[metadataKey: "milter.conn_id"] = "\(Self.makeConnectionID())"
        }
        let watchdog = IdleWatchdog(timeout: configuration.idleTimeout)
        let sessionLogger = logger
        let outcome: SessionOutcome
        do {
            outcome = try await withThrowingTaskGroup(of: SessionOutcome.self) { group in
                group.addTask {
                    await Self.session(
                        inbound: inbound, outbound: outbound, configuration: configuration, logger: sessionLogger,
                        watchdog: watchdog, decide: decide)
                }
                group.addTask {
                    try await watchdog.wait()
                    return .idleTimeout
                }
                let first = try await group.next() ?? .finished
                group.cancelAll()
                return first
            }
        } catch {
            outcome = .finished
        }
        switch outcome {
        case .finished:
            logger.debug("milter session ended")
        case .idleTimeout:
            logger.warning("milter session idle timeout, closing connection")
        }
    }

    // MARK: - Internals

    private enum SessionOutcome: Sendable {
        case finished
        case idleTimeout
    }

    private static func makeConnectionID() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    private static func session(
        inbound: NIOAsyncChannelInboundStream<MilterCommand>,
        outbound: NIOAsyncChannelOutboundWriter<MilterResponse>,
        configuration: MilterConfiguration,
        logger: Logger,
        watchdog: IdleWatchdog,
        decide: @escaping Decide
    ) async -> SessionOutcome {
        var stateMachine = MilterSessionStateMachine(configuration: configuration)
        do {
            for try await command in inbound {
                watchdog.touch()
                logger.trace("milter command", metadata: ["milter.command": "\(command.name)"])
                switch stateMachine.receive(command) {
                case .reply(let response):
                    if case .optionNegotiation(let options) = response {
                        logger.debug(
                            "milter options negotiated",
                            metadata: [
                                "milter.version": "\(options.version)",
                                "milter.actions": "\(options.actions.rawValue)",
                                "milter.protocol": "\(options.protocolFlags.rawValue)",
                            ])
                    }
                    try await outbound.write(response)
                case .noReply:
                    break
                case .close:
                    return .finished
                case .protocolError(let error):
                    logger.warning(
                        "milter protocol error",
                        metadata: [
                            "milter.error": "\(error.code)", "milter.error_message": "\(error.message)",
                        ])
                    if command.expectsReply {
                        try await outbound.write(.tempfail)
                    }
                    return .finished
                case .evaluate(let transaction):
                    watchdog.pause()
                    var messageLogger = logger
                    if let queueID = transaction.queueID {
                        messageLogger[metadataKey: "mail.queue_id"] = "\(queueID)"
                    }
                    let responses = await Self.evaluate(
                        transaction, stateMachine: &stateMachine, outbound: outbound, configuration: configuration,
                        logger: messageLogger, decide: decide)
                    try await outbound.write(contentsOf: responses)
                    watchdog.touch()
                }
            }
            return .finished
        } catch let error as MilterProtocolError {
            logger.warning(
                "milter protocol error",
                metadata: ["milter.error": "\(error.code)", "milter.error_message": "\(error.message)"])
            return .finished
        } catch is CancellationError {
            return .finished
        } catch {
            logger.info("milter connection error", metadata: ["milter.error": "\(String(describing: error))"])
            return .finished
        }
    }

    private enum DecisionOutcome: Sendable {
        case decided(MilterDecision)
        case failed(String)
        case timedOut
        case progressStopped
    }

    private static func evaluate(
        _ transaction: MilterTransaction,
        stateMachine: inout MilterSessionStateMachine,
        outbound: NIOAsyncChannelOutboundWriter<MilterResponse>,
        configuration: MilterConfiguration,
        logger: Logger,
        decide: @escaping Decide
    ) async -> [MilterResponse] {
        logger.debug(
            "milter message complete",
            metadata: [
                "mail.size": "\(transaction.messageSize)", "mail.truncated": "\(transaction.truncated)",
                "mail.recipients": "\(transaction.recipients.count + transaction.droppedRecipients)",
            ])
        let timeout = configuration.decisionTimeout
        let progressInterval = configuration.progressInterval
        let outcome: DecisionOutcome = await withTaskGroup(of: DecisionOutcome.self) { group in
            group.addTask {
                do {
                    return .decided(try await decide(transaction))
                } catch {
                    return .failed(String(describing: error))
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return .progressStopped
                }
            }
            if let interval = progressInterval {
                group.addTask {
                    do {
                        while true {
                            try await Task.sleep(for: interval)
                            try await outbound.write(.progress)
                        }
                    } catch {
                        return .progressStopped
                    }
                }
            }
            var result = DecisionOutcome.timedOut
            while let next = await group.next() {
                if case .progressStopped = next { continue }
                result = next
                break
            }
            group.cancelAll()
            return result
        }
        let responses: [MilterResponse]
        switch outcome {
        case .decided(let decision):
            responses = stateMachine.decide(decision)
            if stateMachine.droppedModifications > 0 {
                logger.warning(
                    "milter modifications dropped, action not granted by MTA",
                    metadata: ["milter.dropped": "\(stateMachine.droppedModifications)"])
            }
        case .failed(let description):
            logger.error(
                "milter decision failed, answering fault action",
                metadata: ["milter.error": "\(description)", "milter.fault_action": "\(configuration.faultAction)"])
            responses = stateMachine.fault(configuration.faultAction)
        case .timedOut, .progressStopped:
            logger.error(
                "milter decision timed out, answering fault action",
                metadata: ["milter.fault_action": "\(configuration.faultAction)"])
            responses = stateMachine.fault(configuration.faultAction)
        }
        logger.debug(
            "milter message answered",
            metadata: ["milter.responses": "\(responses.map { String(UnicodeScalar($0.code)) }.joined())"])
        return responses
    }
}

/// Tracks the deadline for the MTA's next command; paused while the filter itself is busy.
private final class IdleWatchdog: Sendable {
    private let timeout: Duration
    private let deadline: Mutex<ContinuousClock.Instant?>

    init(timeout: Duration) {
        self.timeout = timeout
        self.deadline = Mutex(ContinuousClock.now.advanced(by: timeout))
    }

    func touch() {
        let next = ContinuousClock.now.advanced(by: self.timeout)
        self.deadline.withLock { $0 = next }
    }

    func pause() {
        self.deadline.withLock { $0 = nil }
    }

    /// Returns when the deadline passes; throws `CancellationError` when cancelled.
    func wait() async throws {
        while true {
            let deadline = self.deadline.withLock { $0 }
            let now = ContinuousClock.now
            if let deadline {
                if now >= deadline { return }
                try await Task.sleep(until: deadline, clock: .continuous)
            } else {
                try await Task.sleep(for: self.timeout)
            }
        }
    }
}
