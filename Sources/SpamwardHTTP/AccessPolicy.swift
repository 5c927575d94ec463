import MailAuth

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

    /// Whether a client at `address` presenting `secret` may use a protected endpoint. An
    /// IPv4-mapped IPv6 address counts as its IPv4 address.
    public func allows(address: String?, secret: String?) -> Bool {
        if let address, let ip = IPAddress(address)?.unmapped, trustedNetworks.contains(where: { $0.contains(ip) }) {
            return true
        }
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
