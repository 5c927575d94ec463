/// Allocation-free lookup of short ASCII keywords (tag, attribute, entity, CSS and colour names).
///
/// A name of up to 16 bytes is packed into two words, byte `i` at bits `8*i`. Names never
/// contain a NUL byte, so the packing is unambiguous and `lo == 0` marks an empty table slot.
struct HTMLPackedName: Hashable, Sendable {
    var lo: UInt64 = 0
    var hi: UInt64 = 0

    static let maxBytes = 16

    init() {}

    /// Packs a literal as given (no case folding). Only for table construction.
    init(_ literal: String) {
        for (i, b) in literal.utf8.enumerated() where i < Self.maxBytes { add(b, at: i) }
    }

    /// Sets byte `i` (`i < 16`; callers check).
    @inline(__always) mutating func add(_ b: UInt8, at i: Int) {
        if i < 8 {
            lo |= UInt64(b) &<< UInt64(i &* 8)
        } else {
            hi |= UInt64(b) &<< UInt64((i &- 8) &* 8)
        }
    }

    /// Packs `p[start..<end]` (at most 16 bytes, no NUL: callers check) with ASCII upper case
    /// folded to lower case, eight bytes at a time when the buffer has room for whole words;
    /// the same key as ``add(_:at:)`` of each folded byte.
    @inline(__always)
    static func packFolded(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> HTMLPackedName {
        var name = HTMLPackedName()
        let count = end &- start
        #if _endian(little)
            if let base = UnsafeRawPointer(p.baseAddress), start &+ 16 <= p.count {
                @inline(__always) func keep(_ bytes: Int) -> UInt64 {
                    bytes >= 8 ? ~0 : (UInt64(1) &<< UInt64(bytes &* 8)) &- 1
                }
                name.lo = foldedWord(base.loadUnaligned(fromByteOffset: start, as: UInt64.self) & keep(count))
                if count > 8 {
                    name.hi = foldedWord(base.loadUnaligned(fromByteOffset: start &+ 8, as: UInt64.self) & keep(count &- 8))
                }
                return name
            }
        #endif
        var k = 0
        for i in start..<end {
            name.add(HTMLBytes.lower(p[i]), at: k)
            k &+= 1
        }
        return name
    }

    /// The eight bytes of `w` with ASCII `A`…`Z` folded to lower case.
    @inline(__always) static func foldedWord(_ w: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let highs: UInt64 = 0x8080_8080_8080_8080
        let seven = w & low7
        // High bit per byte: (b & 0x7F) >= 'A', then (b & 0x7F) > 'Z'; a byte >= 0x80 is never upper case.
        let atLeastA = (seven &+ 0x3F3F_3F3F_3F3F_3F3F) & highs
        let aboveZ = (seven &+ 0x2525_2525_2525_2525) & highs
        let upper = atLeastA & ~aboveZ & ~w & highs
        return w | (upper &>> 2)
    }

    /// Packs `p[range]`, folding ASCII upper case to lower case when `fold` is set.
    /// Returns nil when the name is empty, longer than 16 bytes or contains a NUL byte.
    @inline(__always)
    static func pack(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, fold: Bool) -> HTMLPackedName? {
        let count = range.count
        guard count > 0, count <= maxBytes else { return nil }
        var name = HTMLPackedName()
        var k = 0
        for i in range {
            var b = p[i]
            if b == 0 { return nil }
            if fold { b = HTMLBytes.lower(b) }
            name.add(b, at: k)
            k &+= 1
        }
        return name
    }
}

/// A read-only open-addressing hash table from packed names to values, built once.
struct HTMLKeywordTable<Value: Sendable>: Sendable {
    private let keys: [HTMLPackedName]
    private let values: [Value?]
    private let mask: Int
    private let shift: UInt64

    init(_ entries: [(String, Value)]) {
        var bits = 4
        while (1 << bits) < entries.count * 3 { bits += 1 }
        let size = 1 << bits
        var keys = [HTMLPackedName](repeating: HTMLPackedName(), count: size)
        var values = [Value?](repeating: nil, count: size)
        let shift = UInt64(64 - bits)
        for (name, value) in entries {
            let key = HTMLPackedName(name)
            var i = Self.slot(key, shift: shift)
            while keys[i].lo != 0 && keys[i] != key { i = (i + 1) & (size - 1) }
            keys[i] = key
            values[i] = value
        }
        self.keys = keys
        self.values = values
        self.mask = size - 1
        self.shift = shift
    }

    @inline(__always) private static func slot(_ k: HTMLPackedName, shift: UInt64) -> Int {
        let h = (k.lo &* 0x9E37_79B9_7F4A_7C15) ^ (k.hi &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: h &>> shift)
    }

    @inline(__always) func lookup(_ key: HTMLPackedName) -> Value? {
        var i = Self.slot(key, shift: shift)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k.lo == 0 { return nil }
            i = (i &+ 1) & mask
        }
    }
}

/// Small byte helpers shared by the HTML and URL scanners.
enum HTMLBytes {
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b &- 0x41) < 26 ? b | 0x20 : b }
    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool { isAlpha(b) || isDigit(b) }
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt32? {
        if b &- 0x30 < 10 { return UInt32(b &- 0x30) }
        let l = b | 0x20
        if l &- 0x61 < 6 { return UInt32(l &- 0x61 &+ 10) }
        return nil
    }
    /// HTML "ASCII whitespace": tab, LF, FF, CR, space.
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool {
        b <= 0x20 && (UInt64(0x1_0000_3600) &>> UInt64(b)) & 1 != 0
    }

    /// Index of the first `byte` in `p[start..<end]`, or `end`. Eight bytes at a time.
    @inline(__always)
    static func firstIndex(of byte: UInt8, in p: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        var k = start
        #if _endian(little)
            if let base = UnsafeRawPointer(p.baseAddress), end <= p.count {
                let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
                while k &+ 8 <= end {
                    let w = base.loadUnaligned(fromByteOffset: k, as: UInt64.self) ^ pattern
                    // The lowest byte of w that is zero sets the lowest flagged bit (higher ones may be false hits).
                    let z = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
                    if z != 0 { return k &+ (z.trailingZeroBitCount &>> 3) }
                    k &+= 8
                }
            }
        #endif
        while k < end && p[k] != byte { k &+= 1 }
        return k
    }

    /// A fast 64-bit hash of `p[r]`, eight bytes at a time. Not a keyed PRF: tables that use it
    /// verify matches byte for byte and bound their probing.
    static func hash(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, seed: UInt64 = 0) -> UInt64 {
        var h: UInt64 = (seed ^ 0x9E37_79B9_7F4A_7C15) &* UInt64(truncatingIfNeeded: r.count &+ 1) | 1
        var k = r.lowerBound
        if let base = UnsafeRawPointer(p.baseAddress), r.upperBound <= p.count {
            while k &+ 8 <= r.upperBound {
                h = (h ^ base.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h &>> 29
                k &+= 8
            }
        }
        while k < r.upperBound {
            h = (h ^ UInt64(p[k])) &* 0x100_0000_01B3
            k &+= 1
        }
        return h ^ (h &>> 32)
    }

    /// Whether `p[r]` contains a tab, LF or CR. Eight bytes at a time.
    static func containsTabOrNewline(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        var k = r.lowerBound
        if let base = UnsafeRawPointer(p.baseAddress), r.upperBound <= p.count {
            while k &+ 8 <= r.upperBound {
                let w = base.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                // Any byte below 0x0E? Then look closer.
                if (w &- 0x0E0E_0E0E_0E0E_0E0E) & ~w & 0x8080_8080_8080_8080 != 0 { break }
                k &+= 8
            }
        }
        while k < r.upperBound {
            let b = p[k]
            if b == 0x09 || b == 0x0A || b == 0x0D { return true }
            k &+= 1
        }
        return false
    }

    /// Whether `p[a]` and `p[b]` hold the same bytes.
    static func equal(_ p: UnsafeBufferPointer<UInt8>, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count, a.upperBound <= p.count, b.upperBound <= p.count else { return false }
        let n = a.count
        var i = 0
        if let base = UnsafeRawPointer(p.baseAddress) {
            while i &+ 8 <= n {
                if base.loadUnaligned(fromByteOffset: a.lowerBound &+ i, as: UInt64.self)
                    != base.loadUnaligned(fromByteOffset: b.lowerBound &+ i, as: UInt64.self)
                {
                    return false
                }
                i &+= 8
            }
        }
        while i < n {
            if p[a.lowerBound &+ i] != p[b.lowerBound &+ i] { return false }
            i &+= 1
        }
        return true
    }

    /// Appends the UTF-8 encoding of `scalar` (assumed valid) to `out`.
    @inline(__always) static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v < 0x800 {
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Case-insensitive comparison of `a[range]` with a lower-case ASCII literal.
    static func equalsLower(_ a: [UInt8], _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { lit in
            var k = 0
            for i in range {
                if lower(a[i]) != lit[k] { return false }
                k += 1
            }
            return true
        }
    }

    /// Case-insensitive comparison of `p[range]` with a lower-case ASCII literal.
    static func equalsLower(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return equalsLower(p, range.lowerBound, literal)
    }

    /// Whether `p[range]` starts with the lower-case ASCII literal, ignoring case.
    static func hasPrefixLower(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        range.count >= literal.utf8CodeUnitCount && equalsLower(p, range.lowerBound, literal)
    }

    /// Whether `a[range]` starts with the lower-case ASCII literal, ignoring case.
    static func hasPrefixLower(_ a: [UInt8], _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count >= literal.utf8CodeUnitCount else { return false }
        return equalsLower(a, range.lowerBound..<(range.lowerBound + literal.utf8CodeUnitCount), literal)
    }
}

/// HTML elements whose name changes how the extractor behaves. Every other name is ``other``.
enum HTMLTag: UInt8, CaseIterable, Sendable {
    case other
    // Behaviourally special
    case a, area, base, basefont, bgsound, body, br, button, col, colgroup, embed, font, form, frame
    case frameset, head, html, iframe, image, img, input, keygen, link, meta, noembed, noframes
    case noscript, object, option, optgroup, param, plaintext, script, select, source, style, svg, math
    case template, textarea, title, track, wbr, xmp, audio, video, picture, applet, marquee, nobr
    // Blocks and tables
    case address, article, aside, blockquote, caption, center, dd, details, dialog, dir, div, dl, dt
    case fieldset, figcaption, figure, footer, h1, h2, h3, h4, h5, h6, header, hgroup, hr, legend, li
    case listing, main, menu, nav, ol, p, pre, search, section, summary, table, tbody, td, tfoot, th
    case thead, tr, ul
    // Common inline elements (looked up only so that counting them is fast)
    case abbr, b, big, cite, code, em, i, label, s, small, span, strike, strong, sub, sup, tt, u, q
    case map, ins, del, mark, time, `var`

    /// Element properties, one bit each.
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt16
        /// No content and no end tag.
        static let void = Flags(rawValue: 1 << 0)
        /// Starts and ends a line of rendered text.
        static let block = Flags(rawValue: 1 << 1)
        /// A table cell: separated from its neighbours by a space.
        static let cell = Flags(rawValue: 1 << 2)
        /// Its start tag closes an open `<p>`.
        static let closesP = Flags(rawValue: 1 << 3)
        /// HTML's "special" category: stops the search of an unrelated end tag.
        static let special = Flags(rawValue: 1 << 4)
        /// Bounds a "has an element in scope" search.
        static let scope = Flags(rawValue: 1 << 5)
        /// A formatting element (closed through blocks by the adoption agency).
        static let formatting = Flags(rawValue: 1 << 6)
    }

    static let flagTable: [Flags] = allCases.map { $0.computeFlags() }
    static let nameTable: [String] = allCases.map(\.name)
    static let lookupTable = HTMLKeywordTable<HTMLTag>(allCases.filter { $0 != .other }.map { ($0.name, $0) })

    @inline(__always) var flags: Flags { Self.flagTable[Int(rawValue)] }

    /// The lower-case tag name (`other` for ``other``).
    var name: String {
        switch self {
        case .other: "other"
        case .a: "a"
        case .area: "area"
        case .base: "base"
        case .basefont: "basefont"
        case .bgsound: "bgsound"
        case .body: "body"
        case .br: "br"
        case .button: "button"
        case .col: "col"
        case .colgroup: "colgroup"
        case .embed: "embed"
        case .font: "font"
        case .form: "form"
        case .frame: "frame"
        case .frameset: "frameset"
        case .head: "head"
        case .html: "html"
        case .iframe: "iframe"
        case .image: "image"
        case .img: "img"
        case .input: "input"
        case .keygen: "keygen"
        case .link: "link"
        case .meta: "meta"
        case .noembed: "noembed"
        case .noframes: "noframes"
        case .noscript: "noscript"
        case .object: "object"
        case .option: "option"
        case .optgroup: "optgroup"
        case .param: "param"
        case .plaintext: "plaintext"
        case .script: "script"
        case .select: "select"
        case .source: "source"
        case .style: "style"
        case .svg: "svg"
        case .math: "math"
        case .template: "template"
        case .textarea: "textarea"
        case .title: "title"
        case .track: "track"
        case .wbr: "wbr"
        case .xmp: "xmp"
        case .audio: "audio"
        case .video: "video"
        case .picture: "picture"
        case .applet: "applet"
        case .marquee: "marquee"
        case .nobr: "nobr"
        case .address: "address"
        case .article: "article"
        case .aside: "aside"
        case .blockquote: "blockquote"
        case .caption: "caption"
        case .center: "center"
        case .dd: "dd"
        case .details: "details"
        case .dialog: "dialog"
        case .dir: "dir"
        case .div: "div"
        case .dl: "dl"
        case .dt: "dt"
        case .fieldset: "fieldset"
        case .figcaption: "figcaption"
        case .figure: "figure"
        case .footer: "footer"
        case .h1: "h1"
        case .h2: "h2"
        case .h3: "h3"
        case .h4: "h4"
        case .h5: "h5"
        case .h6: "h6"
        case .header: "header"
        case .hgroup: "hgroup"
        case .hr: "hr"
        case .legend: "legend"
        case .li: "li"
        case .listing: "listing"
        case .main: "main"
        case .menu: "menu"
        case .nav: "nav"
        case .ol: "ol"
        case .p: "p"
        case .pre: "pre"
        case .search: "search"
        case .section: "section"
        case .summary: "summary"
        case .table: "table"
        case .tbody: "tbody"
        case .td: "td"
        case .tfoot: "tfoot"
        case .th: "th"
        case .thead: "thead"
        case .tr: "tr"
        case .ul: "ul"
        case .abbr: "abbr"
        case .b: "b"
        case .big: "big"
        case .cite: "cite"
        case .code: "code"
        case .em: "em"
        case .i: "i"
        case .label: "label"
        case .s: "s"
        case .small: "small"
        case .span: "span"
        case .strike: "strike"
        case .strong: "strong"
        case .sub: "sub"
        case .sup: "sup"
        case .tt: "tt"
        case .u: "u"
        case .q: "q"
        case .map: "map"
        case .ins: "ins"
        case .del: "del"
        case .mark: "mark"
        case .time: "time"
        case .`var`: "var"
        }
    }

    private func computeFlags() -> Flags {
        var f: Flags = []
        switch self {
        case .area, .base, .basefont, .bgsound, .br, .col, .embed, .frame, .hr, .img, .image, .input, .keygen,
            .link, .meta, .param, .source, .track, .wbr:
            f.insert(.void)
        default: break
        }
        switch self {
        case .address, .article, .aside, .blockquote, .caption, .center, .dd, .details, .dialog, .dir, .div,
            .dl, .dt, .fieldset, .figcaption, .figure, .footer, .form, .h1, .h2, .h3, .h4, .h5, .h6, .header,
            .hgroup, .hr, .legend, .li, .listing, .main, .menu, .nav, .ol, .p, .pre, .search, .section,
            .summary, .table, .tr, .ul, .br, .textarea, .xmp, .plaintext, .body, .html, .option, .frameset,
            .tbody, .thead, .tfoot, .select:
            f.insert(.block)
        case .td, .th:
            f.insert(.cell)
        default: break
        }
        switch self {
        case .address, .article, .aside, .blockquote, .center, .details, .dialog, .dir, .div, .dl, .fieldset,
            .figcaption, .figure, .footer, .form, .h1, .h2, .h3, .h4, .h5, .h6, .header, .hgroup, .hr, .main,
            .menu, .nav, .ol, .p, .pre, .search, .section, .summary, .ul, .li, .dd, .dt, .listing, .plaintext,
            .xmp:
            f.insert(.closesP)
        default: break
        }
        switch self {
        case .address, .applet, .area, .article, .aside, .base, .basefont, .bgsound, .blockquote, .body, .br,
            .button, .caption, .center, .col, .colgroup, .dd, .details, .dir, .div, .dl, .dt, .embed, .fieldset,
            .figcaption, .figure, .footer, .form, .frame, .frameset, .h1, .h2, .h3, .h4, .h5, .h6, .head,
            .header, .hgroup, .hr, .html, .iframe, .img, .input, .keygen, .li, .link, .listing, .main, .marquee,
            .menu, .meta, .nav, .noembed, .noframes, .noscript, .object, .ol, .p, .param, .plaintext, .pre,
            .script, .search, .section, .select, .source, .style, .summary, .table, .tbody, .td, .template,
            .textarea, .tfoot, .th, .thead, .title, .tr, .track, .ul, .wbr, .xmp, .dialog:
            f.insert(.special)
        default: break
        }
        switch self {
        case .applet, .caption, .html, .table, .td, .th, .marquee, .object, .template, .button, .svg, .math:
            f.insert(.scope)
        default: break
        }
        switch self {
        case .a, .b, .big, .code, .em, .font, .i, .nobr, .s, .small, .strike, .strong, .tt, .u:
            f.insert(.formatting)
        default: break
        }
        return f
    }
}

/// Attributes the extractor reads. Every other attribute is skipped without decoding.
enum HTMLAttribute: UInt8, CaseIterable, Sendable {
    case href, src, srcset, action, formaction, background, style, hidden, size, color, bgcolor, text
    case content, httpEquiv, type, data, poster

    static let lookupTable = HTMLKeywordTable<HTMLAttribute>(allCases.map { ($0.name, $0) })

    var name: String {
        switch self {
        case .href: "href"
        case .src: "src"
        case .srcset: "srcset"
        case .action: "action"
        case .formaction: "formaction"
        case .background: "background"
        case .style: "style"
        case .hidden: "hidden"
        case .size: "size"
        case .color: "color"
        case .bgcolor: "bgcolor"
        case .text: "text"
        case .content: "content"
        case .httpEquiv: "http-equiv"
        case .type: "type"
        case .data: "data"
        case .poster: "poster"
        }
    }

}
