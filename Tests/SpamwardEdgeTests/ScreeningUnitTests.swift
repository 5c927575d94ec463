import MailAuth
import SpamwardEdge
import Testing

@Suite struct RateLimiterTests {
    @Test func burstThenRefusedThenLeaks() throws {
        var limits = RateLimits()
        limits.connectionsPerMinutePerAddress = 60  // one per second
        limits.burstPerAddress = 3
        limits.maxConcurrentPerAddress = 0
        limits.maxConcurrentPerSubnet = 0
        let limiter = RateLimiter(limits: limits)
        let ip = try #require(IPAddress("192.0.2.7"))
        for _ in 0..<3 { #expect(limiter.admit(ip, now: 100) == nil) }
        #expect(limiter.admit(ip, now: 100)?.test == .rate)
        #expect(limiter.admit(ip, now: 100.5)?.test == .rate)
        #expect(limiter.admit(ip, now: 101.1) == nil)  // leaked one
        #expect(limiter.admit(try #require(IPAddress("192.0.2.8")), now: 101.1) == nil)  // another address
    }

    @Test func subnetBucketAndConcurrency() throws {
        var limits = RateLimits()
        limits.burstPerSubnet = 4
        limits.maxConcurrentPerAddress = 2
        let limiter = RateLimiter(limits: limits)
        let a = try #require(IPAddress("198.51.100.1"))
        #expect(limiter.admit(a, now: 0) == nil)
        #expect(limiter.admit(a, now: 0) == nil)
        #expect(limiter.admit(a, now: 0)?.test == .concurrency)
        limiter.release(a)
        #expect(limiter.admit(a, now: 0) == nil)
        #expect(limiter.admit(try #require(IPAddress("198.51.100.2")), now: 0) == nil)
        #expect(limiter.admit(try #require(IPAddress("198.51.100.3")), now: 0)?.test == .rate)  // /24 has had 4
        #expect(limiter.admit(try #require(IPAddress("198.51.101.3")), now: 0) == nil)
        #expect(clientSubnet(try #require(IPAddress("2001:db8:1:2:3:4:5:6"))) == "2001:db8:1:2::/64")
    }
}

@Suite struct GreylistTests {
    @Test func postgreySemantics() throws {
        var c = GreylistConfiguration()
        c.enabled = true
        c.delaySeconds = 300
        c.retryWindowSeconds = 3600
        c.maxAgeSeconds = 86_400
        let g = Greylist(configuration: c)
        let ip = try #require(IPAddress("203.0.113.9"))
        let t0: Int64 = 1000
        #expect(g.check(address: ip, sender: "a@x", recipient: "b@y", now: t0) == 300)
        #expect(g.check(address: ip, sender: "a@x", recipient: "b@y", now: t0 + 100) == 200)  // too early
        #expect(g.check(address: try #require(IPAddress("203.0.113.200")), sender: "A@x", recipient: "b@Y", now: t0 + 300) == nil)  // same /24, case-insensitive
        #expect(g.check(address: ip, sender: "a@x", recipient: "b@y", now: t0 + 80_000) == nil)  // passed, within max age
        #expect(g.check(address: ip, sender: "a@x", recipient: "b@y", now: t0 + 80_000 + 86_401) == 300)  // forgotten
        // A retry after the window starts over.
        #expect(g.check(address: ip, sender: "c@x", recipient: "b@y", now: t0) == 300)
        #expect(g.check(address: ip, sender: "c@x", recipient: "b@y", now: t0 + 3601) == 300)
        #expect(g.check(address: ip, sender: "c@x", recipient: "b@y", now: t0 + 3601 + 300) == nil)
    }
}

@Suite struct PassedClientTests {
    @Test func expires() async throws {
        let store = InMemoryPassedClientStore()
        let ip = try #require(IPAddress("192.0.2.1"))
        #expect(await !store.hasPassed(ip, now: 10))
        await store.recordPassed(ip, expires: 100)
        #expect(await store.hasPassed(ip, now: 99))
        #expect(await !store.hasPassed(ip, now: 100))
    }
}

@Suite struct HELOTests {
    @Test(arguments: [
        ("mail.example.com", nil as String?),
        ("[127.0.0.5]", nil),
        ("[127.0.0.9]", "address literal 127.0.0.9 is not the client 127.0.0.5"),
        ("127.0.0.5", "address without brackets"),
        ("bad_name!", "invalid characters"),
        ("a..b", "empty or long label"),
        ("edge.spamward.test", nil),  // loopback clients may
    ])
    func loopbackClient(_ name: String, _ expected: String?) throws {
        #expect(heloAnomaly(name, client: try #require(IPAddress("127.0.0.5")), ourHostname: "edge.spamward.test") == expected)
    }

    @Test func forgedOwnName() throws {
        let ip = try #require(IPAddress("192.0.2.1"))
        #expect(heloAnomaly("EDGE.spamward.test", client: ip, ourHostname: "edge.spamward.test") == "claims to be edge.spamward.test")
        #expect(heloAnomaly("localhost", client: ip, ourHostname: "x") == "claims to be localhost")
        #expect(heloAnomaly("[IPv6:2001:db8::1]", client: try #require(IPAddress("2001:db8::1")), ourHostname: "x") == nil)
    }
}
