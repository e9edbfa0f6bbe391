import Foundation

// MARK: - Syntax tree

enum RegexAssertion: UInt8 {
    // Bit masks of `PikeVM`'s per-position context.
    case start = 1, end = 2, wordBoundary = 4, notWordBoundary = 8
}

indirect enum RegexNode {
    case empty
    case scalar(UInt32)
    case any
    case set(Int)  // index into the parser's classes
    case assertion(RegexAssertion)
    case concat([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)

    /// Whether the node can match without consuming a character (assertions count as empty).
    var nullable: Bool {
        switch self {
        case .empty, .assertion: return true
        case .scalar, .any, .set: return false
        case .concat(let items): return items.allSatisfy { $0.nullable }
        case .alternation(let items): return items.contains { $0.nullable }
        case .repetition(let x, let min, _, _): return min == 0 || x.nullable
        }
    }
}

/// A parsed class: code-point ranges, the `\d \D \w \W \s \S` it names, and negation.
struct ClassSpec {
    var ranges: [(UInt32, UInt32)] = []
    var categories: UInt8 = 0
    var negated = false

    static let digit: UInt8 = 1, notDigit: UInt8 = 2, word: UInt8 = 4, notWord: UInt8 = 8
    static let space: UInt8 = 16, notSpace: UInt8 = 32
}

// MARK: - Parser

struct RegexParser {
    private let s: [UInt32]
    private var i = 0
    private var depth = 0
    private var groupNames: Set<String> = []
    private(set) var classes: [ClassSpec] = []

    init(_ pattern: String) {
        s = pattern.unicodeScalars.map(\.value)
    }

    private func fail(_ message: String, _ offset: Int) -> RegexSyntaxError {
        RegexSyntaxError(message: message, offset: offset)
    }

    private func peek(_ k: Int = 0) -> UInt32? {
        i + k < s.count ? s[i + k] : nil
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var out = ""
        for v in s[max(0, from) ..< min(to, s.count)] {
            if let u = Unicode.Scalar(v) { out.unicodeScalars.append(u) }
        }
        return out
    }

    private static func ch(_ c: Unicode.Scalar) -> UInt32 { c.value }

    /// The tree and whether a leading `(?i)` asked for case folding.
    mutating func parse() throws(RegexSyntaxError) -> (RegexNode, Bool) {
        if s.isEmpty { throw fail("an empty pattern matches everything: give a word", 0) }
        var fold = false
        let inlineI = Array("(?i)".unicodeScalars.map(\.value))
        while i + 4 <= s.count, Array(s[i ..< i + 4]) == inlineI {
            fold = true
            i += 4
        }
        if i == s.count { throw fail("an empty pattern matches everything: give a word", 0) }
        let node = try parseAlternation()
        if i < s.count {
            // Only an unmatched `)` stops the top level early.
            throw fail("unbalanced parenthesis: this ) closes no group", i)
        }
        return (node, fold)
    }

    private mutating func parseAlternation() throws(RegexSyntaxError) -> RegexNode {
        var branches = [try parseSequence()]
        while peek() == Self.ch("|") {
            i += 1
            branches.append(try parseSequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseSequence() throws(RegexSyntaxError) -> RegexNode {
        var items: [RegexNode] = []
        var lastQuantified = false
        var lastIsAssertion = false  // a bare ^ $ \b \B (a group around one may repeat, as in Python)
        while let c = peek() {
            if c == Self.ch("|") { break }
            if c == Self.ch(")") {
                if depth == 0 { throw fail("unbalanced parenthesis: this ) closes no group", i) }
                break
            }
            // Quantifiers apply to the last item.
            if let q = try quantifierHere() {
                let at = i
                guard let last = items.last, !lastIsAssertion else { throw fail("nothing to repeat", at) }
                if lastQuantified { throw fail("multiple repeat (a quantifier after a quantifier)", at) }
                i += q.length
                var greedy = true
                if peek() == Self.ch("?") {
                    greedy = false
                    i += 1
                } else if peek() == Self.ch("+") {
                    throw fail("possessive quantifiers (\(text(at, i))+) are not in the linear-time subset", at)
                }
                items[items.count - 1] = .repetition(last, min: q.min, max: q.max, greedy: greedy)
                lastQuantified = true
                continue
            }
            lastQuantified = false
            let isGroup = c == Self.ch("(")
            let atom = try parseAtom()
            if case .assertion = atom, !isGroup { lastIsAssertion = true } else { lastIsAssertion = false }
            items.append(atom)
        }
        switch items.count {
        case 0: return .empty
        case 1: return items[0]
        default: return .concat(items)
        }
    }

    /// A quantifier at `i`: its bounds and length, or nil (`{` that is no repetition is literal).
    private func quantifierHere() throws(RegexSyntaxError) -> (min: Int, max: Int?, length: Int)? {
        guard let c = peek() else { return nil }
        if c == Self.ch("*") { return (0, nil, 1) }
        if c == Self.ch("+") { return (1, nil, 1) }
        if c == Self.ch("?") { return (0, 1, 1) }
        guard c == Self.ch("{") else { return nil }
        var j = i + 1
        if j < s.count, s[j] == Self.ch("}") { return nil }  // `{}` is literal
        func digits(_ j: inout Int) -> (value: Int, count: Int) {
            var value = 0, count = 0
            while j < s.count, s[j] >= 0x30, s[j] <= 0x39 {
                value = min(value * 10 + Int(s[j] - 0x30), 1_000_000_000)
                count += 1
                j += 1
            }
            return (value, count)
        }
        let lo = digits(&j)
        var hi = lo
        var comma = false
        if j < s.count, s[j] == Self.ch(",") {
            comma = true
            j += 1
            hi = digits(&j)
        }
        guard j < s.count, s[j] == Self.ch("}") else { return nil }
        let minCount = lo.count > 0 ? lo.value : 0
        let maxCount: Int? = comma ? (hi.count > 0 ? hi.value : nil) : minCount
        if minCount > LinearRegex.maxRepeat || (maxCount ?? 0) > LinearRegex.maxRepeat {
            throw fail("counted repetition \(text(i, j + 1)) is above the limit of \(LinearRegex.maxRepeat)", i)
        }
        if let m = maxCount, m < minCount {
            throw fail("min repeat greater than max repeat in \(text(i, j + 1))", i)
        }
        return (minCount, maxCount, j + 1 - i)
    }

    private mutating func parseAtom() throws(RegexSyntaxError) -> RegexNode {
        let c = s[i]
        switch c {
        case Self.ch("("): return try parseGroup()
        case Self.ch("["): return try parseClass()
        case Self.ch("."):
            i += 1
            return .any
        case Self.ch("^"):
            i += 1
            return .assertion(.start)
        case Self.ch("$"):
            i += 1
            return .assertion(.end)
        case Self.ch("\\"): return try parseEscape()
        default:
            i += 1
            return .scalar(c)
        }
    }

    private mutating func parseGroup() throws(RegexSyntaxError) -> RegexNode {
        let open = i
        i += 1
        if peek() == Self.ch("?") {
            let k = peek(1)
            switch k {
            case Self.ch(":"):
                i += 2
            case Self.ch("P"):
                if peek(2) == Self.ch("<") {
                    i += 3
                    let nameStart = i
                    while let n = peek(), n != Self.ch(">") { i += 1 }
                    guard peek() == Self.ch(">") else { throw fail("missing >, unterminated group name", nameStart) }
                    let name = text(nameStart, i)
                    if name.isEmpty { throw fail("missing group name in (?P<>...)", nameStart) }
                    let scalars = Array(name.unicodeScalars)
                    let firstOK = scalars[0] == "_" || scalars[0].properties.isXIDStart
                    let restOK = scalars.dropFirst().allSatisfy { $0.properties.isXIDContinue }
                    if !firstOK || !restOK { throw fail("bad character in group name '\(name)'", nameStart) }
                    if groupNames.contains(name) { throw fail("redefinition of group name '\(name)'", nameStart) }
                    groupNames.insert(name)
                    i += 1
                } else if peek(2) == Self.ch("=") {
                    throw fail("backreferences ((?P=name)) are not in the linear-time subset", open)
                } else {
                    throw fail("unknown extension (?P\(text(i + 2, i + 3)): named groups are written (?P<name>...)", open)
                }
            case Self.ch("="):
                throw fail("lookahead (?=...) is not in the linear-time subset", open)
            case Self.ch("!"):
                throw fail("negative lookahead (?!...) is not in the linear-time subset", open)
            case Self.ch("<"):
                if peek(2) == Self.ch("=") { throw fail("lookbehind (?<=...) is not in the linear-time subset", open) }
                if peek(2) == Self.ch("!") { throw fail("negative lookbehind (?<!...) is not in the linear-time subset", open) }
                throw fail("unknown extension (?<: named groups are written (?P<name>...)", open)
            case Self.ch(">"):
                throw fail("atomic groups (?>...) are not in the linear-time subset", open)
            case Self.ch("("):
                throw fail("conditionals (?(...)...) are not in the linear-time subset", open)
            case Self.ch("#"):
                throw fail("comments (?#...) are not supported", open)
            default:
                // Flags: letters of Python's `aiLmsux` and `-`.
                var j = i + 1
                let flagLetters = Set("aiLmsux-".unicodeScalars.map(\.value))
                while j < s.count, flagLetters.contains(s[j]) { j += 1 }
                if j > i + 1, j < s.count, s[j] == Self.ch(")") || s[j] == Self.ch(":") {
                    let flags = text(i + 1, j)
                    if s[j] == Self.ch(":") {
                        throw fail("scoped flags (?\(flags):...) are not supported: write (?i) at the very start of the pattern", open)
                    }
                    if flags == "i" {
                        throw fail("(?i) is only allowed at the very start of the pattern", open)
                    }
                    let bad = flags.unicodeScalars.first { $0 != "i" }.map { String($0) } ?? flags
                    throw fail("the flag (?\(bad)) is not supported: only (?i), at the very start of the pattern", open)
                }
                throw fail("unknown extension (?\(text(i + 1, i + 2))", open)
            }
        }
        if depth >= LinearRegex.maxGroupDepth {
            throw fail("groups are nested more than \(LinearRegex.maxGroupDepth) deep", open)
        }
        depth += 1
        let inner = try parseAlternation()
        depth -= 1
        guard peek() == Self.ch(")") else { throw fail("missing ), unterminated group", open) }
        i += 1
        return inner
    }

    /// An escape outside a class.
    private mutating func parseEscape() throws(RegexSyntaxError) -> RegexNode {
        let at = i
        guard let c = peek(1) else { throw fail("trailing backslash (nothing to escape at the end of the pattern)", at) }
        switch c {
        case Self.ch("b"):
            i += 2
            return .assertion(.wordBoundary)
        case Self.ch("B"):
            i += 2
            return .assertion(.notWordBoundary)
        case Self.ch("d"), Self.ch("D"), Self.ch("w"), Self.ch("W"), Self.ch("s"), Self.ch("S"):
            i += 2
            var spec = ClassSpec()
            spec.categories = Self.category(c)
            classes.append(spec)
            return .set(classes.count - 1)
        default:
            return .scalar(try parseScalarEscape(inClass: false))
        }
    }

    private static func category(_ c: UInt32) -> UInt8 {
        switch c {
        case ch("d"): return ClassSpec.digit
        case ch("D"): return ClassSpec.notDigit
        case ch("w"): return ClassSpec.word
        case ch("W"): return ClassSpec.notWord
        case ch("s"): return ClassSpec.space
        default: return ClassSpec.notSpace
        }
    }

    /// An escape that stands for one character (at `i`, which is a backslash).
    private mutating func parseScalarEscape(inClass: Bool) throws(RegexSyntaxError) -> UInt32 {
        let at = i
        guard let c = peek(1) else { throw fail("trailing backslash (nothing to escape at the end of the pattern)", at) }
        i += 2
        switch c {
        case Self.ch("t"): return 9
        case Self.ch("n"): return 10
        case Self.ch("v"): return 11
        case Self.ch("f"): return 12
        case Self.ch("r"): return 13
        case Self.ch("b") where inClass: return 8
        case Self.ch("x"), Self.ch("u"):
            let count = c == Self.ch("x") ? 2 : 4
            var value: UInt32 = 0
            for _ in 0 ..< count {
                guard let h = peek(), let d = Self.hexValue(h) else {
                    throw fail("incomplete escape \(text(at, i)): \\\(c == Self.ch("x") ? "x needs two" : "u needs four") hex digits", at)
                }
                value = value * 16 + d
                i += 1
            }
            return value
        case Self.ch("1") ... Self.ch("9"):
            if inClass { throw fail("octal escapes (\(text(at, at + 2))) are not supported: write \\xHH", at) }
            throw fail("backreferences (\(text(at, at + 2))) are not in the linear-time subset", at)
        case Self.ch("0"):
            throw fail("octal escapes (\\0) are not supported: write \\xHH", at)
        case Self.ch("A"):
            throw fail("\\A is not supported: use ^", at)
        case Self.ch("Z"), Self.ch("z"):
            throw fail("\(text(at, at + 2)) is not supported: use $", at)
        default:
            let isASCIILetter = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            if isASCIILetter { throw fail("bad escape \(text(at, at + 2))", at) }
            return c
        }
    }

    private static func hexValue(_ h: UInt32) -> UInt32? {
        switch h {
        case 0x30 ... 0x39: return h - 0x30
        case 0x41 ... 0x46: return h - 0x41 + 10
        case 0x61 ... 0x66: return h - 0x61 + 10
        default: return nil
        }
    }

    private enum ClassItem {
        case scalar(UInt32)
        case category(UInt8)
    }

    private mutating func classItem() throws(RegexSyntaxError) -> ClassItem {
        let c = s[i]
        if c == Self.ch("\\"), let e = peek(1) {
            switch e {
            case Self.ch("d"), Self.ch("D"), Self.ch("w"), Self.ch("W"), Self.ch("s"), Self.ch("S"):
                i += 2
                return .category(Self.category(e))
            default:
                return .scalar(try parseScalarEscape(inClass: true))
            }
        }
        i += 1
        return .scalar(c)
    }

    private mutating func parseClass() throws(RegexSyntaxError) -> RegexNode {
        let open = i
        i += 1
        var spec = ClassSpec()
        if peek() == Self.ch("^") {
            spec.negated = true
            i += 1
        }
        var first = true
        while true {
            guard let c = peek() else { throw fail("unterminated character set: [ has no ]", open) }
            if c == Self.ch("]") && !first {
                i += 1
                break
            }
            first = false
            let itemStart = i
            let item = try classItem()
            if peek() == Self.ch("-"), let after = peek(1), after != Self.ch("]") {
                i += 1
                let item2 = try classItem()
                guard case .scalar(let lo) = item, case .scalar(let hi) = item2 else {
                    throw fail("bad character range \(text(itemStart, i))", itemStart)
                }
                if hi < lo { throw fail("bad character range \(text(itemStart, i))", itemStart) }
                spec.ranges.append((lo, hi))
                continue
            }
            switch item {
            case .scalar(let v): spec.ranges.append((v, v))
            case .category(let k): spec.categories |= k
            }
        }
        classes.append(spec)
        return .set(classes.count - 1)
    }
}

