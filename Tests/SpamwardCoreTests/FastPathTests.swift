import MailMessage
import Testing

@testable import SpamwardCore

/// The byte-level fast paths of the rules and fingerprints against the general code they
/// shortcut: on every input where the fast path answers, it must answer the same.
@Suite("Fast paths agree with the general code")
struct FastPathTests {
    /// SpamwardCore's seeded SplitMix64, with random strings.
    struct RNG {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func pick<T>(_ a: [T]) -> T { a[Int(next() % UInt64(a.count))] }
        mutating func string(_ alphabet: [Character], _ count: Int) -> String {
            String((0..<count).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] })
        }
    }

    @Test func asciiSkeletonIsTheScalarSkeleton() {
        var rng = RNG(state: 0x5EE1)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzRNVCLI0123456789|!$-_.rnvvcl")
        var checked = 0
        for _ in 0..<5_000 {
            let s = rng.string(alphabet, Int(rng.next() % 16))
            guard let fast = BrandList.asciiSkeleton(s) else { continue }
            #expect(fast == BrandList.scalarSkeleton(s), "\(s)")
            checked += 1
        }
        #expect(checked == 5_000)
        #expect(BrandList.asciiSkeleton("pаypal") == nil)  // Cyrillic а: the scalar path
        #expect(BrandList.skeleton("PAYPA1") == "paypal")
        #expect(BrandList.skeleton("rnicrosoft") == BrandList.skeleton("microsoft"))  // "mlcrosoft": i folds to l
    }

    @Test func lastTwoLabelsAreTheSplitLabels() {
        var rng = RNG(state: 0x2A2B)
        let pieces = [".", "..", "a", "bc", "Example", "com", "co", "uk", "x-y", "é", "\r\n", "ü."]
        for _ in 0..<10_000 {
            let host = (0..<Int(rng.next() % 7)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            #expect(Fingerprinter.lastTwoLabels(host) == host.split(separator: ".").suffix(2).joined(separator: "."), "\(host)")
        }
    }

    @Test func asciiURLHostIsTheCharacterHost() {
        var rng = RNG(state: 0x40517)
        let pieces = ["http://", "https://", "HTTP://", "mailto:", "MailTo:", "www.", "Example.", "com", ".", "/", "?", "#",
                      "\\", "@", "user:pw@", ":8080", "[::1]", "[", "]", "a", "b-c", "..", "x=1&y=2"]
        var checked = 0
        for _ in 0..<20_000 {
            let s = (0..<(1 + Int(rng.next() % 7))).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            var copy = s
            guard let fast = copy.withUTF8({ Fingerprinter.asciiHost(of: $0) }) else { continue }
            #expect(fast == Fingerprinter.characterHost(of: s), "\(s)")
            checked += 1
        }
        #expect(checked == 20_000)
        #expect(Fingerprinter.host(of: "http://user@WWW.Example.COM.:80/x") == "www.example.com")
        #expect(Fingerprinter.host(of: "mailto:a@b.example") == nil)
        // A byte >= 0x80 or CR anywhere (in or after the first 8-byte blocks): the Character path.
        for s in ["http://a.example/\r", "http://a.example/path/é", "http://a.exampl\u{e9}/", "\rhttp://x.example/a/b/c/d"] {
            var copy = s
            #expect(copy.withUTF8({ Fingerprinter.asciiHost(of: $0) }) == nil, "\(s)")
        }
    }

    /// The n-gram text's eight-bytes-at-a-time normalization against the byte loop: random
    /// bytes weighted towards white space runs, upper case and 8-bit bytes, every byte value at
    /// every lane, at many lengths and output limits (`take`).
    @Test func ngramNormalizationIsTheByteLoop() {
        var rng = RNG(state: 0x4E67)
        let alphabet: [UInt8] = Array("aZ@[`{ \t\n\r  \u{0B}\u{0C}Q.-9".utf8) + [0x00, 0x1F, 0x21, 0x40, 0x41, 0x5A, 0x5B, 0x80, 0xC1, 0xDA, 0xFF, 0xA0, 0x8D, 0x89, 0x8A]
        func check(_ input: [UInt8], take: Int) {
            let fast = [UInt8](unsafeUninitializedCapacity: max(take, 1)) { out, count in
                count = input.withUnsafeBufferPointer { Builder.normalizeNgramBytes($0, into: out, take: take) }
            }
            let slow = [UInt8](unsafeUninitializedCapacity: max(take, 1)) { out, count in
                count = input.withUnsafeBufferPointer { Builder.normalizeNgramBytesReference($0, into: out, take: take) }
            }
            #expect(fast == slow, "\(input) take \(take)")
        }
        for _ in 0..<4_000 {
            let n = Int(rng.next() % 70)
            let input = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            check(input, take: Int(rng.next() % 80))
            check(input, take: n)
        }
        for b in 0...255 {
            for lane in 0..<8 {
                for before: UInt8 in [0x20, 0x41, 0x09] {
                    var input = [UInt8](repeating: 0x41, count: 17)
                    input[lane] = before
                    input[lane + 1] = UInt8(b)
                    input[lane + 8] = UInt8(b)
                    for take in [3, 8, 9, 16, 17] { check(input, take: take) }
                }
            }
        }
    }

    /// The candidate tokens ``TextChecks/scanText(_:maxSeparators:spacedRunLimit:)`` keeps: the
    /// non-ASCII ones with a look-alike and the ASCII ones that spell a spam word.
    func spelling(_ tokens: [(range: Range<Int>, nonASCII: Bool)], _ text: UnsafeBufferPointer<UInt8>)
        -> [(range: Range<Int>, nonASCII: Bool)]
    {
        TextChecks.asciiPlain.withUnsafeBufferPointer { plain in
            tokens.filter {
                let t = UnsafeBufferPointer(rebasing: text[$0.range])
                return $0.nonASCII ? TextChecks.hasLookalike(t, plain, TextChecks.nonASCIILookalikeValues)
                    : TextChecks.asciiSpellsSpamWord(t)
            }
        }
    }

    @Test func textScanIsTheSeparateScans() {
        var rng = RNG(state: 0x7E47)
        let alphabet = Array("abcXYZ v.i.a-g_r*a 1@$!| \n\r\tзаоп\u{0430}βx€é,;\"#}~")
        for _ in 0..<3_000 {
            var s = rng.string(alphabet, Int(rng.next() % 200))
            let scan = s.withUTF8 { TextChecks.scanText($0, maxSeparators: 40, spacedRunLimit: 5) }
            let tokens = s.withUTF8 { spelling(TextChecks.candidateTokens($0, maxSeparators: 40), $0) }
            let runs = s.withUTF8 { TextChecks.spacedRunStarts($0, limit: 5) }
            #expect(scan.tokens.map(\.range) == tokens.map(\.range), "\(s)")
            #expect(scan.tokens.map(\.nonASCII) == tokens.map(\.nonASCII), "\(s)")
            #expect(scan.spacedRunStarts == runs, "\(s)")
            #expect(scan.hasGreekOrCyrillic == TextChecks.hasGreekOrCyrillic(s), "\(s)")
        }
    }

    /// The scan marks an ASCII token only at a look-alike next to a letter (numbers and prices are
    /// not marked): disguised spam words with their look-alikes first, last, inside or everywhere,
    /// and numbers, prices and mixed tokens that spell nothing, put at every offset of the first
    /// 80 bytes (the padded first block, the two-block loop, the one-block loop and the padded
    /// last bytes, with the byte before each block read across the block's edge), after plain
    /// words or at the text's start, in texts that end right after them or go on.
    @Test func textScanFindsSpellingTokensAtEveryOffset() {
        var rng = RNG(state: 0xED6E)
        let tokens = ["v1agra", "viagr4", "4ccount", "1oan", "l0an", "ca$h", "$ex", "fre3", "fr33", "p@ypal", "c|alis",
                      "cas1n0", "m0ney", "m0n3y", "$$$free", "free!", "p0rn", "pi11s", "7ramadol", "c4sh", "ca5h", "s3x",
                      "2024", "$100", "10:30", "3D", "mp3", "a1", "1a", "x1y", "v1agra2", "6free", "w1nner", "prize!",
                      "!!!", "|||", "@@", "a@b", "@pple", "x", "viаgra", "v1аgra"]
        let fillers = ["", "a", "ab", "the ", "Hello world ", "x y ", "123 ", "naïve ", "...", "money, "]
        var found = 0
        for round in 0..<4_000 {
            let offset = round % 80
            var s = ""
            while s.utf8.count < offset { s += rng.pick(["the ", "a ", "offer ", "list\n", "b", "é "]) }
            s += rng.pick(fillers) + rng.pick(tokens)
            if round % 3 != 0 { s += rng.pick([" ", ".", "\n", "x", "1"]) + rng.pick(fillers) }
            if round % 5 == 0 { s += String(repeating: "plain words go on ", count: 1 + Int(rng.next() % 4)) }
            let scan = s.withUTF8 { TextChecks.scanText($0, maxSeparators: 5_000, spacedRunLimit: 1_000) }
            let expected = s.withUTF8 { spelling(TextChecks.candidateTokens($0, maxSeparators: 5_000), $0) }
            #expect(scan.tokens.map(\.range) == expected.map(\.range), "\(s)")
            #expect(scan.tokens.map(\.nonASCII) == expected.map(\.nonASCII), "\(s)")
            if expected.contains(where: { !$0.nonASCII }) { found += 1 }
        }
        #expect(found > 500)
    }

    /// Spaced runs with non-ASCII characters (two, three and four bytes, combining marks) among
    /// ASCII ones, the separators mixed: the scan looks only at non-ASCII characters alone between
    /// separators, and finds the runs the byte-by-byte machine finds.
    @Test func textScanFindsSpacedRunsWithNonASCIICharacters() {
        var rng = RNG(state: 0x5_9ACE)
        let characters = ["a", "b", "x", "é", "ж", "β", "€", "😀", "e\u{301}", "ab", "éé", "1", "@"]
        let separators = [".", ".", " ", " ", "-", "_", "*", ",", "\n"]
        var runs = 0
        for _ in 0..<5_000 {
            var s = rng.pick(["", "x", "word ", "ж"])
            let usual = rng.pick(separators)
            for _ in 0..<Int(rng.next() % 24) {
                s += rng.pick(characters) + (rng.next() % 4 == 0 ? rng.pick(separators) : usual)
            }
            if rng.next() % 2 == 0 { s += rng.pick(characters) }
            let scan = s.withUTF8 { TextChecks.scanText($0, maxSeparators: 5_000, spacedRunLimit: 1_000) }
            let expected = s.withUTF8 { TextChecks.spacedRunStarts($0, limit: 1_000) }
            #expect(scan.spacedRunStarts == expected, "\(s)")
            if !expected.isEmpty { runs += 1 }
        }
        #expect(runs > 500)
    }

    /// The ASCII spelling judgment on bytes (``TextChecks/asciiSpellsSpamWord(_:)``) is the
    /// definition: 4 to 20 characters, each an ASCII letter or a look-alike, at least one of each,
    /// and the plain letters a spam word. On spam words disguised at random and random tokens.
    @Test func asciiSpellingIsTheDefinition() {
        var rng = RNG(state: 0xA5C1)
        let disguises: [Character: [Character]] = ["a": ["4", "@"], "o": ["0"], "i": ["1", "!", "|"], "e": ["3"], "s": ["5", "$"],
                                                   "t": ["7"]]
        let words = Array(TextChecks.spamWords)
        let alphabet = Array("abceilmnoprstvxyzAEIOS0123456789@$!|")
        var spelled = 0
        for round in 0..<20_000 {
            var token: String
            if round % 2 == 0 {
                var letters = Array(rng.pick(words))
                for _ in 0..<Int(rng.next() % 3) {
                    let k = Int(rng.next() % UInt64(letters.count))
                    if let d = disguises[letters[k]] { letters[k] = rng.pick(d) }
                }
                token = String(letters.map { rng.next() % 4 == 0 ? Character($0.uppercased()) : $0 })
                if rng.next() % 8 == 0 { token += String(rng.pick(alphabet)) }
            } else {
                token = rng.string(alphabet, Int(rng.next() % 22))
            }
            let scalars = Array(token.unicodeScalars)
            var hasLookalike = false, hasLetter = false, plain = ""
            var readable = (4...20).contains(scalars.count)
            for u in scalars {
                if let l = TextChecks.lookalikes[u] {
                    hasLookalike = true
                    plain.append(l)
                } else if TextChecks.isLetter(u), u.value < 0x80 {
                    hasLetter = true
                    plain += String(u).lowercased()
                } else {
                    readable = false
                }
            }
            let expected = readable && hasLookalike && hasLetter && TextChecks.spamWords.contains(plain)
            var bytes = token
            #expect(bytes.withUTF8 { TextChecks.asciiSpellsSpamWord($0) } == expected, "\(token)")
            if expected { spelled += 1 }
        }
        #expect(spelled > 2_000)
    }

    /// The lookalike check of ASCII domains on bytes answers as the general one, on random
    /// domains made of brand names, look-alike spellings, hyphens and suffixes.
    @Test func asciiLookalikeIsTheGeneralLookalike() {
        var rng = RNG(state: 0x100C)
        let pieces = ["paypal", "paypa1", "pay", "pal", "rn", "m", "vv", "w", "cl", "d", "amazon", "amaz0n", "arnazon",
                      "micros0ft", "-", "-", "login", "secure", "netfl1x", "apple", "app1e", "x", "0", "1", "gmail", "g00gle",
                      "bank", "ofamerica", "dhl", "fedex"]
        let suffixes = [".com", ".co.uk", ".example", ".de", ".me", "", ".paypal.com", ".com."]
        let brands = BrandList.default
        var hits = 0
        for _ in 0..<20_000 {
            let label = (0..<(1 + Int(rng.next() % 3))).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            let reg = label + suffixes[Int(rng.next() % UInt64(suffixes.count))]
            var bytes = reg
            guard let fast = bytes.withUTF8({ brands.asciiLookalike($0) }) else { continue }
            #expect(fast == brands.generalLookalike(registrableDomain: reg), "\(reg)")
            if fast != nil { hits += 1 }
            // The packed table (confusables, brand records, skeletons in one array) answers as the
            // separate arrays do.
            if let dot = reg.utf8.firstIndex(of: 0x2E) {
                let label = reg.utf8.distance(from: reg.utf8.startIndex, to: dot)
                bytes.withUTF8 { b in
                    #expect(brands.unhyphenatedLookalike(b, label: label) == brands.unhyphenatedLookalikeInArrays(b, label: label), "\(reg)")
                }
            }
        }
        #expect(hits > 1_000)
    }

    /// The prefilter reading the text itself (folding as it compares) answers as it does on the
    /// folded copy, on random texts with the literals put in, in random case.
    @Test func prefilterOnTheTextIsThePrefilterOnTheFoldedText() throws {
        var rng = RNG(state: 0xF01D)
        let patterns = ["X-(Mailer|Library): *(Bulk|Mass|Group) ?Mail", "\\.(exe|scr|vbs|hta|pif|bat)$",
                        "(free|winner|prize|offer)", "click here to (be )?(removed|unsubscribe)", "100% (guaranteed|free)",
                        "caf\u{e9} [0-9]+ zq|QQQ"]
        let alphabet = Array("xX-MmaAiIlLeErRbByYsSgGoOuUpPqQzZ: \n.%é0123456789cCtTvVhHfFwW")
        var positives = 0
        for pattern in patterns {
            let prefilter = try #require(LiteralPrefilter(pattern: pattern))
            let literals = prefilter.allOf.flatMap { $0 }
            for _ in 0..<2_000 {
                var bytes = Array(rng.string(alphabet, Int(rng.next() % 40)).utf8)
                for _ in 0..<Int(rng.next() % 4) {
                    // A literal at a random place, each letter in either case.
                    let lit = literals[Int(rng.next() % UInt64(literals.count))].map { b -> UInt8 in
                        b &- 0x61 < 26 && rng.next() % 2 == 0 ? b & 0xDF : b
                    }
                    let at = Int(rng.next() % UInt64(bytes.count + 1))
                    bytes.insert(contentsOf: lit, at: at)
                }
                let folded = RuleInput.fold(bytes)
                let expected = folded.withUnsafeBufferPointer { prefilter.mayMatch($0) }
                #expect(bytes.withUnsafeBufferPointer { prefilter.mayMatch(unfolded: $0) } == expected,
                        "\(pattern) on \(String(decoding: bytes, as: UTF8.self))")
                if expected { positives += 1 }
            }
        }
        #expect(positives > 1_000)
    }

    /// Text made of words (mostly plain, some with digits, symbols, non-ASCII letters or spelled
    /// out letter by letter), as mail text is, with limits that are reached inside it.
    @Test func textScanOfWordsIsTheSeparateScans() {
        var rng = RNG(state: 0xB10C)
        let words = ["the", "a", "I", "offer", "limited", "Viagra", "money", "x", "ok", "Hello", "world", "an", "of",
                     "v1agra", "fr33", "p@ypal", "c|alis", "$ave", "2024", "15", "v.i.a.g.r.a", "v i a g r a", "m-o-n-e-y",
                     "w_o_r_d", "a*b*c*d", "вход", "viаgra", "βeta", "é", "naïve", "e.g.", "i.e.", "--", "...", "***"]
        let gaps = [" ", " ", " ", " ", "  ", ", ", ". ", "\n", "\r\n", "-", "_", "*", ".", "; ", "\t", "", "'", "(", ")"]
        var longTexts = 0
        for round in 0..<4_000 {
            var s = ""
            for _ in 0..<Int(rng.next() % 60) {
                // Plain words most of the time.
                let w = rng.next() % 4 == 0 ? words[Int(rng.next() % UInt64(words.count))] : words[Int(rng.next() % 11)]
                s += w + gaps[Int(rng.next() % UInt64(gaps.count))]
            }
            let maxSeparators = [3, 10, 40, 5_000][round % 4]
            let limit = [0, 1, 5, 1_000][(round / 4) % 4]
            let scan = s.withUTF8 { TextChecks.scanText($0, maxSeparators: maxSeparators, spacedRunLimit: limit) }
            let tokens = s.withUTF8 { spelling(TextChecks.candidateTokens($0, maxSeparators: maxSeparators), $0) }
            let runs = limit <= 0 ? [] : s.withUTF8 { TextChecks.spacedRunStarts($0, limit: limit) }
            #expect(scan.tokens.map(\.range) == tokens.map(\.range), "\(s) \(maxSeparators)")
            #expect(scan.tokens.map(\.nonASCII) == tokens.map(\.nonASCII), "\(s) \(maxSeparators)")
            #expect(scan.spacedRunStarts == runs, "\(s) \(limit)")
            #expect(scan.hasGreekOrCyrillic == TextChecks.hasGreekOrCyrillic(s), "\(s)")
            if s.utf8.count >= 8 { longTexts += 1 }
        }
        #expect(longTexts > 3_000)
    }

    /// A non-ASCII token the obfuscated-word check skips (no look-alike in its bytes) is one in
    /// which the scalar path finds nothing: on random tokens of Latin, Cyrillic and Greek letters
    /// (look-alikes or not), digits, symbols, the Kelvin sign and other scalars.
    @Test func tokensWithoutLookalikesSpellNothing() {
        var rng = RNG(state: 0x1001_CA5E)
        let alphabet = Array("viagrcslpmoneyVIAGRA0137@$!|аеорсухіјѕԁɡοανικτρпвжднлмбщβγδλπéüñ\u{212A}€’\u{A0}-")
        let spamWords = ["viagra", "money", "casino", "cialis", "paypal", "free", "loan", "porn"]
        let lookalikeOf: [Character: [Character]] = ["a": ["а", "α", "4", "@"], "o": ["о", "ο", "0"], "i": ["і", "ι", "1", "!", "|"],
                                                      "e": ["е", "3", "€"], "c": ["с"], "p": ["р", "ρ"], "s": ["ѕ", "5", "$"]]
        var found = 0
        for round in 0..<20_000 {
            var token: String
            if round % 2 == 0 {
                // A spam word with a letter or two disguised, in random case, maybe with other letters around.
                var letters = Array(spamWords[Int(rng.next() % UInt64(spamWords.count))])
                for _ in 0..<(1 + Int(rng.next() % 2)) {
                    let k = Int(rng.next() % UInt64(letters.count))
                    if let l = lookalikeOf[letters[k]] { letters[k] = l[Int(rng.next() % UInt64(l.count))] }
                }
                token = String(letters)
                if rng.next() % 4 == 0 { token += rng.string(alphabet, 1 + Int(rng.next() % 3)) }
            } else {
                token = rng.string(alphabet, 2 + Int(rng.next() % 12))
            }
            var bytes = token
            let skipped = bytes.withUTF8 { b in
                TextChecks.asciiPlain.withUnsafeBufferPointer {
                    !TextChecks.hasLookalike(b, $0, TextChecks.nonASCIILookalikeValues)
                }
            }
            let words = TextChecks.obfuscatedWords(subjectAndText: "x\n" + token)
            if skipped { #expect(words == nil, "\(token)") }
            if words != nil { found += 1 }
        }
        #expect(found > 1_000)
    }

    /// The spaced-out spellings of an ASCII window read as bytes are those of its scalars, on
    /// random windows of spelled-out words (letters and look-alikes, separators mixed or not,
    /// words too long), with words already found and the window at the text's end or not.
    @Test func asciiSpacedWordsAreTheScalarSpacedWords() {
        var rng = RNG(state: 0x5_BACE)
        let pieces = ["v i a g r a", "v.i.a.g.r.a", "f-r-e-e", "m_o_n_e_y", "c*a*s*h", "l 0 a n", "p.0.r.n", "F R E E",
                      "v i a g r a s", "a b c d e f g h i j k l m n o p q r s t u v", "x", "ab", " ", " ", ".", "-", "_", "*",
                      "1", "!", "w o r d", "s e x", "V1agra", "e.g.", "c a s i n o", "m.o.n.e.y.", "\n", "l.o.a.n-"]
        var found = 0
        for round in 0..<20_000 {
            var window = ""
            for _ in 0..<(1 + Int(rng.next() % 8)) { window += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let atTextEnd = rng.next() % 2 == 0
            if spacedWordsAgree(window, atTextEnd: atTextEnd, round: round) { found += 1 }
        }
        #expect(found > 2_000)
    }

    /// Long texts (as long mail bodies: kilobytes of plain words, with a rare number, symbol,
    /// non-ASCII word or spelled-out word, some at 16-byte block edges) with the production limits
    /// and smaller ones: the scan reads only around marked bytes and resumes its spaced-run machine
    /// after a separator, far from where it stopped.
    @Test func textScanOfLongTextsIsTheSeparateScans() {
        var rng = RNG(state: 0x10_4654)
        let plain = ["the", "offer", "limited", "Viagra", "money", "ok", "Hello", "world", "an", "of", "mailing", "list"]
        let rare = ["a", "I", "x", "v1agra", "fr33", "p@ypal", "c|alis", "$ave", "2024", "wow!", "v.i.a.g.r.a", "v i a g r a",
                    "m-o-n-e-y", "w_o_r_d", "a*b*c*d", "вход", "viаgra", "βeta", "é", "naïve", "e.g.", "--", "...", "***",
                    "a b", "x y z", "й ц у к", "é.è.ê", "-a-b-", "banana", "eleven", "é x y", "~}|", "\u{0}"]
        let gaps = [" ", " ", " ", " ", " ", " ", "  ", ", ", ". ", "\n", "\r\n", "-", "; ", "\t"]
        for round in 0..<300 {
            var s = ""
            let words = 300 + Int(rng.next() % 2_500)
            let rareShare = [3, 20, 200][round % 3]
            for _ in 0..<words {
                let w = rng.next() % UInt64(rareShare) == 0 ? rare[Int(rng.next() % UInt64(rare.count))]
                    : plain[Int(rng.next() % UInt64(plain.count))]
                s += w + gaps[Int(rng.next() % UInt64(gaps.count))]
            }
            let maxSeparators = [5_000, 1_000, 100][(round / 3) % 3]
            let limit = [1_000, 3, 1][(round / 9) % 3]
            let scan = s.withUTF8 { TextChecks.scanText($0, maxSeparators: maxSeparators, spacedRunLimit: limit) }
            let tokens = s.withUTF8 { spelling(TextChecks.candidateTokens($0, maxSeparators: maxSeparators), $0) }
            let runs = s.withUTF8 { TextChecks.spacedRunStarts($0, limit: limit) }
            #expect(scan.tokens.map(\.range) == tokens.map(\.range), "round \(round)")
            #expect(scan.tokens.map(\.nonASCII) == tokens.map(\.nonASCII), "round \(round)")
            #expect(scan.spacedRunStarts == runs, "round \(round)")
            #expect(scan.hasGreekOrCyrillic == TextChecks.hasGreekOrCyrillic(s), "round \(round)")
        }
    }

    @Test(arguments: [
        ("(next of kin|beneficiary|transfer of|the sum of) .{0,40}(us\\$|usd|million)",
         [["next of kin", "beneficiary", "transfer of", "the sum of"], ["million", "usd", "us$"]]),
        ("(act now|limited time offer|order (now|today)|don't delete this)",
         [["act now", "limited time offer", "order now", "order today", "don't delete this"]]),
        // A group of plain alternatives right after literal text takes the text before each.
        ("X-(Mailer|Library): *(Bulk|Mass|Group) ?Mail", [["x-mailer", "x-library"], ["bulk", "mass", "group"], ["mail"]]),
        ("\\.(exe|scr|vbs|hta|pif|bat)$", [[".exe", ".scr", ".vbs", ".hta", ".pif", ".bat"]]),
        ("ab(?:cd|e[fg])", []),
        ("(?=abc)def|(?:ghi|jkl)", [["def", "ghi", "jkl"]]),
        ("(abc)?def", [["def"]]),
        ("(abc|d)xyz", [["xyz"]]),
    ])
    func groupConditions(pattern: String, expected: [[String]]) {
        let p = LiteralPrefilter(pattern: pattern)
        let got = p?.allOf.map { $0.map { String(decoding: $0, as: UTF8.self) } } ?? []
        #expect(got.map { Set($0) } == expected.map { Set($0) })
    }
    /// A scan's fingerprint words (collected by the feature pass) are the words read alone
    /// (``FeatureExtractor/textWords(_:limit:)``), and both are the `w:` feature hashes of
    /// ``TextNormalizer/normalize(_:maxWords:)``'s words of each text part in order, up to the limit.
    @Test func fingerprintWordsOfAScanAreThoseReadAlone() {
        var rng = RNG(state: 0xF1A6)
        let pieces = ["Hello", "WORLD", "viagra", "xKqZw", "bcdfgh", "http://x.example/a", "www.Example.com", "a1b2", "me@x.org",
                      "Straße", "ÉCOLE", "naïve", "!!", "--", "to", "a", "don't", "e.g.", "12:30", "abc:def", "sky", "rhythm",
                      "abc1", "x@y", "Hello-World", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "aaaaaaaaaaaaaaaaaaaaaaa", "quickly",
                      "strengths", "McDonald", "iPhone", "ÉcoleNormaleSupérieureDeParis", "a.b.c", "x://y", "www.", "Ab", "ABCDe",
                      // Chunks longer than one 8-byte block, words across blocks, punctuation around words.
                      "(parenthesized)", "end.", "Internationalization", "abcdefghijklmnopqrst", "abcdefghijklmnopqrstu",
                      "HEllo", "helLO", "hElLo", "AbCdEfGh", "queueing", "rhythms", "Mississippi", "WWW.EXAMPLE.ORG",
                      // Latin-1 letters (folded on bytes) and other scripts (through String).
                      "ÀÉÎÕÜ", "Þorn", "façade", "GARÇON", "×÷", "ÿŸ", "Σίσυφος", "ИВАН", "İstanbul", "a\u{7F}b", "\u{0}"]
        let seps = [" ", "\n", "\t", ", ", "  ", "\r\n", "           ", "\u{0B}", "\u{0C}", "", ".", ":", "://", "/"]
        let extractor = FeatureExtractor()
        let start = StableHash(seed: extractor.configuration.hashSeed).start("w:")
        var collected = 0, limited = 0
        for round in 0..<1_500 {
            var bytes = "MIME-Version: 1.0\r\nSubject: words\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            for _ in 0..<(1 + round % 3) {
                var text = ""
                for _ in 0..<Int(rng.next() % 40) {
                    text += pieces[Int(rng.next() % UInt64(pieces.count))] + seps[Int(rng.next() % UInt64(seps.count))]
                }
                bytes += "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\(text)\r\n"
            }
            bytes += "--b--\r\n"
            let m = MessageParser.parse(Array(bytes.utf8))
            let limit = 1 + Int(rng.next() % 30)
            let alone = extractor.textWords(m.textParts, limit: limit)
            let scanned = extractor.extract(m, textWordLimit: limit).textWords
            #expect(scanned == alone, "\(bytes)")
            var expected: [UInt64] = []
            var partsRead = m.textParts.count
            for (k, part) in m.textParts.enumerated() where expected.count < limit {
                for w in TextNormalizer.normalize(part.text) where expected.count < limit {
                    expected.append(StableHash.finish(StableHash.add(start, bytes: w.utf8)))
                    if expected.count == limit { partsRead = k + 1 }
                }
            }
            #expect(alone.hashes == expected, "\(bytes)")
            #expect(alone.partsRead == partsRead)
            collected += expected.count
            if expected.count == limit { limited += 1 }
        }
        #expect(collected > 10_000 && limited > 100)
    }

    /// Texts as dense in fingerprint words as they come (two-letter words between CJK characters,
    /// each a word of its own, with no separator): the scan's collection has room for all of them
    /// (none cut, none dropped) and they are ``TextNormalizer/normalize(_:maxWords:)``'s words.
    @Test func denseFingerprintWordsAllFitTheScansCollection() {
        let extractor = FeatureExtractor()
        let start = StableHash(seed: extractor.configuration.hashSeed).start("w:")
        for (unit, repeats) in [("ab中", 500), ("中", 900), ("ab中cd中", 300), ("ab 中", 600), ("ab ", 900), ("éa中", 400),
                                ("xy中", 1), ("xy中", 2), ("xy中", 3), ("xy中", 7)] {
            for tail in ["", "ab", "ab中", " "] {
                let text = String(repeating: unit, count: repeats) + tail
                let m = MessageParser.parse(Array("Subject: dense\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(text)".utf8))
                let expected = m.textParts.flatMap { TextNormalizer.normalize($0.text) }
                    .prefix(3_000).map { StableHash.finish(StableHash.add(start, bytes: $0.utf8)) }
                let scanned = extractor.extract(m, textWordLimit: 3_000).textWords
                #expect(scanned != nil, "\(unit) x \(repeats) + \(tail)")
                #expect(scanned?.hashes == Array(expected), "\(unit) x \(repeats) + \(tail)")
                #expect(extractor.textWords(m.textParts, limit: 3_000).hashes == Array(expected))
            }
        }
    }

    /// When the feature pass stops at its token budget before the fingerprint has its words, the
    /// scan hands none over and the fingerprinter reads them itself: the fingerprint is the same.
    @Test func fingerprintWordsCutByTheTokenBudgetAreReadAgain() {
        let text = (0..<400).map { ["cheap", "pills", "online", "today", "order", "quality"][$0 % 6] }.joined(separator: " ")
        let m = MessageParser.parse(Array("Subject: offer\r\n\r\n\(text)\r\n".utf8))
        var small = FeatureConfiguration()
        small.maxTokens = 50
        #expect(FeatureExtractor(configuration: small).extract(m, textWordLimit: 3_000).textWords == nil)
        #expect(FeatureExtractor(configuration: small).extract(m, textWordLimit: 20).textWords?.hashes.count == 20)
        let fingerprinter = Fingerprinter(publicSuffixList: nil)
        var model = StatisticalModel(configuration: small)
        _ = model.learn(FeatureExtractor(configuration: small).extract(m), as: .spam)
        let scanner = MessageScanner(model: model)
        #expect(scanner.extractor.configuration.maxTokens == 50)
        #expect(scanner.score(m, fingerprinter: fingerprinter).fingerprint == fingerprinter.fingerprint(m))
        #expect(fingerprinter.fingerprint(m).words == 400)
        let full = MessageScanner(model: StatisticalModel())
        #expect(full.score(m, fingerprinter: fingerprinter).fingerprint == fingerprinter.fingerprint(m))
    }
}

/// The spaced-word search on `window` both ways, the Unicode scalars' (the reference) and the
/// ASCII bytes', after the earlier finds a round gives (none, two, or four): checks that they
/// agree and returns whether the window held a spaced word.
func spacedWordsAgree(_ window: String, atTextEnd: Bool, round: Int) -> Bool {
    var before: [String] = round % 3 == 0 ? ["v i a g r a", "FREE"] : round % 7 == 0 ? ["a", "b", "c", "d"] : []
    var general = before
    TextChecks.spacedWords(in: Array(window.unicodeScalars), atTextEnd: atTextEnd, into: &general, TextChecks.lookalikes)
    var bytes = window
    bytes.withUTF8 { w in
        TextChecks.asciiPlain.withUnsafeBufferPointer {
            TextChecks.spacedWords(inASCII: w, atTextEnd: atTextEnd, into: &before, $0, TextChecks.spamWordsByLength)
        }
    }
    #expect(before == general, "\(window) \(atTextEnd)")
    return general.count > (round % 3 == 0 ? 2 : round % 7 == 0 ? 4 : 0)
}
