import TriageBoost
import TriageCore
import TriageText

/// The classifier at the end of a pipeline. JSON: `{"type": "gradient_boosting", …parameters}`
/// (the type defaults to gradient boosting), parameters named as in scikit-learn.
public enum ClassifierSettings: Hashable, Sendable, Codable {
    case gradientBoosting(GradientBoostingClassifier)

    public static let typeNames = ["gradient_boosting"]

    private enum TypeKey: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        let type = try c.decodeIfPresent(String.self, forKey: .type) ?? "gradient_boosting"
        switch type {
        case "gradient_boosting":
            self = .gradientBoosting(try GradientBoostingClassifier(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [TypeKey.type],
                debugDescription: "unknown classifier type \"\(type)\"; known: \(Self.typeNames.joined(separator: ", "))"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .gradientBoosting(settings):
            try settings.encode(to: encoder)
            var c = encoder.container(keyedBy: TypeKey.self)
            try c.encode("gradient_boosting", forKey: .type)
        }
    }

    public var typeName: String {
        switch self {
        case .gradientBoosting: return "gradient_boosting"
        }
    }
}

/// Everything that defines a pipeline before fitting, in scikit-learn's step names:
/// `text` (subject weighting), `vect` (CountVectorizer), `tfidf` (TfidfTransformer), `clf`.
///
/// JSON example:
/// ```json
/// {"text": {"subject_weight": 2},
///  "vect": {"stop_words": "english", "stemmer": "english", "ngram_range": [1, 2], "min_df": 2},
///  "tfidf": {"sublinear_tf": true},
///  "clf": {"type": "gradient_boosting", "n_estimators": 100, "learning_rate": 0.1}}
/// ```
/// Every step is optional and defaults as documented on its type.
public struct PipelineSettings: Hashable, Sendable, Codable {
    public var text: MessageText
    public var vect: CountVectorizer
    public var tfidf: TfidfTransformer
    public var clf: ClassifierSettings

    public init(text: MessageText = MessageText(), vect: CountVectorizer = CountVectorizer(),
                tfidf: TfidfTransformer = TfidfTransformer(), clf: ClassifierSettings = .gradientBoosting(GradientBoostingClassifier())) {
        self.text = text
        self.vect = vect
        self.tfidf = tfidf
        self.clf = clf
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

    enum CodingKeys: String, CodingKey { case text, vect, tfidf, clf }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decodeIfPresent(MessageText.self, forKey: .text) ?? MessageText()
        vect = try c.decodeIfPresent(CountVectorizer.self, forKey: .vect) ?? CountVectorizer()
        tfidf = try c.decodeIfPresent(TfidfTransformer.self, forKey: .tfidf) ?? TfidfTransformer()
        clf = try c.decodeIfPresent(ClassifierSettings.self, forKey: .clf) ?? .gradientBoosting(GradientBoostingClassifier())
    }

    /// Checks every step's settings without data or files.
    public func validate() throws(PipelineError) {
        do { try text.validate() } catch { throw .text(error) }
        do { try vect.validate() } catch { throw .text(error) }
        switch clf {
        case let .gradientBoosting(settings):
            do { try settings.validate() } catch { throw .classifier(error) }
        }
    }
}

/// Why a pipeline could not be fitted or used.
public enum PipelineError: Error, Equatable, Sendable, CustomStringConvertible {
    case text(TextFeatureError)
    case classifier(BoostError)
    case noTrainingMessages
    case missingLabel(line: Int)
    case tooFewLabels([String])

    public var description: String {
        switch self {
        case let .text(e): return e.description
        case let .classifier(e): return e.description
        case .noTrainingMessages: return "no training messages"
        case let .missingLabel(line): return "the message at line \(line) has no label"
        case let .tooFewLabels(labels):
            return "the training data has \(labels.count) distinct label\(labels.count == 1 ? "" : "s") (\(labels.joined(separator: ", "))); a classifier needs at least 2"
        }
    }
}
