import MailAuth
import MailMessage

/// How messages are fingerprinted. Part of the fingerprint's version: fingerprints made with
/// different settings cannot be compared (``FuzzyIndex`` stores them with this).
public struct FingerprintConfiguration: Sendable, Hashable, Codable {
    /// MinHash slots (one-permutation hashing: one hash per shingle, whatever the slot count).
    public var slots: Int = 128
    /// LSH bands over the slots (`slots / bands` rows per band).
    public var bands: Int = 32
    /// Words per shingle.
    public var shingleWords: Int = 2
    /// Bytes of decoded text looked at (the rest of a long message is ignored).
    public var maxTextBytes: Int = 32 * 1024
    /// Words used at most.
    public var maxWords: Int = 3_000
    /// Fewer usable words than this: the message has no text fingerprint (too short to compare).
    public var minWords: Int = 12
    /// URL registrable domains kept at most.
    public var maxURLDomains: Int = 16
    /// Seed of the stable hash.
    public var seed: UInt64 = 0x5350_414D_4657_4450  // "SPAMFWDP"

    public init() {}
    public static let `default` = FingerprintConfiguration()

    public var rows: Int { max(1, slots / max(1, bands)) }

    /// How words and shingles are hashed. 1 (until 30 Nov 2026): FNV-1a over each folded word's
    /// bytes, two 64-bit mixes per shingle. 2: each word's folded bytes eight at a time by a
    /// multiply (``TextNormalizer/wordHash(_:start:)``), one mix per shingle
    /// (``Fingerprinter/shingleHash(_:_:)``). Signatures of different definitions never compare.
    public static let definition = 2

    /// Identifies the signatures this configuration makes: the ``definition`` and every setting
    /// that changes a signature (slots, words per shingle, text and word limits, minimum words,
    /// seed). ``FuzzyIndex`` stores it with each learned fingerprint (``FuzzyRecord/version``) and
    /// drops stored records of another version on restore. Never 0 (records stored before
    /// versions existed read as 0).
    public var version: UInt64 {
        var h = StableHash.mix(UInt64(Self.definition) &* 0x9E37_79B9_7F4A_7C15 ^ 0x4650_5645_5253_494F)  // "FPVERSIO"
        for v in [slots, shingleWords, maxTextBytes, maxWords, minWords] {
            h = StableHash.mix(h ^ UInt64(bitPattern: Int64(v)))
        }
        return StableHash.mix(h ^ seed) | 1
    }
}

/// Near-duplicate fingerprints of one message: a MinHash signature of its normalized text's word
/// shingles, a fingerprint of its HTML structure, and its URL registrable domains.
public struct MessageFingerprint: Sendable, Hashable, Codable {
    /// One-permutation MinHash of the normalized text's shingles, densified; empty when the text
    /// is too short to compare (see ``FingerprintConfiguration/minWords``).
    public var minHash: [UInt32]
    /// Words used after normalization.
    public var words: Int
    /// Hash of the HTML tag-count profile (tags with log-bucketed counts, images, links); 0 for
    /// a message without HTML.
    public var htmlStructure: UInt64
    /// Registrable domains of the message's URLs, sorted, at most ``FingerprintConfiguration/maxURLDomains``.
    public var urlDomains: [String]

    public init(minHash: [UInt32], words: Int, htmlStructure: UInt64, urlDomains: [String]) {
        self.minHash = minHash
        self.words = words
        self.htmlStructure = htmlStructure
        self.urlDomains = urlDomains
    }

    /// Whether the text signature can be compared.
    public var hasText: Bool { !minHash.isEmpty }

    /// Estimated Jaccard similarity of the two texts' shingle sets (0 when either has no text
    /// signature or the signatures have different sizes).
    public func similarity(to other: MessageFingerprint) -> Double {
        Self.similarity(minHash, other.minHash)
    }

    public static func similarity(_ a: [UInt32], _ b: [UInt32]) -> Double {
        guard !a.isEmpty, a.count == b.count else { return 0 }
        return Double(equalSlots(a, b)) / Double(a.count)
    }

    /// How many positions of two equally long signatures hold the same value: eight slots per
    /// step (one vector compare), the rest one by one. Every candidate of a fuzzy lookup and of
    /// the campaign clustering is compared this way.
    static func equalSlots(_ a: [UInt32], _ b: [UInt32]) -> Int {
        let n = min(a.count, b.count)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard let ra = pa.baseAddress, let rb = pb.baseAddress else { return 0 }
                var lanes = SIMD8<UInt32>(repeating: 0)
                let one = SIMD8<UInt32>(repeating: 1)
                var i = 0
                while i + 8 <= n {
                    let va = UnsafeRawPointer(ra + i).loadUnaligned(as: SIMD8<UInt32>.self)
                    let vb = UnsafeRawPointer(rb + i).loadUnaligned(as: SIMD8<UInt32>.self)
                    lanes &+= one.replacing(with: 0, where: va .!= vb)
                    i += 8
                }
                var same = Int(lanes.wrappedSum())
                while i < n {
                    if ra[i] == rb[i] { same += 1 }
                    i += 1
                }
                return same
            }
        }
    }
}

/// Computes ``MessageFingerprint``s. Pure; a value shared freely between tasks.
public struct Fingerprinter: Sendable {
    public let configuration: FingerprintConfiguration
    public let publicSuffixList: PublicSuffixList?
    private let hash: StableHash

    /// - Parameter publicSuffixList: For URL registrable domains; without it the last two labels
    ///   of a host name are used.
    public init(configuration: FingerprintConfiguration = .default,
                publicSuffixList: PublicSuffixList? = PublicSuffixList.system) {
        self.configuration = configuration
        self.publicSuffixList = publicSuffixList
        self.hash = StableHash(seed: configuration.seed)
    }

    public func fingerprint(_ message: Message) -> MessageFingerprint {
        let parts = message.textParts
        let (words, partsRead) = textWords(parts)
        var htmlProfile: [(String, Int)] = []
        var images = 0, links = 0
        for part in parts.prefix(partsRead) {
            guard let html = part.html else { continue }
            htmlProfile.append(contentsOf: html.tagCounts.map { ($0.key, $0.value) })
            images += html.imageCount
            links += html.links.count
        }
        let signature = words.count >= configuration.minWords ? minHash(words) : []
        return MessageFingerprint(minHash: signature, words: words.count,
                                  htmlStructure: htmlStructure(htmlProfile, images: images, links: links),
                                  urlDomains: urlDomains(message.urls))
    }

    /// The word hashes of the text parts, in order, within ``FingerprintConfiguration/maxTextBytes``
    /// and ``FingerprintConfiguration/maxWords``, and how many parts were read (the HTML profile
    /// covers those).
    func textWords(_ parts: [TextPart]) -> (words: [UInt64], partsRead: Int) {
        var budget = configuration.maxTextBytes
        let maxWords = max(0, configuration.maxWords)
        var longest = 0, total = 0
        for part in parts {
            let n = part.text.utf8.count
            longest = max(longest, n)
            total += min(n, max(0, budget))
        }
        let start = hash.start("fw:")
        // Each part's text (at most the budget left) is copied into one scratch buffer with
        // ``TextNormalizer/padding`` spaces after it, so that the word pass loads 8 bytes at a time
        // anywhere in it. A part of n bytes has at most (n + 1) / 3 words (two letters and a
        // separator each): the capacity below is never what stops the words.
        let textBytes = min(longest, max(0, budget))
        let capacity = min(maxWords, (min(total, max(0, budget)) + parts.count) / 2 + 1)
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: textBytes + TextNormalizer.padding)
        defer { scratch.deallocate() }
        var partsRead = 0
        let words = [UInt64](unsafeUninitializedCapacity: capacity) { out, count in
            count = 0
            for part in parts {
                guard budget > 0, count < maxWords else { break }
                var text = part.text
                let used = text.withUTF8 { buf -> Int in
                    let n = min(buf.count, budget)
                    if n > 0 { scratch.initialize(from: buf.baseAddress!, count: n) }
                    (scratch + n).initialize(repeating: 0x20, count: TextNormalizer.padding)
                    return TextNormalizer.paddedWords(scratch, count: n, start: start, limit: min(maxWords, capacity),
                                                      into: out.baseAddress!, emitted: &count)
                }
                budget -= used
                partsRead += 1
            }
        }
        return (words, partsRead)
    }

    /// One-permutation hashing with rotation densification (Shrivastava & Li 2014): each shingle
    /// hash picks a slot by its high bits and competes for the minimum there with its low bits.
    func minHash(_ words: [UInt64]) -> [UInt32] {
        let k = max(1, configuration.slots)
        let n = max(1, configuration.shingleWords)
        return words.withUnsafeBufferPointer { w in
            // The slots on the stack (no array per message); `.max`: empty.
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: k) { slots -> [UInt32] in
                slots.initialize(repeating: .max)
                let kk = UInt64(k)
                @inline(__always) func offer(_ h: UInt64) {
                    let slot = Int(truncatingIfNeeded: ((h >> 32) &* kk) >> 32)  // < k
                    let value = h & 0xFFFF_FFFF
                    if value < slots[slot] { slots[slot] = value }
                }
                if n == 2, w.count >= 2 {
                    // The usual two-word shingles.
                    for j in 1..<w.count { offer(StableHash.mix((w[j - 1] &* 0x9E37_79B9_7F4A_7C15 ^ w[j]) ^ 0x2545_F491_4F6C_DD1D)) }
                } else {
                    let count = w.count >= n ? w.count - n + 1 : 1
                    for i in 0..<count { offer(Self.shingleHash(w, i..<min(i + n, w.count))) }
                }
                return [UInt32](unsafeUninitializedCapacity: k) { out, initialized in
                    for i in 0..<k {
                        let v = slots[i]
                        if v != .max {
                            out[i] = UInt32(truncatingIfNeeded: v)
                            continue
                        }
                        // Borrow from the next filled slot to the right (there is at least one),
                        // offset by distance.
                        var d = 1
                        var j = i + 1 == k ? 0 : i + 1
                        while slots[j] == .max {
                            d += 1
                            j = j + 1 == k ? 0 : j + 1
                        }
                        out[i] = UInt32(truncatingIfNeeded: StableHash.mix(slots[j] &+ UInt64(d) &* 0x9E37_79B9))
                    }
                    initialized = k
                }
            }
        }
    }

    /// The hash of the shingle `words[range]` (definition 2): the word hashes combined by
    /// multiply and xor, then one ``StableHash/mix(_:)``.
    @inline(__always) static func shingleHash(_ words: UnsafeBufferPointer<UInt64>, _ range: Range<Int>) -> UInt64 {
        var h = words[range.lowerBound]
        for j in (range.lowerBound + 1)..<range.upperBound { h = h &* 0x9E37_79B9_7F4A_7C15 ^ words[j] }
        return StableHash.mix(h ^ 0x2545_F491_4F6C_DD1D)
    }

    func htmlStructure(_ profile: [(String, Int)], images: Int, links: Int) -> UInt64 {
        guard !profile.isEmpty else { return 0 }
        var h = hash.start("html:")
        for (tag, n) in profile.sorted(by: { $0.0 < $1.0 }) {
            h = StableHash.add(h, bytes: tag.utf8)
            h = StableHash.add(h, UInt8(truncatingIfNeeded: Self.log2Bucket(n)))
        }
        h = StableHash.add(h, UInt8(truncatingIfNeeded: Self.log2Bucket(images)))
        h = StableHash.add(h, UInt8(truncatingIfNeeded: Self.log2Bucket(links)))
        return StableHash.finish(h) | 1
    }

    static func log2Bucket(_ n: Int) -> Int { n <= 0 ? 0 : (Int.bitWidth - n.leadingZeroBitCount) }

    func urlDomains(_ urls: [String]) -> [String] {
        // Few distinct hosts and domains per message: linear dedup (a `String` compare) instead
        // of hashed sets. A host seen before adds nothing: its registrable domain is looked up once.
        var domains: [String] = []
        var hosts: [String] = []
        domains.reserveCapacity(min(urls.count, max(1, configuration.maxURLDomains)))
        hosts.reserveCapacity(min(urls.count, 64))
        for url in urls.prefix(256) {
            guard let host = Self.host(of: url), !hosts.contains(host) else { continue }
            if hosts.count < 64 { hosts.append(host) }  // bounded: later repeats only cost a lookup
            let domain = registrableDomain(host)
            if !domains.contains(domain) { domains.append(domain) }
            if domains.count >= configuration.maxURLDomains { break }
        }
        return domains.sorted()
    }

    /// The registrable domain of a host name (the host itself for IP literals).
    public func registrableDomain(_ host: String) -> String {
        // An IP literal has a ':' or '[', or only digits and dots: other names skip the parse.
        var copy = host
        let maybeIP = copy.withUTF8 { b -> Bool in
            var digitsAndDots = true
            for c in b {
                if c == 0x3A || c == 0x5B { return true }
                if !((c >= 0x30 && c <= 0x39) || c == 0x2E) { digitsAndDots = false }
            }
            return digitsAndDots
        }
        if maybeIP, IPAddress(host) != nil { return host }
        if let list = publicSuffixList, let d = list.registrableDomain(of: host) { return d }
        return Self.lastTwoLabels(host)
    }

    /// The last two non-empty labels of `host` joined by a dot (`host.split(separator: ".")
    /// .suffix(2).joined(separator: ".")`), on bytes when `host` is ASCII.
    static func lastTwoLabels(_ host: String) -> String {
        var copy = host
        let fast = copy.withUTF8 { b -> String? in
            for c in b where c >= 0x80 { return nil }
            var last = 0..<0, before = 0..<0
            var found = 0
            var j = b.count
            while j > 0, found < 2 {
                while j > 0, b[j - 1] == 0x2E { j -= 1 }
                guard j > 0 else { break }
                let end = j
                while j > 0, b[j - 1] != 0x2E { j -= 1 }
                if found == 0 { last = j..<end } else { before = j..<end }
                found += 1
            }
            let count = found == 2 ? before.count + 1 + last.count : last.count
            return String(unsafeUninitializedCapacity: count) { dst in
                var k = 0
                if found == 2 {
                    for i in before { dst[k] = b[i]; k += 1 }
                    dst[k] = 0x2E
                    k += 1
                }
                for i in last { dst[k] = b[i]; k += 1 }
                return k
            }
        }
        if let fast { return fast }
        return host.split(separator: ".").suffix(2).joined(separator: ".")
    }

    /// The lower-cased host of a URL (`scheme://[userinfo@]host[:port]/…`, or `www.…` without
    /// a scheme); nil when there is none.
    public static func host(of url: String) -> String? {
        // ASCII without CR (nearly every URL): every byte is one Character, so the same steps on bytes.
        var copy = url
        if let fast = copy.withUTF8({ asciiHost(of: $0) }) { return fast }
        return characterHost(of: url)
    }

    /// ``host(of:)`` by `Character`s (any URL).
    static func characterHost(of url: String) -> String? {
        var s = Substring(url)
        if let r = s.firstByteRange(of: "://") { s = s[r.upperBound...] } else if s.lowercased().hasPrefix("mailto:") { return nil }
        if let end = s.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == "\\" }) { s = s[..<end] }
        if let at = s.lastIndex(of: "@") { s = s[s.index(after: at)...] }
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            return String(s[s.index(after: s.startIndex)..<close]).lowercased()
        }
        if let colon = s.firstIndex(of: ":") { s = s[..<colon] }
        while s.hasSuffix(".") { s = s.dropLast() }
        guard !s.isEmpty, s.count <= 253 else { return nil }
        return s.lowercased()
    }
}

extension Fingerprinter {
    /// ``host(of:)`` for ASCII URLs without CR, on bytes: nil when the URL is not such (then the
    /// `Character` steps run), else the result (`.some(nil)`: the URL has no host).
    static func asciiHost(of b: UnsafeBufferPointer<UInt8>) -> String?? {
        // Any byte >= 0x80 or CR: 8 bytes at a time, then the rest.
        var q = 0
        if let base = b.baseAddress {
            while q + 8 <= b.count {
                let x = UInt64(littleEndian: UnsafeRawPointer(base + q).loadUnaligned(as: UInt64.self))
                let t = x ^ 0x0D0D_0D0D_0D0D_0D0D  // a zero byte where x has CR
                if (x | ((t &- 0x0101_0101_0101_0101) & ~t)) & 0x8080_8080_8080_8080 != 0 { return nil }
                q += 8
            }
        }
        while q < b.count {
            if b[q] >= 0x80 || b[q] == 0x0D { return nil }
            q += 1
        }
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }
        var lo = 0
        var hi = b.count
        // After "://", else no host for "mailto:" URLs.
        var k = 0
        var found = false
        while k + 3 <= hi {
            if b[k] == 0x3A, b[k + 1] == 0x2F, b[k + 2] == 0x2F {
                found = true
                break
            }
            k += 1
        }
        if found {
            lo = k + 3
        } else if hi >= 7 {
            let mailto: [UInt8] = [0x6D, 0x61, 0x69, 0x6C, 0x74, 0x6F, 0x3A]
            var isMailto = true
            for j in 0..<7 where lower(b[j]) != mailto[j] { isMailto = false }
            if isMailto { return .some(nil) }
        }
        // Up to the first '/', '?', '#' or '\\'.
        var j = lo
        while j < hi, b[j] != 0x2F, b[j] != 0x3F, b[j] != 0x23, b[j] != 0x5C { j += 1 }
        hi = j
        // After the last '@'.
        j = hi
        while j > lo, b[j - 1] != 0x40 { j -= 1 }
        if j > lo { lo = j }
        // ASCII bytes (checked above), lower-cased straight into the String's storage.
        func string(_ r: Range<Int>) -> String {
            String(unsafeUninitializedCapacity: r.count) { dst in
                var k = 0
                for j in r {
                    dst[k] = lower(b[j])
                    k += 1
                }
                return k
            }
        }
        if lo < hi, b[lo] == 0x5B {
            var close = lo + 1
            while close < hi, b[close] != 0x5D { close += 1 }
            guard close < hi else { return .some(nil) }
            return .some(string((lo + 1)..<close))
        }
        var colon = lo
        while colon < hi, b[colon] != 0x3A { colon += 1 }
        hi = colon
        while hi > lo, b[hi - 1] == 0x2E { hi -= 1 }
        guard hi > lo, hi - lo <= 253 else { return .some(nil) }
        return .some(string(lo..<hi))
    }
}

/// Normalization of decoded text for fingerprints: case folded, numbers, URLs, addresses and
/// random-looking tokens dropped, punctuation and white space collapsed.
public enum TextNormalizer {
    /// The normalized words of `text`, for tests and docs.
    public static func normalize(_ text: String, maxWords: Int = 10_000) -> [String] {
        var out: [String] = []
        var copy = text
        copy.withUTF8 { buf in
            forEachWord(buf, maxWords: maxWords) { out.append(String(decoding: $0, as: UTF8.self)) }
        }
        return out
    }

    /// Appends the stable hashes of the normalized words of `text` to `words` (until `maxWords`);
    /// returns the bytes consumed. The words of ``forEachWord(_:maxWords:_:)`` (a test checks
    /// both give the same words), by ``paddedWords(_:count:start:limit:into:emitted:)`` on a copy.
    static func words(_ text: UnsafeBufferPointer<UInt8>, seed: StableHash, maxWords: Int, into words: inout [UInt64]) -> Int {
        let limit = max(0, maxWords - words.count)
        guard limit > 0 else { return 0 }
        let n = text.count
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: n + padding)
        defer { scratch.deallocate() }
        if n > 0 { scratch.initialize(from: text.baseAddress!, count: n) }
        (scratch + n).initialize(repeating: 0x20, count: padding)
        let out = UnsafeMutablePointer<UInt64>.allocate(capacity: min(limit, n / 2 + 1))
        defer { out.deallocate() }
        var emitted = 0
        let used = paddedWords(scratch, count: n, start: seed.start("fw:"), limit: min(limit, n / 2 + 1), into: out, emitted: &emitted)
        words.append(contentsOf: UnsafeBufferPointer(start: out, count: emitted))
        return used
    }

    /// Spaces after the text that ``paddedWords(_:count:start:limit:into:emitted:)`` reads.
    static let padding = 32

    /// The word pass: for `count` bytes of text at `p`, followed by ``padding`` spaces, writes the
    /// stable hash of each normalized word to `out[emitted...]` until `emitted` reaches `limit`;
    /// returns the bytes consumed (up to the end of the chunk that reached the limit).
    ///
    /// The steps of ``forEachWord(_:maxWords:_:)`` eight bytes at a time: white space and each
    /// chunk's end are found by SWAR masks (bit 7 of each byte); a chunk of letters only (most of
    /// them) is one word; others are checked for digits, `@` and URLs, then split into letter runs,
    /// by masks too. Each word is loaded as up to three 64-bit words, judged by ``looksRandom(_:)``'s
    /// rules on bit masks (``isRandom(_:_:length:)``) and hashed from registers
    /// (``wordHash(_:start:)``).
    static func paddedWords(_ p: UnsafeMutablePointer<UInt8>, count n: Int, start: UInt64, limit: Int,
                            into out: UnsafeMutablePointer<UInt64>, emitted: inout Int) -> Int {
        var e = emitted
        defer { emitted = e }
        guard e < limit, n > 0 else { return 0 }
        // White space before the first chunk.
        var i = skipSpace(p, from: 0, count: n)
        while i < n, e < limit {
            // A chunk starts at i (not white space): its end, and whether it has bytes that are
            // not letters, 8 bytes at a time.
            let cs = i
            var j = i
            var other: UInt64 = 0
            var s: UInt64
            var k: Int
            var last: UInt64  // the chunk's last block (its first, for a chunk of up to 7 bytes)
            while true {
                let x = load(p, j)
                last = x
                s = spaceMask(x)
                let l = letterMask(x)
                if s != 0 {
                    k = s.trailingZeroBitCount >> 3  // the first white space byte
                    other |= ~l & highBits & lowBytes(k)
                    break
                }
                other |= ~l & highBits
                j += 8
            }
            let ce = j + k  // <= n: the padding is white space
            if other == 0 {
                // Letters only: one word (no digit, `@`, `://` or `www.`). Most are ASCII words
                // of 2 to 7 letters, inside the block already read: hashed (and judged) here.
                let len = ce - cs
                let word = last & lowBytes(k)
                if j == cs, len >= 2, word & highBits == 0 {
                    let f = word | (0x2020_2020_2020_2020 & lowBytes(k))
                    if len < 5 || !isRandom(gather((f ^ word) << 2), gather(vowelMask(f)), length: len) {
                        out[e] = wordStep(start ^ UInt64(len), f)
                        e += 1
                    }
                } else {
                    emitWord(p + cs, length: len, start: start, limit: limit, into: out, emitted: &e)
                }
            } else {
                // Digits, `@` and colons, 8 bytes at a time.
                var bad = false, hasColon = false
                var q = cs
                while q < ce {
                    let x = load(p, q)
                    let valid = ~x & highBits & (ce - q >= 8 ? ~0 : lowBytes(ce - q))
                    let h = x & lowSevenBits
                    let colon = atLeast(h, 0x3A)
                    if ((atLeast(h, 0x30) ^ colon) | (atLeast(h, 0x40) ^ atLeast(h, 0x41))) & valid != 0 {
                        bad = true
                        break
                    }
                    if (colon ^ atLeast(h, 0x3B)) & valid != 0 { hasColon = true }
                    q += 8
                }
                // Numbers, addresses and URLs go entirely ("://" needs a colon).
                if !bad, hasColon || (ce - cs >= 4 && p[cs + 3] == 0x2E),
                   isURL(UnsafeBufferPointer(start: p + cs, count: ce - cs))
                {
                    bad = true
                }
                if !bad {
                    // The letter runs, by the letter masks of the chunk's blocks.
                    var runStart = -1
                    q = cs
                    while q < ce {
                        let n8 = min(8, ce - q)
                        let valid = n8 == 8 ? highBits : highBits & lowBytes(n8)
                        let l = letterMask(load(p, q)) & valid
                        var at = 0
                        while at < n8 {
                            if runStart < 0 {
                                let m = l & ~lowBytes(at)
                                if m == 0 { break }
                                at = m.trailingZeroBitCount >> 3
                                runStart = q + at
                            }
                            let nonLetters = ~l & valid & ~lowBytes(at)
                            if nonLetters == 0 { break }  // the run goes on in the next block
                            at = nonLetters.trailingZeroBitCount >> 3
                            emitWord(p + runStart, length: q + at - runStart, start: start, limit: limit, into: out, emitted: &e)
                            runStart = -1
                        }
                        q += 8
                    }
                    if runStart >= 0 {
                    emitWord(p + runStart, length: ce - runStart, start: start, limit: limit, into: out, emitted: &e)
                }
                }
            }
            if e >= limit {
                i = ce  // consumed up to the end of the chunk that filled the words
                break
            }
            // White space after the chunk: in the block already read, else 8 bytes at a time.
            let next = ~s & highBits & ~lowBytes(k)
            if next != 0 {
                i = j + (next.trailingZeroBitCount >> 3)
                continue
            }
            i = skipSpace(p, from: j + 8, count: n)
        }
        return min(i, n)
    }

    /// The first byte at or after `i` that is not white space, 8 bytes at a time (at least `n`
    /// when there is none).
    @inline(__always) static func skipSpace(_ p: UnsafeMutablePointer<UInt8>, from start: Int, count n: Int) -> Int {
        var i = start
        while i < n {
            let ns = ~spaceMask(load(p, i)) & highBits
            if ns != 0 { return i + (ns.trailingZeroBitCount >> 3) }
            i += 8
        }
        return i
    }

    /// Writes the hash of the word of `length` letters at `w` to `out[emitted]` unless it is too
    /// short or long, random, or `emitted` is at `limit`. (A static function with `inout`: a nested
    /// one capturing the count costs a runtime exclusivity check per access.)
    @inline(__always) static func emitWord(_ w: UnsafeMutablePointer<UInt8>, length len: Int, start: UInt64, limit: Int,
                                           into out: UnsafeMutablePointer<UInt64>, emitted e: inout Int) {
        guard len >= 2, len <= 20, e < limit else { return }
        if len <= 8 {
            // One load: most words (this is ``asciiWord(_:length:start:)`` for one block).
            let mask = len == 8 ? ~0 : lowBytes(len)
            let word = load(w, 0) & mask
            if word & highBits == 0 {
                let f = word | (0x2020_2020_2020_2020 & mask)
                if len < 5 || !isRandom(gather((f ^ word) << 2), gather(vowelMask(f)), length: len) {
                    out[e] = wordStep(start ^ UInt64(len), f)
                    e += 1
                }
                return
            }
        }
        switch asciiWord(w, length: len, start: start) {
        case .hash(let h):
            out[e] = h
            e += 1
        case .random:
            return
        case .nonASCII:
            // A byte of a non-ASCII character (such words are only dropped when longer than 20
            // bytes): Latin-1 letters folded on bytes, anything else through String.
            if let h = latin1WordHash(w, length: len, start: start) {
                out[e] = h
            } else {
                let folded = Array(String(decoding: UnsafeBufferPointer(start: w, count: len), as: UTF8.self).lowercased().utf8)
                out[e] = folded.withUnsafeBufferPointer { wordHash($0, start: start) }
            }
            e += 1
        }
    }

    // SWAR masks: bit 7 of each byte of the result flags that byte.
    static let highBits: UInt64 = 0x8080_8080_8080_8080
    static let lowSevenBits: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    static let byteOnes: UInt64 = 0x0101_0101_0101_0101

    @inline(__always) static func load(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
    }

    /// The first `k` bytes (0...7).
    @inline(__always) static func lowBytes(_ k: Int) -> UInt64 { (1 << UInt64(k &* 8)) &- 1 }

    /// Bit 7 of each byte of `h` (bytes < 0x80) set where that byte is >= `c`.
    @inline(__always) static func atLeast(_ h: UInt64, _ c: UInt64) -> UInt64 { h &+ (0x80 &- c) &* byteOnes }

    /// White space: 0x09...0x0D and 0x20 (``isSpace(_:)``).
    @inline(__always) static func spaceMask(_ x: UInt64) -> UInt64 {
        let h = x & lowSevenBits
        let inRange = (atLeast(h, 0x09) ^ atLeast(h, 0x0E)) | (atLeast(h, 0x20) ^ atLeast(h, 0x21))
        return inRange & ~x & highBits
    }

    /// Letters: ASCII letters of either case and every byte >= 0x80 (``isLetter(_:)``).
    @inline(__always) static func letterMask(_ x: UInt64) -> UInt64 {
        let folded = x & lowSevenBits | 0x2020_2020_2020_2020
        return ((atLeast(folded, 0x61) ^ atLeast(folded, 0x7B)) & ~x & highBits) | (x & highBits)
    }

    /// Bit k of the result: bit 7 of byte k of `flags` (only bits 7 of its bytes set).
    @inline(__always) static func gather(_ flags: UInt64) -> UInt64 { ((flags >> 7) &* 0x0102_0408_1020_4080) >> 56 }

    /// Bit 7 of each byte of `folded` (lower-case ASCII letters, zero bytes after the word) set
    /// where it is a vowel: a e i o u y.
    @inline(__always) static func vowelMask(_ folded: UInt64) -> UInt64 {
        // A byte of t is zero where `folded` has the vowel; (t + 0x7F) | t has bit 7 clear there.
        @inline(__always) func notVowel(_ v: UInt64) -> UInt64 {
            let t = folded ^ (v &* byteOnes)
            return (t &+ lowSevenBits) | t
        }
        let none = notVowel(0x61) & notVowel(0x65) & notVowel(0x69) & notVowel(0x6F) & notVowel(0x75) & notVowel(0x79)
        return ~none & highBits
    }

    /// What ``asciiWord(_:length:start:)`` found.
    enum Word {
        case hash(UInt64)
        /// ``looksRandom(_:)``: dropped.
        case random
        /// A byte >= 0x80: folded through `String`.
        case nonASCII
    }

    /// The word of `length` (2...20) letters at `w`: its hash when it is ASCII and does not look random.
    @inline(__always) static func asciiWord(_ w: UnsafePointer<UInt8>, length len: Int, start: UInt64) -> Word {
        let x0 = load(w, 0) & (len >= 8 ? ~0 : lowBytes(len))
        let x1 = len <= 8 ? 0 : load(w, 8) & (len >= 16 ? ~0 : lowBytes(len - 8))
        let x2 = len <= 16 ? 0 : load(w, 16) & lowBytes(len - 16)
        guard (x0 | x1 | x2) & highBits == 0 else { return .nonASCII }
        // Every byte a letter: 0x20 lower-cases it.
        let fold = 0x2020_2020_2020_2020 as UInt64
        let f0 = x0 | (fold & (len >= 8 ? ~0 : lowBytes(len)))
        let f1 = len <= 8 ? 0 : x1 | (fold & (len >= 16 ? ~0 : lowBytes(len - 8)))
        let f2 = len <= 16 ? 0 : x2 | (fold & lowBytes(len - 16))
        if len >= 5 {
            // Upper case: the letter's 0x20 bit clear (moved to bit 7 for ``gather(_:)``).
            let u0 = gather((f0 ^ x0) << 2), u1 = gather((f1 ^ x1) << 2), u2 = gather((f2 ^ x2) << 2)
            let v0 = gather(vowelMask(f0))
            let v1 = len <= 8 ? 0 : gather(vowelMask(f1))
            let v2 = len <= 16 ? 0 : gather(vowelMask(f2))
            if isRandom(u0 | u1 << 8 | u2 << 16, v0 | v1 << 8 | v2 << 16, length: len) { return .random }
        }
        // ``wordHash(_:start:)`` from the registers.
        var h = wordStep(start ^ UInt64(len), f0)
        if len > 8 {
            h = wordStep(h, f1)
            if len > 16 { h = wordStep(h, f2) }
        }
        return .hash(h)
    }

    /// One step of ``wordHash(_:start:)``: 8 bytes in (a bijection of `block` for a given `h`).
    @inline(__always) static func wordStep(_ h: UInt64, _ block: UInt64) -> UInt64 {
        let x = (h ^ block) &* 0x9E37_79B9_7F4A_7C15
        return x ^ (x >> 32)
    }

    /// The hash of a folded word (definition 2): its length, then its bytes as little-endian 64-bit
    /// words (the last one zero-padded), each through ``wordStep(_:_:)``. Words of up to 8 bytes
    /// never collide; the MinHash mixes shingles of them (``Fingerprinter/shingleHash(_:_:)``).
    static func wordHash(_ folded: UnsafeBufferPointer<UInt8>, start: UInt64) -> UInt64 {
        var h = start ^ UInt64(folded.count)
        var k = 0
        while k < folded.count {
            var block: UInt64 = 0
            for j in 0..<min(8, folded.count - k) { block |= UInt64(folded[k + j]) << UInt64(8 * j) }
            h = wordStep(h, block)
            k += 8
        }
        return h
    }

    /// The hash of the word of `length` (at most 20) letters at `w` when its only non-ASCII
    /// characters are Latin-1 letters (U+00C0...U+00FF, `C3 80`...`C3 BF`), folded as
    /// `String.lowercased()` folds them (U+00C0...U+00DE but U+00D7 gain 0x20); nil for any other word.
    static func latin1WordHash(_ w: UnsafePointer<UInt8>, length len: Int, start: UInt64) -> UInt64? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { folded -> UInt64? in
            var k = 0
            while k < len {
                let b = w[k]
                if b < 0x80 {
                    folded[k] = b &- 0x41 < 26 ? b | 0x20 : b
                    k += 1
                    continue
                }
                guard b == 0xC3, k + 1 < len else { return nil }
                var c = w[k + 1]
                guard c & 0xC0 == 0x80 else { return nil }
                if c <= 0x9E, c != 0x97 { c |= 0x20 }
                folded[k] = 0xC3
                folded[k + 1] = c
                k += 2
            }
            return wordHash(UnsafeBufferPointer(rebasing: folded[0..<len]), start: start)
        }
    }

    /// ``looksRandom(_:)`` of an ASCII word of `length` (5...20) letters from its upper-case and
    /// vowel letters (bit k: letter k).
    @inline(__always) static func isRandom(_ upper: UInt64, _ vowels: UInt64, length len: Int) -> Bool {
        let all: UInt64 = (1 << UInt64(len)) &- 1
        // All lower, all upper, or upper-case letters only as a prefix ("Hello", "HEllo").
        if upper & (upper &+ 1) != 0, upper != all { return true }
        if vowels == 0 { return true }
        let c = all & ~vowels  // consonants
        if c & (c >> 1) & (c >> 2) & (c >> 3) & (c >> 4) != 0 { return true }  // five in a row
        return len >= 8 && vowels.nonzeroBitCount * 6 < len
    }

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    @inline(__always) static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    /// Letters: ASCII letters and any byte of a non-ASCII character.
    @inline(__always) static func isLetter(_ b: UInt8) -> Bool { isUpper(b) || isLower(b) || b >= 0x80 }

    /// Calls `body` with each normalized word (folded bytes); returns the bytes consumed.
    @discardableResult
    static func forEachWord(_ text: UnsafeBufferPointer<UInt8>, maxWords: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Int {
        var emitted = 0
        var word = [UInt8](repeating: 0, count: 64)
        var i = 0
        let n = text.count
        while i < n, emitted < maxWords {
            // One white-space-delimited chunk.
            while i < n, isSpace(text[i]) { i += 1 }
            let chunkStart = i
            var hasDigit = false, hasAt = false
            while i < n, !isSpace(text[i]) {
                let b = text[i]
                if isDigit(b) { hasDigit = true } else if b == 0x40 { hasAt = true }
                i += 1
            }
            let chunk = UnsafeBufferPointer(rebasing: text[chunkStart..<i])
            // Numbers, addresses and URLs go entirely.
            if chunk.isEmpty || hasDigit || hasAt || isURL(chunk) { continue }
            // Words: runs of letters inside the chunk.
            var j = 0
            while j < chunk.count, emitted < maxWords {
                while j < chunk.count, !isLetter(chunk[j]) { j += 1 }
                let ws = j
                while j < chunk.count, isLetter(chunk[j]) { j += 1 }
                let len = j - ws
                guard len >= 2, len <= 24 else { continue }
                let w = UnsafeBufferPointer(rebasing: chunk[ws..<j])
                if looksRandom(w) { continue }
                var nonASCII = false
                for k in 0..<len {
                    let b = w[k]
                    word[k] = isUpper(b) ? b | 0x20 : b
                    if b >= 0x80 { nonASCII = true }
                }
                if nonASCII {
                    // Case folding beyond ASCII (rare in practice): through String.
                    let folded = Array(String(decoding: w, as: UTF8.self).lowercased().utf8)
                    folded.withUnsafeBufferPointer { body($0) }
                } else {
                    word.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[0..<len])) }
                }
                emitted += 1
            }
        }
        return i
    }

    static func isURL(_ c: UnsafeBufferPointer<UInt8>) -> Bool {
        if c.count >= 4, c[0] | 0x20 == 0x77, c[1] | 0x20 == 0x77, c[2] | 0x20 == 0x77, c[3] == 0x2E { return true }
        guard c.count >= 3 else { return false }
        for k in 0..<(c.count - 2) where c[k] == 0x3A && c[k + 1] == 0x2F && c[k + 2] == 0x2F { return true }
        return false
    }

    /// Hash-buster tokens: mixed case inside the word (`xKqZw`), no vowels, or long consonant runs.
    static func looksRandom(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = w.count
        if n > 20 { return true }
        guard n >= 5 else { return false }
        // Letters only (a run of ``isLetter`` bytes): upper or lower case, vowel or not, by bits.
        var vowels = 0, run = 0, maxRun = 0, caseChanges = 0
        var previousUpper = isUpper(w[0])
        for b in w {
            guard b < 0x80 else { return false }
            let up = isUpper(b)
            caseChanges &+= up != previousUpper ? 1 : 0
            previousUpper = up
            // a e i o u y: bits 0 4 8 14 20 24 of the letter's index.
            let vowel = (0x0110_4111 as UInt32) >> UInt32(((b | 0x20) &- 0x61) & 31) & 1 != 0
            if vowel {
                vowels &+= 1
                run = 0
            } else {
                run &+= 1
                maxRun = max(maxRun, run)
            }
        }
        // "Hello" (one change) and "HELLO" (none) are words; "hElLo" is not.
        let firstUpperOnly = caseChanges == 1 && isUpper(w[0])
        if caseChanges >= 2 || (caseChanges == 1 && !firstUpperOnly) { return true }
        return vowels == 0 || maxRun >= 5 || (n >= 8 && vowels * 6 < n)
    }
}
