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
    /// Each distinct parsed host (`ParsedURL.host`) with its names.
    private let hosts: [Host]

    struct Host {
        /// `ParsedURL.host`.
        var key: String
        /// Its names; unused when `valid` is false (nothing left after the trailing dots).
        var names: URLNormalizer.HostNames
        var valid: Bool
        /// The first host with the same ASCII name (``AnalyzedURL/host``), whose first URL is the
        /// one ``distinctHostIndices`` keeps.
        var sameASCII: Int32
        /// Whether a URL with this ASCII name was taken into ``distinctHostIndices``.
        var taken = false
    }

    /// How many of the message's URLs were read.
    var covered: Int { hostOfURL.count }

    /// Whether values computed with `list` are these (the same list or a copy of it, or no list).
    func isMade(with list: PublicSuffixList?) -> Bool { Self.sameIdentity(listIdentity, list?.identity) }

    @inline(__always) static func sameIdentity(_ a: (any AnyObject & Sendable)?, _ b: (any AnyObject & Sendable)?) -> Bool {
        if let a, let b { return a === b }
        return a == nil && b == nil
    }

    /// For ``Fingerprinter/urlDomains(_:)``: the ASCII host of the message's URL at `index` and,
    /// when the list gave it, its registrable domain; only when that host is the fingerprint's
    /// (`url[range]` lower-cased, ``Fingerprinter/isHost(_:_:named:)``) and not an IP address.
    func fingerprintHost(ofURL index: Int, _ url: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> (host: String, domain: String?)? {
        guard index < hostOfURL.count else { return nil }
        let h = Int(hostOfURL[index])
        guard h >= 0 else { return nil }
        // Through the buffer: the array's subscript would copy the names (three strings).
        return hosts.withUnsafeBufferPointer { hosts in
            let names = hosts[h].names
            guard !names.isIPAddress, Fingerprinter.isHost(url, range, named: names.ascii) else { return nil }
            return (names.ascii, names.fromList ? names.registrable : nil)
        }
    }

    /// The analysis of `message`'s URLs kept with it for `list`, or a new one (then kept).
    static func of(_ message: Message, publicSuffixList list: PublicSuffixList?) -> URLAnalysis {
        if let kept = message.memoized(URLAnalysis.self), kept.isMade(with: list) { return kept }
        let made = URLAnalysis(message, publicSuffixList: list, identity: list?.identity)
        message.memoize(made)
        return made
    }

    /// What ``RuleInput/urls`` computed URL by URL: the first ``URLChecks/maxURLs`` URLs of the
    /// message (distinct: the parser keeps no two equal strings), each host's names computed once.
    convenience init(_ message: Message, publicSuffixList list: PublicSuffixList?) {
        self.init(message, publicSuffixList: list, identity: list?.identity)
    }

    /// ``init(_:publicSuffixList:)`` given the list's identity, with borrowed parameters (an
    /// initializer's are owned: ``of(_:publicSuffixList:)`` copied the message and the list to
    /// pass them, a retain and a release of each of their arrays).
    init(_ message: borrowing Message, publicSuffixList list: borrowing PublicSuffixList?,
         identity: (any AnyObject & Sendable)?) {
        listIdentity = identity
        let raws = message.urls
        let parsed = message.parsedURLs(URLChecks.maxURLs)
        let n = parsed.count
        var urls: [AnalyzedURL] = []
        urls.reserveCapacity(n)
        var hostOfURL = [Int32](repeating: -1, count: n)
        var hosts: [Host] = []
        hosts.reserveCapacity(n)
        var distinct: [Int] = []
        distinct.reserveCapacity(n)
        // Parsed host names and ASCII names searched linearly while there are few, then through
        // the tables.
        var table: [String: Int32] = [:]
        var asciiTable: [String: Int32] = [:]
        let linear = SmallStringIndex.linearLimit
        for i in 0..<n {
            guard let p = parsed[i] else { continue }
            // The host read once (each read of `ParsedURL.host` copies it out of the box).
            let pHost = p.host
            guard !pHost.isEmpty else { continue }
            var h: Int32 = -1
            // (Through the buffers: the array's subscript would copy each host, four strings.)
            if hosts.count <= linear {
                h = hosts.withUnsafeBufferPointer { hb in
                    for k in hb.indices where hb[k].key == pHost { return Int32(k) }
                    return -1
                }
            } else if let known = table[pHost] {
                h = known
            }
            if h < 0 {
                // A new host name: its names once per message.
                h = Int32(hosts.count)
                if let names = URLNormalizer.hostNames(p, publicSuffixList: list) {
                    var first = h
                    if hosts.count <= linear {
                        first = hosts.withUnsafeBufferPointer { hb in
                            for k in hb.indices where hb[k].valid && hb[k].names.ascii == names.ascii { return hb[k].sameASCII }
                            return h
                        }
                    } else if let known = asciiTable[names.ascii] {
                        first = known
                    }
                    hosts.append(Host(key: pHost, names: names, valid: true, sameASCII: first))
                } else {
                    let none = URLNormalizer.HostNames(unicode: "", ascii: "", registrable: "", fromList: false, isIPAddress: false,
                                                       unicodeIsASCII: true)
                    hosts.append(Host(key: pHost, names: none, valid: false, sameASCII: -1))
                }
                if hosts.count == linear + 1 {
                    for k in hosts.indices {
                        table[hosts[k].key] = Int32(k)
                        if hosts[k].valid, asciiTable[hosts[k].names.ascii] == nil { asciiTable[hosts[k].names.ascii] = hosts[k].sameASCII }
                    }
                } else if hosts.count > linear + 1 {
                    let k = Int(h)
                    table[hosts[k].key] = h
                    if hosts[k].valid, asciiTable[hosts[k].names.ascii] == nil { asciiTable[hosts[k].names.ascii] = hosts[k].sameASCII }
                }
            }
            let k = Int(h)
            guard hosts[k].valid else { continue }
            hostOfURL[i] = h
            let first = Int(hosts[k].sameASCII)
            if !hosts[first].taken {
                hosts[first].taken = true
                distinct.append(urls.count)
            }
            urls.append(hosts.withUnsafeBufferPointer { URLNormalizer.analyzed(raws[i], p, $0[k].names) })
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
