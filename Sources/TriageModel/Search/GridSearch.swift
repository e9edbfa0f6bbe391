import Foundation
import TriageCore
import TriageLinear

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
/// Every (candidate, fold) pair is one `PipelineFit` on the fold's rows, with one `StageCache`
/// for the run: each (subject weighting, analysis) is tokenised once for the whole training set
/// (a message's tokens do not depend on the fold); each (fold, vectorizer) counted once, its
/// validation rows mapped through the same token ids; each TF-IDF variant derived from those
/// counts; each feature matrix prepared (trees: binned) once per preparation setting; a
/// classifier fit per pair. Pairs run in an order that keeps shared stages together, on all
/// cores, each fit on one thread; a stage is freed after its last pair.
///
/// Determinism: every pair's result depends only on its inputs, so the results — and the ledger
/// lines, up to their order and timings — are the same on any number of threads or machines.
public final class GridSearch: Sendable {
    public let base: PipelineSettings
    public let candidates: [Candidate]
    public let options: SearchOptions
    public let labels: [String]
    public let dropped: [StratifiedSplit.Dropped]
    /// Identifies the search (data, settings, candidates, folds, seed): SHA-256 of their
    /// canonical JSON (`StableHash`); a ledger belongs to one.
    public let searchID: String
    let settings: [PipelineSettings]
    let fit: PipelineFit
    let folds: [FitRows]

    public init(base: PipelineSettings, candidates: [Candidate], messages: [LabeledMessage], options: SearchOptions) throws(SearchError) {
        guard !candidates.isEmpty else { throw .emptyGrid }
        guard ClassificationReport.scoringNames.contains(options.scoring) else { throw .unknownScoring(options.scoring) }
        var resolved: [PipelineSettings] = []
        for c in candidates {
            do { resolved.append(try PipelineParameters.apply(c.parameters, to: base)) } catch { throw .parameters(error) }
        }
        let fit: PipelineFit
        do { fit = try PipelineFit(messages: messages, stopWordDirectories: options.stopWordDirectories) } catch {
            if case let .tooFewLabels(labels) = error { throw .tooFewLabels(labels) }
            if case .noTrainingMessages = error { throw .tooFewLabels([]) }
            throw .invalidData(error)
        }
        let split: (folds: [(train: [Int], validation: [Int])], dropped: [StratifiedSplit.Dropped])
        do {
            split = try StratifiedSplit.kFold(labels: fit.y, labelNames: fit.labels.classes, folds: options.folds, seed: options.seed,
                                              smallClasses: options.smallClasses)
        } catch { throw .split(error) }
        self.base = base
        self.candidates = candidates
        self.options = options
        self.fit = fit
        labels = fit.labels.classes
        folds = split.folds.enumerated().map { FitRows(name: "fold \($0.offset)", train: $0.element.train, evaluation: $0.element.validation) }
        dropped = split.dropped
        settings = resolved
        var identity = JSONObject()
        identity["data"] = .string(fit.dataHash)
        identity["base"] = (try? JSONValueEncoder().encode(base)) ?? .null
        identity["candidates"] = .array(candidates.map { .string($0.key) })
        identity["folds"] = .number(JSONNumber(options.folds))
        identity["seed"] = .string(String(options.seed))
        identity["small_classes"] = .string(options.smallClasses.rawValue)
        searchID = StableHash.hex(JSONWriter.bytes(.object(identity)))
    }

    /// The stage keys of a pair (nil when its settings cannot be encoded: it then fails alone).
    func keys(_ pair: Pair) -> PipelineFit.StageKeys? {
        try? fit.keys(settings[pair.candidate], rows: folds[pair.fold])
    }

    /// Every (candidate, fold) pair in execution order: grouped by tokenisation, then fold,
    /// counts, features and preparation, so shared stages are computed and freed together; the
    /// groups in the grid's order (each where its first candidate is), then candidates in order.
    /// The order decides only when work happens (and how well two workers stay busy at the end),
    /// never a result.
    public var orderedPairs: [Pair] {
        var pairs: [(pair: Pair, sharing: [String])] = []
        var first: [String: Int] = [:]
        for c in candidates.indices {
            for f in folds.indices {
                let pair = Pair(candidate: c, fold: f)
                let sharing = keys(pair)?.sharing ?? []
                for key in sharing where first[key] == nil { first[key] = c }
                pairs.append((pair, sharing))
            }
        }
        func rank(_ p: (pair: Pair, sharing: [String])) -> [Int] {
            let stages = p.sharing.map { first[$0] ?? p.pair.candidate }
            return [stages.first ?? p.pair.candidate, p.pair.fold] + stages.dropFirst() + [p.pair.candidate]
        }
        return pairs.map { ($0.pair, rank($0)) }.sorted { $0.1.lexicographicallyPrecedes($1.1) }.map(\.0)
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
        let keys = todo.map(keys)
        var uses: [String: Int] = [:]
        for k in keys { for (_, key) in k?.all ?? [] { uses[key, default: 0] += 1 } }
        let cache = StageCache(uses: uses)
        let tracker = SearchTracker(total: shardPairs.count, already: shardPairs.count - todo.count, foldCount: folds.count,
                                    scoring: options.scoring, previous: previous)
        let threads = Parallel.threadCount(options.threads)
        let results = Parallel.map(count: todo.count, threads: threads) { i -> PairResult in
            let result = self.runPair(todo[i], keys: keys[i], cache: cache, threads: threads, tracker: tracker)
            tracker.finish(todo[i], result: result, ledger: ledger, progress: progress)
            return result
        }
        if let failure = tracker.ledgerFailure { throw failure }
        let counters = SearchCounters(cache: cache, fits: tracker.fits, resumed: shardPairs.count - todo.count)
        return try SearchResults(search: searchID, candidates: candidates, folds: options.folds, scoring: options.scoring,
                                 pairs: previous + results, counters: counters, requireComplete: false)
    }

    /// Fits the candidate's pipeline on all training messages (the refit of the best).
    public func refit(_ candidate: Int, threads: Int? = nil) throws(PipelineError) -> FittedPipeline {
        try fit.fit(settings[candidate], threads: threads).pipeline
    }

    /// The resolved settings of a candidate.
    public func settings(of candidate: Int) -> PipelineSettings { settings[candidate] }

    /// Out-of-fold predictions of a candidate on the search's data and folds (`PipelineFit.outOfFold`):
    /// what the refitted model's calibration and confidence policy are chosen from.
    public func outOfFold(_ candidate: Int, weights: WeightEncoding, threads: Int? = nil) throws(PipelineError) -> OutOfFold {
        try fit.outOfFold(settings[candidate], folds: options.folds, seed: options.seed, weights: weights, threads: threads)
    }

    /// One pair: the candidate's pipeline fitted on the fold's training rows (sharing stages
    /// through `cache`), scored on its validation rows.
    private func runPair(_ pair: Pair, keys: PipelineFit.StageKeys?, cache: StageCache, threads: Int, tracker: SearchTracker) -> PairResult {
        let clock = ContinuousClock()
        let start = clock.now
        func result(_ scores: [String: Double], fit: Double, score: Double, error: String?) -> PairResult {
            PairResult(search: searchID, candidate: pair.candidate, parameters: candidates[pair.candidate], fold: pair.fold,
                       scores: scores, fitSeconds: fit, scoreSeconds: score, error: error)
        }
        defer { if let keys { for (_, key) in keys.all { cache.release(key) } } }
        do {
            let fitted = try fit.fit(settings[pair.candidate], rows: folds[pair.fold], threads: 1, tokenThreads: threads, cache: cache)
            tracker.countFit()
            let fittedAt = clock.now
            let p = try fitted.pipeline.classifier.predictProbabilities(fitted.evaluationFeatures, threads: 1)
            let truth = folds[pair.fold].evaluation.map { fit.y[$0] }
            let report = ClassificationReport(labels: labels, truth: truth, predicted: p.map(Ranking.argmax), probabilities: p)
            return result(report.scores, fit: (fittedAt - start).seconds, score: (clock.now - fittedAt).seconds, error: nil)
        } catch {
            return result([:], fit: (clock.now - start).seconds, score: 0, error: "\(error)")
        }
    }
}

/// Progress, counters and the ledger of a running search (shared by its threads).
final class SearchTracker: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var ledgerFailure: SearchError?
    private(set) var fits = 0
    private var done: Int
    private let total: Int
    private let started = ContinuousClock.now
    private var finishedThisRun = 0
    private let foldCount: Int
    private let scoring: String
    private var scoresByCandidate: [Int: [Int: Double]] = [:]
    private var best: (score: Double, candidate: Int)?

    init(total: Int, already: Int, foldCount: Int, scoring: String, previous: [PairResult]) {
        done = already
        self.total = total
        self.foldCount = foldCount
        self.scoring = scoring
        for r in previous where r.error == nil { if let v = r.scores[scoring] { scoresByCandidate[r.candidate, default: [:]][r.fold] = v } }
    }

    func countFit() {
        lock.lock()
        fits += 1
        lock.unlock()
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
