/// The parser behind ``ParameterizedValue/parse(_:)``: one pass over the bytes of the field
/// value, then RFC 2231 reassembly. Every loop advances by at least one byte.
struct ParameterParser {
    private let bytes: [UInt8]
    private var pos = 0
    private var anomalies: [Anomaly] = []

    /// A parameter as written.
    private struct RawParameter {
        var name: String
        var value: String
    }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Sections beyond this are ignored (RFC 2231 gives no limit; real values use a handful).
    static let maxSection = 999

    mutating func parse() -> ParameterizedValue {
        let main = parseMainValue()
        var raw: [RawParameter] = []
        while pos < bytes.count {
            if let p = parseParameter() { raw.append(p) }
        }
        let parameters = assemble(raw)
        return ParameterizedValue(value: main, parameters: parameters, anomalies: Charset.uniqued(anomalies))
    }

    // MARK: Lexing

    static func isTokenByte(_ b: UInt8) -> Bool {
        guard b > 0x20, b < 0x7F else { return false }
        switch b {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"),
            UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "\""),
            UInt8(ascii: "/"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "?"), UInt8(ascii: "="):
            return false
        default:
            return true
        }
    }

    private static func isSpace(_ b: UInt8) -> Bool { ASCII.isWhitespace(b) }

    /// Skips a comment starting at `pos` (which holds `(`); nested, with backslash escapes; an
    /// unterminated one runs to the end.
    private mutating func skipComment() {
        var depth = 0
        while pos < bytes.count {
            let b = bytes[pos]
            pos += 1
            if b == UInt8(ascii: "\\") {
                pos += 1
            } else if b == UInt8(ascii: "(") {
                depth += 1
            } else if b == UInt8(ascii: ")") {
                depth -= 1
                if depth == 0 { return }
            }
        }
        pos = bytes.count
    }

    private mutating func skipSpaceAndComments() {
        while pos < bytes.count {
            if Self.isSpace(bytes[pos]) {
                pos += 1
            } else if bytes[pos] == UInt8(ascii: "(") {
                skipComment()
            } else {
                return
            }
        }
    }

    /// Reads a quoted string starting at `pos` (which holds `"`), undoing backslash escapes.
    private mutating func readQuoted() -> [UInt8] {
        var out: [UInt8] = []
        pos += 1
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return out
            }
            if b == UInt8(ascii: "\\"), pos + 1 < bytes.count {
                out.append(bytes[pos + 1])
                pos += 2
                continue
            }
            if b != 0x0D && b != 0x0A { out.append(b) }
            pos += 1
        }
        anomalies.append(.badParameter)  // no closing quote
        return out
    }

    /// Moves past the next `;` outside quotes and comments (or to the end).
    private mutating func skipToNextSemicolon() {
        var junk = false
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: ";") {
                pos += 1
                break
            } else if b == UInt8(ascii: "(") {
                skipComment()
            } else if b == UInt8(ascii: "\"") {
                junk = true
                _ = readQuoted()
            } else {
                if !Self.isSpace(b) { junk = true }
                pos += 1
            }
        }
        if junk { anomalies.append(.badParameter) }
    }

    // MARK: Main value

    /// The main value up to the first `;`: comments and quotes removed, white space squeezed
    /// out ("text / html" → "text/html"). A `name=value` after white space means a forgotten
    /// semicolon: the main value ends there and parameters start.
    private mutating func parseMainValue() -> String {
        var out: [UInt8] = []
        var afterSpace = false
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: ";") {
                pos += 1
                break
            } else if Self.isSpace(b) {
                afterSpace = !out.isEmpty
                pos += 1
            } else if b == UInt8(ascii: "(") {
                skipComment()
                afterSpace = !out.isEmpty
            } else if b == UInt8(ascii: "\"") {
                for c in readQuoted() where !Self.isSpace(c) { out.append(ASCII.lower(c)) }
            } else {
                if afterSpace, looksLikeParameter(at: pos) {
                    anomalies.append(.badParameter)
                    break
                }
                afterSpace = false
                out.append(ASCII.lower(b))
                pos += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `token=` starts at `i`.
    private func looksLikeParameter(at i: Int) -> Bool {
        var j = i
        while j < bytes.count, Self.isTokenByte(bytes[j]) || bytes[j] == UInt8(ascii: "*") { j += 1 }
        guard j > i else { return false }
        while j < bytes.count, Self.isSpace(bytes[j]) { j += 1 }
        return j < bytes.count && bytes[j] == UInt8(ascii: "=")
    }

    // MARK: Parameters

    private mutating func parseParameter() -> RawParameter? {
        skipSpaceAndComments()
        guard pos < bytes.count else { return nil }
        if bytes[pos] == UInt8(ascii: ";") {
            pos += 1  // empty parameter
            return nil
        }
        let nameStart = pos
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "=") || b == UInt8(ascii: ";") || b == UInt8(ascii: "(") || b == UInt8(ascii: "\"")
                || Self.isSpace(b)
            {
                break
            }
            pos += 1
        }
        // Lowercased straight into the String (no intermediate array; names are short, so
        // mostly small strings without any allocation).
        let name = bytes.withUnsafeBufferPointer { b in
            let run = UnsafeBufferPointer(rebasing: b[nameStart..<pos])
            return String(unsafeUninitializedCapacity: run.count) { out in
                for k in 0..<run.count { out[k] = ASCII.lower(run[k]) }
                return run.count
            }
        }
        skipSpaceAndComments()
        guard !name.isEmpty, pos < bytes.count, bytes[pos] == UInt8(ascii: "=") else {
            // A name without a value, or a value without a name.
            anomalies.append(.badParameter)
            if pos == nameStart, pos < bytes.count, bytes[pos] != UInt8(ascii: ";") {
                pos += 1  // make progress on a stray byte
            }
            skipToNextSemicolon()
            return nil
        }
        pos += 1
        skipSpaceAndComments()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") {
            let value = readQuoted()
            skipToNextSemicolon()
            return RawParameter(name: name, value: String(decoding: value, as: UTF8.self))
        }
        return RawParameter(name: name, value: String(decoding: readUnquotedValue(), as: UTF8.self))
    }

    /// An unquoted value: up to the next `;`, trimmed, with trailing comments removed. If,
    /// after white space, another `name=` follows, the value ends there (forgotten semicolon).
    private mutating func readUnquotedValue() -> [UInt8] {
        var out: [UInt8] = []
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: ";") {
                pos += 1
                break
            }
            if Self.isSpace(b) {
                let next = nextNonSpace(after: pos)
                if looksLikeParameter(at: next) {
                    anomalies.append(.badParameter)
                    pos = next
                    break
                }
                out.append(contentsOf: bytes[pos..<next].filter { $0 != 0x0D && $0 != 0x0A })
                pos = next
                continue
            }
            if b != 0x0D && b != 0x0A { out.append(b) }
            pos += 1
        }
        Self.dropTrailingComments(&out)
        return out
    }

    private func nextNonSpace(after i: Int) -> Int {
        var j = i
        while j < bytes.count, Self.isSpace(bytes[j]) { j += 1 }
        return j
    }

    /// Trims white space and removes comments at the end of an unquoted value
    /// ("us-ascii (Plain text)" → "us-ascii"), but only a comment that starts after white
    /// space, so that "report (1).pdf" and "report(1)" keep their parentheses.
    private static func dropTrailingComments(_ out: inout [UInt8]) {
        while true {
            while let last = out.last, isSpace(last) { out.removeLast() }
            guard out.last == UInt8(ascii: ")") else { return }
            var depth = 0
            var i = out.count - 1
            var open: Int?
            while i >= 0 {
                if out[i] == UInt8(ascii: ")") {
                    depth += 1
                } else if out[i] == UInt8(ascii: "(") {
                    depth -= 1
                    if depth == 0 {
                        open = i
                        break
                    }
                }
                i -= 1
            }
            guard let open, open > 0, isSpace(out[open - 1]) else { return }
            out.removeSubrange(open...)
        }
    }

    // MARK: RFC 2231 and RFC 2047

    private struct Section {
        var value: String
        var encoded: Bool
    }

    private mutating func assemble(_ raw: [RawParameter]) -> [String: String] {
        // Plain parameters go to the result directly (their encoded words decoded when they
        // are first seen); RFC 2231 ones are joined at the end and win over plain ones.
        var result: [String: String] = [:]
        var extended: [String: [Int: Section]] = [:]
        var extendedOrder: [String] = []
        for p in raw {
            if let (base, section, encoded) = Self.splitExtendedName(p.name) {
                guard section <= Self.maxSection else {
                    anomalies.append(.badParameter)
                    continue
                }
                if extended[base] == nil { extendedOrder.append(base) }
                if extended[base, default: [:]][section] != nil {
                    anomalies.append(.duplicateParameter)
                } else {
                    extended[base, default: [:]][section] = Section(value: p.value, encoded: encoded)
                }
            } else if result[p.name] != nil {
                anomalies.append(.duplicateParameter)
            } else if p.name != "boundary", p.value.utf8.contains(UInt8(ascii: "?")) {
                let decoded = EncodedWords.decode(p.value)
                anomalies.append(contentsOf: decoded.anomalies)
                result[p.name] = decoded.text
            } else {
                result[p.name] = p.value
            }
        }
        for base in extendedOrder {
            guard let sections = extended[base] else { continue }
            result[base] = joinSections(sections)
        }
        return result
    }

    /// "name*" → (name, 0, true); "name*3" → (name, 3, false); "name*3*" → (name, 3, true);
    /// anything else → nil.
    private static func splitExtendedName(_ name: String) -> (String, Int, Bool)? {
        let u = Array(name.utf8)
        guard let star = u.firstIndex(of: UInt8(ascii: "*")), star > 0 else { return nil }
        let base = String(decoding: u[..<star], as: UTF8.self)
        let rest = u[(star + 1)...]
        if rest.isEmpty { return (base, 0, true) }
        var digits = rest
        var encoded = false
        if digits.last == UInt8(ascii: "*") {
            encoded = true
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var n = 0
        for d in digits { n = n * 10 + Int(d - 0x30) }
        return (base, n, encoded)
    }

    private mutating func joinSections(_ sections: [Int: Section]) -> String {
        var bytes: [UInt8] = []
        var charset: String?
        var next = 0
        for key in sections.keys.sorted() {
            guard key == next, let s = sections[key] else {
                anomalies.append(.badParameter)  // a gap: the rest can't be placed
                break
            }
            next += 1
            var value = Array(s.value.utf8)[...]
            if s.encoded && key == 0 {
                // charset'language'text
                if let q1 = value.firstIndex(of: UInt8(ascii: "'")),
                    let q2 = value[(q1 + 1)...].firstIndex(of: UInt8(ascii: "'"))
                {
                    charset = String(decoding: value[..<q1], as: UTF8.self)
                    value = value[(q2 + 1)...]
                } else {
                    anomalies.append(.badParameter)
                }
            }
            if s.encoded {
                percentDecode(value, into: &bytes)
            } else {
                bytes.append(contentsOf: value)
            }
        }
        if let charset, !charset.isEmpty {
            let decoded = Charset.decode(bytes[...], declared: charset)
            anomalies.append(contentsOf: decoded.anomalies)
            return decoded.text
        }
        return Charset.decodeHeaderBytes(bytes[...])
    }

    private mutating func percentDecode(_ value: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var i = value.startIndex
        while i < value.endIndex {
            let b = value[i]
            if b == UInt8(ascii: "%") {
                if let hi = Self.hex(value, i + 1), let lo = Self.hex(value, i + 2) {
                    out.append(hi << 4 | lo)
                    i += 3
                    continue
                }
                anomalies.append(.badParameter)
            }
            out.append(b)
            i += 1
        }
    }

    private static func hex(_ s: ArraySlice<UInt8>, _ i: Int) -> UInt8? {
        guard i < s.endIndex else { return nil }
        let c = s[i]
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
