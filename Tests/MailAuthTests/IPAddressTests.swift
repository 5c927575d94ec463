import MailAuth
import Testing

@Suite("IP addresses and CIDR")
struct IPAddressTests {
    @Test(arguments: ["0.0.0.0", "1.2.3.4", "192.0.2.255", "255.255.255.255"])
    func validIPv4(_ text: String) {
        #expect(IPv4Address(text)?.description == text)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.4 ", "0x1.2.3.4", "1.2.3.-4",
        "1234.1.1.1",
    ])
    func invalidIPv4(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    /// RFC 5952 section 4 text forms.
    @Test(arguments: [
        ("2001:DB8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("CAFE:BABE::1", "cafe:babe::1"),
        ("::FFFF:1.2.3.4", "::ffff:1.2.3.4"),
        ("::1.1.1.1", "::101:101"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
    ])
    func ipv6Text(_ input: String, _ expected: String) {
        #expect(IPv6Address(input)?.description == expected)
    }

    @Test(arguments: [
        ":", ":::", "1::2::3", ":1::2", "1::2:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::", "::1.2.3",
        "1:2:3:4:5:6:7:8::", "::CAFE::BABE", ":CAFE::BABE", "fe80::1%eth0", "1.2.3.4",
    ])
    func invalidIPv6(_ text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func generalParsingAndUnmapping() {
        #expect(IPAddress("192.0.2.1") == .v4(IPv4Address(192, 0, 2, 1)))
        #expect(IPAddress("[2001:db8::1]")?.description == "2001:db8::1")
        #expect(IPAddress("IPv6:2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("::ffff:192.0.2.1")?.unmapped == .v4(IPv4Address(192, 0, 2, 1)))
        #expect(IPAddress("2001:db8::1")?.unmapped == IPAddress("2001:db8::1"))
        #expect(IPAddress("mail.example.com") == nil)
    }

    @Test func cidrMatching() throws {
        let ip = try #require(IPAddress("192.0.2.130"))
        #expect(ip.isIn(try #require(IPNetwork("192.0.2.0/24"))))
        #expect(ip.isIn(try #require(IPNetwork("192.0.2.128/25"))))
        #expect(!ip.isIn(try #require(IPNetwork("192.0.2.0/25"))))
        #expect(ip.isIn(try #require(IPNetwork("1.1.1.1/0"))))
        #expect(!ip.isIn(try #require(IPNetwork("192.0.2.131"))))
        #expect(!ip.isIn(try #require(IPNetwork("::/0"))), "no match across address families")

        let v6 = try #require(IPAddress("cafe:babe:8000::1"))
        #expect(v6.isIn(try #require(IPNetwork("cafe:babe:8000::/33"))))
        #expect(!v6.isIn(try #require(IPNetwork("cafe:babe::/33"))))
        #expect(v6.isIn(try #require(IPNetwork("cafe:babe::/32"))))
        #expect(v6.isIn(try #require(IPNetwork("::/0"))))

        #expect(IPNetwork("192.0.2.0/33") == nil)
        #expect(IPNetwork("192.0.2.0/024") == nil)
        #expect(IPNetwork("::/129") == nil)
        #expect(IPNetwork("::/") == nil)
    }

    @Test func reverseNames() throws {
        #expect(try #require(IPAddress("192.0.2.3")).reverseDNSName == "3.2.0.192.in-addr.arpa")
        #expect(
            try #require(IPAddress("2001:db8::cb01")).reverseDNSName
                == "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
    }
}
