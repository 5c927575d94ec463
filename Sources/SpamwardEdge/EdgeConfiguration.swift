import MailAuth

/// Everything the SMTP edge needs; every field has a default (postscreen's where it has one).
public struct EdgeConfiguration: Sendable {
    /// Where the edge listens (host, port).
    public var listenHost: String = "0.0.0.0"
    public var listenPort: Int = 25
    /// The MTA that receives accepted mail.
    public var backendHost: String = "127.0.0.1"
    public var backendPort: Int = 10025
    /// How the client's identity reaches the backend.
    public var forwarding: ClientForwarding = .xclient
    /// The name in our greeting and EHLO reply.
    public var hostname: String = "localhost"
    /// Announce PIPELINING. When off, any pipelined command is a violation.
    public var announcePipelining: Bool = true
    /// The largest message accepted (SIZE is announced with it). Default 25 MiB.
    public var maxMessageBytes: Int = 25 * 1024 * 1024
    /// Open client connections at most; more are answered 421 and closed.
    public var maxConnections: Int = 10_000
    /// Seconds a client may stay idle between commands (RFC 5321 §4.5.3.2: 5 minutes).
    public var commandTimeoutSeconds: Int = 300
    /// Seconds a whole session may last.
    public var sessionTimeoutSeconds: Int = 1800
    /// Seconds to connect to the backend and for each backend reply.
    public var backendTimeoutSeconds: Int = 60
    /// Idle backend connections kept for reuse by later client sessions (RSET between them).
    /// Used with `xforward` and `none` forwarding only: XCLIENT ties a connection to one client.
    /// Zero (the default: no gain was measured yet, docs/edge.md) turns reuse off.
    public var backendPoolSize: Int = 0
    /// Seconds an idle backend connection is kept (Postfix's smtpd_timeout is 300).
    public var backendPoolIdleSeconds: Int = 30
    /// At most this many backend connections open at once (0: no limit); a session that needs
    /// one more waits for a free one up to `backendTimeoutSeconds`, then gets 451. Set it a bit
    /// under the backend's smtpd process limit (Postfix's `default_process_limit`).
    public var maxBackendConnections: Int = 0
    /// Seconds sessions get to finish on shutdown before they are closed.
    public var drainSeconds: Int = 10

    /// Never screened (CIDR).
    public var allowlist: [IPNetwork] = []
    /// Always refused (CIDR), with the ``EdgeTest/denylist`` action.
    public var denylist: [IPNetwork] = []

    /// The pregreet test: a `220-` teaser, then this wait before the final `220 ` line.
    /// Zero turns the test off.
    public var pregreetWaitMilliseconds: Int = 2000
    /// The first greeting line (the teaser).
    public var pregreetTeaser: String = "Please wait for the full greeting"

    /// DNS lists (postscreen `site=filter*weight` syntax) and the score threshold.
    public var dnsLists: [DNSListSite] = []
    public var dnsThreshold: Int = 1
    /// Replies by which a list refuses to answer (never scored, logged as warnings).
    public var dnsSentinels: [DNSListSentinel] = DNSListSentinel.defaults
    /// Seconds to wait for all DNS list answers.
    public var dnsTimeoutMilliseconds: Int = 1500

    /// Protocol errors before ``EdgeTest/errors`` fires.
    public var maxErrors: Int = 10
    /// Recipients per transaction before ``EdgeTest/recipients`` fires.
    public var maxRecipients: Int = 100

    /// Rate and concurrency limits.
    public var rate: RateLimits = RateLimits()
    /// Greylisting (off by default).
    public var greylist: GreylistConfiguration = GreylistConfiguration()

    /// How long a client that passed the tests skips pregreet, DNS lists and greylisting.
    /// Default 7 days (postscreen's `postscreen_cache_retention_time`; its per-test TTLs are
    /// shorter: 1 day for the greet test, up to 1 hour for DNS lists).
    public var passedTTLSeconds: Int = 7 * 86_400

    /// STARTTLS: a PEM certificate chain and its PEM private key. STARTTLS is announced only
    /// when both are set (and only before TLS is on).
    public var tlsCertificatePath: String? = nil
    public var tlsKeyPath: String? = nil

    /// The action per test.
    public var actions: [EdgeTest: TestAction] = EdgeConfiguration.defaultActions

    public static let defaultActions: [EdgeTest: TestAction] = [
        .denylist: .drop, .pregreet: .enforce, .dnsbl: .enforce, .pipelining: .enforce, .nonSMTP: .drop,
        .bareLF: .ignore, .helo: .enforce, .errors: .drop, .recipients: .enforce, .rate: .drop,
        .concurrency: .drop, .greylist: .enforce, .content: .enforce,
    ]

    public init() {}

    public func action(for test: EdgeTest) -> TestAction { actions[test] ?? .enforce }

    /// How the client's address, name and HELO reach the backend (Postfix supports both).
    public enum ClientForwarding: String, Sendable, Hashable, CaseIterable {
        /// XCLIENT (the backend sees the client as if it had connected itself).
        case xclient
        /// XFORWARD (logging and headers only).
        case xforward
        /// Nothing: the backend sees the edge.
        case none
    }
}

/// Leaky-bucket connection rates and concurrency caps per client address and per subnet
/// (/24 for IPv4, /64 for IPv6). Zero turns a limit off.
public struct RateLimits: Sendable, Hashable {
    /// New connections per minute per client address (the bucket's leak rate).
    public var connectionsPerMinutePerAddress: Double = 60
    /// The burst per client address (the bucket's size).
    public var burstPerAddress: Double = 30
    /// New connections per minute per subnet.
    public var connectionsPerMinutePerSubnet: Double = 600
    /// The burst per subnet.
    public var burstPerSubnet: Double = 100
    /// Concurrent connections per client address.
    public var maxConcurrentPerAddress: Int = 20
    /// Concurrent connections per subnet.
    public var maxConcurrentPerSubnet: Int = 100
    public init() {}
}

/// Greylisting as postgrey does it, keyed by (client subnet, sender, recipient).
public struct GreylistConfiguration: Sendable, Hashable {
    public var enabled: Bool = false
    /// Seconds a new triplet must wait before a retry is accepted (postgrey: 300).
    public var delaySeconds: Int = 300
    /// Seconds after the first attempt in which a retry still counts (postgrey: 2 days).
    public var retryWindowSeconds: Int = 2 * 86_400
    /// Seconds after its last use that a passed triplet is forgotten (postgrey: 35 days).
    public var maxAgeSeconds: Int = 35 * 86_400
    /// The most triplets kept; the oldest are dropped first.
    public var maxEntries: Int = 1_000_000
    public init() {}
}
