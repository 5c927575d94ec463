/// A response code of the spamd protocol: the `sysexits.h` value spamd puts in its status line
/// (`SPAMD/1.1 0 EX_OK`, `SPAMD/1.0 76 Bad header line: ...`).
public struct SpamdExitCode: Sendable, Hashable, CustomStringConvertible {
    /// The numeric value as written on the wire.
    public let rawValue: Int
    /// The symbolic `sysexits.h` name, e.g. `EX_OK`.
    public let name: String

    /// Creates a code; prefer the static members.
    public init(rawValue: Int, name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    public var description: String { "\(self.name)(\(self.rawValue))" }

    /// 0: no problems.
    public static let ok = SpamdExitCode(rawValue: 0, name: "EX_OK")
    /// 64: command line usage error.
    public static let usage = SpamdExitCode(rawValue: 64, name: "EX_USAGE")
    /// 65: data format error.
    public static let dataError = SpamdExitCode(rawValue: 65, name: "EX_DATAERR")
    /// 66: cannot open input.
    public static let noInput = SpamdExitCode(rawValue: 66, name: "EX_NOINPUT")
    /// 67: addressee unknown.
    public static let noUser = SpamdExitCode(rawValue: 67, name: "EX_NOUSER")
    /// 68: host name unknown.
    public static let noHost = SpamdExitCode(rawValue: 68, name: "EX_NOHOST")
    /// 69: service unavailable.
    public static let unavailable = SpamdExitCode(rawValue: 69, name: "EX_UNAVAILABLE")
    /// 70: internal software error.
    public static let software = SpamdExitCode(rawValue: 70, name: "EX_SOFTWARE")
    /// 71: system error.
    public static let osError = SpamdExitCode(rawValue: 71, name: "EX_OSERR")
    /// 72: critical OS file missing.
    public static let osFile = SpamdExitCode(rawValue: 72, name: "EX_OSFILE")
    /// 73: can't create (user) output file.
    public static let cantCreate = SpamdExitCode(rawValue: 73, name: "EX_CANTCREAT")
    /// 74: input/output error.
    public static let ioError = SpamdExitCode(rawValue: 74, name: "EX_IOERR")
    /// 75: temporary failure; the client is invited to retry.
    public static let temporaryFailure = SpamdExitCode(rawValue: 75, name: "EX_TEMPFAIL")
    /// 76: remote error in protocol.
    public static let protocolError = SpamdExitCode(rawValue: 76, name: "EX_PROTOCOL")
    /// 77: permission denied.
    public static let noPermission = SpamdExitCode(rawValue: 77, name: "EX_NOPERM")
    /// 78: configuration error.
    public static let configuration = SpamdExitCode(rawValue: 78, name: "EX_CONFIG")
    /// 79: read timeout (spamd's own addition to `sysexits.h`).
    public static let timeout = SpamdExitCode(rawValue: 79, name: "EX_TIMEOUT")
}
