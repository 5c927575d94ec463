#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A local URI blocklist: domains (and IP addresses), one a line, `#` comments.
///
/// A URL is listed when its host, or a parent domain of its host down to its registrable domain,
/// is in the list: `evil.example` lists `www.evil.example` and `a.b.evil.example`;
/// `bad.hosting.example` lists `x.bad.hosting.example` but not `hosting.example`.
public struct URIBlocklist: Sendable, Hashable {
    public private(set) var domains: Set<String> = []
    /// Lines read past this are ignored.
    public static let maxEntries = 1_000_000

    public init(_ domains: some Sequence<String> = [String]()) {
        for d in domains { insert(d) }
    }

    /// Parses the file format.
    public init(text: String) {
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let content = line.prefix { $0 != "#" }
            guard let word = content.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { continue }
            insert(String(word))
            if domains.count >= Self.maxEntries { break }
        }
    }

    /// Reads a file in the format above.
    public init(contentsOfFile path: String) throws(RuleError) {
        guard let file = fopen(path, "rb") else {
            throw RuleError(.unreadableFile, rule: "", "cannot read the URI blocklist", file: path)
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 256 << 20 { throw RuleError(.unreadableFile, rule: "", "the blocklist is over 256 MiB", file: path) }
        }
        self.init(text: String(decoding: bytes, as: UTF8.self))
    }

    public mutating func insert(_ domain: String) {
        var d = domain.lowercased()
        while d.hasSuffix(".") { d.removeLast() }
        if d.hasPrefix("*.") { d.removeFirst(2) }
        guard !d.isEmpty else { return }
        domains.insert(Punycode.toASCII(d) ?? d)
    }

    public var isEmpty: Bool { domains.isEmpty }

    /// The listed name that lists `url`, if any.
    public func listedName(for url: AnalyzedURL) -> String? {
        listedName(host: url.host, registrableDomain: url.registrableDomain, isIPAddress: url.isIPAddress)
    }

    /// ``listedName(for:)`` of a URL's host names.
    func listedName(host: String, registrableDomain: String, isIPAddress: Bool) -> String? {
        guard !domains.isEmpty else { return nil }
        if isIPAddress { return domains.contains(host) ? host : nil }
        var name = Substring(host)
        while true {
            if domains.contains(String(name)) { return String(name) }
            guard name.count > registrableDomain.count, let dot = name.firstIndex(of: ".") else { return nil }
            name = name[name.index(after: dot)...]
        }
    }
}
