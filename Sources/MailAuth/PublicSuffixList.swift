#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The Public Suffix List (https://publicsuffix.org) as a suffix trie: which part of a domain
/// name is a public suffix (`com`, `co.uk`, `*.kobe.jp`), and hence which is the registrable or
/// organizational domain (RFC 7489 section 3.2).
///
/// Rules follow the list's format: one rule a line, `//` comments, wildcard rules (`*.ck`),
/// exception rules (`!www.ck`), and the implicit `*` rule for unlisted top-level domains.
/// Unicode rules also match their Punycode (`xn--`) form.
public struct PublicSuffixList: Sendable {
    private struct Node: Sendable {
        var children: [String: Int] = [:]
        var isRule = false
        var isException = false
    }
    /// Everything the list holds, in one immutable box: a copy of the list (a parameter, a bound
    /// optional, a capture) is one retain and one release, not one per table (seven before).
    /// Its identity is the list's (``identity``).
    private final class Storage: Sendable {
        /// The suffix trie of the general (`String`) path.
        let nodes: [Node]
        /// The same trie for ASCII lookups without building `String`s.
        let trie: ByteTrie
        let ruleCount: Int

        init(nodes: [Node], trie: ByteTrie, ruleCount: Int) {
            self.nodes = nodes
            self.trie = trie
            self.ruleCount = ruleCount
        }
    }
    private let storage: Storage

    /// The trie while the rules are read: each edge keyed by a 64-bit hash of (parent, folded
    /// label bytes), verified against the child's parent and label bytes.
    private struct Building {
        var nodes: [Node] = [Node()]
        var edgeList: [(key: UInt64, parent: Int32, child: Int32)] = []
        var nodeLabels: [[UInt8]] = [[]]
        /// The `*` child of each node, or -1.
        var wildcardChild: [Int32] = [-1]
        /// Each node's flags for the byte path: 1 a rule ends here, 2 an exception does.
        var nodeFlags: [UInt8] = [0]
        var ruleCount = 0

        mutating func addRule(_ rule: UnsafeBufferPointer<UInt8>, exception: Bool) {
            let labels: [String]
            let isASCII = rule.allSatisfy { $0 < 0x80 }
            if isASCII {
                labels = rule.split(separator: 0x2E, omittingEmptySubsequences: false).map { label in
                    String(decoding: label.lazy.map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }, as: UTF8.self)
                }
            } else {
                labels = String(decoding: rule, as: UTF8.self).lowercased()
                    .split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            }
            guard !labels.contains(where: \.isEmpty) else { return }
            insert(labels, exception: exception)
            // Unicode rules also match their Punycode form.
            if !isASCII {
                let ascii = labels.map(Punycode.asciiLabel)
                if ascii != labels { insert(ascii, exception: exception) }
            }
            ruleCount += 1
        }

        mutating func insert(_ labels: [String], exception: Bool) {
            var node = 0
            for label in labels.reversed() {
                if let next = nodes[node].children[label] {
                    node = next
                } else {
                    nodes.append(Node())
                    let child = nodes.count - 1
                    nodes[node].children[label] = child
                    let bytes = Array(label.utf8)
                    nodeLabels.append(bytes)
                    wildcardChild.append(-1)
                    nodeFlags.append(0)
                    if bytes == [0x2A] { wildcardChild[node] = Int32(child) }
                    let key = bytes.withUnsafeBufferPointer { PublicSuffixList.edgeKey(node, PublicSuffixList.labelHash($0)) }
                    edgeList.append((key, Int32(node), Int32(child)))
                    node = child
                }
            }
            if exception { nodes[node].isException = true } else { nodes[node].isRule = true }
            nodeFlags[node] |= exception ? 2 : 1
        }
    }

    /// The byte trie of ``asciiLookup(_:extra:)``: the edges in an open-addressing table probed
    /// linearly from the key's low bits (a `Dictionary` hashed each 64-bit key with SipHash),
    /// every label's bytes in one pool. An entry is 4 bytes: a tag (the key's upper bits) above
    /// the child's index. A child is taken only when its parent and its label are the ones asked
    /// for, so the answers do not depend on the tags or keys being distinct. The table is at most
    /// three quarters full. What a lookup reads of a node (parent, label, wildcard child, flags)
    /// is one 16-byte record, so a step touches the table's line, the node's and the label's
    /// (misses, not instructions, are what a lookup waits on; six arrays before, 8-byte entries).
    ///
    /// A value inside the list's ``Storage`` (a class before): a lookup reads the table's address
    /// and sizes from the storage object itself, one dependent load (a cold line) fewer.
    struct ByteTrie: Sendable {
        /// `tag << childBits | child` (0: an empty slot; the root is no one's child), `mask + 1` slots.
        let entries: [UInt32]
        let mask: Int
        /// Bits of an entry that hold the child (enough for every node); the tag above them is
        /// the key's top `tagBits` bits (`32 - childBits`, fewer in tests).
        let childBits: UInt32
        let tagBits: UInt32
        let nodes: [NodeRecord]
        /// Node `k`'s label: `labelPool[nodes[k].labelStart ..< + nodes[k].labelCount]`.
        let labelPool: [UInt8]
        /// Whether the byte path can answer (false for a list too large for the layout: then the
        /// general steps answer).
        let usable: Bool

        struct NodeRecord: Sendable {
            /// The parent (-1 for the root).
            var parent: Int32
            /// The `*` child, or -1.
            var wildcard: Int32
            var labelStart: Int32
            var labelCount: UInt16
            /// 1 a rule ends here, 2 an exception does.
            var flags: UInt8
        }

        /// `edges`: each edge's key (``edgeKey(_:_:)``), parent and child. `maxTagBits` (tests):
        /// fewer tag bits, so that tags collide and the parent and label checks decide.
        init(edges: [(key: UInt64, parent: Int32, child: Int32)], nodeLabels: [[UInt8]], wildcardChild: [Int32],
             nodeFlags: [UInt8], usable: Bool, maxTagBits: Int = 32) {
            var size = 16
            while size * 3 < edges.count * 4 { size <<= 1 }
            var childBits: UInt32 = 1
            while (1 << childBits) <= nodeLabels.count { childBits += 1 }
            var pool: [UInt8] = []
            var records: [NodeRecord] = []
            records.reserveCapacity(nodeLabels.count)
            var fits = childBits <= 24 && nodeLabels.count == wildcardChild.count && nodeLabels.count == nodeFlags.count
            for (k, l) in nodeLabels.enumerated() {
                if l.count > Int(UInt16.max) || pool.count + l.count > Int(Int32.max) { fits = false }
                records.append(NodeRecord(parent: -1, wildcard: k < wildcardChild.count ? wildcardChild[k] : -1,
                                          labelStart: Int32(truncatingIfNeeded: pool.count),
                                          labelCount: UInt16(truncatingIfNeeded: l.count), flags: k < nodeFlags.count ? nodeFlags[k] : 0))
                pool.append(contentsOf: l)
            }
            let tagBits = UInt32(max(0, min(32 - Int(childBits), maxTagBits)))
            var entries = [UInt32](repeating: 0, count: size)
            for e in edges {
                var i = Int(truncatingIfNeeded: e.key) & (size - 1)
                while entries[i] != 0 { i = (i + 1) & (size - 1) }
                entries[i] = Self.tag(e.key, tagBits) << childBits | UInt32(truncatingIfNeeded: e.child)
                records[Int(e.child)].parent = e.parent
            }
            self.entries = entries
            self.mask = size - 1
            self.childBits = childBits
            self.tagBits = tagBits
            self.nodes = records
            self.labelPool = pool
            self.usable = usable && fits
        }

        /// The tag of `key`: its top `bits` bits (0 bits: every tag is 0).
        @inline(__always) static func tag(_ key: UInt64, _ bits: UInt32) -> UInt32 {
            bits == 0 ? 0 : UInt32(truncatingIfNeeded: key >> UInt64(64 &- bits))
        }
    }

    /// The number of rules loaded.
    public var ruleCount: Int { storage.ruleCount }

    /// An object shared by a list and its copies only (a list does not change once made): values
    /// computed with a list whose `identity` is `===` another's are the other's too. Lists read
    /// separately from the same file have different identities.
    public var identity: any AnyObject & Sendable { storage }

    /// Where Debian's `publicsuffix` package installs the list.
    public static let systemPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// The list at ``systemPath``, read once on first use; nil when it cannot be read.
    public static let system: PublicSuffixList? = try? PublicSuffixList(contentsOfFile: systemPath)

    /// Reads the list from a file (UTF-8).
    public init(contentsOfFile path: String) throws(PublicSuffixListError) {
        guard let file = fopen(path, "rb") else { throw PublicSuffixListError(path: path) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 64 << 20 { throw PublicSuffixListError(path: path) }
        }
        self.init(String(decoding: bytes, as: UTF8.self))
    }

    /// Parses the list's text (as bytes: the list has about 10,000 rules, and Character-based
    /// splitting made loading it the largest start-up cost of a process).
    public init(_ text: String) {
        self.init(text, maxTagBits: 32)
    }

    /// ``init(_:)`` with at most `maxTagBits` bits of the edge keys in the byte trie's entries
    /// (tests: few bits make tags collide, so that the parent and label checks decide).
    init(_ text: String, maxTagBits: Int) {
        var building = Building()
        var t = text
        t.withUTF8 { buf in
            let n = buf.count
            var i = 0
            while i < n {
                var end = i
                while end < n && buf[end] != 0x0A && buf[end] != 0x0D { end += 1 }
                defer { i = end + 1 }
                // A rule is the first whitespace-delimited word of a line.
                var s = i
                while s < end && (buf[s] == 0x20 || buf[s] == 0x09) { s += 1 }
                var e = s
                while e < end && buf[e] != 0x20 && buf[e] != 0x09 { e += 1 }
                guard e > s, !(e - s >= 2 && buf[s] == 0x2F && buf[s + 1] == 0x2F) else { continue }
                let exception = buf[s] == 0x21  // "!"
                building.addRule(UnsafeBufferPointer(rebasing: buf[(exception ? s + 1 : s)..<e]), exception: exception)
            }
        }
        let trie = ByteTrie(edges: building.edgeList, nodeLabels: building.nodeLabels, wildcardChild: building.wildcardChild,
                            nodeFlags: building.nodeFlags, usable: true, maxTagBits: maxTagBits)
        storage = Storage(nodes: building.nodes, trie: trie, ruleCount: building.ruleCount)
    }

    /// The lower-cased labels of a domain name, or nil for a name the list cannot apply to
    /// (empty, a leading dot, an empty label); one trailing dot is ignored.
    private static func labels(_ domain: String) -> [String]? {
        // ASCII names (nearly all): folded and split as bytes.
        if domain.utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes = Array(domain.utf8)
            if bytes.last == 0x2E { bytes.removeLast() }
            guard !bytes.isEmpty else { return nil }
            var labels: [String] = []
            var start = 0
            for i in 0...bytes.count {
                if i == bytes.count || bytes[i] == 0x2E {
                    guard i > start else { return nil }
                    labels.append(String(decoding: bytes[start..<i].lazy.map { ($0 &- 0x41) < 26 ? $0 | 0x20 : $0 }, as: UTF8.self))
                    start = i + 1
                }
            }
            return labels
        }
        var d = Substring(domain)
        if d.hasSuffix(".") { d = d.dropLast() }
        guard !d.isEmpty else { return nil }
        let labels = d.lowercased().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        return labels.contains(where: \.isEmpty) ? nil : labels
    }

    /// How many labels (from the right) of `labels` form the public suffix.
    private func suffixLength(_ labels: [String]) -> Int {
        let nodes = storage.nodes
        var best = 1  // the implicit "*" rule
        var exceptionLength: Int? = nil
        // Depth-first over exact and wildcard branches; depth is bounded by the label count.
        var stack: [(node: Int, depth: Int)] = [(0, 0)]
        while let (node, depth) = stack.popLast() {
            if depth > 0 {
                if nodes[node].isException { exceptionLength = max(exceptionLength ?? 0, depth - 1) }
                if nodes[node].isRule { best = max(best, depth) }
            }
            guard depth < labels.count else { continue }
            let label = labels[labels.count - 1 - depth]
            if let next = nodes[node].children[label] { stack.append((next, depth + 1)) }
            if let next = nodes[node].children["*"] { stack.append((next, depth + 1)) }
        }
        return exceptionLength ?? best
    }

    /// The public suffix of `domain` (`co.uk` for `www.example.co.uk`), lower-cased; nil for
    /// names the list cannot apply to.
    public func publicSuffix(of domain: String) -> String? {
        if let fast = asciiLookup(domain, extra: 0) { return fast }
        return generalPublicSuffix(of: domain)
    }

    /// ``publicSuffix(of:)`` through `String` labels (any name; the reference for the byte path).
    func generalPublicSuffix(of domain: String) -> String? {
        guard let labels = Self.labels(domain) else { return nil }
        let n = suffixLength(labels)
        return labels.suffix(n).joined(separator: ".")
    }

    /// The registrable domain: the public suffix and one more label (`example.co.uk`); nil when
    /// `domain` is itself a public suffix or cannot be looked up.
    public func registrableDomain(of domain: String) -> String? {
        if let fast = asciiLookup(domain, extra: 1) { return fast }
        return generalRegistrableDomain(of: domain)
    }

    /// ``registrableDomain(of:)`` through `String` labels (any name; the reference for the byte path).
    func generalRegistrableDomain(of domain: String) -> String? {
        guard let labels = Self.labels(domain) else { return nil }
        let n = suffixLength(labels)
        guard labels.count > n else { return nil }
        return labels.suffix(n + 1).joined(separator: ".")
    }

    // MARK: ASCII names on bytes

    @inline(__always) static func labelHash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in b { h = (h ^ UInt64(c &- 0x41 < 26 ? c | 0x20 : c)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    @inline(__always) static func edgeKey(_ parent: Int, _ labelHash: UInt64) -> UInt64 {
        var k = labelHash ^ (UInt64(truncatingIfNeeded: parent) &* 0x9E37_79B9_7F4A_7C15)
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        return k
    }

    /// The child of `node` labelled `b` (ASCII, compared folded) in the byte trie's tables, or -1.
    @inline(__always) private static func child(_ node: Int, _ b: UnsafeBufferPointer<UInt8>, entries: UnsafeBufferPointer<UInt32>,
                                                mask: Int, childBits: UInt32, tagBits: UInt32,
                                                nodes: UnsafeBufferPointer<ByteTrie.NodeRecord>, pool: UnsafeBufferPointer<UInt8>) -> Int {
        let key = edgeKey(node, labelHash(b))
        let tag = ByteTrie.tag(key, tagBits)
        let childMask: UInt32 = (1 << childBits) &- 1
        var i = Int(truncatingIfNeeded: key) & mask
        while true {
            let e = entries[i]
            if e == 0 { return -1 }
            i = (i &+ 1) & mask
            guard e >> childBits == tag else { continue }
            let c = Int(e & childMask)
            let r = nodes[c]
            guard Int(r.parent) == node, Int(r.labelCount) == b.count else { continue }
            let start = Int(r.labelStart)
            var j = 0
            while j < b.count {
                let x = b[j]
                if (x &- 0x41 < 26 ? x | 0x20 : x) != pool[start &+ j] { break }
                j &+= 1
            }
            if j == b.count { return c }
        }
    }

    /// ``publicSuffix(of:)`` (`extra` 0) or ``registrableDomain(of:)`` (`extra` 1) of an ASCII
    /// name, on bytes: `.some(nil)` when the answer is nil, nil when the name is not ASCII (or
    /// the fast path is off), so that the general steps run. Same answers, without a `String`
    /// per label or hashing `String`s.
    ///
    /// Code footprint: the steps are one out-of-line function (``asciiLookup(_:count:extra:storage:scratch:)``)
    /// called on one scratch allocation. Two nested `withUnsafeTemporaryAllocation`s each
    /// inlined their body twice (the stack and the heap branch): four copies of the result's
    /// construction and two of the trie walk, 4,887 bytes of code, about 38 instruction-cache
    /// misses a message.
    func asciiLookup(_ domain: String, extra: Int) -> String?? {
        // Read in place (a copy of the trie would retain its three arrays).
        let storage = storage
        guard storage.trie.usable else { return nil }
        let mask = storage.trie.mask, childBits = storage.trie.childBits, tagBits = storage.trie.tagBits
        var d = domain
        return d.withUTF8 { all -> String?? in
            guard all.count <= 1024 else { return nil }
            let n = all.count > 0 && all[all.count - 1] == 0x2E ? all.count - 1 : all.count
            guard n > 0 else { return .some(nil) }
            return storage.trie.entries.withUnsafeBufferPointer { entries in
                storage.trie.nodes.withUnsafeBufferPointer { nodes in
                    storage.trie.labelPool.withUnsafeBufferPointer { pool in
                        // Label starts (at most n + 1) and the walk's stack (at most 2 * (n + 1) + 2
                        // pairs), 32-bit: on the stack without asking the runtime up to 49 bytes.
                        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 5 * n + 9) { scratch in
                            Self.asciiLookup(all.baseAddress!, count: n, extra: extra, entries: entries, mask: mask,
                                             childBits: childBits, tagBits: tagBits, nodes: nodes, pool: pool,
                                             scratch: scratch.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    /// The steps of ``asciiLookup(_:extra:)`` on the name's first `n` bytes (the final dot cut),
    /// `scratch` holding `5 * n + 9` integers.
    @inline(never)
    private static func asciiLookup(_ base: UnsafePointer<UInt8>, count n: Int, extra: Int, entries: UnsafeBufferPointer<UInt32>,
                                    mask: Int, childBits: UInt32, tagBits: UInt32, nodes: UnsafeBufferPointer<ByteTrie.NodeRecord>,
                                    pool: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutablePointer<Int32>) -> String?? {
        let b = UnsafeBufferPointer(start: base, count: n)
        // Label starts, right to left (starts[0] is the last label's), in the pass that checks
        // that the name is ASCII (a non-ASCII byte anywhere: nil, even beside an empty label).
        let starts = scratch
        var count = 0
        var end = n
        var i = n
        var emptyLabel = false
        while i > 0 {
            let c = b[i - 1]
            if c >= 0x80 { return nil }
            if c == 0x2E {
                if end <= i { emptyLabel = true }
                starts[count] = Int32(truncatingIfNeeded: i)
                count += 1
                end = i - 1
            }
            i -= 1
        }
        guard !emptyLabel, end > 0 else { return .some(nil) }  // an empty label, a leading dot
        starts[count] = 0
        count += 1
        var best = 1
        var exceptionLength = -1
        // Depth-first over exact and wildcard branches, as suffixLength(_:); each node pushes at
        // most two, so the stack holds at most 2 * count + 1 (node, depth) pairs.
        let stack = scratch + (n + 1)
        stack[0] = 0
        stack[1] = 0
        var top = 1
        while top > 0 {
            top -= 1
            let node = Int(stack[2 * top]), depth = Int(stack[2 * top + 1])
            if depth > 0 {
                let f = nodes[node].flags
                if f & 2 != 0 { exceptionLength = max(exceptionLength, depth - 1) }
                if f & 1 != 0 { best = max(best, depth) }
            }
            guard depth < count else { continue }
            // label k from the right: starts[k] ..< (k == 0 ? n : starts[k - 1] - 1)
            let label = UnsafeBufferPointer(rebasing: b[Int(starts[depth])..<(depth == 0 ? n : Int(starts[depth - 1]) - 1)])
            let next = child(node, label, entries: entries, mask: mask, childBits: childBits, tagBits: tagBits, nodes: nodes, pool: pool)
            if next >= 0 {
                stack[2 * top] = Int32(truncatingIfNeeded: next)
                stack[2 * top + 1] = Int32(truncatingIfNeeded: depth + 1)
                top += 1
            }
            let w = nodes[node].wildcard
            if w >= 0 {
                stack[2 * top] = w
                stack[2 * top + 1] = Int32(truncatingIfNeeded: depth + 1)
                top += 1
            }
        }
        let s = exceptionLength >= 0 ? exceptionLength : best
        if extra > 0 { guard count > s else { return .some(nil) } }
        let take = min(s + extra, count)
        let from = take == 0 ? n : Int(starts[take - 1])
        // Lower-cased straight into the string's storage (`String(decoding:)` of a lazy map takes
        // the generic path, about 1,000 instructions a name).
        return .some(String(unsafeUninitializedCapacity: n - from) { out in
            for k in from..<n {
                let c = b[k]
                out[k - from] = c &- 0x41 < 26 ? c | 0x20 : c
            }
            return n - from
        })
    }

    /// RFC 7489's organizational domain: the registrable domain, or the (lower-cased) name itself
    /// when it is a public suffix; nil for names the list cannot apply to.
    public func organizationalDomain(of domain: String) -> String? {
        guard let labels = Self.labels(domain) else { return nil }
        return registrableDomain(of: domain) ?? labels.joined(separator: ".")
    }
}

/// The Public Suffix List file could not be read.
public struct PublicSuffixListError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var description: String { "cannot read the Public Suffix List at \(path)" }
}

/// RFC 3492 Punycode, for turning Unicode labels into their `xn--` form.
enum Punycode {
    /// `label` unchanged when it is ASCII, else `xn--` and its Punycode encoding.
    static func asciiLabel(_ label: String) -> String {
        let scalars = label.unicodeScalars.map(\.value)
        if scalars.allSatisfy({ $0 < 0x80 }) { return label }
        return "xn--" + encode(scalars)
    }

    static func encode(_ input: [UInt32]) -> String {
        let base: UInt32 = 36, tmin: UInt32 = 1, tmax: UInt32 = 26
        var output: [UInt8] = input.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = UInt32(output.count)
        var handled = basicCount
        if basicCount > 0 { output.append(UInt8(ascii: "-")) }
        var n: UInt32 = 128
        var delta: UInt32 = 0
        var bias: UInt32 = 72
        func digit(_ d: UInt32) -> UInt8 { d < 26 ? UInt8(d) + UInt8(ascii: "a") : UInt8(d - 26) + UInt8(ascii: "0") }
        func adapt(_ delta: UInt32, _ points: UInt32, _ first: Bool) -> UInt32 {
            var delta = first ? delta / 700 : delta / 2
            delta += delta / points
            var k: UInt32 = 0
            while delta > ((base - tmin) * tmax) / 2 {
                delta /= base - tmin
                k += base
            }
            return k + (base - tmin + 1) * delta / (delta + 38)
        }
        while handled < UInt32(input.count) {
            guard let m = input.filter({ $0 >= n }).min() else { break }
            let (step, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            if overflow { return "" }
            delta = delta &+ step
            n = m
            for c in input {
                if c < n { delta &+= 1 }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta &+= 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
