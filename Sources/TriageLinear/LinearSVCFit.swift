import Foundation
import TriageCore

extension LinearSVC {
    /// Fits one-vs-rest problems in parallel (one per class; one for two classes), then the
    /// probability temperature. Deterministic for a given `random_state` on any thread count.
    public func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int? = nil) throws(LinearError) -> FittedLinearModel {
        try validate()
        try checkTrainingSet(x, labels: labels, classNames: classNames)
        let classWeights = try weights(classWeight, perClass: true, labels: labels, classNames: classNames)
        let threadCount = Parallel.threadCount(threads)
        var temperature = 1.0
        if calibration == .temperature {
            let (train, held) = StratifiedSplit.holdout(labels: labels, classCount: classNames.count, fraction: calibrationFraction,
                                                        seed: randomState, stream: StratifiedSplit.Stream.svcCalibration)
            if !held.isEmpty {
                let first = solve(x.selectingRows(train), labels: train.map { labels[$0] }, classNames: classNames,
                                  classWeights: classWeights, threads: threadCount)
                let scores = try first.rawScores(x.selectingRows(held), threads: threadCount)
                temperature = fitTemperature(scores: scores, labels: held.map { labels[$0] })
            }
        }
        let model = solve(x, labels: labels, classNames: classNames, classWeights: classWeights, threads: threadCount)
        return FittedLinearModel(kind: .linearSVC, classNames: classNames, featureCount: model.featureCount, scoreCount: model.scoreCount,
                                 coef: model.coef, intercept: model.intercept, temperature: temperature,
                                 iterations: model.iterations, converged: model.converged)
    }

    /// The one-vs-rest problems, T = 1. Classes absent from `labels` get an all-negative problem.
    func solve(_ x: SparseMatrix, labels: [Int], classNames: [String], classWeights: [Double], threads: Int) -> FittedLinearModel {
        let binary = classNames.count == 2
        let problems = binary ? 1 : classNames.count
        let squaredNorms = (0 ..< x.rowCount).map { i in
            x.withRow(i) { row in row.values.reduce(0) { $0 + $1 * $1 } } + (fitIntercept ? interceptScaling * interceptScaling : 0)
        }
        let solutions = Parallel.map(count: problems, threads: threads) { k -> DualSolution in
            let positive = binary ? 1 : k
            let cp = c * classWeights[positive]
            let cn = binary ? c * classWeights[0] : c
            return solveDual(x, positive: positive, labels: labels, cp: cp, cn: cn, squaredNorms: squaredNorms,
                             generator: SeededGenerator(seed: randomState, stream: UInt64(k)))
        }
        let f = x.columnCount
        var coef = [Float](repeating: 0, count: f * problems)
        for (k, sol) in solutions.enumerated() { for j in 0 ..< f { coef[j * problems + k] = Float(sol.w[j]) } }
        return FittedLinearModel(kind: .linearSVC, classNames: classNames, featureCount: f, scoreCount: problems, coef: coef,
                                 intercept: solutions.map { $0.bias * interceptScaling },
                                 iterations: solutions.map(\.iterations).max() ?? 0, converged: solutions.allSatisfy(\.converged))
    }

    struct DualSolution: Sendable {
        var w: [Double]
        var bias: Double
        var iterations: Int
        var converged: Bool
    }

    /// Dual coordinate descent for min ½‖w‖² + Σᵢ Cᵢ max(0, 1 − yᵢ wᵀxᵢ)² (Hsieh et al. 2008,
    /// algorithm 1 with the shrinking of section 3.2): each αᵢ ≥ 0 in turn, in a shuffled order;
    /// a row whose α is 0 and whose gradient exceeds last pass's largest projected gradient is
    /// set aside; stop when the projected gradients' spread is within `tol` on all rows.
    func solveDual(_ x: SparseMatrix, positive: Int, labels: [Int], cp: Double, cn: Double, squaredNorms: [Double],
                   generator: SeededGenerator) -> DualSolution {
        var random = generator
        let n = x.rowCount
        var w = [Double](repeating: 0, count: x.columnCount)
        var bias = 0.0
        let scale = fitIntercept ? interceptScaling : 0
        var alpha = [Double](repeating: 0, count: n)
        var y = [Double](repeating: -1, count: n)
        var diag = [Double](repeating: 0.5 / cn, count: n)
        for i in 0 ..< n where labels[i] == positive {
            y[i] = 1
            diag[i] = 0.5 / cp
        }
        let qd = (0 ..< n).map { squaredNorms[$0] + diag[$0] }
        var index = Array(0 ..< n)
        var active = n
        var pgMaxOld = Double.infinity, pgMinOld = -Double.infinity
        var iteration = 0
        var converged = false
        x.columnIndices.withUnsafeBufferPointer { cols in
            x.values.withUnsafeBufferPointer { vals in
                w.withUnsafeMutableBufferPointer { w in
                    while iteration < maxIter {
                        for j in 0 ..< active { index.swapAt(j, j + random.nextInt(below: active - j)) }
                        var pgMax = -Double.infinity, pgMin = Double.infinity
                        var s = 0
                        while s < active {
                            let i = index[s]
                            let lo = x.rowOffsets[i], hi = x.rowOffsets[i + 1]
                            var margin = bias * scale
                            for j in lo ..< hi { margin += w[Int(cols[j])] * vals[j] }
                            let gradient = y[i] * margin - 1 + alpha[i] * diag[i]
                            var projected = 0.0
                            if alpha[i] == 0 {
                                if gradient > pgMaxOld {
                                    active -= 1
                                    index.swapAt(s, active)
                                    continue
                                }
                                if gradient < 0 { projected = gradient }
                            } else {
                                projected = gradient
                            }
                            pgMax = max(pgMax, projected)
                            pgMin = min(pgMin, projected)
                            if abs(projected) > 1e-12 {
                                let old = alpha[i]
                                alpha[i] = max(old - gradient / qd[i], 0)
                                let d = (alpha[i] - old) * y[i]
                                for j in lo ..< hi { w[Int(cols[j])] += d * vals[j] }
                                bias += d * scale
                            }
                            s += 1
                        }
                        iteration += 1
                        if pgMax - pgMin <= tol {
                            if active == n {
                                converged = true
                                break
                            }
                            active = n
                            pgMaxOld = .infinity
                            pgMinOld = -.infinity
                            continue
                        }
                        pgMaxOld = pgMax <= 0 ? .infinity : pgMax
                        pgMinOld = pgMin >= 0 ? -.infinity : pgMin
                    }
                }
            }
        }
        _ = pgMinOld
        return DualSolution(w: w, bias: bias, iterations: iteration, converged: converged)
    }
}

/// The temperature T > 0 that minimises the mean log loss of softmax(score / T) (sigmoid for one
/// score) on labelled rows: golden-section search on log T over [10⁻³, 10³] (the loss is convex
/// in 1/T).
func fitTemperature(scores: [[Double]], labels: [Int]) -> Double {
    func loss(_ logT: Double) -> Double {
        let inv = exp(-logT)
        var total = 0.0
        for (z, y) in zip(scores, labels) {
            if z.count == 1 {
                let m = (y == 1 ? z[0] : -z[0]) * inv
                total += m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m))
            } else {
                var m = -Double.infinity
                for v in z { m = max(m, v * inv) }
                var sum = 0.0
                for v in z { sum += exp(v * inv - m) }
                total += m + log(sum) - z[y] * inv
            }
        }
        return total / Double(max(1, scores.count))
    }
    let ratio = (sqrt(5.0) - 1) / 2
    var a = log(1e-3), b = log(1e3)
    var c = b - ratio * (b - a), d = a + ratio * (b - a)
    var fc = loss(c), fd = loss(d)
    for _ in 0 ..< 80 {
        if fc <= fd {
            b = d; d = c; fd = fc
            c = b - ratio * (b - a); fc = loss(c)
        } else {
            a = c; c = d; fc = fd
            d = a + ratio * (b - a); fd = loss(d)
        }
    }
    return exp((a + b) / 2)
}
