import Logging
import MailAuth
import SpamwardCore
import SpamwardDNS

extension ServerConfiguration.DNS {
    /// The resolver settings: the configured servers, else those of /etc/resolv.conf.
    public var resolverConfiguration: DNSResolverConfiguration {
        let parsed = servers.compactMap { DNSServerAddress($0) }
        return DNSResolverConfiguration(
            servers: parsed.isEmpty ? nil : parsed, timeoutMilliseconds: timeoutMilliseconds, attempts: attempts)
    }
}

extension ServerConfiguration {
    /// The authentication stage `[authentication]` asks for, on `resolver`; nil when it is
    /// disabled or when the Public Suffix List (Debian package `publicsuffix`) is missing, which
    /// is logged as a warning (DMARC cannot find organizational domains without it).
    public func authenticationStage(resolver: any DNSResolver, logger: Logger) -> AuthenticationStage? {
        guard authentication.enabled else { return nil }
        guard let psl = PublicSuffixList.system else {
            logger.warning(
                "email authentication off: no Public Suffix List",
                metadata: ["path": "\(PublicSuffixList.systemPath)"])
            return nil
        }
        return AuthenticationStage(
            authenticator: MessageAuthenticator(resolver: resolver, publicSuffixList: psl),
            authservID: authentication.authservID ?? Self.hostName())
    }
}
