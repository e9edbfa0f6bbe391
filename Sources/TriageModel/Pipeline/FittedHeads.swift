import TriageCore

/// A model of several label heads (issue 31): one pipeline per head, all sharing the same
/// features — clean step, text, vectorizers, TF-IDF, rule columns (`blocks` and `cleaner` are the
/// same values, held once) — each with its own labels, classifier and confidence policy. The
/// first head is the model's primary one: what a single-head reader of the model sees.
/// Fitted by `PipelineFit.fitHeads`.
public struct FittedHeads: Sendable {
    /// The heads, the first first.
    public let heads: [FittedPipeline]

    public init(_ heads: [FittedPipeline]) {
        precondition(!heads.isEmpty, "a model has at least one head")
        self.heads = heads
    }

    public var primary: FittedPipeline { heads[0] }
    public var names: [String] { heads.map(\.head) }

    /// The head named `name`.
    public subscript(name: String) -> FittedPipeline? { heads.first { $0.head == name } }

    /// Each message's predictions, one per head in head order: the features computed once per
    /// message, then every head's classifier, policy and override rules.
    public func predict(_ messages: [Message], top: Int = 3, threads: Int? = nil) -> [[Prediction]] {
        let (x, matched) = primary.featuresAndMatches(messages, threads: threads)
        let perHead = heads.map { head -> [Prediction] in
            let rules = head.rules()
            let probabilities = head.probabilities(of: x, threads: threads)
            return messages.indices.map { head.prediction(id: messages[$0].id, probabilities: probabilities[$0], top: top, rules: rules, matched: matched[$0]) }
        }
        return messages.indices.map { i in perHead.map { $0[i] } }
    }

    /// A per-thread predictor answering every head of one message at a time.
    public func makePredictor() -> Predictor { Predictor(self) }

    /// Predicts every head of single messages: the first head's `FittedPipeline.Predictor` builds
    /// the feature row once; each later head scores the same row. Not thread-safe.
    public final class Predictor {
        public let model: FittedHeads
        private let first: FittedPipeline.Predictor
        private let scorers: [any RowScorer]

        init(_ model: FittedHeads) {
            self.model = model
            first = model.primary.makePredictor()
            scorers = model.heads.dropFirst().map { $0.classifier.makeRowScorer() }
        }

        /// One prediction per head, in head order.
        public func predict(_ message: Message, top: Int = 3, rules: [ConfidenceRules]? = nil) -> [Prediction] {
            var out: [Prediction] = []
            out.reserveCapacity(model.heads.count)
            first.withFeatureRow(message) { row, matched, firstProbabilities in
                for (k, head) in model.heads.enumerated() {
                    var p = k == 0 ? firstProbabilities : scorers[k - 1].probabilities(row)
                    if k > 0 { head.policy?.calibration.apply(&p) }
                    let decided = rules?[k] ?? head.rules()
                    out.append(head.prediction(id: message.id, probabilities: p, top: top, rules: decided, matched: matched))
                }
            }
            return out
        }
    }
}
