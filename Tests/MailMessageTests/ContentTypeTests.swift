import SpamwardTestSupport
import Testing

@testable import MailMessage

@Suite struct ContentTypeTests {
    @Test func simple() {
        let (ct, anomalies) = ContentType.parse("text/plain; charset=\"UTF-8\"; format=flowed")
        #expect(
            ct == ContentType(type: "text", subtype: "plain", parameters: ["charset": "UTF-8", "format": "flowed"]))
        #expect(ct?.charset == "UTF-8")
        #expect(ct?.mimeType == "text/plain")
        #expect(ct?.isText == true)
        #expect(anomalies.isEmpty)
    }

    @Test func caseAndWhiteSpace() {
        let (ct, anomalies) = ContentType.parse("  Multipart / Mixed ;\r\n\tBOUNDARY=\"----=_Part_0_ABC.def\"  ")
        #expect(ct?.mimeType == "multipart/mixed")
        #expect(ct?.isMultipart == true)
        #expect(ct?.boundary == "----=_Part_0_ABC.def")
        #expect(anomalies.isEmpty)
    }

    @Test func commentsAreSkipped() {
        let (ct, anomalies) = ContentType.parse("text/plain (Plain text); charset=us-ascii (Plain text)")
        #expect(ct?.mimeType == "text/plain")
        #expect(ct?.parameters == ["charset": "us-ascii"])
        #expect(anomalies.isEmpty)
        let nested = ParameterizedValue.parse("attachment ((nested) comment \\) ); filename=a.txt")
        #expect(nested.value == "attachment")
        #expect(nested.parameters == ["filename": "a.txt"])
    }

    @Test func parenthesisInsideAnUnquotedValueIsKept() {
        let p = ParameterizedValue.parse("attachment; filename=report (1).pdf")
        #expect(p.parameters["filename"] == "report (1).pdf")
        let q = ParameterizedValue.parse("attachment; filename=report.pdf (comment)")
        #expect(q.parameters["filename"] == "report.pdf")
    }

    @Test func quotedStringEscapes() {
        let p = ParameterizedValue.parse(#"attachment; filename="a \"quoted\" name; with semicolon.txt""#)
        #expect(p.value == "attachment")
        #expect(p.parameters["filename"] == #"a "quoted" name; with semicolon.txt"#)
        #expect(p.anomalies.isEmpty)
    }

    @Test func emptyAndDuplicateSemicolons() {
        let p = ParameterizedValue.parse("text/html;; ;charset=utf-8;;")
        #expect(p.value == "text/html")
        #expect(p.parameters == ["charset": "utf-8"])
        #expect(p.anomalies.isEmpty)
    }

    @Test func missingClosingQuote() {
        let p = ParameterizedValue.parse("multipart/mixed; boundary=\"abc")
        #expect(p.parameters["boundary"] == "abc")
        #expect(p.anomalies == [.badParameter])
    }

    @Test func missingSemicolon() {
        let p = ParameterizedValue.parse("text/html charset=utf-8 format=flowed")
        #expect(p.value == "text/html")
        #expect(p.parameters == ["charset": "utf-8", "format": "flowed"])
        #expect(p.anomalies == [.badParameter])
    }

    @Test func duplicatesKeepTheFirst() {
        let p = ParameterizedValue.parse("text/plain; charset=utf-8; CHARSET=iso-8859-1")
        #expect(p.parameters == ["charset": "utf-8"])
        #expect(p.anomalies == [.duplicateParameter])
    }

    @Test func junkParameters() {
        let p = ParameterizedValue.parse("text/plain; foo; =bar; charset=utf-8")
        #expect(p.parameters == ["charset": "utf-8"])
        #expect(p.anomalies == [.badParameter])
    }

    @Test func rfc2231Continuations() {
        let p = ParameterizedValue.parse(
            "attachment; filename*0*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E; filename*1*=%E3%83%95%E3%82%A1%E3%82%A4;\r\n filename*2=\"%E3%83%AB.pdf\"; filename=\"fallback.pdf\""
        )
        #expect(p.parameters["filename"] == "日本語ファイ%E3%83%AB.pdf")
        #expect(p.anomalies.isEmpty)
    }

    @Test func rfc2231OutOfOrderAndPlain() {
        let p = ParameterizedValue.parse("message/external-body; URL*1=\"/pub/file.txt\"; url*0=\"ftp://example.com\"")
        #expect(p.parameters["url"] == "ftp://example.com/pub/file.txt")
    }

    @Test func rfc2231SingleExtendedValue() {
        let p = ParameterizedValue.parse("attachment; filename*=iso-8859-1'de'Gr%FC%DFe.pdf")
        #expect(p.parameters["filename"] == "Grüße.pdf")
        #expect(p.anomalies.isEmpty)
        // Shift_JIS bytes percent-encoded.
        let j = ParameterizedValue.parse("attachment; filename*=shift_jis''%93%FA%96%7B%8C%EA.pdf")
        #expect(j.parameters["filename"] == "日本語.pdf")
    }

    @Test func rfc2231Gap() {
        let p = ParameterizedValue.parse("attachment; name*0=abc; name*2=ghi")
        #expect(p.parameters["name"] == "abc")
        #expect(p.anomalies == [.badParameter])
    }

    @Test func rfc2231MalformedPercentAndMissingCharset() {
        let p = ParameterizedValue.parse("attachment; filename*=100%25%zz.txt")
        #expect(p.parameters["filename"] == "100%%zz.txt")
        #expect(p.anomalies == [.badParameter])
        let unknown = ParameterizedValue.parse("attachment; filename*=x-bogus''caf%E9.txt")
        #expect(unknown.parameters["filename"] == "café.txt")
        #expect(unknown.anomalies == [.unknownCharset])
    }

    @Test func rfc2047InParameters() {
        let p = ParameterizedValue.parse(
            "attachment; filename=\"=?UTF-8?B?5pel5pys6Kqe?= =?UTF-8?Q?=2Epdf?=\"; name==?iso-8859-1?Q?Gr=FC=DFe?=")
        #expect(p.parameters["filename"] == "日本語.pdf")
        #expect(p.parameters["name"] == "Grüße")
        #expect(p.anomalies.isEmpty)
        // A boundary is never decoded.
        let b = ParameterizedValue.parse("multipart/mixed; boundary=\"=?utf-8?Q?a?=\"")
        #expect(b.parameters["boundary"] == "=?utf-8?Q?a?=")
    }

    @Test(arguments: ["", "text", "/", "text/", "/plain", ";charset=utf-8", "(comment)", "te xt", "\"\"", "text/;x=y"])
    func garbageTypes(value: String) {
        let (ct, anomalies) = ContentType.parse(value)
        #expect(ct == nil)
        #expect(anomalies.contains(.badContentType))
    }

    @Test func trailingJunkAfterSubtype() {
        let (ct, anomalies) = ContentType.parse("text/html/; charset=utf-8")
        #expect(ct?.mimeType == "text/html")
        #expect(ct?.charset == "utf-8")
        #expect(anomalies == [.badContentType])
    }

    @Test func quotedMainValue() {
        let (ct, _) = ContentType.parse("\"text/html\"; charset=utf-8")
        #expect(ct?.mimeType == "text/html")
        #expect(ParameterizedValue.parse("\"Quoted-Printable\"").value == "quoted-printable")
        #expect(ParameterizedValue.parse(" BASE64 ").value == "base64")
    }

    @Test func hostileInputStaysLinear() {
        let semis = String(repeating: ";", count: 100_000)
        #expect(ParameterizedValue.parse("text/plain" + semis).parameters.isEmpty)
        let parens = String(repeating: "(", count: 50_000)
        #expect(ParameterizedValue.parse("text/plain; a=b " + parens).parameters["a"]?.hasPrefix("b") == true)
        #expect(ParameterizedValue.parse("text/plain; a=b (unterminated").parameters["a"] == "b (unterminated")
        #expect(ParameterizedValue.parse("text/plain; a=b (one) (two)").parameters["a"] == "b")
        let quotes = String(repeating: "a=\" ", count: 20_000)
        _ = ParameterizedValue.parse("text/plain; " + quotes)
        let spaces = "a/b; n=x" + String(repeating: " ", count: 100_000) + "y"
        #expect(ParameterizedValue.parse(spaces).parameters["n"]?.utf8.count == 100_002)
        let nested = "a/b; n=x " + String(repeating: "( ", count: 20_000) + String(repeating: ")", count: 20_000) + "z"
        #expect(ParameterizedValue.parse(nested).parameters["n"]?.hasPrefix("x ( ( ") == true)
        let closed = "a/b; n=x " + String(repeating: "( ", count: 20_000) + String(repeating: ")", count: 20_000)
        #expect(ParameterizedValue.parse(closed).parameters["n"] == "x")
        let sections = (0..<2_000).map { "n*\($0)=x" }.joined(separator: "; ")
        #expect(ParameterizedValue.parse("a/b; " + sections).parameters["n"]?.utf8.count == 1_000)
    }

    @Test func randomInputNeverCrashes() {
        var rng = TestRandom(seed: 0xEF27397D)
        let alphabet = Array("a/;=*\"\\() \t'%0F=?Bqé")
        for _ in 0..<500 {
            let s = rng.string(from: alphabet, count: Int(rng.next() % 80))
            _ = ParameterizedValue.parse(s)
        }
    }
}
