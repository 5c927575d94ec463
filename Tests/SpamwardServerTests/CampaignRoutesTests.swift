import Foundation
import Hummingbird
import HummingbirdTesting
import MailAuth
import NIOCore
import SpamwardCore
@testable import SpamwardHTTP
import SpamwardTestSupport
import Testing

/// `/v1/campaigns`, `/v1/botnet` and `/v1/botnet/zone` through the router.
@Suite struct CampaignRoutesTests {
    static let token = "s3cret-token"
    static let auth: HTTPFields = [.authorization: "Bearer \(token)"]

    /// A filter with a campaign monitor that lists an address after two spam campaigns.
    static func filter(campaigns: Bool = true) -> SpamFilter {
        var config = CampaignMonitor.Configuration()
        config.botnet.listThreshold = 2
        config.listRefreshSeconds = 0
        let monitor = campaigns ? CampaignMonitor(configuration: config, publicSuffixList: nil) : nil
        return SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: InMemoryStore(), campaigns: monitor)
    }

    static func app(_ filter: SpamFilter) -> some ApplicationProtocol {
        let config = HTTPFrontEndConfiguration(access: AccessPolicy(trustedNetworks: AccessPolicy.loopback, password: token),
                                               botnetZoneTTLSeconds: 120)
        return Application(router: buildRouter(filter: filter, configuration: config))
    }

    static let words = """
        apple river window garden silver market yellow engine planet forest button castle pencil wonder ticket \
        shadow basket copper lantern meadow harbor velvet pepper thunder marble orchard candle saddle whisper
        """.split(separator: " ").map(String.init)

    /// A message of 40 words from `seed` (the same seed: a near-copy; another seed: another campaign).
    static func message(seed: UInt64, variant: Int, subject: String, gtube: Bool = true) -> [UInt8] {
        var rng = TestRandom(seed: seed)
        var text = (0..<40).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
        text += " \(variant)"
        if gtube { text += "\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X" }
        return Array("""
            From: promo@pills.example\r
            To: user@example.org\r
            Subject: \(subject)\r
            Message-ID: <\(seed)-\(variant)@pills.example>\r
            \r
            \(text) http://shop.pills.example/x\r
            """.utf8)
    }

    /// Feeds: campaign A three times from two /24s, campaign B once; 192.0.2.10 carries both (listed).
    static func feed(_ filter: SpamFilter) {
        for (i, ip) in ["192.0.2.10", "192.0.2.11", "198.51.100.9"].enumerated() {
            _ = filter.scan(message(seed: 1, variant: i, subject: "Cheap pills \(i)"), context: ScanContext(clientAddress: ip))
        }
        _ = filter.scan(message(seed: 2, variant: 0, subject: "Other offer"), context: ScanContext(clientAddress: "192.0.2.10"))
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    /// The keys of one campaign in JSON, as docs/campaigns.md documents them (the CLI test checks
    /// `spamward campaigns --json` against the same list).
    static let campaignKeys: Set<String> = [
        "id", "messages", "firstSeen", "lastSeen", "firstSeenUTC", "lastSeenUTC", "ips", "ipsExact", "subnets24",
        "senderDomains", "urlDomains", "subjects", "verdicts", "labels", "isSpam",
    ]

    @Test func campaignsAreListedLargestFirstWithTheirFigures() async throws {
        let filter = Self.filter()
        Self.feed(filter)
        try await Self.app(filter).test(.router) { client in
            try await client.execute(uri: "/v1/campaigns", method: .get, headers: Self.auth) { r in
                #expect(r.status == .ok)
                let body = try Self.json(r.body)
                #expect(body["tracked"] as? Int == 2)
                let campaigns = try #require(body["campaigns"] as? [[String: Any]])
                #expect(campaigns.map { $0["messages"] as? Int } == [3, 1])
                let a = try #require(campaigns.first)
                #expect(a["ips"] as? Int == 3)
                #expect(a["subnets24"] as? Int == 2)
                #expect((a["senderDomains"] as? [[String: Any]])?.first?["value"] as? String == "pills.example")
                #expect((a["senderDomains"] as? [[String: Any]])?.first?["count"] as? Int == 3)
                #expect((a["urlDomains"] as? [[String: Any]])?.first?["value"] as? String == "pills.example")
                #expect((a["subjects"] as? [String])?.first == "Cheap pills 0")
                #expect((a["verdicts"] as? [String: Any])?["spam"] as? Int == 3)
                #expect(a["isSpam"] as? Bool == true)
                let first = try #require(a["firstSeen"] as? Int)
                #expect(first > 1_700_000_000)
                #expect((a["firstSeenUTC"] as? String)?.hasSuffix("Z") == true)
                #expect(Set(a.keys) == Self.campaignKeys)
                // The one shape: the reply decodes as CampaignSummary, equal to the monitor's campaigns.
                struct Reply: Decodable { var campaigns: [CampaignSummary] }
                let decoded = try JSONDecoder().decode(Reply.self, from: Data(r.body.readableBytesView))
                let monitor = try #require(filter.campaigns)
                #expect(decoded.campaigns == monitor.campaigns(limit: 100).map(CampaignSummary.init))
            }
            try await client.execute(uri: "/v1/campaigns?limit=1", method: .get, headers: Self.auth) { r in
                let body = try Self.json(r.body)
                #expect((body["campaigns"] as? [Any])?.count == 1)
            }
            try await client.execute(uri: "/v1/campaigns?limit=0", method: .get, headers: Self.auth) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/v1/campaigns?limit=abc", method: .get, headers: Self.auth) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test func botnetEvidenceAndZone() async throws {
        let filter = Self.filter()
        Self.feed(filter)
        try await Self.app(filter).test(.router) { client in
            try await client.execute(uri: "/v1/botnet", method: .get, headers: Self.auth) { r in
                #expect(r.status == .ok)
                let body = try Self.json(r.body)
                #expect(body["listed"] as? Int == 1)
                #expect(body["tracked"] as? Int == 3)
                let evidence = try #require(body["evidence"] as? [[String: Any]])
                #expect(evidence.count == 1)
                #expect(evidence.first?["address"] as? String == "192.0.2.10")
                #expect(evidence.first?["spamCampaigns"] as? Int == 2)
                #expect(evidence.first?["code"] as? String == "127.0.0.2")
                #expect((evidence.first?["score"] as? Double ?? 0) >= 2)
                #expect((body["policy"] as? [String: Any])?["listThreshold"] as? Double == 2)
            }
            try await client.execute(uri: "/v1/botnet?all=true", method: .get, headers: Self.auth) { r in
                let body = try Self.json(r.body)
                #expect((body["evidence"] as? [Any])?.count == 3)
            }
            try await client.execute(uri: "/v1/botnet/zone", method: .get, headers: Self.auth) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: r.body)
                #expect(text.contains("$TTL 120\n"))
                let entries = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("$") && !$0.hasPrefix(":") }
                #expect(entries.count == 1)
                #expect(entries.first?.hasPrefix("192.0.2.10 :127.0.0.2:Spamward botnet footprint: 2 spam campaigns") == true)
                // What rbldnsd would read back.
                #expect(BotnetList(zone: text).lookup("192.0.2.10")?.code == "127.0.0.2")
            }
            try await client.execute(uri: "/v1/botnet/zone?family=6", method: .get, headers: Self.auth) { r in
                #expect(String(buffer: r.body).contains("ip6trie"))
            }
            try await client.execute(uri: "/v1/botnet/zone?family=5", method: .get, headers: Self.auth) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test func viewsNeedTheTokenFromUntrustedClients() async throws {
        let filter = Self.filter()
        Self.feed(filter)
        try await Self.app(filter).test(.router) { client in
            for uri in ["/v1/campaigns", "/v1/botnet", "/v1/botnet/zone"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .unauthorized, "\(uri)")
                    #expect(!String(buffer: r.body).contains("192.0.2.10"))
                }
                try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer wrong"]) { r in
                    #expect(r.status == .unauthorized, "\(uri)")
                }
                try await client.execute(uri: uri, method: .get, headers: [.init("Password")!: Self.token]) { r in
                    #expect(r.status == .ok, "\(uri)")
                }
            }
        }
    }

    @Test func campaignsOffIs404WithAJSONError() async throws {
        try await Self.app(Self.filter(campaigns: false)).test(.router) { client in
            for uri in ["/v1/campaigns", "/v1/botnet", "/v1/botnet/zone"] {
                try await client.execute(uri: uri, method: .get, headers: Self.auth) { r in
                    #expect(r.status == .notFound, "\(uri)")
                    let body = try Self.json(r.body)
                    let message = (body["error"] as? [String: Any])?["message"] as? String
                    #expect(message?.contains("campaign tracking is off") == true)
                }
            }
        }
    }

    @Test func utcTimes() {
        #expect(UTCTime.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(UTCTime.iso8601(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(UTCTime.iso8601(1_796_000_000) == "2026-11-30T00:53:20Z")
    }
}
