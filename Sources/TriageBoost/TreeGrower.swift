/// How a tree grows.
struct GrowthLimits {
    /// Depth limit (root = depth 0); nil: none (then `maxLeafNodes` must be set).
    var maxDepth: Int?
    /// When set, best-first ("leaf-wise") growth up to this many leaves; otherwise depth-wise.
    var maxLeafNodes: Int?
    var learningRate: Double
}

/// Grows one regression tree on gradients; one grower per thread, reused across trees (its
/// histogram buffers and scratch arrays are kept).
///
/// Depth-wise growth expands nodes depth-first (a stack), so at most `maxDepth + 1` histograms
/// are alive; best-first growth always splits the open leaf of highest gain (ties: lower node
/// index). For every split the smaller child's histogram is built from its rows and the larger
/// child's is the parent's minus it, computed in the parent's buffer.
struct TreeGrower {
    let binned: BinnedMatrix
    let rules: SplitRules
    let limits: GrowthLimits
    private var pool: HistogramPool
    private var stamps: [UInt32]
    private var stamp: UInt32 = 0
    private var rowIndex: [Int32] = []
    private var scratch: [Int32] = []
    /// Per row: 1 + its bin of the feature being split on, 0 when not stored (column marking).
    private var rowMark: [UInt8]

    init(binned: BinnedMatrix, rules: SplitRules, limits: GrowthLimits) {
        self.binned = binned
        self.rules = rules
        self.limits = limits
        pool = HistogramPool(totalBins: binned.totalBins, featureCount: binned.featureCount)
        stamps = [UInt32](repeating: 0, count: binned.featureCount)
        rowMark = [UInt8](repeating: 0, count: binned.rowCount)
    }

    /// A grown tree and, for score updates, its sample rows grouped by leaf.
    struct Result {
        var tree: Tree
        /// The sample rows, reordered so each leaf's rows are contiguous.
        var rows: [Int32]
        /// (first, end, leaf node) ranges of `rows`.
        var leafRanges: [(start: Int, end: Int, node: Int32)]
    }

    private struct OpenNode {
        var node: Int32
        var begin: Int
        var end: Int
        var g: Double
        var h: Double
        var depth: Int
        var histogram: Int
        var split: SplitCandidate?
    }

    private mutating func nextStamp() -> UInt32 {
        stamp &+= 1
        if stamp == 0 {
            // Wrapped around: reset the scratch so no old stamp can match.
            for i in stamps.indices { stamps[i] = 0 }
            stamp = 1
        }
        return stamp
    }

    /// Builds the histogram of rows `rowIndex[begin ..< end]`: by columns when the node holds
    /// a large share of the rows (sequential, cache-friendly), by rows otherwise (work
    /// proportional to the node's entries). Both give the same sums.
    private mutating func build(_ histogram: Int, begin: Int, end: Int,
                                gh: UnsafeBufferPointer<Double>) {
        let s = nextStamp()
        let rows = rowIndex
        if (end - begin) * Self.columnBuildDivisor >= binned.rowCount {
            var mark: [UInt8] = []
            swap(&mark, &rowMark)
            defer { swap(&mark, &rowMark) }
            mark.withUnsafeMutableBufferPointer { m in
                rows.withUnsafeBufferPointer { r in for k in begin ..< end { m[Int(r[k])] = 1 } }
            }
            mark.withUnsafeBufferPointer { m in
                pool[histogram].accumulateByColumn(mark: m, binned: binned, gh: gh, stamps: &stamps, stamp: s)
            }
            mark.withUnsafeMutableBufferPointer { m in
                rows.withUnsafeBufferPointer { r in for k in begin ..< end { m[Int(r[k])] = 0 } }
            }
            return
        }
        rows.withUnsafeBufferPointer { all in
            pool[histogram].accumulate(rows: UnsafeBufferPointer(rebasing: all[begin ..< end]), binned: binned,
                                       gh: gh, stamps: &stamps, stamp: s)
        }
    }

    /// Column-wise builds for nodes holding at least 1/divisor of the matrix's rows.
    static let columnBuildDivisor = 4

    private func canSplitDeeper(_ depth: Int) -> Bool {
        if let maxDepth = limits.maxDepth { return depth < maxDepth }
        return true
    }

    /// Grows a tree on the gradients and hessians `gh` (row i: `gh[2i]`, `gh[2i + 1]`) of the
    /// rows `sample` (increasing), considering only features with `mask[f]` (nil: all).
    mutating func grow(sample: [Int32], gh: UnsafeBufferPointer<Double>, mask: [Bool]?) -> Result {
        rowIndex = sample
        if scratch.count < sample.count { scratch = [Int32](repeating: 0, count: sample.count) }
        var tree = Tree()
        var G = 0.0, H = 0.0
        for r in sample {
            G += gh[2 * Int(r)]
            H += gh[2 * Int(r) + 1]
        }
        let lr = limits.learningRate
        let root = tree.appendNode(value: lr * rules.step(G, H), count: sample.count, cover: H)
        let rootHistogram = pool.acquire()
        build(rootHistogram, begin: 0, end: sample.count, gh: gh)
        // The root is never the smaller operand of a subtraction: filter its features now.
        pool[rootHistogram].retainSplittable(minimumCount: max(1, rules.minSamplesLeaf))
        var open: [OpenNode] = []
        var first = OpenNode(node: root, begin: 0, end: sample.count, g: G, h: H, depth: 0, histogram: rootHistogram, split: nil)
        if canSplitDeeper(0) {
            first.split = rules.bestSplit(hist: pool[rootHistogram], totalG: G, totalH: H, count: sample.count, binned: binned, mask: mask)
        }
        var leafRanges: [(start: Int, end: Int, node: Int32)] = []
        if first.split == nil {
            pool.release(rootHistogram)
            leafRanges.append((0, sample.count, root))
        } else {
            open.append(first)
        }
        var leaves = 1
        let bestFirst = limits.maxLeafNodes != nil

        while !open.isEmpty {
            if let maxLeaves = limits.maxLeafNodes, leaves >= maxLeaves { break }
            // Choose the node to split: the last pushed (depth-first), or the highest gain.
            var pick = open.count - 1
            if bestFirst {
                for (k, candidate) in open.enumerated() {
                    guard let a = candidate.split, let b = open[pick].split else { continue }
                    if a.gain > b.gain || (a.gain == b.gain && candidate.node < open[pick].node) { pick = k }
                }
            }
            let parent = open.remove(at: pick)
            guard let split = parent.split else { continue }

            // Stable partition of the parent's rows: left (bin ≤ split bin) first.
            let mid = partition(begin: parent.begin, end: parent.end, feature: split.feature, bin: split.bin)
            let leftCount = mid - parent.begin, rightCount = parent.end - mid
            assert(leftCount == split.leftCount)
            let (lg, lh) = (split.leftG, split.leftH)
            let (rg, rh) = (parent.g - lg, parent.h - lh)
            let leftNode = tree.appendNode(value: lr * rules.step(lg, lh), count: leftCount, cover: lh)
            let rightNode = tree.appendNode(value: lr * rules.step(rg, rh), count: rightCount, cover: rh)
            let p = Int(parent.node)
            tree.feature[p] = split.feature
            tree.binThreshold[p] = split.bin
            tree.threshold[p] = binned.mapper.upperBound(feature: Int(split.feature), bin: Int(split.bin))
            tree.left[p] = leftNode
            tree.right[p] = rightNode
            tree.gain[p] = split.gain
            leaves += 1

            // Histograms, only for children that may split: build the smaller child's, derive the
            // larger child's in the parent's buffer by subtraction.
            let layout = binned.layout
            let childDepth = parent.depth + 1
            func mayMakeSplit(_ rows: Int) -> Bool { canSplitDeeper(childDepth) && rows >= 2 * rules.minSamplesLeaf && rows >= 2 }
            let smallerIsLeft = leftCount <= rightCount
            let (smallBegin, smallEnd) = smallerIsLeft ? (parent.begin, mid) : (mid, parent.end)
            let smallNeeds = mayMakeSplit(smallEnd - smallBegin)
            let largeNeeds = mayMakeSplit(smallerIsLeft ? rightCount : leftCount)
            var smallHistogram = -1, largeHistogram = -1
            if smallNeeds || largeNeeds {
                smallHistogram = pool.acquire()
                build(smallHistogram, begin: smallBegin, end: smallEnd, gh: gh)
            }
            if largeNeeds {
                pool.with(parent.histogram, reading: smallHistogram) { large, smaller in
                    large.subtract(smaller, layout: layout)
                }
                largeHistogram = parent.histogram
            } else {
                pool.release(parent.histogram)
            }
            if !smallNeeds && smallHistogram >= 0 {
                pool.release(smallHistogram)
                smallHistogram = -1
            }
            let leftHistogram = smallerIsLeft ? smallHistogram : largeHistogram
            let rightHistogram = smallerIsLeft ? largeHistogram : smallHistogram

            var children = [
                OpenNode(node: leftNode, begin: parent.begin, end: mid, g: lg, h: lh, depth: childDepth, histogram: leftHistogram, split: nil),
                OpenNode(node: rightNode, begin: mid, end: parent.end, g: rg, h: rh, depth: childDepth, histogram: rightHistogram, split: nil),
            ]
            // Both histograms are complete: now their scans may skip unsplittable features.
            let minimumCount = max(1, rules.minSamplesLeaf)
            for k in children.indices {
                if children[k].histogram >= 0 {
                    pool[children[k].histogram].retainSplittable(minimumCount: minimumCount)
                    children[k].split = rules.bestSplit(hist: pool[children[k].histogram], totalG: children[k].g, totalH: children[k].h,
                                                        count: children[k].end - children[k].begin, binned: binned, mask: mask)
                }
                if children[k].split == nil {
                    if children[k].histogram >= 0 { pool.release(children[k].histogram) }
                    leafRanges.append((children[k].begin, children[k].end, children[k].node))
                }
            }
            // Depth-first: push right then left, so the left subtree is expanded first.
            for k in [1, 0] where children[k].split != nil { open.append(children[k]) }
        }
        // Nodes still open (best-first stopped at maxLeafNodes) become leaves.
        for node in open {
            pool.release(node.histogram)
            leafRanges.append((node.begin, node.end, node.node))
        }
        return Result(tree: tree, rows: rowIndex, leafRanges: leafRanges)
    }

    /// Stable partition of `rowIndex[begin ..< end]` by `bin(row, feature) ≤ bin`; returns the
    /// first index of the right part. A row's bin comes from marking the feature's column when
    /// the column is short next to the node (O(column + rows)), else from a binary search of
    /// each row (O(rows · log row length)).
    private mutating func partition(begin: Int, end: Int, feature: Int32, bin: UInt8) -> Int {
        let f = Int(feature)
        let columnStart = binned.columnOffsets[f], columnEnd = binned.columnOffsets[f + 1]
        if columnEnd - columnStart <= 4 * (end - begin) {
            return partitionByColumn(begin: begin, end: end, columnRange: columnStart ..< columnEnd, zeroBin: binned.mapper.zeroBin[f], bin: bin)
        }
        return partitionBySearch(begin: begin, end: end, feature: feature, bin: bin)
    }

    private mutating func partitionByColumn(begin: Int, end: Int, columnRange: Range<Int>, zeroBin: UInt8, bin: UInt8) -> Int {
        var left = begin
        var right = 0
        let binned = self.binned
        rowMark.withUnsafeMutableBufferPointer { mark in
            binned.columnRows.withUnsafeBufferPointer { columnRows in
                binned.columnBins.withUnsafeBufferPointer { columnBins in
                    for k in columnRange { mark[Int(columnRows[k])] = columnBins[k] &+ 1 }
                    rowIndex.withUnsafeMutableBufferPointer { rows in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            for k in begin ..< end {
                                let r = rows[k]
                                let m = mark[Int(r)]
                                if (m == 0 ? zeroBin : m &- 1) <= bin {
                                    rows[left] = r
                                    left += 1
                                } else {
                                    scratch[right] = r
                                    right += 1
                                }
                            }
                            for k in 0 ..< right { rows[left + k] = scratch[k] }
                        }
                    }
                    for k in columnRange { mark[Int(columnRows[k])] = 0 }
                }
            }
        }
        return left
    }

    private mutating func partitionBySearch(begin: Int, end: Int, feature: Int32, bin: UInt8) -> Int {
        var left = begin
        var right = 0
        let zeroGoesLeft = binned.mapper.zeroBin[Int(feature)] <= bin
        let binned = self.binned
        rowIndex.withUnsafeMutableBufferPointer { rows in
            scratch.withUnsafeMutableBufferPointer { scratch in
                binned.rowOffsets.withUnsafeBufferPointer { offsets in
                    binned.features.withUnsafeBufferPointer { features in
                        binned.bins.withUnsafeBufferPointer { bins in
                            for k in begin ..< end {
                                let r = rows[k]
                                // Binary search of the row's increasing features.
                                var lo = offsets[Int(r)], hi = offsets[Int(r) + 1]
                                let rowEnd = hi
                                while lo < hi {
                                    let mid = (lo + hi) >> 1
                                    if features[mid] < feature { lo = mid + 1 } else { hi = mid }
                                }
                                let goesLeft = lo < rowEnd && features[lo] == feature ? bins[lo] <= bin : zeroGoesLeft
                                if goesLeft {
                                    rows[left] = r
                                    left += 1
                                } else {
                                    scratch[right] = r
                                    right += 1
                                }
                            }
                            for k in 0 ..< right { rows[left + k] = scratch[k] }
                        }
                    }
                }
            }
        }
        return left
    }
}
