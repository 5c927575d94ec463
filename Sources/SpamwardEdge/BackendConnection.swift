import NIOCore
import NIOPosix
import SMTPProtocol

/// Why talking to the backend failed.
public struct BackendError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case connectFailed, timeout, closed, protocolError }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        public static let connectFailed = Code(.connectFailed)
        public static let timeout = Code(.timeout)
        public static let closed = Code(.closed)
        public static let protocolError = Code(.protocolError)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var description: String { "BackendError(\(code)): \(message)" }
}

/// Queues reply promises and fulfils them in order as replies arrive.
final class BackendReplyHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPReply
    private var pending: CircularBuffer<EventLoopPromise<SMTPReply>> = []
    /// Replies that arrived before anyone asked (the greeting can beat the first `expect`).
    private var early: CircularBuffer<SMTPReply> = []
    private var failure: BackendError?

    /// Waits for the next reply (in order).
    func expect(_ promise: EventLoopPromise<SMTPReply>) {
        if let reply = early.popFirst() {
            promise.succeed(reply)
        } else if let failure {
            promise.fail(failure)
        } else {
            pending.append(promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        if let p = pending.popFirst() {
            p.succeed(reply)
        } else if early.count < 16 {
            early.append(reply)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(BackendError(code: .closed, message: "backend closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(BackendError(code: .protocolError, message: "\(error)"))
        context.close(promise: nil)
    }

    func failAll(_ error: BackendError) {
        failure = failure ?? error
        while let p = pending.popFirst() { p.fail(error) }
    }
}

@available(*, unavailable)
extension BackendReplyHandler: Sendable {}

/// One SMTP client connection to the backend MTA: send a command, await its reply, in order.
/// Every reply has a deadline; a missed one closes the connection (so nothing half-done is
/// ever completed later).
final class BackendConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<BackendReplyHandler>
    let timeout: TimeAmount
    /// The greeting's reply.
    let greeting: SMTPReply

    private init(channel: any Channel, handler: NIOLoopBound<BackendReplyHandler>, timeout: TimeAmount, greeting: SMTPReply) {
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
        self.greeting = greeting
    }

    /// Connects and reads the greeting.
    static func connect(host: String, port: Int, group: any EventLoopGroup, timeout: TimeAmount) async throws(BackendError) -> BackendConnection {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(SMTPReplyDecoder(), maximumBufferSize: 64 * 1024))
                        try channel.pipeline.syncOperations.addHandler(BackendReplyHandler())
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw BackendError(code: .connectFailed, message: "\(host):\(port): \(error)")
        }
        let handler: NIOLoopBound<BackendReplyHandler>
        do {
            handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: BackendReplyHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            channel.close(promise: nil)
            throw BackendError(code: .protocolError, message: "\(error)")
        }
        let greeting = try await Self.exchange(channel: channel, handler: handler, bytes: nil, timeout: timeout)
        return BackendConnection(channel: channel, handler: handler, timeout: timeout, greeting: greeting)
    }

    /// Sends one command line and waits for its reply.
    func command(_ line: String) async throws(BackendError) -> SMTPReply {
        var b = channel.allocator.buffer(capacity: line.utf8.count + 2)
        b.writeString(line)
        b.writeString("\r\n")
        return try await send(b)
    }

    /// Sends raw bytes (a dot-stuffed message with its end) and waits for one reply.
    func send(_ bytes: ByteBuffer) async throws(BackendError) -> SMTPReply {
        try await Self.exchange(channel: channel, handler: handler, bytes: bytes, timeout: timeout)
    }

    private static func exchange(channel: any Channel, handler: NIOLoopBound<BackendReplyHandler>, bytes: ByteBuffer?, timeout: TimeAmount)
        async throws(BackendError) -> SMTPReply
    {
        let loop = channel.eventLoop
        let future = loop.flatSubmit {
            let promise = loop.makePromise(of: SMTPReply.self)
            handler.value.expect(promise)
            if let bytes { channel.writeAndFlush(bytes, promise: nil) }
            let deadline = loop.scheduleTask(in: timeout) {
                promise.fail(BackendError(code: .timeout, message: "no reply within \(timeout)"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            return promise.futureResult
        }
        do {
            return try await future.get()
        } catch let e as BackendError {
            throw e
        } catch {
            throw BackendError(code: .protocolError, message: "\(error)")
        }
    }

    /// Closes without QUIT: an unfinished transaction is aborted by the backend.
    func abort() {
        channel.close(promise: nil)
    }

    /// QUIT (best effort), then close.
    func quit() async {
        _ = try? await command("QUIT")
        channel.close(promise: nil)
    }
}

/// xtext (RFC 3461 §4) for XCLIENT/XFORWARD values.
func xtext(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        if b < 33 || b > 126 || b == UInt8(ascii: "+") || b == UInt8(ascii: "=") {
            out += "+" + String(b, radix: 16, uppercase: true).leftPadded(2)
        } else {
            out.unicodeScalars.append(Unicode.Scalar(b))
        }
    }
    return out
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// The message dot-stuffed, ending in CRLF, followed by the end-of-data line.
func dotStuffed(_ message: [UInt8], into buffer: inout ByteBuffer) {
    buffer.reserveCapacity(message.count + message.count / 64 + 8)
    var atLineStart = true
    var runStart = 0
    var i = 0
    while i < message.count {
        let b = message[i]
        if atLineStart && b == UInt8(ascii: ".") {
            buffer.writeBytes(message[runStart..<i])
            buffer.writeInteger(UInt8(ascii: "."))
            runStart = i
        }
        atLineStart = b == 0x0A
        i += 1
    }
    buffer.writeBytes(message[runStart...])
    if !message.isEmpty && message.last != 0x0A { buffer.writeBytes([0x0D, 0x0A]) }
    buffer.writeString(".\r\n")
}
