import Hummingbird
import NIOCore

/// The request context of Spamward's HTTP front ends: Hummingbird's core context plus the
/// client's address, which decides whether learning needs a password.
public struct SpamwardRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connected client (nil in router tests, which have no socket).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
