/// Something malformed, unusual or over a limit that the parser noticed.
///
/// Anomalies never stop a parse; they are reported so that the classifier can weigh them
/// (spam software produces characteristic breakage). New anomalies may be added at any time,
/// so this is a struct with static members rather than an enum.
public struct Anomaly: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }
    public static func < (a: Anomaly, b: Anomaly) -> Bool { a.name < b.name }

    // Limits
    public static let truncated = Anomaly("truncated")
    public static let tooManyHeaderFields = Anomaly("too_many_header_fields")
    public static let headerFieldTooLong = Anomaly("header_field_too_long")
    public static let tooDeep = Anomaly("mime_too_deep")
    public static let tooManyParts = Anomaly("too_many_parts")
    public static let decodedSizeLimit = Anomaly("decoded_size_limit")
    // Header syntax
    public static let noHeaderBodySeparator = Anomaly("no_header_body_separator")
    public static let noHeaders = Anomaly("no_headers")
    public static let invalidHeaderLine = Anomaly("invalid_header_line")
    public static let spaceBeforeColon = Anomaly("space_before_colon")
    public static let eightBitHeader = Anomaly("8bit_header")
    public static let bareLF = Anomaly("bare_lf")
    public static let mixedLineEndings = Anomaly("mixed_line_endings")
    public static let bareCR = Anomaly("bare_cr")
    public static let nulByte = Anomaly("nul_byte")
    public static let longLine = Anomaly("long_line")
    public static let badEncodedWord = Anomaly("bad_encoded_word")
    public static let encodedWordUnknownCharset = Anomaly("encoded_word_unknown_charset")
    public static let duplicateSingletonHeader = Anomaly("duplicate_singleton_header")
    public static let missingDate = Anomaly("missing_date")
    public static let missingMessageID = Anomaly("missing_message_id")
    public static let missingFrom = Anomaly("missing_from")
    // MIME structure
    public static let missingBoundary = Anomaly("multipart_missing_boundary")
    public static let boundaryNotFound = Anomaly("multipart_boundary_not_found")
    public static let missingCloseDelimiter = Anomaly("multipart_missing_close")
    public static let emptyMultipart = Anomaly("multipart_empty")
    public static let badContentType = Anomaly("bad_content_type")
    public static let unknownTransferEncoding = Anomaly("unknown_transfer_encoding")
    public static let badBase64 = Anomaly("bad_base64")
    public static let badQuotedPrintable = Anomaly("bad_quoted_printable")
    public static let eightBitIn7Bit = Anomaly("8bit_in_7bit_part")
    public static let unknownCharset = Anomaly("unknown_charset")
    public static let charsetMismatch = Anomaly("charset_mismatch")
    public static let badCharsetBytes = Anomaly("bad_charset_bytes")
    public static let mimeVersionMissing = Anomaly("mime_version_missing")
    public static let uuencoded = Anomaly("uuencoded")
    // HTML
    public static let htmlHiddenText = Anomaly("html_hidden_text")
    public static let htmlTinyText = Anomaly("html_tiny_text")
    public static let htmlOnly = Anomaly("html_only")
    public static let htmlBadStructure = Anomaly("html_bad_structure")
    public static let htmlLinkTextMismatch = Anomaly("html_link_text_mismatch")
    // Header values (parameters, addresses)
    public static let badParameter = Anomaly("bad_mime_parameter")
    public static let duplicateParameter = Anomaly("duplicate_mime_parameter")
}
