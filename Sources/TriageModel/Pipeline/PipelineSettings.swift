import TriageBoost
import TriageCore
import TriageLinear
import TriageText

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
    /// The clean step (HTML, quoted replies, signatures, disclaimers cut before anything else);
    /// nil: messages are used as they come.
    public var clean: CleanSettings?
    public var text: TextComposer
    public var vect: CountVectorizer
    public var tfidf: TfidfTransformer
    /// The blocks of a feature union; empty for the single `vect` + `tfidf` block.
    public var union: [FeatureBlock]
    public var clf: ClassifierSettings

    public init(clean: CleanSettings? = nil, text: TextComposer = TextComposer(), vect: CountVectorizer = CountVectorizer(),
                tfidf: TfidfTransformer = TfidfTransformer(), union: [FeatureBlock] = [],
                clf: ClassifierSettings = .gradientBoosting(GradientBoostingClassifier())) {
        self.clean = clean
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

    /// The settings `triage train` uses without a config (`--preset recommended`): the best
    /// pipeline we know for short messages, the bundled `models/banking77.config.json` (92.1 % on
    /// banking77's test split, BENCHMARKS.md): word 1–2-grams (single-letter words kept) and
    /// char_wb 1–5-grams, each TF-IDF with sublinear tf, into a soft vote of LogisticRegression
    /// (C 30), LinearSVC (C 1), both class-balanced, and MultinomialNB (alpha 0.01), weighted 2:1:1.
    public static var recommended: PipelineSettings { PipelinePreset.recommended.settings }

    /// The talk's pipeline (`--preset talk`): the subject weighted twice, English stop words and
    /// Snowball stemming, sublinear TF-IDF on word 1–2-grams seen in at least two messages, and
    /// the gradient-boosting defaults (83.9 % on banking77).
    public static var talk: PipelineSettings { PipelinePreset.talk.settings }

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

    enum CodingKeys: String, CodingKey { case clean, text, vect, tfidf, union, clf }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clean = try c.decodeIfPresent(CleanSettings.self, forKey: .clean)
        text = try c.decodeIfPresent(TextComposer.self, forKey: .text) ?? TextComposer()
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
    /// a union pipeline `text`, `union`, `clf`; `clean` first when there is one.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(clean, forKey: .clean)
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

    /// `validate()`, and every stop-word list found and read: all that can be checked before
    /// any data is read.
    public func check(stopWordDirectories: [String]? = nil) throws(PipelineError) {
        try validate()
        if let clean {
            do { _ = try clean.prepare(directories: stopWordDirectories) } catch { throw .text(error) }
        }
        for block in blocks {
            do { _ = try block.vect.prepareAnalyzer(stopWordDirectories: stopWordDirectories) } catch { throw .text(error) }
        }
    }
}

/// Named starting points for a pipeline's settings: `triage train --preset NAME`; a config file
/// and `--set` start from one (the recommended one unless told).
public enum PipelinePreset: String, CaseIterable, Sendable {
    case recommended, talk

    /// One line for `--help`.
    public var summary: String {
        switch self {
        case .recommended: "word 1–2-grams + char_wb 1–5-grams, soft vote of LogisticRegression, LinearSVC, MultinomialNB (92.1 % on banking77)"
        case .talk: "the talk's pipeline: subject ×2, stop words, Snowball stems, word 1–2-grams, gradient-boosted trees (83.9 %)"
        }
    }

    public var settings: PipelineSettings {
        switch self {
        case .recommended:
            var word = FeatureBlock(name: "word")
            word.vect.ngramRange = NgramRange(1, 2)
            word.vect.tokenPattern = #"(?u)\b\w+\b"#
            word.tfidf.sublinearTF = true
            var char = FeatureBlock(name: "char")
            char.vect.analyzer = .charWB
            char.vect.ngramRange = NgramRange(1, 5)
            char.tfidf.sublinearTF = true
            var logistic = LogisticRegression()
            logistic.c = 30
            logistic.classWeight = .balanced
            logistic.maxIter = 1000
            var svc = LinearSVC()
            svc.c = 1
            svc.classWeight = .balanced
            var bayes = MultinomialNB()
            bayes.alpha = 0.01
            let vote = VotingClassifier(estimators: [ClassifierSettings(logistic), ClassifierSettings(svc), ClassifierSettings(bayes)],
                                        weights: [2, 1, 1])
            return PipelineSettings(clean: CleanSettings(), union: [word, char], clf: ClassifierSettings(vote))
        case .talk:
            var s = PipelineSettings()
            s.text.subjectWeight = 2
            s.vect.stopWords = .named("english")
            s.vect.stemmer = "english"
            s.vect.ngramRange = NgramRange(1, 2)
            s.vect.minDF = .count(2)
            s.tfidf.sublinearTF = true
            return s
        }
    }
}
