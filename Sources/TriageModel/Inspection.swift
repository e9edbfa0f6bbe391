import TriageBoost
import TriageCore
import TriageLinear

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
        switch classifier.representative {
        case .voting: return []
        case let .linear(model):
            func ranked(_ k: Int, sign: Double) -> [TermImportance] {
                let weights = (0 ..< model.featureCount).map { sign * model.weight(feature: $0, score: k) }
                return weights.indices.filter { weights[$0] > 0 }
                    .sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
                    .prefix(limit)
                    .map { TermImportance(term: term(ofColumn: $0), gain: weights[$0], direction: 1, splits: 0) }
            }
            if model.scoreCount == 1 {
                return [(labels[0], ranked(0, sign: -1)), (labels[1], ranked(0, sign: 1))]
            }
            return labels.indices.map { (labels[$0], ranked($0, sign: 1)) }
        case let .gradientBoosting(model):
            var gain = [[Double]](repeating: [Double](repeating: 0, count: model.featureCount), count: model.scoreCount)
            var toward = gain
            var splits = [[Int]](repeating: [Int](repeating: 0, count: model.featureCount), count: model.scoreCount)
            for round in model.trees {
                for (k, tree) in round.enumerated() {
                    for i in 0 ..< tree.nodeCount where tree.feature[i] >= 0 {
                        let f = Int(tree.feature[i])
                        let g = tree.gain[i]
                        gain[k][f] += g
                        splits[k][f] += 1
                        let delta = tree.value[Int(tree.right[i])] - tree.value[Int(tree.left[i])]
                        toward[k][f] += delta > 0 ? g : (delta < 0 ? -g : 0)
                    }
                }
            }
            func ranked(_ k: Int, sign: Double) -> [TermImportance] {
                gain[k].indices.filter { gain[k][$0] > 0 }
                    .sorted { gain[k][$0] != gain[k][$1] ? gain[k][$0] > gain[k][$1] : $0 < $1 }
                    .prefix(limit)
                    .map { f in
                        TermImportance(term: term(ofColumn: f), gain: gain[k][f],
                                       direction: sign * toward[k][f] / gain[k][f], splits: splits[k][f])
                    }
            }
            if model.scoreCount == 1 {
                return [(labels[0], ranked(0, sign: -1)), (labels[1], ranked(0, sign: 1))]
            }
            return labels.indices.map { (labels[$0], ranked($0, sign: 1)) }
        }
    }

    /// Statistics of the trees; nil for a linear model.
    public var treeStatistics: TreeStatistics? {
        switch classifier.representative {
        case .linear, .voting: return nil
        case let .gradientBoosting(model):
            let all = model.trees.flatMap { $0 }
            let leaves = all.reduce(0) { $0 + $1.leafCount }
            var used = Set<Int32>()
            for t in all { for f in t.feature where f >= 0 { used.insert(f) } }
            return TreeStatistics(rounds: model.roundCount, trees: all.count, leaves: leaves,
                                  maxDepth: all.map(\.depth).max() ?? 0,
                                  meanLeaves: all.isEmpty ? 0 : Double(leaves) / Double(all.count), termsUsed: used.count)
        }
    }
}
