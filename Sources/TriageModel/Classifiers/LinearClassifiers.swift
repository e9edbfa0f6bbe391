import TriageCore
import TriageLinear

/// A linear classifier (TriageLinear's `LinearClassifier`) as a pipeline classifier: its `type`
/// is its kind, it prepares nothing, and its errors become `PipelineError.linear`.
extension ClassifierSpec where Self: LinearClassifier, Fitted == FittedLinearModel, Prepared == Void {
    public static var typeName: String { kind.rawValue }

    public func checkSettings() throws(PipelineError) {
        do { try validate() } catch { throw .linear(error) }
    }

    public func fit(_ x: SparseMatrix, prepared: Void, labels: [Int], classNames: [String], threads: Int?) throws(PipelineError) -> FittedLinearModel {
        do { return try fit(x, labels: labels, classNames: classNames, threads: threads) } catch { throw .linear(error) }
    }
}

/// scikit-learn's `LogisticRegression` (lbfgs, L2).
extension LogisticRegression: ClassifierSpec {
    public typealias Fitted = FittedLinearModel

    public static var checkExamples: [LogisticRegression] {
        var balanced = LogisticRegression()
        balanced.c = 10
        balanced.classWeight = .balanced
        return [LogisticRegression(), balanced]
    }

    public static var invalidExamples: [(json: String, message: String)] {
        [(#"{"C": 0}"#, "C"), (#"{"max_iter": 0}"#, "max_iter"), (#"{"tol": -1}"#, "tol")]
    }
}

/// scikit-learn's `LinearSVC` (squared hinge, dual coordinate descent), with a temperature for
/// probabilities.
extension LinearSVC: ClassifierSpec {
    public typealias Fitted = FittedLinearModel

    public static var checkExamples: [LinearSVC] {
        var uncalibrated = LinearSVC()
        uncalibrated.calibration = .none
        uncalibrated.randomState = 3
        return [LinearSVC(), uncalibrated]
    }

    public static var invalidExamples: [(json: String, message: String)] {
        [(#"{"C": -1}"#, "C"), (#"{"calibration_fraction": 1}"#, "calibration_fraction"), (#"{"tol": 0}"#, "tol")]
    }
}

/// scikit-learn's `MultinomialNB`.
extension MultinomialNB: ClassifierSpec {
    public typealias Fitted = FittedLinearModel

    public static var checkExamples: [MultinomialNB] {
        var sharp = MultinomialNB()
        sharp.alpha = 0.01
        sharp.fitPrior = false
        return [MultinomialNB(), sharp]
    }

    public static var invalidExamples: [(json: String, message: String)] { [(#"{"alpha": 0}"#, "alpha")] }
}

/// scikit-learn's `ComplementNB`.
extension ComplementNB: ClassifierSpec {
    public typealias Fitted = FittedLinearModel

    public static var checkExamples: [ComplementNB] {
        var normed = ComplementNB()
        normed.norm = true
        return [ComplementNB(), normed]
    }

    public static var invalidExamples: [(json: String, message: String)] { [(#"{"alpha": -0.5}"#, "alpha")] }
}

extension ClassifierSettings {
    public static func logisticRegression(_ settings: LogisticRegression) -> ClassifierSettings { ClassifierSettings(settings) }
    public static func linearSVC(_ settings: LinearSVC) -> ClassifierSettings { ClassifierSettings(settings) }
    public static func multinomialNB(_ settings: MultinomialNB) -> ClassifierSettings { ClassifierSettings(settings) }
    public static func complementNB(_ settings: ComplementNB) -> ClassifierSettings { ClassifierSettings(settings) }
}
