import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking SMTP client for the end-to-end tests: one message per connection, with
/// dot-stuffing, returning the server's final reply to the message.
struct SMTPTestClient {
    struct Reply: CustomStringConvertible {
        var code: Int
        var text: String
        var description: String { "\(code) \(text)" }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let host: String
    let port: UInt16

    /// Whether something accepts TCP connections at host:port.
    static func isListening(host: String = "127.0.0.1", port: UInt16) -> Bool {
        guard let fd = try? connect(host: host, port: port) else { return false }
        close(fd)
        return true
    }

    /// Sends one message; returns the first non-2xx/3xx reply of the transaction or the reply to
    /// the end of data (250 on acceptance).
    func send(from: String, to: [String], message: [UInt8]) throws -> Reply {
        let fd = try Self.connect(host: host, port: port)
        defer { close(fd) }
        var reader = LineReader(fd: fd)
        var r = try reader.reply()
        guard r.code == 220 else { return r }
        func command(_ line: String) throws -> Reply {
            try Self.write(fd, Array((line + "\r\n").utf8))
            return try reader.reply()
        }
        r = try command("EHLO client.spamward.test")
        guard r.code == 250 else { return r }
        r = try command("MAIL FROM:<\(from)>")
        guard r.code == 250 else { _ = try? command("QUIT"); return r }
        for rcpt in to {
            r = try command("RCPT TO:<\(rcpt)>")
            guard r.code == 250 else { _ = try? command("QUIT"); return r }
        }
        r = try command("DATA")
        guard r.code == 354 else { _ = try? command("QUIT"); return r }
        try Self.write(fd, Self.dotStuffed(message))
        r = try reader.reply()
        _ = try? command("QUIT")
        return r
    }

    /// The message with CRLF line ends, leading dots doubled, and the end-of-data line.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 64)
        var atLineStart = true
        var i = 0
        while i < message.count {
            let b = message[i]
            if atLineStart && b == UInt8(ascii: ".") { out.append(b) }
            if b == 0x0A && (i == 0 || message[i - 1] != 0x0D) { out.append(0x0D) }
            out.append(b)
            atLineStart = b == 0x0A
            i += 1
        }
        if !atLineStart { out += [0x0D, 0x0A] }
        out += Array(".\r\n".utf8)
        return out
    }

    static func connect(host: String, port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &addr.sin_addr)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            throw Failure(description: "cannot connect to \(host):\(port)")
        }
        return fd
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed") }
            sent += n
        }
    }

    /// Reads CRLF lines and multi-line replies.
    struct LineReader {
        let fd: Int32
        var buffer: [UInt8] = []

        mutating func line() throws -> String {
            while true {
                if let nl = buffer.firstIndex(of: 0x0A) {
                    var l = Array(buffer[..<nl])
                    buffer.removeFirst(nl + 1)
                    if l.last == 0x0D { l.removeLast() }
                    return String(decoding: l, as: UTF8.self)
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { throw Failure(description: "connection closed or timed out") }
                buffer += chunk[..<n]
            }
        }

        mutating func reply() throws -> Reply {
            var text: [String] = []
            while true {
                let l = try line()
                guard l.utf8.count >= 3, let code = Int(l.prefix(3)) else { throw Failure(description: "bad reply line: \(l)") }
                text.append(String(l.dropFirst(4)))
                if l.utf8.count == 3 || Array(l.utf8)[3] != UInt8(ascii: "-") { return Reply(code: code, text: text.joined(separator: " ")) }
            }
        }
    }
}
