/// How text inside an element renders, as far as hiding goes. Inherited from parent to child.
struct HTMLRenderState: Sendable, Equatable {
    /// A colour we can't evaluate (`hsl()`, `var()`, a background image…).
    static let unknownColor: UInt32 = 0xFFFF_FFFF
    /// Fully transparent: text in it is invisible on any background.
    static let transparentColor: UInt32 = 0xFE00_0000
    /// Default link colour.
    static let linkColor: UInt32 = 0x0000EE

    /// Not rendered and can't be brought back by a descendant: `display:none`, the `hidden`
    /// attribute, `opacity:0`, `font-size:0`, a zero-sized box with `overflow:hidden`,
    /// `mso-hide:all`, or moved far off-screen.
    var removed = false
    /// `visibility:hidden` (a descendant may say `visibility:visible`).
    var visibilityHidden = false
    /// `<font size=1>` or a smaller CSS font size is in effect.
    var tinyFont = false
    /// Approximate computed font size in CSS pixels.
    var fontPx: Float = 16
    /// Text colour as 0xRRGGBB, or ``unknownColor`` / ``transparentColor``.
    var color: UInt32 = 0x000000
    /// Background colour as 0xRRGGBB, or ``unknownColor``.
    var background: UInt32 = 0xFFFFFF

    /// Text colour indistinguishable from the background (white on white and the like).
    var colorHidden: Bool {
        if color == Self.transparentColor { return true }
        if color == Self.unknownColor || background == Self.unknownColor { return false }
        return HTMLStyle.colorsClose(color, background)
    }
    var isHidden: Bool { removed || visibilityHidden || colorHidden }
    var isTiny: Bool { tinyFont || fontPx <= HTMLStyle.tinyFontPx }
}

/// Parsing of the bits of inline CSS and presentational attributes that hide text.
enum HTMLStyle {
    typealias Bytes = UnsafeBufferPointer<UInt8>
    /// Two colours whose channels all differ by at most this much are treated as the same.
    static let colorTolerance: Int = 12
    /// A font at or below this size in CSS pixels is "tiny".
    static let tinyFontPx: Float = 2
    /// An opacity at or below this is invisible.
    static let invisibleOpacity: Float = 0.05
    /// Text moved further than this many pixels to the left or top is off-screen.
    static let offscreenPx: Float = -500

    @inline(__always) static func colorsClose(_ a: UInt32, _ b: UInt32) -> Bool {
        @inline(__always) func channelClose(_ shift: UInt32) -> Bool {
            abs(Int((a >> shift) & 0xFF) - Int((b >> shift) & 0xFF)) <= colorTolerance
        }
        return channelClose(16) && channelClose(8) && channelClose(0)
    }

    // MARK: Inline style

    enum FontSize {
        case px(Float)
        /// Relative to the parent's size (em, %, smaller, larger).
        case scale(Float)
    }

    /// What an inline `style` attribute says about visibility (a plain value, cheap to cache).
    struct Effects {
        var removed = false
        var visibility: Bool?
        var fontSize: FontSize?
        var color: UInt32?
        var background: UInt32?
        var zeroBox = false
        var overflowHidden = false
        var positioned = false
        var offsetLeftTop: Float = 0
        var offsetMargin: Float = 0
        /// Parsing stopped at a character reference or comment: the value must be normalized first.
        var needsNormalizing = false
    }

    private enum Property: UInt8, CaseIterable {
        case display, visibility, opacity, fontSize, font, color, background, backgroundColor
        case height, maxHeight, width, maxWidth, overflow, overflowX, overflowY, msoHide
        case textIndent, left, top, marginLeft, marginTop, position, lineHeight

        var cssName: String {
            switch self {
            case .display: "display"
            case .visibility: "visibility"
            case .opacity: "opacity"
            case .fontSize: "font-size"
            case .font: "font"
            case .color: "color"
            case .background: "background"
            case .backgroundColor: "background-color"
            case .height: "height"
            case .maxHeight: "max-height"
            case .width: "width"
            case .maxWidth: "max-width"
            case .overflow: "overflow"
            case .overflowX: "overflow-x"
            case .overflowY: "overflow-y"
            case .msoHide: "mso-hide"
            case .textIndent: "text-indent"
            case .left: "left"
            case .top: "top"
            case .marginLeft: "margin-left"
            case .marginTop: "margin-top"
            case .position: "position"
            case .lineHeight: "line-height"
            }
        }
    }

    private static let properties = HTMLKeywordTable<Property>(Property.allCases.map { ($0.cssName, $0) })

    /// Copies a style attribute value with character references decoded and CSS comments removed.
    static func normalize(_ p: Bytes, _ range: Range<Int>, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        HTMLEntities.appendDecoded(p, range, to: &out)
        guard out.count > 1 else { return }
        // Drop /* ... */ in place; a comment separates tokens.
        let kept = out.withUnsafeMutableBufferPointer { b -> Int in
            var r = 0
            var w = 0
            let n = b.count
            while r < n {
                if b[r] == 0x2F && r + 1 < n && b[r + 1] == 0x2A {
                    r += 2
                    while r < n && !(b[r] == 0x2A && r + 1 < n && b[r + 1] == 0x2F) { r += 1 }
                    r = min(n, r + 2)
                    b[w] = 0x20
                } else {
                    b[w] = b[r]
                    r += 1
                }
                w += 1
            }
            return w
        }
        out.removeSubrange(kept...)
    }

    /// Bytes below 0x40 that the declaration scanner stops at: `"` `&` `'` `(` `)` `/` `:` `;`.
    @inline(__always) private static var declarationStops: UInt64 {
        1 << 0x22 | 1 << 0x26 | 1 << 0x27 | 1 << 0x28 | 1 << 0x29 | 1 << 0x2F | 1 << 0x3A | 1 << 0x3B
    }

    /// Parses a declaration list (`a: b; c: d`) in `s[range]`. Only the properties that can hide
    /// text are looked at, and only values with parentheses are searched for `url(...)`.
    ///
    /// With `raw`, `s` is an attribute value as written: parsing stops with
    /// ``Effects/needsNormalizing`` at the first `&` or `/*`, for the caller to ``normalize(_:_:into:)``.
    /// The arguments of `url(...)` are appended to `urls`, as ranges of `s`.
    static func parseDeclarations(_ s: Bytes, _ range: Range<Int>, raw: Bool, urls: inout [Range<Int>]) -> Effects {
        var e = Effects()
        let properties = Self.properties
        var i = range.lowerBound
        let n = range.upperBound
        while i < n {
            // One declaration: up to ';' outside quotes and parentheses.
            let start = i
            var colon = -1
            var depth = 0
            var quote: UInt8 = 0
            var sawParenthesis = false
            while i < n {
                let b = s[i]
                if b < 0x40 && (declarationStops &>> UInt64(b)) & 1 != 0 {
                    if quote != 0 {
                        if b == quote { quote = 0 }
                    } else if b == 0x3B {
                        if depth == 0 { break }
                    } else if b == 0x3A {
                        if colon < 0 { colon = i }
                    } else if b == 0x28 {
                        depth += 1
                        sawParenthesis = true
                    } else if b == 0x29 {
                        if depth > 0 { depth -= 1 }
                    } else if b == 0x22 || b == 0x27 {
                        quote = b
                    }
                    if raw && (b == 0x26 || (b == 0x2F && i + 1 < n && s[i + 1] == 0x2A)) {
                        e.needsNormalizing = true
                        return e
                    }
                }
                i += 1
            }
            let end = i
            i += 1
            guard colon >= 0 else { continue }
            if sawParenthesis { collectURLs(s, (colon + 1)..<end, into: &urls) }
            let name = trim(s, start..<colon)
            guard let key = HTMLPackedName.pack(s, name, fold: true), let prop = properties.lookup(key) else {
                continue
            }
            var value = trim(s, (colon + 1)..<end)
            // Strip "!important".
            if let bang = lastIndex(of: 0x21, in: s, value),
                HTMLBytes.equalsLower(s, trim(s, (bang + 1)..<value.upperBound), "important")
            {
                value = trim(s, value.lowerBound..<bang)
            }
            apply(prop, s, value, to: &e)
        }
        return e
    }

    private static func apply(_ prop: Property, _ s: Bytes, _ v: Range<Int>, to e: inout Effects) {
        switch prop {
        case .display:
            if HTMLBytes.equalsLower(s, v, "none") { e.removed = true }
        case .visibility:
            if HTMLBytes.equalsLower(s, v, "hidden") || HTMLBytes.equalsLower(s, v, "collapse") {
                e.visibility = false
            } else if HTMLBytes.equalsLower(s, v, "visible") {
                e.visibility = true
            }
        case .opacity:
            if let (x, unit) = number(s, v) {
                let o = unit.isEmpty ? x : (s[unit.lowerBound] == 0x25 ? x / 100 : 1)
                if o <= invisibleOpacity { e.removed = true }
            }
        case .fontSize:
            if let f = fontSize(s, v) { e.fontSize = f }
        case .font:
            // Shorthand: the size is the first token that is a length, a percentage or a size keyword
            // ("font: 0/0 a" is the classic way to hide text).
            var j = v.lowerBound
            while j < v.upperBound {
                while j < v.upperBound && (HTMLBytes.isSpace(s[j]) || s[j] == 0x2C) { j += 1 }
                let tokenStart = j
                while j < v.upperBound && !HTMLBytes.isSpace(s[j]) && s[j] != 0x2C { j += 1 }
                var tokenEnd = tokenStart
                while tokenEnd < j && s[tokenEnd] != 0x2F { tokenEnd += 1 }  // drop "/line-height"
                let token = tokenStart..<tokenEnd
                guard !token.isEmpty else { continue }
                let first = s[tokenStart]
                if HTMLBytes.isDigit(first) || first == 0x2E {
                    if let (x, unit) = number(s, token), !unit.isEmpty || x == 0, let f = fontSize(s, token) {
                        e.fontSize = f
                        break
                    }
                } else if let f = fontSizeKeyword(s, token) {
                    e.fontSize = f
                    break
                }
            }
        case .color:
            if let c = cssColor(s, v) { e.color = c }
        case .backgroundColor:
            if let c = cssColor(s, v), c != HTMLRenderState.transparentColor { e.background = c }
        case .background:
            if containsURL(s, v) {
                e.background = HTMLRenderState.unknownColor
            } else {
                // The first token that is a colour.
                var j = v.lowerBound
                while j < v.upperBound {
                    while j < v.upperBound && HTMLBytes.isSpace(s[j]) { j += 1 }
                    var k = j
                    var depth = 0
                    while k < v.upperBound && (depth > 0 || !HTMLBytes.isSpace(s[k])) {
                        if s[k] == 0x28 { depth += 1 } else if s[k] == 0x29 && depth > 0 { depth -= 1 }
                        k += 1
                    }
                    if k > j, let c = cssColor(s, j..<k) {
                        if c != HTMLRenderState.transparentColor { e.background = c }
                        break
                    }
                    j = k
                }
            }
        case .height, .maxHeight, .width, .maxWidth:
            if let (x, _) = number(s, v), x == 0 { e.zeroBox = true }
        case .lineHeight:
            break
        case .overflow, .overflowX, .overflowY:
            if HTMLBytes.equalsLower(s, v, "hidden") || HTMLBytes.equalsLower(s, v, "clip") { e.overflowHidden = true }
        case .msoHide:
            if HTMLBytes.equalsLower(s, v, "all") { e.removed = true }
        case .textIndent, .marginLeft, .marginTop:
            if let px = absolutePx(s, v) { e.offsetMargin = min(e.offsetMargin, px) }
        case .left, .top:
            if let px = absolutePx(s, v) { e.offsetLeftTop = min(e.offsetLeftTop, px) }
        case .position:
            e.positioned =
                HTMLBytes.equalsLower(s, v, "absolute") || HTMLBytes.equalsLower(s, v, "fixed")
                || HTMLBytes.equalsLower(s, v, "relative")
        }
    }

    /// Applies parsed inline style to the state an element inherited.
    static func apply(_ e: Effects, to st: inout HTMLRenderState) {
        let parentPx = st.fontPx
        let parentTiny = st.tinyFont
        if e.removed { st.removed = true }
        if let v = e.visibility { st.visibilityHidden = !v }
        if let f = e.fontSize {
            switch f {
            case .px(let px):
                st.fontPx = px
                st.tinyFont = false
            case .scale(let k):
                st.fontPx = parentPx * k
                st.tinyFont = parentTiny && k <= 1
            }
            if st.fontPx <= 0 { st.removed = true }
        }
        if let c = e.color { st.color = c }
        if let b = e.background { st.background = b }
        if e.zeroBox && e.overflowHidden { st.removed = true }
        if e.offsetMargin <= offscreenPx || (e.positioned && e.offsetLeftTop <= offscreenPx) { st.removed = true }
    }

    // MARK: Values

    static func trim(_ s: Bytes, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound
        var hi = r.upperBound
        while lo < hi && HTMLBytes.isSpace(s[lo]) { lo += 1 }
        while hi > lo && HTMLBytes.isSpace(s[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    private static func lastIndex(of b: UInt8, in s: Bytes, _ r: Range<Int>) -> Int? {
        var i = r.upperBound
        while i > r.lowerBound {
            i -= 1
            if s[i] == b { return i }
        }
        return nil
    }

    /// A leading CSS number and the range of whatever follows it (the unit).
    static func number(_ s: Bytes, _ r: Range<Int>) -> (Float, Range<Int>)? {
        var i = r.lowerBound
        let end = r.upperBound
        var negative = false
        if i < end && (s[i] == 0x2D || s[i] == 0x2B) {
            negative = s[i] == 0x2D
            i += 1
        }
        var value: Double = 0
        var digits = 0
        while i < end && HTMLBytes.isDigit(s[i]) {
            if digits < 12 { value = value * 10 + Double(s[i] - 0x30) }
            digits += 1
            i += 1
        }
        if i < end && s[i] == 0x2E {
            i += 1
            var scale = 0.1
            while i < end && HTMLBytes.isDigit(s[i]) {
                if scale > 1e-9 { value += Double(s[i] - 0x30) * scale }
                scale /= 10
                digits += 1
                i += 1
            }
        }
        guard digits > 0 else { return nil }
        // Skip an exponent-free unit: letters or '%'.
        var u = i
        while u < end && (HTMLBytes.isAlpha(s[u]) || s[u] == 0x25) { u += 1 }
        let x = Float(negative ? -value : value)
        return (x, i..<u)
    }

    /// Converts an absolute length to CSS pixels; relative units count as 16 px per em.
    static func absolutePx(_ s: Bytes, _ r: Range<Int>) -> Float? {
        guard let (x, unit) = number(s, r) else { return nil }
        if unit.isEmpty { return x }
        guard let factor = unitFactor(s, unit, emPx: 16) else { return nil }
        return x * factor
    }

    private static func unitFactor(_ s: Bytes, _ unit: Range<Int>, emPx: Float) -> Float? {
        if HTMLBytes.equalsLower(s, unit, "px") { return 1 }
        if HTMLBytes.equalsLower(s, unit, "pt") { return 4.0 / 3.0 }
        if HTMLBytes.equalsLower(s, unit, "em") { return emPx }
        if HTMLBytes.equalsLower(s, unit, "rem") { return 16 }
        if HTMLBytes.equalsLower(s, unit, "%") { return emPx / 100 }
        if HTMLBytes.equalsLower(s, unit, "pc") { return 16 }
        if HTMLBytes.equalsLower(s, unit, "ex") || HTMLBytes.equalsLower(s, unit, "ch") { return emPx / 2 }
        if HTMLBytes.equalsLower(s, unit, "in") { return 96 }
        if HTMLBytes.equalsLower(s, unit, "cm") { return 37.8 }
        if HTMLBytes.equalsLower(s, unit, "mm") { return 3.78 }
        if HTMLBytes.equalsLower(s, unit, "q") { return 0.945 }
        if HTMLBytes.equalsLower(s, unit, "vw") || HTMLBytes.equalsLower(s, unit, "vh") { return 8 }
        return nil
    }

    static func fontSize(_ s: Bytes, _ r: Range<Int>) -> FontSize? {
        if let (x, unit) = number(s, r) {
            if unit.isEmpty { return x == 0 ? .px(0) : nil }
            if HTMLBytes.equalsLower(s, unit, "em") || HTMLBytes.equalsLower(s, unit, "ex")
                || HTMLBytes.equalsLower(s, unit, "ch") || HTMLBytes.equalsLower(s, unit, "%")
            {
                guard let f = unitFactor(s, unit, emPx: 1) else { return nil }
                return .scale(max(0, x * f))
            }
            guard let f = unitFactor(s, unit, emPx: 16) else { return nil }
            return .px(max(0, x * f))
        }
        return fontSizeKeyword(s, r)
    }

    private static func fontSizeKeyword(_ s: Bytes, _ r: Range<Int>) -> FontSize? {
        switch r.count {
        case 5:
            if HTMLBytes.equalsLower(s, r, "small") { return .px(13) }
            if HTMLBytes.equalsLower(s, r, "large") { return .px(18) }
        case 6:
            if HTMLBytes.equalsLower(s, r, "medium") { return .px(16) }
            if HTMLBytes.equalsLower(s, r, "larger") { return .scale(1.2) }
        case 7:
            if HTMLBytes.equalsLower(s, r, "x-small") { return .px(10) }
            if HTMLBytes.equalsLower(s, r, "x-large") { return .px(24) }
            if HTMLBytes.equalsLower(s, r, "smaller") { return .scale(1 / 1.2) }
        case 8:
            if HTMLBytes.equalsLower(s, r, "xx-small") { return .px(9) }
            if HTMLBytes.equalsLower(s, r, "xx-large") { return .px(32) }
        case 9:
            if HTMLBytes.equalsLower(s, r, "xxx-large") { return .px(48) }
        default: break
        }
        return nil
    }

    /// `<font size=…>`: 1…7, or relative to 3 with a sign. Returns (pixels, tiny).
    static func legacyFontSize(_ a: [UInt8]) -> (Float, Bool)? {
        a.withUnsafeBufferPointer { legacyFontSize($0) }
    }

    static func legacyFontSize(_ s: Bytes) -> (Float, Bool)? {
        let r = trim(s, 0..<s.count)
        var i = r.lowerBound
        guard i < r.upperBound else { return nil }
        var sign = 0
        if s[i] == 0x2B {
            sign = 1
            i += 1
        } else if s[i] == 0x2D {
            sign = -1
            i += 1
        }
        var n = 0
        var digits = 0
        while i < r.upperBound && HTMLBytes.isDigit(s[i]) {
            if n < 100 { n = n * 10 + Int(s[i] - 0x30) }
            digits += 1
            i += 1
        }
        guard digits > 0 else { return nil }
        let size = min(7, max(1, sign == 0 ? n : 3 + sign * n))
        let px: [Float] = [10, 13, 16, 18, 24, 32, 48]
        return (px[size - 1], size == 1)
    }

    // MARK: Colours

    private static let namedColors = HTMLKeywordTable<UInt32>([
        ("white", 0xFFFFFF), ("black", 0x000000), ("red", 0xFF0000), ("green", 0x008000), ("blue", 0x0000FF),
        ("yellow", 0xFFFF00), ("gray", 0x808080), ("grey", 0x808080), ("silver", 0xC0C0C0),
        ("lightgray", 0xD3D3D3), ("lightgrey", 0xD3D3D3), ("gainsboro", 0xDCDCDC), ("whitesmoke", 0xF5F5F5),
        ("snow", 0xFFFAFA), ("ivory", 0xFFFFF0), ("ghostwhite", 0xF8F8FF), ("floralwhite", 0xFFFAF0),
        ("seashell", 0xFFF5EE), ("mintcream", 0xF5FFFA), ("azure", 0xF0FFFF), ("aliceblue", 0xF0F8FF),
        ("honeydew", 0xF0FFF0), ("linen", 0xFAF0E6), ("oldlace", 0xFDF5E6), ("lavenderblush", 0xFFF0F5),
        ("beige", 0xF5F5DC), ("cornsilk", 0xFFF8DC), ("lightyellow", 0xFFFFE0), ("lightcyan", 0xE0FFFF),
        ("papayawhip", 0xFFEFD5), ("lemonchiffon", 0xFFFACD), ("antiquewhite", 0xFAEBD7),
        ("blanchedalmond", 0xFFEBCD), ("mistyrose", 0xFFE4E1), ("navy", 0x000080), ("maroon", 0x800000),
        ("purple", 0x800080), ("teal", 0x008080), ("olive", 0x808000), ("lime", 0x00FF00), ("aqua", 0x00FFFF),
        ("cyan", 0x00FFFF), ("fuchsia", 0xFF00FF), ("magenta", 0xFF00FF), ("orange", 0xFFA500),
        ("darkgray", 0xA9A9A9), ("darkgrey", 0xA9A9A9), ("dimgray", 0x696969), ("dimgrey", 0x696969),
        ("lightblue", 0xADD8E6), ("pink", 0xFFC0CB), ("gold", 0xFFD700), ("brown", 0xA52A2A),
        ("darkblue", 0x00008B), ("darkred", 0x8B0000), ("darkgreen", 0x006400),
    ])

    /// A CSS colour value. nil when the value isn't a colour or means "inherit";
    /// ``HTMLRenderState/unknownColor`` for colours we don't evaluate.
    static func cssColor(_ s: Bytes, _ r: Range<Int>) -> UInt32? {
        guard !r.isEmpty else { return nil }
        let first = s[r.lowerBound]
        if first == 0x23 {
            return hexColor(s, (r.lowerBound + 1)..<r.upperBound)
        }
        if HTMLBytes.hasPrefixLower(s, r, "rgb") { return rgbFunction(s, r) }
        if HTMLBytes.hasPrefixLower(s, r, "hsl") || HTMLBytes.hasPrefixLower(s, r, "var(")
            || HTMLBytes.hasPrefixLower(s, r, "color") || HTMLBytes.hasPrefixLower(s, r, "lab")
            || HTMLBytes.hasPrefixLower(s, r, "lch") || HTMLBytes.hasPrefixLower(s, r, "oklab")
            || HTMLBytes.hasPrefixLower(s, r, "oklch") || HTMLBytes.hasPrefixLower(s, r, "hwb")
        {
            return HTMLRenderState.unknownColor
        }
        if HTMLBytes.equalsLower(s, r, "transparent") { return HTMLRenderState.transparentColor }
        if let key = HTMLPackedName.pack(s, r, fold: true), let c = namedColors.lookup(key) { return c }
        return nil
    }

    /// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` (digits only, without the '#').
    private static func hexColor(_ s: Bytes, _ r: Range<Int>) -> UInt32? {
        guard r.count <= 8 else { return nil }
        var v: UInt32 = 0
        for i in r {
            guard let d = HTMLBytes.hexValue(s[i]) else { return nil }
            v = v << 4 | d
        }
        switch r.count {
        case 3:
            return (v >> 8) * 17 << 16 | ((v >> 4) & 0xF) * 17 << 8 | (v & 0xF) * 17
        case 4:
            if v & 0xF == 0 { return HTMLRenderState.transparentColor }
            return (v >> 12) * 17 << 16 | ((v >> 8) & 0xF) * 17 << 8 | ((v >> 4) & 0xF) * 17
        case 6:
            return v
        case 8:
            if v & 0xFF == 0 { return HTMLRenderState.transparentColor }
            return v >> 8
        default:
            return nil
        }
    }

    /// `rgb(r, g, b)`, `rgba(r, g, b, a)`, `rgb(r g b / a)`, with numbers or percentages.
    private static func rgbFunction(_ s: Bytes, _ r: Range<Int>) -> UInt32? {
        var i = r.lowerBound
        while i < r.upperBound && s[i] != 0x28 { i += 1 }
        guard i < r.upperBound else { return nil }
        i += 1
        var parts: [Float] = []
        while i < r.upperBound && parts.count < 4 {
            while i < r.upperBound && (HTMLBytes.isSpace(s[i]) || s[i] == 0x2C || s[i] == 0x2F) { i += 1 }
            guard i < r.upperBound, s[i] != 0x29 else { break }
            guard let (x, unit) = number(s, i..<r.upperBound) else { return HTMLRenderState.unknownColor }
            let isPercent = !unit.isEmpty && s[unit.lowerBound] == 0x25
            if parts.count < 3 {
                parts.append(min(255, max(0, isPercent ? x * 2.55 : x)))
            } else {
                parts.append(isPercent ? x / 100 : x)
            }
            i = unit.upperBound
        }
        guard parts.count >= 3 else { return HTMLRenderState.unknownColor }
        if parts.count == 4 && parts[3] <= invisibleOpacity { return HTMLRenderState.transparentColor }
        return UInt32(parts[0].rounded()) << 16 | UInt32(parts[1].rounded()) << 8 | UInt32(parts[2].rounded())
    }

    /// HTML's "rules for parsing a legacy colour value" (`<font color>`, `bgcolor`, `<body text>`).
    static func legacyColor(_ a: [UInt8]) -> UInt32? {
        a.withUnsafeBufferPointer { legacyColor($0) }
    }

    static func legacyColor(_ s: Bytes) -> UInt32? {
        let r = trim(s, 0..<s.count)
        guard !r.isEmpty else { return nil }
        if r.count == 7 && s[r.lowerBound] == 0x23 {  // "#rrggbb", the usual case
            var v: UInt32 = 0
            for i in (r.lowerBound + 1)..<r.upperBound {
                guard let d = HTMLBytes.hexValue(s[i]) else { return legacyColorSlow(s, r) }
                v = v << 4 | d
            }
            return v
        }
        return legacyColorSlow(s, r)
    }

    private static func legacyColorSlow(_ s: Bytes, _ r: Range<Int>) -> UInt32? {
        guard !HTMLBytes.equalsLower(s, r, "transparent") else { return nil }
        if let key = HTMLPackedName.pack(s, r, fold: true), let c = namedColors.lookup(key) { return c }
        if r.count == 4 && s[r.lowerBound] == 0x23 { return hexColor(s, (r.lowerBound + 1)..<r.upperBound) }
        // Replace non-hex with '0', drop a leading '#', pad to a multiple of 3, split in three.
        var digits: [UInt32] = []
        var i = r.lowerBound
        if s[i] == 0x23 { i += 1 }
        while i < r.upperBound && digits.count < 128 {
            digits.append(HTMLBytes.hexValue(s[i]) ?? 0)
            i += 1
        }
        if digits.isEmpty { return nil }
        while digits.count % 3 != 0 { digits.append(0) }
        var length = digits.count / 3
        var starts = [0, length, 2 * length]
        if length > 8 {
            let drop = length - 8
            starts = starts.map { $0 + drop }
            length = 8
        }
        while length > 2 && starts.allSatisfy({ digits[$0] == 0 }) {
            starts = starts.map { $0 + 1 }
            length -= 1
        }
        var rgb: UInt32 = 0
        for start in starts {
            var v: UInt32 = 0
            for k in 0..<min(2, length) { v = v << 4 | digits[start + k] }
            rgb = rgb << 8 | v
        }
        return rgb
    }

    // MARK: url()

    static func containsURL(_ s: Bytes, _ r: Range<Int>) -> Bool {
        var k = r.lowerBound
        while k + 4 <= r.upperBound {
            if s[k + 3] == 0x28 && HTMLBytes.equalsLower(s, k, "url") { return true }
            k += 1
        }
        return false
    }

    /// Appends the argument of every `url(...)` in `s[r]`, unquoted and trimmed.
    static func collectURLs(_ s: Bytes, _ r: Range<Int>, into urls: inout [Range<Int>]) {
        var i = r.lowerBound
        let end = r.upperBound
        while i + 4 <= end {
            if (s[i] | 0x20) == 0x75 && (s[i + 1] | 0x20) == 0x72 && (s[i + 2] | 0x20) == 0x6C && s[i + 3] == 0x28 {
                var j = i + 4
                while j < end && HTMLBytes.isSpace(s[j]) { j += 1 }
                var quote: UInt8 = 0
                if j < end && (s[j] == 0x22 || s[j] == 0x27) {
                    quote = s[j]
                    j += 1
                }
                let start = j
                while j < end && (quote != 0 ? s[j] != quote : s[j] != 0x29) { j += 1 }
                let arg = trim(s, start..<j)
                if !arg.isEmpty { urls.append(arg) }
                i = j + 1
            } else {
                i += 1
            }
        }
    }
}
