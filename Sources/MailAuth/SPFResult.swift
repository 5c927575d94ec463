/// Which identity an SPF check authorized (RFC 7208 section 2.3, 2.4).
public enum SPFIdentity: String, Sendable, Hashable {
    /// The MAIL FROM (envelope sender, RFC 5321.MailFrom) domain.
    case mailFrom = "mailfrom"
    /// The HELO/EHLO domain (also used when MAIL FROM is empty).
    case helo = "helo"
}

/// The outcome of an SPF check: the result and what led to it.
public struct SPFResult: Sendable, Hashable, CustomStringConvertible {
    /// The seven results of RFC 7208 section 2.6.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// No SPF record, or no valid domain to check.
        case none
        /// The domain makes no assertion (`?` or no mechanism matched).
        case neutral
        /// The client is authorized.
        case pass
        /// The client is not authorized.
        case fail
        /// The client is probably not authorized.
        case softfail
        /// A transient (usually DNS) error; retrying later may succeed.
        case temperror
        /// The domain's records cannot be interpreted (syntax errors, limits exceeded).
        case permerror

        public var description: String { rawValue }
    }

    /// The result.
    public var code: Code
    /// The identity checked.
    public var identity: SPFIdentity
    /// The domain checked (the MAIL FROM domain, or the HELO domain).
    public var domain: String
    /// `<sender>`: `local-part@domain` (`postmaster@helo` for the HELO identity).
    public var sender: String
    /// The client address (IPv4-mapped IPv6 addresses unmapped).
    public var ip: IPAddress
    /// The mechanism that matched, as written (`-all`, `include:_spf.example.com`), nil when none
    /// did. When a `redirect=` was followed, the mechanism is from the record redirected to.
    public var mechanism: String?
    /// The domain whose record held ``mechanism`` (differs from ``domain`` after `redirect=`).
    public var mechanismDomain: String?
    /// For `fail`: the explanation (from `exp=`, else the configured default). Text from the DNS
    /// controlled by the sender's domain; show it to the sender, never trust it.
    public var explanation: String?
    /// A short, human-readable reason for logs and the Authentication-Results comment.
    public var reason: String

    public init(
        code: Code, identity: SPFIdentity, domain: String, sender: String, ip: IPAddress, mechanism: String? = nil,
        mechanismDomain: String? = nil, explanation: String? = nil, reason: String
    ) {
        self.code = code
        self.identity = identity
        self.domain = domain
        self.sender = sender
        self.ip = ip
        self.mechanism = mechanism
        self.mechanismDomain = mechanismDomain
        self.explanation = explanation
        self.reason = reason
    }

    public var description: String { "spf=\(code) \(identity.rawValue)=\(domain) (\(reason))" }

    /// The `resinfo` for an RFC 8601 Authentication-Results header field, without the leading
    /// `;`: `spf=pass (reason) smtp.mailfrom=example.com`, or `smtp.helo=` for the HELO identity.
    /// The comment is escaped and limited to printable ASCII.
    public var authenticationResults: String {
        let property = identity == .mailFrom ? "smtp.mailfrom" : "smtp.helo"
        return "spf=\(code) (\(Self.comment(reason))) \(property)=\(Self.propertyValue(domain))"
    }

    /// `ctext` with `(`, `)` and `\` escaped; control and non-ASCII characters become `?`; at
    /// most 200 characters.
    static func comment(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(200) {
            switch scalar {
            case "(", ")", "\\": out += "\\" + String(scalar)
            case " "..."~": out.unicodeScalars.append(scalar)
            default: out += "?"
            }
        }
        return out
    }

    /// A token when possible, else a quoted-string (RFC 2045 token, RFC 5322 quoted-string).
    static func propertyValue(_ text: String) -> String {
        let tspecials: Set<Unicode.Scalar> = [
            "(", ")", "<", ">", "@", ",", ";", ":", "\\", "\"", "/", "[", "]", "?", "=",
        ]
        let isToken =
            !text.isEmpty && text.unicodeScalars.allSatisfy { $0 > " " && $0 <= "~" && !tspecials.contains($0) }
        if isToken { return text }
        var out = "\""
        for scalar in text.unicodeScalars.prefix(255) {
            switch scalar {
            case "\"", "\\": out += "\\" + String(scalar)
            case " "..."~": out.unicodeScalars.append(scalar)
            default: out += "?"
            }
        }
        return out + "\""
    }
}
