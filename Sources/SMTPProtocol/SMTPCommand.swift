/// A client command, parsed from an ``SMTPLine``.
public enum SMTPCommand: Sendable, Hashable {
    case helo(String)
    case ehlo(String)
    /// `MAIL FROM:<path> params`; the path without angle brackets (empty for the null sender).
    case mail(reversePath: String, parameters: [String])
    /// `RCPT TO:<path> params`.
    case rcpt(forwardPath: String, parameters: [String])
    case data
    case rset
    case noop
    case quit
    case startTLS
    case vrfy(String)
    case expn(String)
    case help
    /// Something that is not SMTP: an HTTP or proxy verb (`GET`, `POST`, `CONNECT`, …) or a
    /// message header line (`Subject: …`) sent as a command. The text is the verb or field name.
    case nonSMTP(String)
    /// A known verb with arguments that do not parse (the verb).
    case syntaxError(String)
    /// An unknown verb (upper-cased, at most 32 bytes).
    case unknown(String)

    /// Commands after which a pipelining client must wait for the reply (RFC 2920 §3.1).
    public var mustEndPipelineGroup: Bool {
        switch self {
        case .ehlo, .helo, .data, .quit, .noop, .vrfy, .expn, .help, .startTLS: true
        default: false
        }
    }

    /// The verb, for logs.
    public var verb: String {
        switch self {
        case .helo: "HELO"
        case .ehlo: "EHLO"
        case .mail: "MAIL"
        case .rcpt: "RCPT"
        case .data: "DATA"
        case .rset: "RSET"
        case .noop: "NOOP"
        case .quit: "QUIT"
        case .startTLS: "STARTTLS"
        case .vrfy: "VRFY"
        case .expn: "EXPN"
        case .help: "HELP"
        case .nonSMTP(let v): v
        case .syntaxError(let v): v
        case .unknown(let v): v
        }
    }

    static let nonSMTPVerbs: Set<String> = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH"]

    /// Parses one command line.
    public init(_ line: SMTPLine) {
        let bytes = line.bytes
        var i = 0
        while i < bytes.count, bytes[i] != 0x20, bytes[i] != 0x09 { i += 1 }
        let verbBytes = bytes[..<i].prefix(32)
        let verb = String(decoding: verbBytes.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
        let rest = String(decoding: bytes[i...], as: UTF8.self)
        let argument = rest.trimmingSpaces()
        switch verb {
        case "HELO": self = argument.isEmpty ? .syntaxError(verb) : .helo(argument)
        case "EHLO": self = argument.isEmpty ? .syntaxError(verb) : .ehlo(argument)
        case "MAIL":
            if let (path, params) = Self.path(after: "FROM:", in: argument) {
                self = .mail(reversePath: path, parameters: params)
            } else {
                self = .syntaxError(verb)
            }
        case "RCPT":
            if let (path, params) = Self.path(after: "TO:", in: argument), !path.isEmpty {
                self = .rcpt(forwardPath: path, parameters: params)
            } else {
                self = .syntaxError(verb)
            }
        case "DATA": self = argument.isEmpty ? .data : .syntaxError(verb)
        case "RSET": self = argument.isEmpty ? .rset : .syntaxError(verb)
        case "NOOP": self = .noop
        case "QUIT": self = argument.isEmpty ? .quit : .syntaxError(verb)
        case "STARTTLS": self = argument.isEmpty ? .startTLS : .syntaxError(verb)
        case "VRFY": self = .vrfy(argument)
        case "EXPN": self = .expn(argument)
        case "HELP": self = .help
        default:
            if Self.nonSMTPVerbs.contains(verb) {
                self = .nonSMTP(verb)
            } else if Self.isHeaderName(verbBytes) {
                self = .nonSMTP(String(decoding: verbBytes, as: UTF8.self))
            } else {
                self = .unknown(verb)
            }
        }
    }

    /// `Name:` with a field-name before the colon (RFC 5322 ftext), as in a message header.
    static func isHeaderName(_ verb: ArraySlice<UInt8>) -> Bool {
        guard verb.count >= 2, verb.last == UInt8(ascii: ":") else { return false }
        return verb.dropLast().allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
    }

    /// Parses `FROM:<path> params` (case-insensitive keyword, optional space after the colon,
    /// angle brackets required except that a bare address is tolerated).
    static func path(after keyword: String, in argument: String) -> (String, [String])? {
        let utf8 = Array(argument.utf8)
        let key = Array(keyword.utf8)
        guard utf8.count >= key.count else { return nil }
        for (a, b) in zip(utf8, key) where (a | 0x20) != (b | 0x20) { return nil }
        var rest = utf8[key.count...]
        while rest.first == 0x20 { rest = rest.dropFirst() }
        let path: String
        var tail: ArraySlice<UInt8>
        if rest.first == UInt8(ascii: "<") {
            guard let close = rest.firstIndex(of: UInt8(ascii: ">")) else { return nil }
            path = String(decoding: rest[(rest.startIndex + 1)..<close], as: UTF8.self)
            tail = rest[(close + 1)...]
        } else {
            let end = rest.firstIndex(of: 0x20) ?? rest.endIndex
            guard end > rest.startIndex else { return nil }
            path = String(decoding: rest[..<end], as: UTF8.self)
            tail = rest[end...]
        }
        guard tail.isEmpty || tail.first == 0x20 else { return nil }
        let params = tail.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
        return (path, params)
    }
}

extension String {
    func trimmingSpaces() -> String {
        let u = Array(utf8)
        var s = 0, e = u.count
        while s < e, u[s] == 0x20 || u[s] == 0x09 { s += 1 }
        while e > s, u[e - 1] == 0x20 || u[e - 1] == 0x09 { e -= 1 }
        return String(decoding: u[s..<e], as: UTF8.self)
    }
}
