import MailMessage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The rules shipped in the binary, and the Swift checks (`eval` rules) they and rule files use.
///
/// Scores are modest (a rule alone rarely decides) and documented in docs/rules.md. Any rule
/// can be re-scored or disabled by a rule file.
public enum BuiltinRules {
    /// A Swift check: nil when it does not hit, else the options to show (possibly none).
    public struct Check: Sendable {
        let run: @Sendable (RuleInput) -> [String]?
    }

    static let checks: [String: Check] = {
        var c: [String: Check] = [
            "gtube": Check { isGTUBE($0) ? [] : nil },
            "forged_outlook": Check { input in forgedOutlook { input.fieldValue($0) } },
            "date_in_future": Check { dateOffset($0, future: true) },
            "date_in_past": Check { dateOffset($0, future: false) },
            "missing_date": Check { $0.hasField("Date") ? nil : [] },
            "missing_message_id": Check { $0.hasField("Message-ID") ? nil : [] },
            "html_only_images": Check { htmlOnlyImages($0.message.textParts) },
            "obfuscated_word": Check { input in
                let scan = input.textScan
                return input.withSubjectAndText { TextChecks.obfuscatedWords(text: $0, scan: scan) }
            },
            "mixed_script_word": Check { input in
                // Only a text with a Greek or Cyrillic letter is decoded.
                guard input.textScan.hasGreekOrCyrillic else { return nil }
                return input.withSubjectAndText {
                    TextChecks.mixedScriptWords(subjectAndText: String(decoding: $0, as: UTF8.self), hasGreekOrCyrillic: true)
                }
            },
            "base64_text": Check { base64Text($0) },
            "html_hidden_text": Check { htmlCount($0.message.textParts, .hiddenTextBytes, atLeast: 20).map { ["\($0) bytes"] } },
            "html_tiny_text": Check { htmlCount($0.message.textParts, .tinyTextBytes, atLeast: 20).map { ["\($0) bytes"] } },
            "invisible_characters": Check {
                htmlCount($0.message.textParts, .invisibleCharacters, atLeast: 5).map { ["\($0) characters"] }
            },
            "executable_attachment": Check { attachments($0.message.attachments, double: false) },
            "double_extension": Check { attachments($0.message.attachments, double: true) },
            "from_name_address": Check { fromNameAddress($0.fromLists.first ?? []) },
            "subject_all_caps": Check { subjectAllCaps($0.subject) },
            "too_many_recipients": Check { tooManyRecipients($0) },
        ]
        for (name, check) in URLChecks.checks { c[name] = check }
        return c
    }()

    /// The names of the Swift checks an `eval` rule can use.
    public static var checkNames: [String] { checks.keys.sorted() }

    /// The shipped rules.
    public static let definitions: [RuleDefinition] = [
        .eval("GTUBE", check: "gtube", score: 1000, "GTUBE: the generic test for unsolicited bulk email"),
        .eval("FORGED_OUTLOOK", check: "forged_outlook", score: 1.5,
              "X-Mailer claims Outlook, but the Message-ID or headers are not what Outlook writes"),
        .eval("DATE_IN_FUTURE", check: "date_in_future", score: 1.5, "Date is more than a day after the message was received"),
        .eval("DATE_IN_PAST", check: "date_in_past", score: 1.0, "Date is more than a year before the message was received"),
        .eval("MISSING_DATE", check: "missing_date", score: 1.0, "no Date field"),
        .eval("MISSING_MESSAGE_ID", check: "missing_message_id", score: 0.8, "no Message-ID field"),
        .eval("HTML_ONLY_IMAGES", check: "html_only_images", score: 1.5, "HTML only, with images and few words"),
        .eval("OBFUSCATED_WORD", check: "obfuscated_word", score: 2.0,
              "a spam word written with look-alike characters or separators (v1agra, v.i.a.g.r.a)"),
        .eval("MIXED_SCRIPT_WORD", check: "mixed_script_word", score: 1.5,
              "a word mixes Latin with Cyrillic or Greek look-alike letters"),
        .eval("BASE64_TEXT", check: "base64_text", score: 0.5, "a plain ASCII text part sent base64-encoded"),
        .eval("HTML_HIDDEN_TEXT", check: "html_hidden_text", score: 1.0,
              "HTML has text the reader cannot see (hidden, off-screen or same colour as the background)"),
        .eval("HTML_TINY_TEXT", check: "html_tiny_text", score: 0.5, "HTML has text in a tiny font"),
        .eval("INVISIBLE_CHARACTERS", check: "invisible_characters", score: 0.8,
              "zero-width or soft-hyphen characters break up words"),
        .eval("EXECUTABLE_ATTACHMENT", check: "executable_attachment", score: 3.0,
              "an attachment of a type that runs code when opened (.exe .scr .js .vbs …)"),
        .eval("DOUBLE_EXTENSION", check: "double_extension", score: 2.0,
              "an attachment name hides an executable behind a document extension (invoice.pdf.exe)"),
        .eval("FROM_NAME_ADDRESS", check: "from_name_address", score: 2.0,
              "the From display name shows an address other than the real one"),
        .eval("SUBJECT_ALL_CAPS", check: "subject_all_caps", score: 0.8, "the Subject is all capitals"),
        .eval("TOO_MANY_RECIPIENTS", check: "too_many_recipients", score: 1.0, "more than 20 addresses in To and Cc"),
        // URL signals.
        .eval("URL_SHORTENER", check: "url_shortener", score: 0.5, "a link through a URL shortener"),
        .eval("URL_REDIRECTOR", check: "url_redirector", score: 1.0, "a link through an open redirect (?url=http…)"),
        .eval("URL_NUMERIC_IP", check: "url_numeric_ip", score: 1.0, "a link to a bare IP address"),
        .eval("URL_OBFUSCATED_IP", check: "url_obfuscated_ip", score: 2.5,
              "a link to an IP address written in hex, octal or as one number"),
        .eval("URL_USERINFO", check: "url_userinfo", score: 2.0,
              "a link with a name before '@' (http://bank.example@evil.example/)"),
        .eval("URL_LOOKALIKE", check: "url_lookalike", score: 3.0, "a link to a domain that looks like a known brand's"),
        .eval("URL_BRAND_SUBDOMAIN", check: "url_brand_subdomain", score: 2.0,
              "a brand's domain used as a subdomain of another domain (paypal.com.login.example)"),
        .eval("URL_MIXED_SCRIPT", check: "url_mixed_script", score: 2.0, "a link's host name mixes scripts"),
        .eval("URL_BLOCKLISTED", check: "url_blocklisted", score: 5.0, "a link to a domain on the local URI blocklist"),
        // Classic phrases (regular expressions, with literal prefilters).
        .body("BODY_CLICK_REMOVE", "click here to (be )?(removed|unsubscribe)", score: 0.5, "asks to click to be removed"),
        .body("BODY_GUARANTEED", "100% (guaranteed|free|satisfied|natural)", score: 0.5, "promises 100%"),
        .body("BODY_ACT_NOW", "(act now|limited time offer|order (now|today)|don't delete this)", score: 0.5,
              "urges action now"),
        .body("BODY_MONEY_BACK", "money[- ]back guarantee", score: 0.3, "money-back guarantee"),
        .body("BODY_NOT_SPAM", "this (is not|isn't) spam", score: 1.0, "claims not to be spam"),
        .body("BODY_REMOVE_LIST", "(remove|taken off) (from )?(our|this) (mailing )?list", score: 0.3,
              "offers removal from a list"),
        .body("BODY_EARN_MONEY", "(earn|make) \\$?[0-9,]+ (a|per) (day|week|month)", score: 1.0, "promises earnings"),
        .body("BODY_NIGERIAN", "(next of kin|beneficiary|transfer of|the sum of) .{0,40}(us\\$|usd|million)", score: 1.0,
              "advance-fee fraud phrasing"),
        .body("BODY_CREDIT", "(lower|reduce) your (interest|mortgage|debt|monthly payments?)", score: 0.5, "debt or mortgage offer"),
        .body("BODY_PILLS", "(online pharmacy|no prescription|prescription drugs|weight loss)", score: 0.8, "pharmacy spam"),
        .header("SUBJECT_MONEY", "Subject", "(\\$[0-9]{2,}|[0-9]+% off|free money|cash bonus)", score: 0.5,
                "the Subject advertises money", caseInsensitive: true),
        .header("SUBJECT_FREE", "Subject", "^free\\b|\\bfree!", score: 0.5, "the Subject starts with or shouts FREE",
                caseInsensitive: true),
        .header("SUBJECT_RE_FAKE_ID", "Subject", "[ ]{5,}[0-9a-z]{4,}$", score: 0.5,
                "the Subject ends with a random tag after many spaces", caseInsensitive: true),
        RuleDefinition(name: "FROM_NAME_FREE", kind: .header, pattern: "(free|winner|prize|offer)", header: "From",
                       headerPart: .name, score: 0.5, description: "the From display name advertises", caseInsensitive: true),
        RuleDefinition(name: "URI_EXECUTABLE", kind: .uri, pattern: "\\.(exe|scr|vbs|hta|pif|bat)$", score: 1.5,
                       description: "a link to an executable file", caseInsensitive: true),
        RuleDefinition(name: "FULL_BULK_MAILER", kind: .full, pattern: "X-(Mailer|Library): *(Bulk|Mass|Group) ?Mail",
                       score: 1.0, description: "sent by a bulk mailing program", caseInsensitive: true),
        // Combinations.
        .meta("OBFUSCATION_SEVERAL", "(OBFUSCATED_WORD + MIXED_SCRIPT_WORD + HTML_HIDDEN_TEXT + INVISIBLE_CHARACTERS + HTML_TINY_TEXT) >= 2",
              score: 1.5, "several text obfuscation tricks at once"),
        .meta("PHISH_LINK_COMBO", "(URL_LOOKALIKE || URL_BRAND_SUBDOMAIN || URL_USERINFO) && (URL_SHORTENER || URL_REDIRECTOR || URL_OBFUSCATED_IP || FROM_NAME_ADDRESS)",
              score: 1.5, "a disguised link together with another disguise"),
        .meta("MISSING_HEADERS", "MISSING_DATE && MISSING_MESSAGE_ID", score: 1.0, "both Date and Message-ID are missing"),
    ]

    // MARK: Checks

    static func forgedOutlook(_ m: Message) -> [String]? { forgedOutlook { m.headers[$0] } }

    /// - Parameter value: the value of the first field of a name (``HeaderFields/subscript(_:)``).
    static func forgedOutlook(_ value: (String) -> String?) -> [String]? {
        guard let mailer = value("X-Mailer"), hasBytes(mailer, "Outlook") else { return nil }
        let mid = value("Message-ID") ?? ""
        var problems: [String] = []
        if mid.isEmpty { problems.append("no Message-ID") }
        if hasBytes(mailer, "Outlook Express") {
            // Outlook Express: <000801c2...$...$...@host> and always X-MimeOLE.
            if !mid.isEmpty && !hasBytes(mid, "$") { problems.append("Message-ID without '$'") }
            if value("X-MimeOLE") == nil { problems.append("no X-MimeOLE") }
        } else if hasBytes(mailer, "Microsoft Outlook") {
            // Outlook (CDO / Office): a hex-heavy local part, or an Exchange-style id.
            if !mid.isEmpty && !isHexHeavyLocalPart(mid) && !hasBytes(mid, "$") && !hasBytes(mid, "outlook")
                && !hasBytes(mid, "PR") {
                problems.append("Message-ID not in Outlook's form")
            }
        }
        return problems.isEmpty ? nil : [mailer] + problems
    }

    /// Whether the UTF-8 of `s` contains `needle`, byte for byte (`String.containsBytes`):
    /// `memchr` for its first byte, `memcmp` at each, on the string's own bytes (`withUTF8` of a
    /// copy). `containsBytes` (MailMessage: a generic byte loop through `utf8`'s contiguous
    /// storage, and the range it returns made of indices) cost about 1,200 instructions a call
    /// for X-Mailer values and Message-IDs.
    static func hasBytes(_ s: String, _ needle: StaticString) -> Bool {
        var copy = s
        return copy.withUTF8 { hb in
            needle.withUTF8Buffer { nb in
                guard let n = nb.baseAddress, nb.count > 0 else { return true }
                guard let h = hb.baseAddress, hb.count >= nb.count else { return false }
                let last = hb.count - nb.count
                var start = 0
                while start <= last, let hit = memchr(h + start, Int32(n[0]), last - start + 1) {
                    let at = h.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(h + at, n, nb.count) == 0 { return true }
                    start = at + 1
                }
                return false
            }
        }
    }

    /// Whether at least half the Characters of the Message-ID's local part (after leading `<`s,
    /// up to the first `@`) are hex digits. An ASCII id is read as bytes (one Character each);
    /// otherwise the Characters decide (`isHexDigit` takes fullwidth digits too).
    static func isHexHeavyLocalPart(_ mid: String) -> Bool {
        var copy = mid
        let ascii: Bool? = copy.withUTF8 { b in
            var i = 0
            while i < b.count, b[i] == 0x3C { i += 1 }
            var hex = 0, count = 0
            while i < b.count, b[i] != 0x40 {
                let c = b[i]
                guard c < 0x80 else { return nil }
                // "\r\n" is one Character (not in unfolded values, but told apart all the same).
                guard c != 0x0D else { return nil }
                if c &- 0x30 < 10 || (c | 0x20) &- 0x61 < 6 { hex += 1 }
                count += 1
                i += 1
            }
            // A combining mark after the `@` would make it another Character.
            if i + 1 < b.count, b[i + 1] >= 0x80 { return nil }
            return hex * 2 >= count
        }
        if let ascii { return ascii }
        let local = mid.drop { $0 == "<" }.prefix { $0 != "@" }
        return local.filter(\.isHexDigit).count * 2 >= local.count
    }

    static func dateOffset(_ input: RuleInput, future: Bool) -> [String]? {
        guard let t = input.dateFieldTime else { return nil }
        let delta = t - input.referenceTime
        if future { return delta > 86_400 ? ["\(delta / 3600) hours ahead"] : nil }
        return delta < -365 * 86_400 ? ["\(-delta / 86_400) days old"] : nil
    }

    /// GTUBE in the raw message or its decoded text (``Rules/isGTUBE(_:)``, which borrows the
    /// input's message: no copy of it, nor a retain and release of each of its arrays).
    static func isGTUBE(_ input: RuleInput) -> Bool { Rules.isGTUBE(input.message) }

    static func htmlOnlyImages(_ m: Message) -> [String]? { htmlOnlyImages(m.textParts) }

    static func htmlOnlyImages(_ textParts: [TextPart]) -> [String]? {
        // The parts read in place (iterating the array copies each part: its strings and its HTML's arrays).
        let images = textParts.withUnsafeBufferPointer { parts -> Int in
            var images = 0
            for k in parts.indices {
                guard parts[k].isHTML else { return 0 }
                images += parts[k].html?.imageCount ?? 0
            }
            return images
        }
        guard images > 0 else { return nil }
        // Only whether there are fewer than 50 words matters: counting stops at 50.
        var words = 0
        /// Counts the words of `bytes` on to `words`; whether 50 are reached.
        @inline(__always) func count(_ bytes: some Sequence<UInt8>, _ words: inout Int) -> Bool {
            var inWord = false
            for b in bytes {
                let space = b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
                if !space && !inWord {
                    words += 1
                    if words >= 50 { return true }
                }
                inWord = !space
            }
            return false
        }
        textParts.withUnsafeBufferPointer { parts in
            for k in parts.indices {
                // The contiguous bytes (every native string) read in place: the UTF-8 view's iterator
                // cost several times as much a byte.
                let text = parts[k].text
                let reached = text.utf8.withContiguousStorageIfAvailable { count($0, &words) } ?? count(text.utf8, &words)
                if reached { break }
            }
        }
        return images > 0 && words < 50 ? ["\(images) images, \(words) words"] : nil
    }

    static func base64Text(_ m: Message) -> [String]? { base64Text(textParts: m.textParts, parts: m.parts) }

    static func base64Text(_ input: RuleInput) -> [String]? {
        base64Text(textParts: input.message.textParts, parts: input.message.parts)
    }

    static func base64Text(textParts: [TextPart], parts: [MIMEPart]) -> [String]? {
        // The parts read in place: a subscript of the array copies the whole part.
        parts.withUnsafeBufferPointer { parts in textParts.withUnsafeBufferPointer { textParts in
            for k in textParts.indices {
                let index = textParts[k].partIndex
                guard parts[index].transferEncoding == "base64" else { continue }
                let utf8 = textParts[k].text.utf8
                guard utf8.count >= 20 else { continue }
                let high = utf8.reduce(0) { $0 + ($1 >= 0x80 ? 1 : 0) }
                if high * 50 < utf8.count { return [parts[index].contentType.mimeType] }
            }
            return nil
        } }
    }

    static func html(_ m: Message, _ f: (HTMLContent) -> String?) -> [String]? { html(m.textParts, f) }

    static func html(_ textParts: [TextPart], _ f: (HTMLContent) -> String?) -> [String]? {
        for p in textParts {
            if let h = p.html, let o = f(h) { return [o] }
        }
        return nil
    }

    /// The counts of an HTML part the HTML checks read.
    enum HTMLCount { case hiddenTextBytes, tinyTextBytes, invisibleCharacters }

    /// The first HTML part's count of `kind` that is `atLeast` or more (as ``html(_:_:)`` with a
    /// threshold), the parts and their HTML read in place (iterating the array copied each part,
    /// and `if let` each part's HTML with its arrays).
    static func htmlCount(_ textParts: [TextPart], _ kind: HTMLCount, atLeast threshold: Int) -> Int? {
        textParts.withUnsafeBufferPointer { parts in
            for k in parts.indices {
                let count: Int? = switch kind {
                case .hiddenTextBytes: parts[k].html?.hiddenTextBytes
                case .tinyTextBytes: parts[k].html?.tinyTextBytes
                case .invisibleCharacters: parts[k].html?.invisibleCharacterCount
                }
                if let count, count >= threshold { return count }
            }
            return nil
        }
    }

    static let executableExtensions: Set<String> = [
        "exe", "scr", "js", "jse", "vbs", "vbe", "bat", "cmd", "com", "pif", "jar", "lnk", "hta", "msi", "msp", "cpl",
        "wsf", "wsh", "ps1", "reg", "iso", "img", "vhd", "application", "gadget", "sct", "chm", "inf", "dll",
    ]
    static let documentExtensions: Set<String> = [
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "rtf", "jpg", "jpeg", "png", "gif", "zip", "htm", "html",
        "odt", "csv", "mp3", "mp4", "avi",
    ]

    static func attachments(_ m: Message, double: Bool) -> [String]? { attachments(m.attachments, double: double) }

    static func attachments(_ attachments: [Attachment], double: Bool) -> [String]? {
        var out: [String] = []
        for a in attachments {
            guard let name = a.filename else { continue }
            // Most names end in no executable extension, decided on their bytes when ASCII.
            if mayHaveExecutableExtension(name) == false { continue }
            let parts = name.lowercased().split(separator: ".").map { $0.trimmingTrailingSpaces() }
            guard parts.count >= 2, let last = parts.last, executableExtensions.contains(last) else { continue }
            if double {
                if parts.count >= 3, documentExtensions.contains(parts[parts.count - 2]) { out.append(name) }
            } else {
                out.append(name)
            }
            if out.count >= 5 { break }
        }
        return out.isEmpty ? nil : out
    }

    /// The executable extensions as bytes, for ``mayHaveExecutableExtension(_:)``.
    static let executableExtensionBytes: [[UInt8]] = executableExtensions.map { Array($0.utf8) }

    /// For an ASCII file name, whether ``attachments(_:double:)`` finds an executable extension in
    /// it: the last of its `.`-separated non-empty parts, lower-cased, trailing spaces and quotes
    /// trimmed, when it has two parts or more, is one of ``executableExtensions``. On ASCII the
    /// Characters' split and trimming are the bytes' (a `.`, a space or a quote joins no
    /// neighbour) and strings are equal when their bytes are. nil for other names.
    static func mayHaveExecutableExtension(_ name: String) -> Bool? {
        @inline(__always) func decide(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
            for i in 0..<b.count where b[i] >= 0x80 { return nil }
            var end = b.count
            // Trailing dots make empty parts, which the split omits.
            while end > 0 && b[end - 1] == 0x2E { end -= 1 }
            var start = end
            while start > 0 && b[start - 1] != 0x2E { start -= 1 }
            // Another non-empty part before the last one?
            var k = start
            while k > 0 && b[k - 1] == 0x2E { k -= 1 }
            guard k > 0 else { return false }
            var last = end
            while last > start && (b[last - 1] == 0x20 || b[last - 1] == 0x22 || b[last - 1] == 0x27) { last -= 1 }
            let n = last - start
            for ext in executableExtensionBytes where ext.count == n {
                var i = 0
                while i < n {
                    let c = b[start + i]
                    if (c &- 0x41 < 26 ? c | 0x20 : c) != ext[i] { break }
                    i += 1
                }
                if i == n { return true }
            }
            return false
        }
        if let r = name.utf8.withContiguousStorageIfAvailable(decide) { return r }
        var copy = name
        return copy.withUTF8(decide)
    }

    static func fromNameAddress(_ m: Message) -> [String]? { fromNameAddress(m.from) }

    /// - Parameter fromList: the first From field's addresses (``Message/from``).
    static func fromNameAddress(_ fromList: [MailAddress]) -> [String]? {
        // No '@' byte, no '@' Character (most display names): decided without Characters.
        guard let from = fromList.first, let name = from.displayName, hasAtByte(name) else { return nil }
        if let answer = asciiNameAddress(name, from.address) { return answer }
        return nameAddress(name, from.address)
    }

    /// ``nameAddress(_:_:)`` of an ASCII display name, on its bytes (nil for other names): each
    /// byte is a Character (a CR LF pair is one, but neither byte is a separator, `@` or `.`),
    /// split, lower-cased and trimmed as bytes; the shown and real addresses compared as strings.
    /// The Character path split each name containing `@` with a `String.contains` per Character
    /// (about 60 k instructions a name).
    static func asciiNameAddress(_ name: String, _ address: String) -> [String]?? {
        var copy = name
        return copy.withUTF8 { b -> [String]?? in
            for c in b where c >= 0x80 { return nil }
            @inline(__always) func isSeparator(_ c: UInt8) -> Bool {
                switch c {
                case 0x20, 0x3C, 0x3E, 0x28, 0x29, 0x22, 0x27, 0x5B, 0x5D, 0x2C, 0x3B, 0x3A: return true
                default: return false
                }
            }
            var real: String? = nil
            var i = 0
            let n = b.count
            while i < n {
                while i < n, isSeparator(b[i]) { i += 1 }
                var start = i
                var hasAt = false
                while i < n, !isSeparator(b[i]) {
                    if b[i] == 0x40 { hasAt = true }
                    i += 1
                }
                guard hasAt else { continue }
                // Trimmed of dots, lower-cased.
                var end = i
                while start < end, b[start] == 0x2E { start += 1 }
                while end > start, b[end - 1] == 0x2E { end -= 1 }
                // `split(separator: "@")`: exactly two non-empty parts, a dot in the second.
                var parts = 0, inPart = false, dotInPart = false, dotInSecond = false
                for k in start..<end {
                    if b[k] == 0x40 {
                        inPart = false
                        continue
                    }
                    if !inPart {
                        inPart = true
                        parts += 1
                        dotInPart = false
                    }
                    if b[k] == 0x2E { dotInPart = true }
                    if parts == 2 { dotInSecond = dotInPart }
                }
                guard parts == 2, dotInSecond else { continue }
                let shown = String(unsafeUninitializedCapacity: end - start) { out in
                    for k in start..<end {
                        let c = b[k]
                        out[k - start] = c &- 0x41 < 26 ? c | 0x20 : c
                    }
                    return end - start
                }
                if real == nil { real = address.lowercased() }
                if shown != real { return .some([shown, real ?? ""]) }
            }
            return .some(nil)
        }
    }

    /// The reference: the display name split into words by Characters; the first word with an
    /// `@`, lower-cased and trimmed of dots, that reads as an address with a dot in its domain
    /// and is not the real address.
    static func nameAddress(_ name: String, _ address: String) -> [String]? {
        guard name.contains("@") else { return nil }
        let real = address.lowercased()
        for word in name.split(whereSeparator: { " <>()\"'[],;:".contains($0) }) where word.contains("@") {
            let shown = Substring(word.lowercased()).trimmingCharacters(".")
            let parts = shown.split(separator: "@")
            guard parts.count == 2, parts[1].contains(".") else { continue }
            if shown != real { return [shown, real] }
        }
        return nil
    }

    /// Whether the UTF-8 of `s` has an `@` byte, read from its contiguous bytes (`utf8.contains`
    /// went through the generic sequence path).
    static func hasAtByte(_ s: String) -> Bool {
        if let r = s.utf8.withContiguousStorageIfAvailable({ b in b.contains(0x40) }) { return r }
        return s.utf8.contains(0x40)
    }

    static func subjectAllCaps(_ subject: String) -> [String]? {
        var upper = 0
        var lower = 0
        var copy = subject
        // ASCII (most subjects): the letters counted on the contiguous bytes, stopping at the first
        // lower-case one (nil: a non-ASCII byte, the scalars decide).
        let ascii: Bool? = copy.withUTF8 { b in
            for c in b {
                if c &- 0x41 < 26 { upper += 1 } else if c &- 0x61 < 26 { return false } else if c >= 0x80 { return nil }
            }
            return true
        }
        if ascii == false { return nil }
        if ascii == nil {
            upper = 0
            for s in subject.unicodeScalars where s.properties.isAlphabetic {
                if s.properties.isUppercase { upper += 1 } else if s.properties.isLowercase { lower += 1 }
            }
        }
        guard upper >= 10 && lower == 0 else { return nil }
        let words = subject.split(whereSeparator: { $0 == " " }).count
        return words >= 2 ? [] : nil
    }

    static func tooManyRecipients(_ m: Message) -> [String]? { tooManyRecipients { m.headers.all($0) } }

    /// The same on a rule input: the commas counted in place, the fields listed only when they
    /// bound the count above 20.
    static func tooManyRecipients(_ input: RuleInput) -> [String]? {
        // One pass over the field-name heads for both names (the sum does not depend on the
        // order), each field's value read in place (`forEachField` copied the field).
        let toHead = RuleInput.nameHead("To"), ccHead = RuleInput.nameHead("Cc")
        let heads = input.headerNameHeads
        let bound = input.headerFields.withUnsafeBufferPointer { fields in
            var bound = 0
            for i in heads.indices where heads[i] == toHead || heads[i] == ccHead {
                guard RuleInput.sameName(fields[i].name, "To") || RuleInput.sameName(fields[i].name, "Cc") else { continue }
                bound += 1 + commas(fields[i].value)
            }
            return bound
        }
        guard bound > 20 else { return nil }
        return tooManyRecipients { input.fields($0) }
    }

    /// - Parameter all: the fields of a name (``HeaderFields/all(_:)``).
    static func tooManyRecipients(_ all: (String) -> [HeaderField]) -> [String]? {
        // Addresses are separated by commas: commas + 1 per field bounds the count from above,
        // so short lists need no parsing.
        var bound = 0
        let to = all("To"), cc = all("Cc")
        for f in to { bound += 1 + commas(f.value) }
        for f in cc { bound += 1 + commas(f.value) }
        guard bound > 20 else { return nil }
        var n = 0
        for f in to { n += MailAddress.parseList(f.value).count }
        for f in cc { n += MailAddress.parseList(f.value).count }
        return n > 20 ? ["\(n) recipients"] : nil
    }
}

/// The commas of `s`, counted on its contiguous bytes.
private func commas(_ s: String) -> Int {
    @inline(__always) func count(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        for c in b where c == 0x2C { n += 1 }
        return n
    }
    // Contiguous strings (all native ones) read in place, without the copy `withUTF8` needs.
    if let n = s.utf8.withContiguousStorageIfAvailable(count) { return n }
    var copy = s
    return copy.withUTF8(count)
}

extension Substring {
    func trimmingTrailingSpaces() -> String {
        var s = String(self)
        while let l = s.last, l == " " || l == "\"" || l == "'" { s.removeLast() }
        return s
    }

    func trimmingCharacters(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s = s.dropFirst() }
        while s.last == c { s = s.dropLast() }
        return String(s)
    }
}
