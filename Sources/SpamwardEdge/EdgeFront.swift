import MailAuth
import NIOCore
import SMTPProtocol

/// The edge's SMTP front, a pure state machine run by ``ScreeningHandler`` after the greeting:
/// it reads the client's first command and decides whether the client needs a session at all.
///
/// - A client with no finding whose first command fails no test (other than `ignore` ones) is
///   handed to a session (``Step/handOff``) before that command is consumed: the session reads
///   it as its first command, exactly as if it had written the greeting itself.
/// - A client whose first command fails a test with `drop` (improper pipelining, a non-SMTP
///   command) gets its 521 here (``Step/close``).
/// - A client with an `enforce` finding (from before the greeting, such as a pregreet or DNS-list
///   finding, or from its first command, such as improper pipelining) never reaches the backend:
///   the front carries on the whole dialog the session would have had with it (postscreen's
///   "dummy SMTP engine"): EHLO, MAIL (250), every RCPT refused with 550 and the finding's reason
///   code, logged with HELO, sender and recipient. Only STARTTLS (and DATA, which cannot be
///   reached without an accepted recipient) is handed to a session, with the state so far.
///
/// Every test fires once per connection, with the session's action semantics, reply texts and
/// envelope in its decision; the handler logs and counts the ``decisions``. Replies go into one
/// buffer per call, so a pipelined group of commands is answered with one write.
struct EdgeFront {
    enum Step: Equatable {
        /// Everything complete was answered; more bytes are needed.
        case needMore
        /// A session takes over from here (the bytes left in the buffer are its input).
        case handOff
        /// Write the replies and close.
        case close
    }

    /// A decision for the handler to log (and count, when `counted`), with the envelope as the
    /// session would log it at that point.
    struct Decision: Equatable {
        var violation: EdgeViolation
        var action: TestAction
        var helo: String?
        var sender: String?
        var recipient: String?
        /// Counted in `spamward_edge_tests_total` (a test's failure; a refused recipient of an
        /// enforced finding is only logged, as in the session).
        var counted: Bool
    }

    var sm: SMTPServerStateMachine
    var screening: Screening
    private(set) var helo: String?
    private(set) var sender: String?
    /// Bytes of the client's stream consumed (answered) here; the session counts on from it.
    private(set) var consumed = 0
    /// The decisions since the handler last took them.
    var decisions: [Decision] = []
    private var decoder = SMTPLineDecoder()

    init(configuration c: EdgeConfiguration, startTLS: Bool, screening: Screening) {
        sm = SMTPServerStateMachine(configuration: .init(
            hostname: c.hostname, pipelining: c.announcePipelining, maximumMessageBytes: c.maxMessageBytes, startTLS: startTLS))
        self.screening = screening
    }

    /// The findings of one command line, in the order the session applies them: a bare LF, a
    /// non-SMTP command, improper pipelining (`remaining` bytes came after the line before its
    /// reply). The session and the front both use it.
    static func lineFindings(_ line: SMTPLine, _ command: SMTPCommand, remaining: Int, extended: Bool,
                             configuration c: EdgeConfiguration) -> [EdgeViolation]
    {
        var out: [EdgeViolation] = []
        if line.bareLF { out.append(EdgeViolation(test: .bareLF, evidence: "\(command.verb) ended in a bare LF")) }
        if case .nonSMTP(let verb) = command { out.append(EdgeViolation(test: .nonSMTP, evidence: "command \(verb.prefix(40))")) }
        if remaining > 0 && !(c.announcePipelining && extended && !command.mustEndPipelineGroup) {
            out.append(EdgeViolation(test: .pipelining, evidence: "\(remaining) bytes sent before the reply to \(command.verb)"))
        }
        return out
    }

    /// The 552 for a MAIL whose `SIZE=` parameter is over the limit, or nil. The session and the
    /// front both use it.
    static func sizeRefusal(_ parameters: [String], configuration c: EdgeConfiguration) -> SMTPReply? {
        guard let size = parameters.first(where: { $0.uppercased().hasPrefix("SIZE=") }).flatMap({ Int($0.dropFirst(5)) }),
            size > c.maxMessageBytes
        else { return nil }
        return SMTPReply(552, "5.3.4 Message size exceeds fixed maximum message size")
    }

    /// Reads the complete command lines in `buffer` (consuming what it answers), appending the
    /// replies to `replies`.
    mutating func receive(_ buffer: inout ByteBuffer, configuration c: EdgeConfiguration, client: IPAddress,
                          replies: inout ByteBuffer) -> Step
    {
        while true {
            var rest = buffer
            var next = decoder
            let line: SMTPLine
            do {
                guard let l = try next.decode(buffer: &rest) else {
                    decoder = next  // remembers how far it scanned (no rescan of a drip-fed line)
                    return .needMore
                }
                line = l
            } catch {
                SMTPReply(500, "5.5.2 Line too long").encode(into: &replies)
                return .close
            }
            let command = SMTPCommand(line)
            var probe = sm
            switch probe.receive(command) {
            case .startTLS, .data:
                return .handOff  // the session's (TLS, a message), with the state so far
            default:
                break
            }
            let findings = Self.lineFindings(line, command, remaining: rest.readableBytes, extended: sm.extended, configuration: c)
            if screening.pending == nil
                && !findings.contains(where: { !screening.fired.contains($0.test) && c.action(for: $0.test) != .ignore })
            {
                return .handOff  // behaves so far: the session reads this line as its first
            }
            // From here on the client never reaches the backend (an enforced finding, or a drop).
            consumed += buffer.readableBytes - rest.readableBytes
            buffer = rest
            decoder = next
            for v in findings {
                if let stop = violate(v, configuration: c) {
                    stop.encode(into: &replies)
                    return .close
                }
            }
            // Safe: a client without a finding was handed off above; with `enforce` it has one now.
            guard let pending = screening.pending else { return .handOff }
            switch sm.receive(command) {
            case .reply(let reply):
                reply.encode(into: &replies)
                if sm.errors > c.maxErrors,
                    let stop = violate(EdgeViolation(test: .errors, evidence: "\(sm.errors) errors"), closing: true, configuration: c)
                {
                    stop.encode(into: &replies)
                    return .close
                }
            case .close(let reply):
                reply.encode(into: &replies)
                return .close
            case .greeted(let name, _, let reply):
                helo = name
                if let evidence = heloAnomaly(name, client: client, ourHostname: c.hostname),
                    let stop = violate(EdgeViolation(test: .helo, evidence: evidence), configuration: c)
                {
                    stop.encode(into: &replies)
                    return .close
                }
                sender = nil
                reply.encode(into: &replies)
            case .reset(let reply):
                sender = nil
                reply.encode(into: &replies)
            case .mail(let path, let parameters):
                let reply: SMTPReply
                if let tooLarge = Self.sizeRefusal(parameters, configuration: c) {
                    reply = tooLarge
                } else {
                    // A client that failed a test never reaches the backend; it is refused at RCPT.
                    sender = path
                    reply = SMTPReply(250, "2.1.0 Ok")
                }
                sm.mailReplied(reply)
                reply.encode(into: &replies)
            case .recipient(let path, _):
                decisions.append(Decision(violation: pending, action: .enforce, helo: helo, sender: sender, recipient: path, counted: false))
                let reply = SMTPReply(550, "5.7.1 [\(pending.test.reasonCode)] \(pending.test.humanReason)")
                sm.recipientReplied(reply)
                reply.encode(into: &replies)
            case .data, .startTLS:
                return .handOff  // not reached: probed above
            }
        }
    }

    /// A failed test's action, as the session applies it: nil to go on (ignore, or enforce: the
    /// finding refuses the recipients), or the reply to close with (drop; enforce when `closing`).
    private mutating func violate(_ v: EdgeViolation, closing: Bool = false, configuration c: EdgeConfiguration) -> SMTPReply? {
        guard !screening.fired.contains(v.test) else { return nil }
        screening.fired.insert(v.test)
        let action = c.action(for: v.test)
        decisions.append(Decision(violation: v, action: action, helo: helo, sender: sender, recipient: nil, counted: true))
        switch action {
        case .ignore:
            return nil
        case .enforce:
            if closing { return SMTPReply(421, "4.7.0 [\(v.test.reasonCode)] \(v.test.humanReason)") }
            if screening.pending == nil { screening.pending = v }
            return nil
        case .drop:
            return SMTPReply(521, "5.7.1 [\(v.test.reasonCode)] \(v.test.humanReason)")
        }
    }
}
