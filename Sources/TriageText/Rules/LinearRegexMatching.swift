import Foundation

// MARK: - Matching

/// The Pike VM. Threads live in two lists (the current position's and the next one's), kept in
/// priority order; `visited` holds, per instruction, the generation (position step) at which it
/// was last added, so each instruction is entered at most once per position and the first
/// (highest-priority) thread to reach it wins.
struct PikeVM {
    static let none: UInt32 = 0xFFFF_FFFF

    let insts: UnsafeBufferPointer<RegexInst>
    let visited: UnsafeMutablePointer<Int>
    let stack: UnsafeMutablePointer<Int32>

    /// Follows the non-consuming instructions from `pc0`, in priority order, appending the
    /// consuming ones (and `match`) reached to the list. `context` holds the assertion bits
    /// that hold at this position.
    @inline(__always)
    func addThread(_ pc0: Int32, start: Int, gen: Int, context: UInt8,
                   pcs: UnsafeMutablePointer<Int32>, starts: UnsafeMutablePointer<Int>, count: inout Int) {
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
                default:
                    // scalar, scalarFolded, any, set, match: a thread of the list.
                    pcs[count] = Int32(pc)
                    starts[count] = start
                    count += 1
                    continue paths
                }
            }
        }
    }

    @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>, _ i: Int) -> (UInt32, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F), 4)
    }

    @inline(__always)
    static func isWord(_ v: UInt32) -> Bool {
        if v == none { return false }
        return PythonText.isWord(v)
    }

    static func search(program: RegexProgram, insts: UnsafeBufferPointer<RegexInst>,
                       classes: UnsafeBufferPointer<RegexClass>,
                       bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> Range<Int>? {
        let n = insts.count
        let byteCount = bytes.count
        guard let base = bytes.baseAddress else { return nil }

        let ints = UnsafeMutablePointer<Int>.allocate(capacity: 3 * n)
        ints.initialize(repeating: 0, count: 3 * n)
        let int32s = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * n + 8)
        int32s.initialize(repeating: 0, count: 3 * n + 8)
        defer {
            ints.deallocate()
            int32s.deallocate()
        }
        let vm = PikeVM(insts: insts, visited: ints, stack: int32s + 2 * n)
        var cpcs = int32s, npcs = int32s + n
        var cstarts = ints + n, nstarts = ints + 2 * n
        var cCount = 0, nCount = 0

        let fold = program.foldCase
        let anchored = program.anchoredStart
        let prefilter = program.prefilter
        let firstLow = program.firstASCIILow, firstHigh = program.firstASCIIHigh
        let firstInsts = program.firstInsts

        @inline(__always) func firstAccepts(_ c: UInt32) -> Bool {
            if c < 64 { return firstLow & (1 << UInt64(c)) != 0 }
            if c < 128 { return firstHigh & (1 << UInt64(c - 64)) != 0 }
            let folded = fold ? CaseFolding.lower(c) : c
            for k in firstInsts {
                let inst = insts[Int(k)]
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

        var gen = 1
        var pos = 0, bi = 0
        var prevWord = false
        var cur = none, curLen = 0
        if limit > 0 && byteCount > 0 { (cur, curLen) = decode(base, 0) }
        var curWord = isWord(cur)
        var matchStart = -1, matchEnd = -1

        /// The assertion bits at a position with the given neighbours.
        @inline(__always) func context(pos: Int, prevWord: Bool, cur: UInt32, curWord: Bool, afterCur: Int, afterPos: Int) -> UInt8 {
            var bits: UInt8 = 0
            if pos == 0 { bits |= RegexAssertion.start.rawValue }
            if cur == none || (cur == 10 && (afterPos >= limit || afterCur >= byteCount)) {
                bits |= RegexAssertion.end.rawValue
            }
            bits |= prevWord != curWord ? RegexAssertion.wordBoundary.rawValue : RegexAssertion.notWordBoundary.rawValue
            return bits
        }

        while true {
            if matchStart < 0 && (!anchored || pos == 0) {
                if cCount == 0 && prefilter {
                    let startPos = pos
                    var prev = none
                    while cur != none && !firstAccepts(cur) {
                        prev = cur
                        pos += 1
                        bi += curLen
                        if pos < limit && bi < byteCount { (cur, curLen) = decode(base, bi) } else { cur = none; curLen = 0 }
                    }
                    if cur == none { break }
                    if pos != startPos {
                        gen += 1
                        prevWord = isWord(prev)
                        curWord = isWord(cur)
                    }
                }
                let ctx = context(pos: pos, prevWord: prevWord, cur: cur, curWord: curWord, afterCur: bi + curLen, afterPos: pos + 1)
                vm.addThread(0, start: pos, gen: gen, context: ctx, pcs: cpcs, starts: cstarts, count: &cCount)
            }
            if cur == none {
                // The end: only a match can still be taken.
                for t in 0 ..< cCount where insts[Int(cpcs[t])].op == .match {
                    matchStart = cstarts[t]
                    matchEnd = pos
                    break
                }
                break
            }
            if cCount == 0 {
                if matchStart >= 0 || (anchored && pos > 0) { break }
            }
            // Decode the next scalar, for the assertions at pos + 1.
            let nextBi = bi + curLen
            var next = none, nextLen = 0
            if pos + 1 < limit && nextBi < byteCount { (next, nextLen) = decode(base, nextBi) }
            let nextWord = isWord(next)
            gen += 1
            if cCount > 0 {
                let ctx = context(pos: pos + 1, prevWord: curWord, cur: next, curWord: nextWord, afterCur: nextBi + nextLen, afterPos: pos + 2)
                let folded = fold ? CaseFolding.lower(cur) : cur
                nCount = 0
                var t = 0
                while t < cCount {
                    let pc = cpcs[t]
                    let inst = insts[Int(pc)]
                    var ok = false
                    switch inst.op {
                    case .scalar: ok = cur == UInt32(bitPattern: inst.x)
                    case .scalarFolded: ok = folded == UInt32(bitPattern: inst.x)
                    case .any: ok = cur != 10
                    case .set: ok = classes[Int(inst.x)].contains(cur, folded: folded)
                    case .match:
                        matchStart = cstarts[t]
                        matchEnd = pos
                        t = cCount  // cut the lower-priority threads
                        continue
                    default: break
                    }
                    if ok {
                        vm.addThread(inst.y, start: cstarts[t], gen: gen, context: ctx, pcs: npcs, starts: nstarts, count: &nCount)
                    }
                    t += 1
                }
                swap(&cpcs, &npcs)
                swap(&cstarts, &nstarts)
                cCount = nCount
            }
            pos += 1
            bi = nextBi
            cur = next
            curLen = nextLen
            prevWord = curWord
            curWord = nextWord
        }
        return matchStart >= 0 ? matchStart ..< matchEnd : nil
    }
}
