// STUB: to be replaced by the full HTML-to-visible-text extractor.
public struct HTMLLink: Sendable, Hashable {
    public var href: String
    public var text: String
    public init(href: String, text: String) {
        self.href = href
        self.text = text
    }
}

public struct HTMLContent: Sendable, Hashable {
    public var text: String = ""
    public var links: [HTMLLink] = []
    public var urls: [String] = []
    public var imageCount: Int = 0
    public var hiddenTextBytes: Int = 0
    public var tinyTextBytes: Int = 0
    public var tagCounts: [String: Int] = [:]
    public var anomalies: [Anomaly] = []
    public init() {}
}

public enum HTMLText {
    public static func extract(_ html: String, maxTextBytes: Int = 1 << 20, maxURLs: Int = 1_000) -> HTMLContent {
        var c = HTMLContent()
        var out = ""
        var inTag = false
        for ch in html {
            if ch == "<" { inTag = true; out.append(" ") } else if ch == ">" { inTag = false } else if !inTag { out.append(ch) }
        }
        c.text = out
        return c
    }
}
