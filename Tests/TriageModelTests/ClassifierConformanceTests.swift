import Foundation
import Testing
import TriageCore
import TriageText
@testable import TriageModel

/// The generic classifier checks (scikit-learn's `check_estimator`): every example of every
/// registered classifier passes the same suite, so a new classifier is covered by registering
/// it. The examples come from the registry, never from a list here.
@Suite("Every registered classifier")
struct ClassifierConformanceTests {
    /// Demo messages as TF-IDF rows: all 8 labels, and a binary subset (one-score models).
    struct Data: Sendable {
        let x: SparseMatrix
        let y: [Int]
        let names: [String]
    }

    static let data: (multi: Data, binary: Data) = {
        let messages = (try? Demo.messages("train")) ?? []
        func features(_ messages: [LabeledMessage]) -> Data {
            let texts = messages.map { $0.subject + "\n" + $0.body }
            guard let (_, counts) = try? CountVectorizer().fitTransform(texts, threads: 1),
                  let (_, x) = try? TfidfTransformer().fitTransform(counts) else { return Data(x: SparseMatrix(zeros: 0, columnCount: 0), y: [], names: []) }
            let labels = LabelEncoder(fitting: messages)
            return Data(x: x, y: labels.encode(messages), names: labels.classes)
        }
        let some = Array(messages.prefix(320))
        let two = Set(LabelEncoder(fitting: some).classes.prefix(2))
        return (features(some), features(some.filter { two.contains($0.label ?? "") }))
    }()

    static func fit(_ settings: ClassifierSettings, _ data: Data, threads: Int) throws -> FittedClassifier {
        try settings.fit(data.x, labels: data.y, classNames: data.names, threads: threads)
    }

    @Test func theRegistryNamesEachClassifierOnceAndDefaultsToTrees() throws {
        let names = ClassifierRegistry.typeNames
        #expect(Set(names).count == names.count && names.first == "gradient_boosting")
        let bare = try StrictJSONDecoder().decode(ClassifierSettings.self, from: Array("{}".utf8))
        #expect(bare.typeName == ClassifierRegistry.defaultTypeName)
        #expect {
            try StrictJSONDecoder().decode(ClassifierSettings.self, from: Array(#"{"type": "svm"}"#.utf8))
        } throws: { "\($0)".contains("unknown classifier type \"svm\"") && names.allSatisfy("\($0)".contains) }
        // Every registered type has examples to check.
        for name in names { #expect(ClassifierRegistry.examples.contains { $0.settings.typeName == name }, "\(name) has no check examples") }
        for name in names { #expect(ClassifierRegistry.invalidExamples.contains { $0.type == name }, "\(name) has no invalid examples") }
    }

    @Test(arguments: ClassifierRegistry.examples)
    func settingsRoundTripThroughJSON(_ example: ClassifierRegistry.Example) throws {
        let json = try JSONValueEncoder().encode(example.settings)
        #expect(json.objectValue?["type"]?.stringValue == example.settings.typeName)
        let decoded = try StrictJSONDecoder().decode(ClassifierSettings.self, from: json)
        #expect(decoded == example.settings)
        #expect(decoded.hashValue == example.settings.hashValue)
        try example.settings.validate()
        // Inside a pipeline too, and addressable by name in a grid.
        var pipeline = PipelineSettings()
        pipeline.clf = example.settings
        #expect(try StrictJSONDecoder().decode(PipelineSettings.self, from: JSONValueEncoder().encode(pipeline)) == pipeline)
        let members = json.objectValue?.keys.filter { $0 != "type" } ?? []
        let names = PipelineParameters.names(for: pipeline)
        for m in members { #expect(names.contains("clf.\(m)"), "clf.\(m)") }
    }

    @Test(arguments: ClassifierRegistry.invalidExamples.indices)
    func invalidSettingsAreRefusedByName(_ index: Int) throws {
        let example = ClassifierRegistry.invalidExamples[index]
        guard case var .object(members) = try JSONParser.parse(Array(example.json.utf8)) else { Issue.record("not an object"); return }
        members["type"] = .string(example.type)
        let settings = try StrictJSONDecoder().decode(ClassifierSettings.self, from: .object(members))
        #expect {
            try settings.validate()
        } throws: { "\($0)".contains(example.message) }
        // A grid that sets it names the parameter too.
        var pipeline = PipelineSettings()
        pipeline.clf = settings
        #expect(throws: PipelineError.self) { try pipeline.validate() }
    }

    @Test(arguments: ClassifierRegistry.examples)
    func fitsTheSameBitsOnOneTwoAndThreeThreads(_ example: ClassifierRegistry.Example) throws {
        for data in [Self.data.multi, Self.data.binary] {
            let one = try Self.fit(example.settings, data, threads: 1)
            for threads in [2, 3] {
                let other = try Self.fit(example.settings, data, threads: threads)
                #expect(other == one, "\(example) on \(threads) threads")
                #expect(try JSONValueEncoder().canonicalBytes(other) == JSONValueEncoder().canonicalBytes(one))
            }
            #expect(one.featureCount == data.x.columnCount && one.model.classNames == data.names)
        }
    }

    @Test(arguments: ClassifierRegistry.examples)
    func probabilitiesAreDistributionsAndOneRowAtATimeGivesTheBatchBits(_ example: ClassifierRegistry.Example) throws {
        for data in [Self.data.multi, Self.data.binary] {
            let model = try Self.fit(example.settings, data, threads: 2)
            let batch = try model.predictProbabilities(data.x, threads: 2)
            #expect(batch.count == data.x.rowCount)
            let scorer = model.makeRowScorer()
            for (i, p) in batch.enumerated() {
                #expect(p.count == data.names.count)
                #expect(p.allSatisfy { $0 >= 0 && $0 <= 1 } && abs(p.reduce(0, +) - 1) < 1e-9, "\(example), row \(i): \(p)")
                let alone = data.x.withRow(i) { scorer.probabilities($0) }
                #expect(alone.map(\.bitPattern) == p.map(\.bitPattern), "\(example), row \(i)")
            }
            // Better than chance on its own training rows (but the dummy, which is chance).
            let right = zip(batch, data.y).filter { Ranking.argmax($0.0) == $0.1 }.count
            if example.settings.typeName != DummyClassifier.typeName {
                #expect(Double(right) / Double(data.y.count) > 1.5 / Double(data.names.count), "\(example)")
            }
        }
    }

    @Test(arguments: ClassifierRegistry.examples)
    func fittedModelsRoundTripAndCheckThemselves(_ example: ClassifierRegistry.Example) throws {
        let data = Self.data.multi
        let model = try Self.fit(example.settings, data, threads: 2)
        let json = try JSONValueEncoder().encode(model)
        let decoded = try StrictJSONDecoder().decode(FittedClassifier.self, from: json)
        #expect(decoded == model)
        try decoded.model.check(against: example.settings, labels: data.names, featureCount: data.x.columnCount, path: "$.model")
        #expect(throws: ModelCheckError.self) {
            try decoded.model.check(against: example.settings, labels: data.names, featureCount: data.x.columnCount + 1, path: "$.model")
        }
        #expect(throws: ModelCheckError.self) {
            try decoded.model.check(against: example.settings, labels: data.names.reversed(), featureCount: data.x.columnCount, path: "$.model")
        }
        // Against another classifier's settings: refused.
        if let other = ClassifierRegistry.examples.first(where: { $0.settings.typeName != example.settings.typeName }) {
            #expect(throws: ModelCheckError.self) {
                try decoded.model.check(against: other.settings, labels: data.names, featureCount: data.x.columnCount, path: "$.model")
            }
        }
        #expect(!model.describe().isEmpty && model.describe().hasPrefix(model.typeName))
    }

    @Test(arguments: ClassifierRegistry.examples)
    func aPipelinesPredictorGivesTheBatchBitsAndExplanationsAddUp(_ example: ClassifierRegistry.Example) throws {
        var settings = PipelineSettings()
        settings.vect.ngramRange = NgramRange(1, 2)
        settings.clf = example.settings
        let train = Array(try Demo.messages("train").prefix(320))
        let pipeline = try settings.fit(train, threads: 2)
        let messages = try Demo.messages("test").prefix(12).map(\.message)
        let batch = pipeline.predictProbabilities(messages, threads: 2)
        let predictor = pipeline.makePredictor()
        for (m, p) in zip(messages, batch) {
            #expect(predictor.probabilities(m).map(\.bitPattern) == p.map(\.bitPattern), "\(example), \(m.id)")
        }
        // The representative's raw score of the predicted label = bias + contributions.
        let message = messages[0]
        let explanation = pipeline.explain(message, limit: 100_000)
        let model = pipeline.classifier.representative.model
        let parts = try #require(pipeline.features([message]).withRow(0) { model.scoreContributions($0) })
        let k = try #require(pipeline.labels.firstIndex(of: explanation.label))
        let score = model.scoreCount == 1 ? 0 : k
        let raw = parts.bias[score] + parts.perFeature[score].values.reduce(0, +)
        let sign = model.scoreCount == 1 && k == 0 ? -1.0 : 1.0
        #expect(abs(explanation.bias + explanation.terms.reduce(0) { $0 + $1.contribution } - sign * raw) < 1e-9)
    }
}
