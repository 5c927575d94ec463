import MailMessage

/// The URL signals of the built-in rules (each an `eval` check whose options name the URL).
public enum URLChecks {
    /// URLs of a message that are analyzed.
    public static let maxURLs = 200

    /// Host names of well-known URL shorteners (matched on the host and the registrable domain).
    public static let shorteners: Set<String> = [
        "bit.ly", "bitly.com", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "v.gd", "buff.ly", "rebrand.ly",
        "cutt.ly", "shorturl.at", "tiny.cc", "t.ly", "rb.gy", "s.id", "lnkd.in", "x.co", "tr.im", "snip.ly", "bl.ink",
        "short.io", "shorte.st", "adf.ly", "po.st", "soo.gd", "clck.ru", "u.to", "cli.re", "qr.net", "1url.com",
        "tiny.pl", "urlz.fr", "shorturl.com", "youtu.be", "db.tt", "qrco.de", "lc.chat", "2.gp", "bc.vc", "ouo.io",
    ]

    static let checks: [String: BuiltinRules.Check] = [
        "url_shortener": BuiltinRules.Check { input in
            first(input) { input.environment.shorteners.contains($0.host) || input.environment.shorteners.contains($0.registrableDomain) }
        },
        "url_redirector": BuiltinRules.Check { input in first(input, isRedirect) },
        "url_numeric_ip": BuiltinRules.Check { input in first(input) { $0.isIPAddress && !$0.isObfuscatedIP } },
        "url_obfuscated_ip": BuiltinRules.Check { input in first(input) { $0.isObfuscatedIP } },
        "url_userinfo": BuiltinRules.Check { input in
            // A user name that looks like a host name ("paypal.com@evil.example"), or any password.
            first(input) { u in u.userinfo.map { $0.contains(".") || $0.contains(":") } ?? false }
        },
        "url_lookalike": BuiltinRules.Check { input in
            firstOption(input) { u in input.environment.brands.lookalike(of: u).map { "\(u.unicodeHost) looks like \($0)" } }
        },
        "url_brand_subdomain": BuiltinRules.Check { input in
            firstOption(input) { u in input.environment.brands.brandInSubdomain(u).map { "\(u.host) names \($0)" } }
        },
        "url_mixed_script": BuiltinRules.Check { input in
            first(input) { u in
                u.unicodeHost.split(separator: ".").contains { TextChecks.isMixedScript($0.unicodeScalars) }
            }
        },
        "url_blocklisted": BuiltinRules.Check { input in
            firstOption(input) { u in input.environment.uriBlocklist.listedName(for: u).map { "\(u.host) (\($0))" } }
        },
    ]

    static func first(_ input: RuleInput, _ test: (AnalyzedURL) -> Bool) -> [String]? {
        firstOption(input) { test($0) ? $0.normalized : nil }
    }

    /// The options of up to three URLs that hit.
    static func firstOption(_ input: RuleInput, _ option: (AnalyzedURL) -> String?) -> [String]? {
        var out: [String] = []
        for u in input.urls {
            if let o = option(u) {
                out.append(o)
                if out.count >= 3 { break }
            }
        }
        return out.isEmpty ? nil : out
    }

    /// An open redirect: a query parameter or a path segment that is itself an http(s) URL.
    public static func isRedirect(_ u: AnalyzedURL) -> Bool {
        if let q = u.query {
            for pair in q.split(separator: "&") {
                guard let eq = pair.firstIndex(of: "=") else { continue }
                let v = URLNormalizer.percentDecoded(pair[pair.index(after: eq)...]).lowercased()
                if v.hasPrefix("http://") || v.hasPrefix("https://") || v.hasPrefix("//") { return true }
            }
        }
        let p = URLNormalizer.percentDecoded(Substring(u.path)).lowercased()
        return p.contains("/http://") || p.contains("/https://") || p.contains("/http:/") || p.contains("/https:/")
    }
}

/// Brands whose domains phishing imitates, and the domains that really are theirs.
public struct BrandList: Sendable {
    public struct Brand: Sendable, Hashable {
        /// The name as it appears in domains (`paypal`).
        public var name: String
        /// Registrable domains that belong to the brand.
        public var domains: Set<String>
        public init(name: String, domains: Set<String>) {
            self.name = name
            self.domains = domains
        }
    }

    public var brands: [Brand]
    let skeletons: [String: Int]

    public init(_ brands: [Brand]) {
        self.brands = brands
        var s: [String: Int] = [:]
        for (i, b) in brands.enumerated() { s[Self.skeleton(b.name)] = i }
        skeletons = s
    }

    public static let `default` = BrandList([
        Brand(name: "paypal", domains: ["paypal.com", "paypal.me", "paypalobjects.com", "paypal.de", "paypal.co.uk"]),
        Brand(name: "apple", domains: ["apple.com", "icloud.com", "me.com"]),
        Brand(name: "icloud", domains: ["icloud.com", "apple.com"]),
        Brand(name: "amazon", domains: ["amazon.com", "amazon.de", "amazon.co.uk", "amazon.fr", "amazon.co.jp", "amazonaws.com", "amazon.es", "amazon.it"]),
        Brand(name: "microsoft", domains: ["microsoft.com", "live.com", "office.com", "outlook.com", "microsoftonline.com"]),
        Brand(name: "office365", domains: ["office.com", "microsoft.com"]),
        Brand(name: "outlook", domains: ["outlook.com", "microsoft.com", "live.com"]),
        Brand(name: "google", domains: ["google.com", "gmail.com", "googleusercontent.com", "google.de", "google.co.uk"]),
        Brand(name: "gmail", domains: ["gmail.com", "google.com"]),
        Brand(name: "netflix", domains: ["netflix.com"]),
        Brand(name: "facebook", domains: ["facebook.com", "fb.com", "facebookmail.com"]),
        Brand(name: "instagram", domains: ["instagram.com"]),
        Brand(name: "linkedin", domains: ["linkedin.com"]),
        Brand(name: "ebay", domains: ["ebay.com", "ebay.de", "ebay.co.uk"]),
        Brand(name: "dhl", domains: ["dhl.com", "dhl.de"]),
        Brand(name: "fedex", domains: ["fedex.com"]),
        Brand(name: "chase", domains: ["chase.com", "jpmorganchase.com"]),
        Brand(name: "wellsfargo", domains: ["wellsfargo.com"]),
        Brand(name: "bankofamerica", domains: ["bankofamerica.com"]),
        Brand(name: "citibank", domains: ["citibank.com", "citi.com"]),
        Brand(name: "dropbox", domains: ["dropbox.com"]),
        Brand(name: "docusign", domains: ["docusign.com", "docusign.net"]),
        Brand(name: "coinbase", domains: ["coinbase.com"]),
        Brand(name: "binance", domains: ["binance.com"]),
        Brand(name: "adobe", domains: ["adobe.com"]),
        Brand(name: "yahoo", domains: ["yahoo.com", "yahoo.co.jp", "yahoo.de"]),
    ])

    /// Confusable characters folded to one representative (after lower-casing).
    static let confusables: [Unicode.Scalar: String] = [
        "0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s",
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "l", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ɡ": "g", "ο": "o", "α": "a", "ν": "v", "ι": "l", "κ": "k", "τ": "t", "ρ": "p", "ӏ": "l", "ı": "l", "ḷ": "l",
        "á": "a", "à": "a", "â": "a", "ä": "a", "å": "a", "é": "e", "è": "e", "ê": "e", "ë": "e", "í": "l", "ì": "l",
        "î": "l", "ï": "l", "ó": "o", "ò": "o", "ô": "o", "ö": "o", "ú": "u", "ù": "u", "û": "u", "ü": "u", "ç": "c",
        "ñ": "n", "ý": "y", "ÿ": "y", "-": "", "_": "",
    ]

    /// A confusable skeleton (in the spirit of UTS 39): look-alike characters folded, `rn` as `m`,
    /// `vv` as `w`, `cl` as `d`, separators dropped.
    public static func skeleton(_ s: String) -> String {
        var out = ""
        for u in s.lowercased().unicodeScalars {
            if let r = confusables[u] { out += r } else { out.unicodeScalars.append(u) }
        }
        return out.replacingAll("rn", "m").replacingAll("vv", "w").replacingAll("cl", "d")
    }

    /// The brand `u`'s registrable domain imitates (same skeleton, or one edit away for names of six
    /// or more letters), when the domain is not the brand's own.
    public func lookalike(of u: AnalyzedURL) -> String? {
        guard !u.isIPAddress else { return nil }
        let reg = u.registrableDomain
        guard reg.contains(".") else { return nil }
        let unicodeReg = Punycode.toUnicode(reg)
        let label = String(unicodeReg[..<(unicodeReg.firstIndex(of: ".") ?? unicodeReg.endIndex)])
        let sk = Self.skeleton(label)
        // Hyphenated names: a disguised brand as one part (`netfl1x-billing`).
        let parts = label.contains("-") ? label.split(separator: "-").filter { $0.count >= 4 }.map(String.init) : []
        for b in brands where !b.domains.contains(reg) {
            if label == b.name { continue }  // the brand's name under another suffix is not a lookalike
            let bsk = Self.skeleton(b.name)
            if sk == bsk { return b.name }
            // One edit away (same first letter) for longer names: `paypall`, `amazom`.
            if bsk.count >= 6, sk.count >= 6, sk.first == bsk.first, Self.withinOneEdit(sk, bsk) { return b.name }
            for p in parts where p != b.name && Self.skeleton(p) == bsk { return b.name }
        }
        return nil
    }

    /// A brand's name or domain among the labels left of `u`'s registrable domain
    /// (`paypal.com.login.example.net`, `paypal.secure-login.example`), when the domain is not the brand's.
    public func brandInSubdomain(_ u: AnalyzedURL) -> String? {
        guard !u.isIPAddress, u.host.count > u.registrableDomain.count else { return nil }
        let sub = u.host.dropLast(u.registrableDomain.count + 1)
        let labels = sub.split(separator: ".")
        for b in brands where !b.domains.contains(u.registrableDomain) {
            for d in b.domains where sub.contains(d) { return d }
        }
        for b in brands where !b.domains.contains(u.registrableDomain) {
            for l in labels where b.name.count >= 4 && (l == b.name || l.hasPrefix(b.name + "-") || l.hasSuffix("-" + b.name)) {
                return b.name
            }
        }
        return nil
    }

    static func withinOneEdit(_ a: String, _ b: String) -> Bool {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if abs(x.count - y.count) > 1 { return false }
        var i = 0, j = 0, edits = 0
        while i < x.count && j < y.count {
            if x[i] == y[j] {
                i += 1
                j += 1
                continue
            }
            edits += 1
            if edits > 1 { return false }
            if x.count > y.count { i += 1 } else if x.count < y.count { j += 1 } else {
                i += 1
                j += 1
            }
        }
        return edits + (x.count - i) + (y.count - j) <= 1
    }
}

extension String {
    /// Every occurrence of `a` replaced by `b` (ASCII needles; no Foundation).
    func replacingAll(_ a: String, _ b: String) -> String {
        let needle = Array(a.utf8)
        let bytes = Array(utf8)
        guard !needle.isEmpty, bytes.count >= needle.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + needle.count <= bytes.count, bytes[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: b.utf8)
                i += needle.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
