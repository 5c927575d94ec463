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

    /// The same, the prefilter reading `text` itself (no folded copy to make). With leading
    /// literals, the regex runs from the first of them (no match starts before it) or not at all.
    func matches(_ text: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        if let leading {
            guard let first = firstLeading(text, leading) else { return false }
            return matcher.matches(text, from: first, scratch: scratch)
        }
        if let prefilter, !prefilter.mayMatch(unfolded: text) { return false }
        return matcher.matches(text, scratch: scratch)
    }
}

/// Per-evaluation state of the engines (PCRE2 match data), never shared between threads.
final class MatchScratch {
    let pcreMatchData: OpaquePointer?
    init() { pcreMatchData = pcre2_match_data_create_8(1, nil) }
    deinit { if let pcreMatchData { pcre2_match_data_free_8(pcreMatchData) } }
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

    init(_ pattern: String, caseInsensitive: Bool, rule: String) throws(RuleError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        var options: UInt32 = 0
        if caseInsensitive { options |= PCRE2_CASELESS }
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
        _ = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE)
    }

    deinit { pcre2_code_free_8(code) }

    func matches(_ text: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        matches(text, from: 0, scratch: scratch)
    }

    func matches(_ text: UnsafeBufferPointer<UInt8>, from offset: Int, scratch: MatchScratch) -> Bool {
        guard let md = scratch.pcreMatchData else { return false }
        // An empty buffer may have no base address; PCRE2 accepts a non-null pointer with length 0.
        var empty: UInt8 = 0
        let rc: Int32 =
            if let base = text.baseAddress {
                pcre2_match_8(code, base, text.count, min(max(0, offset), text.count), 0, md, nil)
            } else {
                pcre2_match_8(code, &empty, 0, 0, 0, md, nil)
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
