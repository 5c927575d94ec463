import SpamwardCore

/// Settings of the HTTP front ends (own JSON API and Rspamd's protocol).
public struct HTTPFrontEndConfiguration: Sendable {
    /// Largest message body accepted; a bigger one gets 413.
    public var maxMessageBytes: Int
    /// Who may learn and forget without a password, and the password for everyone else.
    public var access: AccessPolicy

    public init(maxMessageBytes: Int = 25 << 20, access: AccessPolicy = AccessPolicy()) {
        self.maxMessageBytes = maxMessageBytes
        self.access = access
    }
}
