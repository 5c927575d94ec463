/// One raw header field of a message: the exact bytes, folding and the final CRLF included.
public struct DKIMHeaderField: Sendable, Hashable {
    /// The field name as written (bytes before the colon, trailing WSP removed).
    public var name: String
    /// The whole field, including the terminating CRLF (when the message had one).
    public var raw: [UInt8]

    /// A field from its name and raw bytes.
    public init(name: String, raw: [UInt8]) {
        self.name = name
        self.raw = raw
    }

    /// The value: the bytes after the first colon, terminating CRLF removed.
    public var value: ArraySlice<UInt8> {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return [] }
        var end = raw.endIndex
        if end - 2 > colon, raw[end - 2] == 0x0D, raw[end - 1] == 0x0A { end -= 2 }
        return raw[(colon + 1)..<end]
    }
}

/// Splits a message into raw header fields and body, and canonicalizes them (RFC 6376 section 3.4).
public enum DKIMCanonicalizer {
    /// The message with every bare LF turned into CRLF (messages stored with Unix line endings).
    public static func normalizingLineEndings(_ message: [UInt8]) -> [UInt8] {
        var needs = false
        for i in message.indices where message[i] == 0x0A && (i == 0 || message[i - 1] != 0x0D) {
            needs = true
            break
        }
        guard needs else { return message }
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 32)
        for i in message.indices {
            if message[i] == 0x0A && (i == 0 || message[i - 1] != 0x0D) { out.append(0x0D) }
            out.append(message[i])
        }
        return out
    }

    /// The header fields (in order) and the body (after the empty line) of a CRLF message. A
    /// message without an empty line is all header; a line that is neither a field nor a
    /// continuation becomes a field with an empty name.
    public static func split(_ message: [UInt8]) -> (headers: [DKIMHeaderField], body: ArraySlice<UInt8>) {
        var fields: [DKIMHeaderField] = []
        var i = 0
        let n = message.count
        var current: [UInt8] = []
        func flush() {
            guard !current.isEmpty else { return }
            var nameEnd = current.firstIndex(of: UInt8(ascii: ":")) ?? 0
            while nameEnd > 0 && (current[nameEnd - 1] == 0x20 || current[nameEnd - 1] == 0x09) { nameEnd -= 1 }
            fields.append(DKIMHeaderField(name: String(decoding: current[..<nameEnd], as: UTF8.self), raw: current))
            current = []
        }
        while i < n {
            // The line [i, end) including its CRLF.
            var end = i
            while end < n && !(message[end] == 0x0A && end > i && message[end - 1] == 0x0D) { end += 1 }
            end = min(end + 1, n)
            let isEmptyLine = end - i == 2 && message[i] == 0x0D
            if isEmptyLine {
                flush()
                return (fields, message[end...])
            }
            if message[i] == 0x20 || message[i] == 0x09 {
                current.append(contentsOf: message[i..<end])
            } else {
                flush()
                current.append(contentsOf: message[i..<end])
            }
            i = end
        }
        flush()
        return (fields, message[n...])
    }

    static func isWSP(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    /// A header field canonicalized. For `simple` the raw bytes; for `relaxed` the name
    /// lower-cased, lines unfolded, WSP runs reduced to one space and removed around the colon
    /// and at the end. Always ends with CRLF unless `withCRLF` is false.
    public static func header(
        _ field: DKIMHeaderField, _ c: DKIMCanonicalization, withCRLF: Bool = true
    ) -> [UInt8] {
        switch c {
        case .simple:
            var raw = field.raw
            let hasCRLF = raw.count >= 2 && raw[raw.count - 2] == 0x0D && raw[raw.count - 1] == 0x0A
            if withCRLF && !hasCRLF { raw += [0x0D, 0x0A] }
            if !withCRLF && hasCRLF { raw.removeLast(2) }
            return raw
        case .relaxed:
            var out = Array(DKIMTagList.lowercased(field.name).utf8)
            out.append(UInt8(ascii: ":"))
            var pendingSpace = false
            var started = false
            for c in field.value {
                if c == 0x0D || c == 0x0A { continue }
                if isWSP(c) {
                    pendingSpace = true
                    continue
                }
                if pendingSpace && started { out.append(0x20) }
                pendingSpace = false
                started = true
                out.append(c)
            }
            if withCRLF { out += [0x0D, 0x0A] }
            return out
        }
    }

    /// The body canonicalized (`simple`: trailing empty lines removed, an empty body becomes
    /// CRLF; `relaxed`: also WSP runs reduced to one space and removed at line ends, and an empty
    /// body stays empty). A body whose last line lacks CRLF gets one.
    public static func body(_ body: ArraySlice<UInt8>, _ c: DKIMCanonicalization) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 2)
        switch c {
        case .simple:
            out.append(contentsOf: body)
        case .relaxed:
            var pendingSpace = false
            var i = body.startIndex
            while i < body.endIndex {
                let ch = body[i]
                if isWSP(ch) {
                    pendingSpace = true
                } else if ch == 0x0D && i + 1 < body.endIndex && body[i + 1] == 0x0A {
                    pendingSpace = false  // WSP at the end of a line is dropped
                    out.append(0x0D)
                    out.append(0x0A)
                    i += 1
                } else {
                    if pendingSpace { out.append(0x20) }
                    pendingSpace = false
                    out.append(ch)
                }
                i += 1
            }
            // Trailing WSP on an unterminated last line is dropped as well.
        }
        // Complete an unterminated last line.
        if !out.isEmpty && !(out.count >= 2 && out[out.count - 2] == 0x0D && out[out.count - 1] == 0x0A) {
            out += [0x0D, 0x0A]
        }
        // Remove trailing empty lines.
        while out.count >= 4 && out[out.count - 4] == 0x0D && out[out.count - 3] == 0x0A
            && out[out.count - 2] == 0x0D && out[out.count - 1] == 0x0A
        {
            out.removeLast(2)
        }
        if out == [0x0D, 0x0A] && c == .relaxed { out = [] }
        if out.isEmpty && c == .simple { out = [0x0D, 0x0A] }
        return out
    }

    /// The DKIM-Signature field with the value of its `b=` tag removed (RFC 6376 section 3.7),
    /// all other bytes unchanged.
    public static func removingSignatureValue(_ field: DKIMHeaderField) -> DKIMHeaderField {
        let raw = field.raw
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return field }
        var out = Array(raw[...colon])
        var i = colon + 1
        while i < raw.count {
            // One tag-spec: [i, semicolon).
            var semi = i
            while semi < raw.count && raw[semi] != UInt8(ascii: ";") { semi += 1 }
            let spec = raw[i..<semi]
            if let eq = spec.firstIndex(of: UInt8(ascii: "=")),
                DKIMTagList.trimFWS(spec[spec.startIndex..<eq]).elementsEqual([UInt8(ascii: "b")])
            {
                out.append(contentsOf: raw[i...eq])
                // Keep a final CRLF when b= is the last tag.
                if semi == raw.count, raw.count >= 2, raw[raw.count - 2] == 0x0D, raw[raw.count - 1] == 0x0A,
                    raw.count - 2 > eq
                {
                    out += [0x0D, 0x0A]
                }
            } else {
                out.append(contentsOf: spec)
            }
            if semi < raw.count { out.append(UInt8(ascii: ";")) }
            i = semi + 1
        }
        return DKIMHeaderField(name: field.name, raw: out)
    }

    /// The header fields named in `h=`, each chosen from the bottom up (RFC 6376 section 5.4.2);
    /// names without a (further) instance contribute nothing.
    public static func selectHeaders(_ names: [String], from fields: [DKIMHeaderField]) -> [DKIMHeaderField] {
        var used: [String: Int] = [:]  // name -> how many instances (from the bottom) used so far
        var out: [DKIMHeaderField] = []
        for name in names {
            let key = DKIMTagList.lowercased(name)
            let skip = used[key, default: 0]
            var seen = 0
            for field in fields.reversed() where DKIMTagList.lowercased(field.name) == key {
                if seen == skip {
                    out.append(field)
                    break
                }
                seen += 1
            }
            used[key] = skip + 1
        }
        return out
    }
}
