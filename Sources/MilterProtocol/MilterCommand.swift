import NIOCore

/// A command from the MTA to the filter, as decoded by ``MilterCommandDecoder``.
///
/// The enum is `indirect` so that it stays small enough for `NIOAny`'s inline storage.
public indirect enum MilterCommand: Sendable, Hashable {
    /// `SMFIC_OPTNEG` ('O'): the MTA's protocol version, offered actions and protocol flags.
    case optionNegotiation(MilterOptions)
    /// `SMFIC_MACRO` ('D'): macro definitions for the command that follows.
    case macros(MilterMacroDefinition)
    /// `SMFIC_CONNECT` ('C'): SMTP client connection information.
    case connect(MilterConnectInfo)
    /// `SMFIC_HELO` ('H'): the HELO/EHLO argument.
    case helo(String)
    /// `SMFIC_MAIL` ('M'): `arguments[0]` is the sender in angle brackets, then ESMTP parameters.
    case mail(arguments: [String])
    /// `SMFIC_RCPT` ('R'): `arguments[0]` is the recipient in angle brackets, then ESMTP parameters.
    case recipient(arguments: [String])
    /// `SMFIC_HEADER` ('L'): one header field.
    case header(MilterHeaderField)
    /// `SMFIC_EOH` ('N'): end of headers.
    case endOfHeaders
    /// `SMFIC_BODY` ('B'): a body chunk, bytes as sent (Postfix: CRLF line endings).
    case body(ByteBuffer)
    /// `SMFIC_BODYEOB` ('E'): end of message, possibly with a last body chunk (usually empty).
    case endOfMessage(ByteBuffer)
    /// `SMFIC_ABORT` ('A'): forget the current message; the connection stays.
    case abort
    /// `SMFIC_QUIT` ('Q'): the MTA is done with this connection.
    case quit
    /// `SMFIC_QUIT_NC` ('K'): the SMTP session ended; a new one follows on this milter connection.
    case quitNewConnection
    /// `SMFIC_DATA` ('T'): the SMTP DATA command.
    case data
    /// `SMFIC_UNKNOWN` ('U'): an SMTP command the MTA did not recognise.
    case unknownSMTPCommand(String)
    /// A command code this library does not know, with its raw payload.
    case unrecognized(code: UInt8, payload: ByteBuffer)

    /// The wire command code.
    public var code: UInt8 {
        switch self {
        case .optionNegotiation: Milter.CommandCode.optionNegotiation
        case .macros: Milter.CommandCode.macro
        case .connect: Milter.CommandCode.connect
        case .helo: Milter.CommandCode.helo
        case .mail: Milter.CommandCode.mail
        case .recipient: Milter.CommandCode.recipient
        case .header: Milter.CommandCode.header
        case .endOfHeaders: Milter.CommandCode.endOfHeaders
        case .body: Milter.CommandCode.body
        case .endOfMessage: Milter.CommandCode.endOfMessage
        case .abort: Milter.CommandCode.abort
        case .quit: Milter.CommandCode.quit
        case .quitNewConnection: Milter.CommandCode.quitNewConnection
        case .data: Milter.CommandCode.data
        case .unknownSMTPCommand: Milter.CommandCode.unknown
        case .unrecognized(let code, _): code
        }
    }

    /// Whether the MTA waits for a reply to this command (assuming no "no reply" flags were
    /// negotiated, which ``MilterSessionStateMachine`` never asks for).
    public var expectsReply: Bool {
        switch self {
        case .macros, .abort, .quit, .quitNewConnection, .unrecognized: false
        default: true
        }
    }

    /// A printable name of the command for logs, e.g. `"SMFIC_HELO"`.
    public var name: String {
        switch self {
        case .optionNegotiation: "SMFIC_OPTNEG"
        case .macros: "SMFIC_MACRO"
        case .connect: "SMFIC_CONNECT"
        case .helo: "SMFIC_HELO"
        case .mail: "SMFIC_MAIL"
        case .recipient: "SMFIC_RCPT"
        case .header: "SMFIC_HEADER"
        case .endOfHeaders: "SMFIC_EOH"
        case .body: "SMFIC_BODY"
        case .endOfMessage: "SMFIC_BODYEOB"
        case .abort: "SMFIC_ABORT"
        case .quit: "SMFIC_QUIT"
        case .quitNewConnection: "SMFIC_QUIT_NC"
        case .data: "SMFIC_DATA"
        case .unknownSMTPCommand: "SMFIC_UNKNOWN"
        case .unrecognized: "unrecognized"
        }
    }
}

/// One macro name/value pair, names as the MTA sent them (`i`, `{auth_authen}`).
public struct MilterMacro: Sendable, Hashable {
    /// The macro name, with or without braces, as received.
    public var name: String
    /// The macro value.
    public var value: String

    /// Creates a pair.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The payload of `SMFIC_MACRO`: the command the macros belong to and the ordered pairs.
public struct MilterMacroDefinition: Sendable, Hashable {
    /// The command code the macros apply to (e.g. `Milter.CommandCode.mail`).
    public var commandCode: UInt8
    /// The macros in the order received.
    public var macros: [MilterMacro]

    /// Creates a definition.
    public init(commandCode: UInt8, macros: [MilterMacro]) {
        self.commandCode = commandCode
        self.macros = macros
    }
}

/// The protocol family in `SMFIC_CONNECT`.
public struct MilterAddressFamily: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The family byte as sent.
    public var rawValue: UInt8

    /// Wraps a family byte; unknown values are kept as they are.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// `SMFIA_UNKNOWN`, 'U': no port or address follow.
    public static let unknown = MilterAddressFamily(rawValue: UInt8(ascii: "U"))
    /// `SMFIA_UNIX`, 'L': a local socket; the address is a path.
    public static let unix = MilterAddressFamily(rawValue: UInt8(ascii: "L"))
    /// `SMFIA_INET`, '4'.
    public static let inet = MilterAddressFamily(rawValue: UInt8(ascii: "4"))
    /// `SMFIA_INET6`, '6'.
    public static let inet6 = MilterAddressFamily(rawValue: UInt8(ascii: "6"))

    /// `"unknown"`, `"unix"`, `"inet"`, `"inet6"` or the raw byte.
    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .unix: "unix"
        case .inet: "inet"
        case .inet6: "inet6"
        default: "family(\(self.rawValue))"
        }
    }
}

/// The payload of `SMFIC_CONNECT`.
public struct MilterConnectInfo: Sendable, Hashable {
    /// The client's host name as the MTA knows it (Postfix: `unknown` if not verified; may be `[1.2.3.4]`).
    public var hostname: String
    /// The protocol family.
    public var family: MilterAddressFamily
    /// The client's port (`nil` for the unknown family; 0 for unix sockets).
    public var port: UInt16?
    /// The client's address in text form (IPv4, IPv6 possibly prefixed `IPv6:` by Sendmail, or a socket path).
    public var address: String?

    /// Creates connection information.
    public init(hostname: String, family: MilterAddressFamily, port: UInt16? = nil, address: String? = nil) {
        self.hostname = hostname
        self.family = family
        self.port = port
        self.address = address
    }
}

/// A header field as the MTA sent it: raw bytes of name and value.
///
/// Folded values contain the line breaks the MTA uses internally (Postfix: a bare LF followed by
/// the continuation whitespace). Whether the value starts with the space that followed the colon
/// depends on `SMFIP_HDR_LEADSPC`.
public struct MilterHeaderField: Sendable, Hashable {
    /// The header name, raw bytes.
    public var rawName: [UInt8]
    /// The header value, raw bytes (may contain 8-bit data).
    public var rawValue: [UInt8]

    /// Creates a field from raw bytes.
    public init(rawName: [UInt8], rawValue: [UInt8]) {
        self.rawName = rawName
        self.rawValue = rawValue
    }

    /// Creates a field from strings (UTF-8).
    public init(name: String, value: String) {
        self.rawName = Array(name.utf8)
        self.rawValue = Array(value.utf8)
    }

    /// The name, decoded as UTF-8 (invalid bytes replaced).
    public var name: String { String(decoding: self.rawName, as: UTF8.self) }

    /// The value, decoded as UTF-8 (invalid bytes replaced).
    public var value: String { String(decoding: self.rawValue, as: UTF8.self) }
}
