import TriageCore
/// Every way text feature extraction can refuse its input or configuration. Each message says
/// what to change.
public enum TextFeatureError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyCorpus
    case emptyVocabulary(documents: Int)
    case noTermsRemain(minDF: DocumentFrequency, maxDF: DocumentFrequency, maxFeatures: Int?)
    case maxDFBelowMinDF(minDF: DocumentFrequency, maxDF: DocumentFrequency, minCount: Double, maxCount: Double, documents: Int)
    case invalidNgramRange(min: Int, max: Int)
    case invalidDocumentFrequency(parameter: String, value: DocumentFrequency)
    case invalidMaxFeatures(Int)
    case unknownStemmer(name: String, available: [String])
    case optionRequiresWordAnalyzer(option: String, analyzer: AnalyzerKind)
    case unknownStopWordList(name: String, searched: [String], available: [String])
    case unreadableStopWordFile(path: String, reason: String)
    case invalidStopWordFile(path: String, line: Int, reason: String)
    case invalidTokenPattern(pattern: String, reason: String)
    case tokenPatternHasGroups(pattern: String, count: Int)
    case invalidVocabulary(String)
    case featureCountMismatch(expected: Int, got: Int)
    case invalidSubjectWeight(Int)
    case infiniteIDF(column: Int)
    case unknownMailLanguage(name: String, searched: [String], available: [String])
    case invalidMailPatterns(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .emptyCorpus:
            return "no documents to fit: give at least one document"
        case let .emptyVocabulary(n):
            return "empty vocabulary: none of the \(n) documents has a token; perhaps they contain only stop words, "
                + "or token_pattern matches nothing — check stop_words and token_pattern"
        case let .noTermsRemain(minDF, maxDF, maxFeatures):
            return "after pruning, no terms remain (min_df=\(minDF), max_df=\(maxDF), max_features=\(maxFeatures.map(String.init) ?? "none")); "
                + "try a lower min_df or a higher max_df"
        case let .maxDFBelowMinDF(minDF, maxDF, minCount, maxCount, documents):
            return "max_df=\(maxDF) allows at most \(formatCount(maxCount)) of \(documents) documents, fewer than min_df=\(minDF) "
                + "requires (\(formatCount(minCount))); raise max_df or lower min_df"
        case let .invalidNgramRange(lo, hi):
            return "invalid ngram_range (\(lo), \(hi)): need 1 ≤ min_n ≤ max_n"
        case let .invalidDocumentFrequency(parameter, value):
            return "invalid \(parameter)=\(value): use an integer document count ≥ 0 or a proportion in [0.0, 1.0]"
        case let .invalidMaxFeatures(n):
            return "invalid max_features=\(n): use a positive integer, or none"
        case let .unknownStemmer(name, available):
            return "unknown stemmer \"\(name)\"; libstemmer provides: \(available.joined(separator: ", "))"
        case let .optionRequiresWordAnalyzer(option, analyzer):
            return "\(option) applies to analyzer \"word\" only, but analyzer is \"\(analyzer.rawValue)\"; remove \(option) or use analyzer \"word\""
        case let .unknownStopWordList(name, searched, available):
            let where_ = searched.isEmpty ? "no stopwords directory was found (set TRIAGE_STOPWORDS_DIR)" : "searched \(searched.joined(separator: ", "))"
            return "unknown stop-word list \"\(name)\" (\(where_)); available: \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case let .unreadableStopWordFile(path, reason):
            return "cannot read stop-word file \(path): \(reason)"
        case let .invalidStopWordFile(path, line, reason):
            return "stop-word file \(path), line \(line): \(reason)"
        case let .invalidTokenPattern(pattern, reason):
            return "invalid token_pattern \(pattern): \(reason)"
        case let .tokenPatternHasGroups(pattern, count):
            return "token_pattern \(pattern) has \(count) capturing groups; use at most one (write (?:...) for the others)"
        case let .invalidVocabulary(why):
            return "invalid vocabulary: \(why)"
        case let .featureCountMismatch(expected, got):
            return "the matrix has \(got) columns but the transformer was fitted on \(expected) features"
        case let .infiniteIDF(column):
            return "column \(column) occurs in no document, so with smooth_idf=false its idf is infinite; "
                + "set smooth_idf=true or remove the term from the fixed vocabulary"
        case let .unknownMailLanguage(name, searched, available):
            if name.isEmpty {
                return "no mail pattern files (mail/<language>.txt) found in \(searched.joined(separator: ", ")); set TRIAGE_STOPWORDS_DIR or clean.patterns"
            }
            return "unknown clean.languages entry \"\(name)\": no mail/\(name).txt in \(searched.joined(separator: ", ")); available: \(available.joined(separator: ", "))"
        case let .invalidMailPatterns(path, line, reason):
            return line > 0 ? "mail patterns file \(path), line \(line): \(reason)" : "mail patterns file \(path): \(reason)"
        case let .invalidSubjectWeight(w):
            return "invalid subject_weight=\(w): use 0 (body only) or a positive number of subject repetitions"
        }
    }
}

private func formatCount(_ x: Double) -> String {
    x == x.rounded() ? String(Int(x)) : String(x)
}
