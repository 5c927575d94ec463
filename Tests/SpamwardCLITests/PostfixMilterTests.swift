import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
/// End to end with a real Postfix (started by `.ci/run` through scripts/test-postfix.sh): SMTP on
/// 127.0.0.1:10025, `smtpd_milters = inet:127.0.0.1:11932`, `milter_default_action = tempfail`,
/// and every accepted message delivered to the Maildir /var/tmp/spamward-postfix/mail/inbox/.
@Suite(.serialized) struct PostfixMilterTests {
    static let smtpPort: UInt16 = 10025
    static let milterAddress = "127.0.0.1:11932"
    static let maildir = URL(fileURLWithPath: "/var/tmp/spamward-postfix/mail/inbox")

    static var postfixRunning: Bool { SMTPTestClient.isListening(port: smtpPort) }

    /// `spamward serve` as a child process with its own store.
    final class Daemon {
        let process = Process()
        let log: URL

        init(cli: CLI, extraArgs: [String] = []) throws {
            log = URL(fileURLWithPath: cli.path("serve-\(UUID().uuidString).log"))
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.executableURL = cli.executable
            // Authentication asks the test name server (scripts/test-dns.sh), never the system's.
            let config = try cli.write("serve-auth.toml", """
                [authentication]
                authserv_id = "mx.spamward.test"
                [dns]
                servers = ["127.0.0.1:5354"]
                timeout_ms = 500
                attempts = 1
                """)
            process.arguments = ["serve", "--config", config, "--db", cli.db, "--milter", PostfixMilterTests.milterAddress,
                                 "--spamd", "off", "--http", "off"] + extraArgs
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<200 {
                if SMTPTestClient.isListening(port: 11932) { return }
                if !process.isRunning { break }
                usleep(50_000)
            }
            throw SMTPTestClient.Failure(description: "spamward serve did not start:\n\(output)")
        }

        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        func kill() {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        func stop() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        deinit { stop() }
    }

    /// Delivered files whose text contains `tag`.
    static func delivered(tag: String) -> [String] {
        var out: [String] = []
        for sub in ["new", "cur"] {
            let dir = maildir.appendingPathComponent(sub)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
                if let text = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8), text.contains(tag) {
                    out.append(text)
                }
            }
        }
        return out
    }

    static func waitForDelivery(tag: String, count: Int) -> [String] {
        var got: [String] = []
        for _ in 0..<300 {
            got = delivered(tag: tag)
            if got.count >= count { break }
            usleep(100_000)
        }
        return got
    }

    static func message(tag: String, index: Int, spam: Bool) -> [UInt8] {
        let body = spam
            ? "Buy now.\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n"
            : "Hello,\n\nthe notes from today's design review are below.\n.leading dot line stays intact\n\nRegards\n"
        return Array("""
            From: sender\(index)@example.com
            To: inbox@spamward.test
            Subject: \(tag) message \(index)
            Message-ID: <\(tag)-\(index)@example.com>
            Date: Tue, 4 Mar 2025 09:00:00 +0000

            \(body)
            """.utf8)
    }

    @Test func spamIsRejectedHamIsDeliveredIntactAndTagged() throws {
        guard Self.postfixRunning else {
            print("skipped: no test Postfix on 127.0.0.1:10025 (scripts/test-postfix.sh start; .ci/run does it)")
            return
        }
        let cli = try CLI()
        let daemon = try Daemon(cli: cli)
        defer { daemon.stop() }
        let tag = "pf-\(UUID().uuidString.prefix(8))"
        let client = SMTPTestClient(host: "127.0.0.1", port: Self.smtpPort)
        var accepted = 0, rejected = 0
        for i in 0..<12 {
            let spam = i % 3 == 0
            let r = try client.send(from: "sender\(i)@example.com", to: ["inbox@spamward.test"],
                                    message: Self.message(tag: tag, index: i, spam: spam))
            if spam {
                #expect(r.code == 550, "spam \(i): \(r)")
                #expect(r.text.contains("5.7.1"))
                rejected += 1
            } else {
                #expect(r.code == 250, "ham \(i): \(r)\n\(daemon.output)")
                accepted += 1
            }
        }
        let files = Self.waitForDelivery(tag: tag, count: accepted)
        #expect(files.count == accepted, "sent \(accepted + rejected): \(accepted) accepted, \(rejected) rejected; delivered \(files.count)")
        for f in files {
            #expect(f.contains("X-Spam-Status: No, score="), "delivered without Spamward's headers:\n\(f)")
            #expect(f.contains("X-Spam-Flag: NO"))
            // Email authentication ran before the scan (SPF for the envelope sender at least).
            #expect(f.contains("Authentication-Results: mx.spamward.test;") && f.contains("spf="),
                    "no Authentication-Results:\n\(f)")
            #expect(f.contains("\n.leading dot line stays intact\n"), "body changed:\n\(f)")
            #expect(!f.contains("GTUBE"))
        }
    }

    @Test func killedDaemonMeansTempfailAndRetryNeverUnscannedDelivery() throws {
        guard Self.postfixRunning else {
            print("skipped: no test Postfix on 127.0.0.1:10025 (scripts/test-postfix.sh start; .ci/run does it)")
            return
        }
        let cli = try CLI()
        var daemon: Daemon? = try Daemon(cli: cli)
        let tag = "kill-\(UUID().uuidString.prefix(8))"
        let client = SMTPTestClient(host: "127.0.0.1", port: Self.smtpPort)
        let total = 24
        var pending = Array(0..<total)
        var delivered = 0, rejected = 0, tempfailed = 0
        var round = 0
        while !pending.isEmpty && round < 5 {
            var retry: [Int] = []
            for i in pending {
                if round == 0 && i == 8 { daemon?.kill(); daemon = nil }  // mid-stream
                let spam = i % 4 == 0
                let r = try client.send(from: "s\(i)@example.com", to: ["inbox@spamward.test"],
                                        message: Self.message(tag: tag, index: i, spam: spam))
                switch r.code {
                case 250: delivered += 1
                case 500..<600: rejected += 1
                case 400..<500: tempfailed += 1; retry.append(i)
                default: Issue.record("unexpected reply \(r)")
                }
            }
            if daemon == nil { daemon = try Daemon(cli: cli) }  // restarted
            pending = retry
            round += 1
        }
        defer { daemon?.stop() }
        #expect(tempfailed > 0, "the daemon was killed, so some messages must have been tempfailed")
        #expect(pending.isEmpty, "messages still tempfailed after retries: \(pending)")
        #expect(delivered + rejected == total, "sent \(total) = delivered \(delivered) + rejected \(rejected)")
        #expect(rejected == total / 4)
        let files = Self.waitForDelivery(tag: tag, count: delivered)
        #expect(files.count == delivered, "accepted \(delivered), found \(files.count) in the mailbox")
        #expect(files.allSatisfy { $0.contains("X-Spam-Status:") }, "a message was delivered unscanned")
    }

    @Test func oversizeMessagesFollowThePolicy() throws {
        guard Self.postfixRunning else {
            print("skipped: no test Postfix on 127.0.0.1:10025 (scripts/test-postfix.sh start; .ci/run does it)")
            return
        }
        let cli = try CLI()
        let config = try cli.write("oversize.toml", "[scan]\nmax_message_bytes = 4096\n[policy]\noversize = \"reject\"\n")
        let daemon = try Daemon(cli: cli, extraArgs: ["--config", config])
        defer { daemon.stop() }
        let tag = "big-\(UUID().uuidString.prefix(8))"
        let client = SMTPTestClient(host: "127.0.0.1", port: Self.smtpPort)
        var big = Self.message(tag: tag, index: 1, spam: false)
        big += Array(String(repeating: "padding line of an oversized but innocent message\n", count: 200).utf8)
        let r = try client.send(from: "big@example.com", to: ["inbox@spamward.test"], message: big)
        #expect(r.code == 552, "\(r)")
        let small = try client.send(from: "small@example.com", to: ["inbox@spamward.test"],
                                    message: Self.message(tag: tag, index: 2, spam: false))
        #expect(small.code == 250, "\(small)")
        #expect(Self.waitForDelivery(tag: tag, count: 1).count == 1)
    }
}
}
