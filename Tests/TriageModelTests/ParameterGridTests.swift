import Foundation
import Testing
import TriageCore
import TriageText
import TriageBoost
import TriageLinear
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

    /// Issue 25 item 6: `clf.type` applies before the classifier's other names, which are then
    /// checked against the chosen type — whatever the sort order of the names.
    @Test func clfTypeAppliesBeforeTheTypesParameters() throws {
        for base in [PipelineSettings.talk, .recommended] {
            let s = try PipelineParameters.apply(["clf.type": "logistic_regression", "clf.C": 10], to: base)
            #expect(s.clf.settings(as: LogisticRegression.self)?.c == 10)
            // The type starts from its defaults: nothing of the previous classifier is kept.
            let t = try PipelineParameters.apply(["clf.type": "gradient_boosting", "clf.learning_rate": JSONValue.double(0.3)!], to: base)
            #expect(t.clf.settings(as: GradientBoostingClassifier.self)?.learningRate == 0.3)
            #expect(t.clf.settings(as: GradientBoostingClassifier.self)?.nEstimators == GradientBoostingClassifier().nEstimators)
        }
        // A parameter of another type says so, not "unknown".
        #expect {
            try PipelineParameters.apply(["clf.learning_rate": JSONValue.double(0.3)!], to: .recommended)
        } throws: { "\($0)".contains("the classifier is voting, which has no learning_rate") && "\($0)".contains("gradient_boosting") }
    }

    /// Item 7: a classifier type name stands for that type; a step that is neither an object
    /// nor a type name is named as such, not as an unknown parameter.
    @Test func aTypeNameStandsForTheClassifierAndABadStepSaysWhy() throws {
        let grid = try ParameterGrid(json: JSONParser.parse(#"{"clf": ["gradient_boosting"], "clf.learning_rate": [0.1, 0.3]}"#))
        try grid.validate(against: .recommended)
        let s = try PipelineParameters.apply(grid.candidates[1].parameters, to: .recommended)
        #expect(s.clf.settings(as: GradientBoostingClassifier.self)?.learningRate == 0.3)
        #expect {
            try PipelineParameters.apply(["clf": 3], to: .recommended)
        } throws: { "\($0)".contains("expected an object") && "\($0)".contains("type name") }
        #expect {
            try PipelineParameters.apply(["clf": "no_such_model"], to: .recommended)
        } throws: { "\($0)".contains("no_such_model") }
    }

    /// Item 8: a config's steps replace the preset's; the steps it leaves out keep the preset's.
    @Test func aPartialConfigKeepsThePresetsOtherSteps() throws {
        let onlyClf = try PipelineParameters.applyConfig(JSONParser.parse(#"{"clf": {"type": "linear_svc", "C": 2}}"#), to: .recommended)
        #expect(onlyClf.union == PipelineSettings.recommended.union && onlyClf.clf.settings(as: LinearSVC.self)?.c == 2)
        let onTalk = try PipelineParameters.applyConfig(JSONParser.parse(#"{"clf": {"type": "linear_svc"}}"#), to: .talk)
        #expect(onTalk.vect == PipelineSettings.talk.vect && onTalk.text == PipelineSettings.talk.text)
        // A single-block step replaces a union.
        let single = try PipelineParameters.applyConfig(JSONParser.parse(#"{"vect": {"ngram_range": [1, 3]}}"#), to: .recommended)
        #expect(single.union.isEmpty && single.vect.ngramRange == NgramRange(1, 3) && single.clf == PipelineSettings.recommended.clf)
        #expect { try PipelineParameters.applyConfig(JSONParser.parse(#"{"clf": {}, "model": {}}"#), to: .recommended) } throws: {
            "\($0)".contains("model") && "\($0)".contains("not a step")
        }
        #expect { try PipelineParameters.applyConfig(JSONParser.parse(#"{"union": [], "vect": {}}"#), to: .recommended) } throws: {
            "\($0)".contains("exclude each other")
        }
    }

    /// Item 9: the default is the bundled banking77 config, exactly.
    @Test func theRecommendedPresetIsTheBundledConfig() throws {
        let url = Demo.repository.appendingPathComponent("models/banking77.config.json")
        let bundled = try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(Data(contentsOf: url)))
        #expect(bundled == PipelineSettings.recommended)
        #expect(PipelinePreset.allCases.map(\.rawValue) == ["recommended", "talk"])
    }

    /// Item 10: a stop-word list that does not exist is found by `check`, before any data.
    @Test func checkFindsAMissingStopWordList() throws {
        var s = PipelineSettings.talk
        s.vect.stopWords = .named("klingon")
        #expect(throws: Never.self) { try s.validate() }
        #expect { try s.check(stopWordDirectories: Demo.stopwords) } throws: { "\($0)".contains("klingon") }
        try PipelineSettings.talk.check(stopWordDirectories: Demo.stopwords)
    }

    /// Item 18: means that differ only in their last bits (ranked apart, as scikit-learn's exact
    /// ranking does) are printed with enough decimals to tell them apart.
    @Test func meansArePrintedWithEnoughDecimalsToTellThemApart() {
        #expect(SearchResults.distinguishingDecimals([0.59391, 0.5821, 0.6]) == 4)
        let a = 0.1 + 0.2 + 0.3, b = 0.3 + 0.2 + 0.1   // 0.6000000000000001 and 0.6
        #expect(a != b)
        let d = SearchResults.distinguishingDecimals([a, b, 0.5])
        #expect(String(format: "%.\(d)f", a) != String(format: "%.\(d)f", b) && d <= 17)
        #expect(SearchResults.distinguishingDecimals([0.5, 0.5, .nan]) == 4)
    }
}
