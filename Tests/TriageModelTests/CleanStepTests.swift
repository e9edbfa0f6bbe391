import Foundation
import Testing
import TriageCore
import TriageData
import TriageLinear
import TriageText
@testable import TriageModel

/// The clean step inside the pipeline: fitted once, applied to training, batch and single
/// predictions alike, addressable by name, part of the stage keys.
@Suite("Clean step in the pipeline")
struct CleanStepTests {
    static func emails() throws -> [LabeledMessage] {
        try MessageReader.readCSV(path: Demo.repository.appendingPathComponent("corpora/demo/email/test.csv").path).messages
    }

    static func linear(clean: CleanSettings?) -> PipelineSettings {
        var s = PipelineSettings.wordAndCharUnion(clf: .logisticRegression(LogisticRegression()))
        s.clean = clean
        return s
    }

    @Test func aFittedPipelineCleansWhatItClassifies() throws {
        let train = try Demo.messages("train")
        let pipeline = try Self.linear(clean: CleanSettings()).fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        let cleaner = try #require(pipeline.cleaner)
        #expect(cleaner.patterns.count > 100)
        let email = try #require(try Self.emails().first { $0.body.contains("wrote:") || $0.body.contains("<blockquote") })
        let message = email.message
        // Batch and single predictions see the cleaned message, bit for bit.
        let batch = pipeline.predictProbabilities([message], threads: 1)[0]
        let single = pipeline.makePredictor().probabilities(message)
        #expect(batch == single)
        #expect(batch == pipeline.predictProbabilities([cleaner.clean(message)], threads: 1)[0])
        #expect(pipeline.text(of: message) == pipeline.text(of: cleaner.clean(message)))
    }

    @Test func cleaningLiftsAccuracyOnTheDemoEmails() throws {
        let train = try Demo.messages("train")
        let emails = try Self.emails()
        func accuracy(_ p: FittedPipeline) -> Double {
            let predicted = p.predict(emails.map(\.message), top: 1, threads: 2)
            return Double(zip(predicted, emails).filter { $0.label == $1.label }.count) / Double(emails.count)
        }
        let with = try Self.linear(clean: CleanSettings()).fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        let without = try Self.linear(clean: nil).fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        #expect(accuracy(with) > accuracy(without) + 0.1, "with \(accuracy(with)), without \(accuracy(without))")
    }

    @Test func cleanParametersAreAddressableByName() throws {
        let talk = PipelineSettings.talk
        #expect(talk.clean == nil)
        let set = try PipelineParameters.apply(["clean.quotes": false], to: talk)
        #expect(set.clean == CleanSettings(quotes: false))
        #expect(try PipelineParameters.apply(["clean": .bool(false)], to: .recommended).clean == nil)
        #expect(try PipelineParameters.apply(["clean": .null], to: .recommended).clean == nil)
        #expect(try PipelineParameters.apply(["clean": .bool(true)], to: talk).clean == CleanSettings())
        #expect(try PipelineParameters.apply(["clean.languages": ["german"]], to: talk).clean?.languages == ["german"])
        #expect(PipelineParameters.names(for: talk).contains("clean.signature"))
        do {
            _ = try PipelineParameters.apply(["clean.quote": false], to: talk)
            Issue.record("clean.quote accepted")
        } catch {
            #expect(error.description.contains("unknown parameter \"clean.quote\""))
        }
        // A grid over a clean parameter.
        let grid = try ParameterGrid(json: JSONParser.parse(#"{"clean.signature": [true, false]}"#)).candidates
        #expect(grid.count == 2)
    }

    @Test func theCleanStepIsPartOfTheTokensKey() throws {
        let fit = try PipelineFit(messages: Array(try Demo.messages("train").prefix(60)), stopWordDirectories: Demo.stopwords)
        let plain = try fit.keys(Self.linear(clean: nil), rows: .all)
        let cleaned = try fit.keys(Self.linear(clean: CleanSettings()), rows: .all)
        let noQuotes = try fit.keys(Self.linear(clean: CleanSettings(quotes: false)), rows: .all)
        #expect(Set([plain.blocks[0].tokens, cleaned.blocks[0].tokens, noQuotes.blocks[0].tokens]).count == 3)
        // Settings without a clean step keep the keys they had before the step existed.
        #expect(try fit.keys(Self.linear(clean: nil), rows: .all) == plain)
    }

    @Test func anUnknownLanguageIsAnErrorBeforeAnyFitting() throws {
        var s = Self.linear(clean: CleanSettings(languages: ["english", "klingon"]))
        do {
            try s.check(stopWordDirectories: Demo.stopwords)
            Issue.record("klingon accepted")
        } catch {
            #expect(error.description.contains("unknown clean.languages entry \"klingon\""))
        }
        s.clean = CleanSettings(patterns: "/nonexistent/mine.txt")
        #expect(throws: PipelineError.self) { try s.check(stopWordDirectories: Demo.stopwords) }
    }
}
