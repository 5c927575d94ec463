/// A MIME header value of the form `value; name=value; …` (Content-Type, Content-Disposition,
/// Content-Transfer-Encoding), parsed per RFC 2045 and RFC 2231 with the tolerance real mail
/// needs:
///
/// - quoted strings with backslash escapes; a missing closing quote runs to the end;
/// - comments `( … )` skipped; empty and repeated semicolons ignored; a missing semicolon
///   between parameters (`text/html charset=utf-8`) tolerated;
/// - RFC 2231 continuations (`name*0=`, `name*1*=`) reassembled, and `charset'lang'%XX`
///   values decoded with ``Charset``; an RFC 2231 value wins over a plain one of the same
///   name;
/// - RFC 2047 encoded words in values (`name="=?utf-8?B?…?="`, as old clients and spammers
///   write them) decoded, except in `boundary`;
/// - a repeated parameter keeps its first value (``Anomaly/duplicateParameter``).
public struct ParameterizedValue: Sendable, Hashable {
    /// The main token, lowercased, without white space, quotes or comments
    /// ("attachment", "text/plain").
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
        var parser = ParameterParser(Array(fieldValue.utf8))
        return parser.parse()
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

    /// Parses a Content-Type field value. A value without a usable `type/subtype` (garbage,
    /// `text`, `/`, empty) gives `nil` and ``Anomaly/badContentType``; trailing junk after
    /// the subtype (`text/html/`) is dropped, also with ``Anomaly/badContentType``.
    public static func parse(_ fieldValue: String) -> (ContentType?, [Anomaly]) {
        let p = ParameterizedValue.parse(fieldValue)
        var value = p.value
        return value.withUTF8 { parse(main: $0[...], p) }
    }

    /// `main`: the UTF-8 of `p.value`.
    private static func parse(main: Slice<UnsafeBufferPointer<UInt8>>, _ p: ParameterizedValue) -> (ContentType?, [Anomaly]) {
        guard let slash = main.firstIndex(of: UInt8(ascii: "/")) else {
            return (nil, Charset.uniqued([.badContentType] + p.anomalies))
        }
        let type = main[..<slash]
        let rest = main[(slash + 1)...]
        let subtype = rest.prefix(while: ParameterParser.isTokenByte)
        guard !type.isEmpty, type.allSatisfy(ParameterParser.isTokenByte), !subtype.isEmpty else {
            return (nil, Charset.uniqued([.badContentType] + p.anomalies))
        }
        var anomalies = p.anomalies
        if subtype.count != rest.count { anomalies.append(.badContentType) }
        let ct = ContentType(
            type: String(decoding: type, as: UTF8.self), subtype: String(decoding: subtype, as: UTF8.self),
            parameters: p.parameters)
        return (ct, Charset.uniqued(anomalies))
    }
}
