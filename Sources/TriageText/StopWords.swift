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
