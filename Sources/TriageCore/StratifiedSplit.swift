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
        let test = held(byClass, fraction: testSize, atLeastOne: true, seed: seed, stream: Stream.trainTest)
        let excluded = Set(test).union(dropped.flatMap(\.rows))
        return ((0 ..< labels.count).filter { !excluded.contains($0) }, test, dropped)
    }

    /// A stratified holdout inside a fit (early stopping, calibration): `round(fraction · n_c)`
    /// rows of each class c are held out, but at least one row of every class stays in training
    /// (so a class of one row is never held out). Never fails. Both parts increase. `stream`
    /// names the caller, so that two holdouts with one seed are independent.
    public static func holdout(labels: [Int], classCount: Int, fraction: Double, seed: UInt64,
                               stream: UInt64) -> (train: [Int], held: [Int]) {
        var byClass = [[Int]](repeating: [], count: classCount)
        for (i, y) in labels.enumerated() { byClass[y].append(i) }
        let held = held(byClass, fraction: fraction, atLeastOne: false, seed: seed, stream: stream)
        var isHeld = [Bool](repeating: false, count: labels.count)
        for i in held { isHeld[i] = true }
        return ((0 ..< labels.count).filter { !isHeld[$0] }, held)
    }

    /// The generator streams of Triage's splits (part of every seed's meaning: changing one
    /// changes which rows a seed picks).
    public enum Stream {
        public static let trainTest: UInt64 = 10
        public static let kFold: UInt64 = 11
        /// Gradient boosting's early-stopping validation rows.
        public static let earlyStopping: UInt64 = 3
        /// LinearSVC's temperature-calibration rows.
        public static let svcCalibration: UInt64 = 0x4341_4C49_4252
    }

    /// Per class (rows in increasing order), shuffled with `SeededGenerator(seed, stream, class)`:
    /// the first `round(fraction · n)` rows, at most n − 1 (and at least 1 with `atLeastOne`);
    /// sorted.
    private static func held(_ byClass: [[Int]], fraction: Double, atLeastOne: Bool, seed: UInt64, stream: UInt64) -> [Int] {
        var held: [Int] = []
        for (c, rows) in byClass.enumerated() where rows.count >= 2 {
            var shuffled = rows
            var rng = SeededGenerator(seed: seed, stream: stream, UInt64(c))
            rng.shuffle(&shuffled)
            let rounded = Int((fraction * Double(rows.count)).rounded())
            held += shuffled.prefix(min(atLeastOne ? max(1, rounded) : max(0, rounded), rows.count - 1))
        }
        held.sort()
        return held
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
            var rng = SeededGenerator(seed: seed, stream: Stream.kFold, UInt64(c))
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
