/// The milter wire protocol (libmilter version 6), as Postfix and Sendmail speak it.
///
/// The module is split into a pure codec (``MilterCommandDecoder``, ``MilterResponse/encode(into:)``),
/// a pure per-connection state machine (``MilterSessionStateMachine``) and a thin async runner
/// (``MilterConnection``) that drives the state machine over a `NIOAsyncChannel`. None of it knows
/// anything about spam: the caller supplies a `decide` function that maps a ``MilterTransaction``
/// to a ``MilterDecision``.
public enum Milter {
    /// The highest protocol version this library speaks (Sendmail 8.14+, Postfix 2.6+).
    public static let protocolVersion: UInt32 = 6

    /// The lowest protocol version an MTA may offer; older versions are refused.
    public static let minimumProtocolVersion: UInt32 = 2

    /// The default upper bound of one frame's length field (command byte plus payload): 1 MiB.
    public static let defaultMaximumFrameSize = 1 << 20

    /// The default upper bound of a reconstructed message kept in memory: 25 MiB.
    public static let defaultMaximumMessageBytes = 25 << 20

    /// Command codes sent by the MTA (`SMFIC_*`).
    public enum CommandCode {
        /// `SMFIC_ABORT`, 'A'.
        public static let abort = UInt8(ascii: "A")
        /// `SMFIC_BODY`, 'B'.
        public static let body = UInt8(ascii: "B")
        /// `SMFIC_CONNECT`, 'C'.
        public static let connect = UInt8(ascii: "C")
        /// `SMFIC_MACRO`, 'D'.
        public static let macro = UInt8(ascii: "D")
        /// `SMFIC_BODYEOB`, 'E'.
        public static let endOfMessage = UInt8(ascii: "E")
        /// `SMFIC_HELO`, 'H'.
        public static let helo = UInt8(ascii: "H")
        /// `SMFIC_QUIT_NC`, 'K'.
        public static let quitNewConnection = UInt8(ascii: "K")
        /// `SMFIC_HEADER`, 'L'.
        public static let header = UInt8(ascii: "L")
        /// `SMFIC_MAIL`, 'M'.
        public static let mail = UInt8(ascii: "M")
        /// `SMFIC_EOH`, 'N'.
        public static let endOfHeaders = UInt8(ascii: "N")
        /// `SMFIC_OPTNEG`, 'O'.
        public static let optionNegotiation = UInt8(ascii: "O")
        /// `SMFIC_QUIT`, 'Q'.
        public static let quit = UInt8(ascii: "Q")
        /// `SMFIC_RCPT`, 'R'.
        public static let recipient = UInt8(ascii: "R")
        /// `SMFIC_DATA`, 'T'.
        public static let data = UInt8(ascii: "T")
        /// `SMFIC_UNKNOWN`, 'U'.
        public static let unknown = UInt8(ascii: "U")
    }

    /// Response codes sent by the filter (`SMFIR_*`).
    public enum ResponseCode {
        /// `SMFIR_ACCEPT`, 'a'.
        public static let accept = UInt8(ascii: "a")
        /// `SMFIR_CONTINUE`, 'c'.
        public static let `continue` = UInt8(ascii: "c")
        /// `SMFIR_DISCARD`, 'd'.
        public static let discard = UInt8(ascii: "d")
        /// `SMFIR_ADDHEADER`, 'h'.
        public static let addHeader = UInt8(ascii: "h")
        /// `SMFIR_INSHEADER`, 'i'.
        public static let insertHeader = UInt8(ascii: "i")
        /// `SMFIR_CHGHEADER`, 'm'.
        public static let changeHeader = UInt8(ascii: "m")
        /// `SMFIR_PROGRESS`, 'p'.
        public static let progress = UInt8(ascii: "p")
        /// `SMFIR_QUARANTINE`, 'q'.
        public static let quarantine = UInt8(ascii: "q")
        /// `SMFIR_REJECT`, 'r'.
        public static let reject = UInt8(ascii: "r")
        /// `SMFIR_SKIP`, 's'.
        public static let skip = UInt8(ascii: "s")
        /// `SMFIR_TEMPFAIL`, 't'.
        public static let tempfail = UInt8(ascii: "t")
        /// `SMFIR_REPLYCODE`, 'y'.
        public static let replyCode = UInt8(ascii: "y")
        /// The option negotiation reply, 'O'.
        public static let optionNegotiation = UInt8(ascii: "O")
    }
}
