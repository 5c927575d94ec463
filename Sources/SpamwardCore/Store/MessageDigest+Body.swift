/// The learned-message digest computed in one pass over the message's own bytes.
extension MessageDigest {
    /// ``StableHash/digest128(_:)`` of `[messageID, normalizedBody]`, where `normalizedBody` is
    /// `body` without its CR bytes and without the LF, space and tab bytes that end it, computed
    /// without building `normalizedBody`: the bytes a scan would copy (the whole body) are read
    /// once, in place. Gives exactly ``StableHash/digest128(_:)``'s bytes (a test compares them).
    static func of(messageID: some Collection<UInt8>, body: ArraySlice<UInt8>) -> MessageDigest {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x84222325_cbf29ce4
        var n: UInt64 = 0
        @inline(__always) func add(_ byte: UInt8) {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 ^ (b >> 29)
            n &+= 1
        }
        @inline(__always) func endPart() {
            a = (a ^ 0xFF) &* 0x0000_0100_0000_01b3
            b = (b ^ 0xFE) &* 0x0000_0100_0000_01b3
        }
        for byte in messageID { add(byte) }
        endPart()
        body.withUnsafeBufferPointer { u in
            // Removing every CR and then the trailing LF, space and tab bytes drops exactly the
            // trailing run of CR, LF, space and tab: the kept bytes end before that run.
            var end = u.count
            while end > 0 {
                let c = u[end - 1]
                guard c == 0x0D || c == 0x0A || c == 0x20 || c == 0x09 else { break }
                end -= 1
            }
            for i in 0..<end where u[i] != 0x0D { add(u[i]) }
        }
        endPart()
        let x = StableHash.mix(a ^ n), y = StableHash.mix(b &+ n &* 0x9E37_79B9_7F4A_7C15)
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: x >> UInt64(s))) }
        for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: y >> UInt64(s))) }
        return MessageDigest(bytes: out)
    }
}
