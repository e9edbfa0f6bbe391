import Foundation
import Testing
import TriageFuzzing
import TriageText

/// The `rules` fuzz target's invariants on the seeds the fuzzer starts from (the regex fixtures'
/// patterns and texts, the demo rules file, hand-written shapes) and on random bytes, so that
/// `make test` runs the check the fuzzer runs (the long runs are `scripts/fuzz RUNS rules`,
/// recorded in RELIABILITY.md). A case passes when nothing traps: `RulesCheck.check` calls
/// `fatalError` when an invariant breaks.
@Suite("Rules fuzz check: LinearRegexSet against each LinearRegex, and the rule matcher")
struct RulesCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Hand-written seeds (the same shapes as scripts/fuzz writes for the rules mode).
    static let handwritten: [(String, [UInt8])] = [
        ("alternations", RulesCheck.input(spec: "card|refund|\nlost (?:my )?card\n(a|ab)(c|bcd)(d*)", flags: 0b010, text: "I LOST my card, refund abcd")),
        ("word boundaries", RulesCheck.input(spec: "\\bcaf\\b\n\\bcafé\\b\n\\Bé\n\\b\\w+\\b$", text: "un café à Paris")),
        ("inline (?i)", RulesCheck.input(spec: "(?i)STRASSE\n(?i)straße\n(?i)k\n[a-c]+", flags: 0b1000, text: "Straße STRASSE \u{212A}elvin ABC")),
        ("Kelvin sign", RulesCheck.input(spec: "k\n[k]\n[^k]\n\\w\u{212A}", flags: 0b0111, text: "\u{212A}\u{212A} K")),
        ("anchors and the end", RulesCheck.input(spec: "^$\n$\n^a\nb$\n\\n$\n.", text: "a\nb\n")),
        ("counted repeats", RulesCheck.input(spec: "a{2,5}?b\n(?:ab){3}\nx{0}y\n(\\s*x?){0,5}z\n[é-ë]{2,}", flags: 0xFF, text: "aaab ababab ÉÊë y z")),
        ("refused patterns", RulesCheck.input(spec: "ok\n(a)\\1\n(?=x)\n\n(?i:x)", text: "ok")),
        ("a large program", RulesCheck.input(spec: "(?:a?){1000}b\n(?:.{0,9}){100}c\n(?:abc){1000}", text: String(repeating: "a", count: 3000))),
        ("the empty spec", RulesCheck.input(spec: "", text: "anything")),
        ("no NUL: the spec is the text", Array("card\nfee".utf8)),
        ("invalid UTF-8", [0x61, 0xC3, 0x0A, 0xFF, 0x2E, 0x00, 0x01, 0xE9, 0x61, 0xC3, 0xA9]),
        ("rules: words and regexes in each field", RulesCheck.input(spec: #"""
            {"stemmer": "english", "max_field_chars": 12, "rules": [
              {"name": "lost-card", "field": "subject", "words": ["lost card", "Straße"], "label": "card"},
              {"name": "cafe", "field": "body", "words": ["CAFÉ payment"], "mode": "feature"},
              {"name": "charges", "words": ["charged twice"], "stem": true, "label": "payments"},
              {"name": "empty-ok", "regex": "x*|^$", "mode": "feature"},
              {"name": "kelvin", "field": "any", "regex": "\\bk\\w+", "case_sensitive": false, "mode": "feature"},
              {"name": "iban", "field": "body", "regex": "\\b[a-z]{2}\\d{2}[a-z0-9]{8,30}\\b", "case_sensitive": true, "mode": "feature"}]}
            """#, text: "Lost card at the Café\nStraße: \u{212A}elvin charged twice, a cafe payment GB82WEST12345698765432")),
        ("rules: a broken file", RulesCheck.input(spec: #"{"rules": [{"name": "a", "regex": "(a)\\1", "label": "l"}]}"#, text: "a")),
    ]

    /// The regex fixtures (Python's answers), 8 patterns an input, each distinct text of the group
    /// (up to 4); the refused patterns, 4 an input beside a valid one.
    static func fixtureSeeds() throws -> [[UInt8]] {
        let url = root.appendingPathComponent("Tests/TriageTextTests/Fixtures/regex-cases.json")
        struct Case: Decodable { var pattern: String; var flags: String; var text: String }
        struct Refused: Decodable { var pattern: String }
        struct Fixtures: Decodable { var cases: [Case]; var errors: [Refused] }
        let fixtures = try JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
        var seeds: [[UInt8]] = []
        var pairs: [(pattern: String, flags: String)] = []
        for c in fixtures.cases where !pairs.contains(where: { $0 == (c.pattern, c.flags) }) { pairs.append((c.pattern, c.flags)) }
        for start in stride(from: 0, to: pairs.count, by: 8) {
            let group = pairs[start ..< min(start + 8, pairs.count)]
            var flags: UInt8 = 0
            for (k, p) in group.enumerated() where p.flags == "i" { flags |= 1 << UInt8(k) }
            var texts: [String] = []
            for c in fixtures.cases where group.contains(where: { $0 == (c.pattern, c.flags) }) && !texts.contains(c.text) { texts.append(c.text) }
            for text in texts.prefix(4) { seeds.append(RulesCheck.input(spec: group.map(\.pattern).joined(separator: "\n"), flags: flags, text: text)) }
        }
        for start in stride(from: 0, to: fixtures.errors.count, by: 4) {
            let spec = (["card"] + fixtures.errors[start ..< min(start + 4, fixtures.errors.count)].map(\.pattern)).joined(separator: "\n")
            seeds.append(RulesCheck.input(spec: spec, text: "my card"))
        }
        return seeds
    }

    /// The rules-file seeds parse (else the check would only see refused files).
    @Test func theRulesSeedsParse() throws {
        let seed = try #require(Self.handwritten.first { $0.0.hasPrefix("rules: words") }).1
        #expect(throws: Never.self) { try RuleSet.parse(Array(seed[..<seed.firstIndex(of: 0)!])) }
        let demo = try [UInt8](Data(contentsOf: Self.root.appendingPathComponent("corpora/demo/rules.json")))
        #expect(throws: Never.self) { try RuleSet.parse(demo) }
    }

    @Test(arguments: handwritten.map(\.0))
    func theHandwrittenSeedsHold(_ name: String) {
        RulesCheck.check(Self.handwritten.first { $0.0 == name }!.1)
    }

    @Test func theFixtureSeedsHold() throws {
        let seeds = try Self.fixtureSeeds()
        #expect(seeds.count > 60)
        for seed in seeds { RulesCheck.check(seed) }
    }

    @Test func theDemoRulesHold() throws {
        let rules = try String(contentsOf: Self.root.appendingPathComponent("corpora/demo/rules.json"), encoding: .utf8)
        for text in ["I lost my card and it is a scam\nerror code ab-1234 when paying", "The service is down: error 503", ""] {
            RulesCheck.check(RulesCheck.input(spec: rules, text: text))
        }
        RulesCheck.check(Array(rules.utf8))
    }

    /// Random bytes, and random lines over an alphabet of regex syntax, with random texts.
    @Test func randomInputsHold() {
        var state: UInt64 = 0x5EED_2026
        func next() -> UInt64 {  // splitmix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let syntax = ["a", "b", "k", "é", "ß", "\u{212A}", ".", "*", "+", "?", "|", "(", ")", "(?:", "[", "]", "^", "$", "\\b", "\\B",
                      "\\w", "\\d", "\\s", "{2}", "{1,3}", "-", "(?i)", "\n", "\\"]
        let letters = ["a", "b", "k", "K", "\u{212A}", "é", "É", "ß", " ", "\n", "1", "_", "."]
        for _ in 0 ..< 300 {
            let bytes = (0 ..< Int(next() % 48)).map { _ in UInt8(truncatingIfNeeded: next()) }
            RulesCheck.check(bytes)
            let spec = (0 ..< Int(next() % 24)).map { _ in syntax[Int(next() % UInt64(syntax.count))] }.joined()
            let text = (0 ..< Int(next() % 20)).map { _ in letters[Int(next() % UInt64(letters.count))] }.joined()
            RulesCheck.check(RulesCheck.input(spec: spec, flags: UInt8(truncatingIfNeeded: next()), text: text))
        }
    }
}
