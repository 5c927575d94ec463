import MilterProtocol
import NIOCore
import Testing

@Suite struct StateMachineTests {
    private func negotiated(_ configuration: MilterConfiguration = MilterConfiguration()) -> MilterSessionStateMachine {
        var sm = MilterSessionStateMachine(configuration: configuration)
        _ = sm.receive(PostfixSession.offer)
        return sm
    }

    /// Feeds commands and returns the transaction of the `.evaluate` action (failing otherwise).
    private func run(_ sm: inout MilterSessionStateMachine, _ commands: [MilterCommand]) throws -> MilterTransaction {
        var transaction: MilterTransaction?
        for command in commands {
            let action = sm.receive(command)
            switch action {
            case .evaluate(let txn): transaction = txn
            case .reply(let response): #expect(response == .continue, "reply to \(command.name)")
            case .noReply: #expect(!command.expectsReply, "no reply to \(command.name)")
            case .close, .protocolError: Issue.record("unexpected \(action) for \(command.name)")
            }
        }
        return try #require(transaction)
    }

    // MARK: Negotiation

    @Test func negotiatesWithPostfixVersion6() {
        var sm = MilterSessionStateMachine()
        let expected = MilterOptions(
            version: 6, actions: [.addHeaders, .changeHeaders, .quarantine],
            protocolFlags: [.noUnknown, .noData, .skip, .headerLeadingSpace])
        #expect(sm.receive(PostfixSession.offer) == .reply(.optionNegotiation(expected)))
        #expect(sm.negotiated == expected)
        #expect(sm.headerLeadingSpace)
    }

    @Test func negotiatesDownToVersion2AndOfferedFlagsOnly() {
        var sm = MilterSessionStateMachine()
        // Postfix 2.3-2.5 with milter_protocol = 2: v2 actions and the seven "no" flags.
        let offer = MilterOptions(version: 2, actions: MilterActions(rawValue: 0x3F), protocolFlags: MilterProtocolFlags(rawValue: 0x7F))
        let expected = MilterOptions(version: 2, actions: [.addHeaders, .changeHeaders, .quarantine], protocolFlags: [])
        #expect(sm.receive(.optionNegotiation(offer)) == .reply(.optionNegotiation(expected)))
        #expect(!sm.headerLeadingSpace)
    }

    @Test func neverAsksMoreThanOffered() {
        var sm = MilterSessionStateMachine()
        let offer = MilterOptions(version: 7, actions: [.addHeaders], protocolFlags: [.skip, .noReplyBody, .noHeaderReply])
        #expect(
            sm.receive(.optionNegotiation(offer))
                == .reply(.optionNegotiation(MilterOptions(version: 6, actions: [.addHeaders], protocolFlags: [.skip]))))
    }

    @Test func neverAsksForNoReplyFlagsEvenIfConfigured() {
        var sm = MilterSessionStateMachine(
            configuration: MilterConfiguration(requestedProtocolFlags: [.noReplyBody, .noHeaderReply, .noMail, .skip]))
        guard case .reply(.optionNegotiation(let options)) = sm.receive(PostfixSession.offer) else {
            Issue.record("no negotiation reply")
            return
        }
        #expect(options.protocolFlags == [.skip])
    }

    @Test func refusesVersion1() {
        var sm = MilterSessionStateMachine()
        let action = sm.receive(.optionNegotiation(MilterOptions(version: 1, actions: [], protocolFlags: [])))
        guard case .protocolError(let error) = action else {
            Issue.record("expected a protocol error, got \(action)")
            return
        }
        #expect(error.code == .unsupportedVersion)
        #expect(sm.isClosed)
    }

    // MARK: Message flow

    @Test func fullMessage() throws {
        var sm = negotiated()
        let txn = try run(
            &sm,
            PostfixSession.connectCommands()
                + PostfixSession.messageCommands(queueID: "4BxQ1k0abc", sender: "alice@example.org", body: "Hi Bob.\r\n"))
        #expect(sm.isAwaitingDecision)
        #expect(txn.client == MilterClientInfo(hostname: "client.example.org", family: .inet, address: "192.0.2.7", port: 40123, helo: "client.example.org"))
        #expect(txn.sender?.rawAddress == "<alice@example.org>")
        #expect(txn.sender?.address == "alice@example.org")
        #expect(txn.sender?.parameters == ["SIZE=1234", "BODY=8BITMIME"])
        #expect(txn.recipients.map(\.address) == ["bob@example.net", "carol@example.net"])
        #expect(txn.recipients[1].parameters == ["NOTIFY=NEVER"])
        #expect(txn.queueID == "4BxQ1k0abc")
        #expect(txn.macros["{i}"] == "4BxQ1k0abc")
        #expect(txn.macros["auth_authen"] == "alice")
        #expect(txn.macros["{auth_authen}"] == "alice")
        #expect(txn.macros["j"] == "mx.example.net")
        #expect(txn.macros["client_addr"] == "192.0.2.7")
        #expect(txn.headers.map(\.name) == ["From", "Subject"])
        #expect(txn.header("subject")?.value == "Hello")
        let expected = "From: <alice@example.org>\r\nSubject: Hello\r\n\r\nHi Bob.\r\n"
        #expect(String(decoding: txn.message, as: UTF8.self) == expected)
        #expect(txn.messageSize == expected.utf8.count)
        #expect(!txn.truncated)
        #expect(txn.headerLeadingSpace)
    }

    @Test func decisionYieldsModificationsThenFinalResponse() throws {
        var sm = negotiated()
        _ = try run(&sm, PostfixSession.connectCommands() + PostfixSession.messageCommands(queueID: "Q1", sender: "a@b", body: "x\r\n"))
        let decision = MilterDecision.reject(
            try MilterSMTPReply(code: 550, enhancedStatus: "5.7.1", text: "Message rejected as spam (SW_SPAM)"),
            headerModifications: [
                try .add(name: "X-Spamward-Status", value: "Yes, score=9.1"),
                try .insert(at: 0, name: "X-Top", value: "1"),
                try .change(name: "Subject", occurrence: 1, value: "[SPAM] Hello"),
                try .delete(name: "X-Old", occurrence: 2),
            ])
        #expect(
            sm.decide(decision) == [
                // SMFIP_HDR_LEADSPC is in effect: the filter supplies the space after the colon.
                .addHeader(name: "X-Spamward-Status", value: " Yes, score=9.1"),
                .insertHeader(index: 0, name: "X-Top", value: " 1"),
                .changeHeader(index: 1, name: "Subject", value: " [SPAM] Hello"),
                .changeHeader(index: 2, name: "X-Old", value: ""),
                .replyCode(try MilterSMTPReply(code: 550, enhancedStatus: "5.7.1", text: "Message rejected as spam (SW_SPAM)")),
            ])
        #expect(!sm.isAwaitingDecision)
        #expect(sm.decide(.accept) == [], "no second decision for the same message")
    }

    @Test func withoutLeadingSpaceFlagValuesAreSentBare() throws {
        let offer = MilterCommand.optionNegotiation(
            MilterOptions(version: 6, actions: MilterActions(rawValue: 0x1FF), protocolFlags: MilterProtocolFlags(rawValue: 0x7FF)))
        var sm = MilterSessionStateMachine()
        _ = sm.receive(offer)
        #expect(!sm.headerLeadingSpace)
        _ = try run(&sm, PostfixSession.messageCommands(queueID: "Q", sender: "a@b", body: ""))
        #expect(sm.decide(MilterDecision(action: .accept, headerModifications: [try .add(name: "X-S", value: "yes")])) == [.addHeader(name: "X-S", value: "yes"), .accept])
    }

    @Test func finalActions() throws {
        let cases: [(MilterDecision, [MilterResponse])] = [
            (.accept, [.accept]),
            (.continue, [.continue]),
            (.reject, [.reject]),
            (.tempfail, [.tempfail]),
            (.discard, [.discard]),
            (.tempfail(try MilterSMTPReply(code: 451, enhancedStatus: "4.7.1", text: "later")), [.replyCode(try MilterSMTPReply(code: 451, enhancedStatus: "4.7.1", text: "later"))]),
            (MilterDecision(action: .quarantine(reason: "spam\r\nscore 12")), [.quarantine(reason: "spam  score 12"), .accept]),
        ]
        for (decision, expected) in cases {
            var sm = negotiated()
            _ = try run(&sm, PostfixSession.messageCommands(queueID: "Q", sender: "a@b", body: "x\r\n"))
            #expect(sm.decide(decision) == expected)
        }
    }

    @Test func modificationsNotGrantedAreDropped() throws {
        var sm = MilterSessionStateMachine()
        _ = sm.receive(.optionNegotiation(MilterOptions(version: 6, actions: [.addHeaders], protocolFlags: [])))
        _ = try run(&sm, PostfixSession.messageCommands(queueID: "Q", sender: "a@b", body: "x\r\n"))
        let decision = MilterDecision(
            action: .quarantine(reason: "r"),
            headerModifications: [try .add(name: "X-A", value: "1"), try .change(name: "Subject", value: "s")])
        #expect(sm.decide(decision) == [.addHeader(name: "X-A", value: "1"), .accept])
        #expect(sm.droppedModifications == 2)
    }

    @Test func faultActions() throws {
        var sm = negotiated()
        _ = try run(&sm, PostfixSession.messageCommands(queueID: "Q", sender: "a@b", body: "x\r\n"))
        #expect(sm.fault(.tempfail) == [.tempfail])
        _ = try run(&sm, PostfixSession.messageCommands(queueID: "Q2", sender: "a@b", body: "x\r\n"))
        #expect(sm.fault(.accept) == [.accept])
    }

    @Test func twoMessagesOnOneConnection() throws {
        var sm = negotiated()
        let first = try run(
            &sm, PostfixSession.connectCommands() + PostfixSession.messageCommands(queueID: "AAA", sender: "one@example.org", body: "first\r\n"))
        #expect(sm.decide(.accept) == [.accept])
        // The second message has no {auth_authen} macro: the first message's must not leak.
        let second = try run(
            &sm,
            [
                .mail(arguments: ["<two@example.org>"]),
                .recipient(arguments: ["<x@example.net>"]),
                .macros(MilterMacroDefinition(commandCode: UInt8(ascii: "T"), macros: [MilterMacro(name: "i", value: "BBB")])),
                .header(MilterHeaderField(name: "Subject", value: " Second")),
                .endOfHeaders,
                .body(ByteBuffer(bytes: Array("second\r\n".utf8))),
                .endOfMessage(ByteBuffer()),
            ])
        #expect(first.queueID == "AAA")
        #expect(second.queueID == "BBB")
        #expect(second.macros["auth_authen"] == nil)
        #expect(second.macros["j"] == "mx.example.net", "connection macros persist")
        #expect(second.client == first.client)
        #expect(second.recipients.map(\.address) == ["x@example.net"])
        #expect(String(decoding: second.message, as: UTF8.self) == "Subject: Second\r\n\r\nsecond\r\n")
    }

    @Test func abortMidMessageKeepsConnection() throws {
        var sm = negotiated()
        for command in PostfixSession.connectCommands() {
            _ = sm.receive(command)
        }
        #expect(sm.receive(.mail(arguments: ["<aborted@example.org>"])) == .reply(.continue))
        #expect(sm.receive(.recipient(arguments: ["<r@example.net>"])) == .reply(.continue))
        #expect(sm.receive(.header(MilterHeaderField(name: "Subject", value: " aborted"))) == .reply(.continue))
        #expect(sm.receive(.abort) == .noReply)
        #expect(sm.receive(.helo("again.example.org")) == .reply(.continue))
        let txn = try run(&sm, PostfixSession.messageCommands(queueID: "NEW", sender: "kept@example.org", body: "b\r\n"))
        #expect(txn.sender?.address == "kept@example.org")
        #expect(txn.recipients.count == 2)
        #expect(!String(decoding: txn.message, as: UTF8.self).contains("aborted"))
        #expect(txn.client.hostname == "client.example.org")
        #expect(txn.client.helo == "again.example.org")
    }

    @Test func quitClosesAndNothingFollows() {
        var sm = negotiated()
        #expect(sm.receive(.quit) == .close)
        #expect(sm.isClosed)
        guard case .protocolError(let error) = sm.receive(.helo("x")) else {
            Issue.record("expected a protocol error after quit")
            return
        }
        #expect(error.code == .unexpectedCommand)
    }

    @Test func quitBeforeNegotiationCloses() {
        var sm = MilterSessionStateMachine()
        #expect(sm.receive(.quit) == .close)
    }

    @Test func quitNewConnectionResetsClient() throws {
        var sm = negotiated()
        _ = try run(&sm, PostfixSession.connectCommands() + PostfixSession.messageCommands(queueID: "Q", sender: "a@b", body: ""))
        _ = sm.decide(.accept)
        #expect(sm.receive(.quitNewConnection) == .noReply)
        #expect(sm.client == MilterClientInfo())
        #expect(sm.macros.isEmpty)
        #expect(
            sm.receive(.connect(MilterConnectInfo(hostname: "other.example", family: .inet6, port: 1, address: "2001:db8::2")))
                == .reply(.continue))
        #expect(sm.client.address == "2001:db8::2")
    }

    @Test(arguments: [
        [MilterCommand.body(ByteBuffer(bytes: [0x41]))],
        [.recipient(arguments: ["<r@x>"])],
        [.endOfMessage(ByteBuffer())],
        [.header(MilterHeaderField(name: "A", value: "b"))],
        [.endOfHeaders],
        [.data],
        [.mail(arguments: ["<a@b>"]), .mail(arguments: ["<a@b>"])],
        [.mail(arguments: ["<a@b>"]), .endOfHeaders, .header(MilterHeaderField(name: "A", value: "b"))],
        [.mail(arguments: ["<a@b>"]), .body(ByteBuffer(bytes: [0x41])), .recipient(arguments: ["<r@x>"])],
        [.mail(arguments: ["<a@b>"]), .helo("x")],
        [.connect(MilterConnectInfo(hostname: "h", family: .unknown)), .connect(MilterConnectInfo(hostname: "h", family: .unknown))],
        [.mail(arguments: ["<a@b>"]), .endOfMessage(ByteBuffer()), .helo("while deciding")],
        [.unrecognized(code: UInt8(ascii: "Z"), payload: ByteBuffer())],
        [.optionNegotiation(MilterOptions(version: 6, actions: [], protocolFlags: []))],
    ])
    func outOfOrderCommandsAreProtocolErrors(commands: [MilterCommand]) {
        var sm = negotiated()
        var last: MilterSessionStateMachine.Action = .noReply
        for command in commands {
            last = sm.receive(command)
        }
        guard case .protocolError(let error) = last else {
            Issue.record("expected a protocol error, got \(last)")
            return
        }
        #expect(error.code == .unexpectedCommand || error.code == .unrecognizedCommand)
        #expect(sm.isClosed)
    }

    @Test func commandsBeforeNegotiationAreProtocolErrors() {
        var sm = MilterSessionStateMachine()
        guard case .protocolError(let error) = sm.receive(.helo("early")) else {
            Issue.record("expected a protocol error")
            return
        }
        #expect(error.code == .unexpectedCommand)
    }

    @Test func macrosNeedNoReplyAnywhereInTheSession() {
        var sm = negotiated()
        let definition = MilterMacroDefinition(commandCode: UInt8(ascii: "L"), macros: [MilterMacro(name: "i", value: "Q")])
        #expect(sm.receive(.macros(definition)) == .noReply)
        #expect(sm.receive(.mail(arguments: ["<a@b>"])) == .reply(.continue))
        #expect(sm.receive(.macros(definition)) == .noReply)
        #expect(sm.receive(.unknownSMTPCommand("XYZZY")) == .reply(.continue))
    }

    @Test func repeatedStageMacrosReplaceEachOther() throws {
        var sm = negotiated()
        var commands: [MilterCommand] = [.mail(arguments: ["<a@b>"])]
        for index in 0..<100 {
            commands.append(.macros(MilterMacroDefinition(commandCode: UInt8(ascii: "R"), macros: [MilterMacro(name: "{rcpt_addr}", value: "r\(index)@x")])))
            commands.append(.recipient(arguments: ["<r\(index)@x>"]))
        }
        commands.append(.endOfMessage(ByteBuffer()))
        let txn = try run(&sm, commands)
        #expect(txn.macros.entries.count == 1, "one entry per stage, not one per recipient")
        #expect(txn.macros["rcpt_addr"] == "r99@x")
        #expect(txn.recipients.count == 100)
    }

    @Test func recipientLimit() throws {
        var sm = negotiated(MilterConfiguration(maximumRecipients: 2))
        let txn = try run(
            &sm,
            [.mail(arguments: ["<a@b>"])] + (0..<5).map { MilterCommand.recipient(arguments: ["<r\($0)@x>"]) }
                + [.endOfMessage(ByteBuffer())])
        #expect(txn.recipients.map(\.address) == ["r0@x", "r1@x"])
        #expect(txn.droppedRecipients == 3)
    }

    // MARK: Size limits

    @Test func oversizedMessageIsTruncatedAndSkipped() throws {
        var sm = negotiated(MilterConfiguration(maximumMessageBytes: 100))
        _ = sm.receive(.mail(arguments: ["<a@b>"]))
        _ = sm.receive(.recipient(arguments: ["<r@x>"]))
        #expect(sm.receive(.header(MilterHeaderField(name: "Subject", value: " big"))) == .reply(.continue))
        #expect(sm.receive(.endOfHeaders) == .reply(.continue))
        let chunk = ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: 60))
        #expect(sm.receive(.body(chunk)) == .reply(.continue))
        // The second chunk crosses the limit: SMFIP_SKIP was negotiated, so the MTA may stop sending body.
        #expect(sm.receive(.body(chunk)) == .reply(.skip))
        #expect(sm.receive(.body(chunk)) == .reply(.skip))
        guard case .evaluate(let txn) = sm.receive(.endOfMessage(ByteBuffer())) else {
            Issue.record("expected evaluate")
            return
        }
        #expect(txn.truncated)
        #expect(txn.message.count == 100)
        #expect(txn.messageSize == "Subject: big\r\n\r\n".utf8.count + 180)
        #expect(txn.message.starts(with: Array("Subject: big\r\n\r\n".utf8)))
        #expect(txn.headers.count == 1)
    }

    @Test func truncationWithoutSkipKeepsAnsweringContinue() throws {
        var sm = MilterSessionStateMachine(configuration: MilterConfiguration(maximumMessageBytes: 10))
        _ = sm.receive(.optionNegotiation(MilterOptions(version: 6, actions: [.addHeaders], protocolFlags: [])))
        _ = sm.receive(.mail(arguments: ["<a@b>"]))
        #expect(sm.receive(.body(ByteBuffer(bytes: [UInt8](repeating: 0x41, count: 50)))) == .reply(.continue))
        guard case .evaluate(let txn) = sm.receive(.endOfMessage(ByteBuffer())) else {
            Issue.record("expected evaluate")
            return
        }
        #expect(txn.truncated)
        #expect(txn.message == [UInt8](repeating: 0x41, count: 10))
        #expect(txn.messageSize == 50)
    }

    @Test func headersBeyondTheLimitAreNotListed() throws {
        var sm = negotiated(MilterConfiguration(maximumMessageBytes: 20))
        let txn = try run(
            &sm,
            [
                .mail(arguments: ["<a@b>"]),
                .header(MilterHeaderField(name: "A", value: " 1")),  // "A: 1\r\n" = 6 bytes
                .header(MilterHeaderField(name: "Long", value: " 0123456789012345")),
                .header(MilterHeaderField(name: "B", value: " 2")),
                .endOfHeaders,
                .endOfMessage(ByteBuffer()),
            ])
        #expect(txn.headers.map(\.name) == ["A"])
        #expect(txn.truncated)
        #expect(txn.message.count == 20)
    }

    // MARK: Header reconstruction

    @Test func leadingSpaceNegotiatedValuesAreVerbatim() throws {
        var sm = negotiated()
        let txn = try run(
            &sm,
            [
                .mail(arguments: ["<a@b>"]),
                .header(MilterHeaderField(name: "Subject", value: " Hello")),
                .header(MilterHeaderField(name: "X-Tab", value: "\tvalue")),
                .header(MilterHeaderField(name: "X-None", value: "tight")),
                .header(MilterHeaderField(name: "X-Two", value: "  two")),
                .header(MilterHeaderField(name: "X-Empty", value: "")),
                .header(MilterHeaderField(name: "X-Folded", value: " line one\n\tline two")),
                .endOfHeaders,
                .body(ByteBuffer(bytes: Array("body\r\n".utf8))),
                .endOfMessage(ByteBuffer()),
            ])
        let expected =
            "Subject: Hello\r\nX-Tab:\tvalue\r\nX-None:tight\r\nX-Two:  two\r\nX-Empty:\r\nX-Folded: line one\r\n\tline two\r\n\r\nbody\r\n"
        #expect(String(decoding: txn.message, as: UTF8.self) == expected)
        #expect(txn.headers.map(\.value) == ["Hello", "\tvalue", "tight", " two", "", "line one\n\tline two"])
    }

    @Test func withoutLeadingSpaceTheStrippedSpaceIsRestoredOnce() throws {
        var sm = MilterSessionStateMachine()
        _ = sm.receive(.optionNegotiation(MilterOptions(version: 6, actions: MilterActions(rawValue: 0x1FF), protocolFlags: MilterProtocolFlags(rawValue: 0x7FF))))
        let txn = try run(
            &sm,
            [
                .mail(arguments: ["<a@b>"]),
                .header(MilterHeaderField(name: "Subject", value: "Hello")),
                .header(MilterHeaderField(name: "X-Tab", value: "\tvalue")),
                .header(MilterHeaderField(name: "X-Empty", value: "")),
                .header(MilterHeaderField(name: "X-Folded", value: "line one\n line two")),
                .endOfHeaders,
                .body(ByteBuffer(bytes: Array("body\r\n".utf8))),
                .endOfMessage(ByteBuffer()),
            ])
        let expected = "Subject: Hello\r\nX-Tab:\tvalue\r\nX-Empty:\r\nX-Folded: line one\r\n line two\r\n\r\nbody\r\n"
        #expect(String(decoding: txn.message, as: UTF8.self) == expected)
        #expect(txn.headers.map(\.value) == ["Hello", "\tvalue", "", "line one\n line two"])
        #expect(!txn.headerLeadingSpace)
    }

    @Test func eightBitHeadersAndBodyAreKeptExactly() throws {
        var sm = negotiated()
        let latin1: [UInt8] = [0x20, 0x43, 0x61, 0x66, 0xE9]
        let body: [UInt8] = [0xFF, 0x00, 0x0D, 0x0A]
        let txn = try run(
            &sm,
            [
                .mail(arguments: ["<a@b>"]),
                .header(MilterHeaderField(rawName: Array("Subject".utf8), rawValue: latin1)),
                .endOfHeaders,
                .body(ByteBuffer(bytes: body)),
                .endOfMessage(ByteBuffer()),
            ])
        #expect(txn.message == Array("Subject:".utf8) + latin1 + [0x0D, 0x0A, 0x0D, 0x0A] + body)
    }

    @Test func messageWithoutBodyStillHasSeparator() throws {
        var sm = negotiated()
        let txn = try run(
            &sm, [.mail(arguments: ["<a@b>"]), .header(MilterHeaderField(name: "A", value: " 1")), .endOfMessage(ByteBuffer())])
        #expect(String(decoding: txn.message, as: UTF8.self) == "A: 1\r\n\r\n")
    }

    @Test func finalChunkInEndOfMessageIsBody() throws {
        var sm = negotiated()
        let txn = try run(
            &sm,
            [
                .mail(arguments: ["<a@b>"]), .header(MilterHeaderField(name: "A", value: " 1")), .endOfHeaders,
                .body(ByteBuffer(bytes: Array("one\r\n".utf8))), .endOfMessage(ByteBuffer(bytes: Array("two\r\n".utf8))),
            ])
        #expect(String(decoding: txn.message, as: UTF8.self) == "A: 1\r\n\r\none\r\ntwo\r\n")
    }

    // MARK: Macros

    @Test func macroNameNormalisation() {
        var macros = MilterMacros()
        macros.replace(commandCode: 0x4D, with: [MilterMacro(name: "i", value: "Q1"), MilterMacro(name: "{auth_type}", value: "PLAIN")])
        #expect(macros["i"] == "Q1")
        #expect(macros["{i}"] == "Q1")
        #expect(macros["auth_type"] == "PLAIN")
        #expect(macros["{auth_type}"] == "PLAIN")
        #expect(macros["{"] == nil)
        #expect(macros["missing"] == nil)
        #expect(macros.dictionary == ["i": "Q1", "auth_type": "PLAIN"])
        macros.replace(commandCode: 0x4D, with: [MilterMacro(name: "{i}", value: "Q2")])
        #expect(macros["i"] == "Q2")
        #expect(macros["auth_type"] == nil)
    }
}
