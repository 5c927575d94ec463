import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
@Suite(.serialized) struct ServeCommandTests {
    @Test func configCheckPrintsEffectiveSettingsAndListsProblems() throws {
        let cli = try CLI()
        let good = try cli.write("good.toml", "[scan]\nspam_threshold = 4.5\n[policy]\nspam = \"quarantine\"\n")
        let r = try cli.run(["config", "check", "--config", good])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("spam_threshold = 4.5"))
        #expect(r.stdout.contains("spam = \"quarantine\""))
        #expect(r.stdout.contains("listen = \"127.0.0.1:11332\""))

        let bad = try cli.write("bad.toml", "[scan]\nspam_treshold = 4.5\n[milter]\nlisten = \"everywhere\"\n")
        let b = try cli.run(["config", "check", "--config", bad])
        #expect(b.status == 65, "\(b)")
        #expect(b.stderr.contains("spam_treshold"))
        #expect(b.stderr.contains("milter.listen"))

        let missing = try cli.run(["config", "check", "--config", cli.path("nope.toml")])
        #expect(missing.status == 65)
    }

    @Test func hangupReloadsThresholdsAndTermStopsCleanly() throws {
        let cli = try CLI()
        let port = 11940 + Int(getpid() % 50)
        let config = try cli.write("s.toml", "[scan]\nspam_threshold = 3.0\n")
        let p = Process()
        p.executableURL = cli.executable
        p.arguments = ["serve", "--config", config, "--db", cli.db, "--milter", "off", "--spamd", "off", "--http", "127.0.0.1:\(port)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        var up = false
        for _ in 0..<200 where !up {
            up = SMTPTestClient.isListening(port: UInt16(port))
            if !up { usleep(50_000) }
        }
        #expect(up, "serve did not start")
        #expect(try stats(port).contains("\"spam\":3"))
        try Data("[scan]\nspam_threshold = 7.5\n".utf8).write(to: URL(fileURLWithPath: config))
        kill(p.processIdentifier, SIGHUP)
        var reloaded = false
        // Up to 30 s: a reload reads the model from the store, which is slow on a loaded machine.
        for _ in 0..<600 where !reloaded {
            reloaded = (try? stats(port).contains("\"spam\":7.5")) ?? false
            if !reloaded { usleep(50_000) }
        }
        #expect(reloaded, "SIGHUP did not reload the threshold")
        p.terminate()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    static let dig = ["/usr/bin/dig", "/usr/local/bin/dig"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// `--campaigns` turns campaigns on over the file; the daemon then answers DNSBL queries on
    /// `[botnet] dns_listen` and serves the campaign views.
    @Test(.enabled(if: dig != nil, "needs dig (apt-get install dnsutils)"))
    func campaignsFlagServesTheBotnetZoneOverDNS() throws {
        let dig = try #require(Self.dig)
        let cli = try CLI()
        let port = 12040 + Int(getpid() % 50)
        let dnsPort = 12100 + Int(getpid() % 50)
        let config = try cli.write("c.toml", """
            [authentication]
            enabled = false
            [botnet]
            dns_listen = "127.0.0.1:\(dnsPort)"
            zone = "bl.spamward.test"
            """)
        let p = Process()
        p.executableURL = cli.executable
        p.arguments = ["serve", "--config", config, "--db", cli.db, "--milter", "off", "--spamd", "off",
                       "--http", "127.0.0.1:\(port)", "--campaigns"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        var up = false
        for _ in 0..<200 where !up {
            up = SMTPTestClient.isListening(port: UInt16(port))
            if !up { usleep(50_000) }
        }
        #expect(up, "serve did not start")
        func ask(_ args: String...) throws -> String {
            let d = Process()
            d.executableURL = URL(fileURLWithPath: dig)
            d.arguments = ["+tries=3", "+time=2", "-p", "\(dnsPort)", "@127.0.0.1"] + args
            let out = Pipe()
            d.standardOutput = out
            d.standardError = FileHandle.nullDevice
            try d.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            d.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try ask("+short", "2.0.0.127.bl.spamward.test", "A") == "127.0.0.2")
        #expect(try ask("7.100.51.198.bl.spamward.test", "A").contains("status: NXDOMAIN"))
        #expect(try ask("example.com", "A").contains("status: REFUSED"))
        #expect(try get(port, "/v1/campaigns").hasPrefix("HTTP/1.1 200"))
        p.terminate()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    /// GET /v1/stats through a raw socket (no HTTP client library in the tests).
    func stats(_ port: Int) throws -> String { try get(port, "/v1/stats") }

    func get(_ port: Int, _ path: String) throws -> String {
        let fd = try SMTPTestClient.connect(host: "127.0.0.1", port: UInt16(port))
        defer { close(fd) }
        try SMTPTestClient.write(fd, Array("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += chunk[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
}
