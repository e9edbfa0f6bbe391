import Foundation
import Testing
import TriageBoost
import TriageCore
import TriageLinear
import TriageText
@testable import TriageModel

@Suite("Staged fit")
struct PipelineFitTests {
    static let messages: [LabeledMessage] = Array(((try? Demo.messages("train")) ?? []).prefix(240))

    static func fit() throws -> PipelineFit { try PipelineFit(messages: messages, stopWordDirectories: Demo.stopwords) }

    static let rows = FitRows(name: "fold 0", train: Array(stride(from: 0, to: 240, by: 3)) + Array(stride(from: 1, to: 240, by: 3)),
                              evaluation: Array(stride(from: 2, to: 240, by: 3)))

    /// `value` with each member of its JSON object changed in turn (numbers +1, booleans
    /// flipped, strings extended, null to 1), keeping the variants that still decode.
    static func variants<T: Codable>(of value: T) throws -> [(member: String, value: T)] {
        guard case let .object(object) = try JSONValueEncoder().encode(value) else { return [] }
        var out: [(String, T)] = []
        for name in object.keys {
            var changed = object
            switch object[name] {
            case let .number(n)? where n.isInteger: changed[name] = .number(JSONNumber((n.intValue ?? 0) + 1))
            case let .number(n)?: changed[name] = JSONValue.double(n.doubleValue + 1) ?? .null
            case let .bool(b)?: changed[name] = .bool(!b)
            case let .string(s)?: changed[name] = .string(s + "x")
            case .null?: changed[name] = .number(JSONNumber(1))
            default: continue
            }
            if let decoded = try? StrictJSONDecoder().decode(T.self, from: .object(changed)) { out.append((name, decoded)) }
        }
        return out
    }

    @Test func everyMemberOfTheTextStepIsPartOfTheTokensKey() throws {
        // Encoded settings are the key: a member added to the text step later is covered
        // without anyone listing it (the search's old key named only subject_weight).
        let fit = try Self.fit()
        let base = Demo.settings()
        let key = try fit.keys(base, rows: .all)
        let variants = try Self.variants(of: base.text)
        #expect(!variants.isEmpty)
        for (member, text) in variants {
            var changed = base
            changed.text = text
            #expect(try fit.keys(changed, rows: .all).blocks[0].tokens != key.blocks[0].tokens, "text.\(member)")
        }
    }

    @Test func eachStageKeyChangesWithItsOwnStepAndEverythingBeforeIt() throws {
        let fit = try Self.fit()
        let base = Demo.settings()
        let key = try fit.keys(base, rows: Self.rows)
        // The analysis members change the tokens key; the counting ones only the counts key.
        for (member, vect) in try Self.variants(of: base.vect) {
            var changed = base
            changed.vect = vect
            guard (try? changed.validate()) != nil else { continue }
            let other = try fit.keys(changed, rows: Self.rows)
            let analysis = vect.analysis != base.vect.analysis
            #expect((other.blocks[0].tokens != key.blocks[0].tokens) == analysis, "vect.\(member)")
            #expect(other.blocks[0].counts != key.blocks[0].counts && other.features != key.features, "vect.\(member)")
        }
        for (member, tfidf) in try Self.variants(of: base.tfidf) {
            var changed = base
            changed.tfidf = tfidf
            let other = try fit.keys(changed, rows: Self.rows)
            #expect(other.blocks[0].counts == key.blocks[0].counts && other.blocks[0].tfidf != key.blocks[0].tfidf, "tfidf.\(member)")
        }
        // Rows change every stage after tokens (tokens are of every message).
        let all = try fit.keys(base, rows: .all)
        #expect(all.blocks[0].tokens == key.blocks[0].tokens && all.blocks[0].counts != key.blocks[0].counts)
        // Trees share their binned matrix across every setting but max_bins.
        var gb = try #require(base.clf.settings(as: GradientBoostingClassifier.self))
        gb.learningRate = 0.5
        var faster = base
        faster.clf = .gradientBoosting(gb)
        #expect(try fit.keys(faster, rows: Self.rows).preparation == key.preparation)
        gb.maxBins = 64
        faster.clf = .gradientBoosting(gb)
        #expect(try fit.keys(faster, rows: Self.rows).preparation != key.preparation)
        var linear = base
        linear.clf = .logisticRegression(LogisticRegression())
        #expect(try fit.keys(linear, rows: Self.rows).preparation == nil)
        // Other data: other keys.
        let fewer = try PipelineFit(messages: Array(Self.messages.dropLast()), stopWordDirectories: Demo.stopwords)
        #expect(try fewer.keys(base, rows: .all).blocks[0].tokens != all.blocks[0].tokens)
    }

    @Test func aCacheChangesNoBitAndComputesEachStageOnce() throws {
        let fit = try Self.fit()
        var settings = try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(#"""
            {"union": [{"name": "word", "ngram_range": [1, 2], "sublinear_tf": true, "stop_words": "english", "stemmer": "english"},
                       {"name": "char", "analyzer": "char_wb", "ngram_range": [2, 4], "weight": 0.5}],
             "clf": {"type": "gradient_boosting", "n_estimators": 5, "min_samples_leaf": 2}}
            """#.utf8))
        let plain = try fit.fit(settings, rows: Self.rows, threads: 2)
        let cache = StageCache()
        let cached = try fit.fit(settings, rows: Self.rows, threads: 1, cache: cache)
        #expect(cached.pipeline.classifier == plain.pipeline.classifier)
        #expect(cached.evaluationFeatures == plain.evaluationFeatures)
        #expect(cache.computations == [.tokens: 2, .counts: 2, .tfidf: 2, .features: 1, .preparation: 1])
        // Another learning rate reuses everything up to the binned matrix.
        var clf = try #require(settings.clf.settings(as: GradientBoostingClassifier.self))
        clf.learningRate = 0.3
        settings.clf = .gradientBoosting(clf)
        _ = try fit.fit(settings, rows: Self.rows, threads: 1, cache: cache)
        #expect(cache.computations == [.tokens: 2, .counts: 2, .tfidf: 2, .features: 1, .preparation: 1])
        // A plain fit equals PipelineSettings.fit on the same rows.
        let train = (Self.rows.train ?? []).map { Self.messages[$0] }
        let direct = try settings.fit(train, threads: 2, stopWordDirectories: Demo.stopwords)
        let staged = try fit.fit(settings, rows: Self.rows, threads: 1, cache: cache).pipeline
        #expect(staged.classifier == direct.classifier && staged.terms == direct.terms)
    }

    @Test func aFixedVocabularyFitsOnRowsOfATokenisedCorpus() throws {
        var settings = Demo.settings(rounds: 3)
        settings.vect.vocabulary = ["block", "card", "lost", "password", "refund", "stolen"]
        let fit = try Self.fit()
        let staged = try fit.fit(settings, rows: Self.rows, threads: 1, cache: StageCache())
        let train = (Self.rows.train ?? []).map { Self.messages[$0] }
        let direct = try settings.fit(train, threads: 1, stopWordDirectories: Demo.stopwords)
        #expect(staged.pipeline.terms == settings.vect.vocabulary && staged.pipeline.classifier == direct.classifier)
        #expect(staged.evaluationFeatures == direct.features(Self.rows.evaluation.map { Self.messages[$0].message }, threads: 1))
    }

    @Test func theDataIsCheckedBeforeAnyStage() throws {
        var messages = Array(Self.messages.prefix(10))
        #expect(throws: PipelineError.noTrainingMessages) { try PipelineFit(messages: []) }
        messages[3].label = nil
        #expect(throws: PipelineError.missingLabel(line: messages[3].line)) { try PipelineFit(messages: messages) }
        let one = messages.filter { $0.label != nil }.map { m -> LabeledMessage in var m = m; m.label = "same"; return m }
        #expect(throws: PipelineError.tooFewLabels(["same"])) { try PipelineFit(messages: one) }
    }
}
