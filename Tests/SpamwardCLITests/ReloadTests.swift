import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
/// SIGHUP applies every section that can change without a restart, keeps open connections, and
/// names the changed settings that need a restart.
@Suite(.serialized) struct ReloadTests {
    static func config(edgePort: Int, httpPort: Int, spam: String, listThreshold: String, edge: String) -> String {
        """
        [scan]
        spam_threshold = \(spam)
        [authentication]
        enabled = false
        [milter]
        enabled = false
        [spamd]
        enabled = false
        [http]
        listen = "127.0.0.1:\(httpPort)"
        [campaigns]
        enabled = true
        trusted_networks = ["10.0.0.0/8"]
        [botnet]
        list_threshold = \(listThreshold)
        [edge]
        enabled = true
        backend = "127.0.0.1:9"
        pregreet_wait_ms = 50
        \(edge)
        """
    }

    @Test func hangupReloadsCampaignsBotnetAndEdgeWithoutDroppingConnections() throws {
        let cli = try CLI()
        let edgePort = 12240 + Int(getpid() % 50)
        let httpPort = 12450 + Int(getpid() % 50)  // its own range: EdgeServeTests uses 12300+ for an edge
        let newEdgePort = 12360 + Int(getpid() % 50)
        let path = try cli.write("reload.toml", Self.config(
            edgePort: edgePort, httpPort: httpPort, spam: "3.0", listThreshold: "3.0",
            edge: "listen = \"127.0.0.1:\(edgePort)\"\nhostname = \"before.spamward.test\""))
        let serve = try EdgeServeTests.Serve(cli: cli, config: path, port: edgePort, alsoListening: [httpPort])
        defer { serve.stop() }
        let serveTests = ServeCommandTests()
        #expect(try serveTests.stats(httpPort).contains("\"spam\":3"))
        #expect(try serveTests.get(httpPort, "/v1/botnet").contains("\"listThreshold\":3"), "\(serve.output)")

        // A session open across the reload, greeted with the old name.
        let open = try SMTPTestClient.connect(host: "127.0.0.1", port: UInt16(edgePort))
        defer { close(open) }
        var openReader = SMTPTestClient.LineReader(fd: open)
        let greeting = try openReader.reply()
        #expect(greeting.code == 220 && greeting.text.contains("before.spamward.test"), "\(greeting)")

        try Data(Self.config(
            edgePort: edgePort, httpPort: httpPort, spam: "7.5", listThreshold: "5.5",
            edge: """
                listen = "127.0.0.1:\(newEdgePort)"
                hostname = "after.spamward.test"
                deny = ["127.0.0.0/8"]
                """).utf8).write(to: URL(fileURLWithPath: path))
        kill(serve.process.processIdentifier, SIGHUP)
        var reloaded = false
        // Up to 30 s: a reload reads the model from the store, which is slow on a loaded machine.
        for _ in 0..<600 where !reloaded {
            reloaded = serve.output.contains("reload.applied")
            if !reloaded { usleep(50_000) }
        }
        #expect(reloaded, "SIGHUP did not reload: \(serve.output)")
        #expect(try serveTests.stats(httpPort).contains("\"spam\":7.5"))
        #expect(try serveTests.get(httpPort, "/v1/botnet").contains("\"listThreshold\":5.5"))

        // [edge] deny applies to new sessions: 127.0.0.1 is refused at once.
        let fresh = try SMTPTestClient.connect(host: "127.0.0.1", port: UInt16(edgePort))
        defer { close(fresh) }
        var freshReader = SMTPTestClient.LineReader(fd: fresh)
        let refused = try freshReader.reply()
        #expect(refused.code == 521 && refused.text.contains("SW-DENYLIST"), "\(refused)")

        // The session opened before the reload goes on with its settings.
        try SMTPTestClient.write(open, Array("EHLO client.spamward.test\r\n".utf8))
        let ehlo = try openReader.reply()
        #expect(ehlo.code == 250 && ehlo.text.contains("before.spamward.test"), "\(ehlo)")
        try SMTPTestClient.write(open, Array("QUIT\r\n".utf8))
        #expect(try openReader.reply().code == 221)

        // The listener is a restart setting: logged, and the old address stays (the refused
        // session above came in on it after the reload). No connection is made right before the
        // SIGTERM: one accepted while the listener closes trips NIOAsyncWriter's debug assertion
        // ("Deinited NIOAsyncWriter without calling finish()"), a separate issue.
        let log = serve.output
        #expect(log.contains("needs a restart") && log.contains("edge.listen"), "\(log)")
        #expect(!SMTPTestClient.isListening(port: UInt16(newEdgePort)))

        serve.stop()
        #expect(serve.process.terminationReason == .exit && serve.process.terminationStatus == 0, "\(serve.output)")
    }
}
}
