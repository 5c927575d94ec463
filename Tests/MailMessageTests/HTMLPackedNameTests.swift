@testable import MailMessage
import Testing

/// The word-at-a-time packing of tag and attribute names against byte-by-byte packing.
@Suite struct HTMLPackedNameTests {
    static func bytewise(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> HTMLPackedName {
        var name = HTMLPackedName()
        for i in start..<end { name.add(HTMLBytes.lower(p[i]), at: i - start) }
        return name
    }

    @Test func foldsEveryByteValueAsLowerDoes() {
        for b in 0...255 {
            let w = UInt64(b) << 24 | 0x5A41_0000_0000_0000  // "AZ" in the top bytes too
            let folded = HTMLPackedName.foldedWord(w)
            #expect(UInt8(truncatingIfNeeded: folded >> 24) == HTMLBytes.lower(UInt8(b)), "\(b)")
            #expect(folded >> 48 == 0x7A61)
        }
    }

    @Test func packsLikeTheBytewisePacking() {
        var state: UInt64 = 0x1234_5678_9ABC_DEF1
        let alphabet = Array("aZ-_:Hrefhttp-EQUIV@[`{\u{7F}".utf8) + [0x80, 0xC3, 0xFF, 0x40, 0x5B]
        for _ in 0..<2_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let size = 1 + Int(state >> 59)  // 1...32 bytes of buffer
            var bytes: [UInt8] = []
            for _ in 0..<size {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            bytes.withUnsafeBufferPointer { p in
                for start in 0..<p.count {
                    for end in (start + 1)...min(p.count, start + 16) {
                        #expect(HTMLPackedName.packFolded(p, start, end) == Self.bytewise(p, start, end))
                    }
                }
            }
        }
    }

    @Test func namesAreMatchedInAnyCase() {
        let c = HTMLText.extract(#"<TABLE><TR><TD><A HREF="http://a.example/x">one</A></TD></TR></TABLE><IMG SRC="http://b.example/i.png"><div STYLE="display:none">hid</div><abcdefghijklmnopq>"#)
        #expect(c.urls == ["http://a.example/x", "http://b.example/i.png"])
        #expect(c.links == [HTMLLink(href: "http://a.example/x", text: "one")])
        #expect(c.text == "one")
        #expect(c.hiddenTextBytes == 3)
        #expect(c.tagCounts["table"] == 1 && c.tagCounts["abcdefghijklmnopq"] == 1)
    }
}
