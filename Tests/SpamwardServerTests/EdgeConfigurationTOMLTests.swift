import MailAuth
import SpamwardEdge
import SpamwardServer
import Testing

/// `[edge]` in the server configuration: every key, the defaults, and clear errors.
@Suite struct EdgeConfigurationTOMLTests {
    @Test func defaultsAreOffAndOnLoopback() throws {
        let c = try ServerConfiguration.parse(toml: "")
        #expect(!c.edge.enabled)
        #expect(c.edge.configuration.listenHost == "127.0.0.1")
        #expect(c.edge.configuration.listenPort == 25)
        #expect(c.edge.configuration.passedTTLSeconds == 7 * 86_400)
        #expect(c.edge.configuration.tlsCertificatePath == nil)
        #expect(c.edge.configuration.actions == EdgeConfiguration.defaultActions)
    }

    @Test func everyKeyParses() throws {
        let c = try ServerConfiguration.parse(toml: """
            [edge]
            enabled = true
            listen = "0.0.0.0:2525"
            backend = "127.0.0.1:10026"
            hostname = "mx.example.org"
            forwarding = "xforward"
            allow = ["192.0.2.0/24", "2001:db8::/32"]
            deny = ["198.51.100.7"]
            pipelining = false
            max_message_bytes = 1048576
            max_connections = 500
            max_recipients = 20
            max_errors = 3
            command_timeout_seconds = 60
            session_timeout_seconds = 600
            backend_timeout_seconds = 30
            backend_pool_size = 8
            backend_pool_idle_seconds = 20
            max_backend_connections = 380
            drain_seconds = 5
            pregreet_wait_ms = 1000
            pregreet_teaser = "Wait for it"
            dnsbl_sites = ["zen.spamhaus.org=127.0.0.[2..11]*3", "list.dnswl.org=127.0.[0..255].[1..3]*-2"]
            dnsbl_threshold = 3
            dnsbl_timeout_ms = 800
            passed_ttl_seconds = 3600
            tls_certificate = "/etc/ssl/edge.pem"
            tls_key = "/etc/ssl/edge.key"
            [edge.actions]
            pregreet = "drop"
            dnsbl = "drop"
            bare_lf = "enforce"
            content = "ignore"
            [edge.greylist]
            enabled = true
            delay_seconds = 60
            retry_window_seconds = 3600
            max_age_seconds = 86400
            max_entries = 1000
            [edge.rate]
            connections_per_minute_per_address = 10
            burst_per_address = 5.5
            connections_per_minute_per_subnet = 0
            burst_per_subnet = 50
            max_concurrent_per_address = 2
            max_concurrent_per_subnet = 0
            """)
        let e = c.edge.configuration
        #expect(c.edge.enabled)
        #expect(e.listenHost == "0.0.0.0" && e.listenPort == 2525)
        #expect(e.backendHost == "127.0.0.1" && e.backendPort == 10026)
        #expect(e.hostname == "mx.example.org")
        #expect(e.forwarding == .xforward)
        #expect(e.allowlist.map(\.description) == ["192.0.2.0/24", "2001:db8::/32"])
        #expect(e.denylist.map(\.description) == ["198.51.100.7/32"])
        #expect(!e.announcePipelining)
        #expect(e.maxMessageBytes == 1_048_576 && e.maxConnections == 500 && e.maxRecipients == 20 && e.maxErrors == 3)
        #expect(e.commandTimeoutSeconds == 60 && e.sessionTimeoutSeconds == 600 && e.backendTimeoutSeconds == 30 && e.drainSeconds == 5)
        #expect(e.backendPoolSize == 8 && e.backendPoolIdleSeconds == 20 && e.maxBackendConnections == 380)
        #expect(e.pregreetWaitMilliseconds == 1000 && e.pregreetTeaser == "Wait for it")
        #expect(e.dnsLists.map(\.domain) == ["zen.spamhaus.org", "list.dnswl.org"])
        #expect(e.dnsLists.map(\.weight) == [3, -2])
        #expect(e.dnsThreshold == 3 && e.dnsTimeoutMilliseconds == 800)
        #expect(e.passedTTLSeconds == 3600)
        #expect(e.tlsCertificatePath == "/etc/ssl/edge.pem" && e.tlsKeyPath == "/etc/ssl/edge.key")
        #expect(e.action(for: .pregreet) == .drop && e.action(for: .dnsbl) == .drop)
        #expect(e.action(for: .bareLF) == .enforce && e.action(for: .content) == .ignore)
        #expect(e.action(for: .helo) == EdgeConfiguration.defaultActions[.helo])
        #expect(e.greylist.enabled && e.greylist.delaySeconds == 60 && e.greylist.retryWindowSeconds == 3600)
        #expect(e.greylist.maxAgeSeconds == 86_400 && e.greylist.maxEntries == 1000)
        #expect(e.rate.connectionsPerMinutePerAddress == 10 && e.rate.burstPerAddress == 5.5)
        #expect(e.rate.connectionsPerMinutePerSubnet == 0 && e.rate.burstPerSubnet == 50)
        #expect(e.rate.maxConcurrentPerAddress == 2 && e.rate.maxConcurrentPerSubnet == 0)
    }

    @Test func everyProblemIsReportedWithItsKey() {
        let text = """
            [edge]
            enabled = "yes"
            listen = "everywhere"
            backend = "127.0.0.1:0"
            hostname = "bad name!"
            forwarding = "smoke-signals"
            allow = ["10.0.0.0/33"]
            deny = [1]
            dnsbl_sites = ["zen.spamhaus.org*x"]
            dnsbl_threshold = 0
            pregreet_wait_ms = -5
            max_backend_connections = -1
            pregreet_teaser = "two\\nlines"
            tls_certificate = "/etc/ssl/edge.pem"
            typo_key = 1
            [edge.actions]
            pregreet = "explode"
            no_such_test = "drop"
            [edge.greylist]
            delay_seconds = 600
            retry_window_seconds = 300
            [edge.rate]
            burst_per_address = -1
            """
        #expect {
            try ServerConfiguration.parse(toml: text)
        } throws: { error in
            guard let e = error as? ConfigurationError else { return false }
            let all = e.problems.joined(separator: "\n")
            let expected = [
                "edge.enabled", "edge.listen", "edge.backend", "edge.hostname", "edge.forwarding", "edge.allow", "edge.deny",
                "edge.dnsbl_sites", "edge.dnsbl_threshold", "edge.pregreet_wait_ms", "edge.max_backend_connections", "edge.pregreet_teaser",
                "edge.tls_certificate and edge.tls_key", "typo_key", "edge.actions.pregreet", "no_such_test",
                "edge.greylist.retry_window_seconds", "edge.rate.burst_per_address",
            ]
            for key in expected where !all.contains(key) {
                Issue.record("no problem mentions \(key):\n\(all)")
            }
            return true
        }
    }

    @Test func renderedSettingsParseBackToTheSame() throws {
        let c = try ServerConfiguration.parse(toml: """
            [edge]
            enabled = true
            listen = "[::1]:2525"
            deny = ["198.51.100.0/24"]
            dnsbl_sites = ["bl.example.org=127.0.0.2*2"]
            [edge.actions]
            helo = "ignore"
            [edge.rate]
            burst_per_address = 7.5
            """)
        let text = c.renderTOML(storePathDefault: "/tmp/s.sqlite")
        #expect(text.contains("[edge]\nenabled = true"))
        #expect(text.contains("listen = \"[::1]:2525\""))
        #expect(text.contains("helo = \"ignore\""))
        let again = try ServerConfiguration.parse(toml: text)
        let (a, b) = (c.edge.configuration, again.edge.configuration)
        #expect(again.edge.enabled)
        #expect(a.listenHost == b.listenHost && a.listenPort == b.listenPort)
        #expect(a.denylist == b.denylist && a.dnsLists == b.dnsLists && a.actions == b.actions)
        #expect(a.rate == b.rate && a.greylist == b.greylist && a.passedTTLSeconds == b.passedTTLSeconds)
    }

    /// The teaser is held while the DNS lists are asked: a DNS timeout at or above the pregreet
    /// wait is warned about (the defaults, 1,500 ms under 2,000 ms, are not).
    @Test func dnsTimeoutNotBelowThePregreetWaitIsWarnedAbout() throws {
        func warnings(_ extra: String) throws -> [String] {
            try ServerConfiguration.parse(toml: """
                [edge]
                enabled = true
                dnsbl_sites = ["zen.spamhaus.org=127.0.0.[2..11]*3"]
                \(extra)
                """).warnings.filter { $0.contains("dnsbl_timeout_ms") }
        }
        #expect(try warnings("").isEmpty)
        #expect(try warnings("pregreet_wait_ms = 1000\ndnsbl_timeout_ms = 999").isEmpty)
        let w = try warnings("pregreet_wait_ms = 1000\ndnsbl_timeout_ms = 1000")
        #expect(w.count == 1 && w[0].contains("(1000)"), "\(w)")
        #expect(try warnings("pregreet_wait_ms = 0\ndnsbl_timeout_ms = 5000").isEmpty)  // no pregreet test
    }
}
