import MailAuth

/// How sending addresses are scored by the campaigns they carry, and when they are listed.
///
/// score = campaignWeight × (spam campaigns carried)
///       + spreadWeight × log2(1 + the largest number of /24s any of those campaigns came from)
///       + burstWeight × (1 if bursty)
/// An address is listed when its score reaches ``listThreshold``, it carried at least
/// ``minSpamCampaigns`` spam campaigns, and at most ``maxHamMessages`` of its messages were ham
/// (judged or labelled).
public struct BotnetPolicy: Sendable, Hashable, Codable {
    public var campaignWeight: Double = 1.0
    public var spreadWeight: Double = 0.5
    public var burstWeight: Double = 1.0
    public var listThreshold: Double = 3.0
    public var minSpamCampaigns: Int = 1
    public var maxHamMessages: Int = 0
    /// Bursty: at least ``burstMessages`` messages within ``burstSeconds``.
    public var burstMessages: Int = 5
    public var burstSeconds: Int64 = 600
    /// Reply codes (A records) by main reason.
    public var codeMultiCampaign: String = "127.0.0.2"
    public var codeDistributed: String = "127.0.0.3"
    public var codeBursty: String = "127.0.0.4"
    public init() {}
    public static let `default` = BotnetPolicy()
}

/// Why an address is (or is not) listed.
public struct BotnetEvidence: Sendable, Hashable, Codable {
    public var address: String
    public var subnet: String
    public var messages: Int
    public var campaigns: Int
    public var spamCampaigns: Int
    /// The largest number of distinct /24s among the spam campaigns this address carried.
    public var maxCampaignSubnets: Int
    public var bursty: Bool
    public var hamMessages: Int
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var score: Double
    public var listed: Bool
    /// The A record of the listing (`127.0.0.x`), nil when not listed.
    public var code: String?
    /// The TXT record of the listing.
    public var text: String
    /// Up to five spam campaign ids (hex) this address carried.
    public var campaignIDs: [String]
}

public enum BotnetScorer {
    public static func evaluate(_ s: SenderRecord, campaigns: [UInt64: Campaign], policy: BotnetPolicy = .default) -> BotnetEvidence {
        var spam: [Campaign] = []
        var known = 0
        for id in s.campaigns {
            guard let c = campaigns[id] else { continue }
            known += 1
            if c.isSpam { spam.append(c) }
        }
        let spread = spam.map(\.subnets.count).max() ?? 0
        let bursty = isBursty(s.recentTimes, policy: policy)
        let ham = max(s.verdicts.ham, s.labels.ham)
        var score = policy.campaignWeight * Double(spam.count)
        score += policy.spreadWeight * log2(1 + Double(spread))
        if bursty { score += policy.burstWeight }
        if spam.isEmpty { score = 0 }
        let listed = score >= policy.listThreshold && spam.count >= policy.minSpamCampaigns && ham <= policy.maxHamMessages
        var code: String? = nil
        if listed {
            let parts = (policy.campaignWeight * Double(spam.count), policy.spreadWeight * log2(1 + Double(spread)))
            code = parts.0 >= parts.1 ? policy.codeMultiCampaign : policy.codeDistributed
            if bursty, policy.burstWeight > max(parts.0, parts.1) { code = policy.codeBursty }
        }
        var why = ["\(spam.count) spam campaign\(spam.count == 1 ? "" : "s")"]
        if spread > 0 { why.append("campaigns from up to \(spread) /24s") }
        if bursty { why.append("bursty") }
        return BotnetEvidence(
            address: s.address, subnet: s.subnet, messages: s.messages, campaigns: known, spamCampaigns: spam.count,
            maxCampaignSubnets: spread, bursty: bursty, hamMessages: ham, firstSeen: s.firstSeen, lastSeen: s.lastSeen,
            score: score, listed: listed, code: code,
            text: "Spamward botnet footprint: " + why.joined(separator: ", "),
            campaignIDs: spam.prefix(5).map(\.hexID))
    }

    static func isBursty(_ times: [Int64], policy: BotnetPolicy) -> Bool {
        let k = max(2, policy.burstMessages)
        guard times.count >= k else { return false }
        for i in 0...(times.count - k) where times[i + k - 1] - times[i] <= policy.burstSeconds { return true }
        return false
    }

    static func log2(_ x: Double) -> Double {
        guard x > 0 else { return 0 }
        var e = 0.0, m = x
        while m >= 2 { m /= 2; e += 1 }
        // m in [1, 2): a short series is plenty for a score.
        let y = (m - 1) / (m + 1), y2 = y * y
        let ln = 2 * (y + y * y2 / 3 + y * y2 * y2 / 5 + y * y2 * y2 * y2 / 7)
        return e + ln / 0.693_147_180_559_945_3
    }

    /// Every tracked address evaluated; listed ones first, by decreasing score.
    public static func evaluateAll(_ tracker: CampaignTracker, policy: BotnetPolicy = .default) -> [BotnetEvidence] {
        tracker.senders.values.map { evaluate($0, campaigns: tracker.campaigns, policy: policy) }
            .sorted { ($0.listed ? 1 : 0, $0.score, $0.address) > ($1.listed ? 1 : 0, $1.score, $1.address) }
    }
}

/// The addresses listed by their botnet footprint: looked up by the SMTP edge, the verdict and a
/// DNSBL responder, and exported as an rbldnsd `ip4set` zone.
public struct BotnetList: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var address: String
        /// The A record (`127.0.0.2`).
        public var code: String
        /// The TXT record.
        public var text: String
        public init(address: String, code: String, text: String) {
            self.address = address
            self.code = code
            self.text = text
        }
    }

    public private(set) var entries: [String: Entry] = [:]

    public init(_ entries: [Entry] = []) {
        for e in entries {
            if let ip = IPAddress(e.address)?.unmapped { self.entries[ip.description] = e }
        }
    }

    /// The listed addresses of an evaluation.
    public init(evidence: [BotnetEvidence]) {
        self.init(evidence.compactMap { e in e.listed ? e.code.map { Entry(address: e.address, code: $0, text: e.text) } : nil })
    }

    public var count: Int { entries.count }

    /// Whether `address` is listed, with what reply code and text.
    public func lookup(_ address: String) -> Entry? {
        guard let ip = IPAddress(address)?.unmapped else { return nil }
        return entries[ip.description]
    }

    /// A DNSBL query name (`4.3.2.1.bl.example.` for 1.2.3.4 under zone `bl.example`): the
    /// listing, or nil when the name is not under the zone, not an address, or not listed.
    public func lookup(queryName: String, zone: String) -> Entry? {
        var name = queryName.lowercased()
        var z = zone.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if z.hasSuffix(".") { z.removeLast() }
        guard name.hasSuffix("." + z) else { return nil }
        let labels = name.dropLast(z.count + 1).split(separator: ".", omittingEmptySubsequences: false)
        if labels.count == 4 {
            return lookup(labels.reversed().joined(separator: "."))
        }
        if labels.count == 32, labels.allSatisfy({ $0.count == 1 && $0.first?.isHexDigit == true }) {
            let nibbles = labels.reversed().map(String.init)
            var groups: [String] = []
            for i in stride(from: 0, to: 32, by: 4) { groups.append(nibbles[i..<(i + 4)].joined()) }
            return lookup(groups.joined(separator: ":"))
        }
        return nil
    }

    /// The list as an rbldnsd `ip4set` zone: `$TTL`, an optional `$SOA`-less header comment, a
    /// default `:127.0.0.2:` line, then one `ADDRESS :CODE:TEXT` line per entry, sorted.
    /// (IPv6 entries are written for rbldnsd's `ip6trie` only: see ``ip6trieZone(ttl:)``.)
    public func ip4setZone(ttl: Int = 300, generatedAt: Int64? = nil) -> String {
        var out = "# Spamward botnet footprint list (rbldnsd ip4set)\n"
        if let t = generatedAt { out += "# generated at \(t) (seconds since 1970)\n" }
        out += "$TTL \(ttl)\n"
        out += ":127.0.0.2:Listed by Spamward's botnet footprint\n"
        for e in sorted(v4: true) { out += "\(e.address) :\(e.code):\(Self.zoneText(e.text))\n" }
        return out
    }

    /// IPv6 entries as an rbldnsd `ip6trie` zone.
    public func ip6trieZone(ttl: Int = 300) -> String {
        var out = "# Spamward botnet footprint list (rbldnsd ip6trie)\n$TTL \(ttl)\n"
        for e in sorted(v4: false) { out += "\(e.address) :\(e.code):\(Self.zoneText(e.text))\n" }
        return out
    }

    private func sorted(v4: Bool) -> [Entry] {
        entries.values.compactMap { e -> (IPAddress, Entry)? in
            guard let ip = IPAddress(e.address), ip.isIPv4 == v4 else { return nil }
            return (ip, e)
        }.sorted { a, b in
            switch (a.0, b.0) {
            case (.v4(let x), .v4(let y)): return x < y
            case (.v6(let x), .v6(let y)): return x < y
            default: return a.1.address < b.1.address
            }
        }.map(\.1)
    }

    /// TXT text safe on one zone line (no newlines; `$` would be substituted by rbldnsd).
    static func zoneText(_ s: String) -> String {
        String(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "$" }.prefix(200).map(Character.init))
    }

    /// Parses an `ip4set`/`ip6trie` zone written by ``ip4setZone(ttl:generatedAt:)`` (single
    /// addresses; ranges and exclusions are not read).
    public init(zone: String) {
        var list: [Entry] = []
        var defaultCode = "127.0.0.2", defaultText = ""
        for line in zone.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let l = line.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            if l.isEmpty || l.hasPrefix("#") || l.hasPrefix("$") { continue }
            if l.hasPrefix(":") {
                let f = l.dropFirst().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                if let c = f.first, !c.isEmpty { defaultCode = String(c) }
                if f.count > 1 { defaultText = String(f[1]) }
                continue
            }
            let parts = l.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            var code = defaultCode, text = defaultText
            if parts.count > 1 {
                let v = parts[1].trimmingPrefix(while: { $0 == " " || $0 == "\t" })
                if v.hasPrefix(":") {
                    let f = v.dropFirst().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                    if let c = f.first, !c.isEmpty { code = String(c) }
                    if f.count > 1 { text = String(f[1]) }
                }
            }
            list.append(Entry(address: String(parts[0]), code: code, text: text))
        }
        self.init(list)
    }
}
