// The simulation's clients as plain NIO channel handlers: one small state machine per
// connection, driven by the event loop, with no task, stream or string parsing per reply. The
// load generator shares the two cores with the edge and the backend, so it must cost as little
// as it can (docs/edge.md, "Simulation and throughput").
import NIOCore
import NIOPosix
import Synchronization

/// One client's script: reads final reply codes and answers them as a good client or a bot of
/// its kind would; completes `result` with the outcome (a reply code or the step that failed).
final class ScriptedClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let kind: Kind
    let index: Int
    let tag: String
    let result: EventLoopPromise<String>
    /// Final replies read so far.
    private var step = 0
    /// The outcome to report if the server closes now.
    private var onClose: String
    private var done = false
    /// Bytes of an incomplete reply line (bounded: a line over 4 KiB ends the client).
    private var partial: [UInt8] = []

    init(kind: Kind, index: Int, tag: String, result: EventLoopPromise<String>) {
        self.kind = kind
        self.index = index
        self.tag = tag
        self.result = result
        switch kind {
        case .pregreet, .denied, .burst: onClose = "0"
        case .pipelining, .listed, .good: onClose = "greeting"
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A pregreet bot talks before its turn.
        if kind == .pregreet { send("EHLO bot\r\n", context: context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(onClose, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish("error", context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            var start = 0
            for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
                if partial.isEmpty {
                    line(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), context: context)
                } else {
                    partial += bytes[start..<i]
                    let whole = partial
                    partial.removeAll(keepingCapacity: true)
                    whole.withUnsafeBytes { line($0, context: context) }
                }
                start = i + 1
            }
            if start < bytes.count { partial += bytes[start...] }
        }
        if partial.count > 4096 { finish("error", context: context) }
    }

    /// One reply line: continuation lines (`250-`) are skipped, a final line is a reply.
    private func line(_ l: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        guard !done else { return }
        if l.count >= 4, l[3] == UInt8(ascii: "-") { return }
        guard l.count >= 3, let code = Self.code(l) else {
            finish("error", context: context)
            return
        }
        step += 1
        reply(code, context: context)
    }

    private static func code(_ l: UnsafeRawBufferPointer) -> Int? {
        var n = 0
        for i in 0..<3 {
            let d = Int(l[i]) - Int(UInt8(ascii: "0"))
            guard (0...9).contains(d) else { return nil }
            n = n * 10 + d
        }
        return n
    }

    private func reply(_ code: Int, context: ChannelHandlerContext) {
        switch kind {
        case .pregreet:
            finish("\(code)", context: context)
        case .denied, .burst:
            if step == 1 {
                guard code == 220 else { return finish("\(code)", context: context) }
                onClose = "220"
                send("QUIT\r\n", context: context)
            } else {
                finish("220", context: context)
            }
        case .pipelining:
            switch step {
            case 1:
                guard code == 220 else { return finish("greeting", context: context) }
                onClose = "0"
                send("EHLO bot.example.net\r\nMAIL FROM:<bot@example.net>\r\nRCPT TO:<inbox@spamward.test>\r\nDATA\r\n", context: context)
            case 2, 3:
                break
            default:
                finish("\(code)", context: context)
            }
        case .listed, .good:
            switch step {
            case 1:
                guard code == 220 else { return finish("greeting", context: context) }
                onClose = "ehlo"
                send("EHLO host\(index).example.com\r\n", context: context)
            case 2:
                guard code == 250 else { return finish("ehlo", context: context) }
                onClose = "mail"
                send("MAIL FROM:<s\(index)@example.com>\r\n", context: context)
            case 3:
                guard code == 250 else { return finish("mail", context: context) }
                onClose = "0"
                send("RCPT TO:<inbox@spamward.test>\r\n", context: context)
            case 4:
                guard code == 250 else { return finish("\(code)", context: context) }
                onClose = "data"
                send("DATA\r\n", context: context)
            case 5:
                guard code == 354 else { return finish("data", context: context) }
                onClose = "0"
                send(message(tag: kind == .good ? tag : "\(tag)-bot", i: index), context: context)
            case 6:
                onClose = "\(code)"
                send("QUIT\r\n", context: context)
            default:
                finish(onClose, context: context)
            }
        }
    }

    private func send(_ s: String, context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: s.utf8.count)
        out.writeString(s)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    private func finish(_ outcome: String, context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        result.succeed(outcome)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ScriptedClient: Sendable {}

/// Runs jobs with at most `width` connections open at once, each started from the completion
/// of another (no task per client).
final class ScriptedRun: Sendable {
    private struct State {
        var next = 0
        var finished = 0
        var counts: [Outcome: Int] = [:]
    }
    private let jobs: [(Kind, Int)]
    private let port: Int
    private let tag: String
    private let group: any EventLoopGroup
    private let clientTimeout: TimeAmount
    /// The server's address, made once.
    private let target: Result<SocketAddress, any Error>
    private let state = Mutex(State())
    private let done: EventLoopPromise<[Outcome: Int]>

    init(jobs: [(Kind, Int)], port: Int, tag: String, group: any EventLoopGroup, clientTimeoutSeconds: Int64) {
        self.jobs = jobs
        self.port = port
        self.tag = tag
        self.group = group
        clientTimeout = .seconds(clientTimeoutSeconds)
        target = Result { try SocketAddress(ipAddress: "127.0.0.1", port: port) }
        done = group.next().makePromise(of: [Outcome: Int].self)
    }

    /// The outcomes of all jobs, by kind and result.
    func run(width: Int) async -> [Outcome: Int] {
        guard !jobs.isEmpty else { return [:] }
        for _ in 0..<min(width, jobs.count) { startNext() }
        return (try? await done.futureResult.get()) ?? [:]
    }

    private func startNext() {
        let job: (Kind, Int)? = state.withLock { s in
            guard s.next < jobs.count else { return nil }
            defer { s.next += 1 }
            return jobs[s.next]
        }
        guard let (kind, i) = job else { return }
        let loop = group.next()
        let result = loop.makePromise(of: String.self)
        let from = kind == .burst ? "127.1.240.1" : source(kind, i)
        let tag = self.tag
        let timeout = clientTimeout
        let connected: EventLoopFuture<any Channel>
        do {
            // To the address itself: `connect(host:port:)` would resolve "127.0.0.1" and run the
            // Happy Eyeballs state machine (with its timers) for every client.
            connected = ClientBootstrap(group: loop)
                .bind(to: try SocketAddress(ipAddress: from, port: 0))
                .connectTimeout(.seconds(10))
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(ScriptedClient(kind: kind, index: i, tag: tag, result: result))
                    }
                }
                .connect(to: try target.get())
        } catch {
            connected = loop.makeFailedFuture(error)
        }
        connected.whenComplete { r in
            switch r {
            case .success(let channel):
                // Bounded: a client that gets no answer is closed (its outcome: the step it was at).
                let timer = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
                result.futureResult.whenComplete { _ in timer.cancel() }
            case .failure:
                result.succeed("error")
            }
        }
        result.futureResult.whenSuccess { outcome in self.record(Outcome(kind: kind, result: outcome)) }
    }

    private func record(_ o: Outcome) {
        let all: [Outcome: Int]? = state.withLock { s in
            s.counts[o, default: 0] += 1
            s.finished += 1
            return s.finished == jobs.count ? s.counts : nil
        }
        if let all { done.succeed(all) } else { startNext() }
    }
}
