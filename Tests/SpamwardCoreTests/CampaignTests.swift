import MailAuth
import MailMessage
import Testing

@testable import SpamwardCore

// Randomized variants use SpamwardCore's seeded SplitMix64, so they are reproducible.

enum CampaignSynth {
    static let pillAd = """
        Dear NAME, are you tired of paying too much for your prescriptions? Our licensed online pharmacy \
        ships generic medication directly to your door with complete discretion and no embarrassing visits \
        to the doctor. Save up to eighty percent on the brands you already trust, with free shipping on every \
        order and a money back guarantee if you are not completely satisfied. Thousands of happy customers \
        have already switched to our secure ordering system and never looked back. Visit our store today and \
        claim your exclusive discount before this limited offer expires at the end of the week. Reply with \
        remove in the subject line to stop receiving these special announcements from our partners.
        """

    static let unrelated = [
        """
        Hi team, the quarterly planning meeting moves to the large conference room on the third floor. Please \
        bring the draft budget for your group and the list of open hiring requests. We will go through the \
        roadmap for the next two releases and agree on who owns the migration of the build servers. Lunch is \
        provided, so tell Carol about dietary restrictions before Wednesday. Thanks, and see you there.
        """,
        """
        The kernel maintainers merged the scheduler patches last night after a long review on the mailing list. \
        The main change replaces the old load balancing heuristics with a simpler model that tracks utilization \
        per run queue, which reduces latency for interactive tasks on small machines. Benchmarks from three \
        independent testers show no regressions for database workloads, though one report mentions a slowdown \
        when compiling large projects with many parallel jobs. Further testing is welcome before the release.
        """,
        """
        Congratulations! Your mortgage application has been pre approved at the lowest rate we have offered in \
        years. Homeowners across the country are refinancing now to cut their monthly payments and consolidate \
        debt. Our brokers compete for your business so you get the best terms without any obligation. Fill in \
        the short form on our website and a specialist will call you within one business day to lock your rate.
        """,
        """
        Thank you for your order from our garden supply shop. Your seeds and the two terracotta planters were \
        packed this morning and handed to the courier, who expects to deliver them on Thursday. You can follow \
        the parcel with the tracking link in your account. If anything arrives damaged, keep the packaging and \
        write back to this address; we will send a replacement straight away. Happy planting from all of us.
        """,
    ]

    static let vocabulary = """
        apple river window garden silver market yellow engine planet forest button castle pencil wonder ticket \
        shadow basket copper lantern meadow harbor velvet pepper thunder marble orchard candle saddle whisper \
        anchor bridge cotton dragon ember falcon glacier hollow island jungle kettle ladder mirror needle
        """.split(separator: " ").map(String.init)

    static let names = ["John", "Maria", "Wei", "Fatima", "Olga", "Pedro", "Aisha", "Kenji", "Liam", "Zoe"]

    /// A variant with a random name, random inserted words, random numbers and a hash-buster line.
    static func variant<R: RandomNumberGenerator>(_ text: String, insertions: Int, rng: inout R) -> String {
        var words = text.replacingOccurrences(of: "NAME", with: names.randomElement(using: &rng) ?? "John")
            .split(separator: " ").map(String.init)
        for _ in 0..<insertions {
            let at = Int.random(in: 0...words.count, using: &rng)
            words.insert(vocabulary.randomElement(using: &rng) ?? "x", at: at)
        }
        let order = "Order \(Int.random(in: 10_000...99_999, using: &rng)) ref \(UInt64.random(in: 0...UInt64.max, using: &rng))"
        let buster = (0..<6).map { _ in
            String((0..<Int.random(in: 8...14, using: &rng)).map { _ in
                Character(Unicode.Scalar(UInt8.random(in: 97...122, using: &rng)))
            }).enumerated().map { i, c in i % 3 == 1 ? Character(c.uppercased()) : c }.map(String.init).joined()
        }.joined(separator: " ")
        return words.joined(separator: " ") + "\n" + order + "\nhttp://pills\(Int.random(in: 1...999, using: &rng)).example.com/?id=\(Int.random(in: 1...1_000_000, using: &rng))\n" + buster
    }

    static func message(_ body: String, subject: String = "Hello", from: String = "sender@example.com",
                        received: String? = nil) -> Message {
        var m = "From: \(from)\r\nTo: user@example.org\r\nSubject: \(subject)\r\nMessage-ID: <\(body.hashValue)@example.com>\r\n"
        if let received { m += "Received: \(received)\r\n" }
        m += "\r\n" + body.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"
        return MessageParser.parse(Array(m.utf8))
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

@Suite("Fingerprints")
struct FingerprintTests {
    let fingerprinter = Fingerprinter(publicSuffixList: nil)

    @Test func normalizationDropsNumbersURLsAddressesAndRandomTokens() {
        let words = TextNormalizer.normalize("Hello WORLD! Call 555-1234 or mail bob@example.com, see http://x.example/a www.y.example xKqZwPt zzzzzzz tired")
        #expect(words == ["hello", "world", "call", "or", "mail", "see", "tired"])
    }

    @Test func randomizedVariantsAreSimilarAndUnrelatedAreNot() {
        var rng = SplitMix64(seed: 42)
        let base = fingerprinter.fingerprint(CampaignSynth.message(CampaignSynth.pillAd))
        #expect(base.hasText)
        for _ in 0..<20 {
            let v = fingerprinter.fingerprint(CampaignSynth.message(CampaignSynth.variant(CampaignSynth.pillAd, insertions: 8, rng: &rng)))
            #expect(base.similarity(to: v) >= 0.5, "variant similarity \(base.similarity(to: v))")
        }
        for text in CampaignSynth.unrelated {
            let u = fingerprinter.fingerprint(CampaignSynth.message(text))
            #expect(base.similarity(to: u) < 0.2, "unrelated similarity \(base.similarity(to: u))")
        }
    }

    @Test func shortTextsHaveNoSignature() {
        let fp = fingerprinter.fingerprint(CampaignSynth.message("see you at lunch tomorrow"))
        #expect(!fp.hasText)
        #expect(fp.words == 5)
    }

    @Test func urlDomainsAreRegistrableWithThePublicSuffixList() {
        let psl = PublicSuffixList("com\nco.uk\n")
        let f = Fingerprinter(publicSuffixList: psl)
        let m = CampaignSynth.message("visit http://a.b.shop.co.uk/x and https://user@www.pills.com:8080/y and http://192.0.2.7/z")
        #expect(f.fingerprint(m).urlDomains == ["192.0.2.7", "pills.com", "shop.co.uk"])
    }

    @Test func fingerprintsAreStableAcrossRuns() {
        // A fixed input gives a fixed signature: the hash is seeded, never Swift's Hasher.
        let a = fingerprinter.fingerprint(CampaignSynth.message(CampaignSynth.unrelated[0]))
        let b = Fingerprinter(publicSuffixList: nil).fingerprint(CampaignSynth.message(CampaignSynth.unrelated[0]))
        #expect(a == b)
        #expect(a.minHash.count == FingerprintConfiguration.default.slots)
        #expect(Set(a.minHash).count > 32, "a densified signature is not one repeated value")
    }

    @Test func textLengthIsCapped() {
        var c = FingerprintConfiguration()
        c.maxWords = 100
        let f = Fingerprinter(configuration: c, publicSuffixList: nil)
        let long = Array(repeating: CampaignSynth.unrelated[1], count: 200).joined(separator: " ")
        #expect(f.fingerprint(CampaignSynth.message(long)).words == 100)
    }
}

@Suite("Fuzzy index")
struct FuzzyIndexTests {
    let fingerprinter = Fingerprinter(publicSuffixList: nil)

    @Test func fuzzySpamFiresAfterLearningSpamAndNotBefore() {
        var rng = SplitMix64(seed: 7)
        var index = FuzzyIndex()
        let learned = fingerprinter.fingerprint(CampaignSynth.message(CampaignSynth.variant(CampaignSynth.pillAd, insertions: 5, rng: &rng)))
        let later = fingerprinter.fingerprint(CampaignSynth.message(CampaignSynth.variant(CampaignSynth.pillAd, insertions: 5, rng: &rng)))
        #expect(index.match(later, now: 100).isEmpty)
        index.add(learned, as: .spam, now: 100)
        let matches = index.match(later, now: 200)
        #expect(matches.count == 1)
        let symbols = index.symbols(for: matches)
        #expect(symbols.first?.name == "FUZZY_SPAM")
        let score = symbols.first?.score ?? 0
        #expect(score >= 2 && score <= 4, "score scaled by similarity: \(score)")
        #expect(symbols.first?.options.first?.hasPrefix("similarity=") == true)
        // Unrelated mail does not match.
        #expect(index.match(fingerprinter.fingerprint(CampaignSynth.message(CampaignSynth.unrelated[1])), now: 200).isEmpty)
    }

    @Test func learnedHamGivesFuzzyHamAndNearCopiesMerge() {
        var index = FuzzyIndex()
        let fp = fingerprinter.fingerprint(CampaignSynth.message(CampaignSynth.unrelated[3]))
        index.add(fp, as: .ham, now: 1)
        index.add(fp, as: .ham, now: 2)
        #expect(index.count == 1)
        #expect(index.allRecords.first?.count == 2)
        let symbols = index.symbols(for: index.match(fp, now: 3))
        #expect(symbols.map(\.name) == ["FUZZY_HAM"])
        #expect((symbols.first?.score ?? 0) < 0)
        index.remove(fp, label: .ham)
        #expect(index.count == 0)
    }

    @Test func entriesExpireAndTheIndexIsBounded() {
        var c = FuzzyIndex.Configuration()
        c.maxEntries = 50
        c.maxAgeSeconds = 1000
        var index = FuzzyIndex(configuration: c)
        var rng = SplitMix64(seed: 3)
        for i in 0..<300 {
            let text = (0..<40).map { _ in CampaignSynth.vocabulary.randomElement(using: &rng) ?? "" }.joined(separator: " ")
            index.add(fingerprinter.fingerprint(CampaignSynth.message(text)), as: .spam, now: Int64(i))
            #expect(index.count <= 50)
        }
        let expired = index.expire(now: 1_280)
        #expect(expired.delete.count == 30, "entries added at 250..<280 are older than 1000 s")
        #expect(index.allRecords.allSatisfy { 1_280 - $0.addedAt <= 1000 })
    }

    @Test func recordsSurviveARestartThroughTheStore() async throws {
        let store = InMemoryFuzzyStore()
        let monitor = CampaignMonitor(store: store, publicSuffixList: nil)
        let spam = CampaignSynth.message(CampaignSynth.pillAd.replacingOccurrences(of: "NAME", with: "Olga"))
        try await monitor.learn(spam, as: .spam, now: 10)
        let restarted = CampaignMonitor(store: store, publicSuffixList: nil)
        try await restarted.restore()
        let copy = CampaignSynth.message(CampaignSynth.pillAd.replacingOccurrences(of: "NAME", with: "Kenji"))
        let result = restarted.scanned(copy, context: .none, verdict: .ham, now: 20)
        #expect(result.symbols.contains { $0.name == "FUZZY_SPAM" })
    }
}

@Suite("Campaigns")
struct CampaignTrackerTests {
    let fingerprinter = Fingerprinter(publicSuffixList: nil)

    func observation(_ text: String, ip: String?, time: Int64, verdict: Action? = .spam, label: Label? = nil) -> CampaignObservation {
        let m = CampaignSynth.message(text, subject: "Offer \(time)")
        return CampaignObservation(fingerprint: fingerprinter.fingerprint(m), sender: ip.flatMap { IPAddress($0) },
                                   senderDomain: "example.com", subject: m.subject, verdict: verdict, label: label, time: time)
    }

    @Test func variantsClusterTogetherAndUnrelatedMessagesDoNot() {
        var rng = SplitMix64(seed: 11)
        var tracker = CampaignTracker()
        var ids = Set<UInt64>()
        for i in 0..<40 {
            let text = CampaignSynth.variant(CampaignSynth.pillAd, insertions: 6, rng: &rng)
            let a = tracker.observe(observation(text, ip: "198.51.\(i % 7).\(i)", time: Int64(i)))
            if let a { ids.insert(a.campaignID) }
        }
        #expect(ids.count == 1, "all variants in one campaign, got \(ids.count)")
        for (k, text) in CampaignSynth.unrelated.enumerated() {
            let a = tracker.observe(observation(text, ip: "203.0.114.\(k)", time: 100))
            #expect(a?.isNew == true)
        }
        #expect(tracker.campaigns.count == 1 + CampaignSynth.unrelated.count)
    }

    @Test func bookkeeping() throws {
        var rng = SplitMix64(seed: 5)
        var tracker = CampaignTracker()
        let ips = ["1.2.3.4", "1.2.3.5", "1.2.3.4", "5.6.7.8", "9.9.9.9"]
        for (i, ip) in ips.enumerated() {
            let text = CampaignSynth.variant(CampaignSynth.pillAd, insertions: 3, rng: &rng)
            tracker.observe(observation(text, ip: ip, time: 1000 + Int64(i) * 10, verdict: i == 4 ? .unsure : .spam,
                                        label: i == 0 ? .spam : nil))
        }
        let c = try #require(tracker.largest(1).first)
        #expect(c.messages == 5)
        #expect(c.ips.count == 4)
        #expect(c.subnets.count == 3)
        #expect(c.firstSeen == 1000 && c.lastSeen == 1040)
        #expect(c.verdicts.spam == 4 && c.verdicts.unsure == 1)
        #expect(c.labels.spam == 1 && c.labels.ham == 0)
        #expect(c.subjects.count == 5)
        #expect(c.urlDomains.top.first?.key == "example.com")
        #expect(c.isSpam)
        let ip = try #require(IPAddress("1.2.3.4"))
        let sender = try #require(tracker.senders[ip])
        #expect(sender.messages == 2 && sender.campaigns == [c.id])
    }

    @Test func campaignsExpireWhenIdleAndAreBounded() {
        var config = CampaignTracker.Configuration()
        config.maxCampaigns = 20
        config.maxIdleSeconds = 500
        var tracker = CampaignTracker(configuration: config)
        var rng = SplitMix64(seed: 9)
        for i in 0..<200 {
            let text = (0..<40).map { _ in CampaignSynth.vocabulary.randomElement(using: &rng) ?? "" }.joined(separator: " ")
            tracker.observe(observation(text, ip: "192.0.\(i % 250).1", time: Int64(i)))
            #expect(tracker.campaigns.count <= 20)
            #expect(tracker.indexedSignatures <= 20 * config.maxRepresentatives)
        }
        #expect(tracker.evicted >= 180)
        // Advance the clock: everything idle longer than 500 s goes.
        tracker.observe(observation(CampaignSynth.unrelated[0], ip: nil, time: 10_000))
        #expect(tracker.campaigns.count == 1)
    }

    @Test func boundedMemoryUnderManyDistinctMessages() {
        var config = CampaignTracker.Configuration()
        config.maxCampaigns = 100
        config.maxSenders = 300
        config.maxIdleSeconds = nil
        var tracker = CampaignTracker(configuration: config)
        var rng = SplitMix64(seed: 13)
        for i in 0..<2_000 {
            let text = (0..<30).map { _ in CampaignSynth.vocabulary.randomElement(using: &rng) ?? "" }.joined(separator: " ")
            tracker.observe(observation(text, ip: "100.\(i % 50).\(i / 50).9", time: Int64(i)))
        }
        #expect(tracker.campaigns.count <= 100)
        #expect(tracker.senders.count <= 300)
        #expect(tracker.indexedSignatures <= 100 * config.maxRepresentatives)
    }

    @Test func distinctCounterIsExactThenEstimates() {
        var d = DistinctCounter(cap: 64)
        for i in 0..<64 { d.insert("10.0.\(i).1") }
        #expect(d.isExact && d.count == 64)
        for i in 0..<2_000 { d.insert("10.\(i / 256).\(i % 256).2") }
        #expect(!d.isExact)
        let n = d.count
        #expect(n > 1_700 && n < 2_400, "estimate \(n) of 2064")
    }

    @Test func sendingAddressFromReceivedSkipsPrivateAndTrustedHops() {
        // Documentation and private addresses are not public.
        #expect(!SendingAddress.isPublic(IPAddress("192.0.2.10")!))
        #expect(!SendingAddress.isPublic(IPAddress("10.1.2.3")!))
        #expect(SendingAddress.isPublic(IPAddress("64.12.1.77")!))
        let m2 = MessageParser.parse(Array("""
            Received: from localhost (localhost [127.0.0.1]) by mx.example.org
            Received: from relay.example.org (relay.example.org [8.8.4.4]) by mx.example.org
            Received: from bot.example.net ([64.12.1.77]) by relay.example.org
            Subject: x

            body

            """.utf8))
        #expect(SendingAddress.fromReceived(m2)?.description == "8.8.4.4")
        let trusted = IPAddress("8.8.4.4")
        #expect(SendingAddress.fromReceived(m2) { $0 == trusted }?.description == "64.12.1.77")
        #expect(SendingAddress.of(m2, context: ScanContext(clientAddress: "::ffff:203.0.113.9"))?.description == "203.0.113.9")
        let chains = (0..<50).map { i in [IPAddress("8.8.4.4"), IPAddress("64.12.\(i).77")].compactMap { $0 } }
        #expect(SendingAddress.inferTrustedRelays(chains) == Set([IPAddress("8.8.4.4")].compactMap { $0 }))
    }
}

@Suite("Botnet footprint")
struct BotnetTests {
    let fingerprinter = Fingerprinter(publicSuffixList: nil)

    /// `campaigns` distinct spam campaigns, each sent from `bot` and from `spread` other /24s.
    func tracker(campaigns: Int, spread: Int, botTimes: (Int) -> Int64) -> CampaignTracker {
        var t = CampaignTracker()
        var rng = SplitMix64(seed: 21)
        let texts = (0..<campaigns).map { _ in
            (0..<50).map { _ in CampaignSynth.vocabulary.randomElement(using: &rng) ?? "" }.joined(separator: " ")
        }
        for (k, text) in texts.enumerated() {
            let fp = fingerprinter.fingerprint(CampaignSynth.message(text))
            t.observe(CampaignObservation(fingerprint: fp, sender: IPAddress("203.0.113.5"), senderDomain: nil, subject: "s",
                                          verdict: .spam, label: nil, time: botTimes(k)))
            for j in 0..<spread {
                t.observe(CampaignObservation(fingerprint: fp, sender: IPAddress("100.\(k).\(j).1"), senderDomain: nil,
                                              subject: "s", verdict: .spam, label: nil, time: 10_000))
            }
        }
        return t
    }

    @Test func listingThresholds() throws {
        let bot = try #require(IPAddress("203.0.113.5"))
        // Two campaigns, no spread, far apart in time: 2.0 < 3.0, not listed.
        let quiet = tracker(campaigns: 2, spread: 0) { Int64($0) * 100_000 }
        let e1 = BotnetScorer.evaluate(try #require(quiet.senders[bot]), campaigns: quiet.campaigns)
        #expect(e1.spamCampaigns == 2 && !e1.listed && e1.code == nil)
        // Three campaigns: listed, multi-campaign code.
        let busy = tracker(campaigns: 3, spread: 0) { Int64($0) * 100_000 }
        let e2 = BotnetScorer.evaluate(try #require(busy.senders[bot]), campaigns: busy.campaigns)
        #expect(e2.listed && e2.code == "127.0.0.2")
        // One campaign spread over 15 other /24s: 1 + 0.5·log2(17) ≈ 3.04, listed as distributed.
        let spread = tracker(campaigns: 1, spread: 15) { _ in 0 }
        let e3 = BotnetScorer.evaluate(try #require(spread.senders[bot]), campaigns: spread.campaigns)
        #expect(e3.maxCampaignSubnets == 16 && e3.listed && e3.code == "127.0.0.3")
        // A stricter threshold unlists it.
        var strict = BotnetPolicy()
        strict.listThreshold = 5
        #expect(!BotnetScorer.evaluate(try #require(spread.senders[bot]), campaigns: spread.campaigns, policy: strict).listed)
        // Bursty: five messages within ten minutes add the burst weight.
        let burst = tracker(campaigns: 2, spread: 0) { Int64($0) * 60 }
        var s = try #require(burst.senders[bot])
        s.recentTimes = [0, 60, 120, 180, 240]
        let e4 = BotnetScorer.evaluate(s, campaigns: burst.campaigns)
        #expect(e4.bursty && e4.listed)
        // Ham from the address keeps it off the list.
        s.verdicts.ham = 1
        #expect(!BotnetScorer.evaluate(s, campaigns: burst.campaigns).listed)
    }

    @Test func zoneExportAndLookup() throws {
        let list = BotnetList([
            .init(address: "198.51.100.7", code: "127.0.0.2", text: "Spamward: 3 spam campaigns"),
            .init(address: "10.0.0.1", code: "127.0.0.3", text: "bad $text\nline"),
            .init(address: "2001:db8::5", code: "127.0.0.2", text: "v6"),
        ])
        let zone = list.ip4setZone(ttl: 600)
        let lines = zone.split(separator: "\n").map(String.init)
        #expect(lines.contains("$TTL 600"))
        #expect(lines.contains(":127.0.0.2:Listed by Spamward's botnet footprint"))
        let entries = lines.filter { !$0.hasPrefix("#") && !$0.hasPrefix("$") && !$0.hasPrefix(":") }
        #expect(entries == ["10.0.0.1 :127.0.0.3:bad textline", "198.51.100.7 :127.0.0.2:Spamward: 3 spam campaigns"])
        #expect(list.ip6trieZone().contains("2001:db8::5 :127.0.0.2:v6"))
        // Round trip.
        #expect(BotnetList(zone: zone).lookup("198.51.100.7")?.text == "Spamward: 3 spam campaigns")
        // Lookups: by address, and by DNSBL query name.
        #expect(list.lookup("198.51.100.7")?.code == "127.0.0.2")
        #expect(list.lookup("198.51.100.8") == nil)
        #expect(list.lookup(queryName: "7.100.51.198.bl.spamward.test.", zone: "bl.spamward.test")?.code == "127.0.0.2")
        #expect(list.lookup(queryName: "8.100.51.198.bl.spamward.test", zone: "bl.spamward.test") == nil)
        #expect(list.lookup(queryName: "7.100.51.198.other.test", zone: "bl.spamward.test") == nil)
        let v6 = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.spamward.test"
        #expect(list.lookup(queryName: v6, zone: "bl.spamward.test")?.text == "v6")
    }

    @Test func monitorAddsBotnetSymbolForListedSender() throws {
        var config = CampaignMonitor.Configuration()
        config.botnet.listThreshold = 2
        let monitor = CampaignMonitor(configuration: config, publicSuffixList: nil)
        var rng = SplitMix64(seed: 99)
        let ctx = ScanContext(clientAddress: "203.0.113.50")
        var last: CampaignMonitor.ScanResult? = nil
        for _ in 0..<3 {
            let text = (0..<50).map { _ in CampaignSynth.vocabulary.randomElement(using: &rng) ?? "" }.joined(separator: " ")
            last = monitor.scanned(CampaignSynth.message(text), context: ctx, verdict: .spam, now: 1000)
        }
        #expect(last?.symbols.contains { $0.name == "BOTNET_FOOTPRINT" } == true)
        #expect(monitor.botnetList().lookup("203.0.113.50") != nil)
    }
}
