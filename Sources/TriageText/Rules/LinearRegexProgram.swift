import Foundation

// MARK: - Program

enum RegexOp: UInt8 {
    // Consuming instructions (they end a thread's closure); y: the next instruction.
    case scalar       // x: the code point
    case scalarFolded // x: the lower-cased code point, compared with the lower-cased input
    case any          // any scalar but \n
    case set          // x: class index
    case match
    // Non-consuming.
    case split        // try x, then y
    case jump         // x
    case assert       // x: RegexAssertion bits, any of which must hold
}

struct RegexInst: Sendable {
    var op: RegexOp
    var x: Int32 = 0
    var y: Int32 = 0
}

/// A class ready for matching: a bitmap for ASCII input, sorted ranges for the rest.
struct RegexClass: Sendable {
    var asciiLow: UInt64 = 0
    var asciiHigh: UInt64 = 0
    var ranges: [UInt32] = []  // lo, hi, lo, hi, … sorted and disjoint
    var categories: UInt8 = 0
    var negated = false
    var fold = false

    init(_ spec: ClassSpec, fold: Bool) {
        self.categories = spec.categories
        self.negated = spec.negated
        self.fold = fold
        var pairs = spec.ranges
        if fold {
            // S = C ∪ lower(C ∩ changing): input c matches when lower(c) ∈ S.
            let table = CaseFolding.table
            for k in 0 ..< table.keys.count {
                let key = table.keys[k]
                if spec.ranges.contains(where: { key >= $0.0 && key <= $0.1 }) {
                    pairs.append((table.values[k], table.values[k]))
                }
            }
        }
        pairs.sort { $0.0 < $1.0 }
        var merged: [UInt32] = []
        for (lo, hi) in pairs {
            if let last = merged.last, lo <= last &+ 1 {
                merged[merged.count - 1] = max(last, hi)
            } else {
                merged.append(lo)
                merged.append(hi)
            }
        }
        ranges = merged
        for c in UInt32(0) ..< 128 {
            if slowContains(c, folded: CaseFolding.lower(c)) {
                if c < 64 { asciiLow |= 1 << UInt64(c) } else { asciiHigh |= 1 << UInt64(c - 64) }
            }
        }
    }

    @inline(__always)
    func contains(_ c: UInt32, folded: UInt32) -> Bool {
        if c < 64 { return asciiLow & (1 << UInt64(c)) != 0 }
        if c < 128 { return asciiHigh & (1 << UInt64(c - 64)) != 0 }
        return slowContains(c, folded: folded)
    }

    func slowContains(_ c: UInt32, folded: UInt32) -> Bool {
        let key = fold ? folded : c
        var hit = false
        // Binary search for the last range whose lower end is <= key.
        var lo = 0, hi = ranges.count / 2
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[2 * mid] <= key { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0, key <= ranges[2 * (lo - 1) + 1] { hit = true }
        if !hit, categories != 0 {
            if categories & (ClassSpec.digit | ClassSpec.notDigit) != 0 {
                let d = PythonText.flags(c) & PythonText.decimal != 0
                if (categories & ClassSpec.digit != 0 && d) || (categories & ClassSpec.notDigit != 0 && !d) { hit = true }
            }
            if !hit, categories & (ClassSpec.word | ClassSpec.notWord) != 0 {
                let w = PythonText.isWord(c)
                if (categories & ClassSpec.word != 0 && w) || (categories & ClassSpec.notWord != 0 && !w) { hit = true }
            }
            if !hit, categories & (ClassSpec.space | ClassSpec.notSpace) != 0 {
                let sp = PythonText.isSpace(c)
                if (categories & ClassSpec.space != 0 && sp) || (categories & ClassSpec.notSpace != 0 && !sp) { hit = true }
            }
        }
        return hit != negated
    }
}

struct RegexProgram: Sendable {
    var insts: [RegexInst]
    var classes: [RegexClass]
    var foldCase: Bool
    /// Matches can start only at offset 0 (the pattern begins with `^`).
    var anchoredStart: Bool
    /// When set, a match can only start at a scalar the prefilter accepts (every match consumes
    /// one of the first instructions' characters first).
    var prefilter: Bool
    var firstASCIILow: UInt64
    var firstASCIIHigh: UInt64
    var firstInsts: [Int32]  // the consuming instructions reachable from the start, for non-ASCII
}

enum RegexCompiler {
    static func compile(_ root: RegexNode, classes specs: [ClassSpec], foldCase: Bool) throws(RegexSyntaxError) -> RegexProgram {
        let cap = LinearRegex.maxInstructions
        let size = self.size(root, cap: cap) + 1
        if size > cap {
            throw RegexSyntaxError(
                message: "the pattern is too large: its program would have more than \(cap) instructions (counted repetition is expanded)",
                offset: 0)
        }
        var insts: [RegexInst] = []
        insts.reserveCapacity(size)
        emit(root, into: &insts, fold: foldCase, redirect: 0)
        insts.append(RegexInst(op: .match))
        assert(insts.count == size, "program size \(insts.count) != computed \(size)")
        let classes = specs.map { RegexClass($0, fold: foldCase) }

        var anchored = false
        switch root {
        case .assertion(.start): anchored = true
        case .concat(let items): if case .assertion(.start) = items.first { anchored = true }
        default: break
        }

        // The prefilter: the consuming instructions reachable from pc 0 without consuming.
        var seen = Set<Int>()
        var stack = [0]
        var first: [Int32] = []
        var reachesMatch = false
        while let pc = stack.popLast() {
            if !seen.insert(pc).inserted { continue }
            let inst = insts[pc]
            switch inst.op {
            case .scalar, .scalarFolded, .any, .set: first.append(Int32(pc))
            case .match: reachesMatch = true
            case .split:
                stack.append(Int(inst.x))
                stack.append(Int(inst.y))
            case .jump: stack.append(Int(inst.x))
            case .assert: stack.append(pc + 1)
            }
        }
        var low: UInt64 = 0, high: UInt64 = 0
        if !reachesMatch {
            for c in UInt32(0) ..< 128 {
                let folded = CaseFolding.lower(c)
                if first.contains(where: { Self.consumes(insts[Int($0)], classes: classes, c, folded) }) {
                    if c < 64 { low |= 1 << UInt64(c) } else { high |= 1 << UInt64(c - 64) }
                }
            }
        }
        return RegexProgram(
            insts: insts, classes: classes, foldCase: foldCase, anchoredStart: anchored,
            prefilter: !reachesMatch, firstASCIILow: low, firstASCIIHigh: high, firstInsts: first)
    }

    static func consumes(_ inst: RegexInst, classes: [RegexClass], _ c: UInt32, _ folded: UInt32) -> Bool {
        switch inst.op {
        case .scalar: return c == UInt32(bitPattern: inst.x)
        case .scalarFolded: return folded == UInt32(bitPattern: inst.x)
        case .any: return c != 10
        case .set: return classes[Int(inst.x)].contains(c, folded: folded)
        default: return false
        }
    }

    /// The number of instructions `node` compiles to, saturating just above `cap`.
    static func size(_ node: RegexNode, cap: Int) -> Int {
        func sat(_ v: Int) -> Int { min(v, cap + 1) }
        switch node {
        case .empty: return 0
        case .scalar, .any, .set, .assertion: return 1
        case .concat(let items):
            return items.reduce(0) { sat($0 + size($1, cap: cap)) }
        case .alternation(let items):
            return items.reduce(2 * (items.count - 1)) { sat($0 + size($1, cap: cap)) }
        case .repetition(let x, let m, let n, _):
            let sx = size(x, cap: cap)
            if let n, n <= m { return sat(m * sx) }
            if !x.nullable {
                guard let n else { return sat(max(m - 1, 0) * sx + sx + 1 + (m == 0 ? 1 : 0)) }
                return sat(m * sx + (n - m) * (sx + 1))
            }
            // An optional iteration of a nullable body is two copies and a jump (see `emitRepetition`).
            guard let n else { return sat(m * sx + 1 + 2 * sx + 2) }
            return sat(m * sx + (n - m) * (2 * sx + 2))
        }
    }

    /// Emits `node`. `redirect` is added to the next-instruction of every consuming
    /// instruction: inside the "nothing consumed yet" copy of a loop body it leads to the
    /// same place in the "consumed" copy (see `emitRepetition`).
    private static func emit(_ node: RegexNode, into p: inout [RegexInst], fold: Bool, redirect: Int) {
        func consuming(_ op: RegexOp, _ x: Int32) {
            p.append(RegexInst(op: op, x: x, y: Int32(p.count + 1 + redirect)))
        }
        switch node {
        case .empty:
            break
        case .scalar(let v):
            if fold {
                consuming(.scalarFolded, Int32(bitPattern: CaseFolding.lower(v)))
            } else {
                consuming(.scalar, Int32(bitPattern: v))
            }
        case .any:
            consuming(.any, 0)
        case .set(let k):
            consuming(.set, Int32(k))
        case .assertion(let a):
            p.append(RegexInst(op: .assert, x: Int32(a.rawValue)))
        case .concat(let items):
            for item in items { emit(item, into: &p, fold: fold, redirect: redirect) }
        case .alternation(let items):
            var jumps: [Int] = []
            for (k, item) in items.enumerated() {
                if k < items.count - 1 {
                    let split = p.count
                    p.append(RegexInst(op: .split, x: Int32(split + 1)))
                    emit(item, into: &p, fold: fold, redirect: redirect)
                    jumps.append(p.count)
                    p.append(RegexInst(op: .jump))
                    p[split].y = Int32(p.count)
                } else {
                    emit(item, into: &p, fold: fold, redirect: redirect)
                }
            }
            for j in jumps { p[j].x = Int32(p.count) }
        case .repetition(let x, let m, let n, let greedy):
            emitRepetition(x, min: m, max: n, greedy: greedy, into: &p, fold: fold, redirect: redirect)
        }
    }

    /// Python's REPEAT / MAX_UNTIL / MIN_UNTIL: the first `min` iterations are mandatory; after
    /// them another iteration is tried (before the tail if greedy, after it if lazy); after
    /// each optional iteration another one is tried only if that iteration consumed something
    /// — after an empty one, only the tail.
    ///
    /// A Pike VM cannot ask "did this iteration consume?" (threads at one instruction and
    /// position are merged), so the answer is put in the instruction: an optional iteration of
    /// a body that can match empty is compiled twice, as E ("nothing consumed yet") and C
    /// ("consumed"), with the same layout. E's consuming instructions continue at the same
    /// place in C; E's end jumps to the tail; C's end is the decision to iterate again. Then
    /// a thread's future depends only on its instruction and position, as a Pike VM requires:
    ///
    ///     x{m} ; split(H, T) ; H: x[E] ; jump T ; x[C] ; split(H, T) ; T:     (x* greedy, m = 0)
    private static func emitRepetition(_ x: RegexNode, min m: Int, max n: Int?, greedy: Bool,
                                       into p: inout [RegexInst], fold: Bool, redirect: Int) {
        var fixups: [Int] = []  // splits and jumps whose tail target is patched at the end
        /// A choice between `next` and the tail, in the quantifier's order.
        func decision(next: Int) {
            fixups.append(p.count)
            p.append(greedy ? RegexInst(op: .split, x: Int32(next)) : RegexInst(op: .split, y: Int32(next)))
        }
        func patchTail() {
            let tail = Int32(p.count)
            for k in fixups {
                switch p[k].op {
                case .jump: p[k].x = tail
                default: if greedy { p[k].y = tail } else { p[k].x = tail }
                }
            }
        }
        if let n, n <= m {
            for _ in 0 ..< m { emit(x, into: &p, fold: fold, redirect: redirect) }
            return
        }
        guard x.nullable else {
            // Iterations that always consume: the classic loops.
            guard let n else {
                for _ in 0 ..< max(m - 1, 0) { emit(x, into: &p, fold: fold, redirect: redirect) }
                if m == 0 { decision(next: p.count + 1) }
                let head = p.count
                emit(x, into: &p, fold: fold, redirect: redirect)
                decision(next: head)
                patchTail()
                return
            }
            for _ in 0 ..< m { emit(x, into: &p, fold: fold, redirect: redirect) }
            for _ in (m + 1) ... n {
                decision(next: p.count + 1)
                emit(x, into: &p, fold: fold, redirect: redirect)
            }
            patchTail()
            return
        }
        for _ in 0 ..< m { emit(x, into: &p, fold: fold, redirect: redirect) }
        let sx = size(x, cap: Int.max / 4)
        /// One optional iteration: E copy, jump to the tail, C copy.
        func iteration() {
            emit(x, into: &p, fold: fold, redirect: redirect + sx + 1)
            fixups.append(p.count)
            p.append(RegexInst(op: .jump))
            emit(x, into: &p, fold: fold, redirect: redirect)
        }
        guard let n else {
            decision(next: p.count + 1)
            let head = p.count
            iteration()
            decision(next: head)
            patchTail()
            return
        }
        for _ in (m + 1) ... n {
            decision(next: p.count + 1)
            iteration()
        }
        patchTail()
    }
}

// MARK: - Case folding

/// Simple lower-case mappings (one scalar to one scalar), as Python's `re` uses for IGNORECASE.
enum CaseFolding {
    struct Table: Sendable {
        var keys: [UInt32] = []
        var values: [UInt32] = []
    }

    /// Every scalar below U+20000 (all cased scripts are there) whose lower case differs (ASCII
    /// included, for classes; `lower` maps ASCII itself),
    /// sorted; built on first use.
    static let table: Table = {
        var t = Table()
        for v in UInt32(0x41) ..< 0x20000 {
            guard let s = Unicode.Scalar(v), s.properties.changesWhenLowercased else { continue }
            // The simple mapping: the full one when it is one scalar; U+0130's full mapping is
            // "i\u{307}", its simple one "i".
            guard let lower = s.properties.lowercaseMapping.unicodeScalars.first, lower.value != v else { continue }
            t.keys.append(v)
            t.values.append(lower.value)
        }
        return t
    }()

    @inline(__always)
    static func lower(_ v: UInt32) -> UInt32 {
        if v < 0x80 { return (v >= 0x41 && v <= 0x5A) ? v + 32 : v }
        if v >= 0x20000 { return v }
        return slowLower(v)
    }

    static func slowLower(_ v: UInt32) -> UInt32 {
        let t = table
        var lo = 0, hi = t.keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if t.keys[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < t.keys.count && t.keys[lo] == v ? t.values[lo] : v
    }
}

