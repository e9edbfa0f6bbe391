import Foundation
import TriageCore

/// A model measured on an open set: labelled messages of its classes (in scope) and messages that
/// belong to none of them (out of scope), with its confidence policy deciding what is routed.
///
/// - **In-scope accuracy**: in-scope messages routed to their label, over all in-scope messages
///   (one left to a person counts as an error).
/// - **Out-of-scope recall**: out-of-scope messages not routed, over all out-of-scope messages;
///   **precision**: out-of-scope messages among all messages not routed.
/// - **Macro-F1 over known + open** (the open-intent protocol of Zhang, Xu & Lin, AAAI 2021): each
///   message's prediction is its routed label, or "open" when not routed; the truth of an
///   out-of-scope message is "open"; F1 averaged over the known classes and open.
/// - **AUROC**: the calibrated top probability as a score separating in-scope (positive) from
///   out-of-scope messages (for a model trained with an out-of-scope label, the top probability
///   of the other labels: a confident "out of scope" is a low score).
/// - **Risk–coverage**: all messages sorted most confident first; at each coverage, the accuracy of
///   the accepted ones (an out-of-scope message accepted is wrong).
public struct OpenSetReport: Sendable, Equatable {
    public var inScope: Int
    public var outOfScope: Int
    public var inScopeAccuracy: Double
    /// In-scope accuracy with no message left to a person (the plain accuracy).
    public var closedAccuracy: Double
    public var oosRecall: Double
    public var oosPrecision: Double
    public var macroF1: Double
    public var auroc: Double?
    public var riskCoverage: [ConfidenceReport.CoveragePoint]

    /// - Parameters:
    ///   - truth: the class index of each in-scope message.
    ///   - inScope: the (calibrated) probabilities of the in-scope messages.
    ///   - outOfScope: those of the out-of-scope messages.
    ///   - routed: whether the policy routes a message, from its probabilities.
    public init(truth: [Int], inScope: [[Double]], outOfScope: [[Double]], classCount: Int, oosIndex: Int? = nil,
                routed: ([Double]) -> Bool) {
        precondition(truth.count == inScope.count)
        self.inScope = inScope.count
        self.outOfScope = outOfScope.count
        // Per-class counts for F1: classes 0 ..< classCount, then "open" at classCount.
        let open = classCount
        // How much a message looks in scope: its top probability, the out-of-scope label's left out.
        func score(_ p: [Double]) -> Double {
            var best = 0.0
            for (c, x) in p.enumerated() where c != oosIndex && x > best { best = x }
            return best
        }
        var tp = [Int](repeating: 0, count: classCount + 1), predicted = tp, actual = tp
        var routedRight = 0, right = 0
        var confidences: [Double] = [], correct: [Bool] = []
        for (p, t) in zip(inScope, truth) {
            let best = Ranking.argmax(p)
            if best == t { right += 1 }
            let isRouted = routed(p) && best != oosIndex
            let answer = isRouted ? best : open
            if isRouted && best == t { routedRight += 1 }
            actual[t] += 1
            predicted[answer] += 1
            if answer == t { tp[t] += 1 }
            confidences.append(score(p))
            correct.append(best == t && best != oosIndex)
        }
        var rejected = 0
        for p in outOfScope {
            let best = Ranking.argmax(p)
            let isRouted = routed(p) && best != oosIndex
            let answer = isRouted ? best : open
            actual[open] += 1
            predicted[answer] += 1
            if answer == open {
                tp[open] += 1
                rejected += 1
            }
            confidences.append(score(p))
            correct.append(false)
        }
        let notRouted = predicted[open]
        inScopeAccuracy = inScope.isEmpty ? 0 : Double(routedRight) / Double(inScope.count)
        closedAccuracy = inScope.isEmpty ? 0 : Double(right) / Double(inScope.count)
        oosRecall = outOfScope.isEmpty ? 0 : Double(rejected) / Double(outOfScope.count)
        oosPrecision = notRouted == 0 ? 0 : Double(rejected) / Double(notRouted)
        // F1 over the classes that occur in the truth (known classes with messages, and open).
        var f1s: [Double] = []
        for c in 0 ... classCount where actual[c] > 0 && c != oosIndex {
            let denominator = predicted[c] + actual[c]
            f1s.append(denominator == 0 ? 0 : 2 * Double(tp[c]) / Double(denominator))
        }
        macroF1 = f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count)
        let inScores = inScope.map(score), outScores = outOfScope.map(score)
        auroc = ConfidenceReport.auroc(positive: inScores, negative: outScores)
        let curve = RiskCoverage(confidences: confidences, right: correct)
        riskCoverage = (1 ... 10).compactMap { curve.point(coverage: Double($0) / 10) }
    }

    public var json: JSONValue {
        func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
        return [
            "in_scope": .number(JSONNumber(inScope)), "out_of_scope": .number(JSONNumber(outOfScope)),
            "in_scope_accuracy": num(inScopeAccuracy), "closed_accuracy": num(closedAccuracy),
            "oos_recall": num(oosRecall), "oos_precision": num(oosPrecision), "macro_f1_known_and_open": num(macroF1),
            "auroc": auroc.map(num) ?? .null,
            "risk_coverage": .array(riskCoverage.map {
                ["coverage": num($0.coverage), "accuracy": num($0.accuracy), "threshold": num($0.threshold), "accepted": .number(JSONNumber($0.accepted))]
            }),
        ]
    }

    public func text() -> String {
        func pct(_ x: Double) -> String { String(format: "%.2f %%", 100 * x) }
        var lines = [
            "open set: \(inScope) in-scope and \(outOfScope) out-of-scope messages",
            "  in-scope accuracy \(pct(inScopeAccuracy)) (a message left to a person counts as wrong; \(pct(closedAccuracy)) if every message were routed)",
            "  out-of-scope recall \(pct(oosRecall)), precision \(pct(oosPrecision)); macro-F1 over known + open \(String(format: "%.4f", macroF1))",
            "  AUROC of the top probability, in scope vs out of scope: " + (auroc.map { String(format: "%.4f", $0) } ?? "n/a"),
            "", "risk–coverage over both (an out-of-scope message accepted is wrong):", "  coverage  accuracy  threshold  accepted",
        ]
        for c in riskCoverage {
            lines.append(String(format: "  %7.1f%%  %7.2f%%  %9.4f  %8d", 100 * c.coverage, 100 * c.accuracy, c.threshold, c.accepted))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
