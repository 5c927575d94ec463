import NIOCore
import NIOPosix
import SpamwardEdge
import Testing

/// The limit on open backend connections: a session over it waits in order, up to a deadline.
@Suite struct BackendSlotsTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    @Test func aWaiterGetsTheSlotThatIsReleased() async throws {
        let slots = BackendSlots(limit: 1)
        #expect(await slots.acquire(timeout: .seconds(60), on: loop))
        #expect(slots.inUse == 1)
        async let second = slots.acquire(timeout: .seconds(60), on: loop)
        // Give the second caller time to queue, then free the slot: it passes to the waiter.
        try await Task.sleep(for: .milliseconds(100))
        slots.release()
        #expect(await second)
        #expect(slots.inUse == 1)
        slots.release()
        #expect(slots.inUse == 0)
    }

    @Test func aWaiterGivesUpAtItsDeadline() async {
        let slots = BackendSlots(limit: 1)
        #expect(await slots.acquire(timeout: .seconds(60), on: loop))
        #expect(await !slots.acquire(timeout: .milliseconds(50), on: loop))
        #expect(slots.inUse == 1)
        // The timed-out waiter is gone: the release frees the slot.
        slots.release()
        #expect(slots.inUse == 0)
        #expect(await slots.acquire(timeout: .milliseconds(50), on: loop))
    }

    @Test func aCancelledWaiterGivesUp() async throws {
        let slots = BackendSlots(limit: 1)
        #expect(await slots.acquire(timeout: .seconds(60), on: loop))
        let waiter = Task { await slots.acquire(timeout: .seconds(60), on: loop) }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        #expect(await waiter.value == false)
        slots.release()
        #expect(slots.inUse == 0)
    }
}
