/// A domain name as a sequence of labels (bytes, compared with ASCII case folding).
///
/// The root is the empty list. Text forms are dotted, with or without the trailing dot; the
/// text form escapes nothing, so a label containing a dot cannot be written as text (DNS lists
/// and mail never need one).
public struct DomainName: Sendable, Hashable, CustomStringConvertible {
    /// The labels, most specific first (`["www", "example", "com"]`).
    public private(set) var labels: [[UInt8]]

    /// The root name (`.`).
    public static let root = DomainName(uncheckedLabels: [])

    init(uncheckedLabels: [[UInt8]]) { self.labels = uncheckedLabels }

    /// A name of these labels; nil when a label is empty or over 63 bytes, or the name is over
    /// 255 bytes in wire form.
    public init?(labels: [[UInt8]]) {
        var wire = 1
        for l in labels {
            guard !l.isEmpty, l.count <= DNSWireLimits.maxLabelBytes else { return nil }
            wire += 1 + l.count
        }
        guard wire <= DNSWireLimits.maxNameBytes else { return nil }
        self.labels = labels
    }

    /// Parses dotted text (`mail.example.com` or `mail.example.com.`; `.` and `""` are the root).
    public init?(_ text: String) {
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        if bytes.isEmpty {
            self.init(uncheckedLabels: [])
            return
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map { Array($0) }
        self.init(labels: parts)
    }

    /// Length in wire form (uncompressed), including the root byte.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// The name lower-cased (ASCII letters only).
    public var lowercased: DomainName {
        DomainName(uncheckedLabels: labels.map { $0.map(asciiLower) })
    }

    /// Whether two names are equal ignoring ASCII case.
    public func equalsIgnoringCase(_ other: DomainName) -> Bool {
        guard labels.count == other.labels.count else { return false }
        for (a, b) in zip(labels, other.labels) {
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where asciiLower(x) != asciiLower(y) { return false }
        }
        return true
    }

    /// Dotted text without the trailing dot; the root is `.`. Bytes that are not UTF-8 become
    /// U+FFFD.
    public var description: String {
        labels.isEmpty ? "." : labels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
    }
}

@inline(__always)
func asciiLower(_ c: UInt8) -> UInt8 {
    c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c + 32 : c
}
