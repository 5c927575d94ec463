/// One header field as it stood in the message.
///
/// `rawRange` and `valueRange` index into the owning message's bytes, so that code that needs
/// the exact bytes (DKIM canonicalization) can have them; `value` is the unfolded value as text.
public struct HeaderField: Sendable, Hashable {
    /// The field name as written, without trailing white space.
    public var name: String
    /// The unfolded value (CRLF/LF before white space removed), leading white space trimmed,
    /// not RFC 2047 decoded. Bytes that are not UTF-8 are read as Latin-1.
    public var value: String
    /// The whole field, from the first byte of the name to the end of its last line, excluding
    /// the final line break.
    public var rawRange: Range<Int>
    /// The bytes after the colon, up to the end of the last line, excluding the final line break.
    public var valueRange: Range<Int>

    public init(name: String, value: String, rawRange: Range<Int>, valueRange: Range<Int>) {
        self.name = name
        self.value = value
        self.rawRange = rawRange
        self.valueRange = valueRange
    }

    /// The value with RFC 2047 encoded words decoded.
    public var decodedValue: String { EncodedWords.decode(value).text }

    /// ASCII case-insensitive comparison of the field name.
    public func hasName(_ other: String) -> Bool { ASCII.equalFolded(name, other) }
}

/// The header fields of a message or of a MIME part, in order.
public struct HeaderFields: Sendable, Hashable, RandomAccessCollection {
    public var fields: [HeaderField]
    public init(_ fields: [HeaderField] = []) { self.fields = fields }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> HeaderField { fields[position] }

    /// The first field with this name (ASCII case-insensitive).
    public func first(_ name: String) -> HeaderField? { fields.first { $0.hasName(name) } }
    /// Every field with this name, in order.
    public func all(_ name: String) -> [HeaderField] { fields.filter { $0.hasName(name) } }
    /// The unfolded value of the first field with this name.
    public subscript(_ name: String) -> String? { first(name)?.value }
}

enum ASCII {
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b &- 65) < 26 ? b | 0x20 : b }

    static func equalFolded(_ a: String, _ b: String) -> Bool {
        // ASCII folding keeps the UTF-8 length: different lengths never compare equal.
        guard a.utf8.count == b.utf8.count else { return false }
        // Native strings (nearly all): compare the contiguous bytes.
        if let r = a.utf8.withContiguousStorageIfAvailable({ x in
            b.utf8.withContiguousStorageIfAvailable { y -> Bool in
                for i in 0..<x.count where lower(x[i]) != lower(y[i]) { return false }
                return true
            }
        }), let equal = r {
            return equal
        }
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return true
            case let (x?, y?): if lower(x) != lower(y) { return false }
            default: return false
            }
        }
    }

    static func equalFolded(_ bytes: ArraySlice<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { lit in
            var i = bytes.startIndex
            for c in lit {
                if lower(bytes[i]) != lower(c) { return false }
                i += 1
            }
            return true
        }
    }

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }
}
