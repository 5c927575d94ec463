import Foundation
import Logging
import NIOCore
import NIOPosix
import SpamdProtocol
import Synchronization

// MARK: - Bytes

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// The GTUBE-like marker the test handler treats as spam.
let spamMarker = "XJS*C4JDBQADN1"

let spamMessage = bytes(
    "Subject: Test spam mail (GTUBE)\r\nMessage-ID: <GTUBE1@example.net>\r\nFrom: Sender <sender@example.net>\r\n"
        + "To: Recipient <recipient@example.net>\r\n\r\nThis is the GTUBE-like marker:\r\n\r\n" + spamMarker
        + ".NSBF34-5-6-7-8\r\n\r\nThe end.\r\n")

let hamMessage = bytes(
    "Subject: Lunch tomorrow?\r\nMessage-ID: <lunch@example.org>\r\nFrom: Friend <friend@example.org>\r\n"
        + "To: Me <me@example.org>\r\n\r\nShall we meet at noon?\r\n")

// MARK: - A handler that records what it saw

/// Declares spam when the body contains ``spamMarker`` (score 1000 / 5), else ham (0.5 / 5); TELL reports as
/// done exactly what was asked, except for bodies containing "already-learned".
final class RecordingHandler: SpamdRequestHandler {
    let seen = Mutex<[SpamdRequest]>([])
    let failure: (any Error)?
    let delay: Duration?
    let rewrittenMessage: [UInt8]?

    init(failure: (any Error)? = nil, delay: Duration? = nil, rewrittenMessage: [UInt8]? = nil) {
        self.failure = failure
        self.delay = delay
        self.rewrittenMessage = rewrittenMessage
    }

    var requests: [SpamdRequest] { self.seen.withLock { $0 } }

    private func record(_ request: SpamdRequest) async throws {
        self.seen.withLock { $0.append(request) }
        if let delay = self.delay { try await Task.sleep(for: delay) }
        if let failure = self.failure { throw failure }
    }

    func check(_ request: SpamdRequest) async throws -> SpamdVerdict {
        try await self.record(request)
        let isSpam = text(request.body).contains(spamMarker)
        let score = isSpam ? 1000.0 : 0.5
        var rewritten = bytes("X-Spam-Flag: \(isSpam ? "YES" : "NO")\r\nX-Spam-Score: \(score)\r\n")
        rewritten += request.body
        return SpamdVerdict(
            isSpam: isSpam, score: score, threshold: 5,
            symbols: isSpam ? ["GTUBE", "SPAMWARD_TEST"] : [],
            report: isSpam ? "Spamward report:\n pts rule\n 1000 GTUBE marker found\n" : "Spamward report: clean\n",
            message: self.rewrittenMessage ?? rewritten)
    }

    func tell(_ request: SpamdRequest) async throws -> SpamdTellResult {
        try await self.record(request)
        if text(request.body).contains("already-learned") { return SpamdTellResult() }
        return SpamdTellResult(didSet: Array(request.setTargets), didRemove: Array(request.removeTargets))
    }

    func ping(_ request: SpamdRequest) async throws {
        try await self.record(request)
    }
}

/// A handler with the protocol's default TELL (refused as spamd does without --allow-tell).
struct CheckOnlyHandler: SpamdRequestHandler {
    func check(_ request: SpamdRequest) async throws -> SpamdVerdict {
        SpamdVerdict(isSpam: false, score: 0, threshold: 5)
    }
}

struct PlainError: Error {}

// MARK: - An in-process server

let testLogger: Logger = {
    var logger = Logger(label: "spamd-tests")
    logger.logLevel = .critical
    return logger
}()

/// Runs a spamd server on 127.0.0.1 (ephemeral port) for the duration of `body`.
func withSpamdServer<Result: Sendable>(
    handler: some SpamdRequestHandler,
    configuration: SpamdConfiguration = .default,
    _ body: (Int) async throws -> Result
) async throws -> Result {
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.allowRemoteHalfClosure, value: true)
        .bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture {
                try SpamdConnection.configure(channel, configuration: configuration)
            }
        }
    guard let port = server.channel.localAddress?.port else {
        try? await server.channel.close()
        throw PlainError()
    }
    let serverTask = Task {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask {
                        await SpamdConnection.serve(
                            connection, configuration: configuration, logger: testLogger, handler: handler)
                    }
                }
            }
        }
    }
    do {
        let result = try await body(port)
        try? await server.channel.close()
        _ = await serverTask.result
        return result
    } catch {
        try? await server.channel.close()
        _ = await serverTask.result
        throw error
    }
}

/// Sends raw bytes to the server, optionally half-closes, and reads everything until the server closes.
func rawExchange(
    port: Int, sending payload: [UInt8], halfClose: Bool = true, readDelay: Duration? = nil
) async throws -> [UInt8] {
    let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
    return try await client.executeThenClose { inbound, outbound in
        if !payload.isEmpty {
            try await outbound.write(ByteBuffer(bytes: payload))
        }
        if halfClose { outbound.finish() }
        if let readDelay { try await Task.sleep(for: readDelay) }
        var received: [UInt8] = []
        for try await chunk in inbound {
            received += chunk.readableBytesView
        }
        return received
    }
}

// MARK: - Running spamc

let spamcPath = "/usr/bin/spamc"
let spamcIsInstalled = FileManager.default.isExecutableFile(atPath: spamcPath)

struct ProcessOutput: Sendable {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
    var out: String { text(self.stdout) }
}

/// Runs a program to completion without blocking a concurrency thread (files for stdio, termination handler).
func runProcess(_ path: String, _ arguments: [String], stdin: [UInt8]) async throws -> ProcessOutput {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spamd-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let inURL = directory.appendingPathComponent("stdin")
    let outURL = directory.appendingPathComponent("stdout")
    let errURL = directory.appendingPathComponent("stderr")
    try Data(stdin).write(to: inURL)
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    let input = try FileHandle(forReadingFrom: inURL)
    let output = try FileHandle(forWritingTo: outURL)
    let error = try FileHandle(forWritingTo: errURL)
    defer {
        try? input.close()
        try? output.close()
        try? error.close()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardInput = input
    process.standardOutput = output
    process.standardError = error
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { finished in
            continuation.resume(returning: finished.terminationStatus)
        }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    return ProcessOutput(
        status: status, stdout: Array(try Data(contentsOf: outURL)),
        stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// Runs the real spamc against `port` with `arguments`; `-F /dev/null` keeps a local spamc.conf out of the way.
func spamc(port: Int, _ arguments: [String], stdin: [UInt8]) async throws -> ProcessOutput {
    try await runProcess(
        spamcPath, ["-F", "/dev/null", "-d", "127.0.0.1", "-p", String(port), "-t", "20", "-l"] + arguments,
        stdin: stdin)
}

/// Whether this spamc was built with zlib (`-z`); Debian's is not ("spamc not built with zlib support").
func spamcSupportsZlib() async -> Bool {
    guard spamcIsInstalled else { return false }
    // Port 9 (discard) is closed here; a zlib-capable spamc fails to connect, one without zlib refuses -z first.
    guard let probe = try? await runProcess(
        spamcPath, ["-F", "/dev/null", "-l", "-z", "-c", "-d", "127.0.0.1", "-p", "9", "--connect-retries", "1"],
        stdin: hamMessage)
    else { return false }
    // Without zlib: "spamc not built with zlib support" (or, with -l, "spamc -z support not available"), exit 64.
    return !(probe.status == 64 && (probe.stderr.contains("zlib") || probe.stderr.contains("-z support")))
}
