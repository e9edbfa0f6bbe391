import TriageCore

/// What every linear classifier's settings offer: checks without data, and a fit to a
/// `FittedLinearModel` of its `kind` (one weight per feature and score).
public protocol LinearClassifier: Hashable, Sendable {
    static var kind: FittedLinearModel.Kind { get }
    func validate() throws(LinearError)
    /// Fits on rows `x` with labels (indices into `classNames`); the same bits on any number of
    /// threads (naive Bayes counts in one pass and ignores `threads`).
    func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int?) throws(LinearError) -> FittedLinearModel
}

extension LogisticRegression: LinearClassifier {
    public static let kind = FittedLinearModel.Kind.logisticRegression
}

extension LinearSVC: LinearClassifier {
    public static let kind = FittedLinearModel.Kind.linearSVC
}

extension MultinomialNB: LinearClassifier {
    public static let kind = FittedLinearModel.Kind.multinomialNB
}

extension ComplementNB: LinearClassifier {
    public static let kind = FittedLinearModel.Kind.complementNB
}
