/// A parsed message: the raw bytes plus the structure found in them.
///
/// Ranges index into ``bytes`` (for parts whose ``MIMEPart/buffer`` is 0) or into one of
/// ``auxiliaryBuffers`` (for parts of an encoded `message/rfc822` that had to be decoded first).
/// Nothing here is ever re-encoded: the exact bytes stay available (DKIM needs them).
public struct Message: Sendable {
    /// The raw message, exactly as given (only the first ``ParseLimits/maxMessageBytes`` are parsed).
    public let bytes: [UInt8]
    /// Decoded bodies of transfer-encoded `message/rfc822` parts, which nested parts index into.
    public internal(set) var auxiliaryBuffers: [[UInt8]] = []
    /// The mbox `From ` separator line before the headers, if any.
    public internal(set) var mboxFromLine: Range<Int>?
    /// MIME parts in depth-first order; `parts[0]` is the message itself.
    public internal(set) var parts: [MIMEPart] = []
    /// Decoded human-readable text, one entry per text part (and per HTML part, its visible text).
    public internal(set) var textParts: [TextPart] = []
    /// Non-text parts and parts named as files.
    public internal(set) var attachments: [Attachment] = []
    /// URLs found in text and HTML, deduplicated (no two equal as `String`s), in order of appearance.
    public internal(set) var urls: [String] = []
    /// What the parser found malformed or unusual, sorted and without duplicates.
    public internal(set) var anomalies: [Anomaly] = []
    /// Limits the message was parsed with.
    public let limits: ParseLimits
    /// What readers derive from the message and share (``parsedURLs(_:)``, ``memoized(_:)``);
    /// made by the parser when the message has URLs (nothing is kept for the others).
    var memo: MessageMemo?

    init(bytes: [UInt8], limits: ParseLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// The top-level header fields.
    public var headers: HeaderFields { parts.first?.headers ?? HeaderFields() }
    /// Offset in ``bytes`` where the body begins (after the blank line).
    public var bodyOffset: Int { parts.first?.bodyRange.lowerBound ?? 0 }
    /// The top-level body bytes.
    public var body: ArraySlice<UInt8> {
        guard let p = parts.first else { return [] }
        return bytes[p.bodyRange]
    }
    /// The raw bytes a part's ranges index into.
    public func buffer(of part: MIMEPart) -> [UInt8] {
        part.buffer == 0 ? bytes : auxiliaryBuffers[part.buffer - 1]
    }
    /// The raw (still transfer-encoded) body bytes of a part.
    public func rawBody(of part: MIMEPart) -> ArraySlice<UInt8> { buffer(of: part)[part.bodyRange] }

    /// The Subject with encoded words decoded ("" when absent).
    public var subject: String { headers.first("Subject")?.decodedValue ?? "" }
    /// The addresses of the From field.
    public var from: [MailAddress] { headers.first("From").map { MailAddress.parseList($0.value) } ?? [] }
    /// All visible text of the message, text parts joined by newlines.
    public var text: String { textParts.map(\.text).joined(separator: "\n") }
    /// Whether the parser reported this anomaly.
    public func has(_ anomaly: Anomaly) -> Bool { anomalies.contains(anomaly) }
}

/// One node of the MIME tree.
public struct MIMEPart: Sendable {
    public var headers: HeaderFields
    /// The declared (or defaulted) media type.
    public var contentType: ContentType
    /// Whether a Content-Type field was present and valid.
    public var contentTypeDeclared: Bool
    /// Lowercased Content-Transfer-Encoding ("7bit" when absent).
    public var transferEncoding: String
    /// Lowercased disposition token ("inline", "attachment"), if given.
    public var disposition: String?
    /// File name from Content-Disposition `filename` or Content-Type `name`.
    public var filename: String?
    /// Which buffer the ranges index into: 0 = ``Message/bytes``, n = `auxiliaryBuffers[n-1]`.
    public var buffer: Int
    /// Header block of the part.
    public var headerRange: Range<Int>
    /// Body of the part (for a multipart: everything after its header block).
    public var bodyRange: Range<Int>
    /// 0 for the message itself.
    public var depth: Int
    public var parent: Int?
    public var children: [Int] = []
    /// Size of the decoded content (estimated for undecoded attachments).
    public var decodedSize: Int = 0
}

/// Decoded text of one text part.
public struct TextPart: Sendable {
    /// Index into ``Message/parts``.
    public var partIndex: Int
    public var isHTML: Bool
    /// Charset the text was decoded from.
    public var charset: String
    /// Visible text (for HTML: after tags, scripts and hidden text are removed).
    public var text: String
    /// What the HTML extractor found, for HTML parts.
    public var html: HTMLContent?
}

/// Metadata of an attachment (or of any non-text part).
public struct Attachment: Sendable, Hashable {
    public var partIndex: Int
    public var filename: String?
    public var contentType: String
    /// Decoded size in bytes (estimated from the encoded size for base64).
    public var size: Int
    public var isInline: Bool
}
