import Foundation
import TriageCore

extension LogisticRegression {
    /// Fits on rows `x` with labels (indices into `classNames`). Deterministic: the same data
    /// and settings give the same model bits on any number of threads.
    public func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int? = nil) throws(LinearError) -> FittedLinearModel {
        try validate()
        try checkTrainingSet(x, labels: labels, classNames: classNames)
        let rowWeights = try weights(classWeight, perClass: false, labels: labels, classNames: classNames)
        let objective = LogisticObjective(x: x, labels: labels, rowWeights: rowWeights, classCount: classNames.count,
                                          c: c, fitIntercept: fitIntercept, threads: Parallel.threadCount(threads))
        let theta = SharedDoubles(count: objective.dimension)
        var solver = LBFGS(vectors: Vectors(threads: objective.threads))
        solver.maxIterations = maxIter
        solver.gtol = tol
        let outcome = solver.minimize(theta) { objective.evaluate($0, gradient: $1) }
        let s = objective.scoreCount, f = x.columnCount
        let coef = (0 ..< f * s).map { Float(theta.base[$0]) }
        let intercept = (0 ..< s).map { theta.base[f * s + $0] }
        return FittedLinearModel(kind: .logisticRegression, classNames: classNames, featureCount: f, scoreCount: s, coef: coef,
                                 intercept: intercept, iterations: outcome.iterations, converged: outcome.converged)
    }
}

/// (1/Σs) Σᵢ sᵢ ℓᵢ + ‖W‖² / (2C·Σs) and its gradient, for θ = [W feature-major | intercepts].
/// ℓ is the multinomial log loss (K scores), or the binary one on a single score for K = 2.
final class LogisticObjective: @unchecked Sendable {
    let x: SparseMatrix
    let xt: SparseMatrix
    let labels: [Int]
    let rowWeights: [Double]
    let scoreCount: Int
    let c: Double
    let fitIntercept: Bool
    let threads: Int
    let weightSum: Double
    /// Per row: scores, then residuals sᵢ(pᵢ − yᵢ)/Σs.
    private let residuals: SharedDoubles
    private let rowChunks: [Range<Int>]
    private let featureChunks: [Range<Int>]

    var dimension: Int { x.columnCount * scoreCount + scoreCount }

    init(x: SparseMatrix, labels: [Int], rowWeights: [Double], classCount: Int, c: Double, fitIntercept: Bool, threads: Int) {
        self.x = x
        xt = x.transposed()
        self.labels = labels
        self.rowWeights = rowWeights
        scoreCount = classCount == 2 ? 1 : classCount
        self.c = c
        self.fitIntercept = fitIntercept
        self.threads = threads
        weightSum = rowWeights.reduce(0, +)
        residuals = SharedDoubles(count: x.rowCount * scoreCount)
        rowChunks = Parallel.chunks(count: x.rowCount, chunkSize: 256)
        featureChunks = Parallel.chunks(count: x.columnCount, chunkSize: 256)
    }

    func evaluate(_ theta: SharedDoubles, gradient g: SharedDoubles) -> Double {
        let s = scoreCount, f = x.columnCount
        let interceptBase = f * s
        let r = residuals
        let invW = 1 / weightSum
        // Scores, losses and residuals, row by row.
        let lossParts = Parallel.map(count: rowChunks.count, threads: threads) { chunk -> Double in
            var loss = 0.0
            x.columnIndices.withUnsafeBufferPointer { cols in
                x.values.withUnsafeBufferPointer { vals in
                    for i in rowChunks[chunk] {
                        let z = r.base + i * s
                        for k in 0 ..< s { z[k] = theta.base[interceptBase + k] }
                        for j in x.rowOffsets[i] ..< x.rowOffsets[i + 1] {
                            let w = theta.base + Int(cols[j]) * s, v = vals[j]
                            for k in 0 ..< s { z[k] += v * w[k] }
                        }
                        let weight = rowWeights[i] * invW, y = labels[i]
                        if s == 1 {
                            // Binary: P(class 1) = σ(z).
                            let t = y == 1 ? 1.0 : 0.0
                            let m = y == 1 ? z[0] : -z[0]          // margin towards the true class
                            loss += rowWeights[i] * (m > 0 ? log1p(triageExp(-m)) : -m + log1p(triageExp(m)))
                            let p = 1 / (1 + triageExp(-z[0]))
                            z[0] = weight * (p - t)
                        } else {
                            var m = -Double.infinity
                            for k in 0 ..< s { m = max(m, z[k]) }
                            var sum = 0.0
                            for k in 0 ..< s { sum += triageExp(z[k] - m) }
                            let lse = m + log(sum)
                            loss += rowWeights[i] * (lse - z[y])
                            for k in 0 ..< s { z[k] = weight * triageExp(z[k] - lse) }
                            z[y] -= weight
                        }
                    }
                }
            }
            return loss
        }
        let penalty = 1 / (c * weightSum)
        // Weight gradient, feature by feature (columns of x), plus the penalty.
        let normParts = Parallel.map(count: featureChunks.count, threads: threads) { chunk -> Double in
            var norm = 0.0
            xt.columnIndices.withUnsafeBufferPointer { rows in
                xt.values.withUnsafeBufferPointer { vals in
                    for feature in featureChunks[chunk] {
                        let gw = g.base + feature * s, w = theta.base + feature * s
                        for k in 0 ..< s {
                            gw[k] = penalty * w[k]
                            norm += w[k] * w[k]
                        }
                        for j in xt.rowOffsets[feature] ..< xt.rowOffsets[feature + 1] {
                            let res = r.base + Int(rows[j]) * s, v = vals[j]
                            for k in 0 ..< s { gw[k] += v * res[k] }
                        }
                    }
                }
            }
            return norm
        }
        // Intercept gradient: column sums of the residuals, chunk partials added in order.
        for k in 0 ..< s { g.base[interceptBase + k] = 0 }
        if fitIntercept {
            let parts = Parallel.map(count: rowChunks.count, threads: threads) { chunk -> [Double] in
                var sums = [Double](repeating: 0, count: s)
                for i in rowChunks[chunk] { for k in 0 ..< s { sums[k] += r.base[i * s + k] } }
                return sums
            }
            for part in parts { for k in 0 ..< s { g.base[interceptBase + k] += part[k] } }
        }
        return lossParts.reduce(0, +) * invW + 0.5 * penalty * normParts.reduce(0, +)
    }
}
