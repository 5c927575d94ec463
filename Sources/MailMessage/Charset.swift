/// Text decoded from bytes in some charset, with what went wrong on the way.
public struct DecodedText: Sendable, Hashable {
    public var text: String
    /// The canonical name (see ``Charset/normalize(_:)``) of the charset the text was actually
    /// decoded with, which may differ from the declared one.
    public var charset: String
    public var anomalies: [Anomaly]
    public init(text: String, charset: String, anomalies: [Anomaly] = []) {
        self.text = text
        self.charset = charset
        self.anomalies = anomalies
    }
}

/// Charset names, decoding and detection.
///
/// US-ASCII, UTF-8, UTF-16, UTF-32, ISO-8859-1 and windows-1252 are decoded in Swift; every
/// other charset goes through the C library's iconv, one conversion descriptor per call (they
/// are not thread-safe, and opening one costs a few microseconds once glibc has loaded the
/// module). Decoding never fails: invalid sequences become U+FFFD and are reported as
/// ``Anomaly/badCharsetBytes``, and the output is bounded by four bytes of UTF-8 per input byte
/// plus 16.
public enum Charset {
    /// The canonical lowercase name of a charset label ("UTF8" → "utf-8", "cp1251" →
    /// "windows-1251", "x-sjis" → "shift_jis"), or `nil` when the label is unknown or garbage
    /// ("default_charset", "x-unknown").
    ///
    /// Aliases that are decoded the same way share one name: "gb2312"/"euc-cn",
    /// "gbk"/"cp936", "shift_jis"/"windows-31j"/"cp932", "euc-kr"/"ks_c_5601-1987"/"cp949".
    public static func normalize(_ label: String) -> String? {
        let key = CharsetTable.key(label)
        guard !key.isEmpty else { return nil }
        if let name = CharsetTable.aliases[key] { return name }
        // "x-cp1252", "x-mac-roman", "x-euc-jp": experimental names of known charsets.
        if key.hasPrefix("x"), let name = CharsetTable.aliases[String(key.dropFirst())] { return name }
        return nil
    }

    /// Decodes `bytes` to text.
    ///
    /// - A declared charset is trusted when the bytes decode cleanly in it. When they don't, the
    ///   charset is sniffed (``sniff(_:)``) and, if that decodes cleanly, used instead, with
    ///   ``Anomaly/charsetMismatch``; otherwise the declared charset's best effort is kept,
    ///   with ``Anomaly/badCharsetBytes``.
    /// - Text declared in a single-byte charset (or US-ASCII) that is valid UTF-8 with non-ASCII
    ///   characters is decoded as UTF-8 (``Anomaly/charsetMismatch``; for US-ASCII
    ///   ``Anomaly/badCharsetBytes``): in mail this is nearly always a mislabel.
    /// - A byte order mark wins over the declared charset.
    /// - An unknown label is reported as ``Anomaly/unknownCharset`` and the charset sniffed; an
    ///   absent one is sniffed silently.
    public static func decode(_ bytes: ArraySlice<UInt8>, declared: String?) -> DecodedText {
        var label = declared.map { CharsetTable.trimmedLabel($0) } ?? ""
        // RFC 2231 language. No `*` byte, no `*` Character: most labels are searched on bytes only.
        if label.utf8.contains(UInt8(ascii: "*")), let star = label.firstIndex(of: "*") {
            label = String(label[..<star])
        }
        if label.isEmpty { return decodeSniffed(bytes, anomalies: []) }
        guard let name = normalize(label) else { return decodeSniffed(bytes, anomalies: [.unknownCharset]) }
        return decodeDeclared(bytes, name: name)
    }

    /// ``decode(_:declared:)`` given what one pass over the bytes found. Plain 7-bit text (no
    /// 8-bit, NUL or ESC byte) declared in US-ASCII, UTF-8, ISO-8859-1 or windows-1252, or not
    /// declared, or declared with an unknown label, decodes as itself: one String, no sniffing,
    /// with the result ``decode(_:declared:)`` gives (which runs the sniffer, and for US-ASCII
    /// the ISO-2022 check, both of which end in "us-ascii" for such bytes, and finds no byte
    /// order mark). Anything else takes the general path.
    static func decode(_ bytes: ArraySlice<UInt8>, declared: String?, scan: SevenBitScan) -> DecodedText {
        guard scan.isPlain else { return decode(bytes, declared: declared) }
        let name: String
        if let declared, let known = CharsetTable.commonName(declared) {
            name = known
        } else {
            var label = declared.map { CharsetTable.trimmedLabel($0) } ?? ""
            if label.utf8.contains(UInt8(ascii: "*")), let star = label.firstIndex(of: "*") {
                label = String(label[..<star])
            }
            if label.isEmpty { return DecodedText(text: String(decoding: bytes, as: UTF8.self), charset: "us-ascii") }
            guard let normalized = normalize(label) else {
                return DecodedText(text: String(decoding: bytes, as: UTF8.self), charset: "us-ascii", anomalies: [.unknownCharset])
            }
            name = normalized
        }
        switch CharsetTable.decoder(name) {
        case .ascii?, .utf8?, .latin1?, .windows1252?:
            return DecodedText(text: String(decoding: bytes, as: UTF8.self), charset: name)
        default:
            return decodeDeclared(bytes, name: name)
        }
    }

    /// Decodes raw 8-bit header bytes: valid UTF-8 as is, anything else in the sniffed charset.
    public static func decodeHeaderBytes(_ bytes: ArraySlice<UInt8>) -> String {
        if let text = validUTF8String(bytes) { return text }
        let name = sniff(bytes)
        return (decodeStrict(bytes, name: name) ?? latin1Outcome(bytes)).text
    }

    /// Guesses the charset of undeclared bytes, in this order: byte order mark, UTF-16 by the
    /// position of zero bytes, 7-bit (ISO-2022-JP/KR/CN escape sequences, else "us-ascii"), valid
    /// UTF-8, Cyrillic (windows-1251 or KOI8-R), the CJK multibyte charsets (Shift_JIS, EUC-JP,
    /// EUC-KR, GBK, Big5) when most of the text is high-bit byte pairs, and finally
    /// windows-1252. Returns a canonical name.
    public static func sniff(_ bytes: ArraySlice<UInt8>) -> String {
        CharsetSniffer.sniff(bytes)
    }
}

// MARK: - Decoding policy

extension Charset {
    static func decodeSniffed(_ bytes: ArraySlice<UInt8>, anomalies: [Anomaly]) -> DecodedText {
        let name = sniff(bytes)
        let outcome = decodeStrict(bytes, name: name) ?? latin1Outcome(bytes)
        var anomalies = anomalies
        if outcome.errors > 0 { anomalies.append(.badCharsetBytes) }
        return DecodedText(text: outcome.text, charset: outcome.charset, anomalies: anomalies)
    }

    static func decodeDeclared(_ bytes: ArraySlice<UInt8>, name: String) -> DecodedText {
        // A byte order mark beats the label.
        if let bom = CharsetSniffer.bomCharset(bytes), !CharsetTable.agrees(bom: bom, with: name) {
            let outcome = decodeStrict(bytes, name: bom) ?? latin1Outcome(bytes)
            var anomalies: [Anomaly] = [.charsetMismatch]
            if outcome.errors > 0 { anomalies.append(.badCharsetBytes) }
            return DecodedText(text: outcome.text, charset: outcome.charset, anomalies: anomalies)
        }
        switch name {
        case "us-ascii":
            return decodeASCIIDeclared(bytes)
        case "utf-8":
            return decodeUTF8Declared(bytes)
        default:
            break
        }
        let highCount = CharsetSniffer.highByteCount(bytes)
        if CharsetTable.isSingleByte(name) {
            if highCount > 0, let text = validUTF8String(bytes) {
                return DecodedText(text: text, charset: "utf-8", anomalies: [.charsetMismatch])
            }
            guard let outcome = decodeStrict(bytes, name: name) else {
                return decodeSniffed(bytes, anomalies: [.unknownCharset])
            }
            return DecodedText(
                text: outcome.text, charset: name, anomalies: outcome.errors > 0 ? [.badCharsetBytes] : [])
        }
        guard let outcome = decodeStrict(bytes, name: name) else {
            // The C library lacks this converter (no gconv module): as good as unknown.
            return decodeSniffed(bytes, anomalies: [.unknownCharset])
        }
        if outcome.errors == 0 { return DecodedText(text: outcome.text, charset: name) }
        let sniffed = sniff(bytes)
        if CharsetTable.decoderKey(sniffed) != CharsetTable.decoderKey(name),
            let other = decodeStrict(bytes, name: sniffed), other.errors == 0
        {
            // A single-byte guess always "succeeds", so take it only when the declared
            // charset got a good part of the text wrong.
            let plausible = !CharsetTable.isSingleByte(sniffed) || outcome.errors * 5 > max(highCount, 1)
            if plausible {
                return DecodedText(text: other.text, charset: other.charset, anomalies: [.charsetMismatch])
            }
        }
        return DecodedText(text: outcome.text, charset: name, anomalies: [.badCharsetBytes])
    }

    private static func decodeASCIIDeclared(_ bytes: ArraySlice<UInt8>) -> DecodedText {
        let highCount = CharsetSniffer.highByteCount(bytes)
        if highCount == 0 {
            // 7-bit ISO-2022-JP text labelled us-ascii is a classic Japanese mislabel.
            if let iso = CharsetSniffer.iso2022Charset(bytes), let outcome = decodeStrict(bytes, name: iso),
                outcome.errors == 0
            {
                return DecodedText(text: outcome.text, charset: iso, anomalies: [.charsetMismatch])
            }
            return DecodedText(text: String(decoding: bytes, as: UTF8.self), charset: "us-ascii")
        }
        if let text = validUTF8String(bytes) {
            return DecodedText(text: text, charset: "utf-8", anomalies: [.badCharsetBytes])
        }
        var result = decodeSniffed(bytes, anomalies: [.badCharsetBytes])
        result.anomalies = uniqued(result.anomalies)
        return result
    }

    private static func decodeUTF8Declared(_ bytes: ArraySlice<UInt8>) -> DecodedText {
        if let text = validUTF8String(bytes) { return DecodedText(text: text, charset: "utf-8") }
        let scan = UTF8Scan(bytes)
        // Mostly UTF-8 with some damage (a cut sequence, a stray byte): keep it, lossy.
        if scan.multibyteSequences >= scan.invalidBytes {
            return DecodedText(text: utf8String(bytes, stripBOM: true), charset: "utf-8", anomalies: [.badCharsetBytes])
        }
        let sniffed = sniff(bytes)
        let outcome = decodeStrict(bytes, name: sniffed) ?? latin1Outcome(bytes)
        let anomalies: [Anomaly] = outcome.errors == 0 ? [.badCharsetBytes, .charsetMismatch] : [.badCharsetBytes]
        return DecodedText(text: outcome.text, charset: outcome.charset, anomalies: anomalies)
    }

    static func uniqued(_ anomalies: [Anomaly]) -> [Anomaly] {
        var seen: Set<Anomaly> = []
        return anomalies.filter { seen.insert($0).inserted }
    }
}
