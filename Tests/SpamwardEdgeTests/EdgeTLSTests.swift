import Foundation
import NIOCore
import SMTPProtocol
import SpamwardEdge
import Synchronization
import Testing

/// STARTTLS (RFC 3207): announced only with a certificate, the session starts over after it,
/// and plaintext pipelined after STARTTLS is dropped (CVE-2011-0411).
@Suite(.serialized) struct EdgeTLSTests {
    /// A self-signed certificate and key made with the openssl CLI, in a fresh folder.
    static func makeCertificate() throws -> (certificate: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edge-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=edge.spamward.test"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestClient.Failure(description: "openssl req failed") }
        return (cert, key)
    }

    static var hasOpenSSL: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") }

    @Test func startTLSIsAnnouncedOnlyWithACertificate() async throws {
        guard Self.hasOpenSSL else { print("skipped: no /usr/bin/openssl"); return }
        let plain = try await RunningEdge.start { $0.pregreetWaitMilliseconds = 0 }
        let a = try await TestClient.connect(to: plain.address, from: "127.0.0.60")
        #expect(try await a.reply()?.code == 220)
        let e = try await a.command("EHLO client.example.com")
        #expect(e?.code == 250 && e?.lines.contains("STARTTLS") == false, "\(String(describing: e))")
        #expect(try await a.command("STARTTLS")?.code == 502)
        await a.close()
        await plain.stop()

        let (cert, key) = try Self.makeCertificate()
        let tls = try await RunningEdge.start {
            $0.pregreetWaitMilliseconds = 0
            $0.tlsCertificatePath = cert
            $0.tlsKeyPath = key
        }
        let b = try await TestClient.connect(to: tls.address, from: "127.0.0.61")
        #expect(try await b.reply()?.code == 220)
        #expect((try await b.command("STARTTLS")?.code ?? 0) / 100 == 5, "STARTTLS before EHLO")
        let e2 = try await b.command("EHLO client.example.com")
        #expect(e2?.lines.contains("STARTTLS") == true, "\(String(describing: e2))")
        let ready = try await b.command("STARTTLS")
        #expect(ready?.code == 220, "\(String(describing: ready))")
        try await b.startTLS()
        // The session started over: MAIL needs a new EHLO, and STARTTLS is not offered again.
        #expect(try await b.command("MAIL FROM:<a@example.com>")?.code == 503)
        let e3 = try await b.command("EHLO client.example.com")
        #expect(e3?.code == 250 && e3?.lines.contains("STARTTLS") == false, "\(String(describing: e3))")
        #expect(try await b.command("STARTTLS")?.code == 502)
        #expect(try await b.command("QUIT")?.code == 221)
        await b.close()
        await tls.stop()
    }

    @Test func aBadCertificateStopsTheEdgeWithAClearError() async throws {
        var c = EdgeConfiguration()
        c.tlsCertificatePath = "/nonexistent/cert.pem"
        c.tlsKeyPath = "/nonexistent/key.pem"
        #expect {
            _ = try EdgeTLS.context(for: c)
        } throws: { error in
            "\(error)".contains("/nonexistent/cert.pem")
        }
        c.tlsCertificatePath = nil
        #expect(try EdgeTLS.context(for: c) == nil)
    }

    @Test func plaintextPipelinedAfterSTARTTLSIsDroppedNotExecuted() async throws {
        guard Self.hasOpenSSL else { print("skipped: no /usr/bin/openssl"); return }
        let (cert, key) = try Self.makeCertificate()
        let edge = try await RunningEdge.start {
            $0.pregreetWaitMilliseconds = 0
            $0.tlsCertificatePath = cert
            $0.tlsKeyPath = key
            $0.backendPort = 9  // never reached
        }
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.62")
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        // The injection: a command after STARTTLS in the same packet, before TLS.
        try await client.send("STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
        #expect(try await client.reply()?.code == 220)
        try await client.startTLS()
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        // Had the injected MAIL run inside TLS, this would be "sender already specified".
        let r = try await client.command("RCPT TO:<inbox@spamward.test>")
        #expect(r?.code == 503, "\(String(describing: r))")
        #expect(r?.text.contains("Need MAIL") == true, "\(String(describing: r))")
        #expect(edge.logs.all.contains { $0.contains("bytes after STARTTLS dropped") }, "\(edge.logs.all.joined(separator: "\n"))")
        #expect(edge.logs.all.contains { $0.contains("edge.test=pipelining") })
        await client.close()
        await edge.stop()
    }

    /// The other path of the drop: plaintext that arrives after the edge has read the STARTTLS
    /// line but before the TLS handler is in place waits in the connection's inbound stream, not
    /// in the session's buffer. A hook holds the edge inside STARTTLS until the injected bytes
    /// have been read from the socket (counted by the first handler), so they are always in the
    /// stream when the edge drains it, on every run, whatever the scheduling.
    @Test func plaintextStillInTheStreamAtSTARTTLSIsDrainedAndCounted() async throws {
        guard Self.hasOpenSSL else { print("skipped: no /usr/bin/openssl"); return }
        let (cert, key) = try Self.makeCertificate()
        let injected = "MAIL FROM:<injected@example.com>\r\nRCPT TO:<victim@spamward.test>\r\n"
        let clientBox = Mutex<TestClient?>(nil)
        let hookRan = Atomic<Int>(0)
        let edge = try await RunningEdge.start({
            $0.pregreetWaitMilliseconds = 0
            $0.tlsCertificatePath = cert
            $0.tlsKeyPath = key
            $0.backendPort = 9  // never reached
        }, startTLSHook: { plaintextRead, consumed in
            hookRan.add(1, ordering: .relaxed)
            // Nothing beyond the STARTTLS line has been read yet: the buffer path has 0 bytes.
            guard plaintextRead() == consumed, let client = clientBox.withLock({ $0 }) else { return }
            try? await client.send(injected)
            // Bounded: 30 s at most (the edge's event loop reads them within milliseconds).
            for _ in 0..<3000 where plaintextRead() < consumed + injected.utf8.count {
                try? await Task.sleep(for: .milliseconds(10))
            }
        })
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.64")
        clientBox.withLock { $0 = client }
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        // STARTTLS alone: the injection is sent by the hook, while the edge is inside STARTTLS.
        #expect(try await client.command("STARTTLS")?.code == 220)
        #expect(hookRan.load(ordering: .relaxed) == 1)
        try await client.startTLS()
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        // Had the injected MAIL run inside TLS, this RCPT would not get "Need MAIL".
        let r = try await client.command("RCPT TO:<inbox@spamward.test>")
        #expect(r?.code == 503 && r?.text.contains("Need MAIL") == true, "\(String(describing: r))")
        let logs = edge.logs.all.joined(separator: "\n")
        // Exactly the injected bytes were dropped, all of them from the stream.
        #expect(logs.contains("edge.starttls.dropped_bytes=\(injected.utf8.count)"), "\(logs)")
        #expect(logs.contains("edge.test=pipelining"), "\(logs)")
        #expect(!logs.contains("injected@example.com"))
        await client.close()
        await edge.stop()
    }

    @Test func aMessageIsRelayedOverTLS() async throws {
        guard Self.hasOpenSSL else { print("skipped: no /usr/bin/openssl"); return }
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let (cert, key) = try Self.makeCertificate()
        let edge = try await RunningEdge.start {
            $0.tlsCertificatePath = cert
            $0.tlsKeyPath = key
        }
        let t = "tls-\(UUID().uuidString.prefix(8))"
        let client = try await TestClient.connect(to: edge.address, from: "127.0.0.63")
        #expect(try await client.reply()?.code == 220)
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        #expect(try await client.command("STARTTLS")?.code == 220)
        try await client.startTLS()
        #expect(try await client.command("EHLO client.example.com")?.code == 250)
        #expect(try await client.command("MAIL FROM:<a@example.com>")?.code == 250)
        #expect(try await client.command("RCPT TO:<inbox@spamward.test>")?.code == 250)
        #expect(try await client.command("DATA")?.code == 354)
        try await client.send(bytes: dotStuff(Backend.message(tag: t, index: 1, spam: false)))
        let end = try await client.reply()
        #expect(end?.code == 250 && end?.text.contains("queued as") == true, "\(String(describing: end))")
        _ = try? await client.command("QUIT")
        await client.close()
        let files = await Backend.waitForDelivery(tag: t, count: 1)
        #expect(files.count == 1)
        await edge.stop()
    }

    @Test func swaksDeliversWithTLS() async throws {
        guard Self.hasOpenSSL else { print("skipped: no /usr/bin/openssl"); return }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/swaks") else { print("skipped: no swaks"); return }
        guard await Backend.isRunning() else { print(Backend.skipMessage); return }
        let (cert, key) = try Self.makeCertificate()
        let edge = try await RunningEdge.start {
            $0.tlsCertificatePath = cert
            $0.tlsKeyPath = key
        }
        let port = edge.address.port ?? 0
        let t = "swaks-\(UUID().uuidString.prefix(8))"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/swaks")
        p.arguments = ["--server", "127.0.0.1", "--port", "\(port)", "--tls", "--helo", "client.example.com",
                       "--from", "a@example.com", "--to", "inbox@spamward.test", "--header", "Subject: \(t)",
                       "--header", "Message-ID: <\(t)@example.com>", "--body", "Hello over TLS.", "--timeout", "30"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        // Waited for on a thread of its own: blocking a thread of the cooperative pool (two on
        // this machine) would starve the edge's own scans and every other test in the process.
        let text: String = await withCheckedContinuation { c in
            DispatchQueue.global().async {
                let data = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                c.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("<~  220 2.0.0 Ready to start TLS") || text.contains("Ready to start TLS"), "\(text)")
        #expect(text.contains("STARTTLS"))
        let files = await Backend.waitForDelivery(tag: t, count: 1)
        #expect(files.count == 1, "\(text)")
        await edge.stop()
    }
}
