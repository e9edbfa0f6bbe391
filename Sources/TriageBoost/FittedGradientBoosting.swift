import Foundation
import TriageCore

/// A fitted gradient-boosted model: plain values (Codable), nothing else.
///
/// Raw score of score `k` for a row: `initialScores[k] + Σ_rounds trees[round][k](row)`.
/// Probabilities: logistic (binary, one score) or softmax (K scores).
public struct FittedGradientBoosting: Sendable, Equatable, Codable {
    public let settings: GradientBoostingClassifier
    public let classNames: [String]
    public let featureCount: Int
    public let initialScores: [Double]
    /// `trees[round][score]`.
    public let trees: [[Tree]]
    /// Weighted mean log loss on the training rows after each round run (non-increasing); with
    /// early stopping it covers the rounds run, which may be more than the rounds kept.
    public let trainingLoss: [Double]
    /// The same on the early-stopping validation rows (empty without early stopping); it may run
    /// `n_iter_no_change` rounds past the kept ones.
    public let validationLoss: [Double]
    /// The trees flattened and indexed for prediction (derived; not encoded). Compiled on first
    /// use rather than at decoding, so that a decoded model is validated before anything walks
    /// its trees (a hostile artifact may hold cycles or out-of-range children).
    private let compiled: CompiledForest.Lazy
    var forest: CompiledForest { compiled.get() }

    public init(settings: GradientBoostingClassifier, classNames: [String], featureCount: Int, initialScores: [Double],
                trees: [[Tree]], trainingLoss: [Double], validationLoss: [Double]) {
        self.settings = settings
        self.classNames = classNames
        self.featureCount = featureCount
        self.initialScores = initialScores
        self.trees = trees
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        compiled = CompiledForest.Lazy(trees: trees, initialScores: initialScores, featureCount: featureCount)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(settings: try c.decode(GradientBoostingClassifier.self, forKey: .settings),
                  classNames: try c.decode([String].self, forKey: .classNames),
                  featureCount: try c.decode(Int.self, forKey: .featureCount),
                  initialScores: try c.decode([Double].self, forKey: .initialScores),
                  trees: try c.decode([[Tree]].self, forKey: .trees),
                  trainingLoss: try c.decode([Double].self, forKey: .trainingLoss),
                  validationLoss: try c.decode([Double].self, forKey: .validationLoss))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(settings, forKey: .settings)
        try c.encode(classNames, forKey: .classNames)
        try c.encode(featureCount, forKey: .featureCount)
        try c.encode(initialScores, forKey: .initialScores)
        try c.encode(trees, forKey: .trees)
        try c.encode(trainingLoss, forKey: .trainingLoss)
        try c.encode(validationLoss, forKey: .validationLoss)
    }

    public static func == (a: FittedGradientBoosting, b: FittedGradientBoosting) -> Bool {
        a.settings == b.settings && a.classNames == b.classNames && a.featureCount == b.featureCount
            && a.initialScores == b.initialScores && a.trees == b.trees && a.trainingLoss == b.trainingLoss
            && a.validationLoss == b.validationLoss
    }

    /// Working memory for predicting one row at a time on one thread (not thread-safe).
    public final class PredictionScratch {
        let forest: CompiledForest
        let scratch: CompiledForest.Scratch
        var scores: [Double]
        init(_ forest: CompiledForest) {
            self.forest = forest
            scratch = forest.makeScratch()
            scores = [Double](repeating: 0, count: forest.scoreCount)
        }
    }

    public func makeScratch() -> PredictionScratch { PredictionScratch(forest) }

    /// Raw scores of one sparse row (all rounds), reusing `scratch`.
    public func rawScores(_ row: SparseRow, scratch: PredictionScratch) -> [Double] {
        scratch.scores.withUnsafeMutableBufferPointer {
            scratch.forest.rawScores(row, scratch: scratch.scratch, into: $0)
        }
        return scratch.scores
    }

    /// Class probabilities of one sparse row, reusing `scratch`.
    public func probabilities(_ row: SparseRow, scratch: PredictionScratch) -> [Double] {
        probabilities(fromScores: rawScores(row, scratch: scratch))
    }

    enum CodingKeys: String, CodingKey {
        case settings, trees
        case classNames = "class_names"
        case featureCount = "feature_count"
        case initialScores = "initial_scores"
        case trainingLoss = "training_loss"
        case validationLoss = "validation_loss"
    }

    public var roundCount: Int { trees.count }
    public var scoreCount: Int { initialScores.count }
    public var classCount: Int { classNames.count }

    /// Raw scores of one sparse row, after `rounds` rounds (all by default: the compiled forest;
    /// fewer: a plain sum over the first rounds' trees).
    public func rawScores(_ row: SparseRow, rounds: Int? = nil) -> [Double] {
        if rounds == nil || rounds == trees.count { return rawScores(row, scratch: makeScratch()) }
        var scores = initialScores
        for round in trees.prefix(rounds ?? trees.count) {
            for (k, tree) in round.enumerated() { scores[k] += tree.predict(row) }
        }
        return scores
    }

    /// Class probabilities from raw scores.
    public func probabilities(fromScores scores: [Double]) -> [Double] {
        var p = [Double](repeating: 0, count: classCount)
        let loss = Loss(classCount: classCount)
        scores.withUnsafeBufferPointer { s in p.withUnsafeMutableBufferPointer { loss.probabilities(s, into: $0) } }
        return p
    }

    private func checkColumns(_ x: SparseMatrix) throws(BoostError) {
        guard x.columnCount == featureCount else { throw .featureCountMismatch(expected: featureCount, got: x.columnCount) }
    }

    /// Raw scores of every row of `x`, row-major (`rowCount × scoreCount`), after `rounds` rounds.
    public func rawScores(_ x: SparseMatrix, rounds: Int? = nil, threads: Int? = nil) throws(BoostError) -> [Double] {
        try checkColumns(x)
        let chunks = Parallel.chunks(count: x.rowCount, chunkSize: 1024)
        let all = rounds == nil || rounds == trees.count
        let parts = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> [Double] in
            var out: [Double] = []
            out.reserveCapacity(chunks[c].count * scoreCount)
            let scratch = makeScratch()
            for i in chunks[c] {
                out += x.withRow(i) { row in all ? rawScores(row, scratch: scratch) : rawScores(row, rounds: rounds) }
            }
            return out
        }
        return Array(parts.joined())
    }

    /// Class probabilities of every row of `x` (`rowCount` arrays of `classCount`).
    public func predictProbabilities(_ x: SparseMatrix, threads: Int? = nil) throws(BoostError) -> [[Double]] {
        let scores = try rawScores(x, threads: threads)
        return (0 ..< x.rowCount).map { probabilities(fromScores: Array(scores[$0 * scoreCount ..< ($0 + 1) * scoreCount])) }
    }

    /// The most probable class index of every row (ties: the lower index).
    public func predict(_ x: SparseMatrix, threads: Int? = nil) throws(BoostError) -> [Int] {
        try predictProbabilities(x, threads: threads).map { p in
            var best = 0
            for k in 1 ..< p.count where p[k] > p[best] { best = k }
            return best
        }
    }

    /// Calls `body(round, scores)` after each round with the row-major raw scores of `x` so far:
    /// staged predictions for learning curves (`round` counts from 1).
    public func forEachStage(_ x: SparseMatrix, _ body: (Int, [Double]) -> Void) throws(BoostError) {
        try checkColumns(x)
        var scores = [Double](repeating: 0, count: x.rowCount * scoreCount)
        for i in 0 ..< x.rowCount { for k in 0 ..< scoreCount { scores[i * scoreCount + k] = initialScores[k] } }
        for (r, round) in trees.enumerated() {
            addTrees(round, to: &scores, x: x, scoreCount: scoreCount)
            body(r + 1, scores)
        }
    }

    /// Weighted mean log loss after each round on labelled rows (a learning curve).
    public func stagedLogLoss(_ x: SparseMatrix, labels: [Int]) throws(BoostError) -> [Double] {
        guard labels.count == x.rowCount else { throw .rowCountMismatch(rows: x.rowCount, labels: labels.count) }
        let loss = Loss(classCount: classCount)
        let y = labels.map { Int32($0) }
        let w = [Double](repeating: 1, count: labels.count)
        var curve: [Double] = []
        try forEachStage(x) { _, scores in curve.append(loss.meanLoss(rowMajorScores: scores, labels: y, weights: w)) }
        return curve
    }

    public enum ImportanceKind: String, Sendable, CaseIterable {
        /// Total loss reduction of the splits on each feature.
        case gain
        /// Number of splits on each feature.
        case split
    }

    /// Importance of each feature over all trees, unnormalised.
    public func featureImportances(_ kind: ImportanceKind = .gain) -> [Double] {
        var importance = [Double](repeating: 0, count: featureCount)
        for round in trees {
            for tree in round {
                for i in 0 ..< tree.nodeCount where tree.feature[i] >= 0 {
                    importance[Int(tree.feature[i])] += kind == .gain ? tree.gain[i] : 1
                }
            }
        }
        return importance
    }

    /// Per-score importance by gain (`[score][feature]`): which features push each class.
    public func featureImportancesByScore() -> [[Double]] {
        var importance = [[Double]](repeating: [Double](repeating: 0, count: featureCount), count: scoreCount)
        for round in trees {
            for (k, tree) in round.enumerated() {
                for i in 0 ..< tree.nodeCount where tree.feature[i] >= 0 { importance[k][Int(tree.feature[i])] += tree.gain[i] }
            }
        }
        return importance
    }

    /// Why a row scored as it did: for each score, a bias (initial score plus every tree's root
    /// value) and a contribution per feature on the row's paths; bias + Σ contributions equals
    /// the raw score (up to floating-point rounding).
    public struct Contributions: Sendable, Equatable {
        public var bias: [Double]
        /// `perFeature[k][feature]`.
        public var perFeature: [[Int32: Double]]
    }

    public func contributions(_ row: SparseRow) -> Contributions {
        var bias = initialScores
        var perFeature = [[Int32: Double]](repeating: [:], count: scoreCount)
        for round in trees {
            for (k, tree) in round.enumerated() {
                bias[k] += tree.contributions(row, into: &perFeature[k]).bias
            }
        }
        return Contributions(bias: bias, perFeature: perFeature)
    }
}
