import DNSWire
import MailAuth

/// What one response says about one question: pure, so it is tested without sockets.
enum DNSAnswer: Equatable {
    /// The final result and how long it may be cached (nil: not at all).
    case result(DNSLookupResult, ttlSeconds: UInt32?)
    /// The response ends at a CNAME whose target it does not answer for (and has no SOA saying
    /// there is nothing there): ask again for `target`. `steps` CNAMEs were followed.
    case follow(target: DomainName, steps: Int, ttlSeconds: UInt32)
    /// An error RCODE or an unusable response.
    case failure(DNSError.Code, String)

    /// Reads `response` as the answer to (`name`, `type`), following CNAMEs in the answer section
    /// for at most `maxCNAMEChain` steps.
    static func interpret(
        _ response: DNSMessage, name: DomainName, type: DNSRecordType, maxCNAMEChain: Int
    ) -> DNSAnswer {
        let rcode = response.flags.responseCode
        switch rcode {
        case .noError, .nameError: break
        case .serverFailure: return .failure(.serverFailure, "SERVFAIL")
        case .refused: return .failure(.refused, "REFUSED")
        case .formatError: return .failure(.formatError, "FORMERR")
        case .notImplemented: return .failure(.notImplemented, "NOTIMP")
        default: return .failure(.other, "RCODE \(rcode.rawValue)")
        }
        let qtype = ResourceRecordType(rawValue: type.rawValue)
        var current = name
        var steps = 0
        var ttl = UInt32.max
        var seen: [DomainName] = [name.lowercased]
        while true {
            let matching = response.answers.filter {
                $0.type == qtype && $0.rrClass == .in && $0.name.equalsIgnoringCase(current)
            }
            if !matching.isEmpty {
                let records = matching.compactMap(record)
                guard !records.isEmpty else { return .failure(.notImplemented, "\(type) has no DNSRecord form") }
                return .result(.answer(records), ttlSeconds: min(ttl, matching.map(\.ttl).min() ?? 0))
            }
            guard qtype != .cname,
                let alias = response.answers.first(where: {
                    $0.type == .cname && $0.rrClass == .in && $0.name.equalsIgnoringCase(current)
                }), case .cname(let target) = alias.data
            else { break }
            steps += 1
            ttl = min(ttl, alias.ttl)
            guard steps <= maxCNAMEChain else { return .failure(.serverFailure, "CNAME chain too long") }
            let lower = target.lowercased
            guard !seen.contains(lower) else { return .failure(.serverFailure, "CNAME loop") }
            seen.append(lower)
            current = target
        }
        // Nothing of the type at the end of the chain: negative, with the SOA's TTL (RFC 2308
        // section 5: the lesser of the SOA record's TTL and its MINIMUM field).
        let soaTTL: UInt32? = response.authorities.lazy.compactMap { r -> UInt32? in
            if case .soa(let soa) = r.data { min(r.ttl, soa.minimumSeconds) } else { nil }
        }.first
        if rcode == .nameError { return .result(.nxDomain, ttlSeconds: soaTTL.map { min($0, ttl) }) }
        if steps > 0 && soaTTL == nil { return .follow(target: current, steps: steps, ttlSeconds: ttl) }
        return .result(.noData, ttlSeconds: soaTTL.map { min($0, ttl) })
    }

    /// The MailAuth form of a record, for the types it has one.
    static func record(_ r: ResourceRecord) -> DNSRecord? {
        switch r.data {
        case .a(let v): return .a(IPv4Address(v))
        case .aaaa(let b):
            guard b.count == 16 else { return nil }
            return .aaaa(IPv6Address(b.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }))
        case .mx(let preference, let exchange): return .mx(preference: preference, exchange: exchange.description)
        case .txt(let strings): return .txt(TXTRecord(strings: strings))
        case .ptr(let n): return .ptr(n.description)
        case .cname(let n): return .cname(n.description)
        default: return nil
        }
    }
}
