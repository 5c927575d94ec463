import MailMessage
import Testing

@testable import SpamwardCore

/// The built-in checks that read the text parts in place against the loops over copied parts
/// they replace: on multipart messages of plain and HTML parts with hidden, tiny and invisible
/// text and images, in random amounts around the thresholds.
@Suite("Built-in checks read in place")
struct BuiltinInPlaceTests {
    @Test func textPartChecksAreTheCopyingLoops() {
        var rng = FastPathTests.RNG(state: 0x1_4B1A)
        var hits = 0
        for _ in 0..<400 {
            var body = ""
            let parts = 1 + Int(rng.next() % 3)
            for _ in 0..<parts {
                body += "--b\r\n"
                if rng.next() % 4 == 0 {
                    body += "Content-Type: text/plain\r\n\r\nplain words here\r\n"
                    continue
                }
                body += "Content-Type: text/html\r\n\r\n<html><body>"
                for _ in 0..<Int(rng.next() % 4) {
                    switch rng.next() % 5 {
                    case 0: body += "<div style=\"display:none\">" + String(repeating: "hidden ", count: Int(rng.next() % 6)) + "</div>"
                    case 1: body += "<font size=\"1\">" + String(repeating: "tiny ", count: Int(rng.next() % 8)) + "</font>"
                    case 2: body += String(repeating: "in\u{200B}", count: Int(rng.next() % 8))
                    case 3: body += "<img src=\"https://img.example.com/\(rng.next() % 9).png\">"
                    default: body += String(repeating: "word ", count: Int(rng.next() % 30))
                    }
                }
                body += "</body></html>\r\n"
            }
            body += "--b--\r\n"
            let m = mail(["From: a@example.com", "MIME-Version: 1.0", "Content-Type: multipart/alternative; boundary=b"], body)
            let textParts = m.textParts
            for (kind, threshold, unit, value) in [
                (BuiltinRules.HTMLCount.hiddenTextBytes, 20, "bytes", { (h: HTMLContent) in h.hiddenTextBytes }),
                (.tinyTextBytes, 20, "bytes", { $0.tinyTextBytes }),
                (.invisibleCharacters, 5, "characters", { $0.invisibleCharacterCount }),
            ] {
                let reference = BuiltinRules.html(textParts) { value($0) >= threshold ? "\(value($0)) \(unit)" : nil }
                let inPlace = BuiltinRules.htmlCount(textParts, kind, atLeast: threshold).map { ["\($0) \(unit)"] }
                #expect(inPlace == reference, "\(body)")
                if reference != nil { hits += 1 }
            }
            // HTML_ONLY_IMAGES as it was written: every part HTML, images summed over them.
            var reference: [String]? = nil
            if !textParts.isEmpty, textParts.allSatisfy(\.isHTML) {
                let images = textParts.reduce(0) { $0 + ($1.html?.imageCount ?? 0) }
                let words = textParts.reduce(0) { $0 + Array($1.text.utf8).split(whereSeparator: { [0x20, 0x0A, 0x0D, 0x09].contains($0) }).count }
                if images > 0 && words < 50 { reference = ["\(images) images, \(words) words"] }
            }
            #expect(BuiltinRules.htmlOnlyImages(textParts) == reference, "\(body)")
            if reference != nil { hits += 1 }
        }
        #expect(hits > 100)
    }
}
