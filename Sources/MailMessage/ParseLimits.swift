/// Bounds that keep parsing linear in time and bounded in memory, whatever the input.
///
/// Every limit has a documented default; a message that crosses one is still parsed on a
/// best-effort basis and the crossing is reported as an ``Anomaly``.
public struct ParseLimits: Sendable, Hashable {
    /// Bytes of the raw message that are looked at; the rest is ignored (``Anomaly/truncated``). Default 25 MiB.
    public var maxMessageBytes: Int
    /// Header fields kept per header block. Default 1,000.
    public var maxHeaderFields: Int
    /// Bytes of one unfolded header field. Default 64 KiB.
    public var maxHeaderFieldBytes: Int
    /// Nesting depth of multipart and message/rfc822 parts. Default 32.
    public var maxMIMEDepth: Int
    /// MIME parts per message. Default 1,024.
    public var maxParts: Int
    /// Bytes of decoded content (all parts together) that are decoded. Default 8 MiB.
    public var maxDecodedBytes: Int
    /// Bytes of visible text kept per message, for feature extraction. Default 1 MiB.
    public var maxTextBytes: Int
    /// URLs kept per message. Default 1,000.
    public var maxURLs: Int

    public init(
        maxMessageBytes: Int = 25 << 20,
        maxHeaderFields: Int = 1_000,
        maxHeaderFieldBytes: Int = 64 << 10,
        maxMIMEDepth: Int = 32,
        maxParts: Int = 1_024,
        maxDecodedBytes: Int = 8 << 20,
        maxTextBytes: Int = 1 << 20,
        maxURLs: Int = 1_000
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.maxHeaderFields = maxHeaderFields
        self.maxHeaderFieldBytes = maxHeaderFieldBytes
        self.maxMIMEDepth = maxMIMEDepth
        self.maxParts = maxParts
        self.maxDecodedBytes = maxDecodedBytes
        self.maxTextBytes = maxTextBytes
        self.maxURLs = maxURLs
    }

    public static let `default` = ParseLimits()
}
