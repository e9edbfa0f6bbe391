/// One row of a sparse matrix, lent for the length of a call: the type that crosses module
/// boundaries wherever a single row is scored, explained or attributed, instead of a pair of raw
/// buffers.
///
/// Invariants, established by the lender (`SparseMatrix.withRow`, `SparseRow.with`):
/// `columns.count == values.count`, and the columns strictly increasing and ≥ 0. The buffers
/// belong to the lender and are valid only inside the closure that received the row — never
/// store a row or its buffers. Code that indexes memory by column (the C scoring kernels, the
/// compiled forest) first checks `isWithin(featureCount:)`, which is O(1) because of the order.
public struct SparseRow {
    /// The columns of the row's non-zeros, strictly increasing.
    public let columns: UnsafeBufferPointer<Int32>
    /// `values[j]` is the value of column `columns[j]`.
    public let values: UnsafeBufferPointer<Double>

    @usableFromInline
    init(unchecked columns: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>) {
        self.columns = columns
        self.values = values
    }

    /// Stored non-zeros.
    @inlinable public var count: Int { columns.count }

    @inlinable public var isEmpty: Bool { columns.isEmpty }

    /// Whether every column lies in `0 ..< featureCount`: the first and the last, O(1).
    @inlinable
    public func isWithin(featureCount: Int) -> Bool {
        guard let first = columns.first, let last = columns.last else { return true }
        return first >= 0 && Int(last) < featureCount
    }

    /// The value of column `f`: a binary search of the columns; 0 when absent.
    /// - Complexity: O(log count).
    @inlinable @inline(__always)
    public func value(ofColumn f: Int32) -> Double {
        var lo = 0, hi = columns.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if columns[mid] < f { lo = mid + 1 } else { hi = mid }
        }
        return lo < columns.count && columns[lo] == f ? values[lo] : 0
    }

    /// Lends arrays as a row. Precondition: as many values as columns (O(1)); the columns are
    /// checked to increase in debug builds.
    @inlinable
    public static func with<R>(columns: [Int32], values: [Double], _ body: (SparseRow) throws -> R) rethrows -> R {
        precondition(columns.count == values.count, "a sparse row needs one value per column")
        return try columns.withUnsafeBufferPointer { c in
            try values.withUnsafeBufferPointer { v in
                let row = SparseRow(unchecked: c, values: v)
                assert(row.hasIncreasingColumns, "the columns of a sparse row must increase")
                return try body(row)
            }
        }
    }

    /// Whether the columns strictly increase from ≥ 0 (O(count); for assertions and tests).
    public var hasIncreasingColumns: Bool {
        var previous: Int32 = -1
        for c in columns {
            guard c > previous else { return false }
            previous = c
        }
        return true
    }
}
