import MailAuth
import SpamwardEdge
import TOMLKit

extension ServerConfiguration {
    /// `[edge]`: the SMTP edge (docs/edge.md). `spamward serve` runs it when `enabled`;
    /// `spamward edge --config FILE` runs it alone with these settings (its flags override them).
    public struct Edge: Sendable {
        /// Run the edge inside `spamward serve`. Default false.
        public var enabled: Bool = false
        /// The edge's settings. Defaults as in ``EdgeConfiguration``, except that it listens on
        /// loopback (127.0.0.1:25) until told otherwise.
        public var configuration: EdgeConfiguration

        public init() {
            var c = EdgeConfiguration()
            c.listenHost = "127.0.0.1"
            configuration = c
        }
    }

    /// The keys of `[edge]` and its subsections.
    static let edgeKeys: Set<String> = [
        "enabled", "listen", "backend", "hostname", "forwarding", "allow", "deny", "pipelining", "max_message_bytes",
        "max_connections", "max_recipients", "max_errors", "command_timeout_seconds", "session_timeout_seconds",
        "backend_timeout_seconds", "backend_pool_size", "backend_pool_idle_seconds", "max_backend_connections", "drain_seconds", "pregreet_wait_ms", "pregreet_teaser", "dnsbl_sites",
        "dnsbl_threshold", "dnsbl_timeout_ms", "dnsbl_sentinels", "dnsbl_default_sentinels", "passed_ttl_seconds", "tls_certificate", "tls_key", "actions", "greylist",
        "rate",
    ]

    /// Reads `[edge]` into `c.edge`, adding every problem to `reader`.
    static func parseEdge(_ t: TOMLTable, into c: inout ServerConfiguration, reader: inout TOMLReader) {
        let s = "edge"
        reader.section(t, s, known: edgeKeys)
        var e = c.edge.configuration
        c.edge.enabled = reader.bool(t, s, "enabled") ?? c.edge.enabled
        for (key, isListen) in [("listen", true), ("backend", false)] {
            guard let text = reader.string(t, s, key) else { continue }
            guard let a = ListenAddress(text) else {
                reader.problems.append("edge.\(key): \"\(text)\" is not host:port")
                continue
            }
            if isListen {
                e.listenHost = a.host
                e.listenPort = a.port
            } else {
                guard a.port != 0 else {
                    reader.problems.append("edge.backend: port 0 is not a backend")
                    continue
                }
                e.backendHost = a.host
                e.backendPort = a.port
            }
        }
        if let name = reader.string(t, s, "hostname") {
            if isValidHostname(name) { e.hostname = name } else { reader.problems.append("edge.hostname: \"\(name)\" is not a host name") }
        }
        e.forwarding = reader.choice(t, s, "forwarding", EdgeConfiguration.ClientForwarding.self) ?? e.forwarding
        for (key, isAllow) in [("allow", true), ("deny", false)] {
            guard let list = reader.strings(t, s, key) else { continue }
            var nets: [IPNetwork] = []
            for item in list {
                if let n = IPNetwork(item) { nets.append(n) } else { reader.problems.append("edge.\(key): \"\(item)\" is not an address or CIDR network") }
            }
            if isAllow { e.allowlist = nets } else { e.denylist = nets }
        }
        e.announcePipelining = reader.bool(t, s, "pipelining") ?? e.announcePipelining
        e.maxMessageBytes = reader.int(t, s, "max_message_bytes", in: 1024...(1 << 30)) ?? e.maxMessageBytes
        e.maxConnections = reader.int(t, s, "max_connections", in: 1...1_000_000) ?? e.maxConnections
        e.maxRecipients = reader.int(t, s, "max_recipients", in: 1...100_000) ?? e.maxRecipients
        e.maxErrors = reader.int(t, s, "max_errors", in: 1...1000) ?? e.maxErrors
        e.commandTimeoutSeconds = reader.int(t, s, "command_timeout_seconds", in: 1...86_400) ?? e.commandTimeoutSeconds
        e.sessionTimeoutSeconds = reader.int(t, s, "session_timeout_seconds", in: 1...86_400) ?? e.sessionTimeoutSeconds
        e.backendTimeoutSeconds = reader.int(t, s, "backend_timeout_seconds", in: 1...3600) ?? e.backendTimeoutSeconds
        e.backendPoolSize = reader.int(t, s, "backend_pool_size", in: 0...10_000) ?? e.backendPoolSize
        e.backendPoolIdleSeconds = reader.int(t, s, "backend_pool_idle_seconds", in: 1...3600) ?? e.backendPoolIdleSeconds
        e.maxBackendConnections = reader.int(t, s, "max_backend_connections", in: 0...100_000) ?? e.maxBackendConnections
        e.drainSeconds = reader.int(t, s, "drain_seconds", in: 0...3600) ?? e.drainSeconds
        e.pregreetWaitMilliseconds = reader.int(t, s, "pregreet_wait_ms", in: 0...60_000) ?? e.pregreetWaitMilliseconds
        if let teaser = reader.string(t, s, "pregreet_teaser") {
            if teaser.isEmpty || teaser.utf8.count > 200 || teaser.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                reader.problems.append("edge.pregreet_teaser must be one line of 1 to 200 printable characters")
            } else {
                e.pregreetTeaser = teaser
            }
        }
        if let list = reader.strings(t, s, "dnsbl_sites") {
            var sites: [DNSListSite] = []
            for item in list {
                do throws(DNSListSyntaxError) {
                    sites.append(try DNSListSite(parsing: item))
                } catch {
                    reader.problems.append("edge.dnsbl_sites: \"\(item)\" is not site[=filter][*weight] (\(error.code))")
                }
            }
            e.dnsLists = sites
        }
        let keepDefaults = reader.bool(t, s, "dnsbl_default_sentinels")
        let sentinels = reader.sentinels(t, s, "dnsbl_sentinels")
        if keepDefaults != nil || sentinels != nil {
            e.dnsSentinels = DNSListSentinel.merged(
                defaults: e.dnsSentinels, keepDefaults: keepDefaults ?? true, with: sentinels ?? [])
        }
        e.dnsThreshold = reader.int(t, s, "dnsbl_threshold", in: 1...1000) ?? e.dnsThreshold
        e.dnsTimeoutMilliseconds = reader.int(t, s, "dnsbl_timeout_ms", in: 10...60_000) ?? e.dnsTimeoutMilliseconds
        e.passedTTLSeconds = reader.int(t, s, "passed_ttl_seconds", in: 0...(365 * 86_400)) ?? e.passedTTLSeconds
        e.tlsCertificatePath = reader.string(t, s, "tls_certificate") ?? e.tlsCertificatePath
        e.tlsKeyPath = reader.string(t, s, "tls_key") ?? e.tlsKeyPath
        if (e.tlsCertificatePath == nil) != (e.tlsKeyPath == nil) {
            reader.problems.append("edge.tls_certificate and edge.tls_key must be set together")
        }

        if let a = reader.subsection(t, s, "actions") {
            reader.section(a, "edge.actions", known: Set(EdgeTest.allCases.map(\.rawValue)))
            for test in EdgeTest.allCases {
                if let action = reader.choice(a, "edge.actions", test.rawValue, TestAction.self) { e.actions[test] = action }
            }
        }
        if let g = reader.subsection(t, s, "greylist") {
            let n = "edge.greylist"
            reader.section(g, n, known: ["enabled", "delay_seconds", "retry_window_seconds", "max_age_seconds", "max_entries"])
            e.greylist.enabled = reader.bool(g, n, "enabled") ?? e.greylist.enabled
            e.greylist.delaySeconds = reader.int(g, n, "delay_seconds", in: 0...86_400) ?? e.greylist.delaySeconds
            e.greylist.retryWindowSeconds = reader.int(g, n, "retry_window_seconds", in: 60...(30 * 86_400)) ?? e.greylist.retryWindowSeconds
            e.greylist.maxAgeSeconds = reader.int(g, n, "max_age_seconds", in: 60...(365 * 86_400)) ?? e.greylist.maxAgeSeconds
            e.greylist.maxEntries = reader.int(g, n, "max_entries", in: 1...100_000_000) ?? e.greylist.maxEntries
            if e.greylist.retryWindowSeconds <= e.greylist.delaySeconds {
                reader.problems.append("edge.greylist.retry_window_seconds must be longer than edge.greylist.delay_seconds")
            }
        }
        if let r = reader.subsection(t, s, "rate") {
            let n = "edge.rate"
            reader.section(r, n, known: [
                "connections_per_minute_per_address", "burst_per_address", "connections_per_minute_per_subnet",
                "burst_per_subnet", "max_concurrent_per_address", "max_concurrent_per_subnet",
            ])
            func rate(_ key: String) -> Double? {
                guard let d = reader.double(r, n, key) else { return nil }
                guard d >= 0, d <= 1_000_000 else {
                    reader.problems.append("\(n).\(key) must be a number in 0...1000000 (0: off)")
                    return nil
                }
                return d
            }
            e.rate.connectionsPerMinutePerAddress = rate("connections_per_minute_per_address") ?? e.rate.connectionsPerMinutePerAddress
            e.rate.burstPerAddress = rate("burst_per_address") ?? e.rate.burstPerAddress
            e.rate.connectionsPerMinutePerSubnet = rate("connections_per_minute_per_subnet") ?? e.rate.connectionsPerMinutePerSubnet
            e.rate.burstPerSubnet = rate("burst_per_subnet") ?? e.rate.burstPerSubnet
            e.rate.maxConcurrentPerAddress = reader.int(r, n, "max_concurrent_per_address", in: 0...1_000_000) ?? e.rate.maxConcurrentPerAddress
            e.rate.maxConcurrentPerSubnet = reader.int(r, n, "max_concurrent_per_subnet", in: 0...1_000_000) ?? e.rate.maxConcurrentPerSubnet
        }
        c.edge.configuration = e
    }

    /// A DNS host name (letters, digits, hyphens, dots; labels of 1 to 63; at most 253).
    static func isValidHostname(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { b in
                    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                        || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-")
                }
        }
    }

    /// `[edge]` as TOML (for `spamward config check`).
    func renderEdgeTOML(quote q: (String) -> String) -> String {
        let e = edge.configuration
        let actions = EdgeTest.allCases.map { "\($0.rawValue) = \(q(e.action(for: $0).rawValue))" }.joined(separator: "\n")
        func number(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d) }
        return """
            [edge]
            enabled = \(edge.enabled)
            listen = \(q(ListenAddress(host: e.listenHost, port: e.listenPort).description))
            backend = \(q(ListenAddress(host: e.backendHost, port: e.backendPort).description))
            hostname = \(q(e.hostname))
            forwarding = \(q(e.forwarding.rawValue))
            allow = [\(e.allowlist.map { q($0.description) }.joined(separator: ", "))]
            deny = [\(e.denylist.map { q($0.description) }.joined(separator: ", "))]
            pipelining = \(e.announcePipelining)
            max_message_bytes = \(e.maxMessageBytes)
            max_connections = \(e.maxConnections)
            max_recipients = \(e.maxRecipients)
            max_errors = \(e.maxErrors)
            command_timeout_seconds = \(e.commandTimeoutSeconds)
            session_timeout_seconds = \(e.sessionTimeoutSeconds)
            backend_timeout_seconds = \(e.backendTimeoutSeconds)
            backend_pool_size = \(e.backendPoolSize)
            backend_pool_idle_seconds = \(e.backendPoolIdleSeconds)
            max_backend_connections = \(e.maxBackendConnections)
            drain_seconds = \(e.drainSeconds)
            pregreet_wait_ms = \(e.pregreetWaitMilliseconds)
            pregreet_teaser = \(q(e.pregreetTeaser))
            dnsbl_sites = [\(e.dnsLists.map { q($0.description) }.joined(separator: ", "))]
            dnsbl_threshold = \(e.dnsThreshold)
            # the DNS lists' "query refused" replies in effect (defaults included), never scored
            dnsbl_default_sentinels = false
            dnsbl_sentinels = [\(e.dnsSentinels.map { q($0.configurationText) }.joined(separator: ", "))]
            dnsbl_timeout_ms = \(e.dnsTimeoutMilliseconds)
            passed_ttl_seconds = \(e.passedTTLSeconds)
            \(e.tlsCertificatePath.map { "tls_certificate = \(q($0))" } ?? "# tls_certificate: not set (no STARTTLS)")
            \(e.tlsKeyPath.map { "tls_key = \(q($0))" } ?? "# tls_key: not set")

            [edge.actions]
            \(actions)

            [edge.greylist]
            enabled = \(e.greylist.enabled)
            delay_seconds = \(e.greylist.delaySeconds)
            retry_window_seconds = \(e.greylist.retryWindowSeconds)
            max_age_seconds = \(e.greylist.maxAgeSeconds)
            max_entries = \(e.greylist.maxEntries)

            [edge.rate]
            connections_per_minute_per_address = \(number(e.rate.connectionsPerMinutePerAddress))
            burst_per_address = \(number(e.rate.burstPerAddress))
            connections_per_minute_per_subnet = \(number(e.rate.connectionsPerMinutePerSubnet))
            burst_per_subnet = \(number(e.rate.burstPerSubnet))
            max_concurrent_per_address = \(e.rate.maxConcurrentPerAddress)
            max_concurrent_per_subnet = \(e.rate.maxConcurrentPerSubnet)

            """
    }
}

extension TOMLReader {
    /// DNS list sentinel entries (`DOMAIN=IP[,IP...][:REASON]`); a bad entry is a problem.
    mutating func sentinels(_ t: TOMLTable, _ section: String, _ key: String) -> [DNSListSentinel]? {
        guard let list = strings(t, section, key) else { return nil }
        var out: [DNSListSentinel] = []
        for item in list.prefix(1000) {
            do throws(DNSListSentinelSyntaxError) {
                out.append(try DNSListSentinel(parsing: item))
            } catch {
                problems.append("\(section).\(key): \"\(item)\": \(error.explanation)")
            }
        }
        if list.count > 1000 { problems.append("\(section).\(key): at most 1000 entries") }
        return out
    }

    /// A nested table `[section.key]`.
    mutating func subsection(_ t: TOMLTable, _ section: String, _ key: String) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let table = v.table else {
            problems.append("\(section).\(key) must be a section ([\(section).\(key)])")
            return nil
        }
        return table
    }
}
