// STUB: to be replaced by the full implementation (RFC 2045 / RFC 2231).
public struct ParameterizedValue: Sendable, Hashable {
    /// The main token, lowercased ("attachment", "text/plain").
    public var value: String
    /// Parameters by lowercased name, values unquoted and RFC 2231 / RFC 2047 decoded.
    public var parameters: [String: String]
    public var anomalies: [Anomaly]
    public init(value: String, parameters: [String: String] = [:], anomalies: [Anomaly] = []) {
        self.value = value
        self.parameters = parameters
        self.anomalies = anomalies
    }
    public static func parse(_ fieldValue: String) -> ParameterizedValue {
        let parts = fieldValue.split(separator: ";", omittingEmptySubsequences: true)
        var params: [String: String] = [:]
        for p in parts.dropFirst() {
            if let eq = p.firstIndex(of: "=") {
                let k = p[..<eq].trimmingSpaces.lowercased()
                var v = String(p[p.index(after: eq)...].trimmingSpaces)
                if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                params[k] = v
            }
        }
        return ParameterizedValue(value: (parts.first.map { String($0.trimmingSpaces) } ?? "").lowercased(), parameters: params)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r\n" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r\n" || l == "\n" { s = s.dropLast() }
        return s
    }
}

/// A MIME media type with its parameters.
public struct ContentType: Sendable, Hashable {
    public var type: String
    public var subtype: String
    public var parameters: [String: String]
    public init(type: String, subtype: String, parameters: [String: String] = [:]) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }
    public var mimeType: String { type + "/" + subtype }
    public var isMultipart: Bool { type == "multipart" }
    public var isText: Bool { type == "text" }
    public var isMessage: Bool { type == "message" }
    public var charset: String? { parameters["charset"] }
    public var boundary: String? { parameters["boundary"] }
    public static let textPlain = ContentType(type: "text", subtype: "plain")
    public static let messageRFC822 = ContentType(type: "message", subtype: "rfc822")

    /// Parses a Content-Type field value; `nil` type/subtype (garbage) gives `nil`.
    public static func parse(_ fieldValue: String) -> (ContentType?, [Anomaly]) {
        let p = ParameterizedValue.parse(fieldValue)
        let ts = p.value.split(separator: "/", maxSplits: 1)
        guard ts.count == 2, !ts[0].isEmpty, !ts[1].isEmpty else { return (nil, [.badContentType]) }
        return (ContentType(type: String(ts[0]), subtype: String(ts[1]), parameters: p.parameters), p.anomalies)
    }
}
