/// The lexical tokens of an RFC 5322 address list.
struct AddressToken {
    enum Kind: Equatable {
        /// A run of atom characters, dots included ("john.doe", "example.com", "Q.").
        case atom
        /// A quoted string; `text` is its content with escapes undone.
        case quoted
        /// A comment; `text` is its content without the outer parentheses.
        case comment
        /// A domain literal; `text` includes the brackets.
        case literal
        /// One of `< > : ; @ ,`.
        case special(UInt8)
    }
    var kind: Kind
    /// The token's text: a range of ``AddressTokens/bytes`` (of the value itself for atoms and
    /// specials, of the unescaped texts appended after the value for the delimited kinds).
    var text: Range<Int>
    /// White space (or a comment) came before this token.
    var spaceBefore: Bool

    /// Whether this is the special `c` (an ASCII scalar literal, so no Character work).
    func isSpecial(_ c: Unicode.Scalar) -> Bool {
        if case .special(let b) = kind { return UInt32(b) == c.value }
        return false
    }
    var isWord: Bool { kind == .atom || kind == .quoted }
}

/// The tokens of an address list and the bytes their texts index into: the value's bytes,
/// then the unescaped texts of its quoted strings, comments and domain literals. One array for
/// all token texts instead of one per token.
struct AddressTokens {
    var tokens: [AddressToken] = []
    var bytes: [UInt8]
}

enum AddressLexer {
    /// Splits the bytes into tokens. An opening `"`, `(` or `[` that is never closed is
    /// dropped and lexing goes on after it (so `"Unbalanced <a@b>` still yields the address);
    /// once one search for a closer has failed, later openers of that kind are dropped without
    /// searching, which keeps lexing linear.
    static func tokens(_ bytes: [UInt8]) -> AddressTokens {
        var out: [AddressToken] = []
        out.reserveCapacity(min(bytes.count, 32))  // one allocation for most values
        var texts = bytes
        var i = 0
        var space = false
        let n = bytes.count
        var unclosed: Set<UInt8> = []
        while i < n {
            let b = bytes[i]
            switch b {
            case 0x20, 0x09, 0x0D, 0x0A:
                space = true
                i += 1
            case UInt8(ascii: "("), UInt8(ascii: "\""), UInt8(ascii: "["):
                let textStart = texts.count
                guard !unclosed.contains(b), let (kind, end) = delimited(bytes, at: i, into: &texts) else {
                    texts.removeSubrange(textStart...)
                    unclosed.insert(b)
                    i += 1
                    continue
                }
                out.append(AddressToken(kind: kind, text: textStart..<texts.count, spaceBefore: space))
                space = kind == .comment
                i = end
            case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "@"),
                UInt8(ascii: ","):
                out.append(AddressToken(kind: .special(b), text: i..<(i + 1), spaceBefore: space))
                space = false
                i += 1
            case UInt8(ascii: ")"):
                i += 1  // stray
            default:
                let start = i
                while i < n, isAtomByte(bytes[i]) { i += 1 }
                out.append(AddressToken(kind: .atom, text: start..<i, spaceBefore: space))
                space = false
            }
        }
        return AddressTokens(tokens: out, bytes: texts)
    }

    /// A comment, quoted string or domain literal starting at `start`, its text appended to
    /// `text`, and the index after it; `nil` if it is never closed (the caller then removes
    /// what was appended).
    private static func delimited(_ bytes: [UInt8], at start: Int, into text: inout [UInt8]) -> (AddressToken.Kind, Int)? {
        let open = bytes[start]
        if open == UInt8(ascii: "[") { text.append(open) }
        var depth = 1
        var i = start + 1
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\\"), i < bytes.count {
                text.append(bytes[i])
                i += 1
                continue
            }
            switch open {
            case UInt8(ascii: "("):
                if c == UInt8(ascii: "(") {
                    depth += 1
                } else if c == UInt8(ascii: ")") {
                    depth -= 1
                    if depth == 0 { return (.comment, i) }
                }
                text.append(c)
            case UInt8(ascii: "\""):
                if c == UInt8(ascii: "\"") { return (.quoted, i) }
                if c != 0x0D && c != 0x0A { text.append(c) }
            default:
                if c == UInt8(ascii: "]") {
                    text.append(c)
                    return (.literal, i)
                }
                if !ASCII.isWhitespace(c) { text.append(c) }
            }
        }
        return nil
    }

    static func isAtomByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"),
            UInt8(ascii: "["), UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: ","),
            UInt8(ascii: "\""):
            return false
        default:
            return true
        }
    }
}

/// Address-list grammar over ``AddressToken``s. Each step consumes at least one token, and
/// look-aheads stop at the next `<`, so parsing is linear.
struct AddressListParser {
    private let tokens: [AddressToken]
    /// What the tokens' texts index into (a display name built from words is appended).
    private var bytes: [UInt8]
    private var i = 0
    private var result: [MailAddress] = []

    init(_ lexed: AddressTokens) {
        tokens = lexed.tokens
        bytes = lexed.bytes
    }

    mutating func parse() -> [MailAddress] {
        while i < tokens.count, result.count < MailAddress.maxAddresses {
            let t = tokens[i]
            if t.isSpecial(",") || t.isSpecial(";") || t.isSpecial(">") || t.isSpecial(":") {
                i += 1  // separators, group ends, strays
                continue
            }
            let before = i
            parseMailbox()
            if i == before { i += 1 }  // never stall
        }
        return result
    }

    private mutating func parseMailbox() {
        // The phrase: words and comments up to a special.
        var phrase: [AddressToken] = []
        while i < tokens.count, !isSpecialToken(tokens[i]) {
            phrase.append(tokens[i])
            i += 1
        }
        guard i < tokens.count else {
            addressWithoutAt(phrase)
            return
        }
        let stop = tokens[i]
        if stop.isSpecial(":") {
            i += 1  // a group: the phrase is its name; the members follow
        } else if stop.isSpecial("<") {
            parseAngleAddress(phrase: phrase)
        } else if stop.isSpecial("@") {
            parseBareAddress(phrase: phrase)
        } else {
            addressWithoutAt(phrase)
        }
    }

    private func isSpecialToken(_ t: AddressToken) -> Bool {
        if case .special = t.kind { return true }
        return false
    }

    /// `phrase <route:local@domain> (comment)`, with `i` at `<`.
    private mutating func parseAngleAddress(phrase: [AddressToken]) {
        i += 1
        // Obsolete route "@a,@b:" — only if a ':' comes before the end of the brackets.
        if i < tokens.count, tokens[i].isSpecial("@") {
            var j = i
            while j < tokens.count, !tokens[j].isSpecial(">"), !tokens[j].isSpecial(":"), !tokens[j].isSpecial("<") {
                j += 1
            }
            if j < tokens.count, tokens[j].isSpecial(":") { i = j + 1 }
        }
        var spec: [AddressToken] = []
        while i < tokens.count {
            let t = tokens[i]
            if t.isSpecial(">") {
                i += 1
                break
            }
            if t.isSpecial(",") || t.isSpecial(";") || t.isSpecial("<") { break }  // unclosed
            spec.append(t)
            i += 1
        }
        var comments = phrase.filter { $0.kind == .comment }
        while i < tokens.count, tokens[i].kind == .comment {
            comments.append(tokens[i])
            i += 1
        }
        let (local, domain) = addrSpec(spec)
        let name = displayName(phrase) ?? commentName(comments + spec.filter { $0.kind == .comment })
        if local.isEmpty && domain.isEmpty && name == nil { return }  // "<>"
        result.append(MailAddress(displayName: name, localPart: local, domain: domain))
    }

    /// `[junk words] local@domain (comment)`, with `i` at `@`. The local part is the run of
    /// words just before `@` with no white space between them; earlier words are taken as a
    /// display name.
    private mutating func parseBareAddress(phrase: [AddressToken]) {
        var words = phrase.filter { $0.kind != .comment }
        var comments = phrase.filter { $0.kind == .comment }
        var localStart = words.count
        while localStart > 0 {
            localStart -= 1
            if words[localStart].spaceBefore || localStart == 0 { break }
        }
        let nameWords = Array(words[..<localStart])
        words = Array(words[localStart...])

        var spec = words
        // "@" domain, repeated while another "@" follows directly ("a@b@c": the last one wins).
        while i < tokens.count, tokens[i].isSpecial("@") {
            spec.append(tokens[i])
            i += 1
            var first = true
            while i < tokens.count {
                let t = tokens[i]
                if t.kind == .comment {
                    comments.append(t)
                    i += 1
                    continue
                }
                guard t.kind == .atom || t.kind == .literal, first || !t.spaceBefore else { break }
                spec.append(t)
                first = false
                i += 1
            }
        }
        while i < tokens.count, tokens[i].kind == .comment {
            comments.append(tokens[i])
            i += 1
        }
        // "a@b <c@d>": the first was a display name written without quotes.
        if i < tokens.count, tokens[i].isSpecial("<") {
            var shown = nameWords
            let joinedStart = bytes.count
            for t in spec { bytes.append(contentsOf: bytes[t.text]) }
            shown.append(AddressToken(kind: .atom, text: joinedStart..<bytes.count, spaceBefore: !nameWords.isEmpty))
            parseAngleAddress(phrase: shown + comments)
            return
        }
        // Anything else up to the next separator is junk.
        while i < tokens.count, !tokens[i].isSpecial(","), !tokens[i].isSpecial(";"), !tokens[i].isSpecial("<") {
            i += 1
        }
        let (local, domain) = addrSpec(spec)
        let name = displayName(nameWords) ?? commentName(comments)
        result.append(MailAddress(displayName: name, localPart: local, domain: domain))
    }

    /// A phrase with no `@`: one word is a local-only address ("MAILER-DAEMON"); several are a
    /// display name without an address; comments alone are nothing.
    private mutating func addressWithoutAt(_ phrase: [AddressToken]) {
        let words = phrase.filter(\.isWord)
        if words.count == 1 {
            let name = commentName(phrase.filter { $0.kind == .comment })
            result.append(MailAddress(displayName: name, localPart: localPart([words[0]][...]), domain: ""))
        } else if let name = displayName(words) {
            result.append(MailAddress(displayName: name, localPart: "", domain: ""))
        }
    }

    // MARK: Pieces

    /// Splits address tokens at the last `@`.
    /// Splits address tokens at the last `@`. Comments are skipped (by `localPart` and by the
    /// atom/literal test for the domain), so they need not be filtered out first.
    private func addrSpec(_ spec: [AddressToken]) -> (String, String) {
        guard let at = spec.lastIndex(where: { $0.isSpecial("@") }) else {
            return (localPart(spec[...]), "")
        }
        var domain: [UInt8] = []
        for t in spec[(at + 1)...] where t.kind == .atom || t.kind == .literal {
            for c in bytes[t.text] { domain.append(ASCII.lower(c)) }
        }
        return (localPart(spec[..<at]), String(decoding: domain, as: UTF8.self))
    }

    /// The local part: words concatenated (white space between them dropped); a quoted
    /// string stays quoted unless its content is a dot-atom; comments are skipped.
    private func localPart(_ tokens: ArraySlice<AddressToken>) -> String {
        var out: [UInt8] = []
        for t in tokens {
            switch t.kind {
            case .quoted:
                let text = bytes[t.text]
                if Self.isDotAtom(text) {
                    out.append(contentsOf: text)
                } else {
                    out.append(UInt8(ascii: "\""))
                    for c in text {
                        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                        out.append(c)
                    }
                    out.append(UInt8(ascii: "\""))
                }
            case .comment:
                continue
            default:
                out.append(contentsOf: bytes[t.text])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isDotAtom(_ text: ArraySlice<UInt8>) -> Bool {
        guard let first = text.first, let last = text.last, first != UInt8(ascii: "."), last != UInt8(ascii: ".")
        else { return false }
        var previousDot = false
        for c in text {
            if c == UInt8(ascii: ".") {
                if previousDot { return false }
                previousDot = true
                continue
            }
            previousDot = false
            guard c > 0x20, c != 0x7F, AddressLexer.isAtomByte(c), c != UInt8(ascii: "]"), c != UInt8(ascii: "\\")
            else { return false }
        }
        return true
    }

    /// Words joined with single spaces where the original had white space, then RFC 2047
    /// decoded and trimmed; `nil` when empty.
    private func displayName(_ phrase: [AddressToken]) -> String? {
        var out: [UInt8] = []
        var pendingSpace = false
        for t in phrase {
            if t.kind == .comment {
                pendingSpace = true
                continue
            }
            if !out.isEmpty, t.spaceBefore || pendingSpace { out.append(0x20) }
            pendingSpace = false
            out.append(contentsOf: bytes[t.text])
        }
        return Self.cleaned(out[...])
    }

    private func commentName(_ comments: [AddressToken]) -> String? {
        for c in comments {
            if let name = Self.cleaned(bytes[c.text]) { return name }
        }
        return nil
    }

    static func cleaned(_ bytes: ArraySlice<UInt8>) -> String? {
        let decoded = EncodedWords.decode(String(decoding: bytes, as: UTF8.self)).text
        if let trimmed = asciiTrimmed(decoded) { return trimmed.isEmpty ? nil : trimmed }
        var s = Substring(decoded)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s.isEmpty ? nil : String(s)
    }

    /// `s` without leading and trailing white space, computed on bytes, when that is sure to
    /// equal trimming whole Characters by `Character.isWhitespace`: every byte trimmed is ASCII
    /// white space (a Character of its own, or CR LF) and the text left starts and ends with
    /// an ASCII byte that is not white space (which no combining mark can join from outside
    /// the kept range). Otherwise `nil`, and the caller trims Characters.
    private static func asciiTrimmed(_ s: String) -> String? {
        var s = s
        return s.withUTF8 { u -> String? in
            @inline(__always) func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
            var lo = 0
            var hi = u.count
            while lo < hi, isSpace(u[lo]) { lo += 1 }
            while hi > lo, isSpace(u[hi - 1]) { hi -= 1 }
            if lo == hi { return "" }
            // A non-ASCII byte next to the kept range could be (or end) a combining sequence
            // that forms one Character with a trimmed space.
            guard u[lo] < 0x80, u[hi - 1] < 0x80 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: u[lo..<hi]), as: UTF8.self)
        }
    }
}

/// The common single-address shapes of an ASCII value, parsed without tokens: `local@domain`,
/// `<local@domain>`, `Words Of A Name <local@domain>`, `"Quoted Name" <local@domain>` and
/// `local@domain (Comment Name)`, each with optional white space around. For these shapes the
/// result is the one ``AddressListParser`` gives (a test compares the two); any other value
/// (another comment, a second address, escapes, white space inside the angle brackets,
/// non-ASCII bytes, ...) gives `nil` and goes to the full parser.
enum AddressFastPath {
    /// The parse of `u` when it has one of the shapes above, else `nil`.
    static func parse(_ u: UnsafeBufferPointer<UInt8>) -> MailAddress? {
        let n = u.count
        guard n > 0, n <= 512 else { return nil }
        @inline(__always) func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        var hi = n
        while hi > 0, isSpace(u[hi - 1]) { hi -= 1 }
        var lo = 0
        while lo < hi, isSpace(u[lo]) { lo += 1 }
        guard lo < hi else { return nil }
        if u[hi - 1] == UInt8(ascii: ")") {
            return commented(u, lo..<hi)
        }
        if u[hi - 1] != UInt8(ascii: ">") {
            // `local@domain`: one run of atom bytes with one `@` inside.
            return addrSpec(u, lo..<hi).map { MailAddress(displayName: nil, localPart: $0.local, domain: $0.domain) }
        }
        // `PHRASE <local@domain>`: the `<` is the last one before the closing `>`.
        var lt = hi - 1
        while lt > lo, u[lt - 1] != UInt8(ascii: "<") { lt -= 1 }
        guard lt > lo else { return nil }
        let open = lt - 1  // the index of `<`
        guard let spec = addrSpec(u, lt..<(hi - 1)) else { return nil }
        // The phrase before `<`, white space trimmed.
        var pe = open
        while pe > lo, isSpace(u[pe - 1]) { pe -= 1 }
        var name: String? = nil
        if pe > lo {
            if u[lo] == UInt8(ascii: "\"") {
                // One quoted string: no escape, quote or line break inside.
                guard pe - lo >= 2, u[pe - 1] == UInt8(ascii: "\"") else { return nil }
                for i in (lo + 1)..<(pe - 1) {
                    let b = u[i]
                    guard b < 0x80, b != UInt8(ascii: "\""), b != UInt8(ascii: "\\"), b != 0x0D, b != 0x0A else { return nil }
                }
                name = plainName(u, (lo + 1)..<(pe - 1))
                    ?? AddressListParser.cleaned(Array(UnsafeBufferPointer(rebasing: u[(lo + 1)..<(pe - 1)]))[...])
            } else if let plain = plainPhrase(u, lo..<pe) {
                // Atoms separated by single spaces: the phrase as it is.
                name = plain
            } else {
                // Atoms separated by white space, joined with single spaces.
                var out: [UInt8] = []
                out.reserveCapacity(pe - lo)
                var i = lo
                while i < pe {
                    let b = u[i]
                    if isSpace(b) {
                        while i < pe, isSpace(u[i]) { i += 1 }
                        out.append(0x20)
                        continue
                    }
                    guard isPlainAtomByte(b) else { return nil }
                    out.append(b)
                    i += 1
                }
                name = AddressListParser.cleaned(out[...])
            }
        }
        return MailAddress(displayName: name, localPart: spec.local, domain: spec.domain)
    }

    /// `local@domain (comment)` filling `u[r]` (its last byte the `)`), the comment standing in
    /// for the display name as the parser has it: one comment of ASCII bytes other than `(`, `)`
    /// and a backslash (so its text is its bytes), after white space or none. `nil` for anything else.
    private static func commented(_ u: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> MailAddress? {
        var open = r.upperBound - 1  // the index of `(`
        while open > r.lowerBound {
            open -= 1
            let b = u[open]
            if b == UInt8(ascii: "(") { break }
            guard b < 0x80, b != UInt8(ascii: ")"), b != UInt8(ascii: "\\") else { return nil }
        }
        guard u[open] == UInt8(ascii: "(") else { return nil }
        var end = open
        while end > r.lowerBound, u[end - 1] == 0x20 || u[end - 1] == 0x09 || u[end - 1] == 0x0D || u[end - 1] == 0x0A { end -= 1 }
        guard let spec = addrSpec(u, r.lowerBound..<end) else { return nil }
        let text = (open + 1)..<(r.upperBound - 1)
        let name = plainName(u, text) ?? AddressListParser.cleaned(Array(UnsafeBufferPointer(rebasing: u[text]))[...])
        return MailAddress(displayName: name, localPart: spec.local, domain: spec.domain)
    }

    /// What ``AddressListParser/cleaned(_:)`` gives for the ASCII bytes `u[r]` when they hold no
    /// `=?` (no encoded word to decode): the bytes with the white space it trims (space, tab,
    /// LF, VT, FF, CR) trimmed, `nil` when nothing is left. `.some(nil)` is that empty name;
    /// `nil` (an encoded word may start in `r`) leaves the name to `cleaned`.
    private static func plainName(_ u: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String?? {
        var lo = r.lowerBound
        var hi = r.upperBound
        var i = lo
        while i + 1 < hi {
            if u[i] == UInt8(ascii: "="), u[i + 1] == UInt8(ascii: "?") { return nil }
            i += 1
        }
        @inline(__always) func isTrimmed(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        while lo < hi, isTrimmed(u[lo]) { lo += 1 }
        while hi > lo, isTrimmed(u[hi - 1]) { hi -= 1 }
        if lo == hi { return .some(nil) }
        return String(decoding: UnsafeBufferPointer(rebasing: u[lo..<hi]), as: UTF8.self)
    }

    /// The display name of the phrase `u[r]` (its first and last bytes not white space) when it
    /// is atoms separated by single spaces, without `=?`: then the atoms joined with single
    /// spaces are the bytes themselves, and the name is ``plainName(_:_:)`` of them. `nil` for
    /// any other phrase (a byte outside atoms, a tab, a longer run of white space, `=?`).
    private static func plainPhrase(_ u: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String?? {
        var i = r.lowerBound
        while i < r.upperBound {
            let b = u[i]
            if b == 0x20 {
                // The last byte is not white space, so `i + 1` is in the phrase.
                if u[i + 1] == 0x20 { return nil }
            } else if !isPlainAtomByte(b) {
                return nil
            }
            i += 1
        }
        return plainName(u, r)
    }

    /// `local@domain` filling all of `r`: atom bytes only, exactly one `@`, both sides not empty.
    /// The domain is lowercased.
    private static func addrSpec(_ u: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> (local: String, domain: String)? {
        var at = -1
        for i in r {
            let b = u[i]
            if b == UInt8(ascii: "@") {
                guard at < 0 else { return nil }
                at = i
            } else if !isPlainAtomByte(b) {
                return nil
            }
        }
        guard at > r.lowerBound, at + 1 < r.upperBound else { return nil }
        let local = String(decoding: UnsafeBufferPointer(rebasing: u[r.lowerBound..<at]), as: UTF8.self)
        let domain = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: r.upperBound - at - 1) { lower in
            var k = 0
            for i in (at + 1)..<r.upperBound {
                lower[k] = ASCII.lower(u[i])
                k += 1
            }
            return String(decoding: UnsafeBufferPointer(lower), as: UTF8.self)
        }
        return (local, domain)
    }

    /// An ASCII byte the lexer puts in an atom: printable or control, not white space and not
    /// one of `( ) < > [ ] : ; @ , "`. (`]` is an atom byte for the lexer, but is excluded here
    /// to keep literals out of the fast path.)
    @inline(__always) static func isPlainAtomByte(_ b: UInt8) -> Bool {
        b < 0x80 && b != UInt8(ascii: "]") && AddressLexer.isAtomByte(b)
    }
}
