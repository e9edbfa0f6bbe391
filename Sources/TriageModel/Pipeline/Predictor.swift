import TriageCore
import TriageText

extension FittedPipeline {
    /// A per-thread predictor for one message at a time (a server keeps one per thread).
    public func makePredictor() -> Predictor { Predictor(self) }

    /// Predicts single messages, reusing its analyzer caches and the classifier's working
    /// memory between calls. Not thread-safe. Gives the bits of the batch
    /// `predictProbabilities` for the same message.
    public final class Predictor {
        public let pipeline: FittedPipeline
        private let workers: [FittedCountVectorizer.Worker]
        private let scorer: any RowScorer
        private let ruleWorker: RuleMatcher.Worker?
        private var columns: [Int32] = []
        private var values: [Double] = []

        init(_ pipeline: FittedPipeline) {
            self.pipeline = pipeline
            workers = pipeline.blocks.map { $0.vectorizer.makeWorker() }
            scorer = pipeline.classifier.makeRowScorer()
            ruleWorker = pipeline.routing?.matcher.makeWorker()
        }

        /// Class probabilities of one message.
        public func probabilities(_ message: Message) -> [Double] {
            var matched: [Int] = []
            return probabilities(message, matched: &matched)
        }

        /// Class probabilities of one message, and the rules it matched (in rule order).
        public func probabilities(_ message: Message, matched: inout [Int]) -> [Double] {
            var out: [Double] = []
            withFeatureRow(message) { _, rules, p in
                matched = rules
                out = p
            }
            return out
        }

        /// Builds one message's feature row and calls `body` with it, the rules it matched and
        /// this pipeline's (calibrated) probabilities; the row is valid only during the call
        /// (the heads of `FittedHeads` score the same row).
        func withFeatureRow(_ message: Message, _ body: (SparseRow, [Int], [Double]) -> Void) {
            // The buffers are moved into locals for the loop: every append to a class's stored
            // property is a dynamic exclusivity check, hundreds per message.
            var columns = self.columns, values = self.values
            self.columns = []
            self.values = []
            defer {
                self.columns = columns
                self.values = values
            }
            columns.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            let message = pipeline.cleaned(message)
            for b in pipeline.blocks.indices {
                let settings = pipeline.blocks[b].settings
                let text = settings.text(subject: message.subject, body: message.body, composer: pipeline.settings.text)
                // Counts, then TF-IDF in place, then the block's column offset and weight: the
                // values of `features([message])`, without a temporary array per step.
                let start = columns.count
                workers[b].appendCounts(of: text, columns: &columns, values: &values)
                pipeline.blocks[b].tfidf.weightRow(columns: columns[start...], values: &values[start...])
                let weight = settings.weight, offset = Int32(pipeline.blocks[b].offset)
                for k in start ..< columns.count {
                    columns[k] += offset
                    values[k] *= weight
                }
            }
            var matched: [Int] = []
            if let ruleWorker {
                matched = ruleWorker.matches(subject: message.subject, body: message.body)
                pipeline.appendRuleColumns(matched, columns: &columns, values: &values)
            }
            SparseRow.with(columns: columns, values: values) { row in
                var p = scorer.probabilities(row)
                pipeline.policy?.calibration.apply(&p)
                body(row, matched, p)
            }
        }

        public func predict(_ message: Message, top: Int = 3, threshold: Double? = nil) -> Prediction {
            predict(message, top: top, rules: pipeline.rules(threshold: threshold))
        }

        public func predict(_ message: Message, top: Int = 3, rules: ConfidenceRules) -> Prediction {
            var matched: [Int] = []
            let p = probabilities(message, matched: &matched)
            return pipeline.prediction(id: message.id, probabilities: p, top: top, rules: rules, matched: matched)
        }
    }
}
