import MailAuth
import Testing

@testable import SpamwardCore

/// The campaign bookkeeping's fast paths against their definitions, on seeded random inputs.
@Suite struct CampaignFastPathTests {
    @Test func equalSlotsCountsLikeTheDefinition() {
        var rng = SplitMix64(seed: 71)
        for n in Array(0..<40) + [128, 129, 255] {
            for _ in 0..<20 {
                let a = (0..<n).map { _ in UInt32.random(in: 0..<4, using: &rng) }
                let b = (0..<n).map { _ in UInt32.random(in: 0..<4, using: &rng) }
                let naive = zip(a, b).filter { $0 == $1 }.count
                #expect(MessageFingerprint.equalSlots(a, b) == naive, "n=\(n)")
                #expect(MessageFingerprint.equalSlots(a, a) == n)
            }
        }
        #expect(MessageFingerprint.similarity([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 0]) == 7.0 / 9.0)
        #expect(MessageFingerprint.similarity([1, 2], [1, 2, 3]) == 0)
    }

    @Test func candidateIDsKeepFirstOccurrencesInOrder() {
        var rng = SplitMix64(seed: 72)
        for _ in 0..<300 {
            let lists = (0..<Int.random(in: 0..<12, using: &rng)).map { _ in
                (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt64.random(in: 0..<60, using: &rng) }
            }
            var seen = Set<UInt64>()
            var expected: [UInt64] = []
            for l in lists { for id in l where seen.insert(id).inserted { expected.append(id) } }
            #expect(IDSet.firstOccurrences(lists, total: lists.reduce(0) { $0 + $1.count }) == expected)
        }
    }

    /// The bucket table against a `Dictionary` under random appends and removals, with keys that
    /// collide in the table's low bits so that removal has to shift probe runs back.
    @Test func bucketTableBehavesLikeADictionary() {
        var rng = SplitMix64(seed: 74)
        var table = BucketTable()
        var reference: [UInt64: [UInt64]] = [:]
        let keyPool: [UInt64] = (0..<300).map { i in i < 100 ? UInt64(i) << 40 : UInt64.random(in: 0...UInt64.max, using: &rng) } + [0]
        for step in 0..<40_000 {
            let key = keyPool[Int.random(in: 0..<keyPool.count, using: &rng)]
            let id = UInt64.random(in: 0..<8, using: &rng)
            if Bool.random(using: &rng) {
                table.withList(key) { $0.append(id) }
                reference[key, default: []].append(id)
            } else {
                table.remove(id, fromList: key)
                reference[key]?.removeAll { $0 == id }
                if reference[key]?.isEmpty == true { reference[key] = nil }
            }
            if step % 97 == 0 {
                #expect(table.count == reference.count)
                for k in keyPool { #expect(table.list(k) == reference[k], "key \(k) at step \(step)") }
            }
        }
        for k in keyPool { #expect(table.list(k) == reference[k]) }
    }

    @Test func lshCandidatesSurviveRemovalAndBucketBounds() {
        var lsh = MinHashLSH(bands: 4, rows: 2, maxBucketSize: 3)
        let sig: [UInt32] = [1, 2, 3, 4, 5, 6, 7, 8]
        for id in UInt64(1)...5 { lsh.insert(id, signature: sig) }
        // Each bucket keeps the newest three.
        #expect(lsh.candidates(sig) == [3, 4, 5])
        lsh.remove(4)
        #expect(lsh.candidates(sig) == [3, 5])
        lsh.insert(3, signature: [9, 9, 9, 9, 9, 9, 9, 9])  // replaced: gone from the old buckets
        #expect(lsh.candidates(sig) == [5])
        #expect(lsh.candidates([9, 9, 9, 9, 9, 9, 9, 9]) == [3])
        lsh.remove(5)
        lsh.remove(3)
        #expect(lsh.candidates(sig).isEmpty)
        // 1 and 2 left the full buckets but stay registered until their owner removes them.
        #expect(lsh.count == 2)
        lsh.remove(1)
        lsh.remove(2)
        #expect(lsh.count == 0)
    }

    /// Received `from` clauses read as bytes give the addresses the character definition gives.
    @Test func receivedAddressesOnBytesMatchTheDefinition() {
        var rng = SplitMix64(seed: 73)
        let pieces = [
            "from", "from ", " by ", "\tby ", "\nby ", "mail.example.com", "[192.0.2.1]", "(unknown [198.51.100.7])",
            "203.0.113.9", "[IPv6:2001:db8::1]", "ipv6:2001:db8::2", "IPV6:::ffff:192.0.2.44", "[::ffff:8.8.8.8]",
            "2001:db8:0:0:0:0:0:1", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "deadbeef", "abc:def", "é.1.2.3",
            "1.2.3.é", "(", ")", ";", ",", "=", "<", ">", "\r\n\t", " ", "helo=", "x.y", "99.88.77.66",
            String(repeating: "1", count: 70), String(repeating: "a:", count: 30), "fe80::1%eth0", "::", "::1",
        ]
        for _ in 0..<5_000 {
            var s = Bool.random(using: &rng) ? "from " : ""
            for _ in 0..<Int.random(in: 0..<14, using: &rng) {
                s += pieces[Int.random(in: 0..<pieces.count, using: &rng)]
                if Bool.random(using: &rng) { s += " " }
            }
            #expect(SendingAddress.addresses(inFromClause: s) == SendingAddress.addressesGeneral(inFromClause: s), "\(s)")
        }
        let long = "from " + String(repeating: "relay.example.net ", count: 70) + "[192.0.2.77] by mx"
        #expect(SendingAddress.addresses(inFromClause: long) == SendingAddress.addressesGeneral(inFromClause: long))
        #expect(SendingAddress.addresses(inFromClause: "from a.example ([IPv6:2001:db8::9] 192.0.2.3) by b")
            .map(\.description) == ["2001:db8::9", "192.0.2.3"])
    }
}
