import DNSWire
import Testing

private func name(_ s: String) -> DomainName {
    guard let n = DomainName(s) else {
        Issue.record("bad test name \(s)")
        return .root
    }
    return n
}

@Suite struct DNSMessageRoundTripTests {
    static let sample: DNSMessage = {
        var flags = DNSHeaderFlags()
        flags.isResponse = true
        flags.authoritative = true
        flags.recursionAvailable = true
        flags.responseCode = .noError
        let soa = SOAData(
            primaryServer: name("ns.example.org"), responsibleMailbox: name("hostmaster.example.org"), serial: 7,
            refreshSeconds: 3600, retrySeconds: 600, expireSeconds: 86400, minimumSeconds: 300)
        return DNSMessage(
            id: 0xBEEF, flags: flags, questions: [DNSQuestion(name: name("www.Example.org"), type: .a)],
            answers: [
                ResourceRecord(name: name("www.example.org"), ttl: 60, data: .cname(name("web.example.org"))),
                ResourceRecord(name: name("web.example.org"), ttl: 60, data: .a(0xC000_0201)),
                ResourceRecord(
                    name: name("web.example.org"), ttl: 60, data: .aaaa([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1])),
                ResourceRecord(name: name("example.org"), ttl: 300, data: .mx(preference: 10, exchange: name("mx.example.org"))),
                ResourceRecord(name: name("example.org"), ttl: 300, data: .txt([Array("v=spf1 -all".utf8), [], [0xFF, 0x00]])),
                ResourceRecord(name: name("1.2.0.192.in-addr.arpa"), ttl: 300, data: .ptr(name("web.example.org"))),
                ResourceRecord(name: name("example.org"), ttl: 300, data: .opaque(type: ResourceRecordType(rawValue: 99), data: [1, 2, 3])),
            ],
            authorities: [
                ResourceRecord(name: name("example.org"), ttl: 3600, data: .ns(name("ns.example.org"))),
                ResourceRecord(name: name("example.org"), ttl: 3600, data: .soa(soa)),
            ],
            additionals: [.opt(udpPayloadBytes: 1232, options: [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])])])
    }()

    @Test(arguments: [true, false])
    func roundTrip(compress: Bool) throws {
        let bytes = try Self.sample.encoded(compress: compress)
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded == Self.sample)
        #expect(try decoded.encoded(compress: compress) == bytes)
    }

    @Test func compressionMakesItSmallerAndUsesPointers() throws {
        let plain = try Self.sample.encoded(compress: false)
        let compressed = try Self.sample.encoded(compress: true)
        #expect(compressed.count < plain.count)
        #expect(compressed.contains { $0 & 0xC0 == 0xC0 })
    }

    @Test func headerFlagsRoundTrip() {
        for raw: UInt16 in [0, 0x8180, 0x8583, 0x0120, 0x87B0, 0xFFBF] {
            #expect(DNSHeaderFlags(rawValue: raw).rawValue == raw)
        }
        let f = DNSHeaderFlags(rawValue: 0x8383)
        #expect(f.isResponse && f.truncated && f.recursionDesired && f.responseCode == .nameError)
    }

    @Test func queryHasOPT() throws {
        let q = DNSMessage.query(id: 7, name: name("example.org"), type: .txt, ednsUDPPayloadBytes: 1400)
        let back = try DNSMessage(decoding: try q.encoded())
        #expect(back.ednsUDPPayloadBytes == 1400)
        #expect(back.questions == [DNSQuestion(name: name("example.org"), type: .txt)])
        #expect(back.flags.recursionDesired && !back.flags.isResponse)
    }

    @Test func namesFromText() {
        #expect(DomainName("example.org.") == DomainName("example.org"))
        #expect(DomainName(".") == .root)
        #expect(DomainName("")?.labels.isEmpty == true)
        #expect(DomainName("a..b") == nil)
        #expect(DomainName(String(repeating: "x", count: 64) + ".org") == nil)
        #expect(DomainName(String(repeating: "x", count: 63) + ".org") != nil)
        let long = Array(repeating: String(repeating: "y", count: 63), count: 4).joined(separator: ".")
        #expect(DomainName(long) == nil)  // 4 * 64 + 1 = 257 bytes
        #expect(DomainName("WWW.Example.ORG")?.equalsIgnoringCase(name("www.example.org")) == true)
        #expect(DomainName("www.example.org")?.description == "www.example.org")
    }

    @Test func encodingRejectsOverlongTXTString() {
        let m = DNSMessage(id: 1, answers: [ResourceRecord(name: name("a.b"), ttl: 1, data: .txt([Array(repeating: 65, count: 256)]))])
        #expect(throws: DNSWireError.self) { try m.encoded() }
    }
}

@Suite struct CapturedPacketTests {
    @Test func digQueryWithEDNSAndCookie() throws {
        let m = try DNSMessage(decoding: CapturedPackets.digQueryMX)
        #expect(!m.flags.isResponse && m.flags.recursionDesired)
        #expect(m.questions == [DNSQuestion(name: name("spamward.test"), type: .mx)])
        #expect(m.ednsUDPPayloadBytes == 1232)
        guard case .opt(let options) = m.additionals.first?.data else {
            Issue.record("no OPT")
            return
        }
        #expect(options.first?.code == 10)  // DNS COOKIE (RFC 7873)
        // Re-encoding a query with no names to compress reproduces dig's bytes exactly.
        #expect(try m.encoded() == CapturedPackets.digQueryMX)
    }

    @Test func digQueryWithoutEDNS() throws {
        let m = try DNSMessage(decoding: CapturedPackets.digQueryNoEDNS)
        #expect(m.additionals.isEmpty && m.ednsUDPPayloadBytes == nil)
        #expect(try m.encoded() == CapturedPackets.digQueryNoEDNS)
    }

    @Test func unboundMXAnswerWithCompression() throws {
        let m = try DNSMessage(decoding: CapturedPackets.unboundMX)
        #expect(m.flags.isResponse && m.flags.authoritative && m.flags.responseCode == .noError)
        #expect(m.id == DNSMessage.peekID(CapturedPackets.digQueryMX))
        let exchanges = m.answers.compactMap { r -> String? in
            if case .mx(let p, let e) = r.data { "\(p) \(e)" } else { nil }
        }
        #expect(Set(exchanges) == ["10 mx1.spamward.test", "20 mx2.spamward.test"])
        #expect(m.answers.allSatisfy { $0.ttl == 3600 && $0.name == name("spamward.test") })
        // Our encoder compresses at least as well as unbound's.
        #expect(try m.encoded().count <= CapturedPackets.unboundMX.count)
        #expect(try DNSMessage(decoding: try m.encoded()) == m)
    }

    @Test func unboundCNAMEChain() throws {
        let m = try DNSMessage(decoding: CapturedPackets.unboundCNAMEChain)
        #expect(m.answers.map(\.type) == [.cname, .cname, .a])
        #expect(m.answers.first?.data == .cname(name("alias2.spamward.test")))
        #expect(m.answers.last?.data == .a(0xC000_020A))
        #expect(m.answers.last?.name == name("www.spamward.test"))
    }

    @Test func unboundNXDomainWithSOA() throws {
        let m = try DNSMessage(decoding: CapturedPackets.unboundNXDomain)
        #expect(m.flags.responseCode == .nameError && m.answers.isEmpty)
        guard case .soa(let soa) = m.authorities.first?.data else {
            Issue.record("no SOA in authority")
            return
        }
        #expect(soa.minimumSeconds == 300 && soa.serial == 2_026_112_901)
        #expect(soa.primaryServer == name("ns.spamward.test"))
        #expect(soa.responsibleMailbox == name("hostmaster.spamward.test"))
    }

    @Test func unboundTruncatedAndTCP() throws {
        let udp = try DNSMessage(decoding: CapturedPackets.unboundBigTXTTruncated)
        #expect(udp.flags.truncated && udp.answers.isEmpty)
        let tcp = try DNSMessage(decoding: CapturedPackets.unboundBigTXTOverTCP)
        #expect(!tcp.flags.truncated && tcp.id == udp.id)
        guard case .txt(let strings) = tcp.answers.first?.data else {
            Issue.record("no TXT")
            return
        }
        #expect(strings.count == 7)
        #expect(strings.reduce(0) { $0 + $1.count } == 1400)
        #expect(strings.first?.starts(with: Array("v=spamward-big".utf8)) == true)
    }

    @Test func unboundSOA() throws {
        let m = try DNSMessage(decoding: CapturedPackets.unboundSOA)
        #expect(m.answers.first?.type == .soa)
        #expect(try DNSMessage(decoding: try m.encoded(compress: false)) == m)
    }
}

@Suite struct HostileInputTests {
    /// A header with the given counts.
    static func header(qd: UInt16 = 0, an: UInt16 = 0) -> [UInt8] {
        [0x12, 0x34, 0x81, 0x80, UInt8(qd >> 8), UInt8(qd & 0xFF), UInt8(an >> 8), UInt8(an & 0xFF), 0, 0, 0, 0]
    }

    func expectError(_ bytes: [UInt8], _ code: DNSWireError.Code, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try DNSMessage(decoding: bytes)
            Issue.record("decoded hostile input", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, sourceLocation: sourceLocation)
            #expect(error.offset >= 0 && error.offset <= bytes.count, sourceLocation: sourceLocation)
        }
    }

    @Test func everyTruncationOfARealAnswerFails() {
        for packet in [CapturedPackets.unboundMX, CapturedPackets.unboundCNAMEChain, CapturedPackets.unboundNXDomain] {
            for n in 0..<packet.count {
                #expect(throws: DNSWireError.self) { try DNSMessage(decoding: Array(packet[..<n])) }
            }
        }
    }

    @Test func everySingleByteCorruptionEndsWithoutCrashing() {
        // Not every corruption is an error (a changed TTL is still a message); none may crash.
        var errors = 0
        let packet = CapturedPackets.unboundCNAMEChain
        for i in packet.indices {
            for v: UInt8 in [0x00, 0x3F, 0x40, 0xC0, 0xFF] {
                var p = packet
                p[i] = v
                if (try? DNSMessage(decoding: p)) == nil { errors += 1 }
            }
        }
        #expect(errors > 0)
    }

    @Test func pointerToItself() {
        expectError(Self.header(qd: 1) + [0xC0, 12, 0, 1, 0, 1], .pointerForward)
    }

    @Test func pointerLoopBackwards() {
        // Name at 12 is label "a" then a pointer to 12: a backward loop, caught by the hop limit
        // or as a pointer to itself.
        var m = Self.header(qd: 2) + [1, 0x61, 0, 0, 1, 0, 1]  // a.
        m += [0xC0, 19]  // pointer to itself at 19
        m += [0, 1, 0, 1]
        #expect(throws: DNSWireError.self) { try DNSMessage(decoding: m) }
    }

    @Test func hopLimitStopsLongChains() {
        // Every pointer points backwards, but there are more of them in a row than allowed: one
        // answer of an opaque type whose RDATA holds a root byte and a chain of pointers, each to
        // the one before, then a second answer whose name is a pointer to the last of them.
        var m = Self.header(qd: 0, an: 2)
        m += [0, 0, 99, 0, 1, 0, 0, 0, 0]  // answer 1: root name, TYPE99, IN, TTL 0
        let rdataLengthAt = m.count
        m += [0, 0]
        let rdataStart = m.count
        m += [0]  // a root name byte at rdataStart
        var previous = rdataStart
        for _ in 0..<(DNSWireLimits.maxPointerHops + 5) {
            let here = m.count
            m += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
            previous = here
        }
        let length = m.count - rdataStart
        m[rdataLengthAt] = UInt8(length >> 8)
        m[rdataLengthAt + 1] = UInt8(length & 0xFF)
        m += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF), 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]
        expectError(m, .pointerLoop)
    }

    @Test func nameOver255Bytes() {
        var m = Self.header(qd: 1)
        for _ in 0..<5 { m += [63] + Array(repeating: 0x61, count: 63) }
        m += [0, 0, 1, 0, 1]
        expectError(m, .nameTooLong)
    }

    @Test func reservedLabelTypes() {
        expectError(Self.header(qd: 1) + [0x40, 0, 0, 1, 0, 1], .badLabelType)
        expectError(Self.header(qd: 1) + [0x80, 0, 0, 1, 0, 1], .badLabelType)
    }

    @Test func rdataLengthLies() {
        // An A record with RDLENGTH 5.
        var m = Self.header(an: 1) + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]
        expectError(m, .rdataLengthMismatch)
        // A TXT string running past RDLENGTH.
        m = Self.header(an: 1) + [0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 3, 5, 0x61, 0x62]
        expectError(m, .rdataLengthMismatch)
        // An MX whose name runs past RDLENGTH.
        m = Self.header(an: 1) + [0, 0, 15, 0, 1, 0, 0, 0, 0, 0, 3, 0, 10, 1, 0x61, 0]
        expectError(m, .rdataLengthMismatch)
        // RDLENGTH beyond the message.
        m = Self.header(an: 1) + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4]
        expectError(m, .truncated)
    }

    @Test func countsLargerThanTheMessage() {
        expectError(Self.header(qd: 0xFFFF), .tooManyRecords)
        expectError(Self.header(qd: 3), .truncated)
    }

    @Test func trailingBytes() throws {
        let m = CapturedPackets.digQueryNoEDNS + [0]
        expectError(m, .trailingBytes)
        #expect(try DNSMessage(decoding: m, allowTrailingBytes: true).questions.count == 1)
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<300, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if bytes.count >= 12 { bytes[4] = 0; bytes[6] = 0; bytes[8] = 0; bytes[10] = 0 }
            _ = try? DNSMessage(decoding: bytes)
        }
    }
}
