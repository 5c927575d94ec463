import Foundation
import SpamwardTestSupport
import Testing

@testable import SpamwardCore

/// The exported zone, served by the real rbldnsd and queried with dig (both from Debian:
/// rbldnsd, dnsutils). Skips when either is missing.
@Suite("Botnet zone served by rbldnsd")
struct ZoneServeTests {
    static let rbldnsd = ["/usr/sbin/rbldnsd", "/usr/bin/rbldnsd"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let dig = ["/usr/bin/dig", "/usr/local/bin/dig"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs a program to completion off the cooperative pool (SpamwardTestSupport).
    static func run(_ exe: String, _ args: [String]) async throws -> String {
        try await ProcessRunner.run(exe, args)
    }

    @Test(.enabled(if: rbldnsd != nil && dig != nil, "needs rbldnsd and dig (apt-get install rbldnsd dnsutils)"))
    func zoneIsServedAndQueriedWithDig() async throws {
        let rbldnsd = try #require(Self.rbldnsd), dig = try #require(Self.dig)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spamward-zone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = BotnetList([
            .init(address: "198.51.100.7", code: "127.0.0.2", text: "Spamward botnet footprint: 3 spam campaigns"),
            .init(address: "203.0.113.9", code: "127.0.0.3", text: "Spamward botnet footprint: 1 spam campaign, campaigns from up to 40 /24s"),
        ])
        try list.ip4setZone(ttl: 60).write(to: dir.appendingPathComponent("zone"), atomically: true, encoding: .utf8)
        // A port from the dynamic range, different for parallel runs.
        let port = 20_000 + Int.random(in: 0..<20_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: rbldnsd)
        server.arguments = ["-n", "-q", "-b", "127.0.0.1/\(port)", "-w", dir.path, "bl.spamward.test:ip4set:zone"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL, not terminate(): the child inherits this test process's signal mask, in which
        // SIGTERM is blocked, so a SIGTERM left rbldnsd running after every test run.
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        func query(_ name: String, _ type: String) async throws -> String {
            try await Self.run(dig, ["+short", "+tries=5", "+time=1", "-p", "\(port)", "@127.0.0.1", name, type])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var a = ""
        for _ in 0..<20 where a.isEmpty {  // rbldnsd loads the zone in a moment
            a = try await query("7.100.51.198.bl.spamward.test", "A")
            if a.isEmpty || a.contains("connection refused") { a = ""; try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(a == "127.0.0.2")
        #expect(try await query("7.100.51.198.bl.spamward.test", "TXT") == "\"Spamward botnet footprint: 3 spam campaigns\"")
        #expect(try await query("9.113.0.203.bl.spamward.test", "A") == "127.0.0.3")
        #expect(try await query("8.100.51.198.bl.spamward.test", "A") == "", "an unlisted address is NXDOMAIN")
        // The same answers from the list's own lookup, as a DNS responder would give them.
        #expect(list.lookup(queryName: "9.113.0.203.bl.spamward.test", zone: "bl.spamward.test")?.code == "127.0.0.3")
    }
}
