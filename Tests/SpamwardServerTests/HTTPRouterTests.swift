import Foundation
import Hummingbird
import HummingbirdTesting
import MailAuth
import NIOCore
import SpamwardCore
import SpamwardHTTP
import Testing

@Suite struct HTTPRouterTests {
    func app(password: String? = "s3cret-token", maxBytes: Int = 1 << 20) -> some ApplicationProtocol {
        let config = HTTPFrontEndConfiguration(
            maxMessageBytes: maxBytes, access: AccessPolicy(trustedNetworks: AccessPolicy.loopback, password: password))
        return Application(router: buildRouter(filter: makeFilter(), configuration: config, metricsText: { "# metrics\n" }))
    }

    @Test func healthAndPing() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("\"ok\""))
            }
            try await client.execute(uri: "/ping", method: .get) { r in
                #expect(String(buffer: r.body) == "pong\r\n")
            }
            try await client.execute(uri: "/metrics", method: .get) { r in
                #expect(String(buffer: r.body) == "# metrics\n")
            }
        }
    }

    @Test func checkGTUBEIsSpamWithHeaders() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/check", method: .post, body: ByteBuffer(bytes: TestMessages.gtube)) { r in
                #expect(r.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
                let verdict = json?["verdict"] as? [String: Any]
                #expect(verdict?["action"] as? String == "spam")
                #expect(json?["disposition"] as? String == "reject")
                let headers = json?["headers"] as? [[String: String]] ?? []
                #expect(headers.contains { $0["name"] == "X-Spam-Flag" && $0["value"] == "YES" })
            }
            try await client.execute(uri: "/v1/check", method: .post, body: ByteBuffer(bytes: TestMessages.ham())) { r in
                let json = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
                #expect((json?["verdict"] as? [String: Any])?["action"] as? String != "spam")
            }
        }
    }

    @Test func oversizeMessageGets413() async throws {
        try await app(maxBytes: 1024).test(.router) { client in
            let big = ByteBuffer(bytes: TestMessages.ham() + [UInt8](repeating: 0x61, count: 4096))
            try await client.execute(uri: "/v1/check", method: .post, body: big) { r in
                #expect(r.status == .contentTooLarge)
            }
        }
    }

    @Test func learningNeedsThePasswordFromUntrustedClients() async throws {
        try await app().test(.router) { client in
            let body = ByteBuffer(bytes: TestMessages.gtube)
            try await client.execute(uri: "/v1/learn?label=spam", method: .post, body: body) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/learn?label=spam", method: .post,
                                     headers: [.authorization: "Bearer wrong-token"], body: body) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/learn?label=spam", method: .post,
                                     headers: [.authorization: "Bearer s3cret-token"], body: body) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("\"learned\""))
            }
            try await client.execute(uri: "/v1/learn?label=spam", method: .post,
                                     headers: [.authorization: "Bearer s3cret-token"], body: body) { r in
                #expect(String(buffer: r.body).contains("already-learned"))
            }
            try await client.execute(uri: "/v1/forget", method: .post,
                                     headers: [.authorization: "Bearer s3cret-token"], body: body) { r in
                #expect(String(buffer: r.body).contains("\"forgotten\""))
            }
            try await client.execute(uri: "/v1/learn?label=maybe", method: .post,
                                     headers: [.authorization: "Bearer s3cret-token"], body: body) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test func noPasswordConfiguredMeansNoRemoteLearning() async throws {
        try await app(password: nil).test(.router) { client in
            try await client.execute(uri: "/learnspam", method: .post, headers: [.init("Password")!: "anything"],
                                     body: ByteBuffer(bytes: TestMessages.gtube)) { r in
                #expect(r.status == .unauthorized)
            }
        }
    }

    @Test func rspamdCheckReplyHasRspamdShape() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/checkv2", method: .post, headers: [.init("Queue-Id")!: "4ABC123"],
                                     body: ByteBuffer(bytes: TestMessages.gtube)) { r in
                #expect(r.status == .ok)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any])
                #expect(json["action"] as? String == "reject")
                #expect(json["is_skipped"] as? Bool == false)
                #expect((json["score"] as? Double ?? 0) >= 1000)
                #expect(json["required_score"] as? Double == Thresholds.default.spam)
                #expect(json["message-id"] as? String == "gtube-1@example.com")
                let symbols = try #require(json["symbols"] as? [String: [String: Any]])
                #expect(symbols["GTUBE"]?["score"] as? Double == 1000)
                let milter = try #require(json["milter"] as? [String: Any])
                let add = try #require(milter["add_headers"] as? [String: [String: Any]])
                #expect(add["X-Spam-Flag"]?["value"] as? String == "YES")
                #expect((json["messages"] as? [String: String])?["smtp_message"] != nil)
            }
        }
    }

    @Test func statsCountLearning() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/learnham", method: .post, headers: [.init("Password")!: "s3cret-token"],
                                     body: ByteBuffer(bytes: TestMessages.ham(7))) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("\"success\":true"))
            }
            try await client.execute(uri: "/v1/stats", method: .get) { r in
                let json = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
                #expect(json?["learnedHam"] as? Int == 1)
                #expect(json?["learnedSpam"] as? Int == 0)
            }
            try await client.execute(uri: "/stat", method: .get) { r in
                let json = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
                #expect(json?["ham_count"] as? Int == 1)
            }
        }
    }
}

@Suite struct AccessPolicyTests {
    @Test(arguments: [
        ("127.0.0.1", true), ("127.8.9.10", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("10.0.0.1", false), ("2001:db8::1", false),
    ])
    func loopbackIsTrusted(address: String, trusted: Bool) {
        #expect(AccessPolicy().allows(address: address, secret: nil) == trusted)
    }

    @Test func cidrParsingAndMatching() throws {
        let p = AccessPolicy(trustedNetworks: ["192.0.2.0/25", "2001:db8::/32"].compactMap { IPNetwork($0) })
        #expect(p.allows(address: "192.0.2.127", secret: nil))
        #expect(!p.allows(address: "192.0.2.128", secret: nil))
        #expect(p.allows(address: "2001:db8:ffff::1", secret: nil))
        #expect(!p.allows(address: "2001:db9::1", secret: nil))
        #expect(!p.allows(address: "not-an-ip", secret: nil))
        #expect(IPNetwork("192.0.2.0/33") == nil)
    }

    @Test func passwordComparedExactly() {
        let p = AccessPolicy(trustedNetworks: [], password: "correct horse")
        #expect(p.allows(address: "10.0.0.1", secret: "correct horse"))
        #expect(!p.allows(address: "10.0.0.1", secret: "correct hors"))
        #expect(!p.allows(address: "10.0.0.1", secret: "correct horsee"))
        #expect(!p.allows(address: "10.0.0.1", secret: nil))
    }
}
