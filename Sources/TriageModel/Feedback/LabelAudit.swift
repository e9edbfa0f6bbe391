import Foundation
import TriageCore

/// Training rows whose label the model's own out-of-fold predictions doubt, found by confident
/// learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset
/// Labels", JAIR 70, 2021):
///
/// 1. Each label j gets a threshold t_j: the mean out-of-fold probability of j over the rows
///    labelled j (how confident the model is, on average, where the label is right).
/// 2. The *confident joint* C[i][j] counts the rows labelled i whose probability of j reaches t_j
///    (the most probable such j when several do): rows the model confidently places in j.
/// 3. C is calibrated so that row i sums to the n_i rows labelled i; its off-diagonal counts
///    estimate how many rows labelled i belong to j.
/// 4. *Prune by noise rate*: for each i ≠ j, that many rows labelled i, those with the largest
///    p(j) − p(i), are flagged — keeping at least one row of every label — and a row whose most
///    probable label is its own is never flagged.
///
/// Flagged rows are ranked by self-confidence, the out-of-fold probability of their own label,
/// lowest first; the suggested label is the most probable one.
public struct LabelAudit: Sendable {
    public struct Suspect: Sendable, Equatable {
        /// Index of the row in the audited messages.
        public var row: Int
        public var label: Int
        public var suggested: Int
        /// Out-of-fold probability of the row's own label, and of the suggested one.
        public var selfConfidence: Double
        public var suggestedProbability: Double
    }

    public struct LabelSummary: Sendable, Equatable {
        public var label: Int
        /// Rows with this label that have an out-of-fold prediction.
        public var rows: Int
        /// t_j: the mean probability of this label over its rows.
        public var threshold: Double
        /// Share of its rows the calibrated confident joint places elsewhere.
        public var estimatedNoise: Double
        /// Rows with this label flagged.
        public var flagged: Int
    }

    /// Flagged rows, lowest self-confidence first (ties: row order).
    public let suspects: [Suspect]
    /// Per label, in label order.
    public let labels: [LabelSummary]
    /// Rows audited (with an out-of-fold prediction).
    public let audited: Int
    /// Estimated share of wrong labels among the audited rows (the calibrated joint's
    /// off-diagonal mass).
    public let estimatedNoise: Double

    /// - Parameters:
    ///   - rows: the row index of each prediction.
    ///   - truth: the given label of each, in 0 ..< `classCount`.
    ///   - probabilities: out-of-fold probabilities, `classCount` each.
    public init(rows: [Int], truth: [Int], probabilities: [[Double]], classCount k: Int) {
        precondition(rows.count == truth.count && truth.count == probabilities.count)
        let n = truth.count
        audited = n
        // 1. Per-label thresholds.
        var sum = [Double](repeating: 0, count: k), count = [Int](repeating: 0, count: k)
        for (p, t) in zip(probabilities, truth) {
            sum[t] += p[t]
            count[t] += 1
        }
        // A label without rows is never a confident destination.
        let threshold = (0 ..< k).map { count[$0] == 0 ? Double.infinity : sum[$0] / Double(count[$0]) }
        // 2. Confident joint (a tolerance for probabilities equal to the mean up to rounding).
        var joint = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (p, t) in zip(probabilities, truth) {
            var best = -1
            for j in 0 ..< k where p[j] >= threshold[j] - 1e-9 && (best < 0 || p[j] > p[best]) { best = j }
            if best >= 0 { joint[t][best] += 1 }
        }
        // 3. Calibrated: row i rescaled to the n_i rows labelled i, then rounded keeping each
        // row's total (largest remainders first).
        var calibrated = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var offDiagonal = 0
        for i in 0 ..< k {
            let total = joint[i].reduce(0, +)
            guard total > 0 else {
                calibrated[i][i] = count[i]
                continue
            }
            let scale = Double(count[i]) / Double(total)
            let exact: [Double] = joint[i].map { Double($0) * scale }
            var rounded: [Int] = exact.map { Int($0.rounded(.down)) }
            let remainder: [Double] = (0 ..< k).map { exact[$0] - Double(rounded[$0]) }
            let order = (0 ..< k).sorted { (a: Int, b: Int) -> Bool in remainder[a] != remainder[b] ? remainder[a] > remainder[b] : a < b }
            for j in order.prefix(count[i] - rounded.reduce(0, +)) { rounded[j] += 1 }
            calibrated[i] = rounded
            offDiagonal += count[i] - rounded[i]
        }
        estimatedNoise = n == 0 ? 0 : Double(offDiagonal) / Double(n)
        // 4. Prune by noise rate.
        var byLabel = [[Int]](repeating: [], count: k)
        for r in 0 ..< n { byLabel[truth[r]].append(r) }
        var flagged = [Bool](repeating: false, count: n)
        for i in 0 ..< k where !byLabel[i].isEmpty {
            // At most n_i − 1 rows of a label leave it.
            var budget = byLabel[i].count - 1
            for j in 0 ..< k where j != i && calibrated[i][j] > 0 && budget > 0 {
                let take = min(calibrated[i][j], budget)
                budget -= take
                let ranked = byLabel[i].sorted {
                    let a = probabilities[$0][j] - probabilities[$0][i], b = probabilities[$1][j] - probabilities[$1][i]
                    return a != b ? a > b : $0 < $1
                }
                for r in ranked.prefix(take) { flagged[r] = true }
            }
        }
        var suspects: [Suspect] = []
        var flaggedPerLabel = [Int](repeating: 0, count: k)
        for r in 0 ..< n where flagged[r] {
            let p = probabilities[r]
            let best = Ranking.argmax(p)
            guard best != truth[r] else { continue }
            suspects.append(Suspect(row: rows[r], label: truth[r], suggested: best, selfConfidence: p[truth[r]], suggestedProbability: p[best]))
            flaggedPerLabel[truth[r]] += 1
        }
        suspects.sort { $0.selfConfidence != $1.selfConfidence ? $0.selfConfidence < $1.selfConfidence : $0.row < $1.row }
        self.suspects = suspects
        labels = (0 ..< k).map { i in
            LabelSummary(label: i, rows: count[i], threshold: count[i] == 0 ? 0 : threshold[i],
                         estimatedNoise: count[i] == 0 ? 0 : Double(count[i] - calibrated[i][i]) / Double(count[i]), flagged: flaggedPerLabel[i])
        }
    }

    /// The audit of out-of-fold predictions (`PipelineFit.outOfFold`).
    public init(_ oof: OutOfFold, classCount: Int) {
        self.init(rows: oof.rows, truth: oof.truth, probabilities: oof.probabilities, classCount: classCount)
    }
}
