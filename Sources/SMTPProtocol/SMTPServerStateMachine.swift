/// The server side of an SMTP session as a pure state machine: commands in, actions out.
///
/// It knows the command order (greeting → EHLO/HELO → MAIL → RCPT… → DATA → …), answers what it
/// can answer itself (EHLO capabilities, NOOP, RSET, QUIT, VRFY refused, sequence and syntax
/// errors) and hands the decisions that need the world (accepting a sender, a recipient, a
/// message) to the caller as actions; the caller reports the outcome back with
/// ``mailReplied(_:)``, ``recipientReplied(_:)`` and ``messageFinished()``.
public struct SMTPServerStateMachine: Sendable {
    /// What the server announces.
    public struct Configuration: Sendable, Hashable {
        /// The name in the greeting and the EHLO reply.
        public var hostname: String
        /// Announce PIPELINING (RFC 2920).
        public var pipelining: Bool
        /// Announce SIZE with this limit (RFC 1870); nil for none.
        public var maximumMessageBytes: Int?
        /// Announce STARTTLS (only when a certificate is configured).
        public var startTLS: Bool

        public init(hostname: String, pipelining: Bool = true, maximumMessageBytes: Int? = nil, startTLS: Bool = false) {
            self.hostname = hostname
            self.pipelining = pipelining
            self.maximumMessageBytes = maximumMessageBytes
            self.startTLS = startTLS
        }

        /// The EHLO reply's keyword lines (after the hostname line).
        public var capabilities: [String] {
            var c: [String] = []
            if pipelining { c.append("PIPELINING") }
            if let m = maximumMessageBytes { c.append("SIZE \(m)") }
            c.append("8BITMIME")
            c.append("SMTPUTF8")
            c.append("ENHANCEDSTATUSCODES")
            if startTLS { c.append("STARTTLS") }
            return c
        }
    }

    public enum State: Sendable, Hashable {
        /// Greeting sent, no HELO/EHLO yet.
        case connected
        /// After HELO/EHLO or RSET, no transaction.
        case ready
        /// MAIL sent to the caller, waiting for its verdict.
        case awaitingMailReply
        /// A sender accepted; `recipients` accepted so far.
        case transaction(recipients: Int)
        /// RCPT sent to the caller, waiting for its verdict.
        case awaitingRecipientReply(recipients: Int)
        /// DATA accepted: the caller reads the message and reports ``messageFinished()``.
        case data
        /// QUIT answered or the session was closed.
        case closed
    }

    /// What the caller does next.
    public enum Action: Sendable, Hashable {
        /// Send this reply and read the next command.
        case reply(SMTPReply)
        /// Send this reply and close the connection.
        case close(SMTPReply)
        /// HELO/EHLO accepted; send the reply (already computed). The caller may judge the name.
        case greeted(name: String, extended: Bool, reply: SMTPReply)
        /// Decide on the sender; then call ``mailReplied(_:)`` with the reply sent.
        case mail(reversePath: String, parameters: [String])
        /// Decide on the recipient; then call ``recipientReplied(_:)``.
        case recipient(forwardPath: String, parameters: [String])
        /// Send 354, read the message, deliver or refuse it, then call ``messageFinished()``.
        case data
        /// Forget the transaction (also at the backend); send the reply.
        case reset(SMTPReply)
        /// Reply 220 and start TLS.
        case startTLS
    }

    public let configuration: Configuration
    public private(set) var state: State = .connected
    /// Whether the client used EHLO.
    public private(set) var extended = false
    /// Replies with 5xx caused by the client (syntax, sequence, unknown commands).
    public private(set) var errors = 0
    /// Transactions finished with ``messageFinished()``.
    public private(set) var messages = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The 220 greeting.
    public var greeting: SMTPReply { SMTPReply(220, "\(configuration.hostname) ESMTP") }

    public mutating func receive(_ command: SMTPCommand) -> Action {
        switch (command, state) {
        case (_, .closed):
            return .close(SMTPReply(421, "4.3.0 Session closed"))
        case (_, .awaitingMailReply), (_, .awaitingRecipientReply), (_, .data):
            return error(503, "5.5.1 Command out of sequence")
        case (.quit, _):
            state = .closed
            return .close(SMTPReply(221, "2.0.0 \(configuration.hostname) closing connection"))
        case (.noop, _):
            return .reply(SMTPReply(250, "2.0.0 OK"))
        case (.helo(let name), _), (.ehlo(let name), _):
            var isEHLO = false
            if case .ehlo = command { isEHLO = true }
            extended = isEHLO
            state = .ready
            let reply = isEHLO
                ? SMTPReply(code: 250, lines: [configuration.hostname] + configuration.capabilities)
                : SMTPReply(250, configuration.hostname)
            return .greeted(name: name, extended: isEHLO, reply: reply)
        case (.rset, _):
            if state != .connected { state = .ready }
            return .reset(SMTPReply(250, "2.0.0 OK"))
        case (.vrfy, _), (.expn, _):
            return .reply(SMTPReply(252, "2.5.2 Cannot VRFY user; try RCPT to attempt delivery"))
        case (.help, _):
            return .reply(SMTPReply(214, "2.0.0 See RFC 5321"))
        case (.startTLS, .connected), (.startTLS, .ready):
            guard configuration.startTLS, extended else { return error(502, "5.5.1 STARTTLS not available") }
            return .startTLS
        case (.startTLS, _):
            return error(503, "5.5.1 STARTTLS not allowed in a transaction")
        case (.mail, .connected), (.rcpt, .connected), (.data, .connected):
            return error(503, "5.5.1 Send HELO/EHLO first")
        case (.mail(let path, let params), .ready):
            state = .awaitingMailReply
            return .mail(reversePath: path, parameters: params)
        case (.mail, _):
            return error(503, "5.5.1 Sender already specified")
        case (.rcpt, .ready):
            return error(503, "5.5.1 Need MAIL before RCPT")
        case (.rcpt(let path, let params), .transaction(let n)):
            state = .awaitingRecipientReply(recipients: n)
            return .recipient(forwardPath: path, parameters: params)
        case (.data, .ready):
            return error(503, "5.5.1 Need MAIL command")
        case (.data, .transaction(let n)):
            guard n > 0 else { return error(554, "5.5.1 No valid recipients") }
            state = .data
            return .data
        case (.nonSMTP, _), (.unknown, _):
            return error(500, "5.5.2 Command unrecognized")
        case (.syntaxError, _):
            return error(501, "5.5.4 Syntax error in parameters or arguments")
        default:
            return error(503, "5.5.1 Command out of sequence")
        }
    }

    /// The caller answered MAIL with `reply`.
    public mutating func mailReplied(_ reply: SMTPReply) {
        guard state == .awaitingMailReply else { return }
        state = reply.isPositive ? .transaction(recipients: 0) : .ready
    }

    /// The caller answered RCPT with `reply`.
    public mutating func recipientReplied(_ reply: SMTPReply) {
        guard case .awaitingRecipientReply(let n) = state else { return }
        state = .transaction(recipients: reply.isPositive ? n + 1 : n)
    }

    /// The message after DATA was answered (accepted or not); the transaction is over.
    public mutating func messageFinished() {
        guard state == .data else { return }
        messages += 1
        state = .ready
    }

    /// Counts a client error the caller detected (for "too many errors").
    public mutating func countError() { errors += 1 }

    /// The connection ended.
    public mutating func closed() { state = .closed }

    private mutating func error(_ code: Int, _ text: String) -> Action {
        errors += 1
        return .reply(SMTPReply(code, text))
    }
}
