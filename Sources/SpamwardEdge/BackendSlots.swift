import NIOCore
import Synchronization

/// At most `limit` backend connections open at once (``EdgeConfiguration/maxBackendConnections``);
/// a session that needs one more waits in order, up to a deadline. Without it, when more
/// clients reach MAIL than the backend's smtpd processes can take, the extra connects overflow
/// the backend's accept queue and wait in TCP's SYN backoff (1, 3, 7, 15, 31 s), in no order.
package final class BackendSlots: Sendable {
    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Bool, Never>
    }
    private struct State {
        var open = 0
        var nextID = 0
        var waiters: [Waiter] = []
    }
    package let limit: Int
    private let state = Mutex(State())

    package init(limit: Int) { self.limit = max(1, limit) }

    /// Takes a slot: true at once when one is free, else when one is released to this caller
    /// (first come, first served); false after `timeout` or when the task is cancelled. A slot
    /// taken must be given back with ``release()``.
    package func acquire(timeout: TimeAmount, on loop: any EventLoop) async -> Bool {
        let limit = self.limit
        let id: Int? = state.withLock { s in
            if s.open < limit && s.waiters.isEmpty {
                s.open += 1
                return nil
            }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                state.withLock { $0.waiters.append(Waiter(id: id, continuation: c)) }
                // Cancelled before the handler was installed: its onCancel found no waiter yet.
                if Task.isCancelled { giveUp(id) }
                // Bounded: the waiter gives up at the deadline (a no-op once it got its slot).
                loop.scheduleTask(in: timeout) { self.giveUp(id) }
            }
        } onCancel: {
            giveUp(id)
        }
    }

    /// Gives a slot back: to the first waiter, or free.
    package func release() {
        let next: CheckedContinuation<Bool, Never>? = state.withLock { s in
            if s.waiters.isEmpty {
                s.open = max(0, s.open - 1)
                return nil
            }
            return s.waiters.removeFirst().continuation  // the slot passes to it; `open` stays
        }
        next?.resume(returning: true)
    }

    /// Slots taken now (tests).
    package var inUse: Int { state.withLock { $0.open } }

    private func giveUp(_ id: Int) {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { s in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i).continuation
        }
        waiter?.resume(returning: false)
    }
}
