import Foundation
import TriageCore

/// A champion and a candidate measured on the same labelled messages, paired message by message.
public struct ModelComparison: Sendable {
    /// What the messages are ("frozen evaluation file x.csv", "held-out relabels").
    public let name: String
    /// Messages compared: those whose label both models know.
    public let messages: Int
    public let champion: ClassificationReport
    public let candidate: ClassificationReport
    /// McNemar's test on the paired right/wrong: champion right and candidate wrong (`b`), the
    /// other way (`c`), and the exact two-sided p-value (binomial, n = b + c, ½).
    public let championOnlyRight: Int
    public let candidateOnlyRight: Int
    public let mcnemarP: Double

    public var accuracyDelta: Double { candidate.accuracy - champion.accuracy }
    public var macroF1Delta: Double { candidate.macro.f1 - champion.macro.f1 }
    public var weightedF1Delta: Double { candidate.weighted.f1 - champion.weighted.f1 }

    /// Per label both reports score with support: candidate F1 − champion F1, worst first.
    public var classF1Deltas: [(label: String, delta: Double)] {
        let mine = Dictionary(champion.perClass.filter { $0.support > 0 }.map { ($0.label, $0.f1) }, uniquingKeysWith: { a, _ in a })
        return candidate.perClass.compactMap { c in mine[c.label].map { (c.label, c.f1 - $0) } }
            .sorted { $0.delta != $1.delta ? $0.delta < $1.delta : $0.label < $1.label }
    }

    public init(name: String, champion: FittedPipeline, candidate: FittedPipeline, on all: [LabeledMessage], threads: Int? = nil) {
        self.name = name
        let shared = Set(champion.labels).intersection(candidate.labels)
        let kept = all.filter { shared.contains($0.label ?? "") }
        messages = kept.count
        func measure(_ pipeline: FittedPipeline) -> (report: ClassificationReport, right: [Bool]) {
            let truth = LabelEncoder(classes: pipeline.labels).encode(kept)
            let predicted = pipeline.predictProbabilities(kept.map(\.message), threads: threads).map(Ranking.argmax)
            return (ClassificationReport(labels: pipeline.labels, truth: truth, predicted: predicted), zip(truth, predicted).map { $0 == $1 })
        }
        let a = measure(champion), b = measure(candidate)
        self.champion = a.report
        self.candidate = b.report
        championOnlyRight = zip(a.right, b.right).filter { $0 && !$1 }.count
        candidateOnlyRight = zip(a.right, b.right).filter { !$0 && $1 }.count
        mcnemarP = Self.mcnemarExact(championOnlyRight, candidateOnlyRight)
    }

    /// Exact McNemar p-value: twice the binomial(b + c, ½) tail at min(b, c), at most 1.
    static func mcnemarExact(_ b: Int, _ c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        let k = min(b, c)
        let logHalf = Double(n) * log(0.5)
        var tail = 0.0
        for i in 0 ... k {
            tail += exp(lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1)) + logHalf)
        }
        return min(1, 2 * tail)
    }

    public var json: JSONValue {
        func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
        func scores(_ r: ClassificationReport) -> JSONValue {
            ["accuracy": num(r.accuracy), "macro_f1": num(r.macro.f1), "weighted_f1": num(r.weighted.f1)]
        }
        return [
            "name": .string(name), "messages": .number(JSONNumber(messages)), "champion": scores(champion), "candidate": scores(candidate),
            "delta": ["accuracy": num(accuracyDelta), "macro_f1": num(macroF1Delta), "weighted_f1": num(weightedF1Delta)],
            "class_f1_delta": .object(JSONObject(classF1Deltas.map { ($0.label, num($0.delta)) })),
            "mcnemar": ["champion_only_right": .number(JSONNumber(championOnlyRight)), "candidate_only_right": .number(JSONNumber(candidateOnlyRight)),
                        "p": num(mcnemarP)],
        ]
    }
}

/// Rules a candidate must meet against its champion, as candidate − champion deltas:
/// `"macro_f1>=-0.002,class_f1>=-0.05"` — macro-F1 may drop by at most 0.002 and no label's F1
/// by more than 0.05. Metrics: `accuracy`, `macro_f1`, `weighted_f1`, `class_f1` (the worst
/// label's delta); operators `>=`, `>`, `<=`, `<`.
public struct PromotionGate: Sendable, Equatable, CustomStringConvertible {
    public enum Metric: String, Sendable, CaseIterable { case accuracy, macroF1 = "macro_f1", weightedF1 = "weighted_f1", classF1 = "class_f1" }
    public enum Operator: String, Sendable, CaseIterable { case atLeast = ">=", above = ">", atMost = "<=", below = "<" }

    public struct Rule: Sendable, Equatable {
        public var metric: Metric
        public var op: Operator
        public var value: Double

        func holds(_ x: Double) -> Bool {
            switch op {
            case .atLeast: x >= value
            case .above: x > value
            case .atMost: x <= value
            case .below: x < value
            }
        }
    }

    public let rules: [Rule]
    /// The documented default: macro-F1 no more than 0.002 lower, no label's F1 more than 0.05 lower.
    public static let defaultText = "macro_f1>=-0.002,class_f1>=-0.05"

    public init(parsing text: String) throws(GateError) {
        var rules: [Rule] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard !part.isEmpty else { throw .malformed(part: part, why: "an empty rule (two commas, or one at an end)") }
            // The longest operator first: ">=" before ">".
            guard let op = [Operator.atLeast, .atMost, .above, .below].first(where: { part.contains($0.rawValue) }),
                  let range = part.range(of: op.rawValue) else {
                throw .malformed(part: part, why: "no comparison (>=, >, <=, <)")
            }
            let name = part[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let number = part[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let metric = Metric(rawValue: name) else {
                throw .malformed(part: part, why: "unknown metric \"\(name)\" (\(Metric.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let value = Double(number), value.isFinite else { throw .malformed(part: part, why: "\"\(number)\" is not a number") }
            rules.append(Rule(metric: metric, op: op, value: value))
        }
        self.rules = rules
    }

    public var description: String { rules.map { "\($0.metric.rawValue)\($0.op.rawValue)\($0.value)" }.joined(separator: ",") }

    /// Each rule on `comparison`: the observed delta and whether it holds.
    public func check(_ comparison: ModelComparison) -> [(rule: Rule, observed: Double, holds: Bool)] {
        rules.map { rule in
            let observed: Double = switch rule.metric {
            case .accuracy: comparison.accuracyDelta
            case .macroF1: comparison.macroF1Delta
            case .weightedF1: comparison.weightedF1Delta
            case .classF1: comparison.classF1Deltas.first?.delta ?? 0
            }
            return (rule, observed, rule.holds(observed))
        }
    }
}

public enum GateError: Error, Equatable, CustomStringConvertible {
    case malformed(part: String, why: String)

    public var description: String {
        switch self {
        case let .malformed(part, why): "--gate: cannot read \"\(part)\": \(why); write e.g. \(PromotionGate.defaultText)"
        }
    }
}

/// The promotion decision: the comparisons and the gate on each (all must hold).
public struct PromotionReport: Sendable {
    public let comparisons: [ModelComparison]
    public let gate: PromotionGate
    public let championID: String
    public let candidateID: String

    public init(comparisons: [ModelComparison], gate: PromotionGate, championID: String, candidateID: String) {
        self.comparisons = comparisons
        self.gate = gate
        self.championID = championID
        self.candidateID = candidateID
    }

    /// Every rule holds on every comparison with messages.
    public var passed: Bool { comparisons.filter { $0.messages > 0 }.allSatisfy { gate.check($0).allSatisfy(\.holds) } }

    public var json: JSONValue {
        func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
        return [
            "champion": .string(championID), "candidate": .string(candidateID), "gate": .string(gate.description), "passed": .bool(passed),
            "comparisons": .array(comparisons.map { c in
                var o = c.json.objectValue ?? JSONObject()
                o["gate"] = .array(gate.check(c).map {
                    ["rule": .string("\($0.rule.metric.rawValue)\($0.rule.op.rawValue)\($0.rule.value)"), "observed": num($0.observed), "holds": .bool($0.holds)]
                })
                return .object(o)
            }),
        ]
    }

    public var text: String {
        func pct(_ x: Double) -> String { String(format: "%.2f %%", 100 * x) }
        func signed(_ x: Double) -> String { String(format: "%+.4f", x) }
        // A model id (64 hex digits) is shortened; a description is not.
        func short(_ id: String) -> String { id.count == 64 ? id.prefix(16) + "…" : id }
        var lines = ["champion \(short(championID)), candidate \(short(candidateID)); gate \(gate)"]
        for c in comparisons {
            lines.append("")
            guard c.messages > 0 else {
                lines.append("\(c.name): no message with a label both models know; not judged")
                continue
            }
            lines.append("\(c.name): \(c.messages) messages")
            lines.append("  accuracy \(pct(c.champion.accuracy)) → \(pct(c.candidate.accuracy)) (\(signed(c.accuracyDelta))), macro-F1 "
                + String(format: "%.4f → %.4f", c.champion.macro.f1, c.candidate.macro.f1) + " (\(signed(c.macroF1Delta)))")
            lines.append("  McNemar: champion alone right on \(c.championOnlyRight), candidate alone on \(c.candidateOnlyRight), p = "
                + String(format: "%.3g", c.mcnemarP))
            let worst = c.classF1Deltas.prefix(3).map { "\($0.label) \(signed($0.delta))" }.joined(separator: ", ")
            if !worst.isEmpty { lines.append("  labels whose F1 fell most: \(worst)") }
            for check in gate.check(c) {
                lines.append("  \(check.holds ? "ok  " : "FAIL") \(check.rule.metric.rawValue) \(check.rule.op.rawValue) \(check.rule.value): \(signed(check.observed))")
            }
        }
        lines += ["", passed ? "gate passed: the candidate may replace the champion" : "gate refused: the champion stays"]
        return lines.joined(separator: "\n") + "\n"
    }
}
