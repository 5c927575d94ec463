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
struct LiteralPrefilter: Sendable, Hashable {
    /// At least one must occur (lower-cased bytes).
    let anyOf: [[UInt8]]

    /// Literals shorter than this are not worth a prefilter.
    static let minimumLength = 3

    init?(pattern: String) {
        let p = Array(pattern.utf8)
        // Extended mode and quoting change the meaning of literal characters: no prefilter.
        if Self.hasExtendedOrQuoting(p) { return nil }
        var alternatives: [[UInt8]] = []
        for alt in Self.topLevelAlternatives(p) {
            guard let lit = Self.longestLiteral(p[alt]), lit.count >= Self.minimumLength else { return nil }
            alternatives.append(lit.map(Self.lower))
        }
        guard !alternatives.isEmpty else { return nil }
        anyOf = alternatives
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

    /// The longest required literal run of one alternative (no `|` at its top level).
    static func longestLiteral(_ p: ArraySlice<UInt8>) -> [UInt8]? {
        var best: [UInt8] = []
        var run: [UInt8] = []
        func flush() {
            if run.count > best.count { best = run }
            run.removeAll(keepingCapacity: true)
        }
        var i = p.startIndex
        let end = p.endIndex
        while i < end {
            let c = p[i]
            var atom: UInt8? = nil  // a literal byte, or nil for anything else
            var next = i + 1
            switch c {
            case 0x5C:  // backslash
                guard i + 1 < end else { return nil }
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
                        return best.count >= minimumLength ? best : nil
                    }
                    atom = nil
                } else {
                    atom = e
                }
            case 0x28:  // a group: skip it whole
                var depth = 0
                var j = i
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
                next = j + 1
            case 0x5B:  // a class: skip it
                var j = i + 1
                if j < end, p[j] == 0x5E { j += 1 }
                if j < end, p[j] == 0x5D { j += 1 }
                while j < end, p[j] != 0x5D {
                    if p[j] == 0x5C { j += 1 }
                    j += 1
                }
                next = j + 1
            case 0x2E, 0x5E, 0x24:  // . ^ $
                atom = nil
            case 0x2A, 0x2B, 0x3F, 0x7B, 0x7C, 0x29:
                // A quantifier without an atom, a stray ')' or '|': give up on the rest.
                return best.count >= minimumLength ? best : nil
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
            } else {
                flush()
            }
            i = next
        }
        flush()
        return best.count >= minimumLength ? best : nil
    }

    /// Whether one of the literals occurs in `folded` (ASCII-folded text).
    func mayMatch(_ folded: UnsafeBufferPointer<UInt8>) -> Bool {
        for lit in anyOf where Self.contains(folded, lit) { return true }
        return false
    }

    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let base = hay.baseAddress, hay.count >= needle.count, !needle.isEmpty else { return needle.isEmpty }
        return needle.withUnsafeBufferPointer { n in
            guard let nb = n.baseAddress else { return false }
            let first = Int32(nb[0])
            var offset = 0
            let last = hay.count - n.count
            while offset <= last {
                guard let hit = memchr(base + offset, first, last - offset + 1) else { return false }
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + at, nb, n.count) == 0 { return true }
                offset = at + 1
            }
            return false
        }
    }
}
