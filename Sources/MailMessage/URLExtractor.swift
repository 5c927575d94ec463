// STUB: to be replaced by the full URL finder and parser.
public struct ParsedURL: Sendable, Hashable {
    public var scheme: String
    public var host: String
    public var path: String
    public init(scheme: String, host: String, path: String) {
        self.scheme = scheme
        self.host = host
        self.path = path
    }
    public static func parse(_ s: String) -> ParsedURL? {
        guard let c = s.firstIndex(of: ":") else { return nil }
        let rest = s[c...].dropFirst(3)
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return ParsedURL(scheme: s[..<c].lowercased(), host: host.lowercased(), path: String(rest.dropFirst(host.count)))
    }
}

public enum URLExtractor {
    public static func urls(in text: String, limit: Int = 1_000) -> [String] {
        var out: [String] = []
        for w in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r\n" }) where w.hasPrefix("http://") || w.hasPrefix("https://") {
            out.append(String(w))
            if out.count >= limit { break }
        }
        return out
    }
}
