import TriageCore
import TriageText

/// One block of a feature union: a text source, its own vectorizer and TF-IDF (scikit-learn's
/// `TfidfVectorizer`), and a weight that multiplies the block's columns (`transformer_weights`).
///
/// JSON, flat as a `TfidfVectorizer`'s parameters:
/// ```json
/// {"name": "char", "source": "message", "weight": 1,
///  "analyzer": "char_wb", "ngram_range": [2, 5], "sublinear_tf": true}
/// ```
/// `name` (letters, digits, `_`) addresses the block's parameters in a grid:
/// `union.char.ngram_range`, `union.char.weight`.
public struct FeatureBlock: Hashable, Sendable, Codable {
    /// The text a block reads.
    public enum Source: String, Hashable, Sendable, Codable, CaseIterable {
        /// Subject (repeated `text.subject_weight` times) and body, as a single-block pipeline.
        case message
        case subject
        case body
    }

    public var name: String
    public var source: Source
    public var weight: Double
    public var vect: CountVectorizer
    public var tfidf: TfidfTransformer

    public init(name: String, source: Source = .message, weight: Double = 1, vect: CountVectorizer = CountVectorizer(),
                tfidf: TfidfTransformer = TfidfTransformer()) {
        self.name = name
        self.source = source
        self.weight = weight
        self.vect = vect
        self.tfidf = tfidf
    }

    enum CodingKeys: String, CodingKey { case name, source, weight }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        source = try c.decodeIfPresent(Source.self, forKey: .source) ?? .message
        weight = try c.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        vect = try CountVectorizer(from: decoder)
        tfidf = try TfidfTransformer(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(source, forKey: .source)
        try c.encode(weight, forKey: .weight)
        try vect.encode(to: encoder)
        try tfidf.encode(to: encoder)
    }

    /// The text this block analyses.
    public func text(subject: String, body: String, composer: TextComposer) -> String {
        switch source {
        case .message: return composer.compose(subject: subject, body: body)
        case .subject: return subject
        case .body: return body
        }
    }

    func validate() throws(PipelineError) {
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
            throw .invalidUnion("block name \"\(name)\" must be letters, digits and _ (it is part of parameter names)")
        }
        guard weight > 0, weight.isFinite else { throw .invalidUnion("block \"\(name)\": weight \(weight) must be a number > 0") }
        do { try vect.validate() } catch { throw .invalidUnion("block \"\(name)\": \(error.description)") }
    }
}

/// A fitted block: its vectorizer and TF-IDF, and where its columns start in the union.
public struct FittedBlock: Sendable {
    public let settings: FeatureBlock
    public let vectorizer: FittedCountVectorizer
    public let tfidf: FittedTfidfTransformer
    /// Index of the block's first column in the union's feature matrix.
    public let offset: Int

    public init(settings: FeatureBlock, vectorizer: FittedCountVectorizer, tfidf: FittedTfidfTransformer, offset: Int) {
        self.settings = settings
        self.vectorizer = vectorizer
        self.tfidf = tfidf
        self.offset = offset
    }

    public var featureCount: Int { vectorizer.vocabulary.count }
}
