import MailAuth
import NIOCore
import SMTPProtocol
import Testing

@testable import SpamwardEdge

/// The SMTP front (``EdgeFront``) as a pure state machine: which clients it hands to a session,
/// and what it answers (and decides) for the ones it refuses itself.
@Suite struct EdgeFrontTests {
    static let client = IPAddress("192.0.2.7")!  // Safe to force unwrap: a literal.

    static func configuration(_ configure: (inout EdgeConfiguration) -> Void = { _ in }) -> EdgeConfiguration {
        var c = EdgeConfiguration()
        c.hostname = "edge.spamward.test"
        configure(&c)
        return c
    }

    /// Runs the front on `input`; the step, the replies' codes and texts, what is left unread.
    static func run(_ front: inout EdgeFront, _ input: String, _ c: EdgeConfiguration) -> (EdgeFront.Step, [SMTPReply], String) {
        var buffer = ByteBuffer(string: input)
        var out = ByteBuffer()
        let step = front.receive(&buffer, configuration: c, client: client, replies: &out)
        var decoder = SMTPReplyDecoder()
        var replies: [SMTPReply] = []
        while let r = try? decoder.decode(buffer: &out) { replies.append(r) }
        return (step, replies, String(buffer: buffer))
    }

    @Test func aClientThatBehavesIsHandedOffBeforeItsFirstCommandIsRead() {
        let c = Self.configuration()
        var front = EdgeFront(configuration: c, startTLS: false, screening: Screening())
        let (step, replies, left) = Self.run(&front, "EHLO client.example.com\r\n", c)
        #expect(step == .handOff)
        #expect(replies.isEmpty)
        #expect(left == "EHLO client.example.com\r\n", "the session must read the first command itself")
        #expect(front.consumed == 0 && front.decisions.isEmpty)
        // Half a line: more bytes are needed, nothing answered.
        var drip = EdgeFront(configuration: c, startTLS: false, screening: Screening())
        #expect(Self.run(&drip, "EHLO cli", c).0 == .needMore)
        // An ignored finding (a bare LF) is the session's to log.
        #expect(Self.run(&drip, "EHLO client.example.com\n", c).0 == .handOff)
    }

    @Test func aPipeliningBotIsAnsweredAndRefusedWithoutASession() {
        let c = Self.configuration()  // pipelining = enforce
        var front = EdgeFront(configuration: c, startTLS: false, screening: Screening())
        let input = "EHLO bot.example.net\r\nMAIL FROM:<bot@example.net>\r\nRCPT TO:<inbox@spamward.test>\r\nDATA\r\n"
        let (step, replies, left) = Self.run(&front, input, c)
        #expect(step == .needMore)
        #expect(left.isEmpty)
        #expect(replies.map(\.code) == [250, 250, 550, 554], "\(replies)")
        #expect(replies.first?.lines.contains("PIPELINING") == true)
        #expect(replies[2].text == "5.7.1 [SW-PIPELINING] Improper command pipelining")
        #expect(front.consumed == input.utf8.count)
        let d = front.decisions
        #expect(d.count == 2, "\(d)")
        #expect(d.first?.violation.test == .pipelining && d.first?.action == .enforce && d.first?.counted == true)
        #expect(d.first?.violation.evidence.hasPrefix("\(input.utf8.count - 22) bytes sent before the reply to EHLO") == true)
        #expect(d.last == EdgeFront.Decision(
            violation: d[0].violation, action: .enforce, helo: "bot.example.net", sender: "bot@example.net",
            recipient: "inbox@spamward.test", counted: false))
        // QUIT ends it.
        let (quit, bye, _) = Self.run(&front, "QUIT\r\n", c)
        #expect(quit == .close && bye.first?.code == 221)
    }

    @Test func dropActionsCloseAtOnce() {
        let c = Self.configuration { $0.actions[.pipelining] = .drop }
        var front = EdgeFront(configuration: c, startTLS: false, screening: Screening())
        let (step, replies, _) = Self.run(&front, "EHLO bot.example.net\r\nMAIL FROM:<bot@example.net>\r\n", c)
        #expect(step == .close)
        #expect(replies.map(\.code) == [521])
        #expect(replies.first?.text == "5.7.1 [SW-PIPELINING] Improper command pipelining")

        let d = Self.configuration()  // non_smtp = drop
        var web = EdgeFront(configuration: d, startTLS: false, screening: Screening())
        let (s, r, _) = Self.run(&web, "GET / HTTP/1.1\r\n", d)
        #expect(s == .close && r.first?.code == 521 && r.first?.text.contains("[SW-NONSMTP]") == true)
        #expect(web.decisions.map(\.violation.test) == [.nonSMTP])
    }

    @Test func anEnforcedFindingFromTheScreeningKeepsTheDialogInTheFront() {
        let c = Self.configuration()
        var screening = Screening()
        let listed = EdgeViolation(test: .dnsbl, evidence: "score 2 >= 1")
        screening.fired = [.dnsbl]
        screening.pending = listed
        var front = EdgeFront(configuration: c, startTLS: true, screening: screening)
        let (step, replies, _) = Self.run(&front, "EHLO [192.0.2.8]\r\n", c)
        #expect(step == .needMore)
        #expect(replies.map(\.code) == [250])
        #expect(front.decisions.map(\.violation.test) == [.helo], "the forged address literal fails the HELO test")
        front.decisions = []
        let (s2, r2, _) = Self.run(&front, "MAIL FROM:<a@example.org> SIZE=999999999999\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n", c)
        #expect(s2 == .needMore)
        #expect(r2.map(\.code) == [552, 250, 550])
        #expect(r2.last?.text == "5.7.1 [SW-DNSBL] Client address is listed in DNS blocklists")
        // STARTTLS is the session's, with everything so far.
        let (s3, r3, left) = Self.run(&front, "RSET\r\nSTARTTLS\r\n", c)
        #expect(s3 == .handOff && r3.map(\.code) == [250] && left == "STARTTLS\r\n")
        #expect(front.screening.pending == listed && front.helo == "[192.0.2.8]" && front.sender == nil)
    }

    @Test func tooManyErrorsCloseWith421UnderEnforce() {
        let c = Self.configuration {
            $0.maxErrors = 2
            $0.actions[.errors] = .enforce
        }
        var screening = Screening()
        screening.pending = EdgeViolation(test: .pregreet, evidence: "3 bytes before the greeting")
        var front = EdgeFront(configuration: c, startTLS: false, screening: screening)
        let (step, replies, _) = Self.run(&front, "FOO\r\nBAR\r\nBAZ\r\n", c)
        #expect(step == .close)
        #expect(replies.map(\.code) == [500, 500, 500, 421])
        #expect(replies.last?.text == "4.7.0 [SW-ERRORS] Too many protocol errors")
    }
}
