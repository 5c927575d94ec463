import MailMessage
import Testing

@testable import SpamwardCore

/// The one-pass learned-message digest against its definition: `digest128` of the Message-ID
/// and of the body with every CR removed and the trailing LF, space and tab bytes dropped.
struct MessageDigestTests {
    static func reference(messageID: String, body: ArraySlice<UInt8>) -> MessageDigest {
        var normalized: [UInt8] = []
        for b in body where b != 0x0D { normalized.append(b) }
        while let last = normalized.last, last == 0x0A || last == 0x20 || last == 0x09 { normalized.removeLast() }
        return MessageDigest(bytes: StableHash.digest128([Array(messageID.utf8)[...], normalized[...]]))
    }

    @Test(arguments: [
        "", "\r\n", " \t\r\n \r", "a", "a\r", "line\r\nline 2\r\n\r\n", "x \r \n\t", "\r\rx\r\r",
        "tail space  ", "mid\r\rdle\n\n", "caf\u{E9}\r\n\u{1F600}\t\r\n",
    ])
    func oneIsTheDefinition(body: String) {
        for mid in ["", "<a@b.example>"] {
            let bytes = Array(body.utf8)
            #expect(MessageDigest.of(messageID: mid.utf8, body: bytes[...]) == Self.reference(messageID: mid, body: bytes[...]))
            // A slice that does not start at 0 (as a message's body range does).
            let padded = Array("HEADER\r\n\r\n".utf8) + bytes
            #expect(MessageDigest.of(messageID: mid.utf8, body: padded[10...]) == Self.reference(messageID: mid, body: padded[10...]))
        }
    }

    @Test func randomBodiesMatchTheDefinition() {
        var rng = SplitMix64(seed: 7)
        let alphabet: [UInt8] = [0x0D, 0x0A, 0x20, 0x09, 0x61, 0x62, 0xC3, 0xA9, 0x00, 0xFF]
        for _ in 0..<500 {
            let n = Int(rng.next() % 40)
            let body = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            #expect(MessageDigest.of(messageID: "<m>".utf8, body: body[...]) == Self.reference(messageID: "<m>", body: body[...]), "\(body)")
        }
    }

    @Test func scannerDigestUsesMessageIDAndBody() {
        let raw = Array("Message-ID: <id@x.example>\r\nSubject: s\r\n\r\nbody text\r\n\r\n".utf8)
        let m = MessageParser.parse(raw)
        #expect(MessageScanner.digest(of: m) == Self.reference(messageID: "<id@x.example>", body: m.body))
    }
}
