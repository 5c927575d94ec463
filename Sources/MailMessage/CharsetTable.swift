/// Charset names: aliases, canonical names and how each canonical name is decoded.
enum CharsetTable {
    /// How the bytes of a canonical charset are turned into text.
    enum Decoder: Hashable, Sendable {
        case ascii
        case utf8
        case latin1
        case windows1252
        /// `nil`: byte order mark, else guessed from the zero bytes, else big-endian.
        case utf16(bigEndian: Bool?)
        case utf32(bigEndian: Bool?)
        /// Through iconv, with this converter name.
        case iconv(String)
    }

    /// The label without surrounding white space and quotes.
    static func trimmedLabel(_ label: String) -> String {
        // ASCII labels (the usual case) are trimmed on bytes: there every Character is one
        // byte except CR LF, whose two bytes are both trimmed, so the result is the same.
        var copy = label
        let ascii: String? = copy.withUTF8 { u in
            var high: UInt8 = 0
            for b in u { high |= b }
            guard high < 0x80 else { return nil }
            @inline(__always) func isJunk(_ b: UInt8) -> Bool {
                b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'")
            }
            var lo = 0
            var hi = u.count
            while lo < hi, isJunk(u[lo]) { lo += 1 }
            while hi > lo, isJunk(u[hi - 1]) { hi -= 1 }
            if lo == 0 && hi == u.count { return label }  // nothing to trim
            return String(decoding: UnsafeBufferPointer(rebasing: u[lo..<hi]), as: UTF8.self)
        }
        if let ascii { return ascii }
        let junk: Set<Character> = [" ", "\t", "\r\n", "\n", "\r", "\"", "'"]
        var s = Substring(label)
        while let f = s.first, junk.contains(f) { s = s.dropFirst() }
        while let l = s.last, junk.contains(l) { s = s.dropLast() }
        return String(s)
    }

    /// The lookup key of a label: ASCII letters (lowercased) and digits only, up to a colon
    /// or star ("ISO_8859-1:1987" → "iso88591", "utf-8*en" → "utf8"). Labels of more than 64 bytes are not charsets.
    static func key(_ label: String) -> String {
        var out: [UInt8] = []
        var count = 0
        for b in label.utf8 {
            count += 1
            if count > 64 { return "" }
            if b == UInt8(ascii: ":") || b == UInt8(ascii: "*") { break }  // ":1987", RFC 2231 "*lang"
            if b >= 0x41 && b <= 0x5A {
                out.append(b | 0x20)
            } else if (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) {
                out.append(b)
            } else if b >= 0x80 {
                return ""
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical name of the four labels most mail declares, spelled in any case and
    /// without white space or quotes ("us-ascii", "utf-8", "iso-8859-1", "windows-1252"),
    /// else nil; `normalize` gives the same names for them.
    static func commonName(_ label: String) -> String? {
        switch label.utf8.count {
        case 5: return ASCII.equalFolded(label, "utf-8") ? "utf-8" : nil
        case 8: return ASCII.equalFolded(label, "us-ascii") ? "us-ascii" : nil
        case 10: return ASCII.equalFolded(label, "iso-8859-1") ? "iso-8859-1" : nil
        case 12: return ASCII.equalFolded(label, "windows-1252") ? "windows-1252" : nil
        default: return nil
        }
    }

    static func decoder(_ name: String) -> Decoder? {
        switch name {
        case "us-ascii": return .ascii
        case "utf-8": return .utf8
        case "iso-8859-1": return .latin1
        case "windows-1252": return .windows1252
        case "utf-16": return .utf16(bigEndian: nil)
        case "utf-16le": return .utf16(bigEndian: false)
        case "utf-16be": return .utf16(bigEndian: true)
        case "utf-32": return .utf32(bigEndian: nil)
        case "utf-32le": return .utf32(bigEndian: false)
        case "utf-32be": return .utf32(bigEndian: true)
        default: return iconvNames[name].map { .iconv($0) }
        }
    }

    /// Charsets that decode the same bytes the same way share a key.
    static func decoderKey(_ name: String) -> String {
        switch decoder(name) {
        case .iconv(let converter)?: return converter
        case .some(let d): return "\(d)"
        case nil: return name
        }
    }

    static func isSingleByte(_ name: String) -> Bool { singleByte.contains(name) }

    /// Whether a byte order mark's charset fits the declared one ("utf-16le" fits "utf-16").
    static func agrees(bom: String, with name: String) -> Bool {
        if bom == name { return true }
        switch name {
        case "utf-16": return bom == "utf-16le" || bom == "utf-16be"
        case "utf-32": return bom == "utf-32le" || bom == "utf-32be"
        default: return false
        }
    }

    private static let singleByte: Set<String> = [
        "iso-8859-1", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6", "iso-8859-7",
        "iso-8859-8", "iso-8859-9", "iso-8859-10", "iso-8859-11", "iso-8859-13", "iso-8859-14", "iso-8859-15",
        "iso-8859-16", "windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
        "windows-1255", "windows-1256", "windows-1257", "windows-1258", "koi8-r", "koi8-u", "tis-620",
        "windows-874", "ibm866", "ibm850", "ibm437", "macintosh", "viscii",
    ]

    /// iconv converter names of the canonical charsets not decoded in Swift. Supersets are
    /// used where mail labels the subset but means the superset (GB2312 → GB18030, Big5 →
    /// CP950, Shift_JIS → CP932, EUC-KR → CP949, TIS-620 → CP874).
    static let iconvNames: [String: String] = [
        "iso-8859-2": "ISO-8859-2", "iso-8859-3": "ISO-8859-3", "iso-8859-4": "ISO-8859-4",
        "iso-8859-5": "ISO-8859-5", "iso-8859-6": "ISO-8859-6", "iso-8859-7": "ISO-8859-7",
        "iso-8859-8": "ISO-8859-8", "iso-8859-9": "ISO-8859-9", "iso-8859-10": "ISO-8859-10",
        "iso-8859-11": "ISO-8859-11", "iso-8859-13": "ISO-8859-13", "iso-8859-14": "ISO-8859-14",
        "iso-8859-15": "ISO-8859-15", "iso-8859-16": "ISO-8859-16",
        "windows-1250": "CP1250", "windows-1251": "CP1251", "windows-1253": "CP1253",
        "windows-1254": "CP1254", "windows-1255": "CP1255", "windows-1256": "CP1256",
        "windows-1257": "CP1257", "windows-1258": "CP1258",
        "koi8-r": "KOI8-R", "koi8-u": "KOI8-U",
        "tis-620": "CP874", "windows-874": "CP874",
        "ibm866": "IBM866", "ibm850": "IBM850", "ibm437": "IBM437",
        "macintosh": "MACINTOSH", "viscii": "VISCII",
        "gb2312": "GB18030", "gbk": "GB18030", "gb18030": "GB18030",
        "big5": "CP950", "big5-hkscs": "BIG5-HKSCS", "euc-tw": "EUC-TW",
        "shift_jis": "CP932", "euc-jp": "EUC-JP", "iso-2022-jp": "ISO-2022-JP-2",
        "euc-kr": "CP949", "iso-2022-kr": "ISO-2022-KR", "johab": "JOHAB",
        "iso-2022-cn": "ISO-2022-CN-EXT",
        "utf-7": "UTF-7",
    ]

    /// Lookup key (see ``key(_:)``) → canonical name.
    static let aliases: [String: String] = {
        var table: [String: String] = [:]
        func add(_ name: String, _ keys: [String]) {
            table[key(name)] = name
            for k in keys { table[k] = name }
        }
        add(
            "us-ascii",
            [
                "ascii", "usascii", "ansix341968", "ansix341986", "iso646us", "iso646irv1991", "us", "ibm367",
                "cp367", "csascii", "isoir6", "646",
            ])
        add("utf-8", ["utf8", "unicode11utf8", "unicode20utf8", "utf8mb4", "csutf8"])
        add("utf-16", ["utf16", "ucs2", "unicode", "csunicode", "iso10646ucs2"])
        add("utf-16le", ["utf16le", "ucs2le"])
        add("utf-16be", ["utf16be", "ucs2be", "unicodefffe"])
        add("utf-32", ["utf32", "ucs4", "iso10646ucs4"])
        add("utf-32le", ["utf32le", "ucs4le"])
        add("utf-32be", ["utf32be", "ucs4be"])
        add("utf-7", ["utf7", "unicode11utf7", "csunicode11utf7"])

        let latin: [(Int, [String])] = [
            (1, ["latin1", "l1", "cp819", "ibm819", "csisolatin1", "isoir100", "isolatin1", "iso885911987"]),
            (2, ["latin2", "l2", "csisolatin2", "isoir101", "isolatin2"]),
            (3, ["latin3", "l3", "csisolatin3", "isoir109"]),
            (4, ["latin4", "l4", "csisolatin4", "isoir110"]),
            (5, ["cyrillic", "csisolatincyrillic", "isoir144"]),
            (6, ["arabic", "csisolatinarabic", "isoir127", "ecma114", "asmo708", "iso88596e", "iso88596i"]),
            (7, ["greek", "greek8", "csisolatingreek", "isoir126", "elot928", "ecma118"]),
            (8, ["hebrew", "csisolatinhebrew", "isoir138", "iso88598e", "iso88598i"]),
            (9, ["latin5", "l5", "csisolatin5", "isoir148"]),
            (10, ["latin6", "l6", "csisolatin6", "isoir157"]),
            (11, []),
            (13, ["latin7", "l7"]),
            (14, ["latin8", "l8", "isoceltic", "isoir199"]),
            (15, ["latin9", "l9", "latin0", "csisolatin9"]),
            (16, ["latin10", "l10", "isoir226"]),
        ]
        for (n, keys) in latin {
            add("iso-8859-\(n)", keys + ["iso8859\(n)", "8859\(n)"])
        }
        let msNames = ["msee", "mscyrl", "msansi", "msgreek", "msturk", "mshebr", "msarab", "winbaltrim", ""]
        for n in 0...8 {
            var keys = ["win125\(n)", "cp125\(n)", "mscp125\(n)", "windows125\(n)"]
            if !msNames[n].isEmpty { keys.append(msNames[n]) }
            add("windows-125\(n)", keys)
        }
        add("koi8-r", ["koi8r", "koi8", "cskoi8r"])
        add("koi8-u", ["koi8u", "koi8ru"])
        add("tis-620", ["tis620", "tis6200", "tis62025291", "tis62025330"])
        add("windows-874", ["cp874", "win874", "mscp874", "ibm874"])
        add("ibm866", ["cp866", "866", "csibm866"])
        add("ibm850", ["cp850", "850", "csibm850"])
        add("ibm437", ["cp437", "437", "cspc8codepage437"])
        add("macintosh", ["mac", "macroman", "csmacintosh"])
        add("viscii", ["csviscii"])

        add("gb2312", ["euccn", "csgb2312", "gb231280", "chinese", "isoir58", "csiso58gb231280"])
        add("gbk", ["cp936", "ms936", "windows936", "936"])
        add("gb18030", [])
        add("big5", ["csbig5", "cnbig5", "xxbig5", "cp950", "ms950", "windows950", "big5tw"])
        add("big5-hkscs", ["big5hkscs"])
        add("euc-tw", ["euctw", "cseuctw"])
        add(
            "shift_jis",
            [
                "sjis", "shiftjis", "mskanji", "csshiftjis", "windows31j", "cswindows31j", "cp932", "ms932",
                "mscp932", "sjisopen", "sjiswin",
            ])
        add("euc-jp", ["eucjp", "cseucpkdfmtjapanese", "eucjpms", "eucjpwin", "eucjpopen", "ujis"])
        add(
            "iso-2022-jp",
            ["iso2022jp", "csiso2022jp", "iso2022jp1", "iso2022jp2", "iso2022jp3", "jis", "csiso2022jp2"])
        add(
            "euc-kr",
            [
                "euckr", "cseuckr", "ksc56011987", "ksc5601", "ksc56011989", "ksc56011992", "csksc56011987", "isoir149",
                "korean", "cp949", "uhc", "ms949", "windows949",
            ])
        add("iso-2022-kr", ["iso2022kr", "csiso2022kr"])
        add("johab", ["cp1361"])
        add("iso-2022-cn", ["iso2022cn", "iso2022cnext", "csiso2022cn"])
        return table
    }()
}
