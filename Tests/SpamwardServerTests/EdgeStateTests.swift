import Foundation
import Logging
import MailAuth
import NIOCore
import NIOPosix
import ServiceLifecycle
import SpamwardCore
import SpamwardEdge
import SpamwardServer
import SpamwardStoreSQLite
import Synchronization
import Testing

/// The edge's temporary allowlist and greylisting triplets in the SQLite store: they survive a
/// restart (a new store on the same file), expired entries are purged, and a client that
/// passed before the restart skips the pregreet wait after it.
@Suite struct EdgeStateTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("edge-state-\(UUID().uuidString)/s.sqlite").path
    }

    @Test func passedClientsSurviveARestartAndExpiredOnesArePurged() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let t: Int64 = 1_700_000_000
        do {
            let state = try await SQLiteEdgeState.open(store: try SQLiteModelStore(path: path), logger: Self.quiet, now: { t })
            await state.recordPassed(IPAddress("192.0.2.7")!, expires: t + 100)
            await state.recordPassed(IPAddress("2001:db8::1")!, expires: t + 100)
            await state.recordPassed(IPAddress("192.0.2.8")!, expires: t + 10)
            #expect(await state.hasPassed(IPAddress("192.0.2.8")!, now: t))
        }
        // Restart, 50 s later: the long entries are back, the short one expired and is gone.
        let store = try SQLiteModelStore(path: path)
        let state = try await SQLiteEdgeState.open(store: store, logger: Self.quiet, now: { t + 50 })
        #expect(await state.hasPassed(IPAddress("192.0.2.7")!, now: t + 50))
        #expect(await state.hasPassed(IPAddress("2001:db8::1")!, now: t + 50))
        #expect(!(await state.hasPassed(IPAddress("192.0.2.8")!, now: t + 50)))
        #expect(!(await state.hasPassed(IPAddress("192.0.2.9")!, now: t + 50)))
        #expect(try await store.edgePassedClients(now: 0).map(\.address).sorted() == ["192.0.2.7", "2001:db8::1"])
        // ... and they expire in turn.
        #expect(!(await state.hasPassed(IPAddress("192.0.2.7")!, now: t + 100)))
        #expect(await state.purgeExpired(now: t + 100) == 2)
        #expect(try await store.edgePassedClients(now: 0).isEmpty)
    }

    @Test func greylistTripletsSurviveARestart() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        var c = GreylistConfiguration()
        c.enabled = true
        c.delaySeconds = 60
        let t: Int64 = 1_700_000_000
        let client = IPAddress("198.51.100.20")!
        do {
            let state = try await SQLiteEdgeState.open(store: try SQLiteModelStore(path: path), logger: Self.quiet, now: { t })
            let greylist = Greylist(configuration: c)
            let first = greylist.checkTriplet(address: client, sender: "a@example.com", recipient: "b@example.org", now: t)
            #expect(first.wait == 60)
            let save = try #require(first.save)
            await state.saveTriplet(save)
        }
        // After a restart the retry 61 s later passes (a fresh greylist would say "wait" again).
        let state = try await SQLiteEdgeState.open(store: try SQLiteModelStore(path: path), logger: Self.quiet, now: { t + 61 })
        let greylist = Greylist(configuration: c)
        greylist.restore(await state.loadTriplets(since: t + 61 - greylist.retentionSeconds))
        #expect(greylist.check(address: client, sender: "a@example.com", recipient: "b@example.org", now: t + 61) == nil)
        let fresh = Greylist(configuration: c)
        #expect(fresh.check(address: client, sender: "a@example.com", recipient: "b@example.org", now: t + 61) == 60)
        // Old triplets are purged.
        await state.purgeTriplets(before: t + 1)
        #expect(await state.loadTriplets(since: 0).isEmpty)
    }

    @Test func oldTripletsArePurgedHourlyWhileRunning() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let clock = Atomic<Int64>(1_700_000_000)
        let store = try SQLiteModelStore(path: path)
        let state = try await SQLiteEdgeState.open(store: store, logger: Self.quiet, now: { clock.load(ordering: .relaxed) })
        let t = clock.load(ordering: .relaxed)
        await state.purgeTriplets(before: t - 86_400)  // what the edge does at start: retention one day
        await state.saveTriplet(GreylistTriplet(key: "old", first: t - 10, last: t - 10, passed: false))
        await state.saveTriplet(GreylistTriplet(key: "new", first: t, last: t, passed: false))
        #expect(await state.loadTriplets(since: 0).count == 2)
        // A day and an hour later, the next save purges "old" (last used over a day ago).
        clock.add(86_400 + 3600, ordering: .relaxed)
        let later = clock.load(ordering: .relaxed)
        await state.saveTriplet(GreylistTriplet(key: "newer", first: later, last: later, passed: false))
        #expect(await state.loadTriplets(since: 0).map(\.key).sorted() == ["newer"])
    }

    @Test func aClientThatPassedBeforeARestartSkipsThePregreetWait() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let now = WallClock.nowSeconds()
        do {
            let state = try await SQLiteEdgeState.open(store: try SQLiteModelStore(path: path), logger: Self.quiet)
            await state.recordPassed(IPAddress("127.0.0.77")!, expires: now + 3600)
        }
        let state = try await SQLiteEdgeState.open(store: try SQLiteModelStore(path: path), logger: Self.quiet)
        var c = EdgeConfiguration()
        c.listenHost = "127.0.0.1"
        c.listenPort = 0
        c.hostname = "edge.spamward.test"
        c.pregreetWaitMilliseconds = 3000
        let bound = Mutex<SocketAddress?>(nil)
        let edge = EdgeService(
            configuration: c, filter: SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: InMemoryStore()),
            passed: state, greylistStore: state, logger: Self.quiet, onBound: { a in bound.withLock { $0 = a } })
        let group = ServiceGroup(configuration: .init(services: [edge], logger: Self.quiet))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        var address: SocketAddress?
        let deadline = ContinuousClock.now + .seconds(180)  // a loaded machine binds late
        while address == nil && ContinuousClock.now < deadline {
            address = bound.withLock { $0 }
            if address == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let edgeAddress = try #require(address)
        // The passed client gets the final 220 at once (no pregreet test, so no 220- teaser);
        // another gets the 220- teaser and waits. (No timing assertion: a loaded machine stalls.)
        let passed = try await firstLine(from: "127.0.0.77", to: edgeAddress)
        #expect(passed.hasPrefix("220 "), "\(passed)")
        let other = try await firstLine(from: "127.0.0.78", to: edgeAddress)
        #expect(other.hasPrefix("220-"), "\(other)")
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// The first line the server sends to a client connecting from `source`.
    func firstLine(from source: String, to address: SocketAddress) async throws -> String {
        let lines = LineCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(lines) } }
            .connect(to: address).get()
        defer { channel.close(promise: nil) }
        for _ in 0..<1000 {
            if let l = lines.first { return l }
            try await Task.sleep(for: .milliseconds(5))
        }
        return lines.first ?? "(nothing)"
    }

    final class LineCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let bytes = Mutex<[UInt8]>([])
        var first: String? {
            bytes.withLock { b in b.firstIndex(of: 0x0A).map { String(decoding: b[..<$0], as: UTF8.self) } }
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let b = unwrapInboundIn(data)
            bytes.withLock { $0 += b.readableBytesView }
        }
    }
}
