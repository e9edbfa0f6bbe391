import Foundation
import Testing
import TriageCore
import TriageData
import TriageLinear
import TriageText
@testable import TriageModel

/// Several label heads (issue 31): shared features fitted once, one classifier per head on the
/// rows that have its label, overrides deciding their own head.
@Suite("Label heads")
struct HeadsTests {
    static func heads(_ split: String) throws -> [LabeledMessage] {
        let path = Demo.repository.appendingPathComponent("corpora/demo/heads/\(split).csv").path
        let queue = try MessageReader.readCSV(path: path, columns: ColumnMapping(label: "queue"), requireLabels: false)
        let priority = try MessageReader.readCSV(path: path, columns: ColumnMapping(label: "priority"), requireLabels: false)
        return try queue.joiningHeads([priority], names: ["queue", "priority"], skipInvalid: false).messages
    }

    static func settings() -> PipelineSettings {
        PipelineSettings.wordAndCharUnion(clf: .logisticRegression(LogisticRegression()))
    }

    @Test func batchesReadPerColumnJoinByLine() throws {
        let train = try Self.heads("train")
        #expect(train.count == 534)
        #expect(train.allSatisfy { $0.label != nil && $0.otherLabels.count == 1 && $0.otherLabels[0] != nil })
        #expect(Set(train.compactMap { $0.otherLabels[0] }) == ["urgent", "normal", "low"])
        // A row without any label is named; with skipInvalid it is listed.
        let first = MessageBatch(messages: [LabeledMessage(id: "a", subject: "", body: "x", label: "", line: 2),
                                            LabeledMessage(id: "b", subject: "", body: "y", label: "q", line: 3)], skipped: [], source: "t.csv")
        let second = MessageBatch(messages: [LabeledMessage(id: "a", subject: "", body: "x", label: nil, line: 2),
                                             LabeledMessage(id: "b", subject: "", body: "y", label: "", line: 3)], skipped: [], source: "t.csv")
        do {
            _ = try first.joiningHeads([second], names: ["queue", "priority"], skipInvalid: false)
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("t.csv") && error.description.contains("2") && error.description.contains("queue, priority"), "\(error)")
        }
        let skipped = try first.joiningHeads([second], names: ["queue", "priority"], skipInvalid: true)
        #expect(skipped.messages.map(\.id) == ["b"] && skipped.messages[0].otherLabels == [nil] && skipped.skipped.map(\.line) == [2])
    }

    @Test func eachHeadAnswersAsItsOwnSingleHeadModelWould() throws {
        let train = try Self.heads("train")
        let test = try Self.heads("test").prefix(60).map(\.message)
        let cache = StageCache()
        let fit = try PipelineFit(messages: train, stopWordDirectories: Demo.stopwords, head: "queue", otherHeads: ["priority"])
        let model = try fit.fitHeads(Self.settings(), threads: 2, cache: cache)
        #expect(model.names == ["queue", "priority"])
        #expect(cache.computations[.tokens] == 2)  // two blocks, tokenised once for both heads
        // The same features and rows: a single-head model of each column gives the same bits.
        let asPriority = train.map { m in LabeledMessage(id: m.id, subject: m.subject, body: m.body, label: m.otherLabels[0], line: m.line) }
        let alone = try PipelineFit(messages: asPriority, stopWordDirectories: Demo.stopwords).fit(Self.settings(), threads: 2).pipeline
        let queueAlone = try PipelineFit(messages: train, stopWordDirectories: Demo.stopwords).fit(Self.settings(), threads: 2).pipeline
        let both = model.predict(Array(test), top: 3, threads: 2)
        #expect(both.map { $0[1].top.map(\.probability) } == alone.predict(Array(test), top: 3, threads: 1).map { $0.top.map(\.probability) })
        #expect(both.map { $0[0].top.map(\.probability) } == queueAlone.predict(Array(test), top: 3, threads: 1).map { $0.top.map(\.probability) })
        #expect(model["priority"]?.labels == ["low", "normal", "urgent"])
        // One message at a time: the same answers.
        let predictor = model.makePredictor()
        for (m, expected) in zip(test, both) {
            #expect(predictor.predict(m, top: 3) == expected)
        }
    }

    @Test func aHeadTrainsOnTheRowsThatHaveItsLabelWithItsOwnClassifier() throws {
        var train = try Self.heads("train")
        for i in train.indices where i % 3 == 0 { train[i].otherLabels = [nil] }
        let fit = try PipelineFit(messages: train, stopWordDirectories: Demo.stopwords, head: "queue", otherHeads: ["priority"])
        let model = try fit.fitHeads(Self.settings(), classifiers: ["priority": .multinomialNB(MultinomialNB())], threads: 2)
        #expect(model["priority"]?.classifier.typeName == "multinomial_nb" && model["queue"]?.classifier.typeName == "logistic_regression")
        #expect(model["priority"]?.settings.clf.typeName == "multinomial_nb")
        let answers = model.predict([Message(subject: "card stolen", body: "someone is using my card right now")], threads: 1)[0]
        #expect(answers.count == 2 && ["low", "normal", "urgent"].contains(answers[1].label), "\(answers)")
        #expect(answers[1].top.map(\.label).allSatisfy { ["low", "normal", "urgent"].contains($0) })
        // Problems are named.
        #expect(throws: PipelineError.self) { try fit.fitHeads(Self.settings(), classifiers: ["severity": .multinomialNB(MultinomialNB())]) }
        #expect(throws: PipelineError.self) { try PipelineFit(messages: train, head: "queue", otherHeads: ["queue"]) }
        var single = train
        for i in single.indices { single[i].otherLabels = ["low"] }
        #expect(throws: PipelineError.self) { try PipelineFit(messages: single, head: "queue", otherHeads: ["priority"]) }
    }

    @Test func anOverrideDecidesTheHeadItNames() throws {
        let rules = RuleSet(rules: [
            RuleSet.Rule(name: "stolen-urgent", words: ["stolen"], mode: .override, head: "priority", label: "urgent"),
            RuleSet.Rule(name: "mortgage", words: ["mortgage"], mode: .override, label: "new_products"),
        ])
        let fit = try PipelineFit(messages: try Self.heads("train"), stopWordDirectories: Demo.stopwords, rules: try ModelRules(rules),
                                  head: "queue", otherHeads: ["priority"])
        let model = try fit.fitHeads(Self.settings(), threads: 2)
        let answers = model.predict([Message(subject: "mortgage", body: "my documents were stolen, no rush")], threads: 1)[0]
        #expect(answers[0].rule == "mortgage" && answers[0].label == "new_products")
        #expect(answers[1].rule == "stolen-urgent" && answers[1].label == "urgent")
        let plain = model.predict([Message(subject: "", body: "stolen")], threads: 1)[0]
        #expect(plain[0].rule == nil && plain[1].rule == "stolen-urgent")
        // A rule naming a label its head lacks, or a head the data lacks: named at training.
        var bad = rules
        bad.rules[0].label = "critical"
        #expect(throws: PipelineError.self) {
            try PipelineFit(messages: try Self.heads("train"), rules: try ModelRules(bad), head: "queue", otherHeads: ["priority"])
        }
        bad.rules[0].label = "urgent"
        bad.rules[0].head = "severity"
        #expect(throws: PipelineError.self) {
            try PipelineFit(messages: try Self.heads("train"), rules: try ModelRules(bad), head: "queue", otherHeads: ["priority"])
        }
    }
}
