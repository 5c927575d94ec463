import Foundation
import SpamwardCore

/// Small messages the front-end tests send.
enum TestMessages {
    static let gtube = Array("""
        From: sender@example.com\r
        To: rcpt@example.org\r
        Subject: test spam\r
        Message-ID: <gtube-1@example.com>\r
        \r
        XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r
        """.utf8)

    /// The current time as an RFC 5322 date (the date rules flag missing, future and old dates).
    static func rfc5322Now() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
        return f.string(from: Date())
    }

    static func ham(_ n: Int = 1) -> [UInt8] {
        Array("""
            From: alice@example.com\r
            To: bob@example.org\r
            Subject: lunch on thursday \(n)\r
            Message-ID: <ham-\(n)@example.com>\r
            Date: \(rfc5322Now())\r
            \r
            Hi Bob, shall we meet for lunch on Thursday at noon? Alice\r
            """.utf8)
    }

    /// The repository's fixture folder.
    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/messages")
    }
}

func makeFilter(store: InMemoryStore = InMemoryStore(), policy: ActionPolicy = .default) -> SpamFilter {
    SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: store, policy: policy)
}
