import TriageCore
import Foundation

/// scikit-learn's `token_pattern`: a Python regular expression whose `findall` gives the tokens
/// (the whole match, or the one capturing group when the pattern has exactly one).
///
/// The default `(?u)\b\w\w+\b` (and the `\b\w+\b`, `\b\w{k,}\b` family) runs on a hand-written
/// scanner: tokens are the maximal runs of Python word characters at least k code points long.
/// Any other pattern is translated from Python `re` syntax to ICU (Foundation's
/// `NSRegularExpression`) with Python's meanings spelled out: `\w`, `\W`, `\d`, `\D`, `\s`, `\S`,
/// `\b`, `\B` become explicit Unicode classes (or ASCII ones under `(?a)`), `\Z` becomes ICU's
/// `\z`, `(?P<name>…)` and `(?P=name)` become ICU's named groups, a `[` or `&` inside a class is
/// escaped (ICU would read nested sets or set operators), and only `\n` ends a line for `.`
/// and `$`, as in Python. Under a global `(?i)`, Python also treats i, I, ı and İ as one letter
/// (its case rules use simple lower-case mappings plus fixes; ICU uses case folding, which
/// keeps the Turkish letters apart), so those four are added wherever one of them is matched.
/// Scoped flags `(?i:…)` keep ICU's rules.
public struct TokenPattern: Hashable, Sendable, CustomStringConvertible {
    /// The pattern as the user wrote it (Python syntax).
    public let pattern: String
    let matcher: Matcher

    enum Matcher: Hashable, Sendable {
        case wordRuns(minLength: Int)
        case regex(CompiledRegex)
    }

    public static let sklearnDefault = #"(?u)\b\w\w+\b"#

    public init(_ pattern: String) throws(TextFeatureError) {
        self.pattern = pattern
        if let k = Self.wordRunLength(pattern) {
            matcher = .wordRuns(minLength: k)
        } else {
            matcher = .regex(try CompiledRegex(python: pattern))
        }
    }

    public var description: String { pattern }

    /// True when the fast scanner handles this pattern.
    public var isFastPath: Bool {
        if case .wordRuns = matcher { return true }
        return false
    }

    /// Calls `body` with the UTF-8 bytes of each token of `text` (valid UTF-8), in order.
    func forEachToken(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        switch matcher {
        case let .wordRuns(minLength):
            Self.scanWordRuns(text, minLength: minLength, body)
        case let .regex(regex):
            regex.forEachMatch(in: text, body)
        }
    }

    /// The tokens of `text` as strings (scikit-learn's `build_tokenizer()(text)`).
    public func tokens(_ text: String) -> [String] {
        var result: [String] = []
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            forEachToken(in: UnsafeBufferPointer(buffer)) { result.append(String(decoding: $0, as: UTF8.self)) }
        }
        return result
    }

    /// `k` for patterns equivalent to `\b\w{k,}\b` (with or without `(?u)`), else nil.
    static func wordRunLength(_ pattern: String) -> Int? {
        var p = Substring(pattern)
        if p.hasPrefix("(?u)") { p = p.dropFirst(4) }
        guard p.hasPrefix(#"\b"#), p.hasSuffix(#"\b"#), p.count >= 6 else { return nil }
        p = p.dropFirst(2).dropLast(2)
        var k = 0
        while p.hasPrefix(#"\w"#) {
            k += 1
            p = p.dropFirst(2)
        }
        if k >= 1 && p == "+" { return k }
        if k == 1, p.hasPrefix("{"), p.hasSuffix(",}"), let n = Int(p.dropFirst().dropLast(2)), n >= 1 { return n }
        return nil
    }

    /// Maximal runs of word characters of at least `minLength` code points.
    static func scanWordRuns(_ text: UnsafeBufferPointer<UInt8>, minLength: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        PythonText.asciiWord.withUnsafeBufferPointer { asciiWord in
            scanWordRuns(text, minLength: minLength, asciiWord: asciiWord, body)
        }
    }

    private static func scanWordRuns(_ text: UnsafeBufferPointer<UInt8>, minLength: Int, asciiWord: UnsafeBufferPointer<Bool>,
                                     _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let n = text.count
        var i = 0
        var runStart = -1
        var runLength = 0
        while i < n {
            let b = text[i]
            let width: Int
            let isWord: Bool
            if b < 0x80 {
                width = 1
                isWord = asciiWord[Int(b)]
            } else {
                let (scalar, w) = decodeUTF8(text, at: i)
                width = w
                isWord = PythonText.isWord(scalar)
            }
            if isWord {
                if runStart < 0 { runStart = i; runLength = 0 }
                runLength += 1
            } else if runStart >= 0 {
                if runLength >= minLength { body(UnsafeBufferPointer(rebasing: text[runStart ..< i])) }
                runStart = -1
            }
            i += width
        }
        if runStart >= 0 && runLength >= minLength { body(UnsafeBufferPointer(rebasing: text[runStart ..< n])) }
    }
}

/// Decodes the scalar starting at `i` of valid UTF-8 (the bytes of a Swift `String`).
@inline(__always)
func decodeUTF8(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
    let b0 = UInt32(text[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F), 2) }
    if b0 < 0xF0 { return ((b0 & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F), 3) }
    return ((b0 & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12 | UInt32(text[i + 2] & 0x3F) << 6 | UInt32(text[i + 3] & 0x3F), 4)
}

/// A Python pattern compiled as ICU, and the `findall` group rule.
struct CompiledRegex: Hashable, @unchecked Sendable {
    // NSRegularExpression is immutable after creation and documented as thread-safe for matching.
    let regex: NSRegularExpression
    let icuPattern: String
    let group: Int  // 0: whole match; 1: the single capturing group

    static func == (a: CompiledRegex, b: CompiledRegex) -> Bool { a.icuPattern == b.icuPattern }
    func hash(into hasher: inout Hasher) { hasher.combine(icuPattern) }

    init(python pattern: String) throws(TextFeatureError) {
        let translated = try PythonRegexTranslator.translate(pattern)
        do {
            regex = try NSRegularExpression(pattern: translated, options: [.useUnixLineSeparators])
        } catch {
            throw .invalidTokenPattern(pattern: pattern, reason: "not a valid regular expression (\(error.localizedDescription))")
        }
        icuPattern = translated
        switch regex.numberOfCaptureGroups {
        case 0: group = 0
        case 1: group = 1
        case let n: throw .tokenPatternHasGroups(pattern: pattern, count: n)
        }
    }

    /// Python's `re.findall` over `text`: non-overlapping matches left to right, empty matches
    /// included; with one group, the group's text ("" when it did not take part).
    func forEachMatch(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let string = String(decoding: text, as: UTF8.self)
        let ns = string as NSString
        var matches: [NSRange] = []
        regex.enumerateMatches(in: string, options: [], range: NSRange(location: 0, length: ns.length)) { result, _, _ in
            guard let result else { return }
            matches.append(result.range(at: group))
        }
        for range in matches {
            var token = range.location == NSNotFound ? "" : ns.substring(with: range)
            token.withUTF8 { body($0) }
        }
    }
}

/// Rewrites Python `re` syntax into ICU syntax with Python's semantics (see `TokenPattern`).
enum PythonRegexTranslator {
    static let unicodeWord = #"\p{L}\p{N}_"#
    static let asciiWord = "A-Za-z0-9_"
    static let unicodeSpace = #"\t-\r\x{1C}-\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"#
    static let asciiSpace = #"\t-\r\x{20}"#

    static func translate(_ pattern: String) throws(TextFeatureError) -> String {
        var chars = Array(pattern.unicodeScalars)
        var ascii = false
        var ignoreCase = false
        var prefix = ""
        // Global inline flags at the start: drop u (the default for str patterns), note a.
        if chars.count >= 3, chars[0] == "(", chars[1] == "?" {
            var j = 2
            var flags: [Unicode.Scalar] = []
            while j < chars.count, "aiLmsux".unicodeScalars.contains(chars[j]) { flags.append(chars[j]); j += 1 }
            if j < chars.count, chars[j] == ")", !flags.isEmpty {
                if flags.contains("L") {
                    throw .invalidTokenPattern(pattern: pattern, reason: "the L (locale) flag is not valid for text patterns")
                }
                ascii = flags.contains("a")
                ignoreCase = flags.contains("i")
                let kept = flags.filter { $0 != "u" && $0 != "a" }
                if !kept.isEmpty {
                    prefix = "(?"
                    prefix.unicodeScalars.append(contentsOf: kept)
                    prefix += ")"
                }
                chars = Array(chars[(j + 1)...])
            }
        }
        let wordClass = ascii ? asciiWord : unicodeWord
        let spaceClass = ascii ? asciiSpace : unicodeSpace
        let digit = ascii ? "0-9" : #"\p{Nd}"#
        let w = "[\(wordClass)]"
        let notW = "[^\(wordClass)]"
        let boundary = "(?:(?<=\(w))(?!\(w))|(?<!\(w))(?=\(w)))"
        let nonBoundary = "(?:(?<=\(w))(?=\(w))|(?<!\(w))(?!\(w)))"

        var out = prefix
        var i = 0
        var inClass = false
        var classBodyStart = false
        // Under (?i): does the current class match a letter of the i/I/ı/İ family?
        var classHasI = false
        var previousLiteral: Unicode.Scalar? = nil
        let iFamily: Set<Unicode.Scalar> = ["i", "I", "\u{131}", "\u{130}"]
        func coversI(_ lo: Unicode.Scalar, _ hi: Unicode.Scalar) -> Bool {
            iFamily.contains { lo.value <= $0.value && $0.value <= hi.value }
        }
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                guard i + 1 < chars.count else {
                    throw .invalidTokenPattern(pattern: pattern, reason: "the pattern ends with a lone backslash")
                }
                let e = chars[i + 1]
                i += 2
                classBodyStart = false
                previousLiteral = nil
                switch (e, inClass) {
                case ("w", false): out += w
                case ("W", false): out += notW
                case ("d", false): out += ascii ? "[0-9]" : #"\p{Nd}"#
                case ("D", false): out += ascii ? "[^0-9]" : #"\P{Nd}"#
                case ("s", false): out += "[\(spaceClass)]"
                case ("S", false): out += "[^\(spaceClass)]"
                case ("b", false): out += boundary
                case ("B", false): out += nonBoundary
                case ("Z", false): out += #"\z"#
                case ("w", true): out += wordClass
                case ("W", true): out += notW
                case ("d", true): out += digit
                case ("D", true): out += "[^\(digit)]"
                case ("s", true): out += spaceClass
                case ("S", true): out += "[^\(spaceClass)]"
                case ("b", true): out += #"\x{08}"#
                default:
                    out += "\\"
                    out.unicodeScalars.append(e)
                }
                continue
            }
            if inClass {
                if c == "]" && !classBodyStart {
                    inClass = false
                    if ignoreCase && classHasI { out += "\\x{130}\\x{131}" }
                    out += "]"
                } else if c == "-", let lo = previousLiteral, i + 1 < chars.count, chars[i + 1] != "]", chars[i + 1] != "\\" {
                    // A range lo-hi.
                    let hi = chars[i + 1]
                    if coversI(lo, hi) { classHasI = true }
                    out += "-"
                    out.unicodeScalars.append(hi)
                    previousLiteral = nil
                    i += 2
                    classBodyStart = false
                    continue
                } else if c == "]" || c == "[" || c == "&" {
                    out += "\\"
                    out.unicodeScalars.append(c)
                } else if c == "^" && classBodyStart && out.hasSuffix("[") {
                    out += "^"
                    i += 1
                    continue  // still at the start of the class body: a following ']' is literal
                } else {
                    out.unicodeScalars.append(c)
                }
                if iFamily.contains(c) { classHasI = true }
                previousLiteral = c
                classBodyStart = false
                i += 1
                continue
            }
            switch c {
            case "[":
                inClass = true
                classBodyStart = true
                classHasI = false
                previousLiteral = nil
                out += "["
                i += 1
            case _ where ignoreCase && iFamily.contains(c):
                out += "[iI\\x{130}\\x{131}]"
                i += 1
            case "(" where i + 2 < chars.count && chars[i + 1] == "?" && chars[i + 2] == "P":
                if i + 3 < chars.count, chars[i + 3] == "<" {
                    out += "(?<"
                    i += 4
                } else if i + 3 < chars.count, chars[i + 3] == "=" {
                    var j = i + 4
                    var name = ""
                    while j < chars.count, chars[j] != ")" { name.unicodeScalars.append(chars[j]); j += 1 }
                    out += "\\k<\(name)>"
                    i = j + 1
                } else {
                    throw .invalidTokenPattern(pattern: pattern, reason: "unknown (?P extension")
                }
            case "{":
                // A brace that does not start a valid quantifier is a literal in Python.
                var j = i + 1
                var body = ""
                while j < chars.count, chars[j] != "}", body.count < 24 { body.unicodeScalars.append(chars[j]); j += 1 }
                let isQuantifier = j < chars.count && chars[j] == "}" && !body.isEmpty
                    && body.unicodeScalars.allSatisfy { ("0" ... "9").contains($0) || $0 == "," }
                    && body.filter { $0 == "," }.count <= 1 && body != ","
                if isQuantifier {
                    out += "{" + (body.hasPrefix(",") ? "0" + body : body) + "}"
                    i = j + 1
                } else {
                    out += "\\{"
                    i += 1
                }
            case "}":
                out += "\\}"
                i += 1
            default:
                out.unicodeScalars.append(c)
                i += 1
            }
        }
        if inClass { throw .invalidTokenPattern(pattern: pattern, reason: "unterminated character set") }
        return out
    }
}
