/// A hyperlink in an HTML part: where it goes and what the reader sees.
public struct HTMLLink: Sendable, Hashable {
    /// The `href`, with character references decoded and surrounding whitespace removed.
    public var href: String
    /// The visible text inside the `<a>` element, whitespace collapsed (at most 512 bytes).
    public var text: String
    public init(href: String, text: String) {
        self.href = href
        self.text = text
    }
}

/// What ``HTMLText/extract(_:maxTextBytes:maxURLs:)`` found in an HTML document.
public struct HTMLContent: Sendable, Hashable {
    /// The text a browser would show: tags, comments, scripts, styles and hidden text removed,
    /// character references decoded, whitespace runs collapsed to one space, and a newline where a
    /// block (paragraph, `<br>`, table row, list item…) starts or ends. No-break spaces count as
    /// spaces; zero-width characters and soft hyphens are removed (see ``invisibleCharacterCount``).
    public var text: String = ""
    /// The `<title>`, decoded and whitespace-collapsed (at most 1,024 bytes). Not part of ``text``.
    public var title: String = ""
    /// Every `<a href>`, in document order (at most `maxURLs`).
    public var links: [HTMLLink] = []
    /// URLs from URL-bearing attributes (`a`/`area`/`link`/`base` `href`, `img`/`iframe`/`frame`/`embed`/
    /// `source`/`script`/`video`/`audio` `src` and `srcset`, `form action`, `formaction`, `background`,
    /// `object data`, `video poster`, `<meta http-equiv=refresh>`) and CSS `url(...)` in `style`
    /// attributes and elements; references decoded, surrounding whitespace and inner tabs/newlines
    /// removed, deduplicated, in order of appearance, at most `maxURLs`. Relative URLs are kept as
    /// written (not resolved against `<base>`).
    public var urls: [String] = []
    /// `<img>` elements and `<input type=image>`.
    public var imageCount: Int = 0
    /// Bytes of non-blank text that a reader can't see (`display:none`, `visibility:hidden`, `opacity:0`,
    /// the `hidden` attribute, `font-size:0`, zero-sized boxes with `overflow:hidden`, `mso-hide:all`,
    /// text moved off-screen, or a text colour indistinguishable from the background such as white on
    /// the default white). This text is not in ``text``.
    public var hiddenTextBytes: Int = 0
    /// Bytes of non-blank visible text in a tiny font (CSS size of 2 px or less, or `<font size=1>`).
    /// This text is in ``text``.
    public var tinyTextBytes: Int = 0
    /// Start tags by lower-cased name (at most 256 distinct names). A dictionary: its iteration order
    /// differs between processes, so sort the keys when order matters.
    public var tagCounts: [String: Int] = [:]
    /// Zero-width spaces and joiners, word joiners, BOMs and soft hyphens removed from the text
    /// (spammers use them to break up words).
    public var invisibleCharacterCount: Int = 0
    /// Links whose text shows a URL or domain (`https://paypal.com/…`, `www.paypal.com`, `paypal.com`)
    /// whose ``ParsedURL/registrableDomainGuess`` differs from that of the http(s) `href`.
    public var linkTextMismatchCount: Int = 0
    /// ``text`` was cut at `maxTextBytes`.
    public var isTextTruncated: Bool = false
    /// ``Anomaly/htmlHiddenText``, ``Anomaly/htmlTinyText``, ``Anomaly/htmlBadStructure``
    /// (a tag, comment or raw-text element unterminated at the end of the input) and
    /// ``Anomaly/htmlLinkTextMismatch``.
    public var anomalies: [Anomaly] = []
    public init() {}
}

/// HTML to visible text, links and hiding tricks, in one linear pass over the UTF-8 bytes.
///
/// This is not a conforming HTML5 parser, but it follows the HTML tokenizer closely (tags,
/// attributes, comments, raw-text elements, character references) and approximates tree
/// building (implied end tags, misnested end tags) to know which element an end tag closes.
/// It never fails: hostile input (unterminated tags, comments or quotes, absurd nesting, binary
/// junk) only costs linear time, bounded memory and an ``Anomaly/htmlBadStructure``.
public enum HTMLText {
    /// - Parameters:
    ///   - html: the decoded HTML document.
    ///   - maxTextBytes: bytes of ``HTMLContent/text`` kept (cut at a character boundary).
    ///   - maxURLs: entries kept in ``HTMLContent/urls`` and in ``HTMLContent/links``.
    public static func extract(_ html: String, maxTextBytes: Int = 1 << 20, maxURLs: Int = 1_000) -> HTMLContent {
        var html = html
        return html.withUTF8 { all in
            // Offsets are kept in 32 bits; a 4 GiB document is cut (mail is limited far below that).
            let bytes = all.count < Int(UInt32.max) ? all : UnsafeBufferPointer(rebasing: all[0..<Int(UInt32.max - 1)])
            return HTMLScanner.withScanner(bytes, maxTextBytes: maxTextBytes, maxURLs: maxURLs) { $0.run() }
        }
    }
}
