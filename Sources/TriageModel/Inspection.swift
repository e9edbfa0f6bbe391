import TriageBoost
import TriageCore

/// What a fitted pipeline learned, for people: which n-grams matter for each label.
public struct TermImportance: Sendable, Equatable {
    public var term: String
    /// Trees: total loss reduction of the splits on the term, in the label's trees. Linear
    /// models: the term's weight for the label (how much a TF-IDF of 1 adds to its score).
    public var gain: Double
    /// Gain-weighted share of splits where the term's presence (a higher TF-IDF) raises the
    /// label's score: +1 always towards the label, −1 always away from it.
    public var direction: Double
    /// Splits on the term in the label's trees.
    public var splits: Int
}

/// Summary statistics of the trees.
public struct TreeStatistics: Sendable, Equatable {
    public var rounds: Int
    public var trees: Int
    public var leaves: Int
    public var maxDepth: Int
    public var meanLeaves: Double
    /// Distinct terms used by at least one split.
    public var termsUsed: Int
}

extension FittedPipeline {
    /// The `limit` terms with the most gain (trees) or the largest weight (linear models) for
    /// each label (`labels` order). A binary model has one score, for `labels[1]`; both labels get
    /// its terms, directions mirrored for `labels[0]`.
    public func topTerms(limit: Int = 10) -> [(label: String, terms: [TermImportance])] {
        let model = classifier.representative.model
        func ranked(_ k: Int, sign: Double) -> [TermImportance] {
            model.topFeatures(score: k, sign: sign, limit: limit).map {
                TermImportance(term: term(ofColumn: $0.feature), gain: $0.gain, direction: $0.direction, splits: $0.splits)
            }
        }
        if model.scoreCount == 1 {
            return [(labels[0], ranked(0, sign: -1)), (labels[1], ranked(0, sign: 1))]
        }
        return labels.indices.map { (labels[$0], ranked($0, sign: 1)) }
    }

    /// Statistics of the trees; nil for a linear model.
    public var treeStatistics: TreeStatistics? {
        guard let model = classifier.representative.model(as: FittedGradientBoosting.self) else { return nil }
        let all = model.trees.flatMap { $0 }
        let leaves = all.reduce(0) { $0 + $1.leafCount }
        var used = Set<Int32>()
        for t in all { for f in t.feature where f >= 0 { used.insert(f) } }
        return TreeStatistics(rounds: model.roundCount, trees: all.count, leaves: leaves,
                              maxDepth: all.map(\.depth).max() ?? 0,
                              meanLeaves: all.isEmpty ? 0 : Double(leaves) / Double(all.count), termsUsed: used.count)
    }
}
