import SpamwardCore

/// Settings of the HTTP front ends (own JSON API and Rspamd's protocol).
public struct HTTPFrontEndConfiguration: Sendable {
    /// Largest message body accepted; a bigger one gets 413.
    public var maxMessageBytes: Int
    /// Who may learn and forget without a password, and the password for everyone else.
    public var access: AccessPolicy
    /// The `$TTL` of the zone file `/v1/botnet/zone` serves.
    public var botnetZoneTTLSeconds: Int

    public init(maxMessageBytes: Int = 25 << 20, access: AccessPolicy = AccessPolicy(), botnetZoneTTLSeconds: Int = 60) {
        self.maxMessageBytes = maxMessageBytes
        self.access = access
        self.botnetZoneTTLSeconds = botnetZoneTTLSeconds
    }
}
