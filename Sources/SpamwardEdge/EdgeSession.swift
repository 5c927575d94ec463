import Logging
import MailAuth
import NIOCore
import NIOSSL
import SMTPProtocol
import SpamwardCore
import Synchronization

/// Counts bytes a client sent (``ScreeningHandler`` counts them; STARTTLS needs the count).
final class InboundByteCount: Sendable {
    private let bytes = Atomic<Int>(0)

    func add(_ n: Int) { bytes.add(n, ordering: .relaxed) }

    var value: Int { bytes.load(ordering: .relaxed) }
}

/// What every session shares.
struct EdgeShared: Sendable {
    var configuration: EdgeConfiguration
    let filter: SpamFilter
    let dnsLists: DNSListChecker<AnyDNSResolver>?
    let passed: any PassedClientStore
    let greylist: Greylist?
    let greylistStore: (any GreylistStore)?
    /// Idle backend connections for reuse (nil: every session opens its own).
    let pool: BackendPool?
    /// The limit on open backend connections (nil: none).
    var backendSlots: BackendSlots? = nil
    let metrics: EdgeMetrics
    let group: any EventLoopGroup
    let now: @Sendable () -> Int64
    /// STARTTLS's context (nil: not announced); set when the service starts.
    var tls: NIOSSLContext? = nil
    /// Tests only: called in STARTTLS after the 220 is decided and before it is written, with
    /// the count of plaintext bytes read from the client so far and of those the session took.
    var startTLSHook: StartTLSHook? = nil
}

/// A test's hook into STARTTLS (``EdgeShared/startTLSHook``): lets a test put plaintext into the
/// connection's stream at the one moment the drain must find it there.
package typealias StartTLSHook = @Sendable (_ plaintextRead: @escaping @Sendable () -> Int, _ consumed: Int) async -> Void

/// One client session: the screening tests, then the relay to the backend.
struct EdgeSession {
    typealias Inbound = NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    typealias Outbound = NIOAsyncChannelOutboundWriter<ByteBuffer>

    struct Closed: Error {}

    let shared: EdgeShared
    let client: IPAddress
    let channel: any Channel
    let received: InboundByteCount
    var logger: Logger
    var inbound: Inbound
    let outbound: Outbound

    var sm: SMTPServerStateMachine
    var buffer = ByteBuffer()
    var lineDecoder = SMTPLineDecoder()
    /// The first enforced violation: every RCPT is refused with it.
    var pending: EdgeViolation?
    var fired: Set<EdgeTest> = []
    var allowlisted = false
    var passedBefore = false
    var recordedPass = false
    var helo: String?
    var sender: String?
    var recipients: [String] = []
    var backend: BackendConnection?
    /// The backend offered XFORWARD (sent before each MAIL when forwarding is `xforward`).
    var backendOffersXForward = false
    /// The backend connection came from the pool (a failure of its first command is retried
    /// once on a new connection).
    var backendReused = false
    /// Bytes taken from the client's stream so far (before TLS: the plaintext bytes read).
    var consumed = 0
    /// TLS is on (after STARTTLS).
    var tlsActive = false

    var configuration: EdgeConfiguration { shared.configuration }

    /// - Parameter connection: what the screening found and the dialog so far: the greeting was
    ///   written by ``ScreeningHandler``'s front (``EdgeFront``), which may have answered commands.
    init(connection: AdmittedConnection, logger: Logger, inbound: Inbound, outbound: Outbound) {
        let screening = connection.screening
        allowlisted = screening.allowlisted
        passedBefore = screening.passedBefore
        fired = screening.fired
        pending = screening.pending
        shared = connection.shared
        client = connection.client
        channel = connection.channel.channel
        received = connection.count
        self.logger = logger
        self.inbound = inbound
        self.outbound = outbound
        sm = connection.sm
        helo = connection.helo
        sender = connection.sender
        consumed = connection.consumed
    }

    // MARK: - Running

    mutating func run() async {
        do {
            // The screening before the greeting is done and the greeting written
            // (``ScreeningHandler``, ``EdgeFront``): the findings are in `allowlisted`,
            // `passedBefore`, `fired` and `pending`, the dialog so far in `sm`.
            try await commandLoop()
        } catch is Closed {
        } catch {
            logger.debug("session ended with an error", metadata: ["error": "\(error)"])
        }
        if let backend {
            // Never QUIT here: an open transaction must be aborted, not completed.
            backend.abort()
            self.backend = nil
        }
    }

    mutating func commandLoop() async throws {
        while true {
            while let line = try decodeLine() {
                let more = buffer.readableBytes > 0
                try await handle(line, pipelinedAfter: more)
            }
            try await readMore()
        }
    }

    private mutating func decodeLine() throws -> SMTPLine? {
        do {
            return try lineDecoder.decode(buffer: &buffer)
        } catch {
            writeBestEffort(SMTPReply(500, "5.5.2 Line too long"))
            throw Closed()
        }
    }

    /// Best-effort reply without suspending the caller's logic (used when giving up).
    private func writeBestEffort(_ reply: SMTPReply) {
        channel.writeAndFlush(reply.bytes, promise: nil)
    }

    /// Reads the next chunk from the client, closing it after the command timeout.
    mutating func readMore() async throws {
        let channel = self.channel
        let idle = channel.eventLoop.scheduleTask(in: .seconds(Int64(configuration.commandTimeoutSeconds))) {
            channel.writeAndFlush(SMTPReply(421, "4.4.2 Timeout, closing connection").bytes, promise: nil)
            channel.close(promise: nil)
        }
        defer { idle.cancel() }
        guard var chunk = try await inbound.next() else { throw Closed() }
        consumed += chunk.readableBytes
        buffer.writeBuffer(&chunk)
    }

    // MARK: - Commands

    mutating func handle(_ line: SMTPLine, pipelinedAfter more: Bool) async throws {
        let command = SMTPCommand(line)
        // A bare LF, a non-SMTP command, improper pipelining: the same findings as the front's.
        let remaining = more ? buffer.readableBytes : 0
        for v in EdgeFront.lineFindings(line, command, remaining: remaining, extended: sm.extended, configuration: configuration) {
            try await violate(v)
        }
        let action = sm.receive(command)
        switch action {
        case .reply(let reply):
            try await write(reply)
            if sm.errors > configuration.maxErrors {
                try await violate(EdgeViolation(test: .errors, evidence: "\(sm.errors) errors"), closing: true)
            }
        case .close(let reply):
            try await write(reply)
            await releaseBackend()
            throw Closed()
        case .greeted(let name, _, let reply):
            helo = name
            if let evidence = heloAnomaly(name, client: client, ourHostname: configuration.hostname) {
                try await violate(EdgeViolation(test: .helo, evidence: evidence))
            }
            try await resetBackend()
            try await write(reply)
        case .reset(let reply):
            try await resetBackend()
            try await write(reply)
        case .mail(let path, let parameters):
            let reply = try await mail(path, parameters)
            sm.mailReplied(reply)
            try await write(reply)
        case .recipient(let path, let parameters):
            let reply = try await recipient(path, parameters)
            sm.recipientReplied(reply)
            try await write(reply)
        case .data:
            try await data()
            sm.messageFinished()
        case .startTLS:
            try await startTLS()
        }
    }

    /// STARTTLS (RFC 3207): 220, then TLS on the same connection, and the session starts over
    /// (the client must EHLO again; nothing from before TLS is kept).
    ///
    /// Bytes the client sent after the STARTTLS line in plaintext (the command injection of
    /// CVE-2011-0411) are dropped, never read as commands of the TLS session, and count as
    /// improper pipelining. They are both what is already buffered and what the stream still
    /// holds from before the TLS handler was inserted: the 220 is written and the handler
    /// inserted in one event-loop turn, and the byte counter (first in the pipeline until then)
    /// says how many plaintext bytes were read in all.
    mutating func startTLS() async throws {
        guard let context = shared.tls, !tlsActive else {
            try await write(SMTPReply(454, "4.7.0 TLS not available"))
            return
        }
        var dropped = buffer.readableBytes
        buffer.clear()
        let channel = self.channel
        let received = self.received
        if let hook = shared.startTLSHook { await hook({ received.value }, consumed) }
        let ready = SMTPReply(220, "2.0.0 Ready to start TLS").bytes
        let plaintext = try await channel.eventLoop.submit { () throws -> Int in
            channel.writeAndFlush(ready, promise: nil)
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
            return received.value
        }.get()
        while consumed < plaintext {
            guard let chunk = try await inbound.next() else { throw Closed() }
            consumed += chunk.readableBytes
            dropped += chunk.readableBytes
        }
        if dropped > 0 {
            logger.notice("bytes after STARTTLS dropped", metadata: ["edge.starttls.dropped_bytes": "\(dropped)"])
            try await violate(EdgeViolation(test: .pipelining, evidence: "\(dropped) plaintext bytes after STARTTLS (command injection)"))
        }
        tlsActive = true
        // Forget everything learned before TLS (RFC 3207 §4.2).
        let c = configuration
        sm = SMTPServerStateMachine(configuration: .init(
            hostname: c.hostname, pipelining: c.announcePipelining, maximumMessageBytes: c.maxMessageBytes, startTLS: false))
        lineDecoder = SMTPLineDecoder()
        helo = nil
        sender = nil
        recipients = []
        if let backend {
            // Its XCLIENT named the old HELO; the next MAIL opens a new one.
            await backend.quit()
            self.backend = nil
        }
        logger.debug("TLS started")
    }

    mutating func resetBackend() async throws {
        sender = nil
        recipients = []
        if let backend {
            do {
                _ = try await backend.command("RSET")
            } catch {
                backend.abort()
                self.backend = nil
            }
        }
    }

    mutating func mail(_ path: String, _ parameters: [String]) async throws -> SMTPReply {
        recipients = []
        if let tooLarge = EdgeFront.sizeRefusal(parameters, configuration: configuration) { return tooLarge }
        sender = path
        if pending != nil {
            // A client that failed a test never reaches the backend; it is refused at RCPT.
            return SMTPReply(250, "2.1.0 Ok")
        }
        let line = (["MAIL FROM:<\(path)>"] + parameters).joined(separator: " ")
        do {
            return try await sendMail(line)
        } catch where backendReused {
            // An idle connection the backend had closed meanwhile: once more on a new one.
            backend?.abort()
            backend = nil
            do {
                return try await sendMail(line, fresh: true)
            } catch {
                return backendFailed(error)
            }
        } catch {
            return backendFailed(error)
        }
    }

    /// XFORWARD (when used; its attributes last one transaction) and MAIL.
    mutating func sendMail(_ line: String, fresh: Bool = false) async throws -> SMTPReply {
        let backend = try await openBackend(fresh: fresh)
        if configuration.forwarding == .xforward && backendOffersXForward {
            let r = try await backend.command(xforwardCommand())
            guard r.isPositive else { throw BackendError(code: .protocolError, message: "XFORWARD: \(r)") }
        }
        return try await backend.command(line)
    }

    /// The client's address as XCLIENT/XFORWARD spell it.
    var clientAddressAttribute: String {
        switch client.unmapped {
        case .v4: client.unmapped.description
        case .v6: "IPV6:\(client.unmapped)"
        }
    }

    func xforwardCommand() -> String {
        "XFORWARD ADDR=\(clientAddressAttribute) NAME=[UNAVAILABLE] HELO=\(xtext(helo ?? "unknown")) PROTO=\(sm.extended ? "ESMTP" : "SMTP")"
    }

    /// After the client's QUIT: the backend connection goes back to the pool when it can be
    /// shared and RSET leaves it clean; otherwise QUIT.
    mutating func releaseBackend() async {
        guard let backend else { return }
        self.backend = nil
        if configuration.forwarding != .xclient, let pool = shared.pool, backend.channel.isActive,
            let r = try? await backend.command("RSET"), r.code == 250, pool.put(backend, offersXForward: backendOffersXForward)
        {
            return
        }
        await backend.quit()
    }

    mutating func recipient(_ path: String, _ parameters: [String]) async throws -> SMTPReply {
        if let v = pending {
            log(decision: v, action: .enforce, recipient: path)
            return SMTPReply(550, "5.7.1 [\(v.test.reasonCode)] \(v.test.humanReason)")
        }
        if recipients.count >= configuration.maxRecipients {
            let v = EdgeViolation(test: .recipients, evidence: "more than \(configuration.maxRecipients)")
            let action = configuration.action(for: .recipients)
            record(v, action: action)
            switch action {
            case .ignore: break
            case .enforce: return SMTPReply(452, "4.5.3 [\(v.test.reasonCode)] \(v.test.humanReason)")
            case .drop: try await dropNow(v)
            }
        }
        if let greylist = shared.greylist, !allowlisted, !passedBefore {
            let (wait, save) = greylist.checkTriplet(address: client, sender: sender ?? "", recipient: path, now: shared.now())
            if let save, let store = shared.greylistStore { await store.saveTriplet(save) }
            if let wait {
                let v = EdgeViolation(test: .greylist, evidence: "triplet new or waiting, \(wait) s left")
                let action = configuration.action(for: .greylist)
                record(v, action: action, recipient: path)
                if action != .ignore {
                    return SMTPReply(450, "4.2.0 [\(v.test.reasonCode)] \(v.test.humanReason)")
                }
            }
        }
        guard let backend else { return SMTPReply(451, "4.3.0 [SW-BACKEND] Backend unavailable, try again later") }
        do {
            let line = (["RCPT TO:<\(path)>"] + parameters).joined(separator: " ")
            let reply = try await backend.command(line)
            if reply.isPositive {
                recipients.append(path)
                if !recordedPass && !allowlisted && fired.isEmpty {
                    recordedPass = true
                    await shared.passed.recordPassed(client, expires: shared.now() + Int64(configuration.passedTTLSeconds))
                }
            }
            return reply
        } catch {
            return backendFailed(error)
        }
    }

    mutating func data() async throws {
        try await write(SMTPReply(354, "End data with <CR><LF>.<CR><LF>"))
        var reader = SMTPDataReader(maximumMessageBytes: configuration.maxMessageBytes)
        var message: SMTPDataReader.Message?
        while true {
            message = reader.read(from: &buffer)
            if message != nil { break }
            do {
                try await readMore()
            } catch {
                shared.metrics.message("aborted")
                logger.info("client left during DATA; nothing relayed")
                throw Closed()
            }
        }
        guard let message else { return }
        if message.bareLineFeeds > 0 {
            logger.debug("message has bare LFs", metadata: ["edge.bare_lf": "\(message.bareLineFeeds)"])
        }
        let reply = await deliver(message)
        try await write(reply)
        sender = nil
        recipients = []
    }

    /// Scans and relays one message; the reply for the client is the backend's own, or a refusal.
    mutating func deliver(_ message: SMTPDataReader.Message) async -> SMTPReply {
        guard let backend else { return SMTPReply(451, "4.3.0 [SW-BACKEND] Backend unavailable, try again later") }
        if message.oversize {
            shared.metrics.message("oversize")
            _ = try? await backend.command("RSET")
            return SMTPReply(552, "5.3.4 Message size exceeds fixed maximum message size")
        }
        let context = ScanContext(clientAddress: client.description, helo: helo, mailFrom: sender, recipients: recipients)
        // The same path as the other front ends: authentication (when configured), then the scan.
        let verdict = await shared.filter.check(shared.filter.scanner.parse(message.bytes), context: context, explain: true)
        let policy = shared.filter.policy
        let disposition = policy.disposition(for: verdict.action)
        var scanMetadata: Logger.Metadata = [
            "scan.score": "\(VerdictHeaders.format(verdict.score))", "scan.action": "\(verdict.action.rawValue)",
            "scan.disposition": "\(disposition.rawValue)",
        ]
        if disposition == .reject && configuration.action(for: .content) != .ignore {
            _ = try? await backend.command("RSET")
            shared.metrics.message("spam_rejected")
            shared.metrics.failed(.content, .enforce)
            scanMetadata["edge.test"] = "\(EdgeTest.content.rawValue)"
            scanMetadata["edge.reason"] = "\(EdgeTest.content.reasonCode)"
            logger.notice("message rejected", metadata: scanMetadata.merging(envelopeMetadata(recipient: nil)) { a, _ in a })
            return SMTPReply(550, "5.7.1 [\(EdgeTest.content.reasonCode)] \(policy.rejectText)")
        }
        // quarantine and discard cannot be expressed over SMTP: delivered flagged, never lost.
        let bytes = VerdictHeaders.rewrite(message.bytes, verdict: verdict, flagged: disposition != .accept)
        do {
            let dataReply = try await backend.command("DATA")
            guard dataReply.code == 354 else {
                shared.metrics.message("rejected_by_backend")
                return dataReply
            }
            var out = channel.allocator.buffer(capacity: bytes.count + 64)
            dotStuffed(bytes, into: &out)
            let reply = try await backend.send(out)
            shared.metrics.message(reply.isPositive ? "relayed" : "rejected_by_backend")
            scanMetadata["backend.reply"] = "\(reply.code)"
            scanMetadata["backend.reused"] = "\(backendReused)"
            logger.info("message relayed", metadata: scanMetadata)
            return reply
        } catch {
            return backendFailed(error)
        }
    }

    // MARK: - Backend

    mutating func openBackend(fresh: Bool = false) async throws -> BackendConnection {
        if let backend { return backend }
        let c = configuration
        backendReused = false
        if !fresh, c.forwarding != .xclient, let idle = shared.pool?.take() {
            backend = idle.connection
            backendOffersXForward = idle.offersXForward
            backendReused = true
            return idle.connection
        }
        if let slots = shared.backendSlots,
            !(await slots.acquire(timeout: .seconds(Int64(c.backendTimeoutSeconds)), on: channel.eventLoop))
        {
            throw BackendError(code: .timeout, message: "no backend connection free within \(c.backendTimeoutSeconds) s (limit \(slots.limit))")
        }
        let conn: BackendConnection
        do {
            conn = try await BackendConnection.connect(
                host: c.backendHost, port: c.backendPort, group: shared.group, timeout: .seconds(Int64(c.backendTimeoutSeconds)))
        } catch {
            shared.backendSlots?.release()
            throw error
        }
        // The slot is given back when the connection closes, however it ends (quit, abort,
        // failure, or after its time in the pool).
        if let slots = shared.backendSlots { conn.channel.closeFuture.whenComplete { _ in slots.release() } }
        do {
            guard conn.greeting.code == 220 else {
                throw BackendError(code: .protocolError, message: "greeting \(conn.greeting)")
            }
            let ehlo = try await conn.command("EHLO \(c.hostname)")
            guard ehlo.isPositive else { throw BackendError(code: .protocolError, message: "EHLO: \(ehlo)") }
            let keywords = Set(ehlo.lines.dropFirst().map { $0.split(separator: " ").first.map { $0.uppercased() } ?? "" })
            let heloName = helo ?? "unknown"
            let proto = sm.extended ? "ESMTP" : "SMTP"
            backendOffersXForward = keywords.contains("XFORWARD")
            switch c.forwarding {
            case .xclient where keywords.contains("XCLIENT"):
                let r = try await conn.command(
                    "XCLIENT ADDR=\(clientAddressAttribute) NAME=[UNAVAILABLE] HELO=\(xtext(heloName)) PROTO=\(proto)")
                guard r.code == 220 else { throw BackendError(code: .protocolError, message: "XCLIENT: \(r)") }
                let again = try await conn.command("\(sm.extended ? "EHLO" : "HELO") \(heloName)")
                guard again.isPositive else { throw BackendError(code: .protocolError, message: "EHLO after XCLIENT: \(again)") }
            case .xforward where backendOffersXForward:
                break  // sent before each MAIL (its attributes last one transaction)
            case .xclient, .xforward:
                logger.warning("backend does not offer \(c.forwarding.rawValue); it will see the edge's address")
            case .none:
                break
            }
        } catch {
            conn.abort()
            throw error
        }
        backend = conn
        return conn
    }

    mutating func backendFailed(_ error: any Error) -> SMTPReply {
        logger.warning("backend failed", metadata: ["error": "\(error)"])
        shared.metrics.message("backend_failed")
        backend?.abort()
        backend = nil
        return SMTPReply(451, "4.3.0 [SW-BACKEND] Backend unavailable, try again later")
    }

    // MARK: - Decisions

    /// Applies a failed test's action: log and count; remember it (enforce) or reply 521 and
    /// close (drop). Each test counts once per session.
    mutating func violate(_ v: EdgeViolation, closing: Bool = false) async throws {
        guard !fired.contains(v.test) else { return }
        fired.insert(v.test)
        let action = configuration.action(for: v.test)
        record(v, action: action)
        switch action {
        case .ignore:
            return
        case .enforce:
            if closing { try await dropNow(v, code: 421, enhanced: "4.7.0") }
            if pending == nil { pending = v }
        case .drop:
            try await dropNow(v)
        }
    }

    mutating func dropNow(_ v: EdgeViolation, code: Int = 521, enhanced: String = "5.7.1") async throws -> Never {
        try? await write(SMTPReply(code, "\(enhanced) [\(v.test.reasonCode)] \(v.test.humanReason)"))
        throw Closed()
    }

    func record(_ v: EdgeViolation, action: TestAction, recipient: String? = nil) {
        shared.metrics.failed(v.test, action)
        log(decision: v, action: action, recipient: recipient)
    }

    func log(decision v: EdgeViolation, action: TestAction, recipient: String?) {
        var metadata: Logger.Metadata = [
            "edge.test": "\(v.test.rawValue)", "edge.reason": "\(v.test.reasonCode)", "edge.action": "\(action.rawValue)",
            "edge.evidence": "\(v.evidence)",
        ]
        metadata.merge(envelopeMetadata(recipient: recipient)) { a, _ in a }
        logger.notice("client failed a test", metadata: metadata)
        if logger.logLevel <= .debug {
            logger.debug("envelope", metadata: ["smtp.sender": "\(sender ?? "")", "smtp.recipient": "\(recipient ?? "")"])
        }
    }

    /// HELO and the domains of sender and recipient (full addresses only at debug).
    func envelopeMetadata(recipient: String?) -> Logger.Metadata {
        var m: Logger.Metadata = [:]
        if let helo { m["smtp.helo"] = "\(helo)" }
        if let sender { m["smtp.sender_domain"] = "\(sender.split(separator: "@").last.map(String.init) ?? "")" }
        if let recipient { m["smtp.recipient_domain"] = "\(recipient.split(separator: "@").last.map(String.init) ?? "")" }
        return m
    }

    func write(_ reply: SMTPReply) async throws {
        try await outbound.write(reply.bytes)
    }
}
