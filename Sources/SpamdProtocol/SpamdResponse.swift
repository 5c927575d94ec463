#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// The outcome of a check (CHECK, SYMBOLS, REPORT, REPORT_IFSPAM, PROCESS, HEADERS), in domain terms.
///
/// The daemon fills this in; ``SpamdResponse/init(replyingTo:verdict:)`` renders the reply the request's method
/// and protocol version call for.
public struct SpamdVerdict: Sendable, Hashable {
    /// Whether the message is spam (the `Spam:` flag and spamc's exit code 1).
    public var isSpam: Bool
    /// The message's score.
    public var score: Double
    /// The score from which a message is spam.
    public var threshold: Double
    /// Names of the rules/features that fired (SYMBOLS).
    public var symbols: [String]
    /// A human-readable report (REPORT, REPORT_IFSPAM). spamd's report ends with a newline.
    public var report: String?
    /// The rewritten message (PROCESS; HEADERS sends its header block). nil sends the message back unchanged.
    public var message: [UInt8]?

    /// Creates a verdict.
    public init(
        isSpam: Bool, score: Double, threshold: Double, symbols: [String] = [], report: String? = nil,
        message: [UInt8]? = nil
    ) {
        self.isSpam = isSpam
        self.score = score
        self.threshold = threshold
        self.symbols = symbols
        self.report = report
        self.message = message
    }
}

/// The outcome of a TELL: which databases actually changed (spamc prints "successfully" only when they did).
public struct SpamdTellResult: Sendable, Hashable {
    /// Databases the message was added to (`DidSet:`).
    public var didSet: [SpamdTellTarget]
    /// Databases the message was removed from (`DidRemove:`).
    public var didRemove: [SpamdTellTarget]

    /// Creates a result.
    public init(didSet: [SpamdTellTarget] = [], didRemove: [SpamdTellTarget] = []) {
        self.didSet = didSet
        self.didRemove = didRemove
    }
}

/// One spamd reply: a status line, optionally a header block, then a body — or nothing at all (SKIP).
///
/// Build replies with ``init(replyingTo:verdict:)``, ``init(replyingTo:tellResult:)``, ``pong``, ``silent`` or
/// ``SpamdError/response``; ``encode(into:)`` writes the exact bytes spamd would.
public struct SpamdResponse: Sendable, Hashable {
    /// The version in the status line (`1.1` for results, `1.5` for PONG, `1.0` for errors, as spamd sends).
    public var protocolVersion: String
    /// The response code.
    public var exitCode: SpamdExitCode
    /// The text after the code: `EX_OK`, `PONG`, or an error description.
    public var message: String
    /// The header block; nil writes none (not even the empty line), as for PONG and errors.
    public var headers: SpamdHeaders?
    /// Bytes after the header block.
    public var body: [UInt8]
    /// When true nothing is written at all (the reply to SKIP).
    public var isSilent: Bool

    /// Creates a reply from its parts.
    public init(
        protocolVersion: String, exitCode: SpamdExitCode, message: String, headers: SpamdHeaders?,
        body: [UInt8], isSilent: Bool = false
    ) {
        self.protocolVersion = protocolVersion
        self.exitCode = exitCode
        self.message = message
        self.headers = headers
        self.body = body
        self.isSilent = isSilent
    }

    /// `SPAMD/1.5 0 PONG\r\n`
    public static let pong = SpamdResponse(
        protocolVersion: "1.5", exitCode: .ok, message: "PONG", headers: nil, body: [])

    /// No reply at all (SKIP).
    public static let silent = SpamdResponse(
        protocolVersion: "1.1", exitCode: .ok, message: "EX_OK", headers: nil, body: [], isSilent: true)

    /// The reply spamd sends for `request` given the check's `verdict`.
    ///
    /// With protocol 1.3 and later (every current spamc):
    /// - CHECK: `Spam: True ; 15.3 / 5.0` and no body.
    /// - SYMBOLS: `Content-length`, `Spam`, body = symbols joined by commas, no line end.
    /// - REPORT: `Content-length`, `Spam`, body = the report.
    /// - REPORT_IFSPAM: as REPORT but the flag is `Yes`/`No` (as spamd writes it) and the body is empty for ham.
    /// - PROCESS: `Content-length`, `Spam`, body = the rewritten message (or the original when nil).
    /// - HEADERS: as PROCESS, but only up to and including the empty line after the header block.
    ///
    /// Older protocol versions get spamd's older shapes. PING gets ``pong``, SKIP ``silent``; a verdict for TELL
    /// is a programming error answered with `EX_SOFTWARE`.
    public init(replyingTo request: SpamdRequest, verdict: SpamdVerdict) {
        let version = request.version
        let isReportIfSpam = request.method == .reportIfSpam
        let flag = verdict.isSpam ? (isReportIfSpam ? "Yes" : "True") : (isReportIfSpam ? "No" : "False")
        let scores = SpamdScoreFormat.scoreAndThreshold(
            score: verdict.score, threshold: verdict.threshold, isSpam: verdict.isSpam)
        let spam = SpamdHeaderField(name: "Spam", value: "\(flag) ; \(scores.score) / \(scores.threshold)")

        switch request.method {
        case .process, .headers:
            var message = verdict.message ?? request.body
            if request.method == .headers {
                message = Self.headerBlock(of: message)
            }
            let length = SpamdHeaderField(name: "Content-length", value: String(message.count))
            if version >= .v1_3 {
                self.init(
                    protocolVersion: "1.1", exitCode: .ok, message: "EX_OK", headers: SpamdHeaders([length, spam]),
                    body: message)
            } else if version >= .v1_2 {
                self.init(
                    protocolVersion: "1.1", exitCode: .ok, message: "EX_OK", headers: SpamdHeaders([length]),
                    body: message)
            } else {
                self.init(protocolVersion: "1.0", exitCode: .ok, message: "EX_OK", headers: nil, body: message)
            }
        case .check:
            self.init(protocolVersion: "1.1", exitCode: .ok, message: "EX_OK", headers: SpamdHeaders([spam]), body: [])
        case .symbols, .report, .reportIfSpam:
            var body: [UInt8]
            switch request.method {
            case .symbols:
                body = Array(verdict.symbols.joined(separator: ",").utf8)
                if version < .v1_3 { body += [0x0D, 0x0A] }
            case .reportIfSpam where !verdict.isSpam:
                body = []
            default:
                body = Array((verdict.report ?? "").utf8)
            }
            if version >= .v1_3 {
                let length = SpamdHeaderField(name: "Content-length", value: String(body.count))
                self.init(
                    protocolVersion: "1.1", exitCode: .ok, message: "EX_OK", headers: SpamdHeaders([length, spam]),
                    body: body)
            } else {
                self.init(protocolVersion: "1.1", exitCode: .ok, message: "EX_OK", headers: SpamdHeaders([spam]), body: body)
            }
        case .ping:
            self = .pong
        case .skip:
            self = .silent
        case .tell:
            self = SpamdError(code: .other, exitCode: .software, message: "Internal error: check verdict for TELL")
                .response
        }
    }

    /// The reply spamd sends for a TELL: `DidSet:`/`DidRemove:` headers naming what changed.
    ///
    /// spamd ends this reply with an extra CRLF after the empty line; it is kept (as ``body``) so the bytes match.
    public init(replyingTo request: SpamdRequest, tellResult: SpamdTellResult) {
        var headers = SpamdHeaders()
        let set = Self.ordered(tellResult.didSet)
        let removed = Self.ordered(tellResult.didRemove)
        if !set.isEmpty { headers.add(name: "DidSet", value: set.map(\.rawValue).joined(separator: ",")) }
        if !removed.isEmpty { headers.add(name: "DidRemove", value: removed.map(\.rawValue).joined(separator: ",")) }
        self.init(protocolVersion: "1.1", exitCode: .ok, message: "EX_OK", headers: headers, body: [0x0D, 0x0A])
    }

    private static func ordered(_ targets: [SpamdTellTarget]) -> [SpamdTellTarget] {
        SpamdTellTarget.allCases.filter { targets.contains($0) }
    }

    /// The header block of a message, up to and including the first empty line (spamd's HEADERS cut,
    /// `s/(\r?\n\r?\n).*$/$1/s`); the whole message when it has no empty line.
    static func headerBlock(of message: [UInt8]) -> [UInt8] {
        var index = message.startIndex
        while index < message.endIndex {
            if message[index] == 0x0A {
                var next = index + 1
                if next < message.endIndex && message[next] == 0x0D { next += 1 }
                if next < message.endIndex && message[next] == 0x0A {
                    return Array(message[..<(next + 1)])
                }
            }
            index += 1
        }
        return message
    }

    /// Appends the reply's wire bytes to `buffer` (nothing when ``isSilent``).
    public func encode(into buffer: inout ByteBuffer) {
        guard !self.isSilent else { return }
        buffer.writeString("SPAMD/\(self.protocolVersion) \(self.exitCode.rawValue) \(self.message)\r\n")
        if let headers = self.headers {
            for field in headers {
                buffer.writeString("\(field.name): \(field.value)\r\n")
            }
            buffer.writeString("\r\n")
        }
        buffer.writeBytes(self.body)
    }

    /// The reply's wire bytes.
    public var bytes: [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: self.body.count + 128)
        self.encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }
}

/// Number formatting as spamd does it.
public enum SpamdScoreFormat {
    /// `sprintf("%.1f", value)` (C rounding of the exact binary value, like Perl), clamped to ±1e9; non-finite → 0.
    public static func oneDecimal(_ value: Double) -> String {
        var value = value.isFinite ? value : 0
        value = min(max(value, -1e9), 1e9)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            withVaList([value]) { vsnprintf(pointer.baseAddress, pointer.count, "%.1f", $0) }
        }
        guard count > 0 else { return "0.0" }
        return String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The `score / threshold` pair of the `Spam:` header, as spamd's `get_tag_value_for_score` prints it:
    /// one decimal each; a ham whose rounded score reaches the threshold is shown just below it (threshold − 0.1),
    /// so the numbers never contradict the flag.
    public static func scoreAndThreshold(score: Double, threshold: Double, isSpam: Bool) -> (score: String, threshold: String) {
        let scoreText = oneDecimal(score)
        let thresholdText = oneDecimal(threshold)
        let roundedScore = Double(scoreText) ?? score
        let roundedThreshold = Double(thresholdText) ?? threshold
        if isSpam || roundedScore < roundedThreshold {
            return (scoreText, thresholdText)
        }
        return (oneDecimal(roundedThreshold - 0.1), thresholdText)
    }
}
