import Foundation
import Testing

@testable import MailMessage

private func parse(_ s: String, limits: ParseLimits = .default) -> Message {
    MessageParser.parse(Array(s.utf8), limits: limits)
}

@Suite struct HeaderTests {
    @Test func foldedHeadersAreUnfolded() {
        let m = parse("Subject: hello\r\n  world\r\nFrom: a@b.example\r\n\r\nbody\r\n")
        #expect(m.headers["Subject"] == "hello  world")
        #expect(m.headers.first("subject")?.rawRange == 0..<23)
        #expect(m.headers.count == 2)
        #expect(String(decoding: m.body, as: UTF8.self) == "body\r\n")
    }

    @Test func mboxFromLineIsSkipped() {
        let m = parse("From someone@example.com  Mon Jan  1 00:00:00 2002\nSubject: x\n\nhi\n")
        #expect(m.mboxFromLine == 0..<50)
        #expect(m.headers["Subject"] == "x")
        #expect(m.text == "hi\n")
    }

    @Test func spaceBeforeColonIsObsoleteButAccepted() {
        let m = parse("Subject : spaced\n\nb")
        #expect(m.headers["Subject"] == "spaced")
        #expect(m.has(.spaceBeforeColon))
    }

    @Test func missingSeparatorEndsHeadersAtFirstNonHeaderLine() {
        let m = parse("Subject: x\nthis is body text\nmore\n")
        #expect(m.headers.count == 1)
        #expect(m.has(.noHeaderBodySeparator))
        #expect(m.text == "this is body text\nmore\n")
    }

    @Test func noHeadersAtAll() {
        let m = parse("just some text\nwithout headers\n")
        #expect(m.headers.isEmpty)
        #expect(m.has(.noHeaders))
        #expect(m.text.hasPrefix("just some text"))
    }

    @Test func tooManyHeaderFieldsIsBounded() {
        var s = ""
        for i in 0..<50 { s += "X-H\(i): v\n" }
        let m = parse(s + "\nbody", limits: ParseLimits(maxHeaderFields: 10))
        #expect(m.headers.count == 10)
        #expect(m.has(.tooManyHeaderFields))
        #expect(m.text == "body")
    }

    @Test func longHeaderIsTruncated() {
        let m = parse("Subject: " + String(repeating: "a", count: 5000) + "\n\nb", limits: ParseLimits(maxHeaderFieldBytes: 100))
        #expect(m.headers["Subject"]?.utf8.count == 100)
        #expect(m.has(.headerFieldTooLong))
    }
}

@Suite struct TransferEncodingTests {
    @Test func base64WithJunkAndMissingPadding() {
        let r = TransferEncoding.base64(Array("aGVsbG8gd29y\r\nbGQ*".utf8)[...])
        #expect(String(decoding: r.bytes, as: UTF8.self) == "hello world")
        #expect(r.anomalies == [.badBase64])
        let clean = TransferEncoding.base64(Array("aGVsbG8=".utf8)[...])
        #expect(String(decoding: clean.bytes, as: UTF8.self) == "hello")
        #expect(clean.anomalies.isEmpty)
    }

    @Test func quotedPrintable() {
        let r = TransferEncoding.quotedPrintable(Array("caf=C3=A9 =\r\nsoft=3dx =ZZ  \r\nend".utf8)[...])
        #expect(String(decoding: r.bytes, as: UTF8.self) == "café soft=x =ZZ\r\nend")
        #expect(r.anomalies == [.badQuotedPrintable])
    }

    @Test func uuencodedBlock() {
        // "hello\n" uuencoded
        let text = "see attached\nbegin 644 hi.txt\n&:&5L;&\\*\n`\nend\nbye\n"
        let files = TransferEncoding.uudecodeBlocks(Array(text.utf8)[...])
        #expect(files.count == 1)
        #expect(files.first?.filename == "hi.txt")
        #expect(files.first.map { String(decoding: $0.bytes, as: UTF8.self) } == "hello\n")
    }
}

@Suite struct MIMETests {
    @Test func multipartAlternativeWithHTML() {
        let s = """
            From: a@example.com\r
            Subject: test\r
            MIME-Version: 1.0\r
            Content-Type: multipart/alternative; boundary="XYZ"\r
            \r
            preamble\r
            --XYZ\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: quoted-printable\r
            \r
            Hello w=C3=B6rld http://example.com/a\r
            --XYZ\r
            Content-Type: text/html\r
            \r
            <html><body><p>Hello <b>world</b></p><a href="http://spam.example/x">click</a></body></html>\r
            --XYZ--\r
            epilogue\r
            """
        let m = parse(s)
        #expect(m.parts.count == 3)
        #expect(m.parts[0].contentType.mimeType == "multipart/alternative")
        #expect(m.parts[0].children == [1, 2])
        #expect(m.textParts.count == 2)
        #expect(m.textParts[0].text == "Hello wörld http://example.com/a")
        #expect(m.textParts[1].isHTML)
        #expect(m.textParts[1].text.contains("Hello world"))
        #expect(!m.textParts[1].text.contains("<b>"))
        #expect(m.urls.contains("http://example.com/a"))
        #expect(m.urls.contains("http://spam.example/x"))
        #expect(!m.has(.missingCloseDelimiter))
    }

    @Test func missingCloseDelimiterKeepsLastPart() {
        let m = parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond part text\n")
        #expect(m.textParts.map(\.text) == ["first", "second part text\n"])
        #expect(m.has(.missingCloseDelimiter))
    }

    @Test func boundaryNotFoundKeepsText() {
        let m = parse("Content-Type: multipart/mixed; boundary=nothere\n\nplain text after all\n")
        #expect(m.text == "plain text after all\n")
        #expect(m.has(.boundaryNotFound))
    }

    @Test func missingBoundaryParameter() {
        let m = parse("Content-Type: multipart/mixed\n\ntext\n")
        #expect(m.text == "text\n")
        #expect(m.has(.missingBoundary))
    }

    @Test func boundaryPrefixIsNotADelimiter() {
        let m = parse("Content-Type: multipart/mixed; boundary=ab\n\n--ab\n\none\n--abc\nstill one\n--ab--\n")
        #expect(m.textParts.count == 1)
        #expect(m.textParts.first?.text == "one\n--abc\nstill one")
    }

    @Test func nestedMessageRFC822InBase64() {
        let inner = "Subject: inner\r\nContent-Type: text/plain\r\n\r\ninner text\r\n"
        let b64 = Data(inner.utf8).base64EncodedString()
        let s = "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n\(b64)\n--o--\n"
        let m = parse(s)
        #expect(m.parts.count == 3)
        #expect(m.parts[2].buffer == 1)
        #expect(m.parts[2].headers["Subject"] == "inner")
        #expect(m.text == "inner text\r\n")
    }

    @Test func depthLimitStopsRecursion() {
        var s = ""
        for i in 0..<50 { s += "Content-Type: multipart/mixed; boundary=b\(i)\n\n--b\(i)\n" }
        s += "\ndeep text\n"
        let m = parse(s, limits: ParseLimits(maxMIMEDepth: 8))
        #expect(m.has(.tooDeep))
        #expect(m.parts.count <= 9)
    }

    @Test func partCountLimit() {
        var s = "Content-Type: multipart/mixed; boundary=b\n\n"
        for i in 0..<100 { s += "--b\n\npart \(i)\n" }
        s += "--b--\n"
        let m = parse(s, limits: ParseLimits(maxParts: 10))
        #expect(m.parts.count == 10)
        #expect(m.has(.tooManyParts))
    }

    @Test func attachmentsAreNotDecodedButMeasured() {
        let s = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nhi\n--b\nContent-Type: application/octet-stream; name=\"x.exe\"\nContent-Disposition: attachment; filename=\"invoice.pdf.exe\"\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--b--\n"
        let m = parse(s)
        #expect(m.attachments.count == 1)
        #expect(m.attachments.first?.filename == "invoice.pdf.exe")
        #expect(m.attachments.first?.size == 12)
        #expect(m.attachments.first?.isInline == false)
    }

    @Test func truncatedMessageIsFlagged() {
        let m = parse("Subject: x\n\n" + String(repeating: "y", count: 1000), limits: ParseLimits(maxMessageBytes: 100))
        #expect(m.has(.truncated))
        #expect(m.text.utf8.count == 88)
    }

    @Test func binaryJunkDoesNotCrash() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let n = Int.random(in: 0..<4000, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let m = MessageParser.parse(bytes)
            #expect(m.parts.count >= 1)
        }
    }
}

/// Every message of ../shared/corpora/mime-torture parses within the default limits.
@Suite struct MIMETortureTests {
    static let files = SharedData.files(under: "corpora/mime-torture")

    @Test(.enabled(if: SharedData.available, "../shared/corpora is absent: mime-torture corpus not checked"))
    func everyFileParsesWithinLimits() throws {
        #expect(Self.files.count > 400, "expected the 426 mime-torture files")
        let limits = ParseLimits.default
        for url in Self.files {
            let bytes = [UInt8](try Data(contentsOf: url))
            let m = MessageParser.parse(bytes, limits: limits)
            #expect(m.parts.count >= 1 && m.parts.count <= limits.maxParts, "\(url.lastPathComponent)")
            #expect(m.parts.allSatisfy { $0.depth <= limits.maxMIMEDepth }, "\(url.lastPathComponent)")
            #expect(m.textParts.reduce(0) { $0 + $1.text.utf8.count } <= limits.maxTextBytes, "\(url.lastPathComponent)")
            #expect(m.urls.count <= limits.maxURLs)
            if bytes.count > 200 && !url.path.contains("bsmtp") {
                // Real messages have headers.
                #expect(!m.headers.isEmpty || m.has(.noHeaders), "\(url.lastPathComponent)")
            }
        }
    }
}
