import DNSWire
import MailAuth
import Testing

@testable import SpamwardDNS

private func name(_ s: String) -> DomainName { DomainName(s) ?? .root }

private func response(
    _ qname: String, _ type: ResourceRecordType, rcode: DNSResponseCode = .noError, answers: [ResourceRecord] = [],
    soa: (ttl: UInt32, minimum: UInt32)? = nil
) -> DNSMessage {
    var flags = DNSHeaderFlags()
    flags.isResponse = true
    flags.responseCode = rcode
    let authority = soa.map {
        [
            ResourceRecord(
                name: name("example.org"), ttl: $0.ttl,
                data: .soa(
                    SOAData(
                        primaryServer: name("ns.example.org"), responsibleMailbox: name("h.example.org"), serial: 1,
                        refreshSeconds: 1, retrySeconds: 1, expireSeconds: 1, minimumSeconds: $0.minimum)))
        ]
    } ?? []
    return DNSMessage(
        id: 1, flags: flags, questions: [DNSQuestion(name: name(qname), type: type)], answers: answers, authorities: authority)
}

@Suite struct DNSAnswerTests {
    @Test func answerWithLeastTTL() {
        let m = response(
            "a.example.org", .a,
            answers: [
                ResourceRecord(name: name("A.example.org"), ttl: 300, data: .a(0x7F00_0002)),
                ResourceRecord(name: name("a.example.org"), ttl: 60, data: .a(0x7F00_0003)),
                ResourceRecord(name: name("other.example.org"), ttl: 1, data: .a(0x7F00_0004)),
            ])
        #expect(
            DNSAnswer.interpret(m, name: name("a.example.org"), type: .a, maxCNAMEChain: 8)
                == .result(.answer([.a(IPv4Address(127, 0, 0, 2)), .a(IPv4Address(127, 0, 0, 3))]), ttlSeconds: 60))
    }

    @Test func cnameChainInsideTheAnswer() {
        let m = response(
            "x.example.org", .txt,
            answers: [
                ResourceRecord(name: name("x.example.org"), ttl: 30, data: .cname(name("y.example.org"))),
                ResourceRecord(name: name("y.example.org"), ttl: 300, data: .cname(name("z.example.org"))),
                ResourceRecord(name: name("z.example.org"), ttl: 300, data: .txt([Array("hi".utf8)])),
            ])
        #expect(
            DNSAnswer.interpret(m, name: name("x.example.org"), type: .txt, maxCNAMEChain: 8)
                == .result(.answer([.txt(TXTRecord(["hi"]))]), ttlSeconds: 30))
        // Asking for the CNAME itself answers the CNAME.
        #expect(
            DNSAnswer.interpret(m, name: name("x.example.org"), type: .cname, maxCNAMEChain: 8)
                == .result(.answer([.cname("y.example.org")]), ttlSeconds: 30))
        // Too long for a limit of 1.
        #expect(
            DNSAnswer.interpret(m, name: name("x.example.org"), type: .txt, maxCNAMEChain: 1)
                == .failure(.serverFailure, "CNAME chain too long"))
    }

    @Test func cnameLoop() {
        let m = response(
            "x.example.org", .a,
            answers: [
                ResourceRecord(name: name("x.example.org"), ttl: 30, data: .cname(name("y.example.org"))),
                ResourceRecord(name: name("y.example.org"), ttl: 30, data: .cname(name("X.example.org"))),
            ])
        #expect(DNSAnswer.interpret(m, name: name("x.example.org"), type: .a, maxCNAMEChain: 8) == .failure(.serverFailure, "CNAME loop"))
    }

    @Test func chainEndingWithoutSOAIsFollowed() {
        let m = response(
            "x.example.org", .a, answers: [ResourceRecord(name: name("x.example.org"), ttl: 30, data: .cname(name("elsewhere.test")))])
        #expect(
            DNSAnswer.interpret(m, name: name("x.example.org"), type: .a, maxCNAMEChain: 8)
                == .follow(target: name("elsewhere.test"), steps: 1, ttlSeconds: 30))
    }

    @Test func negativeAnswersUseTheSOA() {
        let nx = response("n.example.org", .a, rcode: .nameError, soa: (3600, 300))
        #expect(DNSAnswer.interpret(nx, name: name("n.example.org"), type: .a, maxCNAMEChain: 8) == .result(.nxDomain, ttlSeconds: 300))
        let nodata = response("n.example.org", .a, soa: (120, 300))
        #expect(DNSAnswer.interpret(nodata, name: name("n.example.org"), type: .a, maxCNAMEChain: 8) == .result(.noData, ttlSeconds: 120))
        // Without an SOA a negative answer is not cached (RFC 2308 section 5).
        let bare = response("n.example.org", .a, rcode: .nameError)
        #expect(DNSAnswer.interpret(bare, name: name("n.example.org"), type: .a, maxCNAMEChain: 8) == .result(.nxDomain, ttlSeconds: nil))
    }

    @Test func errorCodes() {
        for (rcode, code) in [(DNSResponseCode.serverFailure, DNSError.Code.serverFailure), (.refused, .refused), (.formatError, .formatError), (.notImplemented, .notImplemented)] {
            let m = response("a.example.org", .a, rcode: rcode)
            guard case .failure(let got, _) = DNSAnswer.interpret(m, name: name("a.example.org"), type: .a, maxCNAMEChain: 8) else {
                Issue.record("no failure for \(rcode)")
                continue
            }
            #expect(got == code)
        }
    }
}

@Suite struct DNSCacheTests {
    @Test func expiresAndIsBounded() {
        var cache = DNSCache(maxEntries: 16)
        let now = ContinuousClock.now
        let key = DNSCache.Key(name: "a.test", type: 1)
        cache.put(key, .nxDomain, ttl: .seconds(10), now: now)
        #expect(cache.get(key, now: now + .seconds(9))?.0 == .nxDomain)
        #expect(cache.get(key, now: now + .seconds(10)) == nil)
        #expect(cache.count == 0)
        for i in 0..<1000 {
            cache.put(DNSCache.Key(name: "n\(i).test", type: 1), .noData, ttl: .seconds(Int64(100 + i)), now: now)
            #expect(cache.count <= 16)
        }
        // The longest-lived entries survive.
        #expect(cache.get(DNSCache.Key(name: "n999.test", type: 1), now: now) != nil)
        cache.put(key, .noData, ttl: .zero, now: now)
        #expect(cache.get(key, now: now) == nil)
    }

    @Test func disabled() {
        var cache = DNSCache(maxEntries: 0)
        cache.put(DNSCache.Key(name: "a", type: 1), .noData, ttl: .seconds(5), now: .now)
        #expect(cache.count == 0)
    }
}

@Suite struct ConfigurationTests {
    @Test func serverAddresses() {
        #expect(DNSServerAddress("127.0.0.1")?.description == "127.0.0.1:53")
        #expect(DNSServerAddress("127.0.0.1:5354")?.port == 5354)
        #expect(DNSServerAddress("::1")?.description == "[::1]:53")
        #expect(DNSServerAddress("[::1]:5354")?.port == 5354)
        #expect(DNSServerAddress("dns.example:53") == nil)
        #expect(DNSServerAddress("127.0.0.1:99999") == nil)
    }

    @Test func resolvConf() {
        let text = "# generated\nsearch example.org\nnameserver 192.0.2.53\nnameserver  2001:db8::53 \n;nameserver 10.0.0.1\nnameserver fe80::1%eth0\noptions edns0\n"
        #expect(ResolvConf.servers(fromResolvConf: text).map(\.description) == ["192.0.2.53:53", "[2001:db8::53]:53"])
        #expect(ResolvConf.servers(fromResolvConf: "").isEmpty)
        #expect(ResolvConf.systemServers(path: "/nonexistent/resolv.conf") == ResolvConf.fallback)
        #expect(ResolvConf.fallback.map(\.description) == ["127.0.0.1:53"])
    }
}
