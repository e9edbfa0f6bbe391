import Testing
@testable import TriageText

@Suite("Python-compatible preprocessing")
struct PreprocessingTests {
    let lower = Preprocessor(lowercase: true, stripAccents: nil)

    @Test func lowercasesLikePython() {
        #expect(lower("HeLLo WORLD") == "hello world")
        // Final_Sigma, which Swift's lowercased() does not apply.
        #expect(lower("ΟΔΟΣ ΟΔΟΣ.") == "οδος οδος.")
        #expect(lower("ΣΑΣ") == "σας")
        #expect(lower("Σ") == "σ")                 // no cased letter before: not final
        #expect(lower("ΑΣ'Α") == "ασ'α")      // apostrophe is case-ignorable: a cased letter follows
        // Full mappings: İ becomes two code points.
        #expect(Array(lower("İ").unicodeScalars).map(\.value) == [0x69, 0x307])
        #expect(lower("ÜBER STRASSE Größe") == "über strasse größe")
    }

    @Test func stripsAccentsLikeScikitLearn() {
        let unicode = Preprocessor(lowercase: false, stripAccents: .unicode)
        let ascii = Preprocessor(lowercase: false, stripAccents: .ascii)
        #expect(unicode("café naïve Ångström") == "cafe naive Angstrom")
        #expect(ascii("café naïve Ångström") == "cafe naive Angstrom")
        #expect(unicode("ﬁnance ½") == "finance 1⁄2")         // NFKD compatibility forms
        #expect(ascii("東京 café") == " cafe")                  // ascii drops what is not ASCII
        #expect(unicode("東京 café") == "東京 cafe")
        // Marks that were already decomposed go too, and lone marks vanish.
        #expect(unicode("cafe\u{301}") == "cafe")
        #expect(unicode("\u{301}x \u{308}") == "x ")
    }

    @Test func lowercaseRunsBeforeAccentStripping() {
        let both = Preprocessor(lowercase: true, stripAccents: .ascii)
        #expect(both("ÉCOLE İstanbul") == "ecole istanbul")
    }
}

@Suite("Token patterns")
struct TokenPatternTests {
    func tokens(_ pattern: String, _ text: String) throws -> [String] {
        try TokenPattern(pattern).tokens(text)
    }

    @Test func defaultPatternTakesRunsOfTwoOrMoreWordCharacters() throws {
        let p = try TokenPattern(TokenPattern.sklearnDefault)
        #expect(p.isFastPath)
        #expect(p.tokens("I can't pay £5 for a_b 2024! x y ab") == ["can", "pay", "for", "a_b", "2024", "ab"])
        // Python's \w: letters and numbers of every script; not combining marks.
        #expect(p.tokens("東京は晴れ ½½ Ⅻ² cafe\u{301}s") == ["東京は晴れ", "½½", "Ⅻ²", "cafe"])
        #expect(p.tokens("") == [] && p.tokens(" \t\n") == [])
    }

    @Test func recognisesTheFamilyOfWordRunPatterns() throws {
        #expect(try TokenPattern(#"\b\w+\b"#).isFastPath)
        #expect(try TokenPattern(#"(?u)\b\w\w\w+\b"#).isFastPath)
        #expect(try TokenPattern(#"\b\w{4,}\b"#).isFastPath)
        #expect(try tokens(#"(?u)\b\w+\b"#, "a bc d") == ["a", "bc", "d"])
        #expect(try tokens(#"\b\w{4,}\b"#, "abc abcd abcde") == ["abcd", "abcde"])
    }

    @Test func otherPatternsFollowPythonSemantics() throws {
        #expect(try tokens("[A-Za-z]+", "abc1DEF é") == ["abc", "DEF"])
        #expect(try tokens(#"\S+"#, "a  b\u{A0}c\td") == ["a", "b", "c", "d"])
        #expect(try tokens(#"\d+"#, "12 ab 3٣") == ["12", "3٣"])
        // One capturing group: findall returns the group.
        #expect(try tokens(#"(?u)\b(\w)\w*\b"#, "hello big world") == ["h", "b", "w"])
        #expect(try tokens("(?i)[a-z]{3,}", "ABC de FGHI") == ["ABC", "FGHI"])
        // \b uses Python's word class (a combining mark is not a word character).
        #expect(try tokens(#"\b\w+\b(?!x)"#, "ab é") == ["ab", "é"])
        // A brace that is not a quantifier is literal, as in Python.
        #expect(try tokens("a{", "a{ a") == ["a{"])
        // [ inside a class is literal in Python (ICU would start a nested set).
        #expect(try tokens("[[a]+", "[a[ b") == ["[a["])
    }

    @Test func refusesBadPatterns() {
        #expect(throws: TextFeatureError.tokenPatternHasGroups(pattern: "(a)(b)", count: 2)) { try TokenPattern("(a)(b)") }
        #expect(throws: TextFeatureError.self) { try TokenPattern("(unclosed") }
        #expect(throws: TextFeatureError.self) { try TokenPattern("[abc") }
        #expect(throws: TextFeatureError.self) { try TokenPattern("abc\\") }
    }
}

@Suite("Python case-insensitive token patterns")
struct IgnoreCasePatternTests {
    @Test func turkishIsAreOneLetterAsInPython() throws {
        // re.findall('(?i)[a-z]+', ...) and re.findall('(?i)i', ...) in Python 3.11.
        #expect(try TokenPattern("(?i)[a-z]+").tokens("Diyarbakır İstanbul ſKx") == ["Diyarbakır", "İstanbul", "ſKx"])
        #expect(try TokenPattern("(?i)i").tokens("iIıİ") == ["i", "I", "ı", "İ"])
        #expect(try TokenPattern("(?i)[^a-z]+").tokens("aİb1") == ["1"])
        #expect(try TokenPattern("[a-z]+").tokens("Diyarbakır") == ["iyarbak", "r"])
    }
}
