import TriageCore

/// Sorts `occurrences` and appends (feature, count) runs.
@inline(__always)
func appendCountedRow(_ occurrences: inout [Int32], features: inout [Int32], counts: inout [Int32]) {
    sortIDs(&occurrences)
    var k = 0
    while k < occurrences.count {
        let f = occurrences[k]
        var j = k + 1
        while j < occurrences.count && occurrences[j] == f { j += 1 }
        features.append(f)
        counts.append(Int32(j - k))
        k = j
    }
}

/// Sorts non-negative ids ascending (the same result as `sort()`): insertion sort for a few,
/// else a least-significant-digit radix sort on bytes, with only as many passes as the largest
/// id needs (two for a vocabulary under 65,536). A document's feature occurrences are sorted
/// once per transform; the comparison sort was a tenth of a served prediction.
/// - Complexity: O(n + 256) per pass, at most 4 passes.
func sortIDs(_ ids: inout [Int32]) {
    let n = ids.count
    guard n > 1 else { return }
    if n <= 32 {
        for i in 1 ..< n {
            let x = ids[i]
            var j = i
            while j > 0 && ids[j - 1] > x {
                ids[j] = ids[j - 1]
                j -= 1
            }
            ids[j] = x
        }
        return
    }
    var largest: Int32 = 0
    for x in ids {
        guard x >= 0 else { return ids.sort() }   // not ids: fall back to the general sort
        largest = max(largest, x)
    }
    var passes = 1
    while passes < 4 && (UInt32(largest) >> UInt32(8 * passes)) != 0 { passes += 1 }
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { other in
      withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { count in
        ids.withUnsafeMutableBufferPointer { mine in
            var from = mine, to = other
            for pass in 0 ..< passes {
                let shift = UInt32(8 * pass)
                for k in 0 ..< 256 { count[k] = 0 }
                for x in from { count[Int((UInt32(x) >> shift) & 0xFF)] += 1 }
                var at = 0
                for k in 0 ..< 256 {
                    let c = count[k]
                    count[k] = at
                    at += c
                }
                for x in from {
                    let d = Int((UInt32(x) >> shift) & 0xFF)
                    to[count[d]] = x
                    count[d] += 1
                }
                swap(&from, &to)
            }
            if passes % 2 == 1 {
                // The sorted ids are in the scratch buffer.
                for i in 0 ..< n { mine[i] = other[i] }
            }
        }
      }
    }
}
