#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
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
    /// The message's URLs (`Message.urls`) and the parses of the first ``covered`` of them
    /// (`Message.parsedURLs`): the analysis reads them in place and keeps no copy per URL.
    private let raws: [String]
    private let parsed: [ParsedURL?]
    /// The analyzed URLs (the first ``URLChecks/maxURLs`` URLs of the message that parse and have
    /// a host), in order: each URL's index in the message and its host's in ``hosts``, with the
    /// flags the checks read (no `AnalyzedURL` box per URL: ``urls`` makes those when asked).
    private let entries: [Entry]
    /// How many distinct host names (``AnalyzedURL/host``) the analyzed URLs have: the entries
    /// of the first URL of each are flagged (``URLItem/firstOfHost``), for the checks that read
    /// only the host.
    let distinctHostCount: Int
    /// Each distinct parsed host (`ParsedURL.host`) with its names.
    private let hosts: [Host]

    /// One analyzed URL: plain values, so that the array of them holds no reference.
    struct Entry {
        /// Its index in `Message.urls` (and in the parsed URLs).
        var url: Int32
        /// Its host's index in ``hosts``.
        var host: Int32
        /// ``URLItem`` flags: IP address, obfuscated IPv4, userinfo present, first URL of its
        /// host name.
        var flags: UInt8
    }

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
    var covered: Int { parsed.count }

    /// The indices in ``urls`` of the first URL of each distinct host name (``AnalyzedURL/host``).
    var distinctHostIndices: [Int] { entries.indices.filter { entries[$0].flags & URLItem.firstOfHost != 0 } }

    /// Whether values computed with `list` are these (the same list or a copy of it, or no list).
    func isMade(with list: PublicSuffixList?) -> Bool { Self.sameIdentity(listIdentity, list?.identity) }

    @inline(__always) static func sameIdentity(_ a: (any AnyObject & Sendable)?, _ b: (any AnyObject & Sendable)?) -> Bool {
        if let a, let b { return a === b }
        return a == nil && b == nil
    }

    /// For ``Fingerprinter/urlDomains(_:)``: the analyzed URLs (in URL order, so that a forward
    /// cursor finds each URL's host without a search per URL) and the hosts they index,
    /// read in place (no copy of a host's names).
    func withFingerprintEntries<R>(_ body: (UnsafeBufferPointer<Entry>, UnsafeBufferPointer<Host>) -> R) -> R {
        entries.withUnsafeBufferPointer { e in hosts.withUnsafeBufferPointer { h in body(e, h) } }
    }

    /// The analysis of `message`'s URLs kept with it for `list`, or a new one (then kept).
    static func of(_ message: Message, publicSuffixList list: PublicSuffixList?) -> URLAnalysis {
        if let kept = message.memoized(URLAnalysis.self), kept.isMade(with: list) { return kept }
        let made = URLAnalysis(message, publicSuffixList: list, identity: list?.identity)
        message.memoize(made)
        return made
    }

    /// ``of(_:publicSuffixList:)`` with the list of a rule environment, read in place (loading
    /// it out of the environment's box copied it: a retain and release of each of its tables).
    static func of(_ message: borrowing Message, in environment: RuleEnvironment.Storage) -> URLAnalysis {
        let identity = environment.publicSuffixList?.identity
        if let kept = message.memoized(URLAnalysis.self), sameIdentity(kept.listIdentity, identity) { return kept }
        let made = URLAnalysis(message, publicSuffixList: environment.publicSuffixList, identity: identity)
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
        var entries: [Entry] = []
        entries.reserveCapacity(n)
        var hosts: [Host] = []
        hosts.reserveCapacity(n)
        var distinct = 0
        // Parsed host names and ASCII names searched linearly while there are few, then through
        // the tables.
        var table: [String: Int32] = [:]
        var asciiTable: [String: Int32] = [:]
        let linear = SmallStringIndex.linearLimit
        parsed.withUnsafeBufferPointer { pb in
            for i in 0..<n {
                guard let p = pb[i] else { continue }
                // The host read once (each read of `ParsedURL.host` copies it out of the box).
                let pHost = p.host
                let pCount = pHost.utf8.count
                guard pCount > 0 else { continue }
                var h: Int32 = -1
                // (Through the buffers: the array's subscript would copy each host, four strings.)
                if hosts.count <= linear {
                    h = hosts.withUnsafeBufferPointer { hb in
                        // Lengths first (inline): most hosts differ in length, and `==` of two
                        // different strings is a call into the runtime.
                        for k in hb.indices where hb[k].key.utf8.count == pCount && hb[k].key == pHost { return Int32(k) }
                        return -1
                    }
                } else if let known = Self.lookUp(pHost, in: table) {
                    h = known
                }
                if h < 0 {
                    // A new host name: its names once per message.
                    h = Int32(hosts.count)
                    if let names = URLNormalizer.hostNames(p, publicSuffixList: list) {
                        var first = h
                        if hosts.count <= linear {
                            let asciiCount = names.ascii.utf8.count
                            first = hosts.withUnsafeBufferPointer { hb in
                                for k in hb.indices where hb[k].valid && hb[k].names.ascii.utf8.count == asciiCount
                                    && hb[k].names.ascii == names.ascii { return hb[k].sameASCII }
                                return h
                            }
                        } else if let known = Self.lookUp(names.ascii, in: asciiTable) {
                            first = known
                        }
                        hosts.append(Host(key: pHost, names: names, valid: true, sameASCII: first))
                    } else {
                        let none = URLNormalizer.HostNames(unicode: "", ascii: "", registrable: "", fromList: false, isIPAddress: false,
                                                           unicodeIsASCII: true)
                        hosts.append(Host(key: pHost, names: none, valid: false, sameASCII: -1))
                    }
                    if hosts.count > linear { Self.index(hosts, newest: h, linear: linear, &table, &asciiTable) }
                }
                let k = Int(h)
                guard hosts[k].valid else { continue }
                // What the checks read of the parse besides the host (`AnalyzedURL`'s flags).
                var flags: UInt8 = 0
                let first = Int(hosts[k].sameASCII)
                if !hosts[first].taken {
                    hosts[first].taken = true
                    distinct += 1
                    flags |= URLItem.firstOfHost
                }
                if p.isIPAddress { flags |= URLItem.ipAddress }
                if p.isObfuscatedIPv4 { flags |= URLItem.obfuscatedIP }
                if p.hasUserinfo { flags |= URLItem.hasUserinfo }
                entries.append(Entry(url: Int32(i), host: h, flags: flags))
            }
        }
        self.raws = raws
        self.parsed = parsed
        self.entries = entries
        self.distinctHostCount = distinct
        self.hosts = hosts
    }

    /// The tables of a message with more host names than the linear search keeps (rare): out of
    /// line, so that the dictionaries' code does not sit between the initializer's hot steps
    /// (2,969 bytes of code, about 23 instruction-cache misses a message, before).
    @inline(never) static func lookUp(_ name: String, in table: [String: Int32]) -> Int32? { table[name] }

    /// Adds the newest host (`h`) to the tables, or all of them when there are just more than `linear`.
    @inline(never) static func index(_ hosts: [Host], newest h: Int32, linear: Int, _ table: inout [String: Int32],
                                     _ asciiTable: inout [String: Int32]) {
        @inline(__always) func add(_ k: Int) {
            table[hosts[k].key] = Int32(k)
            if hosts[k].valid, asciiTable[hosts[k].names.ascii] == nil { asciiTable[hosts[k].names.ascii] = hosts[k].sameASCII }
        }
        if hosts.count == linear + 1 {
            for k in hosts.indices { add(k) }
        } else {
            add(Int(h))
        }
    }

    /// How many URLs were analyzed (``urls``'s count, without making them).
    var count: Int { entries.count }

    /// The analyzed URLs, made when read (each time: read once per use). The checks read the
    /// URLs in place instead (``forEach(hosts:_:)``).
    var urls: [AnalyzedURL] {
        var out: [AnalyzedURL] = []
        out.reserveCapacity(entries.count)
        forEach(hosts: false) { u in
            out.append(u.analyzed)
            return false
        }
        return out
    }

    /// ``AnalyzedURL/normalized`` of each of ``urls``, in order.
    func normalizedURLs() -> [String] {
        var out: [String] = []
        out.reserveCapacity(entries.count)
        forEach(hosts: false) { u in
            out.append(u.normalized)
            return false
        }
        return out
    }

    /// Calls `body` with each analyzed URL in order (`hosts`: only the first URL of each distinct
    /// host name, ``distinctHostIndices``), read in place, until it returns true.
    @inline(__always) func forEach(hosts onlyHosts: Bool, _ body: (URLItem) -> Bool) {
        raws.withUnsafeBufferPointer { rb in
            parsed.withUnsafeBufferPointer { pb in
                hosts.withUnsafeBufferPointer { hb in
                    entries.withUnsafeBufferPointer { eb in
                        guard let r = rb.baseAddress, let p = pb.baseAddress, let h = hb.baseAddress else { return }
                        @inline(__always) func item(_ k: Int) -> URLItem {
                            let e = eb[k]
                            return URLItem(rawPointer: r + Int(e.url), parsedPointer: p + Int(e.url), hostPointer: h + Int(e.host),
                                           flags: e.flags)
                        }
                        if onlyHosts {
                            for k in eb.indices where eb[k].flags & URLItem.firstOfHost != 0 && body(item(k)) { return }
                        } else {
                            for k in eb.indices where body(item(k)) { return }
                        }
                    }
                }
            }
        }
    }

    /// The options of up to three URLs for which `option` gives one (`hosts`: the first URL of
    /// each distinct host name only); nil when none does.
    func options(hosts onlyHosts: Bool, _ option: (URLItem) -> String?) -> [String]? {
        var out: [String] = []
        forEach(hosts: onlyHosts) { u in
            if let o = option(u) { out.append(o) }
            return out.count >= 3
        }
        return out.isEmpty ? nil : out
    }

    /// The normalized form of the first URL whose normalized form's last `count` bytes (all of
    /// them when it is shorter) satisfy `test`: for `uri` patterns decided by how a URL ends.
    func firstNormalized(tail count: Int, where test: (UnsafeBufferPointer<UInt8>) -> Bool) -> String? {
        var found: String? = nil
        forEach(hosts: false) { u in
            guard u.withNormalizedTail(count, test) else { return false }
            found = u.normalized
            return true
        }
        return found
    }
}

/// One analyzed URL of a ``URLAnalysis`` read in place: what ``AnalyzedURL`` holds, taken from
/// the message's URL, its parse and its host's names when read. Valid only inside the call that
/// lends it (``URLAnalysis/forEach(hosts:_:)``).
struct URLItem {
    static let ipAddress: UInt8 = 1
    static let obfuscatedIP: UInt8 = 2
    static let hasUserinfo: UInt8 = 4
    /// The first URL of its host name (``URLAnalysis/distinctHostIndices``).
    static let firstOfHost: UInt8 = 8

    let rawPointer: UnsafePointer<String>
    let parsedPointer: UnsafePointer<ParsedURL?>
    let hostPointer: UnsafePointer<URLAnalysis.Host>
    let flags: UInt8

    /// ``AnalyzedURL/host``.
    var host: String { hostPointer.pointee.names.ascii }
    /// ``AnalyzedURL/registrableDomain``.
    var registrableDomain: String { hostPointer.pointee.names.registrable }
    /// ``AnalyzedURL/unicodeHost``.
    var unicodeHost: String { hostPointer.pointee.names.unicode }
    var unicodeHostIsASCII: Bool { hostPointer.pointee.names.unicodeIsASCII }
    var isIPAddress: Bool { flags & Self.ipAddress != 0 }
    var isObfuscatedIP: Bool { flags & Self.obfuscatedIP != 0 }
    /// ``AnalyzedURL/userinfo``.
    var userinfo: String? { flags & Self.hasUserinfo != 0 ? parsedPointer.pointee.unsafelyUnwrapped.userinfo : nil }
    /// ``AnalyzedURL/path`` (percent-encoding normalized).
    var path: String { URLNormalizer.normalizePercent(parsedPointer.pointee.unsafelyUnwrapped.path) }
    /// ``AnalyzedURL/query`` (percent-encoding normalized).
    var query: String? { parsedPointer.pointee.unsafelyUnwrapped.query.map(URLNormalizer.normalizePercent) }

    /// This URL as an ``AnalyzedURL`` (a box of its own).
    var analyzed: AnalyzedURL {
        URLNormalizer.analyzed(rawPointer.pointee, parsedPointer.pointee.unsafelyUnwrapped, hostPointer.pointee.names)
    }
    /// ``AnalyzedURL/normalized``.
    var normalized: String { analyzed.normalized }

    /// Calls `body` with the UTF-8 bytes of ``host`` and of ``registrableDomain``.
    @inline(__always) func withHostBytes<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> R) -> R {
        var h = host, d = registrableDomain
        return h.withUTF8 { h in d.withUTF8 { d in body(h, d) } }
    }

    /// ``AnalyzedURL/withNormalizedTail(_:_:)``: the normalized form's last `count` bytes.
    func withNormalizedTail<R>(_ count: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let p = parsedPointer.pointee.unsafelyUnwrapped
        // Nearly always the last part (the query, else the path) holds the whole tail and has no
        // `%` (then percent normalization leaves it as it is): read in place.
        let last = p.query ?? p.path
        if let answer = last.utf8.withContiguousStorageIfAvailable({ b -> R? in
            guard b.count >= count, let base = b.baseAddress, memchr(base, 0x25, b.count) == nil else { return nil }
            return body(UnsafeBufferPointer(rebasing: b[(b.count - count)...]))
        }), let answer {
            return answer
        }
        return AnalyzedURL.Fields.withComposedTail(count, scheme: p.scheme, port: p.port, host: host,
                                                   path: URLNormalizer.normalizePercent(p.path),
                                                   query: p.query.map(URLNormalizer.normalizePercent), body)
    }
}

/// Limits of the linear searches of a message's host names (nearly always few) before a
/// dictionary takes over.
enum SmallStringIndex {
    static let linearLimit = 16
}
