import Foundation
import Testing
import TriageCore
import TriageData
import TriageLinear
import TriageText
@testable import TriageModel

@Suite("Feature unions and linear classifiers in the pipeline")
struct UnionAndLinearTests {
    /// Word 1–2-grams (stemmed, stop words) of the message and char_wb 2–4-grams of the body.
    static func union(clf: String = #"{"type": "logistic_regression", "C": 10}"#) throws -> PipelineSettings {
        let json = #"""
        {"text": {"subject_weight": 2},
         "union": [{"name": "word", "stop_words": "english", "stemmer": "english", "ngram_range": [1, 2], "sublinear_tf": true},
                   {"name": "char", "source": "body", "weight": 0.7, "analyzer": "char_wb", "ngram_range": [2, 4], "min_df": 2, "sublinear_tf": true}],
         "clf": \#(clf)}
        """#
        return try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(json.utf8))
    }

    static func accuracy(_ pipeline: FittedPipeline, _ test: [LabeledMessage]) -> Double {
        let predicted = pipeline.predict(test.map { Message(id: $0.id, subject: $0.subject, body: $0.body) })
        return Double(zip(predicted, test).filter { $0.label == $1.label }.count) / Double(test.count)
    }

    /// Every registered classifier (its check examples) behind a feature union.
    @Test(arguments: ClassifierRegistry.examples)
    func everyClassifierFitsTheDemoCorpusBehindAUnion(_ example: ClassifierRegistry.Example) throws {
        var settings = try Self.union()
        settings.clf = example.settings
        let pipeline = try settings.fit(Demo.messages("train"), stopWordDirectories: Demo.stopwords)
        #expect(pipeline.blocks.count == 2 && pipeline.blocks[1].offset == pipeline.blocks[0].featureCount)
        #expect(pipeline.featureCount == pipeline.classifier.featureCount)
        #expect(pipeline.classifier.typeName == example.settings.typeName)
        let accuracy = Self.accuracy(pipeline, try Demo.messages("test"))
        // Linear models reach 0.6 and more; the few-round trees of the examples, over 3× chance;
        // the dummy is chance itself (8 labels).
        let floor = example.settings.typeName == "gradient_boosting" ? 0.4 : example.settings.typeName == DummyClassifier.typeName ? 0.05 : 0.6
        #expect(accuracy > floor, "\(example): \(accuracy)")
        if example.settings.typeName == DummyClassifier.typeName { #expect(accuracy < 0.2) }
    }

    @Test func unionColumnsAreTheBlocksSideBySideWithTheirWeights() throws {
        let settings = try Self.union()
        let train = try Demo.messages("train")
        let pipeline = try settings.fit(train, stopWordDirectories: Demo.stopwords)
        let messages = train.prefix(20).map { Message(id: $0.id, subject: $0.subject, body: $0.body) }
        let x = pipeline.features(messages)
        // The char block alone, on the body only, scaled by 0.7.
        let char = pipeline.blocks[1]
        let alone = char.tfidf.transformUnchecked(char.vectorizer.transform(messages.map(\.body)))
        for i in 0 ..< messages.count {
            let row = x.row(i)
            let tail = zip(row.columns, row.values).filter { Int($0.0) >= char.offset }
            let expected = alone.row(i)
            #expect(tail.map { Int($0.0) - char.offset } == expected.columns.map { Int($0) })
            #expect(zip(tail.map(\.1), expected.values).allSatisfy { abs($0 - 0.7 * $1) < 1e-15 })
        }
        // Terms carry their block's name.
        #expect(pipeline.term(ofColumn: 0).hasPrefix("word:"))
        #expect(pipeline.term(ofColumn: char.offset).hasPrefix("char:"))
        #expect(pipeline.terms.count == pipeline.featureCount)
    }

    @Test func predictorExplanationsAndTopTermsOfALinearModel() throws {
        let pipeline = try Self.union().fit(Demo.messages("train"), stopWordDirectories: Demo.stopwords)
        let message = Message(id: "m", subject: "Stolen card", body: "Someone stole my card, please block it now")
        #expect(pipeline.makePredictor().probabilities(message) == pipeline.predictProbabilities([message], threads: 1)[0])
        let explanation = pipeline.explain(message, limit: 1000)
        let model = try #require(pipeline.classifier.model(as: FittedLinearModel.self), "not linear")
        let k = try #require(pipeline.labels.firstIndex(of: explanation.label))
        let raw = try model.rawScores(pipeline.features([message]))[0][k]
        #expect(abs(explanation.bias + explanation.terms.reduce(0) { $0 + $1.contribution } - raw) < 1e-9)
        #expect(explanation.terms.contains { $0.term.hasPrefix("word:") } && explanation.terms.contains { $0.term.hasPrefix("char:") })
        let top = pipeline.topTerms(limit: 5)
        #expect(top.count == pipeline.labels.count && top.allSatisfy { $0.terms.count == 5 && $0.terms.allSatisfy { $0.gain > 0 } })
        #expect(pipeline.treeStatistics == nil)
    }

    @Test func unionSettingsAreValidatedAndExcludeVect() throws {
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(#"{"vect": {"min_df": 2}, "union": [{"name": "a"}]}"#.utf8))
        }
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(#"{"union": [{"name": "a", "ngram_rang": [1, 2]}]}"#.utf8))
        }
        func error(_ json: String) throws -> PipelineError? {
            let s = try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(json.utf8))
            do { try s.validate() } catch { return error }
            return nil
        }
        #expect(try error(#"{"union": [{"name": "a"}, {"name": "a"}]}"#) == .invalidUnion("two blocks are named \"a\""))
        #expect(try error(#"{"union": [{"name": "a.b"}]}"#)?.description.contains("letters, digits and _") == true)
        #expect(try error(#"{"union": [{"name": "a", "weight": 0}]}"#)?.description.contains("weight") == true)
        #expect(try error(#"{"clf": {"type": "logistic_regression", "C": -1}}"#) == .linear(.invalidParameter(name: "C", value: "-1.0", expected: "a number > 0")))
        // Encoding: a single block keeps the pre-union layout; a union has no vect/tfidf.
        guard case let .object(single) = try JSONValueEncoder().encode(PipelineSettings()),
              case let .object(multi) = try JSONValueEncoder().encode(try Self.union()) else { Issue.record("not objects"); return }
        #expect(single.keys.sorted() == ["clf", "text", "tfidf", "vect"])
        #expect(multi.keys.sorted() == ["clf", "text", "union"])
        #expect(try StrictJSONDecoder().decode(PipelineSettings.self, from: .object(multi)) == Self.union())
        // scikit-learn's reference features, as a preset.
        let reference = PipelineSettings.wordAndCharUnion(clf: .multinomialNB(MultinomialNB()))
        #expect(reference.blocks.map(\.name) == ["word", "char"])
        #expect(reference.union[1].vect.analyzer == .charWB && reference.union[1].vect.ngramRange == NgramRange(2, 5))
        #expect(throws: Never.self) { try reference.validate() }
    }

    @Test func aLinearVoteIsScoredInOnePassWithTheBitsOfItsMembers() throws {
        let settings = try Self.union(clf: #"{"type": "voting", "weights": [2, 1, 1], "estimators": [{"type": "logistic_regression", "C": 10}, {"type": "linear_svc"}, {"type": "multinomial_nb"}]}"#)
        let train = try Demo.messages("train")
        let pipeline = try settings.fit(train, stopWordDirectories: Demo.stopwords)
        let vote = try #require(pipeline.classifier.model(as: FittedVoting.self), "not a vote")
        #expect(vote.linearStack != nil, "three linear members over the same features are stacked")
        let members = vote.members.compactMap { $0.model(as: FittedLinearModel.self) }
        let predictor = pipeline.makePredictor()
        let messages = try Demo.messages("test").prefix(25).map { Message(id: $0.id, subject: $0.subject, body: $0.body) }
        let batch = pipeline.predictProbabilities(messages)
        for (i, message) in messages.enumerated() {
            // The definition: each member on its own, Σ wₘ pₘ / Σ wₘ in member order.
            let x = pipeline.features([message])
            var expected = [Double](repeating: 0, count: pipeline.labels.count)
            for (m, member) in members.enumerated() {
                let p = try member.predictProbabilities(x)[0]
                for k in p.indices { expected[k] += vote.weights[m] / 4 * p[k] }
            }
            let got = predictor.probabilities(message)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "message \(i)")
            #expect(batch[i].map(\.bitPattern) == expected.map(\.bitPattern), "message \(i), batch")
        }
    }

    @Test func unionParametersAreAddressableByName() throws {
        let base = try Self.union()
        let names = PipelineParameters.names(for: base)
        #expect(names.contains("union.word.ngram_range") && names.contains("union.char.weight") && names.contains("union.char.sublinear_tf"))
        #expect(names.contains("clf.C") && !names.contains("vect.min_df") && !names.contains("union.word.name"))
        let changed = try PipelineParameters.apply(["union.char.ngram_range": [3, 5], "union.word.weight": 2, "clf.C": 1], to: base)
        #expect(changed.union[1].vect.ngramRange == NgramRange(3, 5) && changed.union[0].weight == 2)
        if let lr = changed.clf.settings(as: LogisticRegression.self) { #expect(lr.c == 1) } else { Issue.record("classifier type changed") }
        #expect(throws: ParameterError.self) { try PipelineParameters.apply(["union.nope.weight": 2], to: base) }
        // A whole step, as scikit-learn's {"clf": [LogisticRegression(), LinearSVC()]}.
        #expect(names.contains("clf") && names.contains("union"))
        let svc = try PipelineParameters.apply(["clf": ["type": "linear_svc", "C": try JSONParser.parse("0.5")]], to: base)
        if let s = svc.clf.settings(as: LinearSVC.self) { #expect(s.c == 0.5) } else { Issue.record("clf not replaced") }
        let voting = try PipelineParameters.apply(["clf": ["type": "voting", "estimators": [["type": "logistic_regression"], ["type": "multinomial_nb"]]]], to: base)
        #expect(voting.clf.typeName == "voting")
        // A union replaces a single-block pipeline's vect and tfidf.
        let single = PipelineSettings()
        let unioned = try PipelineParameters.apply(["union": [["name": "w"], ["name": "c", "analyzer": "char_wb"]]], to: single)
        #expect(unioned.blocks.map(\.name) == ["w", "c"])
        #expect(throws: ParameterError.self) { try PipelineParameters.apply(["clf": ["type": "voting", "estimators": []]], to: base) }
        #expect(throws: ParameterError.self) { try PipelineParameters.apply(["union.char.weight": -1], to: base) }
    }

    @Test func searchSharesBlockStagesAndMatchesAFreshFit() throws {
        // 2 char n-gram ranges × 2 C: each block's messages are tokenised once (n-gram ranges
        // share the tokens); the word block is counted once per fold for all four candidates,
        // each char range once per fold.
        let candidates = try ParameterGrid(json: JSONParser.parse(#"{"union.char.ngram_range": [[2, 3], [2, 4]], "clf.C": [1, 10]}"#)).candidates
        var options = SearchOptions()
        options.folds = 3
        options.seed = 3
        options.threads = 2
        options.stopWordDirectories = Demo.stopwords
        let messages = try Demo.messages("train")
        let search = try GridSearch(base: Self.union(), candidates: candidates, messages: messages, options: options)
        let results = try search.run()
        let c = results.counters
        #expect(c.tokenizations == 2)          // the word analyzer and the char_wb one
        #expect(c.vectorizations == 9 && c.tfidfs == 9 && c.binnings == 0 && c.fits == 12)
        #expect(results.complete && results.candidates.allSatisfy { $0.rank != nil })
        // Same score as fitting the whole pipeline on a fold.
        let fold = search.folds[2]
        let pipeline = try search.settings(of: 1).fit((fold.train ?? []).map { messages[$0] }, threads: 1, stopWordDirectories: Demo.stopwords)
        let accuracy = Self.accuracy(pipeline, fold.evaluation.map { messages[$0] })
        let shared = try #require(results.candidates[1].splits[2]?["accuracy"])
        #expect(abs(shared - accuracy) < 1e-12, "shared \(shared) vs fresh \(accuracy)")
        // Thread count does not change any score.
        options.threads = 1
        let one = try GridSearch(base: Self.union(), candidates: candidates, messages: messages, options: options).run()
        #expect(one.candidates.map(\.splits) == results.candidates.map(\.splits))
    }
}
