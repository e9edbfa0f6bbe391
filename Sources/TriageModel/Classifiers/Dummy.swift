import Foundation
import TriageCore

/// scikit-learn's `DummyClassifier`: it ignores the features and answers every message with the
/// same probabilities — the labels' frequencies in the training data (`strategy: "prior"`) or
/// all equal (`"uniform"`). The baseline a model should beat, and the classifier of a
/// rules-only model (`triage train --rules FILE --rules-only`), where the rules decide and the
/// rest is left to a person.
public struct DummyClassifier: ClassifierSpec {
    public typealias Fitted = FittedDummy

    public static let typeName = "dummy"
    public static let strategies = ["prior", "uniform"]

    /// "prior" or "uniform".
    public var strategy: String

    public init(strategy: String = "prior") { self.strategy = strategy }

    enum CodingKeys: String, CodingKey { case strategy }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        strategy = try c.decodeIfPresent(String.self, forKey: .strategy) ?? "prior"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(strategy, forKey: .strategy)
    }

    public static var checkExamples: [DummyClassifier] { [DummyClassifier(), DummyClassifier(strategy: "uniform")] }

    public static var invalidExamples: [(json: String, message: String)] { [(#"{"strategy": "most_frequent"}"#, "strategy")] }

    public func checkSettings() throws(PipelineError) {
        guard Self.strategies.contains(strategy) else {
            throw .stage("dummy: strategy \"\(strategy)\" is not one of \(Self.strategies.joined(separator: ", "))")
        }
    }

    public func fit(_ x: SparseMatrix, prepared: Void, labels: [Int], classNames: [String], threads: Int?) throws(PipelineError) -> FittedDummy {
        try checkSettings()
        var p = [Double](repeating: 1 / Double(max(1, classNames.count)), count: classNames.count)
        if strategy == "prior", !labels.isEmpty {
            var counts = [Int](repeating: 0, count: classNames.count)
            for y in labels where y >= 0 && y < counts.count { counts[y] += 1 }
            p = counts.map { Double($0) / Double(labels.count) }
        }
        return FittedDummy(strategy: strategy, classNames: classNames, featureCount: x.columnCount, probabilities: p)
    }
}

/// A fitted `DummyClassifier`: the same probabilities for every row.
public struct FittedDummy: FittedClassifierModel {
    public static let payloadType = "dummy"

    public var strategy: String
    public var classNames: [String]
    public var featureCount: Int
    /// One per class, in `classNames` order; they add up to 1.
    public var probabilities: [Double]

    public init(strategy: String, classNames: [String], featureCount: Int, probabilities: [Double]) {
        self.strategy = strategy
        self.classNames = classNames
        self.featureCount = featureCount
        self.probabilities = probabilities
    }

    enum CodingKeys: String, CodingKey {
        case strategy, probabilities
        case classNames = "class_names"
        case featureCount = "feature_count"
    }

    public var typeName: String { DummyClassifier.typeName }
    public var scoreCount: Int { classNames.count }

    public func makeRowScorer() -> any RowScorer { Scorer(probabilities) }

    private final class Scorer: RowScorer {
        let p: [Double]
        init(_ p: [Double]) { self.p = p }
        func probabilities(_ row: SparseRow) -> [Double] { p }
    }

    public func probabilities(_ x: SparseMatrix, threads: Int?) throws(PipelineError) -> [[Double]] {
        [[Double]](repeating: probabilities, count: x.rowCount)
    }

    /// The raw score of class k is log p_k, all of it bias: no feature moves it.
    public func scoreContributions(_ row: SparseRow) -> ScoreContributions? {
        ScoreContributions(bias: probabilities.map { Foundation.log(max($0, 1e-300)) }, perFeature: .init(repeating: [:], count: scoreCount))
    }

    public func topFeatures(score: Int, sign: Double, limit: Int) -> [RankedFeature] { [] }

    public func describe() -> String {
        "dummy, \(strategy) (" + (strategy == "prior" ? "the training labels' frequencies" : "every label equally likely") + "; the features are not read)"
    }

    public func check(against settings: ClassifierSettings, labels: [String], featureCount: Int, path: String) throws(ModelCheckError) {
        func invalid(_ suffix: String, _ reason: String) -> ModelCheckError { ModelCheckError(path: path + suffix, reason: reason) }
        guard let spec = settings.settings(as: DummyClassifier.self) else {
            throw invalid(".type", "dummy, but the pipeline's classifier is \(settings.typeName)")
        }
        guard strategy == spec.strategy else { throw invalid(".strategy", "\"\(strategy)\", but the pipeline's is \"\(spec.strategy)\"") }
        guard classNames == labels else { throw invalid(".class_names", "differ from the model's labels") }
        guard self.featureCount == featureCount else {
            throw invalid(".feature_count", "\(self.featureCount), but the vocabulary has \(featureCount) terms")
        }
        guard probabilities.count == labels.count else { throw invalid(".probabilities", "\(probabilities.count) values for \(labels.count) labels") }
        if let bad = probabilities.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) { throw invalid(".probabilities[\(bad)]", "\(probabilities[bad]) is not a probability") }
        guard abs(probabilities.reduce(0, +) - 1) <= 1e-9 else { throw invalid(".probabilities", "they add up to \(probabilities.reduce(0, +)), not 1") }
    }
}

extension ClassifierSettings {
    public static func dummy(_ settings: DummyClassifier = DummyClassifier()) -> ClassifierSettings { ClassifierSettings(settings) }
}
