import CoreMetrics
import Logging
import MailAuth
import NIOCore
import SMTPProtocol

/// What the screening before the greeting found, for the session of a client that passed it.
struct Screening: Sendable {
    /// On the permanent allowlist (never screened).
    var allowlisted = false
    /// On the temporary allowlist (passed before: no pregreet test, DNS lists or greylisting).
    var passedBefore = false
    /// The tests that failed so far (each counts once per session).
    var fired: Set<EdgeTest> = []
    /// The first enforced violation: every RCPT is refused with it.
    var pending: EdgeViolation? = nil
}

/// A client that passed the screening before the greeting and needs a session (``EdgeFront``
/// decided so), handed to the accept loop for a session task, with the state of its dialog so far
/// (the greeting was written; the front may have answered commands).
struct AdmittedConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let count: InboundByteCount
    let id: Int
    let client: IPAddress
    let screening: Screening
    let shared: EdgeShared
    /// The dialog's state machine, after the greeting (and what the front answered).
    let sm: SMTPServerStateMachine
    let helo: String?
    let sender: String?
    /// Bytes of the client's stream the front consumed (the session counts on from there).
    let consumed: Int
}

/// What the DNS lists said before the greeting.
enum ListsOutcome: Sendable { case notAsked, timedOut, answered(DNSListResult) }

/// The screening before the greeting, as a channel handler, first in every client's pipeline:
/// the connection limit, rate and concurrency, the permanent lists, the temporary allowlist, the
/// pregreet test (the `220-` teaser, the wait as an event-loop timer, bytes before the greeting)
/// and the DNS lists (asked off the event loop through ``EdgeAcceptor``, answered on it).
///
/// A client refused here (`drop`, or a rate/concurrency limit) gets its 521/421 and is closed by
/// the handler: no task, no `NIOAsyncChannel` and no session exist for it. A client that passes
/// (or only fails `enforce`/`ignore` tests) gets the greeting from the handler, which then runs
/// the SMTP front (``EdgeFront``) on its first command: a client that behaves is wrapped into an
/// `NIOAsyncChannel` and handed to the accept loop with what the screening found and the dialog
/// so far; one that pipelines improperly or sends a non-SMTP command, or that has an `enforce`
/// finding, is answered (and refused) here without a session. After the hand-off the handler only
/// counts bytes (STARTTLS needs the count) and passes them on. Bytes that arrive before it are
/// kept (at most ``maxBufferedBytes``; reading stops until the hand-off) and passed on at the
/// hand-off.
///
/// Writes are batched: while the DNS lists are being asked the `220-` teaser is held back, so
/// that a client refused in the meantime gets the teaser and its 521 in one write, and a client
/// that passes gets the teaser when the lists have answered (with the greeting, when the wait is
/// over by then); the front answers a pipelined group of commands with one write.
final class ScreeningHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bytes kept from a client during the screening before reading stops.
    static let maxBufferedBytes = 64 * 1024

    private enum State { case screening, front, passed, closed }

    private let acceptor: EdgeAcceptor
    private let shared: EdgeShared
    private let count = InboundByteCount()
    private var state = State.screening
    private var id = 0
    private var client: IPAddress?
    private var started = NIODeadline.now()
    /// Counted in the open connections (released when the channel closes).
    private var counted = false
    /// Admitted by the rate limiter (released when the channel closes).
    private var rateAdmitted = false
    private var screening = Screening()
    private var buffered: ByteBuffer?
    private var readPending = false
    /// The pregreet wait is running.
    private var waiting = false
    private var waitOver = false
    private var waitTimer: Scheduled<Void>?
    /// The DNS lists were asked and their outcome is not in yet.
    private var listsOutstanding = false
    private var listsOutcome = ListsOutcome.notAsked
    private var dnsTimer: Scheduled<Void>?
    private var sessionTimer: Scheduled<Void>?
    /// The `220-` teaser is due but held back until the DNS lists answer (see the type's notes).
    private var teaserHeld = false
    /// The SMTP front, from the greeting to the hand-off.
    private var front: EdgeFront?
    /// The front's command timeout: one timer, moved on when it fires early (`lastRead`).
    private var commandTimer: Scheduled<Void>?
    private var lastRead = NIODeadline.now()
    /// Registered with the acceptor (closed with 421 when the edge stops).
    private var inFront = false

    init(acceptor: EdgeAcceptor, shared: EdgeShared) {
        self.acceptor = acceptor
        self.shared = shared
    }

    private var configuration: EdgeConfiguration { shared.configuration }

    // MARK: - Events

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        count.add(bytes.readableBytes)
        switch state {
        case .passed:
            context.fireChannelRead(data)
        case .screening:
            if buffered == nil {
                buffered = bytes
            } else {
                buffered?.writeBuffer(&bytes)
            }
            // A client that speaks before its turn is answered at once when the action is drop.
            if waiting && configuration.action(for: .pregreet) == .drop { endWait(context: context) }
        case .front:
            if buffered == nil {
                buffered = bytes
            } else {
                buffered?.writeBuffer(&bytes)
            }
            lastRead = .now()
            var out = context.channel.allocator.buffer(capacity: 0)
            runFront(context: context, out: &out)
        case .closed:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if state == .passed { context.fireChannelReadComplete() }
    }

    func read(context: ChannelHandlerContext) {
        if state == .screening || state == .front, (buffered?.readableBytes ?? 0) >= Self.maxBufferedBytes {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        cancelTimers()
        sessionTimer?.cancel()
        leaveFront()
        if rateAdmitted, let client { acceptor.limiter.release(client) }
        rateAdmitted = false
        if counted { acceptor.open.add(-1) }
        counted = false
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if state == .passed {
            context.fireErrorCaught(error)
        } else {
            state = .closed
            context.close(promise: nil)
        }
    }

    // MARK: - Screening

    private func start(context: ChannelHandlerContext) {
        let c = configuration
        started = .now()
        id = acceptor.serial.add(1)
        counted = true
        let open = acceptor.open.add(1)
        shared.metrics.connections.increment()
        if open > c.maxConnections {
            shared.metrics.refusedConnections.increment()
            refuse(SMTPReply(421, "4.7.0 Too many connections, try again later"), context: context)
            return
        }
        guard let client = context.channel.remoteAddress.flatMap(Self.ipAddress) else {
            state = .closed
            context.close(promise: nil)
            return
        }
        self.client = client
        screening.allowlisted = c.allowlist.contains { $0.contains(client) }
        if !screening.allowlisted {
            if let v = acceptor.limiter.admit(client, now: Double(MonotonicClock.nowMilliseconds()) / 1000) {
                let action = c.action(for: v.test)
                shared.metrics.failed(v.test, action)
                logDecision(v, action: action)
                if action != .ignore {
                    refuse(SMTPReply(421, "4.7.0 [\(v.test.reasonCode)] \(v.test.humanReason)"), context: context)
                    return
                }
            } else {
                rateAdmitted = true
            }
        }
        if !screening.allowlisted, let net = c.denylist.first(where: { $0.contains(client) }) {
            if violate(EdgeViolation(test: .denylist, evidence: "in \(net)"), context: context) { return }
        }
        if screening.allowlisted {
            screen(context: context)
        } else if let known = shared.passed.hasPassedWithoutWaiting(client, now: shared.now()) {
            screening.passedBefore = known
            screen(context: context)
        } else {
            // A store that must be asked off the event loop: the answer comes back on it.
            let promise = context.eventLoop.makePromise(of: Bool.self)
            let passed = shared.passed
            let now = shared.now()
            let asked = acceptor.submit { promise.succeed(await passed.hasPassed(client, now: now)) }
            if !asked { promise.succeed(false) }
            promise.futureResult.assumeIsolated().whenSuccess { known in
                guard self.state == .screening else { return }
                self.screening.passedBefore = known
                self.screen(context: context)
            }
        }
    }

    /// The pregreet test and the DNS lists, for a client that is neither allowlisted nor passed
    /// before; the hand-off for the others.
    private func screen(context: ChannelHandlerContext) {
        let c = configuration
        guard !screening.allowlisted && !screening.passedBefore, let client else {
            waitOver = true
            finishIfDone(context: context)
            return
        }
        let loop = context.eventLoop.assumeIsolated()
        if let checker = shared.dnsLists, !checker.sites.isEmpty {
            // One child task of the service for the lookups; the timeout is a timer here. The first
            // of the two to complete the promise wins (a promise ignores a second completion).
            let promise = context.eventLoop.makePromise(of: ListsOutcome.self)
            dnsTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(c.dnsTimeoutMilliseconds))) {
                promise.succeed(.timedOut)
            }
            listsOutstanding = true
            let asked = acceptor.submit { promise.succeed(.answered(await checker.check(client))) }
            if !asked { promise.succeed(.notAsked) }
            promise.futureResult.assumeIsolated().whenSuccess { outcome in
                self.listsAnswered(outcome, context: context)
            }
        }
        if c.pregreetWaitMilliseconds > 0 && state == .screening {
            waiting = true
            // Held while the lists are asked: sent with their answer, or with a refusal.
            teaserHeld = true
            if !listsOutstanding { flushTeaser(context: context) }
            waitTimer = loop.scheduleTask(in: .milliseconds(Int64(c.pregreetWaitMilliseconds))) {
                self.endWait(context: context)
            }
            if count.value > 0 && c.action(for: .pregreet) == .drop { endWait(context: context) }
        } else {
            waitOver = true
            finishIfDone(context: context)
        }
    }

    /// The end of the pregreet wait (its time, a byte from the client, or a listing with `drop`):
    /// a byte before it fails the test.
    private func endWait(context: ChannelHandlerContext) {
        guard waiting, state == .screening else { return }
        waiting = false
        waitTimer?.cancel()
        waitTimer = nil
        let early = count.value
        if early > 0 {
            if violate(EdgeViolation(test: .pregreet, evidence: "\(early) bytes before the greeting"), context: context) { return }
        }
        waitOver = true
        finishIfDone(context: context)
    }

    private func listsAnswered(_ outcome: ListsOutcome, context: ChannelHandlerContext) {
        guard listsOutstanding, state == .screening else { return }
        listsOutstanding = false
        dnsTimer?.cancel()
        dnsTimer = nil
        listsOutcome = outcome
        if case .answered(let r) = outcome, r.isListed, configuration.action(for: .dnsbl) == .drop {
            endWait(context: context)  // answered at once, not at the end of the wait
        }
        finishIfDone(context: context)
        // Still waiting: the teaser now.
        if state == .screening { flushTeaser(context: context) }
    }

    /// Writes the held teaser (alone).
    private func flushTeaser(context: ChannelHandlerContext) {
        guard teaserHeld else { return }
        var out = context.channel.allocator.buffer(capacity: 128)
        appendTeaser(to: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    /// The held teaser, to go out with what follows it in one write.
    private func appendTeaser(to out: inout ByteBuffer) {
        guard teaserHeld else { return }
        teaserHeld = false
        let c = configuration
        out.writeString("220-\(c.hostname) \(c.pregreetTeaser)\r\n")
    }

    /// Once the wait is over and the lists answered (or timed out): their verdict, then the hand-off.
    private func finishIfDone(context: ChannelHandlerContext) {
        guard state == .screening, waitOver, !listsOutstanding else { return }
        let c = configuration
        switch listsOutcome {
        case .notAsked:
            break
        case .timedOut:
            log(.warning, "DNS lists did not answer in time", ["edge.dns.timeout_ms": "\(c.dnsTimeoutMilliseconds)"])
        case .answered(let result):
            for w in result.warnings {
                log(.warning, "DNS list did not score", [
                    "edge.dns.list": "\(w.domain)", "edge.dns.warning": "\(w.reason)",
                    "edge.dns.replies": "\(w.replies.map(\.description).joined(separator: ","))",
                ])
            }
            for f in result.failures {
                log(.warning, "DNS list lookup failed", ["edge.dns.list": "\(f.domain)", "edge.dns.error": "\(f.error.code)"])
            }
            if result.isListed {
                let hits = result.hits.map { "\($0.site.domain)=\($0.replies.map(\.description).joined(separator: ","))" }
                let v = EdgeViolation(test: .dnsbl, evidence: "score \(result.score) >= \(result.threshold): \(hits.joined(separator: " "))")
                if violate(v, context: context) { return }
            }
        }
        greet(context: context)
    }

    // MARK: - The front

    /// The greeting (with the held teaser, if any), then the front on what the client sent so far.
    private func greet(context: ChannelHandlerContext) {
        cancelTimers()
        let c = configuration
        state = .front
        let channel = context.channel
        var out = channel.allocator.buffer(capacity: 256)
        appendTeaser(to: &out)
        guard acceptor.enterFront(id, channel) else {
            // The edge is stopping: no new sessions.
            state = .closed
            SMTPReply(421, "4.3.2 Service shutting down").encode(into: &out)
            close(after: out, context: context)
            return
        }
        inFront = true
        var f = EdgeFront(configuration: c, startTLS: shared.tls != nil, screening: screening)
        f.sm.greeting.encode(into: &out)
        front = f
        lastRead = .now()
        scheduleCommandTimeout(
            in: min(.seconds(Int64(c.commandTimeoutSeconds)), started + .seconds(Int64(c.sessionTimeoutSeconds)) - lastRead),
            context: context)
        runFront(context: context, out: &out)
    }

    /// Runs the front on the buffered bytes and writes its replies (after `out`) in one write.
    private func runFront(context: ChannelHandlerContext, out: inout ByteBuffer) {
        guard var f = front, let client else { return }
        var step = EdgeFront.Step.needMore
        if var bytes = buffered {
            buffered = nil
            step = f.receive(&bytes, configuration: configuration, client: client, replies: &out)
            if bytes.readableBytes > 0 {
                bytes.discardReadBytes()
                buffered = bytes
            }
        }
        let decisions = f.decisions
        f.decisions = []
        front = f
        screening = f.screening
        for d in decisions { logFront(d) }
        switch step {
        case .needMore:
            if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
            if readPending, (buffered?.readableBytes ?? 0) < Self.maxBufferedBytes {
                readPending = false
                context.read()
            }
        case .close:
            state = .closed
            close(after: out, context: context)
        case .handOff:
            if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
            handOff(context: context)
        }
    }

    /// The front's command timeout (the session's, `command_timeout_seconds` without a read) and
    /// session timeout (`session_timeout_seconds` from the connection): one timer, moved on by the
    /// reads since it was set.
    private func scheduleCommandTimeout(in delay: TimeAmount, context: ChannelHandlerContext) {
        commandTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            guard self.state == .front else { return }
            let c = self.configuration
            let sessionDue = self.started + .seconds(Int64(c.sessionTimeoutSeconds))
            let due = min(self.lastRead + .seconds(Int64(c.commandTimeoutSeconds)), sessionDue)
            let now = NIODeadline.now()
            if due > now {
                self.scheduleCommandTimeout(in: due - now, context: context)
            } else if sessionDue <= now {
                // As the session's timer does: closed without a reply.
                self.state = .closed
                self.leaveFront()
                context.close(promise: nil)
            } else {
                self.state = .closed
                self.close(after: SMTPReply(421, "4.4.2 Timeout, closing connection").bytes, context: context)
            }
        }
    }

    private func leaveFront() {
        commandTimer?.cancel()
        commandTimer = nil
        if inFront { acceptor.leaveFront(id) }
        inFront = false
    }

    /// Wraps the channel for the session and hands it to the accept loop, with the dialog so far.
    private func handOff(context: ChannelHandlerContext) {
        guard let client, let front else { return }
        leaveFront()
        self.front = nil
        state = .passed
        let channel = context.channel
        let async: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            async = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        } catch {
            state = .closed
            context.close(promise: nil)
            return
        }
        // A session never served (the accept loop already ended) must not trap in NIO's "Deinited
        // NIOAsyncWriter without calling finish()": its writer is finished when the channel closes
        // (finishing twice is harmless). apple/swift-nio#2637.
        let outbound = async.outbound
        channel.closeFuture.whenComplete { _ in outbound.finish() }
        // The session's time counts from the connection, as before the screening moved here.
        sessionTimer = context.eventLoop.scheduleTask(
            deadline: started + .seconds(Int64(configuration.sessionTimeoutSeconds))
        ) { channel.close(promise: nil) }
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
        if readPending {
            readPending = false
            context.read()
        }
        let admitted = AdmittedConnection(
            channel: async, count: count, id: id, client: client, screening: front.screening, shared: shared, sm: front.sm,
            helo: front.helo, sender: front.sender, consumed: front.consumed)
        if !acceptor.admit(admitted) {
            // The edge is stopping: no new sessions.
            context.writeAndFlush(wrapOutboundOut(SMTPReply(421, "4.3.2 Service shutting down").bytes), promise: nil)
            context.close(promise: nil)
        }
    }

    /// Applies a failed test's action before the greeting: log and count; remember it (enforce)
    /// or reply 521 and close (drop). Returns whether the connection was closed.
    private func violate(_ v: EdgeViolation, context: ChannelHandlerContext) -> Bool {
        guard !screening.fired.contains(v.test) else { return false }
        screening.fired.insert(v.test)
        let action = configuration.action(for: v.test)
        shared.metrics.failed(v.test, action)
        logDecision(v, action: action)
        switch action {
        case .ignore:
            return false
        case .enforce:
            if screening.pending == nil { screening.pending = v }
            return false
        case .drop:
            refuse(SMTPReply(521, "5.7.1 [\(v.test.reasonCode)] \(v.test.humanReason)"), context: context)
            return true
        }
    }

    /// Answers (after the held teaser, in one write) and closes (after the reply is written).
    private func refuse(_ reply: SMTPReply, context: ChannelHandlerContext) {
        state = .closed
        cancelTimers()
        buffered = nil
        var out = context.channel.allocator.buffer(capacity: 128)
        appendTeaser(to: &out)
        reply.encode(into: &out)
        close(after: out, context: context)
    }

    /// Writes `bytes` and closes once they are written.
    private func close(after bytes: ByteBuffer, context: ChannelHandlerContext) {
        leaveFront()
        context.writeAndFlush(wrapOutboundOut(bytes)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func cancelTimers() {
        waitTimer?.cancel()
        waitTimer = nil
        dnsTimer?.cancel()
        dnsTimer = nil
        waiting = false
    }

    // MARK: - Logging

    /// The decision line, as the session logs it (the connection's id and address are added
    /// only when the line is written: nothing is formatted for a level that is off).
    private func logDecision(_ v: EdgeViolation, action: TestAction) {
        log(.notice, "client failed a test", [
            "edge.test": "\(v.test.rawValue)", "edge.reason": "\(v.test.reasonCode)", "edge.action": "\(action.rawValue)",
            "edge.evidence": "\(v.evidence)",
        ])
    }

    /// A decision of the front, logged (and counted) as the session logs it: with HELO and the
    /// domains of sender and recipient (full addresses only at debug).
    private func logFront(_ d: EdgeFront.Decision) {
        if d.counted { shared.metrics.failed(d.violation.test, d.action) }
        log(.notice, "client failed a test", {
            var m: Logger.Metadata = [
                "edge.test": "\(d.violation.test.rawValue)", "edge.reason": "\(d.violation.test.reasonCode)",
                "edge.action": "\(d.action.rawValue)", "edge.evidence": "\(d.violation.evidence)",
            ]
            if let helo = d.helo { m["smtp.helo"] = "\(helo)" }
            if let sender = d.sender { m["smtp.sender_domain"] = "\(sender.split(separator: "@").last.map(String.init) ?? "")" }
            if let r = d.recipient { m["smtp.recipient_domain"] = "\(r.split(separator: "@").last.map(String.init) ?? "")" }
            return m
        }())
        log(.debug, "envelope", ["smtp.sender": "\(d.sender ?? "")", "smtp.recipient": "\(d.recipient ?? "")"])
    }

    private func log(_ level: Logger.Level, _ message: Logger.Message, _ metadata: @autoclosure () -> Logger.Metadata) {
        let logger = acceptor.logger
        guard logger.logLevel <= level else { return }
        var m = metadata()
        m["edge.conn_id"] = "\(id)"
        if let client { m["client.ip"] = "\(client)" }
        logger.log(level: level, message, metadata: m)
    }

    /// The peer's address, read from the socket address's bytes (no text made and parsed):
    /// `sockaddr_in` holds the IPv4 address at byte 4, `sockaddr_in6` the IPv6 one at byte 8, in
    /// network order (RFC 3493 §3.3, 3.4; on Linux and the BSDs alike).
    static func ipAddress(_ address: SocketAddress) -> IPAddress? {
        switch address {
        case .v4(let a):
            return withUnsafeBytes(of: a.address) { raw -> IPAddress? in
                guard raw.count >= 8 else { return nil }
                var value: UInt32 = 0
                for b in raw[4..<8] { value = value << 8 | UInt32(b) }
                return .v4(IPv4Address(value))
            }
        case .v6(let a):
            return withUnsafeBytes(of: a.address) { raw -> IPAddress? in
                guard raw.count >= 24 else { return nil }
                var value: UInt128 = 0
                for b in raw[8..<24] { value = value << 8 | UInt128(b) }
                return .v6(IPv6Address(value))
            }
        case .unixDomainSocket:
            return nil
        }
    }
}

@available(*, unavailable)
extension ScreeningHandler: Sendable {}

/// Tests only: ``ScreeningHandler``'s address conversion.
package enum ScreeningHandlerProbe {
    package static func ipAddress(_ address: SocketAddress) -> IPAddress? { ScreeningHandler.ipAddress(address) }
}
