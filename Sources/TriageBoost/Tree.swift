import TriageCore
/// A fitted regression tree as plain arrays (one entry per node; node 0 is the root).
///
/// Internal node `i` tests `x[feature[i]] ≤ threshold[i]`: true goes to `left[i]`, false to
/// `right[i]`; a leaf has `feature[i] == -1` and `left[i] == right[i] == -1`. `value[i]` is the
/// node's output — already multiplied by the learning rate — for internal nodes too, which is
/// what path-based contributions need. `gain` is the loss reduction of the split (0 at leaves),
/// `count` the training rows that reached the node, `cover` their summed hessian.
public struct Tree: Sendable, Equatable, Codable {
    public var feature: [Int32]
    public var threshold: [Double]
    public var left: [Int32]
    public var right: [Int32]
    public var value: [Double]
    public var gain: [Double]
    public var count: [Int32]
    public var cover: [Double]
    /// The split bin of each internal node (0 at leaves): a binned value goes left when ≤ it.
    public var binThreshold: [UInt8]

    public init() {
        feature = []; threshold = []; left = []; right = []; value = []; gain = []; count = []; cover = []; binThreshold = []
    }

    enum CodingKeys: String, CodingKey {
        case feature, threshold, left, right, value, gain, count, cover
        case binThreshold = "bin_threshold"
    }

    public var nodeCount: Int { feature.count }
    public var leafCount: Int { feature.count(where: { $0 < 0 }) }

    @inline(__always)
    public func isLeaf(_ i: Int) -> Bool { feature[i] < 0 }

    mutating func appendNode(value: Double, count: Int, cover: Double) -> Int32 {
        feature.append(-1)
        threshold.append(0)
        left.append(-1)
        right.append(-1)
        self.value.append(value)
        gain.append(0)
        self.count.append(Int32(count))
        self.cover.append(cover)
        binThreshold.append(0)
        return Int32(feature.count - 1)
    }

    /// Depth of the deepest leaf (a lone root has depth 0).
    public var depth: Int {
        var best = 0
        var stack: [(Int, Int)] = nodeCount > 0 ? [(0, 0)] : []
        while let (i, d) = stack.popLast() {
            if isLeaf(i) { best = max(best, d) } else {
                stack.append((Int(left[i]), d + 1))
                stack.append((Int(right[i]), d + 1))
            }
        }
        return best
    }

    /// The leaf reached by a row given as a value lookup.
    @inline(__always)
    public func leaf(_ x: (Int32) -> Double) -> Int {
        var i = 0
        while feature[i] >= 0 {
            i = Int(x(feature[i]) <= threshold[i] ? left[i] : right[i])
        }
        return i
    }

    /// The output for a sparse row (column indices increasing, with their values).
    public func predict(_ row: SparseRow) -> Double {
        value[leaf { row.value(ofColumn: $0) }]
    }

    /// Path-based attribution (Saabas): the change of node value along the path, credited to
    /// the feature of each split. `value[root] + Σ contributions == value[leaf]` exactly.
    public func contributions(_ row: SparseRow, into out: inout [Int32: Double]) -> (bias: Double, leaf: Int) {
        var i = 0
        while feature[i] >= 0 {
            let f = feature[i]
            let next = Int(row.value(ofColumn: f) <= threshold[i] ? left[i] : right[i])
            out[f, default: 0] += value[next] - value[i]
            i = next
        }
        return (value[0], i)
    }
}
