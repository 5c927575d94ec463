/// Limits, negotiation wishes and timeouts of a milter server.
public struct MilterConfiguration: Sendable, Hashable {
    /// The largest accepted frame length (command byte plus payload). Default 1 MiB; Postfix body
    /// chunks are at most 65535 bytes.
    public var maximumFrameSize: Int
    /// The largest reconstructed message kept in memory; beyond it the transaction is marked
    /// ``MilterTransaction/truncated``. Default 25 MiB.
    public var maximumMessageBytes: Int
    /// The most recipients stored per message; further ones are counted in
    /// ``MilterTransaction/droppedRecipients``. Default 10000.
    public var maximumRecipients: Int
    /// The actions to ask for; intersected with the MTA's offer. Default: add and change headers, quarantine.
    public var requestedActions: MilterActions
    /// The protocol flags to ask for; intersected with the MTA's offer and with
    /// ``MilterProtocolFlags/supportedByStateMachine``. Default: `SMFIP_NOUNKNOWN`, `SMFIP_NODATA`,
    /// `SMFIP_SKIP`, `SMFIP_HDR_LEADSPC`.
    public var requestedProtocolFlags: MilterProtocolFlags
    /// How long the MTA may stay silent while the filter waits for its next command. Default 300 s
    /// (Postfix's `milter_content_timeout`); the time spent in `decide` does not count.
    public var idleTimeout: Duration
    /// How long `decide` may take before the ``faultAction`` is answered. Default 120 s, below
    /// Postfix's 300 s `milter_content_timeout`.
    public var decisionTimeout: Duration
    /// If set, `SMFIR_PROGRESS` is sent at this interval while `decide` runs, so the MTA's timer
    /// restarts. Default `nil` (no progress messages).
    public var progressInterval: Duration?
    /// The answer when `decide` throws or times out. Default ``MilterFaultAction/tempfail``.
    public var faultAction: MilterFaultAction

    /// Creates a configuration; every parameter has the documented default.
    public init(
        maximumFrameSize: Int = Milter.defaultMaximumFrameSize,
        maximumMessageBytes: Int = Milter.defaultMaximumMessageBytes,
        maximumRecipients: Int = 10_000,
        requestedActions: MilterActions = [.addHeaders, .changeHeaders, .quarantine],
        requestedProtocolFlags: MilterProtocolFlags = [.noUnknown, .noData, .skip, .headerLeadingSpace],
        idleTimeout: Duration = .seconds(300),
        decisionTimeout: Duration = .seconds(120),
        progressInterval: Duration? = nil,
        faultAction: MilterFaultAction = .tempfail
    ) {
        self.maximumFrameSize = maximumFrameSize
        self.maximumMessageBytes = maximumMessageBytes
        self.maximumRecipients = maximumRecipients
        self.requestedActions = requestedActions
        self.requestedProtocolFlags = requestedProtocolFlags
        self.idleTimeout = idleTimeout
        self.decisionTimeout = decisionTimeout
        self.progressInterval = progressInterval
        self.faultAction = faultAction
    }
}
