import MailMessage

/// URIBL lookups of a message's link domains before the content scan: listed domains become
/// symbols in the ``ScanContext``; sentinel replies ("query refused") never score and are handed
/// to `onWarning` (the daemon logs them: SpamwardCore does not log).
public struct URIBLStage: Sendable {
    public var checker: URIBLChecker
    /// Told the sentinel replies of one message (called only when there are some).
    public var onWarning: @Sendable ([URIBLChecker.Warning]) -> Void

    public init(checker: URIBLChecker, onWarning: @escaping @Sendable ([URIBLChecker.Warning]) -> Void = { _ in }) {
        self.checker = checker
        self.onWarning = onWarning
    }

    /// Looks the message's domains up and returns the symbols to add to the scan context.
    public func symbols(for message: Message) async -> [Symbol] {
        let result = await checker.lookup(message)
        if !result.warnings.isEmpty { onWarning(result.warnings) }
        return result.symbols
    }
}
