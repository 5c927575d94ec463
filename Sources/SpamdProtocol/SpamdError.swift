/// An error of the spamd protocol: malformed or oversized input, a timeout, or a failure the daemon reports.
///
/// Every error knows the status line spamd would answer it with (``response``), e.g.
/// `SPAMD/1.0 76 Bad header line: (Content-Length contains non-numeric bytes)`. The texts follow spamd's own.
public struct SpamdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for programmatic matching.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// A stable identifier, e.g. `bad_header_line`.
        public let rawValue: String
        fileprivate init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { self.rawValue }

        /// The first line is not `<METHOD> SPAMC/<version>` with a known method.
        public static let badRequestLine = Code("bad_request_line")
        /// A header line is not in `Name: value` format.
        public static let badHeaderLine = Code("bad_header_line")
        /// `Content-length` is not a decimal number (or not representable).
        public static let badContentLength = Code("bad_content_length")
        /// More header lines than ``SpamdConfiguration/maximumHeaderCount``.
        public static let tooManyHeaders = Code("too_many_headers")
        /// Request line and headers exceed ``SpamdConfiguration/maximumHeaderBytes``.
        public static let headerBlockTooLarge = Code("header_block_too_large")
        /// The body (as sent, or once inflated) exceeds ``SpamdConfiguration/maximumBodyBytes``.
        public static let bodyTooLarge = Code("body_too_large")
        /// `Compress` names something other than zlib.
        public static let unsupportedCompression = Code("unsupported_compression")
        /// `Compress: zlib` without `Content-length`.
        public static let compressionRequiresContentLength = Code("compression_requires_content_length")
        /// The zlib body is corrupt or truncated.
        public static let decompressionFailed = Code("decompression_failed")
        /// The peer closed before sending `Content-length` bytes.
        public static let contentLengthMismatch = Code("content_length_mismatch")
        /// The peer closed in the middle of the header block.
        public static let eofDuringHeaders = Code("eof_during_headers")
        /// The peer closed without sending a request.
        public static let closedBeforeRequest = Code("closed_before_request")
        /// `User` contains control characters.
        public static let badUser = Code("bad_user")
        /// `Message-class` is neither `spam` nor `ham`.
        public static let badMessageClass = Code("bad_message_class")
        /// TELL asks to set and remove the same database.
        public static let conflictingTellActions = Code("conflicting_tell_actions")
        /// The request did not arrive, or the handler did not answer, in time.
        public static let timeout = Code("timeout")
        /// The daemon cannot serve the request now (e.g. TELL disabled, storage down).
        public static let unavailable = Code("unavailable")
        /// The user may not do this.
        public static let permissionDenied = Code("permission_denied")
        /// A transient failure: the client should retry later.
        public static let temporaryFailure = Code("temporary_failure")
        /// Any other failure, with an explicit exit code.
        public static let other = Code("other")
    }

    /// What went wrong.
    public let code: Code
    /// The response code of the error line.
    public let exitCode: SpamdExitCode
    /// The text after the code in the error line, e.g. `Bad header line: (EOF during headers)`.
    public let message: String

    /// Creates an error with an explicit status line; prefer the static factories.
    public init(code: Code, exitCode: SpamdExitCode, message: String) {
        self.code = code
        self.exitCode = exitCode
        self.message = Self.sanitize(message)
    }

    public var description: String { "SpamdError(\(self.code), \(self.exitCode.rawValue) \(self.message))" }

    /// The status line that answers this error (spamd answers every error with `SPAMD/1.0`, then closes).
    public var response: SpamdResponse {
        SpamdResponse(protocolVersion: "1.0", exitCode: self.exitCode, message: self.message, headers: nil, body: [])
    }

    // MARK: - Factories (texts as spamd writes them)

    /// `SPAMD/1.0 76 Bad header line: <detail>` — spamd's `protocol_error`.
    public static func protocolError(_ code: Code, _ detail: String) -> SpamdError {
        SpamdError(code: code, exitCode: .protocolError, message: "Bad header line: \(detail)")
    }

    /// `SPAMD/1.0 69 Service Unavailable: <detail>` — spamd's `service_unavailable_error`.
    public static func unavailable(_ detail: String, code: Code = .unavailable) -> SpamdError {
        SpamdError(code: code, exitCode: .unavailable, message: "Service Unavailable: \(detail)")
    }

    /// `SPAMD/1.0 79 Timeout: <detail>` — spamd's `service_timeout`.
    public static func timeout(_ detail: String) -> SpamdError {
        SpamdError(code: .timeout, exitCode: .timeout, message: "Timeout: \(detail)")
    }

    /// `SPAMD/1.0 75 Temporary failure: <detail>` — what a failing handler is answered with.
    public static func temporaryFailure(_ detail: String) -> SpamdError {
        SpamdError(code: .temporaryFailure, exitCode: .temporaryFailure, message: "Temporary failure: \(detail)")
    }

    /// `SPAMD/1.0 77 Permission denied: <detail>`.
    public static func permissionDenied(_ detail: String) -> SpamdError {
        SpamdError(code: .permissionDenied, exitCode: .noPermission, message: "Permission denied: \(detail)")
    }

    /// `SPAMD/1.0 65 Bad message: (message exceeds <limit> bytes)`. spamd itself has no size limit; the code is
    /// `EX_DATAERR` as for other unacceptable input data.
    public static func bodyTooLarge(limit: Int) -> SpamdError {
        SpamdError(code: .bodyTooLarge, exitCode: .dataError, message: "Bad message: (message exceeds \(limit) bytes)")
    }

    /// The answer to a TELL when the daemon does not accept TELL (spamd without `--allow-tell`).
    public static let tellDisabled = SpamdError.unavailable(
        "TELL commands are not enabled, set the --allow-tell switch.")

    /// Keeps the status line a single line of printable text, whatever went into it.
    /// Linear: the scalars are counted as they are copied (`unicodeScalars.count` is O(n)).
    static func sanitize(_ text: String) -> String {
        if text.utf8.count <= 300, text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) { return text }
        var out = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= 300 { break }
            count += 1
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out.append("?")
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
