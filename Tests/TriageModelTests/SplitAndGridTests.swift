import Foundation
import Testing
import TriageCore
import TriageText
import TriageBoost
@testable import TriageModel

@Suite("Stratified splits")
struct SplitTests {
    /// 3 classes of 30, 12 and 7 rows, interleaved.
    static let labels: [Int] = (0 ..< 49).map { $0 < 30 ? 0 : ($0 < 42 ? 1 : 2) }.shuffledDeterministically()
    static let names = ["a", "b", "c"]

    @Test func kFoldPartitionsEveryRowOnceAndStratifies() throws {
        let (folds, dropped) = try StratifiedSplit.kFold(labels: Self.labels, labelNames: Self.names, folds: 5, seed: 7)
        #expect(dropped.isEmpty && folds.count == 5)
        let validation = folds.flatMap(\.validation)
        #expect(validation.sorted() == Array(0 ..< Self.labels.count))
        let sizes = folds.map(\.validation.count)
        #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
        for f in folds {
            #expect(Set(f.train).isDisjoint(with: f.validation) && f.train.count + f.validation.count == Self.labels.count)
            #expect(f.train == f.train.sorted() && f.validation == f.validation.sorted())
            for c in 0 ..< 3 {
                let total = Self.labels.filter { $0 == c }.count
                let inFold = f.validation.filter { Self.labels[$0] == c }.count
                #expect(inFold == total / 5 || inFold == total / 5 + 1, "class \(c): \(inFold) of \(total)")
            }
        }
    }

    @Test func seedsAreReproducibleAndMatter() throws {
        let a = try StratifiedSplit.kFold(labels: Self.labels, labelNames: Self.names, folds: 3, seed: 1).folds.map(\.validation)
        let b = try StratifiedSplit.kFold(labels: Self.labels, labelNames: Self.names, folds: 3, seed: 1).folds.map(\.validation)
        let c = try StratifiedSplit.kFold(labels: Self.labels, labelNames: Self.names, folds: 3, seed: 2).folds.map(\.validation)
        #expect(a == b && a != c)
    }

    @Test func trainTestKeepsClassShares() throws {
        let (train, test, _) = try StratifiedSplit.trainTest(labels: Self.labels, labelNames: Self.names, testSize: 0.2, seed: 3)
        #expect(Set(train).isDisjoint(with: test) && train.count + test.count == Self.labels.count)
        #expect(test.filter { Self.labels[$0] == 0 }.count == 6)
        #expect(test.filter { Self.labels[$0] == 1 }.count == 2)   // round(2.4)
        #expect(test.filter { Self.labels[$0] == 2 }.count == 1)   // round(1.4)
    }

    @Test func smallClassesAreNamedOrDropped() throws {
        let labels = [0, 0, 0, 0, 1, 1, 2]
        #expect {
            try StratifiedSplit.kFold(labels: labels, labelNames: ["big", "pair", "lonely"], folds: 3, seed: 0)
        } throws: { error in
            let text = "\(error)"
            return text.contains("\"pair\" (2)") && text.contains("\"lonely\" (1)") && text.contains("fewer than 3")
        }
        let (folds, dropped) = try StratifiedSplit.kFold(labels: labels, labelNames: ["big", "pair", "lonely"], folds: 3, seed: 0, smallClasses: .drop)
        #expect(dropped.map(\.label) == ["pair", "lonely"] && dropped.map(\.rows) == [[4, 5], [6]])
        #expect(folds.flatMap(\.validation).sorted() == [0, 1, 2, 3])
        #expect(folds.allSatisfy { !$0.train.contains(6) })
        #expect(throws: SplitError.invalidFolds(1)) { try StratifiedSplit.kFold(labels: labels, labelNames: ["a", "b", "c"], folds: 1, seed: 0) }
        #expect(throws: SplitError.invalidTestSize(1)) { try StratifiedSplit.trainTest(labels: labels, labelNames: ["a", "b", "c"], testSize: 1, seed: 0) }
    }
}

@Suite("Parameter grid")
struct GridTests {
    @Test func expandsInScikitLearnOrder() throws {
        // sklearn.model_selection.ParameterGrid sorts names; the last varies fastest.
        let grid = try ParameterGrid(json: JSONParser.parse(#"{"vect.min_df": [1, 2], "clf.learning_rate": [0.1, 0.3, 1.0]}"#))
        let keys = grid.candidates.map(\.key)
        #expect(keys == [
            #"{"clf.learning_rate":0.1,"vect.min_df":1}"#, #"{"clf.learning_rate":0.1,"vect.min_df":2}"#,
            #"{"clf.learning_rate":0.3,"vect.min_df":1}"#, #"{"clf.learning_rate":0.3,"vect.min_df":2}"#,
            #"{"clf.learning_rate":1.0,"vect.min_df":1}"#, #"{"clf.learning_rate":1.0,"vect.min_df":2}"#,
        ])
    }

    @Test func listsOfGridsDropDuplicates() throws {
        let grid = try ParameterGrid(json: JSONParser.parse(#"[{"vect.min_df": [1, 2]}, {"vect.min_df": [2, 3]}]"#))
        #expect(grid.candidates.map(\.key) == [#"{"vect.min_df":1}"#, #"{"vect.min_df":2}"#, #"{"vect.min_df":3}"#])
    }

    @Test func samplingIsSeededAndDistinct() throws {
        let grid = try ParameterGrid(json: JSONParser.parse(#"{"vect.min_df": [1, 2, 3, 4, 5, 6, 7, 8], "text.subject_weight": [1, 2, 3]}"#))
        let a = grid.sample(5, seed: 9), b = grid.sample(5, seed: 9)
        #expect(a == b && Set(a).count == 5)
        #expect(grid.sample(100, seed: 9).count == 24)
    }

    @Test func badGridsAndValuesAreNamed() throws {
        let base = Demo.settings()
        #expect(throws: ParameterError.self) { try ParameterGrid(json: JSONParser.parse(#"{"vect.min_df": 2}"#)) }
        #expect(throws: ParameterError.self) { try ParameterGrid(json: JSONParser.parse(#"{"vect.min_df": []}"#)) }
        #expect(throws: ParameterError.self) { try ParameterGrid(json: JSONParser.parse("[]")) }
        #expect {
            try ParameterGrid(json: JSONParser.parse(#"{"clf.n_estimator": [10]}"#)).validate(against: base)
        } throws: { "\($0)".contains("unknown parameter \"clf.n_estimator\"") && "\($0)".contains("clf.n_estimators") }
        #expect {
            try ParameterGrid(json: JSONParser.parse(#"{"clf.learning_rate": ["fast"]}"#)).validate(against: base)
        } throws: { "\($0)".contains("clf.learning_rate") }
        #expect {
            try ParameterGrid(json: JSONParser.parse(#"{"vect.ngram_range": [[2, 1]]}"#)).validate(against: base)
        } throws: { "\($0)".contains("ngram") }
    }

    @Test func applySetsNestedParameters() throws {
        let s = try PipelineParameters.apply(["vect.ngram_range": [1, 3], "text.subject_weight": 4, "clf.max_depth": .null, "clf.max_leaf_nodes": 7], to: Demo.settings())
        #expect(s.vect.ngramRange == NgramRange(1, 3) && s.text.subjectWeight == 4)
        let clf = try #require(s.clf.settings(as: GradientBoostingClassifier.self))
        #expect(clf.maxDepth == nil && clf.maxLeafNodes == 7)
    }
}

extension Array where Element == Int {
    /// A fixed permutation, so tests do not depend on row order matching class order.
    func shuffledDeterministically() -> [Int] {
        var copy = self
        var rng = SeededGenerator(seed: 42)
        rng.shuffle(&copy)
        return copy
    }
}
