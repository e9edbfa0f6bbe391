import Foundation
import TriageCore

/// One candidate's cross-validated results.
public struct CandidateResult: Sendable {
    public var index: Int
    public var candidate: Candidate
    /// Scores per fold (nil for a fold not run yet).
    public var splits: [[String: Double]?]
    public var meanScores: [String: Double]
    /// Population standard deviation over folds (scikit-learn's `std_test_*`).
    public var stdScores: [String: Double]
    public var meanFitSeconds: Double
    public var stdFitSeconds: Double
    public var meanScoreSeconds: Double
    public var stdScoreSeconds: Double
    /// 1 = best; equal scores share a rank ("min" ranking, as scikit-learn). Nil when the
    /// candidate failed or is incomplete.
    public var rank: Int?
    /// Errors of failed folds ("fold 2: after pruning, no terms remain …").
    public var errors: [String]

    /// Every fold has a successful result.
    public var complete: Bool { splits.allSatisfy { $0 != nil } }
    public var failed: Bool { !errors.isEmpty }
}

/// The results of a search: scikit-learn's `cv_results_`, best candidate, counters.
public struct SearchResults: Sendable {
    public let search: String
    public let scoring: String
    public let folds: Int
    public let candidates: [CandidateResult]
    public let counters: SearchCounters
    /// True when every (candidate, fold) pair has a result.
    public let complete: Bool

    /// The best-ranked candidate (ties: the lower index); nil when nothing is ranked yet.
    public var best: CandidateResult? {
        candidates.filter { $0.rank != nil }.min { ($0.rank ?? .max, $0.index) < ($1.rank ?? .max, $1.index) }
    }

    public var failures: [CandidateResult] { candidates.filter(\.failed) }

    /// Aggregates pair results (first result of a pair wins). With `requireComplete`, a missing
    /// pair is an error; without, incomplete candidates are reported but not ranked. Throws
    /// `allFailed` when every candidate with results failed.
    public init(search: String, candidates: [Candidate], folds: Int, scoring: String, pairs: [PairResult],
                counters: SearchCounters, requireComplete: Bool) throws(SearchError) {
        var byPair: [Pair: PairResult] = [:]
        for r in pairs where r.search == search && r.candidate < candidates.count && r.fold < folds {
            if byPair[r.pair] == nil { byPair[r.pair] = r }
        }
        var results: [CandidateResult] = []
        var missing = 0
        for (c, candidate) in candidates.enumerated() {
            var splits: [[String: Double]?] = []
            var errors: [String] = []
            var fit: [Double] = [], score: [Double] = []
            for f in 0 ..< folds {
                guard let r = byPair[Pair(candidate: c, fold: f)] else {
                    splits.append(nil)
                    missing += 1
                    continue
                }
                if let e = r.error { errors.append("fold \(f): \(e)") }
                splits.append(r.error == nil ? r.scores : nil)
                fit.append(r.fitSeconds)
                score.append(r.scoreSeconds)
            }
            var mean: [String: Double] = [:], std: [String: Double] = [:]
            let done = splits.compactMap { $0 }
            if done.count == folds {
                for name in done[0].keys {
                    let values = done.compactMap { $0[name] }
                    guard values.count == folds else { continue }
                    (mean[name], std[name]) = meanAndStd(values)
                }
            }
            let (mf, sf) = meanAndStd(fit), (ms, ss) = meanAndStd(score)
            results.append(CandidateResult(index: c, candidate: candidate, splits: splits, meanScores: mean, stdScores: std,
                                           meanFitSeconds: mf, stdFitSeconds: sf, meanScoreSeconds: ms, stdScoreSeconds: ss,
                                           rank: nil, errors: errors))
        }
        if requireComplete && missing > 0 { throw .incomplete(missing: missing, total: candidates.count * folds) }
        // Rank complete, successful candidates by the scoring metric (higher is better).
        let rankable = results.filter { $0.complete && !$0.failed && $0.meanScores[scoring] != nil }
        for r in rankable {
            let mine = r.meanScores[scoring] ?? -.infinity
            results[r.index].rank = 1 + rankable.filter { ($0.meanScores[scoring] ?? -.infinity) > mine }.count
        }
        let attempted = results.filter { $0.failed || $0.complete }
        if !attempted.isEmpty && attempted.allSatisfy(\.failed) {
            throw .allFailed(attempted.flatMap(\.errors))
        }
        self.search = search
        self.scoring = scoring
        self.folds = folds
        self.candidates = results
        self.counters = counters
        complete = missing == 0
    }

    /// Merges ledgers (one per shard): their lines must all belong to one search, and a pair
    /// recorded twice must have the same scores (results are deterministic).
    public static func merge(ledgers paths: [String]) throws(SearchError) -> [PairResult] {
        var all: [PairResult] = []
        for path in paths { all += try SearchLedger.read(path) }
        let searches = Set(all.map(\.search))
        guard searches.count <= 1 else {
            throw .mismatchedLedgers("the ledgers hold \(searches.count) different searches (\(searches.sorted().joined(separator: ", ")))")
        }
        var seen: [Pair: PairResult] = [:]
        var merged: [PairResult] = []
        for r in all {
            if let earlier = seen[r.pair] {
                guard earlier.scores == r.scores && earlier.error == r.error else {
                    throw .mismatchedLedgers("candidate \(r.candidate) fold \(r.fold) has two different results")
                }
                continue
            }
            seen[r.pair] = r
            merged.append(r)
        }
        return merged.sorted { $0.pair < $1.pair }
    }

    /// The candidates of a merged ledger (candidate index → parameters).
    public static func candidates(in results: [PairResult]) -> [Candidate] {
        let count = (results.map(\.candidate).max() ?? -1) + 1
        var out = [Candidate](repeating: Candidate([:]), count: count)
        for r in results { out[r.candidate] = r.parameters }
        return out
    }

    // MARK: Output

    /// `cv_results` as JSON: one object per candidate plus the best and the counters.
    public var json: JSONValue {
        func num(_ x: Double?) -> JSONValue { x.flatMap { JSONValue.double($0) } ?? .null }
        func metrics(_ m: [String: Double]) -> JSONValue {
            .object(JSONObject(m.sorted { $0.key < $1.key }.map { ($0.key, num($0.value)) }))
        }
        let rows: [JSONValue] = candidates.map { r in
            [
                "index": .number(JSONNumber(r.index)),
                "params": .object(JSONObject(r.candidate.parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
                "mean_test": metrics(r.meanScores), "std_test": metrics(r.stdScores),
                "split_test": .array(r.splits.map { $0.map(metrics) ?? .null }),
                "mean_fit_time": num(r.meanFitSeconds), "std_fit_time": num(r.stdFitSeconds),
                "mean_score_time": num(r.meanScoreSeconds), "std_score_time": num(r.stdScoreSeconds),
                "rank": r.rank.map { .number(JSONNumber($0)) } ?? .null,
                "errors": .array(r.errors.map { .string($0) }),
            ]
        }
        var o = JSONObject()
        o["search"] = .string(search)
        o["scoring"] = .string(scoring)
        o["folds"] = .number(JSONNumber(folds))
        o["complete"] = .bool(complete)
        o["candidates"] = .array(rows)
        if let best {
            o["best_index"] = .number(JSONNumber(best.index))
            o["best_params"] = .object(JSONObject(best.candidate.parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
            o["best_score"] = num(best.meanScores[scoring])
        }
        o["counters"] = counters.json
        return .object(o)
    }

    /// `cv_results` as a table (written as CSV by the CLI): rank, mean and std of the scoring
    /// metric, per-fold scores, times, one column per parameter (JSON values), and errors; rows
    /// by rank.
    public var table: (header: [String], rows: [[String]]) {
        let names = Array(Set(candidates.flatMap { $0.candidate.parameters.keys })).sorted()
        var header = ["rank_test_\(scoring)", "mean_test_\(scoring)", "std_test_\(scoring)"]
        header += (0 ..< folds).map { "split\($0)_test_\(scoring)" }
        header += ["mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"]
        header += names.map { "param_\($0)" } + ["error"]
        func number(_ x: Double?) -> String { x.map { JSONNumber($0)?.literal ?? "" } ?? "" }
        var rows: [[String]] = []
        for r in candidates.sorted(by: { ($0.rank ?? .max, $0.index) < ($1.rank ?? .max, $1.index) }) {
            var row = [r.rank.map(String.init) ?? "", number(r.meanScores[scoring]), number(r.stdScores[scoring])]
            row += r.splits.map { number($0?[scoring]) }
            row += [number(r.meanFitSeconds), number(r.stdFitSeconds), number(r.meanScoreSeconds), number(r.stdScoreSeconds)]
            row += names.map { r.candidate.parameters[$0].map { JSONWriter.string($0) } ?? "" }
            row.append(r.errors.joined(separator: "; "))
            rows.append(row)
        }
        return (header, rows)
    }
}

extension SearchResults {
    /// Decimals to print `means` with so that different means never print the same (4 at
    /// least, 17 at most): ranks follow the exact means, as scikit-learn's, and a table must
    /// not show two candidates with the same mean and different ranks.
    public static func distinguishingDecimals(_ means: [Double]) -> Int {
        let distinct = Set(means.filter(\.isFinite)).count
        for decimals in 4 ..< 17 where Set(means.filter(\.isFinite).map { String(format: "%.\(decimals)f", $0) }).count == distinct {
            return decimals
        }
        return 17
    }
}

/// Mean and population standard deviation (ddof 0, as numpy's default).
func meanAndStd(_ values: [Double]) -> (Double, Double) {
    guard !values.isEmpty else { return (0, 0) }
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
    return (mean, variance.squareRoot())
}
