import TriageCore

/// What to do with a class too small for the requested split.
public enum SmallClassPolicy: String, Sendable, Codable, CaseIterable {
    /// Refuse, naming the classes (the default).
    case error
    /// Leave the class's rows out of the split, and report them.
    case drop
}

/// Why rows could not be split.
public enum SplitError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidFolds(Int)
    case invalidTestSize(Double)
    case tooFewRows(rows: Int, needed: Int)
    case smallClasses([(label: String, count: Int)], needed: Int)

    public static func == (a: SplitError, b: SplitError) -> Bool { a.description == b.description }

    public var description: String {
        switch self {
        case let .invalidFolds(k): return "cv must be an integer ≥ 2, got \(k)"
        case let .invalidTestSize(t): return "test size must be a fraction in (0, 1), got \(t)"
        case let .tooFewRows(rows, needed): return "\(rows) rows cannot be split into \(needed) parts"
        case let .smallClasses(classes, needed):
            let list = classes.map { "\"\($0.label)\" (\($0.count))" }.joined(separator: ", ")
            return "class\(classes.count == 1 ? "" : "es") \(list) ha\(classes.count == 1 ? "s" : "ve") fewer than \(needed) rows, "
                + "too few for this split; add examples, merge the class into another, or drop it (small classes: drop)"
        }
    }
}

/// Stratified, seeded splits of labelled rows (labels as indices).
public enum StratifiedSplit {
    /// Rows left out by `SmallClassPolicy.drop`, per label.
    public struct Dropped: Sendable, Equatable {
        public var label: String
        public var rows: [Int]
    }

    /// A train/test split keeping each class's share: `round(testSize · n_c)` rows of class c go
    /// to test (at least one row of every class stays in training; a class of one row cannot be
    /// tested — refused, or dropped with `.drop`).
    public static func trainTest(labels: [Int], labelNames: [String], testSize: Double, seed: UInt64,
                                 smallClasses: SmallClassPolicy = .error) throws(SplitError) -> (train: [Int], test: [Int], dropped: [Dropped]) {
        guard testSize > 0 && testSize < 1 else { throw .invalidTestSize(testSize) }
        let (byClass, dropped) = try groups(labels: labels, labelNames: labelNames, minimum: 2, policy: smallClasses)
        var test: [Int] = []
        for (c, rows) in byClass.enumerated() where !rows.isEmpty {
            var shuffled = rows
            var rng = SeededGenerator(seed: seed, stream: 10, UInt64(c))
            rng.shuffle(&shuffled)
            let take = min(max(1, Int((testSize * Double(rows.count)).rounded())), rows.count - 1)
            test += shuffled.prefix(take)
        }
        test.sort()
        let excluded = Set(test).union(dropped.flatMap(\.rows))
        return ((0 ..< labels.count).filter { !excluded.contains($0) }, test, dropped)
    }

    /// Stratified K-fold: each class's rows, shuffled with the seed, are dealt round-robin to the
    /// folds, starting where the previous class stopped, so fold sizes differ by at most one and
    /// each class is spread as evenly as possible. Returns (train, validation) rows per fold,
    /// each increasing.
    public static func kFold(labels: [Int], labelNames: [String], folds: Int, seed: UInt64,
                             smallClasses: SmallClassPolicy = .error) throws(SplitError) -> (folds: [(train: [Int], validation: [Int])], dropped: [Dropped]) {
        guard folds >= 2 else { throw .invalidFolds(folds) }
        guard labels.count >= folds else { throw .tooFewRows(rows: labels.count, needed: folds) }
        let (byClass, dropped) = try groups(labels: labels, labelNames: labelNames, minimum: folds, policy: smallClasses)
        var foldOf = [Int](repeating: -1, count: labels.count)
        var next = 0
        for (c, rows) in byClass.enumerated() where !rows.isEmpty {
            var shuffled = rows
            var rng = SeededGenerator(seed: seed, stream: 11, UInt64(c))
            rng.shuffle(&shuffled)
            for r in shuffled {
                foldOf[r] = next
                next = (next + 1) % folds
            }
        }
        let result = (0 ..< folds).map { f in
            (train: (0 ..< labels.count).filter { foldOf[$0] >= 0 && foldOf[$0] != f },
             validation: (0 ..< labels.count).filter { foldOf[$0] == f })
        }
        return (result, dropped)
    }

    private static func groups(labels: [Int], labelNames: [String], minimum: Int,
                               policy: SmallClassPolicy) throws(SplitError) -> ([[Int]], [Dropped]) {
        var byClass = [[Int]](repeating: [], count: labelNames.count)
        for (i, y) in labels.enumerated() { byClass[y].append(i) }
        let small = byClass.enumerated().filter { !$0.element.isEmpty && $0.element.count < minimum }
        guard !small.isEmpty else { return (byClass, []) }
        switch policy {
        case .error:
            throw .smallClasses(small.map { (labelNames[$0.offset], $0.element.count) }, needed: minimum)
        case .drop:
            var dropped: [Dropped] = []
            for (c, rows) in small {
                dropped.append(Dropped(label: labelNames[c], rows: rows))
                byClass[c] = []
            }
            return (byClass, dropped)
        }
    }
}
