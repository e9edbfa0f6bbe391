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
