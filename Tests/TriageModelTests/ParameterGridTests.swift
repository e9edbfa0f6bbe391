import Foundation
import Testing
import TriageCore
import TriageText
import TriageBoost
@testable import TriageModel

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
