import Foundation
import SpamwardCore
import SpamwardHTTP
import SpamwardServer
import Testing

/// The daemon's spamd front end with the real `spamc` client (Debian's spamc package).
@Suite(.serialized) struct SpamcDaemonTests {
    static let spamc = "/usr/bin/spamc"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: spamc) }

    @Test func checkProcessReportSymbolsAndTellLearning() async throws {
        guard Self.available else {
            print("skipped: \(Self.spamc) not installed (apt-get install spamc; .ci/run does it)")
            return
        }
        let store = InMemoryStore()
        let (server, task) = try await RunningServer.start(store: store) { c in
            c.milter.enabled = false
            c.http.enabled = false
        }
        let base = ["-d", "127.0.0.1", "-p", "\(server.port("spamd"))", "-t", "60"]

        let c = try await runTool(Self.spamc, base + ["-c"], stdin: TestMessages.gtube)
        #expect(c.status == 1, "\(c)")
        // GTUBE scores 1000, plus whatever other rules the test message trips.
        #expect((Double(c.out.prefix { $0 != "/" }) ?? 0) >= 999, "\(c.out)")
        #expect(c.out.hasSuffix("/2.0\n"))

        let h = try await runTool(Self.spamc, base + ["-c"], stdin: TestMessages.ham(1))
        #expect(h.status == 0, "\(h)")

        // PROCESS: the message comes back with the headers added and the body intact; a forged
        // X-Spam-Flag in the input is replaced.
        var forged = Array("X-Spam-Flag: NO\r\n".utf8)
        forged += TestMessages.gtube
        let p = try await runTool(Self.spamc, base, stdin: forged)
        #expect(p.out.contains("X-Spam-Flag: YES\r\n"), "\(p.out)")
        #expect(!p.out.contains("X-Spam-Flag: NO"))
        #expect(p.out.contains("X-Spam-Status: Yes, score="))
        #expect(p.out.hasSuffix("\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r"), "body changed: \(p.out)")

        let r = try await runTool(Self.spamc, base + ["-R"], stdin: TestMessages.gtube)
        #expect(r.out.contains("GTUBE"), "\(r.out)")
        #expect(r.out.contains("pts rule name"))

        let y = try await runTool(Self.spamc, base + ["-y"], stdin: TestMessages.gtube)
        #expect(y.out.split(separator: ",").contains("GTUBE"), "\(y.out)")

        // TELL from loopback (trusted): learn, relearn as the other class, forget.
        let ham = TestMessages.ham(2)
        let l1 = try await runTool(Self.spamc, base + ["-L", "ham"], stdin: ham)
        #expect(l1.status == 0 && l1.out.contains("Message successfully un/learned"), "\(l1)")
        #expect(try await store.statistics().learnedHam == 1)
        let again = try await runTool(Self.spamc, base + ["-L", "ham"], stdin: ham)
        #expect(again.out.contains("Message was already un/learned"), "\(again)")
        let spam = try await runTool(Self.spamc, base + ["-L", "spam"], stdin: ham)
        #expect(spam.out.contains("successfully"), "\(spam)")
        var s = try await store.statistics()
        #expect(s.learnedHam == 0 && s.learnedSpam == 1)
        let forget = try await runTool(Self.spamc, base + ["-L", "forget"], stdin: ham)
        #expect(forget.out.contains("successfully"), "\(forget)")
        s = try await store.statistics()
        #expect(s.learnedSpam == 0)

        let ping = try await runTool(Self.spamc, base + ["-K"])
        #expect(ping.status == 0, "\(ping)")
        try await server.stop(task)
    }

    @Test func tellFromUntrustedNetworksIsRefused() async throws {
        guard Self.available else {
            print("skipped: \(Self.spamc) not installed")
            return
        }
        let store = InMemoryStore()
        let (server, task) = try await RunningServer.start(store: store) { c in
            c.milter.enabled = false
            c.http.enabled = false
            c.access.trustedNetworks = []
        }
        let base = ["-d", "127.0.0.1", "-p", "\(server.port("spamd"))", "-t", "60"]
        let l = try await runTool(Self.spamc, base + ["-L", "spam"], stdin: TestMessages.gtube)
        #expect(l.status != 0, "\(l)")
        #expect(try await store.statistics().learnedSpam == 0)
        try await server.stop(task)
    }
}
