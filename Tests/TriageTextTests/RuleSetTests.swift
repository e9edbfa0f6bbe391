import Foundation
import Testing
import TriageCore
@testable import TriageText

@Suite("Rules: the file, and matching words, phrases and regular expressions")
struct RuleSetTests {
    func set(_ json: String) throws -> RuleSet { try RuleSet.parse(Array(json.utf8)) }

    func problem(_ json: String) -> String {
        do { _ = try set(json); return "" } catch { return "\(error)" }
    }

    @Test func aFileParsesWithItsDefaults() throws {
        let s = try set(#"{"rules": [{"name": "lost-card", "words": ["lost card"], "label": "card"}]}"#)
        #expect(s.rules[0].field == .any && s.rules[0].mode == .override && !s.rules[0].stem && s.rules[0].head == nil)
        #expect(s.maxFieldChars == RuleSet.defaultMaxFieldChars && s.stemmer == nil)
        // It round-trips through its own encoding.
        let encoded = try JSONValueEncoder().canonicalBytes(s)
        #expect(try RuleSet.parse(encoded) == s)
    }

    @Test func everyMistakeNamesTheRuleAndWhatToChange() {
        #expect(problem(#"{"rules": []}"#).contains("\"rules\" is empty"))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["x"], "label": "l", "lable": "typo"}]}"#).contains("lable"))
        #expect(problem(#"{"rules": [{"name": "A b", "words": ["x"], "label": "l"}]}"#).hasPrefix("rules[0] \"A b\": a name is"))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["x"], "label": "l"}, {"name": "a", "words": ["y"], "label": "l"}]}"#)
            == "rules[1] \"a\": the name is taken by rules[0]: names are unique")
        #expect(problem(#"{"rules": [{"name": "a", "label": "l"}]}"#).contains("give \"words\""))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["x"], "regex": "x", "label": "l"}]}"#).contains("not both"))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["!!"], "label": "l"}]}"#).contains("\"!!\" has no word in it"))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["x"]}]}"#).contains("needs the \"label\""))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["x"], "mode": "feature", "label": "l"}]}"#).contains("a feature rule has no \"label\""))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["x"], "stem": true, "label": "l"}]}"#).contains("needs the file's \"stemmer\""))
        #expect(problem(#"{"stemmer": "klingon", "rules": [{"name": "a", "words": ["x"], "label": "l"}]}"#).contains("unknown stemmer \"klingon\""))
        #expect(problem(#"{"rules": [{"name": "a", "regex": "(a)\\1", "label": "l"}]}"#).hasPrefix("rules[0] \"a\": \"regex\" at character"))
        #expect(problem(#"{"rules": [{"name": "a", "words": ["x"], "mode": "always", "label": "l"}]}"#).contains("always"))
        #expect(problem("not json").contains("not JSON"))
    }

    @Test func wordsArePhrasesOfNormalisedTokensInTheirField() throws {
        let s = try set(#"""
            {"stemmer": "english", "rules": [
              {"name": "lost-card", "field": "subject", "words": ["lost card", "stolen"], "label": "card"},
              {"name": "cafe", "field": "body", "words": ["CAFÉ payment"], "mode": "feature"},
              {"name": "charges", "words": ["charged twice"], "stem": true, "label": "payments"},
              {"name": "iban", "field": "body", "regex": "\\b[a-z]{2}\\d{2}[a-z0-9]{8,30}\\b", "mode": "feature"}]}
            """#)
        let m = try RuleMatcher(s)
        func names(_ subject: String, _ body: String) -> [String] { m.matches(subject: subject, body: body).map { s.rules[$0].name } }
        #expect(names("I LOST my Card!", "") == [])                  // "lost my card" is not the phrase "lost card"
        #expect(names("Lost card, help", "") == ["lost-card"])
        #expect(names("", "lost card") == [])                         // subject only
        #expect(names("Stolen?", "a cafe payment failed") == ["lost-card", "cafe"])   // accents stripped on both sides
        #expect(names("", "I was charging twice... no: charged twice") == ["charges"])
        #expect(names("", "they charge twice") == ["charges"])       // stems: "charg" "twice"
        #expect(names("", "you charge me twice") == [])          // a phrase is consecutive words
        #expect(names("", "send it to GB82WEST12345698765432 please") == ["iban"])   // case-insensitive by default
        #expect(names("", "GB82") == [])
        #expect(m.overrides(m.matches(subject: "lost card", body: "charged twice"), firstHead: "queue") == ["queue": 0])
    }

    @Test func aRegularExpressionReadsOnlyTheFirstCharactersOfAField() throws {
        let s = try set(#"{"max_field_chars": 20, "rules": [{"name": "code", "regex": "error \\d+", "mode": "feature"}]}"#)
        let m = try RuleMatcher(s)
        #expect(m.matches(subject: "", body: "error 42 at the start") == [0])
        #expect(m.matches(subject: "", body: String(repeating: "x", count: 30) + " error 42") == [])
    }
}
