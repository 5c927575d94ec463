/// Limits and timeouts of the spamd protocol codec and connection runner.
public struct SpamdConfiguration: Sendable, Hashable {
    /// Maximum size in bytes of the request line plus header lines plus the empty line. Default 8 KiB.
    public var maximumHeaderBytes: Int
    /// Maximum number of header lines (spamd allows 255).
    public var maximumHeaderCount: Int
    /// Maximum size in bytes of a message body, as sent and once inflated. Default 25 MiB.
    public var maximumBodyBytes: Int
    /// Time allowed to receive the whole request after the connection opened (spamd's `--timeout-tcp`, 30 s).
    public var requestTimeout: Duration
    /// Time allowed for the handler to answer (spamd's `--timeout-child`, 300 s).
    public var handlerTimeout: Duration
    /// Time allowed for the reply to be written before the connection is closed anyway.
    public var writeTimeout: Duration

    /// Creates a configuration; every parameter has a sensible default.
    public init(
        maximumHeaderBytes: Int = 8 * 1024,
        maximumHeaderCount: Int = 255,
        maximumBodyBytes: Int = 25 * 1024 * 1024,
        requestTimeout: Duration = .seconds(30),
        handlerTimeout: Duration = .seconds(300),
        writeTimeout: Duration = .seconds(30)
    ) {
        self.maximumHeaderBytes = max(64, maximumHeaderBytes)
        self.maximumHeaderCount = max(1, maximumHeaderCount)
        self.maximumBodyBytes = max(0, maximumBodyBytes)
        self.requestTimeout = requestTimeout
        self.handlerTimeout = handlerTimeout
        self.writeTimeout = writeTimeout
    }

    /// The defaults.
    public static let `default` = SpamdConfiguration()

    /// The `maximumBufferSize` to give `ByteToMessageHandler`: a backstop above what the decoder itself enforces.
    public var maximumBufferSize: Int {
        let (sum, overflow) = self.maximumHeaderBytes.addingReportingOverflow(self.maximumBodyBytes)
        return overflow ? Int.max : sum &+ 64 * 1024
    }
}
