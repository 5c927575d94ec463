import Logging
import NIOCore
import SMTPProtocol
import Synchronization

/// What the connections' ``ScreeningHandler``s hand to the service's task group: the clients that
/// passed the screening before the greeting (a session task each) and the asynchronous work the
/// screening needs (a DNS-list lookup, a passed-client store that cannot answer at once: a child
/// task each). No handler starts a task of its own; both streams end when the service stops.
final class EdgeAcceptor: Sendable {
    typealias Work = @Sendable () async -> Void

    private let admitted: AsyncStream<AdmittedConnection>.Continuation
    private let work: AsyncStream<Work>.Continuation
    /// Connections open now (every accepted one, screened or in a session).
    let open = SharedCounter()
    /// The connection ids.
    let serial = SharedCounter()
    /// Sessions started (clients that passed the screening before the greeting).
    let sessions: SharedCounter
    let limiter: RateLimiter
    let logger: Logger
    /// Connections in the SMTP front (greeted, not handed to a session yet), by id; nil once the
    /// edge stopped accepting (they are then told 421 and closed).
    private let fronts = Mutex<[Int: any Channel]?>([:])

    init(admitted: AsyncStream<AdmittedConnection>.Continuation, work: AsyncStream<Work>.Continuation,
         sessions: SharedCounter, limiter: RateLimiter, logger: Logger)
    {
        self.admitted = admitted
        self.work = work
        self.sessions = sessions
        self.limiter = limiter
        self.logger = logger
    }

    /// Hands a client over for its session; false once the service stopped accepting.
    func admit(_ connection: AdmittedConnection) -> Bool {
        if case .enqueued = admitted.yield(connection) {
            sessions.add(1)
            return true
        }
        return false
    }

    /// Runs `job` as a child task of the service; false once the service stopped.
    func submit(_ job: @escaping Work) -> Bool {
        if case .enqueued = work.yield(job) { return true }
        return false
    }

    /// A connection enters the SMTP front; false once the edge stopped accepting.
    func enterFront(_ id: Int, _ channel: any Channel) -> Bool {
        fronts.withLock { f in
            guard f != nil else { return false }
            f?[id] = channel
            return true
        }
    }

    /// A connection left the SMTP front (handed off or closed).
    func leaveFront(_ id: Int) {
        _ = fronts.withLock { $0?.removeValue(forKey: id) }
    }

    /// No more sessions (the listener closed); the connections still in the front get 421 and
    /// are closed (they have no transaction to finish).
    func stopAdmitting() {
        admitted.finish()
        let open = fronts.withLock { f -> [Int: any Channel] in
            defer { f = nil }
            return f ?? [:]
        }
        for channel in open.values {
            channel.writeAndFlush(SMTPReply(421, "4.3.2 Service shutting down").bytes).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    /// No more work (every session ended).
    func stopWork() { work.finish() }
}
