import Foundation
import TriageCore

/// Vector arithmetic on all cores over chunks whose boundaries do not depend on the thread count;
/// sums are added chunk by chunk in order, so every result has the same bits on any thread count.
struct Vectors: Sendable {
    let threads: Int
    static let chunkSize = 1 << 15

    private func chunks(_ n: Int) -> [Range<Int>] { Parallel.chunks(count: n, chunkSize: Self.chunkSize) }

    /// Σ aᵢbᵢ.
    func dot(_ a: SharedDoubles, _ b: SharedDoubles) -> Double {
        let parts = chunks(a.count)
        return Parallel.map(count: parts.count, threads: threads) { c -> Double in
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = parts[c].lowerBound
            let hi = parts[c].upperBound
            while i + 4 <= hi {
                s0 += a.base[i] * b.base[i]
                s1 += a.base[i + 1] * b.base[i + 1]
                s2 += a.base[i + 2] * b.base[i + 2]
                s3 += a.base[i + 3] * b.base[i + 3]
                i += 4
            }
            while i < hi {
                s0 += a.base[i] * b.base[i]
                i += 1
            }
            return (s0 + s1) + (s2 + s3)
        }.reduce(0, +)
    }

    /// max |aᵢ|.
    func maxAbs(_ a: SharedDoubles) -> Double {
        let parts = chunks(a.count)
        return Parallel.map(count: parts.count, threads: threads) { c -> Double in
            var m = 0.0
            for i in parts[c] { m = max(m, abs(a.base[i])) }
            return m
        }.max() ?? 0
    }

    /// y ← y + α·x.
    func axpy(_ alpha: Double, _ x: SharedDoubles, _ y: SharedDoubles) {
        let parts = chunks(x.count)
        _ = Parallel.map(count: parts.count, threads: threads) { c in
            for i in parts[c] { y.base[i] += alpha * x.base[i] }
        }
    }

    /// out ← a + α·b.
    func sum(_ a: SharedDoubles, _ alpha: Double, _ b: SharedDoubles, into out: SharedDoubles) {
        let parts = chunks(a.count)
        _ = Parallel.map(count: parts.count, threads: threads) { c in
            for i in parts[c] { out.base[i] = a.base[i] + alpha * b.base[i] }
        }
    }

    /// out ← a − b.
    func difference(_ a: SharedDoubles, _ b: SharedDoubles, into out: SharedDoubles) {
        let parts = chunks(a.count)
        _ = Parallel.map(count: parts.count, threads: threads) { c in
            for i in parts[c] { out.base[i] = a.base[i] - b.base[i] }
        }
    }

    /// out ← α·a.
    func scaled(_ alpha: Double, _ a: SharedDoubles, into out: SharedDoubles) {
        let parts = chunks(a.count)
        _ = Parallel.map(count: parts.count, threads: threads) { c in
            for i in parts[c] { out.base[i] = alpha * a.base[i] }
        }
    }
}

/// Limited-memory BFGS (Nocedal & Wright, *Numerical Optimization*, 2nd ed., algorithms 7.4–7.5)
/// with a backtracking Armijo line search that interpolates quadratically. Curvature pairs with
/// sᵀy ≤ 0 are skipped, so the implicit Hessian stays positive definite.
///
/// Stops when max |gᵢ| ≤ `gtol`, when a step lowers f by less than `ftol` relative (scipy's
/// L-BFGS-B test, which scikit-learn uses), when no descent step can be found, or after
/// `maxIterations`.
struct LBFGS {
    var memory = 10
    var maxIterations = 100
    var gtol = 1e-4
    var ftol = 64 * Double.ulpOfOne
    let vectors: Vectors

    struct Outcome {
        var iterations: Int
        var converged: Bool
        var value: Double
    }

    /// Minimises `evaluate(x, g)` (returns f(x), writes ∇f(x) to g) starting from and
    /// overwriting `x`.
    func minimize(_ x: SharedDoubles, evaluate: (SharedDoubles, SharedDoubles) -> Double) -> Outcome {
        let n = x.count
        let v = vectors
        let g = SharedDoubles(count: n), d = SharedDoubles(count: n)
        let xNew = SharedDoubles(count: n), gNew = SharedDoubles(count: n)
        var f = evaluate(x, g)
        if v.maxAbs(g) <= gtol { return Outcome(iterations: 0, converged: true, value: f) }
        var pairs: [(s: SharedDoubles, y: SharedDoubles, rho: Double)] = []
        var spare: [(SharedDoubles, SharedDoubles)] = []
        var alphas = [Double](repeating: 0, count: memory)
        var iteration = 0
        while iteration < maxIterations {
            iteration += 1
            // Direction d = −H g by the two-loop recursion, carried out on d = −q.
            v.scaled(-1, g, into: d)
            for j in stride(from: pairs.count - 1, through: 0, by: -1) {
                alphas[j] = pairs[j].rho * v.dot(pairs[j].s, d)
                v.axpy(-alphas[j], pairs[j].y, d)
            }
            if let last = pairs.last {
                let gamma = v.dot(last.s, last.y) / v.dot(last.y, last.y)
                v.scaled(gamma, d, into: d)
            }
            for j in 0 ..< pairs.count {
                let beta = pairs[j].rho * v.dot(pairs[j].y, d)
                v.axpy(alphas[j] - beta, pairs[j].s, d)
            }
            var slope = v.dot(g, d)
            if !(slope < 0) {
                // Not a descent direction (round-off): forget the curvature pairs.
                spare += pairs.map { ($0.s, $0.y) }
                pairs.removeAll()
                v.scaled(-1, g, into: d)
                slope = v.dot(g, d)
            }
            var step = pairs.isEmpty ? min(1, 1 / sqrt(-slope)) : 1.0
            var fNew = Double.infinity
            var accepted = false
            for _ in 0 ..< 40 {
                v.sum(x, step, d, into: xNew)
                fNew = evaluate(xNew, gNew)
                if fNew.isFinite && fNew <= f + 1e-4 * step * slope {
                    accepted = true
                    break
                }
                // Minimiser of the quadratic through f, the slope and fNew, kept in [0.1, 0.5]·step.
                let q = fNew.isFinite ? -slope * step * step / (2 * (fNew - f - slope * step)) : 0.5 * step
                step = min(max(q, 0.1 * step), 0.5 * step)
            }
            if !accepted {
                if pairs.isEmpty { return Outcome(iterations: iteration, converged: false, value: f) }
                spare += pairs.map { ($0.s, $0.y) }
                pairs.removeAll()
                continue
            }
            // Curvature pair s = xNew − x, y = gNew − g.
            let (s, y) = pairs.count == memory ? { let p = pairs.removeFirst(); return (p.s, p.y) }()
                : (spare.popLast() ?? (SharedDoubles(count: n), SharedDoubles(count: n)))
            v.difference(xNew, x, into: s)
            v.difference(gNew, g, into: y)
            let sy = v.dot(s, y), yy = v.dot(y, y)
            if sy > 1e-10 * yy { pairs.append((s, y, 1 / sy)) } else { spare.append((s, y)) }
            let decrease = (f - fNew) / max(abs(f), abs(fNew), 1)
            memcpy(x.base, xNew.base, n * MemoryLayout<Double>.stride)
            memcpy(g.base, gNew.base, n * MemoryLayout<Double>.stride)
            f = fNew
            if v.maxAbs(g) <= gtol || decrease <= ftol { return Outcome(iterations: iteration, converged: true, value: f) }
        }
        return Outcome(iterations: iteration, converged: false, value: f)
    }
}
