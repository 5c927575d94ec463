#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Content-Transfer-Encoding decoders (RFC 2045) and uuencode, tolerant of the breakage seen
/// in real mail. Each decoder is linear in its input and reports anomalies instead of failing.
public enum TransferEncoding {
    /// Decoded bytes plus what was wrong with the encoding.
    public struct Result: Sendable {
        public var bytes: [UInt8]
        public var anomalies: [Anomaly]
    }

    static let base64Table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            t[Int(c)] = UInt8(i)
        }
        // URL-safe alphabet, seen in broken mailers.
        t[Int(UInt8(ascii: "-"))] = 62
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    /// Decodes base64, skipping white space and junk, tolerating missing padding, stopping at
    /// padding. At most `limit` output bytes.
    public static func base64(_ input: ArraySlice<UInt8>, limit: Int = .max) -> Result {
        var junk = false
        let capacity = min(max(0, limit), input.count * 3 / 4 + 3)
        let table = base64Table
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, count in
            var n = 0
            var acc: UInt32 = 0
            var k = 0
            var sawPad = false
            table.withUnsafeBufferPointer { t in
                for c in input {
                    if n + 3 > capacity { break }
                    let v = t[Int(c)]
                    if v == 0xFF {
                        if c == UInt8(ascii: "=") {
                            sawPad = true
                        } else if !ASCII.isWhitespace(c) {
                            junk = true
                        }
                        continue
                    }
                    if sawPad {
                        // Data after padding: a second concatenated base64 stream.
                        junk = true
                        sawPad = false
                        acc = 0
                        k = 0
                    }
                    acc = acc << 6 | UInt32(v)
                    k += 1
                    if k == 4 {
                        buf[n] = UInt8(truncatingIfNeeded: acc >> 16)
                        buf[n + 1] = UInt8(truncatingIfNeeded: acc >> 8)
                        buf[n + 2] = UInt8(truncatingIfNeeded: acc)
                        n += 3
                        acc = 0
                        k = 0
                    }
                }
            }
            switch k {
            case 2 where n + 1 <= capacity:
                buf[n] = UInt8(truncatingIfNeeded: acc >> 4)
                n += 1
            case 3 where n + 2 <= capacity:
                buf[n] = UInt8(truncatingIfNeeded: acc >> 10)
                buf[n + 1] = UInt8(truncatingIfNeeded: acc >> 2)
                n += 2
            case 1: junk = true
            default: break
            }
            count = n
        }
        return Result(bytes: out, anomalies: junk ? [.badBase64] : [])
    }

    /// Size of the base64 decoding of `input` without decoding it (counts alphabet bytes).
    public static func base64DecodedSize(_ input: ArraySlice<UInt8>) -> Int {
        var n = 0
        let table = base64Table
        for c in input where table[Int(c)] != 0xFF { n += 1 }
        return n * 3 / 4
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    /// Decodes quoted-printable: soft line breaks (`=` at end of line, also before trailing
    /// white space), `=XX` escapes in either case; a bad escape is kept literally.
    public static func quotedPrintable(_ input: ArraySlice<UInt8>, limit: Int = .max) -> Result {
        var bad = false
        let capacity = min(max(0, limit), input.count)
        // On a buffer pointer (no bounds checks on the slice); every index below is < end.
        let out = input.withUnsafeBufferPointer { input in
          [UInt8](unsafeUninitializedCapacity: capacity) { buf, count in
            var n = 0
            var i = 0
            let end = input.count
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while i < end, n < capacity {
                // Eight bytes at a time up to the next byte that needs a look: "=", a tab, or a
                // space followed by white space or a line break (or in the word's last lane,
                // whose next byte is not in the word). Each word is stored whole (n + 8 <=
                // capacity == buf.count, i + 8 <= end), then the output advances past the
                // bytes before the first flagged one. A lane's high bit is set by the zero-lane
                // test `(x - 1) & ~x & 0x80`, which never misses a match and can only add
                // lanes after a true one; a flagged lane that needs no look is handled by the
                // byte path below as well, so any superset of the lanes that need one is right.
                if i &+ 8 <= end, n &+ 8 <= capacity, let src = input.baseAddress, let dst = buf.baseAddress {
                    let word = UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self)
                    let w = UInt64(littleEndian: word)
                    let eq = w ^ (0x3D &* ones)
                    let sp = w ^ (0x20 &* ones)
                    let tab = w ^ (0x09 &* ones)
                    // Lane k of `next` holds byte k + 1 (lane 7 gets 0, which matches nothing).
                    let next = w >> 8
                    let nsp = next ^ (0x20 &* ones)
                    let ntab = next ^ (0x09 &* ones)
                    let nlf = next ^ (0x0A &* ones)
                    let ncr = next ^ (0x0D &* ones)
                    let nextWhite = ((nsp &- ones) & ~nsp) | ((ntab &- ones) & ~ntab)
                        | ((nlf &- ones) & ~nlf) | ((ncr &- ones) & ~ncr)
                    let space = (sp &- ones) & ~sp
                    let special = (((eq &- ones) & ~eq) | ((tab &- ones) & ~tab)
                        | (space & (nextWhite | 0x8000_0000_0000_0000))) & highs
                    UnsafeMutableRawPointer(dst + n).storeBytes(of: word, as: UInt64.self)
                    if special == 0 {
                        i &+= 8
                        n &+= 8
                        continue
                    }
                    let k = special.trailingZeroBitCount >> 3
                    i &+= k
                    n &+= k
                }
                let c = input[i]
                if c == UInt8(ascii: "=") {
                    // Soft line break: "=" [WSP...] (CRLF | LF | end)
                    var j = i + 1
                    while j < end, ASCII.isSpace(input[j]) { j += 1 }
                    if j == end {
                        i = j
                        continue
                    }
                    if input[j] == 0x0D, j + 1 < end, input[j + 1] == 0x0A {
                        i = j + 2
                        continue
                    }
                    if input[j] == 0x0A || input[j] == 0x0D {
                        i = j + 1
                        continue
                    }
                    if i + 2 < end, let h = hexValue(input[i + 1]), let l = hexValue(input[i + 2]) {
                        buf[n] = h << 4 | l
                        n += 1
                        i += 3
                        continue
                    }
                    bad = true
                    buf[n] = c
                    n += 1
                    i += 1
                    continue
                }
                if c == 0x20 || c == 0x09 {
                    // Trailing white space before a line break is transport padding: drop it.
                    var j = i
                    while j < end, ASCII.isSpace(input[j]) { j += 1 }
                    if j == end || input[j] == 0x0A || input[j] == 0x0D {
                        i = j
                        continue
                    }
                    while i < j, n < capacity {
                        buf[n] = input[i]
                        n += 1
                        i += 1
                    }
                    continue
                }
                buf[n] = c
                n += 1
                i += 1
            }
            count = n
          }
        }
        return Result(bytes: out, anomalies: bad ? [.badQuotedPrintable] : [])
    }

    /// A uuencoded file found inside a text body.
    public struct UUFile: Sendable {
        public var filename: String
        /// The lines `begin` to `end` inclusive, relative to the input.
        public var range: Range<Int>
        public var bytes: [UInt8]
    }

    /// Finds `begin NNN name` … `end` blocks and decodes them.
    public static func uudecodeBlocks(_ input: ArraySlice<UInt8>, limit: Int = .max, maxFiles: Int = 16) -> [UUFile] {
        var files: [UUFile] = []
        var i = input.startIndex
        let end = input.endIndex
        while i < end, files.count < maxFiles {
            let lineEnd = Lines.end(of: input, from: i)
            let line = Lines.trimmed(input[i..<lineEnd])
            if line.count > 10, line.starts(with: Array("begin ".utf8)) {
                let rest = line.dropFirst(6)
                let modeLen = rest.prefix { $0 >= 48 && $0 <= 55 }.count
                if (3...4).contains(modeLen), rest.count > modeLen + 1, rest[rest.startIndex + modeLen] == 0x20 {
                    let name = String(decoding: rest.dropFirst(modeLen + 1), as: UTF8.self)
                    var out: [UInt8] = []
                    var j = Lines.next(after: lineEnd, in: input)
                    var closed = false
                    while j < end {
                        let le = Lines.end(of: input, from: j)
                        let l = Lines.trimmed(input[j..<le])
                        j = Lines.next(after: le, in: input)
                        if l.elementsEqual("end".utf8) {
                            closed = true
                            break
                        }
                        guard let first = l.first else { continue }
                        let count = Int((first &- 32) & 63)
                        if count == 0 { continue }
                        var k = l.startIndex + 1
                        var produced = 0
                        @inline(__always) func sixBits(_ at: Int) -> UInt8 { at < l.endIndex ? (l[at] &- 32) & 63 : 0 }
                        while k < l.endIndex, produced < count {
                            let a = sixBits(k), b = sixBits(k + 1), c = sixBits(k + 2), d = sixBits(k + 3)
                            let bytes3 = [a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d]
                            for x in bytes3 where produced < count && out.count < limit {
                                out.append(x)
                                produced += 1
                            }
                            k += 4
                        }
                    }
                    if closed || j >= end {
                        files.append(UUFile(filename: name, range: (i - input.startIndex)..<(j - input.startIndex), bytes: out))
                    }
                    i = j
                    continue
                }
            }
            i = Lines.next(after: lineEnd, in: input)
        }
        return files
    }
}

/// Byte-level line helpers. A line ends at LF; a CR before it belongs to the line ending.
enum Lines {
    /// Index of the LF ending the line that starts at `from`, or `slice.endIndex`.
    @inline(__always) static func end(of slice: ArraySlice<UInt8>, from: Int) -> Int {
        firstIndex(of: 0x0A, in: slice[from...]) ?? slice.endIndex
    }

    /// `slice.firstIndex(of: byte)` through memchr.
    static func firstIndex(of byte: UInt8, in slice: ArraySlice<UInt8>) -> Int? {
        slice.withUnsafeBufferPointer { buf -> Int? in
            guard let base = buf.baseAddress, !buf.isEmpty,
                  let hit = memchr(base, Int32(byte), buf.count) else { return nil }
            // memchr returns a pointer into buf: the offset is in 0..<buf.count.
            return slice.startIndex + base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }
    /// First index after the line ending at `lineEnd` (which points at LF or endIndex).
    @inline(__always) static func next(after lineEnd: Int, in slice: ArraySlice<UInt8>) -> Int {
        lineEnd < slice.endIndex ? lineEnd + 1 : slice.endIndex
    }
    /// The line without a trailing CR and trailing white space.
    static func trimmed(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var e = line.endIndex
        while e > line.startIndex, ASCII.isWhitespace(line[e - 1]) { e -= 1 }
        return line[line.startIndex..<e]
    }
}
