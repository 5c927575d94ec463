import MailAuth

/// Any ``DNSResolver`` as one concrete type, for MailAuth's generic ``DNSListChecker``.
struct AnyDNSResolver: DNSResolver {
    let base: any DNSResolver

    func lookup(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSLookupResult {
        try await base.lookup(name, type)
    }
}
