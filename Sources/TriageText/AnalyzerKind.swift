/// scikit-learn's `analyzer`: what a feature is.
public enum AnalyzerKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// Word n-grams of the tokens `token_pattern` finds.
    case word
    /// Character n-grams over the whole (whitespace-normalised) text.
    case char
    /// Character n-grams inside words only, each word padded with one space on both sides.
    case charWB = "char_wb"
}
