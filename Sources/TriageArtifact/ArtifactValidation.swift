import TriageBoost
import TriageCore
import TriageModel
import TriageText

/// Semantic checks of a decoded payload, and the pipeline it describes. Every failure is
/// `ArtifactError.invalid(path:reason:)` with the JSON path of the offending value.
enum ArtifactValidation {
    /// The first head's pipeline (the whole model for a single-head one).
    static func pipeline(from payload: Payload) throws(ArtifactError) -> FittedPipeline {
        try pipelines(from: payload).first
    }

    /// The first head's pipeline and, in version 7, the other heads' (sharing its features).
    static func pipelines(from payload: Payload) throws(ArtifactError) -> (first: FittedPipeline, others: [FittedPipeline]) {
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

        if payload.formatVersion < 3 && payload.matrices != nil {
            throw invalid("$.matrices", "not part of format version \(payload.formatVersion)")
        }
        if payload.formatVersion < 4 && payload.confidencePolicy != nil {
            throw invalid("$.confidence_policy", "not part of format version \(payload.formatVersion)")
        }
        if payload.formatVersion >= 4 {
            guard let policy = payload.confidencePolicy else { throw invalid("$.confidence_policy", "missing (format version \(payload.formatVersion))") }
            do { try policy.validate(labels: labels) } catch { throw invalid("$.confidence_policy", error.description) }
            guard policy.threshold == payload.unsureThreshold else {
                throw invalid("$.unsure_threshold", "\(payload.unsureThreshold) differs from the policy's threshold \(policy.threshold)")
            }
        }

        // The clean step (version 5): its settings and patterns together.
        var cleaner: Cleaner?
        if payload.formatVersion < 5 {
            if settings.clean != nil { throw invalid("$.pipeline.clean", "not part of format version \(payload.formatVersion)") }
            if payload.cleanPatterns != nil { throw invalid("$.clean_patterns", "not part of format version \(payload.formatVersion)") }
        } else {
            switch (settings.clean, payload.cleanPatterns) {
            case let (clean?, patterns?):
                for (name, list) in [("reply", patterns.reply), ("separator", patterns.separator), ("mobile", patterns.mobile)] {
                    if let bad = list.firstIndex(where: { $0.utf8.count > 200 || $0.replacingOccurrences(of: "*", with: "").trimmingCharacters(in: .whitespaces).isEmpty }) {
                        throw invalid("$.clean_patterns.\(name)[\(bad)]", "a pattern has 1 to 200 bytes and some text besides `*`")
                    }
                }
                guard patterns.count <= 100_000 else { throw invalid("$.clean_patterns", "\(patterns.count) patterns; at most 100000") }
                guard patterns == patterns.normalized else { throw invalid("$.clean_patterns", "each list must be sorted and without repeats") }
                let made = Cleaner(settings: clean, patterns: patterns)
                if let recorded = payload.provenance.mailPatternsSHA256, recorded != made.patternsSHA256 {
                    throw invalid("$.provenance.mail_patterns_sha256", "\(recorded.prefix(16))… is not the SHA-256 of $.clean_patterns (\(made.patternsSHA256.prefix(16))…)")
                }
                cleaner = made
            case (nil, nil):
                cleaner = nil
            case (_?, nil):
                throw invalid("$.clean_patterns", "missing: the pipeline has a clean step")
            case (nil, _?):
                throw invalid("$.clean_patterns", "present, but the pipeline has no clean step")
            }
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

        // The heads (version 7), checked as names and labels before the rules that name them.
        if payload.formatVersion < 7 && payload.heads != nil { throw invalid("$.heads", "not part of format version \(payload.formatVersion)") }
        let headPayloads = payload.heads ?? []
        if payload.heads != nil && headPayloads.isEmpty { throw invalid("$.heads", "empty: a single-head model has no \"heads\"") }
        guard headPayloads.count <= 64 else { throw invalid("$.heads", "\(headPayloads.count) heads; at most 64") }
        var headNames = Set([payload.head ?? FittedPipeline.defaultHead])
        for (k, h) in headPayloads.enumerated() {
            let at = "$.heads[\(k)]"
            guard !h.name.isEmpty, h.name.utf8.count <= 256 else { throw invalid(at + ".name", "a head's name has 1 to 256 bytes") }
            guard headNames.insert(h.name).inserted else { throw invalid(at + ".name", "head \"\(h.name)\" is named twice") }
            guard h.labels.count >= 2 else { throw invalid(at + ".labels", "\(h.labels.count) labels; a head has at least 2") }
            var seen = Set<String>()
            for (i, label) in h.labels.enumerated() {
                guard !label.isEmpty else { throw invalid(at + ".labels[\(i)]", "empty label") }
                guard seen.insert(label).inserted else { throw invalid(at + ".labels[\(i)]", "duplicate label \"\(label)\"") }
            }
        }
        let allHeads = [(name: payload.head ?? FittedPipeline.defaultHead, labels: labels)] + headPayloads.map { (name: $0.name, labels: $0.labels) }

        // The head and the rules (version 6).
        var routing: ModelRules?
        if payload.formatVersion < 6 {
            if payload.head != nil { throw invalid("$.head", "not part of format version \(payload.formatVersion)") }
            if payload.rules != nil { throw invalid("$.rules", "not part of format version \(payload.formatVersion)") }
        } else {
            guard let head = payload.head else { throw invalid("$.head", "missing (format version \(payload.formatVersion))") }
            guard !head.isEmpty, head.utf8.count <= 256 else { throw invalid("$.head", "a head's name has 1 to 256 bytes") }
            if let set = payload.rules {
                guard set.rules.count <= 10_000 else { throw invalid("$.rules.rules", "\(set.rules.count) rules; at most 10000") }
                do {
                    let compiled = try ModelRules(set)
                    try compiled.validate(heads: allHeads)
                    routing = compiled
                } catch {
                    throw invalid(error.rule.map { "$.rules.rules[\($0.index)]" } ?? "$.rules", error.description)
                }
            }
        }
        featureCount += routing?.columnCount ?? 0

        // Classifier.
        if payload.formatVersion == 1 && payload.model.typeName != GradientBoostingClassifier.typeName {
            throw invalid("$.model.type", "format version 1 holds only gradient-boosted trees")
        }
        let classifier = payload.model
        if payload.formatVersion < 6 && classifier.model is FittedDummy {
            throw invalid("$.model.type", "\"dummy\" is not part of format version \(payload.formatVersion)")
        }
        do { try classifier.model.check(against: settings.clf, labels: labels, featureCount: featureCount, path: "$.model") } catch {
            throw invalid(error.path, error.reason)
        }

        for (i, probe) in payload.probes.enumerated() {
            if let bad = probe.probabilities.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                throw invalid("$.probes[\(i)].probabilities[\(bad)]", "\(probe.probabilities[bad]) is not a probability")
            }
        }
        // Older versions: one threshold on the classifier's probabilities.
        let policy = payload.confidencePolicy ?? .manual(payload.unsureThreshold)
        let withPolicy: FittedPipeline
        do {
            withPolicy = try FittedPipeline(settings: settings, labels: labels, blocks: blocks, classifier: classifier, cleaner: cleaner).withPolicy(policy)
        } catch { throw invalid("$.confidence_policy", error.description) }
        let first: FittedPipeline
        do { first = try withPolicy.withRouting(routing, head: payload.head, heads: allHeads) } catch { throw invalid("$.rules", error.description) }

        // The later heads: each its own classifier on the first head's feature columns.
        var others: [FittedPipeline] = []
        for (k, h) in headPayloads.enumerated() {
            let at = "$.heads[\(k)]"
            var own = settings
            own.clf = h.clf
            do { try h.clf.validate() } catch { throw invalid(at + ".clf", error.description) }
            do { try h.model.model.check(against: h.clf, labels: h.labels, featureCount: featureCount, path: at + ".model") } catch {
                throw invalid(error.path, error.reason)
            }
            do { try h.confidencePolicy.validate(labels: h.labels) } catch { throw invalid(at + ".confidence_policy", error.description) }
            let pipeline: FittedPipeline
            do {
                pipeline = try FittedPipeline(settings: own, labels: h.labels, blocks: blocks, classifier: h.model, cleaner: cleaner).withPolicy(h.confidencePolicy)
            } catch { throw invalid(at + ".confidence_policy", error.description) }
            do { others.append(try pipeline.withRouting(routing, head: h.name, heads: allHeads)) } catch { throw invalid("$.rules", error.description) }
        }
        return (first, others)
    }
}
