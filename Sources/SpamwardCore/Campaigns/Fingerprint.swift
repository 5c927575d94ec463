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
        var words: [UInt64] = []
        words.reserveCapacity(256)
        var budget = configuration.maxTextBytes
        var htmlProfile: [(String, Int)] = []
        var images = 0, links = 0
        for part in message.textParts {
            guard budget > 0, words.count < configuration.maxWords else { break }
            var text = part.text
            let used = text.withUTF8 { buf in
                TextNormalizer.words(UnsafeBufferPointer(rebasing: buf.prefix(budget)), seed: hash,
                                     maxWords: configuration.maxWords, into: &words)
            }
            budget -= used
            if let html = part.html {
                htmlProfile.append(contentsOf: html.tagCounts.map { ($0.key, $0.value) })
                images += html.imageCount
                links += html.links.count
            }
        }
        let signature = words.count >= configuration.minWords ? minHash(words) : []
        return MessageFingerprint(minHash: signature, words: words.count,
                                  htmlStructure: htmlStructure(htmlProfile, images: images, links: links),
                                  urlDomains: urlDomains(message.urls))
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
                let start: UInt64 = 0x2545_F491_4F6C_DD1D &* 0x9E37_79B9_7F4A_7C15
                if n == 2, w.count >= 2 {
                    // The usual two-word shingles: the first word's step carried to the next shingle.
                    var first = StableHash.mix(start ^ w[0])
                    for j in 1..<w.count {
                        let next = StableHash.mix(start ^ w[j])
                        offer(StableHash.mix(first &* 0x9E37_79B9_7F4A_7C15 ^ w[j]))
                        first = next
                    }
                } else {
                    let count = w.count >= n ? w.count - n + 1 : 1
                    for i in 0..<count {
                        var h: UInt64 = 0x2545_F491_4F6C_DD1D
                        for j in i..<min(i + n, w.count) { h = StableHash.mix(h &* 0x9E37_79B9_7F4A_7C15 ^ w[j]) }
                        offer(h)
                    }
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
        let maybeIP = host.utf8.contains { $0 == 0x3A || $0 == 0x5B } || host.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }
        if maybeIP, IPAddress(host) != nil { return host }
        if let list = publicSuffixList, let d = list.registrableDomain(of: host) { return d }
        let labels = host.split(separator: ".")
        return labels.suffix(2).joined(separator: ".")
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
        for c in b where c >= 0x80 || c == 0x0D { return nil }
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
    /// returns the bytes consumed.
    ///
    /// The steps of ``forEachWord(_:maxWords:_:)`` in one pass over the bytes (a test checks both
    /// give the same words): each chunk's words are hashed, and judged random or not, as the chunk
    /// is read, by a byte-class table; a chunk that turns out to hold a digit, an `@` or a URL takes
    /// its words back.
    static func words(_ text: UnsafeBufferPointer<UInt8>, seed: StableHash, maxWords: Int, into words: inout [UInt64]) -> Int {
        let start = seed.start("fw:")
        let limit = maxWords - words.count
        var emitted = 0
        var i = 0
        let n = text.count
        return byteClasses.withUnsafeBufferPointer { cls in
            while i < n, emitted < limit {
                while i < n, cls[Int(text[i])] & ByteClass.space != 0 { i += 1 }
                let chunkStart = i
                let mark = words.count
                let emittedBefore = emitted
                var rejected = false
                var hasColon = false
                while i < n {
                    var c = cls[Int(text[i])]
                    if c & ByteClass.space != 0 { break }
                    if c & ByteClass.letter == 0 {
                        if c & (ByteClass.digit | ByteClass.at) != 0 {
                            // Numbers and addresses go entirely: skip to the end of the chunk.
                            rejected = true
                            while i < n, cls[Int(text[i])] & ByteClass.space == 0 { i += 1 }
                            break
                        }
                        if text[i] == 0x3A { hasColon = true }
                        i += 1
                        continue
                    }
                    // A word: a run of letters, hashed folded as it is read.
                    // The counts ``looksRandom(_:)`` judges by are kept on the way (no second
                    // pass over the word): upper-case letters (0x20 each), vowels (0x10 each),
                    // the longest run of consonants.
                    let ws = i
                    var h = start
                    var high: UInt8 = 0
                    var uppers = 0, vowels = 0, run = 0, maxRun = 0
                    while true {
                        let b = text[i]
                        let up = c & ByteClass.upper
                        h = (h ^ UInt64(b | up)) &* 0x0000_0100_0000_01b3
                        high |= b
                        uppers &+= Int(up)
                        let vowel = Int(c & ByteClass.vowel)
                        vowels &+= vowel
                        run = vowel != 0 ? 0 : run &+ 1
                        maxRun = max(maxRun, run)
                        i += 1
                        guard i < n else { break }
                        c = cls[Int(text[i])]
                        if c & ByteClass.letter == 0 { break }
                    }
                    let len = i - ws
                    guard len >= 2, len <= 24, emitted < limit else { continue }
                    let w = UnsafeBufferPointer(rebasing: text[ws..<i])
                    if len >= 5 {
                        if len > 20 { continue }
                        // ``looksRandom(_:)`` from the counts (a test checks both agree).
                        if high < 0x80 {
                            let u = uppers >> 5, v = vowels >> 4
                            // All lower, all upper, or upper-case letters only as a prefix ("Hello", "HEllo").
                            var caseOK = u == 0 || u == len
                            if !caseOK, cls[Int(w[0])] & ByteClass.upper != 0 {
                                caseOK = true
                                for k in 1..<u where cls[Int(w[k])] & ByteClass.upper == 0 { caseOK = false }
                            }
                            if !caseOK || v == 0 || maxRun >= 5 || (len >= 8 && v * 6 < len) { continue }
                        }
                    }
                    if high >= 0x80 {
                        // Case folding beyond ASCII (rare in practice): through String.
                        let folded = Array(String(decoding: w, as: UTF8.self).lowercased().utf8)
                        words.append(StableHash.finish(StableHash.add(start, bytes: folded)))
                    } else {
                        words.append(StableHash.finish(h))
                    }
                    emitted += 1
                }
                // URLs go entirely too ("://" needs a colon).
                if !rejected, hasColon || (i - chunkStart >= 4 && text[chunkStart + 3] == 0x2E),
                   isURL(UnsafeBufferPointer(rebasing: text[chunkStart..<i]))
                {
                    rejected = true
                }
                if rejected {
                    words.removeSubrange(mark...)
                    emitted = emittedBefore
                }
            }
            return i
        }
    }

    /// Byte classes of ``words(_:seed:maxWords:into:)``.
    enum ByteClass {
        static let space: UInt8 = 1, digit: UInt8 = 2, at: UInt8 = 4, letter: UInt8 = 8
        /// ASCII a e i o u y, either case.
        static let vowel: UInt8 = 0x10
        /// 0x20: also the bit that lower-cases an ASCII upper-case letter.
        static let upper: UInt8 = 0x20
    }

    static let byteClasses: [UInt8] = (0..<256).map { v -> UInt8 in
        let b = UInt8(v)
        var c: UInt8 = 0
        if isSpace(b) { c |= ByteClass.space }
        if isDigit(b) { c |= ByteClass.digit }
        if b == 0x40 { c |= ByteClass.at }
        if isLetter(b) { c |= ByteClass.letter }
        if isUpper(b) { c |= ByteClass.upper }
        switch b | 0x20 {
        case 0x61, 0x65, 0x69, 0x6F, 0x75, 0x79: if isLetter(b) { c |= ByteClass.vowel }
        default: break
        }
        return c
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
