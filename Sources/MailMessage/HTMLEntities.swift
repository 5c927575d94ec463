/// HTML character references: the HTML 4 named set (plus `apos` and the upper-case legacy
/// aliases), numeric references, and the browser rules for a missing `;`.
enum HTMLEntities {
    /// Set on a table value when the name also works without a trailing `;` (the HTML 3.2 "legacy" names).
    static let legacyFlag: UInt32 = 1 << 31
    /// The longest name in the table.
    static let maxNameBytes = 16
    /// The longest legacy name (`frac12`, `middot`…).
    static let maxLegacyNameBytes = 6

    /// Names of U+00A0…U+00FF, in code point order; all of them are legacy names.
    private static let latin1: [String] = [
        "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo",
        "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
        "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",
        "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute",
        "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash",
        "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde",
        "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc",
        "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave",
        "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
    ]

    private static let legacyASCII: [(String, UInt32)] = [
        ("quot", 34), ("amp", 38), ("lt", 60), ("gt", 62),
        ("QUOT", 34), ("AMP", 38), ("LT", 60), ("GT", 62), ("COPY", 0xA9), ("REG", 0xAE),
    ]

    /// Named references that need their `;`.
    private static let others: [(String, UInt32)] = [
        ("apos", 39),
        // Latin Extended, spacing modifiers, general punctuation (HTML 4 "special")
        ("OElig", 338), ("oelig", 339), ("Scaron", 352), ("scaron", 353), ("Yuml", 376), ("circ", 710),
        ("tilde", 732), ("ensp", 8194), ("emsp", 8195), ("thinsp", 8201), ("zwnj", 8204), ("zwj", 8205),
        ("lrm", 8206), ("rlm", 8207), ("ndash", 8211), ("mdash", 8212), ("lsquo", 8216), ("rsquo", 8217),
        ("sbquo", 8218), ("ldquo", 8220), ("rdquo", 8221), ("bdquo", 8222), ("dagger", 8224),
        ("Dagger", 8225), ("permil", 8240), ("lsaquo", 8249), ("rsaquo", 8250), ("euro", 8364),
        // Greek, mathematical and other symbols (HTML 4 "symbol")
        ("fnof", 402), ("Alpha", 913), ("Beta", 914), ("Gamma", 915), ("Delta", 916), ("Epsilon", 917),
        ("Zeta", 918), ("Eta", 919), ("Theta", 920), ("Iota", 921), ("Kappa", 922), ("Lambda", 923),
        ("Mu", 924), ("Nu", 925), ("Xi", 926), ("Omicron", 927), ("Pi", 928), ("Rho", 929), ("Sigma", 931),
        ("Tau", 932), ("Upsilon", 933), ("Phi", 934), ("Chi", 935), ("Psi", 936), ("Omega", 937),
        ("alpha", 945), ("beta", 946), ("gamma", 947), ("delta", 948), ("epsilon", 949), ("zeta", 950),
        ("eta", 951), ("theta", 952), ("iota", 953), ("kappa", 954), ("lambda", 955), ("mu", 956),
        ("nu", 957), ("xi", 958), ("omicron", 959), ("pi", 960), ("rho", 961), ("sigmaf", 962),
        ("sigma", 963), ("tau", 964), ("upsilon", 965), ("phi", 966), ("chi", 967), ("psi", 968),
        ("omega", 969), ("thetasym", 977), ("upsih", 978), ("piv", 982), ("bull", 8226), ("hellip", 8230),
        ("prime", 8242), ("Prime", 8243), ("oline", 8254), ("frasl", 8260), ("weierp", 8472),
        ("image", 8465), ("real", 8476), ("trade", 8482), ("alefsym", 8501), ("larr", 8592), ("uarr", 8593),
        ("rarr", 8594), ("darr", 8595), ("harr", 8596), ("crarr", 8629), ("lArr", 8656), ("uArr", 8657),
        ("rArr", 8658), ("dArr", 8659), ("hArr", 8660), ("forall", 8704), ("part", 8706), ("exist", 8707),
        ("empty", 8709), ("nabla", 8711), ("isin", 8712), ("notin", 8713), ("ni", 8715), ("prod", 8719),
        ("sum", 8721), ("minus", 8722), ("lowast", 8727), ("radic", 8730), ("prop", 8733), ("infin", 8734),
        ("ang", 8736), ("and", 8743), ("or", 8744), ("cap", 8745), ("cup", 8746), ("int", 8747),
        ("there4", 8756), ("sim", 8764), ("cong", 8773), ("asymp", 8776), ("ne", 8800), ("equiv", 8801),
        ("le", 8804), ("ge", 8805), ("sub", 8834), ("sup", 8835), ("nsub", 8836), ("sube", 8838),
        ("supe", 8839), ("oplus", 8853), ("otimes", 8855), ("perp", 8869), ("sdot", 8901), ("lceil", 8968),
        ("rceil", 8969), ("lfloor", 8970), ("rfloor", 8971), ("lang", 0x27E8), ("rang", 0x27E9),
        ("loz", 9674), ("spades", 9824), ("clubs", 9827), ("hearts", 9829), ("diams", 9830),
        // A few HTML5 names common in mail templates
        ("hyphen", 0x2010), ("dash", 0x2010), ("nbhy", 0x2011), ("star", 0x2606), ("starf", 0x2605),
        ("check", 0x2713), ("cross", 0x2717), ("phone", 0x260E), ("female", 0x2640), ("male", 0x2642),
        ("NewLine", 10), ("Tab", 9), ("ZeroWidthSpace", 0x200B),
    ]

    /// Name → code point, with ``legacyFlag`` on the names that may omit `;`.
    static let table: HTMLKeywordTable<UInt32> = {
        var entries: [(String, UInt32)] = []
        for (i, name) in latin1.enumerated() { entries.append((name, (0xA0 + UInt32(i)) | legacyFlag)) }
        for (name, v) in legacyASCII { entries.append((name, v | legacyFlag)) }
        entries += others
        return HTMLKeywordTable(entries.filter { $0.0.utf8.count <= HTMLPackedName.maxBytes })
    }()

    /// Windows-1252 meanings of numeric references 0x80…0x9F, as browsers decode them.
    private static let c1Replacements: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152,
        0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122,
        0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// Decodes the character reference that starts at `p[start]` (an `&`), following the HTML
    /// tokenizer: numeric references with or without `;` (invalid code points become U+FFFD,
    /// 0x80–0x9F are read as Windows-1252), named references with `;`, and legacy names without it.
    /// In an attribute value a legacy name without `;` followed by `=` or an alphanumeric is left alone,
    /// so that `?a=1&copy=2` survives.
    ///
    /// Returns the code point and the index after the reference, or nil when the `&` is literal.
    /// Looks at no more than a bounded number of bytes beyond the name.
    @inline(__always)
    static func decode(
        _ p: UnsafeBufferPointer<UInt8>, at start: Int, end: Int, inAttribute: Bool,
        table: HTMLKeywordTable<UInt32> = HTMLEntities.table
    ) -> (
        scalar: UInt32, next: Int
    )? {
        var i = start + 1
        guard i < end else { return nil }
        if p[i] == 0x23 {  // '#'
            i += 1
            var hex = false
            if i < end && (p[i] | 0x20) == 0x78 {  // 'x'
                hex = true
                i += 1
            }
            let digitsStart = i
            var value: UInt32 = 0
            if hex {
                while i < end, let d = HTMLBytes.hexValue(p[i]) {
                    if value <= 0x10FFFF { value = value &* 16 &+ d }
                    i += 1
                }
            } else {
                while i < end, HTMLBytes.isDigit(p[i]) {
                    if value <= 0x10FFFF { value = value &* 10 &+ UInt32(p[i] &- 0x30) }
                    i += 1
                }
            }
            guard i > digitsStart else { return nil }
            if i < end && p[i] == 0x3B { i += 1 }  // ';'
            return (sanitize(value), i)
        }
        // Named: an alphanumeric run, of which a prefix may be a name.
        let nameStart = i
        let limit = min(end, nameStart + 32)
        while i < limit && HTMLBytes.isAlnum(p[i]) { i += 1 }
        let runEnd = i
        let runLength = runEnd - nameStart
        guard runLength > 0 else { return nil }
        if runEnd < end && p[runEnd] == 0x3B && runLength <= maxNameBytes,
            let key = HTMLPackedName.pack(p, nameStart..<runEnd, fold: false), let v = table.lookup(key)
        {
            return (v & ~legacyFlag, runEnd + 1)
        }
        // Longest legacy name that is a prefix of the run.
        var length = min(runLength, maxLegacyNameBytes)
        while length >= 2 {
            if let key = HTMLPackedName.pack(p, nameStart..<(nameStart + length), fold: false),
                let v = table.lookup(key), v & legacyFlag != 0
            {
                let after = nameStart + length
                if inAttribute && after < end && (p[after] == 0x3D || HTMLBytes.isAlnum(p[after])) { return nil }
                return (v & ~legacyFlag, after)
            }
            length -= 1
        }
        return nil
    }

    /// What a browser makes of a numeric reference's value.
    @inline(__always) static func sanitize(_ v: UInt32) -> UInt32 {
        if v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { return 0xFFFD }
        if v >= 0x80 && v <= 0x9F { return c1Replacements[Int(v - 0x80)] }
        return v
    }

    /// Appends `p[range]` to `out` with character references decoded (attribute-value rules).
    static func appendDecoded(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, to out: inout [UInt8]) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            // Copy up to the next '&' in one go.
            let amp = HTMLBytes.firstIndex(of: 0x26, in: p, from: i, to: end)
            if amp > i {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<amp]))
                i = amp
                continue
            }
            if let (v, next) = decode(p, at: i, end: end, inAttribute: true) {
                HTMLBytes.appendUTF8(v, to: &out)
                i = next
            } else {
                out.append(0x26)
                i += 1
            }
        }
    }
}
