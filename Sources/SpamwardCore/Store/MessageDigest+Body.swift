/// The learned-message digest computed in one pass over the message's own bytes.
extension MessageDigest {
    /// ``StableHash/digest128(_:)`` of `[messageID, normalizedBody]`, where `normalizedBody` is
    /// `body` without its CR bytes and without the LF, space and tab bytes that end it, computed
    /// without building `normalizedBody`: the bytes a scan would copy (the whole body) are read
    /// once, in place. Gives exactly ``StableHash/digest128(_:)``'s bytes (a test compares them).
    static func of(messageID: some Collection<UInt8>, body: ArraySlice<UInt8>) -> MessageDigest {
        var d = Digest128()
        for byte in messageID { d.add(byte) }
        d.endPart()
        body.withUnsafeBufferPointer { u in
            // Removing every CR and then the trailing LF, space and tab bytes drops exactly the
            // trailing run of CR, LF, space and tab: the kept bytes end before that run.
            var end = u.count
            while end > 0 {
                let c = u[end - 1]
                guard c == 0x0D || c == 0x0A || c == 0x20 || c == 0x09 else { break }
                end -= 1
            }
            for i in 0..<end where u[i] != 0x0D { d.add(u[i]) }
        }
        d.endPart()
        return MessageDigest(bytes: d.bytes)
    }
}
