import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageData
import TriageModel

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cross-validated grid or random search over pipeline parameters.",
        discussion: Help.prose("""
            Examples:
              echo '{"union.char.ngram_range": [[1, 4], [1, 5]]}' > grid.json
              triage search --grid grid.json --data corpora/demo/train.csv --cv 3 \\
                  --ledger l.jsonl --results cv.csv
              # one machine of 2 each (0-based), then the merge once both are done:
              triage search --grid grid.json --data corpora/demo/train.csv --shard 0/2 \\
                  --ledger shard-0.jsonl
              triage search --grid grid.json --data corpora/demo/train.csv --shard 1/2 \\
                  --ledger shard-1.jsonl
              triage search merge shard-*.jsonl --results cv.csv

            grid.json is scikit-learn's param_grid with Triage's step names, e.g.
              {"text.subject_weight": [1, 2], "vect.ngram_range": [[1, 1], [1, 2]]}
            or a list of such objects. Stages are shared between candidates (messages are tokenised
            once per analyzer setting, counted once per fold and vectorizer, binned once per feature
            matrix), so a grid costs little more than its fits. With --ledger every finished
            (candidate, fold) is appended durably: re-running the same command resumes. Results do
            not depend on --threads or on how the work was sharded.
            """),
        subcommands: [SearchRun.self, SearchMerge.self],
        defaultSubcommand: SearchRun.self
    )
}

/// What defines a search: the data, the base settings, the grid and the folds. `merge` takes the
/// same options to refit.
struct SearchDefinition: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The grid: JSON object of parameter lists, or a list of them.", valueName: "file"))
    var grid: String?

    @Option(name: .customLong("n-iter"), help: ArgumentHelp("Random search: evaluate this many candidates drawn from the grid (seeded).", valueName: "n"))
    var nIter: Int?

    @Option(name: .long, help: ArgumentHelp("Folds of stratified K-fold cross-validation.", valueName: "k"))
    var cv: Int = 3

    @Option(name: .long, help: ArgumentHelp("Seed of the folds and of random search.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Metric that ranks candidates: accuracy, balanced_accuracy, f1_macro, f1_weighted, neg_log_loss.", valueName: "name"))
    var scoring: String = "accuracy"

    @Option(name: .customLong("small-classes"), help: ArgumentHelp("A class with fewer messages than folds: 'error' or 'drop' (reported).", valueName: "policy"))
    var smallClasses: SmallClassPolicy = .error

    func validate() throws {
        if cv < 2 { throw ValidationError("--cv must be at least 2") }
        if let nIter, nIter < 1 { throw ValidationError("--n-iter must be at least 1") }
        if !ClassificationReport.scoringNames.contains(scoring) {
            throw ValidationError("--scoring \(scoring): use one of \(ClassificationReport.scoringNames.joined(separator: ", "))")
        }
    }

    func candidates() throws -> [Candidate] {
        guard let grid else { throw CLIFailure(message: "missing --grid FILE", code: 2) }
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: grid))) } catch {
            throw CLIFailure(message: "\(grid): cannot read: \((error as NSError).localizedDescription)")
        }
        let parsed: ParameterGrid
        do { parsed = try ParameterGrid(json: JSONParser.parse(bytes)) } catch { throw CLIFailure(message: "\(grid): \(error)") }
        return nIter.map { parsed.sample($0, seed: seed) } ?? parsed.candidates
    }

    func options(runtime: RuntimeOptions, pipeline: PipelineOptions, shard: Shard?) -> SearchOptions {
        var o = SearchOptions()
        o.folds = cv
        o.scoring = scoring
        o.seed = seed
        o.smallClasses = smallClasses
        o.threads = runtime.threads
        o.shard = shard
        o.stopWordDirectories = pipeline.stopWordDirectories
        return o
    }
}

/// Where results and the refitted model go.
struct SearchOutputs: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Write cv_results here: .csv or .json ('-' prints JSON).", valueName: "file"))
    var results: String?

    @Flag(name: .long, help: "Refit the best candidate on all the data and write a signed model (needs --key and --out).")
    var refit = false

    @Option(name: .long, help: ArgumentHelp("Private key to sign the refitted model.", valueName: "file"))
    var key: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the refitted model.", valueName: "file"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Candidates to list in the summary.", valueName: "n"))
    var show: Int = 10

    func validate() throws {
        if refit && (key == nil || out == nil) { throw ValidationError("--refit needs --key FILE and --out FILE") }
        if !refit && (key != nil || out != nil) { throw ValidationError("--key and --out are for --refit") }
    }

    func write(_ results: SearchResults) throws {
        guard let path = results_ else { return }
        let table = results.table
        let text = path.lowercased().hasSuffix(".csv") ? CSVWriter.document(header: table.header, rows: table.rows) : Output.json(results.json)
        try Output.write(text, to: path)
        if path != "-" { Console.info("cv_results written to \(path)") }
    }

    private var results_: String? { results }

    /// The top candidates as a table on stdout.
    func summary(_ results: SearchResults) -> String {
        var lines: [String] = []
        let ranked = results.candidates.filter { $0.rank != nil }.sorted { ($0.rank ?? 0, $0.index) < ($1.rank ?? 0, $1.index) }
        let shown = Array(ranked.prefix(show))
        let decimals = SearchResults.distinguishingDecimals(shown.map { $0.meanScores[results.scoring] ?? .nan })
        let width = decimals + 3
        func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        lines.append("rank  \(pad("mean"))  \(pad("std"))   fit s  candidate (ranked by mean \(results.scoring))")
        for r in shown {
            let mean = r.meanScores[results.scoring] ?? .nan, std = r.stdScores[results.scoring] ?? .nan
            lines.append(String(format: "%4d  %\(width).\(decimals)f  %\(width).\(decimals)f  %6.2f  ", r.rank ?? 0, mean, std, r.meanFitSeconds) + r.candidate.key)
        }
        if ranked.count > show { lines.append("… \(ranked.count - show) more ranked (see --results)") }
        let failures = results.failures
        if !failures.isEmpty {
            lines.append("")
            lines.append("\(failures.count) candidate(s) failed (not ranked):")
            for f in failures.prefix(show) { lines.append("  \(f.candidate.key): \(f.errors.first ?? "")") }
        }
        let incomplete = results.candidates.filter { !$0.complete && !$0.failed }.count
        if incomplete > 0 { lines.append("\(incomplete) candidate(s) incomplete (other shards, or not run yet): not ranked") }
        return lines.joined(separator: "\n") + "\n"
    }
}

struct SearchRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a search (the default: `triage search …` is `triage search run …`)."
    )

    @OptionGroup var definition: SearchDefinition
    @OptionGroup var data: DataOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var outputs: SearchOutputs
    @OptionGroup var runtime: RuntimeOptions

    @Option(name: .long, help: ArgumentHelp("Append each finished (candidate, fold) to this JSONL file, and skip those already in it.", valueName: "file"))
    var ledger: String?

    @Option(name: .long, help: ArgumentHelp("Run part i of n (0-based) of the pairs, for batch schedulers; merge the ledgers afterwards.", valueName: "i/n"))
    var shard: String?

    @Flag(name: .long, help: "Print results as JSON on stdout.")
    var json = false

    func validate() throws {
        if definition.grid == nil { throw ValidationError("missing --grid FILE") }
        if !data.isGiven { throw ValidationError("missing --data FILE (or --db FILE --sql QUERY)") }
        if let shard {
            do { _ = try Shard(parsing: shard) } catch { throw ValidationError("--shard: \(error)") }
            if ledger == nil { throw ValidationError("--shard needs --ledger FILE: a shard's results are merged from its ledger") }
            if outputs.refit { throw ValidationError("--refit needs every shard: refit after `triage search merge`") }
        }
    }

    func run() throws {
        runtime.apply()
        let shard = try self.shard.map { s throws -> Shard in try Shard(parsing: s) }
        let candidates = try definition.candidates()
        let base = try pipeline.settings(signingKey: outputs.key)
        let batch = try data.load()
        let search: GridSearch
        do {
            search = try GridSearch(base: base, candidates: candidates, messages: batch.messages,
                                    options: definition.options(runtime: runtime, pipeline: pipeline, shard: shard))
        } catch { throw CLIFailure(message: "\(error)") }
        for d in search.dropped { Console.warning("class \"\(d.label)\" has \(d.rows.count) message(s), fewer than --cv \(definition.cv): dropped (--small-classes drop)") }
        let pairs = search.shardPairs.count
        Console.info("search \(search.searchID.prefix(12)): \(candidates.count) candidates × \(definition.cv) folds = \(candidates.count * definition.cv) fits"
            + (shard.map { ", shard \($0): \(pairs) of them" } ?? "") + " on \(batch.messages.count) messages")
        let progress = ProgressReporter(label: "search")
        let scoring = definition.scoring
        let clock = ContinuousClock()
        let start = clock.now
        let results: SearchResults
        do {
            results = try search.run(ledger: ledger.map(SearchLedger.init(path:))) { p in
                let best = p.best.map { "best \(scoring) " + String(format: "%.4f (#%d)", $0.score, $0.candidate) } ?? ""
                progress.update(done: p.done, total: p.total, eta: p.eta, detail: best)
            }
        } catch {
            progress.finish()
            throw CLIFailure(message: "\(error)")
        }
        progress.finish()
        let seconds = (clock.now - start).seconds
        let c = results.counters
        let perMinute = seconds > 0 ? Double(c.fits) / seconds * 60 : 0
        Console.info("done in \(seconds.humanDuration): \(c.fits) fits (" + String(format: "%.1f", perMinute) + " per minute), \(c.resumed) resumed from the ledger; "
            + "\(c.tokenizations) tokenisation passes, \(c.vectorizations) vectorisations, \(c.tfidfs) TF-IDF weightings, \(c.binnings) binnings")
        try outputs.write(results)
        if json { print(Output.json(results.json), terminator: "") } else { print(outputs.summary(results), terminator: "") }
        if outputs.refit { try Refit.best(results, search: search, outputs: outputs, runtime: runtime, messages: batch.messages) }
    }
}

struct SearchMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the ledgers of a sharded search into its results.",
        discussion: Help.prose("""
            Example:
              triage search merge shard-0.jsonl shard-1.jsonl --results cv.csv
              triage search merge shard-*.jsonl --grid grid.json --data \\
                  corpora/demo/train.csv --refit --key keys/private.pem --out \\
                  best.triage

            The ledgers must belong to one search, and together hold every (candidate, fold): the
            result is then exactly the single-machine one. To refit the best candidate, pass the
            search's --grid, --data and settings again; they are checked against the ledgers.
            """)
    )

    @Argument(help: ArgumentHelp("Ledger files written by the shards.", valueName: "ledger"))
    var ledgers: [String]

    @OptionGroup var definition: SearchDefinition
    @OptionGroup var data: DataOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var outputs: SearchOutputs
    @OptionGroup var runtime: RuntimeOptions

    @Flag(name: .long, help: "Print results as JSON on stdout.")
    var json = false

    @Flag(name: .customLong("allow-incomplete"), help: "Report what the ledgers hold even if pairs are missing (missing candidates are not ranked).")
    var allowIncomplete = false

    func validate() throws {
        if ledgers.isEmpty { throw ValidationError("give the ledger files to merge") }
        if outputs.refit && (definition.grid == nil || !data.isGiven) {
            throw ValidationError("--refit needs the search's --grid and --data (and its --config/--set, --cv, --seed)")
        }
    }

    func run() throws {
        runtime.apply()
        for path in ledgers where !FileManager.default.fileExists(atPath: path) {
            throw CLIFailure(message: "\(path): no such ledger file")
        }
        let merged: [PairResult]
        do { merged = try SearchResults.merge(ledgers: ledgers) } catch { throw CLIFailure(message: "\(error)") }
        guard let first = merged.first else { throw CLIFailure(message: "the ledgers hold no results") }
        let folds = (merged.map(\.fold).max() ?? 0) + 1
        let candidates = SearchResults.candidates(in: merged)
        let results: SearchResults
        do {
            results = try SearchResults(search: first.search, candidates: candidates, folds: folds, scoring: definition.scoring,
                                        pairs: merged, counters: SearchCounters(), requireComplete: !allowIncomplete)
        } catch { throw CLIFailure(message: "\(error)") }
        Console.info("merged \(ledgers.count) ledger(s): \(merged.count) results, \(candidates.count) candidates × \(folds) folds")
        try outputs.write(results)
        if json { print(Output.json(results.json), terminator: "") } else { print(outputs.summary(results), terminator: "") }
        if outputs.refit {
            let batch = try data.load()
            let search: GridSearch
            do {
                search = try GridSearch(base: try pipeline.settings(signingKey: outputs.key), candidates: try definition.candidates(), messages: batch.messages,
                                        options: definition.options(runtime: runtime, pipeline: pipeline, shard: nil))
            } catch { throw CLIFailure(message: "\(error)") }
            guard search.searchID == first.search else {
                throw CLIFailure(message: "the ledgers belong to search \(first.search.prefix(12)), but --grid/--data/--config/--cv/--seed describe search \(search.searchID.prefix(12)); pass the search's own options")
            }
            try Refit.best(results, search: search, outputs: outputs, runtime: runtime, messages: batch.messages)
        }
    }
}

enum Refit {
    static func best(_ results: SearchResults, search: GridSearch, outputs: SearchOutputs, runtime: RuntimeOptions,
                     messages: [LabeledMessage]) throws {
        guard let best = results.best, let keyPath = outputs.key, let out = outputs.out else {
            throw CLIFailure(message: "no candidate was ranked: nothing to refit")
        }
        let key: SigningKey
        do { key = try SigningKey(path: keyPath) } catch { throw CLIFailure(message: "\(keyPath): \(error)") }
        Console.info("refitting candidate \(best.index) \(best.candidate.key) on all \(messages.count) messages")
        var fitted: FittedPipeline
        do { fitted = try search.refit(best.index, threads: runtime.threads) } catch { throw CLIFailure(message: "refit failed: \(error)") }
        // Calibrated like `triage train`'s default: out-of-fold predictions on the search's folds,
        // a temperature, and the hand-set threshold 0.5 on the calibrated probabilities.
        var policy = ConfidencePolicy.manual(0.5)
        do {
            let oof = try search.outOfFold(best.index, weights: ModelArtifact.defaultWeights, threads: runtime.threads)
            if !oof.rows.isEmpty { policy = try ConfidencePolicy.choose(oof, labels: search.labels, goal: .manual(0.5)) }
        } catch {
            Console.warning("no out-of-fold predictions for the calibration (\(error)): the refitted model is not calibrated")
        }
        do { fitted = try fitted.withPolicy(policy) } catch { throw CLIFailure(message: "\(error)") }
        Console.info("confidence policy: \(policy.summary)")
        var metrics: [String: Double] = [:]
        for (k, v) in best.meanScores { metrics["cv_" + k] = v }
        let provenance = Provenance(pipeline: fitted, messages: messages, metrics: metrics,
                                    notes: ["search": search.searchID, "candidate": best.candidate.key, "cv_folds": String(search.options.folds)])
        do { try ModelArtifact.save(fitted, to: out, provenance: provenance, signingKey: key) } catch { throw CLIFailure(message: "\(error)") }
        Console.info("model written to \(out)")
    }
}
