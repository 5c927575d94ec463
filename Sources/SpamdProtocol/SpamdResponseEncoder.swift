import NIOCore

/// Writes ``SpamdResponse``s as bytes and, by default, closes the connection once the reply has been written —
/// spamd answers one request per connection and the client reads the body until EOF.
///
/// Closing only after the write completed matters: the client has usually half-closed already, and closing the
/// channel while a large reply is still queued would discard it.
public final class SpamdResponseEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = SpamdResponse
    public typealias OutboundOut = ByteBuffer

    private let closeAfterResponse: Bool

    /// Creates the encoder; `closeAfterResponse` closes the channel after each reply is written (spamd's behaviour).
    public init(closeAfterResponse: Bool = true) {
        self.closeAfterResponse = closeAfterResponse
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let response = Self.unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count + 128)
        response.encode(into: &buffer)
        guard self.closeAfterResponse else {
            context.write(Self.wrapOutboundOut(buffer), promise: promise)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { result in
            context.close(promise: nil)
            promise?.completeWith(result)
        }
        if buffer.readableBytes == 0 {
            written.succeed(())
        } else {
            context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: written)
        }
    }
}

@available(*, unavailable)
extension SpamdResponseEncoder: Sendable {}
