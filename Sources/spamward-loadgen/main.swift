// spamward-loadgen: the lean load generator behind scripts/loadbench/loadbench.py --client swift.
//
// The same closed loop as loadbench.py's own (Python asyncio) client, on one SwiftNIO event loop
// thread: exactly --concurrency requests in flight, every connection takes the next message from
// one shared cursor over the corpus part, the same requests, the same success checks, the same
// window. It prints loadbench.py's child result as one JSON object ({"lat": [seconds…],
// "stats": {…}, "err_kinds": {…}, "client_cpu_s": x}); loadbench.py samples the server, merges
// and reports, so both clients' figures come out in the same shape.
//
//   spamd          one TCP connection per request: "CHECK SPAMC/1.5", Content-length, the
//                  message, half-close, read to EOF; success = "SPAMD/1.x 0 EX_OK" and a
//                  "Spam: True|False ; S / T" header. Latency from connect to EOF.
//   *-http         HTTP/1.1 keep-alive, one request in flight per connection, "POST /checkv2";
//                  success = status 200 and a JSON object whose top level has a numeric "score"
//                  and a string "action". Latency from the first byte written to the whole reply.
//                  A server that closes the connection is reconnected (counted); a keep-alive
//                  connection found closed is retried once on a new one, as loadbench.py does.
//
// --rate R turns the closed loop into an open one: requests arrive at R per second (Poisson
// arrivals from a fixed seed) and are served by at most --concurrency connections; a request
// that arrives while all are busy waits in a queue. Latency is then measured from the request's
// arrival, not from when a connection became free, so queueing delay counts (no coordinated
// omission). This shows the latency at a given load below the maximum throughput.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import NIOPosix

// MARK: - options

struct Options {
    var proto = ""
    var host = "127.0.0.1"
    var port = 0
    var corpus = ""
    var part = "test"
    var concurrency = 50
    var duration = 20.0
    var warmup = 3.0
    var timeout = 60.0
    var start: Double? = nil
    var offset = 0
    var stride = 1
    /// Open loop: arrivals per second (nil: closed loop).
    var rate: Double? = nil

    static func parse(_ args: [String]) -> Options {
        var o = Options()
        var i = 0
        func value() -> String {
            i += 1
            guard i < args.count else { fail("\(args[i - 1]) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--protocol": o.proto = value()
            case "--target":
                let t = value()
                guard let colon = t.lastIndex(of: ":"), let p = Int(t[t.index(after: colon)...]) else { fail("--target HOST:PORT") }
                o.host = String(t[..<colon])
                o.port = p
            case "--corpus": o.corpus = value()
            case "--part": o.part = value()
            case "--concurrency": o.concurrency = Int(value()) ?? 0
            case "--duration": o.duration = Double(value()) ?? 0
            case "--warmup": o.warmup = Double(value()) ?? 0
            case "--timeout": o.timeout = Double(value()) ?? 60
            case "--start", "--child-start": o.start = Double(value())
            case "--offset": o.offset = Int(value()) ?? 0
            case "--stride": o.stride = max(1, Int(value()) ?? 1)
            case "--rate":
                guard let r = Double(value()), r > 0 else { fail("--rate needs a positive number of requests per second") }
                o.rate = r
            default: fail("unknown argument \(args[i])")
            }
            i += 1
        }
        guard ["spamd", "rspamd-http", "spamward-http"].contains(o.proto) else { fail("--protocol spamd|rspamd-http|spamward-http") }
        guard o.port > 0, !o.corpus.isEmpty, o.concurrency >= 1, o.duration > 0, ["test", "train", "all"].contains(o.part) else {
            fail("usage: spamward-loadgen --protocol P --target HOST:PORT --corpus DIR [--part test|train|all] [--concurrency N] [--duration S] [--warmup S] [--timeout S] [--start EPOCH] [--offset K --stride P] [--rate PER_SECOND]")
        }
        return o
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("spamward-loadgen: \(message)\n".utf8))
    exit(64)
}

// MARK: - corpus and requests (as loadbench.py's load_corpus and build_requests)

func loadRequests(_ o: Options) -> [[UInt8]] {
    guard let index = FileManager.default.contents(atPath: o.corpus + "/index") else { fail("\(o.corpus)/index: cannot read") }
    var rows: [String] = []
    for line in String(decoding: index, as: UTF8.self).split(separator: "\n") {
        let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
        if parts.count == 2 { rows.append(parts[1].trimmingCharacters(in: .whitespaces)) }
    }
    let half = rows.count / 2
    switch o.part {
    case "train": rows = Array(rows[..<half])
    case "test": rows = Array(rows[half...])
    default: break
    }
    var out: [[UInt8]] = []
    for rel in rows {
        guard let body = FileManager.default.contents(atPath: o.corpus + "/" + rel) else { fail("\(rel): cannot read") }
        let head = o.proto == "spamd"
            ? "CHECK SPAMC/1.5\r\nContent-length: \(body.count)\r\n\r\n"
            : "POST /checkv2 HTTP/1.1\r\nHost: \(o.host)\r\nContent-Length: \(body.count)\r\nConnection: keep-alive\r\n\r\n"
        out.append(Array(head.utf8) + Array(body))
    }
    guard !out.isEmpty else { fail("no messages in \(o.corpus) (\(o.part))") }
    return out
}

// MARK: - reply checks

struct BadReply: Error { var kind: String }

/// "SPAMD/1.x 0 EX_OK" status line and a "Spam: True|False ; S / T" header.
func checkSpamd(_ b: [UInt8]) throws(BadReply) {
    guard !b.isEmpty else { throw BadReply(kind: "bad reply: empty reply (connection closed)") }
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    for i in b.indices where b[i] == 0x0A {
        var end = i
        if end > start, b[end - 1] == 0x0D { end -= 1 }
        lines.append(b[start..<end])
        start = i + 1
    }
    if start < b.count { lines.append(b[start...]) }
    let status = String(decoding: lines.first ?? [], as: UTF8.self)
    guard status.hasPrefix("SPAMD/"), status.hasSuffix(" 0 EX_OK") else { throw BadReply(kind: "bad reply: status") }
    for l in lines.dropFirst() {
        let s = String(decoding: l, as: UTF8.self)
        guard s.lowercased().hasPrefix("spam:") else { continue }
        let v = s.dropFirst(5).split(separator: ";")
        guard v.count == 2 else { continue }
        let flag = v[0].trimmingCharacters(in: .whitespaces).lowercased()
        let nums = v[1].split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
        if ["true", "false", "yes", "no"].contains(flag), nums.count == 2, Double(nums[0]) != nil, Double(nums[1]) != nil { return }
    }
    throw BadReply(kind: "bad reply: no Spam header")
}

/// A JSON object whose top level has a numeric "score" and a string "action" (a byte scanner:
/// strings and nesting are tracked, so a nested symbol's "score" does not count).
func checkRspamdJSON(_ b: ArraySlice<UInt8>) throws(BadReply) {
    var i = b.startIndex
    func skipSpace() { while i < b.endIndex, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
    skipSpace()
    guard i < b.endIndex, b[i] == UInt8(ascii: "{") else { throw BadReply(kind: "bad reply: body is not JSON") }
    var depth = 0
    var score = false, action = false
    var keyStart = -1
    var expectKey = false
    while i < b.endIndex {
        let c = b[i]
        if c == UInt8(ascii: "\"") {
            let s = i + 1
            i += 1
            while i < b.endIndex, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            guard i < b.endIndex else { throw BadReply(kind: "bad reply: body is not JSON") }
            if depth == 1 && expectKey { keyStart = s }
            let keyEnd = i
            i += 1
            if depth == 1 && expectKey {
                skipSpace()
                if i < b.endIndex, b[i] == UInt8(ascii: ":") {
                    i += 1
                    skipSpace()
                    let key = b[keyStart..<keyEnd]
                    if key.elementsEqual("score".utf8) {
                        if i < b.endIndex, b[i] == UInt8(ascii: "-") || (b[i] >= 0x30 && b[i] <= 0x39) { score = true }
                    } else if key.elementsEqual("action".utf8) {
                        if i < b.endIndex, b[i] == UInt8(ascii: "\"") { action = true }
                    }
                    expectKey = false
                }
            }
            continue
        }
        switch c {
        case UInt8(ascii: "{"):
            depth += 1
            if depth == 1 { expectKey = true }
        case UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth == 0 {
                guard score && action else { throw BadReply(kind: "bad reply: JSON without score/action") }
                return
            }
        case UInt8(ascii: ","): if depth == 1 { expectKey = true }
        default: break
        }
        i += 1
    }
    throw BadReply(kind: "bad reply: body is not JSON")
}

/// A complete HTTP/1.1 response in `buf`: (status, body, server closes), or nil when more bytes
/// are needed. `eof`: the server closed (a body without length ends there).
func parseHTTP(_ buf: [UInt8], eof: Bool) throws(BadReply) -> (status: Int, body: ArraySlice<UInt8>, closes: Bool, used: Int)? {
    guard buf.count >= 4 else { return nil }
    var headEnd = -1
    var i = 3
    while i < buf.count {
        if buf[i] == 0x0A, buf[i - 1] == 0x0D, buf[i - 2] == 0x0A, buf[i - 3] == 0x0D { headEnd = i + 1; break }
        i += 1
    }
    guard headEnd > 0 else { return nil }
    let head = String(decoding: buf[..<headEnd], as: UTF8.self)
    let lines = head.components(separatedBy: "\r\n")
    let parts = lines[0].split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else { throw BadReply(kind: "bad reply: status line") }
    var length: Int? = nil
    var chunked = false
    var closes = parts[0] == "HTTP/1.0"
    for l in lines.dropFirst() {
        guard let colon = l.firstIndex(of: ":") else { continue }
        let name = l[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces).lowercased()
        if name == "content-length" { length = Int(value) }
        if name == "transfer-encoding", value == "chunked" { chunked = true }
        if name == "connection", value == "close" { closes = true }
    }
    if let length {
        guard buf.count >= headEnd + length else { return nil }
        return (status, buf[headEnd..<(headEnd + length)], closes, headEnd + length)
    }
    if chunked {
        var p = headEnd
        var body: [UInt8] = []
        while true {
            guard let lineEnd = buf[p...].firstIndex(of: 0x0A) else { return nil }
            let sizeText = String(decoding: buf[p..<lineEnd], as: UTF8.self).split(separator: ";").first?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard let size = Int(sizeText, radix: 16) else { throw BadReply(kind: "bad reply: chunk size") }
            p = lineEnd + 1
            if size == 0 {
                guard let end = buf[p...].firstIndex(of: 0x0A) else { return nil }
                return (status, body[...], closes, end + 1)
            }
            guard buf.count >= p + size + 2 else { return nil }
            body += buf[p..<(p + size)]
            p += size + 2
        }
    }
    guard eof else { return nil }
    return (status, buf[headEnd...], true, buf.count)
}

// MARK: - the closed loop (all state on one event loop)

final class Load {
    let o: Options
    let loop: any EventLoop
    let requests: [[UInt8]]
    var cursor: Int
    let tMeas: NIODeadline
    let tEnd: NIODeadline
    var lat: [Double] = []
    var stats: [String: Int] = [
        "connects": 0, "reconnects": 0, "server_closes": 0, "errors": 0, "timeouts": 0, "warmup_ok": 0, "warmup_err": 0,
        "spam": 0, "ham_verdicts": 0, "late": 0,
    ]
    var errKinds: [String: Int] = [:]
    var running = 0
    let done: EventLoopPromise<Void>
    /// Open loop: arrival times not yet taken by a connection (`pendingHead` is the next), and
    /// the connections waiting for an arrival.
    var pending: [NIODeadline] = []
    var pendingHead = 0
    var idle: [(NIODeadline) -> Void] = []
    /// Open loop: the last arrival of the window has come.
    var arrivalsOver = false

    init(o: Options, loop: any EventLoop, requests: [[UInt8]], tMeas: NIODeadline, tEnd: NIODeadline) {
        self.o = o
        self.loop = loop
        self.requests = requests
        self.cursor = o.offset
        self.tMeas = tMeas
        self.tEnd = tEnd
        self.done = loop.makePromise()
    }

    /// Hands a free connection its next request start: at once in the closed loop; in the open
    /// loop the oldest waiting arrival, or the connection waits for one. After the window, the
    /// connection is done.
    func whenFree(_ start: @escaping (NIODeadline) -> Void) {
        guard NIODeadline.now() < tEnd else { return finish(self) }
        guard o.rate != nil else { return start(NIODeadline.now()) }
        if pendingHead < pending.count {
            let arrival = pending[pendingHead]
            pendingHead += 1
            if pendingHead > 4096 && pendingHead * 2 > pending.count {
                pending.removeFirst(pendingHead)
                pendingHead = 0
            }
            start(arrival)
        } else if arrivalsOver {
            finish(self)
        } else {
            idle.append(start)
        }
    }

    /// Open loop: schedules Poisson arrivals at `rate` from `from` until the end of the window,
    /// each given to a waiting connection or queued. One timer per arrival batch (every
    /// millisecond at most), so a high rate does not mean a timer per request.
    func arrive(rate: Double, from: NIODeadline) {
        srand48(0x5EED)  // the same arrivals in every run
        var next = from
        func tick() {
            let now = NIODeadline.now()
            while next <= now && next < tEnd {
                if idle.isEmpty {
                    pending.append(next)
                } else {
                    idle.removeFirst()(next)
                }
                // Exponential inter-arrival time with mean 1/rate.
                let u = drand48()  // seeded in arrive(rate:from:)
                next = next + .nanoseconds(Int64(-log(1 - u) / rate * 1e9))
            }
            if next >= tEnd && now < tEnd {
                // The last arrival has come; the window (and the CPU sample) ends at tEnd.
                loop.assumeIsolated().scheduleTask(deadline: tEnd) { tick() }
                return
            }
            guard next < tEnd else {
                // No more arrivals in the window: connections waiting for one end now, the
                // others when their request and the queue are done.
                arrivalsOver = true
                let waiting = idle
                idle.removeAll()
                for _ in waiting { finish(self) }
                return
            }
            let wake = max(next, now + .milliseconds(1))
            loop.assumeIsolated().scheduleTask(deadline: wake) { tick() }
        }
        tick()
    }

    func next() -> [UInt8] {
        let i = cursor
        cursor += o.stride
        return requests[i % requests.count]
    }

    /// One finished request: counted by when it completed, as loadbench.py does.
    func record(started: NIODeadline, error: BadReply?, spam: Bool) {
        let now = NIODeadline.now()
        if now < tMeas {
            stats[error == nil ? "warmup_ok" : "warmup_err", default: 0] += 1
        } else if now > tEnd {
            stats["late", default: 0] += 1
        } else if let error {
            if error.kind == "timeout" {
                stats["timeouts", default: 0] += 1
            } else {
                stats["errors", default: 0] += 1
            }
            errKinds[error.kind, default: 0] += 1
        } else {
            lat.append(Double((now - started).nanoseconds) / 1e9)
            stats[spam ? "spam" : "ham_verdicts", default: 0] += 1
        }
    }
}

/// Collects one connection's bytes and hands each complete reply to `onReply`.
final class ReplyCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var buffer: [UInt8] = []
    /// Called with the bytes so far and whether the input ended; returns how many bytes of
    /// `buffer` it consumed (nil: keep waiting).
    var onBytes: ((_ buffer: [UInt8], _ eof: Bool) -> Int?)?
    var onClose: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        if let bytes = b.readBytes(length: b.readableBytes) { buffer += bytes }
        deliver(eof: false)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed {
            deliver(eof: true)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deliver(eof: true)
        onClose?()
        onClose = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func deliver(eof: Bool) {
        guard let onBytes else { return }
        if let used = onBytes(buffer, eof) {
            buffer.removeFirst(min(used, buffer.count))
        }
    }
}

@available(*, unavailable)
extension ReplyCollector: Sendable {}

/// One spamd worker: a new connection per request.
func spamdRequest(_ load: Load) {
    load.whenFree { started in spamdRequest(load, started: started) }
}

/// One spamd request, counted from `started` (now, or its arrival in the open loop).
func spamdRequest(_ load: Load, started: NIODeadline) {
    let loop = load.loop
    let request = load.next()
    let collector = ReplyCollector()
    var finished = false
    let boxed = NIOLoopBound(collector, eventLoop: loop)
    func complete(_ error: BadReply?, spam: Bool, channel: (any Channel)?) {
        guard !finished else { return }
        finished = true
        collector.onBytes = nil
        channel?.close(promise: nil)
        load.record(started: started, error: error, spam: spam)
        if error != nil {
            loop.assumeIsolated().scheduleTask(in: .milliseconds(10)) { spamdRequest(load) }
        } else {
            spamdRequest(load)
        }
    }
    let timeout = loop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(load.o.timeout * 1e9))) { complete(BadReply(kind: "timeout"), spam: false, channel: nil) }
    ClientBootstrap(group: loop)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(boxed.value) }
        }
        .connect(host: load.o.host, port: load.o.port)
        .assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let e):
                timeout.cancel()
                complete(BadReply(kind: "\(type(of: e)): \(e)".prefix(90).description), spam: false, channel: nil)
            case .success(let channel):
                load.stats["connects", default: 0] += 1
                collector.onBytes = { buffer, eof in
                    guard eof else { return nil }
                    timeout.cancel()
                    do throws(BadReply) {
                        try checkSpamd(buffer)
                        let text = String(decoding: buffer, as: UTF8.self).lowercased()
                        complete(nil, spam: text.contains("\nspam: true") || text.contains("\nspam: yes"), channel: channel)
                    } catch {
                        complete(error, spam: false, channel: channel)
                    }
                    return buffer.count
                }
                var out = channel.allocator.buffer(capacity: request.count)
                out.writeBytes(request)
                channel.writeAndFlush(out).assumeIsolated().whenComplete { _ in channel.close(mode: .output, promise: nil) }
            }
        }
}

/// One HTTP worker: a keep-alive connection, reconnected when the server closes it.
final class HTTPWorker {
    let load: Load
    var channel: (any Channel)?
    var collector: ReplyCollector?

    init(load: Load) { self.load = load }

    func run() {
        guard NIODeadline.now() < load.tEnd else {
            channel?.close(promise: nil)
            return finish(load)
        }
        load.whenFree { started in self.send(self.load.next(), started: started, retry: true) }
    }

    func connect(_ then: @escaping (Result<(any Channel, ReplyCollector), BadReply>) -> Void) {
        if let channel, let collector, channel.isActive { return then(.success((channel, collector))) }
        let collector = ReplyCollector()
        let loop = load.loop
        let bound = NIOLoopBound(collector, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(bound.value) }
            }
            .connect(host: load.o.host, port: load.o.port)
            .assumeIsolated().whenComplete { result in
                switch result {
                case .failure(let e): then(.failure(BadReply(kind: "\(type(of: e)): \(e)".prefix(90).description)))
                case .success(let c):
                    self.load.stats["connects", default: 0] += 1
                    self.channel = c
                    self.collector = collector
                    then(.success((c, collector)))
                }
            }
    }

    func send(_ request: [UInt8], started: NIODeadline, retry: Bool) {
        let fresh = !(channel?.isActive ?? false)
        let loop = load.loop
        connect { result in
            switch result {
            case .failure(let e): self.done(started: started, error: e, spam: false)
            case .success(let (channel, collector)):
                var finished = false
                let timeout = loop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(self.load.o.timeout * 1e9))) {
                    guard !finished else { return }
                    finished = true
                    collector.onBytes = nil
                    collector.onClose = nil
                    channel.close(promise: nil)
                    self.done(started: started, error: BadReply(kind: "timeout"), spam: false)
                }
                collector.onClose = {
                    // Closed before a whole reply: an idle keep-alive connection the server
                    // dropped is retried once on a new one; else it is an error.
                    guard !finished else { return }
                    finished = true
                    timeout.cancel()
                    collector.onBytes = nil
                    self.channel = nil
                    if !fresh && retry && collector.buffer.isEmpty {
                        self.load.stats["reconnects", default: 0] += 1
                        self.send(request, started: started, retry: false)
                    } else {
                        self.done(started: started, error: BadReply(kind: "IncompleteReadError: connection closed"), spam: false)
                    }
                }
                collector.onBytes = { buffer, eof in
                    guard !finished else { return nil }
                    let parsed: (status: Int, body: ArraySlice<UInt8>, closes: Bool, used: Int)?
                    do throws(BadReply) {
                        parsed = try parseHTTP(buffer, eof: eof)
                    } catch {
                        finished = true
                        timeout.cancel()
                        collector.onClose = nil
                        channel.close(promise: nil)
                        self.channel = nil
                        self.done(started: started, error: error, spam: false)
                        return buffer.count
                    }
                    guard let parsed else { return nil }
                    finished = true
                    timeout.cancel()
                    collector.onClose = nil
                    if parsed.closes {
                        self.load.stats["server_closes", default: 0] += 1
                        channel.close(promise: nil)
                        self.channel = nil
                    }
                    var error: BadReply? = nil
                    var spam = false
                    if parsed.status != 200 {
                        error = BadReply(kind: "bad reply: HTTP \(parsed.status)")
                    } else {
                        do throws(BadReply) {
                            try checkRspamdJSON(parsed.body)
                            let text = String(decoding: parsed.body, as: UTF8.self)
                            spam = ["\"action\":\"reject\"", "\"action\":\"add header\"", "\"action\":\"rewrite subject\"", "\"action\":\"soft reject\""]
                                .contains { text.contains($0) }
                        } catch let e {
                            error = e
                        }
                    }
                    if error != nil {
                        channel.close(promise: nil)
                        self.channel = nil
                    }
                    self.done(started: started, error: error, spam: spam)
                    return parsed.used
                }
                var out = channel.allocator.buffer(capacity: request.count)
                out.writeBytes(request)
                channel.writeAndFlush(out, promise: nil)
            }
        }
    }

    func done(started: NIODeadline, error: BadReply?, spam: Bool) {
        load.record(started: started, error: error, spam: spam)
        if error != nil {
            load.loop.assumeIsolated().scheduleTask(in: .milliseconds(10)) { self.run() }
        } else {
            run()
        }
    }
}

func finish(_ load: Load) {
    load.running -= 1
    if load.running == 0 { load.done.succeed() }
}

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

// MARK: - main

/// Written on the loop, read after the load's future completed (which happens after the writes).
final class CPUWindow: @unchecked Sendable {
    var start = 0.0
    var end = 0.0
}

func runMain() throws {
    let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
    let requests = loadRequests(options)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = group.next()
    let startWall = options.start ?? (Date().timeIntervalSince1970 + 0.2)
    let delay = max(0, startWall - Date().timeIntervalSince1970)
    let t0 = NIODeadline.now() + .nanoseconds(Int64(delay * 1e9))
    let tMeas = t0 + .nanoseconds(Int64(options.warmup * 1e9))
    let tEnd = tMeas + .nanoseconds(Int64(options.duration * 1e9))
    // Client CPU over exactly the window, as loadbench.py measures its own.
    let cpu = CPUWindow()
    let result: EventLoopFuture<String> = loop.flatSubmit {
        let load = Load(o: options, loop: loop, requests: requests, tMeas: tMeas, tEnd: tEnd)
        load.running = options.concurrency
        let isolated = loop.assumeIsolated()
        isolated.scheduleTask(deadline: tMeas) { cpu.start = cpuSeconds() }
        isolated.scheduleTask(deadline: tEnd) { cpu.end = cpuSeconds() }
        isolated.scheduleTask(deadline: t0) {
            for _ in 0..<options.concurrency {
                if options.proto == "spamd" { spamdRequest(load) } else { HTTPWorker(load: load).run() }
            }
            if let rate = options.rate { load.arrive(rate: rate, from: t0) }
        }
        return load.done.futureResult.assumeIsolated().map { () -> String in
            func json(_ d: [String: Int]) -> String {
                "{" + d.sorted { $0.key < $1.key }.map { k, v in
                    "\"" + k.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\": \(v)"
                }.joined(separator: ", ") + "}"
            }
            let lat = "[" + load.lat.map { String($0) }.joined(separator: ", ") + "]"
            load.stats["queued_at_end"] = load.pending.count - load.pendingHead
            return "{\"lat\": \(lat), \"stats\": \(json(load.stats)), \"err_kinds\": \(json(load.errKinds)), "
                + "\"client_cpu_s\": \(cpu.end - cpu.start), \"client\": \"swift\"}"
        }.nonisolated()
    }
    let text = try result.wait()
    print(text)
    try group.syncShutdownGracefully()
}

try runMain()

