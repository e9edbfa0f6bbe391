import TriageBoost
import TriageCore
import TriageLinear
import TriageText

/// The classifier at the end of a pipeline. JSON: `{"type": "gradient_boosting", …parameters}`
/// (the type defaults to gradient boosting), parameters named as in scikit-learn. Types:
/// `gradient_boosting`, `logistic_regression`, `linear_svc`, `multinomial_nb`, `complement_nb`,
/// and `voting` (soft voting of several of those, `VotingClassifier`).
public enum ClassifierSettings: Hashable, Sendable, Codable {
    case gradientBoosting(GradientBoostingClassifier)
    case logisticRegression(LogisticRegression)
    case linearSVC(LinearSVC)
    case multinomialNB(MultinomialNB)
    case complementNB(ComplementNB)
    case voting(VotingClassifier)

    public static let typeNames = ["gradient_boosting", "logistic_regression", "linear_svc", "multinomial_nb", "complement_nb", "voting"]

    private enum TypeKey: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        let type = try c.decodeIfPresent(String.self, forKey: .type) ?? "gradient_boosting"
        switch type {
        case "gradient_boosting": self = .gradientBoosting(try GradientBoostingClassifier(from: decoder))
        case "logistic_regression": self = .logisticRegression(try LogisticRegression(from: decoder))
        case "linear_svc": self = .linearSVC(try LinearSVC(from: decoder))
        case "multinomial_nb": self = .multinomialNB(try MultinomialNB(from: decoder))
        case "complement_nb": self = .complementNB(try ComplementNB(from: decoder))
        case "voting": self = .voting(try VotingClassifier(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [TypeKey.type],
                debugDescription: "unknown classifier type \"\(type)\"; known: \(Self.typeNames.joined(separator: ", "))"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .gradientBoosting(settings): try settings.encode(to: encoder)
        case let .logisticRegression(settings): try settings.encode(to: encoder)
        case let .linearSVC(settings): try settings.encode(to: encoder)
        case let .multinomialNB(settings): try settings.encode(to: encoder)
        case let .complementNB(settings): try settings.encode(to: encoder)
        case let .voting(settings): try settings.encode(to: encoder)
        }
        var c = encoder.container(keyedBy: TypeKey.self)
        try c.encode(typeName, forKey: .type)
    }

    public var typeName: String {
        switch self {
        case .gradientBoosting: return "gradient_boosting"
        case .logisticRegression: return "logistic_regression"
        case .linearSVC: return "linear_svc"
        case .multinomialNB: return "multinomial_nb"
        case .complementNB: return "complement_nb"
        case .voting: return "voting"
        }
    }

    /// The seed of the classifier's random choices (0 for the deterministic ones).
    public var randomState: UInt64 {
        switch self {
        case let .gradientBoosting(s): return s.randomState
        case let .linearSVC(s): return s.randomState
        case .logisticRegression, .multinomialNB, .complementNB: return 0
        case let .voting(s): return s.estimators.first { $0.randomState != 0 }?.randomState ?? 0
        }
    }

    /// Checks the settings without data.
    public func validate() throws(PipelineError) {
        switch self {
        case let .gradientBoosting(s): do { try s.validate() } catch { throw .classifier(error) }
        case let .logisticRegression(s): do { try s.validate() } catch { throw .linear(error) }
        case let .linearSVC(s): do { try s.validate() } catch { throw .linear(error) }
        case let .multinomialNB(s): do { try s.validate() } catch { throw .linear(error) }
        case let .complementNB(s): do { try s.validate() } catch { throw .linear(error) }
        case let .voting(s): try s.validate()
        }
    }

    /// Fits the classifier on a feature matrix with labels (indices into `classNames`).
    public func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int?) throws(PipelineError) -> FittedClassifier {
        switch self {
        case let .gradientBoosting(s):
            do { return .gradientBoosting(try s.fit(x, labels: labels, classNames: classNames, threads: threads)) } catch { throw .classifier(error) }
        case let .logisticRegression(s):
            do { return .linear(try s.fit(x, labels: labels, classNames: classNames, threads: threads)) } catch { throw .linear(error) }
        case let .linearSVC(s):
            do { return .linear(try s.fit(x, labels: labels, classNames: classNames, threads: threads)) } catch { throw .linear(error) }
        case let .multinomialNB(s):
            do { return .linear(try s.fit(x, labels: labels, classNames: classNames)) } catch { throw .linear(error) }
        case let .complementNB(s):
            do { return .linear(try s.fit(x, labels: labels, classNames: classNames)) } catch { throw .linear(error) }
        case let .voting(s):
            var members: [FittedClassifier] = []
            for estimator in s.estimators { members.append(try estimator.fit(x, labels: labels, classNames: classNames, threads: threads)) }
            return .voting(FittedVoting(members: members, weights: s.resolvedWeights))
        }
    }
}

/// Soft voting, as scikit-learn's `VotingClassifier(voting="soft")`: the estimators are fitted on
/// the same features and the ensemble's probabilities are their weighted mean.
///
/// JSON: `{"type": "voting", "estimators": [{"type": "logistic_regression", "C": 30},
/// {"type": "linear_svc"}], "weights": [2, 1]}` (`weights` optional: equal). Worth it only when
/// it beats each member on validation folds — `triage search` can compare them in one grid.
public struct VotingClassifier: Hashable, Sendable, Codable {
    public var estimators: [ClassifierSettings]
    public var weights: [Double]?

    public init(estimators: [ClassifierSettings], weights: [Double]? = nil) {
        self.estimators = estimators
        self.weights = weights
    }

    enum CodingKeys: String, CodingKey { case estimators, weights }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        estimators = try c.decode([ClassifierSettings].self, forKey: .estimators)
        weights = try c.decodeIfPresent([Double].self, forKey: .weights)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(estimators, forKey: .estimators)
        try c.encode(weights, forKey: .weights)
    }

    /// The weights in effect (1 each without `weights`).
    public var resolvedWeights: [Double] { weights ?? [Double](repeating: 1, count: estimators.count) }

    public func validate() throws(PipelineError) {
        guard estimators.count >= 2 else { throw .invalidEnsemble("a voting classifier needs at least 2 estimators, not \(estimators.count)") }
        if estimators.contains(where: { if case .voting = $0 { return true } else { return false } }) {
            throw .invalidEnsemble("voting classifiers do not nest")
        }
        if let weights {
            guard weights.count == estimators.count else {
                throw .invalidEnsemble("\(weights.count) weights for \(estimators.count) estimators")
            }
            guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.contains(where: { $0 > 0 }) else {
                throw .invalidEnsemble("weights must be finite, ≥ 0, and not all 0")
            }
        }
        for e in estimators { try e.validate() }
    }
}

/// Everything that defines a pipeline before fitting, in scikit-learn's step names:
/// `text` (subject weighting), `vect` (CountVectorizer), `tfidf` (TfidfTransformer), `clf` — or,
/// instead of `vect` and `tfidf`, a feature `union` of named blocks, each its own vectorizer and
/// TF-IDF over the message, the subject or the body, concatenated with a weight per block.
///
/// JSON examples:
/// ```json
/// {"text": {"subject_weight": 2},
///  "vect": {"stop_words": "english", "stemmer": "english", "ngram_range": [1, 2], "min_df": 2},
///  "tfidf": {"sublinear_tf": true},
///  "clf": {"type": "gradient_boosting", "n_estimators": 100, "learning_rate": 0.1}}
///
/// {"union": [{"name": "word", "ngram_range": [1, 2], "sublinear_tf": true},
///            {"name": "char", "analyzer": "char_wb", "ngram_range": [2, 5], "sublinear_tf": true}],
///  "clf": {"type": "logistic_regression", "C": 10}}
/// ```
/// Every step is optional and defaults as documented on its type; `union` and `vect`/`tfidf`
/// exclude each other.
public struct PipelineSettings: Hashable, Sendable, Codable {
    public var text: MessageText
    public var vect: CountVectorizer
    public var tfidf: TfidfTransformer
    /// The blocks of a feature union; empty for the single `vect` + `tfidf` block.
    public var union: [FeatureBlock]
    public var clf: ClassifierSettings

    public init(text: MessageText = MessageText(), vect: CountVectorizer = CountVectorizer(),
                tfidf: TfidfTransformer = TfidfTransformer(), union: [FeatureBlock] = [],
                clf: ClassifierSettings = .gradientBoosting(GradientBoostingClassifier())) {
        self.text = text
        self.vect = vect
        self.tfidf = tfidf
        self.union = union
        self.clf = clf
    }

    /// The feature blocks in effect: the union's, or one block named `vect` made of `vect` and
    /// `tfidf` over the message.
    public var blocks: [FeatureBlock] {
        union.isEmpty ? [FeatureBlock(name: "vect", source: .message, weight: 1, vect: vect, tfidf: tfidf)] : union
    }

    /// The settings `triage train` uses without a config: the talk's pipeline (subject weighted
    /// twice, English stop words and Snowball stemming, sublinear TF-IDF) on word 1–2-grams seen
    /// in at least two messages, and the gradient-boosting defaults.
    public static var recommended: PipelineSettings {
        var s = PipelineSettings()
        s.text.subjectWeight = 2
        s.vect.stopWords = .named("english")
        s.vect.stemmer = "english"
        s.vect.ngramRange = NgramRange(1, 2)
        s.vect.minDF = .count(2)
        s.tfidf.sublinearTF = true
        return s
    }

    /// scikit-learn's strongest classical features for short messages (issue 9's reference): word
    /// 1–2-grams and char_wb 2–5-grams, each TF-IDF with sublinear tf, side by side (blocks `word`
    /// and `char`), read from the subject and body joined by a newline, into `clf`.
    public static func wordAndCharUnion(clf: ClassifierSettings) -> PipelineSettings {
        var word = FeatureBlock(name: "word")
        word.vect.ngramRange = NgramRange(1, 2)
        word.tfidf.sublinearTF = true
        var char = FeatureBlock(name: "char")
        char.vect.analyzer = .charWB
        char.vect.ngramRange = NgramRange(2, 5)
        char.tfidf.sublinearTF = true
        return PipelineSettings(union: [word, char], clf: clf)
    }

    enum CodingKeys: String, CodingKey { case text, vect, tfidf, union, clf }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decodeIfPresent(MessageText.self, forKey: .text) ?? MessageText()
        union = try c.decodeIfPresent([FeatureBlock].self, forKey: .union) ?? []
        if !union.isEmpty, let both = [CodingKeys.vect, .tfidf].first(where: { c.contains($0) }) {
            throw DecodingError.dataCorruptedError(forKey: both, in: c,
                debugDescription: "\"\(both.rawValue)\" and \"union\" exclude each other: put the vectorizer and TF-IDF settings in each union block")
        }
        vect = try c.decodeIfPresent(CountVectorizer.self, forKey: .vect) ?? CountVectorizer()
        tfidf = try c.decodeIfPresent(TfidfTransformer.self, forKey: .tfidf) ?? TfidfTransformer()
        clf = try c.decodeIfPresent(ClassifierSettings.self, forKey: .clf) ?? .gradientBoosting(GradientBoostingClassifier())
    }

    /// A single-block pipeline encodes `text`, `vect`, `tfidf`, `clf` (as before unions existed);
    /// a union pipeline `text`, `union`, `clf`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        if union.isEmpty {
            try c.encode(vect, forKey: .vect)
            try c.encode(tfidf, forKey: .tfidf)
        } else {
            try c.encode(union, forKey: .union)
        }
        try c.encode(clf, forKey: .clf)
    }

    /// Checks every step's settings without data or files.
    public func validate() throws(PipelineError) {
        do { try text.validate() } catch { throw .text(error) }
        if union.isEmpty {
            do { try vect.validate() } catch { throw .text(error) }
        } else {
            var names = Set<String>()
            for block in union {
                try block.validate()
                guard names.insert(block.name).inserted else { throw .invalidUnion("two blocks are named \"\(block.name)\"") }
            }
        }
        try clf.validate()
    }
}

/// Why a pipeline could not be fitted or used.
public enum PipelineError: Error, Equatable, Sendable, CustomStringConvertible {
    case text(TextFeatureError)
    case classifier(BoostError)
    case linear(LinearError)
    case invalidUnion(String)
    case invalidEnsemble(String)
    case noTrainingMessages
    case missingLabel(line: Int)
    case tooFewLabels([String])

    public var description: String {
        switch self {
        case let .text(e): return e.description
        case let .classifier(e): return e.description
        case let .linear(e): return e.description
        case let .invalidUnion(why): return "invalid feature union: \(why)"
        case let .invalidEnsemble(why): return "invalid voting classifier: \(why)"
        case .noTrainingMessages: return "no training messages"
        case let .missingLabel(line): return "the message at line \(line) has no label"
        case let .tooFewLabels(labels):
            return "the training data has \(labels.count) distinct label\(labels.count == 1 ? "" : "s") (\(labels.joined(separator: ", "))); a classifier needs at least 2"
        }
    }
}
