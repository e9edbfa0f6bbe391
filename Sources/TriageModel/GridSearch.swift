import Foundation
import TriageBoost
import TriageCore
import TriageData
import TriageLinear
import TriageText

/// Why a search could not run or finish.
public enum SearchError: Error, Equatable, Sendable, CustomStringConvertible {
    case parameters(ParameterError)
    case split(SplitError)
    case ledger(path: String, reason: String)
    case tooFewLabels([String])
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

public struct SearchOptions: Sendable {
    /// Folds of stratified K-fold cross-validation.
    public var folds: Int = 3
    /// The metric that ranks candidates (scikit-learn `scoring` names).
    public var scoring: String = "accuracy"
    /// Seeds the folds (the classifiers keep their own `random_state`).
    public var seed: UInt64 = 0
    public var smallClasses: SmallClassPolicy = .error
    /// Threads for (candidate, fold) pairs; each fit runs on one.
    public var threads: Int? = nil
    public var shard: Shard? = nil
    public var stopWordDirectories: [String]? = nil

    public init() {}
}

/// Work counters: what the search computed, to show what sharing saved.
public struct SearchCounters: Sendable, Equatable {
    /// Tokenisation passes over the training messages (one per distinct analyzer setting and
    /// subject weight — not per fold, not per candidate).
    public var tokenizations = 0
    /// Vocabularies counted (per fold and vectorizer setting).
    public var vectorizations = 0
    /// TF-IDF weightings (per fold, vectorizer and TF-IDF setting).
    public var tfidfs = 0
    /// Feature matrices binned (per fold, feature matrix and max_bins).
    public var binnings = 0
    /// Classifier fits.
    public var fits = 0
    /// Pairs found finished in the ledger and skipped.
    public var resumed = 0

    public init() {}

    public var json: JSONValue {
        ["tokenizations": .number(JSONNumber(tokenizations)), "vectorizations": .number(JSONNumber(vectorizations)),
         "tfidfs": .number(JSONNumber(tfidfs)), "binnings": .number(JSONNumber(binnings)), "fits": .number(JSONNumber(fits)),
         "resumed": .number(JSONNumber(resumed))]
    }
}

/// Progress of a running search.
public struct SearchProgress: Sendable {
    public var done: Int
    public var total: Int
    public var elapsed: Double
    /// Estimated seconds left (nil before the first pair finishes).
    public var eta: Double?
    /// The best mean score among candidates with every fold done, and its candidate.
    public var best: (score: Double, candidate: Int)?
}

/// Cross-validated grid search over pipeline parameters that shares work between candidates.
///
/// Sharing: each (subject weight, analysis settings) is tokenised once for the whole training set
/// (a message's tokens do not depend on the fold); each (fold, vectorizer) counted once on the
/// fold's training rows, its validation rows mapped through the same token ids; each TF-IDF
/// variant derived from those counts; each feature matrix binned once per `max_bins`; a fit per
/// pair. Pairs run in an order that keeps these stages together, on all cores, each fit on one
/// thread; a stage is freed when its last pair is done.
///
/// Determinism: every pair's result depends only on its inputs, so the results — and the ledger
/// lines, up to their order and timings — are the same on any number of threads or machines.
public final class GridSearch: @unchecked Sendable {
    public let base: PipelineSettings
    public let candidates: [Candidate]
    public let options: SearchOptions
    public let labels: [String]
    public let dropped: [StratifiedSplit.Dropped]
    /// Identifies the search (data, settings, candidates, folds, seed); a ledger belongs to one.
    public let searchID: String
    let settings: [PipelineSettings]
    let messages: [LabeledMessage]
    let y: [Int]
    let folds: [(train: [Int], validation: [Int])]

    public init(base: PipelineSettings, candidates: [Candidate], messages: [LabeledMessage], options: SearchOptions) throws(SearchError) {
        guard !candidates.isEmpty else { throw .emptyGrid }
        guard ClassificationReport.scoringNames.contains(options.scoring) else { throw .unknownScoring(options.scoring) }
        var resolved: [PipelineSettings] = []
        for c in candidates {
            do { resolved.append(try PipelineParameters.apply(c.parameters, to: base)) } catch { throw .parameters(error) }
        }
        let labels = Set(messages.compactMap(\.label)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard labels.count >= 2 else { throw .tooFewLabels(labels) }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let y = messages.map { index[$0.label ?? ""] ?? 0 }
        let split: (folds: [(train: [Int], validation: [Int])], dropped: [StratifiedSplit.Dropped])
        do { split = try StratifiedSplit.kFold(labels: y, labelNames: labels, folds: options.folds, seed: options.seed, smallClasses: options.smallClasses) } catch {
            throw .split(error)
        }
        self.base = base
        self.candidates = candidates
        self.options = options
        self.labels = labels
        self.messages = messages
        self.y = y
        folds = split.folds
        dropped = split.dropped
        settings = resolved
        var identity = JSONObject()
        identity["data"] = .string(StableHash.messages(messages))
        identity["base"] = (try? JSONValueEncoder().encode(base)) ?? .null
        identity["candidates"] = .array(candidates.map { .string($0.key) })
        identity["folds"] = .number(JSONNumber(options.folds))
        identity["seed"] = .string(String(options.seed))
        identity["small_classes"] = .string(options.smallClasses.rawValue)
        searchID = StableHash.hex(JSONWriter.bytes(.object(identity)))
    }

    /// Every (candidate, fold) pair in execution order: grouped by tokenisation, then fold,
    /// vectorizer, TF-IDF and binning, so shared stages are computed and freed together.
    public var orderedPairs: [Pair] {
        let keys = settings.map(StageKeys.init)
        var pairs: [(Pair, String)] = []
        for c in candidates.indices {
            for f in 0 ..< options.folds {
                let k = keys[c]
                pairs.append((Pair(candidate: c, fold: f), "\(k.order(fold: f))|\(String(format: "%09d", c))"))
            }
        }
        return pairs.sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// The pairs of this run's shard (contiguous in execution order; all pairs without a shard).
    public var shardPairs: [Pair] {
        let all = orderedPairs
        guard let shard = options.shard else { return all }
        let lo = shard.index * all.count / shard.count, hi = (shard.index + 1) * all.count / shard.count
        return Array(all[lo ..< hi])
    }

    /// Runs the pairs of this shard that `ledger` does not already hold, appending each result
    /// to it as it finishes, and returns the results of everything the ledger now holds.
    public func run(ledger: SearchLedger? = nil, progress: (@Sendable (SearchProgress) -> Void)? = nil) throws(SearchError) -> SearchResults {
        var previous: [PairResult] = []
        if let ledger { previous = try SearchLedger.read(ledger.path).filter { $0.search == searchID } }
        let finished = Set(previous.map(\.pair))
        let todo = shardPairs.filter { !finished.contains($0) }
        var counters = SearchCounters()
        counters.resumed = shardPairs.count - todo.count

        let state = SearchState(pairs: todo, keys: settings.map(StageKeys.init), total: shardPairs.count, already: counters.resumed,
                                foldCount: options.folds, scoring: options.scoring, previous: previous)
        let threads = Parallel.threadCount(options.threads)
        let results = Parallel.map(count: todo.count, threads: threads) { i -> PairResult in
            let pair = todo[i]
            let result = self.runPair(pair, state: state, threads: threads)
            state.finish(pair, result: result, ledger: ledger, progress: progress)
            return result
        }
        if let failure = state.ledgerFailure { throw failure }
        counters.tokenizations = state.counters.tokenizations
        counters.vectorizations = state.counters.vectorizations
        counters.tfidfs = state.counters.tfidfs
        counters.binnings = state.counters.binnings
        counters.fits = state.counters.fits
        return try SearchResults(search: searchID, candidates: candidates, folds: options.folds, scoring: options.scoring,
                                 pairs: previous + results, counters: counters, requireComplete: false)
    }

    /// Fits the candidate's pipeline on all training messages (the refit of the best).
    public func refit(_ candidate: Int, threads: Int? = nil) throws(PipelineError) -> FittedPipeline {
        try settings[candidate].fit(messages, threads: threads, stopWordDirectories: options.stopWordDirectories)
    }

    /// The resolved settings of a candidate.
    public func settings(of candidate: Int) -> PipelineSettings { settings[candidate] }

    // MARK: One pair

    private func runPair(_ pair: Pair, state: SearchState, threads: Int) -> PairResult {
        let s = settings[pair.candidate]
        let keys = StageKeys(s)
        let fold = folds[pair.fold]
        let clock = ContinuousClock()
        let start = clock.now
        func result(_ scores: [String: Double], fit: Double, score: Double, error: String?) -> PairResult {
            PairResult(search: searchID, candidate: pair.candidate, parameters: candidates[pair.candidate], fold: pair.fold,
                       scores: scores, fitSeconds: fit, scoreSeconds: score, error: error)
        }
        defer { state.release(pair, keys: keys) }
        do {
            var blockMatrices: [FoldCounts] = []
            for (b, block) in s.blocks.enumerated() {
                let corpus = try state.tokens.get(keys.tokenKey(b)) { () throws -> TokenizedCorpus in
                    state.count(\.tokenizations)
                    let analyzer = try block.vect.prepareAnalyzer(stopWordDirectories: options.stopWordDirectories)
                    let texts = messages.map { block.text(subject: $0.subject, body: $0.body, composer: s.text) }
                    return TokenizedCorpus(texts, analyzer: analyzer, threads: threads)
                }
                let counts = try state.vectors.get(keys.vectKey(b, fold: pair.fold)) { () throws -> FoldCounts in
                    state.count(\.vectorizations)
                    let (fitted, train) = try block.vect.fitTransform(corpus.subset(fold.train), threads: 1)
                    return FoldCounts(train: train, validation: fitted.transform(corpus, rows: fold.validation, threads: 1))
                }
                blockMatrices.append(try state.tfidfs.get(keys.tfidfKey(b, fold: pair.fold)) { () throws -> FoldCounts in
                    state.count(\.tfidfs)
                    let (fitted, train) = try block.tfidf.fitTransform(counts.train)
                    return FoldCounts(train: train, validation: try fitted.transform(counts.validation))
                })
            }
            let features = try state.features.get(keys.featuresKey(fold: pair.fold)) { () throws -> FoldCounts in
                if blockMatrices.count == 1 && keys.weights[0] == 1 { return blockMatrices[0] }
                return FoldCounts(train: try SparseMatrix.horizontalStack(blockMatrices.map(\.train), weights: keys.weights),
                                  validation: try SparseMatrix.horizontalStack(blockMatrices.map(\.validation), weights: keys.weights))
            }
            let yTrain = fold.train.map { y[$0] }, yValid = fold.validation.map { y[$0] }
            let p: [[Double]]
            let fitted: ContinuousClock.Instant
            switch s.clf {
            case let .gradientBoosting(clf):
                let binned = try state.bins.get(keys.binKey(fold: pair.fold) ?? "") { () -> BinnedMatrix in
                    state.count(\.binnings)
                    return BinMapper(fitting: features.train, maxBins: clf.maxBins).transform(features.train)
                }
                state.count(\.fits)
                let model = try clf.fit(binned: binned, features: features.train, labels: yTrain, classNames: labels, threads: 1)
                fitted = clock.now
                p = try model.predictProbabilities(features.validation, threads: 1)
            case .logisticRegression, .linearSVC, .multinomialNB, .complementNB, .voting:
                state.count(\.fits)
                let model = try s.clf.fit(features.train, labels: yTrain, classNames: labels, threads: 1)
                fitted = clock.now
                p = try model.predictProbabilities(features.validation, threads: 1)
            }
            let predicted = p.map { row in row.indices.max { row[$0] != row[$1] ? row[$0] < row[$1] : $0 > $1 } ?? 0 }
            let report = ClassificationReport(labels: labels, truth: yValid, predicted: predicted, probabilities: p)
            let end = clock.now
            return result(report.scores, fit: (fitted - start).seconds, score: (end - fitted).seconds, error: nil)
        } catch {
            return result([:], fit: (clock.now - start).seconds, score: 0, error: "\(error)")
        }
    }
}


/// Train and validation matrices of one fold.
struct FoldCounts: Sendable {
    var train: SparseMatrix
    var validation: SparseMatrix
}

/// The cache keys of a candidate's stages (strings of canonical JSON: stable and orderable), one
/// token, vectorizer and TF-IDF key per feature block.
struct StageKeys: Sendable {
    let tokens: [String]
    let vects: [String]
    let tfidfs: [String]
    let weights: [Double]
    /// `b=<max_bins>` for trees (whose features are binned), nil for linear models.
    let bins: String?

    init(_ s: PipelineSettings) {
        func json<T: Encodable>(_ value: T) -> String { (try? JSONValueEncoder().encode(value)).map { JSONWriter.string($0) } ?? "?" }
        let blocks = s.blocks
        tokens = blocks.map { block in
            var analysisOnly = CountVectorizer()
            analysisOnly.analysis = block.vect.analysis
            let source = block.source == .message ? "w=\(s.text.subjectWeight)" : block.source.rawValue
            return "\(source);\(json(analysisOnly))"
        }
        vects = blocks.map { json($0.vect) }
        tfidfs = blocks.map { json($0.tfidf) }
        weights = blocks.map(\.weight)
        switch s.clf {
        case let .gradientBoosting(clf): bins = "b=\(clf.maxBins)"
        case .logisticRegression, .linearSVC, .multinomialNB, .complementNB, .voting: bins = nil
        }
    }

    func tokenKey(_ b: Int) -> String { tokens[b] }
    func vectKey(_ b: Int, fold: Int) -> String { "\(tokens[b])|\(fold)|\(vects[b])" }
    func tfidfKey(_ b: Int, fold: Int) -> String { "\(vectKey(b, fold: fold))|\(tfidfs[b])" }
    func featuresKey(fold: Int) -> String {
        tokens.count == 1 && weights[0] == 1 ? tfidfKey(0, fold: fold)
            : tokens.indices.map { "[\(tfidfKey($0, fold: fold))]×\(weights[$0])" }.joined(separator: "+")
    }
    func binKey(fold: Int) -> String? { bins.map { "\(featuresKey(fold: fold))|\($0)" } }
    /// Sorting pairs by this keeps shared stages together.
    func order(fold: Int) -> String { "\(tokens.joined(separator: "+"))|\(fold)|\(featuresKey(fold: fold))|\(bins ?? "")" }
}

/// Shared state of a running search: the stage caches (computed once, freed after their last
/// pair), counters, progress, and the ledger.
final class SearchState: @unchecked Sendable {
    let tokens: StageCache<TokenizedCorpus>
    let vectors: StageCache<FoldCounts>
    let tfidfs: StageCache<FoldCounts>
    let features: StageCache<FoldCounts>
    let bins: StageCache<BinnedMatrix>
    private let lock = NSLock()
    private(set) var counters = SearchCounters()
    private(set) var ledgerFailure: SearchError?
    private var done: Int
    private let total: Int
    private let started = ContinuousClock.now
    private var finishedThisRun = 0
    private let foldCount: Int
    private let scoring: String
    private var scoresByCandidate: [Int: [Int: Double]] = [:]
    private var best: (score: Double, candidate: Int)?

    init(pairs: [Pair], keys: [StageKeys], total: Int, already: Int, foldCount: Int, scoring: String, previous: [PairResult]) {
        func uses(_ key: (Pair) -> [String]) -> [String: Int] {
            var counts: [String: Int] = [:]
            for p in pairs { for k in key(p) { counts[k, default: 0] += 1 } }
            return counts
        }
        tokens = StageCache(uses: uses { p in keys[p.candidate].tokens.indices.map { keys[p.candidate].tokenKey($0) } })
        vectors = StageCache(uses: uses { p in keys[p.candidate].tokens.indices.map { keys[p.candidate].vectKey($0, fold: p.fold) } })
        tfidfs = StageCache(uses: uses { p in keys[p.candidate].tokens.indices.map { keys[p.candidate].tfidfKey($0, fold: p.fold) } })
        features = StageCache(uses: uses { [keys[$0.candidate].featuresKey(fold: $0.fold)] })
        bins = StageCache(uses: uses { keys[$0.candidate].binKey(fold: $0.fold).map { [$0] } ?? [] })
        done = already
        self.total = total
        self.foldCount = foldCount
        self.scoring = scoring
        for r in previous where r.error == nil { if let v = r.scores[scoring] { scoresByCandidate[r.candidate, default: [:]][r.fold] = v } }
    }

    func count(_ counter: WritableKeyPath<SearchCounters, Int>) {
        lock.lock()
        counters[keyPath: counter] += 1
        lock.unlock()
    }

    func release(_ pair: Pair, keys: StageKeys) {
        for b in keys.tokens.indices {
            tokens.release(keys.tokenKey(b))
            vectors.release(keys.vectKey(b, fold: pair.fold))
            tfidfs.release(keys.tfidfKey(b, fold: pair.fold))
        }
        features.release(keys.featuresKey(fold: pair.fold))
        if let bin = keys.binKey(fold: pair.fold) { bins.release(bin) }
    }

    func finish(_ pair: Pair, result: PairResult, ledger: SearchLedger?, progress: (@Sendable (SearchProgress) -> Void)?) {
        if let ledger {
            do { try ledger.append(result) } catch {
                lock.lock()
                ledgerFailure = error
                lock.unlock()
            }
        }
        lock.lock()
        done += 1
        finishedThisRun += 1
        if result.error == nil, let v = result.scores[scoring] {
            scoresByCandidate[pair.candidate, default: [:]][pair.fold] = v
            if let folds = scoresByCandidate[pair.candidate], folds.count == foldCount {
                let mean = folds.values.reduce(0, +) / Double(foldCount)
                if best.map({ mean > $0.score || (mean == $0.score && pair.candidate < $0.candidate) }) ?? true {
                    best = (mean, pair.candidate)
                }
            }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let eta = finishedThisRun > 0 ? elapsed / Double(finishedThisRun) * Double(total - done) : nil
        let snapshot = SearchProgress(done: done, total: total, elapsed: elapsed, eta: eta, best: best)
        lock.unlock()
        progress?(snapshot)
    }
}

/// A cache whose values are computed once — concurrent askers wait for the first — and freed
/// when the last of the expected uses is released.
final class StageCache<Value: Sendable>: @unchecked Sendable {
    private enum State {
        case computing
        case ready(Value)
        case failed(String)
    }

    private let condition = NSCondition()
    private var states: [String: State] = [:]
    private var remaining: [String: Int]

    init(uses: [String: Int]) { remaining = uses }

    struct Failure: Error, CustomStringConvertible { let description: String }

    func get(_ key: String, compute: () throws -> Value) throws -> Value {
        condition.lock()
        while true {
            switch states[key] {
            case let .ready(value)?:
                condition.unlock()
                return value
            case let .failed(message)?:
                condition.unlock()
                throw Failure(description: message)
            case .computing?:
                condition.wait()
            case nil:
                states[key] = .computing
                condition.unlock()
                let outcome: State
                do { outcome = .ready(try compute()) } catch { outcome = .failed("\(error)") }
                condition.lock()
                states[key] = outcome
                condition.broadcast()
                condition.unlock()
                switch outcome {
                case let .ready(value): return value
                case let .failed(message): throw Failure(description: message)
                case .computing: throw Failure(description: "internal: stage still computing")
                }
            }
        }
    }

    func release(_ key: String) {
        condition.lock()
        let left = (remaining[key] ?? 1) - 1
        remaining[key] = left
        if left <= 0 { states[key] = nil }
        condition.unlock()
    }
}

/// Stable, platform-independent hashes for identities (not security): FNV-1a 64-bit, two passes
/// with different offsets for 128 bits, in hex.
enum StableHash {
    static func hex(_ bytes: [UInt8]) -> String {
        func fnv(_ offset: UInt64) -> UInt64 {
            var h = offset
            for b in bytes {
                h ^= UInt64(b)
                h &*= 0x100_0000_01B3
            }
            return h
        }
        return String(format: "%016llx%016llx", fnv(0xCBF2_9CE4_8422_2325), fnv(0x8422_2325_CBF2_9CE4))
    }

    static func messages(_ messages: [LabeledMessage]) -> String {
        var bytes: [UInt8] = []
        for m in messages {
            bytes += JSONWriter.bytes([.string(m.id), .string(m.subject), .string(m.body), m.label.map { .string($0) } ?? .null])
            bytes.append(0x0A)
        }
        return hex(bytes)
    }
}
