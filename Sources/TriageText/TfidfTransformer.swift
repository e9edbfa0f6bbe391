import Foundation
import TriageCore

/// scikit-learn's `TfidfTransformer`: count rows → TF-IDF rows. Settings only; `fit` learns the
/// idf vector and returns a `FittedTfidfTransformer`.
///
/// For term t in document d, with n documents and df(t) the number of documents containing t:
/// - tf(t, d) = count, or `1 + ln(count)` with `sublinear_tf` (counts are ≥ 1 where stored);
/// - idf(t) = `ln((1 + n) / (1 + df(t))) + 1` with `smooth_idf` (the default: as if one extra
///   document contained every term once), `ln(n / df(t)) + 1` without; 1 when `use_idf` is false;
/// - each row is then scaled to unit length: `norm="l2"` divides by `sqrt(Σ x²)`, `"l1"` by
///   `Σ |x|`; all-zero rows stay zero; `norm=null` leaves rows unscaled.
/// The "+ 1" keeps terms that occur in every document (idf would be 0) from vanishing.
public struct TfidfTransformer: Hashable, Sendable, Codable {
    public enum Norm: String, Codable, Hashable, Sendable, CaseIterable {
        case l1, l2
    }

    public var norm: Norm? = .l2
    public var useIDF = true
    public var smoothIDF = true
    public var sublinearTF = false

    public init(norm: Norm? = .l2, useIDF: Bool = true, smoothIDF: Bool = true, sublinearTF: Bool = false) {
        self.norm = norm
        self.useIDF = useIDF
        self.smoothIDF = smoothIDF
        self.sublinearTF = sublinearTF
    }

    enum CodingKeys: String, CodingKey {
        case norm
        case useIDF = "use_idf"
        case smoothIDF = "smooth_idf"
        case sublinearTF = "sublinear_tf"
    }

    /// Every key optional, defaults as in scikit-learn (`norm` absent means l2; null means none).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        norm = c.contains(.norm) ? try c.decodeIfPresent(Norm.self, forKey: .norm) : .l2
        useIDF = try c.decodeIfPresent(Bool.self, forKey: .useIDF) ?? true
        smoothIDF = try c.decodeIfPresent(Bool.self, forKey: .smoothIDF) ?? true
        sublinearTF = try c.decodeIfPresent(Bool.self, forKey: .sublinearTF) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(norm, forKey: .norm)
        try c.encode(useIDF, forKey: .useIDF)
        try c.encode(smoothIDF, forKey: .smoothIDF)
        try c.encode(sublinearTF, forKey: .sublinearTF)
    }

    /// Learns idf from a count matrix. - Complexity: O(nnz + columns).
    ///
    /// Throws `infiniteIDF` when `smooth_idf` is off and a column occurs in no document (only
    /// possible with a fixed vocabulary): scikit-learn would return an infinite idf and NaN rows.
    public func fit(_ counts: SparseMatrix) throws(TextFeatureError) -> FittedTfidfTransformer {
        guard useIDF else { return FittedTfidfTransformer(settings: self, featureCount: counts.columnCount, idf: nil) }
        let df = counts.columnNonZeroCounts()
        if !smoothIDF, let column = df.firstIndex(of: 0) { throw .infiniteIDF(column: column) }
        let extra = smoothIDF ? 1.0 : 0.0
        let n = Double(counts.rowCount) + extra
        let idf = df.map { log(n / (Double($0) + extra)) + 1 }
        return FittedTfidfTransformer(settings: self, featureCount: counts.columnCount, idf: idf)
    }

    /// `fit(counts)` and the transformed `counts`.
    public func fitTransform(_ counts: SparseMatrix) throws(TextFeatureError) -> (FittedTfidfTransformer, SparseMatrix) {
        let fitted = try fit(counts)
        return (fitted, fitted.transformUnchecked(counts))
    }
}

/// A `TfidfTransformer` with its idf vector.
public struct FittedTfidfTransformer: Hashable, Sendable {
    public let settings: TfidfTransformer
    public let featureCount: Int
    /// idf of each column; nil when `use_idf` is false.
    public let idf: [Double]?

    /// Rebuilds a fitted transformer (for loading a model); `idf` must have `featureCount`
    /// finite entries ≥ 1 when present.
    public init(settings: TfidfTransformer, featureCount: Int, idf: [Double]?) {
        self.settings = settings
        self.featureCount = featureCount
        self.idf = idf
    }

    /// TF-IDF rows of a count matrix with `featureCount` columns.
    public func transform(_ counts: SparseMatrix) throws(TextFeatureError) -> SparseMatrix {
        guard counts.columnCount == featureCount else {
            throw .featureCountMismatch(expected: featureCount, got: counts.columnCount)
        }
        return transformUnchecked(counts)
    }

    package func transformUnchecked(_ counts: SparseMatrix) -> SparseMatrix {
        var x = counts
        let sublinear = settings.sublinearTF
        let norm = settings.norm
        let idf = self.idf
        x.updateRowValues { _, columns, values in
            Self.weight(columns: columns, values: &values, sublinear: sublinear, idf: idf, norm: norm)
        }
        return x
    }

    /// TF-IDF of one row given as (column, count) pairs with increasing columns.
    public func transformRow(_ row: [(column: Int, count: Double)]) -> [(column: Int, value: Double)] {
        var values = ArraySlice(row.map(\.count))
        let columns = ArraySlice(row.map { Int32($0.column) })
        Self.weight(columns: columns, values: &values, sublinear: settings.sublinearTF, idf: idf, norm: settings.norm)
        return zip(row, values).map { ($0.0.column, $0.1) }
    }

    /// `transformRow` in place: `values` (counts of the increasing `columns`) become their
    /// TF-IDF weights, the same bits as `transformRow` gives.
    public func weightRow(columns: ArraySlice<Int32>, values: inout ArraySlice<Double>) {
        Self.weight(columns: columns, values: &values, sublinear: settings.sublinearTF, idf: idf, norm: settings.norm)
    }

    @inline(__always)
    static func weight(columns: ArraySlice<Int32>, values: inout ArraySlice<Double>, sublinear: Bool, idf: [Double]?, norm: TfidfTransformer.Norm?) {
        let lo = values.startIndex
        for k in values.indices {
            var v = values[k]
            if sublinear { v = log(v) + 1 }
            if let idf { v *= idf[Int(columns[columns.startIndex + (k - lo)])] }
            values[k] = v
        }
        switch norm {
        case .l2?:
            var sum = 0.0
            for v in values { sum += v * v }
            if sum != 0 {
                let length = sum.squareRoot()
                for k in values.indices { values[k] /= length }
            }
        case .l1?:
            var sum = 0.0
            for v in values { sum += abs(v) }
            if sum != 0 { for k in values.indices { values[k] /= sum } }
        case nil:
            break
        }
    }
}
