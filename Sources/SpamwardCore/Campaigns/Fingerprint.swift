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
    /// Words used at most (the first ones of the text).
    public var maxWords: Int = 3_000
    /// Fewer usable words than this: the message has no text fingerprint (too short to compare).
    public var minWords: Int = 12
    /// URL registrable domains kept at most.
    public var maxURLDomains: Int = 16
    /// Seed of the stable hash. The words are the feature extractor's word hashes under this
    /// seed: a scan's are shared when its model has the same (the default,
    /// ``FeatureConfiguration/hashSeed``'s).
    public var seed: UInt64 = FeatureConfiguration.default.hashSeed

    public init() {}
    public static let `default` = FingerprintConfiguration()

    public var rows: Int { max(1, slots / max(1, bands)) }

    /// How words and shingles are made and hashed. 1 (until 30 Nov 2026): the fingerprint's own
    /// word pass, FNV-1a over each folded word's bytes, two 64-bit mixes per shingle. 2 (30 Nov):
    /// the same words hashed eight bytes at a time by a multiply, one mix per shingle
    /// (``Fingerprinter/shingleHash(_:_:)``). 3 (30 Nov, midday): the feature extractor's body
    /// words and their feature hashes (``TextWords``, ``TextNormalizer/accepts(_:)``), so that a
    /// scan reads the text once for both. Signatures of different definitions never compare.
    public static let definition = 3

    /// Identifies the signatures this configuration makes: the ``definition`` and every setting
    /// that changes a signature (slots, words per shingle, text and word limits, minimum words,
    /// seed). ``FuzzyIndex`` stores it with each learned fingerprint (``FuzzyRecord/version``) and
    /// drops stored records of another version on restore. Never 0 (records stored before
    /// versions existed read as 0).
    public var version: UInt64 {
        var h = StableHash.mix(UInt64(Self.definition) &* 0x9E37_79B9_7F4A_7C15 ^ 0x4650_5645_5253_494F)  // "FPVERSIO"
        for v in [slots, shingleWords, maxWords, minWords] {
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
        self.wordExtractor = FeatureExtractor(configuration: FeatureConfiguration(hashSeed: configuration.seed))
    }

    /// The feature extractor whose body words (hashed with ``FingerprintConfiguration/seed``)
    /// the text signature is made of. A scanner whose extractor has the same seed hands its
    /// words over (``MessageScanner/score(_:fingerprinter:)``).
    public let wordExtractor: FeatureExtractor

    public func fingerprint(_ message: Message) -> MessageFingerprint {
        fingerprint(message, textWords: nil)
    }

    /// The fingerprint of `message` from its ``TextWords`` as a scan collected them
    /// (``FeatureVector/textWords``): used when they were collected with this fingerprinter's
    /// seed and word limit (``wordExtractor``'s), else read here.
    public func fingerprint(_ message: Message, textWords collected: TextWords?) -> MessageFingerprint {
        let parts = message.textParts
        let textWords: TextWords
        if let collected, collected.seed == configuration.seed, collected.limit == max(0, configuration.maxWords) {
            textWords = collected
        } else {
            textWords = wordExtractor.textWords(parts, limit: max(0, configuration.maxWords))
        }
        let words = textWords.hashes, partsRead = textWords.partsRead
        var htmlProfile: [(String, Int)] = []
        var images = 0, links = 0
        // By index, each value read through the part's optional HTML in place: a `for part in`
        // loop and an `if let html` copied each part and its whole `HTMLContent` (a retain and a
        // release of each of their fields).
        for k in 0..<min(partsRead, parts.count) {
            guard let counts = parts[k].html?.tagCounts else { continue }
            // Appended in the dictionary's order (as a `map` of it gave them), without the
            // intermediate array.
            htmlProfile.reserveCapacity(htmlProfile.count &+ counts.count)
            for (tag, n) in counts { htmlProfile.append((tag, n)) }
            images += parts[k].html?.imageCount ?? 0
            links += parts[k].html?.links.count ?? 0
        }
        // (No words at all, possible only with `minWords` <= 0: no signature, which compares with
        // nothing; `minHash` needs at least one word.)
        let signature = words.count >= configuration.minWords && !words.isEmpty ? minHash(words) : []
        return MessageFingerprint(minHash: signature, words: words.count,
                                  htmlStructure: htmlStructure(htmlProfile, images: images, links: links),
                                  urlDomains: urlDomains(message))
    }

    /// One-permutation hashing with rotation densification (Shrivastava & Li 2014): each shingle
    /// hash picks a slot by its high bits and competes for the minimum there with its low bits.
    /// `words` must not be empty.
    func minHash(_ words: [UInt64]) -> [UInt32] {
        let k = max(1, configuration.slots)
        let n = max(1, configuration.shingleWords)
        if k == 128, n == 2, words.count >= 2 {
            return words.withUnsafeBufferPointer { Self.minHash128($0) }
        }
        return words.withUnsafeBufferPointer { w in
            // The slots on the stack (no array per message); `.max`: empty.
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: k) { slots -> [UInt32] in
                slots.initialize(repeating: .max)
                if n == 2, w.count >= 2, k >= 2, k <= 1 << 32, k & (k &- 1) == 0 {
                    // The usual two-word shingles and a power-of-two slot count (128): for k = 2^b,
                    // ((h >> 32) * k) >> 32 is h >> (64 - b) (no overflow: (h >> 32) * k < 2^64).
                    // A shift instead of the multiply: the loop is bound by its multiplies (three
                    // are the shingle hash's own), not by its instruction count.
                    let shift = UInt64(64 &- k.trailingZeroBitCount)  // 32...63
                    for j in 1..<w.count {
                        let h = StableHash.mix((w[j - 1] &* 0x9E37_79B9_7F4A_7C15 ^ w[j]) ^ 0x2545_F491_4F6C_DD1D)
                        let slot = Int(truncatingIfNeeded: h &>> shift)  // < k
                        // Stored unconditionally (a conditional move, not a branch on random data).
                        slots[slot] = Swift.min(h & 0xFFFF_FFFF, slots[slot])
                    }
                } else {
                    Self.offerShingles(w, n, slots)
                }
                return [UInt32](unsafeUninitializedCapacity: k) { out, initialized in
                    // Densification: an empty slot borrows from the next filled slot to its right
                    // (circularly), offset by the distance d: mix(value + d * 0x9E3779B9). The
                    // filled slots are first marked in a bit set (no branch on whether a slot is
                    // empty: about 40% are, at random, and a branch on it mispredicted often); the
                    // empty ones are then visited by their bits, each finding the next filled slot
                    // by a bit scan (most in the same 64-slot word).
                    let bitWords = (k &+ 63) >> 6
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: bitWords) { filled in
                        // Each word of the bit set gathered in a register and stored once (an
                        // `|=` into memory per slot chained every slot through a store and its
                        // reload).
                        var any: UInt64 = 0
                        for x in 0..<bitWords {
                            let first = x << 6
                            let end = Swift.min(k, first &+ 64)
                            var bits: UInt64 = 0
                            for i in first..<end {
                                let v = slots[i]
                                out[i] = UInt32(truncatingIfNeeded: v)  // the filled slots' values
                                bits |= (v != .max ? 1 : 0) &<< UInt64(i & 63)
                            }
                            filled[x] = bits
                            any |= bits
                        }
                        guard any != 0 else {
                            // No shingle at all (not made: the caller asks for at least one word).
                            for i in 0..<k { out[i] = 0 }
                            return
                        }
                        for x in 0..<bitWords {
                            var empty = ~filled[x]
                            if x == bitWords &- 1, k & 63 != 0 { empty &= ((1 as UInt64) &<< UInt64(k & 63)) &- 1 }
                            while empty != 0 {
                                let bit = empty.trailingZeroBitCount
                                empty &= empty &- 1
                                let i = x << 6 | bit
                                // The filled slots after i in its word, else in the next words
                                // (circularly; at least one slot is filled, maybe before i).
                                var y = x
                                var after = filled[x] & ~(((2 as UInt64) &<< UInt64(bit)) &- 1)
                                while after == 0 {
                                    y = y &+ 1 == bitWords ? 0 : y &+ 1
                                    after = filled[y]
                                }
                                let next = y << 6 | after.trailingZeroBitCount
                                let d = next > i ? next &- i : next &+ k &- i
                                out[i] = UInt32(truncatingIfNeeded: StableHash.mix(slots[next] &+ UInt64(d) &* 0x9E37_79B9))
                            }
                        }
                    }
                    initialized = k
                }
            }
        }
    }

    /// ``minHash(_:)`` for the default configuration: 128 slots, two-word shingles, at least two
    /// words. The same values as the general code, with every size a constant: the slots (1 KB)
    /// on the stack without a heap variant of the code (`withUnsafeTemporaryAllocation` compiles
    /// its body twice when the size is not known), the filled-slot bit set in two registers, and
    /// each empty slot's next filled slot by a bit scan of its word or, past it, the first filled
    /// slot after that word (circularly), computed once. A scan runs this once a message, after
    /// the rules: its code is fetched again every time, so it is kept small.
    @inline(never)
    static func minHash128(_ w: UnsafeBufferPointer<UInt64>) -> [UInt32] {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 128) { slots -> [UInt32] in
            slots.initialize(repeating: .max)
            // Slot h >> 57 ((h >> 32) * 128 >> 32 of the general code); the minimum of the low
            // 32 bits stored unconditionally (a conditional move, not a branch on random data).
            var previous = w[0]
            for j in 1..<w.count {
                let word = w[j]
                let h = StableHash.mix((previous &* 0x9E37_79B9_7F4A_7C15 ^ word) ^ 0x2545_F491_4F6C_DD1D)
                previous = word
                let slot = Int(truncatingIfNeeded: h &>> 57)
                slots[slot] = Swift.min(h & 0xFFFF_FFFF, slots[slot])
            }
            return [UInt32](unsafeUninitializedCapacity: 128) { out, initialized in
                // The filled slots' values, and their bits: slots 0-63 in `low`, 64-127 in `high`.
                var low: UInt64 = 0, high: UInt64 = 0
                for i in 0..<64 {
                    let v = slots[i], u = slots[i &+ 64]
                    out[i] = UInt32(truncatingIfNeeded: v)
                    out[i &+ 64] = UInt32(truncatingIfNeeded: u)
                    low |= (v != .max ? 1 : 0) &<< UInt64(i)
                    high |= (u != .max ? 1 : 0) &<< UInt64(i)
                }
                initialized = 128
                guard low | high != 0 else {
                    // No shingle (not made: at least two words give one).
                    for i in 0..<128 { out[i] = 0 }
                    return
                }
                // Densification: an empty slot i borrows from the next filled slot to its right,
                // circularly, offset by the distance d: mix(value + d * 0x9E3779B9). The next
                // filled slot is in i's word after i, else the first filled one after that word
                // (the other word's first, or the same word's first when the other is empty).
                for x in 0..<2 {
                    let mine = x == 0 ? low : high, other = x == 0 ? high : low
                    let base = x &<< 6
                    // Past the word: the other word's first filled slot, else this word's (both
                    // counted from slot 0, then taken modulo 128 below).
                    let past = other != 0 ? (base ^ 64) | other.trailingZeroBitCount : base | mine.trailingZeroBitCount
                    var empty = ~mine
                    while empty != 0 {
                        let bit = empty.trailingZeroBitCount
                        empty &= empty &- 1
                        // Filled slots after `bit` in this word (none when bit is 63: 2 << 63 is 0).
                        let after = mine & ~(((2 as UInt64) &<< UInt64(bit)) &- 1)
                        let next = after != 0 ? base | after.trailingZeroBitCount : past
                        let i = base | bit
                        let d = (next &- i) & 127  // 1...127: next != i
                        out[i] = UInt32(truncatingIfNeeded: StableHash.mix(slots[next] &+ UInt64(d) &* 0x9E37_79B9))
                    }
                }
            }
        }
    }

    /// ``minHash(_:)``'s shingles into `slots` for the configurations other than two-word
    /// shingles and a power-of-two slot count (out of line: the usual loop's code stays small).
    @inline(never)
    static func offerShingles(_ w: UnsafeBufferPointer<UInt64>, _ n: Int, _ slots: UnsafeMutableBufferPointer<UInt64>) {
        let kk = UInt64(slots.count)
        @inline(__always) func offer(_ h: UInt64) {
            let slot = Int(truncatingIfNeeded: ((h >> 32) &* kk) >> 32)  // < k
            let value = h & 0xFFFF_FFFF
            if value < slots[slot] { slots[slot] = value }
        }
        if n == 2, w.count >= 2 {
            // Two-word shingles, any slot count.
            for j in 1..<w.count { offer(StableHash.mix((w[j - 1] &* 0x9E37_79B9_7F4A_7C15 ^ w[j]) ^ 0x2545_F491_4F6C_DD1D)) }
        } else {
            let count = w.count >= n ? w.count - n + 1 : 1
            for i in 0..<count { offer(Self.shingleHash(w, i..<min(i + n, w.count))) }
        }
    }

    /// The hash of the shingle `words[range]` (definition 2): the word hashes combined by
    /// multiply and xor, then one ``StableHash/mix(_:)``.
    @inline(__always) static func shingleHash(_ words: UnsafeBufferPointer<UInt64>, _ range: Range<Int>) -> UInt64 {
        var h = words[range.lowerBound]
        for j in (range.lowerBound + 1)..<range.upperBound { h = h &* 0x9E37_79B9_7F4A_7C15 ^ words[j] }
        return StableHash.mix(h ^ 0x2545_F491_4F6C_DD1D)
    }

    func htmlStructure(_ profile: consuming [(String, Int)], images: Int, links: Int) -> UInt64 {
        guard !profile.isEmpty else { return 0 }
        var h = hash.start("html:")
        // Sorted in place (the caller's array is handed over; `sorted` copied it): the same
        // stable sort, so the same order.
        var profile = profile
        profile.sort(by: { $0.0 < $1.0 })
        for (tag, n) in profile {
            h = StableHash.add(h, bytes: tag.utf8)
            h = StableHash.add(h, UInt8(truncatingIfNeeded: Self.log2Bucket(n)))
        }
        h = StableHash.add(h, UInt8(truncatingIfNeeded: Self.log2Bucket(images)))
        h = StableHash.add(h, UInt8(truncatingIfNeeded: Self.log2Bucket(links)))
        return StableHash.finish(h) | 1
    }

    static func log2Bucket(_ n: Int) -> Int { n <= 0 ? 0 : (Int.bitWidth - n.leadingZeroBitCount) }

    /// The registrable domains of the message's URLs: ``urlDomains(_:)``, taking the host names and
    /// registrable domains the rules found (``URLAnalysis``, kept with the message) where they are
    /// the same (the same list; the same host name, which this function reads more simply than
    /// the rules' parser: then the same domain).
    func urlDomains(_ message: Message) -> [String] {
        guard let analysis = message.memoized(URLAnalysis.self), analysis.isMade(with: publicSuffixList) else {
            return urlDomains(message.urls)
        }
        let urls = message.urls
        let covered = analysis.covered
        return analysis.withFingerprintEntries { entries, hosts in
            urlDomains(urls, covered: covered, entries: entries, hosts: hosts)
        }
    }

    /// ``urlDomains(_:)`` with the analysis of the message's URLs (`covered`: how many of `urls`
    /// it read; its `entries` in URL order and their `hosts`): a forward cursor over the entries
    /// gives each URL's analyzed host, whose names and domain are taken when the fingerprint reads
    /// the same host; a host whose domain was taken adds nothing the next times (the domain is a
    /// function of the host), so neither the domain list is searched nor a string copied for it.
    /// The same result as ``urlDomains(_:)`` of `urls` (`URLSharingTests`). The loop is kept
    /// small (its code is fetched again for every message): the other URLs' path is out of line.
    func urlDomains(_ urls: [String], covered: Int, entries: UnsafeBufferPointer<URLAnalysis.Entry>,
                    hosts: UnsafeBufferPointer<URLAnalysis.Host>) -> [String] {
        var domains: [String] = []
        // Hosts whose domain was computed here (few: most come with their domain from the
        // analysis), so that a repeated one is not looked up again.
        var ownHosts: [String] = []
        let limit = configuration.maxURLDomains
        domains.reserveCapacity(min(urls.count, max(1, limit)))
        // Whether the analysis' host at an index (below 64) gave its domain already; later hosts
        // are checked against the domains (a register, not a temporary allocation: its stack and
        // heap variants doubled the loop's code).
        var taken: UInt64 = 0
        urls.withUnsafeBufferPointer { ub in
            var e = 0
            for i in 0..<min(ub.count, 256) {
                // The analyzed host of URL i, if any.
                var h = -1
                if i < covered {
                    while e < entries.count, Int(entries[e].url) < i { e &+= 1 }
                    if e < entries.count, Int(entries[e].url) == i { h = Int(entries[e].host) }
                }
                // Whether the fingerprint reads that host in the URL (ASCII without CR, the same
                // name, not an IP address).
                if h >= 0, !hosts[h].names.isIPAddress {
                    let same = ub[i].utf8.withContiguousStorageIfAvailable { b -> Bool in
                        Self.readsHost(b, named: hosts[h].names.ascii)
                    } ?? false
                    if same {
                        guard hosts[h].names.fromList else {
                            if addOwnDomain(of: ub[i], host: hosts[h].names.ascii, &ownHosts, &domains) { return }
                            continue
                        }
                        let bit: UInt64 = h < 64 ? (1 as UInt64) &<< UInt64(h) : 0
                        if taken & bit != 0 { continue }
                        taken |= bit
                        if Self.appendNew(hosts[h].names.registrable, to: &domains) >= limit { return }
                        continue
                    }
                }
                if addOwnDomain(of: ub[i], host: nil, &ownHosts, &domains) { return }
            }
        }
        if domains.count > 1 { domains.sort() }  // in place (`sorted()` would copy); one needs no call
        return domains
    }

    /// `domain` appended to `domains` unless there; the count after.
    @inline(never)
    static func appendNew(_ domain: String, to domains: inout [String]) -> Int {
        if !domains.contains(domain) { domains.append(domain) }
        return domains.count
    }

    /// For ``urlDomains(_:covered:entries:hosts:)``: the domain of `url`'s host (`host`, else
    /// ``host(of:)``) computed here, added to `domains` unless its host is in `hosts` (then added
    /// there); whether `domains` is full.
    @inline(never)
    func addOwnDomain(of url: String, host known: String?, _ hosts: inout [String], _ domains: inout [String]) -> Bool {
        guard let host = known ?? Self.host(of: url), !hosts.contains(host) else { return false }
        if hosts.count < 64 { hosts.append(host) }  // bounded: later repeats only cost a lookup
        return Self.appendNew(registrableDomain(host), to: &domains) >= configuration.maxURLDomains
    }

    /// The registrable domains of `urls` (the first 256), distinct and sorted, at most
    /// ``FingerprintConfiguration/maxURLDomains``.
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
        domains.sort()  // in place: `sorted()` would copy into a new array
        return domains
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
        // Through the optional: binding the list copies it (a retain of each of its tables).
        if let d = publicSuffixList?.registrableDomain(of: host) { return d }
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
        guard let range = asciiHostRange(of: b) else { return nil }
        guard let r = range else { return .some(nil) }
        // ASCII bytes (checked), lower-cased straight into the String's storage.
        return .some(String(unsafeUninitializedCapacity: r.count) { dst in
            var k = 0
            for j in r {
                dst[k] = lower(b[j])
                k += 1
            }
            return k
        })
    }

    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }

    /// Where ``asciiHost(of:)``'s host is in `b` (before lower-casing): nil when `b` is not ASCII
    /// without CR, `.some(nil)` when the URL has no host.
    @inline(__always) static func asciiHostRange(of b: UnsafeBufferPointer<UInt8>) -> Range<Int>?? {
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
        // Up to the first '/', '?', '#' or '\\', eight bytes at a time, noting whether an '@' or
        // a ':' comes before it (most hosts have neither: then their searches are not needed).
        var j = lo
        var at = false, colon = false
        var stopped = false
        if let base = b.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            let high: UInt64 = 0x8080_8080_8080_8080
            // Bit 7 of each byte set where that byte of `v` is 0 (exactly: no carry between bytes).
            @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 { ~(((v & low7) &+ low7) | v) & high }
            while j &+ 8 <= hi {
                let x = UInt64(littleEndian: UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self))
                let stop = zeroBytes(x ^ (0x2F &* ones)) | zeroBytes(x ^ (0x3F &* ones)) | zeroBytes(x ^ (0x23 &* ones))
                    | zeroBytes(x ^ (0x5C &* ones))
                // The bytes before the first stop (all of them without one).
                let before = stop == 0 ? UInt64.max : (stop & (0 &- stop)) &- 1
                if zeroBytes(x ^ (0x40 &* ones)) & before != 0 { at = true }
                if zeroBytes(x ^ (0x3A &* ones)) & before != 0 { colon = true }
                if stop != 0 {
                    j &+= stop.trailingZeroBitCount >> 3
                    stopped = true
                    break
                }
                j &+= 8
            }
        }
        if !stopped {
            while j < hi {
                let c = b[j]
                if c == 0x2F || c == 0x3F || c == 0x23 || c == 0x5C { break }
                if c == 0x40 { at = true }
                if c == 0x3A { colon = true }
                j += 1
            }
        }
        hi = j
        // After the last '@'.
        if at {
            j = hi
            while j > lo, b[j - 1] != 0x40 { j -= 1 }
            if j > lo { lo = j }
        }
        if lo < hi, b[lo] == 0x5B {
            var close = lo + 1
            while close < hi, b[close] != 0x5D { close += 1 }
            guard close < hi else { return .some(nil) }
            return .some((lo + 1)..<close)
        }
        // Up to the first ':' (none when none was seen before the stop).
        if colon {
            var c = lo
            while c < hi, b[c] != 0x3A { c += 1 }
            hi = c
        }
        while hi > lo, b[hi - 1] == 0x2E { hi -= 1 }
        guard hi > lo, hi - lo <= 253 else { return .some(nil) }
        return .some(lo..<hi)
    }

    /// Whether `b[r]` lower-cased is `name`, and is not a name ``Fingerprinter/registrableDomain(_:)``
    /// would test as an IP address (only digits and dots, or a `:` or `[`). Eight bytes at a time
    /// (``isHostReference(_:_:named:)`` is the same byte by byte; the tests compare the two).
    static func isHost(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, named name: String) -> Bool {
        // Native strings are contiguous; another is not taken (the caller computes the host then).
        name.utf8.withContiguousStorageIfAvailable { n -> Bool in
            guard n.count == r.count, r.lowerBound >= 0, r.upperBound <= b.count else { return false }
            guard let src = b.baseAddress, let dst = n.baseAddress else { return false }  // empty: not a host
            let ones: UInt64 = 0x0101_0101_0101_0101
            let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            let high: UInt64 = 0x8080_8080_8080_8080
            // Bit 7 of each byte of the result set where that byte of `v` is 0 (exactly: no carry
            // between bytes).
            @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 { ~(((v & low7) &+ low7) | v) & high }
            var other: UInt64 = 0  // bit 7 set in a byte that is neither a digit nor a dot
            // Whether the 8 bytes at `k` agree; notes their bytes that are not digits or dots.
            @inline(__always) func agree(_ k: Int) -> Bool {
                let x = UInt64(littleEndian: UnsafeRawPointer(src + (r.lowerBound &+ k)).loadUnaligned(as: UInt64.self))
                let y = UInt64(littleEndian: UnsafeRawPointer(dst + k).loadUnaligned(as: UInt64.self))
                let t = x & low7
                // Upper-case ASCII letters: below 0x80, from 0x41 to 0x5A; lower-cased by bit 5.
                let upper = (t &+ (0x3F &* ones)) & ~(t &+ (0x25 &* ones)) & ~x & high
                if (x | (upper >> 2)) != y { return false }
                if (zeroBytes(x ^ (0x3A &* ones)) | zeroBytes(x ^ (0x5B &* ones))) != 0 { return false }
                // Digits: below 0x80, from 0x30 to 0x39.
                let digit = (t &+ (0x50 &* ones)) & ~(t &+ (0x46 &* ones)) & ~x & high
                other |= ~(digit | zeroBytes(x ^ (0x2E &* ones))) & high
                return true
            }
            var k = 0
            let count = r.count
            if count >= 8 {
                // Blocks of 8; the last one ends with the last byte (overlapping bytes already
                // checked: the tests are the same again), so no byte loop; one copy of the block.
                while true {
                    guard agree(k) else { return false }
                    if k &+ 8 == count { return other != 0 }
                    k = Swift.min(k &+ 8, count &- 8)
                }
            }
            var digitsAndDots = true
            while k < count {
                let c = src[r.lowerBound &+ k]
                if c == 0x3A || c == 0x5B { return false }
                if !((c >= 0x30 && c <= 0x39) || c == 0x2E) { digitsAndDots = false }
                if lower(c) != dst[k] { return false }
                k &+= 1
            }
            return !digitsAndDots
        } ?? false
    }

    /// Whether the fingerprint's host of the URL `b` is `name`, not one ``registrableDomain(_:)``
    /// would test as an IP address: ``asciiHostRange(of:)`` gives a range `r` and
    /// ``isHost(_:_:named:)`` holds for it. Proved in one pass over the host when the URL is
    /// `scheme://` + the name (any case) + a stop byte or its end (``provesHost(_:named:)``); any
    /// other URL takes the two steps.
    static func readsHost(_ b: UnsafeBufferPointer<UInt8>, named name: String) -> Bool {
        if provesHost(b, named: name) { return true }
        guard case let r?? = asciiHostRange(of: b) else { return false }
        return isHost(b, r, named: name)
    }

    /// True only when ``readsHost(_:named:)`` holds by this reasoning: the URL is ASCII without
    /// CR; after its first `://` come the name's bytes (upper-case letters lower-cased), none of
    /// them a stop byte (`/` `?` `#` `\`), `@`, `:` or `[`, not all digits and dots, the last not a
    /// dot, then a stop byte or the end: then ``asciiHostRange(of:)``'s host is exactly those
    /// bytes (no `@` or `:` to cut at, no trailing dot) and ``isHost(_:_:named:)`` holds. Names of 8
    /// to 253 bytes (8 bytes at a time, the last block ending with the name); false otherwise.
    static func provesHost(_ b: UnsafeBufferPointer<UInt8>, named name: String) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { n -> Bool in
            let count = n.count
            guard count >= 8, count <= 253, let dst = n.baseAddress, let src = b.baseAddress, n[count &- 1] != 0x2E else { return false }
            let ones: UInt64 = 0x0101_0101_0101_0101
            let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            let high: UInt64 = 0x8080_8080_8080_8080
            @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 { ~(((v & low7) &+ low7) | v) & high }
            // ASCII without CR, as asciiHostRange checks it.
            var q = 0
            while q &+ 8 <= b.count {
                let x = UInt64(littleEndian: UnsafeRawPointer(src + q).loadUnaligned(as: UInt64.self))
                let t = x ^ (0x0D &* ones)
                if (x | ((t &- ones) & ~t)) & high != 0 { return false }
                q &+= 8
            }
            while q < b.count {
                if b[q] >= 0x80 || b[q] == 0x0D { return false }
                q &+= 1
            }
            // The first "://".
            var k = 0
            while true {
                guard k &+ 3 <= b.count else { return false }
                if b[k] == 0x3A, b[k &+ 1] == 0x2F, b[k &+ 2] == 0x2F { break }
                k &+= 1
            }
            let lo = k &+ 3, hi = lo &+ count
            guard hi <= b.count else { return false }
            if hi < b.count {
                let c = b[hi]
                guard c == 0x2F || c == 0x3F || c == 0x23 || c == 0x5C else { return false }
            }
            var other: UInt64 = 0  // bit 7 set in a byte that is neither a digit nor a dot
            var j = 0
            while true {
                let x = UInt64(littleEndian: UnsafeRawPointer(src + (lo &+ j)).loadUnaligned(as: UInt64.self))
                let y = UInt64(littleEndian: UnsafeRawPointer(dst + j).loadUnaligned(as: UInt64.self))
                let t = x & low7
                let upper = (t &+ (0x3F &* ones)) & ~(t &+ (0x25 &* ones)) & ~x & high
                if (x | (upper >> 2)) != y { return false }
                let special = zeroBytes(x ^ (0x2F &* ones)) | zeroBytes(x ^ (0x3F &* ones)) | zeroBytes(x ^ (0x23 &* ones))
                    | zeroBytes(x ^ (0x5C &* ones)) | zeroBytes(x ^ (0x40 &* ones)) | zeroBytes(x ^ (0x3A &* ones))
                    | zeroBytes(x ^ (0x5B &* ones))
                if special != 0 { return false }
                let digit = (t &+ (0x50 &* ones)) & ~(t &+ (0x46 &* ones)) & ~x & high
                other |= ~(digit | zeroBytes(x ^ (0x2E &* ones))) & high
                if j &+ 8 == count { return other != 0 }
                j = Swift.min(j &+ 8, count &- 8)
            }
        } ?? false
    }

    /// ``isHost(_:_:named:)`` byte by byte (the definition).
    static func isHostReference(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, named name: String) -> Bool {
        let n = Array(name.utf8)
        guard n.count == r.count else { return false }
        var digitsAndDots = true
        var k = 0
        for j in r {
            let c = b[j]
            if c == 0x3A || c == 0x5B { return false }
            if !((c >= 0x30 && c <= 0x39) || c == 0x2E) { digitsAndDots = false }
            if lower(c) != n[k] { return false }
            k += 1
        }
        return !digitsAndDots
    }
}

/// Which words of the text a fingerprint is made of: the feature extractor's body words (case
/// folded; runs of letters and digits with `'` `-` `.` `_` `$` `@` `%` kept inside) that are
/// letters only, 2 to 20 bytes long, not random-looking and not inside a URL. Numbers, addresses,
/// host names, URLs and hash-buster tokens thus drop out; what is left is the prose that a
/// campaign's copies share.
public enum TextNormalizer {
    /// The fingerprint words of `text` (as one text part), for tests and docs.
    public static func normalize(_ text: String, maxWords: Int = 10_000) -> [String] {
        var out: [String] = []
        let configuration = FeatureConfiguration.default
        var b = Builder(configuration: configuration, hasher: StableHash(seed: configuration.hashSeed), keepNames: false)
        b.forEachWord(text, maxWords: Int.max, hashStart: 0, fingerprintWords: true) { _, _, word, fingerprintWord in
            if fingerprintWord, out.count < maxWords { out.append(String(decoding: word, as: UTF8.self)) }
        }
        return out
    }

    /// Whether a word of `length` (at most 24) case-folded letters at `p` (lower-case ASCII letters
    /// and the bytes of non-ASCII letters, as the word pass hands them over) looks random: ASCII, at
    /// least 5 letters, and without a vowel (`aeiouy`), with a run of five consonants, or, from 8
    /// letters on, with fewer than one vowel in six letters. Reads 24 bytes at `p` (the word
    /// buffer's; bytes after the word are masked off). ``looksRandomReference(_:)`` is the same
    /// byte by byte.
    @inline(__always) static func looksRandom(_ p: UnsafeMutablePointer<UInt8>, length n: Int) -> Bool {
        guard n >= 5 else { return false }
        let raw = UnsafeRawPointer(p)
        if n <= 8 {
            // Most words: one block, judged on its bytes (a flag in bit 0 of each byte), without
            // gathering the flags to bits.
            let inWord = UInt64.max >> UInt64((8 &- n) &* 8)  // the word's bytes
            let x = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) & inWord
            if x & highBits != 0 { return false }  // non-ASCII: not judged
            let vowels = letterVowelMask(x) >> 7
            if vowels == 0 { return true }
            let c = inWord & byteOnes & ~vowels  // consonants
            if c & (c >> 8) & (c >> 16) & (c >> 24) & (c >> 32) != 0 { return true }
            // From 8 letters on, fewer than one vowel in six: at most one vowel in 8.
            return n == 8 && vowels & (vowels &- 1) == 0
        }
        var vowels: UInt64 = 0, high: UInt64 = 0, count: UInt64 = 0
        var k = 0
        while k < n {
            var x = UInt64(littleEndian: (raw + k).loadUnaligned(as: UInt64.self))
            let left = n &- k
            if left < 8 { x &= (1 &<< UInt64(left &* 8)) &- 1 }
            high |= x & highBits
            let flags = letterVowelMask(x) >> 7
            count &+= (flags &* byteOnes) >> 56  // the block's vowels
            vowels |= ((flags &* 0x0102_0408_1020_4080) >> 56) &<< UInt64(k)
            k &+= 8
        }
        if high != 0 { return false }  // non-ASCII: not judged
        if vowels == 0 { return true }
        let consonants = ((1 as UInt64) &<< UInt64(n) &- 1) & ~vowels
        if consonants & (consonants >> 1) & (consonants >> 2) & (consonants >> 3) & (consonants >> 4) != 0 { return true }
        return count &* 6 < UInt64(n)
    }

    /// ``looksRandom(_:length:)`` byte by byte (the definition; tests compare the two).
    static func looksRandomReference(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = w.count
        guard n >= 5 else { return false }
        var vowels = 0, run = 0, maxRun = 0
        for b in w {
            guard b < 0x80 else { return false }
            if b == 0x61 || b == 0x65 || b == 0x69 || b == 0x6F || b == 0x75 || b == 0x79 {
                vowels += 1
                run = 0
            } else {
                run += 1
                maxRun = max(maxRun, run)
            }
        }
        return vowels == 0 || maxRun >= 5 || (n >= 8 && vowels * 6 < n)
    }

    static let byteOnes: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080
    static let lowSevenBits: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// Bit k of the result: bit 7 of byte k of `flags` (only bits 7 of its bytes set).
    @inline(__always) static func gather(_ flags: UInt64) -> UInt64 { ((flags >> 7) &* 0x0102_0408_1020_4080) >> 56 }

    /// ``vowelMask(_:)`` for bytes that are lower-case ASCII letters or 0 (fewer steps): bit 7
    /// of each byte set where it is a vowel. The letters whose low two bits are 01 and bit 6 set
    /// are a e i m q u y; m and q are taken out, o is added.
    @inline(__always) static func letterVowelMask(_ letters: UInt64) -> UInt64 {
        // Every byte of the values tested for zero below is below 0x80: adding 0x7F sets bit 7
        // exactly where the byte is not zero (no carry between bytes).
        let notAEIMQUY = ((letters & (0x43 &* byteOnes)) ^ (0x41 &* byteOnes)) &+ lowSevenBits
        let notM = (letters ^ (0x6D &* byteOnes)) &+ lowSevenBits
        let notQ = (letters ^ (0x71 &* byteOnes)) &+ lowSevenBits
        let notO = (letters ^ (0x6F &* byteOnes)) &+ lowSevenBits
        return ((~notAEIMQUY & notM & notQ) | ~notO) & highBits
    }

    /// Bit 7 of each byte of `folded` (ASCII bytes) set where it is a vowel: a e i o u y.
    @inline(__always) static func vowelMask(_ folded: UInt64) -> UInt64 {
        // A byte of t is zero where `folded` has the vowel; (t + 0x7F) | t has bit 7 clear there
        // (no carry between bytes: every byte of t is below 0x80).
        @inline(__always) func notVowel(_ v: UInt64) -> UInt64 {
            let t = folded ^ (v &* byteOnes)
            return (t &+ lowSevenBits) | t
        }
        let none = notVowel(0x61) & notVowel(0x65) & notVowel(0x69) & notVowel(0x6F) & notVowel(0x75) & notVowel(0x79)
        return ~none & highBits
    }
}
