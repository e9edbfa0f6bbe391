import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageModel

@Suite("Grid search")
struct GridSearchTests {
    static func grid(_ json: String) throws -> [Candidate] { try ParameterGrid(json: JSONParser.parse(json)).candidates }

    /// 2 subject weights × 2 min_df × 2 learning rates = 8 candidates, 3 folds.
    static let gridJSON = #"{"text.subject_weight": [1, 2], "vect.min_df": [1, 2], "clf.learning_rate": [0.1, 0.5]}"#

    static func search(_ candidates: [Candidate], threads: Int = 2, shard: Shard? = nil, scoring: String = "accuracy") throws -> GridSearch {
        var options = SearchOptions()
        options.folds = 3
        options.seed = 5
        options.threads = threads
        options.shard = shard
        options.scoring = scoring
        options.stopWordDirectories = Demo.stopwords
        return try GridSearch(base: Demo.settings(rounds: 8), candidates: candidates, messages: Demo.messages("train"), options: options)
    }

    static func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triage-search-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    /// Scores per (candidate, fold), the part of a result that must be reproducible.
    static func scores(_ r: SearchResults) -> [[[String: Double]?]] { r.candidates.map(\.splits) }

    @Test func sharesEveryStageAcrossCandidates() throws {
        let results = try Self.search(Self.grid(Self.gridJSON)).run()
        let c = results.counters
        // Tokenised once per subject weight (the analyzer is shared), not per fold or candidate.
        #expect(c.tokenizations == 2)
        // Counted once per (weight, fold, min_df); learning rates share the features and bins.
        #expect(c.vectorizations == 12 && c.tfidfs == 12 && c.binnings == 12)
        #expect(c.fits == 24 && c.resumed == 0)
        #expect(results.complete && results.candidates.count == 8)
        #expect(results.candidates.allSatisfy { $0.rank != nil && $0.splits.count == 3 })
        let best = try #require(results.best)
        #expect(best.rank == 1 && (best.meanScores["accuracy"] ?? 0) > 0.5)
        #expect(results.candidates.allSatisfy { ($0.meanScores["accuracy"] ?? 1) <= (best.meanScores["accuracy"] ?? 0) })
    }

    @Test func matchesAFreshPipelineFitPerFold() throws {
        // The shared stages give the same score as fitting the whole pipeline on the fold.
        let candidates = try Self.grid(#"{"vect.min_df": [2]}"#)
        let search = try Self.search(candidates)
        let results = try search.run()
        let messages = try Demo.messages("train")
        let fold = search.folds[1]
        let pipeline = try search.settings(of: 0).fit((fold.train ?? []).map { messages[$0] }, threads: 1, stopWordDirectories: Demo.stopwords)
        let validation = fold.evaluation.map { messages[$0] }
        let predicted = pipeline.predict(validation.map { Message(id: $0.id, subject: $0.subject, body: $0.body) })
        let accuracy = Double(zip(predicted, validation).filter { $0.label == $1.label }.count) / Double(validation.count)
        let shared = try #require(results.candidates[0].splits[1]?["accuracy"])
        #expect(abs(shared - accuracy) < 1e-12, "shared \(shared) vs fresh \(accuracy)")
    }

    @Test func resultsDoNotDependOnThreads() throws {
        let candidates = try Self.grid(Self.gridJSON)
        let one = try Self.search(candidates, threads: 1).run()
        let two = try Self.search(candidates, threads: 2).run()
        let four = try Self.search(candidates, threads: 4).run()
        #expect(Self.scores(one) == Self.scores(two) && Self.scores(two) == Self.scores(four))
        #expect(one.best?.index == four.best?.index)
    }

    @Test func resumesFromTheLedgerAfterACrash() throws {
        let candidates = try Self.grid(Self.gridJSON)
        let path = Self.temporaryPath("ledger.jsonl")
        let full = try Self.search(candidates).run(ledger: SearchLedger(path: path))
        // Rerun: everything is already done.
        let again = try Self.search(candidates).run(ledger: SearchLedger(path: path))
        #expect(again.counters.resumed == 24 && again.counters.fits == 0 && again.counters.tokenizations == 0)
        #expect(Self.scores(again) == Self.scores(full))
        // A crash mid-write: keep 10 whole lines and half of the 11th.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let newlines = bytes.indices.filter { bytes[$0] == 0x0A }
        let torn = bytes.prefix(newlines[9] + 1) + bytes[(newlines[9] + 1) ..< (newlines[10] - 20)]
        try torn.write(to: URL(fileURLWithPath: path))
        let resumed = try Self.search(candidates).run(ledger: SearchLedger(path: path))
        #expect(resumed.counters.resumed == 10 && resumed.counters.fits == 14)
        #expect(Self.scores(resumed) == Self.scores(full))
        // The ledger is whole again: every pair once, each line valid.
        #expect(try SearchLedger.read(path).count == 24)
    }

    @Test func shardsMergeToTheUnshardedResult() throws {
        let candidates = try Self.grid(Self.gridJSON)
        let full = try Self.search(candidates).run()
        var paths: [String] = []
        var pairs = 0
        for i in 0 ..< 3 {
            let path = Self.temporaryPath("shard-\(i).jsonl")
            let search = try Self.search(candidates, threads: 1, shard: Shard(index: i, count: 3))
            pairs += search.shardPairs.count
            let partial = try search.run(ledger: SearchLedger(path: path))
            #expect(!partial.complete)
            paths.append(path)
        }
        #expect(pairs == 24)
        let merged = try SearchResults.merge(ledgers: paths)
        #expect(merged.count == 24)
        let results = try SearchResults(search: full.search, candidates: SearchResults.candidates(in: merged), folds: 3,
                                        scoring: "accuracy", pairs: merged, counters: SearchCounters(), requireComplete: true)
        #expect(Self.scores(results) == Self.scores(full) && results.best?.index == full.best?.index)
        // Missing a shard: refused with a count.
        let two = try SearchResults.merge(ledgers: Array(paths.prefix(2)))
        #expect(throws: SearchError.self) {
            try SearchResults(search: full.search, candidates: candidates, folds: 3, scoring: "accuracy",
                              pairs: two, counters: SearchCounters(), requireComplete: true)
        }
    }

    @Test func ledgersOfDifferentSearchesDoNotMerge() throws {
        let a = Self.temporaryPath("a.jsonl"), b = Self.temporaryPath("b.jsonl")
        _ = try Self.search(Self.grid(#"{"vect.min_df": [1]}"#), shard: Shard(index: 0, count: 3)).run(ledger: SearchLedger(path: a))
        _ = try Self.search(Self.grid(#"{"vect.min_df": [2]}"#), shard: Shard(index: 0, count: 3)).run(ledger: SearchLedger(path: b))
        #expect { try SearchResults.merge(ledgers: [a, b]) } throws: { "\($0)".contains("different searches") }
        // A corrupt line in the middle is an error naming the line, not silently skipped.
        try Data("{\"search\": 1}\n".utf8).write(to: URL(fileURLWithPath: b))
        #expect { try SearchLedger.read(b) } throws: { "\($0)".contains("line 1") }
    }

    @Test func aLedgerOfTheOldHashIsRefusedNotMixed() throws {
        // A line as Triage wrote it before search ids were SHA-256: a 32-digit FNV-1a id and no
        // "hash" member. Resuming or merging must say so rather than redo or double its pairs.
        let path = Self.temporaryPath("old.jsonl")
        let old = #"{"candidate":0,"error":null,"fit_seconds":0.5,"fold":0,"parameters":{"vect.min_df":1},"score_seconds":0.1,"#
            + #""scores":{"accuracy":0.75},"search":"0123456789abcdef0123456789abcdef"}"# + "\n"
        try Data(old.utf8).write(to: URL(fileURLWithPath: path))
        let search = try Self.search(Self.grid(#"{"vect.min_df": [1]}"#))
        #expect { try search.run(ledger: SearchLedger(path: path)) } throws: { "\($0)".contains("FNV-1a") && "\($0)".contains("line 1") }
        #expect { try SearchResults.merge(ledgers: [path]) } throws: { "\($0)".contains("FNV-1a") }
        #expect(search.searchID.count == 64)
        // What this Triage writes names its hash.
        let fresh = Self.temporaryPath("new.jsonl")
        _ = try Self.search(Self.grid(#"{"vect.min_df": [1]}"#), shard: Shard(index: 0, count: 3)).run(ledger: SearchLedger(path: fresh))
        let line = try #require(String(decoding: Data(contentsOf: URL(fileURLWithPath: fresh)), as: UTF8.self).split(separator: "\n").first)
        #expect(line.contains(#""hash":"sha256""#))
    }

    @Test func messagesWithoutALabelAreRefused() throws {
        var messages = try Demo.messages("train")
        messages[7].label = nil
        #expect {
            try GridSearch(base: Demo.settings(rounds: 2), candidates: Self.grid(#"{"vect.min_df": [1]}"#), messages: messages, options: SearchOptions())
        } throws: { "\($0)".contains("line \(messages[7].line) has no label") }
    }

    @Test func failedFitsAreReportedAndOthersRanked() throws {
        // min_df 10000 leaves no terms: every fold of that candidate fails with the reason.
        let results = try Self.search(Self.grid(#"{"vect.min_df": [1, 10000]}"#)).run()
        let failed = results.candidates[1]
        #expect(failed.failed && failed.rank == nil && failed.errors.count == 3)
        #expect(failed.errors[0].hasPrefix("fold 0: "))
        #expect(results.candidates[0].rank == 1 && results.best?.index == 0)
        #expect(results.table.rows.contains { $0.last?.contains("fold 0: ") == true })
        // Every candidate failing is an error, not an empty ranking.
        #expect { try Self.search(Self.grid(#"{"vect.min_df": [10000]}"#)).run() } throws: { error in
            guard case .allFailed = error as? SearchError else { return false }
            return true
        }
    }

    @Test func invalidSearchesAreRefusedBeforeFitting() throws {
        #expect(throws: SearchError.self) { try Self.search(Self.grid(#"{"clf.nope": [1]}"#)) }
        #expect { try Self.search(Self.grid(#"{"vect.min_df": [1]}"#), scoring: "roc_auc") } throws: { "\($0)".contains("roc_auc") }
        #expect(throws: SearchError.self) { try Shard(parsing: "3/3") }
        #expect(throws: SearchError.self) { try Shard(parsing: "one/3") }
        #expect(try Shard(parsing: "2/3") == Shard(index: 2, count: 3))
    }

    @Test func cvResultsOutputs() throws {
        let results = try Self.search(Self.grid(#"{"vect.min_df": [1, 2]}"#), scoring: "f1_macro").run()
        let table = results.table
        let lines = CSVWriter.document(header: table.header, rows: table.rows).split(separator: "\r\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("rank_test_f1_macro,mean_test_f1_macro,std_test_f1_macro,split0_test_f1_macro"))
        #expect(lines[0].hasSuffix("param_vect.min_df,error"))
        #expect(lines[1].hasPrefix("1,"))
        guard case let .object(o) = results.json else { Issue.record("json"); return }
        #expect(o["scoring"]?.stringValue == "f1_macro" && o["candidates"]?.arrayValue?.count == 2)
        #expect(o["best_index"] != nil && o["counters"]?["fits"]?.numberValue?.intValue == 6)
    }
}
