/// The one tie-break for "most probable": among equal values, the lower index (the class listed
/// first) wins. Used for predicted labels, explanations, metrics and top-k lists alike, so that
/// they always agree.
public enum Ranking {
    /// The index of the largest value; ties go to the lower index. NaN never wins over a number.
    /// 0 for an empty array.
    /// - Complexity: O(n).
    @inlinable
    public static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for i in values.indices.dropFirst() where values[i] > values[best] || (values[best].isNaN && !values[i].isNaN) { best = i }
        return best
    }

    /// Indices of the `count` largest values, largest first, ties in index order: the prefix of a
    /// stable sort by decreasing value, found by insertion into a short list (a served message
    /// asks for 3 of 77 classes; sorting all of them cost more than the rest of the answer).
    /// - Complexity: O(n · count).
    public static func top(_ values: [Double], count: Int) -> [Int] {
        var order: [Int] = []
        order.reserveCapacity(min(count, values.count) + 1)
        for i in values.indices {
            if order.count == count, let last = order.last, !(values[i] > values[last]) { continue }
            // After every kept index with a value ≥ values[i]: equal values keep index order.
            var at = order.count
            while at > 0 && values[order[at - 1]] < values[i] { at -= 1 }
            order.insert(i, at: at)
            if order.count > count { order.removeLast() }
        }
        return order
    }
}
