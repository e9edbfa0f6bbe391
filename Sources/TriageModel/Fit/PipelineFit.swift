import Foundation
import TriageCore
import TriageText

/// Which rows of the training set a fit learns from, which it transforms for evaluation, and a
/// name that identifies the pair in stage-cache keys ("all", "fold 2").
public struct FitRows: Sendable, Equatable {
    public let name: String
    /// The training rows; nil for every row.
    public let train: [Int]?
    /// Rows the fitted feature stages transform for scoring (none for a plain fit).
    public let evaluation: [Int]

    public init(name: String, train: [Int]?, evaluation: [Int]) {
        self.name = name
        self.train = train
        self.evaluation = evaluation
    }

    /// Every row, nothing to evaluate: `triage train`, a search's refit.
    public static let all = FitRows(name: "all", train: nil, evaluation: [])
}

/// The one way a pipeline is fitted — `train`, cross-validation, grid search and refit alike:
/// its stages in order, each from the previous stage's output and its own settings, each looked
/// up in an optional `StageCache` by a key derived from everything that determines it.
///
/// Stages, per feature block: **tokens** (the `text` step composes subject and body for the
/// block's source, then the vectorizer's analysis: lower-case, tokens, stop words, stems — for
/// every message, whatever the rows) → **counts** (the vectorizer fitted on the training rows;
/// evaluation rows counted with it) → **tfidf**; then **features** (the blocks side by side,
/// weighted) → the classifier's **preparation** (trees: binning) → the classifier.
///
/// Keys (`keys(_:rows:)`) are SHA-256 of canonical JSON holding the stage, the keys of the
/// stages it reads, the rows' name and the *whole encoded settings* of its step — so a field
/// added to a step later changes the key without anyone listing it.
public final class PipelineFit: Sendable {
    public let messages: [LabeledMessage]
    public let labels: LabelEncoder
    /// Each message's label index.
    public let y: [Int]
    public let stopWordDirectories: [String]?
    /// SHA-256 of the messages (`StableHash.messages`): the root of every stage key, and the
    /// `data_sha256` of a model's provenance.
    public let dataHash: String
    /// Prepared clean steps and the messages each cleans to, computed once per setting.
    private let cleaning = CleaningMemo()
    /// The routing rules every fitted pipeline carries (feature rules become columns), and the
    /// head (label column) their overrides decide.
    public let rules: ModelRules?
    public let head: String
    /// The heads after the first (`LabeledMessage.otherLabels`, in order): each trains its own
    /// classifier on the shared features of the rows that have its label (`fitHeads`).
    public let otherHeads: [FitHead]
    /// SHA-256 of the rules (part of the features stage's key).
    private let rulesHash: String?

    /// Checks the training data: at least one message, every message labelled, at least two
    /// labels; and the rules against the labels (an override naming a label the data does not
    /// have is an error).
    public init(messages: [LabeledMessage], stopWordDirectories: [String]? = nil, rules: ModelRules? = nil,
                head: String = FittedPipeline.defaultHead, otherHeads: [String] = []) throws(PipelineError) {
        guard !messages.isEmpty else { throw .noTrainingMessages }
        for m in messages {
            guard let label = m.label, !label.isEmpty else { throw .missingLabel(line: m.line) }
        }
        let labels = LabelEncoder(fitting: messages)
        guard labels.classes.count >= 2 else { throw .tooFewLabels(labels.classes) }
        self.messages = messages
        self.labels = labels
        y = labels.encode(messages)
        self.stopWordDirectories = stopWordDirectories
        dataHash = StableHash.messages(messages)
        var heads: [FitHead] = []
        for (k, name) in otherHeads.enumerated() {
            guard name != head, !otherHeads[..<k].contains(name) else { throw .invalidHeads("head \"\(name)\" is named twice") }
            let given = messages.map { k < $0.otherLabels.count ? $0.otherLabels[k] : nil }
            let encoder = LabelEncoder(fitting: given.compactMap { $0 })
            guard encoder.classes.count >= 2 else {
                throw .invalidHeads("head \"\(name)\" has \(encoder.classes.count) distinct label\(encoder.classes.count == 1 ? "" : "s") (\(encoder.classes.joined(separator: ", "))); a classifier needs at least 2")
            }
            heads.append(FitHead(name: name, labels: encoder, y: given.map { $0.flatMap(encoder.index(of:)) }))
        }
        do { try rules?.validate(heads: [(head, labels.classes)] + heads.map { ($0.name, $0.labels.classes) }) } catch { throw .rules(error) }
        self.rules = rules
        self.head = head
        self.otherHeads = heads
        rulesHash = rules?.sha256
    }

    /// A fitted pipeline, and the evaluation rows through its feature stages.
    public struct Result: Sendable {
        public let pipeline: FittedPipeline
        /// One row per evaluation row, the pipeline's feature columns.
        public let evaluationFeatures: SparseMatrix
        /// One row per training row: what the classifier learned from.
        public let trainFeatures: SparseMatrix
    }

    // MARK: Keys

    /// The cache keys of one fit's stages.
    public struct StageKeys: Sendable, Equatable {
        public struct Block: Sendable, Equatable {
            public let tokens: String
            public let counts: String
            public let tfidf: String
        }

        public let rows: String
        public let blocks: [Block]
        public let features: String
        /// Nil when the classifier prepares nothing.
        public let preparation: String?

        /// Every key with its stage, in stage order (blocks first).
        public var all: [(stage: FitStage, key: String)] {
            blocks.flatMap { [(FitStage.tokens, $0.tokens), (.counts, $0.counts), (.tfidf, $0.tfidf)] }
                + [(.features, features)] + (preparation.map { [(.preparation, $0)] } ?? [])
        }

        /// What fits that share stages have in common, from the first stage to the last: the
        /// blocks' tokens, their counts, the features, the preparation (rows are in the last
        /// three). Ordering fits by these keeps shared stages together.
        public var sharing: [String] {
            [blocks.map(\.tokens).joined(separator: "+"), blocks.map(\.counts).joined(separator: "+"), features, preparation ?? ""]
        }
    }

    /// The keys of `settings`' stages on `rows`.
    public func keys(_ settings: PipelineSettings, rows: FitRows) throws(PipelineError) -> StageKeys {
        func encoded<T: Encodable>(_ value: T) throws(PipelineError) -> JSONValue {
            do { return try JSONValueEncoder().encode(value) } catch { throw .stage("cannot encode the settings for a cache key: \(error)") }
        }
        func key(_ stage: FitStage, after parents: [String], _ members: [String: JSONValue]) -> String {
            var o = JSONObject(members.map { ($0.key, $0.value) })
            o["stage"] = .string(stage.rawValue)
            o["after"] = .array(parents.map { .string($0) })
            return StableHash.hex(JSONWriter.bytes(.object(o)))
        }
        var blocks: [StageKeys.Block] = []
        var textMembers: [String: JSONValue] = ["text": try encoded(settings.text)]
        if let clean = settings.clean {
            // The settings and the patterns they read (a pattern file may change between runs).
            textMembers["clean"] = try encoded(clean)
            textMembers["clean_patterns"] = .string(try cleaner(clean).patternsSHA256)
        }
        for block in settings.blocks {
            var members = textMembers
            members["source"] = .string(block.source.rawValue)
            members["analysis"] = try encoded(block.vect.analysis)
            let tokens = key(.tokens, after: [dataHash], members)
            let counts = key(.counts, after: [tokens], ["rows": .string(rows.name), "vect": try encoded(block.vect)])
            let tfidf = key(.tfidf, after: [counts], ["tfidf": try encoded(block.tfidf)])
            blocks.append(StageKeys.Block(tokens: tokens, counts: counts, tfidf: tfidf))
        }
        let weights = settings.blocks.map { JSONValue.double($0.weight) ?? .null }
        var featureMembers: [String: JSONValue] = ["weights": JSONValue.array(weights)]
        if let rulesHash, let clean = textMembers["clean"] {
            // Rule columns: the rules, on messages cleaned by the clean step.
            featureMembers["rules"] = .string(rulesHash)
            featureMembers["clean"] = clean
            featureMembers["clean_patterns"] = textMembers["clean_patterns"]
        } else if let rulesHash {
            featureMembers["rules"] = .string(rulesHash)
        }
        let features = key(.features, after: blocks.map(\.tfidf), featureMembers)
        let preparation = settings.clf.spec.preparationKey.map {
            key(.preparation, after: [features], ["type": .string(settings.clf.typeName), "settings": $0])
        }
        return StageKeys(rows: rows.name, blocks: blocks, features: features, preparation: preparation)
    }

    // MARK: Fitting

    /// Fits `settings` on `rows.train`, and transforms `rows.evaluation` through the fitted
    /// feature stages, taking every stage it can from `cache` (which must only ever see fits of
    /// this data: its keys start from `dataHash`). `threads` for every stage but tokens, which
    /// uses `tokenThreads` (default: `threads`): in a search each fit runs on one thread while a
    /// shared tokenisation, which every waiting fit needs, uses them all. Deterministic on any
    /// thread count, with or without a cache.
    public func fit(_ settings: PipelineSettings, rows: FitRows = .all, threads: Int? = nil,
                    tokenThreads: Int? = nil, cache: StageCache? = nil) throws(PipelineError) -> Result {
        try settings.validate()
        let keys = try self.keys(settings, rows: rows)
        let train = rows.train
        let evaluation = rows.evaluation
        var fitted: [FittedBlock] = []
        var trainParts: [SparseMatrix] = []
        var evaluationParts: [SparseMatrix] = []
        var offset = 0
        let cleaner = try settings.clean.map { clean throws(PipelineError) in try self.cleaner(clean) }
        for (b, block) in settings.blocks.enumerated() {
            let k = keys.blocks[b]
            do {
                let corpus = try stage(.tokens, k.tokens, cache) { () throws -> TokenizedCorpus in
                    let analyzer = try block.vect.prepareAnalyzer(stopWordDirectories: stopWordDirectories)
                    let texts = if let cleaner {
                        cleaned(cleaner, threads: tokenThreads ?? threads).map { block.text(subject: $0.subject, body: $0.body, composer: settings.text) }
                    } else {
                        messages.map { block.text(subject: $0.subject, body: $0.body, composer: settings.text) }
                    }
                    return TokenizedCorpus(texts, analyzer: analyzer, threads: tokenThreads ?? threads)
                }
                let counts = try stage(.counts, k.counts, cache) { () throws -> BlockFit<FittedCountVectorizer> in
                    let (vectorizer, trainCounts) = try block.vect.fitTransform(corpus, rows: train, threads: threads)
                    return BlockFit(fitted: vectorizer, train: trainCounts,
                                    evaluation: vectorizer.transform(corpus, rows: evaluation, threads: threads))
                }
                let weighted = try stage(.tfidf, k.tfidf, cache) { () throws -> BlockFit<FittedTfidfTransformer> in
                    let (tfidf, trainWeights) = try block.tfidf.fitTransform(counts.train)
                    return BlockFit(fitted: tfidf, train: trainWeights, evaluation: try tfidf.transform(counts.evaluation))
                }
                fitted.append(FittedBlock(settings: block, vectorizer: counts.fitted, tfidf: weighted.fitted, offset: offset))
                trainParts.append(weighted.train)
                evaluationParts.append(weighted.evaluation)
                offset += counts.train.columnCount
            } catch {
                // Uncached: the step's own error; cached: its description (`StageCache` keeps
                // failures as text), which reads the same.
                if !settings.union.isEmpty { throw .invalidUnion("block \"\(block.name)\": \(error)") }
                throw (error as? TextFeatureError).map(PipelineError.text) ?? .stage("\(error)")
            }
        }
        var weights = settings.blocks.map(\.weight)
        let features: (train: SparseMatrix, evaluation: SparseMatrix)
        do {
            features = try stage(.features, keys.features, cache) { () throws -> (train: SparseMatrix, evaluation: SparseMatrix) in
                if let rules, rules.columnCount > 0 {
                    let all = ruleColumns(rules, cleaner: cleaner, threads: tokenThreads ?? threads)
                    trainParts.append(train.map { all.selectingRows($0) } ?? all)
                    evaluationParts.append(all.selectingRows(evaluation))
                    weights.append(1)
                }
                if trainParts.count == 1 && weights[0] == 1 { return (trainParts[0], evaluationParts[0]) }
                return (try SparseMatrix.horizontalStack(trainParts, weights: weights),
                        try SparseMatrix.horizontalStack(evaluationParts, weights: weights))
            }
        } catch { throw .invalidUnion("\(error)") }
        let trainLabels = train.map { $0.map { y[$0] } } ?? y
        let classifier = try settings.clf.fit(features.train, labels: trainLabels, classNames: labels.classes, threads: threads) { _, prepare in
            guard let key = keys.preparation else { return try prepare() }
            return try stage(.preparation, key, cache) { try prepare() }
        }
        var pipeline = FittedPipeline(settings: settings, labels: labels.classes, blocks: fitted, classifier: classifier, cleaner: cleaner)
        do { pipeline = try pipeline.withRouting(rules, head: head, heads: headList) } catch { throw .rules(error) }
        return Result(pipeline: pipeline, evaluationFeatures: features.evaluation, trainFeatures: features.train)
    }

    /// Every head's name and labels, the first head first.
    var headList: [(name: String, labels: [String])] { [(head, labels.classes)] + otherHeads.map { ($0.name, $0.labels.classes) } }

    /// One model of several heads: the features (clean step, text, vectorizers, TF-IDF, rule
    /// columns) fitted once on every row, the first head's classifier as `fit` fits it, then
    /// each other head's classifier on the shared feature rows that have its label, with its
    /// own settings from `classifiers` (by head name; default: `settings.clf`).
    public func fitHeads(_ settings: PipelineSettings, classifiers: [String: ClassifierSettings] = [:], threads: Int? = nil,
                         cache: StageCache? = nil) throws(PipelineError) -> FittedHeads {
        if let unknown = classifiers.keys.sorted().first(where: { name in name != head && !otherHeads.contains { $0.name == name } }) {
            throw .invalidHeads("classifier settings for head \"\(unknown)\", which the data does not have (heads: \(headList.map(\.name).joined(separator: ", ")))")
        }
        var primarySettings = settings
        if let own = classifiers[head] { primarySettings.clf = own }
        let first = try fit(primarySettings, threads: threads, cache: cache)
        var heads = [first.pipeline]
        for h in otherHeads {
            let rows = h.y.indices.filter { h.y[$0] != nil }
            var own = settings
            own.clf = classifiers[h.name] ?? settings.clf
            try own.clf.validate()
            let classifier = try own.clf.fit(first.trainFeatures.selectingRows(rows), labels: rows.map { h.y[$0] ?? 0 },
                                             classNames: h.labels.classes, threads: threads)
            var pipeline = FittedPipeline(settings: own, labels: h.labels.classes, blocks: first.pipeline.blocks, classifier: classifier,
                                          cleaner: first.pipeline.cleaner)
            do { pipeline = try pipeline.withRouting(rules, head: h.name, heads: headList) } catch { throw .rules(error) }
            heads.append(pipeline)
        }
        return FittedHeads(heads)
    }

    /// The feature rules' columns for every message (after the clean step), computed once per
    /// clean setting.
    func ruleColumns(_ rules: ModelRules, cleaner: Cleaner?, threads: Int?) -> SparseMatrix {
        cleaning.ruleColumns(cleaner?.settings) {
            let texts = cleaner.map { cleaned($0, threads: threads) } ?? messages.map(\.message)
            let rows = rules.matches(texts, threads: threads).map { rules.columns($0).map { (column: $0, value: 1.0) } }
            return (try? SparseMatrix(rows: rows, columnCount: rules.columnCount)) ?? SparseMatrix(zeros: texts.count, columnCount: rules.columnCount)
        }
    }

    // MARK: Cleaning

    /// The clean step of `settings`, its patterns read once per fit engine.
    public func cleaner(_ settings: CleanSettings) throws(PipelineError) -> Cleaner {
        do { return try cleaning.cleaner(settings, directories: stopWordDirectories) } catch { throw .text(error) }
    }

    /// Every message through `cleaner`, computed once per fit engine (parallel, deterministic).
    func cleaned(_ cleaner: Cleaner, threads: Int?) -> [Message] {
        cleaning.messages(cleaner.settings) { cleaner.clean(messages.map(\.message), threads: threads) }
    }

    /// A stage's value: from the cache when there is one, else computed.
    private func stage<V: Sendable>(_ stage: FitStage, _ key: String, _ cache: StageCache?, compute: () throws -> V) throws -> V {
        guard let cache else { return try compute() }
        return try cache.value(stage, key: key, compute: compute)
    }
}

/// A head after the first of a `PipelineFit`: its name, its labels, and each message's label
/// index (nil: the row has no label for it).
public struct FitHead: Sendable {
    public let name: String
    public let labels: LabelEncoder
    public let y: [Int?]
}

/// A fitted feature step and its training and evaluation matrices.
struct BlockFit<Fitted: Sendable>: Sendable {
    var fitted: Fitted
    var train: SparseMatrix
    var evaluation: SparseMatrix
}

/// `PipelineFit`'s memo of clean steps and cleaned messages (a search asks for the same ones for
/// every candidate and fold).
final class CleaningMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var cleaners: [CleanSettings: Cleaner] = [:]
    /// Keyed by settings: within one fit engine they determine the patterns read.
    private var cleaned: [CleanSettings: [Message]] = [:]

    func cleaner(_ settings: CleanSettings, directories: [String]?) throws(TextFeatureError) -> Cleaner {
        lock.lock()
        defer { lock.unlock() }
        if let c = cleaners[settings] { return c }
        let c = try settings.prepare(directories: directories)
        cleaners[settings] = c
        return c
    }

    /// The rule columns of the messages cleaned by `settings` (nil: not cleaned).
    private var ruleMatrices: [CleanSettings?: SparseMatrix] = [:]

    func ruleColumns(_ settings: CleanSettings?, compute: () -> SparseMatrix) -> SparseMatrix {
        value(in: \.ruleMatrices, for: settings, compute: compute)
    }

    func messages(_ settings: CleanSettings, compute: () -> [Message]) -> [Message] {
        value(in: \.cleaned, for: settings, compute: compute)
    }

    /// `table[key]`, computed outside the lock when missing (the first value stored wins, so
    /// every caller gets the same one).
    private func value<K: Hashable, V>(in table: ReferenceWritableKeyPath<CleaningMemo, [K: V]>, for key: K, compute: () -> V) -> V {
        lock.lock()
        if let v = self[keyPath: table][key] { lock.unlock(); return v }
        lock.unlock()
        let v = compute()
        lock.lock()
        defer { lock.unlock() }
        if let existing = self[keyPath: table][key] { return existing }
        self[keyPath: table][key] = v
        return v
    }
}
