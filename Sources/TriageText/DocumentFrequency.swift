import TriageCore

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
