import Foundation
import TriageCore

/// The training objectives: binary log loss on one raw score (logistic), and multinomial log
/// loss on one raw score per class (softmax), with per-row weights.
///
/// - logistic: p = σ(F);  g = w·(p − y);  h = w·max(p(1 − p), ε)
/// - softmax:  p_k = exp(F_k) / Σ exp(F_j);  g_k = w·(p_k − [y = k]);  h_k = w·max(p_k(1 − p_k), ε)
///
/// ε = 1e-16 keeps a hessian from being exactly zero; the leaf rules (`min_hessian_leaf`,
/// `max_delta_step`) are what keep confident, wrong rows from producing huge steps.
/// Initial scores are the weighted prior: logit(p̄) for logistic, log(prior_k) for softmax.
enum Loss {
    case logistic
    case softmax(classes: Int)

    static let hessianFloor = 1e-16
    static let probabilityFloor = 1e-15

    init(classCount: Int) {
        self = classCount == 2 ? .logistic : .softmax(classes: classCount)
    }

    /// Raw scores per row: 1 for logistic, K for softmax.
    var scoreCount: Int {
        switch self {
        case .logistic: return 1
        case let .softmax(k): return k
        }
    }

    func initialScores(labels: [Int32], weights: [Double], classCount: Int) -> [Double] {
        var perClass = [Double](repeating: 0, count: classCount)
        for (y, w) in zip(labels, weights) { perClass[Int(y)] += w }
        let total = perClass.reduce(0, +)
        func clip(_ p: Double) -> Double { min(max(p, Self.probabilityFloor), 1 - Self.probabilityFloor) }
        switch self {
        case .logistic:
            let p = clip(perClass[1] / total)
            return [log(p / (1 - p))]
        case .softmax:
            return perClass.map { log(clip($0 / total)) }
        }
    }

    /// Class probabilities of one row of raw scores, written to `out` (K entries). Uses
    /// `triageExp`, so the same scores give the same bits on every machine (golden probes).
    @inline(__always)
    func probabilities(_ scores: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>) {
        switch self {
        case .logistic:
            let p = 1 / (1 + triageExp(-scores[0]))
            out[0] = 1 - p
            out[1] = p
        case .softmax:
            var m = -Double.infinity
            for s in scores { m = max(m, s) }
            var sum = 0.0
            for k in 0 ..< scores.count {
                let e = triageExp(scores[k] - m)
                out[k] = e
                sum += e
            }
            for k in 0 ..< scores.count { out[k] /= sum }
        }
    }

    /// The (unweighted) log loss of one row with label `y`.
    @inline(__always)
    func rowLoss(_ scores: UnsafeBufferPointer<Double>, label y: Int) -> Double {
        switch self {
        case .logistic:
            // log(1 + exp(-F)) for y = 1, log(1 + exp(F)) for y = 0, computed stably.
            let f = y == 1 ? scores[0] : -scores[0]
            return f > 0 ? log1p(exp(-f)) : -f + log1p(exp(f))
        case .softmax:
            var m = -Double.infinity
            for s in scores { m = max(m, s) }
            var sum = 0.0
            for s in scores { sum += exp(s - m) }
            return m + log(sum) - scores[y]
        }
    }

    /// From class-major raw scores (`scores[k * n + i]`), writes the gradient and hessian of
    /// every score into a reused buffer — class-major, each row's pair side by side:
    /// `gh[2(k·n + i)]` and `gh[2(k·n + i) + 1]`, so one cache line serves a histogram's two
    /// loads — and returns the weighted mean log loss of the scores. Rows go in fixed chunks on up to `threads` threads; within a chunk every loop
    /// runs over classes outside and rows inside, so memory is read contiguously and the loops
    /// vectorise. Each chunk writes only its own rows' entries; the loss is summed per chunk,
    /// then over chunks in order, so it does not depend on the thread count.
    func gradients(scores: [Double], labels: [Int32], weights: [Double], threads: Int,
                   into gh: inout [Double]) -> Double {
        let n = labels.count
        let s = scoreCount
        if gh.count != 2 * n * s { gh = [Double](repeating: 0, count: 2 * n * s) }
        let chunks = Parallel.chunks(count: n, chunkSize: 1024)
        let loss = self
        let partialLosses: [Double] = gh.withUnsafeMutableBufferPointer { all in
            let out = DisjointWrites(all)
            return Parallel.map(count: chunks.count, threads: threads) { c -> Double in
                let rows = chunks[c]
                let m = rows.count
                return scores.withUnsafeBufferPointer { all in
                    loss.chunkGradients(all, n: n, rows: rows, labels: labels, weights: weights, out: out, m: m)
                }
            }
        }
        var total = 0.0
        for partial in partialLosses { total += partial }
        let weight = weights.reduce(0, +)
        return weight > 0 ? total / weight : 0
    }

    /// One chunk of `gradients`; returns the chunk's weighted loss sum.
    private func chunkGradients(_ scores: UnsafeBufferPointer<Double>, n: Int, rows: Range<Int>, labels: [Int32], weights: [Double],
                                out: DisjointWrites, m: Int) -> Double {
        let a = rows.lowerBound
        var lossSum = 0.0
        switch self {
        case .logistic:
            for i in rows {
                let f = scores[i]
                let q = 1 / (1 + triageExp(-f))
                let y = Int(labels[i])
                out.buffer[2 * i] = weights[i] * (q - (y == 1 ? 1 : 0))
                out.buffer[2 * i + 1] = weights[i] * max(q * (1 - q), Self.hessianFloor)
                let t = y == 1 ? f : -f
                lossSum += weights[i] * (t > 0 ? log1p(triageExp(-t)) : -t + log1p(triageExp(t)))
            }
        case let .softmax(k):
            var maximum = [Double](repeating: -.infinity, count: m)
            var sum = [Double](repeating: 0, count: m)
            maximum.withUnsafeMutableBufferPointer { mx in
                sum.withUnsafeMutableBufferPointer { sm in
                    weights.withUnsafeBufferPointer { weights in
                        labels.withUnsafeBufferPointer { labels in
                            let gh = out.buffer
                            for c in 0 ..< k {
                                let base = c * n + a
                                for j in 0 ..< m { mx[j] = larger(mx[j], scores[base + j]) }
                            }
                            // Exponentials go to the gradient buffer first, then become gradients.
                            for c in 0 ..< k {
                                let base = c * n + a
                                for j in 0 ..< m {
                                    let e = triageExp(scores[base + j] - mx[j])
                                    gh[2 * (base + j)] = e
                                    sm[j] += e
                                }
                            }
                            for j in 0 ..< m { sm[j] = 1 / sm[j] }   // now the inverse of the sum
                            let floor = Self.hessianFloor
                            for c in 0 ..< k {
                                let base = c * n + a
                                for j in 0 ..< m {
                                    let q = gh[2 * (base + j)] * sm[j]
                                    let w = weights[a + j]
                                    gh[2 * (base + j)] = w * q
                                    gh[2 * (base + j) + 1] = w * larger(q * (1 - q), floor)
                                }
                            }
                            for j in 0 ..< m {
                                let y = Int(labels[a + j])
                                let w = weights[a + j]
                                gh[2 * (y * n + a + j)] -= w
                                // −log p_y = log Σ exp(F − max) + max − F_y
                                lossSum += w * (-log(sm[j]) + mx[j] - scores[y * n + a + j])
                            }
                        }
                    }
                }
            }
        }
        return lossSum
    }

    /// Weighted mean log loss of row-major scores (`scores[i * K + k]`), summed in row order.
    func meanLoss(rowMajorScores scores: [Double], labels: [Int32], weights: [Double]) -> Double {
        let s = scoreCount
        var total = 0.0, weight = 0.0
        scores.withUnsafeBufferPointer { all in
            for i in 0 ..< labels.count {
                total += weights[i] * rowLoss(UnsafeBufferPointer(rebasing: all[i * s ..< (i + 1) * s]), label: Int(labels[i]))
                weight += weights[i]
            }
        }
        return weight > 0 ? total / weight : 0
    }
}

/// Buffers written by several threads at disjoint indices, read after the parallel call
/// returns: gradient chunks write only their own rows (`k * n + i`), tree workers only their own
/// class's scores. That disjointness is what makes the `@unchecked Sendable` sound.
struct DisjointWrites: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Double>

    init(_ buffer: UnsafeMutableBufferPointer<Double>) {
        self.buffer = buffer
    }
}
