import TriageBoost
import TriageCore
import TriageLinear
import TriageModel
import TriageText

/// Semantic checks of a decoded payload, and the pipeline it describes. Every failure is
/// `ArtifactError.invalid(path:reason:)` with the JSON path of the offending value.
enum ArtifactValidation {
    static func pipeline(from payload: Payload) throws(ArtifactError) -> FittedPipeline {
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

        // Feature blocks: analyzer, vocabulary, idf of each.
        let blockPayloads: [(path: String, stopWords: [String], vocabulary: [String], idf: [Double]?)]
        if payload.formatVersion == 1 {
            guard payload.features == nil else { throw invalid("$.features", "not part of format version 1") }
            guard settings.union.isEmpty else { throw invalid("$.pipeline.union", "format version 1 cannot hold a feature union") }
            guard let vocabulary = payload.vocabulary else { throw invalid("$.vocabulary", "missing (format version 1)") }
            blockPayloads = [("$", payload.stopWords ?? [], vocabulary, payload.idf)]
        } else {
            for name in ["stop_words", "vocabulary", "idf"] {
                let present = name == "stop_words" ? payload.stopWords != nil : (name == "vocabulary" ? payload.vocabulary != nil : payload.idf != nil)
                if present { throw invalid("$.\(name)", "format version \(payload.formatVersion) keeps it in $.features") }
            }
            guard let features = payload.features else { throw invalid("$.features", "missing") }
            let expected = settings.blocks
            guard features.count == expected.count else {
                throw invalid("$.features", "\(features.count) feature blocks, but the pipeline has \(expected.count)")
            }
            for (i, (f, b)) in zip(features, expected).enumerated() where f.name != b.name {
                throw invalid("$.features[\(i)].name", "\"\(f.name)\", but the pipeline's block \(i) is \"\(b.name)\"")
            }
            blockPayloads = features.enumerated().map { ("$.features[\($0.offset)]", $0.element.stopWords, $0.element.vocabulary, $0.element.idf) }
        }
        var blocks: [FittedBlock] = []
        var featureCount = 0
        for (block, part) in zip(settings.blocks, blockPayloads) {
            let vect = block.vect
            if vect.stopWords == nil && !part.stopWords.isEmpty {
                throw invalid(part.path + ".stop_words", "\(part.stopWords.count) stop words but the vectorizer has none")
            }
            let analyzer: PreparedAnalyzer
            do {
                analyzer = try PreparedAnalyzer(vect.analysis, preprocessedStopWords: part.stopWords)
            } catch {
                throw invalid(settings.union.isEmpty ? "$.pipeline.vect" : "$.pipeline.union", error.description)
            }
            if let fixed = vect.vocabulary, fixed != part.vocabulary {
                throw invalid(part.path + ".vocabulary", "differs from the fixed vocabulary of the settings")
            }
            let vectorizer: FittedCountVectorizer
            do {
                vectorizer = try FittedCountVectorizer(settings: vect, analyzer: analyzer, vocabulary: part.vocabulary)
            } catch {
                throw invalid(part.path + ".vocabulary", error.description)
            }
            let count = part.vocabulary.count
            if block.tfidf.useIDF {
                guard let idf = part.idf else { throw invalid(part.path + ".idf", "missing although use_idf is true") }
                guard idf.count == count else { throw invalid(part.path + ".idf", "\(idf.count) values for \(count) features") }
                if let bad = idf.firstIndex(where: { !($0 >= 1) || !$0.isFinite }) {
                    throw invalid(part.path + ".idf[\(bad)]", "\(idf[bad]) is not an idf (a finite value ≥ 1)")
                }
            } else if part.idf != nil {
                throw invalid(part.path + ".idf", "present although use_idf is false")
            }
            let tfidf = FittedTfidfTransformer(settings: block.tfidf, featureCount: count, idf: part.idf)
            blocks.append(FittedBlock(settings: block, vectorizer: vectorizer, tfidf: tfidf, offset: featureCount))
            featureCount += count
        }

        // Classifier.
        if payload.formatVersion == 1, case .gradientBoosting = payload.model {} else if payload.formatVersion == 1 {
            throw invalid("$.model.type", "format version 1 holds only gradient-boosted trees")
        }
        let classifier = try classifierFrom(payload.model, settings: settings.clf, labels: labels, featureCount: featureCount, path: "$.model")

        for (i, probe) in payload.probes.enumerated() {
            if let bad = probe.probabilities.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                throw invalid("$.probes[\(i)].probabilities[\(bad)]", "\(probe.probabilities[bad]) is not a probability")
            }
        }
        return FittedPipeline(settings: settings, labels: labels, blocks: blocks, classifier: classifier)
    }

    /// The fitted classifier of a model payload, checked against its settings.
    static func classifierFrom(_ model: ModelPayload, settings: ClassifierSettings, labels: [String], featureCount: Int,
                               path: String) throws(ArtifactError) -> FittedClassifier {
        switch (model, settings) {
        case let (.gradientBoosting(m), .gradientBoosting(clfSettings)):
            try check(m, labels: labels, featureCount: featureCount, settings: clfSettings, path: path)
            return .gradientBoosting(m)
        case let (.linear(m), clf):
            try check(m, labels: labels, featureCount: featureCount, settings: clf, path: path)
            return .linear(m)
        case let (.voting(members, weights), .voting(clf)):
            guard members.count == clf.estimators.count else {
                throw .invalid(path: path + ".members", reason: "\(members.count) members, but the settings list \(clf.estimators.count) estimators")
            }
            guard weights == clf.resolvedWeights else { throw .invalid(path: path + ".weights", reason: "differ from the settings' weights") }
            var fitted: [FittedClassifier] = []
            for (i, (member, estimator)) in zip(members, clf.estimators).enumerated() {
                fitted.append(try classifierFrom(member, settings: estimator, labels: labels, featureCount: featureCount, path: path + ".members[\(i)]"))
            }
            return .voting(FittedVoting(members: fitted, weights: weights))
        case let (_, clf):
            throw .invalid(path: path + ".type", reason: "the model's type does not match the pipeline's classifier (\(clf.typeName))")
        }
    }

    static func check(_ model: FittedLinearModel, labels: [String], featureCount: Int, settings: ClassifierSettings, path: String) throws(ArtifactError) {
        func invalid(_ suffix: String, _ reason: String) -> ArtifactError { .invalid(path: path + suffix, reason: reason) }
        guard model.kind.rawValue == settings.typeName else {
            throw invalid(".kind", "\(model.kind.rawValue), but the pipeline's classifier is \(settings.typeName)")
        }
        guard model.classNames == labels else { throw invalid(".class_names", "differ from the model's labels") }
        guard model.featureCount == featureCount else {
            throw invalid(".feature_count", "\(model.featureCount), but the vocabulary has \(featureCount) terms")
        }
        let oneScore = labels.count == 2 && (model.kind == .logisticRegression || model.kind == .linearSVC)
        let scores = oneScore ? 1 : labels.count
        guard model.scoreCount == scores else {
            throw invalid(".score_count", "\(model.scoreCount) scores for \(labels.count) labels (expected \(scores))")
        }
        if let bad = model.intercept.firstIndex(where: { !$0.isFinite }) { throw invalid(".intercept[\(bad)]", "not finite") }
        if model.kind != .linearSVC && model.temperature != 1 { throw invalid(".temperature", "only a linear SVM has a temperature") }
    }

    static func check(_ model: FittedGradientBoosting, labels: [String], featureCount: Int,
                      settings: GradientBoostingClassifier, path: String) throws(ArtifactError) {
        func invalid(_ suffix: String, _ reason: String) -> ArtifactError { .invalid(path: path + suffix, reason: reason) }
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
                try check(tree, featureCount: featureCount, path: path + ".trees[\(r)][\(k)]")
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
