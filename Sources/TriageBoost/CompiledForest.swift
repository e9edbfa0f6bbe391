import TriageCore
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
    /// One node in 16 bytes: a split (`feature ≥ 0`; children at `left` and `left + 1`, laid out
    /// side by side; `x ≤ threshold` goes left) or a leaf (`feature == -1`, `threshold` holds
    /// its value).
    struct Node {
        var feature: Int32
        var left: Int32       // absolute node index; the right child is `left + 1`
        var threshold: Double // a leaf's value
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
        var pending: [(from: Int, to: Int)] = []
        for round in trees {
            for (k, tree) in round.enumerated() {
                let t = Int32(roots.count)
                roots.append(Int32(nodes.count))
                scoreOf.append(Int32(k))
                guard tree.nodeCount > 0 else {
                    nodes.append(Node(feature: -1, left: -1, threshold: 0))
                    zeroValue.append(0)
                    continue
                }
                // Breadth-first copy, children side by side. Children have larger indices than
                // their parent in every valid tree (fitted, or validated when decoded); the check
                // keeps a malformed one from looping or reading out of range.
                var used = Set<Int32>()
                pending.removeAll(keepingCapacity: true)
                pending.append((0, nodes.count))
                nodes.append(Node(feature: -1, left: -1, threshold: 0))
                var head = 0
                while head < pending.count {
                    let (i, at) = pending[head]
                    head += 1
                    let f = tree.feature[i]
                    if f < 0 {
                        nodes[at] = Node(feature: -1, left: -1, threshold: tree.value[i])
                        continue
                    }
                    let l = Int(tree.left[i]), r = Int(tree.right[i])
                    precondition(l > i && l < tree.nodeCount && r > i && r < tree.nodeCount && Int(f) < featureCount,
                                 "malformed tree: node \(i) has children \(l), \(r) and feature \(f)")
                    let child = nodes.count
                    nodes.append(Node(feature: -1, left: -1, threshold: 0))
                    nodes.append(Node(feature: -1, left: -1, threshold: 0))
                    nodes[at] = Node(feature: f, left: Int32(child), threshold: tree.threshold[i])
                    pending.append((l, child))
                    pending.append((r, child + 1))
                    used.insert(f)
                }
                for f in used.sorted() { uses[Int(f)].append(t) }
                // The all-zero row's leaf.
                var i = Int(roots[Int(t)])
                while nodes[i].feature >= 0 { i = Int(nodes[i].left) + (0 <= nodes[i].threshold ? 0 : 1) }
                zeroValue.append(nodes[i].threshold)
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

    /// Per-thread working memory: a dense copy of the current row and a bitmap of touched trees
    /// (both all zero between rows).
    final class Scratch {
        var dense: [Double]
        var touched: [UInt64]

        init(featureCount: Int, treeCount: Int) {
            dense = [Double](repeating: 0, count: featureCount)
            touched = [UInt64](repeating: 0, count: (treeCount + 63) / 64)
        }
    }

    func makeScratch() -> Scratch { Scratch(featureCount: featureCount, treeCount: treeCount) }

    /// Raw scores of one sparse row (increasing column indices) into `scores` (`scoreCount`).
    func rawScores(_ row: SparseRow, scratch: Scratch, into scores: UnsafeMutableBufferPointer<Double>) {
        let columns = row.columns, values = row.values
        for k in 0 ..< scoreCount { scores[k] = baseline[k] }
        featureStart.withUnsafeBufferPointer { start in
            featureTrees.withUnsafeBufferPointer { trees in
                scratch.touched.withUnsafeMutableBufferPointer { touched in
                    scratch.dense.withUnsafeMutableBufferPointer { dense in
                        for j in 0 ..< columns.count {
                            let f = Int(columns[j])
                            guard f >= 0 && f < featureCount else { continue }
                            dense[f] = values[j]
                            for p in Int(start[f]) ..< Int(start[f + 1]) {
                                let t = Int(trees[p])
                                touched[t &>> 6] |= 1 &<< UInt64(t & 63)
                            }
                        }
                    }
                }
            }
        }
        // Touched trees in increasing order: the bitmap's words, low bit first (clearing them).
        nodes.withUnsafeBufferPointer { nodes in
            roots.withUnsafeBufferPointer { roots in
                scoreOf.withUnsafeBufferPointer { scoreOf in
                    zeroValue.withUnsafeBufferPointer { zeroValue in
                        scratch.touched.withUnsafeMutableBufferPointer { touched in
                            scratch.dense.withUnsafeBufferPointer { x in
                                for w in 0 ..< touched.count where touched[w] != 0 {
                                    var bits = touched[w]
                                    touched[w] = 0
                                    while bits != 0 {
                                        let t = w &<< 6 | bits.trailingZeroBitCount
                                        bits &= bits &- 1
                                        var i = Int(roots[t])
                                        while true {
                                            let n = nodes[i]
                                            if n.feature < 0 { break }
                                            i = Int(n.left) &+ (x[Int(n.feature)] <= n.threshold ? 0 : 1)
                                        }
                                        scores[Int(scoreOf[t])] += nodes[i].threshold - zeroValue[t]
                                    }
                                }
                            }
                        }
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
