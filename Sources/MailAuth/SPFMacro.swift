/// A macro letter of RFC 7208 section 7.3.
public enum SPFMacroLetter: Character, Sendable, Hashable, CaseIterable {
    /// `<sender>`: the MAIL FROM or HELO identity, `local-part@domain`.
    case s = "s"
    /// The local-part of `<sender>`.
    case l = "l"
    /// The domain of `<sender>`.
    case o = "o"
    /// `<domain>`: the domain whose record is being evaluated.
    case d = "d"
    /// `<ip>`: dotted decimal for IPv4, dotted nibbles for IPv6.
    case i = "i"
    /// The validated domain name of `<ip>` (do not use; costs DNS lookups).
    case p = "p"
    /// `in-addr` for IPv4, `ip6` for IPv6.
    case v = "v"
    /// The HELO/EHLO domain.
    case h = "h"
    /// SMTP client IP in its readable form (explanations only).
    case c = "c"
    /// The domain name of the host performing the check (explanations only).
    case r = "r"
    /// The current time in seconds since the epoch (explanations only).
    case t = "t"

    /// `c`, `r` and `t` may be used only in explanation strings.
    public var isExplanationOnly: Bool { self == .c || self == .r || self == .t }
}

/// One `%{…}` macro: a letter and its transformers.
public struct SPFMacro: Sendable, Hashable {
    public var letter: SPFMacroLetter
    /// The letter was upper case: the expansion is URL-escaped.
    public var urlEscape: Bool
    /// Keep only this many right-hand parts (nil: all).
    public var rightParts: Int?
    /// Reverse the parts (`r` transformer).
    public var reverse: Bool
    /// The characters the value is split on; empty means `.`.
    public var delimiters: [UInt8]

    public init(
        letter: SPFMacroLetter, urlEscape: Bool = false, rightParts: Int? = nil, reverse: Bool = false,
        delimiters: [UInt8] = []
    ) {
        self.letter = letter
        self.urlEscape = urlEscape
        self.rightParts = rightParts
        self.reverse = reverse
        self.delimiters = delimiters
    }
}

/// The values macros expand to (RFC 7208 section 7.3).
public struct SPFMacroContext: Sendable, Hashable {
    /// `%{s}`: `local-part@domain` of the identity checked.
    public var sender: String
    /// `%{l}`.
    public var localPart: String
    /// `%{o}`.
    public var senderDomain: String
    /// `%{d}`: the domain of the record being evaluated.
    public var domain: String
    /// `%{h}`.
    public var helo: String
    /// `%{i}`, `%{c}`, `%{v}`: the client address (an IPv4-mapped IPv6 address should already be
    /// unmapped).
    public var ip: IPAddress
    /// `%{p}`: the validated domain name of `ip`; nil expands to `unknown`.
    public var validatedDomain: String?
    /// `%{r}`.
    public var receivingHost: String
    /// `%{t}`.
    public var timestamp: Int64

    public init(
        sender: String, localPart: String, senderDomain: String, domain: String, helo: String, ip: IPAddress,
        validatedDomain: String? = nil, receivingHost: String = "unknown", timestamp: Int64 = 0
    ) {
        self.sender = sender
        self.localPart = localPart
        self.senderDomain = senderDomain
        self.domain = domain
        self.helo = helo
        self.ip = ip
        self.validatedDomain = validatedDomain
        self.receivingHost = receivingHost
        self.timestamp = timestamp
    }

    /// The untransformed value of `letter`.
    public func value(of letter: SPFMacroLetter) -> String {
        switch letter {
        case .s: sender
        case .l: localPart
        case .o: senderDomain
        case .d: domain
        case .i:
            switch ip {
            case .v4(let a): a.description
            // Upper-case nibbles, as the OpenSPF test suite expects (DNS does not care).
            case .v6(let a): a.nibbles(uppercase: true).joined(separator: ".")
            }
        case .p: validatedDomain ?? "unknown"
        case .v: ip.isIPv4 ? "in-addr" : "ip6"
        case .h: helo
        case .c: ip.description
        case .r: receivingHost
        case .t: String(timestamp)
        }
    }
}

/// A parsed `macro-string` (RFC 7208 section 7.1): a domain-spec, an unknown modifier's value or
/// an explanation string.
public struct SPFMacroString: Sendable, Hashable, CustomStringConvertible {
    /// A piece of the string.
    public enum Part: Sendable, Hashable {
        /// Literal text (`%%`, `%_` and `%-` already turned into `%`, space and `%20`).
        case literal(String)
        case macro(SPFMacro)
    }

    /// Where a macro string appears; decides which characters and letters are allowed.
    public enum Usage: Sendable, Hashable {
        /// A mechanism's or `redirect=`/`exp=`'s domain-spec: letters `slodipvh`, must end in
        /// a macro or `.toplabel`.
        case domainSpec
        /// An unknown modifier's value: any letter, no syntax beyond macros.
        case modifierValue
        /// The TXT record `exp=` points to: spaces allowed, all letters.
        case explanation
    }

    /// The text as written.
    public let text: String
    /// The pieces in order.
    public let parts: [Part]

    /// Whether expanding needs the validated domain name (`%{p}`).
    public var usesValidatedDomain: Bool {
        parts.contains { if case .macro(let m) = $0 { m.letter == .p } else { false } }
    }

    public var description: String { text }

    /// Parses `text` for `usage`; throws a ``SPFRecordError`` with code
    /// ``SPFRecordError/Code/invalidMacro`` or ``SPFRecordError/Code/invalidDomainSpec``.
    public init(_ text: String, usage: Usage) throws(SPFRecordError) {
        self.text = text
        let b = Array(text.utf8)
        var parts: [Part] = []
        var literal: [UInt8] = []
        var trailingLiteral: [UInt8] = []  // raw literal characters after the last macro-expand
        var endsInMacroExpand = false
        func error(_ detail: String) -> SPFRecordError { SPFRecordError(.invalidMacro, term: text, detail: detail) }
        var i = 0
        while i < b.count {
            let c = b[i]
            if c != UInt8(ascii: "%") {
                let allowed = (c >= 0x21 && c <= 0x7E) || (usage == .explanation && c == 0x20)
                guard allowed else {
                    throw c >= 0x80 ? SPFRecordError(.nonASCII, term: text) : error("character \(c) not allowed")
                }
                literal.append(c)
                trailingLiteral.append(c)
                endsInMacroExpand = false
                i += 1
                continue
            }
            guard i + 1 < b.count else { throw error("'%' at the end") }
            let n = b[i + 1]
            switch n {
            case UInt8(ascii: "%"): literal.append(n)
            case UInt8(ascii: "_"): literal.append(0x20)
            case UInt8(ascii: "-"): literal.append(contentsOf: Array("%20".utf8))
            case UInt8(ascii: "{"):
                if !literal.isEmpty {
                    parts.append(.literal(String(decoding: literal, as: UTF8.self)))
                    literal = []
                }
                var j = i + 2
                guard j < b.count else { throw error("unterminated macro") }
                let raw = b[j]
                let lower = raw >= UInt8(ascii: "A") && raw <= UInt8(ascii: "Z") ? raw + 32 : raw
                guard let letter = SPFMacroLetter(rawValue: Character(Unicode.Scalar(lower))) else {
                    throw error("unknown macro letter")
                }
                if usage == .domainSpec && letter.isExplanationOnly {
                    throw error("macro letter '\(letter.rawValue)' allowed only in explanations")
                }
                var macro = SPFMacro(letter: letter, urlEscape: lower != raw)
                j += 1
                var digits: Int? = nil
                while j < b.count, b[j] >= UInt8(ascii: "0"), b[j] <= UInt8(ascii: "9") {
                    digits = min((digits ?? 0) * 10 + Int(b[j] - UInt8(ascii: "0")), 1_000)
                    j += 1
                }
                if let digits {
                    guard digits > 0 else { throw error("zero parts") }
                    macro.rightParts = digits
                }
                if j < b.count, b[j] == UInt8(ascii: "r") || b[j] == UInt8(ascii: "R") {
                    macro.reverse = true
                    j += 1
                }
                while j < b.count, Array(".-+,/_=".utf8).contains(b[j]) {
                    macro.delimiters.append(b[j])
                    j += 1
                }
                guard j < b.count, b[j] == UInt8(ascii: "}") else { throw error("malformed macro") }
                parts.append(.macro(macro))
                i = j + 1
                trailingLiteral = []
                endsInMacroExpand = true
                continue
            default:
                throw error("'%' not followed by '{', '%', '_' or '-'")
            }
            trailingLiteral = []
            endsInMacroExpand = true
            i += 2
        }
        if !literal.isEmpty { parts.append(.literal(String(decoding: literal, as: UTF8.self))) }
        self.parts = parts

        if usage == .domainSpec {
            guard !b.isEmpty else { throw SPFRecordError(.invalidDomainSpec, term: text, detail: "empty") }
            if !endsInMacroExpand {
                // domain-end = "." toplabel [ "." ]
                var t = trailingLiteral[...]
                if t.last == UInt8(ascii: ".") { t = t.dropLast() }
                guard let dot = t.lastIndex(of: UInt8(ascii: ".")), Self.isTopLabel(t[(dot + 1)...]) else {
                    throw SPFRecordError(
                        .invalidDomainSpec, term: text, detail: "does not end in a macro or a top-level label")
                }
            }
        }
    }

    /// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
    static func isTopLabel(_ s: ArraySlice<UInt8>) -> Bool {
        guard let first = s.first, let last = s.last else { return false }
        func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        guard s.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }) else { return false }
        if s.contains(UInt8(ascii: "-")) {
            return first != UInt8(ascii: "-") && last != UInt8(ascii: "-")
        }
        return s.contains(where: isAlpha)
    }

    /// The expanded string (RFC 7208 section 7.3 and 7.4).
    public func expand(_ context: SPFMacroContext) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .macro(let m): out += Self.expand(m, context)
            }
        }
        return out
    }

    /// Expands for use as a DNS name: a trailing dot removed, and when longer than 253 bytes,
    /// labels removed from the left until it fits (RFC 7208 section 7.3).
    public func expandDomain(_ context: SPFMacroContext) -> String {
        var s = expand(context)
        if s.hasSuffix(".") { s.removeLast() }
        while s.utf8.count > 253 {
            guard let dot = s.firstIndex(of: ".") else { break }
            s = String(s[s.index(after: dot)...])
        }
        return s
    }

    static func expand(_ m: SPFMacro, _ context: SPFMacroContext) -> String {
        let value = Array(context.value(of: m.letter).utf8)
        let delimiters = m.delimiters.isEmpty ? [UInt8(ascii: ".")] : m.delimiters
        var pieces = value.split(omittingEmptySubsequences: false, whereSeparator: { delimiters.contains($0) })
        if m.reverse { pieces.reverse() }
        if let n = m.rightParts, n < pieces.count { pieces = Array(pieces.suffix(n)) }
        let joined = Array(pieces.joined(separator: [UInt8(ascii: ".")]))
        guard m.urlEscape else { return String(decoding: joined, as: UTF8.self) }
        var escaped = ""
        for c in joined {
            let unreserved =
                (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
            if unreserved {
                escaped.unicodeScalars.append(Unicode.Scalar(c))
            } else {
                escaped +=
                    "%" + String(c >> 4, radix: 16, uppercase: true) + String(c & 0xF, radix: 16, uppercase: true)
            }
        }
        return escaped
    }
}
