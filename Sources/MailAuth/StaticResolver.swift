/// A ``DNSResolver`` that answers from in-memory zone data: for tests, the conformance suites
/// and fixed local data.
///
/// Names are compared case-insensitively, with or without a trailing dot. A name that has no
/// records itself but has records below it (`example.com` when only `mail.example.com` is
/// listed) exists, so it answers ``DNSLookupResult/noData`` like a real server; other unknown
/// names answer ``DNSLookupResult/nxDomain``. CNAME records are followed (at most
/// ``maxCNAMEChain`` steps; a loop or a longer chain is a ``DNSError/Code/serverFailure``).
/// Failures can be injected per name and record type.
public struct StaticResolver: DNSResolver {
    private var zone: [String: [DNSRecord]] = [:]
    private var failures: [String: [Failure]] = [:]

    private struct Failure: Sendable {
        var code: DNSError.Code
        var types: Set<DNSRecordType>?
    }

    /// The longest CNAME chain followed.
    public var maxCNAMEChain = 8

    /// An empty zone.
    public init() {}

    /// A zone with these records per name.
    public init(_ records: [String: [DNSRecord]]) {
        for (name, list) in records { add(list, at: name) }
    }

    /// Adds one record at `name`.
    public mutating func add(_ record: DNSRecord, at name: String) {
        zone[DNSName.normalized(name), default: []].append(record)
    }

    /// Adds records at `name`, in order.
    public mutating func add(_ records: [DNSRecord], at name: String) {
        zone[DNSName.normalized(name), default: []].append(contentsOf: records)
    }

    /// Makes questions about `name` fail with `code` (by default a timeout): for the record types
    /// in `types`, or for every type when `types` is nil. The name counts as existing.
    public mutating func fail(_ name: String, with code: DNSError.Code = .timeout, types: Set<DNSRecordType>? = nil) {
        failures[DNSName.normalized(name), default: []].append(Failure(code: code, types: types))
    }

    /// Every name with records or failures, normalized.
    public var names: [String] { Array(Set(zone.keys).union(failures.keys)).sorted() }

    public func lookup(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSLookupResult {
        try answer(name, type)
    }

    /// The synchronous answer behind ``lookup(_:_:)``.
    public func answer(_ name: String, _ type: DNSRecordType) throws(DNSError) -> DNSLookupResult {
        guard DNSName.isQueryable(name) else {
            throw DNSError(code: .invalidName, name: name, type: type)
        }
        var current = DNSName.normalized(name)
        var seen: Set<String> = []
        for _ in 0...maxCNAMEChain {
            if let failure = failures[current]?.first(where: { $0.types?.contains(type) ?? true }) {
                throw DNSError(code: failure.code, name: name, type: type, detail: "injected for \(current)")
            }
            let here = zone[current] ?? []
            let matching = here.filter { $0.type == type }
            if !matching.isEmpty { return .answer(matching) }
            if type != .cname,
                let target = here.lazy.compactMap({ if case .cname(let t) = $0 { t } else { nil } }).first
            {
                seen.insert(current)
                current = DNSName.normalized(target)
                if seen.contains(current) {
                    throw DNSError(code: .serverFailure, name: name, type: type, detail: "CNAME loop at \(current)")
                }
                continue
            }
            return exists(current) ? .noData : .nxDomain
        }
        throw DNSError(code: .serverFailure, name: name, type: type, detail: "CNAME chain too long")
    }

    private func exists(_ name: String) -> Bool {
        if zone[name] != nil || failures[name] != nil { return true }
        let suffix = "." + name
        return zone.keys.contains { $0.hasSuffix(suffix) } || failures.keys.contains { $0.hasSuffix(suffix) }
    }
}
