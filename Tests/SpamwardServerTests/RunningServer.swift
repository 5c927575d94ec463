import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SpamwardCore
import SpamwardServer
import Synchronization

/// `SpamwardServices` running in-process on loopback port 0, as `spamward serve` runs them.
final class RunningServer: Sendable {
    let group: ServiceGroup
    let ports: PortBook
    let filter: SpamFilter

    /// Starts the front ends `configure` leaves enabled and waits until each is listening.
    static func start(
        store: InMemoryStore = InMemoryStore(), _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> (RunningServer, Task<Void, any Error>) {
        var c = ServerConfiguration()
        c.milter.listen = ListenAddress(host: "127.0.0.1", port: 0)
        c.spamd.listen = ListenAddress(host: "127.0.0.1", port: 0)
        c.http.listen = ListenAddress(host: "127.0.0.1", port: 0)
        c.rspamd.listen = ListenAddress(host: "127.0.0.1", port: 0)
        configure(&c)
        let filter = makeFilter(store: store, policy: c.policy)
        let ports = PortBook()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let services = SpamwardServices(configuration: c, filter: filter, logger: logger, onBound: { name, address in
            ports.set(name, address.port ?? 0)
        })
        let server = RunningServer(group: services.serviceGroup(logger: logger), ports: ports, filter: filter)
        let task = Task { try await server.group.run() }
        let expected = [("milter", c.milter.enabled), ("spamd", c.spamd.enabled), ("http", c.http.enabled), ("rspamd", c.rspamd.enabled)].filter(\.1).count
        for _ in 0..<400 {
            if ports.count >= expected { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        return (server, task)
    }

    private init(group: ServiceGroup, ports: PortBook, filter: SpamFilter) {
        self.group = group
        self.ports = ports
        self.filter = filter
    }

    func port(_ name: String) -> Int { ports.get(name) }

    func stop(_ task: Task<Void, any Error>) async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

/// Runs a command-line client on a dispatch thread (never blocking the cooperative pool, which the
/// in-process server needs to answer it); returns its exit status and output.
func runTool(_ path: String, _ args: [String], stdin: [UInt8] = []) async throws -> (status: Int32, out: String, err: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try runToolBlocking(path, args, stdin: stdin) })
        }
    }
}

private func runToolBlocking(_ path: String, _ args: [String], stdin: [UInt8]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    p.standardError = errPipe
    try p.run()
    inPipe.fileHandleForWriting.write(Data(stdin))
    try inPipe.fileHandleForWriting.close()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// The ports the front ends bound (guarded by its mutex).
final class PortBook: Sendable {
    private let ports = Mutex<[String: Int]>([:])
    func set(_ name: String, _ port: Int) { ports.withLock { $0[name] = port } }
    func get(_ name: String) -> Int { ports.withLock { $0[name] ?? 0 } }
    var count: Int { ports.withLock { $0.count } }
}
