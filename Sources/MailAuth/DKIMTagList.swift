/// The tag=value lists of DKIM (RFC 6376 section 3.2), shared by signatures and key records.
struct DKIMTagList: Sendable {
    /// The tags in order, names as written (case-sensitive), values with surrounding FWS removed.
    var tags: [(name: String, value: String)] = []

    /// The value of `name`, if present.
    subscript(_ name: String) -> String? { tags.first { $0.name == name }?.value }

    /// Parses `tag-list = tag-spec *( ";" tag-spec ) [ ";" ]`. A duplicate tag or a malformed
    /// tag-spec throws `syntaxError` / `duplicateTag` through `makeError`.
    static func parse<E: Error>(
        _ bytes: [UInt8], syntax: (String) -> E, duplicate: (String) -> E
    ) throws(E) -> DKIMTagList {
        var list = DKIMTagList()
        var seen: Set<String> = []
        let specs = tagSpecs(bytes)
        for (index, trimmed) in specs.enumerated() {
            if trimmed.isEmpty {
                // Only a trailing ";" may leave an empty tag-spec.
                if index == specs.count - 1 && specs.count > 1 { continue }
                throw syntax("empty tag-spec")
            }
            guard let eq = trimmed.firstIndex(of: UInt8(ascii: "=")) else {
                throw syntax("tag without '='")
            }
            let nameBytes = trimFWS(trimmed[trimmed.startIndex..<eq])
            guard let first = nameBytes.first, isAlpha(first),
                nameBytes.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "_") })
            else { throw syntax("invalid tag name") }
            let valueBytes = trimFWS(trimmed[(eq + 1)...])
            // tag-value: tval *( 1*(WSP / FWS) tval ), tval = 1*VALCHAR (%x21-3A / %x3C-7E).
            for c in valueBytes where !(c >= 0x21 && c <= 0x7E) && !isFWS(c) {
                throw syntax("invalid character in tag value")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard seen.insert(name).inserted else { throw duplicate(name) }
            list.tags.append((name, String(decoding: valueBytes, as: UTF8.self)))
        }
        return list
    }

    /// The tag-specs of a tag-list: split at `;`, FWS around each removed, empty ones kept.
    /// Shared by the strict DKIM parser above and the lenient DMARC one (``lenientTags(_:)``).
    static func tagSpecs(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var specs: [ArraySlice<UInt8>] = []
        var start = 0
        for i in bytes.indices where bytes[i] == UInt8(ascii: ";") {
            specs.append(trimFWS(bytes[start..<i]))
            start = i + 1
        }
        specs.append(trimFWS(bytes[start..<bytes.count]))
        return specs
    }

    /// DMARC's reading of a tag-list (RFC 7489 section 6.4): names lower-cased, values trimmed,
    /// empty tag-specs skipped, a tag-spec without `=` kept as a name with an empty value; no
    /// errors (the record parser decides what is fatal).
    static func lenientTags(_ bytes: [UInt8]) -> [(name: String, value: String)] {
        tagSpecs(bytes).compactMap { spec in
            if spec.isEmpty { return nil }
            guard let eq = spec.firstIndex(of: UInt8(ascii: "=")) else {
                return (lowercased(String(decoding: spec, as: UTF8.self)), "")
            }
            return (
                lowercased(String(decoding: trimFWS(spec[spec.startIndex..<eq]), as: UTF8.self)),
                String(decoding: trimFWS(spec[(eq + 1)...]), as: UTF8.self)
            )
        }
    }

    static func isFWS(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
    static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    static func trimFWS(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex
        var hi = s.endIndex
        while lo < hi && isFWS(s[lo]) { lo += 1 }
        while hi > lo && isFWS(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    /// `s` without any FWS characters.
    static func removingFWS(_ s: String) -> String {
        String(decoding: s.utf8.filter { !isFWS($0) }, as: UTF8.self)
    }

    /// A colon-separated list, each element with FWS removed; empty elements kept as "".
    static func colonList(_ s: String) -> [String] {
        s.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map {
            String(decoding: $0.filter { !isFWS($0) }, as: UTF8.self)
        }
    }

    /// ASCII lower-case.
    static func lowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// A decimal number of 1...12 digits (RFC 6376 limits to 12 digits, for time stamps: 40 bits+).
    static func number(_ s: String, maxDigits: Int = 12) -> Int64? {
        guard !s.isEmpty, s.utf8.count <= maxDigits, s.utf8.allSatisfy(isDigit) else { return nil }
        return Int64(s)
    }
}

/// Base64 (RFC 4648) as DKIM uses it: FWS anywhere is ignored (RFC 6376 section 2.4).
public enum DKIMBase64 {
    /// The decoded bytes, or nil when the text is not valid base64 (padding is optional only in
    /// the sense that a complete final quantum needs none; stray `=` in the middle is invalid).
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for c in text.utf8 {
            if DKIMTagList.isFWS(c) { continue }
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0 else { return nil }
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            default: return nil
            }
            values.append(v)
        }
        guard padding <= 2 else { return nil }
        let remainder = values.count % 4
        guard remainder != 1 else { return nil }
        if padding > 0 && (remainder + padding) != 4 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var i = 0
        while i + 4 <= values.count {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12 | UInt32(values[i + 2]) << 6 | UInt32(values[i + 3])
            out.append(UInt8(truncatingIfNeeded: n >> 16))
            out.append(UInt8(truncatingIfNeeded: n >> 8))
            out.append(UInt8(truncatingIfNeeded: n))
            i += 4
        }
        if remainder == 2 {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12
            out.append(UInt8(truncatingIfNeeded: n >> 16))
        } else if remainder == 3 {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12 | UInt32(values[i + 2]) << 6
            out.append(UInt8(truncatingIfNeeded: n >> 16))
            out.append(UInt8(truncatingIfNeeded: n >> 8))
        }
        return out
    }

    /// Standard base64 with padding, no line breaks.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        let b = Array(bytes)
        var i = 0
        while i < b.count {
            let n0 = UInt32(b[i])
            let n1 = i + 1 < b.count ? UInt32(b[i + 1]) : 0
            let n2 = i + 2 < b.count ? UInt32(b[i + 2]) : 0
            let n = n0 << 16 | n1 << 8 | n2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < b.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < b.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
