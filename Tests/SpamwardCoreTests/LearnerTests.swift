import MailMessage
import Testing

@testable import SpamwardCore

// MARK: - Synthetic mail shared by the SpamwardCore tests

// Randomness comes from SpamwardCore's SplitMix64 (fixed seeds), so every synthetic message
// is the same on every run.

/// Synthetic spam (pills, loans) and ham (meetings, code review) messages.
enum Synth {
    static let spamWords = [
        "viagra", "cialis", "pills", "pharmacy", "cheap", "discount", "loan", "credit", "approved", "cash",
        "offer", "winner", "guaranteed", "rates", "mortgage", "refinance", "meds", "prescription", "bonus",
        "unsecured", "lowest", "price", "limited", "urgent", "order",
    ]
    static let hamWords = [
        "meeting", "agenda", "review", "code", "patch", "branch", "merge", "tests", "schedule", "tomorrow",
        "project", "design", "document", "notes", "release", "build", "thanks", "team", "deadline", "discuss",
        "refactor", "comments", "pipeline", "sprint", "minutes",
    ]
    static let spamSubjects = [
        "Cheap viagra pills online", "Your loan is approved", "Lowest mortgage rates guaranteed",
        "Discount pharmacy: order now", "Cash bonus waiting for you", "Unsecured credit approved today",
    ]
    static let hamSubjects = [
        "Meeting agenda for tomorrow", "Code review: parser patch", "Release notes draft",
        "Sprint planning minutes", "Re: design document comments", "Build pipeline broken on main",
    ]
    static let spamFrom = [
        "deals@cheap-meds.example", "offers@fastloans.example", "winner@lucky-cash.example",
        "pharmacy@rx-discount.example",
    ]
    static let hamFrom = [
        "alice@acme-corp.example", "bob@acme-corp.example", "carol@dev.acme-corp.example",
        "dave@partner.example",
    ]
    static let spamHosts = ["buy.cheap-meds.example", "apply.fastloans.example", "rx-discount.example"]
    static let hamHosts = ["git.acme-corp.example", "wiki.acme-corp.example"]

    /// One message. `index` varies the words, subject, sender and Message-ID.
    static func message(spam: Bool, index: Int, words: Int = 40, extraBody: String = "") -> String {
        var rng = SplitMix64(seed: UInt64(index) &* 7919 &+ (spam ? 1 : 2))
        let vocab = spam ? spamWords : hamWords
        let subjects = spam ? spamSubjects : hamSubjects
        let froms = spam ? spamFrom : hamFrom
        let hosts = spam ? spamHosts : hamHosts
        var body: [String] = []
        for k in 0..<words {
            body.append(vocab[Int(rng.next() % UInt64(vocab.count))])
            if k % 12 == 11 { body.append("\n") }
        }
        let host = hosts[Int(rng.next() % UInt64(hosts.count))]
        let url = spam ? "http://\(host)/offer?id=\(index)" : "https://\(host)/project/page\(index)"
        let kind = spam ? "spam" : "ham"
        return """
            From: \(froms[index % froms.count])
            To: user@example.org
            Subject: \(subjects[index % subjects.count])
            Date: Mon, 3 Mar 2025 10:\(format2(index % 60)):00 +0000
            Message-ID: <\(kind)-\(index)@\(host)>
            MIME-Version: 1.0
            Content-Type: text/plain; charset=us-ascii

            \(body.joined(separator: " "))
            \(url)
            \(extraBody)

            """
    }

    static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func bytes(spam: Bool, index: Int) -> [UInt8] { Array(message(spam: spam, index: index).utf8) }

    /// Messages that tests learn from: indices 0..<n.
    static func training(_ n: Int) -> [(bytes: [UInt8], label: Label)] {
        var out: [(bytes: [UInt8], label: Label)] = []
        for i in 0..<n {
            out.append((bytes(spam: true, index: i), .spam))
            out.append((bytes(spam: false, index: i), .ham))
        }
        return out
    }

    /// Messages never learned (indices from 1000 on), for probing a model.
    static func probes() -> [[UInt8]] {
        (0..<3).flatMap { i in [bytes(spam: true, index: 1000 + i), bytes(spam: false, index: 1000 + i)] }
    }

    /// A scanner whose model has learned `n` spam and `n` ham messages (directly, without a store).
    static func trainedScanner(_ n: Int = 10) -> MessageScanner {
        var s = MessageScanner(model: StatisticalModel())
        for (b, label) in training(n) {
            s.model.learn(s.features(s.parse(b)), as: label)
        }
        return s
    }

    static let gtubeString = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
}

/// The component scores of `model` for each probe.
func probeScores(_ model: StatisticalModel, _ scanner: MessageScanner, _ probes: [[UInt8]]) -> [StatisticalModel.ModelScores] {
    probes.map { model.score(scanner.features(scanner.parse($0))) }
}

// MARK: - LearningSession tests

@Suite("Learner")
struct LearnerTests {
    let store = InMemoryStore()

    func session(_ model: StatisticalModel = StatisticalModel()) -> LearningSession {
        LearningSession(scanner: MessageScanner(model: model), store: store)
    }

    /// A session that has learned 10 spam and 10 ham (not committed).
    func trainedSession() async throws -> LearningSession {
        var s = session()
        for (b, label) in Synth.training(10) {
            let o = try await s.learn(b, as: label, now: 1)
            #expect(o == .learned)
        }
        return s
    }

    @Test func trainedModelSeparatesNewSpamFromNewHam() async throws {
        let s = try await trainedSession()
        #expect(s.model.learnedSpam == 10)
        #expect(s.model.learnedHam == 10)
        #expect(s.counts == [.learned: 20])
        var scanner = s.scanner
        // Thresholds at 0: the action says which side of 0 the score is on.
        scanner.thresholds = Thresholds(unsure: 0, spam: 0)
        for i in 500..<505 {
            let spam = scanner.scan(Synth.bytes(spam: true, index: i))
            let ham = scanner.scan(Synth.bytes(spam: false, index: i))
            #expect(spam.score > ham.score)
            #expect(spam.score > 0, "spam \(i) scored \(spam.score)")
            #expect(ham.score < 0, "ham \(i) scored \(ham.score)")
            #expect(spam.action == .spam)
            #expect(ham.action == .ham)
            #expect(spam.symbols.contains { $0.name == "STAT_SPAM" })
            #expect(ham.symbols.contains { $0.name == "STAT_HAM" })
        }
    }

    @Test func learningTheSameBytesTwiceIsIdempotent() async throws {
        var s = try await trainedSession()
        let x = Synth.bytes(spam: true, index: 42)
        #expect(try await s.learn(x, as: .spam, now: 5) == .learned)
        let spamAfterFirst = s.model.learnedSpam
        let scoresAfterFirst = probeScores(s.model, s.scanner, Synth.probes())
        #expect(spamAfterFirst == 11)
        #expect(try await s.learn(x, as: .spam, now: 6) == .alreadyLearned)
        #expect(s.model.learnedSpam == spamAfterFirst)
        #expect(s.model.learnedHam == 10)
        #expect(probeScores(s.model, s.scanner, Synth.probes()) == scoresAfterFirst)
        #expect(s.counts[.alreadyLearned] == 1)
        #expect(s.counts[.learned] == 21)
    }

    @Test func idempotenceSurvivesCommitAndANewSession() async throws {
        var s = try await trainedSession()
        let x = Synth.bytes(spam: true, index: 43)
        #expect(try await s.learn(x, as: .spam, now: 5) == .learned)
        try await s.commit(now: 10)
        #expect(s.uncommittedChanges == 0)
        let snap = try #require(try await store.loadModel())
        var s2 = session(try ModelSnapshotCodec.model(from: snap))
        #expect(s2.model.learnedSpam == 11)
        #expect(try await s2.learn(x, as: .spam, now: 11) == .alreadyLearned)
        #expect(s2.model.learnedSpam == 11)
        #expect(s2.uncommittedChanges == 0)
    }

    @Test func forgettingRestoresTheModel() async throws {
        var s = try await trainedSession()
        let probes = Synth.probes()
        let before = probeScores(s.model, s.scanner, probes)
        let (spam0, ham0) = (s.model.learnedSpam, s.model.learnedHam)
        let x = Synth.bytes(spam: true, index: 77)
        #expect(try await s.learn(x, as: .spam, now: 3) == .learned)
        let learned = probeScores(s.model, s.scanner, probes)
        // The learn did change the model (otherwise the comparison below would prove nothing).
        #expect(zip(before, learned).contains { abs($0.discriminative - $1.discriminative) > 1e-3 })
        #expect(s.model.learnedSpam == spam0 + 1)
        #expect(try await s.learn(x, as: nil, now: 4) == .forgotten)
        let after = probeScores(s.model, s.scanner, probes)
        #expect(s.model.learnedSpam == spam0)
        #expect(s.model.learnedHam == ham0)
        for (b, a) in zip(before, after) {
            #expect(abs(b.discriminative - a.discriminative) < 1e-4)
            #expect(abs(b.tokenLogOdds - a.tokenLogOdds) < 1e-4)
            #expect(b.significantTokens == a.significantTokens)
            #expect(abs(b.fisher - a.fisher) < 1e-4)
        }
        // Forgotten again: nothing left to forget.
        #expect(try await s.learn(x, as: nil, now: 5) == .notLearned)
    }

    /// The combined score is what `check` reports. `forget` undoes the weights, bias and counts
    /// but not the combiner step that `learn` also took, so the combined score is not restored.
    /// The combiner step is largest when the model was unsure or wrong about the message: here a
    /// hammy message learned as spam, after `trainedPairs` spam and ham.
    @Test(arguments: [0, 10])
    func forgettingRestoresTheCombinedScore(trainedPairs: Int) async throws {
        var s = session()
        for (b, label) in Synth.training(trainedPairs) { try await s.learn(b, as: label, now: 1) }
        let probes = Synth.probes()
        let before = probeScores(s.model, s.scanner, probes)
        let x = Synth.bytes(spam: false, index: 78)
        #expect(try await s.learn(x, as: .spam, now: 3) == .learned)
        #expect(try await s.learn(x, as: nil, now: 4) == .forgotten)
        let after = probeScores(s.model, s.scanner, probes)
        for (b, a) in zip(before, after) {
            // The parts that forget does undo.
            #expect(abs(b.discriminative - a.discriminative) < 1e-4)
            #expect(abs(b.tokenLogOdds - a.tokenLogOdds) < 1e-4)
        }
        for (b, a) in zip(before, after) {
            #expect(abs(b.combined - a.combined) < 1e-4)
        }
    }

    @Test func forgettingAfterCommitInANewSessionRestoresCounts() async throws {
        var s = try await trainedSession()
        try await s.commit(now: 1)
        let probes = Synth.probes()
        let before = probeScores(s.model, s.scanner, probes)
        let x = Synth.bytes(spam: true, index: 79)
        #expect(try await s.learn(x, as: .spam, now: 2) == .learned)
        try await s.commit(now: 3)
        var s2 = session(try ModelSnapshotCodec.model(from: try #require(try await store.loadModel())))
        #expect(try await s2.learn(x, as: nil, now: 4) == .forgotten)
        try await s2.commit(now: 5)
        #expect(s2.model.learnedSpam == 10)
        #expect(try await store.learnRecords(for: [MessageScanner.digest(of: s2.scanner.parse(x))]).isEmpty)
        let after = probeScores(s2.model, s2.scanner, probes)
        for (b, a) in zip(before, after) {
            #expect(abs(b.discriminative - a.discriminative) < 1e-4)
            #expect(abs(b.tokenLogOdds - a.tokenLogOdds) < 1e-4)
        }
        let stats = try await store.statistics()
        #expect(stats.learnedSpam == 10)
        #expect(stats.learnedHam == 10)
    }

    @Test(arguments: [Label.spam, Label.ham])
    func relearningWithTheOtherLabelMovesTheScore(first: Label) async throws {
        var s = try await trainedSession()
        // A message with words of both kinds, so that it sits between the two classes.
        let x = Array(
            Synth.message(spam: first == .spam, index: 88, extraBody: "meeting pills review loan patch cash").utf8)
        let v = s.scanner.features(s.scanner.parse(x))
        #expect(try await s.learn(x, as: first, now: 1) == .learned)
        let afterFirst = s.model.score(v)
        let (spam1, ham1) = (s.model.learnedSpam, s.model.learnedHam)
        #expect(try await s.learn(x, as: first.opposite, now: 2) == .relearned)
        let afterSecond = s.model.score(v)
        if first.opposite == .spam {
            #expect(afterSecond.combined > afterFirst.combined)
            #expect(afterSecond.discriminative > afterFirst.discriminative)
            #expect(s.model.learnedSpam == spam1 + 1)
            #expect(s.model.learnedHam == ham1 - 1)
        } else {
            #expect(afterSecond.combined < afterFirst.combined)
            #expect(afterSecond.discriminative < afterFirst.discriminative)
            #expect(s.model.learnedSpam == spam1 - 1)
            #expect(s.model.learnedHam == ham1 + 1)
        }
        // And the store keeps the new label.
        try await s.commit(now: 3)
        let d = MessageScanner.digest(of: s.scanner.parse(x))
        let records = try await store.learnRecords(for: [d])
        #expect(records[d]?.label == first.opposite)
        #expect(records[d]?.learnedAt == 2)
        #expect(s.counts[.relearned] == 1)
    }

    @Test func forgettingAnUnknownMessageChangesNothing() async throws {
        var s = try await trainedSession()
        let probes = Synth.probes()
        let before = probeScores(s.model, s.scanner, probes)
        #expect(try await s.learn(Synth.bytes(spam: true, index: 4242), as: nil, now: 1) == .notLearned)
        #expect(s.model.learnedSpam == 10)
        #expect(s.model.learnedHam == 10)
        #expect(probeScores(s.model, s.scanner, probes) == before)
        #expect(s.uncommittedChanges == 20)
        #expect(s.counts[.notLearned] == 1)
    }

    @Test func commitSavesTheModelAndTheRecords() async throws {
        #expect(try await store.loadModel() == nil)
        var s = try await trainedSession()
        #expect(s.uncommittedChanges == 20)
        #expect(try await store.loadModel() == nil, "nothing is saved before commit")
        try await s.commit(now: 1_700_000_000)
        #expect(s.uncommittedChanges == 0)
        let snap = try #require(try await store.loadModel())
        #expect(snap.metadata.updatedAt == 1_700_000_000)
        #expect(snap.metadata.learnedSpam == 10)
        #expect(snap.metadata.learnedHam == 10)
        let loaded = try ModelSnapshotCodec.model(from: snap)
        #expect(loaded.learnedSpam == 10)
        #expect(loaded.learnedHam == 10)
        let probes = Synth.probes() + Synth.training(2).map(\.bytes)
        let mem = probeScores(s.model, s.scanner, probes)
        let disk = probeScores(loaded, s.scanner, probes)
        for (m, d) in zip(mem, disk) {
            #expect(abs(m.combined - d.combined) < 1e-6)
            #expect(abs(m.discriminative - d.discriminative) < 1e-6)
        }
        let stats = try await store.statistics()
        #expect(stats.learnedSpam == 10)
        #expect(stats.learnedHam == 10)
        #expect(stats.modelBytes == snap.payload.count)
        let digests = Synth.training(10).map { MessageScanner.digest(of: MessageParser.parse($0.bytes)) }
        let records = try await store.learnRecords(for: digests)
        #expect(records.count == 20)
    }

    @Test func digestIgnoresTransitHeaders() {
        let original = Synth.message(spam: true, index: 5)
        let relayed = """
            Received: from mx.example.net (mx.example.net [192.0.2.7]) by mail.example.org with ESMTP id 123
            X-Spam-Status: No, score=0.1 required=5.0
            X-Spam-Flag: NO

            """ + original
        let a = MessageScanner.digest(of: MessageParser.parse(Array(original.utf8)))
        let b = MessageScanner.digest(of: MessageParser.parse(Array(relayed.utf8)))
        #expect(a == b)
        #expect(a.bytes.count == 16)
        #expect(a.hex.count == 32)
        #expect(MessageDigest(hex: a.hex) == a)

        let otherBody = original.replacing("http://", with: "https://")
        #expect(otherBody != original)
        let c = MessageScanner.digest(of: MessageParser.parse(Array(otherBody.utf8)))
        #expect(c != a)
    }

    /// Delivery changes line endings (CRLF on the wire, LF in a Maildir) and mbox files keep a
    /// blank line before the next `From ` line: the same message should keep its digest, so that
    /// a message scanned at SMTP time and learned later from a mailbox counts once.
    @Test(arguments: ["crlf", "trailing blank line"])
    func digestIgnoresLineEndingChanges(change: String) {
        let original = Synth.message(spam: true, index: 7)
        let changed = change == "crlf" ? original.replacing("\n", with: "\r\n") : original + "\n"
        #expect(changed != original)
        let a = MessageScanner.digest(of: MessageParser.parse(Array(original.utf8)))
        let b = MessageScanner.digest(of: MessageParser.parse(Array(changed.utf8)))
        #expect(a == b)
    }

    @Test func relayedCopyIsAlreadyLearned() async throws {
        var s = session()
        let original = Synth.message(spam: true, index: 6)
        let relayed = "Received: from relay.example.net by mx.example.org; Mon, 3 Mar 2025 10:00:00 +0000\n"
            + "X-Spam-Status: Yes, score=9.9\n" + original
        #expect(try await s.learn(Array(original.utf8), as: .spam, now: 1) == .learned)
        #expect(try await s.learn(Array(relayed.utf8), as: .spam, now: 2) == .alreadyLearned)
        #expect(s.model.learnedSpam == 1)
    }
}


