/// One resource record of a message's answer, authority or additional section.
public struct ResourceRecord: Sendable, Hashable {
    /// The owner name (the root for an OPT record).
    public var name: DomainName
    /// The class; for OPT, the requester's UDP payload size (see ``RecordData/opt(_:)``).
    public var rrClass: ResourceRecordClass
    /// Time to live in seconds; for OPT, the extended RCODE, version and flags.
    public var ttl: UInt32
    /// The record data, which also gives the TYPE.
    public var data: RecordData

    public init(name: DomainName, rrClass: ResourceRecordClass = .in, ttl: UInt32, data: RecordData) {
        self.name = name
        self.rrClass = rrClass
        self.ttl = ttl
        self.data = data
    }

    /// The record's TYPE.
    public var type: ResourceRecordType { data.type }

    /// An EDNS(0) OPT pseudo-record advertising `udpPayloadBytes` (RFC 6891 section 6.1.2).
    public static func opt(udpPayloadBytes: UInt16, dnssecOK: Bool = false, options: [EDNSOption] = []) -> ResourceRecord {
        ResourceRecord(
            name: .root, rrClass: ResourceRecordClass(rawValue: udpPayloadBytes), ttl: dnssecOK ? 0x8000 : 0,
            data: .opt(options))
    }
}

/// The SOA record data (RFC 1035 section 3.3.13).
public struct SOAData: Sendable, Hashable {
    public var primaryServer: DomainName
    public var responsibleMailbox: DomainName
    public var serial: UInt32
    public var refreshSeconds: UInt32
    public var retrySeconds: UInt32
    public var expireSeconds: UInt32
    /// The negative-caching TTL (RFC 2308 section 4).
    public var minimumSeconds: UInt32

    public init(
        primaryServer: DomainName, responsibleMailbox: DomainName, serial: UInt32, refreshSeconds: UInt32,
        retrySeconds: UInt32, expireSeconds: UInt32, minimumSeconds: UInt32
    ) {
        self.primaryServer = primaryServer
        self.responsibleMailbox = responsibleMailbox
        self.serial = serial
        self.refreshSeconds = refreshSeconds
        self.retrySeconds = retrySeconds
        self.expireSeconds = expireSeconds
        self.minimumSeconds = minimumSeconds
    }
}

/// One EDNS option (RFC 6891 section 6.1.2), kept opaque.
public struct EDNSOption: Sendable, Hashable {
    public var code: UInt16
    public var data: [UInt8]
    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

/// Record data by type; types this module does not know are kept as opaque bytes.
public enum RecordData: Sendable, Hashable {
    /// An IPv4 address, first octet in the high bits.
    case a(UInt32)
    /// An IPv6 address, 16 bytes in network order.
    case aaaa([UInt8])
    /// Character strings of up to 255 bytes each.
    case txt([[UInt8]])
    case mx(preference: UInt16, exchange: DomainName)
    case ptr(DomainName)
    case cname(DomainName)
    case ns(DomainName)
    case soa(SOAData)
    /// EDNS(0) options.
    case opt([EDNSOption])
    /// Any other type, with its RDATA as received.
    case opaque(type: ResourceRecordType, data: [UInt8])

    public var type: ResourceRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .txt: .txt
        case .mx: .mx
        case .ptr: .ptr
        case .cname: .cname
        case .ns: .ns
        case .soa: .soa
        case .opt: .opt
        case .opaque(let t, _): t
        }
    }
}
