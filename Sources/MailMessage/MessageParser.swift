#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses raw RFC 5322 / MIME messages into a ``Message``.
///
/// The parser never fails: malformed input yields a best-effort structure plus ``Anomaly``
/// values. Work is bounded by ``ParseLimits``: time is linear in the message size times the
/// (bounded) MIME depth, and memory is bounded by the decoded-size and text limits.
public enum MessageParser {
    /// Parses `bytes` within `limits`.
    public static func parse(_ bytes: [UInt8], limits: ParseLimits = .default) -> Message {
        var p = Parser(message: Message(bytes: bytes, limits: limits))
        p.run()
        return p.finish()
    }

    /// The header fields of a header block that starts at `range.lowerBound`, and where the
    /// body begins. Exposed for front ends that receive headers separately (milter).
    public static func parseHeaderBlock(_ buffer: [UInt8], range: Range<Int>, limits: ParseLimits = .default)
        -> (fields: HeaderFields, bodyStart: Int, anomalies: [Anomaly])
    {
        let b = HeaderBlockParser.parse(buffer, range: range, limits: limits)
        return (HeaderFields(b.fields), b.bodyStart, b.anomalies)
    }
}

/// One parsed header block.
struct HeaderBlock {
    var fields: [HeaderField] = []
    /// How often each of ``HeaderBlockParser/singletonIndex(_:)``'s fields occurs among
    /// `fields`: two bits per field (0, 1, or 2 for "more than once").
    var singletons: UInt32 = 0
    var headerRange: Range<Int>
    var bodyStart: Int
    var anomalies: [Anomaly] = []
}

enum HeaderBlockParser {
    /// Whether `line` (without its line ending) starts a header field: a name of printable
    /// ASCII other than ':' and space, optionally followed by white space, then ':'.
    static func fieldNameEnd<Line: Collection<UInt8>>(_ line: Line) -> (colon: Int, spaceBeforeColon: Bool)?
    where Line.Index == Int {
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if c == UInt8(ascii: ":") {
                return i == line.startIndex ? nil : (i, false)
            }
            if c <= 0x20 || c >= 0x7F {
                // Obsolete syntax allows white space before the colon ("Subject : x").
                if ASCII.isSpace(c), i > line.startIndex {
                    var j = i
                    while j < line.endIndex, ASCII.isSpace(line[j]) { j += 1 }
                    if j < line.endIndex, line[j] == UInt8(ascii: ":") { return (j, true) }
                }
                // 8-bit header names are seen in the wild; accept them but not controls.
                if c >= 0x80 { i += 1; continue }
                return nil
            }
            i += 1
        }
        return nil
    }

    /// `expectedFields`: the capacity reserved for the fields (a message's top level has
    /// dozens, a MIME part's 1-4).
    static func parse(_ buf: [UInt8], range: Range<Int>, limits: ParseLimits, expectedFields: Int = 16) -> HeaderBlock {
        // On a buffer pointer: no bounds checks, retains or releases per line and field.
        // Every index below is within `range`, which is within `buf`.
        buf.withUnsafeBufferPointer { parse($0, range: range, limits: limits, expectedFields: expectedFields) }
    }

    static func parse(_ buf: UnsafeBufferPointer<UInt8>, range: Range<Int>, limits: ParseLimits, expectedFields: Int) -> HeaderBlock {
        var block = HeaderBlock(headerRange: range.lowerBound..<range.lowerBound, bodyStart: range.lowerBound)
        block.fields.reserveCapacity(max(0, min(expectedFields, limits.maxHeaderFields)))
        var anomalies = Set<Anomaly>()
        var i = range.lowerBound
        let end = range.upperBound
        var fieldStart = -1
        var fieldColon = -1
        var fieldLastLineEnd = -1  // exclusive end of the field's last line, before CR/LF
        var crlfLines = 0
        var lfLines = 0
        var fieldCount = 0

        func finishField() {
            guard fieldStart >= 0 else { return }
            defer { fieldStart = -1 }
            fieldCount += 1
            if fieldCount > limits.maxHeaderFields {
                anomalies.insert(.tooManyHeaderFields)
                return
            }
            var nameEnd = fieldColon
            while nameEnd > fieldStart, ASCII.isWhitespace(buf[nameEnd - 1]) { nameEnd -= 1 }
            let nameBytes = UnsafeBufferPointer(rebasing: buf[fieldStart..<nameEnd])
            if nameBytes.count <= 12, let k = singletonIndex(nameBytes) {
                let shift = UInt32(2 * k)
                if (block.singletons >> shift) & 3 < 2 { block.singletons &+= 1 << shift }
            }
            let name = fieldName(nameBytes)
            let valueRange = (fieldColon + 1)..<fieldLastLineEnd
            var (value, eightBit, tooLong) = unfold(UnsafeBufferPointer(rebasing: buf[valueRange]), max: limits.maxHeaderFieldBytes)
            if tooLong { anomalies.insert(.headerFieldTooLong) }
            if eightBit { anomalies.insert(.eightBitHeader) }
            if value.isEmpty { value = "" }
            block.fields.append(HeaderField(name: name, value: value, rawRange: fieldStart..<fieldLastLineEnd, valueRange: valueRange))
        }

        while i < end {
            let lf = lineEnd(buf, from: i, end: end)
            var contentEnd = lf
            if lf < end {
                if lf > i, buf[lf - 1] == 0x0D {
                    contentEnd = lf - 1
                    crlfLines += 1
                } else {
                    lfLines += 1
                }
            } else if lf > i, buf[lf - 1] == 0x0D {
                contentEnd = lf - 1
            }
            let next = lf < end ? lf + 1 : end
            let line = buf[i..<contentEnd]
            if line.isEmpty {
                finishField()
                block.headerRange = range.lowerBound..<i
                block.bodyStart = next
                return done(&block, anomalies, crlfLines, lfLines)
            }
            if ASCII.isSpace(line[line.startIndex]) {
                let blankLine = line.allSatisfy(ASCII.isSpace)
                if blankLine {
                    // A white-space-only line continues the field (obsolete folding) only if
                    // the next line does too; otherwise it separates header and body.
                    let nextIsContinuation = next < end && ASCII.isSpace(buf[next])
                    if !nextIsContinuation {
                        finishField()
                        block.headerRange = range.lowerBound..<i
                        block.bodyStart = next
                        return done(&block, anomalies, crlfLines, lfLines)
                    }
                }
                if fieldStart >= 0 {
                    fieldLastLineEnd = contentEnd
                } else {
                    anomalies.insert(.invalidHeaderLine)
                }
                i = next
                continue
            }
            if let (colon, spaced) = fieldNameEnd(line) {
                finishField()
                if spaced { anomalies.insert(.spaceBeforeColon) }
                fieldStart = i
                fieldColon = colon
                fieldLastLineEnd = contentEnd
                i = next
                continue
            }
            // Not a header line.
            if block.fields.isEmpty && fieldStart < 0 && i == range.lowerBound {
                // mbox-style "From " lines inside message/rfc822 parts, or no header at all.
                if line.starts(with: "From ".utf8) {
                    i = next
                    continue
                }
                anomalies.insert(.noHeaders)
            } else {
                anomalies.insert(.noHeaderBodySeparator)
            }
            finishField()
            block.headerRange = range.lowerBound..<i
            block.bodyStart = i
            return done(&block, anomalies, crlfLines, lfLines)
        }
        finishField()
        block.headerRange = range.lowerBound..<end
        block.bodyStart = end
        if !block.fields.isEmpty { anomalies.insert(.noHeaderBodySeparator) }
        return done(&block, anomalies, crlfLines, lfLines)
    }

    /// The field name `bytes` as a String: the usual names (the same bytes, case included) as
    /// string literals, which need no validation, allocation or release; others decoded.
    static func fieldName(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        @inline(__always) func equal(_ literal: StaticString) -> Bool {
            // Callers compare only literals of `bytes.count` bytes.
            literal.withUTF8Buffer { lit in
                var k = 0
                while k < lit.count, lit[k] == bytes[k] { k &+= 1 }
                return k == lit.count
            }
        }
        switch bytes.count {
        case 2:
            if equal("To") { return "To" }
            if equal("Cc") { return "Cc" }
        case 4:
            if equal("From") { return "From" }
            if equal("Date") { return "Date" }
        case 6: if equal("Sender") { return "Sender" }
        case 7:
            if equal("Subject") { return "Subject" }
            if equal("List-Id") { return "List-Id" }
        case 8:
            if equal("Received") { return "Received" }
            if equal("X-Mailer") { return "X-Mailer" }
            if equal("Reply-To") { return "Reply-To" }
        case 9:
            if equal("Errors-To") { return "Errors-To" }
            if equal("List-Help") { return "List-Help" }
            if equal("List-Post") { return "List-Post" }
        case 10:
            if equal("Message-Id") { return "Message-Id" }
            if equal("Message-ID") { return "Message-ID" }
            if equal("Precedence") { return "Precedence" }
            if equal("References") { return "References" }
        case 11:
            if equal("Return-Path") { return "Return-Path" }
            if equal("X-Beenthere") { return "X-Beenthere" }
            if equal("In-Reply-To") { return "In-Reply-To" }
        case 12:
            if equal("Delivered-To") { return "Delivered-To" }
            if equal("Content-Type") { return "Content-Type" }
            if equal("MIME-Version") { return "MIME-Version" }
            if equal("List-Archive") { return "List-Archive" }
        case 14: if equal("List-Subscribe") { return "List-Subscribe" }
        case 16: if equal("List-Unsubscribe") { return "List-Unsubscribe" }
        case 17:
            if equal("X-Mailman-Version") { return "X-Mailman-Version" }
            if equal("X-MSMail-Priority") { return "X-MSMail-Priority" }
        case 19: if equal("Content-Disposition") { return "Content-Disposition" }
        case 25: if equal("Content-Transfer-Encoding") { return "Content-Transfer-Encoding" }
        default: break
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The position of a field that may occur once (RFC 5322 section 3.6) in the order from,
    /// subject, date, message-id, to, sender, reply-to, mime-version (compared with ASCII case
    /// folding; all are ASCII, so a name with other bytes never matches), or nil.
    static func singletonIndex(_ name: ArraySlice<UInt8>) -> Int? {
        name.withUnsafeBufferPointer { singletonIndex($0) }
    }

    static func singletonIndex(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
        @inline(__always) func equal(_ literal: StaticString) -> Bool {
            literal.withUTF8Buffer { lit in
                for k in 0..<lit.count where ASCII.lower(name[k]) != lit[k] { return false }
                return true
            }
        }
        // Most names fail on their length or first byte (f, s, d, m, t, r).
        guard let first = name.first else { return nil }
        switch ASCII.lower(first) {
        case UInt8(ascii: "f"), UInt8(ascii: "s"), UInt8(ascii: "d"), UInt8(ascii: "m"), UInt8(ascii: "t"), UInt8(ascii: "r"): break
        default: return nil
        }
        switch name.count {
        case 2: return equal("to") ? 4 : nil
        case 4: return equal("from") ? 0 : equal("date") ? 2 : nil
        case 6: return equal("sender") ? 5 : nil
        case 7: return equal("subject") ? 1 : nil
        case 8: return equal("reply-to") ? 6 : nil
        case 10: return equal("message-id") ? 3 : nil
        case 12: return equal("mime-version") ? 7 : nil
        default: return nil
        }
    }

    /// The index of the LF ending the line that starts at `from`, or `end`.
    @inline(__always) static func lineEnd(_ buf: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end, let base = buf.baseAddress, let hit = memchr(base + from, 0x0A, end - from) else { return end }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    private static func done(_ block: inout HeaderBlock, _ anomalies: Set<Anomaly>, _ crlf: Int, _ lf: Int) -> HeaderBlock {
        var a = anomalies
        if crlf > 0 && lf > 0 { a.insert(.mixedLineEndings) }
        block.anomalies = a.sorted()
        return block
    }

    /// Removes line breaks (keeping the white space that follows them) and trims.
    static func unfold(_ raw: ArraySlice<UInt8>, max: Int) -> (String, eightBit: Bool, tooLong: Bool) {
        raw.withUnsafeBufferPointer { unfold($0, max: max) }
    }

    static func unfold(_ raw: UnsafeBufferPointer<UInt8>, max: Int) -> (String, eightBit: Bool, tooLong: Bool) {
        var start = 0
        var end = raw.count
        while start < end, ASCII.isWhitespace(raw[start]) { start += 1 }
        while end > start, ASCII.isWhitespace(raw[end - 1]) { end -= 1 }
        let trimmed = UnsafeBufferPointer(rebasing: raw[start..<end])
        let limit = Swift.max(0, max)
        let scan = ByteFlags(trimmed)
        if !scan.lineBreak {
            // One line (nearly all fields): the String straight from the bytes.
            let tooLong = trimmed.count > max
            let kept = tooLong ? UnsafeBufferPointer(rebasing: trimmed.prefix(limit)) : trimmed
            if !scan.high { return (String(decoding: kept, as: UTF8.self), false, tooLong) }
            return (Charset.decodeHeaderBytes(Array(kept)[...]), true, tooLong)
        }
        // Folded: the runs between CR and LF bytes (found with memchr: a folded field has a
        // few lines) copied once, for 7-bit text straight into the String's storage. The
        // capacity, `min(trimmed, limit)`, bounds the unfolded bytes kept.
        let capacity = Swift.min(trimmed.count, limit)
        var unfolded = 0  // bytes other than CR and LF, also past `limit`
        if !scan.high {
            let text = String(unsafeUninitializedCapacity: capacity) { buf in
                let r = copyUnfolded(trimmed, into: buf, capacity: capacity)
                unfolded = r.total
                return r.copied
            }
            return (text, false, unfolded > max)
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buf, count in
            let r = copyUnfolded(trimmed, into: buf, capacity: capacity)
            unfolded = r.total
            count = r.copied
        }
        return (Charset.decodeHeaderBytes(bytes[...]), true, unfolded > max)
    }

    /// Copies the bytes of `raw` other than CR and LF to `buf`, at most `capacity`
    /// (<= `buf.count`) of them; `total` counts them all.
    static func copyUnfolded(_ raw: UnsafeBufferPointer<UInt8>, into buf: UnsafeMutableBufferPointer<UInt8>, capacity: Int)
        -> (copied: Int, total: Int)
    {
        guard let base = raw.baseAddress else { return (0, 0) }
        let out = buf.baseAddress
        let count = raw.count
        let room = Swift.min(capacity, buf.count)
        var n = 0
        var total = 0
        var pos = 0
        while pos < count {
            let lineEnd = memchr(base + pos, 0x0A, count - pos).map {
                base.distance(to: $0.assumingMemoryBound(to: UInt8.self))
            } ?? count
            var s = pos
            while s < lineEnd {
                let e = memchr(base + s, 0x0D, lineEnd - s).map {
                    base.distance(to: $0.assumingMemoryBound(to: UInt8.self))
                } ?? lineEnd
                // Bytes s..<e hold no CR or LF; copy what still fits (n + c <= room).
                let c = Swift.min(e - s, room - n)
                if c > 0, let out {
                    (out + n).initialize(from: base + s, count: c)
                    n += c
                }
                total += e - s
                s = e + 1
            }
            pos = lineEnd + 1
        }
        return (n, total)
    }
}

/// Whether a byte run has any 8-bit byte and any line break (CR or LF), eight bytes at a time.
struct ByteFlags {
    var high = false
    var lineBreak = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        let count = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var bits: UInt64 = 0
        var breaks: UInt64 = 0
        var i = 0
        // Invariant: each load reads bytes i..<i+8 with i + 8 <= count. A lane of `breaks` has
        // its high bit set when the byte is LF or CR (zero lane of w ^ LF or w ^ CR: the test
        // `(x - 1) & ~x & 0x80` per lane; a borrow only flags a lane above a zero lane, which
        // is flagged already, so "any" is exact).
        while i &+ 8 <= count {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let lf = w ^ (0x0A &* ones)
            let cr = w ^ (0x0D &* ones)
            bits |= w
            breaks |= ((lf &- ones) & ~lf) | ((cr &- ones) & ~cr)
            i &+= 8
        }
        var tail: UInt8 = 0
        var tailBreak = false
        if i < count, count >= 8 {
            // The last eight bytes (overlapping bytes already seen, which changes no "any").
            let w = raw.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            let lf = w ^ (0x0A &* ones)
            let cr = w ^ (0x0D &* ones)
            bits |= w
            breaks |= ((lf &- ones) & ~lf) | ((cr &- ones) & ~cr)
            i = count
        }
        while i < count {
            let c = bytes[i]
            tail |= c
            tailBreak = tailBreak || c == 0x0A || c == 0x0D
            i &+= 1
        }
        high = bits & highs != 0 || tail >= 0x80
        lineBreak = breaks & highs != 0 || tailBreak
    }
}

private struct Parser {
    var message: Message
    var anomalies = Set<Anomaly>()
    var decodedBudget: Int
    var textBudget: Int
    var seenURLs = Set<String>()
    var partsCapped = false

    init(message: Message) {
        self.message = message
        decodedBudget = message.limits.maxDecodedBytes
        textBudget = message.limits.maxTextBytes
    }

    var limits: ParseLimits { message.limits }

    mutating func run() {
        let bytes = message.bytes
        var end = bytes.count
        if end > limits.maxMessageBytes {
            end = limits.maxMessageBytes
            anomalies.insert(.truncated)
        }
        var start = 0
        if bytes.starts(with: "From ".utf8) {
            let lf = Lines.end(of: bytes[0..<end], from: 0)
            start = lf < end ? lf + 1 : end
            message.mboxFromLine = 0..<lf
        }
        if Lines.firstIndex(of: 0, in: bytes[start..<end]) != nil { anomalies.insert(.nulByte) }
        // A top-level header block of the SpamAssassin corpus has 20-60 fields.
        let block = HeaderBlockParser.parse(bytes, range: start..<end, limits: limits, expectedFields: 64)
        parsePart(buffer: 0, block: block, end: end, depth: 0, parent: nil, defaultType: .textPlain)
        // The top-level fields are `block.fields` if the top part was kept (maxParts > 0).
        checkTopLevel(singletons: message.parts.isEmpty ? 0 : block.singletons)
    }

    mutating func finish() -> Message {
        message.anomalies = anomalies.sorted()
        // What readers share is about the URLs: a message without any has nothing to keep.
        if !message.urls.isEmpty { message.memo = MessageMemo() }
        return message
    }

    func bufferBytes(_ index: Int) -> [UInt8] {
        index == 0 ? message.bytes : message.auxiliaryBuffers[index - 1]
    }

    mutating func checkTopLevel(singletons: UInt32) {
        // Presence of the required fields and duplicates of the ones that may occur once
        // (RFC 5322 section 3.6), from the counts the header block parser kept
        // (``HeaderBlockParser/singletonIndex(_:)``).
        func seen(_ k: Int) -> UInt32 { (singletons >> UInt32(2 * k)) & 3 }
        if seen(2) == 0 { anomalies.insert(.missingDate) }
        if seen(3) == 0 { anomalies.insert(.missingMessageID) }
        if seen(0) == 0 { anomalies.insert(.missingFrom) }
        if seen(7) == 0, let ct = message.parts.first?.contentType, ct.isMultipart {
            anomalies.insert(.mimeVersionMissing)
        }
        // MIME-Version (7) is not checked for duplicates.
        if (0..<7).contains(where: { seen($0) > 1 }) { anomalies.insert(.duplicateSingletonHeader) }
        if !message.textParts.isEmpty && message.textParts.allSatisfy(\.isHTML) { anomalies.insert(.htmlOnly) }
        if message.textParts.contains(where: { ($0.html?.hiddenTextBytes ?? 0) > 0 }) { anomalies.insert(.htmlHiddenText) }
        if message.textParts.contains(where: { ($0.html?.tinyTextBytes ?? 0) > 0 }) { anomalies.insert(.htmlTinyText) }
    }

    @discardableResult
    mutating func parsePart(buffer: Int, block: HeaderBlock, end: Int, depth: Int, parent: Int?, defaultType: ContentType) -> Int? {
        if message.parts.count >= limits.maxParts {
            anomalies.insert(.tooManyParts)
            return nil
        }
        for a in block.anomalies { anomalies.insert(a) }
        let headers = HeaderFields(block.fields)
        // The first Content-Type, Content-Transfer-Encoding and Content-Disposition, in one
        // pass that compares only names of their lengths.
        var ctValue: String?
        var cteValue: String?
        var cdValue: String?
        for f in block.fields {
            switch f.name.utf8.count {
            case 12 where ctValue == nil && f.hasName("Content-Type"): ctValue = f.value
            case 25 where cteValue == nil && f.hasName("Content-Transfer-Encoding"): cteValue = f.value
            case 19 where cdValue == nil && f.hasName("Content-Disposition"): cdValue = f.value
            default: break
            }
        }
        var contentType = defaultType
        var declared = false
        if let ctValue {
            let (ct, ctAnomalies) = ContentType.parse(ctValue)
            for a in ctAnomalies { anomalies.insert(a) }
            if let ct {
                contentType = ct
                declared = true
            }
        }
        var cte = "7bit"
        if let f = cteValue {
            cte = ParameterizedValue.parse(f).value
        }
        var disposition: String?
        var filename: String?
        if let f = cdValue {
            let d = ParameterizedValue.parse(f)
            disposition = d.value.isEmpty ? nil : d.value
            filename = d.parameters["filename"]
        }
        if filename == nil { filename = contentType.parameters["name"] }

        let index = message.parts.count
        let bodyStart = min(block.bodyStart, end)
        message.parts.append(
            MIMEPart(
                headers: headers, contentType: contentType, contentTypeDeclared: declared, transferEncoding: cte,
                disposition: disposition, filename: filename, buffer: buffer, headerRange: block.headerRange,
                bodyRange: bodyStart..<end, depth: depth, parent: parent))
        if let parent { message.parts[parent].children.append(index) }

        let isContainer = contentType.isMultipart || isEmbeddedMessage(contentType)
        if isContainer && depth >= limits.maxMIMEDepth {
            anomalies.insert(.tooDeep)
            return index
        }
        if contentType.isMultipart {
            parseMultipart(index: index, buffer: buffer, range: bodyStart..<end, depth: depth)
        } else if isEmbeddedMessage(contentType) {
            parseEmbedded(index: index, buffer: buffer, range: bodyStart..<end, depth: depth, cte: cte)
        } else {
            processLeaf(index)
        }
        return index
    }

    func isEmbeddedMessage(_ ct: ContentType) -> Bool {
        ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global" || ct.subtype == "news")
    }

    mutating func parseEmbedded(index: Int, buffer: Int, range: Range<Int>, depth: Int, cte: String) {
        var buf = buffer
        var r = range
        if cte == "base64" || cte == "quoted-printable" {
            let raw = bufferBytes(buffer)[range]
            let decoded = cte == "base64"
                ? TransferEncoding.base64(raw, limit: decodedBudget) : TransferEncoding.quotedPrintable(raw, limit: decodedBudget)
            for a in decoded.anomalies { anomalies.insert(a) }
            decodedBudget -= decoded.bytes.count
            if decodedBudget <= 0 { anomalies.insert(.decodedSizeLimit) }
            message.auxiliaryBuffers.append(decoded.bytes)
            buf = message.auxiliaryBuffers.count
            r = 0..<decoded.bytes.count
            message.parts[index].decodedSize = decoded.bytes.count
        }
        let bytes = bufferBytes(buf)
        let block = HeaderBlockParser.parse(bytes, range: r, limits: limits)
        parsePart(buffer: buf, block: block, end: r.upperBound, depth: depth + 1, parent: index, defaultType: .textPlain)
    }

    mutating func parseMultipart(index: Int, buffer: Int, range: Range<Int>, depth: Int) {
        let part = message.parts[index]
        guard let boundary = part.contentType.boundary, !boundary.isEmpty else {
            anomalies.insert(.missingBoundary)
            message.parts[index].contentType = .textPlain
            processLeaf(index)
            return
        }
        let bytes = bufferBytes(buffer)
        let delimiter = Array("--".utf8) + Array(boundary.utf8)
        let slice = bytes[range]
        // Each found delimiter line: where the preceding line break starts, and where the
        // line after the delimiter begins.
        var bodies: [Range<Int>] = []
        var currentStart: Int? = nil
        var closed = false
        var i = range.lowerBound
        while i < range.upperBound {
            let lf = Lines.end(of: slice, from: i)
            let next = lf < range.upperBound ? lf + 1 : range.upperBound
            if bytes[i] == UInt8(ascii: "-"), lf - i >= delimiter.count,
                bytes[i..<(i + delimiter.count)].elementsEqual(delimiter)
            {
                let rest = Lines.trimmed(bytes[(i + delimiter.count)..<lf])
                let isClose = rest.starts(with: "--".utf8)
                if rest.isEmpty || isClose {
                    // The line break before the delimiter belongs to the delimiter.
                    var bodyEnd = i
                    if bodyEnd > range.lowerBound, bytes[bodyEnd - 1] == 0x0A { bodyEnd -= 1 }
                    if bodyEnd > range.lowerBound, bytes[bodyEnd - 1] == 0x0D { bodyEnd -= 1 }
                    if let s = currentStart { bodies.append(s..<max(s, bodyEnd)) }
                    if isClose {
                        closed = true
                        currentStart = nil
                        break
                    }
                    currentStart = next
                }
            }
            i = next
        }
        if let s = currentStart {
            bodies.append(s..<range.upperBound)
            if !bodies.isEmpty { anomalies.insert(.missingCloseDelimiter) }
        }
        if bodies.isEmpty {
            if closed {
                anomalies.insert(.emptyMultipart)
                return
            }
            // No delimiter at all: keep the text rather than lose it.
            anomalies.insert(.boundaryNotFound)
            message.parts[index].contentType = .textPlain
            processLeaf(index)
            return
        }
        if !closed && currentStart == nil { anomalies.insert(.missingCloseDelimiter) }
        let childDefault: ContentType = part.contentType.subtype == "digest" ? .messageRFC822 : .textPlain
        for body in bodies {
            if message.parts.count >= limits.maxParts {
                anomalies.insert(.tooManyParts)
                break
            }
            let block = HeaderBlockParser.parse(bytes, range: body, limits: limits)
            parsePart(buffer: buffer, block: block, end: body.upperBound, depth: depth + 1, parent: index, defaultType: childDefault)
        }
    }

    mutating func processLeaf(_ index: Int) {
        let part = message.parts[index]
        let raw = bufferBytes(part.buffer)[part.bodyRange]
        let ct = part.contentType
        let isAttachmentDisposition = part.disposition == "attachment"
        let textLike = ct.isText && (!isAttachmentDisposition || ct.subtype == "plain" || ct.subtype == "html")
        let named = part.filename != nil

        if !textLike {
            let size = part.transferEncoding == "base64" ? TransferEncoding.base64DecodedSize(raw) : raw.count
            message.parts[index].decodedSize = size
            message.attachments.append(
                Attachment(partIndex: index, filename: part.filename, contentType: ct.mimeType, size: size,
                           isInline: !isAttachmentDisposition))
            return
        }

        // Decode the transfer encoding within the remaining budget. 7bit/8bit/binary bodies
        // are not copied: `decoded` is then a slice of the message's buffer.
        let budget = max(0, decodedBudget)
        var decoded: ArraySlice<UInt8>
        // What one pass found in `decoded` (8-bit, NUL or ESC bytes), when it was scanned.
        var scan: SevenBitScan?
        switch part.transferEncoding {
        case "base64":
            let r = TransferEncoding.base64(raw, limit: budget)
            for a in r.anomalies { anomalies.insert(a) }
            decoded = r.bytes[...]
        case "quoted-printable":
            let r = TransferEncoding.quotedPrintable(raw, limit: budget)
            for a in r.anomalies { anomalies.insert(a) }
            decoded = r.bytes[...]
        case "7bit", "8bit", "binary", "", "x-uuencode", "uuencode", "x-uue":
            decoded = raw.prefix(budget)
            if part.transferEncoding == "7bit" || part.transferEncoding.isEmpty {
                let s = SevenBitScan(decoded)
                if s.high { anomalies.insert(.eightBitIn7Bit) }
                scan = s
            }
        default:
            anomalies.insert(.unknownTransferEncoding)
            decoded = raw.prefix(budget)
        }
        if decoded.count >= budget && raw.count > 0 && budget < raw.count { anomalies.insert(.decodedSizeLimit) }
        decodedBudget -= decoded.count
        message.parts[index].decodedSize = decoded.count

        if named || isAttachmentDisposition {
            message.attachments.append(
                Attachment(partIndex: index, filename: part.filename, contentType: ct.mimeType, size: decoded.count,
                           isInline: !isAttachmentDisposition))
        }

        // uuencoded files inside a plain text body.
        if ct.subtype == "plain", Self.hasUUBegin(decoded) {
            let body = Array(decoded)  // the blocks' ranges are offsets from 0
            let files = TransferEncoding.uudecodeBlocks(body[...], limit: max(0, decodedBudget))
            if !files.isEmpty {
                anomalies.insert(.uuencoded)
                var kept: [UInt8] = []
                var last = 0
                for f in files {
                    kept.append(contentsOf: body[last..<f.range.lowerBound])
                    last = f.range.upperBound
                    message.attachments.append(
                        Attachment(partIndex: index, filename: f.filename, contentType: "application/octet-stream",
                                   size: f.bytes.count, isInline: false))
                }
                kept.append(contentsOf: body[last...])
                decoded = kept[...]
                scan = nil
            }
        }

        guard textBudget > 0 else { return }
        let dt = Charset.decode(decoded, declared: ct.charset, scan: scan ?? SevenBitScan(decoded))
        for a in dt.anomalies { anomalies.insert(a) }
        var text = dt.text
        let isHTML = ct.subtype == "html" || ct.subtype == "enriched" || ct.subtype == "richtext"
            || (ct.subtype == "plain" && Self.looksLikeHTML(decoded))
        var html: HTMLContent?
        if isHTML {
            let h = HTMLText.extract(text, maxTextBytes: textBudget, maxURLs: limits.maxURLs)
            for a in h.anomalies { anomalies.insert(a) }
            addURLs(h.urls)
            text = h.text
            html = h
        }
        if text.utf8.count > textBudget {
            text = Self.prefix(text, utf8Count: textBudget)
        }
        textBudget -= text.utf8.count
        addURLs(URLExtractor.urls(in: text, limit: max(0, limits.maxURLs - message.urls.count)))
        message.textParts.append(TextPart(partIndex: index, isHTML: isHTML, charset: dt.charset, text: text, html: html))
    }

    mutating func addURLs(_ urls: [String]) {
        for u in urls {
            if message.urls.count >= limits.maxURLs { return }
            // Up to 16 URLs (most messages) a linear search, then a set of them all.
            if seenURLs.isEmpty {
                if message.urls.count < 16 {
                    if !message.urls.contains(u) { message.urls.append(u) }
                    continue
                }
                seenURLs = Set(message.urls)
            }
            if seenURLs.insert(u).inserted { message.urls.append(u) }
        }
    }

    static func hasUUBegin(_ bytes: ArraySlice<UInt8>) -> Bool {
        let pattern = "begin ".utf8
        var i = bytes.startIndex
        while i + pattern.count <= bytes.endIndex {
            // `i` is the start of a line.
            if bytes[i] == UInt8(ascii: "b"), bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                return true
            }
            guard let lf = Lines.firstIndex(of: 0x0A, in: bytes[i...]) else { return false }
            i = lf + 1
        }
        return false
    }

    static func looksLikeHTML(_ bytes: ArraySlice<UInt8>) -> Bool {
        var i = bytes.startIndex
        while i < bytes.endIndex, ASCII.isWhitespace(bytes[i]) { i += 1 }
        guard i < bytes.endIndex, bytes[i] == UInt8(ascii: "<") else { return false }
        let head = bytes[i..<min(bytes.endIndex, i + 15)].map(ASCII.lower)
        return head.starts(with: "<html".utf8) || head.starts(with: "<!doctype html".utf8)
            || head.starts(with: "<head".utf8) || head.starts(with: "<body".utf8)
    }

    static func prefix(_ s: String, utf8Count: Int) -> String {
        var n = 0
        var end = s.startIndex
        for i in s.unicodeScalars.indices {
            let w = s.unicodeScalars[i].utf8.count
            if n + w > utf8Count { break }
            n += w
            end = s.unicodeScalars.index(after: i)
        }
        return String(s.unicodeScalars[..<end])
    }
}
