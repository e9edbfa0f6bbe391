import Foundation
import TriageBoost
import TriageCore
import TriageData
import TriageText

/// A message to classify.
public struct Message: Hashable, Sendable, Codable {
    public var id: String
    public var subject: String
    public var body: String

    public init(id: String = "", subject: String = "", body: String) {
        self.id = id
        self.subject = subject
        self.body = body
    }
}

/// A fitted classifier at the end of a pipeline.
public enum FittedClassifier: Sendable, Equatable {
    case gradientBoosting(FittedGradientBoosting)

    /// Per-thread working memory for predicting rows one at a time.
    final class Scratch {
        let boosting: FittedGradientBoosting.PredictionScratch?
        init(_ classifier: FittedClassifier) {
            switch classifier {
            case let .gradientBoosting(model): boosting = model.makeScratch()
            }
        }
    }

    func makeScratch() -> Scratch { Scratch(self) }

    /// Class probabilities of one feature row (columns increasing).
    func probabilities(columns: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>, scratch: Scratch) -> [Double] {
        switch self {
        case let .gradientBoosting(model):
            guard let s = scratch.boosting else { return model.probabilities(fromScores: model.rawScores(columns: columns, values: values)) }
            return model.probabilities(columns: columns, values: values, scratch: s)
        }
    }
}

/// A classifier's answer for one message.
public struct Prediction: Sendable, Equatable {
    public struct Scored: Sendable, Equatable {
        public var label: String
        public var probability: Double
    }

    public var id: String
    /// The most probable label (ties: the label listed first).
    public var label: String
    public var probability: Double
    /// The `top` most probable labels, most probable first.
    public var top: [Scored]
    /// True when `probability` is below the threshold the prediction was made with.
    public var unsure: Bool
}

/// A fitted pipeline: subject weighting → analyzer → counts → TF-IDF → classifier.
/// Plain values; safe to share across threads (each call makes its own per-thread state).
public struct FittedPipeline: Sendable {
    public let settings: PipelineSettings
    /// Class labels, sorted (code point order); probabilities come in this order.
    public let labels: [String]
    public let vectorizer: FittedCountVectorizer
    public let tfidf: FittedTfidfTransformer
    public let classifier: FittedClassifier

    public init(settings: PipelineSettings, labels: [String], vectorizer: FittedCountVectorizer,
                tfidf: FittedTfidfTransformer, classifier: FittedClassifier) {
        self.settings = settings
        self.labels = labels
        self.vectorizer = vectorizer
        self.tfidf = tfidf
        self.classifier = classifier
    }

    /// The text the analyzer sees for a message.
    public func text(of message: Message) -> String {
        settings.text.compose(subject: message.subject, body: message.body)
    }

    /// TF-IDF rows of messages (parallel, deterministic).
    public func features(_ messages: [Message], threads: Int? = nil) -> SparseMatrix {
        // The vectorizer and transformer were fitted together: the column counts match.
        tfidf.transformUnchecked(vectorizer.transform(messages.map(text), threads: threads))
    }

    /// Class probabilities of each message (`labels` order).
    public func predictProbabilities(_ messages: [Message], threads: Int? = nil) -> [[Double]] {
        let x = features(messages, threads: threads)
        let chunks = Parallel.chunks(count: x.rowCount, chunkSize: 256)
        let parts = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> [[Double]] in
            let scratch = classifier.makeScratch()
            return chunks[c].map { i in row(x, i) { columns, values in classifier.probabilities(columns: columns, values: values, scratch: scratch) } }
        }
        return Array(parts.joined())
    }

    /// Predictions with the `top` most probable labels; `unsure` below `threshold`.
    public func predict(_ messages: [Message], top: Int = 3, threshold: Double = 0, threads: Int? = nil) -> [Prediction] {
        zip(messages, predictProbabilities(messages, threads: threads)).map { message, p in
            prediction(id: message.id, probabilities: p, top: top, threshold: threshold)
        }
    }

    /// A prediction from class probabilities.
    public func prediction(id: String, probabilities p: [Double], top: Int, threshold: Double) -> Prediction {
        let order = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
        let best = order.first ?? 0
        return Prediction(id: id, label: labels[best], probability: p[best],
                          top: order.prefix(max(1, top)).map { Prediction.Scored(label: labels[$0], probability: p[$0]) },
                          unsure: p[best] < threshold)
    }

    /// A per-thread predictor for one message at a time (a server keeps one per thread).
    public func makePredictor() -> Predictor { Predictor(self) }

    /// Predicts single messages, reusing its analyzer caches between calls. Not thread-safe.
    public final class Predictor {
        public let pipeline: FittedPipeline
        private let worker: FittedCountVectorizer.Worker
        private let scratch: FittedClassifier.Scratch

        init(_ pipeline: FittedPipeline) {
            self.pipeline = pipeline
            worker = pipeline.vectorizer.makeWorker()
            scratch = pipeline.classifier.makeScratch()
        }

        /// Class probabilities of one message.
        public func probabilities(_ message: Message) -> [Double] {
            let row = pipeline.tfidf.transformRow(worker.counts(of: pipeline.text(of: message)))
            let columns = row.map { Int32($0.column) }, values = row.map(\.value)
            return columns.withUnsafeBufferPointer { c in
                values.withUnsafeBufferPointer { v in pipeline.classifier.probabilities(columns: c, values: v, scratch: scratch) }
            }
        }

        public func predict(_ message: Message, top: Int = 3, threshold: Double = 0) -> Prediction {
            pipeline.prediction(id: message.id, probabilities: probabilities(message), top: top, threshold: threshold)
        }
    }
}

/// Calls `body` with the stored columns and values of row `i`.
func row<R>(_ x: SparseMatrix, _ i: Int, _ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Double>) -> R) -> R {
    let lo = x.rowOffsets[i], hi = x.rowOffsets[i + 1]
    return x.columnIndices.withUnsafeBufferPointer { c in
        x.values.withUnsafeBufferPointer { v in
            body(UnsafeBufferPointer(rebasing: c[lo ..< hi]), UnsafeBufferPointer(rebasing: v[lo ..< hi]))
        }
    }
}

extension PipelineSettings {
    /// Fits the pipeline on labelled messages; labels are sorted (code point order) and become
    /// the classifier's classes.
    public func fit(_ messages: [LabeledMessage], threads: Int? = nil, stopWordDirectories: [String]? = nil) throws(PipelineError) -> FittedPipeline {
        try validate()
        guard !messages.isEmpty else { throw .noTrainingMessages }
        var labelled: [(Message, String)] = []
        labelled.reserveCapacity(messages.count)
        for m in messages {
            guard let label = m.label, !label.isEmpty else { throw .missingLabel(line: m.line) }
            labelled.append((Message(id: m.id, subject: m.subject, body: m.body), label))
        }
        let labels = Set(labelled.map(\.1)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard labels.count >= 2 else { throw .tooFewLabels(labels) }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let y = labelled.map { index[$0.1] ?? 0 }
        let texts = labelled.map { text.compose(subject: $0.0.subject, body: $0.0.body) }
        let vectorizer: FittedCountVectorizer, counts: SparseMatrix
        let fittedTfidf: FittedTfidfTransformer, x: SparseMatrix
        do {
            (vectorizer, counts) = try vect.fitTransform(texts, threads: threads, stopWordDirectories: stopWordDirectories)
            (fittedTfidf, x) = try tfidf.fitTransform(counts)
        } catch {
            throw .text(error)
        }
        let classifier: FittedClassifier
        switch clf {
        case let .gradientBoosting(settings):
            do {
                classifier = .gradientBoosting(try settings.fit(x, labels: y, classNames: labels, threads: threads))
            } catch {
                throw .classifier(error)
            }
        }
        return FittedPipeline(settings: self, labels: labels, vectorizer: vectorizer, tfidf: fittedTfidf, classifier: classifier)
    }
}

/// Why a message got its score for one label: the n-grams that moved it most.
public struct Explanation: Sendable, Equatable {
    public struct Term: Sendable, Equatable {
        public var term: String
        /// Contribution to the label's raw score (positive: towards the label).
        public var contribution: Double
    }

    public var label: String
    public var probability: Double
    /// The raw score before any term of the message: prior and tree roots.
    public var bias: Double
    /// The largest contributions by absolute value, largest first.
    public var terms: [Term]
}

extension FittedPipeline {
    /// Explains the score of `label` (default: the predicted one) for `message` with path-based
    /// tree contributions mapped back to n-grams. Bias + all contributions = the raw score.
    public func explain(_ message: Message, label: String? = nil, limit: Int = 10) -> Explanation {
        let x = features([message], threads: 1)
        let p = predictProbabilities([message], threads: 1)[0]
        let best = p.indices.max { p[$0] != p[$1] ? p[$0] < p[$1] : $0 > $1 } ?? 0
        let k = label.flatMap { labels.firstIndex(of: $0) } ?? best
        switch classifier {
        case let .gradientBoosting(model):
            let parts = row(x, 0) { c, v in model.contributions(columns: c, values: v) }
            // Binary models have one score, for labels[1]; labels[0]'s is its negation.
            let score = model.scoreCount == 1 ? 0 : k
            let sign = model.scoreCount == 1 && k == 0 ? -1.0 : 1.0
            let terms = parts.perFeature[score]
                .map { Explanation.Term(term: vectorizer.vocabulary[Int($0.key)], contribution: sign * $0.value) }
                .sorted { abs($0.contribution) != abs($1.contribution) ? abs($0.contribution) > abs($1.contribution) : $0.term < $1.term }
            return Explanation(label: labels[k], probability: p[k], bias: sign * parts.bias[score], terms: Array(terms.prefix(limit)))
        }
    }
}
