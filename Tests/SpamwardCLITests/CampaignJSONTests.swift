import Foundation
import Testing

/// `spamward campaigns --json` and `spamward botnet --json` print the shapes the HTTP views
/// serve (`CampaignSummary`; the `/v1/botnet` envelope), on a small corpus written here.
struct CampaignJSONTests {
    /// The keys of one campaign, as docs/campaigns.md lists them (CampaignRoutesTests checks
    /// `/v1/campaigns` against the same list).
    static let campaignKeys: Set<String> = [
        "id", "messages", "firstSeen", "lastSeen", "firstSeenUTC", "lastSeenUTC", "ips", "ipsExact", "subnets24",
        "senderDomains", "urlDomains", "subjects", "verdicts", "labels", "isSpam",
    ]

    static func message(_ i: Int, spam: Bool) -> String {
        let body = spam
            ? "Buy cheap pills online today at http://pills.example/shop now. Best prices on every order, fast shipping worldwide, no prescription needed, limited offer for our valued customers only this week."
            : "Hi team, the meeting about the quarterly report moved to Thursday at ten. Please bring the figures for \(i) regions and the draft of the slides we discussed with Anna last Monday."
        return """
            Received: from mx\(i).example (mx\(i).example [45.33.\(32 + i % 3).\(10 + i)])\r
            \tby relay.example.org with ESMTP; Mon, 2 Nov 2026 10:0\(i):00 +0000\r
            From: \(spam ? "deals@pills.example" : "colleague\(i)@work.example")\r
            To: you@example.org\r
            Subject: \(spam ? "Cheap pills \(i)" : "Meeting \(i)")\r
            Date: Mon, 2 Nov 2026 10:0\(i):00 +0000\r
            Message-ID: <\(i)@example>\r
            \r
            \(body)\r

            """
    }

    @Test func campaignsAndBotnetJSONHaveTheHTTPShapes() throws {
        let cli = try CLI()
        var index = ""
        for i in 0..<4 {
            let spam = i < 3
            try cli.write("corpus/data/m\(i).eml", Self.message(i, spam: spam))
            index += "\(spam ? "spam" : "ham") data/m\(i).eml\n"
        }
        try cli.write("corpus/index", index)

        let r = try cli.run(["campaigns", "--corpus", cli.path("corpus"), "--json"])
        #expect(r.status == 0, "\(r)")
        let out = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let campaigns = try #require(out["campaigns"] as? [[String: Any]])
        let largest = try #require(campaigns.first)
        #expect(Set(largest.keys) == Self.campaignKeys)
        #expect(largest["messages"] as? Int == 3, "\(r.stdout)")
        #expect((largest["labels"] as? [String: Any])?["spam"] as? Int == 3)
        #expect((largest["senderDomains"] as? [[String: Any]])?.first?["value"] as? String == "pills.example")
        #expect((largest["firstSeenUTC"] as? String) == "2026-11-02T10:00:00Z")
        #expect(largest["firstSeen"] as? Int == 1_793_613_600)

        let b = try cli.run(["botnet", "--corpus", cli.path("corpus"), "--json"])
        #expect(b.status == 0, "\(b)")
        let botnet = try #require(try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as? [String: Any])
        // `/v1/botnet`'s envelope (tracked, listed, policy, evidence), plus the corpus.
        #expect(Set(botnet.keys) == ["corpus", "tracked", "listed", "policy", "evidence"])
        #expect(botnet["tracked"] as? Int == 4, "\(b.stdout)")
    }
}
