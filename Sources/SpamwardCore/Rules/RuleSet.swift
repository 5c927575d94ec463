import MailAuth
import MailMessage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One rule that hit: it becomes a ``Symbol`` of the verdict and the feature `rule:NAME`.
public struct RuleHit: Sendable, Hashable {
    public var name: String
    public var score: Double
    public var description: String
    /// Details: the header, word, URL or file name that made the rule hit.
    public var options: [String]

    public var symbol: Symbol { Symbol(name: name, score: score, description: description, options: options) }
}

/// What rules need besides the message: the time, the Public Suffix List, the local URI
/// blocklist and the brands lookalike domains are compared with.
///
/// The values live in one immutable box, so that a copy (each rule input takes one) is one
/// retain, not one per array, set and table of the lists; setting a value makes a new box.
public struct RuleEnvironment: Sendable {
    final class Storage: Sendable {
        let now: Int64?
        let publicSuffixList: PublicSuffixList?
        let uriBlocklist: URIBlocklist
        let brands: BrandList
        let shorteners: Set<String>
        /// Rules out most names as shorteners before they are hashed.
        let shortenerFilter: URLChecks.ShortNameFilter

        init(now: Int64?, publicSuffixList: PublicSuffixList?, uriBlocklist: URIBlocklist, brands: BrandList,
             shorteners: Set<String>) {
            self.now = now
            self.publicSuffixList = publicSuffixList
            self.uriBlocklist = uriBlocklist
            self.brands = brands
            self.shorteners = shorteners
            self.shortenerFilter = URLChecks.ShortNameFilter(shorteners)
        }

        func with(now: Int64?? = nil, publicSuffixList: PublicSuffixList?? = nil, uriBlocklist: URIBlocklist? = nil,
                  brands: BrandList? = nil, shorteners: Set<String>? = nil) -> Storage {
            Storage(now: now ?? self.now, publicSuffixList: publicSuffixList ?? self.publicSuffixList,
                    uriBlocklist: uriBlocklist ?? self.uriBlocklist, brands: brands ?? self.brands,
                    shorteners: shorteners ?? self.shorteners)
        }
    }

    private(set) var storage: Storage

    /// Seconds since 1970 that dates are judged against when the message has no Received time;
    /// nil: the clock at evaluation.
    public var now: Int64? {
        get { storage.now }
        set { storage = storage.with(now: .some(newValue)) }
    }
    /// Registrable domains of URLs; nil: ``ParsedURL/registrableDomainGuess``.
    public var publicSuffixList: PublicSuffixList? {
        get { storage.publicSuffixList }
        set { storage = storage.with(publicSuffixList: .some(newValue)) }
    }
    /// Domains whose URLs are listed locally (``URIBlocklist``).
    public var uriBlocklist: URIBlocklist {
        get { storage.uriBlocklist }
        set { storage = storage.with(uriBlocklist: newValue) }
    }
    /// Brands whose lookalikes and subdomain abuse are flagged (``BrandList``).
    public var brands: BrandList {
        get { storage.brands }
        set { storage = storage.with(brands: newValue) }
    }
    /// Host names of URL shorteners and redirectors.
    public var shorteners: Set<String> {
        get { storage.shorteners }
        set { storage = storage.with(shorteners: newValue) }
    }

    public init(now: Int64? = nil, publicSuffixList: PublicSuffixList? = PublicSuffixList.system,
                uriBlocklist: URIBlocklist = URIBlocklist(), brands: BrandList = .default,
                shorteners: Set<String> = URLChecks.shorteners) {
        storage = Storage(now: now, publicSuffixList: publicSuffixList, uriBlocklist: uriBlocklist, brands: brands,
                          shorteners: shorteners)
    }

    public static let `default` = RuleEnvironment()
}

/// A compiled rule set: regular expressions compiled once (PCRE2 with JIT by default), literal
/// prefilters extracted, meta expressions parsed and ordered after the rules they read.
///
/// A value type; the compiled patterns are shared, immutable, between copies and threads.
public struct RuleSet: Sendable {
    /// The rules, in the order given.
    public private(set) var definitions: [RuleDefinition]
    public var environment: RuleEnvironment
    public let engine: RegexEngine
    public let usesPrefilters: Bool
    let compiled: [CompiledRule]
    /// Indices of `definitions` in evaluation order (every meta after what it reads).
    let order: [Int]
    let index: [String: Int]
    /// For each compiled rule, the slot of its text in ``RuleInput`` (header targets; -1 for others),
    /// so that a scan finds a header text by index, not by hashing the field name.
    let textSlots: [Int]
    let textSlotCount: Int
    /// The prefilter literals of the rules reading the same text, searched in one pass per text.
    let prefilterPlan: PrefilterPlan
    /// The enabled rules in evaluation order, each with what evaluating it reads, in arrays of
    /// their own (read in place: switching over a ``CompiledRule`` copied its payload, a retain
    /// and release of a pattern, a closure context or a meta expression's boxes per rule).
    let steps: [Step]
    let patterns: [RulePattern]
    /// ``patterns`` unretained (kept alive by ``patterns``): the evaluation loop passes each one
    /// to ``RuleInput/match(_:on:slot:rule:scratch:)`` as a guaranteed reference, without the
    /// retain and release (two atomics) a pattern loaded from the array costs.
    let unretainedPatterns: [Unmanaged<RulePattern>]
    let targets: [Target]
    /// For each of ``targets``: the target when it has no payload (every one but `.header`), nil
    /// for a header. The evaluation loop passes these as constants: a `Target` loaded from
    /// ``targets`` was copied and destroyed around each `match` (two outlined calls that switch
    /// on the case, and a string retain and release for a header).
    let plainTargets: [Target?]
    let checks: [BuiltinRules.Check]
    let metaProgram: MetaProgram

    struct Step: Sendable {
        enum Kind: UInt8, Sendable { case regex, meta, eval }
        /// The rule (index in ``definitions``).
        var rule: Int
        var kind: Kind
        /// Index in ``patterns`` and ``targets`` (regex), in ``metaProgram`` (meta), in ``checks`` (eval).
        var index: Int
        /// ``textSlots`` of the rule.
        var slot: Int
    }

    /// A text read by prefiltered rules of fewer literals than this keeps one `memchr` pass per
    /// literal (measured: see docs/rules.md).
    static let searchMinimumLiterals = 10

    enum Target: Hashable {
        case header(String, RuleDefinition.HeaderPart), allHeaders, body, rawbody, full, uri
    }

    enum CompiledRule: Sendable {
        case regex(Target, RulePattern)
        case meta(MetaExpression)
        case eval(BuiltinRules.Check)
    }

    /// Compiles `definitions`; throws the first problem found, naming the rule.
    public init(_ definitions: [RuleDefinition], environment: RuleEnvironment = .default, engine: RegexEngine = .pcre2,
                prefilters: Bool = true) throws(RuleError) {
        self.definitions = definitions
        self.environment = environment
        self.engine = engine
        self.usesPrefilters = prefilters
        var index: [String: Int] = [:]
        for (i, d) in definitions.enumerated() {
            try Self.validateName(d.name)
            guard index[d.name] == nil else {
                throw RuleError(.duplicateName, rule: d.name, "the name is used by an earlier rule")
            }
            guard d.score.isFinite, abs(d.score) <= 10_000 else {
                throw RuleError(.invalidScore, rule: d.name, "score \(d.score) is not a number between -10000 and 10000")
            }
            index[d.name] = i
        }
        var compiled: [CompiledRule] = []
        compiled.reserveCapacity(definitions.count)
        for d in definitions {
            switch d.kind {
            case .meta:
                compiled.append(.meta(try MetaExpression.parse(d.pattern, rule: d.name, names: index)))
            case .eval:
                guard let check = BuiltinRules.checks[d.pattern] else {
                    throw RuleError(.unknownCheck, rule: d.name,
                                    "no built-in check named \(d.pattern) (known: \(BuiltinRules.checks.keys.sorted().joined(separator: ", ")))")
                }
                compiled.append(.eval(check))
            default:
                let target: Target
                switch d.kind {
                case .header:
                    guard let h = d.header, !h.isEmpty else {
                        throw RuleError(.missingHeader, rule: d.name, "a header rule needs the field name (or ALL)")
                    }
                    guard h.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x3A }) else {
                        throw RuleError(.missingHeader, rule: d.name, "\"\(h)\" is not a header field name")
                    }
                    target = h.uppercased() == "ALL" ? .allHeaders : .header(h, d.headerPart)
                case .body: target = .body
                case .rawbody: target = .rawbody
                case .full: target = .full
                default: target = .uri
                }
                let p = try RulePattern(d.pattern, caseInsensitive: d.caseInsensitive, engine: engine, rule: d.name,
                                        usePrefilter: prefilters)
                compiled.append(.regex(target, p))
            }
        }
        var slots: [Target: Int] = [:]
        var textSlots: [Int] = []
        for c in compiled {
            if case .regex(let t, _) = c, case .header = t {
                if slots[t] == nil { slots[t] = slots.count }
                textSlots.append(slots[t] ?? -1)
            } else {
                textSlots.append(-1)
            }
        }
        self.textSlots = textSlots
        self.textSlotCount = slots.count
        var prefilters: [LiteralPrefilter?] = []
        var textKeys: [AnyHashable?] = []
        var leading: [[[UInt8]]?] = []
        var anchoredAtLeading: [Bool] = []
        for (c, d) in zip(compiled, definitions) {
            if case .regex(let t, let p) = c, let f = p.prefilter {
                prefilters.append(f)
                textKeys.append(AnyHashable(t))
                leading.append(LiteralPrefilter.leadingLiterals(pattern: d.pattern))
                anchoredAtLeading.append(p.anchored != nil)
            } else {
                prefilters.append(nil)
                textKeys.append(nil)
                leading.append(nil)
                anchoredAtLeading.append(false)
            }
        }
        self.prefilterPlan = PrefilterPlan(prefilters: prefilters, textKeys: textKeys, leadingLiterals: leading,
                                           anchoredAtLeading: anchoredAtLeading, minimumLiterals: Self.searchMinimumLiterals)
        self.compiled = compiled
        self.index = index
        self.order = try Self.evaluationOrder(definitions, compiled)
        var steps: [Step] = []
        var patterns: [RulePattern] = []
        var targets: [Target] = []
        var checks: [BuiltinRules.Check] = []
        var metaProgram = MetaProgram()
        for i in order where definitions[i].enabled {
            switch compiled[i] {
            case .regex(let t, let p):
                steps.append(Step(rule: i, kind: .regex, index: patterns.count, slot: textSlots[i]))
                patterns.append(p)
                targets.append(t)
            case .meta(let e):
                steps.append(Step(rule: i, kind: .meta, index: metaProgram.append(e), slot: -1))
            case .eval(let c):
                steps.append(Step(rule: i, kind: .eval, index: checks.count, slot: -1))
                checks.append(c)
            }
        }
        self.steps = steps
        self.patterns = patterns
        self.unretainedPatterns = patterns.map { Unmanaged.passUnretained($0) }
        self.targets = targets
        self.plainTargets = targets.map { t -> Target? in
            if case .header = t { return nil }
            return t
        }
        self.checks = checks
        self.metaProgram = metaProgram
    }

    /// Letters, digits and `_`, starting with a letter, at most 64 bytes.
    static func validateName(_ name: String) throws(RuleError) {
        guard let first = name.utf8.first, name.utf8.count <= 64,
              (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7A, name.utf8.allSatisfy(isNameByte)
        else {
            throw RuleError(.invalidName, rule: name,
                            "a rule name is 1 to 64 letters, digits and '_', starting with a letter")
        }
    }

    @inline(__always) static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) || b == 0x5F
    }

    /// Non-meta rules first (in order), then metas depth-first after their dependencies.
    static func evaluationOrder(_ defs: [RuleDefinition], _ compiled: [CompiledRule]) throws(RuleError) -> [Int] {
        var order: [Int] = []
        var state = [UInt8](repeating: 0, count: defs.count)  // 0 new, 1 visiting, 2 done
        for (i, c) in compiled.enumerated() {
            if case .meta = c { continue }
            order.append(i)
            state[i] = 2
        }
        func visit(_ i: Int, _ path: [Int]) throws(RuleError) {
            if state[i] == 2 { return }
            if state[i] == 1 {
                let cycle = (path.drop { $0 != i } + [i]).map { defs[$0].name }.joined(separator: " -> ")
                throw RuleError(.dependencyCycle, rule: defs[i].name, "meta rules depend on each other in a cycle: \(cycle)")
            }
            state[i] = 1
            if case .meta(let e) = compiled[i] {
                for d in e.dependencies { try visit(d, path + [i]) }
            }
            state[i] = 2
            order.append(i)
        }
        for i in defs.indices { try visit(i, []) }
        return order
    }

    /// The same rules with scores, descriptions or enabled flags changed.
    public func applying(_ overrides: [RuleOverride]) throws(RuleError) -> RuleSet {
        var defs = definitions
        for o in overrides {
            guard let i = index[o.name] else {
                throw RuleError(.unknownRule, rule: o.name, "there is no rule of this name to change")
            }
            if let s = o.score { defs[i].score = s }
            if let d = o.description { defs[i].description = d }
            if let e = o.enabled { defs[i].enabled = e }
        }
        return try RuleSet(defs, environment: environment, engine: engine, prefilters: usesPrefilters)
    }

    /// The built-in rules plus `extra` rules, with `overrides` applied.
    public static func builtIn(adding extra: [RuleDefinition] = [], overrides: [RuleOverride] = [],
                               environment: RuleEnvironment = .default, engine: RegexEngine = .pcre2,
                               prefilters: Bool = true) throws(RuleError) -> RuleSet {
        let base = try RuleSet(BuiltinRules.definitions + extra, environment: environment, engine: engine, prefilters: prefilters)
        return overrides.isEmpty ? base : try base.applying(overrides)
    }

    /// The built-in rules as shipped.
    public static let standard: RuleSet = {
        do { return try builtIn() } catch {
            // The built-in definitions are constants, compiled by the tests; this cannot fail at run time.
            fatalError("built-in rules do not compile: \(error)")
        }
    }()

    /// No rules at all.
    public static let empty: RuleSet = {
        do { return try RuleSet([]) } catch { fatalError("an empty rule set always compiles") }
    }()

    public var isEmpty: Bool { definitions.isEmpty }

    // MARK: Evaluation

    /// The rules that hit, in evaluation order.
    public func evaluate(_ message: Message) -> [RuleHit] {
        evaluateRules(message, sharing: false).hits
    }

    /// ``evaluate(_:)`` and, with `sharing` and any rule, the header values the rules made that
    /// the feature extractor reads too (the decoded Subject, the parsed From fields), so that the
    /// scan computes them once. (Not named `evaluate`: callgrind's `*RuleSetV8evaluate*` toggle
    /// would switch off inside the public one.)
    func evaluateRules(_ message: Message, sharing: Bool) -> (hits: [RuleHit], known: KnownHeaderValues?) {
        guard !steps.isEmpty else { return ([], nil) }
        let input = RuleInput(message: message, environment: environment, plan: prefilterPlan)
        let scratch = input.scratch
        var hits: [RuleHit] = []
        // Everything read in place (buffers), the hit flags and the meta stack on the stack (an
        // array's storage type is looked up at run time on every allocation).
        steps.withUnsafeBufferPointer { steps in
            unretainedPatterns.withUnsafeBufferPointer { patterns in plainTargets.withUnsafeBufferPointer { plainTargets in
                targets.withUnsafeBufferPointer { targets in
                    checks.withUnsafeBufferPointer { checks in
                        metaProgram.ops.withUnsafeBufferPointer { ops in
                            withUnsafeTemporaryAllocation(of: Bool.self, capacity: definitions.count) { hit in
                                withUnsafeTemporaryAllocation(of: Double.self, capacity: metaProgram.maxDepth) { stack in
                                    hit.initialize(repeating: false)
                                    let stack = stack.baseAddress.unsafelyUnwrapped  // capacity >= 1
                                    for step in steps {
                                        var options: [String]? = nil
                                        switch step.kind {
                                        case .regex:
                                            // (`patterns`, which owns them, outlives the loop.)
                                            options = patterns[step.index]._withUnsafeGuaranteedRef { pattern in
                                                switch plainTargets[step.index] {
                                                case .allHeaders?:
                                                    input.match(pattern, on: .allHeaders, slot: step.slot, rule: step.rule, scratch: scratch)
                                                case .body?:
                                                    input.match(pattern, on: .body, slot: step.slot, rule: step.rule, scratch: scratch)
                                                case .rawbody?:
                                                    input.match(pattern, on: .rawbody, slot: step.slot, rule: step.rule, scratch: scratch)
                                                case .full?:
                                                    input.match(pattern, on: .full, slot: step.slot, rule: step.rule, scratch: scratch)
                                                case .uri?:
                                                    input.match(pattern, on: .uri, slot: step.slot, rule: step.rule, scratch: scratch)
                                                case .header?, nil:
                                                    input.match(pattern, on: targets[step.index], slot: step.slot,
                                                                rule: step.rule, scratch: scratch)
                                                }
                                            }
                                        case .meta:
                                            let range = metaProgram.ranges[step.index]
                                            if MetaProgram.value(ops, range, stack: stack, { hit[$0] }) != 0 { options = [] }
                                        case .eval:
                                            options = checks[step.index].run(input)
                                        }
                                        if let options {
                                            let i = step.rule
                                            hit[i] = true
                                            // The definition is read only for the rules that hit.
                                            hits.append(RuleHit(name: definitions[i].name, score: definitions[i].score,
                                                                description: definitions[i].description, options: options))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        return (hits, sharing ? KnownHeaderValues(subject: input.subject, fromLists: input.fromLists) : nil)
    }
}

/// A message as rules read it, with the texts each kind of rule matches made once per scan.
///
/// Not Sendable: made and used inside one ``RuleSet/evaluate(_:)`` call.
final class RuleInput {
    let message: Message
    let environment: RuleEnvironment
    let plan: PrefilterPlan
    /// What ``match(_:on:slot:rule:scratch:)`` makes once per evaluation and reads for every
    /// regex rule, behind a pointer: a stored `var` of a class is checked for exclusive access
    /// at run time on every read and write (`swift_beginAccess`, about 80 instructions, 17 times a
    /// message), a pointer's memory is not. Only `match` and its helpers touch it, never
    /// re-entrantly; the input is not shared between threads.
    private let cache: UnsafeMutablePointer<MatchCache>

    private struct MatchCache {
        var headerTexts = SlotCache<String>()
        /// The literals found in each text with a shared search (``PrefilterPlan/searches``), and
        /// in each URL for the `uri` searches.
        ///
        /// For a text, each literal's first end (``LiteralSearch/Found/firstEnd``) in memory the
        /// input owns (allocated at the text's search, freed with the input), read in place for
        /// each rule of the text: a `Found` copied out of the cache was a retain and release.
        var foundEnds = SlotCache<UnsafeMutableBufferPointer<Int32>>()
        var urlLiterals = SlotCache<[LiteralSearch.Found]>()
        /// ``body``'s bytes once made (owned by the input, freed with it), and how many of them
        /// are the subject and text.
        var body: UnsafeMutableBufferPointer<UInt8>? = nil
        var bodyTextLength = 0
    }
    /// PCRE2's match data for every regex run of the evaluation (freed with the input).
    let scratch: MatchScratch

    /// Takes one copy of `message` (a copy retains each of its arrays: a borrowed parameter, so
    /// that the caller does not make a second one to pass).
    init(message: borrowing Message, environment: RuleEnvironment, plan: PrefilterPlan? = nil) {
        self.message = copy message
        self.environment = environment
        self.plan = plan ?? PrefilterPlan.empty
        self.scratch = MatchScratch.allocate()
        self.cache = .allocate(capacity: 1)
        cache.initialize(to: MatchCache())
        // The root part's fields and body offset read in place (`message.headers` and
        // `message.bodyOffset` copy the whole root part).
        let (fields, bodyOffset) = message.parts.withUnsafeBufferPointer { parts -> ([HeaderField], Int) in
            parts.isEmpty ? ([], 0) : (parts[0].headers.fields, parts[0].bodyRange.lowerBound)
        }
        self.headerFields = fields
        self.bodyOffset = bodyOffset
        let heads = UnsafeMutableBufferPointer<Int>.allocate(capacity: fields.count)
        fields.withUnsafeBufferPointer { f in
            for k in f.indices { heads[k] = Self.nameHead(f[k].name) }
        }
        self.headerNameHeads = UnsafeBufferPointer(heads)
    }

    deinit {
        for k in plan.searches.indices { cache.pointee.foundEnds[k]?.deallocate() }
        cache.pointee.body?.deallocate()
        headerNameHeads.deallocate()
        scratch.free()
        cache.deinitialize(count: 1)
        cache.deallocate()
    }

    /// Values by slot number, the first two held inline (the built-in rules use two header slots
    /// and one literal search): no array is allocated per message for them.
    struct SlotCache<T> {
        private var first: T? = nil
        private var second: T? = nil
        private var rest: [T?] = []

        subscript(slot: Int) -> T? {
            get {
                switch slot {
                case 0: return first
                case 1: return second
                default: return slot - 2 < rest.count ? rest[slot - 2] : nil
                }
            }
            set {
                switch slot {
                case 0: first = newValue
                case 1: second = newValue
                default:
                    if rest.count <= slot - 2 { rest.append(contentsOf: repeatElement(nil, count: slot - 1 - rest.count)) }
                    rest[slot - 2] = newValue
                }
            }
        }
    }

    /// The addresses of each From field, parsed once (``BuiltinRules/fromNameAddress(_:)`` reads the
    /// first, `From:name` and `From:addr` rules all).
    lazy var fromLists: [[MailAddress]] = {
        var lists: [[MailAddress]] = []
        forEachField("From") { lists.append(MailAddress.parseList($0.value)) }
        return lists
    }()

    /// The first header field named `name` (ASCII case-insensitive), as `message.headers.first`:
    /// names of another length (most fields) are passed over without reading the field.
    func field(_ name: String) -> HeaderField? {
        var found: HeaderField? = nil
        forEachFieldIndex(name) { i in
            found = headerFields[i]
            return false
        }
        return found
    }

    /// The value of the first header field named `name` (``field(_:)`` without copying its name).
    func fieldValue(_ name: String) -> String? {
        var found: String? = nil
        forEachFieldIndex(name) { i in
            found = headerFields[i].value
            return false
        }
        return found
    }

    /// Whether there is a header field named `name` (``field(_:)`` without copying the field).
    func hasField(_ name: String) -> Bool {
        var found = false
        forEachFieldIndex(name) { _ in
            found = true
            return false
        }
        return found
    }

    /// The top-level header fields, taken once (`message.headers` copies the root part each time;
    /// made with the input, not lazily: a lazy property is checked for exclusive access on every
    /// read, and every evaluation of the built-in rules looks fields up).
    let headerFields: [HeaderField]

    /// Each field name's UTF-8 length and first byte (ASCII folded), as ``nameHead(_:)``: names
    /// are equal under ASCII folding only if these are. Owned by the input (freed with it): read
    /// without retaining an array on every lookup.
    let headerNameHeads: UnsafeBufferPointer<Int>

    /// `message.bodyOffset`, taken once.
    let bodyOffset: Int

    /// A name's UTF-8 length shifted left by 8, or-ed with its first byte, ASCII folded.
    @inline(__always) static func nameHead(_ name: String) -> Int {
        // Read from the contiguous bytes (every native and small string): `utf8.first` went
        // through the generic collection path, about 23 instructions a name.
        if let head = name.utf8.withContiguousStorageIfAvailable({ p -> Int in
            guard let b = p.first else { return 0 }
            return p.count << 8 | Int(b &- 0x41 < 26 ? b | 0x20 : b)
        }) {
            return head
        }
        let utf8 = name.utf8
        guard let b = utf8.first else { return 0 }
        return utf8.count << 8 | Int(b &- 0x41 < 26 ? b | 0x20 : b)
    }

    /// Calls `body` with the index in ``headerFields`` of each field named `name`, in order,
    /// while it returns true.
    @inline(__always) func forEachFieldIndex(_ name: String, _ body: (Int) -> Bool) {
        var i = 0
        while let k = fieldIndex(name, from: i) {
            if !body(k) { return }
            i = k &+ 1
        }
    }

    /// The index in ``headerFields`` of the first field named `name` at or after `start`. Out of
    /// line: one copy of the name search serves every lookup (``field(_:)``, ``fieldValue(_:)``,
    /// ``hasField(_:)``, ``headerText(_:_:)``, the address lists), not one inlined into each.
    @inline(never) func fieldIndex(_ name: String, from start: Int) -> Int? {
        let head = Self.nameHead(name)
        let heads = headerNameHeads
        var i = start
        while i < heads.count {
            if heads[i] == head && Self.sameName(headerFields[i].name, name) { return i }
            i &+= 1
        }
        return nil
    }

    /// Calls `body` with each header field named `name`, in order, as `message.headers.all`
    /// (no array made).
    @inline(__always) func forEachField(_ name: String, _ body: (HeaderField) -> Void) {
        let fields = headerFields
        forEachFieldIndex(name) { i in
            body(fields[i])
            return true
        }
    }

    /// Every header field named `name`, in order, as `message.headers.all`.
    func fields(_ name: String) -> [HeaderField] {
        var out: [HeaderField] = []
        forEachField(name) { out.append($0) }
        return out
    }

    /// ``HeaderField/hasName(_:)``: ASCII case-insensitive equality, on the names' bytes.
    static func sameName(_ a: String, _ b: String) -> Bool {
        @inline(__always) func same(_ p: UnsafeBufferPointer<UInt8>, _ q: UnsafeBufferPointer<UInt8>) -> Bool {
            guard p.count == q.count else { return false }
            for i in 0..<p.count {
                let c = p[i], d = q[i]
                if c != d && (c &- 0x41 < 26 ? c | 0x20 : c) != (d &- 0x41 < 26 ? d | 0x20 : d) { return false }
            }
            return true
        }
        // The same spelling (the usual case; two small strings are equal when their two words are).
        if a == b { return true }
        // Contiguous strings (all native and literal ones) read in place, without the copies
        // `withUTF8` needs (it is mutating).
        if let r = a.utf8.withContiguousStorageIfAvailable({ p in b.utf8.withContiguousStorageIfAvailable { q in same(p, q) } }),
           let answer = r
        {
            return answer
        }
        var x = a, y = b
        return x.withUTF8 { p in y.withUTF8 { q in same(p, q) } }
    }

    /// ``nameHead(_:)`` of "From".
    static let fromHead = 4 << 8 | 0x66

    /// The address lists of the fields named `name` (From's parsed once).
    func addressLists(_ name: String) -> [[MailAddress]] {
        if Self.nameHead(name) == Self.fromHead, Self.sameName(name, "From") {
            return fromLists
        }
        var lists: [[MailAddress]] = []
        forEachField(name) { lists.append(MailAddress.parseList($0.value)) }
        return lists
    }

    /// The message's URLs analyzed once per message (and Public Suffix List): kept with the
    /// message for the fingerprint and later evaluations (``URLAnalysis``).
    lazy var urlAnalysis: URLAnalysis = URLAnalysis.of(message, in: environment.storage)
    /// The URL checks' answers, all computed in one pass over ``urlAnalysis`` (``URLCheckResults``).
    lazy var urlCheckResults: URLCheckResults = URLCheckResults.of(self)

    /// The message's URLs, normalized (at most ``URLChecks/maxURLs``); made when read (the
    /// checks read the analysis in place).
    var urls: [AnalyzedURL] { urlAnalysis.urls }

    /// ``AnalyzedURL/normalized`` of each of ``urls``, made once per evaluation for the `uri`
    /// rules that read the whole text (the analysis does not keep them: most messages need none).
    lazy var normalizedURLs: [String] = urlAnalysis.normalizedURLs()

    /// The indices in ``urls`` of the first URL of each distinct host name, for the checks that
    /// read only the host.
    var distinctHostIndices: [Int] { urlAnalysis.distinctHostIndices }

    /// The decoded Subject, made once per evaluation.
    lazy var subject: String = field("Subject")?.decodedValue ?? ""  // message.subject
    /// The subject, a newline and the visible text (the text parts joined by newlines), then a
    /// newline when there are text parts: what `body` rules match, as bytes, in one buffer of the
    /// right capacity, made once. The text checks read it without the final newline (`textLength`
    /// bytes). The buffer is the input's (freed with it), so each body rule reads it without
    /// retaining an array (and without the exclusivity check of a lazy property).
    var body: (bytes: UnsafeBufferPointer<UInt8>, textLength: Int) {
        if let b = cache.pointee.body { return (UnsafeBufferPointer(b), cache.pointee.bodyTextLength) }
        let subject = self.subject
        let parts = message.textParts
        var length = subject.utf8.count + 1
        for p in parts { length += p.text.utf8.count + 1 }
        let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: length)
        let base = b.baseAddress.unsafelyUnwrapped  // length >= 1
        var at = Self.copyUTF8(subject, to: base)
        base[at] = 0x0A
        at += 1
        for k in parts.indices {
            if k > 0 {
                base[at] = 0x0A
                at += 1
            }
            at += Self.copyUTF8(parts[k].text, to: base + at)
        }
        let textLength = at
        if !parts.isEmpty {
            base[at] = 0x0A
            at += 1
        }
        precondition(at == length, "body: \(at) bytes written of \(length)")
        cache.pointee.body = b
        cache.pointee.bodyTextLength = textLength
        return (UnsafeBufferPointer(b), textLength)
    }

    /// Copies the UTF-8 of `s` to `dst` (room for `s.utf8.count` bytes); how many bytes.
    static func copyUTF8(_ s: String, to dst: UnsafeMutablePointer<UInt8>) -> Int {
        var s = s
        return s.withUTF8 { u in
            if let src = u.baseAddress { dst.initialize(from: src, count: u.count) }
            return u.count
        }
    }

    /// One pass over the subject and text for the text checks (obfuscated and mixed-script words).
    lazy var textScan: TextChecks.TextScan = {
        let body = self.body
        return TextChecks.scanText(UnsafeBufferPointer(rebasing: body.bytes[0..<body.textLength]), maxSeparators: TextChecks.maxWords,
                                   spacedRunLimit: TextChecks.maxSpacedRuns)
    }()

    /// Calls `body` with the subject and text (``body`` without its final newline).
    func withSubjectAndText<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let b = self.body
        return body(UnsafeBufferPointer(rebasing: b.bytes[0..<b.textLength]))
    }

    /// The Date field's time, parsed once for the rules that read it.
    lazy var dateFieldTime: Int64? = fieldValue("Date").flatMap { MessageDate.parse($0) }

    /// The time dates are judged against: the newest Received field's date, else the environment's now.
    lazy var referenceTime: Int64 = {
        if let r = fieldValue("Received"), let t = Self.receivedTime(r) { return t }
        return environment.now ?? Int64(time(nil))
    }()

    /// `MessageDate.parse` of ``receivedDate(_:)``, read in place when the last `;` is between
    /// ASCII bytes (nearly always): no string is made of the date.
    static func receivedTime(_ value: String) -> Int64? {
        var copy = value
        let answer: Int64?? = copy.withUTF8 { b in
            guard let start = dateStart(b) else { return nil }
            guard let start else { return .some(nil) }
            return .some(MessageDate.parse(utf8: UnsafeBufferPointer(rebasing: b[start...])))
        }
        if let answer { return answer }
        return receivedDate(value).flatMap { MessageDate.parse($0) }
    }

    /// Where the date in a Received field's UTF-8 bytes starts: after the last `;` byte, when it
    /// lies between ASCII bytes (then it is a Character of its own: grapheme clusters that could
    /// contain it need non-ASCII neighbours); `.some(nil)`: no `;` at all; `nil`: the Characters decide.
    static func dateStart(_ b: UnsafeBufferPointer<UInt8>) -> Int?? {
        var i = b.count - 1
        while i >= 0, b[i] != 0x3B { i -= 1 }
        guard i >= 0 else { return .some(nil) }
        guard (i + 1 == b.count || b[i + 1] < 0x80) && (i == 0 || b[i - 1] < 0x80) else { return nil }
        return .some(i + 1)
    }

    /// What follows the last `;` of a Received field (its date).
    static func receivedDate(_ value: String) -> String? {
        // The bytes decide when the last ';' lies between ASCII bytes (``dateStart(_:)``), else the Characters.
        var copy = value
        let answer: String?? = copy.withUTF8 { b in
            guard let start = dateStart(b) else { return nil }
            guard let start else { return .some(nil) }
            return .some(String(decoding: UnsafeBufferPointer(rebasing: b[start...]), as: UTF8.self))
        }
        if let answer { return answer }
        guard let semi = value.lastIndex(of: ";") else { return nil }
        return String(value[value.index(after: semi)...])
    }

    /// `bytes` with ASCII upper case folded (what the prefilters compare against).
    static func fold(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: src.count) { dst, count in
                for i in 0..<src.count {
                    let b = src[i]
                    dst[i] = b &- 0x41 < 26 ? b | 0x20 : b
                }
                count = src.count
            }
        }
    }

    /// Whether `pattern` (compiled rule `rule`) matches `text`: its prefilter judged from the
    /// text's shared literal search when it has one (`search` >= 0), else literal by literal in
    /// the text itself (folding case as it compares: no folded copy of the text is made).
    private func matches(_ pattern: RulePattern, rule: Int, search: Int, key: Int, _ text: UnsafeBufferPointer<UInt8>,
                         scratch: MatchScratch) -> Bool {
        if search >= 0 {
            let found: UnsafeBufferPointer<Int32>
            if let f = cache.pointee.foundEnds[key] {
                found = UnsafeBufferPointer(f)
            } else {
                let searcher = plan.searches[search]
                let ends = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, searcher.literals.count))
                searcher.scan(text, into: ends)
                cache.pointee.foundEnds[key] = ends
                found = UnsafeBufferPointer(ends)
            }
            guard plan.passes(rule, ends: found), let start = plan.earliestStart(rule, ends: found) else {
                return false
            }
            if text.count > RulePattern.onePassLength, let anchored = pattern.anchored, let leading = pattern.leading {
                // A long text (the body): the anchored pattern tried where the leading literals
                // occur, their first occurrences known from the search.
                return withUnsafeTemporaryAllocation(of: Int.self, capacity: leading.count) { firstAt -> Bool in
                    firstAt.initialize(repeating: -1)
                    // The plan's leading literals of the rule are the pattern's, in the same order
                    // (both are `LiteralPrefilter.leadingLiterals` of the pattern): read by index.
                    if !plan.firstLeadingStarts(rule, ends: found, into: firstAt) {
                        let literals = plan.searches[search].literals
                        for id in plan.leading[rule] {
                            let literal = literals[Int(id)]
                            let at = found[Int(id)] >= 0 ? Int(found[Int(id)]) - literal.count : Int.max
                            for k in leading.indices where leading[k].bytes == literal { firstAt[k] = at }
                        }
                    }
                    return pattern.matchesAtEachLeading(text, firstAt: firstAt, from: start, anchored, leading, scratch: scratch)
                }
            }
            return pattern.matches(text, from: start, scratch: scratch)
        }
        return pattern.matches(text, scratch: scratch)
    }

    func match(_ pattern: RulePattern, on target: RuleSet.Target, slot: Int = -1, rule: Int = -1, scratch: MatchScratch) -> [String]? {
        let search = rule >= 0 ? plan.searchOf[rule] : -1
        switch target {
        case .full, .rawbody, .allHeaders:
            let range: Range<Int>
            let m = message.bytes
            let split = min(bodyOffset, m.count)
            switch target {
            case .full: range = 0..<m.count
            case .rawbody: range = split..<m.count
            default: range = 0..<split
            }
            let ok = m.withUnsafeBufferPointer { b in
                matches(pattern, rule: rule, search: search, key: search, UnsafeBufferPointer(rebasing: b[range]), scratch: scratch)
            }
            return ok ? [] : nil
        case .body:
            return matches(pattern, rule: rule, search: search, key: search, body.bytes, scratch: scratch) ? [] : nil
        case .header(let name, let part):
            var t: String
            if slot >= 0, let cached = cache.pointee.headerTexts[slot] {
                t = cached
            } else {
                t = headerText(name, part)
                if slot >= 0 { cache.pointee.headerTexts[slot] = t }
            }
            let ok = t.withUTF8 { b in matches(pattern, rule: rule, search: search, key: search, b, scratch: scratch) }
            return ok ? [name] : nil
        case .uri:
            if search < 0, let tail = pattern.endTailLength {
                // Decided by how each URL ends (`\.(exe|scr)$`): its last bytes, without making
                // the normalized strings.
                return urlAnalysis.firstNormalized(tail: tail, where: { pattern.matches(tail: $0) }).map { [$0] }
            }
            let all = normalizedURLs
            if search >= 0 {
                // Each URL's literals found once, for every uri rule.
                let found: [LiteralSearch.Found]
                if let f = cache.pointee.urlLiterals[search] {
                    found = f
                } else {
                    found = all.map { u in
                        var s = u
                        return s.withUTF8 { plan.searches[search].scan($0) }
                    }
                    cache.pointee.urlLiterals[search] = found
                }
                for (u, f) in zip(all, found) where plan.passes(rule, f) {
                    guard let start = plan.earliestStart(rule, f, in: plan.searches[search]) else { continue }
                    var s = u
                    if s.withUTF8({ pattern.matches($0, from: start, scratch: scratch) }) { return [u] }
                }
                return nil
            }
            for i in all.indices {
                var s = all[i]
                if s.withUTF8({ pattern.matches($0, scratch: scratch) }) { return [all[i]] }
            }
            return nil
        }
    }

    /// The text a header rule reads: the values (or addresses, or display names) of the fields
    /// named `name`, joined by line feeds; the one value itself when there is one (no copy).
    func headerText(_ name: String, _ part: RuleDefinition.HeaderPart) -> String {
        // The values in order, joined by line feeds; the one value itself when there is one. (Not
        // a nested function appending to a captured variable: that variable was boxed and checked
        // for exclusive access on every append.)
        var text: String? = nil
        switch part {
        case .value:
            // The first Subject's decoded value is ``subject`` (decoded once for both).
            var first = Self.sameName(name, "Subject")
            forEachFieldIndex(name) { i in
                let value = first ? subject : headerFields[i].decodedValue
                first = false
                Self.join(&text, value)
                return true
            }
        case .raw:
            forEachFieldIndex(name) { i in
                Self.join(&text, headerFields[i].value)
                return true
            }
        case .name: for list in addressLists(name) { for a in list { if let n = a.displayName { Self.join(&text, n) } } }
        case .addr: for list in addressLists(name) { for a in list { Self.join(&text, a.address) } }
        }
        return text ?? ""
    }

    /// `value` as the text when there is none yet, else appended after a line feed.
    @inline(__always) static func join(_ text: inout String?, _ value: String) {
        if text == nil {
            text = value
        } else {
            text?.append("\n")
            text?.append(value)
        }
    }

    static func run(_ p: RulePattern, _ t: [UInt8], _ f: [UInt8], _ scratch: MatchScratch) -> Bool {
        t.withUnsafeBufferPointer { tb in f.withUnsafeBufferPointer { fb in p.matches(tb, folded: fb, scratch: scratch) } }
    }
}
