import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
/// `spamward serve` with `[edge] enabled = true` in front of the test Postfix's backend port
/// (127.0.0.1:10026, scripts/test-postfix.sh; Maildir /var/tmp/spamward-postfix/mail/inbox).
@Suite(.serialized) struct EdgeServeTests {
    static let backendPort: UInt16 = 10026

    /// A serve configuration with the edge on `port` and the other front ends off.
    static func config(_ cli: CLI, port: Int, extra: String = "") throws -> String {
        try cli.write("edge-serve-\(port).toml", """
            [authentication]
            authserv_id = "mx.spamward.test"
            [dns]
            servers = ["127.0.0.1:5354"]
            timeout_ms = 500
            attempts = 1
            [milter]
            enabled = false
            [spamd]
            enabled = false
            [http]
            enabled = false
            [edge]
            enabled = true
            listen = "127.0.0.1:\(port)"
            backend = "127.0.0.1:\(backendPort)"
            hostname = "edge.spamward.test"
            pregreet_wait_ms = 100
            drain_seconds = 20
            \(extra)
            """)
    }

    /// `spamward serve --config FILE` as a child process.
    final class Serve {
        let process = Process()
        let log: URL

        /// Starts the daemon and waits until `port` and every one of `alsoListening` accept
        /// connections: the front ends bind independently, so the edge can be up before HTTP.
        init(cli: CLI, config: String, port: Int, alsoListening: [Int] = []) throws {
            log = URL(fileURLWithPath: cli.path("edge-serve-\(UUID().uuidString).log"))
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.executableURL = cli.executable
            process.arguments = ["serve", "--config", config, "--db", cli.db]
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<300 {
                if ([port] + alsoListening).allSatisfy({ SMTPTestClient.isListening(port: UInt16($0)) }) { return }
                if !process.isRunning { break }
                usleep(50_000)
            }
            throw SMTPTestClient.Failure(description: "spamward serve with the edge did not start:\n\(output)")
        }

        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        func stop() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        deinit { stop() }
    }

    @Test func configCheckPrintsTheEdgeSection() throws {
        let cli = try CLI()
        let good = try cli.write("edge.toml", "[edge]\nenabled = true\ndeny = [\"198.51.100.0/24\"]\n[edge.actions]\npregreet = \"drop\"\n")
        let r = try cli.run(["config", "check", "--config", good])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("[edge]\nenabled = true"))
        #expect(r.stdout.contains("deny = [\"198.51.100.0/24\"]"))
        #expect(r.stdout.contains("[edge.actions]") && r.stdout.contains("pregreet = \"drop\""))
        #expect(r.stdout.contains("listen = \"127.0.0.1:25\""))

        let bad = try cli.write("edge-bad.toml", "[edge]\nlisten = \"nowhere\"\n[edge.actions]\npregreet = \"maybe\"\n")
        let b = try cli.run(["config", "check", "--config", bad])
        #expect(b.status == 65, "\(b)")
        #expect(b.stderr.contains("edge.listen") && b.stderr.contains("edge.actions.pregreet"), "\(b.stderr)")

        let tls = try cli.write("edge-tls.toml", "[edge]\ntls_certificate = \"/nonexistent/edge.pem\"\ntls_key = \"/nonexistent/edge.key\"\n")
        let t = try cli.run(["config", "check", "--config", tls])
        #expect(t.status == 65, "\(t)")
        #expect(t.stderr.contains("/nonexistent/edge.pem"), "\(t.stderr)")
    }

    /// The greeting of whatever listens on `port` (the 220 line after the teaser).
    static func greeting(port: Int) throws -> String {
        let fd = try SMTPTestClient.connect(host: "127.0.0.1", port: UInt16(port))
        defer { close(fd) }
        var reader = SMTPTestClient.LineReader(fd: fd)
        return try reader.reply().text
    }

    @Test func edgeCommandReadsTheFileAndFlagsOverrideIt() throws {
        let cli = try CLI()
        let filePort = 12400 + Int(getpid() % 50)
        let flagPort = filePort + 50
        let config = try cli.write("edge-cmd.toml", """
            [edge]
            listen = "127.0.0.1:\(filePort)"
            backend = "127.0.0.1:\(Self.backendPort)"
            hostname = "file.spamward.test"
            pregreet_wait_ms = 0
            """)
        func start(_ extra: [String]) throws -> Process {
            let p = Process()
            p.executableURL = cli.executable
            p.arguments = ["edge", "--config", config, "--db", cli.db] + extra
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        func waitListening(_ port: Int) -> Bool {
            for _ in 0..<300 {
                if SMTPTestClient.isListening(port: UInt16(port)) { return true }
                usleep(50_000)
            }
            return false
        }
        let fromFile = try start([])
        #expect(waitListening(filePort), "spamward edge --config did not listen on the file's address")
        #expect(try Self.greeting(port: filePort).contains("file.spamward.test"))
        fromFile.terminate()
        fromFile.waitUntilExit()
        #expect(fromFile.terminationStatus == 0)

        let overridden = try start(["--listen", "127.0.0.1:\(flagPort)", "--hostname", "flag.spamward.test"])
        defer { if overridden.isRunning { overridden.terminate(); overridden.waitUntilExit() } }
        #expect(waitListening(flagPort), "--listen did not override the file")
        #expect(try Self.greeting(port: flagPort).contains("flag.spamward.test"))
        #expect(!SMTPTestClient.isListening(port: UInt16(filePort)))
    }

    @Test func serveRunsTheEdgeHamIsDeliveredOnceSpamNever() throws {
        guard SMTPTestClient.isListening(port: Self.backendPort) else {
            print("skipped: no test Postfix backend on 127.0.0.1:10026 (scripts/test-postfix.sh start; .ci/run does it)")
            return
        }
        let cli = try CLI()
        let port = 12300 + Int(getpid() % 50)
        let serve = try Serve(cli: cli, config: try Self.config(cli, port: port), port: port)
        defer { serve.stop() }
        let tag = "edgeserve-\(UUID().uuidString.prefix(8))"
        let client = SMTPTestClient(host: "127.0.0.1", port: UInt16(port))
        let ham = try client.send(from: "alice@example.com", to: ["inbox@spamward.test"],
                                  message: PostfixMilterTests.message(tag: tag, index: 1, spam: false))
        #expect(ham.code == 250, "ham: \(ham)\n\(serve.output)")
        #expect(ham.text.contains("queued as"), "the 250 must be Postfix's own: \(ham)")
        let spam = try client.send(from: "bob@example.com", to: ["inbox@spamward.test"],
                                   message: PostfixMilterTests.message(tag: tag, index: 2, spam: true))
        #expect(spam.code == 550, "spam: \(spam)\n\(serve.output)")
        #expect(spam.text.contains("[SW-SPAM]"), "\(spam)")
        let files = PostfixMilterTests.waitForDelivery(tag: tag, count: 1)
        usleep(500_000)  // late duplicates
        let final = PostfixMilterTests.delivered(tag: tag)
        #expect(final.count == 1, "delivered \(final.count) messages, expected the ham once")
        #expect(files.allSatisfy { $0.contains("Message-ID: <\(tag)-1@example.com>") && !$0.contains("GTUBE") })
        // The same filter as the other front ends: authentication ran, the verdict headers are there.
        #expect(final.first?.contains("Authentication-Results: mx.spamward.test;") == true, "\(final.first ?? "")")
        #expect(final.first?.contains("X-Spam-Flag: NO") == true)
        serve.stop()
        #expect(serve.process.terminationStatus == 0, "\(serve.output)")
    }

    @Test func gracefulShutdownFinishesTheSessionInFlight() throws {
        guard SMTPTestClient.isListening(port: Self.backendPort) else {
            print("skipped: no test Postfix backend on 127.0.0.1:10026 (scripts/test-postfix.sh start; .ci/run does it)")
            return
        }
        let cli = try CLI()
        let port = 12350 + Int(getpid() % 50)
        let serve = try Serve(cli: cli, config: try Self.config(cli, port: port), port: port)
        defer { serve.stop() }
        let tag = "edgedrain-\(UUID().uuidString.prefix(8))"
        let fd = try SMTPTestClient.connect(host: "127.0.0.1", port: UInt16(port))
        defer { close(fd) }
        var reader = SMTPTestClient.LineReader(fd: fd)
        func command(_ line: String) throws -> SMTPTestClient.Reply {
            try SMTPTestClient.write(fd, Array((line + "\r\n").utf8))
            return try reader.reply()
        }
        #expect(try reader.reply().code == 220)
        #expect(try command("EHLO client.spamward.test").code == 250)
        #expect(try command("MAIL FROM:<carol@example.com>").code == 250)
        #expect(try command("RCPT TO:<inbox@spamward.test>").code == 250)
        // SIGTERM with the transaction open: the listener closes, the session may finish.
        kill(serve.process.processIdentifier, SIGTERM)
        var closed = false
        for _ in 0..<100 where !closed {
            closed = !SMTPTestClient.isListening(port: UInt16(port))
            if !closed { usleep(50_000) }
        }
        #expect(closed, "the listener still accepts connections after SIGTERM")
        #expect(try command("DATA").code == 354)
        try SMTPTestClient.write(fd, SMTPTestClient.dotStuffed(PostfixMilterTests.message(tag: tag, index: 1, spam: false)))
        let end = try reader.reply()
        #expect(end.code == 250, "in-flight message after SIGTERM: \(end)\n\(serve.output)")
        _ = try? command("QUIT")
        serve.process.waitUntilExit()
        #expect(serve.process.terminationStatus == 0, "\(serve.output)")
        let files = PostfixMilterTests.waitForDelivery(tag: tag, count: 1)
        #expect(files.count == 1)
    }
}
}
