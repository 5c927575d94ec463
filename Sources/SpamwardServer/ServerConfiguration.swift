#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailAuth
import SpamwardCore
import SpamwardEdge
import SpamwardHTTP

/// Everything `spamward serve` is configured with. Every field has a documented, safe default:
/// loopback addresses, limits on, learning protected.
public struct ServerConfiguration: Sendable {
    /// One front end's listener.
    public struct FrontEnd: Sendable, Hashable {
        /// Whether the front end runs.
        public var enabled: Bool
        /// Where it listens (loopback by default).
        public var listen: ListenAddress
        /// A connection idle this long (no bytes from the client) is closed.
        public var idleTimeoutSeconds: Int
        /// A connection open this long in total is closed.
        public var totalTimeoutSeconds: Int
        /// Connections beyond this many are refused at once (the protocol's busy answer).
        public var maxConnections: Int

        public init(enabled: Bool = true, listen: ListenAddress, idleTimeoutSeconds: Int = 300,
                    totalTimeoutSeconds: Int = 3600, maxConnections: Int = 512) {
            self.enabled = enabled
            self.listen = listen
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.totalTimeoutSeconds = totalTimeoutSeconds
            self.maxConnections = maxConnections
        }
    }

    /// What to answer when scanning fails inside Spamward (a bug, a dead store).
    public enum FaultAction: String, Sendable, Hashable, CaseIterable {
        /// Temporary failure: the MTA keeps the message and retries (the safe default).
        case tempfail
        /// Deliver unscanned (fail-open).
        case accept
    }

    /// What to do with a message over `maxMessageBytes`.
    public enum OversizeAction: String, Sendable, Hashable, CaseIterable {
        /// Deliver it unscanned, with an X-Spam-Status saying so (spam is rarely this big).
        case accept
        /// Temporary failure.
        case tempfail
        /// Refuse it with 552.
        case reject
    }

    /// The SQLite store; nil means the per-user default path.
    public var storePath: String?
    /// Score thresholds for unsure and spam.
    public var thresholds: Thresholds
    /// Largest message scanned; see `oversize`.
    public var maxMessageBytes: Int
    /// What each verdict does.
    public var policy: ActionPolicy
    /// What internal faults answer.
    public var onFault: FaultAction
    /// What messages over the size limit get.
    public var oversize: OversizeAction
    public var milter: FrontEnd
    public var spamd: FrontEnd
    public var http: FrontEnd
    /// The Rspamd worker listener (`[rspamd]`): `/checkv2` and `/ping` on NIO's HTTP/1 pipeline,
    /// without Hummingbird. Off by default (the HTTP port serves `/checkv2` too).
    public var rspamd: FrontEnd
    /// Its scan threads (`[rspamd] scan_threads`); 0: one per core.
    public var rspamdScanThreads: Int
    /// Its scans queued or running at once (`[rspamd] max_pending_scans`); beyond, 503.
    public var rspamdMaxPendingScans: Int
    /// Who may learn: trusted networks and the password for the rest.
    public var access: AccessPolicy
    /// trace, debug, info, notice, warning, error, critical.
    public var logLevel: String
    /// Event-loop threads for the network front ends (`[server] event_loops`); 0 means
    /// ``automaticEventLoops``. Scans run on the concurrency pool, not on these threads.
    public var eventLoops: Int
    /// Email authentication (SPF, DKIM, DMARC, ARC) before each scan.
    public var authentication: Authentication
    /// The DNS servers and timeouts of the one resolver (authentication, DNS lists).
    public var dns: DNS
    /// Fuzzy fingerprints, campaigns and the botnet footprint.
    public var campaigns: Campaigns
    /// The botnet list: its verdict symbol and the DNS responder serving it.
    public var botnet: Botnet
    /// URI DNS blocklists asked during each scan.
    public var uribl: URIBL

    /// `[campaigns]`: fingerprint every scan, cluster campaigns, score sending addresses.
    public struct Campaigns: Sendable, Hashable {
        /// Run the campaign monitor (`spamward serve --campaigns` turns it on too). Default false.
        public var enabled: Bool = false
        /// Relays that are never the sender: a client in these networks is looked behind (the
        /// Received chain, skipping these networks too), so collectors and the site's own MTAs do
        /// not top the botnet ranking. Default: loopback and private ranges.
        public var trustedNetworks: [IPNetwork] = Campaigns.defaultTrustedNetworks
        public init() {}

        public static let defaultTrustedNetworks: [IPNetwork] = [
            "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
            "::1/128", "fc00::/7", "fe80::/10",
        ].compactMap { IPNetwork($0) }
    }

    /// `[botnet]`: the botnet list in the verdict and over DNS.
    public struct Botnet: Sendable, Hashable {
        /// Score of `BOTNET_LISTED` (the sending address is already on the list). Default 3.0.
        public var listedScore: Double = 3.0
        /// Score of `BOTNET_FOOTPRINT` (this message completes the address's listing). Default 2.0.
        public var footprintScore: Double = 2.0
        /// The score at which an address is listed (`BotnetPolicy.listThreshold`). Default 3.0.
        public var listThreshold: Double = 3.0
        /// Where the DNS responder serving the list listens (UDP and TCP); nil: off (the default).
        public var dnsListen: ListenAddress? = nil
        /// The zone it is authoritative for. Default `botnet.spamward.local`.
        public var zone: String = "botnet.spamward.local"
        /// TTL of the answers, and the negative TTL of the SOA. Default 60 s.
        public var ttlSeconds: Int = 60
        /// How often the served list is recomputed from the tracker. Default 5 s.
        public var refreshSeconds: Int = 5
        public init() {}
    }

    /// `[uribl]`: URIBL-style DNS lists of the message's link domains.
    public struct URIBL: Sendable, Hashable {
        /// The list zones (`multi.uribl.com`); empty: off (the default).
        public var lists: [String] = []
        /// Score of each list's symbol. Default 3.0.
        public var score: Double = 3.0
        /// Link domains looked up per message (per list). Default 20.
        public var maxLookups: Int = 20
        /// "Query refused" replies per list (`DOMAIN=IP[,IP...][:REASON]` in `sentinels`): an
        /// entry covers the lists at or under its domain and replaces the built-in rule for them
        /// (`DOMAIN=` with no address: no sentinels for those lists). Default none.
        public var sentinels: [DNSListSentinel] = []
        /// The built-in sentinels for every list without an entry: 127.0.0.1 (URIBL and SURBL:
        /// query refused) and 127.255.255.0/24 (errors, over quota). Default true.
        public var defaultSentinels: Bool = true
        public init() {}
    }
    /// The SMTP edge (`[edge]`), off by default.
    public var edge: Edge

    /// `[authentication]`: SPF, DKIM, DMARC and ARC results as symbols and an
    /// `Authentication-Results` field.
    public struct Authentication: Sendable, Hashable {
        /// Run the checks (they need a working DNS resolver). Default true.
        public var enabled: Bool = true
        /// The authserv-id of the `Authentication-Results` field; nil: this host's name.
        public var authservID: String? = nil
        public init() {}
    }

    /// `[dns]`: the resolver's servers and limits.
    public struct DNS: Sendable, Hashable {
        /// Servers as `host:port` (or `host`, port 53); empty: the `nameserver` lines of /etc/resolv.conf.
        public var servers: [String] = []
        /// How long to wait for one answer, in milliseconds. Default 2,000.
        public var timeoutMilliseconds: Int = 2000
        /// Tries per question, rotating through the servers. Default 2.
        public var attempts: Int = 2
        public init() {}
    }

    public init() {
        authentication = Authentication()
        dns = DNS()
        campaigns = Campaigns()
        botnet = Botnet()
        uribl = URIBL()
        edge = Edge()
        storePath = nil
        thresholds = .default
        maxMessageBytes = 25 << 20
        policy = .default
        onFault = .tempfail
        oversize = .accept
        milter = FrontEnd(listen: ListenAddress(host: "127.0.0.1", port: 11332))
        spamd = FrontEnd(listen: ListenAddress(host: "127.0.0.1", port: 11783), idleTimeoutSeconds: 30, totalTimeoutSeconds: 300)
        http = FrontEnd(listen: ListenAddress(host: "127.0.0.1", port: 11333), idleTimeoutSeconds: 30, totalTimeoutSeconds: 300)
        rspamd = FrontEnd(enabled: false, listen: ListenAddress(host: "127.0.0.1", port: 11336), idleTimeoutSeconds: 30,
                          totalTimeoutSeconds: 300)
        rspamdScanThreads = 0
        rspamdMaxPendingScans = 256
        access = AccessPolicy()
        logLevel = "info"
        eventLoops = 0
    }

    /// Half the cores, at least one. The loops only move bytes (scans run on the concurrency
    /// pool, one thread per core), so on a small machine a loop per core mostly adds context
    /// switches: on 2 cores one loop answered 1.6–9% more `/checkv2` requests per second than
    /// two, with a lower p99, in three alternating pairs (docs/loadbench.md).
    public static func automaticEventLoops(cores: Int) -> Int { max(1, cores / 2) }

    /// The event-loop threads the daemon starts with.
    public func eventLoopThreads(cores: Int) -> Int { eventLoops > 0 ? eventLoops : Self.automaticEventLoops(cores: cores) }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// The HTTP front end's part.
    public var httpFrontEnd: HTTPFrontEndConfiguration {
        HTTPFrontEndConfiguration(maxMessageBytes: maxMessageBytes, access: access, botnetZoneTTLSeconds: botnet.ttlSeconds)
    }

    /// The Rspamd worker listener's part.
    public var rspamdWorker: RspamdWorkerConfiguration {
        RspamdWorkerConfiguration(
            host: rspamd.listen.host, port: rspamd.listen.port, idleTimeoutSeconds: rspamd.idleTimeoutSeconds,
            totalTimeoutSeconds: rspamd.totalTimeoutSeconds, maxConnections: rspamd.maxConnections,
            scanThreads: rspamdScanThreads, maxPendingScans: rspamdMaxPendingScans, drainSeconds: 10,
            maxMessageBytes: maxMessageBytes)
    }

    /// Problems that are not errors but deserve a warning at start.
    public var warnings: [String] {
        var out: [String] = []
        for (name, f) in [("milter", milter), ("spamd", spamd), ("http", http), ("rspamd", rspamd)] where f.enabled && !f.listen.isLoopback {
            out.append("\(name) listens on \(f.listen), not loopback: make sure a firewall protects it")
            if name != "milter" && name != "rspamd" && access.password == nil {
                out.append("\(name) is reachable from the network but no password is set: only trusted networks can learn")
            }
        }
        if let a = botnet.dnsListen {
            if !a.isLoopback { out.append("botnet.dns_listen is \(a), not loopback: the list answers anyone who can reach it") }
            if !campaigns.enabled { out.append("botnet.dns_listen is set but campaigns are off: the DNS responder does not run") }
        }
        let e = edge.configuration
        if edge.enabled && e.pregreetWaitMilliseconds > 0 && !e.dnsLists.isEmpty
            && e.dnsTimeoutMilliseconds >= e.pregreetWaitMilliseconds
        {
            out.append("edge.dnsbl_timeout_ms (\(e.dnsTimeoutMilliseconds)) is not below edge.pregreet_wait_ms (\(e.pregreetWaitMilliseconds)): the 220- teaser is held while the DNS lists are asked, so lists that answer late send it with the greeting and the pregreet test misses clients that talk after the teaser")
        }
        if policy.spam == .discard || policy.unsure == .discard {
            out.append("discarding mail loses false positives without trace")
        }
        return out
    }
}

extension ServerConfiguration {
    /// This host's name (the default authserv-id), or `localhost`.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
