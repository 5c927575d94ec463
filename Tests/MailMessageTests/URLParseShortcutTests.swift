@testable import MailMessage
import Testing

/// The parser's shortcuts (2026-11-30 midday) against the general paths they skip.
@Suite("URL parse shortcuts")
struct URLParseShortcutTests {
    /// The parser tests' SplitMix64 (failures reproduce).
    typealias RNG = ParserFastPathTests.Random

    /// A path the eight-byte scan passes as it is must be one the general path leaves as it is;
    /// one it sends to the general path gets that path's answer: random paths of separators,
    /// dots, `%2e` escapes and letters, around word boundaries, special and not.
    @Test func pathScanIsTheGeneralPath() {
        var rng = RNG(state: 0x9A7)
        let pieces = ["/", "\\", ".", "..", "%2e", "%2E", "%2", "%", "a", "bc", "defghij", "x.html", "/./", "/../", "e"]
        var changed = 0
        for _ in 0..<20_000 {
            var path = ""
            for _ in 0..<Int(rng.next() % 12) { path += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let bytes = Array(path.utf8)
            for special in [true, false] {
                let fast = bytes.withUnsafeBufferPointer { ParsedURL.normalizePath($0, 0..<bytes.count, special: special) }
                let general = bytes.isEmpty ? (special ? "/" : "") : ParsedURL.normalizePath(bytes, special: special)
                #expect(fast == general, "\(path.debugDescription) special: \(special)")
                if general != path { changed += 1 }
            }
        }
        #expect(changed > 5_000)
    }

    /// The authority read in one pass: host, userinfo and port as the parts are written, with
    /// `@` and `:` in any order and number, upper case, IPv4 forms and other bytes in the host.
    @Test func authorityInOnePass() throws {
        var rng = RNG(state: 0xA07)
        let users = ["", "u@", "u:p@", "a@b@", "x:y:z@", "@", "p.com@"]
        let hosts = ["www.Example.com", "example.org", "0x7f.1", "127.0.0.1", "h_st.example", "b%C3%BCcher.example", "ex ample.com",
                     "a..b", "UPPER.EXAMPLE", "xn--bcher-kva.example", "%41.example", "1.2.3", "host:"]
        let ports = ["", ":80", ":8080", ":", ":x", ":443"]
        var parsed = 0
        for _ in 0..<5_000 {
            let u = users[Int(rng.next() % UInt64(users.count))]
            let h = hosts[Int(rng.next() % UInt64(hosts.count))]
            let p = ports[Int(rng.next() % UInt64(ports.count))]
            let scheme = ["http", "HTTPS", "ftp", "foo", "file"][Int(rng.next() % 5)]
            let raw = scheme + "://" + u + h + p + "/a?q#f"
            guard let url = ParsedURL.parse(raw) else { continue }
            parsed += 1
            // The reference split: the last '@' ends the userinfo, the first ':' after it ends the host.
            let authority = Array((u + h + p).utf8)
            let at = authority.lastIndex(of: 0x40)
            let hostStart = at.map { $0 + 1 } ?? 0
            let rest = authority[hostStart...]
            let hostEnd = rest.firstIndex(of: 0x3A) ?? authority.endIndex
            let userinfo = at.flatMap { $0 > 0 ? String(decoding: authority[..<$0], as: UTF8.self) : nil }
            #expect(url.userinfo == userinfo, "\(raw)")
            let rawHost = String(decoding: authority[hostStart..<hostEnd], as: UTF8.self)
            if url.ipv4 == nil && !rawHost.contains("%") {
                #expect(url.host == rawHost.lowercased(), "\(raw)")
            }
        }
        #expect(parsed > 1_000)
    }
}
