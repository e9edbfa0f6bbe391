import Foundation
import TriageCore
import TriageLinear

/// Every linear classifier (logistic regression, linear SVM, naive Bayes) fits to a
/// `FittedLinearModel`: one weight per feature and score.
extension FittedLinearModel: FittedClassifierModel {
    public static let payloadType = "linear"

    public var typeName: String { kind.rawValue }

    public func makeRowScorer() -> any RowScorer { Scorer(self) }

    public func withWeights(_ encoding: WeightEncoding) -> FittedClassifier { FittedClassifier(withWeights(encoding) as FittedLinearModel) }

    public func featureImportance() -> [Float]? {
        let own = weights.columns == scoreCount ? weights : WeightMatrix.joining([(weights, column, scoreCount)])
        return own.relativeRowMagnitudes(centered: kind.isNaiveBayes ? [0 ..< scoreCount] : [])
    }

    public func keepingFeatures(_ kept: [Int]) -> FittedClassifier? {
        FittedClassifier(reading(weights.keepingRows(kept), column: column))
    }

    private final class Scorer: RowScorer {
        let model: FittedLinearModel
        init(_ model: FittedLinearModel) { self.model = model }
        func probabilities(_ row: SparseRow) -> [Double] { model.probabilities(row) }
    }

    public func probabilities(_ x: SparseMatrix, threads: Int?) throws(PipelineError) -> [[Double]] {
        do { return try predictProbabilities(x, threads: threads) } catch { throw .linear(error) }
    }

    public func scoreContributions(_ row: SparseRow) -> ScoreContributions? {
        let c = contributions(row)
        return ScoreContributions(bias: c.bias, perFeature: c.perFeature)
    }

    /// Features by their weight for score `score` (times `sign`), positive weights only: how
    /// much a TF-IDF value of 1 adds to the score.
    public func topFeatures(score k: Int, sign: Double, limit: Int) -> [RankedFeature] {
        let weights = (0 ..< featureCount).map { sign * weight(feature: $0, score: k) }
        return weights.indices.filter { weights[$0] > 0 }
            .sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
            .prefix(limit)
            .map { RankedFeature(feature: $0, gain: weights[$0], direction: 1, splits: 0) }
    }

    public func describe() -> String {
        "\(kind.rawValue), \(scoreCount) score\(scoreCount == 1 ? "" : "s") × \(featureCount) weights (\(weights.encoding.rawValue))"
            + (iterations > 0 ? ", \(iterations) iterations\(converged ? "" : " (stopped at max_iter: raise max_iter)")" : "")
            + (temperature != 1 ? String(format: ", temperature %.4g", temperature) : "")
    }

    public func check(against settings: ClassifierSettings, labels: [String], featureCount: Int, path: String) throws(ModelCheckError) {
        func invalid(_ suffix: String, _ reason: String) -> ModelCheckError { ModelCheckError(path: path + suffix, reason: reason) }
        guard kind.rawValue == settings.typeName else {
            throw invalid(".kind", "\(kind.rawValue), but the pipeline's classifier is \(settings.typeName)")
        }
        guard classNames == labels else { throw invalid(".class_names", "differ from the model's labels") }
        guard self.featureCount == featureCount else {
            throw invalid(".feature_count", "\(self.featureCount), but the vocabulary has \(featureCount) terms")
        }
        let scores = labels.count == 2 && kind.binaryHasOneScore ? 1 : labels.count
        guard scoreCount == scores else {
            throw invalid(".score_count", "\(scoreCount) scores for \(labels.count) labels (expected \(scores))")
        }
        if let bad = intercept.firstIndex(where: { !$0.isFinite }) { throw invalid(".intercept[\(bad)]", "not finite") }
        if !kind.hasTemperature && temperature != 1 { throw invalid(".temperature", "only a linear SVM has a temperature") }
    }
}
