import NIOCore
import Synchronization

/// Idle backend connections kept for reuse between client sessions (forwarding `xforward` or
/// `none` only: after XCLIENT the backend treats the connection as the client's own and refuses
/// a second XCLIENT for another client, so XCLIENT connections are never shared).
///
/// A connection enters the pool only after its session ended with QUIT and the backend answered
/// RSET with 250, so it never carries a transaction. Last in, first out; connections idle longer
/// than `maxIdleMilliseconds` or closed by the backend are dropped when met. Bounded by
/// `capacity`.
final class BackendPool: Sendable {
    struct Idle: Sendable {
        let connection: BackendConnection
        /// The backend offered XFORWARD in its EHLO reply.
        let offersXForward: Bool
        let since: Int64
    }

    let capacity: Int
    let maxIdleMilliseconds: Int64
    private let idle = Mutex<[Idle]>([])

    init(capacity: Int, maxIdleMilliseconds: Int64) {
        self.capacity = capacity
        self.maxIdleMilliseconds = maxIdleMilliseconds
    }

    /// The most recently returned live connection, if any.
    func take() -> Idle? {
        let now = MonotonicClock.nowMilliseconds()
        var stale: [BackendConnection] = []
        let got = idle.withLock { list -> Idle? in
            while let last = list.popLast() {
                if now - last.since > maxIdleMilliseconds || !last.connection.channel.isActive {
                    stale.append(last.connection)
                    continue
                }
                return last
            }
            return nil
        }
        for c in stale { c.abort() }
        return got
    }

    /// Keeps `connection` for reuse; false when the pool is full (the caller closes it).
    func put(_ connection: BackendConnection, offersXForward: Bool) -> Bool {
        let entry = Idle(connection: connection, offersXForward: offersXForward, since: MonotonicClock.nowMilliseconds())
        return idle.withLock { list in
            guard list.count < capacity else { return false }
            list.append(entry)
            return true
        }
    }

    /// Closes every idle connection (the service stops).
    func closeAll() {
        let all = idle.withLock { list -> [Idle] in
            defer { list = [] }
            return list
        }
        for c in all { c.connection.abort() }
    }
}
