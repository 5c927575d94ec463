/// A screening test of the edge, with its stable reason code.
public enum EdgeTest: String, Sendable, Hashable, CaseIterable, Codable {
    /// The client is on the permanent denylist.
    case denylist
    /// The client spoke before the final `220 ` greeting line.
    case pregreet
    /// The weighted DNSBL/DNSWL score reached the threshold.
    case dnsbl
    /// Commands sent without waiting for replies where that is not allowed.
    case pipelining
    /// HTTP/proxy verbs or message header lines sent as commands.
    case nonSMTP = "non_smtp"
    /// A command line ended in a bare LF.
    case bareLF = "bare_lf"
    /// HELO/EHLO anomalies: an address literal that is not the client, an invalid name, our own name.
    case helo
    /// Too many protocol errors.
    case errors
    /// Too many recipients in one transaction.
    case recipients
    /// Connection rate per client address or subnet (leaky bucket).
    case rate
    /// Concurrent connections per client address or subnet.
    case concurrency
    /// Greylisting: the first delivery attempt of an unknown triplet.
    case greylist
    /// The content scan says spam.
    case content

    /// The stable code in every reply and log line (`SW-PREGREET`).
    public var reasonCode: String {
        switch self {
        case .denylist: "SW-DENYLIST"
        case .pregreet: "SW-PREGREET"
        case .dnsbl: "SW-DNSBL"
        case .pipelining: "SW-PIPELINING"
        case .nonSMTP: "SW-NONSMTP"
        case .bareLF: "SW-BARELF"
        case .helo: "SW-HELO"
        case .errors: "SW-ERRORS"
        case .recipients: "SW-RCPTLIMIT"
        case .rate: "SW-RATE"
        case .concurrency: "SW-CONCURRENCY"
        case .greylist: "SW-GREYLIST"
        case .content: "SW-SPAM"
        }
    }

    /// The short human reason in replies.
    public var humanReason: String {
        switch self {
        case .denylist: "Client address is denied"
        case .pregreet: "Client spoke before its turn"
        case .dnsbl: "Client address is listed in DNS blocklists"
        case .pipelining: "Improper command pipelining"
        case .nonSMTP: "Non-SMTP command"
        case .bareLF: "Bare LF in command line"
        case .helo: "Invalid or forged HELO/EHLO name"
        case .errors: "Too many protocol errors"
        case .recipients: "Too many recipients"
        case .rate: "Connection rate limit exceeded, try again later"
        case .concurrency: "Too many concurrent connections, try again later"
        case .greylist: "Greylisted, try again later"
        case .content: "Message rejected as spam"
        }
    }
}

/// What happens when a test fails (postscreen's actions).
public enum TestAction: String, Sendable, Hashable, CaseIterable, Codable {
    /// Log and count, nothing else.
    case ignore
    /// Continue the session, then reject every RCPT with 550 (logging helo, sender, recipient).
    case enforce
    /// Reply 521 at once and close.
    case drop
}

/// A test that failed, with its evidence for the log.
public struct EdgeViolation: Sendable, Hashable {
    public var test: EdgeTest
    public var evidence: String
    public init(test: EdgeTest, evidence: String) {
        self.test = test
        self.evidence = evidence
    }
}
