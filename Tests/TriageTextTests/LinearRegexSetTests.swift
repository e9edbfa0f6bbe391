import Foundation
import Testing
import TriageCore
@testable import TriageText

/// `LinearRegexSet` answers, for each pattern, exactly what that pattern's own
/// `LinearRegex.matches` answers: on the Python fixtures, on random patterns and texts, and on
/// the edges of its literal prefilter.
@Suite struct LinearRegexSetTests {
    /// The indices whose individual regex matches.
    static func expected(_ regexes: [LinearRegex], _ text: String, _ maxScalars: Int) -> [Int] {
        regexes.indices.filter { regexes[$0].matches(text, maxScalars: maxScalars) }
    }

    // MARK: Fixtures

    @Test func fixturePatternsInGroupsAgreeWithEachRegex() throws {
        let fixtures = try #require(LinearRegexTests.fixtures, "Fixtures/regex-cases.json is missing or unreadable")
        let cases = fixtures.cases
        var failures: [String] = []
        var checked = 0
        for groupSize in [10, 7] {
            var from = 0
            while from < cases.count {
                let group = Array(cases[from ..< min(from + groupSize, cases.count)])
                from += groupSize
                let specs = group.map { (pattern: $0.pattern, caseInsensitive: $0.flags == "i") }
                let set = try LinearRegexSet(specs)
                let regexes = try specs.map { try LinearRegex($0.pattern, caseInsensitive: $0.caseInsensitive) }
                #expect(set.count == group.count)
                // Every case's text, against the whole group.
                for text in Set(group.map(\.text)) {
                    for maxScalars in [0, 1, 3, 6, Int.max] {
                        let want = Self.expected(regexes, text, maxScalars)
                        let got = set.matchingIndices(text, maxScalars: maxScalars)
                        checked += 1
                        if got != want {
                            failures.append("\(specs.map(\.pattern)) on \(text.debugDescription) max \(maxScalars): want \(want), got \(got)")
                        }
                    }
                }
            }
        }
        #expect(checked > 500)
        #expect(failures.isEmpty, "\(failures.count) differ:\n\(failures.prefix(20).joined(separator: "\n"))")
    }

    // MARK: Random differential

    struct PatternGenerator {
        var rng: SeededGenerator

        mutating func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

        mutating func atom(depth: Int) -> (String, quantifiable: Bool) {
            switch rng.next() % 12 {
            case 0 ..< 5:
                return (pick(["a", "b", "c", "ab", "ca", "é", "É", "ß", "K", "k", "1", " ", "\\n", "\\.", "x"]), true)
            case 5 ..< 8:
                return (pick([".", "[a-c]", "[^a]", "\\d", "\\w", "\\s", "\\W", "\\S", "[éb]", "[A-C]", "[^\\s]"]), true)
            case 8, 9:
                return (pick(["\\b", "\\B", "^", "$"]), false)
            default:
                if depth >= 2 { return ("a", true) }
                let open = pick(["(", "(?:", "(?P<g>"])
                let inner = alternation(depth: depth + 1)
                return (open == "(?P<g>" ? "(?:" + inner + ")" : open + inner + ")", true)
            }
        }

        mutating func quantifier() -> String {
            let q = pick(["*", "+", "?", "{2}", "{1,2}", "{0,3}", "{2,}", "{,2}", "{0}"])
            return q + (chance(30) ? "?" : "")
        }

        mutating func sequence(depth: Int) -> String {
            var out = ""
            for _ in 0 ..< 1 + Int(rng.next() % 4) {
                let (a, q) = atom(depth: depth)
                out += a
                if q && chance(35) { out += quantifier() }
            }
            return out
        }

        mutating func alternation(depth: Int) -> String {
            var branches = [sequence(depth: depth)]
            while branches.count < 3 && chance(30) { branches.append(chance(10) ? "" : sequence(depth: depth)) }
            return branches.joined(separator: "|")
        }

        mutating func pattern() -> String { (chance(15) ? "(?i)" : "") + alternation(depth: 0) }

        mutating func text() -> String {
            let alphabet: [String] = ["a", "b", "c", "A", "B", "C", "é", "É", "ß", "K", "k", "\u{212A}", "1", "2", " ", " ", "\n", "x", ".", "_"]
            var out = ""
            for _ in 0 ..< Int(rng.next() % 14) { out += pick(alphabet) }
            return out
        }
    }

    @Test func randomPatternsAgreeWithEachRegex() throws {
        var gen = PatternGenerator(rng: SeededGenerator(seed: 2024))
        var failures: [String] = []
        var comparisons = 0
        for _ in 0 ..< 400 {
            var specs: [(pattern: String, caseInsensitive: Bool)] = []
            var regexes: [LinearRegex] = []
            var pool: [String] = []  // branches reused across the set's patterns (shared units)
            while specs.count < 6 {
                var p = gen.pattern()
                if !pool.isEmpty && gen.chance(30) {
                    p = (0 ..< 1 + Int(gen.rng.next() % 3)).map { _ in gen.pick(pool) }.joined(separator: "|")
                } else if !p.hasPrefix("(?i)") {
                    pool.append(p)
                }
                let ci = gen.chance(25)
                guard let r = try? LinearRegex(p, caseInsensitive: ci) else { continue }
                specs.append((p, ci))
                regexes.append(r)
            }
            let set = try LinearRegexSet(specs)
            for _ in 0 ..< 6 {
                let text = gen.text()
                let maxScalars = gen.pick([0, 1, 2, 3, 5, Int.max, Int.max])
                let want = Self.expected(regexes, text, maxScalars)
                let got = set.matchingIndices(text, maxScalars: maxScalars)
                comparisons += 1
                if got != want {
                    failures.append("\(specs.map { ($0.caseInsensitive ? "i:" : "") + $0.pattern }) on \(text.debugDescription) max \(maxScalars): want \(want), got \(got)")
                }
                // Pre-set hits are left alone, and the others are still found.
                if let first = want.first {
                    var hits = [Bool](repeating: false, count: specs.count)
                    hits[first] = true
                    set.matches(text, maxScalars: maxScalars, into: &hits)
                    let again = hits.indices.filter { hits[$0] }
                    if again != want { failures.append("pre-set \(first): want \(want), got \(again)") }
                }
            }
        }
        #expect(comparisons == 2400)
        #expect(failures.isEmpty, "\(failures.count) differ:\n\(failures.prefix(20).joined(separator: "\n"))")
    }

    // MARK: Literal prefilter

    @Test func requiredLiteralsAreProvablyRequired() throws {
        func groups(_ pattern: String) throws -> [[String]] {
            var parser = RegexParser(pattern)
            let (node, _) = try parser.parse()
            return RequiredLiterals.required(node).map { $0.map { String(decoding: $0, as: UTF8.self) } }
        }
        #expect(try groups(#"\bcard\b"#) == [["card"]])
        #expect(try groups("colou?r") == [["color", "colour"]])
        #expect(try groups(#"\b(card|refund)\b"#) == [["card", "refund"]])
        #expect(try groups(#"\bcard\s+\w+\s+fee\b"#) == [["card"], ["fee"]])
        #expect(try groups("(?i)Lost Card") == [["lost card"]])  // lower-cased
        #expect(try groups("a*").isEmpty)
        #expect(try groups(#"\d+"#).isEmpty)
        #expect(try groups("card|x*").isEmpty)          // a branch with no literal
        #expect(try groups("(card)?fee") == [["cardfee", "fee"]])
        #expect(try groups("(?:ab){2,3}").first == ["abab", "ababab"])
        #expect(try groups("x(?:ab)+y") .contains(["ab"]))
    }

    @Test func literalPrefilterEdges() throws {
        let specs: [(pattern: String, caseInsensitive: Bool)] = [
            ("card", true),              // 0: case-insensitive literal
            ("(?i)REFUND", false),       // 1: inline flag
            ("Card", false),             // 2: case-sensitive literal
            ("café", false),             // 3: non-ASCII literal
            ("(?i)CAFÉ", false),         // 4: non-ASCII, folded
            ("colou?r", false),          // 5: optional part
            (#"\b(top|up)\b"#, false),   // 6: alternation
            ("a*", false),               // 7: matches everything, empty text included
            (#"\bk\b"#, true),           // 8: K folds with KELVIN SIGN
            ("^x", false),               // 9: anchored
            ("$", false),                // 10: end only
        ]
        let set = try LinearRegexSet(specs)
        let regexes = try specs.map { try LinearRegex($0.pattern, caseInsensitive: $0.caseInsensitive) }
        let texts = [
            "", "CARD", "my Card", "CAFÉ au lait", "café", "Cafe\u{301}", "colour", "color", "colr",
            "top up", "topup", "\u{212A}", "k", "x", "yx", "REFUND please", "refund", "caRd\n",
        ]
        for text in texts {
            for maxScalars in [0, 2, 4, Int.max] {
                #expect(set.matchingIndices(text, maxScalars: maxScalars) == Self.expected(regexes, text, maxScalars),
                        "\(text.debugDescription) max \(maxScalars)")
            }
        }
        #expect(set.matchingIndices("") == [7, 10])
        #expect(set.matchingIndices("x", maxScalars: 0) == [7, 10])
        #expect(set.matchingIndices("CAFÉ au lait") == [4, 7, 10])
        #expect(set.matchingIndices("\u{212A}") == [7, 8, 10])
    }

    // MARK: Shared branches

    /// Top-level alternatives are matched as separate units, and equal ones (same tree, same
    /// case folding) are compiled once for all the patterns that have them.
    @Test func sharedAndSplitBranches() throws {
        let specs: [(pattern: String, caseInsensitive: Bool)] = [
            (#"\bcard\b|^top"#, false),     // 0
            (#"^top|\bcard\b"#, false),     // 1: the same branches, other order
            (#"(?:\bcard\b)|fee"#, false),  // 2: a group around a shared branch
            (#"\bcard\b"#, true),           // 3: the same tree, folded: another unit
            (#"\bcard\b|\bcard\b"#, false), // 4: a branch twice in one pattern
            ("x|", false),                    // 5: an empty branch matches everywhere
            (#"\bcard\b"#, false),          // 6: a duplicate of a branch as a whole pattern
        ]
        let set = try LinearRegexSet(specs)
        #expect(set.program.unitCount == 6)  // card, ^top, fee, card (folded), x, empty
        let regexes = try specs.map { try LinearRegex($0.pattern, caseInsensitive: $0.caseInsensitive) }
        for text in ["", "card", "CARD", "a top", "top card", "fee", "cards", "my card\n", "Top"] {
            for maxScalars in [0, 2, 3, Int.max] {
                #expect(set.matchingIndices(text, maxScalars: maxScalars) == Self.expected(regexes, text, maxScalars),
                        "\(text.debugDescription) max \(maxScalars)")
            }
        }
        #expect(set.matchingIndices("my card") == [0, 1, 2, 3, 4, 5, 6])
        #expect(set.matchingIndices("a top") == [5])
        #expect(set.matchingIndices("top") == [0, 1, 5])
        // A shared unit still reports its other patterns when one of them is pre-set.
        var hits = [Bool](repeating: false, count: specs.count)
        hits[0] = true
        hits[6] = true
        set.matches("card", maxScalars: .max, into: &hits)
        #expect(hits == [true, true, true, true, true, true, true])
    }

    // MARK: API

    @Test func errorsNameThePattern() {
        do {
            _ = try LinearRegexSet([("card", false), ("fee", true), (#"(?=x)"#, false)])
            Issue.record("lookahead was accepted")
        } catch {
            #expect(error.index == 2)
            #expect(error.error.message.contains("lookahead"))
            #expect(error.description.hasPrefix("pattern 2: "))
        }
        #expect(throws: LinearRegexSet.Error.self) { try LinearRegexSet([("", false)]) }
    }

    @Test func emptySetAndManyPatterns() throws {
        let empty = try LinearRegexSet([])
        #expect(empty.count == 0)
        #expect(empty.matchingIndices("anything").isEmpty)
        let words = ["card", "transfer", "account", "payment", "refund", "balance", "pending", "fee"]
        let specs = words.map { (pattern: #"\b"# + $0 + #"s?\b"#, caseInsensitive: true) }
        let set = try LinearRegexSet(specs)
        #expect(set.matchingIndices("My CARDS are pending; the Fee?") == [0, 6, 7])
        #expect(set.matchingIndices("cardpayment") == [])
        #expect(set.programSize > 8 * 5)
    }
}
