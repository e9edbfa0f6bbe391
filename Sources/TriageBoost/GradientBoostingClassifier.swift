import Foundation
import TriageCore

/// Settings of the gradient-boosted trees, named as in scikit-learn's `GradientBoostingClassifier`
/// and `HistGradientBoostingClassifier` where a name exists there.
///
/// Binary labels train one logistic score; K > 2 classes train K softmax scores, one tree per
/// class per round. Trees are grown on histograms of binned features (`max_bins` bins per
/// feature, learned from the training rows' non-zeros); leaves take second-order (Newton) steps
/// (see `SplitRules`), shrunk by `learning_rate`.
///
/// Stability: whatever the settings, the training loss never rises from one round to the next.
/// Leaf steps are capped (`max_delta_step`) and need `min_hessian_leaf`; beyond those, a round
/// whose trees would raise the training loss has its step halved until it does not (up to 20
/// times), and a round that cannot lower it at all ends training. This is what keeps many-class
/// softmax boosting with small leaves from diverging (LightGBM with its defaults does, on
/// banking77: BENCHMARKS.md).
///
/// Defaults were chosen on banking77 validation folds (BENCHMARKS.md): depth-3 trees as in
/// scikit-learn's `GradientBoostingClassifier`, 32 bins, 5 rows and 1e-3 hessian per leaf, and a
/// step cap (`max_delta_step`) that keeps softmax boosting from diverging on confident rows.
public struct GradientBoostingClassifier: Hashable, Sendable, Codable {
    /// Boosting rounds (each adds one tree per score).
    public var nEstimators = 100
    /// Shrinkage of every step.
    public var learningRate = 0.1
    /// Maximum depth of a tree (root = 0); nil for no limit (then `maxLeafNodes` is required).
    public var maxDepth: Int? = 3
    /// When set, trees grow best-first (leaf-wise) up to this many leaves.
    public var maxLeafNodes: Int? = nil
    /// Minimum training rows in a leaf.
    public var minSamplesLeaf = 5
    /// Minimum summed hessian in a leaf.
    public var minHessianLeaf = 1e-3
    /// L2 penalty λ on leaf steps.
    public var l2Regularization = 0.0
    /// Cap on the absolute raw step of a leaf before shrinkage; 0 for none.
    public var maxDeltaStep = 4.0
    /// Bins per feature, zero's included (2…255).
    public var maxBins = 32
    /// Fraction of rows drawn (without replacement) for each round.
    public var subsample = 1.0
    /// Fraction of features drawn for each tree.
    public var maxFeatures = 1.0
    public var classWeight: ClassWeight = .none
    /// Hold out `validationFraction` of the rows (stratified) and stop when the validation log
    /// loss has not improved by more than `tol` for `nIterNoChange` rounds; the model keeps the
    /// rounds up to the best one.
    public var earlyStopping = false
    public var validationFraction = 0.1
    public var nIterNoChange = 10
    public var tol = 1e-7
    /// Seed of every random choice (row and feature sampling, the validation split).
    public var randomState: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case subsample, tol
        case nEstimators = "n_estimators"
        case learningRate = "learning_rate"
        case maxDepth = "max_depth"
        case maxLeafNodes = "max_leaf_nodes"
        case minSamplesLeaf = "min_samples_leaf"
        case minHessianLeaf = "min_hessian_leaf"
        case l2Regularization = "l2_regularization"
        case maxDeltaStep = "max_delta_step"
        case maxBins = "max_bins"
        case maxFeatures = "max_features"
        case classWeight = "class_weight"
        case earlyStopping = "early_stopping"
        case validationFraction = "validation_fraction"
        case nIterNoChange = "n_iter_no_change"
        case randomState = "random_state"
    }

    /// Every key optional; absent keys take the defaults above.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GradientBoostingClassifier()
        nEstimators = try c.decodeIfPresent(Int.self, forKey: .nEstimators) ?? d.nEstimators
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        maxDepth = c.contains(.maxDepth) ? try c.decodeIfPresent(Int.self, forKey: .maxDepth) : d.maxDepth
        maxLeafNodes = try c.decodeIfPresent(Int.self, forKey: .maxLeafNodes)
        minSamplesLeaf = try c.decodeIfPresent(Int.self, forKey: .minSamplesLeaf) ?? d.minSamplesLeaf
        minHessianLeaf = try c.decodeIfPresent(Double.self, forKey: .minHessianLeaf) ?? d.minHessianLeaf
        l2Regularization = try c.decodeIfPresent(Double.self, forKey: .l2Regularization) ?? d.l2Regularization
        maxDeltaStep = try c.decodeIfPresent(Double.self, forKey: .maxDeltaStep) ?? d.maxDeltaStep
        maxBins = try c.decodeIfPresent(Int.self, forKey: .maxBins) ?? d.maxBins
        subsample = try c.decodeIfPresent(Double.self, forKey: .subsample) ?? d.subsample
        maxFeatures = try c.decodeIfPresent(Double.self, forKey: .maxFeatures) ?? d.maxFeatures
        classWeight = try c.decodeIfPresent(ClassWeight.self, forKey: .classWeight) ?? .none
        earlyStopping = try c.decodeIfPresent(Bool.self, forKey: .earlyStopping) ?? d.earlyStopping
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? d.validationFraction
        nIterNoChange = try c.decodeIfPresent(Int.self, forKey: .nIterNoChange) ?? d.nIterNoChange
        tol = try c.decodeIfPresent(Double.self, forKey: .tol) ?? d.tol
        randomState = try c.decodeIfPresent(UInt64.self, forKey: .randomState) ?? d.randomState
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nEstimators, forKey: .nEstimators)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(maxDepth, forKey: .maxDepth)
        try c.encode(maxLeafNodes, forKey: .maxLeafNodes)
        try c.encode(minSamplesLeaf, forKey: .minSamplesLeaf)
        try c.encode(minHessianLeaf, forKey: .minHessianLeaf)
        try c.encode(l2Regularization, forKey: .l2Regularization)
        try c.encode(maxDeltaStep, forKey: .maxDeltaStep)
        try c.encode(maxBins, forKey: .maxBins)
        try c.encode(subsample, forKey: .subsample)
        try c.encode(maxFeatures, forKey: .maxFeatures)
        try c.encode(classWeight, forKey: .classWeight)
        try c.encode(earlyStopping, forKey: .earlyStopping)
        try c.encode(validationFraction, forKey: .validationFraction)
        try c.encode(nIterNoChange, forKey: .nIterNoChange)
        try c.encode(tol, forKey: .tol)
        try c.encode(randomState, forKey: .randomState)
    }

    /// Checks every setting; the error names the parameter and the accepted range.
    public func validate() throws(BoostError) {
        func bad(_ name: String, _ value: Any, _ expected: String) -> BoostError {
            .invalidParameter(name: name, value: "\(value)", expected: expected)
        }
        guard nEstimators >= 1 else { throw bad("n_estimators", nEstimators, "an integer ≥ 1") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learning_rate", learningRate, "a number > 0") }
        if let maxDepth, maxDepth < 1 { throw bad("max_depth", maxDepth, "an integer ≥ 1, or null") }
        if let maxLeafNodes, maxLeafNodes < 2 { throw bad("max_leaf_nodes", maxLeafNodes, "an integer ≥ 2, or null") }
        if maxDepth == nil && maxLeafNodes == nil { throw bad("max_depth", "null", "a depth limit when max_leaf_nodes is null") }
        guard minSamplesLeaf >= 1 else { throw bad("min_samples_leaf", minSamplesLeaf, "an integer ≥ 1") }
        guard minHessianLeaf >= 0, minHessianLeaf.isFinite else { throw bad("min_hessian_leaf", minHessianLeaf, "a number ≥ 0") }
        guard l2Regularization >= 0, l2Regularization.isFinite else { throw bad("l2_regularization", l2Regularization, "a number ≥ 0") }
        guard maxDeltaStep >= 0, maxDeltaStep.isFinite else { throw bad("max_delta_step", maxDeltaStep, "a number ≥ 0 (0: no cap)") }
        guard (2 ... 255).contains(maxBins) else { throw bad("max_bins", maxBins, "an integer in 2…255") }
        guard subsample > 0, subsample <= 1 else { throw bad("subsample", subsample, "a fraction in (0, 1]") }
        guard maxFeatures > 0, maxFeatures <= 1 else { throw bad("max_features", maxFeatures, "a fraction in (0, 1]") }
        if case let .weights(w) = classWeight, let (label, weight) = w.first(where: { !($0.value > 0 && $0.value.isFinite) }) {
            throw bad("class_weight[\(label)]", weight, "a number > 0")
        }
        guard validationFraction > 0, validationFraction < 1 else { throw bad("validation_fraction", validationFraction, "a fraction in (0, 1)") }
        guard nIterNoChange >= 1 else { throw bad("n_iter_no_change", nIterNoChange, "an integer ≥ 1") }
        guard tol >= 0, tol.isFinite else { throw bad("tol", tol, "a number ≥ 0") }
    }

    var rules: SplitRules {
        SplitRules(l2: l2Regularization, maxDeltaStep: maxDeltaStep, minSamplesLeaf: minSamplesLeaf, minHessianLeaf: minHessianLeaf)
    }

    var limits: GrowthLimits {
        GrowthLimits(maxDepth: maxDepth, maxLeafNodes: maxLeafNodes, learningRate: learningRate)
    }

    /// Row weights from `classWeight`, for labels `y` over `classNames`.
    func rowWeights(labels: [Int32], classNames: [String]) throws(BoostError) -> [Double] {
        switch classWeight.rowWeights(labels: labels.map { Int($0) }, classNames: classNames) {
        case let .success(weights): return weights
        case let .failure(e): throw .unknownClassWeightLabel(e.label, known: classNames)
        }
    }
}

/// Why boosting refused its input or settings.
public enum BoostError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidParameter(name: String, value: String, expected: String)
    case tooFewClasses(Int)
    case labelOutOfRange(row: Int, label: Int, classCount: Int)
    case emptyClass(String)
    case rowCountMismatch(rows: Int, labels: Int)
    case featureCountMismatch(expected: Int, got: Int)
    case unknownClassWeightLabel(String, known: [String])
    case emptyTrainingSet

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, expected):
            return "invalid \(name)=\(value): expected \(expected)"
        case let .tooFewClasses(k):
            return "\(k) class\(k == 1 ? "" : "es") in the training labels; a classifier needs at least 2"
        case let .labelOutOfRange(row, label, k):
            return "row \(row) has label index \(label), outside 0..<\(k)"
        case let .emptyClass(name):
            return "class \"\(name)\" has no training rows; remove it from the class list or add examples"
        case let .rowCountMismatch(rows, labels):
            return "\(rows) feature rows but \(labels) labels"
        case let .featureCountMismatch(expected, got):
            return "the matrix has \(got) columns but the model was trained on \(expected) features"
        case let .unknownClassWeightLabel(label, known):
            return "class_weight names \"\(label)\", which is not a class (classes: \(known.joined(separator: ", ")))"
        case .emptyTrainingSet:
            return "no training rows"
        }
    }
}
