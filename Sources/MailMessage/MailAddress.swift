/// One mailbox from an address header (From, To, Cc, Reply-To, …).
public struct MailAddress: Sendable, Hashable {
    /// The display name, RFC 2047 decoded; a comment stands in for a missing one
    /// (`x@y (Real Name)`). `nil` when there is none.
    public var displayName: String?
    /// The local part as it would be written: unquoted when it is a dot-atom, else quoted.
    /// Empty for a display name without an address.
    public var localPart: String
    /// The domain, lowercased; an IP literal keeps its brackets (`[192.0.2.1]`). Empty when
    /// the address has no `@`.
    public var domain: String
    public init(displayName: String?, localPart: String, domain: String) {
        self.displayName = displayName
        self.localPart = localPart
        self.domain = domain
    }
    public var address: String { domain.isEmpty ? localPart : localPart + "@" + domain }

    /// At most this many addresses are returned by ``parseList(_:)``.
    public static let maxAddresses = 1_000

    /// Parses an RFC 5322 address list, tolerantly: groups (`undisclosed-recipients:;`, whose
    /// members are returned flat), display names (quoted, with comments, RFC 2047 encoded),
    /// angle addresses, bare addresses, obsolete routes (`<@a,@b:x@y>`), comments, quoted local
    /// parts, IP literals; a missing `@` gives a local-only entry, a name without any address an
    /// entry with an empty local part; unbalanced quotes and brackets run to the end or the next
    /// address; `;` separates like `,`. At most ``maxAddresses`` entries.
    public static func parseList(_ value: String) -> [MailAddress] {
        // The usual single address (`Name <local@domain>`, `local@domain`) without tokens.
        if let one = value.utf8.withContiguousStorageIfAvailable({ AddressFastPath.parse($0) }) ?? nil {
            return [one]
        }
        return parseListTokens(value)
    }

    /// ``parseList(_:)`` by the full tokenizing parser (what the fast path must agree with).
    static func parseListTokens(_ value: String) -> [MailAddress] {
        var parser = AddressListParser(AddressLexer.tokens(Array(value.utf8)))
        return parser.parse()
    }
}
