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
