import Foundation
import Testing
import TriageCore
@testable import TriageModel

/// ClassificationReport against scikit-learn 1.9.1 on seeded random cases
/// (Fixtures/metrics_parity.json, written by scripts/gen-fixtures).
@Suite("Metrics")
struct MetricsTests {
    struct Case {
        let name: String
        let labels: [String]
        let truth: [Int]
        let predicted: [Int]
        let probabilities: [[Double]]
        let expected: JSONObject
    }

    static let cases: [Case] = {
        let url = Demo.repository.appendingPathComponent("Tests/TriageModelTests/Fixtures/metrics_parity.json")
        guard let data = try? Data(contentsOf: url), let root = try? JSONParser.parse(Array(data)),
              let items = root["cases"]?.arrayValue else { return [] }
        return items.compactMap { item in
            guard let o = item.objectValue, let name = o["name"]?.stringValue,
                  let labels = o["labels"]?.arrayValue?.compactMap(\.stringValue),
                  let truth = o["truth"]?.arrayValue?.compactMap({ $0.numberValue?.intValue }),
                  let predicted = o["predicted"]?.arrayValue?.compactMap({ $0.numberValue?.intValue }),
                  let probabilities = o["probabilities"]?.arrayValue?.map({ $0.arrayValue?.compactMap { $0.numberValue?.doubleValue } ?? [] }),
                  let expected = o["expected"]?.objectValue else { return nil }
            return Case(name: name, labels: labels, truth: truth, predicted: predicted, probabilities: probabilities, expected: expected)
        }
    }()

    @Test func fixtureIsPresent() { #expect(Self.cases.count == 6) }

    @Test(arguments: MetricsTests.cases.map(\.name))
    func matchesScikitLearn(_ name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let r = ClassificationReport(labels: c.labels, truth: c.truth, predicted: c.predicted, probabilities: c.probabilities, topK: [2, 3])
        func number(_ path: String...) -> Double? {
            var v: JSONValue? = .object(c.expected)
            for p in path { v = v?[p] }
            return v?.numberValue?.doubleValue
        }
        func close(_ a: Double?, _ b: Double?, _ what: String) {
            guard let a, let b else { Issue.record("\(name): \(what) missing"); return }
            #expect(abs(a - b) <= 1e-12 * max(1, abs(b)), "\(name) \(what): \(a) vs scikit-learn \(b)")
        }
        close(r.accuracy, number("accuracy"), "accuracy")
        close(r.balancedAccuracy, number("balanced_accuracy"), "balanced accuracy")
        close(r.logLoss, number("log_loss"), "log loss")
        for (i, label) in c.labels.enumerated() {
            close(r.perClass[i].precision, number("per_class", label, "precision"), "\(label) precision")
            close(r.perClass[i].recall, number("per_class", label, "recall"), "\(label) recall")
            close(r.perClass[i].f1, number("per_class", label, "f1"), "\(label) f1")
            #expect(Double(r.perClass[i].support) == number("per_class", label, "support"))
        }
        for (mine, key) in [(r.macro, "macro"), (r.weighted, "weighted")] {
            close(mine.precision, number(key, "precision"), "\(key) precision")
            close(mine.recall, number(key, "recall"), "\(key) recall")
            close(mine.f1, number(key, "f1-score"), "\(key) f1")
        }
        for k in [2, 3] where k < c.labels.count { close(r.topK[k], number("top_k", String(k)), "top-\(k)") }
        let confusion = c.expected["confusion"]?.arrayValue?.map { $0.arrayValue?.compactMap { $0.numberValue?.intValue } ?? [] }
        #expect(r.confusion == confusion)
        // The text report starts exactly as scikit-learn's classification_report.
        let text = try #require(c.expected["report_text"]?.stringValue)
        #expect(r.text().hasPrefix(text), "\(name):\n\(r.text())\nvs\n\(text)")
    }

    @Test func zeroDivisionIsExplicit() {
        // Class 1 never predicted, class 2 never true.
        let r = ClassificationReport(labels: ["a", "b", "c"], truth: [0, 0, 1], predicted: [0, 2, 0], zeroDivision: 0)
        #expect(r.perClass[1].precision == 0 && r.perClass[2].recall == 0)
        let one = ClassificationReport(labels: ["a", "b", "c"], truth: [0, 0, 1], predicted: [0, 2, 0], zeroDivision: 1)
        #expect(one.perClass[1].precision == 1 && one.perClass[2].recall == 1)
        #expect(r.logLoss == nil && r.topK.isEmpty && r.score("neg_log_loss") == nil)
    }

    @Test func unknownTrueLabelsCountAsErrors() {
        // Row 2's label is unknown to the model (-1): wrong for accuracy, absent from the table.
        let r = ClassificationReport(labels: ["a", "b"], truth: [0, 1, -1], predicted: [0, 1, 1],
                                     probabilities: [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
        #expect(abs(r.accuracy - 2.0 / 3.0) < 1e-15)
        #expect(r.perClass.map(\.support) == [1, 1])
        #expect(r.perClass[1].precision == 0.5)
        #expect(r.logLoss.map { $0 > 10 } == true)   // log(1e-15) for the unknown row
    }

    @Test func scoringNamesAreHigherIsBetter() {
        let r = ClassificationReport(labels: ["a", "b"], truth: [0, 1], predicted: [0, 1], probabilities: [[0.9, 0.1], [0.2, 0.8]])
        #expect(Set(r.scores.keys) == Set(ClassificationReport.scoringNames))
        #expect(r.score("neg_log_loss").map { $0 < 0 } == true)
        #expect(r.score("roc_auc") == nil)
        if case let .object(o) = r.json { #expect(o["accuracy"]?.numberValue?.doubleValue == 1) } else { Issue.record("json") }
    }

    /// Issue 25 item 17: messages with labels the model does not know are left out of every
    /// metric and counted apart — accuracy, the averages' support and balanced accuracy share
    /// one denominator.
    @Test func unknownLabelsAreLeftOutOfEveryMetricAndCounted() throws {
        let train = try Demo.messages("train"), test = try Demo.messages("test")
        let pipeline = try Demo.settings(rounds: 5).fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        let strangers = test.prefix(7).enumerated().map { i, m in
            LabeledMessage(id: "x\(i)", subject: m.subject, body: m.body, label: i < 5 ? "refunds" : "careers", line: 0)
        }
        let known = ClassificationReport(pipeline, on: test)
        let mixed = ClassificationReport(pipeline, on: test + strangers)
        #expect(mixed.unknownLabels == ["refunds": 5, "careers": 2] && known.unknownLabels.isEmpty)
        #expect(mixed.count == test.count && mixed.macro.support == mixed.count && mixed.weighted.support == mixed.count)
        #expect(mixed.accuracy == known.accuracy && mixed.balancedAccuracy == known.balancedAccuracy && mixed.macro == known.macro)
        #expect(mixed.text().contains("left out of every metric above: 7 message(s) with labels the model does not know: \"careers\" (2), \"refunds\" (5)"))
        #expect(mixed.json["unknown_labels"]?["refunds"]?.numberValue?.doubleValue == 5)
    }
}
