/// The actions a filter may perform at end of message (`SMFIF_*`), negotiated with `SMFIC_OPTNEG`.
public struct MilterActions: OptionSet, Sendable, Hashable {
    /// The raw bit mask as sent on the wire.
    public var rawValue: UInt32

    /// Creates a set from the raw bit mask.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `SMFIF_ADDHDRS`: add and insert headers.
    public static let addHeaders = MilterActions(rawValue: 0x01)
    /// `SMFIF_CHGBODY`: replace the body.
    public static let changeBody = MilterActions(rawValue: 0x02)
    /// `SMFIF_ADDRCPT`: add recipients.
    public static let addRecipients = MilterActions(rawValue: 0x04)
    /// `SMFIF_DELRCPT`: remove recipients.
    public static let deleteRecipients = MilterActions(rawValue: 0x08)
    /// `SMFIF_CHGHDRS`: change or delete headers.
    public static let changeHeaders = MilterActions(rawValue: 0x10)
    /// `SMFIF_QUARANTINE`: quarantine the message (Postfix: the hold queue).
    public static let quarantine = MilterActions(rawValue: 0x20)
    /// `SMFIF_CHGFROM`: replace the envelope sender.
    public static let changeSender = MilterActions(rawValue: 0x40)
    /// `SMFIF_ADDRCPT_PAR`: add recipients with ESMTP parameters.
    public static let addRecipientsWithParameters = MilterActions(rawValue: 0x80)
    /// `SMFIF_SETSYMLIST`: request a list of macros.
    public static let setMacroList = MilterActions(rawValue: 0x100)
}

/// Protocol content flags (`SMFIP_*`), negotiated with `SMFIC_OPTNEG`.
///
/// In the MTA's offer they say what the MTA is able to do; in the filter's reply they say what the
/// filter asks for (commands not to send, replies the filter will not send, and extensions).
public struct MilterProtocolFlags: OptionSet, Sendable, Hashable {
    /// The raw bit mask as sent on the wire.
    public var rawValue: UInt32

    /// Creates a set from the raw bit mask.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `SMFIP_NOCONNECT`: do not send `SMFIC_CONNECT`.
    public static let noConnect = MilterProtocolFlags(rawValue: 0x01)
    /// `SMFIP_NOHELO`: do not send `SMFIC_HELO`.
    public static let noHelo = MilterProtocolFlags(rawValue: 0x02)
    /// `SMFIP_NOMAIL`: do not send `SMFIC_MAIL`.
    public static let noMail = MilterProtocolFlags(rawValue: 0x04)
    /// `SMFIP_NORCPT`: do not send `SMFIC_RCPT`.
    public static let noRecipient = MilterProtocolFlags(rawValue: 0x08)
    /// `SMFIP_NOBODY`: do not send body chunks.
    public static let noBody = MilterProtocolFlags(rawValue: 0x10)
    /// `SMFIP_NOHDRS`: do not send headers.
    public static let noHeaders = MilterProtocolFlags(rawValue: 0x20)
    /// `SMFIP_NOEOH`: do not send end of headers.
    public static let noEndOfHeaders = MilterProtocolFlags(rawValue: 0x40)
    /// `SMFIP_NR_HDR` (`SMFIP_NOHREPL`): the filter does not reply to headers.
    public static let noHeaderReply = MilterProtocolFlags(rawValue: 0x80)
    /// `SMFIP_NOUNKNOWN`: do not send unknown SMTP commands.
    public static let noUnknown = MilterProtocolFlags(rawValue: 0x100)
    /// `SMFIP_NODATA`: do not send `SMFIC_DATA` (its macros are still sent).
    public static let noData = MilterProtocolFlags(rawValue: 0x200)
    /// `SMFIP_SKIP`: the MTA understands `SMFIR_SKIP`.
    public static let skip = MilterProtocolFlags(rawValue: 0x400)
    /// `SMFIP_RCPT_REJ`: also send recipients the MTA rejected.
    public static let rejectedRecipients = MilterProtocolFlags(rawValue: 0x800)
    /// `SMFIP_NR_CONN`: no reply to connect.
    public static let noReplyConnect = MilterProtocolFlags(rawValue: 0x1000)
    /// `SMFIP_NR_HELO`: no reply to HELO.
    public static let noReplyHelo = MilterProtocolFlags(rawValue: 0x2000)
    /// `SMFIP_NR_MAIL`: no reply to MAIL.
    public static let noReplyMail = MilterProtocolFlags(rawValue: 0x4000)
    /// `SMFIP_NR_RCPT`: no reply to RCPT.
    public static let noReplyRecipient = MilterProtocolFlags(rawValue: 0x8000)
    /// `SMFIP_NR_DATA`: no reply to DATA.
    public static let noReplyData = MilterProtocolFlags(rawValue: 0x1_0000)
    /// `SMFIP_NR_UNKN`: no reply to unknown commands.
    public static let noReplyUnknown = MilterProtocolFlags(rawValue: 0x2_0000)
    /// `SMFIP_NR_EOH`: no reply to end of headers.
    public static let noReplyEndOfHeaders = MilterProtocolFlags(rawValue: 0x4_0000)
    /// `SMFIP_NR_BODY`: no reply to body chunks.
    public static let noReplyBody = MilterProtocolFlags(rawValue: 0x8_0000)
    /// `SMFIP_HDR_LEADSPC`: header values keep the space after the colon, in both directions.
    public static let headerLeadingSpace = MilterProtocolFlags(rawValue: 0x10_0000)
    /// `SMFIP_MDS_256K`: the MTA may send data chunks up to 256 KiB.
    public static let maximumDataSize256K = MilterProtocolFlags(rawValue: 0x1000_0000)
    /// `SMFIP_MDS_1M`: the MTA may send data chunks up to 1 MiB.
    public static let maximumDataSize1M = MilterProtocolFlags(rawValue: 0x2000_0000)

    /// All "do not send" flags.
    public static let noSendMask: MilterProtocolFlags = [
        .noConnect, .noHelo, .noMail, .noRecipient, .noBody, .noHeaders, .noEndOfHeaders, .noUnknown, .noData,
    ]
    /// All "no reply" flags.
    public static let noReplyMask: MilterProtocolFlags = [
        .noHeaderReply, .noReplyConnect, .noReplyHelo, .noReplyMail, .noReplyRecipient, .noReplyData,
        .noReplyUnknown, .noReplyEndOfHeaders, .noReplyBody,
    ]

    /// The flags ``MilterSessionStateMachine`` implements and may therefore ask for. "No reply" flags,
    /// `SMFIP_NOMAIL`, `SMFIP_RCPT_REJ` and the data-size flags are never requested.
    public static let supportedByStateMachine: MilterProtocolFlags = [
        .noConnect, .noHelo, .noRecipient, .noBody, .noHeaders, .noEndOfHeaders, .noUnknown, .noData, .skip,
        .headerLeadingSpace,
    ]
}

/// The three numbers exchanged in option negotiation (`SMFIC_OPTNEG`), in both directions.
public struct MilterOptions: Sendable, Hashable {
    /// The protocol version.
    public var version: UInt32
    /// The actions offered (MTA) or requested (filter).
    public var actions: MilterActions
    /// The protocol flags offered (MTA) or requested (filter).
    public var protocolFlags: MilterProtocolFlags

    /// Creates a negotiation record.
    public init(version: UInt32, actions: MilterActions, protocolFlags: MilterProtocolFlags) {
        self.version = version
        self.actions = actions
        self.protocolFlags = protocolFlags
    }
}
