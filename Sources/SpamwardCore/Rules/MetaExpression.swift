/// A meta rule's expression: rule names combined with `&&`, `||`, `!`, parentheses, `+`, `-`,
/// numbers and comparisons (`>`, `>=`, `<`, `<=`, `==`, `!=`).
///
/// A name is 1 when that rule hit and 0 otherwise; `&&`, `||` and `!` treat non-zero as true and
/// give 1 or 0. So `(A + B + C) >= 2` counts hits. The rule hits when the value is non-zero.
indirect enum MetaExpression: Sendable, Hashable {
    case rule(Int)
    case number(Double)
    case not(MetaExpression)
    case and(MetaExpression, MetaExpression)
    case or(MetaExpression, MetaExpression)
    case add(MetaExpression, MetaExpression)
    case subtract(MetaExpression, MetaExpression)
    case compare(MetaExpression, Comparison, MetaExpression)

    enum Comparison: String, Sendable, Hashable {
        case greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", equal = "==", notEqual = "!="

        /// 1 when `x op y` holds, else 0 (a meta expression's truth as a number).
        @inline(__always) func value(_ x: Double, _ y: Double) -> Double {
            let r: Bool
            switch self {
            case .greater: r = x > y
            case .greaterOrEqual: r = x >= y
            case .less: r = x < y
            case .lessOrEqual: r = x <= y
            case .equal: r = x == y
            case .notEqual: r = x != y
            }
            return r ? 1 : 0
        }
    }

    func value(_ hit: (Int) -> Bool) -> Double {
        switch self {
        case .rule(let i): return hit(i) ? 1 : 0
        case .number(let x): return x
        case .not(let e): return e.value(hit) == 0 ? 1 : 0
        case .and(let a, let b): return a.value(hit) != 0 && b.value(hit) != 0 ? 1 : 0
        case .or(let a, let b): return a.value(hit) != 0 || b.value(hit) != 0 ? 1 : 0
        case .add(let a, let b): return a.value(hit) + b.value(hit)
        case .subtract(let a, let b): return a.value(hit) - b.value(hit)
        case .compare(let a, let op, let b): return op.value(a.value(hit), b.value(hit))
        }
    }

    /// The expression in postfix order, for ``MetaProgram``: operands before their operator.
    func appendPostfix(to ops: inout [MetaProgram.Op]) {
        switch self {
        case .rule(let i): ops.append(.rule(Int32(i)))
        case .number(let x): ops.append(.number(x))
        case .not(let e):
            e.appendPostfix(to: &ops)
            ops.append(.not)
        case .and(let a, let b): Self.appendPostfix(a, b, .and, to: &ops)
        case .or(let a, let b): Self.appendPostfix(a, b, .or, to: &ops)
        case .add(let a, let b): Self.appendPostfix(a, b, .add, to: &ops)
        case .subtract(let a, let b): Self.appendPostfix(a, b, .subtract, to: &ops)
        case .compare(let a, let op, let b): Self.appendPostfix(a, b, .compare(op), to: &ops)
        }
    }

    /// A binary operator in postfix order: both operands, then the operator.
    private static func appendPostfix(_ a: MetaExpression, _ b: MetaExpression, _ op: MetaProgram.Op,
                                      to ops: inout [MetaProgram.Op]) {
        a.appendPostfix(to: &ops)
        b.appendPostfix(to: &ops)
        ops.append(op)
    }

    /// Rule indices the expression reads.
    var dependencies: [Int] {
        switch self {
        case .rule(let i): return [i]
        case .number: return []
        case .not(let e): return e.dependencies
        case .and(let a, let b), .or(let a, let b), .add(let a, let b), .subtract(let a, let b), .compare(let a, _, let b):
            return a.dependencies + b.dependencies
        }
    }

    /// Parses `text`; `names` maps rule names to their indices.
    static func parse(_ text: String, rule: String, names: [String: Int]) throws(RuleError) -> MetaExpression {
        var p = Parser(bytes: Array(text.utf8), rule: rule, text: text, names: names)
        let e = try p.parseOr(depth: 0)
        p.skipSpace()
        if p.i < p.bytes.count { throw p.error("unexpected '\(p.peekText)'") }
        return e
    }

    private struct Parser {
        let bytes: [UInt8]
        let rule: String
        let text: String
        let names: [String: Int]
        var i = 0
        static let maxDepth = 64

        var peekText: String {
            guard i < bytes.count else { return "end" }
            return String(decoding: bytes[i..<min(bytes.count, i + 8)], as: UTF8.self)
        }

        func error(_ message: String, at offset: Int? = nil) -> RuleError {
            RuleError(.invalidMetaExpression, rule: rule, "\(message) in \"\(text)\"", offset: offset ?? i)
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        mutating func eat(_ s: StaticString) -> Bool {
            skipSpace()
            let n = s.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            let ok = s.withUTF8Buffer { lit in lit.elementsEqual(bytes[i..<(i + n)]) }
            if ok { i += n }
            return ok
        }

        mutating func parseOr(depth: Int) throws(RuleError) -> MetaExpression {
            guard depth < Self.maxDepth else { throw error("nested too deeply") }
            var e = try parseAnd(depth: depth)
            while eat("||") { e = .or(e, try parseAnd(depth: depth)) }
            return e
        }

        mutating func parseAnd(depth: Int) throws(RuleError) -> MetaExpression {
            var e = try parseComparison(depth: depth)
            while eat("&&") { e = .and(e, try parseComparison(depth: depth)) }
            return e
        }

        mutating func parseComparison(depth: Int) throws(RuleError) -> MetaExpression {
            let e = try parseSum(depth: depth)
            let ops: [(StaticString, Comparison)] = [
                (">=", .greaterOrEqual), ("<=", .lessOrEqual), ("==", .equal), ("!=", .notEqual), (">", .greater), ("<", .less),
            ]
            for (s, op) in ops where eat(s) {
                return .compare(e, op, try parseSum(depth: depth))
            }
            return e
        }

        mutating func parseSum(depth: Int) throws(RuleError) -> MetaExpression {
            var e = try parseUnary(depth: depth)
            while true {
                if eat("+") {
                    e = .add(e, try parseUnary(depth: depth))
                } else if eat("-") {
                    e = .subtract(e, try parseUnary(depth: depth))
                } else {
                    return e
                }
            }
        }

        mutating func parseUnary(depth: Int) throws(RuleError) -> MetaExpression {
            guard depth < Self.maxDepth else { throw error("nested too deeply") }
            skipSpace()
            if i + 1 < bytes.count, bytes[i] == 0x21, bytes[i + 1] != 0x3D {  // '!' but not '!='
                i += 1
                return .not(try parseUnary(depth: depth + 1))
            }
            return try parsePrimary(depth: depth)
        }

        mutating func parsePrimary(depth: Int) throws(RuleError) -> MetaExpression {
            skipSpace()
            guard i < bytes.count else { throw error("expression ends early") }
            let c = bytes[i]
            if c == 0x28 {
                let open = i
                i += 1
                let e = try parseOr(depth: depth + 1)
                guard eat(")") else { throw error("'(' at offset \(open) is not closed") }
                return e
            }
            if c >= 0x30 && c <= 0x39 {
                let start = i
                while i < bytes.count, (bytes[i] >= 0x30 && bytes[i] <= 0x39) || bytes[i] == 0x2E { i += 1 }
                guard let x = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else {
                    throw error("bad number", at: start)
                }
                return .number(x)
            }
            if RuleSet.isNameByte(c) {
                let start = i
                while i < bytes.count, RuleSet.isNameByte(bytes[i]) { i += 1 }
                let name = String(decoding: bytes[start..<i], as: UTF8.self)
                guard let index = names[name] else {
                    throw RuleError(.unknownRule, rule: rule, "meta expression names \(name), which is not a rule", offset: start)
                }
                return .rule(index)
            }
            throw error("unexpected '\(peekText)'")
        }
    }
}

/// The meta expressions of a rule set as one flat postfix program each, in one array: evaluated
/// with a small stack of values, without walking the boxes of the indirect enum (reading each
/// case's payload retained and released its box).
///
/// The expressions have no side effects, so both operands of `&&` and `||` are evaluated: the
/// value is the one ``MetaExpression/value(_:)`` gives, which stops early
/// (`RuleEngineTests` compares the two).
struct MetaProgram: Sendable {
    enum Op: Sendable, Hashable {
        case rule(Int32)
        case number(Double)
        case not, and, or, add, subtract
        case compare(MetaExpression.Comparison)
    }

    /// Every expression's ops, one after the other.
    private(set) var ops: [Op] = []
    /// The ops of expression `k`: `ranges[k]`.
    private(set) var ranges: [Range<Int>] = []
    /// The deepest stack any expression needs.
    private(set) var maxDepth = 1

    /// Adds `e`; returns its number.
    mutating func append(_ e: MetaExpression) -> Int {
        let start = ops.count
        e.appendPostfix(to: &ops)
        var depth = 0
        for op in ops[start...] {
            switch op {
            case .rule, .number: depth += 1
            case .not: break
            default: depth -= 1
            }
            maxDepth = max(maxDepth, depth + 1)
        }
        ranges.append(start..<ops.count)
        return ranges.count - 1
    }

    /// The value of expression `k`; `hit(i)`: whether rule `i` hit. `stack` holds at least
    /// ``maxDepth`` values.
    @inline(__always)
    static func value(_ ops: UnsafeBufferPointer<Op>, _ range: Range<Int>, stack: UnsafeMutablePointer<Double>,
                      _ hit: (Int) -> Bool) -> Double {
        var top = -1
        for k in range {
            switch ops[k] {
            case .rule(let i):
                top += 1
                stack[top] = hit(Int(i)) ? 1 : 0
            case .number(let x):
                top += 1
                stack[top] = x
            case .not:
                stack[top] = stack[top] == 0 ? 1 : 0
            case .and:
                top -= 1
                stack[top] = stack[top] != 0 && stack[top + 1] != 0 ? 1 : 0
            case .or:
                top -= 1
                stack[top] = stack[top] != 0 || stack[top + 1] != 0 ? 1 : 0
            case .add:
                top -= 1
                stack[top] = stack[top] + stack[top + 1]
            case .subtract:
                top -= 1
                stack[top] = stack[top] - stack[top + 1]
            case .compare(let op):
                top -= 1
                stack[top] = op.value(stack[top], stack[top + 1])
            }
        }
        return stack[0]
    }

    /// ``value(_:_:stack:_:)`` of expression `k` with a stack of its own (tests).
    func value(_ k: Int, _ hit: (Int) -> Bool) -> Double {
        ops.withUnsafeBufferPointer { ops in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: maxDepth) { stack in
                Self.value(ops, ranges[k], stack: stack.baseAddress!, hit)
            }
        }
    }
}
