// spamward-edge-sim: a bounded loopback simulation of the SMTP edge against a real backend MTA.
//
//   spamward-edge-sim serve --listen 127.0.0.1:2525 --backend 127.0.0.1:10026
//       runs only the edge (with the simulation's DNS list answers), for RSS measurements;
//   spamward-edge-sim run [--good N] [--bots N] [--concurrency N] [--idle N] [--backend ADDR]
//       [--forwarding xclient|xforward|none] [--backend-pool N] [--backend-connections N]
//       starts `serve` as a child process, drives good clients and bots from many 127.0.0.0/8
//       source addresses, counts deliveries exactly in the backend's Maildir, prints a table.
//
// Bounded: every count has a ceiling, every wait a deadline, and the whole run --time-limit.
import Foundation
import Logging
import MailAuth
import NIOCore
import NIOPosix
import SMTPProtocol
import ServiceLifecycle
import SpamwardCore
import SpamwardEdge
import UnixSignals

let args = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, _ def: String) -> String {
    if let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count { return args[i + 1] }
    return def
}

func intOption(_ name: String, _ def: Int, max ceiling: Int) -> Int { min(ceiling, Int(option(name, "\(def)")) ?? def) }

func hostPort(_ s: String) -> (String, Int) {
    let parts = s.split(separator: ":")
    return (String(parts.first ?? "127.0.0.1"), Int(parts.last ?? "0") ?? 0)
}

/// DNS list answers for the simulation: 127.1.N.M with N in 200..229 are listed (computed per
/// question, like a real list, instead of scanning a zone).
struct SimulationResolver: DNSResolver {
    func lookup(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSLookupResult {
        let labels = name.lowercased().split(separator: ".")
        guard type == .a, labels.count == 7, labels[4...] == ["bl", "sim", "test"], labels[2] == "1", labels[3] == "127",
            let n = Int(labels[1]), (200...229).contains(n)
        else { return .nxDomain }
        return .answer([.a(IPv4Address(127, 0, 0, 2))])
    }
}

func edgeConfiguration(listen: (String, Int), backend: (String, Int)) -> EdgeConfiguration {
    var c = EdgeConfiguration()
    c.listenHost = listen.0
    c.listenPort = listen.1
    c.backendHost = backend.0
    c.backendPort = backend.1
    c.hostname = "edge.sim.test"
    c.pregreetWaitMilliseconds = intOption("pregreet-ms", 300, max: 10_000)
    c.dnsLists = [try? DNSListSite(parsing: "bl.sim.test=127.0.0.[2..11]*2")].compactMap { $0 }
    c.dnsThreshold = 2
    c.denylist = [IPNetwork("127.1.160.0/19")].compactMap { $0 }
    c.actions[.pregreet] = .drop
    // enforce (default): a listed client is refused at RCPT after the pregreet wait; drop: 521 as
    // soon as the lists answer, before the wait ends.
    c.actions[.dnsbl] = TestAction(rawValue: option("dnsbl-action", "enforce")) ?? .enforce
    c.maxConnections = 20_000
    // --forwarding xforward --backend-pool N: reuse idle backend connections between sessions.
    c.forwarding = EdgeConfiguration.ClientForwarding(rawValue: option("forwarding", "xclient")) ?? .xclient
    c.backendPoolSize = intOption("backend-pool", 0, max: 1000)
    // --backend-connections N: at most N backend connections at once (0: no limit); set it a bit
    // under the backend's smtpd process limit.
    c.maxBackendConnections = intOption("backend-connections", 0, max: 10_000)
    c.rate.maxConcurrentPerSubnet = 2000
    c.rate.burstPerSubnet = 100_000
    c.rate.connectionsPerMinutePerSubnet = 6_000_000
    c.rate.burstPerAddress = 20
    c.rate.connectionsPerMinutePerAddress = 60
    return c
}

func serve() async throws {
    let listen = hostPort(option("listen", "127.0.0.1:2525"))
    let backend = hostPort(option("backend", "127.0.0.1:10026"))
    var logger = Logger(label: "edge-sim")
    logger.logLevel = .error
    let filter = SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: InMemoryStore())
    let service = EdgeService(
        configuration: edgeConfiguration(listen: listen, backend: backend), filter: filter, resolver: SimulationResolver(),
        logger: logger, onBound: { a in
            print("READY \(a.port ?? 0)")
        })
    let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
}

// MARK: - Client side

final class Client: @unchecked Sendable {
    // @unchecked: `channel` is set once before use; the stream's iterator is used by one task.
    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        init(_ c: AsyncStream<ByteBuffer>.Continuation) { continuation = c }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
    }
    var channel: (any Channel)?
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private var bytes: [UInt8] = []

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        iterator = stream.makeAsyncIterator()
        self.continuation = continuation
    }

    static func connect(port: Int, from source: String) async throws -> Client {
        let c = Client()
        let cont = c.continuation
        c.channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Handler(cont)) } }
            .connect(host: "127.0.0.1", port: port).get()
        return c
    }

    func send(_ s: String) async throws { try await channel?.writeAndFlush(ByteBuffer(string: s)).get() }

    /// The code of the next final reply line (nil on close). The server's timeouts bound the wait.
    func code() async -> Int? {
        while true {
            while let nl = bytes.firstIndex(of: 0x0A) {
                let line = Array(bytes[..<nl])
                bytes.removeFirst(nl + 1)
                if line.count >= 4, line[3] == UInt8(ascii: "-") { continue }
                guard line.count >= 3 else { return nil }
                return Int(String(decoding: line[0..<3], as: UTF8.self))
            }
            guard let chunk = await iterator.next() else { return nil }
            bytes += chunk.readableBytesView
        }
    }

    func command(_ line: String) async throws -> Int? {
        try await send(line + "\r\n")
        return await code()
    }

    func close() async { try? await channel?.close() }
}

enum Kind: String, CaseIterable {
    case good, pregreet, pipelining, listed, denied, burst
}

struct Outcome: Hashable {
    var kind: Kind
    var result: String
}

func message(tag: String, i: Int) -> String {
    "From: good\(i)@example.com\r\nTo: inbox@spamward.test\r\nSubject: \(tag) \(i)\r\nMessage-ID: <\(tag)-\(i)@sim.test>\r\n\r\nHello, the meeting notes are attached below.\r\nRegards\r\n.\r\n"
}

/// Source address for client i of a kind (30 distinct /24s per kind, 250 hosts each; denied ones in the denylist 127.1.160.0/19).
func source(_ kind: Kind, _ i: Int) -> String {
    let base: Int
    switch kind {
    case .good: base = 10
    case .pregreet: base = 60
    case .pipelining: base = 110
    case .listed: base = 200
    case .denied: base = 160
    case .burst: base = 240
    }
    return "127.1.\(base + (i / 250) % 30).\(1 + i % 250)"
}

/// Runs `jobs` with at most `width` at once (``ScriptedRun``: event-loop callbacks, no task per
/// client; each client is closed after `--client-timeout` seconds, default 60).
func bounded(_ jobs: [(Kind, Int)], width: Int, port: Int, tag: String) async -> [Outcome: Int] {
    await ScriptedRun(
        jobs: jobs, port: port, tag: tag, group: MultiThreadedEventLoopGroup.singleton,
        clientTimeoutSeconds: Int64(intOption("client-timeout", 60, max: 600))
    ).run(width: width)
}

func delivered(tag: String) -> Int {
    let maildir = option("maildir", "/var/tmp/spamward-postfix/mail/inbox")
    var n = 0
    for sub in ["new", "cur"] {
        let dir = "\(maildir)/\(sub)"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            if let d = FileManager.default.contents(atPath: "\(dir)/\(name)"), let s = String(data: d, encoding: .utf8),
                s.contains("Subject: \(tag) ")
            {
                n += 1
            }
        }
    }
    return n
}

func rssKiB(pid: Int32) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
    return 0
}

func run() async throws {
    let good = intOption("good", 200, max: 20_000)
    let bots = intOption("bots", 2000, max: 100_000)
    let width = intOption("concurrency", 200, max: 5000)
    // Phase 3's clients at once (the backend's smtpd processes: Postfix's default_process_limit).
    let relayWidth = intOption("relay-concurrency", min(width, 50), max: 2000)
    // Bounded in time: the whole run stops after --time-limit seconds (default 900).
    let timeLimit = intOption("time-limit", 900, max: 7200)
    let idle = intOption("idle", 10_000, max: 15_000)
    var port = intOption("port", 2525, max: 65535)
    let tag = "sim-\(UUID().uuidString.prefix(8))"

    // --target HOST:PORT drives a server that is already running (postscreen, for comparison);
    // otherwise the edge runs as a child process.
    let target = option("target", "")
    let child = Process()
    if target.isEmpty {
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--backend", option("backend", "127.0.0.1:10026"),
                           "--pregreet-ms", option("pregreet-ms", "300"), "--dnsbl-action", option("dnsbl-action", "enforce"),
                           "--forwarding", option("forwarding", "xclient"), "--backend-pool", option("backend-pool", "0"),
                           "--backend-connections", option("backend-connections", "0")]
        try child.run()
    } else {
        port = hostPort(target).1
    }
    defer { if target.isEmpty && child.isRunning { child.terminate() } }
    let childPID = target.isEmpty ? child.processIdentifier : 0
    Thread.detachNewThread {
        Thread.sleep(forTimeInterval: Double(timeLimit))
        print("time limit of \(timeLimit) s reached: stopping")
        if childPID > 0 { kill(childPID, SIGTERM) }
        exit(3)
    }
    // Wait until it listens without blocking the cooperative pool: poll the port.
    var ready = false
    for _ in 0..<500 {
        if let c = try? await Client.connect(port: port, from: "127.0.0.1") {
            await c.close()
            ready = true
            break
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    guard ready else { print("server did not start"); return }
    func rss() -> Int { target.isEmpty ? rssKiB(pid: child.processIdentifier) : 0 }
    let baseRSS = rss()

    // Phase 1: mixed traffic.
    var jobs: [(Kind, Int)] = (0..<good).map { (.good, $0) }
    let perBot = bots / 5
    for k in [Kind.pregreet, .pipelining, .listed, .denied, .burst] { jobs += (0..<perBot).map { (k, $0) } }
    jobs.shuffle()
    let t0 = ContinuousClock.now
    let counts = await bounded(jobs, width: width, port: port, tag: tag)
    let mixed = ContinuousClock.now - t0

    // Phase 2: bots only (pipelining + listed + denied: no pregreet wait for passed... every bot waits the pregreet), rate.
    let botJobs: [(Kind, Int)] = (0..<bots).map { ([Kind.pipelining, .listed, .pregreet][$0 % 3], 1000 + $0) }
    let t1 = ContinuousClock.now
    let botCounts = await bounded(botJobs, width: width, port: port, tag: tag)
    let botTime = ContinuousClock.now - t1
    let rejected = botCounts.filter { $0.key.result != "250" && $0.key.result != "error" }.values.reduce(0, +)

    // Phase 3: relayed messages/s from clients that already passed (no pregreet wait).
    let relayJobs: [(Kind, Int)] = (0..<good).map { (.good, $0) }
    let t2 = ContinuousClock.now
    let relayCounts = await bounded(relayJobs, width: relayWidth, port: port, tag: tag)
    let relayTime = ContinuousClock.now - t2
    let relayed = relayCounts[Outcome(kind: .good, result: "250")] ?? 0

    // Deliveries, count-exact.
    let expected = (counts[Outcome(kind: .good, result: "250")] ?? 0) + relayed
    var got = 0
    for _ in 0..<300 {
        got = delivered(tag: tag)
        if got >= expected { break }
        try await Task.sleep(for: .milliseconds(200))
    }
    try await Task.sleep(for: .seconds(1))
    got = delivered(tag: tag)

    // Phase 4: idle connections.
    var idleClients: [Client] = []
    for i in 0..<idle {
        if let c = try? await Client.connect(port: port, from: "127.2.\(i / 200).\(1 + i % 200)") { idleClients.append(c) }
    }
    try await Task.sleep(for: .seconds(2))
    let idleRSS = rss()
    for c in idleClients { await c.close() }

    print("\nspamward-edge-sim \(tag) against \(target.isEmpty ? "the edge" : target): \(good) good clients, \(bots) bots, concurrency \(width) (relays \(relayWidth))\n")
    print("| client kind | result | count |")
    print("|---|---|---|")
    for o in counts.keys.sorted(by: { ($0.kind.rawValue, $0.result) < ($1.kind.rawValue, $1.result) }) {
        print("| \(o.kind.rawValue) | \(o.result) | \(counts[o] ?? 0) |")
    }
    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    print("")
    print("| measure | value |")
    print("|---|---|")
    print("| mixed phase | \(String(format: "%.2f", seconds(mixed))) s |")
    print("| good messages accepted (250) | \(expected) |")
    print("| delivered to the Maildir | \(got) |")
    print("| bot connections rejected | \(rejected) of \(bots) in \(String(format: "%.2f", seconds(botTime))) s = \(String(format: "%.0f", Double(rejected) / seconds(botTime)))/s |")
    print("| relayed messages (passed clients) | \(relayed) in \(String(format: "%.2f", seconds(relayTime))) s = \(String(format: "%.0f", Double(relayed) / seconds(relayTime)))/s |")
    print("| bot messages delivered | \(delivered(tag: "\(tag)-bot")) |")
    print("| idle connections held | \(idleClients.count) |")
    print("| edge RSS idle before / with idle connections | \(baseRSS / 1024) MiB / \(idleRSS / 1024) MiB |")
    if good > 0 && expected == 0 {
        // Nothing accepted proves nothing about delivery: say so instead of "OK".
        print("\nNO DELIVERY CHECK: none of the \(good) good clients' messages was accepted (is the backend \(option("backend", "127.0.0.1:10026")) running?)")
    } else {
        print(got == expected ? "\nOK: every accepted message delivered exactly once" : "\nMISMATCH: accepted \(expected), delivered \(got)")
    }
    if target.isEmpty {
        child.terminate()
        child.waitUntilExit()
    }
}

if args.first == "serve" {
    try await serve()
} else if args.first == "run" {
    try await run()
} else {
    print("usage: spamward-edge-sim serve|run [options] (see Sources/EdgeSim/main.swift)")
}
