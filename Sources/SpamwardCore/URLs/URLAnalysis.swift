import MailAuth
import MailMessage

/// The URLs of one message as the rules read them (``AnalyzedURL``s), with each distinct host's
/// names and registrable domain: made once per message and Public Suffix List, and kept with the
/// message (`Message.memoize`) so that the rules of a later scan and the fingerprint
/// (``Fingerprinter/urlDomains(_:)``) take them instead of computing them again. The URLs are
/// parsed by `Message.parsedURLs`, which the feature extractor reads too.
final class URLAnalysis: Sendable {
    /// The identity of the list the registrable domains come from (`PublicSuffixList.identity`).
    let listIdentity: (any AnyObject & Sendable)?
    /// The first ``URLChecks/maxURLs`` URLs of the message that parse and have a host, analyzed.
    let urls: [AnalyzedURL]
    /// The indices in ``urls`` of the first URL of each distinct host name (``AnalyzedURL/host``),
    /// for the checks that read only the host.
    let distinctHostIndices: [Int]
    /// For each of the first ``covered`` URLs of the message (`Message.urls`), the index of its
    /// host in ``hosts``, or -1 when it was not analyzed (no parse, no host).
    private let hostOfURL: [Int32]
    /// The names of each distinct parsed host (`ParsedURL.host`).
    private let hosts: [URLNormalizer.HostNames]

    /// How many of the message's URLs were read.
    var covered: Int { hostOfURL.count }

    /// Whether values computed with `list` are these (the same list or a copy of it, or no list).
    func isMade(with list: PublicSuffixList?) -> Bool { Self.sameIdentity(listIdentity, list?.identity) }

    @inline(__always) static func sameIdentity(_ a: (any AnyObject & Sendable)?, _ b: (any AnyObject & Sendable)?) -> Bool {
        if let a, let b { return a === b }
        return a == nil && b == nil
    }

    /// The names of the host of the message's URL at `index`, when it was analyzed.
    func hostNames(ofURL index: Int) -> URLNormalizer.HostNames? {
        guard index < hostOfURL.count else { return nil }
        let h = hostOfURL[index]
        return h >= 0 ? hosts[Int(h)] : nil
    }

    /// For ``Fingerprinter/urlDomains(_:)``: the ASCII host of the message's URL at `index` and,
    /// when the list gave it, its registrable domain; only when that host is the fingerprint's
    /// (`url[range]` lower-cased, ``Fingerprinter/isHost(_:_:named:)``) and not an IP address.
    func fingerprintHost(ofURL index: Int, _ url: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> (host: String, domain: String?)? {
        guard index < hostOfURL.count else { return nil }
        let h = Int(hostOfURL[index])
        guard h >= 0, !hosts[h].isIPAddress, Fingerprinter.isHost(url, range, named: hosts[h].ascii) else { return nil }
        return (hosts[h].ascii, hosts[h].fromList ? hosts[h].registrable : nil)
    }

    /// The analysis of `message`'s URLs kept with it for `list`, or a new one (then kept).
    static func of(_ message: Message, publicSuffixList list: PublicSuffixList?) -> URLAnalysis {
        if let kept = message.memoized(URLAnalysis.self), kept.isMade(with: list) { return kept }
        let made = URLAnalysis(message, publicSuffixList: list)
        message.memoize(made)
        return made
    }

    /// What ``RuleInput/urls`` computed URL by URL: the first ``URLChecks/maxURLs`` URLs of the
    /// message (distinct: the parser keeps no two equal strings), each host's names computed once.
    init(_ message: Message, publicSuffixList list: PublicSuffixList?) {
        listIdentity = list?.identity
        let raws = message.urls
        let parsed = message.parsedURLs(URLChecks.maxURLs)
        let n = parsed.count
        var urls: [AnalyzedURL] = []
        urls.reserveCapacity(n)
        var hostOfURL = [Int32](repeating: -1, count: n)
        var hosts: [URLNormalizer.HostNames] = []
        hosts.reserveCapacity(n)
        var distinct: [Int] = []
        distinct.reserveCapacity(n)
        // Each distinct parsed host name (`ParsedURL.host`, the key of the names) and the index
        // of its names in `hosts` (-1: none, nothing left after the trailing dots); searched
        // linearly while there are few, then through `table`.
        var seenKeys: [String] = []
        seenKeys.reserveCapacity(n)
        var seenHosts: [Int32] = []
        seenHosts.reserveCapacity(n)
        var table: [String: Int32] = [:]
        // Per host: the first host with the same ASCII name (``AnalyzedURL/host``), whose first URL
        // is the one ``distinctHostIndices`` keeps; and whether it was kept.
        var sameASCII: [Int32] = []
        sameASCII.reserveCapacity(n)
        var asciiTable: [String: Int32] = [:]
        var kept = [Bool](repeating: false, count: n)
        let linear = SmallStringIndex.linearLimit
        for i in 0..<n {
            guard let p = parsed[i], !p.host.isEmpty else { continue }
            var h: Int32 = -2
            if seenKeys.count <= linear {
                for k in seenKeys.indices where seenKeys[k] == p.host {
                    h = seenHosts[k]
                    break
                }
            } else if let known = table[p.host] {
                h = known
            }
            if h == -2 {
                // A new host name: its names once per message.
                if let names = URLNormalizer.hostNames(p, publicSuffixList: list) {
                    h = Int32(hosts.count)
                    var first = h
                    if hosts.count <= linear {
                        for k in hosts.indices where hosts[k].ascii == names.ascii {
                            first = sameASCII[k]
                            break
                        }
                    } else if let known = asciiTable[names.ascii] {
                        first = known
                    }
                    hosts.append(names)
                    sameASCII.append(first)
                    if hosts.count > linear {
                        if asciiTable.isEmpty {
                            for k in hosts.indices where asciiTable[hosts[k].ascii] == nil { asciiTable[hosts[k].ascii] = sameASCII[k] }
                        } else if asciiTable[names.ascii] == nil {
                            asciiTable[names.ascii] = first
                        }
                    }
                } else {
                    h = -1
                }
                seenKeys.append(p.host)
                seenHosts.append(h)
                if seenKeys.count > linear {
                    if table.isEmpty {
                        for k in seenKeys.indices { table[seenKeys[k]] = seenHosts[k] }
                    } else {
                        table[p.host] = h
                    }
                }
            }
            guard h >= 0 else { continue }
            hostOfURL[i] = h
            let first = Int(sameASCII[Int(h)])
            if !kept[first] {
                kept[first] = true
                distinct.append(urls.count)
            }
            urls.append(URLNormalizer.analyzed(raws[i], p, hosts[Int(h)]))
        }
        self.urls = urls
        self.distinctHostIndices = distinct
        self.hostOfURL = hostOfURL
        self.hosts = hosts
    }
}

/// Limits of the linear searches of a message's host names (nearly always few) before a
/// dictionary takes over.
enum SmallStringIndex {
    static let linearLimit = 16
}
