import DNSWire
import NIOCore
import NIOPosix

/// Why one exchange with one server produced no message.
enum DNSExchangeFailure: Error {
    case timeout
    case closed
    case malformed(String)
    case network(String)
}

/// Waits for the datagram that answers `query` from `server`; everything else is dropped and
/// counted. Completes `promise` once: with the answer, or a failure on timeout or close.
final class UDPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let server: SocketAddress
    private let query: DNSMessage
    private let promise: EventLoopPromise<DNSMessage>
    private let timeout: TimeAmount
    private let onStray: @Sendable () -> Void
    private var timer: Scheduled<Void>?

    init(
        server: SocketAddress, query: DNSMessage, promise: EventLoopPromise<DNSMessage>, timeout: TimeAmount,
        onStray: @escaping @Sendable () -> Void
    ) {
        self.server = server
        self.query = query
        self.promise = promise
        self.timeout = timeout
        self.onStray = onStray
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = self.promise
        timer = context.eventLoop.scheduleTask(in: timeout) { promise.fail(DNSExchangeFailure.timeout) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == server, let bytes = envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes),
            DNSMessage.peekID(bytes) == query.id
        else {
            onStray()
            return
        }
        do {
            let answer = try DNSMessage(decoding: bytes)
            guard answer.flags.isResponse, answer.questions.count == 1, let q = query.questions.first,
                answer.questions[0].matches(q)
            else {
                onStray()
                return
            }
            timer?.cancel()
            promise.succeed(answer)
        } catch {
            timer?.cancel()
            promise.fail(DNSExchangeFailure.malformed(error.description))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors on an unconnected socket are not reported; anything else ends the try.
        timer?.cancel()
        promise.fail(DNSExchangeFailure.network("\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        promise.fail(DNSExchangeFailure.closed)
    }
}

@available(*, unavailable)
extension UDPAnswerHandler: Sendable {}

/// Reads one length-prefixed answer from a TCP connection (RFC 1035 section 4.2.2, RFC 7766).
final class TCPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let query: DNSMessage
    private let promise: EventLoopPromise<DNSMessage>
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var buffer: ByteBuffer?

    init(query: DNSMessage, promise: EventLoopPromise<DNSMessage>, timeout: TimeAmount) {
        self.query = query
        self.promise = promise
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = self.promise
        timer = context.eventLoop.scheduleTask(in: timeout) { promise.fail(DNSExchangeFailure.timeout) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil {
            buffer = incoming
        } else {
            buffer?.writeBuffer(&incoming)
        }
        guard let buffer, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return }
        // Bounded: the exchange ends as soon as 2 + length (at most 65,537) bytes are here.
        guard buffer.readableBytes >= 2 + Int(length),
            let bytes = buffer.getBytes(at: buffer.readerIndex + 2, length: Int(length))
        else { return }
        do {
            let answer = try DNSMessage(decoding: bytes)
            guard answer.id == query.id, answer.flags.isResponse, answer.questions.count == 1,
                let q = query.questions.first, answer.questions[0].matches(q)
            else {
                finish(.failure(DNSExchangeFailure.malformed("TCP answer does not match the query")), context: context)
                return
            }
            finish(.success(answer), context: context)
        } catch {
            finish(.failure(DNSExchangeFailure.malformed(error.description)), context: context)
        }
    }

    private func finish(_ result: Result<DNSMessage, any Error>, context: ChannelHandlerContext) {
        timer?.cancel()
        promise.completeWith(result)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(DNSExchangeFailure.network("\(error)")), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        promise.fail(DNSExchangeFailure.closed)
    }
}

@available(*, unavailable)
extension TCPAnswerHandler: Sendable {}
