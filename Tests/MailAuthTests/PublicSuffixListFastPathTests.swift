@testable import MailAuth
import SpamwardTestSupport
import Testing

/// The byte path of ASCII lookups (`asciiLookup`) gives the answers of the `String` path.
@Suite("Public Suffix List byte path")
struct PublicSuffixListFastPathTests {
    static let inline = PublicSuffixList(
        """
        com
        *.ck
        !www.ck
        co.uk
        uk
        *.kobe.jp
        !city.kobe.jp
        jp
        公司.cn
        cn
        """)

    /// Names built from labels that are rules, wildcards' neighbours and exceptions, in every
    /// case, with empty labels, leading and trailing dots.
    static func names() -> [String] {
        let labels = ["com", "COM", "ck", "www", "WWW", "uk", "co", "kobe", "city", "jp", "cn", "xn--55qx5d", "example",
                      "a", "b-c", "", "*", "k12", "ak", "us", "mm", "blogspot", "github", "io", "amazonaws", "s3"]
        var rng = TestRandom(seed: 6)
        var out: [String] = []
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 5) + 1
            var parts: [String] = []
            for _ in 0..<n { parts.append(labels[Int(rng.next() % UInt64(labels.count))]) }
            var name = parts.joined(separator: ".")
            switch rng.next() % 8 {
            case 0: name += "."
            case 1: name = "." + name
            case 2: name += ".."
            default: break
            }
            out.append(name)
        }
        return out
    }

    @Test func sameAnswersAsTheStringPath() {
        var lists = [Self.inline]
        if let system = PublicSuffixList.system { lists.append(system) }
        let names = Self.names()
        for list in lists {
            var fast = 0
            for name in names {
                if list.asciiLookup(name, extra: 1) != nil { fast += 1 }
                #expect(list.registrableDomain(of: name) == list.generalRegistrableDomain(of: name), "\(name)")
                #expect(list.publicSuffix(of: name) == list.generalPublicSuffix(of: name), "\(name)")
            }
            // The byte path answered (it is not silently off).
            #expect(fast == names.count)
        }
    }
}
