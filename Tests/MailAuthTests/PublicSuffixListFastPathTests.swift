import Foundation
@testable import MailAuth
import SpamwardTestSupport
import Testing

/// The byte path of ASCII lookups (`asciiLookup`) gives the answers of the `String` path.
@Suite("Public Suffix List byte path")
struct PublicSuffixListFastPathTests {
    static let inline = PublicSuffixList(inlineText)
    static let inlineText =
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
        """

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

    /// A name with a non-ASCII byte anywhere (beside empty labels, leading or trailing dots too)
    /// is left to the general steps (the byte path checks ASCII in its label pass), and answered
    /// as they answer it.
    @Test func nonASCIINamesTakeTheGeneralPath() {
        var lists = [Self.inline]
        if let system = PublicSuffixList.system { lists.append(system) }
        let labels = ["com", "cn", "公司", "bücher", "ü", "", "jp", "kobe", "example", "WWW", "é.", "x"]
        var rng = TestRandom(seed: 61)
        var names: [String] = []
        for _ in 0..<5_000 {
            let n = Int(rng.next() % 5) + 1
            var parts: [String] = []
            for _ in 0..<n { parts.append(labels[Int(rng.next() % UInt64(labels.count))]) }
            var name = parts.joined(separator: ".")
            switch rng.next() % 6 {
            case 0: name += "."
            case 1: name = "." + name
            case 2: name += ".."
            default: break
            }
            names.append(name)
        }
        for list in lists {
            for name in names {
                let ascii = name.utf8.allSatisfy { $0 < 0x80 }
                #expect((list.asciiLookup(name, extra: 1) != nil) == ascii, "\(name)")
                #expect(list.registrableDomain(of: name) == list.generalRegistrableDomain(of: name), "\(name)")
                #expect(list.publicSuffix(of: name) == list.generalPublicSuffix(of: name), "\(name)")
            }
        }
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

    /// The byte trie keeps only the top bits of each edge key (a tag) beside the child: with few
    /// or no tag bits every probe matches a tag, and the parent and label checks alone must give
    /// the same answers (and the byte path must still answer every ASCII name).
    @Test func collidingTagsGiveTheSameAnswers() throws {
        var texts = [(Self.inlineText, "inline")]
        if let system = try? String(contentsOfFile: PublicSuffixList.systemPath, encoding: .utf8) { texts.append((system, "system")) }
        let names = Self.names() + ["www.example.com", "a.b.city.kobe.jp", "x.www.ck", "foo.co.uk", "s3.amazonaws.com",
                                    "user.github.io", "a.blogspot.co.uk", "example.xn--55qx5d.cn"]
        for (text, label) in texts {
            let full = PublicSuffixList(text)
            for bits in [0, 1, 3] {
                let narrow = PublicSuffixList(text, maxTagBits: bits)
                var fast = 0
                for name in names {
                    if narrow.asciiLookup(name, extra: 1) != nil { fast += 1 }
                    #expect(narrow.registrableDomain(of: name) == full.registrableDomain(of: name), "\(label) \(bits) \(name)")
                    #expect(narrow.publicSuffix(of: name) == full.generalPublicSuffix(of: name), "\(label) \(bits) \(name)")
                }
                #expect(fast == names.count)
            }
        }
    }
}
