import Foundation
import TriageCore

/// Classification metrics of predictions against true labels, with scikit-learn's definitions:
///
/// - precision_c = TP_c / (TP_c + FP_c), recall_c = TP_c / (TP_c + FN_c),
///   F1_c = 2·precision·recall / (precision + recall) = 2·TP / (2·TP + FP + FN);
/// - a ratio with a zero denominator takes `zeroDivision` (default 0, scikit-learn's value
///   after its warning), explicitly, instead of a warning;
/// - macro average: the plain mean over classes; weighted: weighted by support;
/// - balanced accuracy: the mean of per-class recall over classes with support;
/// - log loss: −mean log p(true label), probabilities clipped to [1e-15, 1 − 1e-15];
/// - top-k accuracy: the share of rows whose true label is among the k most probable.
public struct ClassificationReport: Sendable, Equatable {
    public struct ClassScores: Sendable, Equatable {
        public var label: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    public struct Average: Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    public var labels: [String]
    public var perClass: [ClassScores]
    public var accuracy: Double
    public var balancedAccuracy: Double
    public var macro: Average
    public var weighted: Average
    /// nil without probabilities.
    public var logLoss: Double?
    /// k → accuracy (without probabilities: empty).
    public var topK: [Int: Double]
    /// `confusion[true][predicted]` counts in `labels` order.
    public var confusion: [[Int]]
    public var count: Int
    /// Messages left out of every metric because the model does not know their label (label →
    /// count); set by `init(_:on:threads:)`.
    public var unknownLabels: [String: Int] = [:]

    /// Metrics of `predicted` against `truth` (indices into `labels`; a true index of -1 is a
    /// label the model does not know: it counts as an error for accuracy and recall, is left
    /// out of the per-class table and of balanced accuracy, and gets probability 0 in log loss).
    public init(labels: [String], truth: [Int], predicted: [Int], probabilities: [[Double]]? = nil,
                topK: [Int] = [3, 5], zeroDivision: Double = 0) {
        precondition(truth.count == predicted.count)
        let k = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var correct = 0
        for (t, p) in zip(truth, predicted) {
            if t == p { correct += 1 }
            if t >= 0 && t < k && p >= 0 && p < k { confusion[t][p] += 1 }
        }
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? zeroDivision : Double(a) / Double(b) }
        var perClass: [ClassScores] = []
        for c in 0 ..< k {
            let tp = confusion[c][c]
            let predictedC = (0 ..< k).reduce(0) { $0 + confusion[$1][c] } + zip(truth, predicted).filter { $0.0 < 0 && $0.1 == c }.count
            let support = truth.filter { $0 == c }.count
            let precision = ratio(tp, predictedC), recall = ratio(tp, support)
            let f1 = 2 * tp + (predictedC - tp) + (support - tp) == 0 ? zeroDivision : Double(2 * tp) / Double(2 * tp + (predictedC - tp) + (support - tp))
            perClass.append(ClassScores(label: labels[c], precision: precision, recall: recall, f1: f1, support: support))
        }
        let n = truth.count
        let totalSupport = perClass.reduce(0) { $0 + $1.support }
        func average(weighted: Bool) -> Average {
            let weights = perClass.map { weighted ? Double($0.support) : 1 }
            let total = weights.reduce(0, +)
            func mean(_ f: (ClassScores) -> Double) -> Double {
                total == 0 ? zeroDivision : zip(perClass, weights).reduce(0) { $0 + f($1.0) * $1.1 } / total
            }
            return Average(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1), support: totalSupport)
        }
        let withSupport = perClass.filter { $0.support > 0 }
        self.labels = labels
        self.perClass = perClass
        accuracy = n == 0 ? zeroDivision : Double(correct) / Double(n)
        balancedAccuracy = withSupport.isEmpty ? zeroDivision : withSupport.reduce(0) { $0 + $1.recall } / Double(withSupport.count)
        macro = average(weighted: false)
        weighted = average(weighted: true)
        self.confusion = confusion
        count = n
        if let probabilities {
            precondition(probabilities.count == n)
            logLoss = n == 0 ? nil : Self.logLossSum(truth: truth, probabilities: probabilities) / Double(n)
            var top: [Int: Double] = [:]
            for kk in topK where kk >= 1 && kk < k {
                let hits = zip(truth, probabilities).filter { t, p in
                    guard t >= 0 else { return false }
                    let order = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
                    return order.prefix(kk).contains(t)
                }.count
                top[kk] = n == 0 ? zeroDivision : Double(hits) / Double(n)
            }
            self.topK = top
        } else {
            logLoss = nil
            self.topK = [:]
        }
    }

    /// Σ −log p(true label) with the clipping of `logLoss` (a true index outside the row counts
    /// p = 0): the one log-loss sum of every report.
    static func logLossSum(truth: [Int], probabilities: [[Double]]) -> Double {
        var loss = 0.0
        for (t, p) in zip(truth, probabilities) {
            let q = t >= 0 && t < p.count ? p[t] : 0
            loss -= log(min(max(q, 1e-15), 1 - 1e-15))
        }
        return loss
    }

    /// The named metrics a grid search can rank by (scikit-learn's `scoring` names); higher is
    /// better for every one (`neg_log_loss` is the negated log loss).
    public static let scoringNames = ["accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "neg_log_loss"]

    /// The value of a `scoringNames` metric.
    public func score(_ name: String) -> Double? {
        switch name {
        case "accuracy": return accuracy
        case "balanced_accuracy": return balancedAccuracy
        case "f1_macro": return macro.f1
        case "f1_weighted": return weighted.f1
        case "neg_log_loss": return logLoss.map { -$0 }
        default: return nil
        }
    }

    /// Every scoring metric available, name → value.
    public var scores: [String: Double] {
        var out: [String: Double] = [:]
        for name in Self.scoringNames { if let v = score(name) { out[name] = v } }
        for (k, v) in topK { out["top_\(k)_accuracy"] = v }
        return out
    }

    /// The report as scikit-learn's `classification_report` lays it out (digits 2 by default),
    /// followed by balanced accuracy, log loss and top-k accuracy when known.
    public func text(digits: Int = 2) -> String {
        let width = max("weighted avg".count, digits, perClass.map { $0.label.count }.max() ?? 0)
        func number(_ x: Double) -> String { String(format: "%.\(digits)f", x) }
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        // scikit-learn's layout: the name right-aligned to `width`, a space, then each column as
        // a space and the value right-aligned to 9.
        func row(_ name: String, _ cells: [String]) -> String {
            pad(name, width) + " " + cells.map { " " + pad($0, 9) }.joined()
        }
        var lines = [row("", ["precision", "recall", "f1-score", "support"]), ""]
        for c in perClass {
            lines.append(row(c.label, [number(c.precision), number(c.recall), number(c.f1), String(c.support)]))
        }
        lines.append("")
        lines.append(row("accuracy", ["", "", number(accuracy), String(count)]))
        for (name, a) in [("macro avg", macro), ("weighted avg", weighted)] {
            lines.append(row(name, [number(a.precision), number(a.recall), number(a.f1), String(a.support)]))
        }
        var extra: [String] = ["", pad("balanced accuracy", width) + " " + number(balancedAccuracy)]
        if let logLoss { extra.append(pad("log loss", width) + " " + String(format: "%.4f", logLoss)) }
        for k in topK.keys.sorted() { extra.append(pad("top-\(k) accuracy", width) + " " + number(topK[k] ?? 0)) }
        if let unknown = unknownLabelsSummary() { extra += ["", "left out of every metric above: \(unknown)"] }
        return (lines + extra).joined(separator: "\n") + "\n"
    }

    /// The confusion matrix as a table (rows: true label, columns: predicted, abbreviated by
    /// column number with a legend when labels are long).
    public func confusionText() -> String {
        let width = max(labels.map(\.count).max() ?? 0, 4)
        let cell = max(String(confusion.flatMap { $0 }.max() ?? 0).count, String(labels.count).count) + 1
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var lines = [pad("true \\ predicted", width + 4) + " " + (0 ..< labels.count).map { pad(String($0), cell) }.joined()]
        for (i, row) in confusion.enumerated() {
            lines.append(pad("\(i) " + labels[i], width + 4) + " " + row.map { pad(String($0), cell) }.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "3 message(s) with labels the model does not know: "a" (2), "b" (1)", nil when there are
    /// none; `limit` labels at most are named.
    public func unknownLabelsSummary(limit: Int = .max) -> String? {
        guard !unknownLabels.isEmpty else { return nil }
        let names = unknownLabels.keys.sorted()
        let list = names.prefix(limit).map { "\"\($0)\" (\(unknownLabels[$0] ?? 0))" }.joined(separator: ", ")
        return "\(unknownLabels.values.reduce(0, +)) message(s) with labels the model does not know: \(list)\(names.count > limit ? ", …" : "")"
    }

    /// The same data as JSON.
    public var json: JSONValue {
        func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
        var classes = JSONObject()
        for c in perClass {
            classes[c.label] = ["precision": num(c.precision), "recall": num(c.recall), "f1": num(c.f1), "support": .number(JSONNumber(c.support))]
        }
        func average(_ a: Average) -> JSONValue {
            ["precision": num(a.precision), "recall": num(a.recall), "f1": num(a.f1), "support": .number(JSONNumber(a.support))]
        }
        var top = JSONObject()
        for k in topK.keys.sorted() { top[String(k)] = num(topK[k] ?? 0) }
        return [
            "labels": .array(labels.map { .string($0) }),
            "classes": .object(classes),
            "accuracy": num(accuracy), "balanced_accuracy": num(balancedAccuracy),
            "macro_avg": average(macro), "weighted_avg": average(weighted),
            "log_loss": logLoss.map(num) ?? .null,
            "top_k_accuracy": .object(top),
            "confusion_matrix": .array(confusion.map { .array($0.map { .number(JSONNumber($0)) }) }),
            "count": .number(JSONNumber(count)),
            "unknown_labels": .object(JSONObject(unknownLabels.keys.sorted().map { ($0, .number(JSONNumber(unknownLabels[$0] ?? 0))) })),
        ]
    }
}
