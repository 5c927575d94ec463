import Foundation
import SpamwardCore
import SpamwardServer
import Testing

/// The Rspamd protocol with the real `rspamc` client (Debian's rspamd package).
@Suite(.serialized) struct RspamcTests {
    static let rspamc = "/usr/bin/rspamc"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: rspamc) }

    func file(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rspamc-\(UUID().uuidString).eml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func symbolsLearnAndStat() async throws {
        guard Self.available else {
            print("skipped: \(Self.rspamc) not installed (apt-get install rspamd; .ci/run does it)")
            return
        }
        let (server, task) = try await RunningServer.start { c in
            c.milter.enabled = false
            c.spamd.enabled = false
        }
        let host = "127.0.0.1:\(server.port("http"))"
        let spam = try file(TestMessages.gtube)
        let ham = try file(TestMessages.ham(3))

        let s = try await runTool(Self.rspamc, ["-t", "60", "-h", host, "symbols", spam])
        #expect(s.status == 0, "\(s)")
        #expect(s.out.contains("Action: reject"), "\(s.out)")
        #expect(s.out.contains("Spam: true"))
        #expect(s.out.contains("Symbol: GTUBE (1000.00)"))
        #expect(s.out.contains("Message-ID: gtube-1@example.com"))

        let h = try await runTool(Self.rspamc, ["-t", "60", "-h", host, "symbols", ham])
        #expect(h.out.contains("Spam: false"), "\(h.out)")
        #expect(h.out.contains("Action: no action"))

        let l1 = try await runTool(Self.rspamc, ["-t", "60", "-h", host, "learn_spam", spam])
        #expect(l1.status == 0 && l1.out.contains("success = true"), "\(l1)")
        #expect(l1.out.contains("\"learned\""))
        let l2 = try await runTool(Self.rspamc, ["-t", "60", "-h", host, "learn_ham", ham])
        #expect(l2.out.contains("\"learned\""), "\(l2)")
        let again = try await runTool(Self.rspamc, ["-t", "60", "-h", host, "learn_ham", ham])
        #expect(again.out.contains("already-learned"), "\(again)")

        let stats = try await server.filter.statistics()
        #expect(stats.learnedSpam == 1 && stats.learnedHam == 1)
        let stat = try await runTool(Self.rspamc, ["-t", "60", "-h", host, "stat"])
        #expect(stat.status == 0)
        #expect(stat.out.contains("Messages scanned: 2"), "\(stat.out)")
        #expect(stat.out.contains("Messages learned: 2"))
        try await server.stop(task)
    }
}
