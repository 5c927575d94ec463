import MailMessage

/// The options of the nine URL checks (``URLChecks/checks``) of one rule input, computed in one
/// pass over the message's ``URLAnalysis``: each analyzed URL read once for the URL checks
/// (redirector, numeric and obfuscated IP, userinfo) and the first URL of each distinct host name
/// once for the host checks (shortener, lookalike, brand subdomain, mixed script, blocklist).
/// Each check's closure only reads its answer (``RuleInput/urlCheckResults``).
///
/// Each answer is the one of the check's own loop (``URLChecks/referenceChecks``, the reference):
/// the same URLs in the same order, up to three options, each check no longer tested once it
/// has three. Before, each of the nine closures walked the analysis with its own loop (its own
/// code fetched again each message, 4-6 retains and releases each).
final class URLCheckResults: Sendable {
    let shortener: [String]?
    let redirector: [String]?
    let numericIP: [String]?
    let obfuscatedIP: [String]?
    let userinfo: [String]?
    let lookalike: [String]?
    let brandSubdomain: [String]?
    let mixedScript: [String]?
    let blocklisted: [String]?

    /// The answers of `input`'s URL checks. A message none of them hits (most) shares one
    /// instance: nothing is allocated or freed for it.
    static func of(_ input: RuleInput) -> URLCheckResults {
        let analysis = input.urlAnalysis
        guard analysis.count > 0 else { return none }
        var r = Options()
        pass(analysis, input.environment.storage, &r)
        if r.shortener == nil && r.redirector == nil && r.numericIP == nil && r.obfuscatedIP == nil && r.userinfo == nil
            && r.lookalike == nil && r.brandSubdomain == nil && r.mixedScript == nil && r.blocklisted == nil
        {
            return none
        }
        return URLCheckResults(r)
    }

    /// The answers of a message that no URL check hits.
    static let none = URLCheckResults(Options())

    private init(_ r: Options) {
        shortener = r.shortener
        redirector = r.redirector
        numericIP = r.numericIP
        obfuscatedIP = r.obfuscatedIP
        userinfo = r.userinfo
        lookalike = r.lookalike
        brandSubdomain = r.brandSubdomain
        mixedScript = r.mixedScript
        blocklisted = r.blocklisted
    }

    /// The answers while they are made (nil: no option yet; nothing to allocate or free for a
    /// check that does not hit).
    struct Options {
        var shortener: [String]? = nil, redirector: [String]? = nil, numericIP: [String]? = nil
        var obfuscatedIP: [String]? = nil, userinfo: [String]? = nil, lookalike: [String]? = nil
        var brandSubdomain: [String]? = nil, mixedScript: [String]? = nil, blocklisted: [String]? = nil
    }

    /// Whether `out` can take another option (fewer than three).
    @inline(__always) static func open(_ out: [String]?) -> Bool { (out?.count ?? 0) < 3 }

    /// The one pass over the analyzed URLs of a message that has some. The environment's tables
    /// are read in place (not copied out of their box: a retain and a release of each).
    static func pass(_ analysis: URLAnalysis, _ environment: RuleEnvironment.Storage, _ r: inout Options) {
        let hostCount = analysis.distinctHostCount
        // An empty list (the default) lists nothing: its names are not read.
        let listing = !environment.uriBlocklist.isEmpty
        var answers = URLChecks.LookalikeAnswers()
        analysis.forEach(hosts: false) { u in
            // The URL checks.
            if open(r.redirector), URLChecks.isRedirect(u) { appendNormalized(&r.redirector, u) }
            if u.isObfuscatedIP {
                if open(r.obfuscatedIP) { appendNormalized(&r.obfuscatedIP, u) }
            } else if u.isIPAddress, open(r.numericIP) {
                appendNormalized(&r.numericIP, u)
            }
            if u.flags & URLItem.hasUserinfo != 0, open(r.userinfo), userinfoLooksLikeHost(u) { appendNormalized(&r.userinfo, u) }
            // The host checks, on the first URL of each host name.
            guard u.flags & URLItem.firstOfHost != 0 else { return false }
            // The host's and registrable domain's bytes read once for the shortener, lookalike
            // and brand-subdomain checks.
            let names = open(r.shortener) || (!u.isIPAddress && (open(r.lookalike) || open(r.brandSubdomain)))
            if names {
                u.withHostBytes { host, domain in
                    if open(r.shortener), isShortener(u, host, domain, environment) { appendNormalized(&r.shortener, u) }
                    guard !u.isIPAddress else { return }
                    let brands = environment.brands
                    if open(r.lookalike) {
                        let brand = hostCount == 1
                            ? brands.lookalike(registrableDomain: u.registrableDomain, bytes: domain)
                            : answers.brand(of: u.registrableDomain, hostCount: hostCount, brands)
                        if let brand { appendLookalike(&r.lookalike, u, brand) }
                    }
                    // (``BrandList/brandInSubdomain(isIPAddress:host:registrableDomain:)`` on the bytes.)
                    if open(r.brandSubdomain), host.count > domain.count {
                        let subLength = host.count - domain.count - 1
                        if subLength >= brands.shortestSubdomainNamingABrand,
                            let brand = brands.brandInSubdomain(UnsafeBufferPointer(rebasing: host[0..<subLength]),
                                                                registrableDomain: u.registrableDomain)
                        {
                            appendNamed(&r.brandSubdomain, u, brand)
                        }
                    }
                }
            }
            if open(r.mixedScript), !u.unicodeHostIsASCII, hostMixesScripts(u) { appendNormalized(&r.mixedScript, u) }
            if listing, open(r.blocklisted) { appendListed(&r.blocklisted, u, environment.uriBlocklist) }
            return false
        }
    }

    /// `url_shortener`'s test of a host (``URLChecks/shortenerOptions(_:)``'s) whose name and
    /// registrable domain have the UTF-8 bytes `host` and `domain`: names the filter rules out
    /// (most: no shortener has their length and first byte) are not hashed.
    static func isShortener(_ u: URLItem, _ host: UnsafeBufferPointer<UInt8>, _ domain: UnsafeBufferPointer<UInt8>,
                            _ environment: RuleEnvironment.Storage) -> Bool {
        if environment.shortenerFilter.mayContain(host), URLChecks.isShortener(u.host, environment.shorteners) { return true }
        guard !(domain.count == host.count && domain.elementsEqual(host)), environment.shortenerFilter.mayContain(domain) else {
            return false
        }
        return URLChecks.isShortener(registrableDomainOf: u, environment.shorteners)
    }

    /// The answer of the check named `name` (one of ``URLChecks/checks``' names).
    func options(of name: String) -> [String]? {
        switch name {
        case "url_shortener": shortener
        case "url_redirector": redirector
        case "url_numeric_ip": numericIP
        case "url_obfuscated_ip": obfuscatedIP
        case "url_userinfo": userinfo
        case "url_lookalike": lookalike
        case "url_brand_subdomain": brandSubdomain
        case "url_mixed_script": mixedScript
        case "url_blocklisted": blocklisted
        default: nil
        }
    }

    // What is rare (a hit's option, a userinfo, a non-ASCII host, a listed name) is out of line,
    // so that the pass over a message's URLs runs through compact code.

    @inline(__always) static func add(_ out: inout [String]?, _ option: String) {
        if out == nil { out = [option] } else { out!.append(option) }
    }

    @inline(never) static func appendNormalized(_ out: inout [String]?, _ u: URLItem) {
        add(&out, u.normalized)
    }

    @inline(never) static func appendLookalike(_ out: inout [String]?, _ u: URLItem, _ brand: String) {
        add(&out, "\(u.unicodeHost) looks like \(brand)")
    }

    @inline(never) static func appendNamed(_ out: inout [String]?, _ u: URLItem, _ brand: String) {
        add(&out, "\(u.host) names \(brand)")
    }

    @inline(never) static func appendListed(_ out: inout [String]?, _ u: URLItem, _ list: URIBlocklist) {
        if let name = list.listedName(host: u.host, registrableDomain: u.registrableDomain, isIPAddress: u.isIPAddress) {
            add(&out, "\(u.host) (\(name))")
        }
    }

    /// `url_userinfo`'s test of a URL with a userinfo.
    @inline(never) static func userinfoLooksLikeHost(_ u: URLItem) -> Bool {
        u.userinfo.map(URLChecks.userinfoLooksLikeHost) ?? false
    }

    /// `url_mixed_script`'s test of a host whose Unicode name is not ASCII.
    @inline(never) static func hostMixesScripts(_ u: URLItem) -> Bool {
        u.unicodeHost.split(separator: ".").contains { TextChecks.isMixedScript($0.unicodeScalars) }
    }
}
