import Testing

@testable import MailMessage

/// The parser's fast paths give what the general paths give.
@Suite struct ParserFastPathTests {
    /// A small deterministic generator (SplitMix64), so that failures reproduce.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Bytes drawn mostly from `alphabet`, with a chance of an 8-bit byte.
    static func bytes(_ r: inout Random, count: Int, alphabet: [UInt8], highChance: Int) -> [UInt8] {
        (0..<count).map { _ in
            if highChance > 0, r.below(highChance) == 0 { return UInt8(0x80 + r.below(0x80)) }
            return alphabet[r.below(alphabet.count)]
        }
    }

    /// The unfolding as it was before the fast paths: drop every CR and LF, then cut.
    static func referenceUnfold(_ raw: [UInt8], max: Int) -> (String, Bool, Bool) {
        var start = 0
        var end = raw.count
        while start < end, ASCII.isWhitespace(raw[start]) { start += 1 }
        while end > start, ASCII.isWhitespace(raw[end - 1]) { end -= 1 }
        let unfolded = raw[start..<end].filter { $0 != 0x0A && $0 != 0x0D }
        let eightBit = raw[start..<end].contains { $0 >= 0x80 }
        let tooLong = unfolded.count > max
        let kept = Array(unfolded.prefix(Swift.max(0, max)))
        let text = eightBit ? Charset.decodeHeaderBytes(kept[...]) : String(decoding: kept, as: UTF8.self)
        return (text, eightBit, tooLong)
    }

    /// Field names given as literals are the names decoded from their bytes: the known names,
    /// their other spellings (case, one byte changed or cut) and random names of every length.
    @Test func fieldNamesAreTheDecodedBytes() {
        var rng = Random(state: 0xF1E1D)
        let known = ["To", "Cc", "From", "Date", "Sender", "Subject", "List-Id", "Received", "X-Mailer", "Reply-To",
                     "Errors-To", "List-Help", "List-Post", "Message-Id", "Message-ID", "Precedence", "References",
                     "Return-Path", "X-Beenthere", "In-Reply-To", "Delivered-To", "Content-Type", "MIME-Version",
                     "List-Archive", "List-Subscribe", "List-Unsubscribe", "X-Mailman-Version", "X-MSMail-Priority",
                     "Content-Disposition", "Content-Transfer-Encoding", "X-Spam-Status", "Mime-Version", "X-\u{e9}t\u{e9}"]
        var names: [[UInt8]] = []
        for k in known {
            let b = Array(k.utf8)
            names.append(b)
            names.append(Array(k.lowercased().utf8))
            names.append(Array(k.uppercased().utf8))
            names.append(Array(b.dropLast()))
            names.append(Array(b.dropFirst()))
            for i in b.indices {
                var c = b
                c[i] ^= 0x01
                names.append(c)
            }
        }
        let alphabet = Array("ToCcFrmDaeSubjLis-IdRcvXMlpyEPgHnfAUhkVW".utf8) + [0xC3, 0xA9, 0xFF]
        for _ in 0..<3_000 {
            names.append((0..<Int(rng.next() % 27)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        for n in names {
            let name = n.withUnsafeBufferPointer { HeaderBlockParser.fieldName($0) }
            #expect(name == String(decoding: n, as: UTF8.self), "\(n)")
            #expect(Array(name.utf8) == Array(String(decoding: n, as: UTF8.self).utf8), "\(n)")
        }
    }

    @Test func unfoldMatchesTheReference() {
        var r = Random(state: 42)
        let alphabet = Array("ab c\t=?:;\r\n\r\n  x".utf8)
        for round in 0..<4_000 {
            let count = r.below(round % 10 == 0 ? 300 : 60)
            let raw = Self.bytes(&r, count: count, alphabet: alphabet, highChance: round % 3 == 0 ? 20 : 0)
            let max = [0, 1, 7, 16, 40, 1_000][r.below(6)]
            let (text, eightBit, tooLong) = raw.withUnsafeBufferPointer { HeaderBlockParser.unfold($0, max: max) }
            let expected = Self.referenceUnfold(raw, max: max)
            #expect(text == expected.0, "round \(round): \(raw) max \(max)")
            #expect(eightBit == expected.1, "round \(round)")
            #expect(tooLong == expected.2, "round \(round)")
        }
    }

    @Test func foldedHeaderFieldsAreUnfolded() {
        let raw = Array("Subject: one\r\n two\r\n\tthree\r\nX-Long: a\n b\n\nbody".utf8)
        let m = MessageParser.parse(raw)
        #expect(m.headers["Subject"] == "one two\tthree")
        #expect(m.headers["X-Long"] == "a b")
        #expect(m.body.elementsEqual("body".utf8))
    }

    @Test func byteFlagsFindHighBytesAndLineBreaks() {
        var r = Random(state: 7)
        for _ in 0..<3_000 {
            let count = r.below(40)
            var raw = Self.bytes(&r, count: count, alphabet: Array("abc \t\u{0}\u{1B}~".utf8), highChance: 0)
            if count > 0, r.below(3) == 0 { raw[r.below(count)] = [0x0A, 0x0D, 0x80, 0xFF, 0x0B, 0x0C][r.below(6)] }
            let flags = raw.withUnsafeBufferPointer { ByteFlags($0) }
            #expect(flags.high == raw.contains { $0 >= 0x80 }, "\(raw)")
            #expect(flags.lineBreak == raw.contains { $0 == 0x0A || $0 == 0x0D }, "\(raw)")
        }
    }

    @Test func sevenBitScanAgreesWithTheSniffer() {
        var r = Random(state: 9)
        for _ in 0..<3_000 {
            let count = r.below(40)
            var raw = Self.bytes(&r, count: count, alphabet: Array("abc \t\r\n".utf8), highChance: 0)
            if count > 0, r.below(2) == 0 { raw[r.below(count)] = [0x00, 0x1B, 0x80, 0xFF, 0x1A, 0x1C, 0x01][r.below(7)] }
            // Check a slice that does not start at 0, too.
            let slice = raw.count > 3 ? raw[2...] : raw[...]
            let scan = SevenBitScan(slice)
            #expect(scan.high == (CharsetSniffer.highByteCount(slice) > 0), "\(raw)")
            #expect(scan.isPlain == CharsetSniffer.isPlainSevenBit(slice), "\(raw)")
            #expect(scan.nulOrEscape == slice.contains { $0 == 0 || $0 == 0x1B }, "\(raw)")
        }
    }

    @Test func commonCharsetNamesAgreeWithNormalize() {
        for label in ["utf-8", "UTF-8", "Utf-8", "us-ascii", "US-ASCII", "iso-8859-1", "ISO-8859-1", "windows-1252", "Windows-1252"] {
            #expect(CharsetTable.commonName(label) == Charset.normalize(label), "\(label)")
            #expect(CharsetTable.commonName(label) != nil, "\(label)")
        }
        for label in ["utf8", "latin1", "iso-8859-2", "koi8-r", "", "utf-16"] {
            #expect(CharsetTable.commonName(label) == nil, "\(label)")
        }
    }

    /// The decoding given a scan gives what `decode(_:declared:)` gives, for every label
    /// class (none, unknown, the four common ones, single-byte and multibyte iconv charsets,
    /// UTF-16) and for plain 7-bit, NUL, ESC and 8-bit text.
    @Test(arguments: [
        nil, "", "  ", "x-unknown", "us-ascii", "US-ASCII", "\"utf-8\"", "UTF-8", "utf-8*en", "iso-8859-1",
        "latin1", "windows-1252", "cp1252", "iso-8859-2", "koi8-r", "shift_jis", "iso-2022-jp", "utf-16", "gb2312",
    ] as [String?])
    func decodingWithAScanMatches(label: String?) {
        let texts: [[UInt8]] = [
            [],
            Array("Hello, world.\r\nSecond line ~ {}\t|".utf8),
            Array("nul\u{0}inside".utf8),
            [0x1B, 0x24, 0x42, 0x30, 0x21, 0x1B, 0x28, 0x42, 0x61],  // ISO-2022-JP
            Array("caf\u{E9} na\u{EF}ve".utf8),  // UTF-8
            [0x63, 0x61, 0x66, 0xE9, 0x20, 0x80, 0x41],  // Latin-1 / windows-1252
            [0xFF, 0xFE, 0x41, 0x00, 0x42, 0x00],  // UTF-16LE with a mark
        ]
        for text in texts {
            for slice in [text[...], text.count > 2 ? text[1...] : text[...]] {
                let general = Charset.decode(slice, declared: label)
                let fast = Charset.decode(slice, declared: label, scan: SevenBitScan(slice))
                #expect(fast == general, "label \(label ?? "nil"), bytes \(Array(slice))")
            }
        }
    }

    /// 7bit bodies are decoded from the message's buffer without a copy; the result is the
    /// same text, anomalies and attachment sizes.
    @Test func sevenBitBodiesAndUUEncodedBlocks() {
        let raw = Array("""
            From: a@example.com\r
            Content-Type: text/plain; charset=us-ascii\r
            \r
            Hello\r
            begin 644 x.txt\r
            #86)C\r
            `\r
            end\r
            Bye\r

            """.utf8)
        let m = MessageParser.parse(raw)
        #expect(m.has(.uuencoded))
        #expect(m.attachments.map(\.filename) == ["x.txt"])
        #expect(m.attachments.first?.size == 3)
        #expect(m.textParts.first?.text == "Hello\r\nBye\r\n")
        #expect(m.textParts.first?.charset == "us-ascii")

        let eightBit = Array("From: a@example.com\nContent-Transfer-Encoding: 7bit\n\ncaf\u{E9}\n".utf8)
        let e = MessageParser.parse(eightBit)
        #expect(e.has(.eightBitIn7Bit))
        #expect(e.textParts.first?.text == "caf\u{E9}\n")
    }
}

@Suite struct TopLevelCheckTests {
    /// The top-level checks count the singleton fields in any case, once per field.
    @Test func singletonFieldsAreCounted() {
        let twice = MessageParser.parse(Array("FROM: a@x\nsubject: 1\nSubject: 2\nDate: x\nMessage-ID: <a@x>\n\nb".utf8))
        #expect(twice.has(.duplicateSingletonHeader))
        #expect(!twice.has(.missingFrom) && !twice.has(.missingDate) && !twice.has(.missingMessageID))
        let missing = MessageParser.parse(Array("Subject: 1\nMIME-Version: 1.0\nMIME-Version: 1.0\n\nb".utf8))
        #expect(missing.has(.missingFrom) && missing.has(.missingDate) && missing.has(.missingMessageID))
        #expect(!missing.has(.duplicateSingletonHeader))
        #expect(HeaderBlockParser.singletonIndex(Array("Reply-TO".utf8)[...]) == 6)
        #expect(HeaderBlockParser.singletonIndex(Array("Reply-T0".utf8)[...]) == nil)
    }
}

@Suite struct QuotedPrintableFastPathTests {
    /// The quoted-printable decoder as it was before the word-at-a-time copy, byte by byte.
    static func reference(_ input: [UInt8], limit: Int) -> ([UInt8], Bool) {
        var bad = false
        let capacity = min(max(0, limit), input.count)
        var out: [UInt8] = []
        var i = 0
        let end = input.count
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        while i < end, out.count < capacity {
            let c = input[i]
            if c == UInt8(ascii: "=") {
                var j = i + 1
                while j < end, input[j] == 0x20 || input[j] == 0x09 { j += 1 }
                if j == end { i = j; continue }
                if input[j] == 0x0D, j + 1 < end, input[j + 1] == 0x0A { i = j + 2; continue }
                if input[j] == 0x0A || input[j] == 0x0D { i = j + 1; continue }
                if i + 2 < end, let h = hex(input[i + 1]), let l = hex(input[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
                bad = true
                out.append(c)
                i += 1
                continue
            }
            if c == 0x20 || c == 0x09 {
                var j = i
                while j < end, input[j] == 0x20 || input[j] == 0x09 { j += 1 }
                if j == end || input[j] == 0x0A || input[j] == 0x0D { i = j; continue }
                while i < j, out.count < capacity { out.append(input[i]); i += 1 }
                continue
            }
            out.append(c)
            i += 1
        }
        return (out, bad)
    }

    @Test func matchesTheByteByByteDecoder() {
        var r = ParserFastPathTests.Random(state: 2026)
        let alphabets: [[UInt8]] = [
            Array("abcdefgh ij\r\n".utf8),
            Array("ab =3D=3d=C3=A9= =\r\n\t  x".utf8),
            Array("      \t\t==\r\n\nAF09zz".utf8),
        ]
        for round in 0..<6_000 {
            let alphabet = alphabets[round % alphabets.count]
            let count = r.below(round % 7 == 0 ? 400 : 64)
            let raw = ParserFastPathTests.bytes(&r, count: count, alphabet: alphabet, highChance: round % 5 == 0 ? 30 : 0)
            let limit = [Int.max, Int.max, 0, 5, 17, 64][r.below(6)]
            let start = raw.isEmpty ? 0 : r.below(min(raw.count, 4))
            let got = TransferEncoding.quotedPrintable(raw[start...], limit: limit)
            let expected = Self.reference(Array(raw[start...]), limit: limit)
            #expect(got.bytes == expected.0, "round \(round): \(raw) from \(start) limit \(limit)")
            #expect(got.anomalies.contains(.badQuotedPrintable) == expected.1, "round \(round)")
        }
    }
}
