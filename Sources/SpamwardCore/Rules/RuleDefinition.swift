/// One rule as written (in the built-in set or a rule file), before it is compiled.
///
/// A rule tests one part of a message and, when it hits, adds ``score`` to the verdict as a
/// ``Symbol`` named ``name`` and gives the learner the feature `rule:NAME`.
public struct RuleDefinition: Sendable, Hashable {
    /// What a rule looks at.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A regular expression over one header field (``RuleDefinition/header``), or over the whole
        /// raw header block when the field is `ALL`.
        case header
        /// A regular expression over the decoded visible text (text parts, and HTML as rendered),
        /// with the Subject as the first line.
        case body
        /// A regular expression over the raw body bytes (after the header block, still
        /// transfer-encoded).
        case rawbody
        /// A regular expression over the whole raw message.
        case full
        /// A regular expression over each URL of the message (normalized form); hits when one matches.
        case uri
        /// A boolean or counting expression over other rules' names: `A && !(B || C)`, `(A + B + C) >= 2`.
        case meta
        /// A check written in Swift (``RuleDefinition/pattern`` names it; see ``BuiltinRules``).
        case eval
    }

    /// Which form of a header field a header rule sees.
    public enum HeaderPart: String, Sendable, Hashable, CaseIterable {
        /// The unfolded value with RFC 2047 encoded words decoded (the default).
        case value
        /// The unfolded value as written, not decoded.
        case raw
        /// The display names of the addresses in the field (`:name`).
        case name
        /// The addresses of the field, `local@domain` (`:addr`).
        case addr
    }

    /// Upper-case letters, digits and `_`; at most 64 bytes.
    public var name: String
    public var kind: Kind
    /// The regular expression (PCRE syntax), the meta expression, or the eval check's name.
    public var pattern: String
    /// For header rules: the field name, or `ALL` for the whole header block.
    public var header: String?
    public var headerPart: HeaderPart
    public var score: Double
    public var description: String
    /// ASCII letters match either case.
    public var caseInsensitive: Bool
    /// A disabled rule is compiled (so errors show) but never evaluated; metas see it as not hit.
    public var enabled: Bool

    public init(name: String, kind: Kind, pattern: String, header: String? = nil, headerPart: HeaderPart = .value,
                score: Double, description: String, caseInsensitive: Bool = false, enabled: Bool = true) {
        self.name = name
        self.kind = kind
        self.pattern = pattern
        self.header = header
        self.headerPart = headerPart
        self.score = score
        self.description = description
        self.caseInsensitive = caseInsensitive
        self.enabled = enabled
    }

    /// A regular-expression rule over one header field.
    public static func header(_ name: String, _ field: String, _ pattern: String, part: HeaderPart = .value,
                              score: Double, _ description: String, caseInsensitive: Bool = false) -> RuleDefinition {
        RuleDefinition(name: name, kind: .header, pattern: pattern, header: field, headerPart: part, score: score,
                       description: description, caseInsensitive: caseInsensitive)
    }

    /// A regular-expression rule over the visible text.
    public static func body(_ name: String, _ pattern: String, score: Double, _ description: String,
                            caseInsensitive: Bool = true) -> RuleDefinition {
        RuleDefinition(name: name, kind: .body, pattern: pattern, score: score, description: description,
                       caseInsensitive: caseInsensitive)
    }

    /// A rule over other rules.
    public static func meta(_ name: String, _ expression: String, score: Double, _ description: String) -> RuleDefinition {
        RuleDefinition(name: name, kind: .meta, pattern: expression, score: score, description: description)
    }

    /// A Swift check from ``BuiltinRules/checks``.
    public static func eval(_ name: String, check: String? = nil, score: Double, _ description: String) -> RuleDefinition {
        RuleDefinition(name: name, kind: .eval, pattern: check ?? name, score: score, description: description)
    }
}

/// A change to a rule already in a set: a new score or description, or enabling/disabling it.
public struct RuleOverride: Sendable, Hashable {
    public var name: String
    public var score: Double?
    public var description: String?
    public var enabled: Bool?
    public init(name: String, score: Double? = nil, description: String? = nil, enabled: Bool? = nil) {
        self.name = name
        self.score = score
        self.description = description
        self.enabled = enabled
    }
}
