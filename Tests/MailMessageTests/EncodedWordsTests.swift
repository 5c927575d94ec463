import SpamwardTestSupport
import Testing

@testable import MailMessage

@Suite struct EncodedWordsTests {
    @Test(arguments: [
        // Plain text passes through untouched.
        ("Hello world", "Hello world"),
        ("Price =? unknown", "Price =? unknown"),
        // B and Q, either case.
        ("=?UTF-8?B?4oKsdXJvIOaXpeacrA==?=", "€uro 日本"),
        ("=?utf-8?b?4oKsdXJvIOaXpeacrA==?=", "€uro 日本"),
        ("=?iso-8859-1?q?Gr=FC=DFe_aus_K=F6ln?=", "Grüße aus Köln"),
        ("=?ISO-8859-1?Q?Gr=fc=dfe?=", "Grüße"),
        ("=?koi8-r?B?8NLJ18XUIM3J0g==?=", "Привет мир"),
        ("=?windows-1251?B?0ero5OrgIDUwJQ==?=", "Скидка 50%"),
        ("=?ISO-2022-JP?B?GyRCRnxLXDhsJE4lRiUtJTklSBsoQg==?=", "日本語のテキスト"),
        ("=?euc-kr?B?vsiz58fPvLy/5A==?=", "안녕하세요"),
        ("=?big5?B?s2+sT7T6uNU=?=", "這是測試"),
        // RFC 2231 language suffix.
        ("=?utf-8*en-us?Q?hello_there?=", "hello there"),
        // White space between adjacent words is dropped; around other text it is kept.
        ("=?utf-8?Q?a?= =?utf-8?Q?b?=", "ab"),
        ("=?utf-8?Q?a?=\t  =?iso-8859-1?Q?b?=", "ab"),
        ("=?utf-8?Q?a?= b =?utf-8?Q?c?=", "a b c"),
        ("Re: =?utf-8?Q?caf=C3=A9?= time", "Re: café time"),
        // Glued to other text, and back to back.
        ("abc=?utf-8?Q?x?=def", "abcxdef"),
        ("=?utf-8?Q?a?==?utf-8?Q?b?=", "ab"),
        ("==?utf-8?Q?x?=", "=x"),
        // Inside a quoted string.
        ("\"=?utf-8?B?5pel5pys?=\" <a@b.example>", "\"日本\" <a@b.example>"),
        // Truncated or incomplete encoded words stay as text.
        ("=?utf-8?B?4oKs", "=?utf-8?B?4oKs"),
        ("=?utf-8?X?abc?=", "=?utf-8?X?abc?="),
        ("=??B?abc?=", "=??B?abc?="),
        ("=?utf-8?Q", "=?utf-8?Q"),
        ("=?", "=?"),
        // Empty encoded text.
        ("x=?utf-8?B??=y", "xy"),
    ])
    func decodes(input: String, expected: String) {
        #expect(EncodedWords.decode(input).text == expected)
    }

    @Test func cleanWordsHaveNoAnomalies() {
        let d = EncodedWords.decode("Subject =?utf-8?B?4oKsdXJvIOaXpeacrA==?= ok")
        #expect(d.text == "Subject €uro 日本 ok")
        #expect(d.charset == "utf-8")
        #expect(d.anomalies.isEmpty)
    }

    @Test func charsetIsFirstWordsOrASCII() {
        #expect(EncodedWords.decode("plain").charset == "us-ascii")
        #expect(EncodedWords.decode("=?ISO-8859-1?Q?a?= =?utf-8?Q?b?=").charset == "iso-8859-1")
        #expect(EncodedWords.decode("=?x-sjis?Q?a?=").charset == "shift_jis")
    }

    @Test func multibyteCharacterSplitAcrossWords() {
        // "测试中文" in GB2312, split after the third byte (inside 试).
        let d = EncodedWords.decode("=?gb2312?B?suLK?= =?GB2312?B?1NbQzsQ=?=")
        #expect(d.text == "测试中文")
        #expect(d.anomalies.isEmpty)
        // "€uro 日本" in UTF-8, split inside 日.
        let u = EncodedWords.decode("=?utf-8?Q?=E2=82=ACuro_=E6?= =?utf-8?Q?=97=A5=E6=9C=AC?=")
        #expect(u.text == "€uro 日本")
        #expect(u.anomalies.isEmpty)
        // Same charset, B then Q.
        let mixed = EncodedWords.decode("=?utf-8?B?4oI=?==?utf-8?Q?=AC?=")
        #expect(mixed.text == "€")
    }

    @Test func badBase64IsDecodedBestEffort() {
        let missingPadding = EncodedWords.decode("=?utf-8?B?R3LDvMOfZQ?=")
        #expect(missingPadding.text == "Grüße")
        #expect(missingPadding.anomalies == [.badEncodedWord])
        let junk = EncodedWords.decode("=?utf-8?B?R3L!DvM#OfZQ==?=")
        #expect(junk.text == "Grüße")
        #expect(junk.anomalies == [.badEncodedWord])
        let glued = EncodedWords.decode("=?utf-8?B?YQ==YWI=?=")
        #expect(glued.text == "aab")
        #expect(glued.anomalies == [.badEncodedWord])
    }

    @Test func badQuotedPrintableIsDecodedBestEffort() {
        let d = EncodedWords.decode("=?iso-8859-1?Q?50=%_off=2?=")
        #expect(d.text == "50=% off=2")
        #expect(d.anomalies == [.badEncodedWord])
        let spaces = EncodedWords.decode("=?utf-8?Q?hello world?=")
        #expect(spaces.text == "hello world")
        #expect(spaces.anomalies == [.badEncodedWord])
    }

    @Test func unknownCharsetIsSniffed() {
        let d = EncodedWords.decode("=?x-unknown?B?4oKsdXJvIOaXpeacrA==?=")
        #expect(d.text == "€uro 日本")
        #expect(d.charset == "utf-8")
        #expect(d.anomalies == [.encodedWordUnknownCharset])
        let latin = EncodedWords.decode("=?default_charset?Q?Gr=FC=DFe?=")
        #expect(latin.text == "Grüße")
        #expect(latin.charset == "windows-1252")
        #expect(latin.anomalies == [.encodedWordUnknownCharset])
    }

    @Test func badBytesInDeclaredCharset() {
        let d = EncodedWords.decode("=?utf-8?Q?Gr=FC=DFe?=")
        #expect(d.text == "Grüße")
        #expect(d.anomalies == [.badCharsetBytes, .charsetMismatch])
    }

    @Test func manyWordsStayLinear() {
        var s = ""
        for _ in 0..<5_000 { s += "=?utf-8?Q?ab?= " }
        #expect(EncodedWords.decode(s).text == String(repeating: "ab", count: 5_000) + " ")
        // Many starts and no terminator.
        let unterminated = String(repeating: "=?utf-8?Q?x ", count: 20_000)
        #expect(EncodedWords.decode(unterminated).text == unterminated)
        // Many starts and one terminator at the end.
        let oneEnd = String(repeating: "=?a b ", count: 20_000) + "?="
        #expect(EncodedWords.decode(oneEnd).text == oneEnd)
    }

    @Test func headerFieldDecodedValue() {
        let f = HeaderField(name: "Subject", value: "=?utf-8?Q?Hi_there?=", rawRange: 0..<0, valueRange: 0..<0)
        #expect(f.decodedValue == "Hi there")
    }

    @Test func randomInputNeverCrashes() {
        var rng = TestRandom(seed: 0x676A1615)
        let alphabet = Array("=?_QqBb-utf8aZ= \t\"é日")
        for _ in 0..<500 {
            let s = rng.string(from: alphabet, count: Int(rng.next() % 80))
            _ = EncodedWords.decode(s)
        }
    }
}
