import TriageBoost
import TriageCore
import TriageModel
import TriageText

/// Semantic checks of a decoded payload, and the pipeline it describes. Every failure is
/// `ArtifactError.invalid(path:reason:)` with the JSON path of the offending value.
enum ArtifactValidation {
    static func pipeline(from payload: PayloadV1) throws(ArtifactError) -> FittedPipeline {
        func invalid(_ path: String, _ reason: String) -> ArtifactError { .invalid(path: path, reason: reason) }
        let settings = payload.pipeline
        do { try settings.validate() } catch { throw invalid("$.pipeline", error.description) }

        // Labels.
        let labels = payload.labels
        guard labels.count >= 2 else { throw invalid("$.labels", "\(labels.count) labels; a model has at least 2") }
        var seenLabels = Set<String>()
        for (i, label) in labels.enumerated() {
            guard !label.isEmpty else { throw invalid("$.labels[\(i)]", "empty label") }
            guard seenLabels.insert(label).inserted else { throw invalid("$.labels[\(i)]", "duplicate label \"\(label)\"") }
        }
        guard (0 ... 1).contains(payload.unsureThreshold) else {
            throw invalid("$.unsure_threshold", "\(payload.unsureThreshold) is not a probability")
        }

        // Analyzer, vocabulary, idf.
        if settings.vect.stopWords == nil && !payload.stopWords.isEmpty {
            throw invalid("$.stop_words", "\(payload.stopWords.count) stop words but the vectorizer has none")
        }
        let analyzer: PreparedAnalyzer
        do {
            analyzer = try PreparedAnalyzer(settings.vect.analysis, preprocessedStopWords: payload.stopWords)
        } catch {
            throw invalid("$.pipeline.vect", error.description)
        }
        if let fixed = settings.vect.vocabulary, fixed != payload.vocabulary {
            throw invalid("$.vocabulary", "differs from the fixed vocabulary of the settings")
        }
        let vectorizer: FittedCountVectorizer
        do {
            vectorizer = try FittedCountVectorizer(settings: settings.vect, analyzer: analyzer, vocabulary: payload.vocabulary)
        } catch {
            throw invalid("$.vocabulary", error.description)
        }
        let featureCount = payload.vocabulary.count
        if settings.tfidf.useIDF {
            guard let idf = payload.idf else { throw invalid("$.idf", "missing although use_idf is true") }
            guard idf.count == featureCount else { throw invalid("$.idf", "\(idf.count) values for \(featureCount) features") }
            if let bad = idf.firstIndex(where: { !($0 >= 1) || !$0.isFinite }) {
                throw invalid("$.idf[\(bad)]", "\(idf[bad]) is not an idf (a finite value ≥ 1)")
            }
        } else if payload.idf != nil {
            throw invalid("$.idf", "present although use_idf is false")
        }
        let tfidf = FittedTfidfTransformer(settings: settings.tfidf, featureCount: featureCount, idf: payload.idf)

        // Classifier.
        let classifier: FittedClassifier
        switch (payload.model, settings.clf) {
        case let (.gradientBoosting(model), .gradientBoosting(clfSettings)):
            try check(model, labels: labels, featureCount: featureCount, settings: clfSettings)
            classifier = .gradientBoosting(model)
        }

        for (i, probe) in payload.probes.enumerated() {
            if let bad = probe.probabilities.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                throw invalid("$.probes[\(i)].probabilities[\(bad)]", "\(probe.probabilities[bad]) is not a probability")
            }
        }
        return FittedPipeline(settings: settings, labels: labels, vectorizer: vectorizer, tfidf: tfidf, classifier: classifier)
    }

    static func check(_ model: FittedGradientBoosting, labels: [String], featureCount: Int,
                      settings: GradientBoostingClassifier) throws(ArtifactError) {
        func invalid(_ path: String, _ reason: String) -> ArtifactError { .invalid(path: "$.model" + path, reason: reason) }
        guard model.settings == settings else { throw invalid(".settings", "differ from the pipeline's clf settings") }
        guard model.classNames == labels else { throw invalid(".class_names", "differ from the model's labels") }
        guard model.featureCount == featureCount else {
            throw invalid(".feature_count", "\(model.featureCount), but the vocabulary has \(featureCount) terms")
        }
        let scores = labels.count == 2 ? 1 : labels.count
        guard model.initialScores.count == scores else {
            throw invalid(".initial_scores", "\(model.initialScores.count) scores for \(labels.count) labels (expected \(scores))")
        }
        if let bad = model.initialScores.firstIndex(where: { !$0.isFinite }) { throw invalid(".initial_scores[\(bad)]", "not finite") }
        for (r, round) in model.trees.enumerated() {
            guard round.count == scores else { throw invalid(".trees[\(r)]", "\(round.count) trees, expected one per score (\(scores))") }
            for (k, tree) in round.enumerated() {
                try check(tree, featureCount: featureCount, path: "$.model.trees[\(r)][\(k)]")
            }
        }
        for (name, losses) in [("training_loss", model.trainingLoss), ("validation_loss", model.validationLoss)] {
            if let bad = losses.firstIndex(where: { !$0.isFinite }) { throw invalid(".\(name)[\(bad)]", "not finite") }
        }
    }

    /// A tree is valid when its arrays agree in length, every internal node tests a feature in
    /// range and has two children with larger indices (so there is no cycle), and every node but
    /// the root has exactly one parent (so there is no sharing and nothing unreachable).
    static func check(_ tree: Tree, featureCount: Int, path: String) throws(ArtifactError) {
        func invalid(_ suffix: String, _ reason: String) -> ArtifactError { .invalid(path: path + suffix, reason: reason) }
        let n = tree.feature.count
        guard n >= 1 else { throw invalid(".feature", "a tree needs at least one node") }
        let lengths = [tree.threshold.count, tree.left.count, tree.right.count, tree.value.count, tree.gain.count,
                       tree.count.count, tree.cover.count, tree.binThreshold.count]
        guard lengths.allSatisfy({ $0 == n }) else { throw invalid("", "node arrays of different lengths \([n] + lengths)") }
        var parents = [Int](repeating: 0, count: n)
        for i in 0 ..< n {
            let f = Int(tree.feature[i]), l = Int(tree.left[i]), r = Int(tree.right[i])
            guard tree.value[i].isFinite else { throw invalid(".value[\(i)]", "not finite") }
            guard tree.gain[i].isFinite && tree.gain[i] >= 0 else { throw invalid(".gain[\(i)]", "\(tree.gain[i]) is not a gain") }
            guard tree.cover[i].isFinite && tree.count[i] >= 0 else { throw invalid(".count[\(i)]", "invalid count or cover") }
            if f == -1 {
                guard l == -1 && r == -1 else { throw invalid(".left[\(i)]", "a leaf (feature -1) with children") }
                continue
            }
            guard f >= 0 && f < featureCount else { throw invalid(".feature[\(i)]", "feature \(f) outside 0..<\(featureCount)") }
            guard tree.threshold[i].isFinite else { throw invalid(".threshold[\(i)]", "not finite") }
            for (side, child) in [("left", l), ("right", r)] {
                guard child > i && child < n else {
                    throw invalid(".\(side)[\(i)]", child <= i && child >= 0
                        ? "child \(child) does not come after its parent \(i): the tree has a cycle or shared node"
                        : "child \(child) outside the tree's \(n) nodes")
                }
                parents[child] += 1
            }
        }
        if let orphan = (1 ..< max(n, 1)).first(where: { parents[$0] != 1 }) {
            throw invalid(".left", "node \(orphan) has \(parents[orphan]) parents (each node but the root needs exactly one)")
        }
    }
}
