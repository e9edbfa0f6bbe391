import Foundation
import TriageCore

/// How far a model's confidence can be trusted, measured on labelled messages: proper scores of
/// the probabilities, calibration of the top probability, and what abstaining on the least
/// confident messages buys.
///
/// Definitions (each with the convention used where the literature differs):
/// - **Brier score**: mean over messages of Σ_c (p_c − y_c)², y one-hot — scikit-learn's
///   `brier_score_loss` for a probability matrix (≥ 1.7, `scale_by_half="auto"`, which halves it
///   for two classes): 0 is perfect, 2 the worst (1 with two classes).
/// - **Expected calibration error** (Guo et al. 2017, "On calibration of modern neural
///   networks"): messages binned by their top probability into `bins` equal-width bins
///   (a bin holds confidences in (lo, hi], the first also 0); ECE = Σ_b (n_b / N) · |acc_b − conf_b|.
/// - **Risk–coverage** (Geifman & El-Yaniv 2017): messages sorted by decreasing confidence
///   (ties in input order); accepting the first ⌈coverage · N⌉ of them, the accuracy of those
///   accepted.
/// - **Coverage at a precision P**: the largest share of messages, taken most confident first,
///   whose accuracy is at least P, and the confidence of the last one taken (the threshold that
///   accepts them, `confidence ≥ threshold`). A cut never falls between two equal confidences.
public struct ConfidenceReport: Sendable, Equatable {
    public struct Bin: Sendable, Equatable {
        /// Confidence interval (lower, upper] of the bin.
        public var lower: Double
        public var upper: Double
        public var count: Int
        /// Mean top probability of the bin's messages (0 when empty).
        public var confidence: Double
        /// Share of them predicted right (0 when empty).
        public var accuracy: Double
    }

    public struct CoveragePoint: Sendable, Equatable {
        /// Share of messages accepted.
        public var coverage: Double
        /// Accuracy of the accepted messages.
        public var accuracy: Double
        /// The lowest confidence accepted.
        public var threshold: Double
        public var accepted: Int
    }

    public var count: Int
    public var accuracy: Double
    public var meanConfidence: Double
    public var logLoss: Double
    public var brier: Double
    public var ece: Double
    public var bins: [Bin]
    /// Coverage 10 %, 20 %, …, 100 %.
    public var riskCoverage: [CoveragePoint]
    /// Precision → the largest coverage reaching it (nil when even the most confident message is wrong).
    public var coverageAtPrecision: [Double: CoveragePoint]
    /// The area under the ROC curve of the top probability as a score separating right from
    /// wrong predictions (nil when all are right or all wrong).
    public var aurocCorrect: Double?

    /// The precisions `coverageAtPrecision` reports by default.
    public static let defaultPrecisions = [0.95, 0.98]

    /// - Parameters:
    ///   - truth: true class indices (each in 0 ..< probabilities[i].count).
    ///   - probabilities: one distribution per message.
    public init(truth: [Int], probabilities: [[Double]], bins binCount: Int = 15, precisions: [Double] = defaultPrecisions) {
        precondition(truth.count == probabilities.count)
        let n = truth.count
        count = n
        var confidences = [Double](repeating: 0, count: n)
        var right = [Bool](repeating: false, count: n)
        var brier = 0.0
        for i in 0 ..< n {
            let p = probabilities[i], t = truth[i]
            let best = Ranking.argmax(p)
            confidences[i] = p.isEmpty ? 0 : p[best]
            right[i] = best == t
            for (c, v) in p.enumerated() {
                let d = v - (c == t ? 1 : 0)
                brier += d * d
            }
            if t < 0 || t >= p.count { brier += 1 }
        }
        let total = Double(max(n, 1))
        self.logLoss = ClassificationReport.logLossSum(truth: truth, probabilities: probabilities) / total
        // scikit-learn halves the two-class sum (scale_by_half="auto"), so that it equals the
        // binary score of one column.
        self.brier = brier / total / (probabilities.first?.count == 2 ? 2 : 1)
        accuracy = Double(right.filter { $0 }.count) / total
        meanConfidence = confidences.reduce(0, +) / total

        var sums = [(count: Int, confidence: Double, right: Int)](repeating: (0, 0, 0), count: max(binCount, 1))
        for i in 0 ..< n {
            // Bin b holds (b/B, (b+1)/B]; a confidence of exactly 0 goes to the first.
            let b = min(max(Int((confidences[i] * Double(sums.count)).rounded(.up)) - 1, 0), sums.count - 1)
            sums[b].count += 1
            sums[b].confidence += confidences[i]
            if right[i] { sums[b].right += 1 }
        }
        bins = sums.enumerated().map { b, s in
            Bin(lower: Double(b) / Double(sums.count), upper: Double(b + 1) / Double(sums.count), count: s.count,
                confidence: s.count == 0 ? 0 : s.confidence / Double(s.count), accuracy: s.count == 0 ? 0 : Double(s.right) / Double(s.count))
        }
        ece = bins.reduce(0) { $0 + Double($1.count) / total * abs($1.accuracy - $1.confidence) }

        let curve = RiskCoverage(confidences: confidences, right: right)
        riskCoverage = (1 ... 10).compactMap { curve.point(coverage: Double($0) / 10) }
        var atPrecision: [Double: CoveragePoint] = [:]
        for p in precisions { atPrecision[p] = curve.largestCoverage(precision: p) }
        coverageAtPrecision = atPrecision
        aurocCorrect = ConfidenceReport.auroc(positive: zip(confidences, right).filter { $0.1 }.map(\.0),
                                              negative: zip(confidences, right).filter { !$0.1 }.map(\.0))
    }

    /// The probability that a random positive scores above a random negative (ties count half):
    /// the Mann–Whitney U statistic over n₊·n₋. Nil when either side is empty.
    public static func auroc(positive: [Double], negative: [Double]) -> Double? {
        guard !positive.isEmpty, !negative.isEmpty else { return nil }
        var all = positive.map { ($0, true) } + negative.map { ($0, false) }
        all.sort { $0.0 < $1.0 }
        // Mid-ranks for ties.
        var rankSum = 0.0
        var i = 0
        while i < all.count {
            var j = i
            while j + 1 < all.count && all[j + 1].0 == all[i].0 { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i ... j where all[k].1 { rankSum += rank }
            i = j + 1
        }
        let np = Double(positive.count), nn = Double(negative.count)
        return (rankSum - np * (np + 1) / 2) / (np * nn)
    }
}

/// Messages sorted most confident first, with the running count of right ones.
struct RiskCoverage {
    /// Confidences in decreasing order.
    let sorted: [Double]
    /// rightBefore[k]: right answers among the first k.
    let rightBefore: [Int]

    init(confidences: [Double], right: [Bool]) {
        let order = confidences.indices.sorted { confidences[$0] != confidences[$1] ? confidences[$0] > confidences[$1] : $0 < $1 }
        sorted = order.map { confidences[$0] }
        var running = [0]
        running.reserveCapacity(order.count + 1)
        for i in order { running.append(running[running.count - 1] + (right[i] ? 1 : 0)) }
        rightBefore = running
    }

    var count: Int { sorted.count }

    /// Whether a cut after the first k messages falls between two different confidences.
    func isCut(_ k: Int) -> Bool { k == count || (k > 0 && sorted[k - 1] > sorted[k]) }

    func point(accepting k: Int) -> ConfidenceReport.CoveragePoint {
        ConfidenceReport.CoveragePoint(coverage: count == 0 ? 0 : Double(k) / Double(count),
                                       accuracy: k == 0 ? 0 : Double(rightBefore[k]) / Double(k),
                                       threshold: k == 0 ? 1 : sorted[k - 1], accepted: k)
    }

    /// The point accepting the first ⌈coverage · N⌉ messages (ties with the last one accepted
    /// are accepted too, as a threshold would).
    func point(coverage: Double) -> ConfidenceReport.CoveragePoint? {
        guard count > 0 else { return nil }
        var k = min(count, max(1, Int((coverage * Double(count)).rounded(.up))))
        while !isCut(k) { k += 1 }
        return point(accepting: k)
    }

    /// The largest cut whose accepted messages are at least `precision` right.
    func largestCoverage(precision: Double) -> ConfidenceReport.CoveragePoint? {
        var k = count
        while k > 0 {
            if isCut(k) && Double(rightBefore[k]) >= precision * Double(k) - 1e-9 { return point(accepting: k) }
            k -= 1
        }
        return nil
    }
}

extension ConfidenceReport {
    /// The report as text: the scores, coverage at each precision, the reliability table
    /// (non-empty bins) and the risk–coverage table.
    public func text() -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", 100 * x) }
        func f(_ x: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", x) }
        var lines = [
            "confidence of the top label on \(count) messages:",
            "  accuracy \(pct(accuracy)), mean confidence \(f(meanConfidence)), log loss \(f(logLoss, 4)), Brier \(f(brier, 4)), ECE (\(bins.count) bins) \(f(ece, 4))"
                + (aurocCorrect.map { ", AUROC right vs wrong \(f($0))" } ?? ""),
        ]
        for p in coverageAtPrecision.keys.sorted() {
            if let c = coverageAtPrecision[p] {
                lines.append("  \(pct(p)) precision: the \(pct(c.coverage)) most confident messages (confidence ≥ \(f(c.threshold, 4)))")
            } else {
                lines.append("  \(pct(p)) precision: not reachable (even the most confident messages are less often right)")
            }
        }
        lines += ["", "reliability (top probability in equal bins):", "  confidence      messages  mean conf  accuracy  gap"]
        for b in bins where b.count > 0 {
            let range = "(\(f(b.lower, 2)), \(f(b.upper, 2))]"
            lines.append("  " + range.padding(toLength: 14, withPad: " ", startingAt: 0)
                         + String(format: "%10d  %9.3f  %8.3f  %+.3f", b.count, b.confidence, b.accuracy, b.accuracy - b.confidence))
        }
        lines += ["", "risk–coverage (most confident first):", "  coverage  accuracy  threshold  accepted"]
        for c in riskCoverage {
            lines.append(String(format: "  %7.1f%%  %7.2f%%  %9.4f  %8d", 100 * c.coverage, 100 * c.accuracy, c.threshold, c.accepted))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
        func point(_ c: CoveragePoint) -> JSONValue {
            ["coverage": num(c.coverage), "accuracy": num(c.accuracy), "threshold": num(c.threshold), "accepted": .number(JSONNumber(c.accepted))]
        }
        var atPrecision = JSONObject()
        for p in coverageAtPrecision.keys.sorted() { atPrecision[String(p)] = coverageAtPrecision[p].map(point) ?? .null }
        return [
            "count": .number(JSONNumber(count)),
            "accuracy": num(accuracy),
            "mean_confidence": num(meanConfidence),
            "log_loss": num(logLoss),
            "brier": num(brier),
            "ece": num(ece),
            "auroc_right_vs_wrong": aurocCorrect.map(num) ?? .null,
            "reliability": .array(bins.map {
                ["lower": num($0.lower), "upper": num($0.upper), "count": .number(JSONNumber($0.count)),
                 "confidence": num($0.confidence), "accuracy": num($0.accuracy)]
            }),
            "risk_coverage": .array(riskCoverage.map(point)),
            "coverage_at_precision": .object(atPrecision),
        ]
    }
}
