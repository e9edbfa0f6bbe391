import TriageCore
import TriageLinear

/// The settings of a classifier: what a pipeline's `clf` step holds. One conforming type per
/// classifier, registered once in `ClassifierRegistry`; everything else — decoding settings and
/// model files, fitting, the grid search's shared stages, prediction, explanation, the artifact
/// checks, the conformance tests — goes through this protocol and `FittedClassifierModel`.
///
/// Fitting has two parts so that a grid search can share work: `prepare` derives from the
/// training features whatever depends only on the settings `preparationKey` encodes (trees: the
/// binned matrix, which depends on `max_bins` alone); `fit` does the rest. Pipelines whose
/// features and preparation key agree share one `prepare`.
public protocol ClassifierSpec: Hashable, Sendable, Codable {
    associatedtype Fitted: FittedClassifierModel
    /// What `prepare` derives from the training features (nothing by default).
    associatedtype Prepared: Sendable = Void

    /// The classifier's `type` in settings JSON, e.g. `logistic_regression`.
    static var typeName: String { get }

    /// Settings for the generic classifier checks: each fits in well under a second on a few
    /// dozen short messages of 2–4 classes.
    static var checkExamples: [Self] { get }

    /// Invalid settings for the generic checks: JSON members of `clf` (without `type`), each with
    /// a part of the message `checkSettings` must give.
    static var invalidExamples: [(json: String, message: String)] { get }

    /// The seed of the classifier's random choices (0 for a deterministic classifier).
    var randomState: UInt64 { get }

    /// Checks the settings without data; errors name the parameter.
    func checkSettings() throws(PipelineError)

    /// The settings `prepare` reads, as a JSON value (part of the preparation's cache key); nil
    /// when the classifier prepares nothing worth sharing.
    var preparationKey: JSONValue? { get }

    /// The part of fitting that depends only on the training features and `preparationKey`.
    func prepare(_ x: SparseMatrix) -> Prepared

    /// Fits on training features (one row per message) with labels (indices into `classNames`).
    /// Deterministic: the same inputs give the same bits on any number of threads.
    func fit(_ x: SparseMatrix, prepared: Prepared, labels: [Int], classNames: [String], threads: Int?) throws(PipelineError) -> Fitted
}

extension ClassifierSpec {
    /// Deterministic classifiers have no seed.
    public var randomState: UInt64 { 0 }
}

extension ClassifierSpec where Prepared == Void {
    public var preparationKey: JSONValue? { nil }
    public func prepare(_ x: SparseMatrix) {}
}

/// A fitted classifier: scores feature rows into class probabilities, explains a score, checks
/// itself against the pipeline it was loaded with, and describes itself.
public protocol FittedClassifierModel: Sendable, Equatable, Codable {
    /// The model's `type` in an artifact (`gradient_boosting`, `linear`, `voting`); several
    /// settings types may share one (every linear model is `linear`).
    static var payloadType: String { get }

    /// The settings' `type` (`logistic_regression`, …).
    var typeName: String { get }

    /// The classes, in the order of every probability vector.
    var classNames: [String] { get }

    /// Columns of the feature matrix the model expects.
    var featureCount: Int { get }

    /// Raw scores per row: 1 for a binary model with one logistic score (the score of
    /// `classNames[1]`), else one per class.
    var scoreCount: Int { get }

    /// A per-thread scorer of single rows.
    func makeRowScorer() -> any RowScorer

    /// Class probabilities of every row of `x` (parallel; the same bits on any thread count).
    func probabilities(_ x: SparseMatrix, threads: Int?) throws(PipelineError) -> [[Double]]

    /// Why one row scored as it did: bias + Σ per-feature contributions = each raw score. Nil
    /// for a model explained through a member (`representative`).
    func scoreContributions(_ row: SparseRow) -> ScoreContributions?

    /// The model that explains and summarises this one: itself, or one member of an ensemble.
    var representative: FittedClassifier { get }

    /// For people: up to `limit` features that push score `score` hardest (`sign` −1 ranks
    /// what pushes it down: the first class of a binary model), strongest first.
    func topFeatures(score: Int, sign: Double, limit: Int) -> [RankedFeature]

    /// The semantic checks of a model read from a file against the pipeline that holds it:
    /// settings, classes, feature count, shapes, finite numbers. `path` is the model's JSON path.
    func check(against settings: ClassifierSettings, labels: [String], featureCount: Int, path: String) throws(ModelCheckError)

    /// One line for people (`triage train`, `triage inspect`).
    func describe() -> String

    /// Members of an ensemble, in order (none for a single model).
    var members: [FittedClassifier] { get }

    /// The model with its weight matrices rounded as a model file stores them in `encoding`
    /// (`WeightEncoding`); a model without weight matrices (trees) is returned as it is.
    func withWeights(_ encoding: WeightEncoding) -> FittedClassifier

    /// For pruning: how much each feature matters to the model, 0 … 1 (its largest |weight|
    /// relative to the largest of the same score); nil for a model that cannot be pruned.
    func featureImportance() -> [Float]?

    /// The model over the features listed (ascending indices into its features); nil when it
    /// cannot be pruned.
    func keepingFeatures(_ kept: [Int]) -> FittedClassifier?
}

extension FittedClassifierModel {
    public var representative: FittedClassifier { FittedClassifier(self) }
    public var members: [FittedClassifier] { [] }
    public func withWeights(_ encoding: WeightEncoding) -> FittedClassifier { FittedClassifier(self) }
    public func featureImportance() -> [Float]? { nil }
    public func keepingFeatures(_ kept: [Int]) -> FittedClassifier? { nil }
}

/// Scores single rows on one thread, reusing its working memory: one per thread, never shared.
public protocol RowScorer: AnyObject {
    /// Class probabilities of one row (the fitted model's `classNames` order).
    func probabilities(_ row: SparseRow) -> [Double]
}

/// Per-feature attribution of a row's raw scores: `bias[k] + Σ_f perFeature[k][f]` = score k.
public struct ScoreContributions: Sendable, Equatable {
    public var bias: [Double]
    /// `perFeature[k][column]`.
    public var perFeature: [[Int32: Double]]

    public init(bias: [Double], perFeature: [[Int32: Double]]) {
        self.bias = bias
        self.perFeature = perFeature
    }
}

/// A feature ranked by what it does for a score (see `TermImportance` for the meanings).
public struct RankedFeature: Sendable, Equatable {
    public var feature: Int
    public var gain: Double
    public var direction: Double
    public var splits: Int

    public init(feature: Int, gain: Double, direction: Double, splits: Int) {
        self.feature = feature
        self.gain = gain
        self.direction = direction
        self.splits = splits
    }
}

/// A model from a file that does not fit the pipeline that holds it, at a JSON path.
public struct ModelCheckError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "invalid model at \(path): \(reason)" }
}
