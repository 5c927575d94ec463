extension StringProtocol {
    /// The range of the first occurrence of `needle`, compared byte for byte in UTF-8 (no
    /// Unicode normalization). Much faster than the generic `firstRange(of:)` for the short
    /// ASCII needles header and URL code looks for.
    public func firstByteRange(of needle: StaticString) -> Range<Index>? {
        let n = needle.utf8CodeUnitCount
        guard n > 0 else { return startIndex..<startIndex }
        let offset: Int? = needle.withUTF8Buffer { nb in
            let search = { (hb: UnsafeBufferPointer<UInt8>) -> Int? in
                guard hb.count >= n else { return nil }
                let first = nb[0]
                var i = 0
                let last = hb.count - n
                while i <= last {
                    if hb[i] == first {
                        var k = 1
                        while k < n && hb[i + k] == nb[k] { k += 1 }
                        if k == n { return i }
                    }
                    i += 1
                }
                return nil
            }
            if let r = utf8.withContiguousStorageIfAvailable(search) { return r }
            return Array(utf8).withUnsafeBufferPointer(search)
        }
        guard let offset else { return nil }
        let lower = utf8.index(startIndex, offsetBy: offset)
        return lower..<utf8.index(lower, offsetBy: n)
    }

    /// Whether `needle` occurs, compared byte for byte in UTF-8.
    public func containsBytes(_ needle: StaticString) -> Bool { firstByteRange(of: needle) != nil }
}
