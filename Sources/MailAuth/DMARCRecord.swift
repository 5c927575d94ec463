/// A DMARC policy record (RFC 7489 section 6.3), as published in TXT at `_dmarc.<domain>`.
///
/// Parsing follows section 6.3 and 6.6.3: `v=DMARC1` must be the first tag; tags are
/// `name=value` pairs separated by `;` with optional whitespace; unknown tags are ignored;
/// an optional tag with an invalid value falls back to its default (noted in ``warnings``); a
/// missing or invalid `p=` is treated as `p=none` when `rua=` names at least one URI, and is
/// an error otherwise.
public struct DMARCRecord: Sendable, Hashable {
    /// A requested handling policy.
    public enum Policy: String, Sendable, Hashable, CaseIterable {
        case none, quarantine, reject
    }

    /// Identifier alignment mode.
    public enum Alignment: String, Sendable, Hashable {
        case relaxed = "r"
        case strict = "s"
    }

    /// `p=`: the policy for the domain.
    public var policy: Policy
    /// `sp=` as given; nil when absent or invalid.
    public var explicitSubdomainPolicy: Policy?
    /// The policy for subdomains: `sp=`, else `p=`.
    public var subdomainPolicy: Policy { explicitSubdomainPolicy ?? policy }
    /// `np=` (RFC 9091) as given: the policy for non-existent subdomains; nil when absent.
    public var nonExistentSubdomainPolicy: Policy?
    /// `pct=`: the percentage of messages the policy applies to (0…100, default 100).
    public var percentage: Int = 100
    /// `adkim=` (default relaxed).
    public var dkimAlignment: Alignment = .relaxed
    /// `aspf=` (default relaxed).
    public var spfAlignment: Alignment = .relaxed
    /// `rua=`: aggregate report URIs, as written (with any `!size` suffix).
    public var aggregateReportURIs: [String] = []
    /// `ruf=`: failure report URIs, as written.
    public var failureReportURIs: [String] = []
    /// `fo=`: failure reporting options (`0`, `1`, `d`, `s`; default `["0"]`).
    public var failureReportOptions: [String] = ["0"]
    /// `rf=`: failure report formats (default `["afrf"]`).
    public var reportFormats: [String] = ["afrf"]
    /// `ri=`: the requested aggregate report interval in seconds (default 86400).
    public var reportInterval: UInt32 = 86_400
    /// Problems that did not make the record unusable (invalid optional values, unknown tags).
    public var warnings: [String] = []

    public init(policy: Policy) { self.policy = policy }

    /// Whether TXT data looks like a DMARC record: starts with `v` `=` `DMARC1` (optional
    /// whitespace around `=`), followed by `;`, whitespace or the end. Others are ignored.
    public static func isDMARCRecord(_ text: String) -> Bool {
        guard let first = Self.tags(text).first else { return false }
        return first.name == "v" && first.value == "DMARC1"
    }

    /// Parses a record.
    public init(parsing text: String) throws(DMARCRecordError) {
        let tags = Self.tags(text)
        guard let first = tags.first, first.name == "v", first.value == "DMARC1" else {
            throw DMARCRecordError(.notDMARCRecord, detail: "must start with v=DMARC1")
        }
        var seen: Set<String> = ["v"]
        var values: [String: String] = [:]
        for tag in tags.dropFirst() {
            guard !tag.name.isEmpty else { throw DMARCRecordError(.syntaxError, detail: "a tag without a name") }
            guard seen.insert(tag.name).inserted else { throw DMARCRecordError(.duplicateTag, detail: tag.name) }
            values[tag.name] = tag.value
        }
        var warnings: [String] = []
        func uris(_ s: String?) -> [String] {
            (s ?? "").split(separator: ",").map { Self.trim(Substring($0)) }.filter { !$0.isEmpty }
        }
        let rua = uris(values["rua"])
        let policy: Policy
        if let p = values["p"], let parsed = Policy(rawValue: p.lowercased()) {
            policy = parsed
        } else if !rua.isEmpty {
            // Section 6.6.3: act as if p=none was given, so reports still flow.
            warnings.append(
                values["p"] == nil
                    ? "no p= tag; treated as p=none" : "invalid p=\(values["p"] ?? ""); treated as p=none")
            policy = .none
        } else {
            throw DMARCRecordError(values["p"] == nil ? .missingPolicy : .invalidPolicy, detail: values["p"] ?? "")
        }
        self.init(policy: policy)
        aggregateReportURIs = rua
        failureReportURIs = uris(values["ruf"])
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            switch name {
            case "p", "rua", "ruf":
                break
            case "sp", "np":
                guard let parsed = Policy(rawValue: value.lowercased()) else {
                    warnings.append("invalid \(name)=\(value) ignored")
                    continue
                }
                if name == "sp" { explicitSubdomainPolicy = parsed } else { nonExistentSubdomainPolicy = parsed }
            case "pct":
                guard let n = Self.number(value), n <= 100 else {
                    warnings.append("invalid pct=\(value); using 100")
                    continue
                }
                percentage = Int(n)
            case "adkim", "aspf":
                guard let a = Alignment(rawValue: value.lowercased()) else {
                    warnings.append("invalid \(name)=\(value); using relaxed")
                    continue
                }
                if name == "adkim" { dkimAlignment = a } else { spfAlignment = a }
            case "fo":
                let options = value.split(separator: ":").map { Self.trim(Substring($0)) }
                guard !options.isEmpty, options.allSatisfy({ ["0", "1", "d", "s"].contains($0.lowercased()) }) else {
                    warnings.append("invalid fo=\(value); using 0")
                    continue
                }
                failureReportOptions = options.map { $0.lowercased() }
            case "rf":
                let formats = value.split(separator: ":").map { Self.trim(Substring($0)) }.filter { !$0.isEmpty }
                guard !formats.isEmpty else {
                    warnings.append("empty rf=; using afrf")
                    continue
                }
                reportFormats = formats
            case "ri":
                guard let n = Self.number(value), n <= UInt64(UInt32.max) else {
                    warnings.append("invalid ri=\(value); using 86400")
                    continue
                }
                reportInterval = UInt32(n)
            default:
                warnings.append("unknown tag \(name) ignored")
            }
        }
        self.warnings = warnings
    }

    /// `tag-list` of RFC 7489 section 6.4 (after RFC 6376 section 3.2): names lower-cased,
    /// values with surrounding whitespace removed; empty segments (a trailing `;`) skipped.
    static func tags(_ text: String) -> [(name: String, value: String)] {
        DKIMTagList.lenientTags(Array(text.utf8))
    }

    static func trim(_ s: Substring) -> String {
        var t = s
        while let c = t.first, c == " " || c == "\t" || c == "\r" || c == "\n" { t = t.dropFirst() }
        while let c = t.last, c == " " || c == "\t" || c == "\r" || c == "\n" { t = t.dropLast() }
        return String(t)
    }

    static func number(_ s: String) -> UInt64? {
        guard !s.isEmpty, s.utf8.count <= 12, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(s)
    }
}

/// A DMARC record that cannot be used.
public struct DMARCRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notDMARCRecord, syntaxError, duplicateTag, missingPolicy, invalidPolicy
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `v=DMARC1` is not the first tag: not a DMARC record at all.
        public static let notDMARCRecord = Code(.notDMARCRecord)
        /// A malformed tag list.
        public static let syntaxError = Code(.syntaxError)
        /// A tag given twice.
        public static let duplicateTag = Code(.duplicateTag)
        /// No `p=` (and no `rua=` that would make it `p=none`).
        public static let missingPolicy = Code(.missingPolicy)
        /// A `p=` value other than none, quarantine, reject (and no `rua=`).
        public static let invalidPolicy = Code(.invalidPolicy)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { "DMARCRecordError.\(code)" + (detail.isEmpty ? "" : ": \(detail)") }
}
