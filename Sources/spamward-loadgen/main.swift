// spamward-loadgen: the lean load generator behind scripts/loadbench/loadbench.py --client swift.
//
// The same closed loop as loadbench.py's own (Python asyncio) client, on one thread (a plain
// epoll loop over non-blocking sockets, EventLoop.swift): exactly --concurrency requests in
// flight, every connection takes the next message from one shared cursor over the corpus part,
// the same requests, the same success checks (ReplyChecks.swift), the same window. It prints
// loadbench.py's child result as one JSON object ({"lat": [seconds…], "stats": {…},
// "err_kinds": {…}, "client_cpu_s": x}); loadbench.py samples the server, merges and reports,
// so both clients' figures come out in the same shape.
//
//   spamd          one TCP connection per request: "CHECK SPAMC/1.5", Content-length, the
//                  message, half-close, read to EOF; success = "SPAMD/1.x 0 EX_OK" and a
//                  "Spam: True|False ; S / T" header. Latency from connect to EOF.
//   *-http         HTTP/1.1 keep-alive, one request in flight per connection, "POST /checkv2";
//                  success = status 200 and a JSON object whose top level has a numeric "score"
//                  and a string "action". Latency from the first byte written (or the connect,
//                  when the request needs a new connection) to the whole reply. A server that
//                  closes the connection is reconnected (counted); a keep-alive connection found
//                  closed is retried once on a new one, as loadbench.py does.
//
// A request is an error (never a success) on: a refused or reset connection, a malformed or
// incomplete reply, a non-200 status, a reply over 2 MiB; a timeout (--timeout, from the start
// of the attempt, checked by one sweep every 100 ms at most) is counted apart. After an error
// the connection waits 10 ms before its next request.
//
// --rate R turns the closed loop into an open one: requests arrive at R per second (Poisson
// arrivals from a fixed seed) and are served by at most --concurrency connections; a request
// that arrives while all are busy waits in a queue. Latency is then measured from the request's
// arrival, not from when a connection became free, so queueing delay counts (no coordinated
// omission). This shows the latency at a given load below the maximum throughput.
//
// scripts/loadbench/loadgen_selftest.py runs it against fake servers (good, malformed, split,
// chunked, closing and silent replies) and checks what it counts.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

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


// MARK: - main

#if os(Linux)
func runMain() {
    signal(SIGPIPE, SIG_IGN)
    let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
    let requests = loadRequests(options)
    let startWall = options.start ?? (Date().timeIntervalSince1970 + 0.2)
    let delay = max(0, startWall - Date().timeIntervalSince1970)
    let t0 = monotonicNs() + Int64(delay * 1e9)
    let tMeas = t0 + Int64(options.warmup * 1e9)
    let tEnd = tMeas + Int64(options.duration * 1e9)
    let load = LoadGenerator(o: options, requests: requests, t0: t0, tMeas: tMeas, tEnd: tEnd)
    load.run()
    print(load.resultJSON())
}
#else
func runMain() {
    fail("Linux only (epoll)")
}
#endif

runMain()
