import MailAuth
import MailMessage

/// SPF, DKIM, DMARC and ARC before the content scan: their results become symbols in the
/// ``ScanContext`` (so they add to the score and the learner can weigh them) and an RFC 8601
/// `Authentication-Results` field for the message.
public struct AuthenticationStage: Sendable {
    public var authenticator: MessageAuthenticator
    /// The authserv-id that starts the `Authentication-Results` value (normally the host name).
    public var authservID: String

    public init(authenticator: MessageAuthenticator, authservID: String) {
        self.authenticator = authenticator
        self.authservID = authservID
    }

    /// Authenticates `message` with the envelope in `context`, appends the results' symbols to
    /// `context.symbols`, and returns the results with the field value to add.
    ///
    /// SPF needs the client address; without one only DKIM, ARC and DMARC (on DKIM alone) run.
    /// DNS timeouts give `temperror` results, never a pass or a fail.
    public func authenticate(_ message: Message, context: inout ScanContext) async
        -> (results: AuthenticationResults, fieldValue: String)
    {
        let ip = context.clientAddress.flatMap { IPAddress($0) }
        let results = await authenticator.authenticate(
            message, clientIP: ip, helo: context.helo, mailFrom: context.mailFrom)
        context.symbols.append(contentsOf: results.symbols.map(Symbol.init))
        let value = results.headerValue(authservID: authservID)
        context.authenticationResults = value
        return (results, value)
    }
}

extension Symbol {
    /// An authentication symbol as a verdict symbol.
    public init(_ symbol: AuthSymbol) {
        self.init(name: symbol.name, score: symbol.score, description: symbol.description, options: symbol.options)
    }
}
