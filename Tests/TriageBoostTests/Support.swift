import TriageCore
@testable import TriageBoost

/// A small deterministic generator for test data.
struct TestRandom {
    var rng: SeededGenerator
    init(_ seed: UInt64) { rng = SeededGenerator(seed: seed) }
    mutating func int(_ n: Int) -> Int { rng.nextInt(below: n) }
    mutating func unit() -> Double { rng.nextUnit() }
}

/// A sparse matrix whose stored values come from `levels` (so bins are exact when
/// `levels.count < max_bins`), with roughly `density` of the entries stored.
func sparseMatrix(rows: Int, columns: Int, density: Double, levels: [Double], seed: UInt64) -> SparseMatrix {
    var random = TestRandom(seed)
    var data: [[(column: Int, value: Double)]] = []
    for _ in 0 ..< rows {
        var row: [(column: Int, value: Double)] = []
        for c in 0 ..< columns where random.unit() < density { row.append((c, levels[random.int(levels.count)])) }
        data.append(row)
    }
    // Force-unwrap-free: the rows are valid by construction.
    return (try? SparseMatrix(rows: data, columnCount: columns)) ?? SparseMatrix(zeros: rows, columnCount: columns)
}

/// Labels that depend on a few features, with noise: learnable but not trivially.
func labels(for x: SparseMatrix, classes: Int, noise: Double, seed: UInt64) -> [Int] {
    var random = TestRandom(seed)
    return (0 ..< x.rowCount).map { r in
        if random.unit() < noise { return random.int(classes) }
        let row = x.toDense()[r]
        let score = row[0] * 2 + row[1] - row[2] + (row.count > 3 ? row[3] * 0.5 : 0)
        let bucket = Int((score + 3).rounded(.down))
        return min(max(bucket, 0), classes - 1)
    }
}

/// The exact greedy tree the histogram learner should find when every feature has fewer
/// distinct values than bins: it tries every threshold halfway between neighbouring distinct
/// values of the feature over all rows (zero included), in increasing order, keeping the first
/// of equal gains — so among thresholds that split a node the same way it keeps the lowest, as
/// the histogram learner does. Same gain, constraints and tie-break; grown depth-first.
struct ReferenceTree {
    struct Node: Equatable {
        var feature: Int = -1
        var threshold: Double = 0
        var gain: Double = 0
        var value: Double
        var left: Int = -1
        var right: Int = -1
        var count: Int
    }

    var nodes: [Node] = []
    let dense: [[Double]]
    let g: [Double]
    let h: [Double]
    let rules: SplitRules
    let maxDepth: Int
    let learningRate: Double

    let thresholds: [[Double]]

    init(x: SparseMatrix, g: [Double], h: [Double], rules: SplitRules, maxDepth: Int, learningRate: Double) {
        dense = x.toDense()
        let columns = dense.isEmpty ? 0 : dense[0].count
        let denseRows = dense
        thresholds = (0 ..< columns).map { f in
            let values = Array(Set(denseRows.map { $0[f] } + [0])).sorted()
            return (0 ..< values.count - 1).map { BinMapper.midpoint(values[$0], values[$0 + 1]) }
        }
        self.g = g
        self.h = h
        self.rules = rules
        self.maxDepth = maxDepth
        self.learningRate = learningRate
        grow(rows: Array(0 ..< x.rowCount), depth: 0)
    }

    @discardableResult
    mutating func grow(rows: [Int], depth: Int) -> Int {
        let G = rows.reduce(0.0) { $0 + g[$1] }, H = rows.reduce(0.0) { $0 + h[$1] }
        let id = nodes.count
        nodes.append(Node(value: learningRate * rules.step(G, H), count: rows.count))
        guard depth < maxDepth, rows.count >= 2 * rules.minSamplesLeaf else { return id }
        var best: (gain: Double, feature: Int, threshold: Double)? = nil
        let parent = rules.reduction(G, H)
        for f in 0 ..< dense[0].count {
            for t in thresholds[f] {
                var lg = 0.0, lh = 0.0, ln = 0
                for r in rows where dense[r][f] <= t { lg += g[r]; lh += h[r]; ln += 1 }
                let rn = rows.count - ln
                guard ln >= rules.minSamplesLeaf, rn >= rules.minSamplesLeaf,
                      lh >= rules.minHessianLeaf, H - lh >= rules.minHessianLeaf else { continue }
                let gain = rules.reduction(lg, lh) + rules.reduction(G - lg, H - lh) - parent
                guard gain > 0 else { continue }
                if let current = best, !(gain > current.gain) { continue }
                best = (gain, f, t)
            }
        }
        guard let split = best else { return id }
        nodes[id].feature = split.feature
        nodes[id].threshold = split.threshold
        nodes[id].gain = split.gain
        let left = rows.filter { dense[$0][split.feature] <= split.threshold }
        let right = rows.filter { dense[$0][split.feature] > split.threshold }
        nodes[id].left = grow(rows: left, depth: depth + 1)
        nodes[id].right = grow(rows: right, depth: depth + 1)
        return id
    }
}
