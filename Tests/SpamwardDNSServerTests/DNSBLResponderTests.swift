import DNSWire
import Testing

@testable import SpamwardDNSServer

/// The responder as a pure function: query bytes in, response bytes out.
@Suite struct DNSBLResponderTests {
    // Safe to force unwrap: a constant, valid zone.
    let responder = DNSBLResponder(zone: "botnet.spamward.local", ttlSeconds: 60)!
    static let listed: [String: DNSBLListing] = [
        "198.51.100.7": DNSBLListing(code: 0x7F00_0002, text: "Spamward botnet footprint: 3 spam campaigns"),
        "2001:0db8:0000:0000:0000:0000:0000:0005": DNSBLListing(code: 0x7F00_0003, text: "v6 botnet"),
    ]

    func ask(_ name: String, _ type: ResourceRecordType, qClass: ResourceRecordClass = .in, edns: Bool = true) throws -> DNSMessage {
        var q = DNSMessage.query(id: 0x1234, name: try #require(DomainName(name)), type: type, ednsUDPPayloadBytes: edns ? 1232 : nil)
        q.questions[0].qClass = qClass
        let bytes = try #require(responder.respond(to: try q.encoded(), udp: true, serial: 7) { Self.listed[$0] })
        let r = try DNSMessage(decoding: bytes)
        #expect(r.id == 0x1234 && r.flags.isResponse)
        return r
    }

    @Test func listedIPv4AnswersAAndTXT() throws {
        let a = try ask("7.100.51.198.botnet.spamward.local", .a)
        #expect(a.flags.responseCode == .noError && a.flags.authoritative)
        #expect(a.answers.map(\.data) == [.a(0x7F00_0002)])
        #expect(a.answers.first?.ttl == 60)
        let txt = try ask("7.100.51.198.BOTNET.Spamward.local.", .txt)
        #expect(txt.answers.map(\.data) == [.txt([Array("Spamward botnet footprint: 3 spam campaigns".utf8)])])
        let any = try ask("7.100.51.198.botnet.spamward.local", .any)
        #expect(any.answers.count == 2)
        let mx = try ask("7.100.51.198.botnet.spamward.local", .mx)
        #expect(mx.flags.responseCode == .noError && mx.answers.isEmpty && mx.authorities.first?.type == .soa)
    }

    @Test func unlistedAndOtherNamesInTheZoneAreNXDOMAINWithSOA() throws {
        for name in ["8.100.51.198.botnet.spamward.local", "100.51.198.botnet.spamward.local", "x.botnet.spamward.local",
                     "07.100.51.198.botnet.spamward.local", "256.100.51.198.botnet.spamward.local",
                     "1.0.0.127.botnet.spamward.local"] {
            let r = try ask(name, .a)
            #expect(r.flags.responseCode == .nameError, "\(name)")
            #expect(r.flags.authoritative)
            #expect(r.answers.isEmpty)
            guard case .soa(let soa)? = r.authorities.first?.data else {
                Issue.record("no SOA in the negative answer for \(name)")
                continue
            }
            #expect(soa.minimumSeconds == 60 && soa.serial == 7)
            #expect(soa.primaryServer.description == "ns.botnet.spamward.local")
        }
    }

    @Test func apexHasSOAAndNS() throws {
        let soa = try ask("botnet.spamward.local", .soa)
        #expect(soa.flags.responseCode == .noError && soa.answers.first?.type == .soa)
        let ns = try ask("botnet.spamward.local", .ns)
        #expect(ns.answers.map(\.data) == [.ns(try #require(DomainName("ns.botnet.spamward.local")))])
        let a = try ask("botnet.spamward.local", .a)
        #expect(a.flags.responseCode == .noError && a.answers.isEmpty && a.authorities.first?.type == .soa)
    }

    @Test func rfc5782TestPoints() throws {
        #expect(try ask("2.0.0.127.botnet.spamward.local", .a).answers.map(\.data) == [.a(0x7F00_0002)])
        #expect(try ask("1.0.0.127.botnet.spamward.local", .a).flags.responseCode == .nameError)
    }

    @Test func ipv6Nibbles() throws {
        let name = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.botnet.spamward.local"
        #expect(try ask(name, .a).answers.map(\.data) == [.a(0x7F00_0003)])
        let bad = "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.botnet.spamward.local"
        #expect(try ask(bad, .a).flags.responseCode == .nameError)
    }

    @Test func outsideTheZoneIsRefused() throws {
        for name in ["example.com", "spamward.local", "7.100.51.198.botnet.spamward.local.evil", "local"] {
            let r = try ask(name, .a)
            #expect(r.flags.responseCode == .refused, "\(name)")
            #expect(!r.flags.authoritative && r.answers.isEmpty)
        }
        #expect(try ask("7.100.51.198.botnet.spamward.local", .a, qClass: .ch).flags.responseCode == .refused)
    }

    @Test func ednsIsEchoedAndPlainQueriesWork() throws {
        #expect(try ask("7.100.51.198.botnet.spamward.local", .a, edns: true).additionals.first?.type == .opt)
        let plain = try ask("7.100.51.198.botnet.spamward.local", .a, edns: false)
        #expect(plain.additionals.isEmpty && plain.answers.count == 1)
    }

    @Test func junkGetsFORMERROrNothing() throws {
        // A header and garbage: FORMERR with the ID.
        let junk: [UInt8] = [0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]
        let r = try DNSMessage(decoding: try #require(responder.respond(to: junk, udp: true, serial: 1) { _ in nil }))
        #expect(r.id == 0xABCD && r.flags.responseCode == .formatError)
        // Shorter than a header, or a response: silence.
        #expect(responder.respond(to: [1, 2, 3], udp: true, serial: 1) { _ in nil } == nil)
        var response = DNSMessage.query(id: 9, name: try #require(DomainName("botnet.spamward.local")), type: .soa)
        response.flags.isResponse = true
        #expect(responder.respond(to: try response.encoded(), udp: true, serial: 1) { _ in nil } == nil)
        // Two questions: FORMERR. An UPDATE (opcode 5): NOTIMP.
        var two = DNSMessage.query(id: 10, name: try #require(DomainName("botnet.spamward.local")), type: .soa)
        two.questions.append(two.questions[0])
        #expect(try DNSMessage(decoding: try #require(responder.respond(to: try two.encoded(), udp: true, serial: 1) { _ in nil }))
            .flags.responseCode == .formatError)
        var update = DNSMessage.query(id: 11, name: try #require(DomainName("botnet.spamward.local")), type: .soa)
        update.flags.opcode = 5
        #expect(try DNSMessage(decoding: try #require(responder.respond(to: try update.encoded(), udp: true, serial: 1) { _ in nil }))
            .flags.responseCode == .notImplemented)
    }

    /// Random and mutated packets: no crash, and every reply decodes.
    @Test func hostilePacketsNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        let valid = try DNSMessage.query(id: 1, name: try #require(DomainName("7.100.51.198.botnet.spamward.local")), type: .a).encoded()
        for i in 0..<20_000 {
            var p: [UInt8]
            if i % 2 == 0 {
                p = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                p = valid
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) { p = Array(p.prefix(Int.random(in: 0...p.count, using: &rng))) }
            }
            if let reply = responder.respond(to: p, udp: true, serial: 1, lookup: { Self.listed[$0] }) {
                #expect(reply.count <= 1232)
                #expect((try? DNSMessage(decoding: reply)) != nil)
            }
        }
    }
}
