/// RFC 5322 date-time values (the Date and Resent-Date fields, dates in Received fields).
public enum MessageDate {
    /// Seconds since 1970-01-01T00:00:00Z for an RFC 5322 date-time, or `nil` when no day,
    /// month and year can be found (or they make no date, like 31 Feb).
    ///
    /// Accepted beyond the RFC 5322 syntax: the obsolete forms (two- and three-digit years,
    /// named zones such as EST, PDT, GMT, UT and Z, military zones as +0000, comments
    /// anywhere), a missing day of week, missing seconds, lowercase or full month names, junk
    /// after the zone, `d-Mon-yyyy`, asctime order (`Tue Mar  3 12:00:00 2009`), ISO 8601
    /// (`2009-03-03T12:00:00Z`), a.m./p.m., and a few common non-RFC zone names (CET, JST, …).
    /// A missing or unknown zone counts as UTC; a missing time as midnight. Only the first
    /// 1,024 bytes are looked at.
    public static func parse(_ value: String) -> Int64? {
        // Nearly every date is in the RFC 5322 form: read it directly, else the general way.
        if let t = parseCanonical(value) { return t }
        return parseGeneral(value)
    }

    /// Any accepted form (see ``parse(_:)``), token by token.
    static func parseGeneral(_ value: String) -> Int64? {
        var fields = DateFields()
        let bytes = Array(value.utf8.prefix(1_024))
        for token in tokens(bytes) {
            fields.take(token)
            if fields.isComplete { break }
        }
        return fields.timestamp()
    }

    /// `[Day,] D Mon YYYY HH:MM[:SS] +hhmm` (anything after the zone ignored), the form nearly every
    /// Date and Received field uses, read in one pass without allocating; nil for anything else
    /// (``parse(_:)`` then reads it the general way, which gives the same result for this form).
    static func parseCanonical(_ value: String) -> Int64? {
        value.utf8.withContiguousStorageIfAvailable { parseCanonical(bytes: $0) } ?? nil
    }

    /// ``parse(_:)`` of a string's UTF-8 bytes read in place (a string's bytes, or an ASCII-bounded
    /// part of them: valid UTF-8), without making the string: the same result as `parse` of
    /// `String(decoding: bytes, as: UTF8.self)`.
    public static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        if let t = parseCanonical(bytes: bytes) { return t }
        return parseGeneral(String(decoding: bytes, as: UTF8.self))
    }

    /// ``parseCanonical(_:)`` of UTF-8 bytes: the fixed layout nearly every date has
    /// (``parseFixed(_:)``, a few hundred bytes of straight code), else ``parseCanonicalForms(bytes:)``.
    static func parseCanonical(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
        if let t = parseFixed(b) { return t }
        return parseCanonicalForms(bytes: b)
    }

    /// `[Ddd,]D[D] Mon YYYY HH:MM:SS ±hhmm` exactly (spaces or tabs before it and after the comma,
    /// single spaces inside, the end, white space or `(` after it): 98% of the Date fields and
    /// Received dates of the SpamAssassin corpus. `.some` with what ``parseCanonicalForms(bytes:)`` gives for it when
    /// the date is in this layout and valid; nil otherwise (the caller then reads it the longer
    /// way, which decides the invalid ones too). Straight code with fixed offsets: the longer
    /// reader's inlined digit loops, unrolled, spread a parse over some 1.2 KB of code.
    static func parseFixed(_ b: UnsafeBufferPointer<UInt8>) -> Int64?? {
        guard let p = b.baseAddress else { return nil }
        let n = b.count
        var i = 0
        @inline(__always) func skipBlanks(_ i: inout Int) { while i < n, p[i] == 0x20 || p[i] == 0x09 { i &+= 1 } }
        // Three bytes packed, each or-ed with 0x20: equal to three lower-case letters exactly when
        // the bytes are those letters in either case (what the longer reader's lower-casing finds).
        @inline(__always) func word3(_ j: Int) -> UInt32 {
            (UInt32(p[j]) << 16 | UInt32(p[j &+ 1]) << 8 | UInt32(p[j &+ 2])) | 0x20_2020
        }
        @inline(__always) func digit(_ j: Int) -> Int { Int(p[j] &- 0x30) }
        skipBlanks(&i)
        if i &+ 4 <= n, p[i] &- 0x30 >= 10 {
            guard isDayName(word3(i)), p[i &+ 3] == 0x2C else { return nil }
            i &+= 4
            skipBlanks(&i)
        }
        guard i < 64 else { return nil }
        // The day: one or two digits and a space.
        guard i &+ 3 <= n, p[i] &- 0x30 < 10 else { return nil }
        var day = digit(i)
        if p[i &+ 1] != 0x20 {
            guard p[i &+ 1] &- 0x30 < 10, p[i &+ 2] == 0x20 else { return nil }
            day = day &* 10 &+ digit(i &+ 1)
            i &+= 1
        }
        i &+= 2
        // `Mon YYYY HH:MM:SS ±hhmm`: 23 bytes, then the end or an end byte.
        guard i &+ 23 <= n, p[i &+ 3] == 0x20, p[i &+ 8] == 0x20, p[i &+ 11] == 0x3A, p[i &+ 14] == 0x3A,
              p[i &+ 17] == 0x20, p[i &+ 18] == 0x2B || p[i &+ 18] == 0x2D,
              i &+ 23 == n || p[i &+ 23] == 0x20 || p[i &+ 23] == 0x09 || p[i &+ 23] == 0x0D || p[i &+ 23] == 0x0A
                  || p[i &+ 23] == 0x28,
              let month = monthNumber(word3(i))
        else { return nil }
        // The 14 digits (each 0...9 when its byte is a digit, 10...255 otherwise: then one of
        // them plus 6 has a bit of 16 or above).
        let y0 = digit(i &+ 4), y1 = digit(i &+ 5), y2 = digit(i &+ 6), y3 = digit(i &+ 7)
        let h0 = digit(i &+ 9), h1 = digit(i &+ 10), m0 = digit(i &+ 12), m1 = digit(i &+ 13)
        let s0 = digit(i &+ 15), s1 = digit(i &+ 16)
        let z0 = digit(i &+ 19), z1 = digit(i &+ 20), z2 = digit(i &+ 21), z3 = digit(i &+ 22)
        let any = (y0 &+ 6) | (y1 &+ 6) | (y2 &+ 6) | (y3 &+ 6) | (h0 &+ 6) | (h1 &+ 6) | (m0 &+ 6) | (m1 &+ 6)
            | (s0 &+ 6) | (s1 &+ 6) | (z0 &+ 6) | (z1 &+ 6) | (z2 &+ 6) | (z3 &+ 6)
        guard any < 16 else { return nil }
        let year = ((y0 &* 10 &+ y1) &* 10 &+ y2) &* 10 &+ y3
        let hour = h0 &* 10 &+ h1, minute = m0 &* 10 &+ m1, second = s0 &* 10 &+ s1
        let zoneHours = z0 &* 10 &+ z1, zoneMinutes = z2 &* 10 &+ z3
        guard hour <= 23, minute <= 59, second <= 60, zoneHours <= 23, zoneMinutes <= 59, year >= 1000, day >= 1,
              day <= DateFields.daysInMonth(month, year)
        else { return nil }
        let zone = zoneHours &* 3600 &+ zoneMinutes &* 60
        let offset = p[i &+ 18] == 0x2D ? -zone : zone
        // As ``DateFields/timestamp()``.
        let seconds = Int64(hour &* 3600 &+ minute &* 60 &+ min(second, 59)) - Int64(offset)
        return .some(DateFields.daysFromCivil(year, month, day) * 86_400 + seconds)
    }

    /// The forms ``parseFixed(_:)`` leaves (and the invalid dates of its layout): one pass with
    /// a cursor, no closures, the month and day names compared as packed lower-case bytes. Also
    /// read here (the general parser gives the same for them): two- and three-digit years, no
    /// zone after the time (UTC), and the common named zones (GMT, UT, UTC, Z, EST, EDT, CST, CDT,
    /// MST, MDT, PST, PDT, CET, CEST). Out of line: not fetched for the usual date.
    @inline(never) static func parseCanonicalForms(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let p = b.baseAddress else { return nil }
        let n = b.count
        var i = 0
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        @inline(__always) func skipSpace(_ i: inout Int) { while i < n, isSpace(p[i]) { i &+= 1 } }
        /// Up to `maxCount` digits at `i`: their value and how many.
        @inline(__always) func digits(_ i: inout Int, _ maxCount: Int) -> (value: Int, count: Int) {
            var v = 0, c = 0
            while i < n, c < maxCount, p[i] &- 0x30 < 10 {
                v = v &* 10 &+ Int(p[i] &- 0x30)
                i &+= 1
                c &+= 1
            }
            return (v, c)
        }
        @inline(__always) func isEnd(_ j: Int) -> Bool { j >= n || isSpace(p[j]) || p[j] == 0x28 }
        /// The three bytes at `j` (`j + 3 <= n`), ASCII lower-cased (other bytes as they are), packed.
        @inline(__always) func word3(_ j: Int) -> UInt32 {
            @inline(__always) func lower(_ c: UInt8) -> UInt32 { UInt32(c &- 0x41 < 26 ? c | 0x20 : c) }
            return lower(p[j]) << 16 | lower(p[j &+ 1]) << 8 | lower(p[j &+ 2])
        }
        skipSpace(&i)
        // An optional day name and comma.
        if i &+ 3 <= n, p[i] &- 0x30 >= 10 {
            guard isDayName(word3(i)) else { return nil }
            i &+= 3
            skipSpace(&i)
            guard i < n, p[i] == 0x2C else { return nil }
            i &+= 1
            skipSpace(&i)
        }
        let day = digits(&i, 2)
        guard day.count >= 1, i < n, p[i] == 0x20 || p[i] == 0x09 else { return nil }
        skipSpace(&i)
        guard i &+ 3 <= n, isEnd(i &+ 3), let month = monthNumber(word3(i)) else { return nil }
        i &+= 3
        skipSpace(&i)
        let year = digits(&i, 4)
        guard year.count >= 2, i < n, p[i] == 0x20 || p[i] == 0x09 else { return nil }
        skipSpace(&i)
        let hour = digits(&i, 2)
        guard hour.count >= 1, i < n, p[i] == 0x3A else { return nil }
        i &+= 1
        let minute = digits(&i, 2)
        guard minute.count == 2 else { return nil }
        var second = 0
        if i < n, p[i] == 0x3A {
            i &+= 1
            let s = digits(&i, 2)
            guard s.count == 2 else { return nil }
            second = s.value
        }
        guard hour.value <= 23, minute.value <= 59, second <= 60 else { return nil }
        // Where the last piece read ends (the general parser reads only the first 1,024 bytes).
        var end = i
        let offset: Int
        if i == n {
            offset = 0  // no zone: UTC
        } else {
            guard isSpace(p[i]) else { return nil }
            skipSpace(&i)
            if i == n {
                offset = 0
            } else if p[i] == 0x2B || p[i] == 0x2D {
                let negative = p[i] == 0x2D
                i &+= 1
                let zone = digits(&i, 4)
                guard zone.count == 4, isEnd(i), zone.value / 100 <= 23, zone.value % 100 <= 59 else { return nil }
                let seconds = (zone.value / 100) * 3600 + (zone.value % 100) * 60
                offset = negative ? -seconds : seconds
                end = i
            } else {
                // A named zone: one to four ASCII letters, then the end.
                var name: UInt32 = 0
                var k = 0
                while i < n, k <= 4, p[i] &- 0x41 < 26 || p[i] &- 0x61 < 26 {
                    name = name << 8 | UInt32(p[i] | 0x20)
                    i &+= 1
                    k &+= 1
                }
                guard k >= 1, k <= 4, isEnd(i), let hours = namedZoneHours(name) else { return nil }
                offset = hours * 3600
                end = i
            }
        }
        guard end <= 1_024 else { return nil }
        var fields = DateFields()
        fields.day = day.value
        fields.month = month
        fields.year = year.value
        fields.yearDigits = year.count
        fields.hour = hour.value
        fields.minute = minute.value
        fields.second = min(second, 59)
        fields.offsetSeconds = offset
        return fields.timestamp()
    }

    /// Whether three packed lower-case bytes are a day name (mon ... sun).
    @inline(__always) private static func isDayName(_ w: UInt32) -> Bool {
        switch w {
        case 0x6D6F6E, 0x747565, 0x776564, 0x746875, 0x667269, 0x736174, 0x73756E: return true
        default: return false
        }
    }

    /// The month (1...12) of three packed lower-case bytes (jan ... dec).
    @inline(__always) private static func monthNumber(_ w: UInt32) -> Int? {
        switch w {
        case 0x6A616E: return 1
        case 0x666562: return 2
        case 0x6D6172: return 3
        case 0x617072: return 4
        case 0x6D6179: return 5
        case 0x6A756E: return 6
        case 0x6A756C: return 7
        case 0x617567: return 8
        case 0x736570: return 9
        case 0x6F6374: return 10
        case 0x6E6F76: return 11
        case 0x646563: return 12
        default: return nil
        }
    }

    /// The whole-hour offset of the common named zones (packed lower-case letters), as the
    /// general parser's zone table has them; nil for the others (the general parser decides).
    @inline(__always) private static func namedZoneHours(_ w: UInt32) -> Int? {
        switch w {
        case 0x7574, 0x757463, 0x676D74, 0x7A: return 0  // ut utc gmt z
        case 0x657374: return -5  // est
        case 0x656474: return -4  // edt
        case 0x637374: return -6  // cst
        case 0x636474: return -5  // cdt
        case 0x6D7374: return -7  // mst
        case 0x6D6474: return -6  // mdt
        case 0x707374: return -8  // pst
        case 0x706474: return -7  // pdt
        case 0x636574: return 1  // cet
        case 0x63657374: return 2  // cest
        default: return nil
        }
    }

    /// Pieces separated by white space and commas, comments removed, at most 32 (slices of
    /// `bytes`: no copies).
    private static func tokens(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = -1  // start of the current piece
        var depth = 0
        var escaped = false
        func end(_ i: Int) {
            if start >= 0, out.count < 32 { out.append(bytes[start..<i]) }
            start = -1
        }
        for (i, b) in bytes.enumerated() {
            if depth > 0 {
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == UInt8(ascii: "(") {
                    depth += 1
                } else if b == UInt8(ascii: ")") {
                    depth -= 1
                }
                continue
            }
            switch b {
            case UInt8(ascii: "("):
                end(i)
                depth = 1
            case 0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: ","):
                end(i)
            default:
                if start < 0 { start = i }
            }
        }
        end(bytes.count)
        return out
    }
}

/// The parts of a date found so far.
private struct DateFields {
    var day: Int?
    var month: Int?
    var year: Int?
    var yearDigits = 0
    var hour: Int?
    var minute = 0
    var second = 0
    var offsetSeconds: Int?
    var isComplete: Bool { day != nil && month != nil && year != nil && hour != nil && offsetSeconds != nil }

    mutating func take(_ raw: ArraySlice<UInt8>) {
        var token = raw
        while token.last == UInt8(ascii: ".") { token = token.dropLast() }  // "Mon.", "2."
        guard let first = token.first else { return }

        if (first == UInt8(ascii: "+") || first == UInt8(ascii: "-")), token.count > 1,
            isDigit(token[token.startIndex + 1])
        {
            if offsetSeconds == nil { offsetSeconds = Self.numericOffset(token) ?? 0 }
            return
        }
        if takeISODate(token) { return }
        if token.contains(UInt8(ascii: ":")), hour == nil {
            takeTime(token)
            return
        }
        if token.contains(where: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") }) {
            // "02-Jan-2006"
            for part in token.split(whereSeparator: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") }) {
                takeAtom(part)
            }
            return
        }
        takeAtom(token)
    }

    private mutating func takeAtom(_ token: ArraySlice<UInt8>) {
        guard let first = token.first else { return }
        if isDigit(first) {
            guard token.allSatisfy(isDigit), token.count <= 4, let n = Self.number(token) else { return }
            if token.count >= 3 {
                if year == nil {
                    year = n
                    yearDigits = token.count
                }
            } else if day == nil {
                day = n
            } else if year == nil {
                year = n
                yearDigits = token.count
            }
            return
        }
        let word = String(decoding: token.map(ASCII.lower), as: UTF8.self)
        if month == nil, let m = Self.month(word) {
            month = m
            return
        }
        if word == "pm" || word == "p.m", let h = hour, h < 12 {
            hour = h + 12
            return
        }
        if word == "am" || word == "a.m", hour == 12 {
            hour = 0
            return
        }
        if hour != nil, offsetSeconds == nil, !Self.dayNames.contains(word) {
            offsetSeconds = Self.namedOffset(token) ?? 0
        }
    }

    /// "15:04", "15:04:05", "15:04:05.123", optionally with a zone glued on ("12:00:00Z",
    /// "12:00:00+0200").
    private mutating func takeTime(_ token: ArraySlice<UInt8>) {
        var parts: [Int] = []
        var i = token.startIndex
        while i < token.endIndex, parts.count < 3 {
            let start = i
            while i < token.endIndex, isDigit(token[i]), i - start < 2 { i += 1 }
            guard i > start, let n = Self.number(token[start..<i]) else { return }
            parts.append(n)
            guard i < token.endIndex, token[i] == UInt8(ascii: ":") else { break }
            i += 1
        }
        guard parts.count >= 2, parts[0] <= 23, parts[1] <= 59, parts.count < 3 || parts[2] <= 60 else { return }
        hour = parts[0]
        minute = parts[1]
        second = parts.count == 3 ? min(parts[2], 59) : 0
        // Fractions of a second.
        if i < token.endIndex, token[i] == UInt8(ascii: ".") {
            i += 1
            while i < token.endIndex, isDigit(token[i]) { i += 1 }
        }
        if i < token.endIndex, offsetSeconds == nil {
            let rest = token[i...]
            if rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-") {
                offsetSeconds = Self.numericOffset(rest) ?? 0
            } else {
                offsetSeconds = Self.namedOffset(rest) ?? 0
            }
        }
    }

    /// "2009-03-03", "2009/3/3", optionally followed by "T12:00:00Z".
    private mutating func takeISODate(_ token: ArraySlice<UInt8>) -> Bool {
        var i = token.startIndex
        var parts: [Int] = []
        while i < token.endIndex, parts.count < 3 {
            let start = i
            while i < token.endIndex, isDigit(token[i]), i - start < 4 { i += 1 }
            guard i > start, let n = Self.number(token[start..<i]) else { return false }
            if parts.isEmpty && i - start != 4 { return false }
            parts.append(n)
            guard parts.count < 3 else { break }
            guard i < token.endIndex, token[i] == UInt8(ascii: "-") || token[i] == UInt8(ascii: "/") else {
                return false
            }
            i += 1
        }
        guard parts.count == 3 else { return false }
        if year == nil {
            year = parts[0]
            yearDigits = 4
        }
        if month == nil { month = parts[1] }
        if day == nil { day = parts[2] }
        if i < token.endIndex, token[i] | 0x20 == UInt8(ascii: "t"), hour == nil {
            takeTime(token[(i + 1)...])
        }
        return true
    }

    func timestamp() -> Int64? {
        guard let day, let month, var year, (1...12).contains(month) else { return nil }
        switch yearDigits {
        case 1, 2: year += year < 50 ? 2000 : 1900
        case 3: year += 1900
        default: break
        }
        guard (1000...9999).contains(year), day >= 1, day <= Self.daysInMonth(month, year) else { return nil }
        let days = Self.daysFromCivil(year, month, day)
        let seconds = Int64((hour ?? 0) * 3600 + minute * 60 + second) - Int64(offsetSeconds ?? 0)
        return days * 86_400 + seconds
    }

    // MARK: Tables and arithmetic

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var n = 0
        for d in digits {
            guard d >= 0x30 && d <= 0x39 else { return nil }
            n = n * 10 + Int(d - 0x30)
        }
        return n
    }

    static let dayNames: Set<String> = [
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday", "tues", "thur", "thurs",
    ]

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// "jan", "january", "sept" → 1...12.
    private static func month(_ word: String) -> Int? {
        guard word.utf8.count >= 3 else { return nil }
        let prefix = String(word.prefix(3))
        guard let index = months.firstIndex(of: prefix) else { return nil }
        let full = [
            "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
            "november", "december",
        ][index]
        guard full.hasPrefix(word) || word == "sept" else { return nil }
        return index + 1
    }

    /// "+0200", "-07:00", "+02", "+530".
    private static func numericOffset(_ token: ArraySlice<UInt8>) -> Int? {
        guard let sign = token.first else { return nil }
        let digits = token.dropFirst().filter { $0 != UInt8(ascii: ":") }
        guard !digits.isEmpty, digits.count <= 4, let n = number(digits[...]) else { return nil }
        let (h, m) = digits.count <= 2 ? (n, 0) : (n / 100, n % 100)
        guard h <= 23, m <= 59 else { return nil }
        let seconds = h * 3600 + m * 60
        return sign == UInt8(ascii: "-") ? -seconds : seconds
    }

    /// Named zones, and names with an offset ("GMT+0200", "UTC-5").
    private static func namedOffset(_ token: ArraySlice<UInt8>) -> Int? {
        if let signIndex = token.firstIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }) {
            let name = String(decoding: token[..<signIndex].map(ASCII.lower), as: UTF8.self)
            guard name == "gmt" || name == "utc" || name == "ut" else { return nil }
            return numericOffset(token[signIndex...])
        }
        let name = String(decoding: token.map(ASCII.lower), as: UTF8.self)
        if let hours = zones[name] { return Int(hours * 3600) }
        return nil
    }

    private static let zones: [String: Double] = [
        "ut": 0, "utc": 0, "gmt": 0, "z": 0, "zulu": 0, "wet": 0,
        "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
        "akst": -9, "akdt": -8, "hst": -10, "ast": -4, "adt": -3, "nst": -3.5, "ndt": -2.5,
        "bst": 1, "cet": 1, "met": 1, "west": 1, "cest": 2, "mest": 2, "eet": 2, "eest": 3, "msk": 3, "msd": 4,
        "ist": 5.5, "hkt": 8, "sgt": 8, "awst": 8, "jst": 9, "kst": 9, "acst": 9.5, "aest": 10, "aedt": 11,
        "nzst": 12, "nzdt": 13,
    ]

    @inline(__always) static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    @inline(__always) static func daysInMonth(_ m: Int, _ y: Int) -> Int {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inline(__always) static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
