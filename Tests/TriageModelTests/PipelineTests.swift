import Foundation
import Testing
import TriageBoost
import TriageCore
import TriageData
import TriageText
@testable import TriageModel

enum Demo {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let stopwords = [repository.appendingPathComponent("stopwords").path]

    static func messages(_ split: String) throws -> [LabeledMessage] {
        try MessageReader.readCSV(path: repository.appendingPathComponent("corpora/demo/\(split).csv").path).messages
    }

    static func settings(rounds: Int = 30) -> PipelineSettings {
        var s = PipelineSettings()
        s.text.subjectWeight = 2
        s.vect.stopWords = .named("english")
        s.vect.stemmer = "english"
        s.vect.ngramRange = NgramRange(1, 2)
        s.tfidf.sublinearTF = true
        var clf = GradientBoostingClassifier()
        clf.nEstimators = rounds
        s.clf = .gradientBoosting(clf)
        return s
    }
}

@Suite("Pipeline")
struct PipelineTests {
    @Test func fitsTheDemoCorpusAndGeneralises() throws {
        let train = try Demo.messages("train"), test = try Demo.messages("test")
        let pipeline = try Demo.settings().fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        #expect(pipeline.labels.count == 8 && pipeline.labels == pipeline.labels.sorted())
        let predictions = pipeline.predict(test.map { Message(id: $0.id, subject: $0.subject, body: $0.body) }, top: 3)
        let accuracy = Double(zip(predictions, test).filter { $0.label == $1.label }.count) / Double(test.count)
        #expect(accuracy > 0.5, "demo test accuracy \(accuracy) (chance: 0.125)")
        for p in predictions {
            #expect(p.top.count == 3 && p.top[0].label == p.label && p.top[0].probability >= p.top[1].probability)
        }
    }

    @Test func singleMessagePredictorAgreesWithBatches() throws {
        let train = try Demo.messages("train")
        let pipeline = try Demo.settings(rounds: 10).fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        let messages = try Demo.messages("test").prefix(40).map { Message(id: $0.id, subject: $0.subject, body: $0.body) }
        let batch = pipeline.predictProbabilities(Array(messages), threads: 3)
        let predictor = pipeline.makePredictor()
        for (m, p) in zip(messages, batch) { #expect(predictor.probabilities(m) == p) }
        #expect(pipeline.predictProbabilities(Array(messages), threads: 1) == batch)
    }

    @Test func explanationsSumToTheRawScore() throws {
        let train = try Demo.messages("train")
        let pipeline = try Demo.settings(rounds: 10).fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        let message = Message(subject: "Card stolen", body: "someone stole my card, please block it now")
        let explanation = pipeline.explain(message, limit: 1000)
        #expect(explanation.label == pipeline.predict([message])[0].label)
        let model = try #require(pipeline.classifier.model(as: FittedGradientBoosting.self))
        let k = try #require(pipeline.labels.firstIndex(of: explanation.label))
        let x = pipeline.features([message])
        let raw = try model.rawScores(x)
        let total = explanation.bias + explanation.terms.map(\.contribution).reduce(0, +)
        #expect(abs(total - raw[k]) < 1e-9)
        #expect(explanation.terms.contains { $0.term.contains("card") || $0.term.contains("stole") || $0.term.contains("block") })
        // Issue 25 item 20: trees split on absence too; each term says whether the message has it.
        let inMessage = Set(x.columnIndices.map { pipeline.term(ofColumn: Int($0)) })
        #expect(explanation.terms.allSatisfy { $0.present == inMessage.contains($0.term) })
        #expect(explanation.terms.contains { !$0.present } && explanation.terms.contains { $0.present })
    }

    @Test func namedErrors() throws {
        #expect(throws: PipelineError.noTrainingMessages) { try PipelineSettings().fit([]) }
        let one = [LabeledMessage(id: "1", subject: "", body: "hello there", label: "a", line: 2),
                   LabeledMessage(id: "2", subject: "", body: "hello again", label: "a", line: 3)]
        #expect(throws: PipelineError.tooFewLabels(["a"])) { try PipelineSettings().fit(one) }
        let unlabelled = [LabeledMessage(id: "1", subject: "", body: "hello", label: nil, line: 7)]
        #expect(throws: PipelineError.missingLabel(line: 7)) { try PipelineSettings().fit(unlabelled) }
        var bad = PipelineSettings()
        bad.vect.minDF = .count(-1)
        #expect(throws: PipelineError.self) { try bad.fit(one) }
    }

    @Test func settingsUseScikitLearnStepNames() throws {
        let json = #"{"text": {"subject_weight": 3}, "vect": {"ngram_range": [1, 2], "min_df": 2}, "tfidf": {"sublinear_tf": true}, "clf": {"type": "gradient_boosting", "learning_rate": 0.3}}"#
        let s = try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(json.utf8))
        #expect(s.text.subjectWeight == 3 && s.vect.minDF == .count(2) && s.tfidf.sublinearTF)
        let clf = try #require(s.clf.settings(as: GradientBoostingClassifier.self))
        #expect(clf.learningRate == 0.3)
        #expect(try StrictJSONDecoder().decode(PipelineSettings.self, from: JSONValueEncoder().encode(s)) == s)
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(#"{"clf": {"type": "svm"}}"#.utf8))
        }
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(#"{"vectorizer": {}}"#.utf8))
        }
    }
}
