/// An IPv4 address: four octets, kept as one big-endian 32-bit number.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address as a number, first octet in the high bits (`1.2.3.4` is `0x01020304`).
    public var value: UInt32

    /// The address with this numeric value.
    public init(_ value: UInt32) { self.value = value }

    /// The address `a.b.c.d`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses strict dotted-decimal text: exactly four decimal numbers 0…255 without leading
    /// zeros (RFC 7208's `ip4-network`; `01.2.3.4`, `1.2.3` and `0x1.2.3.4` are rejected).
    public init?(_ text: some StringProtocol) {
        guard let v = Self.parse(Array(text.utf8)[...]) else { return nil }
        value = v
    }

    static func parse(_ b: ArraySlice<UInt8>) -> UInt32? {
        var result: UInt32 = 0
        var parts = 0
        var number: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for c in b {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | number
                parts += 1
                number = 0
                digits = 0
                leadingZero = false
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                if leadingZero { return nil }
                if digits == 0 && c == UInt8(ascii: "0") { leadingZero = true }
                number = number * 10 + UInt32(c - UInt8(ascii: "0"))
                digits += 1
                guard number <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return result << 8 | number
    }

    /// The four octets, most significant first.
    public var octets: [UInt8] {
        [
            UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
            UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value),
        ]
    }

    /// Dotted decimal (`192.0.2.1`).
    public var description: String { octets.map { String($0) }.joined(separator: ".") }

    /// The name queried for this address's PTR records (`1.2.0.192.in-addr.arpa`).
    public var reverseDNSName: String { octets.reversed().map { String($0) }.joined(separator: ".") + ".in-addr.arpa" }

    /// Whether this address lies in `network/prefixLength` (prefix lengths above 32 count as 32,
    /// below 0 as 0).
    public func isIn(_ network: IPv4Address, prefixLength: Int) -> Bool {
        let bits = min(max(prefixLength, 0), 32)
        if bits == 0 { return true }
        let mask: UInt32 = ~0 << UInt32(32 - bits)
        return value & mask == network.value & mask
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv6 address: 128 bits, first group in the high bits.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address as a number (`::1` is 1).
    public var value: UInt128

    /// The address with this numeric value.
    public init(_ value: UInt128) { self.value = value }

    /// The address made of these eight 16-bit groups (more are ignored, fewer are padded with zeros
    /// on the right).
    public init(groups: [UInt16]) {
        var v: UInt128 = 0
        for i in 0..<8 { v = v << 16 | UInt128(i < groups.count ? groups[i] : 0) }
        value = v
    }

    /// Parses RFC 4291 text: up to eight groups of one to four hex digits, at most one `::`, and an
    /// optional dotted IPv4 tail (`::ffff:192.0.2.1`). Zone indexes (`%eth0`) and brackets are
    /// rejected.
    public init?(_ text: some StringProtocol) {
        guard let g = Self.parseGroups(Array(text.utf8)) else { return nil }
        self.init(groups: g)
    }

    static func parseGroups(_ b: [UInt8]) -> [UInt16]? {
        guard b.count >= 2, b.count <= 45 else { return nil }
        // Locate a single "::".
        var gap: Int? = nil
        var i = 0
        while i + 1 < b.count {
            if b[i] == UInt8(ascii: ":") && b[i + 1] == UInt8(ascii: ":") {
                if gap != nil { return nil }
                gap = i
                i += 2
                if i < b.count && b[i] == UInt8(ascii: ":") { return nil }
                continue
            }
            i += 1
        }
        func pieces(_ part: ArraySlice<UInt8>, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = part.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            for (n, f) in fields.enumerated() {
                if allowIPv4Tail && n == fields.count - 1 && f.contains(UInt8(ascii: ".")) {
                    guard let v4 = IPv4Address.parse(f) else { return nil }
                    out.append(UInt16(truncatingIfNeeded: v4 >> 16))
                    out.append(UInt16(truncatingIfNeeded: v4))
                    continue
                }
                guard !f.isEmpty, f.count <= 4 else { return nil }
                var v: UInt16 = 0
                for c in f {
                    guard let d = hexValue(c) else { return nil }
                    v = v << 4 | UInt16(d)
                }
                out.append(v)
            }
            return out
        }
        if let gap {
            guard let head = pieces(b[0..<gap], allowIPv4Tail: false),
                let tail = pieces(b[(gap + 2)...], allowIPv4Tail: true),
                head.count + tail.count < 8
            else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard let all = pieces(b[...], allowIPv4Tail: true), all.count == 8 else { return nil }
        return all
    }

    /// The eight 16-bit groups.
    public var groups: [UInt16] {
        (0..<8).map { UInt16(truncatingIfNeeded: value >> UInt128(16 * (7 - $0))) }
    }

    /// The embedded IPv4 address when this is an IPv4-mapped address (`::ffff:a.b.c.d`).
    public var ipv4Mapped: IPv4Address? {
        value >> 32 == 0xFFFF ? IPv4Address(UInt32(truncatingIfNeeded: value)) : nil
    }

    /// RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as
    /// `::`, IPv4-mapped addresses with a dotted tail.
    public var description: String {
        if let v4 = ipv4Mapped { return "::ffff:" + v4.description }
        let g = groups
        var bestStart = -1
        var bestLength = 0
        var i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    /// The 32 nibbles, most significant first, as hex digits (upper case when `uppercase`).
    func nibbles(uppercase: Bool) -> [String] {
        (0..<32).map { n in
            let d = UInt8(truncatingIfNeeded: value >> UInt128(4 * (31 - n))) & 0xF
            return String(d, radix: 16, uppercase: uppercase)
        }
    }

    /// The name queried for this address's PTR records (nibbles reversed, `….ip6.arpa`).
    public var reverseDNSName: String { nibbles(uppercase: false).reversed().joined(separator: ".") + ".ip6.arpa" }

    /// Whether this address lies in `network/prefixLength` (prefix lengths above 128 count as 128,
    /// below 0 as 0).
    public func isIn(_ network: IPv6Address, prefixLength: Int) -> Bool {
        let bits = min(max(prefixLength, 0), 128)
        if bits == 0 { return true }
        let mask: UInt128 = ~0 << UInt128(128 - bits)
        return value & mask == network.value & mask
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { lhs.value < rhs.value }
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// An IPv4 or IPv6 address, such as an SMTP client's.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses an IPv4 (strict dotted decimal) or IPv6 (RFC 4291) address. Surrounding brackets
    /// (`[2001:db8::1]`) are accepted for IPv6; an `IPv6:` prefix as in SMTP address literals too.
    public init?(_ text: some StringProtocol) {
        var s = Substring(text)
        if s.first == "[" && s.last == "]" { s = s.dropFirst().dropLast() }
        if s.count > 5, s.prefix(5).lowercased() == "ipv6:" { s = s.dropFirst(5) }
        if let v4 = IPv4Address(s) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(s) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// The address with an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) turned into its IPv4
    /// address, as RFC 7208 section 5 requires; other addresses unchanged.
    public var unmapped: IPAddress {
        if case .v6(let a) = self, let v4 = a.ipv4Mapped { return .v4(v4) }
        return self
    }

    /// True for IPv4.
    public var isIPv4: Bool { if case .v4 = self { true } else { false } }

    /// Dotted decimal for IPv4, RFC 5952 text for IPv6.
    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// The name queried for this address's PTR records (`….in-addr.arpa` or `….ip6.arpa`).
    public var reverseDNSName: String {
        switch self {
        case .v4(let a): a.reverseDNSName
        case .v6(let a): a.reverseDNSName
        }
    }

    /// Whether this address lies in `network`'s range; always false across address families.
    public func isIn(_ network: IPNetwork) -> Bool {
        switch (self, network.address) {
        case (.v4(let a), .v4(let n)): a.isIn(n, prefixLength: network.prefixLength)
        case (.v6(let a), .v6(let n)): a.isIn(n, prefixLength: network.prefixLength)
        default: false
        }
    }
}

/// An address range in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The address as given (host bits are kept; matching ignores them).
    public var address: IPAddress
    /// 0…32 for IPv4, 0…128 for IPv6.
    public var prefixLength: Int

    /// A range; nil when the prefix length is out of range for the address family.
    public init?(address: IPAddress, prefixLength: Int) {
        let maxLength = address.isIPv4 ? 32 : 128
        guard prefixLength >= 0, prefixLength <= maxLength else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `address` or `address/length` (the length without leading zeros); an address alone
    /// is a single-host range.
    public init?(_ text: some StringProtocol) {
        let s = Substring(text)
        if let slash = s.lastIndex(of: "/") {
            let lengthText = s[s.index(after: slash)...]
            guard let address = IPAddress(s[..<slash]), let length = parseCIDRLength(lengthText) else { return nil }
            self.init(address: address, prefixLength: length)
        } else {
            guard let address = IPAddress(s) else { return nil }
            self.init(address: address, prefixLength: address.isIPv4 ? 32 : 128)
        }
    }

    /// Whether `ip` lies in this range.
    public func contains(_ ip: IPAddress) -> Bool { ip.isIn(self) }

    public var description: String { "\(address)/\(prefixLength)" }
}

/// A CIDR length: decimal digits, no leading zero (other than `0` itself), at most 3 digits.
func parseCIDRLength(_ text: some StringProtocol) -> Int? {
    let u = Array(text.utf8)
    guard !u.isEmpty, u.count <= 3, u.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
        return nil
    }
    if u.count > 1 && u[0] == UInt8(ascii: "0") { return nil }
    return u.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
}
