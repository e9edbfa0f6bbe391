import TriageCore

/// Why a search could not run or finish.
public enum SearchError: Error, Equatable, Sendable, CustomStringConvertible {
    case parameters(ParameterError)
    case split(SplitError)
    case ledger(path: String, reason: String)
    case tooFewLabels([String])
    case invalidData(PipelineError)
    case unknownScoring(String)
    case invalidShard(String)
    case allFailed([String])
    case incomplete(missing: Int, total: Int)
    case mismatchedLedgers(String)
    case emptyGrid

    public var description: String {
        switch self {
        case let .parameters(e): return e.description
        case let .split(e): return e.description
        case let .ledger(path, reason): return "ledger \(path): \(reason)"
        case let .tooFewLabels(labels): return "the training data has \(labels.count) label(s); a search needs at least 2"
        case let .invalidData(e): return e.description
        case let .unknownScoring(name):
            return "unknown scoring \"\(name)\"; use one of \(ClassificationReport.scoringNames.joined(separator: ", "))"
        case let .invalidShard(why): return "invalid shard: \(why) (write --shard i/n with 0 ≤ i < n)"
        case let .allFailed(errors):
            return "every fit failed; first errors: \(errors.prefix(3).joined(separator: " | "))"
        case let .incomplete(missing, total):
            return "\(missing) of \(total) (candidate, fold) pairs have no result yet; run the remaining shards, then merge their ledgers"
        case let .mismatchedLedgers(why): return "cannot merge: \(why)"
        case .emptyGrid: return "the grid has no candidates"
        }
    }
}

/// A part of a search for one machine of a batch job: shard `index` of `count` (0-based).
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws(SearchError) {
        guard count >= 1, index >= 0, index < count else { throw .invalidShard("\(index)/\(count)") }
        self.index = index
        self.count = count
    }

    /// Parses `i/n`.
    public init(parsing text: String) throws(SearchError) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else { throw .invalidShard("\"\(text)\"") }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }
}
