import Foundation
import TriageCore

/// Multinomial logistic regression with an L2 penalty, as scikit-learn's `LogisticRegression`
/// with `solver="lbfgs"`: minimises Σᵢ sᵢ·log-loss(xᵢ) + ‖W‖² / (2C) over the weights W (one
/// column per class; one logistic column for two classes, as scikit-learn) and unpenalised
/// intercepts, where sᵢ is the row's class weight. Solved by L-BFGS (`LBFGS`) from zero weights;
/// stops when the largest gradient component of the objective divided by Σ sᵢ is at most `tol`,
/// when an iteration no longer lowers it (relative change below 64 ulp, scipy's `ftol`), or after
/// `max_iter` iterations.
public struct LogisticRegression: Hashable, Sendable, Codable {
    /// Inverse regularisation strength (larger: weaker penalty).
    public var c = 1.0
    public var classWeight: ClassWeight = .none
    public var maxIter = 100
    public var tol = 1e-4
    public var fitIntercept = true

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tol
        case c = "C"
        case classWeight = "class_weight"
        case maxIter = "max_iter"
        case fitIntercept = "fit_intercept"
    }

    public init(from decoder: any Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        c = try k.decodeIfPresent(Double.self, forKey: .c) ?? d.c
        classWeight = try k.decodeIfPresent(ClassWeight.self, forKey: .classWeight) ?? .none
        maxIter = try k.decodeIfPresent(Int.self, forKey: .maxIter) ?? d.maxIter
        tol = try k.decodeIfPresent(Double.self, forKey: .tol) ?? d.tol
        fitIntercept = try k.decodeIfPresent(Bool.self, forKey: .fitIntercept) ?? d.fitIntercept
    }

    public func encode(to encoder: any Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(c, forKey: .c)
        try k.encode(classWeight, forKey: .classWeight)
        try k.encode(maxIter, forKey: .maxIter)
        try k.encode(tol, forKey: .tol)
        try k.encode(fitIntercept, forKey: .fitIntercept)
    }

    public func validate() throws(LinearError) {
        try checkPositive("C", c)
        try checkClassWeight(classWeight)
        guard maxIter >= 1 else { throw .invalidParameter(name: "max_iter", value: "\(maxIter)", expected: "an integer ≥ 1") }
        guard tol >= 0, tol.isFinite else { throw .invalidParameter(name: "tol", value: "\(tol)", expected: "a number ≥ 0") }
    }
}

/// A linear support vector classifier, as scikit-learn's `LinearSVC` (liblinear's
/// `L2R_L2LOSS_SVC_DUAL`): one-vs-rest, squared hinge loss, L2 penalty, minimised for each class
/// by dual coordinate descent with shrinking (Hsieh et al., ICML 2008). The intercept is the
/// weight of an extra constant feature of value `intercept_scaling`, penalised like the others
/// (as liblinear does). `class_weight` multiplies C of the class's own one-vs-rest problem.
///
/// Probabilities (which an SVM does not have): softmax of the decision values divided by a
/// temperature T (a logistic sigmoid of decision/T for two classes). With
/// `calibration: "temperature"` (the default) T minimises the log loss of a stratified
/// `calibration_fraction` of the training rows held out from a first fit; the final model is then
/// fitted on all rows. With `"none"` T = 1. Either way the predicted label is the argmax of the
/// decision values, as scikit-learn's.
public struct LinearSVC: Hashable, Sendable, Codable {
    public enum Calibration: String, Hashable, Sendable, Codable, CaseIterable {
        case temperature
        case none
    }

    public var c = 1.0
    public var classWeight: ClassWeight = .none
    public var maxIter = 1000
    public var tol = 1e-4
    public var fitIntercept = true
    public var interceptScaling = 1.0
    public var calibration: Calibration = .temperature
    public var calibrationFraction = 0.2
    /// Seeds the coordinate order and the calibration split.
    public var randomState: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tol, calibration
        case c = "C"
        case classWeight = "class_weight"
        case maxIter = "max_iter"
        case fitIntercept = "fit_intercept"
        case interceptScaling = "intercept_scaling"
        case calibrationFraction = "calibration_fraction"
        case randomState = "random_state"
    }

    public init(from decoder: any Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        c = try k.decodeIfPresent(Double.self, forKey: .c) ?? d.c
        classWeight = try k.decodeIfPresent(ClassWeight.self, forKey: .classWeight) ?? .none
        maxIter = try k.decodeIfPresent(Int.self, forKey: .maxIter) ?? d.maxIter
        tol = try k.decodeIfPresent(Double.self, forKey: .tol) ?? d.tol
        fitIntercept = try k.decodeIfPresent(Bool.self, forKey: .fitIntercept) ?? d.fitIntercept
        interceptScaling = try k.decodeIfPresent(Double.self, forKey: .interceptScaling) ?? d.interceptScaling
        calibration = try k.decodeIfPresent(Calibration.self, forKey: .calibration) ?? d.calibration
        calibrationFraction = try k.decodeIfPresent(Double.self, forKey: .calibrationFraction) ?? d.calibrationFraction
        randomState = try k.decodeIfPresent(UInt64.self, forKey: .randomState) ?? d.randomState
    }

    public func encode(to encoder: any Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(c, forKey: .c)
        try k.encode(classWeight, forKey: .classWeight)
        try k.encode(maxIter, forKey: .maxIter)
        try k.encode(tol, forKey: .tol)
        try k.encode(fitIntercept, forKey: .fitIntercept)
        try k.encode(interceptScaling, forKey: .interceptScaling)
        try k.encode(calibration, forKey: .calibration)
        try k.encode(calibrationFraction, forKey: .calibrationFraction)
        try k.encode(randomState, forKey: .randomState)
    }

    public func validate() throws(LinearError) {
        try checkPositive("C", c)
        try checkClassWeight(classWeight)
        guard maxIter >= 1 else { throw .invalidParameter(name: "max_iter", value: "\(maxIter)", expected: "an integer ≥ 1") }
        guard tol > 0, tol.isFinite else { throw .invalidParameter(name: "tol", value: "\(tol)", expected: "a number > 0") }
        try checkPositive("intercept_scaling", interceptScaling)
        guard calibrationFraction > 0, calibrationFraction < 1 else {
            throw .invalidParameter(name: "calibration_fraction", value: "\(calibrationFraction)", expected: "a fraction in (0, 1)")
        }
    }
}

/// Naive Bayes for counts or TF-IDF weights, as scikit-learn's `MultinomialNB`:
/// log P(f | k) = log((N_kf + α) / (N_k + α·F)), scores log P(k) + Σ_f x_f log P(f | k).
public struct MultinomialNB: Hashable, Sendable, Codable {
    public var alpha = 1.0
    /// Learn class priors from the data (else uniform).
    public var fitPrior = true

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case alpha
        case fitPrior = "fit_prior"
    }

    public init(from decoder: any Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try k.decodeIfPresent(Double.self, forKey: .alpha) ?? 1
        fitPrior = try k.decodeIfPresent(Bool.self, forKey: .fitPrior) ?? true
    }

    public func encode(to encoder: any Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(alpha, forKey: .alpha)
        try k.encode(fitPrior, forKey: .fitPrior)
    }

    public func validate() throws(LinearError) { try checkPositive("alpha", alpha) }
}

/// Complement Naive Bayes (Rennie et al., ICML 2003), as scikit-learn's `ComplementNB`: each
/// class is scored by how unlike the *other* classes' term distribution a message is, which
/// suits imbalanced text classes. w_kf = −log((N_~k,f + α) / (N_~k + α·F)) (divided by Σ_f of the
/// logs when `norm`); scores Σ_f x_f w_kf.
public struct ComplementNB: Hashable, Sendable, Codable {
    public var alpha = 1.0
    public var norm = false

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case alpha, norm }

    public init(from decoder: any Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try k.decodeIfPresent(Double.self, forKey: .alpha) ?? 1
        norm = try k.decodeIfPresent(Bool.self, forKey: .norm) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(alpha, forKey: .alpha)
        try k.encode(norm, forKey: .norm)
    }

    public func validate() throws(LinearError) { try checkPositive("alpha", alpha) }
}

private func checkPositive(_ name: String, _ value: Double) throws(LinearError) {
    guard value > 0, value.isFinite else { throw .invalidParameter(name: name, value: "\(value)", expected: "a number > 0") }
}

private func checkClassWeight(_ w: ClassWeight) throws(LinearError) {
    if let (label, weight) = w.firstInvalidWeight {
        throw .invalidParameter(name: "class_weight[\(label)]", value: "\(weight)", expected: "a number > 0")
    }
}

/// Why a linear model refused its input or settings.
public enum LinearError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidParameter(name: String, value: String, expected: String)
    case tooFewClasses(Int)
    case labelOutOfRange(row: Int, label: Int, classCount: Int)
    case emptyClass(String)
    case rowCountMismatch(rows: Int, labels: Int)
    case featureCountMismatch(expected: Int, got: Int)
    case unknownClassWeightLabel(String, known: [String])
    case negativeFeature(row: Int, column: Int, value: Double)
    case nonFiniteFeature(row: Int, column: Int)
    case emptyTrainingSet

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, expected): return "invalid \(name)=\(value): expected \(expected)"
        case let .tooFewClasses(k): return "\(k) class\(k == 1 ? "" : "es") in the training labels; a classifier needs at least 2"
        case let .labelOutOfRange(row, label, k): return "row \(row) has label index \(label), outside 0..<\(k)"
        case let .emptyClass(name): return "class \"\(name)\" has no training rows; remove it from the class list or add examples"
        case let .rowCountMismatch(rows, labels): return "\(rows) feature rows but \(labels) labels"
        case let .featureCountMismatch(expected, got):
            return "the matrix has \(got) columns but the model was trained on \(expected) features"
        case let .unknownClassWeightLabel(label, known):
            return "class_weight names \"\(label)\", which is not a class (classes: \(known.joined(separator: ", ")))"
        case let .negativeFeature(row, column, value):
            return "row \(row), column \(column) holds \(value); naive Bayes needs non-negative features (counts or TF-IDF)"
        case let .nonFiniteFeature(row, column): return "row \(row), column \(column) is not a finite number"
        case .emptyTrainingSet: return "no training rows"
        }
    }
}

/// Checks a training set: shape, labels in range, every class present, finite values.
func checkTrainingSet(_ x: SparseMatrix, labels: [Int], classNames: [String]) throws(LinearError) {
    guard x.rowCount > 0 else { throw .emptyTrainingSet }
    guard classNames.count >= 2 else { throw .tooFewClasses(classNames.count) }
    guard labels.count == x.rowCount else { throw .rowCountMismatch(rows: x.rowCount, labels: labels.count) }
    var seen = [Bool](repeating: false, count: classNames.count)
    for (i, y) in labels.enumerated() {
        guard y >= 0, y < classNames.count else { throw .labelOutOfRange(row: i, label: y, classCount: classNames.count) }
        seen[y] = true
    }
    if let missing = seen.firstIndex(of: false) { throw .emptyClass(classNames[missing]) }
    for r in 0 ..< x.rowCount {
        for k in x.rowOffsets[r] ..< x.rowOffsets[r + 1] where !x.values[k].isFinite {
            throw .nonFiniteFeature(row: r, column: Int(x.columnIndices[k]))
        }
    }
}

func weights(_ w: ClassWeight, perClass: Bool, labels: [Int], classNames: [String]) throws(LinearError) -> [Double] {
    let result = perClass ? w.classWeights(labels: labels, classNames: classNames) : w.rowWeights(labels: labels, classNames: classNames)
    switch result {
    case let .success(values): return values
    case let .failure(e): throw .unknownClassWeightLabel(e.label, known: classNames)
    }
}
