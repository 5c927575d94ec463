/// A rule that cannot be loaded: which rule, what is wrong, and where.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidName = "invalid name"
            case duplicateName = "duplicate name"
            case invalidRegex = "invalid regular expression"
            case missingHeader = "missing header"
            case invalidMetaExpression = "invalid meta expression"
            case unknownRule = "unknown rule"
            case dependencyCycle = "dependency cycle"
            case unknownCheck = "unknown check"
            case invalidScore = "invalid score"
            case invalidValue = "invalid value"
            case unknownKey = "unknown key"
            case missingKey = "missing key"
            case unreadableFile = "unreadable file"
            case syntax = "syntax error"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        public static let invalidName = Code(.invalidName)
        public static let duplicateName = Code(.duplicateName)
        public static let invalidRegex = Code(.invalidRegex)
        public static let missingHeader = Code(.missingHeader)
        public static let invalidMetaExpression = Code(.invalidMetaExpression)
        public static let unknownRule = Code(.unknownRule)
        public static let dependencyCycle = Code(.dependencyCycle)
        public static let unknownCheck = Code(.unknownCheck)
        public static let invalidScore = Code(.invalidScore)
        /// A rule-file value of the wrong type or out of range.
        public static let invalidValue = Code(.invalidValue)
        /// A rule-file key that means nothing.
        public static let unknownKey = Code(.unknownKey)
        public static let missingKey = Code(.missingKey)
        public static let unreadableFile = Code(.unreadableFile)
        /// The rule file is not valid TOML.
        public static let syntax = Code(.syntax)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The rule's name ("" when the error is not about one rule).
    public var rule: String
    /// What is wrong, for a human.
    public var message: String
    /// Byte offset in the pattern or expression, when the error is at one place.
    public var offset: Int?
    /// The rule file, when the rule came from one.
    public var file: String?
    /// The key in the rule file (`pattern`, `score`…).
    public var key: String?

    public init(_ code: Code, rule: String, _ message: String, offset: Int? = nil, file: String? = nil, key: String? = nil) {
        self.code = code
        self.rule = rule
        self.message = message
        self.offset = offset
        self.file = file
        self.key = key
    }

    public var description: String {
        var s = ""
        if let file { s += "\(file): " }
        if !rule.isEmpty { s += "rule \(rule): " }
        if let key { s += "\(key): " }
        s += "\(code): \(message)"
        if let offset { s += " (at offset \(offset))" }
        return s
    }
}
