import SpamdProtocol
import Testing

/// The real SpamAssassin client against the runner: what an MTA or procmail setup using spamc would see.
@Suite(
    "spamc end to end", .enabled(if: spamcIsInstalled, "skipped: \(spamcPath) is not installed (apt-get install spamc)"),
    .serialized)
struct SpamcEndToEndTests {
    private func rewritten(_ message: [UInt8], spam: Bool) -> [UInt8] {
        bytes("X-Spam-Flag: \(spam ? "YES" : "NO")\r\nX-Spam-Score: \(spam ? 1000.0 : 0.5)\r\n") + message
    }

    @Test("spamc -c prints score/threshold; exit 1 for spam, 0 for ham")
    func check() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            let spam = try await spamc(port: port, ["-c"], stdin: spamMessage)
            #expect(spam.out == "1000.0/5.0\n")
            #expect(spam.status == 1)
            let ham = try await spamc(port: port, ["-c", "-u", "mailuser"], stdin: hamMessage)
            #expect(ham.out == "0.5/5.0\n")
            #expect(ham.status == 0)
        }
        #expect(handler.requests.map(\.method) == [.check, .check])
        #expect(handler.requests.map(\.version) == [.v1_5, .v1_5])
        #expect(handler.requests.first?.body == spamMessage)
        #expect(handler.requests.last?.user == "mailuser")
    }

    @Test("spamc -R prints score/threshold then the report")
    func report() async throws {
        try await withSpamdServer(handler: RecordingHandler()) { port in
            let spam = try await spamc(port: port, ["-R"], stdin: spamMessage)
            #expect(spam.out == "1000.0/5.0\nSpamward report:\n pts rule\n 1000 GTUBE marker found\n")
            #expect(spam.status == 0)
            let ham = try await spamc(port: port, ["-R"], stdin: hamMessage)
            #expect(ham.out == "0.5/5.0\nSpamward report: clean\n")
        }
    }

    @Test("spamc -r prints the report for spam only (spamd's Yes/No flag: no score line)")
    func reportIfSpam() async throws {
        try await withSpamdServer(handler: RecordingHandler()) { port in
            let spam = try await spamc(port: port, ["-r"], stdin: spamMessage)
            #expect(spam.out == "Spamward report:\n pts rule\n 1000 GTUBE marker found\n")
            let ham = try await spamc(port: port, ["-r"], stdin: hamMessage)
            #expect(ham.out == "")
            #expect(ham.status == 0)
        }
    }

    @Test("spamc -y prints the comma-separated symbols")
    func symbols() async throws {
        try await withSpamdServer(handler: RecordingHandler()) { port in
            let spam = try await spamc(port: port, ["-y"], stdin: spamMessage)
            #expect(spam.out == "GTUBE,SPAMWARD_TEST")
            #expect(spam.status == 0)
            let ham = try await spamc(port: port, ["-y"], stdin: hamMessage)
            #expect(ham.out == "")
        }
    }

    @Test("plain spamc (PROCESS) prints the rewritten message; -E sets the spam exit code")
    func process() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            let spam = try await spamc(port: port, [], stdin: spamMessage)
            #expect(spam.stdout == rewritten(spamMessage, spam: true))
            #expect(spam.status == 0)
            let exitCode = try await spamc(port: port, ["-E"], stdin: spamMessage)
            #expect(exitCode.status == 1)
            let ham = try await spamc(port: port, ["-E"], stdin: hamMessage)
            #expect(ham.stdout == rewritten(hamMessage, spam: false))
            #expect(ham.status == 0)
        }
        #expect(handler.requests.map(\.method) == [.process, .process, .process])
    }

    @Test("spamc --headers (HEADERS) gets the rewritten header block and appends the original body")
    func headersOnly() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            let spam = try await spamc(port: port, ["--headers"], stdin: spamMessage)
            #expect(spam.stdout == rewritten(spamMessage, spam: true))
        }
        #expect(handler.requests.map(\.method) == [.headers])
    }

    @Test("spamc -K (PING) prints the PONG status")
    func ping() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            let pong = try await spamc(port: port, ["-K"], stdin: [])
            #expect(pong.out == "SPAMD/1.5 0\n")
            #expect(pong.status == 0)
        }
        #expect(handler.requests.map(\.method) == [.ping])
    }

    @Test("spamc -L spam/ham/forget (TELL) learns and forgets locally")
    func learn() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            for type in ["spam", "ham", "forget"] {
                let result = try await spamc(port: port, ["-L", type], stdin: spamMessage)
                #expect(result.out == "Message successfully un/learned\n", "-L \(type)")
                #expect(result.status == 0)
            }
            let already = try await spamc(port: port, ["-L", "spam"], stdin: bytes("Subject: x\r\n\r\nalready-learned\r\n"))
            #expect(already.out == "Message was already un/learned\n")
            #expect(already.status == 0)
        }
        let tells = handler.requests
        #expect(tells.map(\.method) == [.tell, .tell, .tell, .tell])
        #expect(tells.map(\.messageClass) == [.spam, .ham, nil, .spam])
        #expect(tells.map(\.setTargets) == [[.local], [.local], [], [.local]])
        #expect(tells.map(\.removeTargets) == [[], [], [.local], []])
        #expect(tells.first?.body == spamMessage)
    }

    @Test("spamc -C report/revoke (TELL) sets local+remote / removes remote")
    func reportToCollaborativeDatabases() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            let report = try await spamc(port: port, ["-C", "report"], stdin: spamMessage)
            #expect(report.out == "Message successfully reported/revoked\n")
            let revoke = try await spamc(port: port, ["-C", "revoke"], stdin: hamMessage)
            #expect(revoke.out == "Message successfully reported/revoked\n")
        }
        let tells = handler.requests
        #expect(tells.map(\.messageClass) == [.spam, .ham])
        #expect(tells.map(\.setTargets) == [[.local, .remote], [.local]])
        #expect(tells.map(\.removeTargets) == [[], [.remote]])
    }

    @Test(
        "spamc -z -c sends a zlib body that is inflated",
        .enabled("skipped: this spamc was built without zlib (-z unsupported)") { await spamcSupportsZlib() })
    func compressed() async throws {
        let handler = RecordingHandler()
        try await withSpamdServer(handler: handler) { port in
            let spam = try await spamc(port: port, ["-z", "-c"], stdin: spamMessage)
            #expect(spam.out == "1000.0/5.0\n")
            #expect(spam.status == 1)
        }
        #expect(handler.requests.first?.wasCompressed == true)
        #expect(handler.requests.first?.body == spamMessage)
    }

    @Test("Server errors: spamc falls back safely by default; with -x it exits EX_IOERR and prints nothing")
    func serverErrors() async throws {
        try await withSpamdServer(handler: RecordingHandler(failure: PlainError())) { port in
            // Default safe fallback: the message passes through unchanged, exit 0.
            let fallback = try await spamc(port: port, [], stdin: spamMessage)
            #expect(fallback.stdout == spamMessage)
            #expect(fallback.status == 0)
            // -x: no fallback. spamc ignores the code in the status line, fails reading the (absent) headers and
            // exits EX_IOERR without printing the message (checked against a stand-in server too).
            let strict = try await spamc(port: port, ["-x"], stdin: spamMessage)
            #expect(strict.stdout.isEmpty)
            #expect(strict.status == 74)
            // -c: "0/0"; exit 0 (not spam) with the safe fallback, EX_IOERR with -x.
            let check = try await spamc(port: port, ["-c"], stdin: spamMessage)
            #expect(check.out == "0/0\n")
            #expect(check.status == 0)
            let strictCheck = try await spamc(port: port, ["-x", "-c"], stdin: spamMessage)
            #expect(strictCheck.out == "0/0\n")
            #expect(strictCheck.status == 74)
        }
        // TELL refused (the default handler): spamc -L fails.
        try await withSpamdServer(handler: CheckOnlyHandler()) { port in
            let learn = try await spamc(port: port, ["-L", "spam"], stdin: spamMessage)
            #expect(learn.status == 74)
            #expect(learn.out == "")
        }
    }
}
