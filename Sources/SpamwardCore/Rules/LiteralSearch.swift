import CLiteralScan

/// The prefilter literals of all the rules that read one text, found in one pass over it
/// (Aho-Corasick), instead of one `memchr` pass per literal and rule.
///
/// The automaton is built once, when the rule set is compiled: a trie of the literals
/// (ASCII-folded to lower case, as ``LiteralPrefilter`` gives them), completed with its failure
/// links into a dense transition table. Bytes are mapped to columns first, both cases of an ASCII
/// letter to the same column and every byte that occurs in no literal to column 0, so the table
/// stays small (states × distinct literal bytes) and the text needs no folded copy. One scan
/// reads each byte once (a column lookup and a table lookup) and reports which literals occur
/// as a bit set; each rule's prefilter condition is then judged from the bits.
///
/// A literal is reported exactly when it occurs in the ASCII-folded text, which is what
/// ``LiteralPrefilter/contains(_:_:)`` answers, so the prefilter's decisions do not change.
///
/// A final class, immutable once built: an evaluation reads the body's search through its rule
/// set's plan, and a reference is one retain where the struct's seven arrays were seven (and
/// their releases) every time it was read out of the plan's array. Its table and the addresses
/// of its columns are memory it owns (allocated in `init`, written only there, freed in
/// `deinit`), so sharing it between threads is safe (`@unchecked Sendable`: raw pointers are not
/// `Sendable` by themselves).
final class LiteralSearch: @unchecked Sendable {
    /// The literals (lower-cased bytes), by id.
    let literals: [[UInt8]]
    /// Byte → column.
    private let columns: [UInt8]
    /// Columns per state (distinct literal bytes + 1).
    private let width: Int
    /// `table[row + column]`: the next state's row. States that end no literal have rows
    /// `state × width` below ``finalBit``; those that end one (their own or along their failure
    /// chain) have rows `finalBit + k × width`, so a step's row tells with one bit whether it ends
    /// a literal, and is the next lookup's index as it is (no shift, no mask). In 16 bits when
    /// every row fits (``hasNarrowTable``), which halves the table (the body rules' 28 literals:
    /// 18 KB instead of 36 KB, within the first-level data cache). Owned memory (not an array),
    /// so that ``columnEntries`` can hold addresses inside it.
    private let table: UnsafeMutableRawPointer
    /// Whether the table's entries have 16 bits (else 32).
    let hasNarrowTable: Bool
    /// For each byte `b`, the address of its column's entry in row 0 (`table + columns[b]`
    /// entries): the interleaved scan's lookup of a row's next row is then one load at that address
    /// plus the row (scaled by the load itself), with no addition on its chain of dependent loads.
    /// (Raw memory of 256 addresses, read with `load(as: UnsafePointer<Entry>.self)`.)
    private let columnEntries: UnsafeMutableRawPointer
    /// A power of two above every row of a state that ends no literal.
    private let finalBit: Int
    /// For the `k`-th state that ends a literal, the literal ids ending there (its own and its
    /// failure chain's): `outputIDs[outputStart[k]..<outputStart[k + 1]]`.
    private let outputStart: [Int32]
    private let outputIDs: [Int32]
    /// The longest literal's length - 1: how far before a position the occurrences ending at
    /// most that position can start (what the interleaved scan's segments overlap).
    private let overlap: Int
    /// The vector candidate filter of long texts (``scanVector(_:_:_:)``), nil where it is not
    /// used (no AVX2, more than ``vectorMaximumLiterals`` literals, or one shorter than four bytes).
    private let vector: VectorFilter?


    /// Words of 64 bits in a bit set of ``literals``.
    var wordCount: Int { (literals.count + 63) / 64 }

    /// Literals whose lengths add up to this or more give no automaton (nil), so the table
    /// (at most one state per literal byte) is bounded; their rules keep the per-literal search.
    static let maxStates = 16_384

    /// - Parameter literals: distinct, non-empty, lower-cased (ASCII `A`-`Z` folded) byte strings.
    init?(_ literals: [[UInt8]]) {
        guard !literals.isEmpty, literals.allSatisfy({ !$0.isEmpty }) else { return nil }
        let totalBytes = literals.reduce(0) { $0 + $1.count }
        guard totalBytes < Self.maxStates else { return nil }
        self.literals = literals
        // Columns: one per distinct byte of the literals (an upper-case ASCII letter shares its
        // lower-case letter's column: literals are folded, so either case matches it).
        var columns = [UInt8](repeating: 0, count: 256)
        var width = 1
        for lit in literals {
            for b in lit where columns[Int(b)] == 0 {
                guard width < 255 else { return nil }
                columns[Int(b)] = UInt8(width)
                if b >= 0x61 && b <= 0x7A { columns[Int(b - 0x20)] = UInt8(width) }
                width += 1
            }
        }
        // The trie: goto[state * width + column], -1 where there is no edge.
        var goto: [Int32] = Array(repeating: -1, count: width)
        var ends: [[Int32]] = [[]]
        for (id, lit) in literals.enumerated() {
            var s = 0
            for b in lit {
                let c = Int(columns[Int(b)])
                let next = goto[s * width + c]
                if next >= 0 {
                    s = Int(next)
                } else {
                    let n = ends.count
                    ends.append([])
                    goto.append(contentsOf: repeatElement(-1, count: width))
                    goto[s * width + c] = Int32(n)
                    s = n
                }
            }
            ends[s].append(Int32(id))
        }
        let states = ends.count
        // Breadth-first: failure links, outputs along them, and the dense transitions.
        var fail = [Int](repeating: 0, count: states)
        var delta = [Int](repeating: 0, count: states * width)
        var queue: [Int] = []
        queue.reserveCapacity(states)
        for c in 0..<width {
            let n = Int(goto[c])
            if n > 0 {
                delta[c] = n
                fail[n] = 0
                queue.append(n)
            } else {
                delta[c] = 0
            }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            ends[s].append(contentsOf: ends[fail[s]])
            for c in 0..<width {
                let n = Int(goto[s * width + c])
                if n > 0 {
                    delta[s * width + c] = n
                    fail[n] = delta[fail[s] * width + c]
                    queue.append(n)
                } else {
                    delta[s * width + c] = delta[fail[s] * width + c]
                }
            }
        }
        // Rows: states that end no literal first (the root among them: literals are not empty),
        // then, from `finalBit` on, those that do.
        var row = [Int](repeating: 0, count: states)
        var plain = 0, final = 0
        for st in 0..<states {
            if ends[st].isEmpty {
                row[st] = plain * width
                plain += 1
            } else {
                final += 1
            }
        }
        var finalBit = 1
        while finalBit < max(plain, final) * width { finalBit <<= 1 }
        // The padding below `finalBit` at most doubles the rows; the table stays within the
        // 16 MB the dense layout could take (`maxStates` × 255 columns × 4 bytes).
        guard finalBit + final * width <= Self.maxStates * 255 else { return nil }
        var finalStates: [Int] = []
        for st in 0..<states where !ends[st].isEmpty {
            row[st] = finalBit + finalStates.count * width
            finalStates.append(st)
        }
        var table = [UInt32](repeating: 0, count: finalBit + final * width)
        for st in 0..<states {
            for c in 0..<width { table[row[st] + c] = UInt32(row[delta[st * width + c]]) }
        }
        let narrow = table.count <= Int(UInt16.max)
        let entrySize = narrow ? MemoryLayout<UInt16>.stride : MemoryLayout<UInt32>.stride
        let entries = UnsafeMutableRawPointer.allocate(byteCount: max(1, table.count) * entrySize, alignment: 8)
        if narrow {
            let e = entries.bindMemory(to: UInt16.self, capacity: table.count)
            for k in table.indices { (e + k).initialize(to: UInt16(table[k])) }
        } else {
            let e = entries.bindMemory(to: UInt32.self, capacity: table.count)
            for k in table.indices { (e + k).initialize(to: table[k]) }
        }
        let columnEntries = UnsafeMutableRawPointer.allocate(byteCount: 256 * MemoryLayout<UnsafeRawPointer>.stride,
                                                             alignment: MemoryLayout<UnsafeRawPointer>.alignment)
        for b in 0..<256 {
            columnEntries.storeBytes(of: UnsafeRawPointer(entries + Int(columns[b]) * entrySize),
                                     toByteOffset: b * MemoryLayout<UnsafeRawPointer>.stride, as: UnsafeRawPointer.self)
        }
        self.hasNarrowTable = narrow
        self.columnEntries = columnEntries
        var outputStart: [Int32] = [0]
        var outputIDs: [Int32] = []
        for st in finalStates {
            outputIDs.append(contentsOf: Set(ends[st]).sorted())
            outputStart.append(Int32(outputIDs.count))
        }
        self.columns = columns
        self.width = width
        self.table = entries
        self.finalBit = finalBit
        self.outputStart = outputStart
        self.outputIDs = outputIDs
        self.overlap = literals.reduce(0) { max($0, $1.count) } - 1
        self.vector = Self.vectorAvailable ? VectorFilter(literals) : nil
    }

    deinit {
        table.deallocate()
        columnEntries.deallocate()
    }

    /// What a scan found: which literals occur, and where each first ends.
    struct Found {
        /// The end (exclusive byte offset) of each literal's first occurrence; -1 when absent.
        var firstEnd: [Int32]

        @inline(__always) func contains(_ id: Int32) -> Bool { firstEnd[Int(id)] >= 0 }
    }

    /// Texts at least this long are read as three interleaved segments (``scanInterleaved(_:_:)``).
    static let interleavedMinimum = 256
    /// Texts at least this long are read with the vector filter, where there is one (one block of
    /// 32 positions and a few more).
    static let vectorMinimum = 48


    /// The literals that occur in `text` (ASCII case-insensitively), and where each first ends.
    func scan(_ text: UnsafeBufferPointer<UInt8>) -> Found {
        let firstEnd = [Int32](unsafeUninitializedCapacity: literals.count) { fb, count in
            scan(text, into: fb)
            count = fb.count
        }
        return Found(firstEnd: firstEnd)
    }

    /// ``scan(_:)`` into `ends` (at least one entry per literal, all written: the end of each
    /// literal's first occurrence, -1 when absent): memory the caller owns, which a rule input
    /// reads for every rule of the text without the retain and release of an array.
    func scan(_ text: UnsafeBufferPointer<UInt8>, into ends: UnsafeMutableBufferPointer<Int32>) {
        precondition(ends.count >= literals.count)
        guard let ends = ends.baseAddress else { return }
        ends.initialize(repeating: -1, count: literals.count)
        guard let p = text.baseAddress, !text.isEmpty, text.count < Int(Int32.max) else { return }
        if let vector, text.count >= Self.vectorMinimum {
            Self.scanVector(vector, p, text.count, ends)
        } else if text.count >= max(Self.interleavedMinimum, 4 &* overlap) {
            scanInterleaved(p, text.count, ends)
        } else {
            scanSerial(p, text.count, ends)
        }
    }

    /// ``scan(_:)`` by the three interleaved segments (``scanInterleaved(_:_:_:)``), whatever
    /// the text's length and whether the vector filter is used (for tests).
    func scanInterleaved(_ text: UnsafeBufferPointer<UInt8>) -> Found {
        var firstEnd = [Int32](repeating: -1, count: literals.count)
        guard let p = text.baseAddress, text.count >= max(Self.interleavedMinimum, 4 &* overlap) else {
            return scanSerial(text)
        }
        firstEnd.withUnsafeMutableBufferPointer { fb in
            guard let ends = fb.baseAddress else { return }
            scanInterleaved(p, text.count, ends)
        }
        return Found(firstEnd: firstEnd)
    }

    /// ``scan(_:)`` by the vector candidate filter, whatever the text's length; nil when this
    /// search has none (for tests).
    func scanVector(_ text: UnsafeBufferPointer<UInt8>) -> Found? {
        guard let vector else { return nil }
        var firstEnd = [Int32](repeating: -1, count: literals.count)
        guard let p = text.baseAddress, !text.isEmpty, text.count < Int(Int32.max) else {
            return Found(firstEnd: firstEnd)
        }
        firstEnd.withUnsafeMutableBufferPointer { fb in
            guard let ends = fb.baseAddress else { return }
            Self.scanVector(vector, p, text.count, ends)
        }
        return Found(firstEnd: firstEnd)
    }

    /// Whether long texts are searched with the vector candidate filter.
    var hasVectorFilter: Bool { vector != nil }

    /// ``scan(_:)`` in one chain of table lookups over the whole text (the reference for the
    /// interleaved scan, and the scan of short texts).
    func scanSerial(_ text: UnsafeBufferPointer<UInt8>) -> Found {
        var firstEnd = [Int32](repeating: -1, count: literals.count)
        guard let p = text.baseAddress, !text.isEmpty, text.count < Int(Int32.max) else {
            return Found(firstEnd: firstEnd)
        }
        firstEnd.withUnsafeMutableBufferPointer { fb in
            guard let ends = fb.baseAddress else { return }
            scanSerial(p, text.count, ends)
        }
        return Found(firstEnd: firstEnd)
    }

    private func scanSerial(_ p: UnsafePointer<UInt8>, _ n: Int, _ ends: UnsafeMutablePointer<Int32>) {
        if hasNarrowTable {
            scanSerial(p, n, ends, UnsafePointer(table.assumingMemoryBound(to: UInt16.self)))
        } else {
            scanSerial(p, n, ends, UnsafePointer(table.assumingMemoryBound(to: UInt32.self)))
        }
    }

    private func scanSerial<Entry: FixedWidthInteger & UnsignedInteger>(_ p: UnsafePointer<UInt8>, _ n: Int,
                                                                         _ ends: UnsafeMutablePointer<Int32>,
                                                                         _ t: UnsafePointer<Entry>) {
        do {
            columns.withUnsafeBufferPointer { cb in
                guard let c = cb.baseAddress else { return }
                let finalBit = Entry(truncatingIfNeeded: self.finalBit)
                var row = 0
                var i = 0
                while true {
                    // Most steps end no literal: they are read by a loop with no call in it
                    // (so its state stays in registers), which stops at a step that does.
                    (i, row) = Self.skip(t, c, p, n, i, row, finalBit)
                    if i >= n { break }
                    // Byte by byte up to the step that ends a literal (or the text's end).
                    let stop = min(i &+ 8, n)
                    while i < stop {
                        let e = t[row &+ Int(c[Int(p[i])])]
                        row = Int(truncatingIfNeeded: e)
                        i &+= 1
                        if e & finalBit != 0 {
                            record((row &- self.finalBit) / width, i, ends)
                            break
                        }
                    }
                }
            }
        }
    }

    /// The scan of a long text as three segments read in one loop, a step of each in turn: each
    /// byte's lookup depends on the previous byte's, so one chain of lookups runs at the latency
    /// of a load; independent chains overlap. (Four chains did not fit in the registers.)
    ///
    /// Segment k is `p[k s ..< k s + m]` (`s = (n - overlap) / 3`, `m = n - 2 s`: the last one ends
    /// at the text's end, and each overlaps the next by `m - s >= overlap` bytes, the longest
    /// literal's length - 1); each starts from the root state. An occurrence `[x, x + len)` lies
    /// whole in the last segment that starts at or before `x` (that segment reaches at least
    /// `overlap >= len - 1` bytes past the next one's start), which reports it; a segment reports
    /// only occurrences in the text. So the earliest end reported for a literal
    /// (``record(_:_:_:)`` keeps the smallest) is its first end.
    private func scanInterleaved(_ p: UnsafePointer<UInt8>, _ n: Int, _ ends: UnsafeMutablePointer<Int32>) {
        if hasNarrowTable {
            scanInterleaved(p, n, ends, UnsafePointer(table.assumingMemoryBound(to: UInt16.self)))
        } else {
            scanInterleaved(p, n, ends, UnsafePointer(table.assumingMemoryBound(to: UInt32.self)))
        }
    }

    private func scanInterleaved<Entry: FixedWidthInteger & UnsignedInteger>(_ p: UnsafePointer<UInt8>, _ n: Int,
                                                                              _ ends: UnsafeMutablePointer<Int32>,
                                                                              _ t: UnsafePointer<Entry>) {
        let s = (n &- overlap) / 3
        let m = n &- 2 &* s
        do {
            columns.withUnsafeBufferPointer { cb in
                guard let c = cb.baseAddress else { return }
                let finalBit = Entry(truncatingIfNeeded: self.finalBit)
                // Each byte's column as the address of its entry in row 0 (``columnEntries``).
                let cols = UnsafeRawPointer(columnEntries)
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 3) { rowsBuffer in
                    guard let rows = rowsBuffer.baseAddress else { return }
                    rows.initialize(repeating: 0, count: 3)
                    var j = 0
                    while true {
                        let (at, stopped) = Self.skip3(cols, p, s, m, j, rows, finalBit)
                        j = at
                        if stopped == 0 { break }
                        // The eight bytes of each segment whose step ends a literal, byte by byte
                        // from the step's start (the others' rows are already the step's ends).
                        for k in 0..<3 where stopped & (1 << k) != 0 {
                            rows[k] = steps(t, c, p, k &* s &+ j, k &* s &+ j &+ 8, rows[k], finalBit, ends)
                        }
                        j &+= 8
                    }
                    // The last bytes (fewer than eight) of each segment.
                    for k in 0..<3 { rows[k] = steps(t, c, p, k &* s &+ j, k &* s &+ m, rows[k], finalBit, ends) }
                }
            }
        }
    }

    /// Reads `p[from..<to]` byte by byte from row `row`, recording every literal that ends; the row
    /// it ends in.
    @inline(__always)
    private func steps<Entry: FixedWidthInteger & UnsignedInteger>(
        _ t: UnsafePointer<Entry>, _ c: UnsafePointer<UInt8>, _ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ row: Int,
        _ finalBit: Entry, _ ends: UnsafeMutablePointer<Int32>
    ) -> Int {
        var row = row
        var i = from
        while i < to {
            let e = t[row &+ Int(c[Int(p[i])])]
            row = Int(truncatingIfNeeded: e)
            i &+= 1
            if e & finalBit != 0 { record((row &- self.finalBit) / width, i, ends) }
        }
        return row
    }

    /// The three segments `p[k s ..< k s + m]` from offset `start`, eight bytes of each a step,
    /// from the rows in `rows`, until a step of one of them would end a literal or fewer than
    /// eight bytes remain. Returns the offset reached and which segments' steps there end a literal
    /// (bit k for segment k; 0 when the end was reached). `rows` then holds, for those segments,
    /// the row where their step starts, for the others the row where it ends (or, at the end, each
    /// segment's row).
    @inline(never)
    private static func skip3<Entry: FixedWidthInteger & UnsignedInteger>(
        _ cols: UnsafeRawPointer, _ p: UnsafePointer<UInt8>, _ s: Int, _ m: Int, _ start: Int,
        _ rows: UnsafeMutablePointer<Int>, _ finalBit: Entry
    ) -> (Int, Int) {
        /// The entry of row `row` in the column of byte `b`.
        @inline(__always) func next(_ b: UInt8, _ row: Int) -> Entry {
            cols.load(fromByteOffset: Int(b) &* MemoryLayout<UnsafeRawPointer>.stride, as: UnsafePointer<Entry>.self)[row]
        }
        var j = start
        var r0 = rows[0], r1 = rows[1], r2 = rows[2]
        let s2 = s &+ s
        while j &+ 8 <= m {
            let q = p + j
            var fa: Entry = 0, fb: Entry = 0, fc: Entry = 0
            let a0 = next(q[0], r0)
            let b0 = next(q[s], r1)
            let c0 = next(q[s2], r2)
            fa |= a0
            fb |= b0
            fc |= c0
            let a1 = next(q[1], Int(truncatingIfNeeded: a0))
            let b1 = next(q[s &+ 1], Int(truncatingIfNeeded: b0))
            let c1 = next(q[s2 &+ 1], Int(truncatingIfNeeded: c0))
            fa |= a1
            fb |= b1
            fc |= c1
            let a2 = next(q[2], Int(truncatingIfNeeded: a1))
            let b2 = next(q[s &+ 2], Int(truncatingIfNeeded: b1))
            let c2 = next(q[s2 &+ 2], Int(truncatingIfNeeded: c1))
            fa |= a2
            fb |= b2
            fc |= c2
            let a3 = next(q[3], Int(truncatingIfNeeded: a2))
            let b3 = next(q[s &+ 3], Int(truncatingIfNeeded: b2))
            let c3 = next(q[s2 &+ 3], Int(truncatingIfNeeded: c2))
            fa |= a3
            fb |= b3
            fc |= c3
            let a4 = next(q[4], Int(truncatingIfNeeded: a3))
            let b4 = next(q[s &+ 4], Int(truncatingIfNeeded: b3))
            let c4 = next(q[s2 &+ 4], Int(truncatingIfNeeded: c3))
            fa |= a4
            fb |= b4
            fc |= c4
            let a5 = next(q[5], Int(truncatingIfNeeded: a4))
            let b5 = next(q[s &+ 5], Int(truncatingIfNeeded: b4))
            let c5 = next(q[s2 &+ 5], Int(truncatingIfNeeded: c4))
            fa |= a5
            fb |= b5
            fc |= c5
            let a6 = next(q[6], Int(truncatingIfNeeded: a5))
            let b6 = next(q[s &+ 6], Int(truncatingIfNeeded: b5))
            let c6 = next(q[s2 &+ 6], Int(truncatingIfNeeded: c5))
            fa |= a6
            fb |= b6
            fc |= c6
            let a7 = next(q[7], Int(truncatingIfNeeded: a6))
            let b7 = next(q[s &+ 7], Int(truncatingIfNeeded: b6))
            let c7 = next(q[s2 &+ 7], Int(truncatingIfNeeded: c6))
            fa |= a7
            fb |= b7
            fc |= c7
            if (fa | fb | fc) & finalBit != 0 {
                // Which segments' steps end a literal: those start over from their rows.
                let sa = fa & finalBit != 0, sb = fb & finalBit != 0, sc = fc & finalBit != 0
                rows[0] = sa ? r0 : Int(truncatingIfNeeded: a7)
                rows[1] = sb ? r1 : Int(truncatingIfNeeded: b7)
                rows[2] = sc ? r2 : Int(truncatingIfNeeded: c7)
                return (j, (sa ? 1 : 0) | (sb ? 2 : 0) | (sc ? 4 : 0))
            }
            r0 = Int(truncatingIfNeeded: a7)
            r1 = Int(truncatingIfNeeded: b7)
            r2 = Int(truncatingIfNeeded: c7)
            j &+= 8
        }
        rows[0] = r0
        rows[1] = r1
        rows[2] = r2
        return (j, 0)
    }

    /// Reads `p[i..<n]` from state row `row`, eight bytes a step with their end flags or-ed, until a
    /// step would end a literal or fewer than eight bytes remain: where that step starts, and its row.
    @inline(never)
    private static func skip<Entry: FixedWidthInteger & UnsignedInteger>(
        _ t: UnsafePointer<Entry>, _ c: UnsafePointer<UInt8>, _ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int, _ startRow: Int,
        _ finalBit: Entry
    ) -> (Int, Int) {
        var i = start
        var row = startRow
        while i &+ 8 <= n {
            let e0 = t[row &+ Int(c[Int(p[i])])]
            let e1 = t[Int(truncatingIfNeeded: e0) &+ Int(c[Int(p[i &+ 1])])]
            let e2 = t[Int(truncatingIfNeeded: e1) &+ Int(c[Int(p[i &+ 2])])]
            let e3 = t[Int(truncatingIfNeeded: e2) &+ Int(c[Int(p[i &+ 3])])]
            let e4 = t[Int(truncatingIfNeeded: e3) &+ Int(c[Int(p[i &+ 4])])]
            let e5 = t[Int(truncatingIfNeeded: e4) &+ Int(c[Int(p[i &+ 5])])]
            let e6 = t[Int(truncatingIfNeeded: e5) &+ Int(c[Int(p[i &+ 6])])]
            let e7 = t[Int(truncatingIfNeeded: e6) &+ Int(c[Int(p[i &+ 7])])]
            if (e0 | e1 | e2 | e3 | e4 | e5 | e6 | e7) & finalBit != 0 { return (i, row) }
            row = Int(truncatingIfNeeded: e7)
            i &+= 8
        }
        return (i, row)
    }

    /// Records the literals ending at the `k`-th state that ends one, at `end`, for those not
    /// recorded at an earlier end (-1, not recorded, is the largest as unsigned).
    @inline(never) private func record(_ state: Int, _ end: Int, _ ends: UnsafeMutablePointer<Int32>) {
        let e = UInt32(truncatingIfNeeded: end)
        for i in Int(outputStart[state])..<Int(outputStart[state + 1]) {
            let id = Int(outputIDs[i])
            if UInt32(bitPattern: ends[id]) > e { ends[id] = Int32(bitPattern: e) }
        }
    }
}

extension LiteralSearch {
    /// Whether this machine runs the vector candidate filter (x86-64 with AVX2).
    static let vectorAvailable = sw_teddy_available() != 0
    /// Sets of more literals than this keep the interleaved scan (eight buckets: more literals a
    /// bucket, more candidates that are no occurrence).
    static let vectorMaximumLiterals = 32

    /// A candidate filter for the literals (Teddy, in ``sw_teddy_candidates``): each literal is
    /// represented by four consecutive bytes of it (its fingerprint: the four with the rarest
    /// bytes in mail text, ``LiteralPrefilter/Needle/frequency(_:)``), in one of eight buckets;
    /// the C function reads 32 positions a step with byte shuffles of nibble tables and reports
    /// each position where the four bytes may be some fingerprint of a bucket. Each candidate is
    /// then verified literal by literal (folding ASCII case), so that the first ends are exactly
    /// those of the automaton: every occurrence of a literal holds its fingerprint at its offset,
    /// which is a candidate of its bucket.
    struct VectorFilter: Sendable {
        /// The nibble tables (``sw_teddy_candidates``' `masks`, 128 bytes).
        let masks: [UInt8]
        /// For bucket b, its literals `entries[start[b] ..< start[b + 1]]`.
        let start: [Int32]
        let entries: [Entry]
        /// Each literal in words of eight bytes (little-endian, zero past its end) from
        /// `Entry.word`: `(text | fold[w]) & keep[w] == bytes[w]` for each word `w` is the literal
        /// at that place, ASCII case folded (`fold` has 0x20 at the letters, `keep` 0xFF at the
        /// literal's bytes).
        let bytes: [UInt64]
        let fold: [UInt64]
        let keep: [UInt64]

        struct Entry: Sendable {
            var id: Int32
            /// The fingerprint's offset in the literal.
            var offset: Int32
            var length: Int32
            /// The literal's first word in `bytes`, `fold` and `keep`.
            var word: Int32
            /// The fingerprint as a little-endian word, and the bits or-ed into the text's four
            /// bytes before they are compared with it (0x20 at the letters).
            var fingerprint: UInt32
            var fingerprintFold: UInt32
        }

        init?(_ literals: [[UInt8]]) {
            guard !literals.isEmpty, literals.count <= LiteralSearch.vectorMaximumLiterals,
                  literals.allSatisfy({ $0.count >= 4 && $0.count < 1 << 20 }) else { return nil }
            @inline(__always) func isLetter(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
            // Each literal's fingerprint: the window of four bytes with the smallest product of
            // frequencies (the first such window).
            var windows: [(id: Int, offset: Int, bytes: [UInt8])] = []
            for (id, lit) in literals.enumerated() {
                var best = 0
                var bestScore = Int.max
                for k in 0...(lit.count - 4) {
                    var score = 1  // at most 1,800^4
                    for b in lit[k..<(k + 4)] { score *= LiteralPrefilter.Needle.frequency(b) }
                    if score < bestScore { bestScore = score; best = k }
                }
                windows.append((id, best, Array(lit[best..<(best + 4)])))
            }
            // The literals as words.
            var bytes: [UInt64] = [], fold: [UInt64] = [], keep: [UInt64] = []
            var firstWord = [Int](repeating: 0, count: literals.count)
            for (id, lit) in literals.enumerated() {
                firstWord[id] = bytes.count
                var w = 0
                while w * 8 < lit.count {
                    var word: UInt64 = 0, f: UInt64 = 0, k: UInt64 = 0
                    for j in 0..<8 where w * 8 + j < lit.count {
                        let b = lit[w * 8 + j]
                        word |= UInt64(b) << (8 * j)
                        if isLetter(b) { f |= 0x20 << (8 * j) }
                        k |= 0xFF << (8 * j)
                    }
                    bytes.append(word)
                    fold.append(f)
                    keep.append(k)
                    w += 1
                }
            }
            // Similar fingerprints share a bucket (fewer nibbles a bucket admits): sorted, then cut
            // into eight runs as even as can be.
            windows.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
            var masks = [UInt8](repeating: 0, count: 128)
            var start: [Int32] = [0]
            var entries: [Entry] = []
            for bucket in 0..<8 {
                let from = windows.count * bucket / 8, to = windows.count * (bucket + 1) / 8
                let bit = UInt8(1) << UInt8(bucket)
                for w in windows[from..<to] {
                    var fingerprint: UInt32 = 0, fingerprintFold: UInt32 = 0
                    for (j, b) in w.bytes.enumerated() {
                        masks[32 * j + Int(b & 15)] |= bit
                        masks[32 * j + 16 + Int(b >> 4)] |= bit
                        fingerprint |= UInt32(b) << (8 * j)
                        // The upper case of a letter: the same low nibble.
                        if isLetter(b) {
                            masks[32 * j + 16 + Int((b - 0x20) >> 4)] |= bit
                            fingerprintFold |= 0x20 << (8 * j)
                        }
                    }
                    entries.append(Entry(id: Int32(w.id), offset: Int32(w.offset), length: Int32(literals[w.id].count),
                                         word: Int32(firstWord[w.id]), fingerprint: fingerprint,
                                         fingerprintFold: fingerprintFold))
                }
                start.append(Int32(entries.count))
            }
            self.masks = masks
            self.start = start
            self.entries = entries
            self.bytes = bytes
            self.fold = fold
            self.keep = keep
        }
    }

    /// The literals' first ends in `p[0..<n]` (`ends` all -1 on entry) from the vector filter's
    /// candidates: a literal found is not verified again (a later candidate of it is a later
    /// occurrence), and the scan stops when all are found.
    static func scanVector(_ v: VectorFilter, _ p: UnsafePointer<UInt8>, _ n: Int, _ ends: UnsafeMutablePointer<Int32>) {
        guard n >= 4 else { return }
        let capacity = 64
        let text = UnsafeRawPointer(p)
        v.masks.withUnsafeBufferPointer { masks in v.start.withUnsafeBufferPointer { start in
            v.entries.withUnsafeBufferPointer { entries in v.bytes.withUnsafeBufferPointer { bytes in
                v.fold.withUnsafeBufferPointer { fold in v.keep.withUnsafeBufferPointer { keep in
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: capacity) { out in
                        guard let masks = masks.baseAddress, let out = out.baseAddress else { return }
                        var remaining = entries.count
                        var from = 0
                        while from &+ 4 <= n {
                            var resume = from
                            let count = sw_teddy_candidates(p, n, from, masks, out, capacity, &resume)
                            for q in 0..<count {
                                let candidate = Int(truncatingIfNeeded: out[q] >> 8)
                                var bits = UInt8(truncatingIfNeeded: out[q])
                                // The four bytes at the candidate (within the text: the filter
                                // reports positions with four bytes).
                                let four = text.loadUnaligned(fromByteOffset: candidate, as: UInt32.self)
                                while bits != 0 {
                                    let b = bits.trailingZeroBitCount
                                    bits &= bits &- 1
                                    for e in Int(start[b])..<Int(start[b &+ 1]) {
                                        let entry = entries[e]
                                        guard (four | entry.fingerprintFold) == entry.fingerprint,
                                              ends[Int(entry.id)] < 0 else { continue }
                                        let x = candidate &- Int(entry.offset)
                                        let length = Int(entry.length)
                                        guard x >= 0, x &+ length <= n else { continue }
                                        let words = (length &+ 7) >> 3
                                        let w0 = Int(entry.word)
                                        var same = true
                                        if x &+ words &* 8 <= n {
                                            for w in 0..<words {
                                                let t = text.loadUnaligned(fromByteOffset: x &+ w &* 8, as: UInt64.self)
                                                if (t | fold[w0 &+ w]) & keep[w0 &+ w] != bytes[w0 &+ w] { same = false; break }
                                            }
                                        } else {
                                            // Near the text's end: byte by byte.
                                            for k in 0..<length {
                                                let word = w0 &+ k >> 3, shift = UInt64(k & 7) &* 8
                                                let t = UInt64(p[x &+ k]) << shift
                                                if (t | fold[word]) & (0xFF << shift) != bytes[word] & (0xFF << shift) {
                                                    same = false
                                                    break
                                                }
                                            }
                                        }
                                        if same {
                                            ends[Int(entry.id)] = Int32(truncatingIfNeeded: x &+ length)
                                            remaining &-= 1
                                            if remaining == 0 { return }
                                        }
                                    }
                                }
                            }
                            guard resume > from || count > 0 else { return }  // (always progresses)
                            from = resume
                        }
                    }
                } }
            } }
        } }
    }
}

/// Which rules' prefilters are judged from a shared ``LiteralSearch``, and how.
///
/// A final class, immutable once built: every evaluation's ``RuleInput`` holds its rule set's
/// plan (one retain, where the struct's four arrays were four).
final class PrefilterPlan: Sendable {
    /// A plan with no searches (an input made without a rule set's plan).
    static let empty = PrefilterPlan(prefilters: [], textKeys: [], minimumLiterals: 1)

    /// One search per text that several rules read.
    let searches: [LiteralSearch]
    /// For each compiled rule: the search its text gets (-1: none; its own prefilter, if any, is
    /// checked literal by literal).
    let searchOf: [Int]
    /// For each compiled rule with a search: its conditions as literal ids of that search (all
    /// must hold, each when one of its ids is found). Empty for a rule with leading literals
    /// whose regex runs anchored at each of their occurrences (`anchoredAtLeading`): one of them
    /// must occur (``earliestStart(_:_:in:)``), and the anchored tries cost less than searching
    /// the rule's other literals. Those are often common words (`our`, `this`, `list`, ` your `:
    /// three quarters of the literals' occurrences in mail text), and each occurrence stops the
    /// search's fast loop. (A pattern that finds its own start, `money[- ]back guarantee` by its
    /// `m`, would run over the rest of the text from the first `money`: it keeps its conditions.)
    let conditions: [[[Int32]]]
    /// For each compiled rule with a search: literal ids one of which every match starts with
    /// (``LiteralPrefilter/leadingLiterals(pattern:)``, in its order), or empty.
    let leading: [[Int32]]
    /// ``conditions`` and ``leading`` of every rule in one array, read by ``passes(_:_:)``,
    /// ``earliestStart(_:_:in:)`` and ``firstLeadingStarts(_:_:into:)``: a few cache lines, where
    /// the nested arrays were an object each, scattered on the heap (the core scan between two
    /// messages evicts them, and each rule waited on their loads). From `flatStart[rule]`: the
    /// number of conditions, then each condition's number of ids and its ids; then the number of
    /// leading literals, then each one's id and length. `flatStart[rule]` is -1 for a rule without
    /// a search (no conditions, no leading literals).
    let flat: [Int32]
    let flatStart: [Int32]

    /// Whether the conditions of rule `rule` hold in `found`.
    func passes(_ rule: Int, _ found: LiteralSearch.Found) -> Bool {
        found.firstEnd.withUnsafeBufferPointer { passes(rule, ends: $0) }
    }

    /// ``passes(_:_:)`` with the found literals' first ends (``LiteralSearch/Found/firstEnd``)
    /// read in place.
    func passes(_ rule: Int, ends: UnsafeBufferPointer<Int32>) -> Bool {
        let start = Int(flatStart[rule])
        guard start >= 0 else { return true }
        return flat.withUnsafeBufferPointer { f in
            do {
                var o = start
                let count = Int(f[o])
                o &+= 1
                for _ in 0..<count {
                    let n = Int(f[o])
                    o &+= 1
                    var any = false
                    for j in 0..<n where ends[Int(f[o &+ j])] >= 0 {
                        any = true
                        break
                    }
                    if !any { return false }
                    o &+= n
                }
                return true
            }
        }
    }

    /// Where rule `rule`'s leading literals start in ``flat``.
    @inline(__always) private func leadingOffset(_ f: UnsafeBufferPointer<Int32>, _ start: Int) -> Int {
        var o = start
        let count = Int(f[o])
        o &+= 1
        for _ in 0..<count { o &+= 1 &+ Int(f[o]) }
        return o
    }

    /// Where a match of rule `rule` can start at the earliest: 0 when it has no leading literals,
    /// the first occurrence of one of them, or nil when none occurs (then it cannot match).
    func earliestStart(_ rule: Int, _ found: LiteralSearch.Found, in search: LiteralSearch) -> Int? {
        found.firstEnd.withUnsafeBufferPointer { earliestStart(rule, ends: $0) }
    }

    /// ``earliestStart(_:_:in:)`` with the found literals' first ends read in place.
    func earliestStart(_ rule: Int, ends: UnsafeBufferPointer<Int32>) -> Int? {
        let start = Int(flatStart[rule])
        guard start >= 0 else { return 0 }
        return flat.withUnsafeBufferPointer { f -> Int? in
            do {
                var o = leadingOffset(f, start)
                let count = Int(f[o])
                if count == 0 { return 0 }
                o &+= 1
                var best = Int.max
                for _ in 0..<count {
                    let end = Int(ends[Int(f[o])])
                    if end >= 0 { best = min(best, end &- Int(f[o &+ 1])) }
                    o &+= 2
                }
                return best == Int.max ? nil : max(0, best)
            }
        }
    }

    /// For each of rule `rule`'s leading literals, in order, where it first starts in the text of
    /// `found` (`Int.max`: it does not occur), written to `firstAt` when it has one entry per
    /// literal; false (nothing written) otherwise.
    func firstLeadingStarts(_ rule: Int, _ found: LiteralSearch.Found, into firstAt: UnsafeMutableBufferPointer<Int>) -> Bool {
        found.firstEnd.withUnsafeBufferPointer { firstLeadingStarts(rule, ends: $0, into: firstAt) }
    }

    /// ``firstLeadingStarts(_:_:into:)`` with the found literals' first ends read in place.
    func firstLeadingStarts(_ rule: Int, ends: UnsafeBufferPointer<Int32>, into firstAt: UnsafeMutableBufferPointer<Int>) -> Bool {
        let start = Int(flatStart[rule])
        guard start >= 0 else { return false }
        return flat.withUnsafeBufferPointer { f in
            do {
                var o = leadingOffset(f, start)
                let count = Int(f[o])
                guard count == firstAt.count else { return false }
                o &+= 1
                for k in 0..<count {
                    let end = Int(ends[Int(f[o])])
                    firstAt[k] = end >= 0 ? end &- Int(f[o &+ 1]) : Int.max
                    o &+= 2
                }
                return true
            }
        }
    }

    /// Groups the prefiltered rules by `textKey` (the text they read; nil for rules without a
    /// prefilter) and builds one search per text whose rules have at least `minimumLiterals`
    /// literals together. `anchoredAtLeading[r]`: rule `r`'s regex is tried anchored at each
    /// occurrence of its leading literals (`RulePattern.anchored`), so those stand for its other
    /// conditions.
    init(prefilters: [LiteralPrefilter?], textKeys: [AnyHashable?], leadingLiterals: [[[UInt8]]?] = [],
         anchoredAtLeading: [Bool] = [], minimumLiterals: Int) {
        var groups: [AnyHashable: [Int]] = [:]
        var keyOrder: [AnyHashable] = []
        for (i, p) in prefilters.enumerated() {
            guard p != nil, let key = textKeys[i] else { continue }
            if groups[key] == nil { keyOrder.append(key) }
            groups[key, default: []].append(i)
        }
        var searches: [LiteralSearch] = []
        var searchOf = [Int](repeating: -1, count: prefilters.count)
        var conditions = [[[Int32]]](repeating: [], count: prefilters.count)
        var leading = [[Int32]](repeating: [], count: prefilters.count)
        for key in keyOrder {
            guard let rules = groups[key] else { continue }
            var ids: [[UInt8]: Int32] = [:]
            var literals: [[UInt8]] = []
            var ruleConditions: [(Int, [[Int32]], [Int32])] = []
            func id(_ lit: [UInt8]) -> Int32 {
                if let id = ids[lit] { return id }
                let id = Int32(literals.count)
                ids[lit] = id
                literals.append(lit)
                return id
            }
            for r in rules {
                guard let p = prefilters[r] else { continue }
                let l: [Int32] = r < leadingLiterals.count ? (leadingLiterals[r] ?? []).map(id) : []
                // Leading literals tried by an anchored regex: those alone (see `conditions`).
                let alone = !l.isEmpty && r < anchoredAtLeading.count && anchoredAtLeading[r]
                let c: [[Int32]] = alone ? [] : p.allOf.map { $0.map(id) }
                ruleConditions.append((r, c, l))
            }
            guard literals.count >= minimumLiterals, let search = LiteralSearch(literals) else { continue }
            let s = searches.count
            searches.append(search)
            for (r, c, l) in ruleConditions {
                searchOf[r] = s
                conditions[r] = c
                leading[r] = l
            }
        }
        var flat: [Int32] = []
        var flatStart = [Int32](repeating: -1, count: prefilters.count)
        for r in prefilters.indices where searchOf[r] >= 0 {
            flatStart[r] = Int32(flat.count)
            flat.append(Int32(conditions[r].count))
            for c in conditions[r] {
                flat.append(Int32(c.count))
                flat.append(contentsOf: c)
            }
            flat.append(Int32(leading[r].count))
            for id in leading[r] {
                flat.append(id)
                flat.append(Int32(searches[searchOf[r]].literals[Int(id)].count))
            }
        }
        self.searches = searches
        self.searchOf = searchOf
        self.conditions = conditions
        self.leading = leading
        self.flat = flat
        self.flatStart = flatStart
    }
}
