import Foundation
import MailAuth
import MailMessage
import Testing

@testable import SpamwardCore

/// The fingerprint's faster steps against straightforward code of the same definition (kept here
/// as the reference): signatures and word judgements must not change within a definition
/// (``FingerprintConfiguration/definition``), or stored fingerprints stop matching.
@Suite("Fingerprint steps agree with the reference code")
struct FingerprintReferenceTests {
    /// The one-permutation MinHash with rotation densification as first written, with
    /// definitions 2 and 3's shingle hash (the word hashes combined, one mix).
    static func referenceMinHash(_ words: [UInt64], slots k: Int, shingleWords n: Int) -> [UInt32] {
        var slots = [UInt64](repeating: .max, count: k)
        let count = words.count >= n ? words.count - n + 1 : 1
        for i in 0..<count {
            var h = words[i]
            for j in (i + 1)..<min(i + n, words.count) { h = h &* 0x9E37_79B9_7F4A_7C15 ^ words[j] }
            h = StableHash.mix(h ^ 0x2545_F491_4F6C_DD1D)
            let slot = Int(((h >> 32) &* UInt64(k)) >> 32)
            let value = h & 0xFFFF_FFFF
            if value < slots[slot] { slots[slot] = value }
        }
        var out = [UInt32](repeating: 0, count: k)
        for i in 0..<k {
            if slots[i] != .max {
                out[i] = UInt32(truncatingIfNeeded: slots[i])
                continue
            }
            var d = 1
            while slots[(i + d) % k] == .max { d += 1 }
            out[i] = UInt32(truncatingIfNeeded: StableHash.mix(slots[(i + d) % k] &+ UInt64(d) &* 0x9E37_79B9))
        }
        return out
    }

    @Test(arguments: [(128, 2), (128, 1), (128, 3), (100, 2), (7, 2), (1, 2), (2, 2), (64, 2), (4096, 2)])
    func minHashIsTheReference(slots: Int, shingleWords: Int) {
        var configuration = FingerprintConfiguration()
        configuration.slots = slots
        configuration.shingleWords = shingleWords
        let fingerprinter = Fingerprinter(configuration: configuration, publicSuffixList: nil)
        var rng = SplitMix64(seed: 0x0BE5 &+ UInt64(slots * 10 + shingleWords))
        for round in 0..<300 {
            // Few words (many empty slots to densify) up to many; a small vocabulary repeats shingles.
            let count = 1 + Int(rng.next() % UInt64(round < 150 ? 20 : 600))
            let words = (0..<count).map { _ in rng.next() % 64 == 0 ? rng.next() : rng.next() % 40 }
            #expect(fingerprinter.minHash(words) == Self.referenceMinHash(words, slots: slots, shingleWords: shingleWords),
                    "\(count) words")
        }
        // No words, with a configuration that takes any count: no signature (no MinHash of nothing).
        var any = configuration
        any.minWords = 0
        let empty = Fingerprinter(configuration: any, publicSuffixList: nil).fingerprint(MessageParser.parse(Array("Subject: x\r\n\r\n--\r\n".utf8)))
        #expect(empty.words == 0 && empty.minHash.isEmpty)
    }

    /// The SWAR judgement of ``TextNormalizer/looksRandom(_:length:)`` is the byte-by-byte
    /// definition, whatever the bytes after the word in the 24-byte buffer.
    @Test func looksRandomIsTheReference() {
        var rng = SplitMix64(seed: 0x7A2D)
        // Case-folded words (what the word pass hands over): lower-case letters, vowels weighted
        // up, now and then a byte of a non-ASCII character.
        let letters = Array("abcdefghijklmnopqrstuvwxyzaeiouyaeiouy".utf8) + [0xC3, 0xA9]
        var randomOnes = 0, words = 0
        var buffer = [UInt8](repeating: 0, count: 24)
        for _ in 0..<40_000 {
            let n = Int(rng.next() % 21)
            for k in 0..<24 { buffer[k] = UInt8(truncatingIfNeeded: rng.next()) }  // garbage after the word
            for k in 0..<n { buffer[k] = letters[Int(rng.next() % UInt64(letters.count))] }
            let expected = buffer.withUnsafeBufferPointer { TextNormalizer.looksRandomReference(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            let got = buffer.withUnsafeMutableBufferPointer { TextNormalizer.looksRandom($0.baseAddress!, length: n) }
            #expect(got == expected, "\(String(decoding: buffer[0..<n], as: UTF8.self))")
            if expected { randomOnes += 1 } else { words += 1 }
        }
        // Both answers were exercised.
        #expect(randomOnes > 2_000 && words > 2_000)
        // The definition on a few words.
        for (word, random) in [("hello", false), ("rhythm", false), ("bcdfg", true), ("strengths", true), ("zzzzz", true),
                               ("abcdefghijklmnopqrst", true), ("queueing", false), ("xkqzwpt", true), ("naïve", false)] {
            #expect(TextNormalizer.looksRandomReference(Array(word.utf8).withUnsafeBufferPointer { $0 }) == random, "\(word)")
        }
    }

    /// The tokenizer's judgement of each word (``WordBuffer/vowels`` kept in its letter loop, then
    /// ``TextNormalizer/looksRandom(vowels:length:)``) is the definition on the word's bytes: letters
    /// only (folded ASCII letters or non-ASCII letters), 2 to 20 bytes, and not
    /// ``TextNormalizer/looksRandomReference(_:)``. Texts of mixed-case letters (vowels weighted
    /// up), digits, joiners, white space, Latin-1, Greek, Cyrillic and CJK letters, long runs; no
    /// `:` (no URL).
    @Test func tokenizerJudgementIsTheReference() {
        var rng = SplitMix64(seed: 0xF1A7)
        let pieces: [String] = Array("abcdefghijklmnopqrstuvwxyzaeiouyaeiouyAEIOUYBCDXZ").map(String.init)
            + ["0", "7", "'", "-", ".", "_", " ", " ", " ", "\n", "é", "É", "ï", "α", "Ж", "中", ",", "!"]
        let configuration = FeatureConfiguration.default
        var judged = 0, kept = 0, random = 0
        for round in 0..<3_000 {
            var text = ""
            let count = 1 + Int(rng.next() % 120)
            for _ in 0..<count {
                let r = rng.next() % 100
                if r < 2 {
                    text += String(repeating: "b", count: Int(rng.next() % 60))  // across the word buffer
                } else if r < 75 {
                    text += pieces[Int(rng.next() % 49)]  // letters
                } else if r < 88 {
                    text += " "
                } else {
                    text += pieces[Int(rng.next() % UInt64(pieces.count))]
                }
            }
            var b = Builder(configuration: configuration, hasher: StableHash(seed: configuration.hashSeed), keepNames: false)
            b.forEachWord(text, maxWords: Int.max, hashStart: 0, fingerprintWords: true) { _, _, word, fingerprintWord in
                let letters = word.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 >= 0x80 }
                let expected = letters && word.count >= 2 && word.count <= 20
                    && !TextNormalizer.looksRandomReference(word)
                #expect(fingerprintWord == expected, "round \(round): \(String(decoding: word, as: UTF8.self))")
                if letters && word.count >= 5 && word.count <= 20 { judged += 1 }
                if expected { kept += 1 } else if letters && word.count >= 5 && word.count <= 20 { random += 1 }
            }
        }
        // Both answers were exercised on judged words.
        #expect(judged > 6_000 && kept > 10_000 && random > 800, "\(judged) \(kept) \(random)")
    }

    /// The vowel mask flags exactly the vowels of lower-case ASCII letters, zero bytes after the word.
    @Test func vowelMaskIsTheVowels() {
        var rng = SplitMix64(seed: 0x5A5A)
        let lower = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 9)
            var bytes = [UInt8](repeating: 0, count: 8)
            for k in 0..<n { bytes[k] = lower[Int(rng.next() % 26)] }
            var f: UInt64 = 0
            for k in 0..<8 { f |= UInt64(bytes[k]) << UInt64(8 * k) }
            let vowels = TextNormalizer.gather(TextNormalizer.vowelMask(f))
            // The letters-only mask (what `looksRandom` uses) flags the same bytes.
            let letterVowels = TextNormalizer.gather(TextNormalizer.letterVowelMask(f))
            for k in 0..<8 {
                let expected = k < n && Array("aeiouy".utf8).contains(bytes[k])
                #expect((vowels >> UInt64(k)) & 1 == (expected ? 1 : 0), "\(String(decoding: bytes[0..<n], as: UTF8.self)) at \(k)")
                #expect((letterVowels >> UInt64(k)) & 1 == (expected ? 1 : 0), "\(String(decoding: bytes[0..<n], as: UTF8.self)) at \(k)")
            }
        }
    }

    /// The eight-bytes-at-a-time host comparison (``Fingerprinter/isHost(_:_:named:)``) is the
    /// byte-by-byte one: names that are the range lower-cased (the usual answer), one byte
    /// changed, of another length, and ranges with `:` `[`, only digits and dots, upper case,
    /// non-ASCII bytes, at any offset and length across 8-byte blocks.
    @Test func isHostIsTheReference() {
        var rng = SplitMix64(seed: 0x4057)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]@/".utf8) + [0xC3, 0xA9, 0x80, 0xFF]
        var same = 0, other = 0
        for round in 0..<20_000 {
            let count = 1 + Int(rng.next() % 40)
            var bytes = [UInt8](repeating: 0, count: count)
            let digitsOnly = round % 7 == 0
            for k in 0..<count {
                bytes[k] = digitsOnly ? Array("0123456789.".utf8)[Int(rng.next() % 11)]
                    : rng.next() % 4 == 0 ? alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    : Array("abcdefghijklmnopqrstuvwxyz.ABC".utf8)[Int(rng.next() % 30)]
            }
            let lo = Int(rng.next() % UInt64(count + 1))
            let hi = lo + Int(rng.next() % UInt64(count - lo + 1))
            var name = bytes[lo..<hi].map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }
            switch rng.next() % 4 {
            case 0 where !name.isEmpty: name[Int(rng.next() % UInt64(name.count))] ^= UInt8(1 << (rng.next() % 7))
            case 1: name.append(0x61)
            default: break
            }
            let nameString = String(decoding: name, as: UTF8.self)
            bytes.withUnsafeBufferPointer { b in
                let expected = Fingerprinter.isHostReference(b, lo..<hi, named: nameString)
                #expect(Fingerprinter.isHost(b, lo..<hi, named: nameString) == expected,
                        "\(String(decoding: bytes, as: UTF8.self)) \(lo)..<\(hi) \(nameString)")
                if expected { same += 1 } else { other += 1 }
            }
        }
        #expect(same > 3_000 && other > 3_000)
    }

    /// ``Fingerprinter/readsHost(_:named:)`` (a one-pass proof for plain URLs, else the two
    /// steps) is ``Fingerprinter/asciiHostRange(of:)`` + ``Fingerprinter/isHost(_:_:named:)``, on
    /// random URLs and names one byte off, and the proof is taken for plain ones.
    @Test func readsHostIsHostRangeAndIsHost() {
        var rng = SplitMix64(seed: 0x4EAD_5057)
        let schemes = ["http://", "HTTPS://", "ftp://", "", "mailto:", "http:/", "x://y://"]
        let hostBytes = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789......--".utf8)
        let odd: [[UInt8]] = [[0x40], [0x3A], [0x5B], [0x5D], [0x2F], [0x3F], [0x23], [0x5C], [0x0D], [0xC3, 0xA9], [0x2E]]
        let tails = ["", "/", "/path?q=1", "?x", "#f", "\\p", ":8080/", "@evil.example/", "./", "/\u{00E9}", "/a\r\nb"]
        var proved = 0, same = 0, other = 0
        for _ in 0..<30_000 {
            var host: [UInt8] = []
            for _ in 0..<Int(rng.next() % 30) {
                host += rng.next() % 25 == 0 ? odd[Int(rng.next() % UInt64(odd.count))] : [hostBytes[Int(rng.next() % UInt64(hostBytes.count))]]
            }
            let url = Array(schemes[Int(rng.next() % UInt64(schemes.count))].utf8) + host + Array(tails[Int(rng.next() % UInt64(tails.count))].utf8)
            var name = host.map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }
            switch rng.next() % 6 {
            case 0 where !name.isEmpty: name[Int(rng.next() % UInt64(name.count))] ^= UInt8(1 << (rng.next() % 7))
            case 1: name.append(0x61)
            case 2 where !name.isEmpty: name.removeLast()
            default: break
            }
            let nameString = String(decoding: name, as: UTF8.self)
            url.withUnsafeBufferPointer { b in
                var expected = false
                if case let r?? = Fingerprinter.asciiHostRange(of: b) { expected = Fingerprinter.isHost(b, r, named: nameString) }
                #expect(Fingerprinter.readsHost(b, named: nameString) == expected, "\(String(decoding: url, as: UTF8.self)) \(nameString)")
                if Fingerprinter.provesHost(b, named: nameString) {
                    proved += 1
                    #expect(expected, "\(String(decoding: url, as: UTF8.self)) \(nameString)")
                }
                if expected { same += 1 } else { other += 1 }
            }
        }
        #expect(proved > 1_000 && same > proved && other > 5_000, "\(proved) \(same) \(other)")
        let plain = Array("http://www.Example.com/a".utf8)
        plain.withUnsafeBufferPointer { #expect(Fingerprinter.provesHost($0, named: "www.example.com")) }
    }

    /// The fingerprint version changes with every setting that changes a signature (and not with
    /// the LSH bands), is never 0 (records stored before versions), and an old record without
    /// one decodes as 0.
    /// The URL domains a scan's fingerprint takes from the rules' analysis (a cursor over its
    /// entries, each host's domain taken once) are those computed alone from the URL strings:
    /// messages of up to 300 URLs over up to 150 hosts (past the 64 hosts whose taken domains are
    /// remembered in a bit set, and past the analysis' 200 URLs), hosts repeated in other cases,
    /// with userinfo, ports, trailing dots, IP literals, non-ASCII bytes and no host; several
    /// domain limits and lists.
    @Test func sharedURLDomainsAreTheOwn() {
        var rng = SplitMix64(seed: 0xD04A_1005)
        let labels = ["a", "bb", "shop", "www.c", "x.y.z", "mail", "e-f"]
        let suffixes = [".com", ".net", ".co.uk", ".org.", ".COM", ".example", ".de"]
        let odd = ["http://1.2.3.4/", "http://[::1]/x", "https://b\u{00FC}cher.example/", "mailto:x@example.com",
                   "http://user:pw@evil.example:8080/", "http://.../", "www.plain-host.org/path", "http://EXAMPLE.org\\p",
                   "http://paypal.com@Evil.Example/login", "http://3232235777/x", "https://%77ww.example.com/"]
        var messages: [Message] = []
        for round in 0..<120 {
            let hostCount = 1 + Int(rng.next() % (round < 40 ? 20 : 150))
            var urls: [String] = []
            for _ in 0..<Int(rng.next() % 300) {
                if rng.next() % 8 == 0 {
                    urls.append(odd[Int(rng.next() % UInt64(odd.count))])
                    continue
                }
                let k = Int(rng.next() % UInt64(hostCount))
                var host = labels[k % labels.count] + String(k) + suffixes[(k / labels.count) % suffixes.count]
                if rng.next() % 4 == 0 { host = host.uppercased() }
                let scheme = ["http://", "https://", "HTTP://", "http://u@"][Int(rng.next() % 4)]
                urls.append(scheme + host + "/p" + String(rng.next() % 50))
            }
            messages.append(URLSharingTests.message(urls))
        }
        var shared = 0
        for list in [PublicSuffixList.system, PublicSuffixList("com\nco.uk\n"), nil] {
            for limit in [16, 1, 0, 1_000] {
                var configuration = FingerprintConfiguration.default
                configuration.maxURLDomains = limit
                let fingerprinter = Fingerprinter(configuration: configuration, publicSuffixList: list)
                for m in messages {
                    let alone = fingerprinter.urlDomains(m.urls)
                    let analysis = URLAnalysis.of(m, publicSuffixList: list)
                    #expect(m.urls.isEmpty || m.memoized(URLAnalysis.self) === analysis)
                    #expect(fingerprinter.urlDomains(m) == alone)
                    if !alone.isEmpty { shared += 1 }
                }
            }
        }
        #expect(shared > 1_000)
    }

    @Test func fingerprintVersionTellsConfigurationsApart() throws {
        let base = FingerprintConfiguration.default
        var variants: [FingerprintConfiguration] = []
        for change in 0..<5 {
            var c = base
            switch change {
            case 0: c.slots = 64
            case 1: c.shingleWords = 3
            case 2: c.maxWords = 100
            case 3: c.minWords = 5
            default: c.seed = 1
            }
            variants.append(c)
        }
        let versions = Set(([base] + variants).map(\.version))
        #expect(versions.count == 6 && !versions.contains(0))
        var bands = base
        bands.bands = 16
        #expect(bands.version == base.version)
        #expect(FingerprintConfiguration.definition == 3)
        // A record stored as JSON before versions existed.
        let json = #"{"id":3,"label":"spam","minHash":[1,2,3],"addedAt":10,"count":1}"#
        let old = try JSONDecoder().decode(FuzzyRecord.self, from: Data(json.utf8))
        #expect(old.version == 0)
        var index = FuzzyIndex()
        let current = FuzzyRecord(id: 4, label: .spam, minHash: (0..<128).map { UInt32($0) }, addedAt: 10, version: base.version)
        var foreign = current
        foreign.id = 5
        foreign.version = variants[4].version
        #expect(Set(index.restore([old, current, foreign])) == [3, 5])
        #expect(index.allRecords.map(\.id) == [4])
    }
}
