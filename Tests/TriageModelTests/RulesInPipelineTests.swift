import Foundation
import Testing
import TriageCore
import TriageData
import TriageLinear
import TriageText
@testable import TriageModel

/// Routing rules inside a fitted pipeline: feature rules are columns the classifier learns,
/// override rules decide the label, both on the cleaned message, in batch and one at a time.
@Suite("Rules in the pipeline")
struct RulesInPipelineTests {
    static let rules = RuleSet(rules: [
        RuleSet.Rule(name: "lost-card", field: .any, words: ["lost my card", "stolen card"], mode: .override, label: "card_loss_fraud"),
        RuleSet.Rule(name: "fraud", words: ["fraud", "scam"], stem: true, mode: .feature),
        RuleSet.Rule(name: "complaint", field: .subject, words: ["complaint"], mode: .override, label: "complaint"),
        RuleSet.Rule(name: "code", field: .body, regex: "\\b(error|code)\\s*[a-z]{0,3}-?\\d{3,5}\\b", mode: .feature),
    ], stemmer: "english")

    static func settings() -> PipelineSettings {
        var s = PipelineSettings.wordAndCharUnion(clf: .logisticRegression(LogisticRegression()))
        s.clean = CleanSettings()
        return s
    }

    static func fitted(_ train: [LabeledMessage], threads: Int = 2) throws -> FittedPipeline {
        let fit = try PipelineFit(messages: train, stopWordDirectories: Demo.stopwords, rules: try ModelRules(rules))
        return try fit.fit(settings(), threads: threads).pipeline
    }

    @Test func featureRulesAreColumnsAfterTheBlocks() throws {
        let pipeline = try Self.fitted(try Demo.messages("train"))
        let routing = try #require(pipeline.routing)
        #expect(routing.featureRules == [1, 3])
        #expect(pipeline.featureCount == pipeline.blockFeatureCount + 2)
        #expect(pipeline.term(ofColumn: pipeline.blockFeatureCount) == "rule:fraud")
        #expect(pipeline.term(ofColumn: pipeline.blockFeatureCount + 1) == "rule:code")
        #expect(pipeline.terms.suffix(2) == ["rule:fraud", "rule:code"])
        // A stemmed word rule ("frauds" → "fraud") sets its column; the batch and one-at-a-time
        // paths agree bit for bit.
        let message = Message(subject: "Frauds", body: "I got error code E-4042 twice")
        let x = pipeline.features([message], threads: 1)
        let columns = x.row(0).columns.map(Int.init)
        #expect(columns.suffix(2) == [pipeline.blockFeatureCount, pipeline.blockFeatureCount + 1])
        var matched: [Int] = []
        let single = pipeline.makePredictor().probabilities(message, matched: &matched)
        #expect(matched == [1, 3])
        #expect(single == pipeline.predictProbabilities([message], threads: 1)[0])
        // The model learned a weight for it: the explanation names the rule.
        let explanation = pipeline.explain(Message(subject: "", body: "this is a scam"), limit: 50)
        #expect(explanation.terms.contains { $0.term == "rule:fraud" })
    }

    @Test func anOverrideDecidesAndSaysWhich() throws {
        let pipeline = try Self.fitted(try Demo.messages("train"))
        // Words that point elsewhere, and a rule that says card_loss_fraud.
        let message = Message(id: "m1", subject: "Question about my mortgage", body: "Also, I lost my card at the weekend.")
        let p = pipeline.predict([message], top: 3, threads: 1)[0]
        #expect(p.label == "card_loss_fraud")
        #expect(p.rule == "lost-card")
        #expect(p.decidedBy == "rule:lost-card")
        #expect(!p.unsure)
        #expect(p.probability == (p.top.first { $0.label == "card_loss_fraud" }?.probability ?? p.probability))
        let single = pipeline.makePredictor().predict(message, top: 3, threshold: 0.99)
        #expect(single.label == "card_loss_fraud" && single.rule == "lost-card" && !single.unsure)
        // A subject-only rule ignores the body; without a match the model decides.
        let other = pipeline.predict([Message(subject: "hello", body: "I want to make a complaint")], threads: 1)[0]
        #expect(other.rule == nil && other.decidedBy == "model")
        // Rules read the cleaned message: a quoted reply's words do not fire.
        let quoted = Message(subject: "Re: hi", body: "Thanks, all sorted now.\n\nOn Mon, 1 Dec 2025 at 10:00, Bank <help@bank.example> wrote:\n> I lost my card")
        #expect(pipeline.predict([quoted], threads: 1)[0].rule == nil)
    }

    @Test func evaluationCountsTheOverridesDecisions() throws {
        let pipeline = try Self.fitted(try Demo.messages("train"))
        let messages = [
            LabeledMessage(id: "1", subject: "", body: "Please help, I lost my card yesterday and need a new one", label: "card_loss_fraud", line: 2),
            LabeledMessage(id: "2", subject: "mortgage rates", body: "what rates do you offer? I lost my card too", label: "card_loss_fraud", line: 3),
        ]
        let e = ModelEvaluation(pipeline, on: messages, threads: 1, threshold: 0.999)
        #expect(e.report.accuracy == 1)
        #expect(e.policy.routed == 2)
        #expect(e.policy.byRules == 2 && e.policy.byRulesRight == 2)
        #expect(e.policy.text.contains("2 of the routed decided by override rules, 2 of them right"))
    }

    @Test func anOverrideNamingAnUnknownLabelOrHeadIsAnErrorAtTraining() throws {
        let train = try Demo.messages("train")
        var bad = Self.rules
        bad.rules[0].label = "card_lost"
        do {
            _ = try PipelineFit(messages: train, rules: try ModelRules(bad))
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("rules[0] \"lost-card\""))
            #expect("\(error)".contains("card_lost"))
        }
        var head = Self.rules
        head.rules[0].head = "priority"
        #expect(throws: PipelineError.self) { try PipelineFit(messages: train, rules: try ModelRules(head), head: "queue") }
        head.rules[0].head = "queue"
        _ = try PipelineFit(messages: train, rules: try ModelRules(head), head: "queue")
    }

    @Test func fitsWithRulesAreDeterministicWhateverTheThreads() throws {
        let train = Array(try Demo.messages("train").prefix(200))
        let one = try Self.fitted(train, threads: 1)
        let four = try Self.fitted(train, threads: 4)
        let probes = try Demo.messages("test").prefix(40).map(\.message)
        #expect(one.predictProbabilities(probes, threads: 1) == four.predictProbabilities(probes, threads: 3))
        // Cached and uncached fits agree (the rule columns are part of the features key).
        let fit = try PipelineFit(messages: train, stopWordDirectories: Demo.stopwords, rules: try ModelRules(Self.rules))
        let cache = StageCache()
        let cached = try fit.fit(Self.settings(), threads: 2, cache: cache).pipeline
        #expect(cached.predictProbabilities(probes, threads: 1) == one.predictProbabilities(probes, threads: 1))
        let plain = try PipelineFit(messages: train, stopWordDirectories: Demo.stopwords)
        #expect(try fit.keys(Self.settings(), rows: .all).features != plain.keys(Self.settings(), rows: .all).features)
    }

    @Test func rulesWhoseColumnsTheClassifierDidNotLearnAreRefused() throws {
        let train = Array(try Demo.messages("train").prefix(200))
        let plain = try PipelineFit(messages: train, stopWordDirectories: Demo.stopwords).fit(Self.settings(), threads: 2).pipeline
        #expect(throws: RuleError.self) { try plain.withRouting(try ModelRules(Self.rules)) }
        // Overrides alone add no column: any model can take them.
        let overrides = RuleSet(rules: Self.rules.rules.filter { $0.mode == .override }, stemmer: "english")
        #expect(try plain.withRouting(try ModelRules(overrides)).routing?.columnCount == 0)
    }

    @Test func pruningKeepsTheRuleColumns() throws {
        let pipeline = try Self.fitted(try Demo.messages("train"))
        let (pruned, removed) = try #require(pipeline.pruned(threshold: 0.05))
        #expect(removed > 0)
        #expect(pruned.featureCount == pruned.blockFeatureCount + 2)
        let message = Message(subject: "", body: "a scam with error code 4042")
        var matched: [Int] = []
        _ = pruned.makePredictor().probabilities(message, matched: &matched)
        #expect(matched == [1, 3])
        #expect(pruned.predictProbabilities([message], threads: 1)[0].allSatisfy { $0.isFinite })
    }
}
