import TriageBoost
import TriageCore
import TriageLinear

/// Soft voting, as scikit-learn's `VotingClassifier(voting="soft")`: the estimators are fitted on
/// the same features and the ensemble's probabilities are their weighted mean.
///
/// JSON: `{"type": "voting", "estimators": [{"type": "logistic_regression", "C": 30},
/// {"type": "linear_svc"}], "weights": [2, 1]}` (`weights` optional: equal). Worth it only when
/// it beats each member on validation folds — `triage search` can compare them in one grid.
public struct VotingClassifier: Hashable, Sendable, Codable {
    public var estimators: [ClassifierSettings]
    public var weights: [Double]?

    public init(estimators: [ClassifierSettings], weights: [Double]? = nil) {
        self.estimators = estimators
        self.weights = weights
    }

    enum CodingKeys: String, CodingKey { case estimators, weights }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        estimators = try c.decode([ClassifierSettings].self, forKey: .estimators)
        weights = try c.decodeIfPresent([Double].self, forKey: .weights)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(estimators, forKey: .estimators)
        try c.encode(weights, forKey: .weights)
    }

    /// The weights in effect (1 each without `weights`).
    public var resolvedWeights: [Double] { weights ?? [Double](repeating: 1, count: estimators.count) }
}

extension VotingClassifier: ClassifierSpec {
    public typealias Fitted = FittedVoting

    public static let typeName = "voting"

    public static var checkExamples: [VotingClassifier] {
        [VotingClassifier(estimators: [.logisticRegression(LogisticRegression()), .multinomialNB(MultinomialNB())], weights: [2, 1]),
         VotingClassifier(estimators: [.linearSVC(LinearSVC()), .gradientBoosting(GradientBoostingClassifier.checkExamples[0])])]
    }

    public static var invalidExamples: [(json: String, message: String)] {
        [(#"{"estimators": [{"type": "logistic_regression"}]}"#, "at least 2 estimators"),
         (#"{"estimators": [{"type": "voting", "estimators": []}, {"type": "linear_svc"}]}"#, "do not nest"),
         (#"{"estimators": [{"type": "logistic_regression"}, {"type": "linear_svc"}], "weights": [1]}"#, "1 weights for 2 estimators"),
         (#"{"estimators": [{"type": "logistic_regression"}, {"type": "linear_svc"}], "weights": [0, 0]}"#, "not all 0")]
    }

    /// The first member's seed that is not 0.
    public var randomState: UInt64 { estimators.first { $0.randomState != 0 }?.randomState ?? 0 }

    public func checkSettings() throws(PipelineError) {
        guard estimators.count >= 2 else { throw .invalidEnsemble("a voting classifier needs at least 2 estimators, not \(estimators.count)") }
        if estimators.contains(where: { $0.typeName == Self.typeName }) { throw .invalidEnsemble("voting classifiers do not nest") }
        if let weights {
            guard weights.count == estimators.count else {
                throw .invalidEnsemble("\(weights.count) weights for \(estimators.count) estimators")
            }
            guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.contains(where: { $0 > 0 }) else {
                throw .invalidEnsemble("weights must be finite, ≥ 0, and not all 0")
            }
        }
        for e in estimators { try e.validate() }
    }

    /// Each member fitted on the same features (each prepares its own: nothing is shared).
    public func fit(_ x: SparseMatrix, prepared: Void, labels: [Int], classNames: [String], threads: Int?) throws(PipelineError) -> FittedVoting {
        var members: [FittedClassifier] = []
        for estimator in estimators { members.append(try estimator.fit(x, labels: labels, classNames: classNames, threads: threads)) }
        return FittedVoting(members: members, weights: resolvedWeights)
    }
}

/// A fitted soft-voting ensemble: probabilities are Σ wₘ pₘ / Σ wₘ over the members, summed in
/// member order. In an artifact: `{"type": "voting", "members": [<model>…], "weights": […]}`.
public struct FittedVoting: Sendable, Equatable, Codable {
    public let members: [FittedClassifier]
    public let weights: [Double]

    /// When every member is linear: their weights side by side, scored in one pass.
    public let linearStack: LinearStack?

    public init(members: [FittedClassifier], weights: [Double]) {
        self.weights = weights
        let linear = members.compactMap { $0.model(as: FittedLinearModel.self) }
        let stack = linear.count == members.count ? LinearStack(linear) : nil
        linearStack = stack
        // The members read their weights from the stack's matrix: held once.
        self.members = stack.map { $0.models.map { FittedClassifier($0) } } ?? members
    }

    var weightSum: Double { weights.reduce(0, +) }

    enum CodingKeys: String, CodingKey { case members, weights }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(members: try c.decode([FittedClassifier].self, forKey: .members), weights: try c.decode([Double].self, forKey: .weights))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(members, forKey: .members)
        try c.encode(weights, forKey: .weights)
    }

    public static func == (a: FittedVoting, b: FittedVoting) -> Bool { a.members == b.members && a.weights == b.weights }
}

extension FittedVoting: FittedClassifierModel {
    public static let payloadType = "voting"

    public var typeName: String { VotingClassifier.typeName }

    public var classNames: [String] { members.first?.model.classNames ?? [] }

    public var featureCount: Int { members.first?.featureCount ?? 0 }

    /// A vote has no raw scores of its own: one per class, for the shape of its answers.
    public var scoreCount: Int { classNames.count }

    /// Its first linear member, else its first member.
    public var representative: FittedClassifier {
        members.first { $0.model is FittedLinearModel } ?? members[0]
    }

    /// The stacked matrix rounded at once (naive Bayes members' columns shifted per feature),
    /// else each member.
    public func withWeights(_ encoding: WeightEncoding) -> FittedClassifier {
        guard let stack = linearStack else {
            return FittedClassifier(FittedVoting(members: members.map { $0.model.withWeights(encoding) }, weights: weights))
        }
        let centered = zip(stack.models, stack.offsets).filter { $0.0.kind.isNaiveBayes }.map { $0.1 ..< $0.1 + $0.0.scoreCount }
        let matrix = stack.matrix.encoded(as: encoding, centered: centered)
        let models = zip(stack.models, stack.offsets).map { FittedClassifier($0.0.reading(matrix, column: $0.1)) }
        return FittedClassifier(FittedVoting(members: models, weights: weights))
    }

    /// The largest over the members (nil when one of them cannot be pruned).
    public func featureImportance() -> [Float]? {
        var out: [Float]?
        for member in members {
            guard let m = member.model.featureImportance() else { return nil }
            out = out.map { zip($0, m).map { max($0, $1) } } ?? m
        }
        return out
    }

    public func keepingFeatures(_ kept: [Int]) -> FittedClassifier? {
        if let stack = linearStack {
            let matrix = stack.matrix.keepingRows(kept)
            return FittedClassifier(FittedVoting(members: zip(stack.models, stack.offsets).map { FittedClassifier($0.0.reading(matrix, column: $0.1)) },
                                                 weights: weights))
        }
        var pruned: [FittedClassifier] = []
        for member in members {
            guard let m = member.model.keepingFeatures(kept) else { return nil }
            pruned.append(m)
        }
        return FittedClassifier(FittedVoting(members: pruned, weights: weights))
    }

    public func makeRowScorer() -> any RowScorer {
        if let stack = linearStack { return StackScorer(vote: self, stack: stack) }
        return MemberScorer(vote: self)
    }

    /// Every member's scores from one pass over the stacked weights (the same bits as scoring
    /// each member on its own), then Σ wₘ pₘ / Σ wₘ.
    private final class StackScorer: RowScorer {
        let vote: FittedVoting
        let stack: LinearStack
        init(vote: FittedVoting, stack: LinearStack) {
            self.vote = vote
            self.stack = stack
        }

        func probabilities(_ row: SparseRow) -> [Double] {
            withUnsafeTemporaryAllocation(of: Double.self, capacity: stack.stride) { scores in
                stack.scores(row, into: scores)
                let classes = stack.scoreCounts[0] == 1 ? 2 : stack.scoreCounts[0]
                let sum = vote.weightSum
                return [Double](unsafeUninitializedCapacity: classes) { out, n in
                    out.initialize(repeating: 0)
                    for m in 0 ..< vote.members.count {
                        stack.accumulateProbabilities(model: m, scores: scores, weight: vote.weights[m] / sum, into: out)
                    }
                    n = classes
                }
            }
        }
    }

    private final class MemberScorer: RowScorer {
        let vote: FittedVoting
        let scorers: [any RowScorer]
        init(vote: FittedVoting) {
            self.vote = vote
            scorers = vote.members.map { $0.makeRowScorer() }
        }

        func probabilities(_ row: SparseRow) -> [Double] {
            var out = [Double](repeating: 0, count: vote.classNames.count)
            let sum = vote.weightSum
            for (m, scorer) in scorers.enumerated() {
                let p = scorer.probabilities(row)
                let w = vote.weights[m] / sum
                for k in p.indices { out[k] += w * p[k] }
            }
            return out
        }
    }

    public func probabilities(_ x: SparseMatrix, threads: Int?) throws(PipelineError) -> [[Double]] {
        var out: [[Double]] = []
        for (m, member) in members.enumerated() {
            let p = try member.predictProbabilities(x, threads: threads)
            let w = weights[m] / weightSum
            if out.isEmpty { out = p.map { $0.map { _ in 0 } } }
            for i in p.indices { for k in p[i].indices { out[i][k] += w * p[i][k] } }
        }
        return out
    }

    /// Explained through `representative`.
    public func scoreContributions(_ row: SparseRow) -> ScoreContributions? { nil }

    /// Ranked through `representative`.
    public func topFeatures(score: Int, sign: Double, limit: Int) -> [RankedFeature] { [] }

    public func describe() -> String {
        "voting (soft), weights " + weights.map { String(format: "%g", $0) }.joined(separator: " : ")
    }

    public func check(against settings: ClassifierSettings, labels: [String], featureCount: Int, path: String) throws(ModelCheckError) {
        guard let vote = settings.settings(as: VotingClassifier.self) else {
            throw ModelCheckError(path: path + ".type", reason: "the model's type does not match the pipeline's classifier (\(settings.typeName))")
        }
        guard members.count == vote.estimators.count else {
            throw ModelCheckError(path: path + ".members", reason: "\(members.count) members, but the settings list \(vote.estimators.count) estimators")
        }
        guard weights == vote.resolvedWeights else { throw ModelCheckError(path: path + ".weights", reason: "differ from the settings' weights") }
        for (i, (member, estimator)) in zip(members, vote.estimators).enumerated() {
            try member.model.check(against: estimator, labels: labels, featureCount: featureCount, path: path + ".members[\(i)]")
        }
    }
}

extension ClassifierSettings {
    /// Soft voting of several classifiers.
    public static func voting(_ settings: VotingClassifier) -> ClassifierSettings { ClassifierSettings(settings) }
}
