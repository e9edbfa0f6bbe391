import TriageCore

/// Why a message got its score for one label: the n-grams that moved it most.
public struct Explanation: Sendable, Equatable {
    public struct Term: Sendable, Equatable {
        public var term: String
        /// Contribution to the label's raw score (positive: towards the label).
        public var contribution: Double
        /// Whether the n-gram is in the message. Trees split on absence too: an n-gram a tree
        /// tested and did not find moves the score as much as one it found.
        public var present: Bool = true
    }

    public var label: String
    public var probability: Double
    /// The raw score before any term of the message: prior and tree roots.
    public var bias: Double
    /// The largest contributions by absolute value, largest first.
    public var terms: [Term]
}

extension FittedPipeline {
    /// Explains the score of `label` (default: the predicted one) for `message`: for trees,
    /// path-based contributions; for linear models, value × weight of each n-gram. Either way
    /// bias + all contributions = the raw score. A voting model is explained by its
    /// `representative` member (the probability shown is still the ensemble's).
    public func explain(_ message: Message, label: String? = nil, limit: Int = 10) -> Explanation {
        let x = features([message], threads: 1)
        let p = predictProbabilities([message], threads: 1)[0]
        let k = label.flatMap { labels.firstIndex(of: $0) } ?? Ranking.argmax(p)
        let model = classifier.representative
        let parts = x.withRow(0) { model.model.scoreContributions($0) }
            ?? ScoreContributions(bias: [Double](repeating: 0, count: model.scoreCount), perFeature: .init(repeating: [:], count: model.scoreCount))
        let present = x.withRow(0) { row in Set(row.columns.indices.filter { row.values[$0] != 0 }.map { Int(row.columns[$0]) }) }
        // Binary models have one score, for labels[1]; labels[0]'s is its negation.
        let score = model.scoreCount == 1 ? 0 : k
        let sign = model.scoreCount == 1 && k == 0 ? -1.0 : 1.0
        let terms = parts.perFeature[score]
            .map { Explanation.Term(term: term(ofColumn: Int($0.key)), contribution: sign * $0.value, present: present.contains(Int($0.key))) }
            .sorted { abs($0.contribution) != abs($1.contribution) ? abs($0.contribution) > abs($1.contribution) : $0.term < $1.term }
        return Explanation(label: labels[k], probability: p[k], bias: sign * parts.bias[score], terms: Array(terms.prefix(limit)))
    }
}
