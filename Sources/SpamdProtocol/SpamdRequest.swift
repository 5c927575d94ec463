import NIOCore

/// A spamd command (the first word of the request line).
public enum SpamdMethod: String, Sendable, Hashable, CaseIterable {
    /// Is the message spam? Reply: the `Spam:` header only.
    case check = "CHECK"
    /// CHECK plus the comma-separated names of the rules that hit.
    case symbols = "SYMBOLS"
    /// CHECK plus a human-readable report.
    case report = "REPORT"
    /// CHECK plus the report, only when the message is spam.
    case reportIfSpam = "REPORT_IFSPAM"
    /// Check and return the rewritten message.
    case process = "PROCESS"
    /// Like PROCESS but return only the rewritten header block (protocol 1.4).
    case headers = "HEADERS"
    /// Is the daemon alive? Reply: `SPAMD/1.5 0 PONG`.
    case ping = "PING"
    /// The client changed its mind; no reply.
    case skip = "SKIP"
    /// Learn, forget, report or revoke a message (`Message-class`, `Set`, `Remove`).
    case tell = "TELL"

    /// Whether this method checks a message and is answered from a ``SpamdVerdict``.
    public var isCheck: Bool {
        switch self {
        case .check, .symbols, .report, .reportIfSpam, .process, .headers: return true
        case .ping, .skip, .tell: return false
        }
    }
}

/// The protocol version in a request line (`SPAMC/1.5`), compared numerically as spamd does (`1.10` == `1.1`).
public struct SpamdProtocolVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The integer part.
    public let major: Int
    /// The fractional digits, as written (`"5"` for `1.5`).
    public let fractionDigits: String

    /// Creates `major.minor`, e.g. `(1, 5)` for `1.5`.
    public init(major: Int, minor: Int) {
        var fraction = String(max(0, minor))
        while fraction.hasSuffix("0") { fraction.removeLast() }
        self.major = major
        self.fractionDigits = fraction
    }

    /// Parses `1`, `1.5`, `1.10`; nil unless the text is digits with at most one dot.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty, first.count <= 9, first.utf8.allSatisfy(isDigit),
              let major = Int(first)
        else { return nil }
        var fraction = ""
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty, f.count <= 9, f.utf8.allSatisfy(isDigit) else { return nil }
            fraction = String(f)
        }
        // Normalise trailing zeros so that 1.50 == 1.5 and 1.0 == 1.
        while fraction.hasSuffix("0") { fraction.removeLast() }
        self.major = major
        self.fractionDigits = fraction
    }

    public var description: String { self.fractionDigits.isEmpty ? "\(self.major).0" : "\(self.major).\(self.fractionDigits)" }

    public static func < (lhs: SpamdProtocolVersion, rhs: SpamdProtocolVersion) -> Bool {
        if lhs.major != rhs.major { return lhs.major < rhs.major }
        let width = max(lhs.fractionDigits.count, rhs.fractionDigits.count)
        let l = lhs.fractionDigits + String(repeating: "0", count: width - lhs.fractionDigits.count)
        let r = rhs.fractionDigits + String(repeating: "0", count: width - rhs.fractionDigits.count)
        return l < r  // equal-length digit strings compare like numbers
    }

    /// `1.0`
    public static let v1_0 = SpamdProtocolVersion(major: 1, minor: 0)
    /// `1.2`: the client accepts `Content-length` in replies.
    public static let v1_2 = SpamdProtocolVersion(major: 1, minor: 2)
    /// `1.3`: several reply headers are fine; SYMBOLS is not CRLF-terminated.
    public static let v1_3 = SpamdProtocolVersion(major: 1, minor: 3)
    /// `1.5`: PING and SKIP carry a (usually empty) header block.
    public static let v1_5 = SpamdProtocolVersion(major: 1, minor: 5)
}

@inline(__always)
func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

/// The value of a TELL `Message-class` header.
public enum SpamdMessageClass: String, Sendable, Hashable {
    /// `Message-class: spam`
    case spam
    /// `Message-class: ham`
    case ham
}

/// A database a TELL sets or removes a message in (`Set: local,remote`, `DidSet: local`).
public enum SpamdTellTarget: String, Sendable, Hashable, CaseIterable {
    /// The local learner (spamd: Bayes).
    case local
    /// Remote collaborative databases (spamd: Razor, Pyzor, ...).
    case remote
}

/// One decoded spamd request.
///
/// Known headers are parsed into typed properties; every header line is also kept in ``headers``.
public struct SpamdRequest: Sendable, Hashable {
    /// The command.
    public var method: SpamdMethod
    /// The client's protocol version (`SPAMC/1.5` → 1.5).
    public var version: SpamdProtocolVersion
    /// All header lines in order (empty for protocol versions that send none).
    public var headers: SpamdHeaders
    /// The message, inflated when the client sent `Compress: zlib`. Empty for PING and SKIP.
    public var body: [UInt8]
    /// Whether the body arrived zlib-compressed.
    public var wasCompressed: Bool

    /// Creates a request; ``SpamdRequestDecoder`` makes these from the wire.
    public init(
        method: SpamdMethod, version: SpamdProtocolVersion = Spamd.clientProtocolVersion,
        headers: SpamdHeaders = [:], body: [UInt8] = [], wasCompressed: Bool = false
    ) {
        self.method = method
        self.version = version
        self.headers = headers
        self.body = body
        self.wasCompressed = wasCompressed
    }

    /// `User:` — on whose behalf the scan runs, if sent.
    public var user: String? { self.headers["User"] }

    /// `Content-length:` as sent (the compressed size when compressed), if sent and numeric.
    public var contentLength: Int? { self.headers["Content-length"].flatMap { Int($0) } }

    /// `Message-class:` of a TELL, if sent and valid.
    public var messageClass: SpamdMessageClass? {
        self.headers["Message-class"].flatMap { SpamdMessageClass(rawValue: $0.lowercased()) }
    }

    /// The databases a TELL asks to add the message to (`Set:`; spamd matches `local`/`remote` anywhere in the value).
    public var setTargets: Set<SpamdTellTarget> { Self.targets(self.headers["Set"]) }

    /// The databases a TELL asks to remove the message from (`Remove:`).
    public var removeTargets: Set<SpamdTellTarget> { Self.targets(self.headers["Remove"]) }

    static func targets(_ value: String?) -> Set<SpamdTellTarget> {
        guard let value = value?.lowercased() else { return [] }
        var result: Set<SpamdTellTarget> = []
        if value.contains("local") { result.insert(.local) }
        if value.contains("remote") { result.insert(.remote) }
        return result
    }
}

extension SpamdRequest {
    /// The request as a client (spamc) sends it: request line, `User` and any other headers, `Compress: zlib`
    /// and `Content-length` (the compressed size) when there is a body, the empty line, then the body.
    ///
    /// `Content-length` and `Compress` in ``headers`` are replaced by the computed ones. Useful for tests and
    /// for a client; the daemon does not need it.
    public func encoded(compressingBody compress: Bool = false) throws -> [UInt8] {
        var out = Array("\(self.method.rawValue) SPAMC/\(self.version)\r\n".utf8)
        let sendsHeaders: Bool
        switch self.method {
        case .tell: sendsHeaders = true
        case .ping, .skip: sendsHeaders = self.version >= .v1_5
        case .check, .symbols, .report, .reportIfSpam, .process, .headers: sendsHeaders = self.version > .v1_0
        }
        let hasBody = self.method != .ping && self.method != .skip
        var body = self.body
        if hasBody && compress {
            let deflated = try SpamdZlib.deflate(self.body)
            body = Array(deflated.readableBytesView)
        }
        if sendsHeaders {
            for field in self.headers
            where !SpamdHeaders.namesMatch(field.name, "Content-length") && !SpamdHeaders.namesMatch(field.name, "Compress") {
                out += Array("\(field.name): \(field.value)\r\n".utf8)
            }
            if hasBody {
                if compress { out += Array("Compress: zlib\r\n".utf8) }
                out += Array("Content-length: \(body.count)\r\n".utf8)
            }
            out += [0x0D, 0x0A]
        }
        return hasBody ? out + body : out
    }
}
