import TriageCore

/// scikit-learn's `CountVectorizer`: documents → a matrix of n-gram counts over a learned,
/// sorted vocabulary. Settings only; `fit` returns a `FittedCountVectorizer`.
///
/// Parameters (scikit-learn's names in JSON, same meanings):
/// - `analyzer`, `ngram_range`, `lowercase`, `strip_accents`, `token_pattern`, `stop_words`, and
///   `stemmer` (a Snowball algorithm; Triage's addition) — see `AnalysisSettings` for the order.
/// - `min_df`, `max_df`: keep a term when `min_count ≤ df ≤ max_count`, where an integer is a
///   document count and a float `p` means `p × n_documents` (not rounded).
/// - `max_features`: then keep the `max_features` terms of highest total count. **Tie-break**:
///   equal counts keep the term that comes first in code point order. (scikit-learn leaves ties
///   to numpy's unstable argsort, so which tied terms it keeps is unspecified.) With `binary`,
///   the "total count" is the document frequency, as in scikit-learn.
/// - `binary`: every non-zero count becomes 1.
/// - `vocabulary`: a fixed list of terms (column order = list order); fitting then learns
///   nothing and ignores `min_df`, `max_df` and `max_features`.
///
/// The vocabulary is sorted by code point (Python's `sorted`), so column `j` is the j-th term.
public struct CountVectorizer: Hashable, Sendable, Codable {
    public var analyzer: AnalyzerKind = .word
    public var ngramRange = NgramRange(1, 1)
    public var lowercase = true
    public var stripAccents: StripAccents? = nil
    public var tokenPattern = TokenPattern.sklearnDefault
    public var stopWords: StopWords? = nil
    public var stemmer: String? = nil
    public var minDF: DocumentFrequency = .count(1)
    public var maxDF: DocumentFrequency = .proportion(1.0)
    public var maxFeatures: Int? = nil
    public var binary = false
    public var vocabulary: [String]? = nil

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case analyzer, lowercase, stemmer, binary, vocabulary
        case ngramRange = "ngram_range"
        case stripAccents = "strip_accents"
        case tokenPattern = "token_pattern"
        case stopWords = "stop_words"
        case minDF = "min_df"
        case maxDF = "max_df"
        case maxFeatures = "max_features"
    }

    /// Every key is optional and defaults as in scikit-learn.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        analyzer = try c.decodeIfPresent(AnalyzerKind.self, forKey: .analyzer) ?? .word
        ngramRange = try c.decodeIfPresent(NgramRange.self, forKey: .ngramRange) ?? NgramRange(1, 1)
        lowercase = try c.decodeIfPresent(Bool.self, forKey: .lowercase) ?? true
        stripAccents = try c.decodeIfPresent(StripAccents.self, forKey: .stripAccents)
        tokenPattern = try c.decodeIfPresent(String.self, forKey: .tokenPattern) ?? TokenPattern.sklearnDefault
        stopWords = try c.decodeIfPresent(StopWords.self, forKey: .stopWords)
        stemmer = try c.decodeIfPresent(String.self, forKey: .stemmer)
        minDF = try c.decodeIfPresent(DocumentFrequency.self, forKey: .minDF) ?? .count(1)
        maxDF = try c.decodeIfPresent(DocumentFrequency.self, forKey: .maxDF) ?? .proportion(1.0)
        maxFeatures = try c.decodeIfPresent(Int.self, forKey: .maxFeatures)
        binary = try c.decodeIfPresent(Bool.self, forKey: .binary) ?? false
        vocabulary = try c.decodeIfPresent([String].self, forKey: .vocabulary)
    }

    /// Writes every key, nulls included, so a stored configuration is explicit.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(analyzer, forKey: .analyzer)
        try c.encode(ngramRange, forKey: .ngramRange)
        try c.encode(lowercase, forKey: .lowercase)
        try c.encode(stripAccents, forKey: .stripAccents)
        try c.encode(tokenPattern, forKey: .tokenPattern)
        try c.encode(stopWords, forKey: .stopWords)
        try c.encode(stemmer, forKey: .stemmer)
        try c.encode(minDF, forKey: .minDF)
        try c.encode(maxDF, forKey: .maxDF)
        try c.encode(maxFeatures, forKey: .maxFeatures)
        try c.encode(binary, forKey: .binary)
        try c.encode(vocabulary, forKey: .vocabulary)
    }

    /// The part of the settings that decides tokens (the cache key of a grid search's first stage).
    public var analysis: AnalysisSettings {
        get {
            AnalysisSettings(analyzer: analyzer, lowercase: lowercase, stripAccents: stripAccents,
                             tokenPattern: tokenPattern, stopWords: stopWords, stemmer: stemmer)
        }
        set {
            analyzer = newValue.analyzer
            lowercase = newValue.lowercase
            stripAccents = newValue.stripAccents
            tokenPattern = newValue.tokenPattern
            stopWords = newValue.stopWords
            stemmer = newValue.stemmer
        }
    }

    /// Checks every setting that can be checked without documents or files.
    public func validate() throws(TextFeatureError) {
        try analysis.validate()
        guard ngramRange.min >= 1, ngramRange.min <= ngramRange.max else {
            throw .invalidNgramRange(min: ngramRange.min, max: ngramRange.max)
        }
        guard minDF.isValid else { throw .invalidDocumentFrequency(parameter: "min_df", value: minDF) }
        guard maxDF.isValid else { throw .invalidDocumentFrequency(parameter: "max_df", value: maxDF) }
        if let maxFeatures, maxFeatures <= 0 { throw .invalidMaxFeatures(maxFeatures) }
        if let vocabulary { _ = try FittedCountVectorizer.index(vocabulary) }
    }

    /// Resolves the analysis settings (reads stop-word files).
    public func prepareAnalyzer(stopWordDirectories: [String]? = nil) throws(TextFeatureError) -> PreparedAnalyzer {
        try validate()
        return try PreparedAnalyzer(analysis, stopWordDirectories: stopWordDirectories)
    }

    /// Learns the vocabulary of `documents`.
    public func fit(_ documents: [String], threads: Int? = nil, stopWordDirectories: [String]? = nil) throws(TextFeatureError) -> FittedCountVectorizer {
        try fitTransform(documents, threads: threads, stopWordDirectories: stopWordDirectories).0
    }

    /// Learns the vocabulary and returns the count matrix of `documents` (one row each).
    public func fitTransform(_ documents: [String], threads: Int? = nil, stopWordDirectories: [String]? = nil)
        throws(TextFeatureError) -> (FittedCountVectorizer, SparseMatrix)
    {
        let analyzer = try prepareAnalyzer(stopWordDirectories: stopWordDirectories)
        if documents.isEmpty { throw .emptyCorpus }
        if let vocabulary {
            let fitted = try FittedCountVectorizer(settings: self, analyzer: analyzer, vocabulary: vocabulary)
            return (fitted, fitted.transform(documents, threads: threads))
        }
        let corpus = TokenizedCorpus(documents, analyzer: analyzer, threads: threads)
        return try fitTransform(corpus, threads: threads)
    }

    /// Fitting from the documents `rows` (nil: all) of an already tokenised corpus (whose
    /// analyzer must have been prepared from this vectorizer's `analysis`): the staged fit's
    /// counts step. A fixed `vocabulary` learns nothing and counts the rows over it.
    public func fitTransform(_ corpus: TokenizedCorpus, rows: [Int]?, threads: Int? = nil) throws(TextFeatureError) -> (FittedCountVectorizer, SparseMatrix) {
        guard let vocabulary else { return try fitTransform(rows.map { corpus.subset($0) } ?? corpus, threads: threads) }
        try validate()
        let rows = rows ?? Array(0 ..< corpus.documentCount)
        if rows.isEmpty { throw .emptyCorpus }
        let fitted = try FittedCountVectorizer(settings: self, analyzer: corpus.analyzer, vocabulary: vocabulary)
        return (fitted, fitted.transform(corpus, rows: rows, threads: threads))
    }

    /// The second stage of fitting, from an already tokenised corpus (whose analyzer must have
    /// been prepared from this vectorizer's `analysis`).
    public func fitTransform(_ corpus: TokenizedCorpus, threads: Int? = nil) throws(TextFeatureError) -> (FittedCountVectorizer, SparseMatrix) {
        try validate()
        precondition(corpus.analyzer.settings == analysis, "the corpus was tokenised with other analysis settings")
        if corpus.documentCount == 0 { throw .emptyCorpus }
        if let vocabulary {
            throw .invalidVocabulary("a fixed vocabulary of \(vocabulary.count) terms needs raw documents; call fitTransform(documents)")
        }
        let threads = Parallel.threadCount(threads)
        let counted: FeatureCounts
        switch corpus.storage {
        case let .words(sequences):
            counted = ngramRange.max == 1
                ? countUnigrams(sequences, threads: threads)
                : countWordNgrams(sequences, threads: threads)
        case let .texts(texts):
            counted = countCharNgrams(texts, threads: threads)
        }
        if counted.vocabulary.count == 0 { throw .emptyVocabulary(documents: corpus.documentCount) }
        let (vocabulary, matrix) = try prune(counted, documents: corpus.documentCount, threads: threads)
        let fitted = try FittedCountVectorizer(settings: self, analyzer: corpus.analyzer, vocabulary: vocabulary)
        return (fitted, matrix)
    }
}
