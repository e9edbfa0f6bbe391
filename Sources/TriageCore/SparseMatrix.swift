/// A compressed sparse row (CSR) matrix of `Double`s, the layout of `scipy.sparse.csr_array`.
///
/// Row `r` holds the entries `columnIndices[rowOffsets[r] ..< rowOffsets[r + 1]]` with the values
/// at the same positions. Invariants (checked by the throwing initializer, kept by every operation):
/// `rowOffsets.count == rowCount + 1`, `rowOffsets[0] == 0`, offsets non-decreasing,
/// `rowOffsets[rowCount] == columnIndices.count == values.count`, and within each row the column
/// indices are strictly increasing and in `0 ..< columnCount`.
///
/// Explicit zeros are allowed (they count in `nonZeroCount`), as in SciPy.
public struct SparseMatrix: Sendable, Equatable {
    public let rowCount: Int
    public let columnCount: Int
    public private(set) var rowOffsets: [Int]
    public private(set) var columnIndices: [Int32]
    public private(set) var values: [Double]

    /// Validating initializer: throws `SparseMatrixError` naming the first broken invariant.
    public init(rowCount: Int, columnCount: Int, rowOffsets: [Int], columnIndices: [Int32], values: [Double]) throws {
        guard rowCount >= 0, columnCount >= 0, columnCount <= Int(Int32.max) else {
            throw SparseMatrixError.invalidShape(rows: rowCount, columns: columnCount)
        }
        guard rowOffsets.count == rowCount + 1, rowOffsets.first == 0 else {
            throw SparseMatrixError.invalidRowOffsets("expected \(rowCount + 1) offsets starting at 0, got \(rowOffsets.count)")
        }
        guard columnIndices.count == values.count, rowOffsets[rowCount] == values.count else {
            throw SparseMatrixError.invalidRowOffsets(
                "last offset \(rowOffsets[rowCount]) must equal the \(values.count) values and \(columnIndices.count) indices")
        }
        for r in 0..<rowCount {
            let lo = rowOffsets[r], hi = rowOffsets[r + 1]
            guard lo <= hi else { throw SparseMatrixError.invalidRowOffsets("offsets decrease at row \(r)") }
            var previous: Int32 = -1
            for k in lo..<hi {
                let c = columnIndices[k]
                guard c >= 0, Int(c) < columnCount else {
                    throw SparseMatrixError.columnOutOfRange(row: r, column: Int(c), columnCount: columnCount)
                }
                guard c > previous else { throw SparseMatrixError.unsortedRow(row: r) }
                previous = c
            }
        }
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.rowOffsets = rowOffsets
        self.columnIndices = columnIndices
        self.values = values
    }

    /// Non-validating initializer for code in this package that builds the arrays itself.
    package init(unchecked rowCount: Int, columnCount: Int, rowOffsets: [Int], columnIndices: [Int32], values: [Double]) {
        assert(rowOffsets.count == rowCount + 1 && columnIndices.count == values.count)
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.rowOffsets = rowOffsets
        self.columnIndices = columnIndices
        self.values = values
    }

    /// An all-zero matrix.
    public init(zeros rowCount: Int, columnCount: Int) {
        self.init(unchecked: rowCount, columnCount: columnCount,
                  rowOffsets: [Int](repeating: 0, count: rowCount + 1), columnIndices: [], values: [])
    }

    /// Builds a CSR matrix from rows of `(column, value)` pairs in any order; duplicate columns in
    /// a row are summed (as `scipy.sparse.coo_array(...).tocsr()` does).
    public init(rows: [[(column: Int, value: Double)]], columnCount: Int) throws {
        var offsets = [0]
        offsets.reserveCapacity(rows.count + 1)
        var indices: [Int32] = []
        var vals: [Double] = []
        for (r, row) in rows.enumerated() {
            let rowStart = indices.count
            for entry in row.sorted(by: { $0.column < $1.column }) {
                guard entry.column >= 0, entry.column < columnCount else {
                    throw SparseMatrixError.columnOutOfRange(row: r, column: entry.column, columnCount: columnCount)
                }
                if indices.count > rowStart, Int(indices[indices.count - 1]) == entry.column {
                    vals[vals.count - 1] += entry.value
                } else {
                    indices.append(Int32(entry.column))
                    vals.append(entry.value)
                }
            }
            offsets.append(indices.count)
        }
        self.init(unchecked: rows.count, columnCount: columnCount, rowOffsets: offsets, columnIndices: indices, values: vals)
    }

    /// Number of stored entries (SciPy's `nnz`).
    public var nonZeroCount: Int { values.count }

    /// The stored entries of row `r`.
    @inlinable
    public func row(_ r: Int) -> (columns: ArraySlice<Int32>, values: ArraySlice<Double>) {
        let range = rowOffsets[r]..<rowOffsets[r + 1]
        return (columnIndices[range], values[range])
    }

    /// The value at (`row`, `column`); zero when not stored. - Complexity: O(log nnz(row)).
    public subscript(row: Int, column: Int) -> Double {
        var lo = rowOffsets[row], hi = rowOffsets[row + 1]
        let target = Int32(column)
        while lo < hi {
            let mid = (lo + hi) / 2
            if columnIndices[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo < rowOffsets[row + 1] && columnIndices[lo] == target ? values[lo] : 0
    }

    /// The rows at `rows`, in that order (repeats allowed): how cross-validation folds are cut.
    /// - Complexity: O(rows + nnz of the selected rows).
    public func selectingRows<C: Collection>(_ rows: C) -> SparseMatrix where C.Element == Int {
        var offsets = [Int]()
        offsets.reserveCapacity(rows.count + 1)
        offsets.append(0)
        var total = 0
        for r in rows {
            precondition(r >= 0 && r < rowCount, "row \(r) out of range 0..<\(rowCount)")
            total += rowOffsets[r + 1] - rowOffsets[r]
            offsets.append(total)
        }
        var indices = [Int32]()
        indices.reserveCapacity(total)
        var vals = [Double]()
        vals.reserveCapacity(total)
        for r in rows {
            let range = rowOffsets[r]..<rowOffsets[r + 1]
            indices.append(contentsOf: columnIndices[range])
            vals.append(contentsOf: values[range])
        }
        return SparseMatrix(unchecked: rows.count, columnCount: columnCount, rowOffsets: offsets,
                            columnIndices: indices, values: vals)
    }

    /// The columns at `columns`, renumbered `0 ..< columns.count` in that order (each column at
    /// most once). - Complexity: O(nnz + columnCount), plus a sort of each row when `columns`
    /// is not increasing.
    public func selectingColumns(_ columns: [Int]) -> SparseMatrix {
        var newIndex = [Int32](repeating: -1, count: columnCount)
        var increasing = true
        for (k, c) in columns.enumerated() {
            precondition(c >= 0 && c < columnCount, "column \(c) out of range 0..<\(columnCount)")
            precondition(newIndex[c] < 0, "column \(c) selected twice")
            newIndex[c] = Int32(k)
            if k > 0 && c <= columns[k - 1] { increasing = false }
        }
        var offsets = [0]
        offsets.reserveCapacity(rowCount + 1)
        var indices = [Int32]()
        var vals = [Double]()
        var scratch: [(Int32, Double)] = []
        for r in 0..<rowCount {
            if increasing {
                for k in rowOffsets[r]..<rowOffsets[r + 1] {
                    let n = newIndex[Int(columnIndices[k])]
                    if n >= 0 { indices.append(n); vals.append(values[k]) }
                }
            } else {
                scratch.removeAll(keepingCapacity: true)
                for k in rowOffsets[r]..<rowOffsets[r + 1] {
                    let n = newIndex[Int(columnIndices[k])]
                    if n >= 0 { scratch.append((n, values[k])) }
                }
                scratch.sort { $0.0 < $1.0 }
                for (n, v) in scratch { indices.append(n); vals.append(v) }
            }
            offsets.append(indices.count)
        }
        return SparseMatrix(unchecked: rowCount, columnCount: columns.count, rowOffsets: offsets,
                            columnIndices: indices, values: vals)
    }

    /// The transpose, in CSR form; equivalently this matrix in CSC form (row `c` of the result
    /// lists the rows where column `c` is stored, increasing). - Complexity: O(nnz + rows + columns).
    public func transposed() -> SparseMatrix {
        var counts = [Int](repeating: 0, count: columnCount + 1)
        for c in columnIndices { counts[Int(c) + 1] += 1 }
        for c in 0..<columnCount { counts[c + 1] += counts[c] }
        let offsets = counts
        var next = counts
        var indices = [Int32](repeating: 0, count: nonZeroCount)
        var vals = [Double](repeating: 0, count: nonZeroCount)
        for r in 0..<rowCount {
            for k in rowOffsets[r]..<rowOffsets[r + 1] {
                let c = Int(columnIndices[k])
                let dst = next[c]
                indices[dst] = Int32(r)
                vals[dst] = values[k]
                next[c] = dst + 1
            }
        }
        return SparseMatrix(unchecked: columnCount, columnCount: rowCount, rowOffsets: offsets,
                            columnIndices: indices, values: vals)
    }

    /// Lends row `r` to `body`, without copying it.
    @inlinable
    public func withRow<R>(_ r: Int, _ body: (SparseRow) throws -> R) rethrows -> R {
        let lo = rowOffsets[r], hi = rowOffsets[r + 1]
        return try columnIndices.withUnsafeBufferPointer { c in
            try values.withUnsafeBufferPointer { v in
                try body(SparseRow(unchecked: UnsafeBufferPointer(rebasing: c[lo ..< hi]), values: UnsafeBufferPointer(rebasing: v[lo ..< hi])))
            }
        }
    }

    /// For each column, the number of rows that store it (document frequency for count matrices).
    public func columnNonZeroCounts() -> [Int] {
        var df = [Int](repeating: 0, count: columnCount)
        for c in columnIndices { df[Int(c)] += 1 }
        return df
    }

    /// For each column, the sum of its stored values, added in row order.
    public func columnSums() -> [Double] {
        var sums = [Double](repeating: 0, count: columnCount)
        for k in 0..<values.count { sums[Int(columnIndices[k])] += values[k] }
        return sums
    }

    /// The same sparsity pattern with each stored value replaced by `transform(value)`.
    public func mapValues(_ transform: (Double) throws -> Double) rethrows -> SparseMatrix {
        var copy = self
        copy.values = try values.map(transform)
        return copy
    }

    /// Calls `body(row, values)` with mutable access to each row's values (pattern unchanged).
    public mutating func updateRowValues(_ body: (Int, ArraySlice<Int32>, inout ArraySlice<Double>) -> Void) {
        for r in 0..<rowCount {
            let range = rowOffsets[r]..<rowOffsets[r + 1]
            body(r, columnIndices[range], &values[range])
        }
    }

    /// Dense rows, for tests and small examples.
    public func toDense() -> [[Double]] {
        (0..<rowCount).map { r in
            var dense = [Double](repeating: 0, count: columnCount)
            for k in rowOffsets[r]..<rowOffsets[r + 1] { dense[Int(columnIndices[k])] = values[k] }
            return dense
        }
    }

    /// Stacks matrices with the same column count on top of each other.
    public static func verticalStack(_ blocks: [SparseMatrix]) throws -> SparseMatrix {
        guard let first = blocks.first else { return SparseMatrix(zeros: 0, columnCount: 0) }
        var offsets = [0]
        var indices = [Int32]()
        var vals = [Double]()
        for block in blocks {
            guard block.columnCount == first.columnCount else {
                throw SparseMatrixError.shapeMismatch("vertical stack of \(first.columnCount) and \(block.columnCount) columns")
            }
            let base = indices.count
            offsets.append(contentsOf: block.rowOffsets.dropFirst().map { $0 + base })
            indices.append(contentsOf: block.columnIndices)
            vals.append(contentsOf: block.values)
        }
        return SparseMatrix(unchecked: offsets.count - 1, columnCount: first.columnCount, rowOffsets: offsets,
                            columnIndices: indices, values: vals)
    }

    /// Places matrices with the same row count side by side, multiplying block `b` by
    /// `weights[b]` (1 when `weights` is empty): the layout of a feature union.
    public static func horizontalStack(_ blocks: [SparseMatrix], weights: [Double] = []) throws -> SparseMatrix {
        guard let first = blocks.first else { return SparseMatrix(zeros: 0, columnCount: 0) }
        guard weights.isEmpty || weights.count == blocks.count else {
            throw SparseMatrixError.shapeMismatch("\(weights.count) weights for \(blocks.count) blocks")
        }
        var columnBase = [Int]()
        var total = 0
        for block in blocks {
            guard block.rowCount == first.rowCount else {
                throw SparseMatrixError.shapeMismatch("horizontal stack of \(first.rowCount) and \(block.rowCount) rows")
            }
            columnBase.append(total)
            total += block.columnCount
        }
        guard total <= Int(Int32.max) else { throw SparseMatrixError.invalidShape(rows: first.rowCount, columns: total) }
        var offsets = [0]
        offsets.reserveCapacity(first.rowCount + 1)
        let nnz = blocks.reduce(0) { $0 + $1.nonZeroCount }
        var indices = [Int32]()
        indices.reserveCapacity(nnz)
        var vals = [Double]()
        vals.reserveCapacity(nnz)
        for r in 0..<first.rowCount {
            for (b, block) in blocks.enumerated() {
                let w = weights.isEmpty ? 1 : weights[b]
                let base = Int32(columnBase[b])
                for k in block.rowOffsets[r]..<block.rowOffsets[r + 1] {
                    indices.append(block.columnIndices[k] + base)
                    vals.append(block.values[k] * w)
                }
            }
            offsets.append(indices.count)
        }
        return SparseMatrix(unchecked: first.rowCount, columnCount: total, rowOffsets: offsets,
                            columnIndices: indices, values: vals)
    }
}

/// A broken CSR invariant or incompatible shapes.
public enum SparseMatrixError: Error, Equatable, CustomStringConvertible {
    case invalidShape(rows: Int, columns: Int)
    case invalidRowOffsets(String)
    case columnOutOfRange(row: Int, column: Int, columnCount: Int)
    case unsortedRow(row: Int)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case let .invalidShape(rows, columns): return "invalid sparse matrix shape \(rows) × \(columns)"
        case let .invalidRowOffsets(why): return "invalid CSR row offsets: \(why)"
        case let .columnOutOfRange(row, column, count): return "row \(row) stores column \(column), outside 0..<\(count)"
        case let .unsortedRow(row): return "row \(row) has column indices that are not strictly increasing"
        case let .shapeMismatch(why): return "incompatible shapes: \(why)"
        }
    }
}
