/// A resource record TYPE (RFC 1035 section 3.2.2) as a 16-bit number with names for the common
/// ones.
public struct ResourceRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = Self(rawValue: 1)
    public static let ns = Self(rawValue: 2)
    public static let cname = Self(rawValue: 5)
    public static let soa = Self(rawValue: 6)
    public static let ptr = Self(rawValue: 12)
    public static let mx = Self(rawValue: 15)
    public static let txt = Self(rawValue: 16)
    public static let aaaa = Self(rawValue: 28)
    /// EDNS(0) pseudo-record (RFC 6891).
    public static let opt = Self(rawValue: 41)
    /// A query for every type (RFC 1035 QTYPE 255).
    public static let any = Self(rawValue: 255)

    public var description: String {
        switch rawValue {
        case 1: "A"
        case 2: "NS"
        case 5: "CNAME"
        case 6: "SOA"
        case 12: "PTR"
        case 15: "MX"
        case 16: "TXT"
        case 28: "AAAA"
        case 41: "OPT"
        case 255: "ANY"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A resource record CLASS (RFC 1035 section 3.2.4).
public struct ResourceRecordClass: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The Internet.
    public static let `in` = Self(rawValue: 1)
    /// Chaos (used for `version.bind`).
    public static let ch = Self(rawValue: 3)

    public var description: String { rawValue == 1 ? "IN" : rawValue == 3 ? "CH" : "CLASS\(rawValue)" }
}
