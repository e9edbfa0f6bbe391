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
    public func predict(columns: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>) -> Double {
        value[leaf { lookup($0, columns, values) }]
    }

    /// Path-based attribution (Saabas): the change of node value along the path, credited to
    /// the feature of each split. `value[root] + Σ contributions == value[leaf]` exactly.
    public func contributions(columns: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>,
                              into out: inout [Int32: Double]) -> (bias: Double, leaf: Int) {
        var i = 0
        while feature[i] >= 0 {
            let f = feature[i]
            let next = Int(lookup(f, columns, values) <= threshold[i] ? left[i] : right[i])
            out[f, default: 0] += value[next] - value[i]
            i = next
        }
        return (value[0], i)
    }
}

/// `x[f]` of a sparse row: binary search of its increasing column indices; 0 when absent.
@inline(__always)
func lookup(_ f: Int32, _ columns: UnsafeBufferPointer<Int32>, _ values: UnsafeBufferPointer<Double>) -> Double {
    var lo = 0, hi = columns.count
    while lo < hi {
        let mid = (lo + hi) >> 1
        if columns[mid] < f { lo = mid + 1 } else { hi = mid }
    }
    return lo < columns.count && columns[lo] == f ? values[lo] : 0
}
