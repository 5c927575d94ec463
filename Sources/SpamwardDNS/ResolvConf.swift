#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `nameserver` lines of resolv.conf(5).
public enum ResolvConf {
    /// The fallback when resolv.conf names no server.
    public static let fallback = [DNSServerAddress(host: "127.0.0.1", port: 53)].compactMap { $0 }

    /// The servers named in `text` (resolv.conf syntax: `nameserver ADDR`, comments with `#` or
    /// `;`), at most 16, in order. IPv6 scope suffixes (`fe80::1%eth0`) are not supported and are
    /// skipped.
    public static func servers(fromResolvConf text: String) -> [DNSServerAddress] {
        var out: [DNSServerAddress] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { continue }
            if let s = DNSServerAddress(host: String(words[1]), port: 53) { out.append(s) }
            if out.count == 16 { break }
        }
        return out
    }

    /// The servers of /etc/resolv.conf (or `path`), or ``fallback`` when it names none or cannot
    /// be read. Reads at most 64 KiB; call it at configuration time, not per query (it blocks).
    public static func systemServers(path: String = "/etc/resolv.conf") -> [DNSServerAddress] {
        guard let text = readSmallFile(path, maxBytes: 65536) else { return fallback }
        let s = servers(fromResolvConf: text)
        return s.isEmpty ? fallback : s
    }

    static func readSmallFile(_ path: String, maxBytes: Int) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < maxBytes {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, maxBytes - bytes.count)) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
