// STUB: to be replaced by the full RFC 5322 address-list parser.
public struct MailAddress: Sendable, Hashable {
    public var displayName: String?
    public var localPart: String
    public var domain: String
    public init(displayName: String?, localPart: String, domain: String) {
        self.displayName = displayName
        self.localPart = localPart
        self.domain = domain
    }
    public var address: String { domain.isEmpty ? localPart : localPart + "@" + domain }

    public static func parseList(_ value: String) -> [MailAddress] {
        guard let at = value.lastIndex(of: "@") else { return [] }
        var lp = value[..<at]
        if let lt = lp.lastIndex(where: { $0 == "<" || $0 == " " }) { lp = lp[lp.index(after: lt)...] }
        var d = value[value.index(after: at)...]
        if let gt = d.firstIndex(where: { $0 == ">" || $0 == " " }) { d = d[..<gt] }
        return [MailAddress(displayName: nil, localPart: String(lp), domain: d.lowercased())]
    }
}
