#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Literal text a regular expression cannot match without: checked with `memchr`/`memcmp`
/// before the regex runs, so that most rules never run their regex.
///
/// For a pattern whose top level is `A|B|C`, each alternative must give a literal, and the
/// prefilter passes when any of them is present. Within an alternative, the longest run of literal
/// bytes at the top level (not inside a group or class, not made optional by `?`, `*` or `{0,…}`)
/// is taken. Literals are ASCII-folded to lower case and searched in the ASCII-folded text, so the
/// prefilter is right for case-sensitive and case-insensitive rules alike. Patterns with constructs
/// that change how literals read (`(?x)`, `\Q…\E`, `\x`, `\N`, back references) get no prefilter.
///
/// A required group whose alternatives all give literals counts too: `(next of kin|beneficiary) .*usd`
/// needs `next of kin` or `beneficiary`. A pattern without top-level `|` keeps every such
/// condition, and the text must pass them all (`X-(Mailer|Library): *(Bulk|Mass) ?Mail` needs one
/// of `mailer`/`library`, one of `bulk`/`mass`, and `mail`); with top-level alternatives, each
/// gives its most selective condition (longest shortest literal), and one of them must pass.
struct LiteralPrefilter: Sendable, Hashable {
    /// Conditions that must all hold; each is a set of literals (lower-cased bytes) of which at
    /// least one must occur. The first is the most selective.
    let allOf: [[[UInt8]]]

    /// The most selective condition: at least one must occur.
    var anyOf: [[UInt8]] { allOf.first ?? [] }

    /// A literal with the position of its rarest byte (in English text and mail), which is what
    /// `memchr` looks for: `the sum of` is searched by its `f`, not by the very common `t`.
    struct Needle: Sendable, Hashable {
        var bytes: [UInt8]
        var rareIndex: Int

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            var best = 0
            for (i, b) in bytes.enumerated() where Needle.frequency(b) < Needle.frequency(bytes[best]) { best = i }
            rareIndex = best
        }

        /// Rough frequency rank of a lower-cased byte in mail text (higher: more common).
        static func frequency(_ b: UInt8) -> Int {
            switch b {
            case 0x20: return 1800
            case UInt8(ascii: "e"): return 1000
            case UInt8(ascii: "t"): return 750
            case UInt8(ascii: "a"): return 650
            case UInt8(ascii: "o"): return 620
            case UInt8(ascii: "i"): return 600
            case UInt8(ascii: "n"): return 580
            case UInt8(ascii: "s"): return 530
            case UInt8(ascii: "r"): return 500
            case UInt8(ascii: "h"): return 450
            case UInt8(ascii: "l"): return 350
            case UInt8(ascii: "d"): return 330
            case UInt8(ascii: "c"): return 250
            case UInt8(ascii: "u"): return 230
            case UInt8(ascii: "m"): return 200
            case UInt8(ascii: "w"), UInt8(ascii: "f"): return 180
            case UInt8(ascii: "g"): return 170
            case UInt8(ascii: "y"): return 160
            case UInt8(ascii: "p"): return 150
            case 0x0A, 0x0D: return 150
            case UInt8(ascii: "b"): return 120
            case UInt8(ascii: "."), UInt8(ascii: ","): return 100
            case UInt8(ascii: "v"): return 80
            case UInt8(ascii: "k"): return 70
            case 0x30...0x39: return 50
            case UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "<"), UInt8(ascii: ">"),
                 UInt8(ascii: "\""), UInt8(ascii: "'"), 0x09:
                return 40
            case UInt8(ascii: "x"): return 15
            case UInt8(ascii: "j"), UInt8(ascii: "q"): return 10
            case UInt8(ascii: "z"): return 7
            case 0x80...: return 20
            default: return 10
            }
        }
    }

    /// ``allOf`` as needles.
    let needles: [[Needle]]

    /// Literals shorter than this are not worth a prefilter.
    static let minimumLength = 3

    init?(pattern: String) {
        let p = Array(pattern.utf8)
        // Extended mode and quoting change the meaning of literal characters: no prefilter.
        if Self.hasExtendedOrQuoting(p) { return nil }
        let alternatives = Self.topLevelAlternatives(p)
        if alternatives.count == 1 {
            let sets = Self.requiredSets(p[alternatives[0]], nesting: 0)
            guard !sets.isEmpty else { return nil }
            allOf = Self.bySelectivity(sets).map { $0.map { $0.map(Self.lower) } }
            needles = allOf.map { $0.map(Needle.init) }
            return
        }
        var union: [[UInt8]] = []
        for alt in alternatives {
            guard let best = Self.bySelectivity(Self.requiredSets(p[alt], nesting: 0)).first else { return nil }
            union.append(contentsOf: best)
        }
        guard !union.isEmpty else { return nil }
        allOf = [union.map { $0.map(Self.lower) }]
        needles = allOf.map { $0.map(Needle.init) }
    }

    /// Conditions ordered by their shortest literal, longest first (stable).
    static func bySelectivity(_ sets: [[[UInt8]]]) -> [[[UInt8]]] {
        let keyed = sets.enumerated().map { (i: $0.offset, set: $0.element, min: $0.element.map(\.count).min() ?? 0) }
        return keyed.sorted { $0.min != $1.min ? $0.min > $1.min : $0.i < $1.i }.map(\.set)
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b &- 65) < 26 ? b | 0x20 : b }

    static func hasExtendedOrQuoting(_ p: [UInt8]) -> Bool {
        var i = 0
        while i < p.count {
            if p[i] == 0x5C, i + 1 < p.count {  // backslash
                if p[i + 1] == UInt8(ascii: "Q") { return true }
                i += 2
                continue
            }
            if p[i] == 0x28, i + 1 < p.count, p[i + 1] == 0x3F {  // "(?"
                // Option letters up to ')' or ':'.
                var j = i + 2
                while j < p.count, p[j] != 0x29, p[j] != 0x3A {
                    if p[j] == UInt8(ascii: "x") { return true }
                    if !(p[j] == 0x2D || (p[j] >= 0x61 && p[j] <= 0x7A) || p[j] == 0x5E) { break }
                    j += 1
                }
            }
            i += 1
        }
        return false
    }

    /// Index ranges of the top-level alternatives.
    static func topLevelAlternatives(_ p: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var depth = 0
        var start = 0
        var i = 0
        var inClass = false
        while i < p.count {
            let c = p[i]
            if c == 0x5C {
                i += 2
                continue
            }
            if inClass {
                if c == 0x5D { inClass = false }
            } else if c == 0x5B {
                inClass = true
                // A ']' right after '[' or '[^' is literal.
                if i + 1 < p.count, p[i + 1] == 0x5E { i += 1 }
                if i + 1 < p.count, p[i + 1] == 0x5D { i += 1 }
            } else if c == 0x28 {
                depth += 1
            } else if c == 0x29 {
                depth -= 1
            } else if c == 0x7C, depth == 0 {
                out.append(start..<i)
                start = i + 1
            }
            i += 1
        }
        out.append(start..<p.count)
        return out
    }

    /// The conditions one alternative (no `|` at its top level) cannot match without: each
    /// literal run of at least ``minimumLength`` bytes (a set of one), and each required group
    /// whose alternatives all have such conditions (a set of their most selective ones).
    static func requiredSets(_ p: ArraySlice<UInt8>, nesting: Int) -> [[[UInt8]]] {
        var sets: [[[UInt8]]] = []
        var run: [UInt8] = []
        func flush() {
            if run.count >= minimumLength { sets.append([run]) }
            run.removeAll(keepingCapacity: true)
        }
        var group: [[UInt8]]? = nil  // the condition of the group just read
        var plainGroup: [[UInt8]]? = nil  // its alternatives, when each is plain text
        var i = p.startIndex
        let end = p.endIndex
        while i < end {
            let c = p[i]
            var atom: UInt8? = nil  // a literal byte, or nil for anything else
            var next = i + 1
            switch c {
            case 0x5C:  // backslash
                guard i + 1 < end else { return [] }
                let e = p[i + 1]
                next = i + 2
                let isAlnum = (e >= 0x30 && e <= 0x39) || (e | 0x20 >= 0x61 && e | 0x20 <= 0x7A)
                if isAlnum {
                    // Classes (\d \w \s), assertions (\b \A), escapes whose length varies
                    // (\x{..} \N \p{..}), back references: not literals.
                    if e == UInt8(ascii: "x") || e == UInt8(ascii: "p") || e == UInt8(ascii: "P") || e == UInt8(ascii: "N")
                        || e == UInt8(ascii: "g") || e == UInt8(ascii: "k") || e == UInt8(ascii: "c") || e == UInt8(ascii: "o")
                        || (e >= 0x30 && e <= 0x39)
                    {
                        flush()
                        return sets
                    }
                    atom = nil
                } else {
                    atom = e
                }
            case 0x28:  // a group: skip it whole
                let j = groupEnd(p, from: i)
                next = j + 1
                group = j < end ? groupCondition(p[(i + 1)..<j], nesting: nesting) : nil
                plainGroup = j < end ? plainAlternatives(p[(i + 1)..<j]) : nil
            case 0x5B:  // a class: skip it
                next = classEnd(p, from: i) + 1
            case 0x2E, 0x5E, 0x24:  // . ^ $
                atom = nil
            case 0x2A, 0x2B, 0x3F, 0x7B, 0x7C, 0x29:
                // A quantifier without an atom, a stray ')' or '|': give up on the rest.
                flush()
                return sets
            default:
                atom = c
            }
            // A quantifier after the atom?
            var optional = false
            var repeated = false
            if next < end {
                switch p[next] {
                case 0x2A, 0x3F:  // * ?
                    optional = true
                    next += 1
                case 0x2B:  // +
                    repeated = true
                    next += 1
                case 0x7B:  // {n,m}
                    var j = next + 1
                    var digits: [UInt8] = []
                    while j < end, p[j] >= 0x30, p[j] <= 0x39 {
                        digits.append(p[j])
                        j += 1
                    }
                    if !digits.isEmpty, j < end, p[j] == 0x7D || p[j] == 0x2C {
                        while j < end, p[j] != 0x7D { j += 1 }
                        let n = Int(String(decoding: digits, as: UTF8.self)) ?? 0
                        if n == 0 { optional = true } else { repeated = true }
                        next = j + 1
                    }
                default: break
                }
                // Lazy or possessive suffix.
                if optional || repeated, next < end, p[next] == 0x3F || p[next] == 0x2B { next += 1 }
            }
            if let atom, !optional {
                run.append(atom)
                if repeated { flush() }
            } else if let alternatives = plainGroup, !optional, !run.isEmpty,
                      alternatives.allSatisfy({ run.count + $0.count >= minimumLength }) {
                // A required group of plain alternatives right after literal text: the text and
                // one of them occur together (`X-(Mailer|Library)` needs `x-mailer` or
                // `x-library`), a condition stronger than each alone.
                sets.append(alternatives.map { run + $0 })
                run.removeAll(keepingCapacity: true)
            } else {
                flush()
                if let g = group, !optional { sets.append(g) }
            }
            group = nil
            plainGroup = nil
            i = next
        }
        flush()
        return sets
    }

    /// The index of the `]` that closes the class opened at `start` (`p[start]` is `[`): a `]`
    /// right after `[` or `[^` is a member, escapes are skipped, and so are POSIX classes
    /// (`[[:alpha:]]`, `[[.a.]]`, `[[=a=]]`: their `]` does not close the class; read as the end
    /// of the class, the rest of it became literal text, a condition the regex does not have);
    /// `p.endIndex` or beyond when it is not closed.
    static func classEnd(_ p: ArraySlice<UInt8>, from start: Int) -> Int {
        let end = p.endIndex
        var j = start + 1
        if j < end, p[j] == 0x5E { j += 1 }
        if j < end, p[j] == 0x5D { j += 1 }
        while j < end, p[j] != 0x5D {
            if p[j] == 0x5C {
                j += 2
                continue
            }
            if p[j] == 0x5B, j + 1 < end, p[j + 1] == 0x3A || p[j + 1] == 0x2E || p[j + 1] == 0x3D {
                // `[:name:]` up to its `:]` (or `.]`, `=]`).
                let kind = p[j + 1]
                var k = j + 2
                while k + 1 < end, !(p[k] == kind && p[k + 1] == 0x5D) { k += 1 }
                j = k + 2
                continue
            }
            j += 1
        }
        return j
    }

    /// The condition a group's content (between its parentheses) gives: one literal set from
    /// each of its alternatives, or nil (a look-around, a named or option group, or an
    /// alternative without a literal). Nesting is bounded.
    /// The index of the `)` that closes the group opened at `start` (`p[start]` is `(`), skipping
    /// escapes and character classes; `p.endIndex` or beyond when the group is not closed.
    static func groupEnd(_ p: ArraySlice<UInt8>, from start: Int) -> Int {
        let end = p.endIndex
        var depth = 0
        var j = start
        var inClass = false
        while j < end {
            let d = p[j]
            if d == 0x5C {
                j += 2
                continue
            }
            if inClass {
                if d == 0x5D { inClass = false }
            } else if d == 0x5B {
                inClass = true
                if j + 1 < end, p[j + 1] == 0x5E { j += 1 }
                if j + 1 < end, p[j + 1] == 0x5D { j += 1 }
            } else if d == 0x28 {
                depth += 1
            } else if d == 0x29 {
                depth -= 1
                if depth == 0 { break }
            }
            j += 1
        }
        return j
    }

    /// The alternatives of a group's content when each is plain text (no escape, class, group,
    /// quantifier, anchor or `.`), and the group is a plain or `(?:` group; else nil.
    static func plainAlternatives(_ inner: ArraySlice<UInt8>) -> [[UInt8]]? {
        var content = inner
        if content.first == 0x3F {  // "(?"
            guard content.count >= 2, content[content.startIndex + 1] == 0x3A else { return nil }
            content = content.dropFirst(2)
        }
        var out: [[UInt8]] = [[]]
        for c in content {
            switch c {
            case 0x7C:  // |
                out.append([])
            case 0x5C, 0x28, 0x29, 0x5B, 0x5D, 0x2E, 0x5E, 0x24, 0x2A, 0x2B, 0x3F, 0x7B, 0x7D:  // \ ( ) [ ] . ^ $ * + ? { }
                return nil
            default:
                out[out.count - 1].append(c)
            }
        }
        return out.contains(where: \.isEmpty) ? nil : out
    }

    static func groupCondition(_ inner: ArraySlice<UInt8>, nesting: Int) -> [[UInt8]]? {
        guard nesting < 4 else { return nil }
        var content = inner
        if content.first == 0x3F {  // "(?"
            // Only "(?:" keeps the meaning of what follows; look-arounds, names, options do not.
            guard content.count >= 2, content[content.startIndex + 1] == 0x3A else { return nil }
            content = content.dropFirst(2)
        }
        let body = Array(content)
        var union: [[UInt8]] = []
        for alt in topLevelAlternatives(body) {
            guard let best = bySelectivity(requiredSets(body[alt], nesting: nesting + 1)).first else { return nil }
            union.append(contentsOf: best)
        }
        return union.isEmpty ? nil : union
    }

    /// Whether one of the literals occurs in `folded` (ASCII-folded text).
    func mayMatch(_ folded: UnsafeBufferPointer<UInt8>) -> Bool {
        for condition in needles {
            var found = false
            for lit in condition where Self.contains(folded, lit) {
                found = true
                break
            }
            if !found { return false }
        }
        return true
    }

    /// ``mayMatch(_:)`` on the text as it is (no folded copy): each literal is looked for by its
    /// rarest byte in both cases when that byte is a letter, and compared folded around it.
    func mayMatch(unfolded text: UnsafeBufferPointer<UInt8>) -> Bool {
        for condition in needles {
            var found = false
            for lit in condition where Self.containsFolded(text, lit) {
                found = true
                break
            }
            if !found { return false }
        }
        return true
    }

    /// Where `needle` (lower case) first occurs in `hay` with its ASCII upper case folded (the
    /// first of the occurrences with either case of its rare byte), nil when it does not.
    static func firstFolded(_ hay: UnsafeBufferPointer<UInt8>, _ needle: Needle) -> Int? {
        let n = needle.bytes
        guard hay.baseAddress != nil, hay.count >= n.count, !n.isEmpty else { return n.isEmpty ? 0 : nil }
        let rare = n[needle.rareIndex]
        let first = firstFolded(hay, needle, rareByte: rare)
        guard rare &- 0x61 < 26, let other = firstFolded(hay, needle, rareByte: rare & 0xDF) else { return first }
        return first.map { min($0, other) } ?? other
    }

    /// Where `needle` (lower case) first occurs in `hay` with its ASCII upper case folded and its
    /// rare byte (``Needle/rareIndex``) exactly `rareByte` (its lower or, for a letter, its upper
    /// case), nil when it does not: the occurrences of ``firstFolded(_:_:)`` with that case of
    /// the rare byte.
    static func firstFolded(_ hay: UnsafeBufferPointer<UInt8>, _ needle: Needle, rareByte rare: UInt8) -> Int? {
        let n = needle.bytes
        guard let base = hay.baseAddress, hay.count >= n.count, !n.isEmpty else { return n.isEmpty ? 0 : nil }
        return n.withUnsafeBufferPointer { nb in
            let r = needle.rareIndex
            let count = nb.count
            let last = hay.count - count
            var start = 0
            while start <= last {
                guard let hit = memchr(base + start + r, Int32(rare), last - start + 1) else { return nil }
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) - r
                if lower(base[at]) == nb[0], lower(base[at + count - 1]) == nb[count - 1] {
                    var k = 1
                    while k < count - 1, lower(base[at + k]) == nb[k] { k += 1 }
                    if k >= count - 1 { return at }
                }
                start = at + 1
            }
            return nil
        }
    }

    /// Whether `needle` (lower case) occurs in `hay` with its ASCII upper case folded: `memchr`
    /// for the rare byte (then for its upper case), the bytes around it compared folded.
    static func containsFolded(_ hay: UnsafeBufferPointer<UInt8>, _ needle: Needle) -> Bool {
        let n = needle.bytes
        guard let base = hay.baseAddress, hay.count >= n.count, !n.isEmpty else { return n.isEmpty }
        return n.withUnsafeBufferPointer { nb in
            let r = needle.rareIndex
            let count = nb.count
            let last = hay.count - count
            func find(_ rare: UInt8) -> Bool {
                // Candidate starts are 0...last; the rare byte of a start s sits at s + r.
                var start = 0
                while start <= last {
                    guard let hit = memchr(base + start + r, Int32(rare), last - start + 1) else { return false }
                    let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) - r
                    // The first and last bytes first (most candidates fail there).
                    if lower(base[at]) == nb[0], lower(base[at + count - 1]) == nb[count - 1] {
                        var k = 1
                        while k < count - 1, lower(base[at + k]) == nb[k] { k += 1 }
                        if k >= count - 1 { return true }
                    }
                    start = at + 1
                }
                return false
            }
            let rare = nb[r]
            if find(rare) { return true }
            // A lower-case letter also matches its upper case.
            return rare &- 0x61 < 26 && find(rare & 0xDF)
        }
    }

    /// Whether `needle` occurs in `hay`: `memchr` for its rarest byte, then `memcmp` around it.
    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: Needle) -> Bool {
        let n = needle.bytes
        guard let base = hay.baseAddress, hay.count >= n.count, !n.isEmpty else { return n.isEmpty }
        return n.withUnsafeBufferPointer { nb in
            guard let np = nb.baseAddress else { return false }
            let r = needle.rareIndex
            let rare = Int32(np[r])
            // Candidate starts are 0...last; the rare byte of a start s sits at s + r.
            let last = hay.count - nb.count
            var start = 0
            while start <= last {
                guard let hit = memchr(base + start + r, rare, last - start + 1) else { return false }
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) - r
                // The first and last bytes inline before the call (most candidates fail there).
                if base[at] == np[0], base[at + nb.count - 1] == np[nb.count - 1], memcmp(base + at, np, nb.count) == 0 {
                    return true
                }
                start = at + 1
            }
            return false
        }
    }
}

extension LiteralPrefilter {
    /// Literals (lower-cased) one of which every match of `pattern` starts with, ASCII
    /// case-insensitively; nil when that cannot be told. `click here to (be )?removed` starts with
    /// `click here to `, `(earn|make) \$?[0-9]+` with `earn` or `make`, `abc|(def|ghi)x` with one
    /// of the three. A regex need not be run from before the first occurrence of these.
    static func leadingLiterals(pattern: String) -> [[UInt8]]? {
        let p = Array(pattern.utf8)
        if hasExtendedOrQuoting(p) { return nil }
        var out: [[UInt8]] = []
        for alt in topLevelAlternatives(p) {
            guard let l = leading(p[alt], nesting: 0) else { return nil }
            for lit in l where !out.contains(lit) { out.append(lit) }
        }
        return out.isEmpty ? nil : out
    }

    /// ``leadingLiterals(pattern:)`` of one alternative (no `|` at its top level).
    static func leading(_ p: ArraySlice<UInt8>, nesting: Int) -> [[UInt8]]? {
        guard nesting < 4 else { return nil }
        var i = p.startIndex
        let end = p.endIndex
        // \b and \B at the start match no byte: the match still starts with what follows.
        while i + 1 < end, p[i] == 0x5C, p[i + 1] == UInt8(ascii: "b") || p[i + 1] == UInt8(ascii: "B") { i += 2 }
        guard i < end else { return nil }
        if p[i] == 0x28 {
            // A group first: each of its alternatives must start with a literal.
            let j = groupEnd(p, from: i)
            guard j < end else { return nil }
            // A group that may be skipped (`?`, `*`, `{…}`) does not start every match.
            if j + 1 < end, p[j + 1] == 0x3F || p[j + 1] == 0x2A || p[j + 1] == 0x7B { return nil }
            var inner = p[(i + 1)..<j]
            if inner.first == 0x3F {  // "(?": only "(?:" is a plain group
                guard inner.count >= 2, inner[inner.startIndex + 1] == 0x3A else { return nil }
                inner = inner.dropFirst(2)
            }
            let body = Array(inner)
            var out: [[UInt8]] = []
            for alt in topLevelAlternatives(body) {
                guard let l = leading(body[alt], nesting: nesting + 1) else { return nil }
                out.append(contentsOf: l)
            }
            return out.isEmpty ? nil : out
        }
        // A run of literal bytes; an atom made optional by a quantifier ends it before itself,
        // one repeated by `+` after itself.
        var run: [UInt8] = []
        scan: while i < end {
            let c = p[i]
            var next = i + 1
            let atom: UInt8
            switch c {
            case 0x5C:
                guard i + 1 < end else { break scan }
                let e = p[i + 1]
                let isAlnum = (e >= 0x30 && e <= 0x39) || (e | 0x20 >= 0x61 && e | 0x20 <= 0x7A)
                if isAlnum { break scan }
                atom = e
                next = i + 2
            case 0x28:
                // Literal text then a required group of plain alternatives: every match starts with
                // the text and one of them (`X-(Mailer|Library)`).
                let j = groupEnd(p, from: i)
                guard !run.isEmpty, j < end, let alternatives = plainAlternatives(p[(i + 1)..<j]) else { break scan }
                if j + 1 < end, p[j + 1] == 0x3F || p[j + 1] == 0x2A || p[j + 1] == 0x7B { break scan }
                let out = alternatives.map { run + $0.map(lower) }
                guard out.allSatisfy({ $0.count >= minimumLength }) else { break scan }
                return out
            case 0x29, 0x5B, 0x5D, 0x2E, 0x5E, 0x24, 0x2A, 0x2B, 0x3F, 0x7B, 0x7D, 0x7C:
                break scan
            default:
                atom = c
            }
            if next < end {
                let q = p[next]
                if q == 0x2A || q == 0x3F || q == 0x7B { break scan }
                if q == 0x2B {
                    run.append(lower(atom))
                    break scan
                }
            }
            run.append(lower(atom))
            i = next
        }
        return run.count >= minimumLength ? [run] : nil
    }
}
