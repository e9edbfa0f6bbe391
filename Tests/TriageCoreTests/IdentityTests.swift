import Testing
import TriageCore

@Suite("Stable hash")
struct StableHashTests {
    @Test func isSHA256InLowerCaseHex() {
        // FIPS 180-2, appendix B.1.
        #expect(StableHash.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(StableHash.hex(utf8Of: "a", "", "bc") == StableHash.hex(Array("abc".utf8)))
    }

    @Test func hashesTheCanonicalEncoding() throws {
        struct Step: Encodable {
            var b = 2
            var a = "x"
        }
        #expect(try StableHash.hex(encoding: Step()) == StableHash.hex(Array(#"{"a":"x","b":2}"#.utf8)))
        // Any encoded member changes the hash, including one a later version adds.
        struct StepWithMore: Encodable {
            var b = 2
            var a = "x"
            var clean = false
        }
        #expect(try StableHash.hex(encoding: Step()) != StableHash.hex(encoding: StepWithMore()))
    }

    @Test func hashesMessagesAsCanonicalLines() {
        let messages = [LabeledMessage(id: "1", subject: "Card", body: "lost \"it\"", label: "card", line: 2),
                        LabeledMessage(id: "2", subject: "", body: "é", label: nil, line: 3)]
        let lines = #"["1","Card","lost \"it\"","card"]"# + "\n" + #"["2","","é",null]"# + "\n"
        #expect(StableHash.messages(messages) == StableHash.hex(Array(lines.utf8)))
        #expect(StableHash.messages([]) == StableHash.hex([]))
    }
}

@Suite("Label encoding")
struct LabelEncoderTests {
    @Test func ordersByUTF8BytesNotByStringComparison() {
        // "A" + combining ring (U+030A) is canonically "Å" (U+00C5), which String < puts after
        // "B"; its UTF-8 bytes (0x41 …) come before "B"'s (0x42).
        let decomposed = "A\u{30A}"
        #expect(["B", decomposed].sorted() == ["B", decomposed])
        let encoder = LabelEncoder(fitting: ["B", decomposed, "B", "a"])
        #expect(encoder.classes == [decomposed, "B", "a"])
        #expect(encoder.index(of: "B") == 1 && encoder.index(of: "zzz") == nil)
    }

    @Test func encodesMessagesAndMarksUnknownLabels() {
        let messages = ["b", "a", "c"].enumerated().map { LabeledMessage(id: "\($0.offset)", subject: "", body: "x", label: $0.element, line: $0.offset) }
            + [LabeledMessage(id: "n", subject: "", body: "x", label: nil, line: 9)]
        let encoder = LabelEncoder(classes: ["a", "b"])
        #expect(encoder.encode(messages) == [1, 0, -1, -1])
        #expect(LabelEncoder(fitting: messages).classes == ["a", "b", "c"])
    }
}

@Suite("Ranking")
struct RankingTests {
    @Test func argmaxBreaksTiesTowardsTheLowerIndex() {
        #expect(Ranking.argmax([0.2, 0.5, 0.5, 0.1]) == 1)
        #expect(Ranking.argmax([1, 1, 1]) == 0)
        #expect(Ranking.argmax([]) == 0)
        #expect(Ranking.argmax([.nan, 0.3, 0.7]) == 2)
    }

    @Test func topIsThePrefixOfAStableSortByDecreasingValue() {
        var random = SeededGenerator(seed: 5)
        for trial in 0 ..< 300 {
            let n = 1 + random.nextInt(below: 12)
            // Few distinct values: many ties, which must keep index order.
            let p = (0 ..< n).map { _ in Double(random.nextInt(below: 4)) / 4 }
            let sorted = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
            for count in 1 ... n + 1 {
                #expect(Ranking.top(p, count: count) == Array(sorted.prefix(count)), "trial \(trial): \(p), count \(count)")
            }
            #expect(Ranking.top(p, count: 1) == [Ranking.argmax(p)])
        }
    }
}

@Suite("Sparse rows")
struct SparseRowTests {
    @Test func aMatrixLendsItsRows() throws {
        let x = try SparseMatrix(rows: [[(1, 0.5), (4, 2)], [], [(0, 1), (2, 3), (3, -1)]], columnCount: 5)
        x.withRow(0) { row in
            #expect(Array(row.columns) == [1, 4] && Array(row.values) == [0.5, 2])
            #expect(row.value(ofColumn: 4) == 2 && row.value(ofColumn: 2) == 0 && row.value(ofColumn: 9) == 0)
            #expect(row.isWithin(featureCount: 5) && !row.isWithin(featureCount: 4))
        }
        x.withRow(1) { row in #expect(row.isEmpty && row.isWithin(featureCount: 0)) }
        x.withRow(2) { row in #expect(row.count == 3 && row.hasIncreasingColumns) }
    }

    @Test func arraysAreLentAsARow() {
        let sum = SparseRow.with(columns: [0, 3, 7], values: [1, 2, 4]) { row in row.values.reduce(0, +) + row.value(ofColumn: 3) }
        #expect(sum == 9)
    }
}
