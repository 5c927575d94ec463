import MailAuth
import MailMessage
import Testing

@testable import SpamwardCore

/// The botnet list in the verdict (`BOTNET_LISTED`) and trusted relays in the sender bookkeeping.
@Suite("Botnet list in the verdict, trusted relays")
struct BotnetVerdictTests {
    /// Fifty random words: every call a new campaign.
    static func randomText(_ rng: inout SplitMix64) -> String {
        (0..<50).map { _ in CampaignSynth.vocabulary.randomElement(using: &rng) ?? "" }.joined(separator: " ")
    }

    static func raw(_ body: String, received: [String] = []) -> [UInt8] {
        var m = ""
        for r in received { m += "Received: \(r)\r\n" }
        m += "From: sender@example.com\r\nTo: user@example.org\r\nSubject: offer\r\nMessage-ID: <\(body.hashValue)@example.com>\r\n\r\n"
        m += body + "\r\n"
        return Array(m.utf8)
    }

    static func monitor(trusted: [String] = [], listedScore: Double = 3.0) -> CampaignMonitor {
        var config = CampaignMonitor.Configuration()
        config.botnet.listThreshold = 2
        config.listRefreshSeconds = 0
        config.listedScore = listedScore
        return CampaignMonitor(configuration: config, publicSuffixList: nil, trustedNetworks: trusted.compactMap { IPNetwork($0) })
    }

    @Test func listedClientGetsBotnetListedWithEvidence() throws {
        let monitor = Self.monitor(listedScore: 4.5)
        var rng = SplitMix64(seed: 7)
        let bot = ScanContext(clientAddress: "203.0.113.50")
        // Two spam campaigns list the address (threshold 2); the second scan lists it *with* this
        // message: BOTNET_FOOTPRINT, not yet BOTNET_LISTED.
        let first = monitor.scanned(CampaignSynth.message(Self.randomText(&rng)), context: bot, verdict: .spam, now: 1000)
        #expect(!first.symbols.contains { $0.name.hasPrefix("BOTNET") })
        let second = monitor.scanned(CampaignSynth.message(Self.randomText(&rng)), context: bot, verdict: .spam, now: 1001)
        #expect(second.symbols.map(\.name).contains("BOTNET_FOOTPRINT"))
        #expect(!second.symbols.map(\.name).contains("BOTNET_LISTED"))
        // The next message from the listed address: BOTNET_LISTED with the code and the evidence.
        let third = monitor.scanned(CampaignSynth.message(Self.randomText(&rng)), context: bot, verdict: .spam, now: 1002)
        let listed = try #require(third.symbols.first { $0.name == "BOTNET_LISTED" })
        #expect(listed.score == 4.5)
        #expect(listed.options == ["203.0.113.50", "127.0.0.2"])
        #expect(listed.description.contains("spam campaigns"))
        #expect(!third.symbols.map(\.name).contains("BOTNET_FOOTPRINT"), "one botnet symbol per message")
        // Another client is not listed.
        let other = monitor.scanned(CampaignSynth.message(Self.randomText(&rng)), context: ScanContext(clientAddress: "203.0.113.51"),
                                    verdict: .spam, now: 1003)
        #expect(!other.symbols.map(\.name).contains("BOTNET_LISTED"))
    }

    @Test func filterVerdictCarriesTheSymbolAndItsScore() {
        let monitor = Self.monitor()
        let filter = SpamFilter(scanner: MessageScanner(model: StatisticalModel()), store: InMemoryStore(), campaigns: monitor)
        var rng = SplitMix64(seed: 11)
        let bot = ScanContext(clientAddress: "198.51.100.23")
        for _ in 0..<3 {
            // Judged spam by the scan (GTUBE) so the campaigns count as spam.
            _ = filter.scan(Self.raw(Self.randomText(&rng) + "\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"),
                            context: bot)
        }
        let text = Self.randomText(&rng)
        let plain = filter.scanner.scan(filter.scanner.parse(Self.raw(text)), context: bot)
        let verdict = filter.scan(Self.raw(text), context: bot)
        #expect(verdict.symbols.contains { $0.name == "BOTNET_LISTED" && $0.score == 3.0 })
        #expect(abs(verdict.score - plain.score - 3.0) < 1e-9)
        #expect(monitor.currentBotnetList().lookup("198.51.100.23") != nil)
    }

    @Test func trustedRelayClientIsLookedBehind() throws {
        let received = [
            "from relay.example.net (relay.example.net [10.1.2.3]) by mx.example.org with ESMTP id 1",
            "from bot.example (unknown [81.2.69.160]) by relay.example.net with SMTP id 2",
        ]
        let m = MessageParser.parse(Self.raw("hello", received: received))
        let relay = ScanContext(clientAddress: "10.1.2.3")
        // Default behaviour of SendingAddress without trusted relays: the client.
        #expect(SendingAddress.of(m, context: relay)?.description == "10.1.2.3")
        let monitor = Self.monitor(trusted: ["10.0.0.0/8"])
        #expect(monitor.sendingAddress(m, context: relay)?.description == "81.2.69.160")
        // A public relay network (a collector), two hops.
        let viaCollector = MessageParser.parse(Self.raw("hello", received: [
            "from collector1.example (collector1.example [64.4.10.5]) by mx.example.org with ESMTP id 1",
            "from collector2.example (collector2.example [64.4.20.7]) by collector1.example with ESMTP id 2",
            "from bot.example (unknown [81.2.69.161]) by collector2.example with SMTP id 3",
        ]))
        let collectors = Self.monitor(trusted: ["64.4.0.0/16"])
        #expect(collectors.sendingAddress(viaCollector, context: ScanContext(clientAddress: "64.4.10.5"))?.description == "81.2.69.161")
        // Nothing untrusted below the relay: no sender at all (the relay is never booked).
        let local = MessageParser.parse(Self.raw("hello", received: [received[0]]))
        #expect(monitor.sendingAddress(local, context: relay) == nil)
        // An untrusted client is the sender, whatever its Received fields claim.
        #expect(monitor.sendingAddress(m, context: ScanContext(clientAddress: "81.2.69.200"))?.description == "81.2.69.200")
    }

    @Test func collectorRelayDoesNotTopTheBotnetRanking() {
        // Every message arrives through the collector 64.4.10.5; each bot sends two campaigns.
        func run(trusted: [String]) -> [BotnetEvidence] {
            let monitor = Self.monitor(trusted: trusted)
            var rng = SplitMix64(seed: 3)
            for bot in 1...5 {
                for _ in 0..<2 {
                    let m = MessageParser.parse(Self.raw(Self.randomText(&rng), received: [
                        "from collector.example (collector.example [64.4.10.5]) by mx.example.org with ESMTP id 1",
                        "from bot\(bot).example (unknown [81.2.69.\(bot)]) by collector.example with SMTP id 2",
                    ]))
                    _ = monitor.scanned(m, context: ScanContext(clientAddress: "64.4.10.5"), verdict: .spam, now: 1000)
                }
            }
            return monitor.botnetEvidence()
        }
        let untrusted = run(trusted: [])
        #expect(untrusted.first?.address == "64.4.10.5", "without the setting the collector carries every campaign")
        #expect(untrusted.count == 1)
        let trusted = run(trusted: ["64.4.10.0/24"])
        #expect(!trusted.contains { $0.address == "64.4.10.5" })
        #expect(Set(trusted.filter(\.listed).map(\.address)) == Set((1...5).map { "81.2.69.\($0)" }))
    }
}
