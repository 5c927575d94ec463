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

    /// GET /v1/stats through a raw socket (no HTTP client library in the tests).
    func stats(_ port: Int) throws -> String {
        let fd = try SMTPTestClient.connect(host: "127.0.0.1", port: UInt16(port))
        defer { close(fd) }
        try SMTPTestClient.write(fd, Array("GET /v1/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
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
