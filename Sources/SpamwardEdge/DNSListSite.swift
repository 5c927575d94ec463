import MailAuth

/// One DNS list in postscreen's syntax: `zone[=filter][*weight]`.
///
/// The filter matches the A records of a listing: `127.0.0.2`, `127.0.0.[2..11]`,
/// `127.0.0.[2;4;10]` (any octet may be a bracketed range or list). A negative weight makes the
/// zone an allowlist (DNSWL). Answers in 127.255.255.0/24 are the lists' "query refused or
/// blocked" sentinels (Spamhaus): they never score and raise a warning.
public struct DNSListSite: Sendable, Hashable, CustomStringConvertible {
    public var zone: String
    /// Per octet, the accepted values; nil accepts any address.
    public var filter: [ClosedRangeSet]?
    public var weight: Int

    /// A set of octet values.
    public struct ClosedRangeSet: Sendable, Hashable {
        public var ranges: [ClosedRange<UInt8>]
        public func contains(_ v: UInt8) -> Bool { ranges.contains { $0.contains(v) } }
    }

    public init?(_ text: String) {
        var s = Substring(text.trimmingCharacters())
        var weight = 1
        if let star = s.lastIndex(of: "*") {
            guard let w = Int(s[s.index(after: star)...]) else { return nil }
            weight = w
            s = s[..<star]
        }
        var filter: [ClosedRangeSet]?
        if let eq = s.firstIndex(of: "=") {
            let f = s[s.index(after: eq)...]
            s = s[..<eq]
            // Dots inside brackets belong to ranges (`[2..11]`), not to the address.
            var octets: [Substring] = []
            var depth = 0
            var start = f.startIndex
            for i in f.indices {
                if f[i] == "[" { depth += 1 } else if f[i] == "]" { depth -= 1 } else if f[i] == ".", depth == 0 {
                    octets.append(f[start..<i])
                    start = f.index(after: i)
                }
            }
            octets.append(f[start...])
            guard octets.count == 4 else { return nil }
            var sets: [ClosedRangeSet] = []
            for o in octets {
                if o.hasPrefix("[") && o.hasSuffix("]") {
                    var ranges: [ClosedRange<UInt8>] = []
                    for part in o.dropFirst().dropLast().split(separator: ";") {
                        let bounds = part.split(separator: ".", omittingEmptySubsequences: false)
                        if bounds.count == 3, bounds[1].isEmpty, let a = UInt8(bounds[0]), let b = UInt8(bounds[2]), a <= b {
                            ranges.append(a...b)
                        } else if let v = UInt8(part) {
                            ranges.append(v...v)
                        } else {
                            return nil
                        }
                    }
                    guard !ranges.isEmpty else { return nil }
                    sets.append(ClosedRangeSet(ranges: ranges))
                } else if let v = UInt8(o) {
                    sets.append(ClosedRangeSet(ranges: [v...v]))
                } else {
                    return nil
                }
            }
            filter = sets
        }
        guard !s.isEmpty, !s.contains(" ") else { return nil }
        zone = String(s)
        self.filter = filter
        self.weight = weight
    }

    /// Whether a listing's A record matches the filter.
    public func matches(_ a: IPv4Address) -> Bool {
        guard let filter else { return true }
        return zip(a.octets, filter).allSatisfy { $0.1.contains($0.0) }
    }

    public var description: String { "\(zone)*\(weight)" }
}

/// The result of querying all lists for one client.
public struct DNSListScore: Sendable, Hashable {
    public var score: Int = 0
    /// `zone=answer` for every scoring listing.
    public var hits: [String] = []
    /// Zones that answered with a refusal sentinel or failed (they did not score).
    public var warnings: [String] = []
}

/// Queries DNS lists in parallel against any ``DNSResolver``.
public struct DNSListChecker: Sendable {
    public let sites: [DNSListSite]
    public let resolver: any DNSResolver

    public init(sites: [DNSListSite], resolver: any DNSResolver) {
        self.sites = sites
        self.resolver = resolver
    }

    /// The weighted score of `address` (each site counts once, however many records match).
    public func score(_ address: IPAddress) async -> DNSListScore {
        let reversed = Self.reversedLabels(address)
        let resolver = self.resolver
        return await withTaskGroup(of: (DNSListSite, Result<DNSLookupResult, DNSError>).self) { group in
            for site in sites {
                group.addTask {
                    do throws(DNSError) {
                        return (site, .success(try await resolver.lookup("\(reversed).\(site.zone)", .a)))
                    } catch {
                        return (site, .failure(error))
                    }
                }
            }
            var result = DNSListScore()
            for await (site, answer) in group {
                switch answer {
                case .failure(let e):
                    result.warnings.append("\(site.zone): \(e.code)")
                case .success(let r):
                    let addresses = r.records.compactMap { if case .a(let a) = $0 { a } else { nil } }
                    if addresses.contains(where: { $0.octets[0] == 127 && $0.octets[1] == 255 && $0.octets[2] == 255 }) {
                        result.warnings.append("\(site.zone): refused sentinel \(addresses.map(\.description).joined(separator: ","))")
                        continue
                    }
                    if let hit = addresses.first(where: { site.matches($0) }) {
                        result.score += site.weight
                        result.hits.append("\(site.zone)=\(hit)")
                    }
                }
            }
            result.hits.sort()
            result.warnings.sort()
            return result
        }
    }

    /// `4.3.2.1` for 1.2.3.4; nibbles for IPv6.
    static func reversedLabels(_ address: IPAddress) -> String {
        let name = address.unmapped.reverseDNSName
        for suffix in [".in-addr.arpa", ".ip6.arpa"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
