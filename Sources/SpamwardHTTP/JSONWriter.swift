import NIOCore
import SpamwardCore

/// A small JSON writer, for the replies written once per scanned message (Foundation's
/// JSONEncoder was 12% of the daemon's CPU on `/checkv2` under load).
///
/// It writes into a `[UInt8]` and hands out one ``ByteBuffer`` at the end: a byte appended to
/// an array is a store and a capacity check, where `ByteBuffer.writeInteger` costs a call, an
/// exclusivity check and a uniqueness check per byte (5.4% of the Rspamd worker's CPU went to
/// writing `/checkv2`'s JSON, most of it there; docs/loadbench.md, 30 Nov night).
struct JSONWriter {
    private(set) var bytes: [UInt8]
    private var needsComma = false

    init(capacity: Int = 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// What was written, in one buffer.
    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    mutating func beginObject() {
        comma()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        comma()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"name":` (the value follows).
    mutating func key(_ name: String) {
        comma()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ s: String) {
        comma()
        writeString(s)
        needsComma = true
    }

    /// A string written in parts: ``beginString()``, ``stringPart(_:)`` any number of times,
    /// ``endString()`` (no intermediate `String` for a value put together from pieces).
    mutating func beginString() {
        comma()
        bytes.append(UInt8(ascii: "\""))
    }

    /// The next part of a string begun with ``beginString()``, escaped.
    mutating func stringPart(_ s: String) {
        writeEscaped(s)
    }

    /// The next part of a string: `VerdictHeaders.format(x)` (a score with two decimals, as
    /// mail headers carry it), written without making a String (ASCII digits, `-` and `.`:
    /// nothing to escape).
    mutating func stringPartScore(_ x: Double) {
        VerdictHeaders.appendFormatted(x, to: &bytes)
    }

    mutating func endString() {
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A Message-ID without its `<`, `>` and spaces, as Rspamd's `message-id` carries it:
    /// `String(id.filter { $0 != "<" && $0 != ">" && $0 != " " })`, which walks Characters;
    /// an ASCII id (every real one) is filtered byte by byte instead, with the same result.
    mutating func messageID(_ id: String) {
        guard id.utf8.allSatisfy({ $0 < 0x80 }) else {
            string(String(id.filter { $0 != "<" && $0 != ">" && $0 != " " }))
            return
        }
        var kept = [UInt8]()
        kept.reserveCapacity(id.utf8.count)
        for b in id.utf8 where b != UInt8(ascii: "<") && b != UInt8(ascii: ">") && b != UInt8(ascii: " ") { kept.append(b) }
        string(String(decoding: kept, as: UTF8.self))
    }

    /// A finite number as Swift prints it (shortest round-trip form); non-finite ones as 0,
    /// JSON having no NaN or infinity.
    mutating func number(_ d: Double) {
        comma()
        if d.isFinite {
            bytes.append(contentsOf: d.description.utf8)
        } else {
            bytes.append(UInt8(ascii: "0"))
        }
        needsComma = true
    }

    mutating func number(_ i: Int) {
        comma()
        if i >= 0 && i < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(i))
        } else {
            bytes.append(contentsOf: String(i).utf8)
        }
        needsComma = true
    }

    mutating func bool(_ b: Bool) {
        comma()
        bytes.append(contentsOf: (b ? "true" : "false").utf8)
        needsComma = true
    }

    mutating func null() {
        comma()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    private mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259 section 7).
    /// The runs between escapes are written whole, from the string's own UTF-8 storage.
    private mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        writeEscaped(s)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `s` escaped, without quotes.
    private mutating func writeEscaped(_ s: String) {
        var s = s
        s.withUTF8 { u in
            var start = 0
            for i in 0..<u.count {
                let b = u[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if i > start { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i])) }
                writeEscape(b)
                start = i + 1
            }
            if u.count > start { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<u.count])) }
        }
    }

    private mutating func writeEscape(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        default:
            let hex: StaticString = "0123456789abcdef"
            hex.withUTF8Buffer { h in
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          h[Int(b >> 4)], h[Int(b & 0x0F)]])
            }
        }
    }
}
