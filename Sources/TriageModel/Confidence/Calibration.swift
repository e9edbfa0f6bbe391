import Foundation
import TriageCore
import TriageLinear

/// A map from a model's probabilities to calibrated ones, fitted on out-of-fold predictions.
///
/// **Temperature scaling** (Guo et al. 2017): p′_c = softmax_c(log p_c / T). T > 1 softens
/// over-confident probabilities, T < 1 sharpens under-confident ones; the order of the classes,
/// and so the predicted label, never changes. Fitted by minimising the log loss over β = 1/T,
/// which is convex in β (the negative log-likelihood of a softmax over β·z is convex in β).
/// Probabilities are clipped to ≥ 1e-300 before the logarithm.
public struct Calibration: Sendable, Equatable, Codable {
    public enum Method: String, Sendable, Codable {
        case temperature
    }

    public var method: Method
    public var temperature: Double

    public init(temperature: Double) {
        method = .temperature
        self.temperature = temperature
    }

    public static let identity = Calibration(temperature: 1)

    /// Calibrates `p` in place.
    public func apply(_ p: inout [Double]) {
        guard temperature != 1, !p.isEmpty else { return }
        let beta = 1 / temperature
        var largest = -Double.infinity
        for c in p.indices {
            p[c] = beta * log(max(p[c], 1e-300))
            largest = max(largest, p[c])
        }
        var sum = 0.0
        for c in p.indices {
            p[c] = exp(p[c] - largest)
            sum += p[c]
        }
        for c in p.indices { p[c] /= sum }
    }

    public func applied(_ p: [Double]) -> [Double] {
        var q = p
        apply(&q)
        return q
    }

    /// The temperature in [0.01, 100] that minimises the log loss of `probabilities` against
    /// `truth` (bisection on the derivative, 64 steps: the answer to ~1e-17 of the bracket's
    /// logarithm).
    public static func fitTemperature(truth: [Int], probabilities: [[Double]]) -> Calibration {
        precondition(truth.count == probabilities.count)
        let rows = truth.indices.filter { truth[$0] >= 0 && truth[$0] < probabilities[$0].count }
        guard !rows.isEmpty else { return .identity }
        let z = rows.map { probabilities[$0].map { log(max($0, 1e-300)) } }
        let y = rows.map { truth[$0] }
        // d/dβ of the mean log loss: E_q[z] − z_y, q = softmax(β z).
        func slope(_ beta: Double) -> Double {
            var total = 0.0
            for (zi, t) in zip(z, y) {
                var largest = -Double.infinity
                for v in zi { largest = max(largest, beta * v) }
                var sum = 0.0, weighted = 0.0
                for v in zi {
                    let e = exp(beta * v - largest)
                    sum += e
                    weighted += e * v
                }
                total += weighted / sum - zi[t]
            }
            return total / Double(z.count)
        }
        // Bisection on log β over [log 0.01, log 100].
        var lo = log(0.01), hi = log(100.0)
        if slope(exp(lo)) >= 0 { return Calibration(temperature: 1 / exp(lo)) }
        if slope(exp(hi)) <= 0 { return Calibration(temperature: 1 / exp(hi)) }
        for _ in 0 ..< 64 {
            let mid = (lo + hi) / 2
            if slope(exp(mid)) < 0 { lo = mid } else { hi = mid }
        }
        return Calibration(temperature: 1 / exp((lo + hi) / 2))
    }
}

/// Out-of-fold predictions: each message's probabilities from a pipeline fitted without it.
public struct OutOfFold: Sendable {
    /// Row indices (into the training messages) that have a prediction, increasing.
    public let rows: [Int]
    /// Their true class indices.
    public let truth: [Int]
    /// Their probabilities (the pipeline's label order).
    public let probabilities: [[Double]]
    public let folds: Int
    public let seed: UInt64
    /// Classes with fewer rows than folds: left out (label, rows).
    public let skipped: [(label: String, rows: Int)]
}

extension PipelineFit {
    /// Out-of-fold probabilities of `settings`: stratified `folds`-fold (`StratifiedSplit.kFold`,
    /// `seed`), each fold's rows predicted by the pipeline fitted on the others, its weights
    /// rounded as `weights` stores them (what the saved model will do). Classes with fewer rows
    /// than folds get no prediction (listed in `skipped`; their rows are in every fold's
    /// training rows). The folds share tokenisation.
    public func outOfFold(_ settings: PipelineSettings, folds: Int = 5, seed: UInt64 = 0, weights: WeightEncoding = .float32,
                          threads: Int? = nil) throws(PipelineError) -> OutOfFold {
        let split: (folds: [(train: [Int], validation: [Int])], dropped: [StratifiedSplit.Dropped])
        do {
            split = try StratifiedSplit.kFold(labels: y, labelNames: labels.classes, folds: folds, seed: seed, smallClasses: .drop)
        } catch { throw .stage("out-of-fold predictions: \(error)") }
        let cache = StageCache()
        var byRow: [Int: [Double]] = [:]
        // A small class's rows train every fold (the classifier knows all labels) and are
        // predicted by none.
        let alwaysTrained = split.dropped.flatMap(\.rows)
        for (f, fold) in split.folds.enumerated() {
            let train = alwaysTrained.isEmpty ? fold.train : (fold.train + alwaysTrained).sorted()
            let result = try fit(settings, rows: FitRows(name: "fold \(f) of \(folds)", train: train, evaluation: fold.validation),
                                 threads: threads, cache: cache)
            let p = try result.pipeline.classifier.withWeights(weights).predictProbabilities(result.evaluationFeatures, threads: threads)
            for (row, probabilities) in zip(fold.validation, p) { byRow[row] = probabilities }
        }
        let rows = byRow.keys.sorted()
        return OutOfFold(rows: rows, truth: rows.map { y[$0] }, probabilities: rows.map { byRow[$0] ?? [] }, folds: folds, seed: seed,
                         skipped: split.dropped.map { ($0.label, $0.rows.count) })
    }
}
