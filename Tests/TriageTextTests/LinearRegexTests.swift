import Foundation
import Testing
@testable import TriageText

/// The routing rules' regex engine: Python parity on `Fixtures/regex-cases.json` (written by
/// `scripts/gen-regex-fixtures` with Python's `re.search`), refused constructs, inputs that make
/// backtracking engines explode, `maxScalars`, and the program-size cap.
@Suite struct LinearRegexTests {
    struct Fixtures: Decodable {
        struct Case: Decodable {
            var pattern: String
            var flags: String
            var text: String
            var match: [Int]?
        }

        struct Refused: Decodable {
            var pattern: String
            var error: String
            var offset: Int?
        }

        var cases: [Case]
        var errors: [Refused]
    }

    static let fixtures: Fixtures? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/regex-cases.json")
        return try? JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
    }()

    // MARK: Python parity

    @Test func everyFixtureCaseMatchesPythonsSearch() throws {
        let fixtures = try #require(Self.fixtures, "Fixtures/regex-cases.json is missing or unreadable")
        #expect(fixtures.cases.count >= 300)
        var failures: [String] = []
        for c in fixtures.cases {
            let want = c.match.map { $0[0] ..< $0[1] }
            do {
                let regex = try LinearRegex(c.pattern, caseInsensitive: c.flags == "i")
                let got = regex.firstMatch(in: c.text)
                if got != want || regex.matches(c.text) != (want != nil) {
                    failures.append("\(c.pattern.debugDescription) flags=\(c.flags) on \(c.text.debugDescription): want \(String(describing: want)), got \(String(describing: got))")
                }
            } catch {
                failures.append("\(c.pattern.debugDescription) refused: \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(fixtures.cases.count) cases differ from Python:\n\(failures.prefix(40).joined(separator: "\n"))")
    }

    // MARK: Refused constructs

    @Test func refusedConstructsAreNamedWithTheirPosition() throws {
        let fixtures = try #require(Self.fixtures, "Fixtures/regex-cases.json is missing or unreadable")
        #expect(fixtures.errors.count >= 40)
        var failures: [String] = []
        for e in fixtures.errors {
            do {
                _ = try LinearRegex(e.pattern)
                failures.append("\(e.pattern.debugDescription) was accepted")
            } catch {
                if !error.message.contains(e.error) {
                    failures.append("\(e.pattern.debugDescription): want a message with \(e.error.debugDescription), got \(error.message.debugDescription)")
                }
                if let offset = e.offset, offset != error.offset {
                    failures.append("\(e.pattern.debugDescription): want offset \(offset), got \(error.offset)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func errorDescriptionCountsFromOne() {
        do {
            _ = try LinearRegex(#"card(?=s)"#)
            Issue.record("lookahead was accepted")
        } catch {
            #expect(error.offset == 4)
            #expect(error.description == "at character 5: \(error.message)")
            #expect(error.message.contains("lookahead"))
        }
        #expect(throws: RegexSyntaxError.self) { try LinearRegex("") }
    }

    // MARK: Linear time

    /// Patterns that take exponential (or very long) time in a backtracking engine, on 50,000
    /// characters. There is no timing assertion: the test finishing at all is the check.
    @Test func pathologicalPatternsFinish() throws {
        let text = String(repeating: "a", count: 50_000)
        #expect(try LinearRegex(#"(a|a)*b"#).firstMatch(in: text) == nil)
        #expect(try LinearRegex(#"(a*)*b"#).firstMatch(in: text) == nil)
        #expect(try LinearRegex(#"(x+x+)+y"#).firstMatch(in: text) == nil)
        #expect(try LinearRegex(#"a{0,1000}"#).firstMatch(in: text) == 0 ..< 1000)
        #expect(try LinearRegex(#"(a|aa)*c"#).firstMatch(in: text) == nil)
        #expect(try LinearRegex(#"(\w+\s?)*$"#).firstMatch(in: text) == 0 ..< 50_000)
        #expect(try LinearRegex(#"(a|a)*b"#).firstMatch(in: text + "b") == 0 ..< 50_001)
    }

    // MARK: maxScalars

    @Test func maxScalarsSearchesOnlyThePrefix() throws {
        let card = try LinearRegex("card")
        #expect(card.firstMatch(in: "I lost my card") == 10 ..< 14)
        #expect(card.firstMatch(in: "I lost my card", maxScalars: 14) == 10 ..< 14)
        #expect(card.firstMatch(in: "I lost my card", maxScalars: 13) == nil)
        #expect(!card.matches("I lost my card", maxScalars: 5))
        // The prefix is searched as if the text ended there: `$` and `\b` see that end.
        #expect(try LinearRegex("a$").firstMatch(in: "ab", maxScalars: 1) == 0 ..< 1)
        #expect(try LinearRegex(#"a\b"#).firstMatch(in: "ab", maxScalars: 1) == 0 ..< 1)
        #expect(try LinearRegex("a$").firstMatch(in: "a\nb", maxScalars: 2) == 0 ..< 1)
        #expect(try LinearRegex("^$").firstMatch(in: "abc", maxScalars: 0) == 0 ..< 0)
        #expect(try LinearRegex("^$").firstMatch(in: "abc", maxScalars: -3) == 0 ..< 0)
        #expect(try LinearRegex("a*").firstMatch(in: "aaaa", maxScalars: 3) == 0 ..< 3)
        // Scalars, not bytes or Characters.
        #expect(try LinearRegex("é+").firstMatch(in: "ééé", maxScalars: 2) == 0 ..< 2)
        #expect(try LinearRegex(".+").firstMatch(in: "😀😀", maxScalars: 1) == 0 ..< 1)
        #expect(try LinearRegex(#"e\u0301"#).firstMatch(in: "cafe\u{301}", maxScalars: 4) == nil)
        #expect(try LinearRegex(#"e\u0301"#).firstMatch(in: "cafe\u{301}") == 3 ..< 5)
    }

    // MARK: Program size

    @Test func programSizeIsCapped() throws {
        #expect(try LinearRegex("(?:abc){1000}").programSize == 3_001)
        #expect(try LinearRegex("a{0,1000}").programSize <= LinearRegex.maxInstructions)
        for pattern in ["(?:a{1000}){30}", "(?:(?:a{0,1000}){1000}){1000}", "(((((((((((((((a?)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*"] {
            do {
                _ = try LinearRegex(pattern)
                Issue.record("\(pattern) compiled")
            } catch {
                #expect(error.message.contains("too large"), "\(pattern): \(error)")
            }
        }
        #expect(throws: RegexSyntaxError.self) { try LinearRegex("a{1001}") }
        #expect(throws: RegexSyntaxError.self) { try LinearRegex("a{2,1}") }
    }

    // MARK: API

    @Test func inlineFlagEqualsTheArgument() throws {
        let inline = try LinearRegex("(?i)lost card")
        let argument = try LinearRegex("lost card", caseInsensitive: true)
        #expect(inline.firstMatch(in: "LOST CARD") == 0 ..< 9)
        #expect(argument.firstMatch(in: "Lost Card") == 0 ..< 9)
        #expect(try LinearRegex("lost card").firstMatch(in: "LOST CARD") == nil)
        #expect(inline != argument)
        #expect(try LinearRegex("lost card", caseInsensitive: true) == argument)
    }

    @Test func oneRegexServesManyTasks() async throws {
        let regex = try LinearRegex(#"\b(lost|stolen)\s+(card|wallet)\b"#, caseInsensitive: true)
        let hits = await withTaskGroup(of: Int.self) { group in
            for k in 0 ..< 8 {
                group.addTask { regex.matches("message \(k): my wallet was stolen, stolen  Wallet!") ? 1 : 0 }
            }
            return await group.reduce(0, +)
        }
        #expect(hits == 8)
    }
}
