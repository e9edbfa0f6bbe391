import Foundation

// MARK: - Reference

/// A regular expression for routing rules that runs in time linear in the text: it never
/// backtracks, so no pattern and no input can make it slow. It is compiled to a small
/// instruction program and run as a Pike VM (a Thompson NFA simulation whose threads keep
/// Python's priority order) over the text's Unicode scalars, in O(length of text × length of
/// program) time and O(length of program) memory.
///
/// The syntax is a subset of Python 3's `re` (for `str` patterns), with Python's meanings; a
/// pattern outside the subset is refused with a `RegexSyntaxError` that names the construct and
/// its position, never accepted with another meaning.
///
/// **Matching.** `firstMatch` finds what Python's `re.search` finds: the leftmost start, and at
/// that start the match Python's backtracking would pick (alternatives tried left to right,
/// greedy quantifiers taking as many repetitions as still lead to a match, lazy ones as few).
/// Offsets count Unicode scalars (Python's code points), from 0. `maxScalars` searches only the
/// first `maxScalars` scalars, exactly as if the text ended there (`$` and `\b` see that end).
///
/// **Supported syntax.**
/// - Literals: every character stands for itself, except the metacharacters
///   `. ^ $ * + ? ( ) [ \ |`. As in Python, `]` and `}` are literal, and so is `{` when it does
///   not begin a repetition (`a{`, `a{x}`, `a{}`, `a{1,2` are literal text).
/// - Escapes: `\` followed by any character that is not an ASCII letter or digit stands for that
///   character (`\. \* \+ \? \( \) \[ \] \{ \} \| \^ \$ \\ \/ \- \#`, a space, …); `\t \n \r \f \v`
///   (tab, line feed, carriage return, form feed, vertical tab); `\xHH` (exactly two hex digits)
///   and `\uHHHH` (exactly four) for a code point.
/// - `.`: any character except `\n` (line feed).
/// - Classes `[...]` and negated classes `[^...]`: characters, ranges `a-z` (by code point; the
///   lower end must not be above the upper end), the escapes above, `\d \D \w \W \s \S`, and `\b`,
///   which inside a class is backspace (U+0008) as in Python. `]` first in the class (`[]a]`,
///   `[^]a]`) and `-` first or last (`[-a]`, `[a-]`) are literal. A negated class also matches
///   `\n`.
/// - `\d`: a decimal digit of any script (Unicode category Nd: `0`–`9`, `٣`, `७`, …); `\D`: any
///   other character.
/// - `\w`: a word character as Python defines it: a letter (categories Lu Ll Lt Lm Lo), a
///   character with a numeric value (digits, `½`, `Ⅻ`, …) or `_`; combining marks are not word
///   characters. `\W`: any other character.
/// - `\s`: whitespace as Python's `str.isspace()`: `\t \n \v \f \r`, U+001C–U+001F, space,
///   U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. `\S`: any
///   other character.
/// - `\b`: a word boundary (a `\w` character on one side and not on the other; the text's start
///   and end count as non-word, so `\bcaf\b` does not match in "café"); `\B`: not a word
///   boundary.
/// - `^`: the start of the text. `$`: the end of the text, or just before a `\n` that is the
///   text's last character. (There is no multi-line mode.)
/// - Groups `(...)`, `(?:...)` and `(?P<name>...)`: all only group (nothing is captured; names
///   must be identifiers and distinct). Alternation `a|b|c`, tried left to right; an empty
///   alternative matches the empty string.
/// - Quantifiers `*` `+` `?` `{m}` `{m,}` `{,n}` `{m,n}` (`{,}` is `*`), greedy; followed by `?`
///   (`*? +? ?? {m,n}?`) they are lazy. `m` and `n` are at most 1000.
/// - `(?i)` at the very start of the pattern: ignore case, by simple case folding: two characters
///   match when their one-character lower-case mappings are equal (`É` and `é`, `Σ` and `σ`); a
///   class matches a character whose lower-case mapping is that of one of its members
///   (`[A-C]` matches `b`, `[^a]` does not match `A`; `\d \w \s` inside are unaffected). The
///   same as `caseInsensitive: true`.
///
/// **Refused** (a `RegexSyntaxError`): the empty pattern; backreferences (`\1`…`\9`, `(?P=name)`);
/// lookahead and lookbehind (`(?=` `(?!` `(?<=` `(?<!`); atomic groups `(?>...)` and possessive
/// quantifiers (`*+ ++ ?+ {m,n}+`); conditionals `(?(...)...)`; comments `(?#...)`; every other
/// flag (`(?m)`, `(?s)`, `(?x)`, `(?a)`, …), scoped flags `(?i:...)`, and `(?i)` anywhere but the
/// start; `(?<name>...)`; other escapes (`\A \Z \0 \a \N{...} \U… \p{...}`, octal, any other
/// `\` + letter); unbalanced parentheses; unterminated classes; a quantifier with nothing to
/// repeat (at the start, after `(` or `|`, or after `^ $ \b \B`) or after another quantifier;
/// bad ranges (`[z-a]`, `[a-\d]`); `{m,n}` with m > n or above 1000; a trailing `\`; groups nested
/// more than 100 deep; and patterns
/// whose program has more than 20,000 instructions. Roughly one instruction per character,
/// class, anchor and quantifier, but counted repetition is expanded (`(?:abc){1000}` is 3,001),
/// and the body of a loop that can match the empty string (`(a?)*`, `(a|)+`, `(\s*x?){0,5}`) is
/// held twice, so such loops nested deeply grow fast.
///
/// **Known differences from Python.** Case-insensitive matching uses simple lower-case mappings
/// only, so it misses Python's extra equivalences (`ſ`/`s`, `ı`/`i`, `ς`/`σ`, `µ`/`μ`, `ϐ`/`β`,
/// …) and its special case for class ranges beyond U+FFFF; `\B` matches the empty text (as in
/// Python 3.14; Python 3.13 and older find no match there); Unicode properties come from Swift's
/// tables, which may be newer than your Python's. Everything else (spans included, down to the
/// order in which empty iterations of a loop give way to what follows) is Python's.
public struct LinearRegex: Sendable, Equatable {
    /// The pattern as written.
    public let pattern: String
    /// Whether the regex was compiled to ignore case (the `caseInsensitive` argument; a leading
    /// `(?i)` in the pattern has the same effect).
    public let caseInsensitive: Bool

    let program: RegexProgram

    /// The largest program a pattern may compile to.
    public static let maxInstructions = 20_000
    /// The largest count in `{m}`, `{m,}`, `{m,n}`.
    public static let maxRepeat = 1_000
    /// The deepest nesting of groups (the compiler recurses on it).
    public static let maxGroupDepth = 100

    /// Compiles `pattern`; throws a `RegexSyntaxError` for syntax outside the subset above.
    public init(_ pattern: String, caseInsensitive: Bool = false) throws(RegexSyntaxError) {
        self.pattern = pattern
        self.caseInsensitive = caseInsensitive
        var parser = RegexParser(pattern)
        let (node, inlineFold) = try parser.parse()
        let fold = caseInsensitive || inlineFold
        program = try RegexCompiler.compile(node, classes: parser.classes, foldCase: fold)
    }

    public static func == (a: LinearRegex, b: LinearRegex) -> Bool {
        a.pattern == b.pattern && a.caseInsensitive == b.caseInsensitive
    }

    /// The number of instructions in the compiled program (the factor, besides the text's
    /// length, in the matching time).
    public var programSize: Int { program.insts.count }

    /// The leftmost match in `text` (Python `re.search` semantics: leftmost start, then the
    /// alternative/greedy priority Python's backtracking would pick), as a range of Unicode-scalar
    /// offsets, or nil. Only the first `maxScalars` scalars of the text are searched.
    /// (A negative `maxScalars` counts as 0.)
    public func firstMatch(in text: String, maxScalars: Int = .max) -> Range<Int>? {
        let limit = max(maxScalars, 0)
        var text = text
        if let result = text.utf8.withContiguousStorageIfAvailable({ run($0, limit: limit) }) {
            return result
        }
        text.makeContiguousUTF8()  // a bridged string: copy it once into native UTF-8
        return text.utf8.withContiguousStorageIfAvailable({ run($0, limit: limit) }) ?? nil
    }

    /// Whether `text` (its first `maxScalars` scalars) contains a match.
    public func matches(_ text: String, maxScalars: Int = .max) -> Bool {
        firstMatch(in: text, maxScalars: maxScalars) != nil
    }

    private func run(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> Range<Int>? {
        if bytes.baseAddress == nil {
            // The empty text: give the VM a real (never read) address.
            let dummy: [UInt8] = [0]
            return dummy.withUnsafeBufferPointer { run(UnsafeBufferPointer(start: $0.baseAddress, count: 0), limit: limit) }
        }
        return program.insts.withUnsafeBufferPointer { insts in
            program.classes.withUnsafeBufferPointer { classes in
                PikeVM.search(program: program, insts: insts, classes: classes, bytes: bytes, limit: limit)
            }
        }
    }
}

/// Why a pattern was refused: what is wrong and where.
public struct RegexSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, e.g. "backreferences (\1) are not in the linear-time subset".
    public let message: String
    /// The position in the pattern, in Unicode scalars from 0.
    public let offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "at character \(offset + 1): \(message)" }
}

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
