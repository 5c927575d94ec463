import MailAuth

/// HELO/EHLO name anomalies: an address literal that is not the client, a bare IP address, a
/// syntactically invalid name, or a name that claims to be us or localhost from elsewhere.
/// Returns the evidence, or nil when the name looks fine.
public func heloAnomaly(_ name: String, client: IPAddress, ourHostname: String) -> String? {
    let bytes = Array(name.utf8)
    if bytes.first == UInt8(ascii: "[") {
        guard bytes.last == UInt8(ascii: "]") else { return "unterminated address literal" }
        var inner = Substring(name.dropFirst().dropLast())
        if inner.lowercased().hasPrefix("ipv6:") { inner = inner.dropFirst(5) }
        guard let ip = IPAddress(inner) else { return "invalid address literal" }
        return ip.unmapped == client.unmapped ? nil : "address literal \(ip) is not the client \(client)"
    }
    if IPAddress(name) != nil { return "address without brackets" }
    guard bytes.count <= 255 else { return "name longer than 255 bytes" }
    let labels = name.split(separator: ".", omittingEmptySubsequences: false)
    for label in labels {
        let l = Array(label.utf8)
        guard !l.isEmpty, l.count <= 63 else { return "empty or long label" }
        guard l.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }),
            l.first != 0x2D, l.last != 0x2D
        else { return "invalid characters" }
    }
    let lower = name.lowercased()
    let loopback: Bool
    switch client.unmapped {
    case .v4(let a): loopback = a.octets[0] == 127
    case .v6(let a): loopback = a.value == 1
    }
    if !loopback && (lower == ourHostname.lowercased() || lower == "localhost" || lower == "localhost.localdomain") {
        return "claims to be \(lower)"
    }
    return nil
}
