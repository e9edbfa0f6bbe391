import TriageCore

/// scikit-learn's `analyzer`: what a feature is.
public enum AnalyzerKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// Word n-grams of the tokens `token_pattern` finds.
    case word
    /// Character n-grams over the whole (whitespace-normalised) text.
    case char
    /// Character n-grams inside words only, each word padded with one space on both sides.
    case charWB = "char_wb"
}

/// scikit-learn's `ngram_range`: `(min_n, max_n)`, written `[min_n, max_n]` in JSON.
public struct NgramRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public var min: Int
    public var max: Int

    public init(_ min: Int, _ max: Int) {
        self.min = min
        self.max = max
    }

    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let lo = try c.decode(Int.self)
        let hi = try c.decode(Int.self)
        guard c.isAtEnd else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "ngram_range takes exactly two integers [min_n, max_n]"))
        }
        self.init(lo, hi)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(min)
        try c.encode(max)
    }

    public var description: String { "(\(min), \(max))" }
}

/// scikit-learn's `min_df` / `max_df`: an integer is a document count, a float a proportion of
/// the documents — `1` and `1.0` differ, as in Python (JSON keeps the distinction: `1` vs `1.0`).
public enum DocumentFrequency: Hashable, Sendable, Codable, CustomStringConvertible {
    case count(Int)
    case proportion(Double)

    /// The bound in documents for a corpus of `documents`: the count, or `proportion × documents`
    /// (not rounded, as in scikit-learn).
    public func threshold(documents: Int) -> Double {
        switch self {
        case let .count(n): return Double(n)
        case let .proportion(p): return p * Double(documents)
        }
    }

    public var isValid: Bool {
        switch self {
        case let .count(n): return n >= 0
        case let .proportion(p): return p >= 0 && p <= 1
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let raw = c.decodeJSONValue() {
            guard case let .number(n) = raw else {
                throw DecodingError.typeMismatch(Double.self, .init(codingPath: decoder.codingPath, debugDescription: raw.kindName))
            }
            if n.isInteger {
                guard let i = n.intValue else {
                    throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(n.literal) is out of range"))
                }
                self = .count(i)
            } else {
                self = .proportion(n.doubleValue)
            }
        } else if let i = try? c.decode(Int.self) {
            self = .count(i)
        } else {
            self = .proportion(try c.decode(Double.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .count(n): try c.encode(n)
        case let .proportion(p): try c.encode(p)
        }
    }

    public var description: String {
        switch self {
        case let .count(n): return String(n)
        case let .proportion(p): return JSONNumber(p)?.literal ?? String(p)
        }
    }
}

/// The stop words of a word analyzer: a list name (a file `<name>.txt` in the `stopwords/`
/// directory: `"english"`, `"german"`, …, and `"sklearn-english"` for scikit-learn's built-in
/// list), a file of one word per line, or the words themselves.
///
/// JSON: `"english"`, `{"file": "path/to/list.txt"}`, or `["a", "the"]`.
public enum StopWords: Hashable, Sendable, Codable, CustomStringConvertible {
    case named(String)
    case file(String)
    case words([String])

    private enum Keys: String, CodingKey { case file }

    public init(from decoder: any Decoder) throws {
        if let c = try? decoder.container(keyedBy: Keys.self) {
            self = .file(try c.decode(String.self, forKey: .file))
        } else if var c = try? decoder.unkeyedContainer() {
            var words: [String] = []
            while !c.isAtEnd { words.append(try c.decode(String.self)) }
            self = .words(words)
        } else {
            self = .named(try decoder.singleValueContainer().decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .named(name):
            var c = encoder.singleValueContainer()
            try c.encode(name)
        case let .file(path):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(path, forKey: .file)
        case let .words(words):
            var c = encoder.unkeyedContainer()
            for w in words { try c.encode(w) }
        }
    }

    public var description: String {
        switch self {
        case let .named(name): return name
        case let .file(path): return "file \(path)"
        case let .words(words): return "\(words.count) words"
        }
    }
}

/// The talk's subject weighting (`text.subject_weight`): the subject repeated `subjectWeight`
/// times, then the body, joined by newlines. Weight 0 uses the body only; an empty subject adds
/// nothing. A newline is whitespace for every analyzer, so no token spans two parts.
public struct MessageText: Hashable, Sendable, Codable {
    public var subjectWeight: Int

    public init(subjectWeight: Int = 1) {
        self.subjectWeight = subjectWeight
    }

    enum CodingKeys: String, CodingKey { case subjectWeight = "subject_weight" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subjectWeight = try c.decodeIfPresent(Int.self, forKey: .subjectWeight) ?? 1
    }

    /// The text an analyzer sees for one message.
    public func compose(subject: String?, body: String) -> String {
        guard let subject, !subject.isEmpty, subjectWeight > 0 else { return body }
        var parts = Array(repeating: subject, count: subjectWeight)
        if !body.isEmpty { parts.append(body) }
        return parts.joined(separator: "\n")
    }

    public func validate() throws(TextFeatureError) {
        if subjectWeight < 0 {
            throw .invalidSubjectWeight(subjectWeight)
        }
    }
}
