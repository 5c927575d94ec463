import DNSWire

/// What a DNS list says about one listed address: the A record and the TXT text.
public struct DNSBLListing: Sendable, Hashable {
    /// The A record (`127.0.0.2` is 0x7F00_0002).
    public var code: UInt32
    /// The TXT record (cut to 255 bytes).
    public var text: String

    public init(code: UInt32, text: String) {
        self.code = code
        self.text = text
    }

    /// A listing with its code as dotted text (`127.0.0.2`); nil when that is not an IPv4 address.
    public init?(code text: String, text reason: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard p.count <= 3, let o = UInt32(p), o <= 255 else { return nil }
            v = v << 8 | o
        }
        self.init(code: v, text: reason)
    }
}

/// The answers of an authoritative DNSBL zone (RFC 5782), as a pure function from a query
/// datagram to a response datagram: no I/O, so every branch is tested without sockets.
///
/// - `d.c.b.a.ZONE` (IPv4) and 32 reversed nibbles (IPv6) of a listed address: A gives the
///   listing's code, TXT its text, ANY both; other types no data (SOA in authority).
/// - Unlisted addresses and any other name in the zone: NXDOMAIN with the SOA (negative TTL).
/// - The apex: SOA, NS; other types no data.
/// - The RFC 5782 test points: 127.0.0.2 (and ::FFFF:7F00:2) are always listed, 127.0.0.1 never.
/// - Names outside the zone: REFUSED. Undecodable queries: FORMERR (when the header can be read).
///   Responses, and datagrams shorter than a header, get no answer (no reflection loops).
///   Opcodes other than QUERY: NOTIMP. Classes other than IN (and ANY): REFUSED.
public struct DNSBLResponder: Sendable {
    /// The zone (`botnet.spamward.local`), lower case.
    public let zone: DomainName
    /// TTL of the answers and the SOA's negative TTL.
    public var ttlSeconds: UInt32
    /// The name server of the SOA and NS records (`ns.ZONE`).
    public let serverName: DomainName
    /// The SOA's mailbox (`hostmaster.ZONE`).
    public let mailbox: DomainName

    /// The text of the RFC 5782 test entry.
    public static let testEntryText = "Spamward DNSBL test entry (RFC 5782)"

    /// A responder for `zone`; nil when it is not a domain name with room for IPv6 names under it.
    public init?(zone: String, ttlSeconds: UInt32 = 60) {
        guard let z = DomainName(zone)?.lowercased, !z.labels.isEmpty, z.wireLength + 64 <= DNSWireLimits.maxNameBytes,
            let ns = DomainName(labels: [Array("ns".utf8)] + z.labels),
            let mb = DomainName(labels: [Array("hostmaster".utf8)] + z.labels)
        else { return nil }
        self.zone = z
        self.ttlSeconds = ttlSeconds
        self.serverName = ns
        self.mailbox = mb
    }

    /// The response to `query`, or nil when none must be sent.
    ///
    /// - Parameters:
    ///   - query: The datagram (or TCP message without its length prefix).
    ///   - maxBytes: The transport's limit: 512 for UDP without EDNS (the query's EDNS size, at
    ///     most 1232, when it has one), 65,535 for TCP. A larger answer is sent truncated (TC).
    ///   - serial: The SOA serial (the time the list was computed).
    ///   - lookup: The listing of an address (`192.0.2.1`, or eight groups of hex for IPv6).
    public func respond(to query: [UInt8], udp: Bool, serial: UInt32, lookup: (String) -> DNSBLListing?) -> [UInt8]? {
        guard query.count >= 12 else { return nil }
        let requestFlags = DNSHeaderFlags(rawValue: UInt16(query[2]) << 8 | UInt16(query[3]))
        guard !requestFlags.isResponse else { return nil }
        let id = UInt16(query[0]) << 8 | UInt16(query[1])
        let request: DNSMessage
        do {
            request = try DNSMessage(decoding: query)
        } catch {
            return encode(reply(id: id, request: requestFlags, code: .formatError), udp: udp, limit: 512)
        }
        let ednsSize = request.ednsUDPPayloadBytes
        let limit = udp ? max(512, min(Int(ednsSize ?? 512), 1232)) : DNSWireLimits.maxMessageBytes
        var response = answer(request, serial: serial, lookup: lookup)
        if ednsSize != nil { response.additionals.append(.opt(udpPayloadBytes: 1232)) }
        return encode(response, udp: udp, limit: limit)
    }

    /// The response message (without EDNS) to a decoded query.
    func answer(_ request: DNSMessage, serial: UInt32, lookup: (String) -> DNSBLListing?) -> DNSMessage {
        guard request.flags.opcode == 0 else { return reply(id: request.id, request: request.flags, code: .notImplemented) }
        guard request.questions.count == 1, let q = request.questions.first else {
            return reply(id: request.id, request: request.flags, code: .formatError)
        }
        var m = reply(id: request.id, request: request.flags, code: .noError)
        m.questions = [q]
        guard q.qClass == .in || q.qClass.rawValue == 255 else {
            m.flags.responseCode = .refused
            return m
        }
        let name = q.name.lowercased
        guard let relative = relativeLabels(name) else {
            m.flags.responseCode = .refused
            return m
        }
        m.flags.authoritative = true
        let soa = ResourceRecord(name: zone, ttl: ttlSeconds, data: .soa(SOAData(
            primaryServer: serverName, responsibleMailbox: mailbox, serial: serial, refreshSeconds: 3600,
            retrySeconds: 600, expireSeconds: 86_400, minimumSeconds: ttlSeconds)))
        let isAny = q.type == .any
        if relative.isEmpty {
            if q.type == .soa || isAny { m.answers.append(soa) }
            if q.type == .ns || isAny { m.answers.append(ResourceRecord(name: zone, ttl: ttlSeconds, data: .ns(serverName))) }
            if m.answers.isEmpty { m.authorities = [soa] }
            return m
        }
        guard let address = Self.address(reversedLabels: relative), let listing = Self.testEntry(address) ?? lookup(address)
        else {
            m.flags.responseCode = .nameError
            m.authorities = [soa]
            return m
        }
        if q.type == .a || isAny { m.answers.append(ResourceRecord(name: q.name, ttl: ttlSeconds, data: .a(listing.code))) }
        if q.type == .txt || isAny {
            let text = Array(listing.text.utf8.prefix(255))
            m.answers.append(ResourceRecord(name: q.name, ttl: ttlSeconds, data: .txt([text])))
        }
        if m.answers.isEmpty { m.authorities = [soa] }
        return m
    }

    /// The labels of `name` below the zone (empty at the apex); nil when it is not in the zone.
    func relativeLabels(_ name: DomainName) -> ArraySlice<[UInt8]>? {
        let n = name.labels, z = zone.labels
        guard n.count >= z.count, Array(n.suffix(z.count)) == z else { return nil }
        return n.prefix(n.count - z.count)
    }

    /// The address a DNSBL query name stands for: four decimal labels (IPv4) or 32 hex nibbles
    /// (IPv6), least significant first. IPv6 comes back as eight groups of four hex digits.
    public static func address(reversedLabels labels: ArraySlice<[UInt8]>) -> String? {
        if labels.count == 4 {
            var octets: [String] = []
            for l in labels.reversed() {
                guard (1...3).contains(l.count), l.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                guard l.count == 1 || l[0] != 0x30 else { return nil }  // no leading zeros
                let v = l.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                guard v <= 255 else { return nil }
                octets.append(String(v))
            }
            return octets.joined(separator: ".")
        }
        if labels.count == 32 {
            var nibbles: [Character] = []
            for l in labels.reversed() {
                guard l.count == 1 else { return nil }
                let c = l[0] | 0x20  // ASCII lower case for letters
                guard (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) else { return nil }
                nibbles.append(Character(Unicode.Scalar(c)))
            }
            var groups: [String] = []
            for i in stride(from: 0, to: 32, by: 4) { groups.append(String(nibbles[i..<(i + 4)])) }
            return groups.joined(separator: ":")
        }
        return nil
    }

    /// RFC 5782 section 5: 127.0.0.2 and ::FFFF:7F00:2 are listed by every list.
    static func testEntry(_ address: String) -> DNSBLListing? {
        address == "127.0.0.2" || address == "0000:0000:0000:0000:0000:ffff:7f00:0002"
            ? DNSBLListing(code: 0x7F00_0002, text: testEntryText) : nil
    }

    /// An empty reply to a request with these flags.
    func reply(id: UInt16, request: DNSHeaderFlags, code: DNSResponseCode) -> DNSMessage {
        var f = DNSHeaderFlags()
        f.isResponse = true
        f.opcode = request.opcode
        f.recursionDesired = request.recursionDesired
        f.checkingDisabled = request.checkingDisabled
        f.responseCode = code
        return DNSMessage(id: id, flags: f)
    }

    /// The wire form, truncated (TC, no records) when over `limit`.
    func encode(_ m: DNSMessage, udp: Bool, limit: Int) -> [UInt8]? {
        if let bytes = try? m.encoded(), bytes.count <= limit { return bytes }
        var t = m
        t.answers = []
        t.authorities = []
        t.flags.truncated = true
        return try? t.encoded()
    }
}
