import Testing
@testable import TriageCore

@Suite("CSR sparse matrix")
struct SparseMatrixTests {
    // [[1, 0, 2],
    //  [0, 0, 0],
    //  [0, 3, 4]]
    func sample() throws -> SparseMatrix {
        try SparseMatrix(rowCount: 3, columnCount: 3, rowOffsets: [0, 2, 2, 4], columnIndices: [0, 2, 1, 2], values: [1, 2, 3, 4])
    }

    @Test func validatesInvariants() {
        #expect(throws: SparseMatrixError.unsortedRow(row: 0)) {
            try SparseMatrix(rowCount: 1, columnCount: 3, rowOffsets: [0, 2], columnIndices: [2, 1], values: [1, 1])
        }
        #expect(throws: SparseMatrixError.columnOutOfRange(row: 0, column: 3, columnCount: 3)) {
            try SparseMatrix(rowCount: 1, columnCount: 3, rowOffsets: [0, 1], columnIndices: [3], values: [1])
        }
        #expect(throws: SparseMatrixError.self) {
            try SparseMatrix(rowCount: 2, columnCount: 3, rowOffsets: [0, 1], columnIndices: [0], values: [1])
        }
    }

    @Test func accessAndDense() throws {
        let m = try sample()
        #expect(m[0, 2] == 2 && m[1, 1] == 0 && m[2, 1] == 3)
        #expect(m.toDense() == [[1, 0, 2], [0, 0, 0], [0, 3, 4]])
        #expect(m.nonZeroCount == 4)
        #expect(m.columnNonZeroCounts() == [1, 1, 2])
        #expect(m.columnSums() == [1, 3, 6])
    }

    @Test func selectsRowsAndColumns() throws {
        let m = try sample()
        #expect(m.selectingRows([2, 0, 2]).toDense() == [[0, 3, 4], [1, 0, 2], [0, 3, 4]])
        #expect(m.selectingColumns([2, 0]).toDense() == [[2, 1], [0, 0], [4, 0]])
        #expect(m.selectingColumns([1]).toDense() == [[0], [0], [3]])
    }

    @Test func transposes() throws {
        let m = try sample()
        #expect(m.transposed().toDense() == [[1, 0, 0], [0, 0, 3], [2, 0, 4]])
        #expect(m.transposed().transposed() == m)
    }

    @Test func stacks() throws {
        let m = try sample()
        let h = try SparseMatrix.horizontalStack([m, m.selectingColumns([0])], weights: [1, 10])
        #expect(h.toDense() == [[1, 0, 2, 10], [0, 0, 0, 0], [0, 3, 4, 0]])
        let v = try SparseMatrix.verticalStack([m, m.selectingRows([0])])
        #expect(v.toDense().count == 4 && v.toDense()[3] == [1, 0, 2])
        #expect(throws: SparseMatrixError.self) { try SparseMatrix.horizontalStack([m, m.selectingRows([0])]) }
    }

    @Test func buildsFromUnsortedRowsSummingDuplicates() throws {
        let m = try SparseMatrix(rows: [[(2, 1), (0, 1), (2, 2)], []], columnCount: 3)
        #expect(m.toDense() == [[1, 0, 3], [0, 0, 0]])
    }
}

@Suite("Byte interner")
struct ByteInternerTests {
    @Test func idsFollowFirstInsertion() {
        var t = ByteInterner()
        #expect(t.intern("b") == 0)
        #expect(t.intern("a") == 1)
        #expect(t.intern("b") == 0)
        #expect(t.intern("") == 2)
        #expect(t.find("a") == 1 && t.find("c") == nil && t.find("") == 2)
        #expect(t.allStrings() == ["b", "a", ""])
    }

    @Test func growsAndKeepsEveryString() {
        var t = ByteInterner(seed: 42)
        for i in 0 ..< 100_000 { #expect(t.intern("w\(i)") == Int32(i)) }
        for i in stride(from: 0, to: 100_000, by: 997) { #expect(t.find("w\(i)") == Int32(i)) }
        #expect(t.count == 100_000)
    }

    @Test func comparesInCodePointOrder() {
        var t = ByteInterner()
        let words = ["b", "a", "ab", "é", "z", "", "a b"]
        for w in words { t.intern(w) }
        let sorted = (0 ..< Int32(words.count)).sorted { t.compare($0, $1) < 0 }.map { t.string(of: $0) }
        #expect(sorted == ["", "a", "a b", "ab", "b", "z", "é"])
    }

    @Test func idsDoNotDependOnTheSeed() {
        var a = ByteInterner(seed: 1), b = ByteInterner(seed: 2)
        for i in 0 ..< 1000 { #expect(a.intern("t\(i % 300)") == b.intern("t\(i % 300)")) }
    }
}

@Suite("Deterministic parallelism")
struct ParallelTests {
    @Test(arguments: [1, 2, 7])
    func mapKeepsIndexOrder(threads: Int) {
        #expect(Parallel.map(count: 1000, threads: threads) { $0 * $0 } == (0 ..< 1000).map { $0 * $0 })
    }

    @Test func chunkStatesCoverEveryChunkOnce() {
        struct Seen { let worker: Int; var chunks: [Int] = [] }
        let (states, results) = Parallel.forEachChunk(chunkCount: 50, threads: 4, makeState: { Seen(worker: $0) }) { seen, c -> Int in
            seen.chunks.append(c)
            return c + 1
        }
        #expect(results == Array(1 ... 50))
        #expect(states.flatMap(\.chunks).sorted() == Array(0 ..< 50))
        #expect(states.map(\.worker) == Array(0 ..< states.count))
    }

    @Test func chunksAreFixed() {
        #expect(Parallel.chunks(count: 10, chunkSize: 4) == [0 ..< 4, 4 ..< 8, 8 ..< 10])
        #expect(Parallel.chunks(count: 0, chunkSize: 4).isEmpty)
    }
}
