import Foundation

// MARK: - API

/// Many `LinearRegex` patterns compiled into one program, answering in one scan of a text
/// *which* of them match somewhere in it.
///
/// For every pattern `i`, `matches(_:maxScalars:into:)` reports exactly what
/// `LinearRegex(pattern_i, caseInsensitive: flag_i).matches(text, maxScalars:)` reports: the same
/// syntax (each pattern may start with its own `(?i)`), the same case folding (per pattern), the
/// same `^ $ \b \B`, and the same `maxScalars` cut (the text ends there for `$` and `\b`). Only
/// whether a pattern matches is answered, never where.
///
/// **How.** Each pattern is split at its top-level `|` (it matches somewhere exactly when one of
/// its alternatives does), equal alternatives of any patterns (same tree, same case folding) are
/// compiled once, and the programs are laid side by side. A thread of the Pike VM is just an
/// instruction, and since only existence matters the threads are a set with no priority order.
/// A `match` instruction decides its patterns the moment a thread reaches it; from then on the
/// threads of decided patterns are dropped and none are started, and the scan stops as soon as
/// everything is decided.
///
/// **Prefilters** (they skip work, never change an answer):
/// - *Required literals.* From each pattern's syntax tree, sets of strings one of which every
///   match must contain (`\b(card|refund)\b` needs "card" or "refund"; `colou?r` needs "color"
///   or "colour"; `\bcard\s+\w+\s+fee\b` needs "card" and "fee"), compared after simple
///   lower-casing (so they serve case-insensitive patterns too; every non-ASCII character is one
///   wildcard byte). Before the scan, the literals are looked for in the text; a pattern one of
///   whose sets has no literal in the text cannot match and takes no part in the scan. Patterns
///   with no such set (`a*`, `\d+`, `[a-z]{3}`) always take part.
/// - *First scalar.* A pattern that cannot match the empty string starts a thread only at a
///   scalar its first instructions accept; when no thread is alive, the scan jumps over scalars
///   that no remaining pattern can start with.
///
/// **Cost.** O(length of text × total program size) time in the worst case (the sum of the
/// patterns' `programSize`s), and O(total program size + number of patterns) scratch memory per
/// call. Thread-safe: the compiled set is immutable.
public struct LinearRegexSet: Sendable {
    /// Why a pattern of the set was refused.
    public struct Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        /// The index of the refused pattern in the array given to `init`.
        public let index: Int
        /// What is wrong with it.
        public let error: RegexSyntaxError

        public init(index: Int, error: RegexSyntaxError) {
            self.index = index
            self.error = error
        }

        public var description: String { "pattern \(index): \(error)" }
    }

    let program: RegexSetProgram

    /// Compiles every pattern (each with its own `caseInsensitive`, as in `LinearRegex.init`);
    /// throws for the first pattern outside the syntax `LinearRegex` accepts, naming its index.
    public init(_ patterns: [(pattern: String, caseInsensitive: Bool)]) throws(LinearRegexSet.Error) {
        program = try RegexSetProgram(patterns)
    }

    /// The number of patterns.
    public var count: Int { program.patternCount }

    /// The total number of instructions of the combined program.
    public var programSize: Int { program.insts.count }

    /// Sets `hits[i] = true` for every pattern `i` that matches somewhere in the first
    /// `maxScalars` scalars of `text` (exactly `LinearRegex(pattern_i).matches(text, maxScalars:)`);
    /// leaves the other entries as they are. Patterns whose entry is already true are not run.
    /// `hits` must have at least `count` entries (the extra ones are left alone). A negative
    /// `maxScalars` counts as 0.
    public func matches(_ text: String, maxScalars: Int = .max, into hits: inout [Bool]) {
        precondition(hits.count >= count, "hits has \(hits.count) entries for \(count) patterns")
        if count == 0 { return }
        let limit = max(maxScalars, 0)
        var text = text
        let program = self.program
        let done: Bool? = hits.withUnsafeMutableBufferPointer { h in
            text.utf8.withContiguousStorageIfAvailable { program.run($0, limit: limit, hits: h.baseAddress!) }
        }
        if done == nil {
            text.makeContiguousUTF8()  // a bridged string: copy it once into native UTF-8
            hits.withUnsafeMutableBufferPointer { h in
                _ = text.utf8.withContiguousStorageIfAvailable { program.run($0, limit: limit, hits: h.baseAddress!) }
            }
        }
    }

    /// The indices of the patterns that match somewhere in the first `maxScalars` scalars of
    /// `text`, ascending.
    public func matchingIndices(_ text: String, maxScalars: Int = .max) -> [Int] {
        var hits = [Bool](repeating: false, count: count)
        matches(text, maxScalars: maxScalars, into: &hits)
        return hits.indices.filter { hits[$0] }
    }
}

// MARK: - Required literals

/// Strings that every match of a syntax tree must contain, in the "folded byte" alphabet: a
/// scalar `c` is the byte `lower(c)` when that is ASCII, else 0x80. `c == v` and
/// `lower(c) == lower(v)` both imply equal folded bytes, so a literal absent from the folded text
/// proves no match, for case-sensitive and case-insensitive patterns alike.
enum RequiredLiterals {
    /// Largest set of alternative strings tracked.
    static let maxStrings = 32
    /// Largest counted repetition expanded into exact strings.
    static let maxExpandedRepeat = 6
    /// Most conjuncts kept per pattern.
    static let maxGroups = 3

    @inline(__always)
    static func foldedByte(_ v: UInt32) -> UInt8 {
        let l = CaseFolding.lower(v)
        return l < 0x80 ? UInt8(l) : 0x80
    }

    struct Info {
        /// A finite superset of the strings the node can match (nil: unknown or too many).
        var exact: Set<[UInt8]>?
        /// Conjunction of disjunctions: every match contains one string of each group.
        var groups: [[[UInt8]]] = []
    }

    /// A group's strength: its shortest string (longer literals are rarer).
    static func strength(_ g: [[UInt8]]) -> Int { g.map(\.count).min() ?? 0 }

    static func usable(_ s: Set<[UInt8]>?) -> [[UInt8]]? {
        guard let s, !s.isEmpty, !s.contains([]) else { return nil }
        return s.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// All of a node's groups, the exact set included as one.
    static func allGroups(_ info: Info) -> [[[UInt8]]] {
        var out = info.groups
        if let e = usable(info.exact) { out.append(e) }
        return out
    }

    static func best(_ groups: [[[UInt8]]]) -> [[UInt8]]? {
        groups.max { a, b in
            let sa = strength(a), sb = strength(b)
            return sa != sb ? sa < sb : a.count > b.count
        }
    }

    static func product(_ a: Set<[UInt8]>, _ b: Set<[UInt8]>) -> Set<[UInt8]>? {
        if a.count * b.count > maxStrings { return nil }
        var out = Set<[UInt8]>()
        for x in a { for y in b { out.insert(x + y) } }
        return out
    }

    static func analyze(_ node: RegexNode) -> Info {
        switch node {
        case .empty, .assertion:
            return Info(exact: [[]])
        case .scalar(let v):
            return Info(exact: [[foldedByte(v)]])
        case .any, .set:
            return Info(exact: nil)
        case .concat(let items):
            var exact: Set<[UInt8]>? = [[]]
            var groups: [[[UInt8]]] = []
            var run: Set<[UInt8]> = [[]]
            func closeRun() {
                if let g = usable(run) { groups.append(g) }
                run = [[]]
            }
            for item in items {
                let info = analyze(item)
                if let e = info.exact {
                    if let x = exact { exact = product(x, e) }
                    if let r = product(run, e) {
                        run = r
                    } else {
                        closeRun()
                        run = e
                    }
                } else {
                    exact = nil
                    closeRun()
                    groups += info.groups
                }
            }
            closeRun()
            return Info(exact: exact, groups: groups)
        case .alternation(let items):
            var exact: Set<[UInt8]>? = []
            var union: Set<[UInt8]>? = []
            for item in items {
                let info = analyze(item)
                if let e = info.exact, let x = exact {
                    let u = x.union(e)
                    exact = u.count <= maxStrings ? u : nil
                } else {
                    exact = nil
                }
                if let g = best(allGroups(info)), let u = union {
                    let v = u.union(g)
                    union = v.count <= 4 * maxStrings ? v : nil
                } else {
                    union = nil
                }
            }
            var groups: [[[UInt8]]] = []
            if let g = usable(union) { groups.append(g) }
            return Info(exact: exact, groups: groups)
        case .repetition(let x, let m, let n, _):
            let info = analyze(x)
            var exact: Set<[UInt8]>? = nil
            if let e = info.exact, let n0 = n, max(n0, m) <= maxExpandedRepeat {
                // x{m,n}: the union of x^k for k in m ... n.
                let n = max(n0, m)
                var all: Set<[UInt8]>? = m == 0 ? [[]] : []
                var power: Set<[UInt8]> = [[]]
                var k = 0
                while k < n, let a = all {
                    k += 1
                    guard let p = product(power, e) else {
                        all = nil
                        break
                    }
                    power = p
                    if k >= m {
                        let u = a.union(p)
                        all = u.count <= maxStrings ? u : nil
                    }
                }
                exact = all
            }
            return Info(exact: exact, groups: m >= 1 ? allGroups(info) : [])
        }
    }

    /// The groups kept for a pattern: the strongest few, each a list of distinct strings.
    static func required(_ node: RegexNode) -> [[[UInt8]]] {
        var groups = allGroups(analyze(node))
        groups.sort { a, b in
            let sa = strength(a), sb = strength(b)
            return sa != sb ? sa > sb : a.count < b.count
        }
        var out: [[[UInt8]]] = []
        for g in groups where !out.contains(g) && out.count < maxGroups { out.append(g) }
        return out
    }
}

// MARK: - Program

/// The combined program and its tables, in memory allocated once at init and never written
/// after (so it is safe to share between threads).
///
/// The unit of matching is a *branch*: each pattern is split at its top-level `|` (a pattern
/// matches somewhere exactly when one of its branches does), and identical branches (same
/// syntax tree and case folding, in any patterns) are compiled once. A branch's `match`
/// instruction decides all the patterns it belongs to; a branch is finished when all of them
/// are decided. Splitting lets each branch have its own prefilters and anchoring (`^a|b`);
/// sharing makes a fragment common to many rules cost one thread.
final class RegexSetProgram: @unchecked Sendable {
    let patternCount: Int
    let unitCount: Int
    let insts: UnsafeMutableBufferPointer<RegexInst>   // `match`: x is the unit index
    let classes: UnsafeMutableBufferPointer<RegexClass>
    let classLow: UnsafeMutableBufferPointer<UInt64>   // per class: its ASCII bitmap
    let classHigh: UnsafeMutableBufferPointer<UInt64>
    let owner: UnsafeMutableBufferPointer<Int32>       // per instruction: its unit
    // Per unit:
    let start: UnsafeMutableBufferPointer<Int32>       // its first instruction
    let anchored: UnsafeMutableBufferPointer<Bool>
    /// Every match consumes a scalar the first instructions accept (it cannot match empty);
    /// then `firstLow`/`firstHigh` are the ASCII scalars accepted.
    let prefiltered: UnsafeMutableBufferPointer<Bool>
    let firstLow: UnsafeMutableBufferPointer<UInt64>
    let firstHigh: UnsafeMutableBufferPointer<UInt64>
    /// The first instructions may accept a non-ASCII scalar.
    let nonASCIIStart: UnsafeMutableBufferPointer<Bool>
    /// The first consuming instructions (`firstInsts[firstOffsets[u] ..< firstOffsets[u + 1]]`).
    let firstOffsets: UnsafeMutableBufferPointer<Int32>
    let firstInsts: UnsafeMutableBufferPointer<Int32>
    /// The patterns a unit belongs to, and the units of a pattern.
    let unitPatternOffsets: UnsafeMutableBufferPointer<Int32>
    let unitPatterns: UnsafeMutableBufferPointer<Int32>
    let patternUnitOffsets: UnsafeMutableBufferPointer<Int32>
    let patternUnits: UnsafeMutableBufferPointer<Int32>
    /// ASCII scalar c → the prefiltered units that can start at c
    /// (`byASCII[byASCIIOffsets[c] ..< byASCIIOffsets[c + 1]]`).
    let byASCIIOffsets: UnsafeMutableBufferPointer<Int32>
    let byASCII: UnsafeMutableBufferPointer<Int32>
    /// The units that are not prefiltered (may match without consuming).
    let unfiltered: UnsafeMutableBufferPointer<Int32>
    /// The prefiltered units that may start at a non-ASCII scalar.
    let nonASCIIStarters: UnsafeMutableBufferPointer<Int32>

    // Required literals: distinct strings, their first-byte buckets, and per unit its groups.
    let literalCount: Int
    let literalOffsets: UnsafeMutableBufferPointer<Int32>  // literal k: bytes[offsets[k] ..< offsets[k+1]]
    let literalBytes: UnsafeMutableBufferPointer<UInt8>
    /// The literals of two bytes or more by a hash of their first two (`bucket(_:_:)`):
    /// `bucketItems[bucketOffsets[h] ..< bucketOffsets[h + 1]]`.
    let bucketOffsets: UnsafeMutableBufferPointer<Int32>
    let bucketItems: UnsafeMutableBufferPointer<Int32>
    /// The literals of one byte, and that byte.
    let singleLiterals: UnsafeMutableBufferPointer<Int32>
    static let bucketCount = 1024

    @inline(__always)
    static func bucket(_ b0: UInt8, _ b1: UInt8) -> Int {
        (Int(b0) &* 37 &+ Int(b1)) & (bucketCount - 1)
    }
    /// Unit u's groups are `groupOffsets[unitGroups[u] ..< unitGroups[u + 1]]`; group g's
    /// literals are `groupLiterals[groupOffsets[g] ..< groupOffsets[g + 1]]`.
    let unitGroups: UnsafeMutableBufferPointer<Int32>
    let groupOffsets: UnsafeMutableBufferPointer<Int32>
    let groupLiterals: UnsafeMutableBufferPointer<Int32>
    let anyLiterals: Bool

    private static func freeze<T>(_ a: [T]) -> UnsafeMutableBufferPointer<T> {
        let p = UnsafeMutableBufferPointer<T>.allocate(capacity: max(a.count, 1))
        _ = p.initialize(from: a)
        return UnsafeMutableBufferPointer(rebasing: p[0 ..< a.count])
    }

    /// ASCII letters that are the simple lower case of some non-ASCII scalar (`k` of U+212A KELVIN
    /// SIGN, `i` of U+0130): a folded instruction for one of them can accept non-ASCII input.
    static let asciiWithNonASCIIUpper: Set<UInt32> = {
        var out = Set<UInt32>()
        let t = CaseFolding.table
        for k in 0 ..< t.keys.count where t.keys[k] >= 0x80 && t.values[k] < 0x80 { out.insert(t.values[k]) }
        return out
    }()

    /// The top-level alternatives of a tree (nested ones flattened).
    static func branches(_ node: RegexNode) -> [RegexNode] {
        if case .alternation(let items) = node { return items.flatMap { branches($0) } }
        return [node]
    }

    /// A text that is equal for two trees exactly when they are the same (classes by content).
    static func key(_ node: RegexNode, _ classes: [ClassSpec], into out: inout String) {
        switch node {
        case .empty: out += "e"
        case .scalar(let v): out += "s\(v),"
        case .any: out += "."
        case .set(let k):
            let c = classes[k]
            out += "[\(c.negated ? "^" : "")\(c.categories):"
            for (lo, hi) in c.ranges { out += "\(lo)-\(hi)," }
            out += "]"
        case .assertion(let a): out += "a\(a.rawValue),"
        case .concat(let items):
            out += "("
            for item in items { key(item, classes, into: &out) }
            out += ")"
        case .alternation(let items):
            out += "(|"
            for item in items {
                key(item, classes, into: &out)
                out += "|"
            }
            out += ")"
        case .repetition(let x, let m, let n, let greedy):
            out += "{"
            key(x, classes, into: &out)
            out += "\(m),\(n.map(String.init) ?? "")\(greedy ? "" : "?")}"
        }
    }

    init(_ patterns: [(pattern: String, caseInsensitive: Bool)]) throws(LinearRegexSet.Error) {
        var insts: [RegexInst] = []
        var classes: [RegexClass] = []
        var owner: [Int32] = []
        var start: [Int32] = [], anchored: [Bool] = [], prefiltered: [Bool] = []
        var firstLow: [UInt64] = [], firstHigh: [UInt64] = [], nonASCIIStart: [Bool] = []
        var firstOffsets: [Int32] = [0], firstInsts: [Int32] = []
        var unitOf: [String: Int] = [:]
        var unitPatterns: [[Int32]] = []
        var patternUnits: [[Int32]] = []
        var literalIndex: [[UInt8]: Int32] = [:]
        var literals: [[UInt8]] = []
        var unitGroups: [Int32] = [0], groupOffsets: [Int32] = [0], groupLiterals: [Int32] = []

        for (index, (pattern, caseInsensitive)) in patterns.enumerated() {
            var parser = RegexParser(pattern)
            let root: RegexNode, fold: Bool
            do {
                let (node, inlineFold) = try parser.parse()
                root = node
                fold = caseInsensitive || inlineFold
                // The whole pattern, for exactly `LinearRegex`'s errors (the size cap).
                _ = try RegexCompiler.compile(root, classes: parser.classes, foldCase: fold)
            } catch {
                throw LinearRegexSet.Error(index: index, error: error)
            }
            var units: [Int32] = []
            for branch in Self.branches(root) {
                var k = fold ? "i" : "c"
                Self.key(branch, parser.classes, into: &k)
                if let u = unitOf[k] {
                    if !units.contains(Int32(u)) {
                        units.append(Int32(u))
                        unitPatterns[u].append(Int32(index))
                    }
                    continue
                }
                let u = unitPatterns.count
                unitOf[k] = u
                units.append(Int32(u))
                unitPatterns.append([Int32(index)])

                let program: RegexProgram
                do {
                    program = try RegexCompiler.compile(branch, classes: parser.classes, foldCase: fold)
                } catch {
                    throw LinearRegexSet.Error(index: index, error: error)  // not reached: a branch is smaller
                }
                let base = Int32(insts.count), classBase = Int32(classes.count)
                for var inst in program.insts {
                    switch inst.op {
                    case .scalar, .scalarFolded, .any: inst.y += base
                    case .set: inst.x += classBase; inst.y += base
                    case .match: inst.x = Int32(u)
                    case .split: inst.x += base; inst.y += base
                    case .jump: inst.x += base
                    case .assert: break
                    }
                    insts.append(inst)
                    owner.append(Int32(u))
                }
                classes += program.classes
                start.append(base)
                anchored.append(program.anchoredStart)
                prefiltered.append(program.prefilter)
                firstLow.append(program.firstASCIILow)
                firstHigh.append(program.firstASCIIHigh)
                var wide = false
                for k in program.firstInsts {
                    let inst = program.insts[Int(k)]
                    switch inst.op {
                    case .scalar: if UInt32(bitPattern: inst.x) >= 0x80 { wide = true }
                    case .scalarFolded:
                        let v = UInt32(bitPattern: inst.x)
                        if v >= 0x80 || Self.asciiWithNonASCIIUpper.contains(v) { wide = true }
                    case .any, .set: wide = true
                    default: break
                    }
                    firstInsts.append(k + base)
                }
                firstOffsets.append(Int32(firstInsts.count))
                nonASCIIStart.append(wide)

                for group in RequiredLiterals.required(branch) {
                    for s in group {
                        if let k = literalIndex[s] {
                            groupLiterals.append(k)
                        } else {
                            let k = Int32(literals.count)
                            literalIndex[s] = k
                            literals.append(s)
                            groupLiterals.append(k)
                        }
                    }
                    groupOffsets.append(Int32(groupLiterals.count))
                }
                unitGroups.append(Int32(groupOffsets.count - 1))
            }
            patternUnits.append(units)
        }
        let unitCount = unitPatterns.count

        var byASCIIOffsets: [Int32] = [0], byASCII: [Int32] = []
        for c in 0 ..< 128 {
            for u in 0 ..< unitCount where prefiltered[u] {
                let bit = c < 64 ? firstLow[u] & (1 << UInt64(c)) : firstHigh[u] & (1 << UInt64(c - 64))
                if bit != 0 { byASCII.append(Int32(u)) }
            }
            byASCIIOffsets.append(Int32(byASCII.count))
        }
        var literalOffsets: [Int32] = [0], literalBytes: [UInt8] = []
        for s in literals {
            literalBytes += s
            literalOffsets.append(Int32(literalBytes.count))
        }
        var buckets = [[Int32]](repeating: [], count: Self.bucketCount)
        for (k, s) in literals.enumerated() where s.count >= 2 { buckets[Self.bucket(s[0], s[1])].append(Int32(k)) }
        var bucketOffsets: [Int32] = [0], bucketItems: [Int32] = []
        for b in buckets {
            bucketItems += b
            bucketOffsets.append(Int32(bucketItems.count))
        }
        self.singleLiterals = Self.freeze(literals.indices.filter { literals[$0].count == 1 }.map { Int32($0) })
        func flatten(_ lists: [[Int32]]) -> ([Int32], [Int32]) {
            var offsets: [Int32] = [0], items: [Int32] = []
            for l in lists {
                items += l
                offsets.append(Int32(items.count))
            }
            return (offsets, items)
        }

        patternCount = patterns.count
        self.unitCount = unitCount
        self.insts = Self.freeze(insts)
        self.classes = Self.freeze(classes)
        self.classLow = Self.freeze(classes.map(\.asciiLow))
        self.classHigh = Self.freeze(classes.map(\.asciiHigh))
        self.owner = Self.freeze(owner)
        self.start = Self.freeze(start)
        self.anchored = Self.freeze(anchored)
        self.prefiltered = Self.freeze(prefiltered)
        self.firstLow = Self.freeze(firstLow)
        self.firstHigh = Self.freeze(firstHigh)
        self.nonASCIIStart = Self.freeze(nonASCIIStart)
        self.firstOffsets = Self.freeze(firstOffsets)
        self.firstInsts = Self.freeze(firstInsts)
        let (upo, up) = flatten(unitPatterns), (puo, pu) = flatten(patternUnits)
        self.unitPatternOffsets = Self.freeze(upo)
        self.unitPatterns = Self.freeze(up)
        self.patternUnitOffsets = Self.freeze(puo)
        self.patternUnits = Self.freeze(pu)
        self.byASCIIOffsets = Self.freeze(byASCIIOffsets)
        self.byASCII = Self.freeze(byASCII)
        self.unfiltered = Self.freeze((0 ..< unitCount).filter { !prefiltered[$0] }.map { Int32($0) })
        self.nonASCIIStarters = Self.freeze((0 ..< unitCount).filter { prefiltered[$0] && nonASCIIStart[$0] }.map { Int32($0) })
        literalCount = literals.count
        self.literalOffsets = Self.freeze(literalOffsets)
        self.literalBytes = Self.freeze(literalBytes)
        self.bucketOffsets = Self.freeze(bucketOffsets)
        self.bucketItems = Self.freeze(bucketItems)
        self.unitGroups = Self.freeze(unitGroups)
        self.groupOffsets = Self.freeze(groupOffsets)
        self.groupLiterals = Self.freeze(groupLiterals)
        anyLiterals = !literals.isEmpty
    }

    deinit {
        func free<T>(_ p: UnsafeMutableBufferPointer<T>) {
            p.deinitialize()
            p.baseAddress?.deallocate()
        }
        free(insts); free(classes); free(classLow); free(classHigh); free(owner); free(start); free(anchored); free(prefiltered)
        free(firstLow); free(firstHigh); free(nonASCIIStart); free(firstOffsets); free(firstInsts)
        free(unitPatternOffsets); free(unitPatterns); free(patternUnitOffsets); free(patternUnits)
        free(byASCIIOffsets); free(byASCII); free(unfiltered); free(nonASCIIStarters)
        free(literalOffsets); free(literalBytes); free(bucketOffsets); free(bucketItems); free(singleLiterals)
        free(unitGroups); free(groupOffsets); free(groupLiterals)
    }

    /// Whether unit u's first instructions accept the (non-ASCII) scalar c.
    @inline(__always)
    func firstAccepts(_ u: Int, _ c: UInt32, _ folded: UInt32) -> Bool {
        for k in Int(firstOffsets[u]) ..< Int(firstOffsets[u + 1]) {
            let inst = insts[Int(firstInsts[k])]
            switch inst.op {
            case .scalar: if c == UInt32(bitPattern: inst.x) { return true }
            case .scalarFolded: if folded == UInt32(bitPattern: inst.x) { return true }
            case .any: if c != 10 { return true }
            case .set: if classes[Int(inst.x)].contains(c, folded: folded) { return true }
            default: break
            }
        }
        return false
    }

    // MARK: Matching

    /// Per-call state: which units are finished, and how many of each unit's patterns are
    /// still undecided.
    struct State {
        let hits: UnsafeMutablePointer<Bool>
        let done: UnsafeMutablePointer<Bool>       // per unit: finished (decided or excluded)
        let undecided: UnsafeMutablePointer<Int32> // per unit
        var remaining: Int                         // units not finished
        var changed = true                         // a unit finished since the last look
    }

    /// Unit u matched: its patterns are hits; every unit left with no undecided pattern finishes.
    @inline(never)
    func decide(_ u: Int, _ s: inout State) {
        for j in Int(unitPatternOffsets[u]) ..< Int(unitPatternOffsets[u + 1]) {
            let p = Int(unitPatterns[j])
            if s.hits[p] { continue }
            s.hits[p] = true
            for q in Int(patternUnitOffsets[p]) ..< Int(patternUnitOffsets[p + 1]) {
                let v = Int(patternUnits[q])
                if s.done[v] { continue }
                s.undecided[v] -= 1
                if s.undecided[v] == 0 {
                    s.done[v] = true
                    s.remaining -= 1
                }
            }
        }
        s.changed = true
    }

    /// Marks the patterns that match in the first `limit` scalars of `bytes` (UTF-8) in `hits`.
    /// Returns true (a value for `withContiguousStorageIfAvailable`).
    func run(_ buffer: UnsafeBufferPointer<UInt8>, limit: Int, hits: UnsafeMutablePointer<Bool>) -> Bool {
        let nu = unitCount
        let done = UnsafeMutablePointer<Bool>.allocate(capacity: nu)
        let undecided = UnsafeMutablePointer<Int32>.allocate(capacity: nu)
        defer {
            done.deallocate()
            undecided.deallocate()
        }
        var s = State(hits: hits, done: done, undecided: undecided, remaining: 0)
        for u in 0 ..< nu {
            var n: Int32 = 0
            for j in Int(unitPatternOffsets[u]) ..< Int(unitPatternOffsets[u + 1]) where !hits[Int(unitPatterns[j])] { n += 1 }
            undecided[u] = n
            done[u] = n == 0
            if n > 0 { s.remaining += 1 }
        }
        if s.remaining == 0 { return true }
        let byteCount = buffer.count
        let dummy: StaticString = " "
        let base = buffer.baseAddress ?? dummy.utf8Start  // never read when byteCount is 0

        if anyLiterals {
            excludeByLiterals(base, byteCount: byteCount, limit: limit, &s)
            if s.remaining == 0 { return true }
        }
        search(base, byteCount: byteCount, limit: limit, &s)
        return true
    }

    /// Finishes (without a hit) every remaining unit one of whose literal groups has no
    /// literal in the folded text.
    private func excludeByLiterals(_ base: UnsafePointer<UInt8>, byteCount: Int, limit: Int, _ s: inout State) {
        var needed = false
        for u in 0 ..< unitCount where !s.done[u] && unitGroups[u] < unitGroups[u + 1] {
            needed = true
            break
        }
        if !needed { return }
        let cap = min(byteCount, limit)  // scalars ≤ bytes
        let folded = UnsafeMutablePointer<UInt8>.allocate(capacity: max(cap, 1))
        let found = UnsafeMutablePointer<Bool>.allocate(capacity: literalCount)
        defer {
            folded.deallocate()
            found.deallocate()
        }
        found.initialize(repeating: false, count: literalCount)
        var k = 0, bi = 0
        var present: (UInt64, UInt64, UInt64) = (0, 0, 0)  // the bytes 0-63, 64-127, 0x80 seen
        while k < limit && bi < byteCount {
            let b = base[bi]
            var f: UInt8
            if b < 0x80 {
                f = (b >= 0x41 && b <= 0x5A) ? b + 32 : b
                bi += 1
            } else {
                let (c, len) = PikeVM.decode(base, bi)
                f = RequiredLiterals.foldedByte(c)
                bi += len
            }
            folded[k] = f
            if f < 64 { present.0 |= 1 << UInt64(f) } else if f < 128 { present.1 |= 1 << UInt64(f - 64) } else { present.2 = 1 }
            k += 1
        }
        for j in 0 ..< singleLiterals.count {
            let lit = Int(singleLiterals[j])
            let f = literalBytes[Int(literalOffsets[lit])]
            found[lit] = f < 64 ? present.0 & (1 << UInt64(f)) != 0 : f < 128 ? present.1 & (1 << UInt64(f - 64)) != 0 : present.2 != 0
        }
        var i = 0
        while i + 1 < k {
            let h = Self.bucket(folded[i], folded[i + 1])
            var j = Int(bucketOffsets[h])
            let end = Int(bucketOffsets[h + 1])
            while j < end {
                let lit = Int(bucketItems[j])
                j += 1
                if found[lit] { continue }
                let from = Int(literalOffsets[lit]), to = Int(literalOffsets[lit + 1])
                let len = to - from
                if len > k - i { continue }
                var same = true
                var q = 0
                while q < len {
                    if folded[i + q] != literalBytes[from + q] {
                        same = false
                        break
                    }
                    q += 1
                }
                if same { found[lit] = true }
            }
            i += 1
        }
        for u in 0 ..< unitCount where !s.done[u] {
            for g in Int(unitGroups[u]) ..< Int(unitGroups[u + 1]) {
                var any = false
                for q in Int(groupOffsets[g]) ..< Int(groupOffsets[g + 1]) where found[Int(groupLiterals[q])] {
                    any = true
                    break
                }
                if !any {
                    s.done[u] = true
                    s.remaining -= 1
                    break
                }
            }
        }
    }

    /// The set simulation: one scan, the threads of every remaining unit together.
    private func search(_ base: UnsafePointer<UInt8>, byteCount: Int, limit: Int, _ s: inout State) {
        let n = insts.count
        let visited = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        visited.initialize(repeating: 0, count: n)
        let int32s = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * n + 8)
        defer {
            visited.deallocate()
            int32s.deallocate()
        }
        var vm = SetVM(program: self, insts: UnsafeBufferPointer(insts), visited: visited, stack: int32s + 2 * n, state: s)
        vm.search(base, byteCount: byteCount, limit: limit, lists: int32s)
        s = vm.state
    }
}

/// The scan's state, in a struct so that its methods mutate it without closures' dynamic
/// exclusivity checks.
struct SetVM {
    let program: RegexSetProgram
    let insts: UnsafeBufferPointer<RegexInst>
    let visited: UnsafeMutablePointer<UInt32>  // per instruction: the generation it was last added in
    let stack: UnsafeMutablePointer<Int32>
    var state: RegexSetProgram.State
    var gen: UInt32 = 1
    // The remaining units' union of first scalars, recomputed when units finish.
    var unionLow: UInt64 = 0, unionHigh: UInt64 = 0, unionWide = false
    var canSkip = true       // every remaining unanchored unit is prefiltered
    var liveUnanchored = 0   // remaining units that can start after position 0

    init(program: RegexSetProgram, insts: UnsafeBufferPointer<RegexInst>, visited: UnsafeMutablePointer<UInt32>,
         stack: UnsafeMutablePointer<Int32>, state: RegexSetProgram.State) {
        self.program = program
        self.insts = insts
        self.visited = visited
        self.stack = stack
        self.state = state
    }

    /// Python's `\w` for ASCII from two constant masks; `PikeVM.none` (no scalar) is not a word.
    @inline(__always)
    static func isWord(_ v: UInt32) -> Bool {
        if v < 64 { return (0x03FF_0000_0000_0000 as UInt64) & (1 << UInt64(v)) != 0 }  // 0-9
        if v < 128 { return (0x07FF_FFFE_87FF_FFFE as UInt64) & (1 << UInt64(v - 64)) != 0 }  // A-Z _ a-z
        return PikeVM.isWord(v)
    }

    /// A new generation: nothing visited in it yet.
    @inline(__always)
    mutating func nextGeneration() {
        if gen == UInt32.max {
            // After 4 billion positions: start over (never in practice).
            visited.update(repeating: 0, count: insts.count)
            gen = 0
        }
        gen += 1
    }

    mutating func recompute() {
        unionLow = 0
        unionHigh = 0
        unionWide = false
        canSkip = true
        liveUnanchored = 0
        let done = state.done
        for u in 0 ..< program.unitCount where !done[u] && !program.anchored[u] {
            liveUnanchored += 1
            if !program.prefiltered[u] {
                canSkip = false
            } else {
                unionLow |= program.firstLow[u]
                unionHigh |= program.firstHigh[u]
                if program.nonASCIIStart[u] { unionWide = true }
            }
        }
        state.changed = false
    }

    /// Follows the non-consuming instructions from pc0, appending consuming ones to the
    /// list; a `match` reached decides its unit's patterns.
    @inline(__always)
    mutating func addThread(_ pc0: Int32, context: UInt8, list: UnsafeMutablePointer<Int32>, count: inout Int) {
        let stack = self.stack, visited = self.visited, insts = self.insts, gen = self.gen
        stack[0] = pc0
        var sp = 1
        paths: while sp > 0 {
            sp -= 1
            var pc = Int(stack[sp])
            while true {
                if visited[pc] == gen { continue paths }
                visited[pc] = gen
                let inst = insts[pc]
                switch inst.op {
                case .jump:
                    pc = Int(inst.x)
                case .split:
                    stack[sp] = inst.y
                    sp += 1
                    pc = Int(inst.x)
                case .assert:
                    if UInt8(truncatingIfNeeded: inst.x) & context == 0 { continue paths }
                    pc += 1
                case .match:
                    let u = Int(inst.x)
                    if !state.done[u] { program.decide(u, &state) }
                    continue paths
                default:
                    list[count] = Int32(pc)
                    count += 1
                    continue paths
                }
            }
        }
    }

    mutating func search(_ base: UnsafePointer<UInt8>, byteCount: Int, limit: Int, lists: UnsafeMutablePointer<Int32>) {
        let none = PikeVM.none
        let n = insts.count
        let program = self.program
        let insts = self.insts
        let classes = UnsafeBufferPointer(program.classes)
        let classLow = program.classLow.baseAddress!, classHigh = program.classHigh.baseAddress!
        let owner = program.owner.baseAddress!
        let anchored = program.anchored.baseAddress!
        let start = program.start.baseAddress!
        let byASCIIOffsets = program.byASCIIOffsets.baseAddress!, byASCII = program.byASCII.baseAddress!
        let nonASCIIStarters = UnsafeBufferPointer(program.nonASCIIStarters)
        let unfiltered = UnsafeBufferPointer(program.unfiltered)
        let done = state.done
        var cpcs = lists, npcs = lists + n
        var cCount = 0, nCount = 0

        @inline(__always) func context(pos: Int, prevWord: Bool, cur: UInt32, curWord: Bool, afterCur: Int, afterPos: Int) -> UInt8 {
            var bits: UInt8 = 0
            if pos == 0 { bits |= RegexAssertion.start.rawValue }
            if cur == none || (cur == 10 && (afterPos >= limit || afterCur >= byteCount)) {
                bits |= RegexAssertion.end.rawValue
            }
            bits |= prevWord != curWord ? RegexAssertion.wordBoundary.rawValue : RegexAssertion.notWordBoundary.rawValue
            return bits
        }

        var pos = 0, bi = 0
        var prevWord = false
        var cur = none, curLen = 0
        if limit > 0 && byteCount > 0 { (cur, curLen) = PikeVM.decode(base, 0) }
        var curWord = Self.isWord(cur)

        while true {
            if cCount == 0 && pos > 0 {
                if state.changed { recompute() }
                if liveUnanchored == 0 { break }
                if canSkip {
                    let startPos = pos
                    var prev = none
                    while cur != none {
                        if cur < 64 {
                            if unionLow & (1 << UInt64(cur)) != 0 { break }
                        } else if cur < 128 {
                            if unionHigh & (1 << UInt64(cur - 64)) != 0 { break }
                        } else if unionWide {
                            break
                        }
                        prev = cur
                        pos += 1
                        bi += curLen
                        if pos < limit && bi < byteCount { (cur, curLen) = PikeVM.decode(base, bi) } else { cur = none; curLen = 0 }
                    }
                    if cur == none { break }  // nothing remaining can match empty here
                    if pos != startPos {
                        nextGeneration()
                        prevWord = Self.isWord(prev)
                        curWord = Self.isWord(cur)
                    }
                }
            }

            // Start threads at pos: the units that can start here.
            let ctx = context(pos: pos, prevWord: prevWord, cur: cur, curWord: curWord, afterCur: bi + curLen, afterPos: pos + 1)
            if cur != none {
                if cur < 128 {
                    for j in Int(byASCIIOffsets[Int(cur)]) ..< Int(byASCIIOffsets[Int(cur) + 1]) {
                        let u = Int(byASCII[j])
                        if !done[u] && (pos == 0 || !anchored[u]) {
                            addThread(start[u], context: ctx, list: cpcs, count: &cCount)
                        }
                    }
                } else {
                    let folded = CaseFolding.lower(cur)
                    for j in 0 ..< nonASCIIStarters.count {
                        let u = Int(nonASCIIStarters[j])
                        if !done[u] && (pos == 0 || !anchored[u]) && program.firstAccepts(u, cur, folded) {
                            addThread(start[u], context: ctx, list: cpcs, count: &cCount)
                        }
                    }
                }
            }
            for j in 0 ..< unfiltered.count {
                let u = Int(unfiltered[j])
                if !done[u] && (pos == 0 || !anchored[u]) {
                    addThread(start[u], context: ctx, list: cpcs, count: &cCount)
                }
            }
            if state.remaining == 0 || cur == none { break }

            // Decode the next scalar, for the assertions at pos + 1.
            let nextBi = bi + curLen
            var next = none, nextLen = 0
            if pos + 1 < limit && nextBi < byteCount { (next, nextLen) = PikeVM.decode(base, nextBi) }
            let nextWord = Self.isWord(next)
            nextGeneration()
            if cCount > 0 {
                let ctx = context(pos: pos + 1, prevWord: curWord, cur: next, curWord: nextWord, afterCur: nextBi + nextLen, afterPos: pos + 2)
                let folded = CaseFolding.lower(cur)
                nCount = 0
                for t in 0 ..< cCount {
                    let pc = Int(cpcs[t])
                    if done[Int(owner[pc])] { continue }
                    let inst = insts[pc]
                    var ok = false
                    switch inst.op {
                    case .scalar: ok = cur == UInt32(bitPattern: inst.x)
                    case .scalarFolded: ok = folded == UInt32(bitPattern: inst.x)
                    case .any: ok = cur != 10
                    case .set:
                        let k = Int(inst.x)
                        if cur < 64 {
                            ok = classLow[k] & (1 << UInt64(cur)) != 0
                        } else if cur < 128 {
                            ok = classHigh[k] & (1 << UInt64(cur - 64)) != 0
                        } else {
                            ok = classes[k].slowContains(cur, folded: folded)
                        }
                    default: break
                    }
                    if ok { addThread(inst.y, context: ctx, list: npcs, count: &nCount) }
                }
                swap(&cpcs, &npcs)
                cCount = nCount
                if state.remaining == 0 { break }
            }
            pos += 1
            bi = nextBi
            cur = next
            curLen = nextLen
            prevWord = curWord
            curWord = nextWord
        }
    }
}
