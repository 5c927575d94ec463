/// One `Name: value` header line of a spamd request or response.
public struct SpamdHeaderField: Sendable, Hashable {
    /// The name as it appeared on the wire (lookups are case-insensitive).
    public var name: String
    /// The value, with the whitespace after the colon and trailing whitespace removed.
    public var value: String

    /// Creates a header field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The header lines of a request or response, in wire order, with case-insensitive lookup.
public struct SpamdHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields in the order they were received or will be sent.
    public private(set) var fields: [SpamdHeaderField]

    /// Creates headers from fields, keeping their order.
    public init(_ fields: [SpamdHeaderField] = []) {
        self.fields = fields
    }

    /// Creates headers from `(name, value)` pairs, keeping their order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { SpamdHeaderField(name: $0.0, value: $0.1) }
    }

    /// Appends a field.
    public mutating func add(name: String, value: String) {
        self.fields.append(SpamdHeaderField(name: name, value: value))
    }

    /// The value of the first field named `name` (ASCII case-insensitive), if any.
    public subscript(name: String) -> String? {
        self.fields.first { Self.namesMatch($0.name, name) }?.value
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order.
    public func values(for name: String) -> [String] {
        self.fields.filter { Self.namesMatch($0.name, name) }.map(\.value)
    }

    /// Whether a field named `name` is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// The number of fields.
    public var count: Int { self.fields.count }

    public func makeIterator() -> IndexingIterator<[SpamdHeaderField]> { self.fields.makeIterator() }

    static func namesMatch(_ a: String, _ b: String) -> Bool {
        let a = a.utf8
        let b = b.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { lowerASCII($0) == lowerASCII($1) }
    }
}

@inline(__always)
func lowerASCII(_ byte: UInt8) -> UInt8 {
    (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
}
