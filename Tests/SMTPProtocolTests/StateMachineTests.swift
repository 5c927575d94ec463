import SMTPProtocol
import Testing

@Suite struct StateMachineTests {
    let config = SMTPServerStateMachine.Configuration(hostname: "edge.test", pipelining: false, maximumMessageBytes: 1000)

    @Test func wholeTransaction() {
        var sm = SMTPServerStateMachine(configuration: config)
        #expect(sm.greeting == SMTPReply(220, "edge.test ESMTP"))
        #expect(sm.receive(.ehlo("client.test")) == .greeted(
            name: "client.test", extended: true,
            reply: SMTPReply(code: 250, lines: ["edge.test", "SIZE 1000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"])))
        #expect(sm.receive(.mail(reversePath: "a@b", parameters: [])) == .mail(reversePath: "a@b", parameters: []))
        #expect(sm.receive(.rcpt(forwardPath: "x@y", parameters: [])) == .reply(SMTPReply(503, "5.5.1 Command out of sequence")))
        sm.mailReplied(SMTPReply(250, "ok"))
        #expect(sm.receive(.data) == .reply(SMTPReply(554, "5.5.1 No valid recipients")))
        #expect(sm.receive(.rcpt(forwardPath: "x@y", parameters: [])) == .recipient(forwardPath: "x@y", parameters: []))
        sm.recipientReplied(SMTPReply(550, "no"))
        #expect(sm.state == .transaction(recipients: 0))
        _ = sm.receive(.rcpt(forwardPath: "z@y", parameters: []))
        sm.recipientReplied(SMTPReply(250, "ok"))
        #expect(sm.receive(.data) == .data)
        #expect(sm.receive(.noop) == .reply(SMTPReply(503, "5.5.1 Command out of sequence")))
        sm.messageFinished()
        #expect(sm.state == .ready)
        #expect(sm.messages == 1)
        #expect(sm.receive(.quit) == .close(SMTPReply(221, "2.0.0 edge.test closing connection")))
        #expect(sm.errors == 3)
    }

    @Test func sequenceErrors() {
        var sm = SMTPServerStateMachine(configuration: config)
        #expect(sm.receive(.mail(reversePath: "", parameters: [])) == .reply(SMTPReply(503, "5.5.1 Send HELO/EHLO first")))
        #expect(sm.receive(.helo("x")) == .greeted(name: "x", extended: false, reply: SMTPReply(250, "edge.test")))
        #expect(sm.receive(.rcpt(forwardPath: "a@b", parameters: [])) == .reply(SMTPReply(503, "5.5.1 Need MAIL before RCPT")))
        #expect(sm.receive(.data) == .reply(SMTPReply(503, "5.5.1 Need MAIL command")))
        #expect(sm.receive(.unknown("XYZ")) == .reply(SMTPReply(500, "5.5.2 Command unrecognized")))
        #expect(sm.receive(.nonSMTP("GET")) == .reply(SMTPReply(500, "5.5.2 Command unrecognized")))
        #expect(sm.receive(.syntaxError("MAIL")) == .reply(SMTPReply(501, "5.5.4 Syntax error in parameters or arguments")))
        #expect(sm.errors == 6)
    }

    @Test func resetVrfyAndStartTLS() {
        var sm = SMTPServerStateMachine(configuration: config)
        _ = sm.receive(.ehlo("x"))
        #expect(sm.receive(.startTLS) == .reply(SMTPReply(502, "5.5.1 STARTTLS not available")))
        _ = sm.receive(.mail(reversePath: "", parameters: []))
        sm.mailReplied(SMTPReply(250, "ok"))
        #expect(sm.receive(.vrfy("root")) == .reply(SMTPReply(252, "2.5.2 Cannot VRFY user; try RCPT to attempt delivery")))
        #expect(sm.receive(.rset) == .reset(SMTPReply(250, "2.0.0 OK")))
        #expect(sm.state == .ready)
        var tls = SMTPServerStateMachine(configuration: .init(hostname: "e", pipelining: true, startTLS: true))
        guard case .greeted(_, _, let reply) = tls.receive(.ehlo("x")) else { Issue.record("no greeting"); return }
        #expect(reply.lines == ["e", "PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS"])
        #expect(tls.receive(.startTLS) == .startTLS)
    }

    @Test func rejectedSenderReturnsToReady() {
        var sm = SMTPServerStateMachine(configuration: config)
        _ = sm.receive(.helo("x"))
        _ = sm.receive(.mail(reversePath: "spam@x", parameters: []))
        sm.mailReplied(SMTPReply(550, "no"))
        #expect(sm.state == .ready)
        #expect(sm.receive(.mail(reversePath: "ok@x", parameters: [])) == .mail(reversePath: "ok@x", parameters: []))
    }
}
