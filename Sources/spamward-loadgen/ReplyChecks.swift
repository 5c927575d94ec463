// The success checks of spamward-loadgen, on the reply bytes where they were read (no copies,
// no Strings): the same checks as loadbench.py's asyncio client (scripts/loadbench/loadbench.py,
// parse_spamd and HTTPConn.request).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a reply does not count as a success; `kind` is the key of "err_kinds" in the output.
struct BadReply: Error {
    var kind: String
}

private let cr = UInt8(ascii: "\r")
private let lf = UInt8(ascii: "\n")
private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

@inline(__always) private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
@inline(__always) private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
@inline(__always) private func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

/// `b[from..<to]` equals the ASCII text `lowercase`, ignoring the case of `b`'s letters.
@inline(__always)
private func equalsIgnoringCase(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int, _ lowercase: StaticString) -> Bool {
    guard to - from == lowercase.utf8CodeUnitCount else { return false }
    let t = lowercase.utf8Start
    for k in 0..<(to - from) where lower(b[from + k]) != t[k] { return false }
    return true
}

/// `b[from..<to]` equals `text` exactly.
@inline(__always)
private func equals(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int, _ text: StaticString) -> Bool {
    guard to - from == text.utf8CodeUnitCount else { return false }
    let t = text.utf8Start
    for k in 0..<(to - from) where b[from + k] != t[k] { return false }
    return true
}

/// The end of the line starting at `from` (the index of its "\n", or `end`), and the end of its
/// text without a trailing "\r".
@inline(__always)
private func lineEnd(_ b: UnsafeRawBufferPointer, _ from: Int, _ end: Int) -> (next: Int, textEnd: Int) {
    var i = from
    while i < end, b[i] != lf { i += 1 }
    var t = i
    if t > from, b[t - 1] == cr { t -= 1 }
    return (i, t)
}

// MARK: - spamd

/// A spamd CHECK reply, whole (read to EOF): a "SPAMD/x.y 0 EX_OK" status line and a
/// "Spam: True|False|Yes|No ; S / T" header line (loadbench.py's SPAMD_STATUS and SPAM_HEADER
/// regular expressions). Returns the verdict: true for True or Yes.
func checkSpamd(_ b: UnsafeRawBufferPointer) throws(BadReply) -> Bool {
    guard !b.isEmpty else { throw BadReply(kind: "bad reply: empty reply (connection closed)") }
    // ^SPAMD/\d+\.\d+ 0 EX_OK\r?$
    let (statusNext, statusEnd) = lineEnd(b, 0, b.count)
    guard statusEnd - 0 >= 6, equals(b, 0, 6, "SPAMD/") else { throw BadReply(kind: "bad reply: status") }
    var i = 6
    let major = i
    while i < statusEnd, isDigit(b[i]) { i += 1 }
    guard i > major, i < statusEnd, b[i] == UInt8(ascii: ".") else { throw BadReply(kind: "bad reply: status") }
    i += 1
    let minor = i
    while i < statusEnd, isDigit(b[i]) { i += 1 }
    guard i > minor, equals(b, i, statusEnd, " 0 EX_OK") else { throw BadReply(kind: "bad reply: status") }
    // ^Spam:\s*(True|False|Yes|No)\s*;\s*(-?[0-9.]+)\s*/\s*(-?[0-9.]+)\s*$ on any later line
    var p = statusNext + 1
    while p < b.count {
        let (next, end) = lineEnd(b, p, b.count)
        if let spam = spamHeader(b, p, end) { return spam }
        p = next + 1
    }
    throw BadReply(kind: "bad reply: no Spam header")
}

/// The verdict of a "Spam: …" header line `b[from..<to]`, or nil if the line is not one.
private func spamHeader(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Bool? {
    guard to - from >= 5, equalsIgnoringCase(b, from, from + 5, "spam:") else { return nil }
    var i = from + 5
    func skip() { while i < to, isSpace(b[i]) || b[i] == cr { i += 1 } }
    skip()
    let flagStart = i
    while i < to, !isSpace(b[i]), b[i] != UInt8(ascii: ";") { i += 1 }
    let spam: Bool
    if equalsIgnoringCase(b, flagStart, i, "true") || equalsIgnoringCase(b, flagStart, i, "yes") {
        spam = true
    } else if equalsIgnoringCase(b, flagStart, i, "false") || equalsIgnoringCase(b, flagStart, i, "no") {
        spam = false
    } else {
        return nil
    }
    skip()
    guard i < to, b[i] == UInt8(ascii: ";") else { return nil }
    i += 1
    func number() -> Bool {
        skip()
        if i < to, b[i] == UInt8(ascii: "-") { i += 1 }
        let start = i
        while i < to, isDigit(b[i]) || b[i] == UInt8(ascii: ".") { i += 1 }
        return i > start
    }
    guard number() else { return nil }
    skip()
    guard i < to, b[i] == UInt8(ascii: "/") else { return nil }
    i += 1
    guard number() else { return nil }
    skip()
    return i == to ? spam : nil
}

// MARK: - HTTP

/// Where a complete HTTP/1.x response lies in a connection's input.
struct HTTPReply: Equatable {
    var status: Int
    /// The body: `bodyStart..<bodyEnd` of the input (a chunked body is joined there in place).
    var bodyStart: Int
    var bodyEnd: Int
    /// The server closes the connection after this reply ("Connection: close", HTTP/1.0, or a
    /// body that ends at EOF).
    var closes: Bool
    /// Bytes of the input this response took.
    var used: Int
}

/// The end of the head ("\r\n\r\n", exclusive of nothing: the index after it) in `b[..<count]`,
/// searching from `from` (bytes before it were searched already), or nil.
func findHeadEnd(_ b: UnsafeRawBufferPointer, from: Int) -> Int? {
    var i = max(3, from)
    while i < b.count {
        if b[i] == lf, b[i - 1] == cr, b[i - 2] == lf, b[i - 3] == cr { return i + 1 }
        i += 1
    }
    return nil
}

/// Parses the response at the start of `b` whose head ends at `headEnd` (see `findHeadEnd`).
/// Returns nil when more bytes are needed; `eof`: the input ended (a body without a length ends
/// there). A chunked body is joined in place (its chunks moved together), so `b` must be
/// writable. `maxBody`: a larger Content-Length is an error.
func parseHTTP(_ mb: UnsafeMutableRawBufferPointer, headEnd: Int, eof: Bool, maxBody: Int) throws(BadReply) -> HTTPReply? {
    let b = UnsafeRawBufferPointer(mb)
    // Status line: HTTP/1.x SP status ...
    let (firstNext, firstEnd) = lineEnd(b, 0, headEnd)
    var i = 0
    while i < firstEnd, b[i] != 0x20 { i += 1 }
    let versionEnd = i
    guard versionEnd >= 7, equals(b, 0, 7, "HTTP/1.") else { throw BadReply(kind: "bad reply: status line") }
    while i < firstEnd, b[i] == 0x20 { i += 1 }
    let statusStart = i
    var status = 0
    while i < firstEnd, isDigit(b[i]), i - statusStart < 9 {
        status = status * 10 + Int(b[i] - 0x30)
        i += 1
    }
    guard i > statusStart, i == firstEnd || b[i] == 0x20 else { throw BadReply(kind: "bad reply: status line") }
    var closes = equals(b, 0, versionEnd, "HTTP/1.0")
    var length: Int? = nil
    var chunked = false
    var p = firstNext + 1
    while p < headEnd {
        let (next, end) = lineEnd(b, p, headEnd)
        defer { p = next + 1 }
        var colon = p
        while colon < end, b[colon] != UInt8(ascii: ":") { colon += 1 }
        guard colon < end else { continue }
        var ns = p, ne = colon
        while ns < ne, isSpace(b[ns]) { ns += 1 }
        while ne > ns, isSpace(b[ne - 1]) { ne -= 1 }
        var vs = colon + 1, ve = end
        while vs < ve, isSpace(b[vs]) { vs += 1 }
        while ve > vs, isSpace(b[ve - 1]) { ve -= 1 }
        if equalsIgnoringCase(b, ns, ne, "content-length") {
            var n = 0
            var k = vs
            while k < ve, isDigit(b[k]), n <= maxBody {
                n = n * 10 + Int(b[k] - 0x30)
                k += 1
            }
            guard k == ve, ve > vs else { throw BadReply(kind: "bad reply: Content-Length") }
            length = n
        } else if equalsIgnoringCase(b, ns, ne, "transfer-encoding") {
            if equalsIgnoringCase(b, vs, ve, "chunked") { chunked = true }
        } else if equalsIgnoringCase(b, ns, ne, "connection") {
            if equalsIgnoringCase(b, vs, ve, "close") { closes = true }
        }
    }
    if let length {
        guard length <= maxBody else { throw BadReply(kind: "bad reply: body too large") }
        guard b.count >= headEnd + length else { return nil }
        return HTTPReply(status: status, bodyStart: headEnd, bodyEnd: headEnd + length, closes: closes, used: headEnd + length)
    }
    if chunked {
        // First make sure the whole body is there (nothing moved before), then join the chunks.
        var q = headEnd
        var chunks: [(start: Int, size: Int)] = []
        while true {
            let (next, end) = lineEnd(b, q, b.count)
            guard next < b.count else { return nil }  // no "\n" yet
            var k = q
            while k < end, isSpace(b[k]) { k += 1 }
            var size = 0
            let digits = k
            while k < end, let d = hexValue(b[k]), k - digits < 15 {
                size = size * 16 + d
                k += 1
            }
            while k < end, isSpace(b[k]) { k += 1 }
            guard k > digits, k == end || b[k] == UInt8(ascii: ";") else { throw BadReply(kind: "bad reply: chunk size") }
            q = next + 1
            if size == 0 {
                let (trailerNext, _) = lineEnd(b, q, b.count)
                guard trailerNext < b.count else { return nil }
                var to = headEnd
                for c in chunks {
                    if c.start != to, let base = mb.baseAddress { (base + to).copyMemory(from: base + c.start, byteCount: c.size) }
                    to += c.size
                }
                return HTTPReply(status: status, bodyStart: headEnd, bodyEnd: to, closes: closes, used: trailerNext + 1)
            }
            guard size <= maxBody else { throw BadReply(kind: "bad reply: body too large") }
            guard b.count >= q + size + 2 else { return nil }
            chunks.append((q, size))
            q += size + 2
        }
    }
    guard eof else { return nil }
    return HTTPReply(status: status, bodyStart: headEnd, bodyEnd: b.count, closes: true, used: b.count)
}

@inline(__always) private func hexValue(_ c: UInt8) -> Int? {
    switch c {
    case 0x30...0x39: Int(c - 0x30)
    case 0x41...0x46: Int(c - 0x41 + 10)
    case 0x61...0x66: Int(c - 0x61 + 10)
    default: nil
    }
}

/// A JSON object whose top level has a numeric "score" and a string "action" (a byte scanner:
/// strings and nesting are tracked, so a nested symbol's "score" does not count). Returns the
/// verdict: true if the top-level action is "reject", "add header", "rewrite subject" or
/// "soft reject" (loadbench.py's list).
func checkRspamdJSON(_ b: UnsafeRawBufferPointer) throws(BadReply) -> Bool {
    var i = 0
    let n = b.count
    func skipSpace() { while i < n, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
    /// From the opening quote at i: i after the closing quote, and the string's content range.
    /// The closing quote is the first one after an even number of backslashes (memchr finds
    /// the candidates).
    func string() throws(BadReply) -> (Int, Int) {
        let s = i + 1
        var from = s
        while true {
            guard from < n, let base = b.baseAddress, let q = memchr(base + from, Int32(quote), n - from) else {
                throw BadReply(kind: "bad reply: body is not JSON")
            }
            let e = base.distance(to: UnsafeRawPointer(q))
            var k = e
            while k > s, b[k - 1] == backslash { k -= 1 }
            if (e - k) % 2 == 0 {
                i = e + 1
                return (s, e)
            }
            from = e + 1
        }
    }
    skipSpace()
    guard i < n, b[i] == UInt8(ascii: "{") else { throw BadReply(kind: "bad reply: body is not JSON") }
    var depth = 0
    var score = false
    var action: (Int, Int)? = nil
    var expectKey = false
    while i < n {
        let c = b[i]
        if c == quote {
            let isKey = depth == 1 && expectKey
            let (ks, ke) = try string()
            if isKey {
                skipSpace()
                if i < n, b[i] == UInt8(ascii: ":") {
                    i += 1
                    skipSpace()
                    if equals(b, ks, ke, "score") {
                        score = i < n && (b[i] == UInt8(ascii: "-") || isDigit(b[i]))
                    } else if equals(b, ks, ke, "action") {
                        action = i < n && b[i] == quote ? try string() : nil
                    }
                    expectKey = false
                }
            }
            continue
        }
        switch c {
        case UInt8(ascii: "{"):
            depth += 1
            if depth == 1 { expectKey = true }
        case UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth == 0 {
                guard score, let (s, e) = action else { throw BadReply(kind: "bad reply: JSON without score/action") }
                return equals(b, s, e, "reject") || equals(b, s, e, "add header") || equals(b, s, e, "rewrite subject")
                    || equals(b, s, e, "soft reject")
            }
        case UInt8(ascii: ","): if depth == 1 { expectKey = true }
        default: break
        }
        i += 1
    }
    throw BadReply(kind: "bad reply: body is not JSON")
}
