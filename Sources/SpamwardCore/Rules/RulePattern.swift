import CLiteralScan
import CPCRE2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The regular-expression engines a rule set can be compiled with. PCRE2 with its JIT is the
/// default (measured fastest, see docs/rules.md); POSIX `regexec` and Swift `Regex` are kept for
/// the comparison (`spamward bench --rule-engines`, docs/rules.md) and accept fewer patterns.
public enum RegexEngine: String, Sendable, Hashable, CaseIterable {
    case pcre2, posix, swift
}

/// A compiled regular expression plus its literal prefilter.
///
/// Patterns match bytes (no UTF-8 mode): `.` is one byte, and non-ASCII text in a pattern matches
/// its UTF-8 bytes exactly. Case-insensitive matching folds ASCII letters only, which is what
/// makes the ASCII-folded prefilter exact: the prefilter only rejects texts the regex cannot match.
///
/// A class: a rule set reads its compiled rules once per rule and message, and a reference is one
/// retain where the values (matcher, literal arrays) were several.
final class RulePattern: Sendable {
    let matcher: any PatternMatcher
    let prefilter: LiteralPrefilter?
    /// Literals one of which every match starts with (``LiteralPrefilter/leadingLiterals(pattern:)``),
    /// when the pattern has a prefilter: the regex then runs from the first of them, and the
    /// prefilter's other conditions are left to it.
    let leading: [LiteralPrefilter.Needle]?
    /// The first bytes of ``leading`` (lower case), a bit each, for short texts.
    let leadingFirstBytes: [UInt64]
    /// The first byte of every one of ``leading``, when they share it and it is not a letter.
    let leadingFirst: UInt8?
    /// Texts up to this length are searched for leading literals in one pass (URLs, header
    /// values); longer ones with `memchr` for each literal.
    static let onePassLength = 256
    /// Whether the engine finds the start of a match by itself as fast as ``firstLeading(_:_:)``
    /// can: PCRE2 with a fixed first byte (`X-(Mailer|Library)…` starts with `x` or `X`), which its
    /// JIT looks for both cases at once with vector instructions. Over a long text (a whole
    /// message) that is one pass, where the leading literals cost a `memchr` pass per literal
    /// and per case, with a candidate at every `x`.
    let findsOwnStart: Bool
    /// The pattern decided without the engine, when it is literal text anchored at the end
    /// (``EndLiterals``).
    let endLiterals: EndLiterals?
    /// The pattern decided without the engine, when it is a repeated byte, a repeated class and
    /// `$` (``EndRun``: `[ ]{5,}[0-9a-z]{4,}$`).
    let endRun: EndRun?
    /// The pattern compiled anchored (PCRE2_ANCHORED), when it has leading literals and PCRE2
    /// does not find its start itself: over a long text it is tried at each occurrence of a
    /// leading literal only (``matchesAtEachLeading(_:from:_:_:scratch:)``). Run unanchored from
    /// the first occurrence, PCRE2 looks for a start at every later byte its start bitmap allows
    /// (`(remove|taken off) …` tries at every `r` and `t` to the end of the body).
    let anchored: PCRE2Matcher?
    /// For a pattern that finds its own start (``findsOwnStart``) whose leading literals all
    /// begin with the same two bytes (`X-(Mailer|Library)` → `x-`): the pattern compiled anchored,
    /// tried over a long text without a shared search only where those two bytes occur (in
    /// either case of a letter) and a leading literal follows (``matchesAtPairs(_:_:_:scratch:)``).
    /// PCRE2's own search stops at every `x` and `X` (a base64 attachment has one in 32 bytes) and
    /// runs its JIT code each time.
    let leadingPair: LeadingPair?

    struct LeadingPair: Sendable {
        let anchored: PCRE2Matcher
        /// The two bytes (lower case) and what is or-ed into each text byte before comparing
        /// (0x20 for a letter, so that both cases compare; 0 for other bytes).
        let first: UInt8, firstFold: UInt8, second: UInt8, secondFold: UInt8

        /// The pair of `leading`, when every literal has two bytes or more and all begin with the
        /// same two.
        static func of(_ leading: [LiteralPrefilter.Needle]) -> (UInt8, UInt8)? {
            guard let b = leading.first?.bytes, b.count >= 2,
                  leading.allSatisfy({ $0.bytes.count >= 2 && $0.bytes[0] == b[0] && $0.bytes[1] == b[1] })
            else {
                return nil
            }
            return (b[0], b[1])
        }

        static func fold(_ b: UInt8) -> UInt8 { b &- 0x61 < 26 ? 0x20 : 0 }
    }

    init(_ pattern: String, caseInsensitive: Bool, engine: RegexEngine, rule: String, usePrefilter: Bool = true) throws(RuleError) {
        switch engine {
        case .pcre2: matcher = try PCRE2Matcher(pattern, caseInsensitive: caseInsensitive, rule: rule)
        case .posix: matcher = try POSIXMatcher(pattern, caseInsensitive: caseInsensitive, rule: rule)
        case .swift: matcher = try SwiftRegexMatcher(pattern, caseInsensitive: caseInsensitive, rule: rule)
        }
        prefilter = usePrefilter ? LiteralPrefilter(pattern: pattern) : nil
        leading = prefilter == nil ? nil : LiteralPrefilter.leadingLiterals(pattern: pattern)?.map(LiteralPrefilter.Needle.init)
        var firstBytes = [UInt64](repeating: 0, count: 4)
        for n in leading ?? [] where !n.bytes.isEmpty { firstBytes[Int(n.bytes[0] >> 6)] |= 1 << (n.bytes[0] & 63) }
        leadingFirstBytes = firstBytes
        let firsts = Set((leading ?? []).compactMap(\.bytes.first))
        leadingFirst = firsts.count == 1 && firsts.allSatisfy({ $0 &- 0x61 >= 26 }) ? firsts.first : nil
        findsOwnStart = (matcher as? PCRE2Matcher)?.hasFirstCodeUnit ?? false
        endLiterals = engine == .pcre2 && usePrefilter ? EndLiterals(pattern: pattern, caseInsensitive: caseInsensitive) : nil
        endRun = engine == .pcre2 && usePrefilter ? EndRun(pattern: pattern, caseInsensitive: caseInsensitive) : nil
        anchored = engine == .pcre2 && leading != nil && !findsOwnStart
            ? try PCRE2Matcher(pattern, caseInsensitive: caseInsensitive, rule: rule, anchored: true) : nil
        if engine == .pcre2, findsOwnStart, let leading, let (a, b) = LeadingPair.of(leading) {
            leadingPair = LeadingPair(anchored: try PCRE2Matcher(pattern, caseInsensitive: caseInsensitive, rule: rule, anchored: true),
                                      first: a, firstFold: LeadingPair.fold(a), second: b, secondFold: LeadingPair.fold(b))
        } else {
            leadingPair = nil
        }
    }

    /// Whether the pattern matches `text`, tried anchored at each occurrence of a leading literal
    /// found where ``leadingPair``'s two bytes occur: every match starts with a leading literal,
    /// and so with the pair.
    @inline(never)
    func matchesAtPairs(_ text: UnsafeBufferPointer<UInt8>, _ pair: LeadingPair, _ leading: [LiteralPrefilter.Needle],
                        scratch: MatchScratch) -> Bool {
        guard let base = text.baseAddress else { return false }
        let n = text.count
        let avx2: Int32 = LiteralSearch.vectorAvailable ? 1 : 0
        var i = 0
        while true {
            i = sw_find_pair(base, n, i, pair.first, pair.firstFold, pair.second, pair.secondFold, avx2)
            if i >= n { return false }
            // A leading literal here (its first two bytes are the pair's)?
            for needle in leading where needle.bytes.count <= n - i {
                let l = needle.bytes
                var k = 2
                while k < l.count, LiteralPrefilter.lower(base[i + k]) == l[k] { k += 1 }
                if k == l.count {
                    if pair.anchored.matches(text, from: i, scratch: scratch) { return true }
                    break
                }
            }
            i += 1
        }
    }

    /// Where the first of ``leading`` occurs in `text` (ASCII case folded), nil when none does.
    func firstLeading(_ text: UnsafeBufferPointer<UInt8>, _ leading: [LiteralPrefilter.Needle]) -> Int? {
        if text.count > Self.onePassLength {
            var first: Int? = nil
            for needle in leading {
                if let at = LiteralPrefilter.firstFolded(text, needle), first.map({ at < $0 }) ?? true { first = at }
            }
            return first
        }
        @inline(__always) func startsAt(_ i: Int) -> Bool {
            for needle in leading where needle.bytes.count <= text.count - i {
                let n = needle.bytes
                var k = 0
                while k < n.count, LiteralPrefilter.lower(text[i + k]) == n[k] { k += 1 }
                if k == n.count { return true }
            }
            return false
        }
        if let f = leadingFirst, let base = text.baseAddress {
            // One first byte, not a letter (`.exe`, `.scr`, ...): `memchr` finds the candidates.
            var start = 0
            while start < text.count, let hit = memchr(base + start, Int32(f), text.count - start) {
                let i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if startsAt(i) { return i }
                start = i + 1
            }
            return nil
        }
        // One pass: the literals are compared only where a byte can start one.
        return leadingFirstBytes.withUnsafeBufferPointer { set -> Int? in
            for i in 0..<text.count {
                let b = LiteralPrefilter.lower(text[i])
                guard set[Int(b >> 6)] & (1 << (b & 63)) != 0 else { continue }
                if startsAt(i) { return i }
            }
            return nil
        }
    }

    /// - Parameters:
    ///   - text: the bytes to match.
    ///   - folded: the same bytes with ASCII upper case folded (for the prefilter).
    func matches(_ text: UnsafeBufferPointer<UInt8>, folded: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        if let prefilter, !prefilter.mayMatch(folded) { return false }
        return matcher.matches(text, scratch: scratch)
    }

    /// When the pattern is decided by how a text ends (``EndLiterals``): how many of its last
    /// bytes ``matches(tail:)`` needs.
    var endTailLength: Int? { endLiterals?.tailLength }

    /// ``matches(_:scratch:)`` of a text whose last ``endTailLength`` bytes (or all, when it is
    /// shorter) are `tail`; only for a pattern with an ``endTailLength``.
    func matches(tail: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let endLiterals else { preconditionFailure("matches(tail:) of a pattern not decided by its end") }
        return endLiterals.matches(tail)
    }

    /// The same, the prefilter reading `text` itself (no folded copy to make). With leading
    /// literals, the regex runs from the first of them (no match starts before it) or not at all.
    func matches(_ text: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        if let endLiterals { return endLiterals.matches(text) }
        if let endRun { return endRun.matches(text) }
        if let leading {
            if findsOwnStart && text.count > Self.onePassLength {
                if let leadingPair { return matchesAtPairs(text, leadingPair, leading, scratch: scratch) }
                return matcher.matches(text, scratch: scratch)
            }
            guard let first = firstLeading(text, leading) else { return false }
            return matcher.matches(text, from: first, scratch: scratch)
        }
        if let prefilter, !prefilter.mayMatch(unfolded: text) { return false }
        return matcher.matches(text, scratch: scratch)
    }

    /// Whether a match starts at `offset` or later, the caller knowing that none starts earlier
    /// (a shared literal search judged the prefilter): ``PatternMatcher/matches(_:from:scratch:)``,
    /// or the end literals.
    func matches(_ text: UnsafeBufferPointer<UInt8>, from offset: Int, scratch: MatchScratch) -> Bool {
        if let endLiterals { return endLiterals.matches(text) }
        if let endRun { return endRun.matches(text) }
        return matcher.matches(text, from: offset, scratch: scratch)
    }

    /// Whether the anchored pattern matches at an occurrence of a leading literal: every match
    /// starts at one, so this is whether the pattern matches. `firstAt[k]` is where
    /// `leading[k]` first occurs (`Int.max`: nowhere; negative: not known, searched for from
    /// `offset`), as a shared literal search found it. Each literal's next occurrence is
    /// searched for only once the one before has been tried.
    ///
    /// A literal whose rare byte is a letter is searched for in each case of that byte apart
    /// (``LiteralPrefilter/firstFolded(_:_:rareByte:)``), and each case's next occurrence is kept
    /// until it is passed: after a try, only the case whose occurrence was tried is searched for
    /// again. (Searching both from each try read the rest of the text for the absent case, most
    /// often the upper case, again after every try.)
    func matchesAtEachLeading(_ text: UnsafeBufferPointer<UInt8>, firstAt: UnsafeMutableBufferPointer<Int>, from offset: Int,
                              _ anchored: PCRE2Matcher, _ leading: [LiteralPrefilter.Needle], scratch: MatchScratch) -> Bool {
        let n = text.count
        /// The first occurrence at `start` or later with the rare byte `rare`, Int.max when none.
        func next(_ k: Int, _ rare: UInt8, from start: Int) -> Int {
            guard start < n,
                  let i = LiteralPrefilter.firstFolded(UnsafeBufferPointer(rebasing: text[start...]), leading[k], rareByte: rare)
            else {
                return Int.max
            }
            return start + i
        }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * leading.count) { cases -> Bool in
            // cases[2k], cases[2k + 1]: the next occurrence of literal k with its rare byte in lower,
            // upper case (-1: not searched yet; Int.max: none; the upper case of a rare byte that is
            // no letter: none). Each is the first of its case at or after every position tried.
            let nextAt = firstAt
            for k in leading.indices {
                let rare = leading[k].bytes[leading[k].rareIndex]
                cases[2 * k] = -1
                cases[2 * k + 1] = rare &- 0x61 < 26 ? -1 : Int.max
            }
            /// Literal k's occurrences from `start` on: each case searched when not known there.
            func advance(_ k: Int, from start: Int) {
                let rare = leading[k].bytes[leading[k].rareIndex]
                if cases[2 * k] < start { cases[2 * k] = next(k, rare, from: start) }
                if cases[2 * k + 1] < start { cases[2 * k + 1] = next(k, rare & 0xDF, from: start) }
                nextAt[k] = min(cases[2 * k], cases[2 * k + 1])
            }
            for k in leading.indices where nextAt[k] < 0 { advance(k, from: max(0, offset)) }
            while true {
                var at = Int.max
                for k in leading.indices where nextAt[k] < at { at = nextAt[k] }
                if at == Int.max { return false }
                if anchored.matches(text, from: at, scratch: scratch) { return true }
                for k in leading.indices where nextAt[k] == at { advance(k, from: at + 1) }
            }
        }
    }
}

/// A pattern that is literal text, at most one group of literal alternatives inside it, and `$`
/// at the end (`\.(exe|scr|vbs)$`): it matches exactly the texts that end with one of its
/// spellings, or end with one and a final line feed (PCRE2's `$` without the multiline option,
/// when its newline is LF). Deciding that takes a comparison of the text's last bytes, not a
/// regex run. ASCII only; case folded for ASCII letters when the pattern is case-insensitive
/// (PCRE2 without UTF mode folds nothing else).
struct EndLiterals: Sendable {
    /// The spellings, folded when ``caseInsensitive``.
    let literals: [[UInt8]]
    let caseInsensitive: Bool
    /// How many of a text's last bytes decide ``matches(_:)``: the longest spelling and a line
    /// feed. The text's last `tailLength` bytes (or all of a shorter text) give the same answer.
    let tailLength: Int

    /// Whether PCRE2's newline convention is LF, which `$` relies on here.
    static let newlineIsLF: Bool = {
        var newline: UInt32 = 0
        return pcre2_config_8(UInt32(PCRE2_CONFIG_NEWLINE), &newline) >= 0 && newline == 2  // PCRE2_NEWLINE_LF
    }()

    init?(pattern: String, caseInsensitive: Bool) {
        guard Self.newlineIsLF else { return nil }
        let p = Array(pattern.utf8)
        guard p.count >= 2, p[p.count - 1] == 0x24 else { return nil }  // '$'
        var before: [UInt8] = []
        var group: [[UInt8]]? = nil
        var after: [UInt8] = []
        var i = 0
        let end = p.count - 1
        /// A literal byte at `i` (plain, or a backslash and a punctuation byte), and where the next atom starts.
        func literal(_ i: Int, limit: Int) -> (UInt8, Int)? {
            let c = p[i]
            if c == 0x5C {
                guard i + 1 < limit else { return nil }
                let e = p[i + 1]
                guard e < 0x80, !Self.isAlnum(e) else { return nil }
                return (e, i + 2)
            }
            guard c >= 0x20, c < 0x7F, !Self.isMeta(c) else { return nil }
            return (c, i + 1)
        }
        while i < end {
            if p[i] == 0x28 {  // '('
                guard group == nil else { return nil }
                var j = i + 1
                if j + 1 < end, p[j] == 0x3F {  // "(?:"
                    guard p[j + 1] == 0x3A else { return nil }
                    j += 2
                }
                var alternatives: [[UInt8]] = [[]]
                while j < end, p[j] != 0x29 {
                    if p[j] == 0x7C {
                        alternatives.append([])
                        j += 1
                        continue
                    }
                    guard let (b, next) = literal(j, limit: end) else { return nil }
                    alternatives[alternatives.count - 1].append(b)
                    j = next
                }
                guard j < end else { return nil }  // no ')'
                group = alternatives
                i = j + 1
                continue
            }
            guard let (b, next) = literal(i, limit: end) else { return nil }
            if group == nil { before.append(b) } else { after.append(b) }
            i = next
        }
        // A quantifier after a literal or group was refused above (`?`, `*`, `+`, `{` are meta).
        let fold: (UInt8) -> UInt8 = caseInsensitive ? { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 } : { $0 }
        let spellings = (group ?? [[]]).map { (before + $0 + after).map(fold) }
        guard spellings.allSatisfy({ !$0.isEmpty }) else { return nil }
        literals = spellings
        self.caseInsensitive = caseInsensitive
        tailLength = (spellings.map(\.count).max() ?? 0) + 1
    }

    static func isAlnum(_ b: UInt8) -> Bool { (b &- 0x30 < 10) || ((b | 0x20) &- 0x61 < 26) }
    /// PCRE2's metacharacters outside a class (space and `#` are plain bytes: the extended
    /// option is not used). `]` and `}` alone are literal to PCRE2, but refused here all the same.
    static func isMeta(_ b: UInt8) -> Bool {
        switch b {
        case 0x5C, 0x5E, 0x24, 0x2E, 0x5B, 0x5D, 0x7C, 0x28, 0x29, 0x3F, 0x2A, 0x2B, 0x7B, 0x7D: return true
        default: return false
        }
    }

    /// Whether the text ends with a spelling, or with a spelling and a line feed.
    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if endsWithOne(text, text.count) { return true }
        return text.count > 0 && text[text.count - 1] == 0x0A && endsWithOne(text, text.count - 1)
    }

    private func endsWithOne(_ text: UnsafeBufferPointer<UInt8>, _ end: Int) -> Bool {
        for l in literals where l.count <= end {
            let start = end - l.count
            var k = l.count - 1
            if caseInsensitive {
                while k >= 0, (text[start + k] &- 0x41 < 26 ? text[start + k] | 0x20 : text[start + k]) == l[k] { k -= 1 }
            } else {
                while k >= 0, text[start + k] == l[k] { k -= 1 }
            }
            if k < 0 { return true }
        }
        return false
    }
}

/// A pattern that is one byte repeated at least `n` times, then a class of bytes repeated at least
/// `m` times, then `$` (`[ ]{5,}[0-9a-z]{4,}$`: a hash-buster tag after spaces), where the byte is
/// not in the class. A match's class run ends where `$` matches (at the text's end, or before a
/// final line feed) and starts right after the byte (which the class does not hold), so it is the
/// whole run of class bytes there: the pattern matches exactly when that run has `m` bytes or more
/// and `n` copies of the byte precede it. Deciding that reads the text's tail, backwards; no
/// regex run. ASCII letters fold when the pattern is case-insensitive (PCRE2 without UTF mode
/// folds nothing else).
struct EndRun: Sendable {
    let byte: UInt8
    let byteFolds: Bool
    let minimumBytes: Int
    /// The class, a bit per byte (both cases of its letters when case-insensitive).
    let set: [UInt64]
    let minimumRun: Int

    init?(pattern: String, caseInsensitive: Bool) {
        guard EndLiterals.newlineIsLF else { return nil }
        let p = Array(pattern.utf8)
        var i = 0
        /// A quantifier `{n,}` or `+` at `i` (the minimum), and where it ends.
        func atLeast(_ i: Int) -> (Int, Int)? {
            guard i < p.count else { return nil }
            if p[i] == 0x2B { return (1, i + 1) }  // +
            guard p[i] == 0x7B else { return nil }
            var j = i + 1
            var n = 0
            while j < p.count, p[j] &- 0x30 < 10, n < 1_000 {
                n = n * 10 + Int(p[j] &- 0x30)
                j += 1
            }
            guard j > i + 1, n >= 1, j + 1 < p.count, p[j] == 0x2C, p[j + 1] == 0x7D else { return nil }
            return (n, j + 2)
        }
        /// A class `[...]` at `i` of plain bytes and ranges (no negation, escapes or POSIX
        /// classes), as a bit set, and where it ends.
        func bracket(_ i: Int) -> ([UInt64], Int)? {
            guard i < p.count, p[i] == 0x5B else { return nil }
            var set = [UInt64](repeating: 0, count: 4)
            var j = i + 1
            guard j < p.count, p[j] != 0x5E, p[j] != 0x5D else { return nil }
            while j < p.count, p[j] != 0x5D {
                let a = p[j]
                guard a >= 0x20, a < 0x7F, a != 0x5C, a != 0x5B, a != 0x2D else { return nil }
                var b = a
                if j + 2 < p.count, p[j + 1] == 0x2D, p[j + 2] != 0x5D {
                    b = p[j + 2]
                    guard b >= a, b < 0x7F, b != 0x5C, b != 0x5B else { return nil }
                    j += 3
                } else {
                    j += 1
                }
                for c in a...b { set[Int(c >> 6)] |= 1 << (c & 63) }
            }
            guard j < p.count else { return nil }
            return (set, j + 1)
        }
        // The byte: a literal one (not a metacharacter) or a class of one byte.
        let first: UInt8
        if let (set, next) = bracket(0), set.map(\.nonzeroBitCount).reduce(0, +) == 1 {
            let k = set.firstIndex { $0 != 0 }.unsafelyUnwrapped
            first = UInt8(k * 64 + set[k].trailingZeroBitCount)
            i = next
        } else {
            guard let c = p.first, c >= 0x20, c < 0x7F, !EndLiterals.isMeta(c) else { return nil }
            first = c
            i = 1
        }
        guard let (n, afterByte) = atLeast(i), let (classSet, afterClass) = bracket(afterByte),
              let (m, afterRun) = atLeast(afterClass), afterRun == p.count - 1, p[afterRun] == 0x24
        else {
            return nil
        }
        var set = classSet
        let isLetter = (first | 0x20) &- 0x61 < 26
        if caseInsensitive {
            // Both cases of each letter the class holds.
            for c in UInt8(0x41)...UInt8(0x5A) {
                let l = c | 0x20
                if set[Int(c >> 6)] & (1 << (c & 63)) != 0 || set[Int(l >> 6)] & (1 << (l & 63)) != 0 {
                    set[Int(c >> 6)] |= 1 << (c & 63)
                    set[Int(l >> 6)] |= 1 << (l & 63)
                }
            }
        }
        let folds = caseInsensitive && isLetter
        // The byte (either case when it folds) must not be in the class.
        for b in folds ? [first | 0x20, first & 0xDF] : [first] where set[Int(b >> 6)] & (1 << (b & 63)) != 0 { return nil }
        byte = folds ? first | 0x20 : first
        byteFolds = folds
        minimumBytes = n
        self.set = set
        minimumRun = m
    }

    /// Whether the text matches (see the type).
    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if endsWithRun(text, text.count) { return true }
        return text.count > 0 && text[text.count - 1] == 0x0A && endsWithRun(text, text.count - 1)
    }

    private func endsWithRun(_ text: UnsafeBufferPointer<UInt8>, _ end: Int) -> Bool {
        var start = end
        while start > 0, set[Int(text[start - 1] >> 6)] & (1 << (text[start - 1] & 63)) != 0 { start -= 1 }
        guard end - start >= minimumRun, start >= minimumBytes else { return false }
        for k in (start - minimumBytes)..<start {
            let b = byteFolds ? text[k] | 0x20 : text[k]
            // A folding byte is a letter: `| 0x20` maps only its two cases to it.
            if b != byte { return false }
        }
        return true
    }
}

/// Per-evaluation state of the engines (PCRE2 match data), never shared between threads: owned
/// (made and freed) by the ``RuleInput`` of one evaluation.
struct MatchScratch {
    let pcreMatchData: OpaquePointer?

    /// New match data, to be given back with ``free()``.
    static func allocate() -> MatchScratch { MatchScratch(pcreMatchData: pcre2_match_data_create_8(1, nil)) }

    func free() { if let pcreMatchData { pcre2_match_data_free_8(pcreMatchData) } }
}

protocol PatternMatcher: Sendable {
    func matches(_ text: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool
    /// Whether a match starts at `offset` or later (what comes before may still be read by
    /// look-behinds and `\b`): the caller knows no match can start earlier. Engines that cannot
    /// start late read the whole text, which gives the same answer.
    func matches(_ text: UnsafeBufferPointer<UInt8>, from offset: Int, scratch: MatchScratch) -> Bool
}

extension PatternMatcher {
    func matches(_ text: UnsafeBufferPointer<UInt8>, from offset: Int, scratch: MatchScratch) -> Bool {
        matches(text, scratch: scratch)
    }
}

/// PCRE2, JIT-compiled when the platform supports it.
///
/// `@unchecked Sendable`: the compiled code is never changed after `init`, and PCRE2 documents
/// compiled (and JIT-compiled) patterns as safe to share between threads; match data is per call
/// (``MatchScratch``).
final class PCRE2Matcher: PatternMatcher, @unchecked Sendable {
    let code: OpaquePointer
    /// Whether the JIT compiled the pattern: matches then go to `pcre2_jit_match` directly
    /// (`pcre2_match` checks its arguments and options before handing over, about 150
    /// instructions a call, most of a call on a short header value).
    let isJIT: Bool

    /// - Parameter anchored: compiled with PCRE2_ANCHORED: a match must start at the offset given.
    init(_ pattern: String, caseInsensitive: Bool, rule: String, anchored: Bool = false) throws(RuleError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        var options: UInt32 = 0
        if caseInsensitive { options |= PCRE2_CASELESS }
        if anchored { options |= PCRE2_ANCHORED }
        let compiled: OpaquePointer? = pattern.utf8CString.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: UInt8.self) { u in
                pcre2_compile_8(u.baseAddress, u.count - 1, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
            let message = n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "error \(errorCode)"
            throw RuleError(.invalidRegex, rule: rule, message + " in /\(pattern)/", offset: errorOffset)
        }
        code = compiled
        // Without JIT support (some platforms) the interpreter is used.
        isJIT = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE) == 0
    }

    /// Whether the compiled pattern starts with a fixed byte (PCRE2_INFO_FIRSTCODETYPE 1), which
    /// PCRE2 looks for by itself before trying a match.
    var hasFirstCodeUnit: Bool {
        var type: UInt32 = 0
        return pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_FIRSTCODETYPE), &type) == 0 && type == 1
    }

    deinit { pcre2_code_free_8(code) }

    func matches(_ text: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        matches(text, from: 0, scratch: scratch)
    }

    func matches(_ text: UnsafeBufferPointer<UInt8>, from offset: Int, scratch: MatchScratch) -> Bool {
        guard let md = scratch.pcreMatchData else { return false }
        // An empty buffer may have no base address; PCRE2 accepts a non-null pointer with length 0.
        var empty: UInt8 = 0
        let rc: Int32
        if let base = text.baseAddress {
            // The arguments are what pcre2_jit_match requires unchecked: a pattern it compiled,
            // a subject, an offset within it, match data, no options.
            let start = min(max(0, offset), text.count)
            rc = isJIT ? pcre2_jit_match_8(code, base, text.count, start, 0, md, nil) : pcre2_match_8(code, base, text.count, start, 0, md, nil)
        } else {
            rc = pcre2_match_8(code, &empty, 0, 0, 0, md, nil)
        }
        return rc >= 0 || rc == PCRE2_ERROR_PARTIAL
    }
}

/// POSIX extended regular expressions (glibc), over byte ranges with `REG_STARTEND`.
///
/// `@unchecked Sendable`: the `regex_t` is only read after `regcomp`; glibc's `regexec` takes
/// a lock inside the pattern, so concurrent calls are safe (if serialized).
final class POSIXMatcher: PatternMatcher, @unchecked Sendable {
    let regex: UnsafeMutablePointer<regex_t>

    init(_ pattern: String, caseInsensitive: Bool, rule: String) throws(RuleError) {
        regex = .allocate(capacity: 1)
        var flags = REG_EXTENDED | REG_NOSUB
        if caseInsensitive { flags |= REG_ICASE }
        let rc = regcomp(regex, pattern, flags)
        if rc != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            regerror(rc, regex, &buffer, buffer.count)
            regex.deallocate()
            let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw RuleError(.invalidRegex, rule: rule, message + " in /\(pattern)/")
        }
    }

    deinit {
        regfree(regex)
        regex.deallocate()
    }

    func matches(_ text: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        guard let base = text.baseAddress else { return regexec(regex, "", 0, nil, 0) == 0 }
        var m = regmatch_t(rm_so: 0, rm_eo: regoff_t(text.count))
        // REG_STARTEND (4, a BSD/glibc extension): match base[rm_so..<rm_eo], NULs included.
        return base.withMemoryRebound(to: CChar.self, capacity: text.count) { p in
            regexec(regex, p, 1, &m, 4) == 0
        }
    }
}

/// Swift's `Regex` (for comparison only: it needs the text as a `String`).
///
/// `@unchecked Sendable`: the regex is never mutated after `init`.
final class SwiftRegexMatcher: PatternMatcher, @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String, caseInsensitive: Bool, rule: String) throws(RuleError) {
        do {
            let r = try Regex(pattern)
            regex = caseInsensitive ? r.ignoresCase() : r
        } catch {
            throw RuleError(.invalidRegex, rule: rule, "\(error) in /\(pattern)/")
        }
    }

    func matches(_ text: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        let s = String(decoding: text, as: UTF8.self)
        return (try? regex.firstMatch(in: s)) != nil
    }
}
