import Foundation

/// How far the categories a model predicts have moved from the labels it was trained on: the
/// population stability index, PSI = Σ (a − e) · ln(a / e) over categories, `e` a category's
/// share of the training labels and `a` its share of recent predictions (a symmetric
/// Kullback–Leibler divergence). A rule of thumb from credit scoring (Siddiqi, *Credit Risk
/// Scorecards*, 2006): below 0.1 no real change, 0.1–0.25 a moderate shift, above 0.25 a large one
/// — the "is it over-classifying one queue?" question.
///
/// Shares are smoothed with half a message per category (Jeffreys), so that a category never
/// predicted, or never seen in training, adds a large but finite term.
public struct PopulationStability: Sendable, Equatable {
    public struct Category: Sendable, Equatable {
        public var name: String
        public var expected: Double
        public var actual: Double
        /// (actual − expected) · ln(actual / expected): this category's part of the index.
        public var contribution: Double
    }

    /// The index.
    public let value: Double
    /// Every category of either side, largest contribution first (ties: by name).
    public let categories: [Category]
    /// Recent predictions counted.
    public let observed: Int

    public static let moderate = 0.1
    public static let large = 0.25

    /// - Parameters:
    ///   - expected: training messages per label.
    ///   - actual: recent predictions per category (none: an index of 0, nothing to compare).
    public init(expected: [String: Int], actual: [String: Int]) {
        observed = actual.values.reduce(0, +)
        let names = Set(expected.keys).union(actual.keys).sorted()
        guard observed > 0 else {
            value = 0
            categories = []
            return
        }
        func shares(_ counts: [String: Int]) -> [String: Double] {
            let total = Double(counts.values.reduce(0, +)) + 0.5 * Double(names.count)
            return Dictionary(uniqueKeysWithValues: names.map { ($0, (Double(counts[$0] ?? 0) + 0.5) / total) })
        }
        let e = shares(expected), a = shares(actual)
        let categories = names.map { name -> Category in
            let x = e[name] ?? 0, y = a[name] ?? 0
            return Category(name: name, expected: x, actual: y, contribution: (y - x) * log(y / x))
        }
        self.categories = categories.sorted { $0.contribution != $1.contribution ? $0.contribution > $1.contribution : $0.name < $1.name }
        value = categories.reduce(0) { $0 + $1.contribution }
    }

    /// "none" (< 0.1), "moderate" (0.1–0.25) or "large" (≥ 0.25).
    public var level: String { value < Self.moderate ? "none" : value < Self.large ? "moderate" : "large" }
}
