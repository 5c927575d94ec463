/// What the MTA told the filter about the SMTP client, kept for the whole connection.
public struct MilterClientInfo: Sendable, Hashable {
    /// The client's host name (from `SMFIC_CONNECT`).
    public var hostname: String?
    /// The protocol family.
    public var family: MilterAddressFamily?
    /// The client's address in text form.
    public var address: String?
    /// The client's port.
    public var port: UInt16?
    /// The latest HELO/EHLO argument.
    public var helo: String?

    /// Creates client information.
    public init(
        hostname: String? = nil, family: MilterAddressFamily? = nil, address: String? = nil, port: UInt16? = nil,
        helo: String? = nil
    ) {
        self.hostname = hostname
        self.family = family
        self.address = address
        self.port = port
        self.helo = helo
    }
}

/// An envelope address with its ESMTP parameters, as sent in `SMFIC_MAIL` / `SMFIC_RCPT`.
public struct MilterEnvelopeAddress: Sendable, Hashable {
    /// All arguments: the address (normally in angle brackets) then ESMTP parameters.
    public var arguments: [String]

    /// Creates an address from the command's arguments.
    public init(arguments: [String]) {
        self.arguments = arguments
    }

    /// The address exactly as sent, e.g. `<alice@example.org>` or `<>`.
    public var rawAddress: String { self.arguments.first ?? "" }

    /// The address without surrounding angle brackets; empty for the null sender.
    public var address: String {
        var raw = Substring(self.rawAddress)
        if raw.hasPrefix("<"), raw.hasSuffix(">"), raw.count >= 2 {
            raw = raw.dropFirst().dropLast()
        }
        return String(raw)
    }

    /// The ESMTP parameters, e.g. `["SIZE=1234", "BODY=8BITMIME"]`.
    public var parameters: [String] { Array(self.arguments.dropFirst()) }
}

/// Everything known about one message at end of message, handed to the decision function.
public struct MilterTransaction: Sendable, Hashable {
    /// The SMTP client.
    public var client: MilterClientInfo
    /// The envelope sender, if `SMFIC_MAIL` was sent.
    public var sender: MilterEnvelopeAddress?
    /// The envelope recipients in order (at most ``MilterConfiguration/maximumRecipients``).
    public var recipients: [MilterEnvelopeAddress]
    /// Recipients received beyond ``MilterConfiguration/maximumRecipients`` and not stored.
    public var droppedRecipients: Int
    /// Connection macros followed by this message's macros; look up with `macros["i"]`.
    public var macros: MilterMacros
    /// The header fields in order, values without the single space after the colon.
    /// Only headers whose bytes fit into ``MilterConfiguration/maximumMessageBytes`` are listed.
    public var headers: [MilterHeaderField]
    /// The message as the MTA has it: `Name: value` CRLF per header, CRLF, then the body bytes as
    /// received. At most ``MilterConfiguration/maximumMessageBytes`` long.
    public var message: [UInt8]
    /// Whether ``message`` was cut at ``MilterConfiguration/maximumMessageBytes``.
    public var truncated: Bool
    /// The size of the full reconstructed message, including the bytes not stored.
    public var messageSize: Int
    /// Whether `SMFIP_HDR_LEADSPC` was in effect for this message.
    public var headerLeadingSpace: Bool

    /// Creates a transaction.
    public init(
        client: MilterClientInfo = MilterClientInfo(), sender: MilterEnvelopeAddress? = nil,
        recipients: [MilterEnvelopeAddress] = [], droppedRecipients: Int = 0, macros: MilterMacros = MilterMacros(),
        headers: [MilterHeaderField] = [], message: [UInt8] = [], truncated: Bool = false, messageSize: Int = 0,
        headerLeadingSpace: Bool = false
    ) {
        self.client = client
        self.sender = sender
        self.recipients = recipients
        self.droppedRecipients = droppedRecipients
        self.macros = macros
        self.headers = headers
        self.message = message
        self.truncated = truncated
        self.messageSize = messageSize
        self.headerLeadingSpace = headerLeadingSpace
    }

    /// The MTA's queue ID (macro `i`), if sent. Postfix sends it with DATA, EOH and EOM macros by default.
    public var queueID: String? { self.macros["i"] }

    /// The first header with this name (case-insensitive), if any.
    public func header(_ name: String) -> MilterHeaderField? {
        let wanted = name.lowercased()
        return self.headers.first { $0.name.lowercased() == wanted }
    }
}
