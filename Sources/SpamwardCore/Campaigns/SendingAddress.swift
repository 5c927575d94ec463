import MailAuth
import MailMessage

/// The address that sent a message to us: the SMTP client when the front end knows it and it is
/// not one of our relays, else the first public address in the `from` clauses of the Received
/// fields, from the top, skipping relays the caller trusts (its own mail servers, collectors).
public enum SendingAddress {
    /// The sending address for a scan: `context.clientAddress` if it parses and is not a trusted
    /// relay, else from Received (below the trusted relays). A trusted client whose Received chain
    /// names no untrusted public hop gives nil: a relay is never booked as a sender.
    public static func of(_ message: Message, context: ScanContext, isTrustedRelay: (IPAddress) -> Bool = { _ in false }) -> IPAddress? {
        if let text = context.clientAddress, let ip = IPAddress(text)?.unmapped, !isTrustedRelay(ip) {
            return ip
        }
        return fromReceived(message, isTrustedRelay: isTrustedRelay)
    }

    /// The first public address of a Received `from` clause, from the top, that is not a trusted relay.
    public static func fromReceived(_ message: Message, isTrustedRelay: (IPAddress) -> Bool = { _ in false }) -> IPAddress? {
        for field in message.headers.all("Received").prefix(32) {
            for ip in addresses(inFromClause: field.value) where isPublic(ip) {
                if isTrustedRelay(ip) { break }  // one of ours: look at the hop below
                return ip
            }
        }
        return nil
    }

    /// The public addresses of each Received field's `from` clause, top first (for finding the
    /// relays of a corpus: see ``inferTrustedRelays(_:minimumShare:)``).
    public static func receivedChain(_ message: Message) -> [IPAddress] {
        var out: [IPAddress] = []
        for field in message.headers.all("Received").prefix(32) {
            if let ip = addresses(inFromClause: field.value).first(where: isPublic) { out.append(ip) }
        }
        return out
    }

    /// Relays of a corpus: addresses that are the first public hop of at least `minimumShare`
    /// of the messages and have another public hop below them in most of those messages. A
    /// corpus collected at one site was received by that site's servers (the SpamAssassin
    /// corpus: its collectors' own relays); a spam source is never that common.
    public static func inferTrustedRelays(_ chains: [[IPAddress]], minimumShare: Double = 0.02) -> Set<IPAddress> {
        var trusted = Set<IPAddress>()
        // Peel one layer of relays at a time (a site may have several hops), at most 4 layers.
        for _ in 0..<4 {
            var first: [IPAddress: (count: Int, withMore: Int)] = [:]
            for chain in chains {
                guard let i = chain.firstIndex(where: { !trusted.contains($0) }) else { continue }
                let more = chain[(i + 1)...].contains { !trusted.contains($0) }
                first[chain[i], default: (0, 0)].count += 1
                if more { first[chain[i], default: (0, 0)].withMore += 1 }
            }
            let need = max(2, Int((Double(chains.count) * minimumShare).rounded(.up)))
            let layer = first.filter { $0.value.count >= need && $0.value.withMore * 2 > $0.value.count }.map(\.key)
            if layer.isEmpty { break }
            trusted.formUnion(layer)
        }
        return trusted
    }

    /// The addresses in a Received field's `from` clause (up to ` by `): bracketed literals
    /// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`) and bare dotted quads.
    static func addresses(inFromClause value: String) -> [IPAddress] {
        // A field of at most 1,024 bytes is its own 1,024-character prefix: read it as bytes.
        // Only tokens that can spell an address are parsed (most are host names and words).
        guard value.utf8.count <= 1024 else { return addressesGeneral(inFromClause: value) }
        var v = Substring(value)
        guard let from = v.firstByteRange(of: "from ") else { return [] }
        v = v[from.upperBound...]
        if let by = v.firstByteRange(of: " by ") ?? v.firstByteRange(of: "\tby ") ?? v.firstByteRange(of: "\nby ") { v = v[..<by.lowerBound] }
        var out: [IPAddress] = []
        func token(_ t: UnsafeBufferPointer<UInt8>) {
            if Self.canSpellAddress(t), let ip = IPAddress(String(decoding: t, as: UTF8.self))?.unmapped { out.append(ip) }
        }
        let scanned: Void? = v.utf8.withContiguousStorageIfAvailable { b in
            var start = 0
            for i in 0..<b.count {
                switch b[i] {
                case UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: " "),
                    UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ";"), UInt8(ascii: ","),
                    UInt8(ascii: "="), UInt8(ascii: "<"), UInt8(ascii: ">"):
                    if i > start { token(UnsafeBufferPointer(rebasing: b[start..<i])) }
                    start = i + 1
                default: break
                }
            }
            if b.count > start { token(UnsafeBufferPointer(rebasing: b[start...])) }
        }
        return scanned == nil ? addressesGeneral(inFromClause: value) : out
    }

    /// Whether `t` can be an address `IPAddress` accepts: an optional `IPv6:` prefix, then only
    /// hexadecimal digits, colons and dots, at most 45 of them (the longest IPv6 text).
    static func canSpellAddress(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var body = t[...]
        if t.count > 5, t[0] | 0x20 == UInt8(ascii: "i"), t[1] | 0x20 == UInt8(ascii: "p"), t[2] | 0x20 == UInt8(ascii: "v"),
            t[3] == UInt8(ascii: "6"), t[4] == UInt8(ascii: ":") {
            body = t[5...]
        }
        guard !body.isEmpty, body.count <= 45 else { return false }
        for c in body {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: ":"), UInt8(ascii: "."): continue
            default: return false
            }
        }
        return true
    }

    /// ``addresses(inFromClause:)`` on characters: the definition, used for fields over 1,024
    /// bytes (and by the tests as the reference for the byte path).
    static func addressesGeneral(inFromClause value: String) -> [IPAddress] {
        var v = Substring(value.prefix(1024))
        guard let from = v.firstByteRange(of: "from ") else { return [] }
        v = v[from.upperBound...]
        if let by = v.firstByteRange(of: " by ") ?? v.firstByteRange(of: "\tby ") ?? v.firstByteRange(of: "\nby ") { v = v[..<by.lowerBound] }
        var out: [IPAddress] = []
        var token = ""
        func flush() {
            if !token.isEmpty, let ip = IPAddress(token)?.unmapped { out.append(ip) }
            token = ""
        }
        for c in v.unicodeScalars {
            switch c {
            case "[", "]", "(", ")", " ", "\t", "\r", "\n", ";", ",", "=", "<", ">": flush()
            default:
                if token.count < 64 { token.unicodeScalars.append(c) }
            }
        }
        flush()
        return out
    }

    /// Not loopback, private, link-local, CGNAT, documentation, multicast or reserved.
    public static func isPublic(_ ip: IPAddress) -> Bool {
        switch ip {
        case .v4(let a):
            let o = a.octets
            switch o[0] {
            case 0, 10, 127, 224...255: return false
            case 100 where o[1] >= 64 && o[1] < 128: return false
            case 169 where o[1] == 254: return false
            case 172 where o[1] >= 16 && o[1] < 32: return false
            case 192 where o[1] == 168: return false
            case 192 where o[1] == 0 && (o[2] == 0 || o[2] == 2): return false
            case 198 where o[1] == 18 || o[1] == 19: return false
            case 198 where o[1] == 51 && o[2] == 100: return false
            case 203 where o[1] == 0 && o[2] == 113: return false
            default: return true
            }
        case .v6(let a):
            let text = a.description.lowercased()
            if text == "::1" || text == "::" { return false }
            for p in ["fe8", "fe9", "fea", "feb", "fc", "fd", "ff", "2001:db8:"] where text.hasPrefix(p) { return false }
            return true
        }
    }

    /// The network an address belongs to for spread counting: its /24 (IPv4) or /48 (IPv6).
    public static func subnet(of ip: IPAddress) -> String {
        switch ip {
        case .v4(let a):
            let o = a.octets
            return "\(o[0]).\(o[1]).\(o[2]).0/24"
        case .v6(let a):
            let v = a.value
            let hi = UInt64(truncatingIfNeeded: v >> 80)  // top 48 bits
            func hex(_ x: UInt64) -> String { String(x, radix: 16) }
            return "\(hex(hi >> 32 & 0xFFFF)):\(hex(hi >> 16 & 0xFFFF)):\(hex(hi & 0xFFFF))::/48"
        }
    }
}
