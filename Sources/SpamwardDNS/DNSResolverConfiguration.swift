import MailAuth

/// A name server's address: an IP literal and a port (no host names: resolving the resolver's
/// own address would need a resolver).
public struct DNSServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The IPv4 or IPv6 literal.
    public var host: String
    /// UDP and TCP port.
    public var port: Int

    /// A server at an IP literal and port; nil when `host` is not an IP address or the port is out
    /// of range.
    public init?(host: String, port: Int = 53) {
        guard IPAddress(host) != nil, (1...65535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1`, `127.0.0.1:5354`, `::1`, `[::1]` or `[::1]:5354` (port 53 when
    /// absent).
    public init?(_ text: String) {
        var host = Substring(text)
        var port = 53
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = host[..<colon]
        }
        self.init(host: String(host), port: port)
    }

    /// `host:port`, with brackets around IPv6 literals.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How ``NIODNSResolver`` asks and caches. Every field has a default; units are in the names.
public struct DNSResolverConfiguration: Sendable {
    /// The recursive name servers, asked in turn (the first try of each query starts at the next
    /// server in rotation). Default: the `nameserver` lines of /etc/resolv.conf, or 127.0.0.1:53
    /// when it has none.
    public var servers: [DNSServerAddress]
    /// How long to wait for each answer (one UDP try, or one TCP connection and answer).
    public var timeoutMilliseconds: Int
    /// How many rounds over all servers before giving up. Total worst case:
    /// `attempts * servers.count * timeoutMilliseconds`.
    public var attempts: Int
    /// The UDP payload size advertised with EDNS(0) (RFC 6891); 0 sends no OPT record and limits
    /// answers to 512 bytes. 1232 is the DNS Flag Day 2020 value.
    public var ednsUDPPayloadBytes: Int
    /// The most (name, type) answers the cache holds; 0 disables caching.
    public var cacheMaxEntries: Int
    /// Answers are cached at least this long, whatever their TTL.
    public var minTTLSeconds: Int
    /// Answers are cached at most this long, whatever their TTL.
    public var maxTTLSeconds: Int
    /// Negative answers (NXDOMAIN, no data) are cached at most this long (RFC 2308 section 5
    /// suggests 1–3 hours as a maximum; DNS lists change faster, so the default is shorter).
    public var maxNegativeTTLSeconds: Int
    /// The longest CNAME chain followed before answering SERVFAIL.
    public var maxCNAMEChain: Int

    public init(
        servers: [DNSServerAddress]? = nil,
        timeoutMilliseconds: Int = 2000,
        attempts: Int = 2,
        ednsUDPPayloadBytes: Int = 1232,
        cacheMaxEntries: Int = 10_000,
        minTTLSeconds: Int = 0,
        maxTTLSeconds: Int = 86_400,
        maxNegativeTTLSeconds: Int = 900,
        maxCNAMEChain: Int = 8
    ) {
        self.servers = servers ?? ResolvConf.systemServers()
        self.timeoutMilliseconds = timeoutMilliseconds
        self.attempts = attempts
        self.ednsUDPPayloadBytes = ednsUDPPayloadBytes
        self.cacheMaxEntries = cacheMaxEntries
        self.minTTLSeconds = minTTLSeconds
        self.maxTTLSeconds = maxTTLSeconds
        self.maxNegativeTTLSeconds = maxNegativeTTLSeconds
        self.maxCNAMEChain = maxCNAMEChain
    }
}
