import NIOCore

/// A small JSON writer into a ByteBuffer, for the replies written once per scanned message
/// (Foundation's JSONEncoder was 12% of the daemon's CPU on `/checkv2` under load).
struct JSONWriter {
    var buffer: ByteBuffer
    private var needsComma = false

    init(capacity: Int = 1024) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    mutating func beginObject() {
        comma()
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        comma()
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"name":` (the value follows).
    mutating func key(_ name: String) {
        comma()
        writeString(name)
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ s: String) {
        comma()
        writeString(s)
        needsComma = true
    }

    /// A finite number as Swift prints it (shortest round-trip form); non-finite ones as 0,
    /// JSON having no NaN or infinity.
    mutating func number(_ d: Double) {
        comma()
        buffer.writeString(d.isFinite ? d.description : "0")
        needsComma = true
    }

    mutating func number(_ i: Int) {
        comma()
        buffer.writeString(String(i))
        needsComma = true
    }

    mutating func bool(_ b: Bool) {
        comma()
        buffer.writeString(b ? "true" : "false")
        needsComma = true
    }

    mutating func null() {
        comma()
        buffer.writeString("null")
        needsComma = true
    }

    private mutating func comma() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259 section 7).
    /// The runs between escapes are written whole, from the string's own UTF-8 storage.
    private mutating func writeString(_ s: String) {
        var s = s
        buffer.writeInteger(UInt8(ascii: "\""))
        s.withUTF8 { u in
            var start = 0
            for i in 0..<u.count {
                let b = u[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if i > start { buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: u[start..<i]))) }
                writeEscape(b)
                start = i + 1
            }
            if u.count > start { buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: u[start..<u.count]))) }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private mutating func writeEscape(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): buffer.writeString("\\\"")
        case UInt8(ascii: "\\"): buffer.writeString("\\\\")
        case 0x0A: buffer.writeString("\\n")
        case 0x0D: buffer.writeString("\\r")
        case 0x09: buffer.writeString("\\t")
        default:
            let hex = Array("0123456789abcdef".utf8)
            buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                               hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
        }
    }
}
