import TriageCore

/// Bin edges of every feature, learned from the non-zeros of its column.
///
/// Feature `f` has `binCount(f)` bins in increasing order of value; `upperBounds[f][j]` is the
/// largest value in bin `j` (values `x` with `upperBounds[j-1] < x ≤ upperBounds[j]`; the last
/// bin is unbounded). Zero always has a bin of its own, `zeroBin[f]`, between the negative and
/// the positive bins: sparse rows never store it, and a histogram derives it as "node total
/// minus the feature's other bins". Edges sit halfway between neighbouring distinct training
/// values, so a raw value `x` goes left at a split on bin `j` exactly when `x ≤ upperBounds[j]`.
///
/// With at most `maxBins - 1` distinct non-zero values a feature gets one bin per value;
/// otherwise the non-zeros (counted with multiplicity) are cut at `maxBins - 1` equal-count
/// quantiles, each edge halfway between the two values around the cut (duplicate edges merge).
/// This is scikit-learn's `HistGradientBoosting` binning, with zero kept apart for sparsity.
public struct BinMapper: Sendable, Equatable, Codable {
    public let maxBins: Int
    /// Upper bound of each bin but the last, per feature, increasing.
    public let upperBounds: [[Double]]
    /// Index of the bin that holds exactly zero, per feature.
    public let zeroBin: [UInt8]

    public var featureCount: Int { upperBounds.count }
    public func binCount(_ f: Int) -> Int { upperBounds[f].count + 1 }

    /// Learns bins from the columns of `x` (CSR; its transpose gives the columns).
    /// - Complexity: O(nnz log nnz) for sorting each column's values.
    public init(fitting x: SparseMatrix, maxBins: Int) {
        precondition(maxBins >= 2 && maxBins <= 256, "maxBins must be in 2...256")
        self.maxBins = maxBins
        let columns = x.transposed()
        var bounds: [[Double]] = []
        var zeros: [UInt8] = []
        bounds.reserveCapacity(x.columnCount)
        for f in 0 ..< x.columnCount {
            let values = columns.row(f).values.filter { $0 != 0 && $0.isFinite }.sorted()
            let b = Self.edges(sortedNonZeros: values, maxBins: maxBins)
            bounds.append(b)
            zeros.append(UInt8(b.count(where: { $0 < 0 })))
        }
        upperBounds = bounds
        zeroBin = zeros
    }

    /// Rebuilds a mapper from stored edges (model loading); the caller validates them.
    public init(maxBins: Int, upperBounds: [[Double]]) {
        self.maxBins = maxBins
        self.upperBounds = upperBounds
        zeroBin = upperBounds.map { UInt8($0.count(where: { $0 < 0 })) }
    }

    /// Edges for one feature from its sorted non-zero values: at most `maxBins - 1` edges, so at
    /// most `maxBins` bins, zero's included — except that a feature with both negative and
    /// positive values always gets at least three bins (negatives, zero, positives), since zero's
    /// bin must hold zero alone.
    static func edges(sortedNonZeros values: [Double], maxBins: Int) -> [Double] {
        guard !values.isEmpty else { return [] }
        var distinct: [Double] = []
        for v in values where distinct.last != v { distinct.append(v) }
        let maxNegative = distinct.last(where: { $0 < 0 })
        let minPositive = distinct.first(where: { $0 > 0 })
        // Zero's own bin (lowerZero, upperZero]: an edge halfway to the nearest value on each side.
        let lowerZero = maxNegative.map { midpoint($0, 0) }
        let upperZero = minPositive.map { midpoint(0, $0) }
        var edges: [Double] = [lowerZero, upperZero].compactMap { $0 }
        // Bins left for the non-zero values: maxBins − 1 − cuts ≥ zero edges, and at least one
        // (no cuts) — mixed signs then still get their three bins.
        let budget = max(maxBins - edges.count, 1)
        if distinct.count <= budget {
            for i in 0 ..< distinct.count - 1 where (distinct[i] < 0) == (distinct[i + 1] < 0) {
                edges.append(midpoint(distinct[i], distinct[i + 1]))
            }
        } else {
            // Equal-count quantile cuts; a cut between the largest negative and the smallest
            // positive value is already covered by zero's edges.
            let m = values.count
            for k in 1 ..< budget {
                let position = k * m / budget
                guard position > 0 && position < m else { continue }
                let lo = values[position - 1], hi = values[position]
                if lo < hi && (lo < 0) == (hi < 0) { edges.append(midpoint(lo, hi)) }
            }
        }
        edges.sort()
        var unique: [Double] = []
        for e in edges where unique.last != e { unique.append(e) }
        return unique
    }

    @inline(__always)
    static func midpoint(_ a: Double, _ b: Double) -> Double {
        let m = a + (b - a) / 2
        // Keep the edge strictly below b (so b falls in the upper bin) and ≥ a.
        return m < b ? m : a
    }

    /// The bin of value `x` of feature `f`: the number of edges strictly below `x`.
    @inline(__always)
    public func bin(_ x: Double, feature f: Int) -> UInt8 {
        if x == 0 { return zeroBin[f] }
        let b = upperBounds[f]
        var lo = 0, hi = b.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if b[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return UInt8(lo)
    }

    /// The upper bound of bin `j` of feature `f` (`+∞` for the last bin).
    public func upperBound(feature f: Int, bin j: Int) -> Double {
        j < upperBounds[f].count ? upperBounds[f][j] : .infinity
    }

    /// Bins every stored value of `x` (which must have `featureCount` columns).
    public func transform(_ x: SparseMatrix) -> BinnedMatrix {
        precondition(x.columnCount == featureCount, "the matrix has \(x.columnCount) columns, the bins \(featureCount)")
        var bins = [UInt8](repeating: 0, count: x.nonZeroCount)
        for r in 0 ..< x.rowCount {
            for k in x.rowOffsets[r] ..< x.rowOffsets[r + 1] {
                let v = x.values[k]
                bins[k] = bin(v.isFinite ? v : 0, feature: Int(x.columnIndices[k]))
            }
        }
        return BinnedMatrix(mapper: self, rowCount: x.rowCount, rowOffsets: x.rowOffsets, features: x.columnIndices, bins: bins)
    }
}

/// A feature matrix in bins: the sparsity pattern of the input (stored entries only, zeros
/// implicit in each feature's zero bin) with one bin code per stored entry. Built once per
/// feature matrix and reused across every classifier setting that keeps `max_bins`.
public struct BinnedMatrix: Sendable {
    public let mapper: BinMapper
    public let rowCount: Int
    public let rowOffsets: [Int]
    public let features: [Int32]
    public let bins: [UInt8]
    /// Where each feature's bins sit in a histogram.
    let layout: BinLayout
    /// Histogram slot of each stored entry: `layout.start[feature] + bin`.
    let slots: [Int32]
    /// The same entries by column (CSC): rows `columnRows[columnOffsets[f] ..< columnOffsets[f + 1]]`
    /// store feature `f`, with bins `columnBins` — for partitioning a node on a split feature.
    let columnOffsets: [Int]
    let columnRows: [Int32]
    let columnBins: [UInt8]

    public var featureCount: Int { mapper.featureCount }
    public var totalBins: Int { layout.total }

    init(mapper: BinMapper, rowCount: Int, rowOffsets: [Int], features: [Int32], bins: [UInt8]) {
        self.mapper = mapper
        self.rowCount = rowCount
        self.rowOffsets = rowOffsets
        self.features = features
        self.bins = bins
        var offsets = [Int](repeating: 0, count: mapper.featureCount + 1)
        for f in features { offsets[Int(f) + 1] += 1 }
        let layout = BinLayout(mapper: mapper, storedPerFeature: (0 ..< mapper.featureCount).map { offsets[$0 + 1] })
        self.layout = layout
        slots = zip(features, bins).map { layout.start[Int($0.0)] + Int32($0.1) }
        for f in 0 ..< mapper.featureCount { offsets[f + 1] += offsets[f] }
        var next = offsets
        var rows = [Int32](repeating: 0, count: features.count)
        var columnBins = [UInt8](repeating: 0, count: features.count)
        for r in 0 ..< rowCount {
            for k in rowOffsets[r] ..< rowOffsets[r + 1] {
                let f = Int(features[k])
                rows[next[f]] = Int32(r)
                columnBins[next[f]] = bins[k]
                next[f] += 1
            }
        }
        columnOffsets = offsets
        columnRows = rows
        self.columnBins = columnBins
    }

    /// The bin of feature `f` in row `r` (the zero bin when the row does not store it).
    /// - Complexity: O(log nnz(row)).
    @inline(__always)
    public func bin(row r: Int, feature f: Int32) -> UInt8 {
        var lo = rowOffsets[r], hi = rowOffsets[r + 1]
        while lo < hi {
            let mid = (lo + hi) >> 1
            if features[mid] < f { lo = mid + 1 } else { hi = mid }
        }
        return lo < rowOffsets[r + 1] && features[lo] == f ? bins[lo] : mapper.zeroBin[Int(f)]
    }
}

/// The placement of every feature's bins in a histogram buffer: feature `f` owns slots
/// `start[f] ..< end[f]`. Features are placed by decreasing number of stored entries (ties by
/// index), so the bins that most entries hit share a small, cache-resident region: histogram
/// accumulation is a random-access loop, and this keeps most of its accesses in cache. Only
/// placement changes; features keep their indices everywhere else.
struct BinLayout: Sendable {
    let start: [Int32]
    let end: [Int32]
    let total: Int

    init(mapper: BinMapper, storedPerFeature stored: [Int]) {
        let order = (0 ..< mapper.featureCount).sorted { stored[$0] != stored[$1] ? stored[$0] > stored[$1] : $0 < $1 }
        var start = [Int32](repeating: 0, count: mapper.featureCount)
        var end = [Int32](repeating: 0, count: mapper.featureCount)
        var next: Int32 = 0
        for f in order {
            start[f] = next
            next += Int32(mapper.binCount(f))
            end[f] = next
        }
        self.start = start
        self.end = end
        total = Int(next)
    }
}
