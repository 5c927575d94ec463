#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR notation (`127.0.0.0/8`, `::1/128`, or a bare address).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's address bytes (4 or 16).
    public let address: [UInt8]
    public let prefixLength: Int

    /// Parses `address[/prefix]`; nil when it is not a valid address or prefix length.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let bytes = IPNetwork.parseAddress(String(first)) else { return nil }
        let maxBits = bytes.count * 8
        var prefix = maxBits
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= maxBits else { return nil }
            prefix = p
        }
        self.address = bytes
        self.prefixLength = prefix
    }

    public var description: String {
        let text = IPNetwork.format(address) ?? "?"
        return prefixLength == address.count * 8 ? text : "\(text)/\(prefixLength)"
    }

    /// Whether `bytes` (4 or 16 address bytes) lies in this network. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) matches IPv4 networks.
    public func contains(_ bytes: [UInt8]) -> Bool {
        var candidate = bytes
        if candidate.count == 16, address.count == 4, candidate[0..<10].allSatisfy({ $0 == 0 }),
            candidate[10] == 0xFF, candidate[11] == 0xFF
        {
            candidate = Array(candidate[12..<16])
        }
        guard candidate.count == address.count else { return false }
        var bits = prefixLength
        var i = 0
        while bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if candidate[i] & mask != address[i] & mask { return false }
            bits -= 8
            i += 1
        }
        return true
    }

    /// Whether the textual address `text` lies in this network.
    public func contains(_ text: String) -> Bool {
        guard let b = IPNetwork.parseAddress(text) else { return false }
        return contains(b)
    }

    /// 4 or 16 bytes for a textual IPv4 or IPv6 address, else nil.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func format(_ bytes: [UInt8]) -> String? {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var out = [CChar](repeating: 0, count: 64)
        let ok = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { dst in
                inet_ntop(family, src.baseAddress, dst.baseAddress, socklen_t(dst.count)) != nil
            }
        }
        guard ok else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Who may use learning and admin endpoints without a password.
public struct AccessPolicy: Sendable {
    /// Clients in these networks need no password (loopback by default, as Rspamd's controller).
    public var trustedNetworks: [IPNetwork]
    /// The password or token for everyone else; nil means untrusted clients cannot learn at all.
    public var password: String?

    public init(trustedNetworks: [IPNetwork] = AccessPolicy.loopback, password: String? = nil) {
        self.trustedNetworks = trustedNetworks
        self.password = password
    }

    public static let loopback: [IPNetwork] = ["127.0.0.0/8", "::1/128"].compactMap { IPNetwork($0) }

    /// Whether a client at `address` presenting `secret` may use a protected endpoint.
    public func allows(address: String?, secret: String?) -> Bool {
        if let address, trustedNetworks.contains(where: { $0.contains(address) }) { return true }
        guard let password, let secret else { return false }
        return constantTimeEquals(Array(password.utf8), Array(secret.utf8))
    }
}

/// Compares two secrets in time that depends only on their lengths, not on where they differ.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
    let n = max(a.count, b.count)
    for i in 0..<n {
        let x = i < a.count ? a[i] : 0
        let y = i < b.count ? b[i] : 0
        diff |= x ^ y
    }
    return diff == 0
}
