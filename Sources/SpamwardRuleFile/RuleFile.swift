import SpamwardCore
import TOMLKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A rule file (TOML): rules to add, built-in rules to re-score or disable, and local URI
/// blocklists. See docs/rules.md for the format; `etc/rules.example.toml` is an example.
///
/// ```toml
/// disabled = ["HTML_TINY_TEXT"]
/// uri_blocklists = ["uri-blocklist.txt"]   # relative to this file
///
/// [scores]
/// DATE_IN_PAST = 0.5
///
/// [rules.CHEAP_MEDS]
/// type = "body"
/// pattern = "cheap (meds|pills)"
/// case_insensitive = true
/// score = 1.5
/// description = "offers cheap medication"
/// ```
public struct RuleFile: Sendable {
    /// Where the file was read from (for messages), or "<string>".
    public var path: String
    /// Rules the file adds, by name order.
    public var rules: [RuleDefinition] = []
    /// Changes to rules defined elsewhere (built-in or earlier files).
    public var overrides: [RuleOverride] = []
    /// Blocklist files (paths resolved against the rule file's folder).
    public var uriBlocklists: [String] = []

    static let topKeys: Set<String> = ["rules", "scores", "disabled", "enabled", "uri_blocklists"]
    static let ruleKeys: Set<String> = [
        "type", "pattern", "expression", "check", "header", "score", "description", "case_insensitive", "enabled",
    ]

    /// Reads and parses the file at `path`.
    public static func load(_ path: String) throws(RuleError) -> RuleFile {
        guard let f = fopen(path, "rb") else { throw RuleError(.unreadableFile, rule: "", "cannot open the rule file", file: path) }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 16 << 20 { throw RuleError(.unreadableFile, rule: "", "the rule file is over 16 MiB", file: path) }
        }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Parses rule-file text. Every error names the file, the rule and the key.
    public static func parse(_ text: String, path: String = "<string>") throws(RuleError) -> RuleFile {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw RuleError(.syntax, rule: "", "line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)",
                            file: path)
        } catch {
            throw RuleError(.syntax, rule: "", "\(error)", file: path)
        }
        var file = RuleFile(path: path)
        for key in root.keys.sorted() where !topKeys.contains(key) {
            throw RuleError(.unknownKey, rule: "", "unknown key (expected one of \(topKeys.sorted().joined(separator: ", ")))",
                            file: path, key: key)
        }
        func err(_ code: RuleError.Code, _ rule: String, _ key: String, _ message: String) -> RuleError {
            RuleError(code, rule: rule, message, file: path, key: key)
        }
        func names(_ key: String) throws(RuleError) -> [String] {
            guard let v = root[key] else { return [] }
            guard let a = v.array else { throw err(.invalidValue, "", key, "must be an array of strings") }
            var out: [String] = []
            for item in a {
                guard let s = item.string else { throw err(.invalidValue, "", key, "must be an array of strings") }
                out.append(s)
            }
            return out
        }
        for n in try names("disabled") { file.overrides.append(RuleOverride(name: n, enabled: false)) }
        for n in try names("enabled") { file.overrides.append(RuleOverride(name: n, enabled: true)) }
        file.uriBlocklists = try names("uri_blocklists").map { resolve($0, relativeTo: path) }
        if let v = root["scores"] {
            guard let t = v.table else { throw err(.invalidValue, "", "scores", "must be a table of NAME = score") }
            for name in t.keys.sorted() {
                guard let value = t[name], let s = number(value) else {
                    throw err(.invalidScore, name, "scores.\(name)", "must be a number")
                }
                file.overrides.append(RuleOverride(name: name, score: s))
            }
        }
        if let v = root["rules"] {
            guard let rules = v.table else { throw err(.invalidValue, "", "rules", "must be a table of [rules.NAME] tables") }
            for name in rules.keys.sorted() {
                guard let rv = rules[name], let t = rv.table else {
                    throw err(.invalidValue, name, "rules.\(name)", "must be a table ([rules.\(name)])")
                }
                file.rules.append(try rule(name, t, path: path))
            }
        }
        return file
    }

    static func number(_ v: any TOMLValueConvertible) -> Double? {
        if let d = v.double, d.isFinite { return d }
        if let i = v.int { return Double(i) }
        return nil
    }

    static func resolve(_ p: String, relativeTo file: String) -> String {
        guard !p.hasPrefix("/"), let slash = file.lastIndex(of: "/") else { return p }
        return String(file[...slash]) + p
    }

    static func rule(_ name: String, _ t: TOMLTable, path: String) throws(RuleError) -> RuleDefinition {
        func err(_ code: RuleError.Code, _ key: String, _ message: String) -> RuleError {
            RuleError(code, rule: name, message, file: path, key: key)
        }
        for key in t.keys.sorted() where !ruleKeys.contains(key) {
            throw err(.unknownKey, key, "unknown key (expected one of \(ruleKeys.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String) throws(RuleError) -> String? {
            guard let v = t[key] else { return nil }
            guard let s = v.string else { throw err(.invalidValue, key, "must be a string") }
            return s
        }
        func bool(_ key: String) throws(RuleError) -> Bool? {
            guard let v = t[key] else { return nil }
            guard let b = v.bool else { throw err(.invalidValue, key, "must be true or false") }
            return b
        }
        guard let typeName = try string("type") else { throw err(.missingKey, "type", "every rule needs a type") }
        guard let kind = RuleDefinition.Kind(rawValue: typeName) else {
            throw err(.invalidValue, "type",
                      "\"\(typeName)\" is not a rule type (\(RuleDefinition.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let sv = t["score"] else { throw err(.missingKey, "score", "every rule needs a score") }
        guard let score = number(sv) else { throw err(.invalidScore, "score", "must be a number") }
        let description = try string("description") ?? name
        let patternKey: String
        switch kind {
        case .meta: patternKey = "expression"
        case .eval: patternKey = "check"
        default: patternKey = "pattern"
        }
        for other in ["pattern", "expression", "check"] where other != patternKey && t[other] != nil {
            throw err(.unknownKey, other, "a \(kind.rawValue) rule takes \(patternKey), not \(other)")
        }
        guard let pattern = try string(patternKey), !pattern.isEmpty else {
            throw err(.missingKey, patternKey, "a \(kind.rawValue) rule needs \(patternKey)")
        }
        var header: String? = nil
        var part = RuleDefinition.HeaderPart.value
        if let h = try string("header") {
            guard kind == .header else { throw err(.unknownKey, "header", "only header rules take a header") }
            if let colon = h.firstIndex(of: ":") {
                let modifier = String(h[h.index(after: colon)...])
                guard let p = RuleDefinition.HeaderPart(rawValue: modifier) else {
                    throw err(.invalidValue, "header",
                              "unknown modifier :\(modifier) (\(RuleDefinition.HeaderPart.allCases.map { ":" + $0.rawValue }.joined(separator: ", ")))")
                }
                part = p
                header = String(h[..<colon])
            } else {
                header = h
            }
        } else if kind == .header {
            throw err(.missingKey, "header", "a header rule needs header (a field name, or ALL)")
        }
        return RuleDefinition(name: name, kind: kind, pattern: pattern, header: header, headerPart: part, score: score,
                              description: description, caseInsensitive: try bool("case_insensitive") ?? false,
                              enabled: try bool("enabled") ?? true)
    }

    /// The built-in rules with these files applied in order, compiled. Compile errors name the file
    /// and key of the rule they are about.
    public static func ruleSet(_ files: [RuleFile], environment: RuleEnvironment = .default,
                               engine: RegexEngine = .pcre2) throws(RuleError) -> RuleSet {
        var env = environment
        var origin: [String: String] = [:]
        var extra: [RuleDefinition] = []
        for f in files {
            for r in f.rules { origin[r.name] = f.path }
            extra += f.rules
            for p in f.uriBlocklists {
                let b = try URIBlocklist(contentsOfFile: p)
                for d in b.domains { env.uriBlocklist.insert(d) }
            }
        }
        do throws(RuleError) {
            var set = try RuleSet.builtIn(adding: extra, environment: env, engine: engine)
            for f in files where !f.overrides.isEmpty {
                do throws(RuleError) { set = try set.applying(f.overrides) } catch {
                    var e = error
                    e.file = f.path
                    e.key = e.code == .unknownRule ? "scores/disabled/enabled" : e.key
                    throw e
                }
            }
            return set
        } catch {
            var e = error
            if e.file == nil, let f = origin[e.rule] {
                e.file = f
                switch e.code {
                case .invalidRegex: e.key = "pattern"
                case .invalidMetaExpression, .unknownRule, .dependencyCycle: e.key = "expression"
                case .unknownCheck: e.key = "check"
                case .missingHeader: e.key = "header"
                case .invalidScore: e.key = "score"
                case .invalidName, .duplicateName: e.key = "rules.\(e.rule)"
                default: break
                }
            }
            throw e
        }
    }
}
