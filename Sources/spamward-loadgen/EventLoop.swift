// The closed (or open) loop of spamward-loadgen: one thread, one epoll instance, non-blocking
// sockets. Every connection is a small state machine (connect → write the request → read the
// reply → next request); replies are checked where they were read; one periodic sweep enforces
// the per-request timeout. See main.swift for what is measured. Linux only (epoll; the
// benchmark reads /proc anyway).

#if os(Linux)
import Glibc
// sys/epoll.h, which the Glibc module does not export (Sources/CEpoll).
import CEpoll

/// Monotonic nanoseconds (CLOCK_MONOTONIC, as NIODeadline).
@inline(__always)
func monotonicNs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// This process's CPU seconds (user + system).
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

private let evIn = EPOLLIN.rawValue
private let evOut = EPOLLOUT.rawValue
private let evRDHUP = EPOLLRDHUP.rawValue
private let evHUP = EPOLLHUP.rawValue
private let evErr = EPOLLERR.rawValue

/// The target's address, resolved once.
struct Target {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 = 0

    init(host: String, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result, let addr = first.pointee.ai_addr else {
            fail("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        family = first.pointee.ai_family
        length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: addr, count: Int(length))) }
    }
}

/// The counters of loadbench.py's child result ("stats").
struct Counters {
    var connects = 0, reconnects = 0, serverCloses = 0, errors = 0, timeouts = 0
    var warmupOK = 0, warmupErr = 0, spam = 0, hamVerdicts = 0, late = 0
}

enum Phase {
    /// No request (open loop: waiting for an arrival; an HTTP connection may stay open).
    case idle
    case connecting, writing, reading
    /// After an error: the next request waits 10 ms (no tight loop against a refusing server).
    case backoff
    case finished
}

/// One of the --concurrency connections (spamd: a new socket per request; HTTP: keep-alive).
final class Connection {
    let id: Int
    var fd: Int32 = -1
    /// Incremented with every new socket; epoll events carry it, so an event for an earlier
    /// socket of this connection is ignored.
    var generation: UInt32 = 0
    /// The epoll events registered for `fd` (0: not registered).
    var events: UInt32 = 0
    var phase = Phase.idle
    var request = 0
    var written = 0
    /// Latency start: when the request started (closed loop) or arrived (open loop).
    var started: Int64 = 0
    /// Timeout start: when this attempt began.
    var issued: Int64 = 0
    var resumeAt: Int64 = 0
    /// HTTP: this request opened the socket (a keep-alive socket found closed is retried once).
    var fresh = false
    var retry = false
    /// Input: `buffer[..<count]`; `scanned`: where the search for the end of the HTTP head resumes;
    /// `headEnd`: the head's end once found (0: not yet).
    var buffer: UnsafeMutableRawPointer
    var capacity: Int
    var count = 0
    var scanned = 0
    var headEnd = 0

    init(id: Int, capacity: Int) {
        self.id = id
        self.capacity = capacity
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    var input: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: buffer, count: count) }
}

@available(*, unavailable)
extension Connection: Sendable {}

final class LoadGenerator {
    let o: Options
    let spamd: Bool
    let requests: [[UInt8]]
    let target: Target
    let epfd: Int32
    var conns: [Connection] = []
    var cursor: Int
    let t0: Int64, tMeas: Int64, tEnd: Int64
    let timeoutNs: Int64
    let sweepEvery: Int64
    var nextSweep: Int64
    /// A reply (spamd: the whole reply; HTTP: head and body) larger than this is an error: a
    /// hostile or broken server cannot make the client's memory grow without bound (replies
    /// here are 1-5 kB; the input buffer starts at 64 kB and doubles up to this).
    static let maxReply = 2 << 20

    var lat: [Double] = []
    var counters = Counters()
    var errKinds: [String: Int] = [:]
    var running = 0
    var workersStarted = false
    var cpuStart: Double? = nil
    var cpuEnd: Double? = nil
    var inBackoff = 0

    // Open loop: arrival times not yet taken by a connection (`pendingHead` is the next), the
    // connections waiting for an arrival (`idleHead` is the next), the next arrival and when
    // to generate arrivals again (nil: not running).
    var pending: [Int64] = []
    var pendingHead = 0
    var idle: [Int] = []
    var idleHead = 0
    var arrivalsOver = false
    var nextArrival: Int64 = 0
    var nextTick: Int64? = nil

    init(o: Options, requests: [[UInt8]], t0: Int64, tMeas: Int64, tEnd: Int64) {
        self.o = o
        spamd = o.proto == "spamd"
        self.requests = requests
        target = Target(host: o.host, port: o.port)
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { fail("epoll_create1: \(errorText(errno))") }
        cursor = o.offset
        self.t0 = t0
        self.tMeas = tMeas
        self.tEnd = tEnd
        timeoutNs = Int64(o.timeout * 1e9)
        sweepEvery = max(1_000_000, min(100_000_000, timeoutNs / 10))
        nextSweep = t0
        conns = (0..<o.concurrency).map { Connection(id: $0, capacity: 64 << 10) }
        running = o.concurrency
        lat.reserveCapacity(min(4 << 20, Int(o.duration * 16_384)))
    }

    // MARK: the loop

    func run() {
        let maxEvents = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: maxEvents)
        defer { events.deallocate() }
        while true {
            let now = monotonicNs()
            timers(now)
            if workersStarted && running == 0 { break }
            let wait = nextDeadline() - now
            let ms = wait <= 0 ? 0 : Int32(clamping: (wait + 999_999) / 1_000_000)
            let n = epoll_wait(epfd, events, Int32(maxEvents), ms)
            if n < 0 {
                if errno == EINTR { continue }
                fail("epoll_wait: \(errorText(errno))")
            }
            for k in 0..<Int(n) {
                let data = events[k].data.u64
                let c = conns[Int(data & 0xFFFF_FFFF)]
                // A connection has one socket at a time; skip an event of one it closed since.
                guard c.fd >= 0, c.generation == UInt32(truncatingIfNeeded: data >> 32) else { continue }
                dispatch(c, events[k].events)
            }
        }
        if cpuEnd == nil { cpuEnd = cpuSeconds() }
    }

    func nextDeadline() -> Int64 {
        var d = nextSweep
        if !workersStarted { d = min(d, t0) }
        if cpuStart == nil { d = min(d, tMeas) }
        if cpuEnd == nil { d = min(d, tEnd) }
        if let t = nextTick { d = min(d, t) }
        if inBackoff > 0 {
            for c in conns where c.phase == .backoff { d = min(d, c.resumeAt) }
        }
        return d
    }

    func timers(_ now: Int64) {
        if cpuStart == nil && now >= tMeas { cpuStart = cpuSeconds() }
        if cpuEnd == nil && now >= tEnd { cpuEnd = cpuSeconds() }
        if !workersStarted {
            guard now >= t0 else { return }
            workersStarted = true
            for c in conns { free(c) }
            if o.rate != nil {
                srand48(0x5EED)  // the same arrivals in every run
                nextArrival = t0
                tick(now)
            }
        }
        if let t = nextTick, now >= t { tick(now) }
        if inBackoff > 0 {
            for c in conns where c.phase == .backoff && now >= c.resumeAt {
                inBackoff -= 1
                c.phase = .idle
                free(c)
            }
        }
        if now >= nextSweep {
            nextSweep = now + sweepEvery
            for c in conns {
                switch c.phase {
                case .connecting, .writing, .reading:
                    if now - c.issued >= timeoutNs {
                        close(c)
                        done(c, error: BadReply(kind: "timeout"), spam: false)
                    }
                case .idle, .backoff, .finished: break
                }
            }
        }
    }

    /// Open loop: hands the Poisson arrivals due by `now` to waiting connections or queues
    /// them, and sets when to come back (every millisecond at most, so a high rate does not
    /// mean a wake-up per request).
    func tick(_ now: Int64) {
        guard let rate = o.rate else { return }
        while nextArrival <= now && nextArrival < tEnd {
            if idleHead < idle.count {
                let c = conns[idle[idleHead]]
                idleHead += 1
                if idleHead == idle.count {
                    idle.removeAll(keepingCapacity: true)
                    idleHead = 0
                }
                begin(c, started: nextArrival)
            } else {
                pending.append(nextArrival)
            }
            // Exponential inter-arrival time with mean 1/rate.
            let u = drand48()  // seeded when the workers start
            nextArrival += Int64(-log(1 - u) / rate * 1e9)
        }
        if nextArrival >= tEnd && now < tEnd {
            // The last arrival has come; the window ends at tEnd.
            nextTick = tEnd
            return
        }
        guard nextArrival < tEnd else {
            // No more arrivals in the window: connections waiting for one end now, the
            // others when their request and the queue are done.
            arrivalsOver = true
            nextTick = nil
            let waiting = idle[idleHead...]
            idle = []
            idleHead = 0
            for id in waiting { finish(conns[id]) }
            return
        }
        nextTick = max(nextArrival, now + 1_000_000)
    }

    // MARK: requests

    /// A connection is free: its next request starts now (closed loop), at the oldest waiting
    /// arrival, or it waits for one (open loop); after the window it is done.
    func free(_ c: Connection) {
        let now = monotonicNs()
        guard now < tEnd else { return finish(c) }
        guard o.rate != nil else { return begin(c, started: now) }
        if pendingHead < pending.count {
            let arrival = pending[pendingHead]
            pendingHead += 1
            if pendingHead > 4096 && pendingHead * 2 > pending.count {
                pending.removeFirst(pendingHead)
                pendingHead = 0
            }
            begin(c, started: arrival)
        } else if arrivalsOver {
            finish(c)
        } else {
            c.phase = .idle
            idle.append(c.id)
        }
    }

    func finish(_ c: Connection) {
        close(c)
        c.phase = .finished
        running -= 1
    }

    func begin(_ c: Connection, started: Int64) {
        c.request = cursor % requests.count
        cursor += o.stride
        c.started = started
        c.retry = !spamd
        send(c)
    }

    /// Sends `c.request`: on the open keep-alive socket, or on a new one.
    func send(_ c: Connection) {
        c.issued = monotonicNs()
        c.written = 0
        if c.fd >= 0 {
            c.fresh = false
            c.phase = .writing
            write(c)
        } else {
            c.fresh = true
            connect(c)
        }
    }

    func connect(_ c: Connection) {
        let fd = socket(target.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return done(c, error: BadReply(kind: "OSError: socket: \(errorText(errno))"), spam: false) }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        c.fd = fd
        c.generation &+= 1
        c.events = 0
        c.count = 0
        c.scanned = 0
        c.headEnd = 0
        let rc = withUnsafePointer(to: target.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, target.length) }
        }
        if rc == 0 { return connected(c) }
        let e = errno
        guard e == EINPROGRESS else {
            close(c)
            return done(c, error: connectError(e), spam: false)
        }
        // Over loopback the handshake is usually over by now: write at once (a socket still
        // connecting answers EAGAIN, and then epoll says when it is connected).
        c.phase = .connecting
        write(c)
    }

    func connectError(_ e: Int32) -> BadReply {
        BadReply(kind: "OSError: connect: \(errorText(e))")
    }

    func connected(_ c: Connection) {
        counters.connects += 1
        c.phase = .writing
        write(c)
    }

    /// Writes what is left of the request; then waits for the reply. In `.connecting`, the
    /// first write that goes through means the connection is established.
    func write(_ c: Connection) {
        let total = requests[c.request].count
        while c.written < total {
            let n = requests[c.request].withUnsafeBytes { b in
                Glibc.send(c.fd, b.baseAddress! + c.written, total - c.written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                if c.phase == .connecting {
                    counters.connects += 1
                    c.phase = .writing
                }
                c.written += n
                continue
            }
            let e = errno
            if n < 0 && e == EINTR { continue }
            if c.phase == .connecting {
                if n < 0 && (e == EAGAIN || e == EWOULDBLOCK) { return watch(c, evOut) }
                close(c)
                return done(c, error: connectError(n < 0 ? e : EPIPE), spam: false)
            }
            if n < 0 && (e == EAGAIN || e == EWOULDBLOCK) {
                // The reply may come before the request is all written (an early error reply).
                return watch(c, evIn | evOut | (spamd ? evRDHUP : 0))
            }
            // The server closed or reset the connection: what it sent, if anything, decides.
            c.phase = .reading
            if spamd { watch(c, evIn | evRDHUP) } else { watch(c, evIn) }
            return read(c, events: evHUP)
        }
        c.phase = .reading
        if spamd {
            // As spamc: half-close, then read to EOF.
            shutdown(c.fd, Int32(SHUT_WR))
            watch(c, evIn | evRDHUP)
        } else {
            watch(c, evIn)
        }
    }

    func watch(_ c: Connection, _ events: UInt32) {
        guard c.events != events else { return }
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = UInt64(c.id) | UInt64(c.generation) << 32
        let op = c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD
        guard epoll_ctl(epfd, op, c.fd, &ev) == 0 else { fail("epoll_ctl: \(errorText(errno))") }
        c.events = events
    }

    func close(_ c: Connection) {
        guard c.fd >= 0 else { return }
        _ = Glibc.close(c.fd)  // also leaves the epoll set
        c.fd = -1
        c.events = 0
        c.count = 0
        c.scanned = 0
        c.headEnd = 0
    }

    func dispatch(_ c: Connection, _ events: UInt32) {
        switch c.phase {
        case .connecting:
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 { err = errno }
            if err != 0 {
                close(c)
                return done(c, error: connectError(err), spam: false)
            }
            connected(c)
        case .writing:
            if events & (evIn | evRDHUP | evErr | evHUP) != 0 {
                read(c, events: events)
                guard c.phase == .writing else { return }
            }
            if events & (evOut | evErr | evHUP) != 0 { write(c) }
        case .reading, .idle:
            read(c, events: events)
        case .backoff, .finished:
            break
        }
    }

    /// Reads what the socket has. spamd: to EOF, then checks the reply. HTTP: until a whole
    /// reply is there, then checks it.
    func read(_ c: Connection, events: UInt32) {
        while true {
            if c.count == c.capacity {
                guard c.capacity < Self.maxReply else {
                    close(c)
                    if c.phase == .idle { return }
                    return done(c, error: BadReply(kind: "bad reply: reply too large"), spam: false)
                }
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: c.capacity * 2, alignment: 16)
                bigger.copyMemory(from: c.buffer, byteCount: c.count)
                c.buffer.deallocate()
                c.buffer = bigger
                c.capacity *= 2
            }
            let space = c.capacity - c.count
            let n = Glibc.read(c.fd, c.buffer + c.count, space)
            if n > 0 {
                c.count += n
                if !spamd && httpProgress(c, eof: false) { return }
                // spamd: read on while the socket has more (the reply filled the buffer) or the
                // server has closed (RDHUP: the next read returns 0); else epoll says when.
                if n < space && (!spamd || events & (evRDHUP | evHUP | evErr) == 0) { return }
                continue
            }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN || e == EWOULDBLOCK { return }
            }
            // EOF, or the connection reset: the input ended.
            return inputEnded(c)
        }
    }

    func inputEnded(_ c: Connection) {
        if spamd {
            var error: BadReply? = nil
            var spam = false
            do throws(BadReply) {
                spam = try checkSpamd(UnsafeRawBufferPointer(c.input))
            } catch let e {
                error = e
            }
            close(c)
            return done(c, error: error, spam: spam)
        }
        if c.phase == .idle {
            // An idle keep-alive connection closed by the server: the next request reconnects.
            return close(c)
        }
        if httpProgress(c, eof: true) { return }
        // Closed before a whole reply: an idle keep-alive connection the server dropped is
        // retried once on a new one; else it is an error.
        let empty = c.count == 0
        close(c)
        if !c.fresh && c.retry && empty {
            counters.reconnects += 1
            c.retry = false
            return send(c)
        }
        done(c, error: BadReply(kind: "IncompleteReadError: connection closed"), spam: false)
    }

    /// HTTP: if the input holds a whole reply (or a malformed one), handles it and returns true.
    func httpProgress(_ c: Connection, eof: Bool) -> Bool {
        guard c.phase != .idle else { return false }  // bytes before the next request: kept
        if c.headEnd == 0 {
            guard let end = findHeadEnd(UnsafeRawBufferPointer(c.input), from: c.scanned) else {
                c.scanned = c.count
                return false
            }
            c.headEnd = end
        }
        let reply: HTTPReply
        do throws(BadReply) {
            guard let r = try parseHTTP(c.input, headEnd: c.headEnd, eof: eof, maxBody: Self.maxReply) else { return false }
            reply = r
        } catch {
            close(c)
            done(c, error: error, spam: false)
            return true
        }
        var error: BadReply? = nil
        var spam = false
        if reply.status != 200 {
            error = BadReply(kind: "bad reply: HTTP \(reply.status)")
        } else {
            do throws(BadReply) {
                spam = try checkRspamdJSON(UnsafeRawBufferPointer(start: c.buffer + reply.bodyStart, count: reply.bodyEnd - reply.bodyStart))
            } catch let e {
                error = e
            }
        }
        if reply.closes { counters.serverCloses += 1 }
        if reply.closes || error != nil || c.phase == .writing {
            // The server closes, the reply was bad, or it came before the whole request was
            // written (what is left of the request must not be read as the next one).
            close(c)
        } else {
            let rest = c.count - reply.used
            if rest > 0 { c.buffer.copyMemory(from: c.buffer + reply.used, byteCount: rest) }
            c.count = rest
            c.scanned = 0
            c.headEnd = 0
        }
        done(c, error: error, spam: spam)
        return true
    }

    /// One finished request, counted by when it completed, as loadbench.py does; then the
    /// connection's next request (10 ms later after an error).
    func done(_ c: Connection, error: BadReply?, spam: Bool) {
        let now = monotonicNs()
        if now < tMeas {
            if error == nil { counters.warmupOK += 1 } else { counters.warmupErr += 1 }
        } else if now > tEnd {
            counters.late += 1
        } else if let error {
            if error.kind == "timeout" { counters.timeouts += 1 } else { counters.errors += 1 }
            errKinds[error.kind, default: 0] += 1
        } else {
            lat.append(Double(now - c.started) / 1e9)
            if spam { counters.spam += 1 } else { counters.hamVerdicts += 1 }
        }
        if error != nil {
            c.phase = .backoff
            c.resumeAt = now + 10_000_000
            inBackoff += 1
        } else {
            c.phase = .idle
            free(c)
        }
    }

    // MARK: result

    /// loadbench.py's child result.
    func resultJSON() -> String {
        func quoted(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where u.value < 0x20:
                    let hex = String(u.value, radix: 16)
                    out += "\\u00" + (hex.count < 2 ? "0" : "") + hex
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        func object(_ d: [String: Int]) -> String {
            "{" + d.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \($0.value)" }.joined(separator: ", ") + "}"
        }
        let k = counters
        var stats: [String: Int] = [:]
        stats["connects"] = k.connects
        stats["reconnects"] = k.reconnects
        stats["server_closes"] = k.serverCloses
        stats["errors"] = k.errors
        stats["timeouts"] = k.timeouts
        stats["warmup_ok"] = k.warmupOK
        stats["warmup_err"] = k.warmupErr
        stats["spam"] = k.spam
        stats["ham_verdicts"] = k.hamVerdicts
        stats["late"] = k.late
        stats["queued_at_end"] = pending.count - pendingHead
        let cpu = (cpuEnd ?? 0) - (cpuStart ?? 0)
        return "{\"lat\": [" + lat.map { String($0) }.joined(separator: ", ") + "], \"stats\": \(object(stats)), "
            + "\"err_kinds\": \(object(errKinds)), \"client_cpu_s\": \(cpu), \"client\": \"swift\"}"
    }
}

#endif
