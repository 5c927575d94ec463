import Glibc
import Synchronization

/// The result of decoding bytes in one given charset.
struct DecodeOutcome {
    var text: String
    /// Invalid or undecodable sequences (each became U+FFFD).
    var errors: Int
    /// The canonical name of the charset used.
    var charset: String
}

extension Charset {
    /// Decodes `bytes` in the canonical charset `name`, replacing invalid sequences with
    /// U+FFFD and counting them. `nil` when the charset has no decoder here (unknown name, or
    /// iconv lacks the converter).
    static func decodeStrict(_ bytes: ArraySlice<UInt8>, name: String) -> DecodeOutcome? {
        guard let decoder = CharsetTable.decoder(name) else { return nil }
        switch decoder {
        case .ascii:
            let errors = CharsetSniffer.highByteCount(bytes)
            if errors == 0 {
                return DecodeOutcome(text: String(decoding: bytes, as: UTF8.self), errors: 0, charset: name)
            }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + errors * 2)
            for b in bytes {
                if b < 0x80 { out.append(b) } else { out.append(contentsOf: replacementUTF8) }
            }
            return DecodeOutcome(text: String(decoding: out, as: UTF8.self), errors: errors, charset: name)
        case .utf8:
            if let text = validUTF8String(bytes) { return DecodeOutcome(text: text, errors: 0, charset: name) }
            let scan = UTF8Scan(bytes)
            return DecodeOutcome(text: utf8String(bytes, stripBOM: true), errors: scan.invalidBytes, charset: name)
        case .latin1:
            return latin1Outcome(bytes)
        case .windows1252:
            return DecodeOutcome(text: singleByteString(bytes, high: windows1252High), errors: 0, charset: name)
        case .utf16(let bigEndian):
            return decodeUTF16(bytes, bigEndian: bigEndian, name: name)
        case .utf32(let bigEndian):
            return decodeUTF32(bytes, bigEndian: bigEndian, name: name)
        case .iconv(let converter):
            return iconvDecode(bytes, converter: converter).map {
                DecodeOutcome(text: $0.text, errors: $0.errors, charset: name)
            }
        }
    }

    static func latin1Outcome(_ bytes: ArraySlice<UInt8>) -> DecodeOutcome {
        DecodeOutcome(text: singleByteString(bytes, high: nil), errors: 0, charset: "iso-8859-1")
    }

    /// Valid or lossy UTF-8 as a String, optionally without a leading byte order mark.
    static func utf8String(_ bytes: ArraySlice<UInt8>, stripBOM: Bool) -> String {
        var bytes = bytes
        if stripBOM, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `utf8String(bytes, stripBOM: true)` when the bytes are valid UTF-8, else nil: one
    /// validating copy instead of a ``UTF8Scan`` followed by `String(decoding:)`. Both accept
    /// exactly well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF), and
    /// a leading byte order mark is itself valid, so dropping it does not change the answer.
    static func validUTF8String(_ bytes: ArraySlice<UInt8>) -> String? {
        var bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        return String(validating: bytes, as: UTF8.self)
    }

    static let replacementUTF8: [UInt8] = [0xEF, 0xBF, 0xBD]

    @inline(__always)
    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            out.append(UInt8(truncatingIfNeeded: 0xC0 | (scalar >> 6)))
            out.append(UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(truncatingIfNeeded: 0xE0 | (scalar >> 12)))
            out.append(UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(truncatingIfNeeded: 0xF0 | (scalar >> 18)))
            out.append(UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)))
        }
    }

    /// windows-1252 0x80...0x9F. The five unassigned bytes map to the C1 controls of the same
    /// value, as browsers do.
    static let windows1252High: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    /// ISO-8859-1, or windows-1252 when `high` maps 0x80...0x9F.
    static func singleByteString(_ bytes: ArraySlice<UInt8>, high: [UInt16]?) -> String {
        if CharsetSniffer.highByteCount(bytes) == 0 { return String(decoding: bytes, as: UTF8.self) }
        // Written through a buffer of the largest possible size (3 bytes per input byte):
        // no per-byte append.
        let out = [UInt8](unsafeUninitializedCapacity: bytes.count * 3) { buf, count in
            var n = 0
            @inline(__always) func put(_ scalar: UInt32) {
                if scalar < 0x80 {
                    buf[n] = UInt8(truncatingIfNeeded: scalar); n += 1
                } else if scalar < 0x800 {
                    buf[n] = UInt8(truncatingIfNeeded: 0xC0 | (scalar >> 6))
                    buf[n + 1] = UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)); n += 2
                } else {
                    buf[n] = UInt8(truncatingIfNeeded: 0xE0 | (scalar >> 12))
                    buf[n + 1] = UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 6) & 0x3F))
                    buf[n + 2] = UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)); n += 3
                }
            }
            for b in bytes {
                if b < 0x80 {
                    buf[n] = b; n += 1
                } else if b < 0xA0, let high {
                    put(UInt32(high[Int(b) - 0x80]))
                } else {
                    put(UInt32(b))
                }
            }
            count = n
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: UTF-16 and UTF-32

    private static func decodeUTF16(_ bytes: ArraySlice<UInt8>, bigEndian: Bool?, name: String) -> DecodeOutcome {
        var body = bytes
        var big = bigEndian
        if body.starts(with: [0xFE, 0xFF]), big != false {
            big = true
            body = body.dropFirst(2)
        } else if body.starts(with: [0xFF, 0xFE]), big != true {
            big = false
            body = body.dropFirst(2)
        }
        let isBig = big ?? (CharsetSniffer.zeroBytes(body).odd <= CharsetSniffer.zeroBytes(body).even)
        var out: [UInt8] = []
        out.reserveCapacity(body.count * 3 / 2)
        var errors = 0
        var pendingHigh: UInt32?
        var i = body.startIndex
        while i + 1 < body.endIndex {
            let a = UInt32(body[i])
            let b = UInt32(body[i + 1])
            i += 2
            let unit = isBig ? (a << 8 | b) : (b << 8 | a)
            switch unit {
            case 0xD800...0xDBFF:
                if pendingHigh != nil {
                    errors += 1
                    out.append(contentsOf: replacementUTF8)
                }
                pendingHigh = unit
            case 0xDC00...0xDFFF:
                if let high = pendingHigh {
                    appendUTF8(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00), to: &out)
                    pendingHigh = nil
                } else {
                    errors += 1
                    out.append(contentsOf: replacementUTF8)
                }
            default:
                if pendingHigh != nil {
                    errors += 1
                    out.append(contentsOf: replacementUTF8)
                    pendingHigh = nil
                }
                appendUTF8(unit, to: &out)
            }
        }
        if pendingHigh != nil {
            errors += 1
            out.append(contentsOf: replacementUTF8)
        }
        if i < body.endIndex {  // odd byte count
            errors += 1
            out.append(contentsOf: replacementUTF8)
        }
        return DecodeOutcome(text: String(decoding: out, as: UTF8.self), errors: errors, charset: name)
    }

    private static func decodeUTF32(_ bytes: ArraySlice<UInt8>, bigEndian: Bool?, name: String) -> DecodeOutcome {
        var body = bytes
        var big = bigEndian
        if body.starts(with: [0x00, 0x00, 0xFE, 0xFF]), big != false {
            big = true
            body = body.dropFirst(4)
        } else if body.starts(with: [0xFF, 0xFE, 0x00, 0x00]), big != true {
            big = false
            body = body.dropFirst(4)
        }
        // Without a mark: ASCII-range text has its zero bytes at the end of each unit in
        // little-endian order.
        let isBig = big ?? !(body.count >= 4 && body[body.startIndex] != 0 && body[body.startIndex + 3] == 0)
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var errors = 0
        var i = body.startIndex
        while i + 3 < body.endIndex {
            let b0 = UInt32(body[i]), b1 = UInt32(body[i + 1]), b2 = UInt32(body[i + 2]), b3 = UInt32(body[i + 3])
            i += 4
            let scalar = isBig ? (b0 << 24 | b1 << 16 | b2 << 8 | b3) : (b3 << 24 | b2 << 16 | b1 << 8 | b0)
            if scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) {
                errors += 1
                out.append(contentsOf: replacementUTF8)
            } else {
                appendUTF8(scalar, to: &out)
            }
        }
        if i < body.endIndex {
            errors += 1
            out.append(contentsOf: replacementUTF8)
        }
        return DecodeOutcome(text: String(decoding: out, as: UTF8.self), errors: errors, charset: name)
    }

    // MARK: iconv

    /// Converts with iconv to UTF-8. Each run of invalid input bytes becomes one U+FFFD
    /// (EILSEQ/EINVAL: skip a byte and go on), so one bad byte never loses the rest. Output is
    /// at most 4 × input + 16 bytes; conversion stops there. `nil` when iconv has no such
    /// converter.
    static func iconvDecode(_ bytes: ArraySlice<UInt8>, converter: String) -> (text: String, errors: Int)? {
        guard let cd = IconvDescriptors.shared.take(converter) else { return nil }
        defer { IconvDescriptors.shared.give(cd, converter: converter) }
        if bytes.isEmpty { return ("", 0) }

        let capacity = bytes.count * 4 + 16
        var output = [UInt8](repeating: 0, count: capacity)
        var errors = 0
        let written: Int = bytes.withUnsafeBufferPointer { input -> Int in
            output.withUnsafeMutableBufferPointer { out -> Int in
                guard let inBase = input.baseAddress, let outBase = out.baseAddress else { return 0 }
                // iconv takes `char **` but never writes through the input pointer.
                var inPtr: UnsafeMutablePointer<CChar>? =
                    UnsafeMutableRawPointer(mutating: inBase).assumingMemoryBound(to: CChar.self)
                var inLeft = input.count
                let outStart = UnsafeMutableRawPointer(outBase).assumingMemoryBound(to: CChar.self)
                var outPtr: UnsafeMutablePointer<CChar>? = outStart
                var outLeft = out.count
                var lastReplacementEnd = -1  // input offset just after the last skipped byte

                while inLeft > 0 {
                    let result = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    if result != -1 { break }
                    let code = errno
                    guard code == EILSEQ || code == EINVAL, inLeft > 0, let p = inPtr else { break }
                    errors += 1
                    let offset = input.count - inLeft
                    if offset != lastReplacementEnd {
                        guard outLeft >= 3, let o = outPtr else { break }
                        o[0] = CChar(bitPattern: 0xEF)
                        o[1] = CChar(bitPattern: 0xBF)
                        o[2] = CChar(bitPattern: 0xBD)
                        outPtr = o + 3
                        outLeft -= 3
                    }
                    inPtr = p + 1
                    inLeft -= 1
                    lastReplacementEnd = offset + 1
                }
                // Return to the initial shift state (stateful encodings); writes nothing to UTF-8.
                _ = iconv(cd, nil, nil, &outPtr, &outLeft)
                return out.count - outLeft
            }
        }
        return (String(decoding: output[0..<max(0, min(written, capacity))], as: UTF8.self), errors)
    }
}

/// Open iconv descriptors to UTF-8, kept for reuse per converter. glibc loads a converter's
/// gconv module with `dlopen` in `iconv_open` and unloads it with `dlclose` when its last
/// descriptor closes: opening and closing one per decoded part cost the daemon 2% of its CPU
/// under load (the `mmap`, `mprotect` and `munmap` of each load also flush every core's TLB).
/// Bounded: at most ``keptPerConverter`` idle descriptors per converter, and converters come
/// from ``CharsetTable``'s fixed list.
final class IconvDescriptors: Sendable {
    static let shared = IconvDescriptors()
    static let keptPerConverter = 8

    /// Idle descriptors (their addresses: `iconv_t` is not `Sendable`), by converter name.
    private let idle = Mutex<[String: [UInt]]>([:])

    /// An idle descriptor for `converter`, or a new one; nil when iconv has no such converter.
    func take(_ converter: String) -> iconv_t? {
        let kept: UInt? = idle.withLock { $0[converter]?.popLast() }
        if let kept, let cd = iconv_t(bitPattern: kept) { return cd }
        guard let cd = iconv_open("UTF-8", converter), Int(bitPattern: cd) != -1 else { return nil }
        return cd
    }

    /// Back to the initial conversion state and kept, or closed when enough are kept.
    func give(_ cd: iconv_t, converter: String) {
        _ = iconv(cd, nil, nil, nil, nil)
        let address = UInt(bitPattern: Int(bitPattern: cd))
        let keep = idle.withLock { idle -> Bool in
            guard idle[converter, default: []].count < Self.keptPerConverter else { return false }
            idle[converter, default: []].append(address)
            return true
        }
        if !keep { iconv_close(cd) }
    }
}
