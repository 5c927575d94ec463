import SpamwardCore
import SpamwardDNS
import SpamwardHTTP
import SpamwardServer
import Testing

@Suite struct ServerConfigurationTests {
    @Test func defaultsAreLoopbackAndSafe() throws {
        let c = try ServerConfiguration.parse(toml: "")
        for f in [c.milter, c.spamd, c.http] {
            #expect(f.listen.isLoopback)
            #expect(f.enabled)
        }
        #expect(c.onFault == .tempfail)
        #expect(c.access.password == nil)
        #expect(c.maxMessageBytes == 25 << 20)
        #expect(c.warnings.isEmpty)
    }

    @Test func fullFileParses() throws {
        let c = try ServerConfiguration.parse(toml: """
            [store]
            path = "/tmp/x.sqlite"
            [scan]
            spam_threshold = 3
            unsure_threshold = 1.5
            max_message_bytes = 1048576
            [policy]
            spam = "quarantine"
            unsure = "accept"
            on_fault = "accept"
            oversize = "tempfail"
            reject_text = "No thanks"
            [milter]
            listen = "[::1]:2000"
            idle_timeout_seconds = 60
            [spamd]
            enabled = false
            [http]
            listen = "0.0.0.0:8080"
            max_connections = 10
            [auth]
            password = "a long password"
            trusted_networks = ["10.0.0.0/8"]
            [log]
            level = "debug"
            """)
        #expect(c.storePath == "/tmp/x.sqlite")
        #expect(c.thresholds == Thresholds(unsure: 1.5, spam: 3))
        #expect(c.maxMessageBytes == 1_048_576)
        #expect(c.policy.spam == .quarantine && c.policy.unsure == .accept && c.policy.rejectText == "No thanks")
        #expect(c.onFault == .accept && c.oversize == .tempfail)
        #expect(c.milter.listen == ListenAddress(host: "::1", port: 2000))
        #expect(c.milter.idleTimeoutSeconds == 60)
        #expect(!c.spamd.enabled)
        #expect(c.http.maxConnections == 10)
        #expect(c.access.password == "a long password")
        #expect(c.access.trustedNetworks.map(\.description) == ["10.0.0.0/8"])
        #expect(c.logLevel == "debug")
        #expect(c.warnings.contains { $0.contains("http listens on 0.0.0.0:8080") })
    }

    @Test func everyProblemIsReported() {
        do {
            _ = try ServerConfiguration.parse(toml: """
                [scan]
                spam_treshold = 3
                max_message_bytes = "big"
                [policy]
                spam = "delete"
                [milter]
                listen = "nowhere"
                [auth]
                password = "short"
                trusted_networks = ["300.1.1.1/8"]
                [bogus]
                x = 1
                """)
            Issue.record("expected a ConfigurationError")
        } catch {
            let text = error.description
            for needle in ["spam_treshold", "max_message_bytes", "policy.spam", "milter.listen", "auth.password",
                           "300.1.1.1/8", "bogus"] {
                #expect(text.contains(needle), "missing \(needle) in: \(text)")
            }
            #expect(error.problems.count == 7)
        }
    }

    @Test func authenticationAndDNSSections() throws {
        let c = try ServerConfiguration.parse(toml: """
            [authentication]
            enabled = false
            authserv_id = "mx.example.org"
            [dns]
            servers = ["127.0.0.1:5354", "::1", "192.0.2.53"]
            timeout_ms = 500
            attempts = 3
            """)
        #expect(!c.authentication.enabled)
        #expect(c.authentication.authservID == "mx.example.org")
        #expect(c.dns.servers.compactMap { DNSServerAddress($0)?.description } == ["127.0.0.1:5354", "[::1]:53", "192.0.2.53:53"])
        #expect(c.dns.timeoutMilliseconds == 500 && c.dns.attempts == 3)
        let defaults = try ServerConfiguration.parse(toml: "")
        #expect(defaults.authentication.enabled && defaults.dns.servers.isEmpty)
        do {
            _ = try ServerConfiguration.parse(toml: """
                [authentication]
                authserv_id = "a b"
                [dns]
                servers = ["dns.example.org"]
                timeout_ms = 0
                """)
            Issue.record("bad values were accepted")
        } catch {
            #expect(error.problems.count == 3, "\(error.problems)")
        }
    }

    @Test func eventLoopsDefaultToHalfTheCoresAndCanBeSet() throws {
        let defaults = try ServerConfiguration.parse(toml: "")
        #expect(defaults.eventLoops == 0)
        #expect(defaults.eventLoopThreads(cores: 1) == 1)
        #expect(defaults.eventLoopThreads(cores: 2) == 1)
        #expect(defaults.eventLoopThreads(cores: 16) == 8)
        let set = try ServerConfiguration.parse(toml: "[server]\nevent_loops = 3")
        #expect(set.eventLoopThreads(cores: 2) == 3)
        #expect(defaults.restartOnlyChanges(to: set) == ["server.event_loops"])
        // It renders back (config check prints the effective settings).
        #expect(try ServerConfiguration.parse(toml: set.renderTOML(storePathDefault: "/tmp/x.sqlite")).eventLoops == 3)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(toml: "[server]\nevent_loops = -1") }
    }

    @Test func rspamdWorkerIsOffByDefaultAndConfigurable() throws {
        let defaults = try ServerConfiguration.parse(toml: "")
        #expect(!defaults.rspamd.enabled && defaults.rspamd.listen.isLoopback)
        let set = try ServerConfiguration.parse(toml: """
            [rspamd]
            enabled = true
            listen = "127.0.0.1:11333"
            idle_timeout_seconds = 5
            scan_threads = 3
            max_pending_scans = 40
            [http]
            listen = "127.0.0.1:11334"
            """)
        #expect(set.rspamd.enabled && set.rspamd.listen == ListenAddress(host: "127.0.0.1", port: 11333))
        let worker = set.rspamdWorker
        #expect(worker.port == 11333 && worker.idleTimeoutSeconds == 5 && worker.scanThreads == 3)
        #expect(worker.maxPendingScans == 40 && worker.maxMessageBytes == set.maxMessageBytes)
        #expect(defaults.restartOnlyChanges(to: set) == ["http", "rspamd"])
        let back = try ServerConfiguration.parse(toml: set.renderTOML(storePathDefault: "/tmp/x.sqlite"))
        #expect(back.rspamd == set.rspamd && back.rspamdScanThreads == 3 && back.rspamdMaxPendingScans == 40)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(toml: "[rspamd]\nmax_pending_scans = 0") }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(toml: "[http]\nscan_threads = 2") }
    }

    @Test func syntaxErrorGivesTheLine() {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.parse(toml: "[scan\nspam_threshold = 1") }
    }

    @Test func renderedSettingsParseBackToTheSame() throws {
        var c = ServerConfiguration()
        c.policy.spam = .tag
        c.thresholds = Thresholds(unsure: 0.25, spam: 4.5)
        c.http.listen = ListenAddress(host: "::1", port: 9999)
        let text = c.renderTOML(storePathDefault: "/var/lib/spamward/db.sqlite")
        let back = try ServerConfiguration.parse(toml: text)
        #expect(back.policy == c.policy)
        #expect(back.thresholds == c.thresholds)
        #expect(back.http == c.http)
        #expect(back.storePath == "/var/lib/spamward/db.sqlite")
        #expect(!text.contains("password = \"s"))
    }

    @Test(arguments: [("127.0.0.1:25", "127.0.0.1", 25), ("[::1]:11332", "::1", 11332), (":0", "127.0.0.1", 0)])
    func listenAddresses(text: String, host: String, port: Int) throws {
        let a = try #require(ListenAddress(text))
        #expect(a.host == host && a.port == port)
    }

    @Test func badListenAddresses() {
        for t in ["localhost", "::1:25", "host:99999", "[::1]25"] { #expect(ListenAddress(t) == nil, "\(t)") }
    }
}
