// STUB: to be replaced by the full implementation (iconv, aliases, sniffing).
public struct DecodedText: Sendable, Hashable {
    public var text: String
    public var charset: String
    public var anomalies: [Anomaly]
    public init(text: String, charset: String, anomalies: [Anomaly] = []) {
        self.text = text
        self.charset = charset
        self.anomalies = anomalies
    }
}

public enum Charset {
    public static func normalize(_ label: String) -> String? { label.lowercased() }
    public static func decode(_ bytes: ArraySlice<UInt8>, declared: String?) -> DecodedText {
        DecodedText(text: String(decoding: bytes, as: UTF8.self), charset: "utf-8")
    }
}
