import SpamwardTestSupport
import Testing

@testable import MailMessage

// Byte samples produced offline with Python's codecs: `text.encode(codec)`.
enum CharsetSamples {
    /// 'Grüße aus Köln – 日本語 ✓' in utf-8
    static let utf8: [UInt8] = [
        0x47, 0x72, 0xC3, 0xBC, 0xC3, 0x9F, 0x65, 0x20, 0x61, 0x75, 0x73, 0x20, 0x4B, 0xC3, 0xB6, 0x6C,
        0x6E, 0x20, 0xE2, 0x80, 0x93, 0x20, 0xE6, 0x97, 0xA5, 0xE6, 0x9C, 0xAC, 0xE8, 0xAA, 0x9E, 0x20,
        0xE2, 0x9C, 0x93,
    ]
    /// 'Hello, Привет' in utf-16
    static let utf16: [UInt8] = [
        0xFF, 0xFE, 0x48, 0x00, 0x65, 0x00, 0x6C, 0x00, 0x6C, 0x00, 0x6F, 0x00, 0x2C, 0x00, 0x20, 0x00,
        0x1F, 0x04, 0x40, 0x04, 0x38, 0x04, 0x32, 0x04, 0x35, 0x04, 0x42, 0x04,
    ]
    /// 'Hi €' in utf-16-be
    static let utf16be: [UInt8] = [
        0x00, 0x48, 0x00, 0x69, 0x00, 0x20, 0x20, 0xAC,
    ]
    /// 'Zażółć gęślą jaźń' in iso-8859-2
    static let latin2: [UInt8] = [
        0x5A, 0x61, 0xBF, 0xF3, 0xB3, 0xE6, 0x20, 0x67, 0xEA, 0xB6, 0x6C, 0xB1, 0x20, 0x6A, 0x61, 0xBC,
        0xF1,
    ]
    /// 'Привет, мир! Это тестовое сообщение.' in cp1251
    static let cp1251: [UInt8] = [
        0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x2C, 0x20, 0xEC, 0xE8, 0xF0, 0x21, 0x20, 0xDD, 0xF2, 0xEE,
        0x20, 0xF2, 0xE5, 0xF1, 0xF2, 0xEE, 0xE2, 0xEE, 0xE5, 0x20, 0xF1, 0xEE, 0xEE, 0xE1, 0xF9, 0xE5,
        0xED, 0xE8, 0xE5, 0x2E,
    ]
    /// 'Привет, мир! Это тестовое сообщение.' in koi8-r
    static let koi8r: [UInt8] = [
        0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4, 0x2C, 0x20, 0xCD, 0xC9, 0xD2, 0x21, 0x20, 0xFC, 0xD4, 0xCF,
        0x20, 0xD4, 0xC5, 0xD3, 0xD4, 0xCF, 0xD7, 0xCF, 0xC5, 0x20, 0xD3, 0xCF, 0xCF, 0xC2, 0xDD, 0xC5,
        0xCE, 0xC9, 0xC5, 0x2E,
    ]
    /// '这是一个测试邮件，欢迎使用。' in gb2312
    static let gb2312: [UInt8] = [
        0xD5, 0xE2, 0xCA, 0xC7, 0xD2, 0xBB, 0xB8, 0xF6, 0xB2, 0xE2, 0xCA, 0xD4, 0xD3, 0xCA, 0xBC, 0xFE,
        0xA3, 0xAC, 0xBB, 0xB6, 0xD3, 0xAD, 0xCA, 0xB9, 0xD3, 0xC3, 0xA1, 0xA3,
    ]
    /// '朱镕基总理讲话：发展是硬道理' in gbk
    static let gbk: [UInt8] = [
        0xD6, 0xEC, 0xE9, 0x46, 0xBB, 0xF9, 0xD7, 0xDC, 0xC0, 0xED, 0xBD, 0xB2, 0xBB, 0xB0, 0xA3, 0xBA,
        0xB7, 0xA2, 0xD5, 0xB9, 0xCA, 0xC7, 0xD3, 0xB2, 0xB5, 0xC0, 0xC0, 0xED,
    ]
    /// '這是一個測試郵件，歡迎使用。' in big5
    static let big5: [UInt8] = [
        0xB3, 0x6F, 0xAC, 0x4F, 0xA4, 0x40, 0xAD, 0xD3, 0xB4, 0xFA, 0xB8, 0xD5, 0xB6, 0x6C, 0xA5, 0xF3,
        0xA1, 0x41, 0xC5, 0x77, 0xAA, 0xEF, 0xA8, 0xCF, 0xA5, 0xCE, 0xA1, 0x43,
    ]
    /// 'これはテストメールです。日本語の文章。' in shift_jis
    static let sjis: [UInt8] = [
        0x82, 0xB1, 0x82, 0xEA, 0x82, 0xCD, 0x83, 0x65, 0x83, 0x58, 0x83, 0x67, 0x83, 0x81, 0x81, 0x5B,
        0x83, 0x8B, 0x82, 0xC5, 0x82, 0xB7, 0x81, 0x42, 0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA, 0x82, 0xCC,
        0x95, 0xB6, 0x8F, 0xCD, 0x81, 0x42,
    ]
    /// 'これはテストメールです。日本語の文章。' in euc_jp
    static let eucjp: [UInt8] = [
        0xA4, 0xB3, 0xA4, 0xEC, 0xA4, 0xCF, 0xA5, 0xC6, 0xA5, 0xB9, 0xA5, 0xC8, 0xA5, 0xE1, 0xA1, 0xBC,
        0xA5, 0xEB, 0xA4, 0xC7, 0xA4, 0xB9, 0xA1, 0xA3, 0xC6, 0xFC, 0xCB, 0xDC, 0xB8, 0xEC, 0xA4, 0xCE,
        0xCA, 0xB8, 0xBE, 0xCF, 0xA1, 0xA3,
    ]
    /// 'これはテストメールです。日本語の文章。' in iso2022_jp
    static let iso2022jp: [UInt8] = [
        0x1B, 0x24, 0x42, 0x24, 0x33, 0x24, 0x6C, 0x24, 0x4F, 0x25, 0x46, 0x25, 0x39, 0x25, 0x48, 0x25,
        0x61, 0x21, 0x3C, 0x25, 0x6B, 0x24, 0x47, 0x24, 0x39, 0x21, 0x23, 0x46, 0x7C, 0x4B, 0x5C, 0x38,
        0x6C, 0x24, 0x4E, 0x4A, 0x38, 0x3E, 0x4F, 0x21, 0x23, 0x1B, 0x28, 0x42,
    ]
    /// '안녕하세요. 이것은 테스트 메일입니다.' in euc_kr
    static let euckr: [UInt8] = [
        0xBE, 0xC8, 0xB3, 0xE7, 0xC7, 0xCF, 0xBC, 0xBC, 0xBF, 0xE4, 0x2E, 0x20, 0xC0, 0xCC, 0xB0, 0xCD,
        0xC0, 0xBA, 0x20, 0xC5, 0xD7, 0xBD, 0xBA, 0xC6, 0xAE, 0x20, 0xB8, 0xDE, 0xC0, 0xCF, 0xC0, 0xD4,
        0xB4, 0xCF, 0xB4, 0xD9, 0x2E,
    ]
    /// '“Smart quotes” – 50 € café' in cp1252
    static let cp1252: [UInt8] = [
        0x93, 0x53, 0x6D, 0x61, 0x72, 0x74, 0x20, 0x71, 0x75, 0x6F, 0x74, 0x65, 0x73, 0x94, 0x20, 0x96,
        0x20, 0x35, 0x30, 0x20, 0x80, 0x20, 0x63, 0x61, 0x66, 0xE9,
    ]
    /// 'Déjà vu, naïve café' in latin-1
    static let latin1: [UInt8] = [
        0x44, 0xE9, 0x6A, 0xE0, 0x20, 0x76, 0x75, 0x2C, 0x20, 0x6E, 0x61, 0xEF, 0x76, 0x65, 0x20, 0x63,
        0x61, 0x66, 0xE9,
    ]
    /// 'お得な情報' in shift_jis
    static let sjisSubject: [UInt8] = [
        0x82, 0xA8, 0x93, 0xBE, 0x82, 0xC8, 0x8F, 0xEE, 0x95, 0xF1,
    ]
    /// '中文' in gb2312
    static let gbShort: [UInt8] = [
        0xD6, 0xD0, 0xCE, 0xC4,
    ]
    /// '優惠活動' in big5
    static let big5Short: [UInt8] = [
        0xC0, 0x75, 0xB4, 0x66, 0xAC, 0xA1, 0xB0, 0xCA,
    ]
    /// '무료 쿠폰' in euc_kr
    static let euckrShort: [UInt8] = [
        0xB9, 0xAB, 0xB7, 0xE1, 0x20, 0xC4, 0xED, 0xC6, 0xF9,
    ]
    /// 'Скидка' in cp1251
    static let cp1251Short: [UInt8] = [
        0xD1, 0xEA, 0xE8, 0xE4, 0xEA, 0xE0,
    ]
}

struct CharsetCase: Sendable, CustomTestStringConvertible {
    var bytes: [UInt8]
    var declared: String?
    var text: String
    var charset: String
    var anomalies: [Anomaly] = []
    var testDescription: String { "\(declared ?? "nil") → \(charset)" }
}

@Suite struct CharsetTests {
    @Test(arguments: [
        ("UTF-8", "utf-8"), ("utf8", "utf-8"), (" \"utf-8\" ", "utf-8"), ("UTF8MB4", "utf-8"),
        ("us-ascii", "us-ascii"), ("ASCII", "us-ascii"), ("ANSI_X3.4-1968", "us-ascii"),
        ("iso-8859-1", "iso-8859-1"), ("ISO8859-1", "iso-8859-1"), ("iso_8859-1:1987", "iso-8859-1"),
        ("latin1", "iso-8859-1"), ("l1", "iso-8859-1"), ("iso-8859-2", "iso-8859-2"), ("latin2", "iso-8859-2"),
        ("iso-8859-11", "iso-8859-11"), ("ISO-8859-15", "iso-8859-15"), ("latin9", "iso-8859-15"),
        ("iso-8859-16", "iso-8859-16"), ("latin5", "iso-8859-9"),
        ("windows-1252", "windows-1252"), ("cp1252", "windows-1252"), ("x-cp1250", "windows-1250"),
        ("win-1251", "windows-1251"), ("Windows-1258", "windows-1258"),
        ("koi8-r", "koi8-r"), ("KOI8-U", "koi8-u"),
        ("gb2312", "gb2312"), ("euc-cn", "gb2312"), ("GBK", "gbk"), ("x-gbk", "gbk"), ("cp936", "gbk"),
        ("GB18030", "gb18030"),
        ("big5", "big5"), ("x-x-big5", "big5"), ("Big5-HKSCS", "big5-hkscs"),
        ("Shift_JIS", "shift_jis"), ("sjis", "shift_jis"), ("x-sjis", "shift_jis"), ("windows-31j", "shift_jis"),
        ("cp932", "shift_jis"), ("EUC-JP", "euc-jp"), ("x-euc-jp", "euc-jp"), ("ISO-2022-JP", "iso-2022-jp"),
        ("euc-kr", "euc-kr"), ("ks_c_5601-1987", "euc-kr"), ("cp949", "euc-kr"),
        ("utf-16", "utf-16"), ("UTF-16LE", "utf-16le"), ("utf-16be", "utf-16be"), ("utf-32", "utf-32"),
        ("tis-620", "tis-620"), ("windows-874", "windows-874"), ("utf-8*en", "utf-8"),
    ])
    func normalizeKnown(label: String, expected: String) {
        #expect(Charset.normalize(label) == expected)
    }

    @Test(arguments: ["default_charset", "x-unknown", "", "  ", "unknown-8bit", "utf-9", "charset", "Ω", "8859"])
    func normalizeGarbage(label: String) {
        #expect(Charset.normalize(label) == nil)
    }

    static let declaredCases: [CharsetCase] = [
        CharsetCase(bytes: CharsetSamples.utf8, declared: "utf-8", text: "Grüße aus Köln – 日本語 ✓", charset: "utf-8"),
        CharsetCase(bytes: CharsetSamples.utf16, declared: "utf-16", text: "Hello, Привет", charset: "utf-16"),
        CharsetCase(bytes: CharsetSamples.utf16be, declared: "UTF-16BE", text: "Hi €", charset: "utf-16be"),
        CharsetCase(bytes: CharsetSamples.utf16be, declared: "utf-16", text: "Hi €", charset: "utf-16"),
        CharsetCase(bytes: CharsetSamples.latin1, declared: "ISO-8859-1", text: "Déjà vu, naïve café", charset: "iso-8859-1"),
        CharsetCase(bytes: CharsetSamples.latin2, declared: "iso-8859-2", text: "Zażółć gęślą jaźń", charset: "iso-8859-2"),
        CharsetCase(
            bytes: CharsetSamples.cp1251, declared: "windows-1251", text: "Привет, мир! Это тестовое сообщение.",
            charset: "windows-1251"),
        CharsetCase(
            bytes: CharsetSamples.koi8r, declared: "koi8-r", text: "Привет, мир! Это тестовое сообщение.",
            charset: "koi8-r"),
        CharsetCase(bytes: CharsetSamples.gb2312, declared: "gb2312", text: "这是一个测试邮件，欢迎使用。", charset: "gb2312"),
        // GBK-only character (镕) under a gb2312 label: decoded with the superset.
        CharsetCase(bytes: CharsetSamples.gbk, declared: "gb2312", text: "朱镕基总理讲话：发展是硬道理", charset: "gb2312"),
        CharsetCase(bytes: CharsetSamples.gbk, declared: "GBK", text: "朱镕基总理讲话：发展是硬道理", charset: "gbk"),
        CharsetCase(bytes: CharsetSamples.big5, declared: "big5", text: "這是一個測試郵件，歡迎使用。", charset: "big5"),
        CharsetCase(
            bytes: CharsetSamples.sjis, declared: "shift_jis", text: "これはテストメールです。日本語の文章。", charset: "shift_jis"),
        CharsetCase(bytes: CharsetSamples.eucjp, declared: "euc-jp", text: "これはテストメールです。日本語の文章。", charset: "euc-jp"),
        CharsetCase(
            bytes: CharsetSamples.iso2022jp, declared: "iso-2022-jp", text: "これはテストメールです。日本語の文章。",
            charset: "iso-2022-jp"),
        CharsetCase(
            bytes: CharsetSamples.euckr, declared: "ks_c_5601-1987", text: "안녕하세요. 이것은 테스트 메일입니다.", charset: "euc-kr"),
        CharsetCase(bytes: CharsetSamples.cp1252, declared: "windows-1252", text: "“Smart quotes” – 50 € café", charset: "windows-1252"),
        CharsetCase(bytes: Array("plain text".utf8), declared: "us-ascii", text: "plain text", charset: "us-ascii"),
    ]

    @Test(arguments: declaredCases)
    func decodesDeclared(_ c: CharsetCase) {
        let d = Charset.decode(c.bytes[...], declared: c.declared)
        #expect(d.text == c.text)
        #expect(d.charset == c.charset)
        #expect(d.anomalies == c.anomalies)
    }

    static let sniffCases: [(bytes: [UInt8], charset: String, text: String)] = [
        (CharsetSamples.utf8, "utf-8", "Grüße aus Köln – 日本語 ✓"),
        (CharsetSamples.utf16, "utf-16le", "Hello, Привет"),
        (CharsetSamples.utf16be, "utf-16be", "Hi €"),
        (CharsetSamples.cp1251, "windows-1251", "Привет, мир! Это тестовое сообщение."),
        (CharsetSamples.koi8r, "koi8-r", "Привет, мир! Это тестовое сообщение."),
        (CharsetSamples.cp1251Short, "windows-1251", "Скидка"),
        (CharsetSamples.gb2312, "gbk", "这是一个测试邮件，欢迎使用。"),
        (CharsetSamples.gbk, "gbk", "朱镕基总理讲话：发展是硬道理"),
        (CharsetSamples.gbShort, "gbk", "中文"),
        (CharsetSamples.big5, "big5", "這是一個測試郵件，歡迎使用。"),
        (CharsetSamples.big5Short, "big5", "優惠活動"),
        (CharsetSamples.sjis, "shift_jis", "これはテストメールです。日本語の文章。"),
        (CharsetSamples.sjisSubject, "shift_jis", "お得な情報"),
        (CharsetSamples.eucjp, "euc-jp", "これはテストメールです。日本語の文章。"),
        (CharsetSamples.iso2022jp, "iso-2022-jp", "これはテストメールです。日本語の文章。"),
        (CharsetSamples.euckr, "euc-kr", "안녕하세요. 이것은 테스트 메일입니다."),
        (CharsetSamples.euckrShort, "euc-kr", "무료 쿠폰"),
        (CharsetSamples.cp1252, "windows-1252", "“Smart quotes” – 50 € café"),
        (CharsetSamples.latin1, "windows-1252", "Déjà vu, naïve café"),
        (Array("just ascii".utf8), "us-ascii", "just ascii"),
    ]

    @Test(arguments: sniffCases)
    func sniffsUndeclared(bytes: [UInt8], charset: String, text: String) {
        #expect(Charset.sniff(bytes[...]) == charset)
        let d = Charset.decode(bytes[...], declared: nil)
        #expect(d.text == text)
        #expect(d.charset == charset)
        #expect(d.anomalies.isEmpty)
    }

    @Test func unknownLabelIsSniffed() {
        let d = Charset.decode(CharsetSamples.cp1251[...], declared: "x-unknown")
        #expect(d.text == "Привет, мир! Это тестовое сообщение.")
        #expect(d.charset == "windows-1251")
        #expect(d.anomalies == [.unknownCharset])
    }

    @Test func emptyLabelIsSniffedSilently() {
        let d = Charset.decode(CharsetSamples.utf8[...], declared: " ")
        #expect(d.charset == "utf-8")
        #expect(d.anomalies.isEmpty)
    }

    @Test func invalidUTF8UnderUTF8LabelFallsBackToSniffing() {
        let d = Charset.decode(CharsetSamples.latin1[...], declared: "utf-8")
        #expect(d.text == "Déjà vu, naïve café")
        #expect(d.charset == "windows-1252")
        #expect(d.anomalies == [.badCharsetBytes, .charsetMismatch])
    }

    @Test func mostlyValidUTF8StaysUTF8() {
        // "Grüße" then a cut-off three-byte sequence.
        let bytes: [UInt8] = [0x47, 0x72, 0xC3, 0xBC, 0xC3, 0x9F, 0x65, 0x20, 0xE6, 0x97]
        let d = Charset.decode(bytes[...], declared: "UTF-8")
        #expect(d.text == "Grüße \u{FFFD}")
        #expect(d.charset == "utf-8")
        #expect(d.anomalies == [.badCharsetBytes])
    }

    @Test func wrongMultibyteLabelIsCorrected() {
        // EUC-JP bytes labelled Shift_JIS.
        let d = Charset.decode(CharsetSamples.eucjp[...], declared: "shift_jis")
        #expect(d.text == "これはテストメールです。日本語の文章。")
        #expect(d.charset == "euc-jp")
        #expect(d.anomalies == [.charsetMismatch])
    }

    @Test func utf8UnderSingleByteLabelIsUTF8() {
        let d = Charset.decode(CharsetSamples.utf8[...], declared: "iso-8859-1")
        #expect(d.text == "Grüße aus Köln – 日本語 ✓")
        #expect(d.charset == "utf-8")
        #expect(d.anomalies == [.charsetMismatch])
    }

    @Test func eightBitUnderASCIILabel() {
        let utf = Charset.decode(CharsetSamples.utf8[...], declared: "us-ascii")
        #expect(utf.text == "Grüße aus Köln – 日本語 ✓")
        #expect(utf.anomalies == [.badCharsetBytes])
        let latin = Charset.decode(CharsetSamples.latin1[...], declared: "us-ascii")
        #expect(latin.text == "Déjà vu, naïve café")
        #expect(latin.charset == "windows-1252")
        #expect(latin.anomalies == [.badCharsetBytes])
    }

    @Test func iso2022JPUnderASCIILabel() {
        let d = Charset.decode(CharsetSamples.iso2022jp[...], declared: "us-ascii")
        #expect(d.text == "これはテストメールです。日本語の文章。")
        #expect(d.charset == "iso-2022-jp")
        #expect(d.anomalies == [.charsetMismatch])
    }

    @Test func byteOrderMarkWinsOverLabel() {
        let d = Charset.decode(CharsetSamples.utf16[...], declared: "iso-8859-1")
        #expect(d.text == "Hello, Привет")
        #expect(d.charset == "utf-16le")
        #expect(d.anomalies == [.charsetMismatch])
        let bom = Charset.decode(([0xEF, 0xBB, 0xBF] + Array("hi".utf8))[...], declared: "utf-8")
        #expect(bom.text == "hi")
    }

    @Test func invalidMultibyteBytesAreReplacedNotLost() {
        // GB2312 text with one stray 0xFF in the middle: the rest survives.
        var bytes = CharsetSamples.gb2312
        bytes.insert(0xFF, at: 4)
        let d = Charset.decode(bytes[...], declared: "gb2312")
        #expect(d.text == "这是\u{FFFD}一个测试邮件，欢迎使用。")
        #expect(d.charset == "gb2312")
        #expect(d.anomalies == [.badCharsetBytes])
    }

    @Test func truncatedMultibyteAtEnd() {
        let bytes = Array(CharsetSamples.sjis.dropLast())
        let d = Charset.decode(bytes[...], declared: "shift_jis")
        #expect(d.text == "これはテストメールです。日本語の文章\u{FFFD}")
        #expect(d.anomalies == [.badCharsetBytes])
    }

    @Test func oddUTF16() {
        let d = Charset.decode(([0xFF, 0xFE, 0x41, 0x00, 0x00, 0xD8, 0x42] as [UInt8])[...], declared: "utf-16")
        #expect(d.text == "A\u{FFFD}\u{FFFD}")
        #expect(d.anomalies == [.badCharsetBytes])
    }

    @Test func outputIsBounded() {
        let bytes = [UInt8](repeating: 0xFF, count: 10_000)
        for label in ["shift_jis", "euc-kr", "utf-8", "iso-2022-jp", "utf-16", nil] {
            let d = Charset.decode(bytes[...], declared: label)
            #expect(d.text.utf8.count <= bytes.count * 4 + 16)
        }
        let empty = Charset.decode([][...], declared: "big5")
        #expect(empty.text == "")
        #expect(empty.anomalies.isEmpty)
    }

    @Test func windows1252Table() {
        let bytes: [UInt8] = [0x80, 0x81, 0x8A, 0x99, 0x9F, 0xA0, 0xFF]
        #expect(Charset.decode(bytes[...], declared: "cp1252").text == "€\u{81}Š™Ÿ\u{A0}ÿ")
        #expect(Charset.decode(bytes[...], declared: "latin1").text == "\u{80}\u{81}\u{8A}\u{99}\u{9F}\u{A0}ÿ")
    }

    @Test func headerBytes() {
        #expect(Charset.decodeHeaderBytes(CharsetSamples.utf8[...]) == "Grüße aus Köln – 日本語 ✓")
        #expect(Charset.decodeHeaderBytes(CharsetSamples.sjisSubject[...]) == "お得な情報")
        #expect(Charset.decodeHeaderBytes(CharsetSamples.cp1251Short[...]) == "Скидка")
        #expect(Charset.decodeHeaderBytes(Array("Caf\u{E9}".unicodeScalars.map { UInt8($0.value) })[...]) == "Café")
    }

    @Test func rfc2231LanguageSuffixIsIgnored() {
        let d = Charset.decode(CharsetSamples.latin2[...], declared: "iso-8859-2*pl")
        #expect(d.text == "Zażółć gęślą jaźń")
        #expect(d.charset == "iso-8859-2")
    }

    @Test func canonicalNamesAreStableAndDecodable() {
        for name in Set(CharsetTable.aliases.values) {
            #expect(Charset.normalize(name) == name)
            #expect(CharsetTable.decoder(name) != nil, "\(name)")
            #expect(Charset.decodeStrict(Array("abc".utf8)[...], name: name) != nil, "\(name)")
        }
    }

    @Test func randomBytesNeverCrashAndStayBounded() {
        var rng = TestRandom(seed: 0x5EED)
        let labels: [String?] = [
            nil, "utf-8", "us-ascii", "iso-8859-1", "windows-1252", "utf-16", "utf-32", "shift_jis", "euc-jp",
            "iso-2022-jp", "euc-kr", "gb2312", "big5", "koi8-r", "utf-7", "bogus",
        ]
        for round in 0..<300 {
            let count = Int(rng.next() % 64)
            let highOnly = round % 3 == 0
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) | (highOnly ? 0x80 : 0) }
            for label in labels {
                let d = Charset.decode(bytes[...], declared: label)
                #expect(d.text.utf8.count <= bytes.count * 4 + 16)
            }
            _ = Charset.sniff(bytes[...])
            _ = Charset.decodeHeaderBytes(bytes[...])
        }
    }
}

@Test func highByteCountMatchesBytewiseCount() {
    // Lengths around the 8-byte words and the 255-word blocks; slices at odd offsets.
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var bytes: [UInt8] = []
    for _ in 0..<4_200 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        bytes.append(UInt8(truncatingIfNeeded: state >> 56))
    }
    for (start, end) in [(0, 0), (0, 7), (1, 9), (3, 64), (0, 2_040), (5, 2_047), (0, 2_048), (7, 4_200), (0, 4_200)] {
        let slice = bytes[start..<end]
        #expect(CharsetSniffer.highByteCount(slice) == slice.filter { $0 >= 0x80 }.count)
    }
    #expect(CharsetSniffer.highByteCount([UInt8](repeating: 0xFF, count: 4_100)[...]) == 4_100)
}

@Test func plainSevenBitMatchesBytewiseCheck() {
    // One odd byte (high, NUL, ESC) at each position of slices around the 8-byte words, and
    // bytes next to the flagged ones (0x01, 0x1A, 0x1C, 0x7F, 0x80) that must or must not count.
    let base = [UInt8](repeating: UInt8(ascii: "a"), count: 40)
    func reference(_ s: ArraySlice<UInt8>) -> Bool { !s.contains { $0 >= 0x80 || $0 == 0 || $0 == 0x1B } }
    for odd: UInt8 in [0x00, 0x01, 0x1A, 0x1B, 0x1C, 0x7F, 0x80, 0xFF] {
        for position in 0..<base.count {
            var bytes = base
            bytes[position] = odd
            for (start, end) in [(0, 40), (1, 17), (3, 11), (position, min(40, position + 8)), (0, position + 1)] {
                let slice = bytes[start..<end]
                #expect(CharsetSniffer.isPlainSevenBit(slice) == reference(slice))
            }
        }
    }
    #expect(CharsetSniffer.isPlainSevenBit([][...]))
    // A zero byte before a 0x01 byte (a borrow crosses the lane) is found once, not missed.
    #expect(!CharsetSniffer.isPlainSevenBit([0x41, 0x00, 0x01, 0x41, 0x41, 0x41, 0x41, 0x41][...]))
    #expect(Charset.sniff(Array("plain text\r\n".utf8)[...]) == "us-ascii")
}

@Test(arguments: ["utf-8", " \"UTF-8\" ", "'iso-8859-1'\r\n", "\r\n\tkoi8-r \r", "\"\"", "", " ", "us-ascii*en",
                  "\"utf-8\"\u{301}", "ütf-8 ", " \"windows-1252\"\r\n "])
func trimmedLabelMatchesCharacterTrimming(label: String) {
    let junk: Set<Character> = [" ", "\t", "\r\n", "\n", "\r", "\"", "'"]
    var s = Substring(label)
    while let f = s.first, junk.contains(f) { s = s.dropFirst() }
    while let l = s.last, junk.contains(l) { s = s.dropLast() }
    #expect(CharsetTable.trimmedLabel(label) == String(s))
}

/// iconv descriptors are reused (``IconvDescriptors``): a decode never starts in the state a
/// previous one left, nor sees its input.
@Suite struct IconvReuseTests {
    @Test func aReusedDescriptorStartsInTheInitialState() throws {
        // ISO-2022-JP cut off inside a JIS X 0208 run (ESC $ B, then "日本" without ESC ( B).
        let cut: [UInt8] = [0x1B, 0x24, 0x42, 0x46, 0x7C, 0x4B, 0x5C]
        for _ in 0..<3 {
            let first = try #require(Charset.iconvDecode(cut[...], converter: "ISO-2022-JP-2"))
            #expect(first.text.hasPrefix("日本"))
            // In the state the cut-off text left, "AB" would be one JIS character.
            let next = try #require(Charset.iconvDecode(Array("AB".utf8)[...], converter: "ISO-2022-JP-2"))
            #expect(next.text == "AB")
            #expect(next.errors == 0)
        }
        let full = try #require(Charset.iconvDecode(CharsetSamples.iso2022jp[...], converter: "ISO-2022-JP-2"))
        #expect(full.text == "これはテストメールです。日本語の文章。")
        #expect(Charset.iconvDecode(Array("x".utf8)[...], converter: "NO-SUCH-CONVERTER") == nil)
    }

    @Test func concurrentDecodesGetTheirOwnDescriptors() async throws {
        let expected = "これはテストメールです。日本語の文章。"
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    (0..<50).allSatisfy { _ in
                        Charset.iconvDecode(CharsetSamples.iso2022jp[...], converter: "ISO-2022-JP-2")?.text == expected
                    }
                }
            }
            var all: [Bool] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
    }
}
