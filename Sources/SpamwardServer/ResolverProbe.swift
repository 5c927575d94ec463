import Logging
import MailAuth
import NIOCore
import NIOPosix
import SpamwardDNS

/// The start-up check that the configured DNS servers answer at all: authentication (and the
/// DNS lists) ask the DNS for every message, and with a server that never answers each scan
/// waits for the resolver's timeouts.
public enum ResolverProbe {
    /// One server that did not answer the probe.
    public struct Silent: Sendable, Hashable {
        /// The server, `host:port`.
        public var server: String
        /// What the probe got instead of an answer (a timeout, a network error).
        public var error: String
    }

    /// The name asked: RFC 6761 reserves `.invalid`, so any working resolver answers NXDOMAIN
    /// at once and nothing about this host leaks to the outside.
    public static let probeName = "spamward-probe.invalid"

    /// Asks each of `configuration`'s servers once (concurrently, no retries, no cache) and
    /// returns the ones that did not answer within `timeoutMilliseconds`. Any DNS reply counts as
    /// an answer, an error code too (NXDOMAIN, SERVFAIL, REFUSED): those end a lookup at once.
    public static func silentServers(
        _ configuration: DNSResolverConfiguration, timeoutMilliseconds: Int = 1000,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async -> [Silent] {
        await withTaskGroup(of: Silent?.self) { tasks in
            for server in configuration.servers {
                tasks.addTask {
                    let one = DNSResolverConfiguration(
                        servers: [server], timeoutMilliseconds: timeoutMilliseconds, attempts: 1, cacheMaxEntries: 0)
                    let resolver = NIODNSResolver(configuration: one, eventLoopGroup: group)
                    do throws(DNSError) {
                        _ = try await resolver.lookup(probeName, .a)
                        await resolver.shutdown()
                        return nil
                    } catch {
                        await resolver.shutdown()
                        guard error.code == .timeout || error.code == .network else { return nil }
                        return Silent(server: server.description, error: "\(error.code)")
                    }
                }
            }
            var silent: [Silent] = []
            for await s in tasks { if let s { silent.append(s) } }
            return silent.sorted { $0.server < $1.server }
        }
    }

    /// Probes the servers and logs a warning for each silent one, saying what it means.
    /// Returns the silent servers.
    @discardableResult
    public static func warnIfSilent(_ configuration: DNSResolverConfiguration, timeoutMilliseconds: Int = 1000,
                                    logger: Logger) async -> [Silent] {
        let silent = await silentServers(configuration, timeoutMilliseconds: timeoutMilliseconds)
        let all = silent.count == configuration.servers.count
        let waitMilliseconds = configuration.timeoutMilliseconds * configuration.attempts * configuration.servers.count
        for s in silent {
            logger.warning(
                all
                    ? "DNS server does not answer: every scan will wait for the DNS timeouts; fix [dns] servers or turn [authentication] off"
                    : "DNS server does not answer: lookups that try it wait for its timeout; fix [dns] servers",
                metadata: [
                    "dns.server": "\(s.server)", "dns.error": "\(s.error)",
                    "dns.probe_timeout_ms": "\(timeoutMilliseconds)",
                    "dns.worst_case_wait_ms": "\(waitMilliseconds)",
                ])
        }
        return silent
    }
}
