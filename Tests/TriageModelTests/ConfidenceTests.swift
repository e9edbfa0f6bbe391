import Foundation
import Testing
import TriageCore
import TriageLinear
@testable import TriageModel

/// ConfidenceReport (Brier, ECE, AUROC against scikit-learn and numpy on the metric fixtures;
/// risk–coverage by hand), temperature scaling, out-of-fold predictions.
@Suite("Confidence")
struct ConfidenceTests {
    @Test(arguments: MetricsTests.cases.map(\.name))
    func scoresMatchTheReference(_ name: String) throws {
        let c = try #require(MetricsTests.cases.first { $0.name == name })
        let r = ConfidenceReport(truth: c.truth, probabilities: c.probabilities)
        func close(_ a: Double?, _ key: String) {
            guard let b = c.expected[key]?.numberValue?.doubleValue else {
                #expect(a == nil || c.expected[key] == nil, "\(name) \(key): fixture has no value")
                return
            }
            guard let a else { Issue.record("\(name) \(key): nil, reference \(b)"); return }
            #expect(abs(a - b) <= 1e-12 * max(1, abs(b)), "\(name) \(key): \(a) vs \(b)")
        }
        close(r.brier, "brier")
        close(r.ece, "ece_15")
        close(r.aurocCorrect, "auroc_right_vs_wrong")
        close(r.logLoss, "log_loss")
        #expect(r.bins.count == 15 && r.bins.reduce(0) { $0 + $1.count } == c.truth.count)
    }

    @Test func riskCoverageNeverSplitsTies() throws {
        // Sorted: 0.9 right, 0.8 wrong, 0.8 right, 0.6 right, 0.5 wrong.
        let truth = [0, 0, 1, 0, 1]
        let p: [[Double]] = [[0.9, 0.1], [0.2, 0.8], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]
        // Row 4: tie 0.5/0.5 → class 0 (the first listed), truth 1 → wrong.
        let r = ConfidenceReport(truth: truth, probabilities: p, precisions: [1.0, 0.75, 0.6])
        #expect(r.accuracy == 0.6)
        // 100 %: only the first message (the next cut, after both 0.8s, is 2/3 right).
        let full = try #require(r.coverageAtPrecision[1.0])
        #expect(full.accepted == 1 && full.threshold == 0.9)
        // 75 %: 4 messages (3 of 4 right, cut between 0.6 and 0.5).
        let three = try #require(r.coverageAtPrecision[0.75])
        #expect(three.accepted == 4 && three.threshold == 0.6 && three.accuracy == 0.75)
        #expect(r.coverageAtPrecision[0.6]?.accepted == 5)
        // 20 % coverage = 1 message; 40 % = 2, but the tie takes the third too.
        #expect(r.riskCoverage[1].accepted == 1)
        #expect(r.riskCoverage[3].accepted == 3 && abs(r.riskCoverage[3].accuracy - 2.0 / 3.0) < 1e-15)
        #expect(r.riskCoverage.last?.coverage == 1)
        // Nothing reaches 100 % when the most confident is wrong.
        let none = ConfidenceReport(truth: [1, 0], probabilities: [[0.9, 0.1], [0.6, 0.4]], precisions: [1.0])
        #expect(none.coverageAtPrecision[1.0] == nil)
    }

    @Test func binsAreClosedAbove() {
        // 1/15 belongs to the first bin (0, 1/15]; 1.0 to the last; 0 to the first.
        let r = ConfidenceReport(truth: [0, 0, 0], probabilities: [[1.0 / 15, 14.0 / 15], [1, 0], [0, 0]])
        #expect(r.bins[0].count == 1 || r.bins[13].count == 1)
        #expect(r.bins[14].count == 1)
        #expect(r.bins.reduce(0) { $0 + $1.count } == 3)
        let edge = ConfidenceReport(truth: [0], probabilities: [[1.0 / 15 + 0.0, 0]])
        #expect(edge.bins[0].count == 1)
    }

    @Test func aurocCountsTiesHalf() {
        #expect(ConfidenceReport.auroc(positive: [0.9, 0.8], negative: [0.1]) == 1)
        #expect(ConfidenceReport.auroc(positive: [0.5], negative: [0.5]) == 0.5)
        #expect(ConfidenceReport.auroc(positive: [0.1], negative: [0.9, 0.2]) == 0)
        #expect(ConfidenceReport.auroc(positive: [], negative: [0.2]) == nil)
    }

    /// Over-confident probabilities (the right class half the time at 0.9) get T > 1, and the
    /// fitted T is the log-loss minimum; the order of the classes never changes.
    @Test func temperatureScalingFindsTheMinimum() {
        var rng = SeededGenerator(seed: 7)
        var truth: [Int] = [], p: [[Double]] = []
        for _ in 0 ..< 400 {
            let predicted = Int(rng.next() % 4)
            let right = rng.next() % 2 == 0
            truth.append(right ? predicted : (predicted + 1) % 4)
            p.append((0 ..< 4).map { $0 == predicted ? 0.9 : 0.1 / 3 })
        }
        let calibration = Calibration.fitTemperature(truth: truth, probabilities: p)
        #expect(calibration.temperature > 1)
        func loss(_ c: Calibration) -> Double {
            ConfidenceReport(truth: truth, probabilities: p.map(c.applied)).logLoss
        }
        let best = loss(calibration)
        #expect(best < loss(.identity))
        #expect(best <= loss(Calibration(temperature: calibration.temperature * 1.01)))
        #expect(best <= loss(Calibration(temperature: calibration.temperature / 1.01)))
        // Calibrated confidence of the top class ≈ its accuracy (0.5).
        let top = calibration.applied(p[0]).max() ?? 0
        #expect(abs(top - 0.5) < 0.05, "\(top)")
        for row in p.prefix(20) { #expect(Ranking.argmax(calibration.applied(row)) == Ranking.argmax(row)) }
        #expect(Calibration.identity.applied([0.2, 0.8]) == [0.2, 0.8])
        let sums = calibration.applied([0.7, 0.2, 0.1]).reduce(0, +)
        #expect(abs(sums - 1) < 1e-12)
    }

    @Test func temperatureStaysInItsBracket() {
        // Always right at 0.6: the sharper the better, up to the bracket's end (T = 0.01).
        let sharp = Calibration.fitTemperature(truth: [0, 1], probabilities: [[0.6, 0.4], [0.4, 0.6]])
        #expect(abs(sharp.temperature - 0.01) < 1e-9)
        #expect(Calibration.fitTemperature(truth: [], probabilities: []) == .identity)
    }

    /// Every row gets a prediction from a fit that did not see it; deterministic; a class too
    /// small for the folds is reported, not predicted.
    @Test func outOfFoldPredictsEveryRowOnce() throws {
        var messages = Array(try Demo.messages("train").prefix(200))
        messages.append(LabeledMessage(id: "rare-1", subject: "x", body: "a rare thing", label: "zz-rare", line: 9001))
        let fit = try PipelineFit(messages: messages, stopWordDirectories: Demo.stopwords)
        var settings = PipelineSettings()
        settings.clf = .logisticRegression(LogisticRegression())
        let oof = try fit.outOfFold(settings, folds: 4, seed: 1)
        #expect(oof.rows == Array(0 ..< 200))
        #expect(oof.skipped.map(\.label) == ["zz-rare"])
        #expect(oof.probabilities.allSatisfy { $0.count == fit.labels.classes.count && abs($0.reduce(0, +) - 1) < 1e-9 })
        let again = try fit.outOfFold(settings, folds: 4, seed: 1, threads: 1)
        #expect(again.probabilities == oof.probabilities)
        // Out of fold is harder than in sample.
        let inSample = try fit.fit(settings).pipeline.predictProbabilities(messages.prefix(200).map(\.message))
        let oofAccuracy = ConfidenceReport(truth: oof.truth, probabilities: oof.probabilities).accuracy
        let inAccuracy = ConfidenceReport(truth: oof.truth, probabilities: inSample).accuracy
        #expect(oofAccuracy < inAccuracy)
    }
}

@Suite("Confidence policy")
struct ConfidencePolicyTests {
    /// 1,000 synthetic out-of-fold predictions over 3 labels ("a", "b", "oos"): confidence
    /// spread evenly, right with a probability that grows with it; every 10th is out of scope.
    static func oof(seed: UInt64 = 3) -> OutOfFold {
        var rng = SeededGenerator(seed: seed)
        var truth: [Int] = [], p: [[Double]] = []
        for i in 0 ..< 1000 {
            let top = 0.4 + 0.6 * Double(rng.next() % 1000) / 1000
            let predicted = Int(rng.next() % 2)
            let right = Double(rng.next() % 1000) / 1000 < top
            truth.append(i % 10 == 0 ? 2 : (right ? predicted : 1 - predicted))
            var row = [0.0, 0.0, 0.0]
            row[predicted] = top
            row[1 - predicted] = (1 - top) * 0.7
            row[2] = (1 - top) * 0.3
            p.append(row)
        }
        return OutOfFold(rows: Array(0 ..< 1000), truth: truth, probabilities: p, folds: 5, seed: 0, skipped: [])
    }

    static let labels = ["a", "b", "oos"]

    @Test func aPrecisionGoalIsMetOnTheEvidence() throws {
        let policy = try ConfidencePolicy.choose(Self.oof(), labels: Self.labels, goal: .precision(0.8))
        let evidence = try #require(policy.evidence)
        #expect(evidence.precision >= 0.8 && evidence.coverage > 0.1 && evidence.coverage < 0.9, "\(evidence)")
        #expect(evidence.eceAfter <= evidence.eceBefore + 1e-12 || evidence.logLossAfter <= evidence.logLossBefore)
        #expect(evidence.logLossAfter <= evidence.logLossBefore + 1e-12)
        // A stricter goal accepts less.
        let stricter = try ConfidencePolicy.choose(Self.oof(), labels: Self.labels, goal: .precision(0.85))
        #expect(stricter.threshold > policy.threshold && (stricter.evidence?.coverage ?? 1) < evidence.coverage)
        // Round trip through JSON.
        let json = try JSONValueEncoder().encode(policy)
        #expect(try StrictJSONDecoder().decode(ConfidencePolicy.self, from: json) == policy)
    }

    /// Per-class thresholds: each label with enough out-of-fold predictions meets the target on
    /// its own; the rest keep the global threshold; the rules resolve them by label.
    @Test func perClassThresholdsMeetTheTargetPerLabel() throws {
        let oof = Self.oof()
        let policy = try ConfidencePolicy.choose(oof, labels: Self.labels, goal: .precision(0.8), scope: .perClass(minimum: 50))
        let byClass = try #require(policy.classThresholds)
        #expect(Set(byClass.keys) == ["a", "b"])   // "oos" is never predicted
        let evidence = try #require(policy.evidence)
        #expect(evidence.precision >= 0.8)
        let calibrated = oof.probabilities.map(policy.calibration.applied)
        for (c, label) in ["a", "b"].enumerated() {
            let rows = calibrated.indices.filter { Ranking.argmax(calibrated[$0]) == c && calibrated[$0][c] >= (byClass[label] ?? 2) }
            let right = rows.filter { oof.truth[$0] == c }.count
            #expect(Double(right) >= 0.8 * Double(rows.count), "\(label): \(right) of \(rows.count)")
        }
        // Too little evidence: the global threshold only.
        let sparse = try ConfidencePolicy.choose(oof, labels: Self.labels, goal: .precision(0.8), scope: .perClass(minimum: 10_000))
        #expect(sparse.classThresholds == [:] && sparse.thresholds(labels: Self.labels) == nil)
        // The rules use a label's own threshold; an override replaces them all.
        var manual = ConfidencePolicy.manual(0.5)
        manual.classThresholds = ["b": 0.9]
        let rules = ConfidenceRules(policy: manual, byClass: manual.thresholds(labels: Self.labels), oosIndex: nil)
        #expect(rules.reason([0.2, 0.8, 0.0]) == .lowConfidence && rules.reason([0.8, 0.2, 0.0]) == nil)
        #expect(manual.thresholds(labels: Self.labels) == [0.5, 0.9, 0.5])
        var bad = manual
        bad.classThresholds = ["zz": 0.5]
        #expect(throws: PolicyError.self) { try bad.validate(labels: Self.labels) }
        bad.classThresholds = ["a": 1.5]
        #expect(throws: PolicyError.self) { try bad.validate(labels: Self.labels) }
    }

    @Test func anUnreachableTargetSaysWhatIsReachable() {
        // The most confident message is wrong; the best cut is the first three (2 of 3 right).
        let oof = OutOfFold(rows: [0, 1, 2, 3, 4], truth: [1, 0, 0, 1, 1],
                            probabilities: [[0.95, 0.05], [0.9, 0.1], [0.85, 0.15], [0.8, 0.2], [0.7, 0.3]], folds: 2, seed: 0, skipped: [])
        do {
            _ = try ConfidencePolicy.choose(oof, labels: ["a", "b"], goal: .precision(0.9), calibrate: false)
            Issue.record("a 90 % goal was met")
        } catch let error {
            guard case let .unreachable(target, best, coverage) = error else { Issue.record("\(error)"); return }
            #expect(target == 0.9 && abs(best - 2.0 / 3.0) < 1e-12 && coverage == 0.6)
            #expect(error.description.contains("the best is 66.67 % at 60.0 % coverage"), "\(error)")
        }
    }

    @Test func aCoverageGoalAcceptsThatShare() throws {
        let policy = try ConfidencePolicy.choose(Self.oof(), labels: Self.labels, goal: .coverage(0.6))
        let coverage = try #require(policy.evidence?.coverage)
        #expect(abs(coverage - 0.6) < 0.01, "\(coverage)")
    }

    @Test func outOfScopeMessagesAreNeverRouted() throws {
        #expect(throws: PolicyError.unknownOOSLabel("other", present: Self.labels)) {
            try ConfidencePolicy.choose(Self.oof(), labels: Self.labels, goal: .precision(0.9), oosLabel: "other")
        }
        let policy = try ConfidencePolicy.choose(Self.oof(), labels: Self.labels, goal: .precision(0.9), oosLabel: "oos")
        #expect(policy.reason([0.1, 0.2, 0.7], oosIndex: 2) == .outOfScope)
        #expect(policy.reason([0.99, 0.005, 0.005], oosIndex: 2) == nil)
        #expect(policy.reason([policy.threshold / 2, 0.0, 1 - policy.threshold / 2], oosIndex: nil) == nil || policy.threshold > 0.5)
    }

    /// Out of fold, an out-of-scope message predicted in scope and routed counts as wrong; one
    /// predicted out of scope is not routed at all.
    @Test func outOfScopeEvidenceCountsRoutedOutOfScopeAsWrong() throws {
        // Labels a, b, oos. Rows: a→a (0.9), oos predicted a (0.8), oos predicted oos (0.7), b→b (0.6).
        let oof = OutOfFold(rows: [0, 1, 2, 3], truth: [0, 2, 2, 1],
                            probabilities: [[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.2, 0.1, 0.7], [0.3, 0.6, 0.1]], folds: 2, seed: 0, skipped: [])
        let all = try ConfidencePolicy.choose(oof, labels: Self.labels, goal: .coverage(1), oosLabel: "oos", calibrate: false)
        let evidence = try #require(all.evidence)
        // Routed: rows 0, 1, 3 (row 2 is out of scope); right: rows 0 and 3.
        #expect(abs(evidence.coverage - 0.75) < 1e-12 && abs(evidence.precision - 2.0 / 3.0) < 1e-12, "\(evidence)")
        let strict = try ConfidencePolicy.choose(oof, labels: Self.labels, goal: .precision(1), oosLabel: "oos", calibrate: false)
        #expect(strict.threshold == 0.9 && strict.evidence?.coverage == 0.25)
    }

    @Test func rulesApplyInOrder() {
        let policy = ConfidencePolicy(goal: .manual(0.5), threshold: 0.5, margin: 0.2, oosLabel: "oos")
        #expect(policy.reason([0.1, 0.1, 0.8], oosIndex: 2) == .outOfScope)
        #expect(policy.reason([0.45, 0.3, 0.25], oosIndex: 2) == .lowConfidence)
        #expect(policy.reason([0.55, 0.45, 0.0], oosIndex: 2) == .ambiguous)
        #expect(policy.reason([0.75, 0.25, 0.0], oosIndex: 2) == nil)
        // Ties: the first label wins, the margin is 0.
        #expect(policy.reason([0.5, 0.5, 0.0], oosIndex: 2) == .ambiguous)
        #expect(ConfidencePolicy.manual(0.3).reason([0.35, 0.65], oosIndex: nil) == nil)
        #expect(ConfidencePolicy.manual(0.7).reason([0.35, 0.65], oosIndex: nil) == .lowConfidence)
    }

    @Test func filesCannotHoldAnInvalidPolicy() throws {
        let bad = [
            #"{"calibration":{"method":"temperature","temperature":1},"goal":{"kind":"precision","value":1.5},"threshold":0.5}"#,
            #"{"calibration":{"method":"temperature","temperature":1},"goal":{"kind":"luck","value":0.5},"threshold":0.5}"#,
            #"{"calibration":{"method":"platt","temperature":1},"goal":{"kind":"manual","value":0.5},"threshold":0.5}"#,
        ]
        for text in bad {
            #expect(throws: (any Error).self) { try StrictJSONDecoder().decode(ConfidencePolicy.self, from: try JSONParser.parse(text)) }
        }
        var policy = ConfidencePolicy.manual(0.5)
        policy.calibration.temperature = 0
        #expect(throws: PolicyError.self) { try policy.validate(labels: ["a"]) }
        policy = .manual(0.5)
        policy.margin = 2
        #expect(throws: PolicyError.self) { try policy.validate(labels: ["a"]) }
        policy = .manual(0.5)
        policy.oosLabel = "x"
        #expect(throws: PolicyError.unknownOOSLabel("x", present: ["a"])) { try policy.validate(labels: ["a"]) }
    }
}

@Suite("Open set")
struct OpenSetTests {
    /// By hand: 4 in-scope messages over 2 classes and 2 out-of-scope ones, threshold 0.6.
    @Test func definitionsByHand() throws {
        let inScope: [[Double]] = [[0.9, 0.1], [0.3, 0.7], [0.55, 0.45], [0.8, 0.2]]   // routed right, routed right, rejected, routed wrong
        let truth = [0, 1, 0, 1]
        let outOfScope: [[Double]] = [[0.5, 0.5], [0.95, 0.05]]                        // rejected, routed
        let r = OpenSetReport(truth: truth, inScope: inScope, outOfScope: outOfScope, classCount: 2) { ($0.max() ?? 0) >= 0.6 }
        #expect(r.inScopeAccuracy == 0.5 && r.closedAccuracy == 0.75)
        #expect(r.oosRecall == 0.5 && r.oosPrecision == 0.5)
        // Answers: 0, 1, open, 0 | open, 0. Truth: 0, 1, 0, 1 | open, open.
        // F1: class 0: tp 1, predicted 3, actual 2 → 0.4; class 1: tp 1, predicted 1, actual 2 → 2/3; open: tp 1, predicted 2, actual 2 → 0.5.
        #expect(abs(r.macroF1 - (0.4 + 2.0 / 3.0 + 0.5) / 3) < 1e-12)
        // AUROC: in-scope scores 0.9, 0.7, 0.55, 0.8 vs 0.5, 0.95: 4 + 0 pairs won of 8 → 0.5.
        #expect(r.auroc == 0.5)
        #expect(r.riskCoverage.count == 10 && r.riskCoverage.last?.accuracy == 0.5)
        // An out-of-scope label is never routed, and in-scope messages predicted as it are errors.
        let withLabel = OpenSetReport(truth: [0], inScope: [[0.2, 0.8]], outOfScope: [[0.1, 0.9]], classCount: 2, oosIndex: 1) { _ in true }
        #expect(withLabel.oosRecall == 1 && withLabel.inScopeAccuracy == 0)
        // Its probability is no evidence of being in scope: the score is the top probability of
        // the other labels (0.7 and 0.6 in scope vs 0.3 and 0.05 out of scope: AUROC 1).
        let scored = OpenSetReport(truth: [0, 1], inScope: [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1]], outOfScope: [[0.3, 0.1, 0.6], [0.05, 0.0, 0.95]],
                                   classCount: 3, oosIndex: 2) { _ in true }
        #expect(scored.auroc == 1 && scored.oosRecall == 1)
    }
}
