import Foundation
import Testing
import TriageCore
@testable import TriageModel

/// Confident learning on out-of-fold probabilities built by hand (the whole chain on a real
/// corpus runs in the CLI tests; the comparison with cleanlab in scripts/bench-label-audit).
@Suite("LabelAudit")
struct LabelAuditTests {
    /// Three labels, ten rows each, every row confidently right, then `wrong` rows labelled 0
    /// whose probabilities say 1.
    static func probabilities(wrong: [(row: Int, p1: Double)]) -> (truth: [Int], p: [[Double]]) {
        var truth: [Int] = [], p: [[Double]] = []
        for c in 0 ..< 3 {
            for r in 0 ..< 10 {
                truth.append(c)
                var row = [0.05, 0.05, 0.05]
                row[c] = 0.9 - 0.01 * Double(r)
                let rest = (1 - row[c]) / 2
                for j in 0 ..< 3 where j != c { row[j] = rest }
                p.append(row)
            }
        }
        for (row, p1) in wrong { p[row] = [0.95 - p1, p1, 0.05] }
        return (truth, p)
    }

    @Test func flagsTheContradictedRowsLeastSelfConfidentFirst() {
        // t_1 is 0.855 (the mean of 0.9 … 0.81): 0.9 and 0.88 are confidently label 1.
        let (truth, p) = Self.probabilities(wrong: [(3, 0.9), (7, 0.88)])
        let audit = LabelAudit(rows: Array(100 ..< 130), truth: truth, probabilities: p, classCount: 3)
        #expect(audit.audited == 30)
        #expect(audit.suspects.map(\.row) == [103, 107])
        #expect(audit.suspects.allSatisfy { $0.label == 0 && $0.suggested == 1 })
        #expect(abs(audit.suspects[0].selfConfidence - 0.05) < 1e-12 && abs(audit.suspects[0].suggestedProbability - 0.9) < 1e-12)
        #expect(audit.labels[0].flagged == 2 && audit.labels[1].flagged == 0)
        #expect(abs(audit.labels[0].estimatedNoise - 0.2) < 1e-12 && audit.labels[1].estimatedNoise == 0)
        #expect(abs(audit.estimatedNoise - 2.0 / 30) < 1e-12)
        // t_0: the mean probability of label 0 over its rows.
        var selfConfidences: [Double] = (0 ..< 10).map { 0.9 - 0.01 * Double($0) }
        selfConfidences[3] = 0.05
        selfConfidences[7] = 0.07
        let expected = selfConfidences.reduce(0, +) / 10
        #expect(abs(audit.labels[0].threshold - expected) < 1e-12)
    }

    @Test func aRowWhoseOwnLabelIsMostProbableIsNeverFlagged() {
        // Label 2's rows are unsure (t_2 = 0.4), so label 0's row 5 at 0.45 is confidently label 2
        // and the joint moves one row of label 0 there; but its own label is still the most probable.
        let (truth, base) = Self.probabilities(wrong: [])
        var p = base
        for r in 20 ..< 30 { p[r] = [0.3, 0.3, 0.4] }
        p[5] = [0.55, 0, 0.45]
        let audit = LabelAudit(rows: Array(0 ..< 30), truth: truth, probabilities: p, classCount: 3)
        #expect(audit.labels[0].estimatedNoise > 0)
        #expect(audit.suspects.isEmpty)
    }

    @Test func cleanDataAndEdgeCases() {
        let (truth, p) = Self.probabilities(wrong: [])
        let clean = LabelAudit(rows: Array(0 ..< 30), truth: truth, probabilities: p, classCount: 3)
        #expect(clean.suspects.isEmpty && clean.estimatedNoise == 0)
        // A label without rows (a fourth class) is reported with none and never suggested.
        let wide = LabelAudit(rows: Array(0 ..< 30), truth: truth, probabilities: p.map { $0 + [0] }, classCount: 4)
        #expect(wide.labels.count == 4 && wide.labels[3].rows == 0 && wide.labels[3].threshold == 0)
        let empty = LabelAudit(rows: [], truth: [], probabilities: [], classCount: 2)
        #expect(empty.audited == 0 && empty.suspects.isEmpty && empty.estimatedNoise == 0)
        // A label with one row keeps it, whatever its probabilities say.
        let single = LabelAudit(rows: [0, 1, 2], truth: [0, 1, 1], probabilities: [[0.1, 0.9], [0.1, 0.9], [0.2, 0.8]], classCount: 2)
        #expect(single.suspects.isEmpty)
    }
}

@Suite("Population stability")
struct PopulationStabilityTests {
    @Test func theIndexByHand() {
        // Same shares: 0.
        #expect(abs(PopulationStability(expected: ["a": 50, "b": 50], actual: ["a": 5, "b": 5]).value) < 1e-12)
        // Smoothed shares: expected (50.5/101, 50.5/101), actual (9.5/11, 1.5/11).
        let psi = PopulationStability(expected: ["a": 50, "b": 50], actual: ["a": 9, "b": 1])
        let e = 50.5 / 101, a1 = 9.5 / 11, a2 = 1.5 / 11
        #expect(abs(psi.value - ((a1 - e) * log(a1 / e) + (a2 - e) * log(a2 / e))) < 1e-12)
        #expect(psi.categories.map(\.name) == ["b", "a"])   // b: 0.47, a: 0.20
        #expect(psi.categories[0].contribution >= psi.categories[1].contribution && psi.level == "large" && psi.observed == 10)
        // A category never seen in training is finite and counted.
        let new = PopulationStability(expected: ["a": 10], actual: ["a": 5, "z": 5])
        #expect(new.value.isFinite && new.value > 0.25 && new.categories.first?.name == "z")
        // Nothing observed: nothing to compare.
        let none = PopulationStability(expected: ["a": 10], actual: [:])
        #expect(none.value == 0 && none.categories.isEmpty && none.level == "none")
    }
}

@Suite("Promotion gate")
struct PromotionGateTests {
    @Test func rulesAreReadAndMistakesNamed() throws {
        let gate = try PromotionGate(parsing: PromotionGate.defaultText)
        #expect(gate.rules == [.init(metric: .macroF1, op: .atLeast, value: -0.002), .init(metric: .classF1, op: .atLeast, value: -0.05)])
        #expect(try PromotionGate(parsing: " accuracy > 0 , weighted_f1<=0.5").rules.map(\.op) == [.above, .atMost])
        for (text, part) in [("macro_f1>=x", "macro_f1>=x"), ("f1>=0", "f1>=0"), ("accuracy", "accuracy"), ("accuracy>0,", ""), ("macro_f1>=inf", "macro_f1>=inf")] {
            #expect { _ = try PromotionGate(parsing: text) } throws: { ($0 as? GateError).map { if case let .malformed(p, _) = $0 { p == part } else { false } } ?? false }
        }
    }

    @Test func mcnemarIsTheExactBinomialTail() {
        #expect(ModelComparison.mcnemarExact(0, 0) == 1)
        #expect(abs(ModelComparison.mcnemarExact(0, 5) - 2.0 / 32) < 1e-12)
        #expect(abs(ModelComparison.mcnemarExact(9, 1) - 2.0 * 11 / 1024) < 1e-12)
        #expect(ModelComparison.mcnemarExact(3, 3) == 1)
    }
}
