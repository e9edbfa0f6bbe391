import Foundation

/// The trees of a fitted model flattened for prediction, with an index that lets a sparse row
/// visit only the trees that test one of its features.
///
/// A row whose features are all zero reaches one fixed leaf in every tree (its "zero leaf").
/// A sparse row can leave that path only at a node testing one of its non-zero features, so
/// every other tree contributes its zero-leaf value. Hence
///
///     score_k(row) = baseline_k + Σ_{t ∈ touched, class(t) = k} (value_t(row) − zero_t)
///     baseline_k   = initial_k + Σ_{t of class k} zero_t       (summed once, in tree order)
///
/// where `touched` are the trees using a feature of the row, visited in increasing tree order.
/// A short message touches a small part of a large forest (banking77: hundreds of 7,700 trees).
/// The order of additions is fixed by the row alone, so results are deterministic; they may
/// differ from a plain per-tree sum in the last bits, and every prediction path of Triage uses
/// this one (artifact probes included).
final class CompiledForest: Sendable {
    /// One node: a split (`feature ≥ 0`) or a leaf (`feature == -1`, `value` its output).
    struct Node {
        var feature: Int32
        var left: Int32       // absolute node index
        var right: Int32
        var threshold: Double
        var value: Double
    }

    let nodes: [Node]
    /// First node of tree t (trees in round-major, score-minor order).
    let roots: [Int32]
    /// The score each tree adds to.
    let scoreOf: [Int32]
    /// Each tree's zero-leaf value.
    let zeroValue: [Double]
    let baseline: [Double]
    /// CSR: the trees (increasing) whose splits test feature f: `featureTrees[featureStart[f] ..< featureStart[f + 1]]`.
    let featureStart: [Int32]
    let featureTrees: [Int32]
    let featureCount: Int
    let scoreCount: Int
    var treeCount: Int { roots.count }

    init(trees: [[Tree]], initialScores: [Double], featureCount: Int) {
        var nodes: [Node] = []
        var roots: [Int32] = [], scoreOf: [Int32] = [], zeroValue: [Double] = []
        var uses: [[Int32]] = Array(repeating: [], count: featureCount)
        for round in trees {
            for (k, tree) in round.enumerated() {
                let t = Int32(roots.count)
                let base = Int32(nodes.count)
                roots.append(base)
                scoreOf.append(Int32(k))
                var used = Set<Int32>()
                for i in 0 ..< tree.nodeCount {
                    let leaf = tree.feature[i] < 0
                    nodes.append(Node(feature: tree.feature[i], left: leaf ? -1 : base + tree.left[i], right: leaf ? -1 : base + tree.right[i],
                                      threshold: tree.threshold[i], value: tree.value[i]))
                    if !leaf && Int(tree.feature[i]) < featureCount { used.insert(tree.feature[i]) }
                }
                for f in used.sorted() { uses[Int(f)].append(t) }
                // The all-zero row's leaf.
                // Children have larger indices than their parent in every valid tree (fitted or
                // validated); the bound keeps a malformed one from looping or reading out of range.
                var i = 0
                while tree.nodeCount > 0 && tree.feature[i] >= 0 {
                    let next = Int(0 <= tree.threshold[i] ? tree.left[i] : tree.right[i])
                    precondition(next > i && next < tree.nodeCount, "malformed tree: node \(i) has child \(next)")
                    i = next
                }
                zeroValue.append(tree.nodeCount > 0 ? tree.value[i] : 0)
            }
        }
        var baseline = initialScores
        for t in roots.indices { baseline[Int(scoreOf[t])] += zeroValue[t] }
        var start: [Int32] = [0]
        start.reserveCapacity(featureCount + 1)
        var list: [Int32] = []
        for f in 0 ..< featureCount {
            list += uses[f]
            start.append(Int32(list.count))
        }
        self.nodes = nodes
        self.roots = roots
        self.scoreOf = scoreOf
        self.zeroValue = zeroValue
        self.baseline = baseline
        featureStart = start
        featureTrees = list
        self.featureCount = featureCount
        scoreCount = initialScores.count
    }

    /// A forest compiled once, on first use, by whichever thread asks first.
    final class Lazy: @unchecked Sendable {
        private let lock = NSLock()
        private var forest: CompiledForest?
        private let trees: [[Tree]], initialScores: [Double], featureCount: Int

        init(trees: [[Tree]], initialScores: [Double], featureCount: Int) {
            self.trees = trees
            self.initialScores = initialScores
            self.featureCount = featureCount
        }

        func get() -> CompiledForest {
            lock.lock()
            defer { lock.unlock() }
            if let forest { return forest }
            let made = CompiledForest(trees: trees, initialScores: initialScores, featureCount: featureCount)
            forest = made
            return made
        }
    }

    /// Per-thread working memory: a dense copy of the current row and the touched-tree marks.
    final class Scratch {
        var dense: [Double]
        var mark: [UInt32]
        var generation: UInt32 = 0
        var touched: [Int32] = []

        init(featureCount: Int, treeCount: Int) {
            dense = [Double](repeating: 0, count: featureCount)
            mark = [UInt32](repeating: 0, count: treeCount)
        }
    }

    func makeScratch() -> Scratch { Scratch(featureCount: featureCount, treeCount: treeCount) }

    /// Raw scores of one sparse row (increasing column indices) into `scores` (`scoreCount`).
    func rawScores(columns: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>, scratch: Scratch,
                   into scores: UnsafeMutableBufferPointer<Double>) {
        for k in 0 ..< scoreCount { scores[k] = baseline[k] }
        scratch.generation &+= 1
        if scratch.generation == 0 {
            // Wrapped: clear the marks once every 2³² rows.
            for i in scratch.mark.indices { scratch.mark[i] = 0 }
            scratch.generation = 1
        }
        let generation = scratch.generation
        scratch.touched.removeAll(keepingCapacity: true)
        featureStart.withUnsafeBufferPointer { start in
            featureTrees.withUnsafeBufferPointer { trees in
                scratch.mark.withUnsafeMutableBufferPointer { mark in
                    scratch.dense.withUnsafeMutableBufferPointer { dense in
                        for j in 0 ..< columns.count {
                            let f = Int(columns[j])
                            guard f >= 0 && f < featureCount else { continue }
                            dense[f] = values[j]
                            for p in Int(start[f]) ..< Int(start[f + 1]) {
                                let t = Int(trees[p])
                                if mark[t] != generation {
                                    mark[t] = generation
                                    scratch.touched.append(Int32(t))
                                }
                            }
                        }
                    }
                }
            }
        }
        scratch.touched.sort()
        nodes.withUnsafeBufferPointer { nodes in
            roots.withUnsafeBufferPointer { roots in
                scratch.dense.withUnsafeBufferPointer { x in
                    for t in scratch.touched {
                        var i = Int(roots[Int(t)])
                        while nodes[i].feature >= 0 {
                            let n = nodes[i]
                            i = Int(x[Int(n.feature)] <= n.threshold ? n.left : n.right)
                        }
                        scores[Int(scoreOf[Int(t)])] += nodes[i].value - zeroValue[Int(t)]
                    }
                }
            }
        }
        // Leave the dense row all zero for the next one.
        scratch.dense.withUnsafeMutableBufferPointer { dense in
            for j in 0 ..< columns.count where Int(columns[j]) < featureCount && columns[j] >= 0 { dense[Int(columns[j])] = 0 }
        }
    }
}
