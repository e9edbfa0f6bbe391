import TriageCore
import TriageLinear
import TriageText

/// A fitted pipeline: subject weighting → analyzers → counts → TF-IDF (one block, or a union of
/// blocks side by side) → classifier. Plain values; safe to share across threads (each call makes
/// its own per-thread state). Fitted by `PipelineFit` (or `PipelineSettings.fit`), read from a
/// model file by `TriageArtifact`.
public struct FittedPipeline: Sendable {
    public let settings: PipelineSettings
    /// Class labels in `LabelEncoder` order; probabilities come in this order.
    public let labels: [String]
    /// The feature blocks, in column order (one for a pipeline without a union).
    public let blocks: [FittedBlock]
    public let classifier: FittedClassifier
    /// The clean step with its patterns, when the settings have one (`settings.clean`).
    public let cleaner: Cleaner?
    /// How probabilities are calibrated and when a prediction is unsure (`ConfidencePolicy`);
    /// nil: the classifier's probabilities, unsure below the threshold a caller gives.
    public private(set) var policy: ConfidencePolicy?
    /// The index of the policy's out-of-scope label in `labels`.
    public private(set) var oosIndex: Int?
    /// The team's routing rules, when the model has them (`withRouting`): feature rules are
    /// columns after the blocks', override rules decide the label.
    public private(set) var routing: ModelRules?
    /// The name of the label column the model predicts (its head; "label" unless trained with
    /// another `--label-column`): what an override rule's `head` names.
    public private(set) var head: String = FittedPipeline.defaultHead
    /// The model's first head: an override rule without a `head` decides it (this pipeline's
    /// own head unless it is a later head of a several-head model, `FittedHeads`).
    public private(set) var primaryHead: String = FittedPipeline.defaultHead

    public static let defaultHead = "label"

    public init(settings: PipelineSettings, labels: [String], blocks: [FittedBlock], classifier: FittedClassifier, cleaner: Cleaner? = nil) {
        self.settings = settings
        self.cleaner = cleaner
        self.labels = labels
        self.blocks = blocks
        self.classifier = classifier
    }

    /// The pipeline with `policy` (checked against its labels).
    public func withPolicy(_ policy: ConfidencePolicy?) throws(PolicyError) -> FittedPipeline {
        try policy?.validate(labels: labels)
        var copy = self
        copy.policy = policy
        copy.oosIndex = policy?.oosLabel.flatMap { labels.firstIndex(of: $0) }
        return copy
    }

    /// The pipeline with routing rules (checked against its head and labels), whose feature
    /// rules must be the columns the classifier was fitted with after the blocks'.
    /// `heads`: every head of the model, the first first (default: this one alone).
    public func withRouting(_ routing: ModelRules?, head: String? = nil, heads: [(name: String, labels: [String])]? = nil) throws(RuleError) -> FittedPipeline {
        var copy = self
        if let head { copy.head = head }
        let all = heads ?? [(copy.head, labels)]
        copy.primaryHead = all.first?.name ?? copy.head
        try routing?.validate(heads: all)
        copy.routing = routing
        // The classifier must read exactly the blocks' columns and these rules' (else its
        // scorer would read past its weights, or ignore a column).
        guard copy.featureCount == classifier.featureCount else {
            throw RuleError(rule: nil, "the classifier reads \(classifier.featureCount) columns, but the feature blocks and the \(routing?.columnCount ?? 0) feature rule(s) make \(copy.featureCount): the rules are not the ones it was trained with")
        }
        return copy
    }

    /// The same extras (policy, routing, head) on another fitted pipeline of the same labels.
    func carryingExtras(to other: FittedPipeline) -> FittedPipeline {
        var copy = other
        copy.policy = policy
        copy.oosIndex = oosIndex
        copy.routing = routing
        copy.head = head
        copy.primaryHead = primaryHead
        return copy
    }

    /// The pipeline with its classifier's weights rounded as a model file stores them in
    /// `encoding`: what `triage train --weights` evaluates and saves.
    public func withWeights(_ encoding: WeightEncoding) -> FittedPipeline {
        carryingExtras(to: FittedPipeline(settings: settings, labels: labels, blocks: blocks, classifier: classifier.withWeights(encoding), cleaner: cleaner))
    }

    /// The pipeline without the features whose weights are near zero in every linear model:
    /// a feature is kept when, for some score of some member, |weight| ≥ `threshold` × the
    /// largest |weight| of that score (naive Bayes measured after its per-feature shift, which
    /// leaves its probabilities unchanged). Dropped features leave the vocabulary, so they no
    /// longer count in a message's TF-IDF norm either: the kept features' values move a little,
    /// which is why `triage train --prune` measures the pruned model. Nil when the classifier
    /// has no linear weights (trees) or a block has a fixed vocabulary.
    public func pruned(threshold: Double) -> (pipeline: FittedPipeline, removed: Int)? {
        guard blocks.allSatisfy({ $0.settings.vect.vocabulary == nil }), let importance = classifier.model.featureImportance() else { return nil }
        // Rule columns stay whatever their weight: the matcher gives them all.
        let kept = importance.indices.filter { Double(importance[$0]) >= threshold || $0 >= blockFeatureCount }
        guard kept.count < featureCount else { return (self, 0) }
        guard let prunedClassifier = classifier.model.keepingFeatures(kept) else { return nil }
        var newBlocks: [FittedBlock] = []
        var at = 0, offset = 0
        for block in blocks {
            var terms: [String] = [], idf: [Double] = []
            while at < kept.count && kept[at] < block.offset + block.featureCount {
                let local = kept[at] - block.offset
                terms.append(block.vectorizer.vocabulary[local])
                if let i = block.tfidf.idf { idf.append(i[local]) }
                at += 1
            }
            guard let vectorizer = try? FittedCountVectorizer(settings: block.vectorizer.settings, analyzer: block.vectorizer.analyzer, vocabulary: terms) else {
                return nil
            }
            let tfidf = FittedTfidfTransformer(settings: block.tfidf.settings, featureCount: terms.count, idf: block.tfidf.idf == nil ? nil : idf)
            newBlocks.append(FittedBlock(settings: block.settings, vectorizer: vectorizer, tfidf: tfidf, offset: offset))
            offset += terms.count
        }
        let pruned = carryingExtras(to: FittedPipeline(settings: settings, labels: labels, blocks: newBlocks, classifier: prunedClassifier, cleaner: cleaner))
        return (pruned, featureCount - kept.count)
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

    /// A rules-only model (`train --rules-only`): override rules decide, and the classifier is a
    /// `DummyClassifier` that reads nothing, so every other message is unsure (`no_rule`).
    public var isRulesOnly: Bool { routing != nil && classifier.model is FittedDummy }

    /// Columns of the feature matrix: the blocks' vocabularies together, then one per feature
    /// rule.
    public var featureCount: Int { blockFeatureCount + (routing?.columnCount ?? 0) }

    /// Columns of the blocks (the rule columns start here).
    public var blockFeatureCount: Int { blocks.reduce(0) { $0 + $1.featureCount } }

    /// The n-gram of a feature column; prefixed with its block's name (`char:ard`) in a union;
    /// `rule:NAME` for a feature rule's column.
    public func term(ofColumn column: Int) -> String {
        if column >= blockFeatureCount, let routing, column - blockFeatureCount < routing.columnCount {
            return routing.term(ofColumn: column - blockFeatureCount)
        }
        guard let block = blocks.last(where: { $0.offset <= column }) else { return "?" }
        let term = block.vectorizer.vocabulary[column - block.offset]
        return settings.union.isEmpty ? term : "\(block.settings.name):\(term)"
    }

    /// Every term, in column order (see `term(ofColumn:)`).
    public var terms: [String] {
        blocks.flatMap { b in settings.union.isEmpty ? b.vectorizer.vocabulary : b.vectorizer.vocabulary.map { "\(b.settings.name):\($0)" } }
            + (0 ..< (routing?.columnCount ?? 0)).map { routing?.term(ofColumn: $0) ?? "?" }
    }

    /// The text the first block's analyzer sees for a message (after the clean step).
    public func text(of message: Message) -> String {
        let message = cleaned(message)
        return blocks[0].settings.text(subject: message.subject, body: message.body, composer: settings.text)
    }

    /// The message after the clean step (itself without one).
    public func cleaned(_ message: Message) -> Message {
        cleaner.map { $0.clean(message) } ?? message
    }

    /// Feature rows of messages: the clean step, then each block's TF-IDF rows, weighted, side by
    /// side, then the feature rules' columns (parallel, deterministic).
    public func features(_ messages: [Message], threads: Int? = nil) -> SparseMatrix {
        featuresAndMatches(messages, threads: threads).features
    }

    /// The feature rows, and the rules each message matched (empty lists without rules).
    func featuresAndMatches(_ messages: [Message], threads: Int? = nil) -> (features: SparseMatrix, matched: [[Int]]) {
        let messages = cleaner?.clean(messages, threads: threads) ?? messages
        let matched = routing?.matches(messages, threads: threads) ?? [[Int]](repeating: [], count: messages.count)
        var parts = blocks.map { b -> SparseMatrix in
            let texts = messages.map { b.settings.text(subject: $0.subject, body: $0.body, composer: settings.text) }
            // The vectorizer and transformer were fitted together: the column counts match.
            return b.tfidf.transformUnchecked(b.vectorizer.transform(texts, threads: threads))
        }
        var weights = blocks.map(\.settings.weight)
        if let routing, routing.columnCount > 0 {
            let rows = matched.map { routing.columns($0).map { (column: $0, value: 1.0) } }
            // Columns in range by construction.
            parts.append((try? SparseMatrix(rows: rows, columnCount: routing.columnCount)) ?? SparseMatrix(zeros: messages.count, columnCount: routing.columnCount))
            weights.append(1)
        }
        if parts.count == 1 && weights[0] == 1 { return (parts[0], matched) }
        // Same row counts by construction.
        return ((try? SparseMatrix.horizontalStack(parts, weights: weights)) ?? parts[0], matched)
    }

    /// The feature rule columns of one message's matches appended to a row being built
    /// (columns after the blocks', value 1).
    func appendRuleColumns(_ matched: [Int], columns: inout [Int32], values: inout [Double]) {
        guard let routing else { return }
        let offset = blockFeatureCount
        for c in routing.columns(matched) {
            columns.append(Int32(offset + c))
            values.append(1)
        }
    }

    /// Class probabilities of each message (`labels` order), calibrated by the policy's
    /// calibration when there is one.
    public func predictProbabilities(_ messages: [Message], threads: Int? = nil) -> [[Double]] {
        predictProbabilitiesAndMatches(messages, threads: threads).probabilities
    }

    /// Class probabilities of each message and the rules it matched (see `ModelRules`).
    public func predictProbabilitiesAndMatches(_ messages: [Message], threads: Int? = nil) -> (probabilities: [[Double]], matched: [[Int]]) {
        let (x, matched) = featuresAndMatches(messages, threads: threads)
        return (probabilities(of: x, threads: threads), matched)
    }

    /// Class probabilities (calibrated by the policy) of feature rows built by this model's
    /// features — a later head of `FittedHeads` scores the first head's rows.
    public func probabilities(of x: SparseMatrix, threads: Int?) -> [[Double]] {
        let chunks = Parallel.chunks(count: x.rowCount, chunkSize: 256)
        let calibration = policy?.calibration
        let parts = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> [[Double]] in
            let scorer = classifier.makeRowScorer()
            return chunks[c].map { i in
                var p = x.withRow(i) { scorer.probabilities($0) }
                calibration?.apply(&p)
                return p
            }
        }
        return Array(parts.joined())
    }

    /// Predictions with the `top` most probable labels, unsure as the policy decides, decided by
    /// an override rule when one matches (see `prediction(id:probabilities:top:rules:matched:)`).
    public func predict(_ messages: [Message], top: Int = 3, threshold: Double? = nil, threads: Int? = nil) -> [Prediction] {
        let rules = rules(threshold: threshold)
        let (probabilities, matched) = predictProbabilitiesAndMatches(messages, threads: threads)
        return messages.indices.map { i in
            prediction(id: messages[i].id, probabilities: probabilities[i], top: top, rules: rules, matched: matched[i])
        }
    }

    /// The label index an override rule among `matched` decides for the model's head, and the
    /// rule's index; nil when none does.
    public func override(_ matched: [Int]) -> (label: Int, rule: Int)? {
        guard let routing, let rule = routing.override(matched, head: head, firstHead: primaryHead),
              let label = routing.set.rules[rule].label.flatMap({ labels.firstIndex(of: $0) }) else { return nil }
        return (label, rule)
    }

    /// The policy predictions are decided by, `threshold` (when given) replacing its threshold
    /// and any per-label ones; without a policy, one threshold (default 0: never unsure).
    public func effectivePolicy(threshold: Double? = nil) -> ConfidencePolicy {
        guard var p = policy else { return .manual(threshold ?? 0) }
        if let threshold {
            p.threshold = threshold
            p.classThresholds = nil
        }
        return p
    }

    /// The effective policy ready to decide (per-label thresholds and the out-of-scope index
    /// resolved once; a server keeps one per model).
    public func rules(threshold: Double? = nil) -> ConfidenceRules {
        let policy = effectivePolicy(threshold: threshold)
        return ConfidenceRules(policy: policy, byClass: policy.thresholds(labels: labels), oosIndex: oosIndex)
    }

    /// A prediction from (calibrated) class probabilities: unsure, with its reason, as the
    /// policy decides; `threshold` overrides the policy's threshold (`serve --unsure-threshold`).
    public func prediction(id: String, probabilities p: [Double], top: Int, threshold: Double? = nil) -> Prediction {
        prediction(id: id, probabilities: p, top: top, rules: rules(threshold: threshold))
    }

    /// A prediction decided by `rules` (from `rules(threshold:)`), or by the first override rule
    /// among `matched` (the rules the message matched): then the label is the rule's, routed
    /// (never unsure), `rule` names it, and `probability` is the classifier's own for that label
    /// (`top` stays the classifier's ranking, for comparison).
    public func prediction(id: String, probabilities p: [Double], top: Int, rules: ConfidenceRules, matched: [Int] = []) -> Prediction {
        // Two at least, for the margin.
        let order = Ranking.top(p, count: max(2, top))
        let best = order.first ?? 0
        let scored = order.prefix(max(1, top)).map { Prediction.Scored(label: labels[$0], probability: p[$0]) }
        let margin = order.count > 1 ? p[best] - p[order[1]] : p[best]
        if !matched.isEmpty, let (label, rule) = override(matched) {
            return Prediction(id: id, label: labels[label], probability: p[label], top: scored, unsure: false, margin: margin,
                              rule: routing?.set.rules[rule].name)
        }
        // A rules-only model routes only what a rule decides.
        let reason = isRulesOnly ? .noRule : rules.reason(p)
        return Prediction(id: id, label: labels[best], probability: p[best], top: scored, unsure: reason != nil, reason: reason, margin: margin)
    }
}

extension PipelineSettings {
    /// Fits the pipeline on labelled messages (`PipelineFit` on every row); labels are sorted
    /// (`LabelEncoder`) and become the classifier's classes.
    public func fit(_ messages: [LabeledMessage], threads: Int? = nil, stopWordDirectories: [String]? = nil) throws(PipelineError) -> FittedPipeline {
        try validate()
        return try PipelineFit(messages: messages, stopWordDirectories: stopWordDirectories).fit(self, threads: threads).pipeline
    }
}
