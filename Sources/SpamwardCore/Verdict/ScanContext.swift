/// What a front end knows about a message besides its bytes: the SMTP envelope and the client,
/// and symbols that stages before content scoring (authentication, the SMTP edge) produced.
///
/// Everything is optional: `spamward check` on a file has no envelope, a milter has all of it.
public struct ScanContext: Sendable, Hashable {
    /// The connecting client's IP address as text (`192.0.2.1`, `2001:db8::1`), if known.
    public var clientAddress: String?
    /// The client's verified reverse-DNS name, if the MTA passed one.
    public var clientHostname: String?
    /// The HELO/EHLO name the client gave.
    public var helo: String?
    /// The SMTP MAIL FROM address (empty string for the null sender `<>`).
    public var mailFrom: String?
    /// The SMTP RCPT TO addresses.
    public var recipients: [String]
    /// The MTA's queue identifier, for logs.
    public var queueID: String?
    /// Symbols computed before the content scan (for example SPF, DKIM and DMARC results).
    /// Their scores add to the verdict's score.
    public var symbols: [Symbol]
    /// The RFC 8601 `Authentication-Results` value the authentication stage produced; its
    /// `method=result` pairs are features the learner weighs (`auth:spf=pass`), the same ones a
    /// later learn of the delivered message reads from the field.
    public var authenticationResults: String? = nil
    /// Whether the verdict carries the message's learning digest (``Verdict/digest``). Front ends
    /// that never show it (milter, spamd, Rspamd's `/checkv2`) turn it off: the digest hashes
    /// the whole body a byte at a time (about 2.4% of the daemon's CPU a `/checkv2` request).
    /// Off, ``Verdict/digest`` is empty.
    public var wantsDigest = true

    public init(clientAddress: String? = nil, clientHostname: String? = nil, helo: String? = nil,
                mailFrom: String? = nil, recipients: [String] = [], queueID: String? = nil, symbols: [Symbol] = []) {
        self.clientAddress = clientAddress
        self.clientHostname = clientHostname
        self.helo = helo
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.queueID = queueID
        self.symbols = symbols
    }

    /// No envelope and no earlier symbols.
    public static let none = ScanContext()
}
