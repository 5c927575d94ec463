/// The first value of each attribute the extractor reads, as a range of the input
/// (inputs are under 4 GiB: ``HTMLText`` cuts longer ones).
struct HTMLTagAttributes {
    /// Bit `1 << attribute.rawValue` for each attribute present.
    var present: UInt32 = 0
    /// `start << 32 | end` per attribute, indexed by raw value.
    private var bounds:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// Attributes that carry URLs.
    /// (A computed constant: a `static let` costs a `swift_once` check on every start tag.)
    @inline(__always) static var urlAttributes: UInt32 {
        bit(.href) | bit(.src) | bit(.srcset) | bit(.action) | bit(.formaction) | bit(.background) | bit(.data)
            | bit(.poster) | bit(.content)
    }

    @inline(__always) static func bit(_ attribute: HTMLAttribute) -> UInt32 { UInt32(1) << UInt32(attribute.rawValue) }

    subscript(_ attribute: HTMLAttribute) -> Range<Int>? {
        guard present & (UInt32(1) << UInt32(attribute.rawValue)) != 0 else { return nil }
        let packed = withUnsafeBytes(of: bounds) {
            $0.load(fromByteOffset: Int(attribute.rawValue) &* 8, as: UInt64.self)
        }
        let start = Int(packed >> 32)
        return start..<max(start, Int(packed & 0xFFFF_FFFF))
    }

    var href: Range<Int>? { self[.href] }
    var src: Range<Int>? { self[.src] }
    var srcset: Range<Int>? { self[.srcset] }
    var action: Range<Int>? { self[.action] }
    var formaction: Range<Int>? { self[.formaction] }
    var background: Range<Int>? { self[.background] }
    var style: Range<Int>? { self[.style] }
    var hidden: Range<Int>? { self[.hidden] }
    var size: Range<Int>? { self[.size] }
    var color: Range<Int>? { self[.color] }
    var bgcolor: Range<Int>? { self[.bgcolor] }
    var text: Range<Int>? { self[.text] }
    var content: Range<Int>? { self[.content] }
    var httpEquiv: Range<Int>? { self[.httpEquiv] }
    var type: Range<Int>? { self[.type] }
    var data: Range<Int>? { self[.data] }
    var poster: Range<Int>? { self[.poster] }

    /// Records `value` for `attribute` unless the attribute was already seen (HTML keeps the first).
    @inline(__always) mutating func setIfAbsent(_ attribute: HTMLAttribute, _ value: Range<Int>) {
        let bit = UInt32(1) << UInt32(attribute.rawValue)
        guard present & bit == 0 else { return }
        present |= bit
        let packed =
            UInt64(truncatingIfNeeded: value.lowerBound) << 32 | UInt64(truncatingIfNeeded: value.upperBound)
            & 0xFFFF_FFFF
        withUnsafeMutableBytes(of: &bounds) {
            $0.storeBytes(of: packed, toByteOffset: Int(attribute.rawValue) &* 8, as: UInt64.self)
        }
    }
}

/// A cached inline style (``HTMLScanner/applyStyle(_:to:)``).
struct HTMLStyleCacheEntry {
    /// 0 for an empty entry.
    var hash: UInt64 = 0
    var start: Int32 = 0
    var end: Int32 = 0
    var effects = HTMLStyle.Effects()
}

/// A tag name that isn't an ``HTMLTag``, counted for ``HTMLContent/tagCounts``.
struct HTMLOtherTagCount {
    /// 0 for an empty slot.
    var hash: UInt64 = 0
    var start: Int32 = 0
    var length: Int32 = 0
    var count: Int32 = 0
}

/// One open element.
struct HTMLOpenElement {
    var tag: HTMLTag
    /// FNV-1a hash of the lower-cased name (tells apart elements whose tag is `.other`).
    var nameHash: UInt64
    /// Rendering state inside the element.
    var state: HTMLRenderState
    /// For an `<a href>`: its number (from 1), to end the collection of its text when it closes.
    var anchorID: UInt32
    /// `state.isHidden` and `state.isTiny`, computed once.
    var hidden: Bool
    var tiny: Bool

    init(tag: HTMLTag, nameHash: UInt64, state: HTMLRenderState, anchorID: UInt32) {
        self.tag = tag
        self.nameHash = nameHash
        self.state = state
        self.anchorID = anchorID
        self.hidden = state.isHidden
        self.tiny = state.isTiny
    }
}

/// A single-pass HTML tokenizer with just enough tree building to know what is visible.
///
/// Linear in the input: nothing is rescanned, except searches of the element stack, which are
/// bounded by ``searchLimit``. Works on the UTF-8 bytes of a `String`, which are valid UTF-8,
/// and only ever splits them at ASCII bytes, so the collected text stays valid UTF-8.
struct HTMLScanner {
    /// Open elements kept; deeper nesting forgets the outermost ones.
    static let maxDepth = 256
    /// Elements examined when looking for the element an end tag closes.
    static let searchLimit = 64
    /// Distinct tag names counted in ``HTMLContent/tagCounts``.
    static let maxDistinctTagNames = 256
    /// Longest tag name counted in ``HTMLContent/tagCounts``.
    static let maxCountedNameBytes = 64
    /// Bytes of link text kept per link.
    static let maxLinkTextBytes = 512
    /// Bytes of title kept.
    static let maxTitleBytes = 1_024
    /// Bytes below 0x40 that end a run of text: 0x00–0x20, '&', '<'.
    @inline(__always) static var stopLow: UInt64 { 0x1_FFFF_FFFF | 1 << 0x26 | 1 << 0x3C }
    /// Bytes that end a tag name: whitespace, '/', '>'.
    /// NUL is in the mask too, to be looked at: it doesn't end a name, but makes it unknown.
    @inline(__always) static var nameStop: UInt64 {
        1 | 1 << 0x09 | 1 << 0x0A | 1 << 0x0C | 1 << 0x0D | 1 << 0x20 | 1 << 0x2F | 1 << 0x3E
    }
    /// Bytes that end an attribute name: as for tag names, and '='.
    @inline(__always) static var attributeNameStop: UInt64 { nameStop | 1 << 0x3D }

    let p: UnsafeBufferPointer<UInt8>
    let n: Int
    /// Visible text; its size is the text limit (the text is never longer than the input).
    let out: UnsafeMutableBufferPointer<UInt8>
    var outCount = 0
    let maxURLs: Int
    // Static tables, held here so that hot paths don't go through lazy global initialization.
    let tagTable = HTMLTag.lookupTable
    let attributeTable = HTMLAttribute.lookupTable
    let entityTable = HTMLEntities.table
    let flagTable = HTMLTag.flagTable

    var result = HTMLContent()
    /// Pending separator before the next visible text: 0 none, 1 space, 2 newline.
    var sep: UInt8 = 0
    var textFull = false
    var badStructure = false
    var urlSet = URLDeduplicator()
    var scratch: [UInt8] = []

    var stack: [HTMLOpenElement] = []
    var cur = HTMLRenderState()
    var curHidden = false
    var curTiny = false
    /// Zeroed counters (see ``counterCount``): open elements per hash bucket of other names (0…255)
    /// or per known tag (256 + raw value), then start tags per known tag (``knownCountBase`` + raw value).
    let counters: UnsafeMutableBufferPointer<Int32>

    var anchorActive = false
    /// Number of the `<a href>` being collected (0 before the first).
    var anchorID: UInt32 = 0
    var anchorHref = ""
    var anchorText: [UInt8] = []
    var anchorSep: UInt8 = 0

    /// Parsed inline styles by content (templates repeat the same style on every row), initialized
    /// at the first `style` attribute. Matches are verified byte for byte.
    let styleCache: UnsafeMutableBufferPointer<HTMLStyleCacheEntry>
    var styleCacheReady = false
    static let styleCacheSlots = 64

    var titleSeen = false
    var cdataEndMissing = false

    var distinctNames = 0
    /// Open-addressing table of other tag names (allocated at the first one).
    var otherNames: [HTMLOtherTagCount] = []

    static let knownCountBase = 256 + HTMLTag.allCases.count
    static let counterCount = knownCountBase + HTMLTag.allCases.count

    /// Runs `body` with a scanner over `p` whose buffers live for the call.
    static func withScanner<R>(
        _ p: UnsafeBufferPointer<UInt8>, maxTextBytes: Int, maxURLs: Int, _ body: (inout HTMLScanner) -> R
    ) -> R {
        // The text is never longer than the input.
        let output = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: min(max(0, maxTextBytes), p.count))
        let counters = UnsafeMutableBufferPointer<Int32>.allocate(capacity: counterCount)
        counters.initialize(repeating: 0)
        let styleCache = UnsafeMutableBufferPointer<HTMLStyleCacheEntry>.allocate(capacity: styleCacheSlots)
        defer {
            output.deallocate()
            counters.deallocate()
            styleCache.deallocate()  // trivial type: no deinitialization needed
        }
        var scanner = HTMLScanner(p, output: output, counters: counters, styleCache: styleCache, maxURLs: maxURLs)
        return body(&scanner)
    }

    private init(
        _ p: UnsafeBufferPointer<UInt8>, output out: UnsafeMutableBufferPointer<UInt8>,
        counters: UnsafeMutableBufferPointer<Int32>, styleCache: UnsafeMutableBufferPointer<HTMLStyleCacheEntry>,
        maxURLs: Int
    ) {
        self.p = p
        self.n = p.count
        self.out = out
        self.counters = counters
        self.styleCache = styleCache
        self.maxURLs = max(0, maxURLs)
    }

    @inline(__always) func flags(_ tag: HTMLTag) -> HTMLTag.Flags { flagTable[Int(tag.rawValue)] }

    // MARK: Driver

    mutating func run() -> HTMLContent {
        scan(from: 0, to: n, markup: true, entities: true)
        finishAnchor()
        if textFull { outCount = HTMLScanner.completeUTF8Prefix(UnsafeBufferPointer(rebasing: out[0..<outCount])) }
        result.text = String(decoding: UnsafeBufferPointer(rebasing: out[0..<outCount]), as: UTF8.self)
        result.tagCounts = tagCounts()
        result.urls = urlSet.items
        var anomalies: [Anomaly] = []
        if result.hiddenTextBytes > 0 { anomalies.append(.htmlHiddenText) }
        if result.tinyTextBytes > 0 { anomalies.append(.htmlTinyText) }
        if badStructure { anomalies.append(.htmlBadStructure) }
        if result.linkTextMismatchCount > 0 { anomalies.append(.htmlLinkTextMismatch) }
        result.anomalies = anomalies
        result.isTextTruncated = textFull
        return result
    }

    /// Scans text between `start` and `end`. With `markup`, `<` starts a tag; with `entities`,
    /// `&` starts a character reference.
    mutating func scan(from start: Int, to end: Int, markup: Bool, entities: Bool) {
        var i = start
        while i < end {
            let b = p[i]
            if b == 0x3C && markup {
                i = self.markup(at: i)
                continue
            }
            if b == 0x26 && entities {
                if let (v, next) = HTMLEntities.decode(p, at: i, end: end, inAttribute: false, table: entityTable) {
                    emitScalar(v)
                    i = next
                } else {
                    emit(i..<(i + 1))
                    i += 1
                }
                continue
            }
            if b <= 0x20 {
                // A run of whitespace (other control characters render as nothing).
                var sawSpace = HTMLBytes.isSpace(b)
                i += 1
                while i < end && p[i] <= 0x20 {
                    sawSpace = sawSpace || HTMLBytes.isSpace(p[i])
                    i += 1
                }
                if sawSpace { whitespace() }
                continue
            }
            if b == 0xC2 || b == 0xE2 || b == 0xEF {
                let (kind, length) = specialSequence(at: i, end: end)
                if kind == 1 {
                    whitespace()
                    i += length
                    continue
                } else if kind == 2 {
                    invisibleCharacter()
                    i += length
                    continue
                }
            }
            // A run of ordinary bytes: up to whitespace or a control character, '<', '&', or the
            // lead byte of a space-like or invisible character.
            // A single space between two such bytes stays in the run: it is already collapsed.
            var j = i + 1
            var spaces = 0
            while j < end {
                let c = p[j]
                if c < 0x40 {
                    if (Self.stopLow &>> UInt64(c)) & 1 != 0 {
                        guard c == 0x20, j + 1 < end else { break }
                        let d = p[j + 1]
                        guard d >= 0x40 ? d < 0x80 : (Self.stopLow &>> UInt64(d)) & 1 == 0 else { break }
                        spaces &+= 1
                        j &+= 2
                        continue
                    }
                } else if c >= 0xC2 && (c == 0xC2 || c == 0xE2 || c == 0xEF) {
                    break
                }
                j &+= 1
            }
            emit(UnsafeBufferPointer(rebasing: p[i..<j]), spaces: spaces)
            i = j
        }
    }

    /// Classifies a UTF-8 sequence starting with C2, E2 or EF: 1 = a space (NBSP, the U+2000
    /// spaces…), 2 = an invisible character (soft hyphen, zero-width space/joiners, word joiner,
    /// BOM), 0 = ordinary. Returns the sequence length.
    @inline(__always) func specialSequence(at i: Int, end: Int) -> (UInt8, Int) {
        let b = p[i]
        if b == 0xC2 {
            guard i + 1 < end else { return (0, 1) }
            let c = p[i + 1]
            if c == 0xA0 { return (1, 2) }
            if c == 0xAD { return (2, 2) }
            return (0, 1)
        }
        guard i + 2 < end else { return (0, 1) }
        let c = p[i + 1]
        let d = p[i + 2]
        if b == 0xE2 {
            if c == 0x80 {
                if d >= 0x80 && d <= 0x8A { return (1, 3) }
                if d >= 0x8B && d <= 0x8D { return (2, 3) }
                if d == 0xA8 || d == 0xA9 || d == 0xAF { return (1, 3) }
            } else if c == 0x81 {
                if d == 0x9F { return (1, 3) }
                if d == 0xA0 { return (2, 3) }
            }
        } else if c == 0xBB && d == 0xBF {
            return (2, 3)
        }
        return (0, 1)
    }

    // MARK: Text output

    @inline(__always) mutating func whitespace() {
        if curHidden { return }
        if sep == 0 { sep = 1 }
        if anchorActive { anchorSep = 1 }
    }

    /// Requests a line break (2) or space (1) before the next visible text. Pass `visible: false`
    /// for elements that generate no box (`display:none` and the like): they don't separate words.
    @inline(__always) mutating func separator(_ level: UInt8, visible: Bool) {
        guard visible else { return }
        if sep < level { sep = level }
        if anchorActive { anchorSep = 1 }
    }

    mutating func invisibleCharacter() {
        result.invisibleCharacterCount += 1
    }

    @inline(__always) mutating func emit(_ r: Range<Int>) {
        emit(UnsafeBufferPointer(rebasing: p[r]))
    }

    /// Emits visible text, or counts hidden text. `spaces` is the number of (single, inner)
    /// spaces in `buf`, which don't count as text.
    mutating func emit(_ buf: UnsafeBufferPointer<UInt8>, spaces: Int = 0) {
        let count = buf.count
        guard count > 0 else { return }
        if curHidden {
            result.hiddenTextBytes += count &- spaces
            return
        }
        if curTiny { result.tinyTextBytes += count &- spaces }
        if anchorActive && anchorText.count < Self.maxLinkTextBytes {
            if anchorSep != 0 && !anchorText.isEmpty { anchorText.append(0x20) }
            anchorSep = 0
            let room = Self.maxLinkTextBytes - anchorText.count
            anchorText.append(contentsOf: room >= count ? buf[...] : buf.prefix(room))
        }
        if textFull { return }
        if sep != 0 {
            if outCount != 0 {
                guard outCount < out.count else {
                    textFull = true
                    return
                }
                out[outCount] = sep == 2 ? 0x0A : 0x20
                outCount &+= 1
            }
            sep = 0
        }
        let k = min(count, out.count &- outCount)
        if k > 16, let dst = out.baseAddress, let src = buf.baseAddress {
            (dst + outCount).update(from: src, count: k)
        } else {
            for j in 0..<k { out[outCount &+ j] = buf[j] }
        }
        outCount &+= k
        if k < count { textFull = true }
    }

    mutating func emitScalar(_ v: UInt32) {
        switch v {
        case 0x09, 0x0A, 0x0C, 0x0D, 0x20, 0xA0, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F:
            whitespace()
        case 0xAD, 0x200B...0x200D, 0x2060, 0xFEFF:
            invisibleCharacter()
        case 0..<0x20, 0x7F:
            break
        default:
            var bytes: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
            let count: Int
            if v < 0x80 {
                bytes.0 = UInt8(v)
                count = 1
            } else if v < 0x800 {
                bytes = (UInt8(0xC0 | (v >> 6)), UInt8(0x80 | (v & 0x3F)), 0, 0)
                count = 2
            } else if v < 0x10000 {
                bytes = (UInt8(0xE0 | (v >> 12)), UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F)), 0)
                count = 3
            } else {
                bytes = (
                    UInt8(0xF0 | (v >> 18)), UInt8(0x80 | ((v >> 12) & 0x3F)), UInt8(0x80 | ((v >> 6) & 0x3F)),
                    UInt8(0x80 | (v & 0x3F))
                )
                count = 4
            }
            withUnsafeBytes(of: &bytes) { raw in
                emit(UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: count))
            }
        }
    }

    /// The length of `bytes` without a UTF-8 sequence cut short at its end.
    static func completeUTF8Prefix(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var i = bytes.count
        var continuation = 0
        while i > 0 && continuation < 4 {
            i -= 1
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let need = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return continuation + 1 < need ? i : bytes.count
            }
            continuation += 1
        }
        return bytes.count
    }

    /// Removes a UTF-8 sequence cut short at the end of `bytes`.
    static func dropIncompleteTail(_ bytes: inout [UInt8]) {
        let keep = bytes.withUnsafeBufferPointer { completeUTF8Prefix($0) }
        bytes.removeSubrange(keep...)
    }

    // MARK: Markup

    /// Handles the markup that starts at `p[i]` (a `<`) and returns the index after it.
    mutating func markup(at i: Int) -> Int {
        let j = i + 1
        guard j < n else {
            emit(i..<n)
            return n
        }
        let c = p[j]
        if HTMLBytes.isAlpha(c) { return startTag(at: i) }
        switch c {
        case 0x2F:  // '/'
            guard j + 1 < n else {
                emit(i..<n)
                return n
            }
            let d = p[j + 1]
            if HTMLBytes.isAlpha(d) { return endTag(at: i) }
            if d == 0x3E { return j + 2 }  // "</>" is ignored
            return bogusComment(from: j + 1)
        case 0x21:  // '!'
            return markupDeclaration(at: i)
        case 0x3F:  // '?': processing instruction, XML declaration
            return bogusComment(from: j + 1)
        default:
            emit(i..<j)  // a literal '<'
            return j
        }
    }

    /// Skips to after the next `>`.
    mutating func bogusComment(from start: Int) -> Int {
        let k = HTMLBytes.firstIndex(of: 0x3E, in: p, from: start, to: n)
        if k < n { return k + 1 }
        badStructure = true
        return n
    }

    /// `<!--…-->`, `<![CDATA[…]]>`, `<!DOCTYPE…>` and other `<!…>`.
    mutating func markupDeclaration(at i: Int) -> Int {
        var k = i + 2
        if k + 1 < n && p[k] == 0x2D && p[k + 1] == 0x2D {
            k += 2
            // "<!-->" and "<!--->" end at once.
            if k < n && p[k] == 0x3E { return k + 1 }
            if k + 1 < n && p[k] == 0x2D && p[k + 1] == 0x3E { return k + 2 }
            while k < n {
                k = HTMLBytes.firstIndex(of: 0x2D, in: p, from: k, to: n)
                if k + 2 < n && p[k + 1] == 0x2D {
                    if p[k + 2] == 0x3E { return k + 3 }
                    if p[k + 2] == 0x21 && k + 3 < n && p[k + 3] == 0x3E { return k + 4 }
                }
                k += 1
            }
            badStructure = true
            return n
        }
        if k + 7 <= n && p[k] == 0x5B && HTMLBytes.equalsLower(p, k + 1, "cdata[") {
            if !cdataEndMissing {
                var e = k + 7
                while e + 2 < n {
                    if p[e] == 0x5D && p[e + 1] == 0x5D && p[e + 2] == 0x3E { return e + 3 }
                    e += 1
                }
                cdataEndMissing = true
            }
        }
        return bogusComment(from: k)
    }

    /// Reads a tag name starting at `p[start]`: lower-cased packed key, FNV-1a hash, end index.
    /// Reads a tag name starting at `p[start]`: the known tag it names, an FNV-1a hash of the
    /// lower-cased name for other names (0 for known tags), and the index after it.
    @inline(__always) func tagName(from start: Int) -> (HTMLTag, UInt64, Int) {
        var k = start
        var plain = true
        while k < n {
            let b = p[k]
            if b < 0x40 && (Self.nameStop &>> UInt64(b)) & 1 != 0 {
                if b != 0 { break }
                plain = false  // "a\0" is not "a" (browsers read U+FFFD)
            }
            k &+= 1
        }
        // Longer names are no known tag.
        if plain && k &- start <= HTMLPackedName.maxBytes,
            let tag = tagTable.lookup(HTMLPackedName.packFolded(p, start, k))
        {
            return (tag, 0, k)
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for j in start..<k { hash = (hash ^ UInt64(HTMLBytes.lower(p[j]))) &* 0x100_0000_01B3 }
        return (.other, hash, k)
    }

    /// Reads attributes up to and including the `>`. Returns the index after the tag, whether it
    /// ended with `/>`, or nil at the end of input (the tag is then dropped, as browsers do).
    @inline(__always) mutating func attributes(from start: Int, into attrs: inout HTMLTagAttributes) -> (Int, Bool)? {
        var k = start
        while true {
            while k < n && HTMLBytes.isSpace(p[k]) { k += 1 }
            guard k < n else { return nil }
            let b = p[k]
            if b == 0x3E { return (k + 1, false) }
            if b == 0x2F {
                k += 1
                if k < n && p[k] == 0x3E { return (k + 1, true) }
                continue
            }
            // The name (its first character may be '='); packed once its end is known.
            let nameStart = k
            var packable = b != 0
            k += 1
            while k < n {
                let c = p[k]
                if c < 0x40 && (Self.attributeNameStop &>> UInt64(c)) & 1 != 0 {
                    if c != 0 { break }
                    packable = false
                }
                k += 1
            }
            // No attribute read is longer than 12 bytes.
            if k &- nameStart > 12 { packable = false }
            let nameEnd = k
            while k < n && HTMLBytes.isSpace(p[k]) { k += 1 }
            var value = k..<k
            if k < n && p[k] == 0x3D {
                k += 1
                while k < n && HTMLBytes.isSpace(p[k]) { k += 1 }
                guard k < n else { return nil }
                let q = p[k]
                if q == 0x22 || q == 0x27 {
                    k += 1
                    let valueStart = k
                    k = HTMLBytes.firstIndex(of: q, in: p, from: k, to: n)
                    guard k < n else { return nil }
                    value = valueStart..<k
                    k += 1
                } else if q != 0x3E {
                    let valueStart = k
                    while k < n && !HTMLBytes.isSpace(p[k]) && p[k] != 0x3E { k += 1 }
                    value = valueStart..<k
                }
            }
            if packable, let attribute = attributeTable.lookup(HTMLPackedName.packFolded(p, nameStart, nameEnd)) {
                attrs.setIfAbsent(attribute, value)
            }
        }
    }

    mutating func startTag(at i: Int) -> Int {
        let (tag, hash, nameEnd) = tagName(from: i + 1)
        var attrs = HTMLTagAttributes()
        guard let (next, _) = attributes(from: nameEnd, into: &attrs) else {
            badStructure = true
            return n
        }
        countTag(tag, (i + 1)..<nameEnd, hash)
        return openElement(tag, hash, attrs, after: next)
    }

    mutating func endTag(at i: Int) -> Int {
        let (tag, hash, nameEnd) = tagName(from: i + 2)
        var attrs = HTMLTagAttributes()
        guard let (next, _) = attributes(from: nameEnd, into: &attrs) else {
            badStructure = true
            return n
        }
        closeElement(tag, hash)
        return next
    }

    // MARK: Tree building (approximate)

    @inline(__always) func openSlot(_ tag: HTMLTag, _ hash: UInt64) -> Int {
        tag == .other ? Int(truncatingIfNeeded: hash & 0xFF) : 256 + Int(tag.rawValue)
    }

    @inline(__always) func isOpen(_ tag: HTMLTag) -> Bool { counters[256 + Int(tag.rawValue)] != 0 }

    mutating func push(_ element: HTMLOpenElement) {
        if stack.count >= Self.maxDepth {
            // Forget the outermost quarter; the state inside is already inherited by the rest.
            let dropped = Self.maxDepth / 4
            for e in stack[0..<dropped] {
                counters[openSlot(e.tag, e.nameHash)] -= 1
                if e.anchorID != 0 && e.anchorID == anchorID { finishAnchor() }
            }
            stack.removeFirst(dropped)
        }
        counters[openSlot(element.tag, element.nameHash)] += 1
        stack.append(element)
        cur = element.state
        curHidden = element.hidden
        curTiny = element.tiny
    }

    @inline(__always) mutating func setState(_ st: HTMLRenderState) {
        cur = st
        curHidden = st.isHidden
        curTiny = st.isTiny
    }

    /// Pops the elements above and including `stack[index]`.
    mutating func pop(to index: Int) {
        while stack.count > index {
            guard let e = stack.popLast() else { break }
            counters[openSlot(e.tag, e.nameHash)] -= 1
            let f = flags(e.tag)
            if f.contains(.block) {
                separator(2, visible: !e.state.removed)
            } else if f.contains(.cell) {
                separator(1, visible: !e.state.removed)
            }
            if e.anchorID != 0 && e.anchorID == anchorID { finishAnchor() }
        }
        if let top = stack.last {
            cur = top.state
            curHidden = top.hidden
            curTiny = top.tiny
        } else {
            setState(HTMLRenderState())
        }
    }

    /// Index of the topmost open element matching `match`, searching down until `stop` says so
    /// (checked after `match`) or ``searchLimit`` elements were looked at.
    @inline(__always) func find(
        _ match: (HTMLOpenElement) -> Bool, stop: (HTMLOpenElement) -> Bool
    ) -> Int? {
        var idx = stack.count - 1
        let lowest = max(0, stack.count - Self.searchLimit)
        while idx >= lowest {
            let e = stack[idx]
            if match(e) { return idx }
            if stop(e) { return nil }
            idx -= 1
        }
        return nil
    }

    /// Like `find`, but returns the deepest match before `stop` (for closing table rows and cells).
    func findDeepest(_ match: (HTMLTag) -> Bool, stop: (HTMLTag) -> Bool) -> Int? {
        var idx = stack.count - 1
        let lowest = max(0, stack.count - Self.searchLimit)
        var found: Int?
        while idx >= lowest {
            let t = stack[idx].tag
            if match(t) {
                found = idx
            } else if stop(t) {
                break
            }
            idx -= 1
        }
        return found
    }

    static func isTableBoundary(_ t: HTMLTag) -> Bool { t == .table || t == .html || t == .template }

    /// Closes what a start tag implicitly closes.
    mutating func closeImplied(by tag: HTMLTag) {
        if flags(tag).contains(.closesP) && isOpen(.p),
            let idx = find({ $0.tag == .p }, stop: { flags($0.tag).contains(.scope) })
        {
            pop(to: idx)
        }
        switch tag {
        case .li, .dd, .dt:
            guard isOpen(.li) || isOpen(.dd) || isOpen(.dt) else { return }
            let idx = find(
                { tag == .li ? $0.tag == .li : ($0.tag == .dd || $0.tag == .dt) },
                stop: {
                    let t = $0.tag
                    return self.flags(t).contains(.special) && t != .address && t != .div && t != .p
                })
            if let idx { pop(to: idx) }
        case .td, .th:
            guard isOpen(.td) || isOpen(.th) else { return }
            if let idx = findDeepest({ $0 == .td || $0 == .th }, stop: Self.isTableBoundary) { pop(to: idx) }
        case .tr:
            guard isOpen(.tr) || isOpen(.td) || isOpen(.th) else { return }
            if let idx = findDeepest({ $0 == .tr || $0 == .td || $0 == .th }, stop: Self.isTableBoundary) {
                pop(to: idx)
            }
        case .tbody, .thead, .tfoot:
            if let idx = findDeepest(
                { $0 == .tbody || $0 == .thead || $0 == .tfoot || $0 == .tr || $0 == .td || $0 == .th },
                stop: Self.isTableBoundary)
            {
                pop(to: idx)
            }
        case .option, .optgroup:
            if let top = stack.last, top.tag == .option || (tag == .optgroup && top.tag == .optgroup) {
                pop(to: stack.count - 1)
            }
        case .a:
            if isOpen(.a), let idx = find({ $0.tag == .a }, stop: { flags($0.tag).contains(.scope) }) {
                pop(to: idx)
            }
        case .body:
            if isOpen(.head), let idx = find({ $0.tag == .head }, stop: { _ in false }) { pop(to: idx) }
        default:
            break
        }
    }

    mutating func closeElement(_ tag: HTMLTag, _ hash: UInt64) {
        switch tag {
        case .br:
            separator(2, visible: !cur.removed)  // "</br>" is "<br>"
            return
        case .body, .html:
            return  // content after them is still rendered in the body
        case .p:
            if isOpen(.p), let idx = find({ $0.tag == .p }, stop: { flags($0.tag).contains(.scope) }) {
                pop(to: idx)
            } else {
                separator(2, visible: !cur.removed)  // "</p>" alone makes an empty paragraph
            }
            return
        default:
            break
        }
        guard counters[openSlot(tag, hash)] != 0 else { return }
        let tagFlags = flags(tag)
        let idx: Int?
        switch tag {
        case .td, .th, .tr, .tbody, .thead, .tfoot, .table, .caption:
            idx = find({ $0.tag == tag }, stop: { Self.isTableBoundary($0.tag) })
        default:
            if tagFlags.contains(.special) || tagFlags.contains(.formatting) {
                idx = find({ $0.tag == tag && $0.nameHash == hash }, stop: { flags($0.tag).contains(.scope) })
            } else {
                idx = find({ $0.tag == tag && $0.nameHash == hash }, stop: { flags($0.tag).contains(.special) })
            }
        }
        if let idx { pop(to: idx) }
    }

    mutating func openElement(_ tag: HTMLTag, _ hash: UInt64, _ attrs: HTMLTagAttributes, after next: Int) -> Int {
        closeImplied(by: tag)
        var st = cur
        // An anchor's href is both a URL and the link target: decode it once.
        let anchorTarget = tag == .a ? attrs.href.map { decodedURL($0) } : nil
        if attrs.present & HTMLTagAttributes.urlAttributes != 0 { collectURLs(tag, attrs, href: anchorTarget) }

        // Presentational attributes, then inline style.
        if attrs.hidden != nil { st.removed = true }
        switch tag {
        case .font:
            if let r = attrs.size {
                decodeAttribute(r)
                if let (px, tiny) = HTMLStyle.legacyFontSize(scratch) {
                    st.fontPx = px
                    st.tinyFont = tiny
                }
            }
            if let r = attrs.color {
                decodeAttribute(r)
                if let c = HTMLStyle.legacyColor(scratch) { st.color = c }
            }
        case .body:
            if let r = attrs.text {
                decodeAttribute(r)
                if let c = HTMLStyle.legacyColor(scratch) { st.color = c }
            }
        case .a:
            if attrs.href != nil { st.color = HTMLRenderState.linkColor }
        case .template:
            st.removed = true
        case .img, .image:
            result.imageCount += 1
        case .input:
            if let r = attrs.type {
                decodeAttribute(r)
                if HTMLBytes.equalsLower(scratch, 0..<scratch.count, "image") { result.imageCount += 1 }
            }
        default:
            break
        }
        if let r = attrs.bgcolor {
            decodeAttribute(r)
            if let c = HTMLStyle.legacyColor(scratch) { st.background = c }
        }
        if attrs.background != nil { st.background = HTMLRenderState.unknownColor }
        if let r = attrs.style { applyStyle(r, to: &st) }

        let tagFlags = flags(tag)
        if tagFlags.contains(.void) {
            if tag == .br || tag == .hr { separator(2, visible: !st.removed) }
            return next
        }
        switch tag {
        case .script, .style, .iframe, .noembed, .noframes, .xmp, .textarea, .title, .plaintext:
            return rawText(tag, st, from: next)
        default:
            break
        }
        let isAnchor = tag == .a && attrs.href != nil
        if isAnchor {
            finishAnchor()
            anchorID &+= 1
        }
        push(HTMLOpenElement(tag: tag, nameHash: hash, state: st, anchorID: isAnchor ? anchorID : 0))
        if tagFlags.contains(.block) {
            separator(2, visible: !st.removed)
        } else if tagFlags.contains(.cell) {
            separator(1, visible: !st.removed)
        }
        if isAnchor, let anchorTarget {
            anchorHref = anchorTarget
            anchorText.removeAll(keepingCapacity: true)
            anchorSep = 0
            anchorActive = true
        }
        return next
    }

    /// Applies an inline `style` attribute, through the style cache.
    mutating func applyStyle(_ r: Range<Int>, to st: inout HTMLRenderState) {
        let hash = HTMLBytes.hash(p, r) | 1
        let slot = Int(truncatingIfNeeded: hash & UInt64(Self.styleCacheSlots - 1))
        if !styleCacheReady {
            styleCache.initialize(repeating: HTMLStyleCacheEntry())
            styleCacheReady = true
        } else if styleCache[slot].hash == hash
            && HTMLBytes.equal(p, Int(styleCache[slot].start)..<Int(styleCache[slot].end), r)
        {
            HTMLStyle.apply(styleCache[slot].effects, to: &st)
            return
        }
        // Usually parsed where it is; a value with a character reference or a comment is
        // normalized first.
        var ranges: [Range<Int>] = []
        let effects = HTMLStyle.parseDeclarations(p, r, raw: true, urls: &ranges)
        if effects.needsNormalizing {
            HTMLStyle.normalize(p, r, into: &scratch)
            let (normalized, urls) = scratch.withUnsafeBufferPointer { b in
                var ranges: [Range<Int>] = []
                let e = HTMLStyle.parseDeclarations(b, 0..<b.count, raw: false, urls: &ranges)
                return (e, ranges.map { Self.cleanURL(b, $0) })
            }
            HTMLStyle.apply(normalized, to: &st)
            for u in urls { addURL(u) }
        } else {
            HTMLStyle.apply(effects, to: &st)
            if ranges.isEmpty {
                styleCache[slot] = HTMLStyleCacheEntry(
                    hash: hash, start: Int32(truncatingIfNeeded: r.lowerBound),
                    end: Int32(truncatingIfNeeded: r.upperBound),
                    effects: effects)
            } else {
                for u in ranges { addURL(Self.cleanURL(p, u)) }
            }
        }
    }

    /// Content of script, style, title, textarea and the like, up to the matching end tag.
    mutating func rawText(_ tag: HTMLTag, _ st: HTMLRenderState, from start: Int) -> Int {
        var contentEnd = n
        var next = n
        if tag != .plaintext {
            if let (end, after) = findRawEnd(tag, from: start) {
                contentEnd = end
                next = after
            } else {
                badStructure = true
            }
        }
        let saved = cur
        switch tag {
        case .style:
            if contentEnd > start && urlSet.count < maxURLs {
                var urls: [Range<Int>] = []
                HTMLStyle.collectURLs(p, start..<contentEnd, into: &urls)
                for u in urls { addURL(Self.cleanURL(p, u)) }
            }
        case .title:
            if !titleSeen {
                titleSeen = true
                result.title = decodedTitle(start..<contentEnd)
            }
        case .xmp, .textarea, .plaintext:
            setState(st)
            separator(2, visible: !st.removed)
            scan(from: start, to: contentEnd, markup: false, entities: tag == .textarea)
            separator(2, visible: !st.removed)
            setState(saved)
        default:
            break  // script, iframe, noembed, noframes: not rendered
        }
        return next
    }

    /// Finds `</name` followed by a delimiter; returns the content end and the index after the end tag.
    func findRawEnd(_ tag: HTMLTag, from start: Int) -> (Int, Int)? {
        let name = tag.name.utf8
        let length = name.count
        var k = start
        while k + 1 < n {
            k = HTMLBytes.firstIndex(of: 0x3C, in: p, from: k, to: n)
            if k + 1 < n && p[k + 1] == 0x2F {
                var m = k + 2
                var matched = m + length <= n
                if matched {
                    for c in name {
                        if HTMLBytes.lower(p[m]) != c {
                            matched = false
                            break
                        }
                        m += 1
                    }
                }
                if matched && (m == n || HTMLBytes.isSpace(p[m]) || p[m] == 0x2F || p[m] == 0x3E) {
                    // Skip the rest of the end tag, honouring quotes like any tag.
                    var q = m
                    var quote: UInt8 = 0
                    while q < n {
                        let b = p[q]
                        if quote != 0 {
                            if b == quote { quote = 0 }
                        } else if b == 0x22 || b == 0x27 {
                            if q > m && (p[q - 1] == 0x3D || HTMLBytes.isSpace(p[q - 1])) { quote = b }
                        } else if b == 0x3E {
                            return (k, q + 1)
                        }
                        q += 1
                    }
                    return (k, n)
                }
            }
            k += 1
        }
        return nil
    }

    // MARK: Attributes and URLs

    /// Decodes `p[r]` into `scratch`.
    mutating func decodeAttribute(_ r: Range<Int>) {
        scratch.removeAll(keepingCapacity: true)
        HTMLEntities.appendDecoded(p, r, to: &scratch)
    }

    /// An attribute value as a URL: references decoded, surrounding whitespace and control
    /// characters stripped, tabs and newlines inside removed (as browsers do).
    mutating func decodedURL(_ r: Range<Int>) -> String {
        if HTMLBytes.firstIndex(of: 0x26, in: p, from: r.lowerBound, to: r.upperBound) == r.upperBound {
            return Self.cleanURL(p, r)  // nothing to decode
        }
        decodeAttribute(r)
        return Self.cleanURL(scratch, 0..<scratch.count)
    }

    static func cleanURL(_ s: [UInt8], _ r: Range<Int>) -> String {
        s.withUnsafeBufferPointer { cleanURL($0, r) }
    }

    static func cleanURL(_ s: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        var lo = r.lowerBound
        var hi = r.upperBound
        while lo < hi && s[lo] <= 0x20 { lo += 1 }
        while hi > lo && s[hi - 1] <= 0x20 { hi -= 1 }
        if !HTMLBytes.containsTabOrNewline(s, lo..<hi) {
            return String(decoding: UnsafeBufferPointer(rebasing: s[lo..<hi]), as: UTF8.self)
        }
        return String(decoding: s[lo..<hi].lazy.filter { $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
    }

    mutating func addURL(_ url: String) {
        guard !url.isEmpty, urlSet.count < maxURLs else { return }
        urlSet.insert(url)
    }

    mutating func addURL(bytes: [UInt8], _ r: Range<Int>) {
        guard urlSet.count < maxURLs else { return }
        addURL(Self.cleanURL(bytes, r))
    }

    /// - Parameter href: the decoded `href`, when the caller needed it too.
    mutating func collectURLs(_ tag: HTMLTag, _ attrs: HTMLTagAttributes, href: String?) {
        guard urlSet.count < maxURLs else { return }
        if let href {
            addURL(href)
        } else if let r = attrs.href {
            switch tag {
            case .a, .area, .link, .base: addURL(decodedURL(r))
            default: break
            }
        }
        if let r = attrs.src {
            switch tag {
            case .img, .image, .iframe, .frame, .embed, .source, .script, .audio, .video, .track:
                addURL(decodedURL(r))
            case .input:
                if let t = attrs.type {
                    decodeAttribute(t)
                    if HTMLBytes.equalsLower(scratch, 0..<scratch.count, "image") { addURL(decodedURL(r)) }
                }
            default: break
            }
        }
        if let r = attrs.srcset, tag == .img || tag == .source || tag == .image {
            decodeAttribute(r)
            // "url 1x, url 2x": the first token of each comma-separated candidate.
            let s = scratch
            var i = 0
            while i < s.count {
                while i < s.count && (HTMLBytes.isSpace(s[i]) || s[i] == 0x2C) { i += 1 }
                let start = i
                while i < s.count && !HTMLBytes.isSpace(s[i]) { i += 1 }
                var end = i
                while end > start && s[end - 1] == 0x2C { end -= 1 }
                if end > start { addURL(bytes: s, start..<end) }
                while i < s.count && s[i] != 0x2C { i += 1 }
            }
        }
        if let r = attrs.action, tag == .form { addURL(decodedURL(r)) }
        if let r = attrs.formaction, tag == .button || tag == .input { addURL(decodedURL(r)) }
        if let r = attrs.background { addURL(decodedURL(r)) }
        if let r = attrs.data, tag == .object { addURL(decodedURL(r)) }
        if let r = attrs.poster, tag == .video { addURL(decodedURL(r)) }
        if tag == .meta, let he = attrs.httpEquiv, let content = attrs.content {
            decodeAttribute(he)
            let isRefresh = scratch.withUnsafeBufferPointer {
                HTMLBytes.equalsLower($0, HTMLStyle.trim($0, 0..<$0.count), "refresh")
            }
            guard isRefresh else { return }
            decodeAttribute(content)
            if let u = Self.refreshURL(scratch) { addURL(bytes: scratch, u) }
        }
    }

    /// The URL in a refresh `content` value: `5; url='http://…'`.
    static func refreshURL(_ s: [UInt8]) -> Range<Int>? {
        var i = 0
        while i < s.count && s[i] != 0x3B && s[i] != 0x2C { i += 1 }
        guard i < s.count else { return nil }
        i += 1
        while i < s.count && HTMLBytes.isSpace(s[i]) { i += 1 }
        if HTMLBytes.hasPrefixLower(s, i..<s.count, "url") {
            var k = i + 3
            while k < s.count && HTMLBytes.isSpace(s[k]) { k += 1 }
            if k < s.count && s[k] == 0x3D {
                i = k + 1
                while i < s.count && HTMLBytes.isSpace(s[i]) { i += 1 }
            }
        }
        var end = s.count
        if i < s.count && (s[i] == 0x22 || s[i] == 0x27) {
            let q = s[i]
            i += 1
            var k = i
            while k < s.count && s[k] != q { k += 1 }
            end = k
        }
        return i < end ? i..<end : nil
    }

    // MARK: Anchors

    mutating func finishAnchor() {
        guard anchorActive else { return }
        anchorActive = false
        HTMLScanner.dropIncompleteTail(&anchorText)
        let text = String(decoding: anchorText, as: UTF8.self)
        if result.links.count < maxURLs { result.links.append(HTMLLink(href: anchorHref, text: text)) }
        // Only a text with a dot (or an IPv6 literal) can show a host.
        if anchorText.contains(where: { $0 == 0x2E || $0 == 0x5B }),
            Self.linkTextMismatch(href: anchorHref, text: text)
        {
            result.linkTextMismatchCount += 1
        }
    }

    /// The text of a link shows a URL or domain whose registrable domain differs from the target's.
    static func linkTextMismatch(href: String, text: String) -> Bool {
        guard !text.isEmpty, let shownHost = URLExtractor.displayedHost(in: text), let target = ParsedURL.parse(href),
            target.scheme == "http" || target.scheme == "https", !target.host.isEmpty
        else { return false }
        return ParsedURL.registrableDomainGuess(forHost: shownHost) != target.registrableDomainGuess
    }

    // MARK: Title

    mutating func decodedTitle(_ r: Range<Int>) -> String {
        scratch.removeAll(keepingCapacity: true)
        HTMLEntities.appendDecoded(p, r, to: &scratch)
        var t: [UInt8] = []
        t.reserveCapacity(min(scratch.count, Self.maxTitleBytes))
        var pending = false
        var i = 0
        while i < scratch.count && t.count < Self.maxTitleBytes {
            let b = scratch[i]
            if HTMLBytes.isSpace(b) || (b == 0xC2 && i + 1 < scratch.count && scratch[i + 1] == 0xA0) {
                pending = true
                i += b == 0xC2 ? 2 : 1
                continue
            }
            if pending && !t.isEmpty { t.append(0x20) }
            pending = false
            t.append(b)
            i += 1
        }
        Self.dropIncompleteTail(&t)
        return String(decoding: t, as: UTF8.self)
    }

    // MARK: Tag counts

    mutating func countTag(_ tag: HTMLTag, _ name: Range<Int>, _ hash: UInt64) {
        if tag != .other {
            let k = Self.knownCountBase + Int(tag.rawValue)
            if counters[k] == 0 {
                guard distinctNames < Self.maxDistinctTagNames else { return }
                distinctNames += 1
            }
            counters[k] += 1
            return
        }
        guard name.count <= Self.maxCountedNameBytes else { return }
        if otherNames.isEmpty { otherNames = [HTMLOtherTagCount](repeating: HTMLOtherTagCount(), count: 512) }
        let key = hash | 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 55)
        while true {
            let h = otherNames[slot].hash
            if h == key {
                otherNames[slot].count += 1
                return
            }
            if h == 0 {
                guard distinctNames < Self.maxDistinctTagNames else { return }
                distinctNames += 1
                otherNames[slot] = HTMLOtherTagCount(
                    hash: key, start: Int32(truncatingIfNeeded: name.lowerBound),
                    length: Int32(truncatingIfNeeded: name.count), count: 1)
                return
            }
            slot = (slot + 1) & 511
        }
    }

    func tagCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        counts.reserveCapacity(distinctNames)
        for k in 0..<HTMLTag.allCases.count where counters[Self.knownCountBase + k] > 0 {
            counts[HTMLTag.nameTable[k]] = Int(counters[Self.knownCountBase + k])
        }
        for other in otherNames where other.hash != 0 {
            let start = Int(other.start)
            let bytes = p[start..<(start + Int(other.length))].lazy.map(HTMLBytes.lower)
            counts[String(decoding: bytes, as: UTF8.self), default: 0] += Int(other.count)
        }
        return counts
    }
}

extension HTMLBytes {
    /// Case-insensitive comparison of the bytes at `p[start...]` with a lower-case literal (bounds checked).
    static func equalsLower(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard start >= 0, start + count <= p.count else { return false }
        return literal.withUTF8Buffer { lit in
            for k in 0..<count where lower(p[start + k]) != lit[k] { return false }
            return true
        }
    }
}
