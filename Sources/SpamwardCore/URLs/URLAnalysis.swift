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
        // Per parsed host name (the key of the names): the index in `hosts`, or -1 when it has
        // none (nothing left after the trailing dots).
        var parsedHosts = SmallStringIndex()
        var hostIndexOfParsed: [Int32] = []
        // Per distinct ASCII host: whether a URL with it was taken into `distinctHostIndices`.
        var asciiHosts = SmallStringIndex()
        var asciiOfHost: [Int] = []
        var asciiTaken: [Bool] = []
        var distinct: [Int] = []
        for i in 0..<n {
            guard let p = parsed[i], !p.host.isEmpty else { continue }
            let h: Int32
            if let k = parsedHosts.find(p.host) {
                h = hostIndexOfParsed[k]
            } else {
                if let names = URLNormalizer.hostNames(p, publicSuffixList: list) {
                    h = Int32(hosts.count)
                    hosts.append(names)
                    let a: Int
                    if let known = asciiHosts.find(names.ascii) {
                        a = known
                    } else {
                        a = asciiHosts.insert(names.ascii)
                        asciiTaken.append(false)
                    }
                    asciiOfHost.append(a)
                } else {
                    h = -1
                }
                _ = parsedHosts.insert(p.host)
                hostIndexOfParsed.append(h)
            }
            guard h >= 0 else { continue }
            hostOfURL[i] = h
            let a = asciiOfHost[Int(h)]
            if !asciiTaken[a] {
                asciiTaken[a] = true
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

/// The index of each of a few strings, in order of insertion: a linear search while there are
/// at most 16 (a message's host names, nearly always), then a dictionary. `String` equality, as
/// a `Dictionary` or `Set` of them would use.
struct SmallStringIndex {
    private var keys: [String] = []
    private var table: [String: Int] = [:]
    static let linearLimit = 16

    func find(_ s: String) -> Int? {
        if keys.count <= Self.linearLimit {
            for i in keys.indices where keys[i] == s { return i }
            return nil
        }
        return table[s]
    }

    /// Adds `s` (not already there); returns its index.
    mutating func insert(_ s: String) -> Int {
        let i = keys.count
        keys.append(s)
        if keys.count == Self.linearLimit + 1 {
            table.reserveCapacity(2 * keys.count)
            for k in keys.indices { table[keys[k]] = k }
        } else if keys.count > Self.linearLimit + 1 {
            table[s] = i
        }
        return i
    }
}
