import Foundation
import Testing
import TriageCore
@testable import TriageBoost

/// Compares a grown tree with the exact reference, node by node from the root.
func assertSameTree(_ tree: Tree, _ reference: ReferenceTree, _ node: Int = 0, _ refNode: Int = 0,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    let r = reference.nodes[refNode]
    #expect(Int(tree.count[node]) == r.count, sourceLocation: sourceLocation)
    #expect(abs(tree.value[node] - r.value) <= 1e-12 * max(1, abs(r.value)), "value \(tree.value[node]) vs \(r.value)", sourceLocation: sourceLocation)
    #expect(Int(tree.feature[node]) == r.feature, "node \(node): feature \(tree.feature[node]) vs \(r.feature)", sourceLocation: sourceLocation)
    guard r.feature >= 0, tree.feature[node] >= 0 else { return }
    #expect(tree.threshold[node] == r.threshold, "node \(node): threshold \(tree.threshold[node]) vs \(r.threshold)", sourceLocation: sourceLocation)
    #expect(abs(tree.gain[node] - r.gain) <= 1e-9 * max(1, r.gain), sourceLocation: sourceLocation)
    assertSameTree(tree, reference, Int(tree.left[node]), r.left, sourceLocation: sourceLocation)
    assertSameTree(tree, reference, Int(tree.right[node]), r.right, sourceLocation: sourceLocation)
}

@Suite("Binning")
struct BinningTests {
    @Test func fewDistinctValuesGetExactBins() {
        let x = sparseMatrix(rows: 200, columns: 5, density: 0.4, levels: [0.25, 0.5, 1, 2], seed: 1)
        let mapper = BinMapper(fitting: x, maxBins: 16)
        for f in 0 ..< 5 {
            #expect(mapper.zeroBin[f] == 0)
            #expect(mapper.upperBounds[f] == [0.125, 0.375, 0.75, 1.5])
        }
    }

    @Test func zeroSitsAloneBetweenNegativeAndPositiveBins() {
        let edges = BinMapper.edges(sortedNonZeros: [-3, -1, -1, 2, 5], maxBins: 255)
        #expect(edges == [-2, -0.5, 1, 3.5])
        let mapper = BinMapper(maxBins: 255, upperBounds: [edges])
        #expect(mapper.zeroBin == [2])
        #expect(mapper.bin(0, feature: 0) == 2 && mapper.bin(-1, feature: 0) == 1 && mapper.bin(2, feature: 0) == 3 && mapper.bin(99, feature: 0) == 4)
        #expect(BinMapper.edges(sortedNonZeros: [-2, -1], maxBins: 255) == [-1.5, -0.5])   // zero is the top bin
        #expect(BinMapper.edges(sortedNonZeros: [], maxBins: 255) == [])
    }

    @Test func quantileBinsRespectMaxBinsAndTheThresholdRule() {
        var random = TestRandom(7)
        let values = (0 ..< 5000).map { _ in (random.unit() - 0.3) * 10 }.filter { $0 != 0 }.sorted()
        for maxBins in [2, 3, 16, 64, 255] {
            let edges = BinMapper.edges(sortedNonZeros: values, maxBins: maxBins)
            // Mixed signs need three bins at least (negatives, zero, positives).
            #expect(edges.count + 1 <= max(maxBins, 3), "maxBins \(maxBins): \(edges.count + 1) bins")
            let mapper = BinMapper(maxBins: maxBins, upperBounds: [edges])
            // x goes left of a split on bin j exactly when x ≤ upperBound(j).
            for x in values.prefix(300) + [0] {
                let b = Int(mapper.bin(x, feature: 0))
                for j in 0 ..< edges.count { #expect((b <= j) == (x <= mapper.upperBound(feature: 0, bin: j))) }
            }
            #expect(mapper.bin(0, feature: 0) == mapper.zeroBin[0])
        }
    }
}

@Suite("Tree growth")
struct TreeGrowthTests {
    func grow(_ x: SparseMatrix, g: [Double], h: [Double], rules: SplitRules, limits: GrowthLimits, maxBins: Int = 32, mask: [Bool]? = nil) -> Tree {
        let binned = BinMapper(fitting: x, maxBins: maxBins).transform(x)
        var grower = TreeGrower(binned: binned, rules: rules, limits: limits)
        let sample = (0 ..< Int32(x.rowCount)).map { $0 }
        let gh = zip(g, h).flatMap { [$0.0, $0.1] }
        return gh.withUnsafeBufferPointer { grower.grow(sample: sample, gh: $0, mask: mask).tree }
    }

    @Test(arguments: [(1 as UInt64, 0.0, 0.0, 1), (2, 1.0, 0.0, 5), (3, 0.0, 0.05, 3), (4, 0.5, 0.3, 10)])
    func agreesWithTheExactReferenceWhenBinsAreExact(seed: UInt64, l2: Double, maxDelta: Double, minLeaf: Int) {
        let x = sparseMatrix(rows: 400, columns: 10, density: 0.35, levels: [0.2, 0.7, 1.1, 3, -0.4], seed: seed)
        var random = TestRandom(seed + 100)
        let g = (0 ..< 400).map { _ in random.unit() * 2 - 1 }
        let h = (0 ..< 400).map { _ in 0.05 + random.unit() }
        let rules = SplitRules(l2: l2, maxDeltaStep: maxDelta, minSamplesLeaf: minLeaf, minHessianLeaf: 1e-3)
        let tree = grow(x, g: g, h: h, rules: rules, limits: GrowthLimits(maxDepth: 4, maxLeafNodes: nil, learningRate: 0.3))
        let reference = ReferenceTree(x: x, g: g, h: h, rules: rules, maxDepth: 4, learningRate: 0.3)
        #expect(tree.nodeCount == reference.nodes.count)
        #expect(tree.nodeCount > 7, "the data should give a bushy tree")
        assertSameTree(tree, reference)
    }

    @Test func equalGainGoesToTheLowerFeatureIndex() {
        // Columns 1 and 4 are identical and the best predictors: the split must use column 1.
        var rows: [[(column: Int, value: Double)]] = []
        var g: [Double] = []
        for i in 0 ..< 200 {
            let on = i % 3 == 0
            var row: [(column: Int, value: Double)] = [(0, Double(i % 5) + 1)]
            if on { row += [(1, 1), (4, 1)] }
            rows.append(row)
            g.append(on ? -1 : 0.5)
        }
        let x = (try? SparseMatrix(rows: rows, columnCount: 5)) ?? SparseMatrix(zeros: 0, columnCount: 0)
        let tree = grow(x, g: g, h: [Double](repeating: 1, count: 200),
                        rules: SplitRules(l2: 0, maxDeltaStep: 0, minSamplesLeaf: 1, minHessianLeaf: 0),
                        limits: GrowthLimits(maxDepth: 1, maxLeafNodes: nil, learningRate: 1))
        #expect(tree.feature[0] == 1)
        // With column 1 masked out, the twin is used.
        var mask = [Bool](repeating: true, count: 5)
        mask[1] = false
        let masked = grow(x, g: g, h: [Double](repeating: 1, count: 200),
                          rules: SplitRules(l2: 0, maxDeltaStep: 0, minSamplesLeaf: 1, minHessianLeaf: 0),
                          limits: GrowthLimits(maxDepth: 1, maxLeafNodes: nil, learningRate: 1), mask: mask)
        #expect(masked.feature[0] == 4)
    }

    @Test func histogramSubtractionEqualsADirectBuild() {
        let x = sparseMatrix(rows: 300, columns: 20, density: 0.2, levels: [0.1, 0.5, 0.9, 2], seed: 9)
        let binned = BinMapper(fitting: x, maxBins: 16).transform(x)
        var random = TestRandom(10)
        let g = (0 ..< 300).map { _ in random.unit() - 0.5 }, h = (0 ..< 300).map { _ in random.unit() }
        let all = (0 ..< Int32(300)).map { $0 }
        let small = all.filter { $0 % 3 == 0 }, large = all.filter { $0 % 3 != 0 }
        var stamps = [UInt32](repeating: 0, count: 20)
        func build(_ rows: [Int32], stamp: UInt32) -> Histogram {
            var hist = Histogram(totalBins: binned.totalBins, featureCount: 20)
            let gh = zip(g, h).flatMap { [$0.0, $0.1] }
            rows.withUnsafeBufferPointer { r in gh.withUnsafeBufferPointer { ghp in
                hist.accumulate(rows: r, binned: binned, gh: ghp, stamps: &stamps, stamp: stamp)
            } }
            return hist
        }
        var derived = build(all, stamp: 1)
        derived.subtract(build(small, stamp: 2), layout: binned.layout)
        let direct = build(large, stamp: 3)
        for s in 0 ..< binned.totalBins {
            #expect(derived.bins[s].n == direct.bins[s].n)
            #expect(abs(derived.bins[s].g - direct.bins[s].g) < 1e-12 && abs(derived.bins[s].h - direct.bins[s].h) < 1e-12)
        }
        for f in 0 ..< 20 { #expect(derived.totals[f].n == direct.totals[f].n) }
    }

    @Test func leafWiseGrowthStopsAtMaxLeafNodes() {
        let x = sparseMatrix(rows: 500, columns: 8, density: 0.5, levels: [0.3, 1, 2], seed: 11)
        var random = TestRandom(12)
        let g = (0 ..< 500).map { _ in random.unit() * 2 - 1 }
        for leaves in [2, 5, 9] {
            let tree = grow(x, g: g, h: [Double](repeating: 1, count: 500),
                            rules: SplitRules(l2: 0, maxDeltaStep: 0, minSamplesLeaf: 1, minHessianLeaf: 0),
                            limits: GrowthLimits(maxDepth: nil, maxLeafNodes: leaves, learningRate: 1))
            #expect(tree.leafCount == leaves)
        }
        let deep = grow(x, g: g, h: [Double](repeating: 1, count: 500),
                        rules: SplitRules(l2: 0, maxDeltaStep: 0, minSamplesLeaf: 1, minHessianLeaf: 0),
                        limits: GrowthLimits(maxDepth: 2, maxLeafNodes: 31, learningRate: 1))
        #expect(deep.depth <= 2 && deep.leafCount <= 4)
    }

    @Test func minSamplesLeafAndStepCapAreHonoured() {
        let x = sparseMatrix(rows: 300, columns: 6, density: 0.4, levels: [0.5, 1.5], seed: 13)
        var random = TestRandom(14)
        let g = (0 ..< 300).map { _ in random.unit() * 20 - 10 }
        let tree = grow(x, g: g, h: [Double](repeating: 0.01, count: 300),
                        rules: SplitRules(l2: 0, maxDeltaStep: 2, minSamplesLeaf: 25, minHessianLeaf: 0),
                        limits: GrowthLimits(maxDepth: 6, maxLeafNodes: nil, learningRate: 0.5))
        for i in 0 ..< tree.nodeCount {
            #expect(tree.count[i] >= 25)
            #expect(abs(tree.value[i]) <= 0.5 * 2 + 1e-12)
        }
    }
}
