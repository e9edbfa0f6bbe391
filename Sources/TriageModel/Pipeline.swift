import Foundation
import TriageBoost
import TriageCore
import TriageData
import TriageLinear
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
    /// Logistic regression, linear SVM or naive Bayes: one weight per n-gram and class.
    case linear(FittedLinearModel)
    /// Soft voting of fitted members.
    case voting(FittedVoting)

    /// Per-thread working memory for predicting rows one at a time.
    final class Scratch {
        let boosting: FittedGradientBoosting.PredictionScratch?
        let members: [Scratch]
        init(_ classifier: FittedClassifier) {
            switch classifier {
            case let .gradientBoosting(model):
                boosting = model.makeScratch()
                members = []
            case .linear:
                boosting = nil
                members = []
            case let .voting(v):
                boosting = nil
                members = v.members.map { Scratch($0) }
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
        case let .linear(model):
            return model.probabilities(columns: columns, values: values)
        case let .voting(v):
            if let stack = v.linearStack { return v.probabilities(stack: stack, columns: columns, values: values) }
            var out = [Double]()
            for (m, member) in v.members.enumerated() {
                let p = member.probabilities(columns: columns, values: values, scratch: scratch.members[m])
                if out.isEmpty { out = [Double](repeating: 0, count: p.count) }
                let w = v.weights[m] / v.weightSum
                for k in p.indices { out[k] += w * p[k] }
            }
            return out
        }
    }

    /// Class probabilities of every row of a feature matrix.
    public func predictProbabilities(_ x: SparseMatrix, threads: Int? = nil) throws(PipelineError) -> [[Double]] {
        switch self {
        case let .gradientBoosting(model):
            do { return try model.predictProbabilities(x, threads: threads) } catch { throw .classifier(error) }
        case let .linear(model):
            do { return try model.predictProbabilities(x, threads: threads) } catch { throw .linear(error) }
        case let .voting(v):
            var out: [[Double]] = []
            for (m, member) in v.members.enumerated() {
                let p = try member.predictProbabilities(x, threads: threads)
                let w = v.weights[m] / v.weightSum
                if out.isEmpty { out = p.map { $0.map { _ in 0 } } }
                for i in p.indices { for k in p[i].indices { out[i][k] += w * p[i][k] } }
            }
            return out
        }
    }

    /// Columns of the feature matrix the classifier expects.
    public var featureCount: Int {
        switch self {
        case let .gradientBoosting(model): return model.featureCount
        case let .linear(model): return model.featureCount
        case let .voting(v): return v.members.first?.featureCount ?? 0
        }
    }

    /// A short name of the model type, as in the settings (`gradient_boosting`, `logistic_regression`…).
    public var typeName: String {
        switch self {
        case .gradientBoosting: return "gradient_boosting"
        case let .linear(model): return model.kind.rawValue
        case .voting: return "voting"
        }
    }

    /// The member that explains and summarises a voting model: its first linear member, else
    /// its first member. Itself for any other model.
    public var representative: FittedClassifier {
        guard case let .voting(v) = self else { return self }
        return v.members.first { if case .linear = $0 { return true } else { return false } } ?? v.members[0]
    }
}

/// A fitted soft-voting ensemble: probabilities are Σ wₘ pₘ / Σ wₘ over the members, summed in
/// member order.
public struct FittedVoting: Sendable, Equatable {
    public let members: [FittedClassifier]
    public let weights: [Double]

    /// When every member is linear: their weights side by side, scored in one pass.
    public let linearStack: LinearStack?

    public init(members: [FittedClassifier], weights: [Double]) {
        self.members = members
        self.weights = weights
        let linear = members.compactMap { m -> FittedLinearModel? in if case let .linear(l) = m { return l } else { return nil } }
        linearStack = linear.count == members.count ? LinearStack(linear) : nil
    }

    var weightSum: Double { weights.reduce(0, +) }

    /// Σ wₘ pₘ / Σ wₘ with every member's scores from one pass over the stacked weights (the same
    /// bits as scoring each member on its own).
    func probabilities(stack: LinearStack, columns: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>) -> [Double] {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: stack.stride) { scores in
            stack.scores(columns: columns, values: values, into: scores)
            let classes = stack.scoreCounts[0] == 1 ? 2 : stack.scoreCounts[0]
            let sum = weightSum
            return [Double](unsafeUninitializedCapacity: classes) { out, n in
                out.initialize(repeating: 0)
                for m in 0 ..< members.count {
                    stack.accumulateProbabilities(model: m, scores: scores, weight: weights[m] / sum, into: out)
                }
                n = classes
            }
        }
    }
}

/// A classifier's answer for one message.
public struct Prediction: Sendable, Equatable {
    public struct Scored: Sendable, Equatable {
        public var label: String
        public var probability: Double

        public init(label: String, probability: Double) {
            self.label = label
            self.probability = probability
        }
    }

    public var id: String
    /// The most probable label (ties: the label listed first).
    public var label: String
    public var probability: Double
    /// The `top` most probable labels, most probable first.
    public var top: [Scored]
    /// True when `probability` is below the threshold the prediction was made with.
    public var unsure: Bool

    public init(id: String, label: String, probability: Double, top: [Scored], unsure: Bool) {
        self.id = id
        self.label = label
        self.probability = probability
        self.top = top
        self.unsure = unsure
    }
}

/// A fitted pipeline: subject weighting → analyzers → counts → TF-IDF (one block, or a union of
/// blocks side by side) → classifier. Plain values; safe to share across threads (each call makes
/// its own per-thread state).
public struct FittedPipeline: Sendable {
    public let settings: PipelineSettings
    /// Class labels, sorted (code point order); probabilities come in this order.
    public let labels: [String]
    /// The feature blocks, in column order (one for a pipeline without a union).
    public let blocks: [FittedBlock]
    public let classifier: FittedClassifier

    public init(settings: PipelineSettings, labels: [String], blocks: [FittedBlock], classifier: FittedClassifier) {
        self.settings = settings
        self.labels = labels
        self.blocks = blocks
        self.classifier = classifier
    }

    /// A single-block pipeline.
    public init(settings: PipelineSettings, labels: [String], vectorizer: FittedCountVectorizer,
                tfidf: FittedTfidfTransformer, classifier: FittedClassifier) {
        self.init(settings: settings, labels: labels,
                  blocks: [FittedBlock(settings: settings.blocks[0], vectorizer: vectorizer, tfidf: tfidf, offset: 0)],
                  classifier: classifier)
    }

    /// The first block's vectorizer (the only one without a union).
    public var vectorizer: FittedCountVectorizer { blocks[0].vectorizer }
    /// The first block's TF-IDF (the only one without a union).
    public var tfidf: FittedTfidfTransformer { blocks[0].tfidf }

    /// Columns of the feature matrix: the blocks' vocabularies together.
    public var featureCount: Int { blocks.reduce(0) { $0 + $1.featureCount } }

    /// The n-gram of a feature column; prefixed with its block's name (`char:ard`) in a union.
    public func term(ofColumn column: Int) -> String {
        guard let block = blocks.last(where: { $0.offset <= column }) else { return "?" }
        let term = block.vectorizer.vocabulary[column - block.offset]
        return settings.union.isEmpty ? term : "\(block.settings.name):\(term)"
    }

    /// Every term, in column order (see `term(ofColumn:)`).
    public var terms: [String] {
        blocks.flatMap { b in settings.union.isEmpty ? b.vectorizer.vocabulary : b.vectorizer.vocabulary.map { "\(b.settings.name):\($0)" } }
    }

    /// The text the first block's analyzer sees for a message.
    public func text(of message: Message) -> String {
        blocks[0].settings.text(subject: message.subject, body: message.body, composer: settings.text)
    }

    /// Feature rows of messages: each block's TF-IDF rows, weighted, side by side (parallel,
    /// deterministic).
    public func features(_ messages: [Message], threads: Int? = nil) -> SparseMatrix {
        let parts = blocks.map { b -> SparseMatrix in
            let texts = messages.map { b.settings.text(subject: $0.subject, body: $0.body, composer: settings.text) }
            // The vectorizer and transformer were fitted together: the column counts match.
            return b.tfidf.transformUnchecked(b.vectorizer.transform(texts, threads: threads))
        }
        if parts.count == 1 && blocks[0].settings.weight == 1 { return parts[0] }
        // Same row counts by construction.
        return (try? SparseMatrix.horizontalStack(parts, weights: blocks.map(\.settings.weight))) ?? parts[0]
    }

    /// Class probabilities of each message (`labels` order).
    public func predictProbabilities(_ messages: [Message], threads: Int? = nil) -> [[Double]] {
        let x = features(messages, threads: threads)
        let chunks = Parallel.chunks(count: x.rowCount, chunkSize: 256)
        let parts = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> [[Double]] in
            let scratch = classifier.makeScratch()
            return chunks[c].map { i in x.withRow(i) { columns, values in classifier.probabilities(columns: columns, values: values, scratch: scratch) } }
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
        let order = Self.mostProbable(p, count: max(1, top))
        let best = order.first ?? 0
        return Prediction(id: id, label: labels[best], probability: p[best],
                          top: order.map { Prediction.Scored(label: labels[$0], probability: p[$0]) },
                          unsure: p[best] < threshold)
    }

    /// Indices of the `count` largest values, largest first, ties in index order: the prefix of a
    /// stable sort by decreasing value, found by insertion into a short list (a served message
    /// asks for 3 of 77 classes; sorting all of them cost more than the rest of the answer).
    static func mostProbable(_ p: [Double], count: Int) -> [Int] {
        var order: [Int] = []
        order.reserveCapacity(min(count, p.count) + 1)
        for i in p.indices {
            if order.count == count, let last = order.last, !(p[i] > p[last]) { continue }
            // After every kept index with a value ≥ p[i]: equal values keep index order.
            var at = order.count
            while at > 0 && p[order[at - 1]] < p[i] { at -= 1 }
            order.insert(i, at: at)
            if order.count > count { order.removeLast() }
        }
        return order
    }

    /// A per-thread predictor for one message at a time (a server keeps one per thread).
    public func makePredictor() -> Predictor { Predictor(self) }

    /// Predicts single messages, reusing its analyzer caches between calls. Not thread-safe.
    public final class Predictor {
        public let pipeline: FittedPipeline
        private let workers: [FittedCountVectorizer.Worker]
        private let scratch: FittedClassifier.Scratch
        private var columns: [Int32] = []
        private var values: [Double] = []

        init(_ pipeline: FittedPipeline) {
            self.pipeline = pipeline
            workers = pipeline.blocks.map { $0.vectorizer.makeWorker() }
            scratch = pipeline.classifier.makeScratch()
        }

        /// Class probabilities of one message.
        public func probabilities(_ message: Message) -> [Double] {
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
            return columns.withUnsafeBufferPointer { c in
                values.withUnsafeBufferPointer { v in pipeline.classifier.probabilities(columns: c, values: v, scratch: scratch) }
            }
        }

        public func predict(_ message: Message, top: Int = 3, threshold: Double = 0) -> Prediction {
            pipeline.prediction(id: message.id, probabilities: probabilities(message), top: top, threshold: threshold)
        }
    }
}

extension PipelineSettings {
    /// Fits the pipeline on labelled messages; labels are sorted (code point order) and become
    /// the classifier's classes.
    public func fit(_ messages: [LabeledMessage], threads: Int? = nil, stopWordDirectories: [String]? = nil) throws(PipelineError) -> FittedPipeline {
        try validate()
        guard !messages.isEmpty else { throw .noTrainingMessages }
        for m in messages {
            guard let label = m.label, !label.isEmpty else { throw .missingLabel(line: m.line) }
        }
        let labels = Set(messages.compactMap(\.label)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard labels.count >= 2 else { throw .tooFewLabels(labels) }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let y = messages.map { index[$0.label ?? ""] ?? 0 }
        var fitted: [FittedBlock] = []
        var parts: [SparseMatrix] = []
        var offset = 0
        for block in blocks {
            let texts = messages.map { block.text(subject: $0.subject, body: $0.body, composer: text) }
            do {
                let (vectorizer, counts) = try block.vect.fitTransform(texts, threads: threads, stopWordDirectories: stopWordDirectories)
                let (tfidf, x) = try block.tfidf.fitTransform(counts)
                fitted.append(FittedBlock(settings: block, vectorizer: vectorizer, tfidf: tfidf, offset: offset))
                parts.append(x)
                offset += vectorizer.vocabulary.count
            } catch {
                throw union.isEmpty ? .text(error) : .invalidUnion("block \"\(block.name)\": \(error.description)")
            }
        }
        let x: SparseMatrix
        if parts.count == 1 && blocks[0].weight == 1 {
            x = parts[0]
        } else {
            do { x = try SparseMatrix.horizontalStack(parts, weights: blocks.map(\.weight)) } catch {
                throw .invalidUnion("\(error)")
            }
        }
        let classifier = try clf.fit(x, labels: y, classNames: labels, threads: threads)
        return FittedPipeline(settings: self, labels: labels, blocks: fitted, classifier: classifier)
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
    /// Explains the score of `label` (default: the predicted one) for `message`: for trees,
    /// path-based contributions; for linear models, value × weight of each n-gram. Either way
    /// bias + all contributions = the raw score. A voting model is explained by its
    /// `representative` member (the probability shown is still the ensemble's).
    public func explain(_ message: Message, label: String? = nil, limit: Int = 10) -> Explanation {
        let x = features([message], threads: 1)
        let p = predictProbabilities([message], threads: 1)[0]
        let best = p.indices.max { p[$0] != p[$1] ? p[$0] < p[$1] : $0 > $1 } ?? 0
        let k = label.flatMap { labels.firstIndex(of: $0) } ?? best
        let parts: (bias: [Double], perFeature: [[Int32: Double]])
        let scoreCount: Int
        switch classifier.representative {
        case let .gradientBoosting(model):
            let c = x.withRow(0) { c, v in model.contributions(columns: c, values: v) }
            parts = (c.bias, c.perFeature)
            scoreCount = model.scoreCount
        case let .linear(model):
            parts = x.withRow(0) { c, v in model.contributions(columns: c, values: v) }
            scoreCount = model.scoreCount
        case .voting:
            preconditionFailure("a voting model's representative is one of its members")
        }
        // Binary models have one score, for labels[1]; labels[0]'s is its negation.
        let score = scoreCount == 1 ? 0 : k
        let sign = scoreCount == 1 && k == 0 ? -1.0 : 1.0
        let terms = parts.perFeature[score]
            .map { Explanation.Term(term: term(ofColumn: Int($0.key)), contribution: sign * $0.value) }
            .sorted { abs($0.contribution) != abs($1.contribution) ? abs($0.contribution) > abs($1.contribution) : $0.term < $1.term }
        return Explanation(label: labels[k], probability: p[k], bias: sign * parts.bias[score], terms: Array(terms.prefix(limit)))
    }
}
