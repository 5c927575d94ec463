/// Signs messages with DKIM (RFC 6376 section 5, RFC 8463): computes the body hash, selects the
/// header fields, and produces a folded `DKIM-Signature` header field.
///
/// ```swift
/// let key = try DKIMSigningKey(pem: pemText)
/// let signer = try DKIMSigner(domain: "example.com", selector: "mail", key: key)
/// let signed = try signer.sign(message)        // the field prepended
/// print(key.keyRecord)                          // TXT for mail._domainkey.example.com
/// ```
public struct DKIMSigner: Sendable {
    /// What to sign and how.
    public struct Options: Sendable {
        /// `c=` header canonicalization (default relaxed).
        public var headerCanonicalization: DKIMCanonicalization = .relaxed
        /// `c=` body canonicalization (default relaxed).
        public var bodyCanonicalization: DKIMCanonicalization = .relaxed
        /// Header fields to sign when present (case-insensitive), each instance of each. From is
        /// always signed.
        public var signedHeaders: [String] = DKIMSigner.defaultSignedHeaders
        /// Header fields signed once more than they occur ("oversigned"), so that an added
        /// instance breaks the signature (RFC 6376 section 8.15). Signed even when absent.
        public var oversignedHeaders: [String] = ["From"]
        /// Whether to add `l=` with the length of the canonicalized body (this lets anyone
        /// append to the body; off by default).
        public var includeBodyLength = false
        /// `t=`: the signing time, seconds since the epoch; nil leaves `t=` out.
        public var timestamp: Int64? = nil
        /// `x=`: how long after `t=` the signature expires, in seconds; needs ``timestamp``.
        public var expirationSeconds: Int64? = nil
        /// `i=`: the agent or user identity (`@example.com`, `user@sub.example.com`); nil leaves
        /// it out (default `@d=`).
        public var identity: String? = nil

        public init() {}
    }

    /// The headers signed by default: the originator and recipient fields, the subject, date and
    /// identifiers, the MIME headers and the list headers (RFC 6376 section 5.4.1).
    public static let defaultSignedHeaders = [
        "From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description", "Resent-Date",
        "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID", "In-Reply-To",
        "References", "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe",
        "List-Post", "List-Owner", "List-Archive",
    ]

    /// `d=`.
    public var domain: String
    /// `s=`.
    public var selector: String
    public var key: DKIMSigningKey
    public var options: Options

    public init(domain: String, selector: String, key: DKIMSigningKey, options: Options = Options())
        throws(DKIMSigningError)
    {
        guard DNSName.isQueryable(domain), !domain.hasSuffix("."), Self.isTagSafe(domain) else {
            throw DKIMSigningError(.invalidParameter, detail: "domain")
        }
        guard DNSName.isQueryable(selector), !selector.hasSuffix("."), Self.isTagSafe(selector) else {
            throw DKIMSigningError(.invalidParameter, detail: "selector")
        }
        if let i = options.identity {
            guard Self.isTagSafe(i), let at = i.utf8.lastIndex(of: UInt8(ascii: "@")),
                DNSName.isSubdomain(String(i[i.index(after: at)...]), of: domain)
            else { throw DKIMSigningError(.invalidParameter, detail: "identity must be in the domain") }
        }
        for name in options.signedHeaders + options.oversignedHeaders {
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw DKIMSigningError(.invalidParameter, detail: "header name")
            }
        }
        if options.expirationSeconds != nil && options.timestamp == nil {
            throw DKIMSigningError(.invalidParameter, detail: "x= needs t=")
        }
        self.domain = domain
        self.selector = selector
        self.key = key
        self.options = options
    }

    /// The message with a DKIM-Signature field prepended. The field uses the message's line
    /// ending (LF for messages stored with bare LF).
    public func sign(_ message: [UInt8]) throws(DKIMSigningError) -> [UInt8] {
        let field = try signatureField(for: message)
        let lf = !message.isEmpty && DKIMCanonicalizer.normalizingLineEndings(message).count != message.count
        if lf { return Array(field.utf8).filter { $0 != 0x0D } + message }
        return Array(field.utf8) + message
    }

    /// The `DKIM-Signature: …` header field for `message`, folded, ending with CRLF.
    public func signatureField(for message: [UInt8]) throws(DKIMSigningError) -> String {
        let normalized = DKIMCanonicalizer.normalizingLineEndings(message)
        let (headers, body) = DKIMCanonicalizer.split(normalized)
        guard headers.contains(where: { DKIMTagList.lowercased($0.name) == "from" }) else {
            throw DKIMSigningError(.noFromField)
        }
        let names = Self.headerList(
            present: headers, signed: ["From"] + options.signedHeaders, oversigned: options.oversignedHeaders)

        let canonicalBody = DKIMCanonicalizer.body(body, options.bodyCanonicalization)
        let bodyHash = DKIMVerifier.hash(canonicalBody, key.algorithm)

        var tags: [String] = [
            "v=1", "a=\(key.algorithm)", "c=\(options.headerCanonicalization)/\(options.bodyCanonicalization)",
            "d=\(domain)", "s=\(selector)",
        ]
        if let i = options.identity { tags.append("i=\(i)") }
        if let t = options.timestamp {
            tags.append("t=\(t)")
            if let x = options.expirationSeconds { tags.append("x=\(t + x)") }
        }
        if options.includeBodyLength { tags.append("l=\(canonicalBody.count)") }
        tags.append("h=" + names.joined(separator: ":"))
        tags.append("bh=\(DKIMBase64.encode(bodyHash))")

        let unsigned = Self.fold(name: "DKIM-Signature", tags: tags)
        let field = DKIMHeaderField(name: "DKIM-Signature", raw: Array(unsigned.utf8))
        var data: [UInt8] = []
        for h in DKIMCanonicalizer.selectHeaders(names, from: headers) {
            data += DKIMCanonicalizer.header(h, options.headerCanonicalization)
        }
        data += DKIMCanonicalizer.header(field, options.headerCanonicalization, withCRLF: false)
        let signature = try key.sign(data)
        return unsigned + Self.foldBase64(DKIMBase64.encode(signature), column: Self.lastLineLength(unsigned)) + "\r\n"
    }

    /// `h=`: each name in `signed` once per instance present (From first), then each name in
    /// `oversigned` once more; names as first written in the lists, lower-cased.
    static func headerList(present: [DKIMHeaderField], signed: [String], oversigned: [String]) -> [String] {
        var counts: [String: Int] = [:]
        for h in present { counts[DKIMTagList.lowercased(h.name), default: 0] += 1 }
        var out: [String] = []
        var done: Set<String> = []
        for name in signed {
            let key = DKIMTagList.lowercased(name)
            guard done.insert(key).inserted else { continue }
            out += Array(repeating: key, count: counts[key, default: 0])
        }
        var over: Set<String> = []
        for name in oversigned {
            let key = DKIMTagList.lowercased(name)
            if over.insert(key).inserted { out.append(key) }
        }
        return out
    }

    /// `Name: tag; tag; …; b=`, folded before a tag (and inside `h=` after a colon) so that lines
    /// stay within 78 characters where possible.
    static func fold(name: String, tags: [String]) -> String {
        var out = name + ":"
        var line = out.utf8.count
        for tag in tags + ["b="] {
            let piece = tag + (tag == "b=" ? "" : ";")
            if line + 1 + piece.utf8.count <= 78 {
                out += " " + piece
                line += 1 + piece.utf8.count
                continue
            }
            out += "\r\n\t"
            line = 1
            // A long h= list folds after colons.
            var first = true
            for part in piece.split(separator: ":", omittingEmptySubsequences: false) {
                let text = (first ? "" : ":") + part
                if !first && line + text.utf8.count > 78 {
                    out += "\r\n\t"
                    line = 1
                }
                out += text
                line += text.utf8.count
                first = false
            }
        }
        return out
    }

    static func lastLineLength(_ s: String) -> Int {
        let u = Array(s.utf8)
        guard let lf = u.lastIndex(of: 0x0A) else { return u.count }
        return u.count - lf - 1
    }

    /// Base64 split into lines of at most 78 characters, continuation lines starting with a tab.
    static func foldBase64(_ b64: String, column: Int) -> String {
        let u = Array(b64.utf8)
        var out: [UInt8] = []
        var i = 0
        var room = max(78 - column, 0)
        while i < u.count {
            if room == 0 {
                out += [0x0D, 0x0A, 0x09]
                room = 77
            }
            let n = min(room, u.count - i)
            out += u[i..<(i + n)]
            i += n
            room -= n
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// No `;`, whitespace or control characters: safe as a tag value.
    static func isTagSafe(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") }
    }
}
