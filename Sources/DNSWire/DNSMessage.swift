/// The question of a DNS message (RFC 1035 section 4.1.2).
public struct DNSQuestion: Sendable, Hashable {
    public var name: DomainName
    public var type: ResourceRecordType
    public var qClass: ResourceRecordClass

    public init(name: DomainName, type: ResourceRecordType, qClass: ResourceRecordClass = .in) {
        self.name = name
        self.type = type
        self.qClass = qClass
    }

    /// Same type and class, and the same name ignoring ASCII case.
    public func matches(_ other: DNSQuestion) -> Bool {
        type == other.type && qClass == other.qClass && name.equalsIgnoringCase(other.name)
    }
}

/// The RCODE of a response (RFC 1035 section 4.1.1; the 4-bit header part only).
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    public static let noError = Self(rawValue: 0)
    public static let formatError = Self(rawValue: 1)
    public static let serverFailure = Self(rawValue: 2)
    public static let nameError = Self(rawValue: 3)
    public static let notImplemented = Self(rawValue: 4)
    public static let refused = Self(rawValue: 5)

    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}

/// The flag bits of the header (RFC 1035 section 4.1.1, RFC 4035 section 3.2 for AD/CD).
public struct DNSHeaderFlags: Sendable, Hashable {
    /// Response (QR).
    public var isResponse = false
    /// OPCODE (0 is a standard query).
    public var opcode: UInt8 = 0
    /// Authoritative answer (AA).
    public var authoritative = false
    /// Truncated (TC): the answer did not fit; ask again over TCP.
    public var truncated = false
    /// Recursion desired (RD).
    public var recursionDesired = true
    /// Recursion available (RA).
    public var recursionAvailable = false
    /// Authentic data (AD).
    public var authenticData = false
    /// Checking disabled (CD).
    public var checkingDisabled = false
    /// RCODE.
    public var responseCode: DNSResponseCode = .noError

    public init() {}

    /// The flags from the header's 16-bit flags field.
    public init(rawValue v: UInt16) {
        isResponse = v & 0x8000 != 0
        opcode = UInt8((v >> 11) & 0x0F)
        authoritative = v & 0x0400 != 0
        truncated = v & 0x0200 != 0
        recursionDesired = v & 0x0100 != 0
        recursionAvailable = v & 0x0080 != 0
        authenticData = v & 0x0020 != 0
        checkingDisabled = v & 0x0010 != 0
        responseCode = DNSResponseCode(rawValue: UInt8(v & 0x0F))
    }

    /// The header's 16-bit flags field.
    public var rawValue: UInt16 {
        var v = UInt16(opcode & 0x0F) << 11 | UInt16(responseCode.rawValue)
        if isResponse { v |= 0x8000 }
        if authoritative { v |= 0x0400 }
        if truncated { v |= 0x0200 }
        if recursionDesired { v |= 0x0100 }
        if recursionAvailable { v |= 0x0080 }
        if authenticData { v |= 0x0020 }
        if checkingDisabled { v |= 0x0010 }
        return v
    }
}

/// A whole DNS message: header, question and the three record sections (RFC 1035 section 4).
public struct DNSMessage: Sendable, Hashable {
    public var id: UInt16
    public var flags: DNSHeaderFlags
    public var questions: [DNSQuestion]
    public var answers: [ResourceRecord]
    public var authorities: [ResourceRecord]
    public var additionals: [ResourceRecord]

    public init(
        id: UInt16, flags: DNSHeaderFlags = DNSHeaderFlags(), questions: [DNSQuestion] = [],
        answers: [ResourceRecord] = [], authorities: [ResourceRecord] = [], additionals: [ResourceRecord] = []
    ) {
        self.id = id
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A standard recursive query for one question, with an EDNS(0) OPT record advertising
    /// `ednsUDPPayloadBytes` unless that is nil.
    public static func query(
        id: UInt16, name: DomainName, type: ResourceRecordType, ednsUDPPayloadBytes: UInt16? = 1232
    ) -> DNSMessage {
        var m = DNSMessage(id: id, questions: [DNSQuestion(name: name, type: type)])
        if let size = ednsUDPPayloadBytes { m.additionals.append(.opt(udpPayloadBytes: size)) }
        return m
    }

    /// The RCODE, extended by the OPT record's upper 8 bits when there is one (RFC 6891).
    public var extendedResponseCode: UInt16 {
        var code = UInt16(flags.responseCode.rawValue)
        if let opt = additionals.first(where: { $0.type == .opt }) { code |= UInt16(opt.ttl >> 24) << 4 }
        return code
    }

    /// The requester's UDP payload size from the OPT record, if any.
    public var ednsUDPPayloadBytes: UInt16? {
        additionals.first(where: { $0.type == .opt })?.rrClass.rawValue
    }
}
