import Foundation
import Logging
import MailAuth
import NIOCore
import NIOPosix
import NIOSSL
import SMTPProtocol
import ServiceLifecycle
import SpamwardCore
import SpamwardEdge
import Synchronization

/// A test client over NIO (no blocking calls): connects from a chosen 127.0.0.N source address,
/// sends raw bytes and reads reply lines.
final class TestClient: Sendable {
    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let box: TestClient
        init(_ box: TestClient) { self.box = box }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let b = unwrapInboundIn(data)
            box.state.withLock { $0.bytes += b.readableBytesView }
        }
        func channelInactive(context: ChannelHandlerContext) {
            box.state.withLock { $0.closed = true }
        }
    }

    let state = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))
    private let channelBox = Mutex<(any Channel)?>(nil)
    var channel: any Channel { channelBox.withLock { $0! } }  // Safe to force unwrap: set in connect before use.

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func connect(to address: SocketAddress, from source: String = "127.0.0.1") async throws -> TestClient {
        let client = TestClient()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Handler(client)) } }
            .connect(to: address).get()
        client.channelBox.withLock { $0 = channel }
        return client
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// The next line (without CRLF), or nil when the connection closed first.
    func line(timeout: Duration = .seconds(30)) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let got: String?? = state.withLock { s in
                if let nl = s.bytes.firstIndex(of: 0x0A) {
                    var l = Array(s.bytes[..<nl])
                    s.bytes.removeFirst(nl + 1)
                    if l.last == 0x0D { l.removeLast() }
                    return .some(String(decoding: l, as: UTF8.self))
                }
                return s.closed ? .some(nil) : nil
            }
            if let got { return got }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw Failure(description: "no line within \(timeout)")
    }

    /// The next whole reply (lines until one with a space after the code); a line with a
    /// different code ends the reply too (a 521 after a 220- teaser). Nil when closed.
    func reply(timeout: Duration = .seconds(30)) async throws -> SMTPReply? {
        var lines: [String] = []
        var code = 0
        while let l = try await line(timeout: timeout) {
            let b = Array(l.utf8)
            guard b.count >= 3, let c = Int(String(decoding: b[0..<3], as: UTF8.self)) else {
                throw Failure(description: "bad reply line \(l)")
            }
            if code != 0 && c != code { lines = [] }
            code = c
            lines.append(b.count > 4 ? String(decoding: b[4...], as: UTF8.self) : "")
            if b.count == 3 || b[3] == UInt8(ascii: " ") { return SMTPReply(code: code, lines: lines) }
        }
        return nil
    }

    func command(_ line: String) async throws -> SMTPReply? {
        try await send(line + "\r\n")
        return try await reply()
    }

    /// Waits until the server closed the connection.
    func waitClosed(timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.closed }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    func close() async {
        try? await channel.close()
    }

    /// Starts TLS on the connection (after the server's 220 to STARTTLS), trusting any
    /// certificate; drops what was received so far.
    func startTLS() async throws {
        state.withLock { $0.bytes = [] }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let context = try NIOSSLContext(configuration: tls)
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                try NIOSSLClientHandler(context: context, serverHostname: nil), position: .first)
        }.get()
    }

    /// A whole transaction; returns the first failing reply or the reply to the end of data.
    func transaction(helo: String = "client.example.com", from: String, to: [String], message: [UInt8]) async throws -> SMTPReply? {
        guard let greet = try await reply(), greet.code == 220 else { return nil }
        guard let e = try await command("EHLO \(helo)"), e.code == 250 else { return nil }
        guard let m = try await command("MAIL FROM:<\(from)>"), m.code == 250 else { return nil }
        var any = false
        var last: SMTPReply?
        for r in to {
            last = try await command("RCPT TO:<\(r)>")
            if last?.code == 250 { any = true }
        }
        guard any else { return last }
        guard let d = try await command("DATA"), d.code == 354 else { return nil }
        try await send(bytes: dotStuff(message))
        let final = try await reply()
        _ = try? await command("QUIT")
        return final
    }
}

func dotStuff(_ message: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var atLineStart = true
    for b in message {
        if atLineStart && b == UInt8(ascii: ".") { out.append(b) }
        out.append(b)
        atLineStart = b == 0x0A
    }
    if !atLineStart { out += [0x0D, 0x0A] }
    return out + Array(".\r\n".utf8)
}

/// An edge running in-process for one test.
struct RunningEdge {
    let address: SocketAddress
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let logs: LogCapture
    let service: EdgeService

    static func start(_ configure: (inout EdgeConfiguration) -> Void, resolver: (any DNSResolver)? = nil,
                      filter: SpamFilter = makeFilter(), clock: TestClock = TestClock(),
                      startTLSHook: StartTLSHook? = nil) async throws -> RunningEdge {
        var c = EdgeConfiguration()
        c.listenHost = "127.0.0.1"
        c.listenPort = 0
        c.hostname = "edge.spamward.test"
        c.backendHost = "127.0.0.1"
        c.backendPort = Int(Backend.port)
        c.pregreetWaitMilliseconds = 300
        c.backendTimeoutSeconds = 10
        c.drainSeconds = 2
        configure(&c)
        let bound = Mutex<SocketAddress?>(nil)
        let logs = LogCapture()
        var service = EdgeService(
            configuration: c, filter: filter, resolver: resolver, logger: logs.logger, now: { clock.now },
            onBound: { a in bound.withLock { $0 = a } })
        service.startTLSHook = startTLSHook
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        let task = Task { try await group.run() }
        for _ in 0..<500 {
            if let a = bound.withLock({ $0 }) { return RunningEdge(address: a, group: group, task: task, logs: logs, service: service) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestClient.Failure(description: "edge did not start")
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A settable clock in seconds (greylisting, passed-client TTLs).
final class TestClock: Sendable {
    private let value = Atomic<Int64>(1_700_000_000)
    var now: Int64 { value.load(ordering: .relaxed) }
    func advance(_ seconds: Int64) { value.add(seconds, ordering: .relaxed) }
}

/// Collects log lines (message and metadata) for assertions.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])
    var logger: Logger {
        var l = Logger(label: "edge-test", factory: { _ in Handler(capture: self) })
        l.logLevel = .info
        return l
    }
    var all: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var m = metadata
            m.merge(event.metadata ?? [:]) { _, b in b }
            let text = "\(event.message) " + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.lines.withLock { $0.append(text) }
        }
    }
}

func makeFilter(policy: ActionPolicy = .default) -> SpamFilter {
    SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: InMemoryStore(), policy: policy)
}

/// The test Postfix's edge backend (scripts/test-postfix.sh; .ci/run starts it).
enum Backend {
    static let port: UInt16 = 10026
    static let maildir = URL(fileURLWithPath: "/var/tmp/spamward-postfix/mail/inbox")

    /// Whether the backend accepts connections (an NIO connect, no blocking call).
    static func isRunning() async -> Bool {
        guard let c = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2)).connect(host: "127.0.0.1", port: Int(port)).get()
        else { return false }
        try? await c.close()
        return true
    }

    static let skipMessage = "skipped: no test Postfix backend on 127.0.0.1:10026 (scripts/test-postfix.sh start; .ci/run does it)"

    /// Delivered files whose text contains `tag`.
    static func delivered(tag: String) -> [String] {
        var out: [String] = []
        for sub in ["new", "cur"] {
            let dir = maildir.appendingPathComponent(sub)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
                if let text = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8), text.contains(tag) {
                    out.append(text)
                }
            }
        }
        return out
    }

    /// Waits (without blocking a thread) until `count` files with `tag` are there, up to 15 s;
    /// then waits `settle` more to catch late duplicates.
    static func waitForDelivery(tag: String, count: Int, settle: Duration = .milliseconds(500)) async -> [String] {
        var got: [String] = []
        for _ in 0..<150 {
            got = delivered(tag: tag)
            if got.count >= count { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        try? await Task.sleep(for: settle)
        return delivered(tag: tag)
    }

    static func message(tag: String, index: Int, spam: Bool) -> [UInt8] {
        let body = spam
            ? "Buy now.\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
            : "Hello,\r\n\r\nthe notes from today's design review are below.\r\n.leading dot line stays intact\r\n\r\nRegards\r\n"
        return Array("From: sender\(index)@example.com\r\nTo: inbox@spamward.test\r\nSubject: \(tag) message \(index)\r\nMessage-ID: <\(tag)-\(index)@example.com>\r\nDate: \(rfc5322Now())\r\n\r\n\(body)".utf8)
    }
}

/// The current time as an RFC 5322 date (the date rules flag missing, future and old dates).
func rfc5322Now() -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
    return f.string(from: Date())
}
