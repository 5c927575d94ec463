/// A line-based zone format for ``StaticResolver``, for the command line and fixtures:
///
/// ```
/// ; comment
/// example.com                 TXT  "v=spf1 ip4:192.0.2.0/24 -all"
/// sel._domainkey.example.com  TXT  "v=DKIM1; k=rsa; " "p=MIIBIjANBg…"
/// example.com                 MX   10 mx.example.com
/// mx.example.com              A    192.0.2.1
/// mx.example.com              AAAA 2001:db8::1
/// 1.2.0.192.in-addr.arpa      PTR  mx.example.com
/// www.example.com             CNAME example.com
/// slow.example.com            TIMEOUT
/// broken.example.com          SERVFAIL
/// ```
///
/// TXT data is one or more double-quoted strings (`\"` and `\\` escaped), or the rest of the
/// line when unquoted.
extension StaticResolver {
    /// Parses zone text; throws on the first bad line.
    public init(zoneText text: String) throws(StaticZoneError) {
        self.init()
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            let parts = line.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2 else { throw StaticZoneError(line: lineNumber, detail: "expected NAME TYPE DATA") }
            let name = String(parts[0])
            let type = parts[1].uppercased()
            let data = parts.count > 2 ? String(parts[2]).trimmingWSP() : ""
            switch type {
            case "TIMEOUT": fail(name, with: .timeout)
            case "SERVFAIL": fail(name, with: .serverFailure)
            case "TXT":
                guard let strings = Self.txtStrings(data) else {
                    throw StaticZoneError(line: lineNumber, detail: "unterminated TXT string")
                }
                add(.txt(TXTRecord(strings: strings)), at: name)
            case "A":
                guard let a = IPv4Address(data) else { throw StaticZoneError(line: lineNumber, detail: "bad IPv4 address") }
                add(.a(a), at: name)
            case "AAAA":
                guard let a = IPv6Address(data) else { throw StaticZoneError(line: lineNumber, detail: "bad IPv6 address") }
                add(.aaaa(a), at: name)
            case "MX":
                let f = data.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard f.count == 2, let pref = UInt16(f[0]) else { throw StaticZoneError(line: lineNumber, detail: "MX PREF HOST") }
                add(.mx(preference: pref, exchange: String(f[1])), at: name)
            case "PTR": add(.ptr(data), at: name)
            case "CNAME": add(.cname(data), at: name)
            default: throw StaticZoneError(line: lineNumber, detail: "unknown type \(type)")
            }
        }
    }

    /// `"a" "b"` -> [a, b]; unquoted text -> [text] (split into 255-byte strings).
    static func txtStrings(_ data: String) -> [[UInt8]]? {
        let u = Array(data.utf8)
        guard u.first == UInt8(ascii: "\"") else { return TXTRecord(data).strings }
        var out: [[UInt8]] = []
        var i = 0
        while i < u.count {
            if u[i] == 0x20 || u[i] == 0x09 { i += 1; continue }
            guard u[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            var s: [UInt8] = []
            var closed = false
            while i < u.count {
                if u[i] == UInt8(ascii: "\\"), i + 1 < u.count { s.append(u[i + 1]); i += 2; continue }
                if u[i] == UInt8(ascii: "\"") { closed = true; i += 1; break }
                s.append(u[i])
                i += 1
            }
            guard closed else { return nil }
            // A string longer than 255 bytes is split, as a zone compiler would refuse it.
            var k = 0
            repeat {
                out.append(Array(s[k..<min(k + 255, s.count)]))
                k += 255
            } while k < s.count
        }
        return out
    }
}

/// A line of zone text that could not be parsed.
public struct StaticZoneError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var detail: String
    public var description: String { "zone line \(line): \(detail)" }
}

extension String {
    fileprivate func trimmingWSP() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
