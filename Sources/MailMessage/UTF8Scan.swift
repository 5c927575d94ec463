/// One pass over bytes that counts well-formed multibyte UTF-8 sequences and invalid bytes
/// (overlong forms, surrogates and code points above U+10FFFF are invalid).
struct UTF8Scan {
    var multibyteSequences = 0
    var invalidBytes = 0
    var isValid: Bool { invalidBytes == 0 }

    init(_ bytes: ArraySlice<UInt8>) {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length = Self.sequenceLength(bytes, at: i)
            if length == 0 {
                invalidBytes += 1
                i += 1
            } else {
                multibyteSequences += 1
                i += length
            }
        }
    }

    /// The length of the well-formed multibyte sequence starting at `i`, or 0.
    static func sequenceLength(_ bytes: ArraySlice<UInt8>, at i: Int) -> Int {
        let end = bytes.endIndex
        let b = bytes[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i + k < end && bytes[i + k] >= lo && bytes[i + k] <= hi
        }
        switch b {
        case 0xC2...0xDF:
            return cont(1) ? 2 : 0
        case 0xE0:
            return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE, 0xEF:
            return cont(1) && cont(2) ? 3 : 0
        case 0xED:
            return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xF0:
            return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4:
            return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default:
            return 0
        }
    }
}
