/// The outcome of looking up the DMARC policy for an RFC5322.From domain.
public enum DMARCPolicyLookup: Sendable, Hashable {
    /// A usable record, and the domain it was published at (`_dmarc.` stripped): the From domain
    /// itself, or its organizational domain.
    case found(DMARCRecord, domain: String)
    /// No DMARC record (or several, which RFC 7489 says to treat as none) at either name.
    case none
    /// A record that cannot be used; no DMARC processing applies.
    case invalid(DMARCRecordError, domain: String)
    /// A DNS error; the caller may defer the message (DMARC `temperror`).
    case temporaryError(DNSError)
}

extension DMARCRecord {
    /// Policy discovery (RFC 7489 section 6.6.3): TXT at `_dmarc.<from domain>`; when that has
    /// no DMARC record, TXT at `_dmarc.<organizational domain>` (found with `publicSuffixList`).
    /// Records not starting with `v=DMARC1` are ignored; more than one DMARC record at a name
    /// counts as none there.
    public static func discover(
        fromDomain: String, resolver: any DNSResolver, publicSuffixList: PublicSuffixList
    ) async -> DMARCPolicyLookup {
        let domain = DNSName.normalized(fromDomain)
        var candidates = [domain]
        if let organizational = publicSuffixList.organizationalDomain(of: domain), organizational != domain {
            candidates.append(organizational)
        }
        for name in candidates {
            let query = "_dmarc." + name
            guard DNSName.isQueryable(query) else { continue }
            let answer: DNSLookupResult
            do {
                answer = try await resolver.lookup(query, .txt)
            } catch {
                return .temporaryError(error)
            }
            let texts = answer.txtRecords.map(\.text).filter(DMARCRecord.isDMARCRecord)
            guard texts.count == 1 else { continue }
            do {
                return .found(try DMARCRecord(parsing: texts[0]), domain: name)
            } catch {
                return .invalid(error, domain: name)
            }
        }
        return .none
    }
}
