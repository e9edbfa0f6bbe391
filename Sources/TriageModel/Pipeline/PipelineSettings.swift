import TriageBoost
import TriageCore
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
    public var text: TextComposer
    public var vect: CountVectorizer
    public var tfidf: TfidfTransformer
    /// The blocks of a feature union; empty for the single `vect` + `tfidf` block.
    public var union: [FeatureBlock]
    public var clf: ClassifierSettings

    public init(text: TextComposer = TextComposer(), vect: CountVectorizer = CountVectorizer(),
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
