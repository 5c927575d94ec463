import Logging
import MilterProtocol
import NIOCore
import NIOPosix
import Testing

@Suite(.timeLimit(.minutes(1))) struct ConnectionRunnerTests {
    private struct Failure: Error {}

    /// Runs the runner over in-memory streams and returns everything it wrote.
    private func exchange(
        _ commands: [MilterCommand],
        configuration: MilterConfiguration = MilterConfiguration(),
        finishInbound: Bool = true,
        decide: @escaping MilterConnection.Decide
    ) async -> [MilterResponse] {
        let (inbound, source) = NIOAsyncChannelInboundStream<MilterCommand>.makeTestingStream()
        let (outbound, sink) = NIOAsyncChannelOutboundWriter<MilterResponse>.makeTestingWriter()
        for command in commands {
            source.yield(command)
        }
        if finishInbound {
            source.finish()
        }
        await MilterConnection.run(
            inbound: inbound, outbound: outbound, configuration: configuration, logger: Logger(label: "test"),
            decide: decide)
        outbound.finish()
        var written: [MilterResponse] = []
        for await response in sink {
            written.append(response)
        }
        return written
    }

    private var session: [MilterCommand] {
        [PostfixSession.offer] + PostfixSession.connectCommands()
            + PostfixSession.messageCommands(queueID: "Q1", sender: "a@example.org", body: "hi\r\n")
    }

    /// Responses to the commands before end of message: 'O' then one 'c' per command expecting a reply.
    private var preamble: Int {
        self.session.filter(\.expectsReply).count - 1
    }

    @Test func answersEveryCommandAndTheDecision() async throws {
        let reply = try MilterSMTPReply(code: 550, enhancedStatus: "5.7.1", text: "Message rejected as spam (SW_SPAM)")
        let header = try MilterHeaderModification.add(name: "X-Spamward", value: "spam")
        let written = await exchange(session + [.quit]) { transaction in
            #expect(transaction.queueID == "Q1")
            return .reject(reply, headerModifications: [header])
        }
        #expect(written.count == preamble + 2)
        guard case .optionNegotiation = written.first else {
            Issue.record("first response must be option negotiation")
            return
        }
        #expect(written[1..<preamble].allSatisfy { $0 == .continue })
        #expect(Array(written.suffix(2)) == [.addHeader(name: "X-Spamward", value: " spam"), .replyCode(reply)])
    }

    @Test func throwingDecisionAnswersTempfailByDefault() async {
        let written = await exchange(session) { _ in throw Failure() }
        #expect(written.last == .tempfail)
    }

    @Test func throwingDecisionCanFailOpen() async {
        let written = await exchange(session, configuration: MilterConfiguration(faultAction: .accept)) { _ in throw Failure() }
        #expect(written.last == .accept)
    }

    @Test func slowDecisionTimesOutWithFaultAction() async {
        let clock = ContinuousClock()
        let start = clock.now
        let written = await exchange(session, configuration: MilterConfiguration(decisionTimeout: .milliseconds(100))) { _ in
            try await Task.sleep(for: .seconds(3600))
            return .accept
        }
        #expect(written.last == .tempfail)
        #expect(clock.now - start < .seconds(50))
    }

    @Test func progressIsSentWhileDeciding() async {
        let configuration = MilterConfiguration(progressInterval: .milliseconds(20))
        let written = await exchange(session, configuration: configuration) { _ in
            try await Task.sleep(for: .milliseconds(300))
            return .accept
        }
        #expect(written.last == .accept)
        #expect(written.dropLast().contains(.progress))
        #expect(written.prefix(preamble).allSatisfy { $0 != .progress })
    }

    @Test func protocolErrorAnswersTempfailAndEnds() async {
        let written = await exchange(
            [PostfixSession.offer, .body(ByteBuffer(bytes: [0x41])), .helo("never answered")], finishInbound: false
        ) { _ in .accept }
        #expect(written.count == 2)
        #expect(written.last == .tempfail)
    }

    @Test func idleTimeoutEndsTheSession() async {
        let clock = ContinuousClock()
        let start = clock.now
        let written = await exchange(
            [PostfixSession.offer], configuration: MilterConfiguration(idleTimeout: .milliseconds(150)), finishInbound: false
        ) { _ in .accept }
        #expect(written.count == 1)
        #expect(clock.now - start < .seconds(50))
    }

    @Test func decisionTimeDoesNotCountAsIdle() async {
        let configuration = MilterConfiguration(idleTimeout: .milliseconds(100), decisionTimeout: .seconds(10))
        let written = await exchange(session, configuration: configuration) { _ in
            try await Task.sleep(for: .milliseconds(400))
            return .discard
        }
        #expect(written.last == .discard)
    }
}

/// A real loopback socket: NIOPosix server with the runner, raw client frames as Postfix writes them.
@Suite(.timeLimit(.minutes(1))) struct LoopbackTests {
    /// Reads whole response frames from the client side of the socket.
    private struct FrameReader {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        var pending = ByteBuffer()

        mutating func next() async throws -> [UInt8]? {
            while true {
                if let length = pending.getInteger(at: pending.readerIndex, as: UInt32.self),
                    pending.readableBytes >= 4 + Int(length),
                    let frame = pending.getBytes(at: pending.readerIndex, length: 4 + Int(length))
                {
                    pending.moveReaderIndex(forwardBy: 4 + Int(length))
                    return frame
                }
                guard var chunk = try await iterator.next() else { return nil }
                pending.writeBuffer(&chunk)
            }
        }
    }

    @Test func postfixConversationOverTCP() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let configuration = MilterConfiguration()
        let (transactions, transactionSink) = AsyncStream<MilterTransaction>.makeStream()
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try MilterConnection.makeAsyncChannel(wrapping: channel, configuration: configuration)
                }
            }
        let port = try #require(server.channel.localAddress?.port)
        let serverTask = Task {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { tasks in
                    for try await connection in connections {
                        tasks.addTask {
                            try await MilterConnection.run(
                                channel: connection, configuration: configuration, logger: Logger(label: "milter-test")
                            ) { transaction in
                                transactionSink.yield(transaction)
                                let status = transaction.sender?.address == "spammer@example.com"
                                return status
                                    ? .reject(
                                        try MilterSMTPReply(code: 550, enhancedStatus: "5.7.1", text: "Message rejected as spam (SW_SPAM)"),
                                        headerModifications: [try .add(name: "X-Spamward-Status", value: "Yes, score=9.1")])
                                    : MilterDecision(action: .accept, headerModifications: [try .add(name: "X-Spamward-Status", value: "No")])
                            }
                        }
                    }
                }
            }
        }

        let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        try await client.executeThenClose { inbound, outbound in
            var reader = FrameReader(iterator: inbound.makeAsyncIterator())
            func send(_ bytes: [UInt8]) async throws {
                try await outbound.write(ByteBuffer(bytes: bytes))
            }
            let continueFrame: [UInt8] = [0, 0, 0, 1, UInt8(ascii: "c")]

            try await send(Wire.optneg(version: 6, actions: 0x1FF, protocol: Wire.postfixV6Protocol))
            #expect(
                try await reader.next()
                    == Wire.u32(13) + [UInt8(ascii: "O")] + Wire.u32(6) + Wire.u32(0x31) + Wire.u32(0x10_0700))

            try await send(
                Wire.macros("C", [("j", "mx.example.net"), ("{daemon_name}", "smtpd"), ("v", "Postfix 3.8")])
                    + Wire.connect(host: "bad.example.com", family: "4", port: 51234, address: "203.0.113.9"))
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.helo("bad.example.com"))
            #expect(try await reader.next() == continueFrame)

            // Message 1: spam.
            try await send(Wire.macros("M", [("{mail_addr}", "spammer@example.com")]) + Wire.mail(["<spammer@example.com>", "SIZE=321"]))
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.macros("R", [("{rcpt_addr}", "victim@example.net")]) + Wire.rcpt(["<victim@example.net>"]))
            #expect(try await reader.next() == continueFrame)
            // SMFIP_NODATA was granted: Postfix sends the DATA macros but not DATA itself.
            try await send(Wire.macros("T", [("i", "4BxQ1k0SPM")]))
            for (name, value) in [("From", " <spammer@example.com>"), ("Subject", " Cheap pills"), ("Received", " from x\n\tby y")] {
                try await send(Wire.macros("L", [("i", "4BxQ1k0SPM")]) + Wire.header(name, value))
                #expect(try await reader.next() == continueFrame)
            }
            try await send(Wire.macros("N", [("i", "4BxQ1k0SPM")]) + Wire.eoh)
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.body("Buy now!\r\n100% guaranteed.\r\n"))
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.macros("E", [("i", "4BxQ1k0SPM")]) + Wire.eom)
            #expect(
                try await reader.next()
                    == Wire.u32(35) + [UInt8(ascii: "h")] + Wire.cstr("X-Spamward-Status") + Wire.cstr(" Yes, score=9.1"))
            let rejectText = "550 5.7.1 Message rejected as spam (SW_SPAM)"
            #expect(
                try await reader.next()
                    == Wire.u32(UInt32(rejectText.utf8.count + 2)) + [UInt8(ascii: "y")] + Wire.cstr(rejectText))

            var received = transactions.makeAsyncIterator()
            let spam = try #require(await received.next())
            #expect(spam.queueID == "4BxQ1k0SPM")
            #expect(spam.client.address == "203.0.113.9")
            #expect(spam.client.port == 51234)
            #expect(spam.client.helo == "bad.example.com")
            #expect(spam.macros["daemon_name"] == "smtpd")
            #expect(spam.recipients.map(\.address) == ["victim@example.net"])
            #expect(
                String(decoding: spam.message, as: UTF8.self)
                    == "From: <spammer@example.com>\r\nSubject: Cheap pills\r\nReceived: from x\r\n\tby y\r\n\r\nBuy now!\r\n100% guaranteed.\r\n")

            // Message 2 on the same connection, after an aborted transaction (RSET).
            try await send(Wire.mail(["<someone@example.org>"]))
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.abort)
            try await send(Wire.macros("M", [("{mail_addr}", "friend@example.org")]) + Wire.mail(["<friend@example.org>"]))
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.rcpt(["<victim@example.net>"]))
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.macros("T", [("i", "4BxQ1k0HAM")]) + Wire.header("Subject", " Lunch?"))
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.eoh + Wire.body("At noon.\r\n"))
            #expect(try await reader.next() == continueFrame)
            #expect(try await reader.next() == continueFrame)
            try await send(Wire.eom)
            #expect(try await reader.next() == Wire.u32(23) + [UInt8(ascii: "h")] + Wire.cstr("X-Spamward-Status") + Wire.cstr(" No"))
            #expect(try await reader.next() == [0, 0, 0, 1, UInt8(ascii: "a")])
            let ham = try #require(await received.next())
            #expect(ham.queueID == "4BxQ1k0HAM")
            #expect(ham.sender?.address == "friend@example.org")
            #expect(ham.macros["mail_addr"] == "friend@example.org")
            #expect(ham.client.hostname == "bad.example.com")
            #expect(String(decoding: ham.message, as: UTF8.self) == "Subject: Lunch?\r\n\r\nAt noon.\r\n")

            try await send(Wire.quit)
            #expect(try await reader.next() == nil, "the filter closes the connection after SMFIC_QUIT")
        }

        serverTask.cancel()
        _ = await serverTask.result
        transactionSink.finish()
        try await group.shutdownGracefully()
    }

    @Test func oversizedFrameClosesTheConnection() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let configuration = MilterConfiguration(maximumFrameSize: 4096)
        let server = try await ServerBootstrap(group: group)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try MilterConnection.makeAsyncChannel(wrapping: channel, configuration: configuration)
                }
            }
        let port = try #require(server.channel.localAddress?.port)
        let serverTask = Task {
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    try await MilterConnection.run(
                        channel: connection, configuration: configuration, logger: Logger(label: "milter-test")
                    ) { _ in .accept }
                }
            }
        }
        let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        try await client.executeThenClose { inbound, outbound in
            var reader = FrameReader(iterator: inbound.makeAsyncIterator())
            try await outbound.write(ByteBuffer(bytes: Wire.optneg()))
            let negotiation = try #require(try await reader.next())
            #expect(negotiation[4] == UInt8(ascii: "O"))
            // A length field of 1 MiB + 1 is refused before any payload arrives.
            try await outbound.write(ByteBuffer(bytes: Wire.u32(UInt32(1 << 20) + 1) + [UInt8(ascii: "B")]))
            #expect(try await reader.next() == nil)
        }
        serverTask.cancel()
        _ = await serverTask.result
        try await group.shutdownGracefully()
    }
}
