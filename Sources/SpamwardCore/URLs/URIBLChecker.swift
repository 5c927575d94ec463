import MailAuth
import MailMessage

/// URIBL-style DNS lookups of a message's URL domains, as an asynchronous step before the scan:
/// its symbols go into ``ScanContext/symbols`` (the scan itself stays synchronous).
///
/// For each distinct registrable domain (at most ``maxLookups``), `DOMAIN.ZONE` is asked for A
/// records; an answer in 127.0.0.0/8 lists the domain, except 127.0.0.1 and 127.255.255.x,
/// which list servers use to say "query refused" or "over quota". IP hosts are asked reversed
/// (`4.3.2.1.ZONE`). Lookup errors are ignored (a list that does not answer lists nothing).
public struct URIBLChecker: Sendable {
    /// One DNS list.
    public struct Zone: Sendable, Hashable {
        /// The list's zone (`multi.uribl.example`).
        public var name: String
        /// The symbol it gives (`URIBL_EXAMPLE`).
        public var symbol: String
        public var score: Double
        public var description: String
        public init(name: String, symbol: String, score: Double, description: String? = nil) {
            self.name = name
            self.symbol = symbol
            self.score = score
            self.description = description ?? "a link's domain is listed by \(name)"
        }
    }

    public var zones: [Zone]
    public var resolver: any DNSResolver
    public var publicSuffixList: PublicSuffixList?
    /// Domains looked up per message (per zone).
    public var maxLookups: Int
    /// Configured "query refused" replies: an entry covers the zones at or under its domain and
    /// replaces the built-in rule for them (an entry without replies: no sentinels there).
    public var sentinels: [DNSListSentinel] = []
    /// The built-in rule for zones without an entry: 127.0.0.1 and 127.255.255.0/24.
    public var builtinSentinels: Bool = true

    public init(zones: [Zone], resolver: any DNSResolver, publicSuffixList: PublicSuffixList? = PublicSuffixList.system,
                maxLookups: Int = 20) {
        self.zones = zones
        self.resolver = resolver
        self.publicSuffixList = publicSuffixList
        self.maxLookups = maxLookups
    }

    /// The names to look up for a message: registrable domains (or reversed IPv4 hosts), in order.
    public func lookupNames(_ message: Message) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        // The analysis the rules read (made here first, as this step runs before the scan, and
        // kept with the message for them when the lists are the same).
        URLAnalysis.of(message, publicSuffixList: publicSuffixList).forEach(hosts: false) { u in
            let name: String
            if u.isIPAddress {
                let host = u.host
                guard !host.hasPrefix("[") else { return false }
                name = host.split(separator: ".").reversed().joined(separator: ".")
            } else {
                name = u.registrableDomain
            }
            if seen.insert(name).inserted {
                out.append(name)
                if out.count >= maxLookups { return true }
            }
            return false
        }
        return out
    }

    /// A reply by which a list says "refused" or "over quota" rather than "listed" (127.0.0.1,
    /// 127.255.255.x): it does not score, and the operator should fix the resolver setup.
    public struct Warning: Sendable, Hashable {
        /// The list's zone.
        public var zone: String
        /// The name asked (`domain.zone`).
        public var query: String
        /// The reply (`127.0.0.1`).
        public var reply: String
        public init(zone: String, query: String, reply: String) {
            self.zone = zone
            self.query = query
            self.reply = reply
        }
    }

    /// The symbols and the sentinel warnings of one message's lookups.
    public struct Result: Sendable, Hashable {
        public var symbols: [Symbol] = []
        public var warnings: [Warning] = []
    }

    /// One symbol per zone that lists any domain of the message; the options name the domains.
    public func check(_ message: Message) async -> [Symbol] { await lookup(message).symbols }

    /// One symbol per zone that lists any domain of the message (the options name the domains
    /// and replies), and a warning per sentinel reply.
    public func lookup(_ message: Message) async -> Result {
        let names = lookupNames(message)
        guard !names.isEmpty else { return Result() }
        var result = Result()
        for zone in zones {
            // Lookups of one zone run concurrently.
            let replies: [(Int, String, [UInt32])] = await withTaskGroup(of: (Int, String, [UInt32]).self) { group in
                for (i, name) in names.enumerated() {
                    group.addTask { [resolver] in
                        let q = name + "." + zone.name
                        guard let r = try? await resolver.lookup(q, .a) else { return (i, q, []) }
                        var out: [UInt32] = []
                        for case .a(let a) in r.records { out.append(a.value) }
                        return (i, q, out)
                    }
                }
                var all: [(Int, String, [UInt32])] = []
                for await r in group where !r.2.isEmpty { all.append(r) }
                return all.sorted { $0.0 < $1.0 }
            }
            var listed: [String] = []
            for (i, query, values) in replies {
                if let v = values.first(where: { $0 >> 24 == 127 && !isSentinel($0, zone: zone.name) }) {
                    listed.append("\(names[i]) (\(IPv4Address(v)))")
                } else if let v = values.first(where: { isSentinel($0, zone: zone.name) }) {
                    result.warnings.append(Warning(zone: zone.name, query: query, reply: "\(IPv4Address(v))"))
                }
            }
            if !listed.isEmpty {
                result.symbols.append(Symbol(name: zone.symbol, score: zone.score, description: zone.description, options: listed))
            }
        }
        return result
    }

    /// Whether `v` from `zone` means "refused": a configured entry for the zone decides; else
    /// the built-in rule (when on).
    func isSentinel(_ v: UInt32, zone: String) -> Bool {
        let entries = sentinels.filter { DNSName.isSubdomain(zone, of: $0.domain) }
        if !entries.isEmpty { return entries.contains { $0.replies.contains(IPv4Address(v)) } }
        return builtinSentinels && Self.isSentinel(v)
    }

    /// 127.0.0.0/8, but not 127.0.0.1 (refused) or 127.255.255.0/24 (errors and quota).
    static func isListing(_ v: UInt32) -> Bool {
        v >> 24 == 127 && !isSentinel(v)
    }

    /// 127.0.0.1 (URIBL and SURBL: query refused) and 127.255.255.0/24 (errors, quota).
    static func isSentinel(_ v: UInt32) -> Bool {
        v == 0x7F00_0001 || v >> 8 == 0x7F_FFFF
    }
}
