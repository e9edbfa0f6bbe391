/// The best split of a node found so far: on `feature`, rows with bin ≤ `bin` go left.
struct SplitCandidate {
    var gain: Double
    var feature: Int32
    var bin: UInt8
    var leftG: Double
    var leftH: Double
    var leftCount: Int
}

/// Leaf outputs and split gains under second-order boosting with L2 regularisation λ and an
/// optional cap on each step (`maxDeltaStep`, XGBoost's and LightGBM's name):
///
/// - raw leaf step  w = clamp(−G / (H + λ), ±maxDeltaStep)   (no clamp when maxDeltaStep ≤ 0);
/// - loss reduction of a leaf  r(G, H) = −(G·w + ½(H + λ)·w²)  (= G² / (2(H + λ)) unclamped);
/// - gain of a split  r(G_L, H_L) + r(G_R, H_R) − r(G, H).
/// A split needs `count ≥ minSamplesLeaf` and `hessian ≥ minHessianLeaf` on both sides, and a
/// gain above zero. Ties between features go to the lower feature index, and within a feature
/// to the lower bin — an explicit, tested order.
struct SplitRules {
    var l2: Double
    var maxDeltaStep: Double
    var minSamplesLeaf: Int
    var minHessianLeaf: Double

    @inline(__always)
    func step(_ g: Double, _ h: Double) -> Double {
        let denominator = h + l2
        guard denominator > 0 else { return 0 }
        let w = -g / denominator
        guard maxDeltaStep > 0 else { return w }
        return min(max(w, -maxDeltaStep), maxDeltaStep)
    }

    @inline(__always)
    func reduction(_ g: Double, _ h: Double) -> Double {
        let d = h + l2
        guard d > 0 else { return 0 }
        if maxDeltaStep > 0 && abs(g) > maxDeltaStep * d {
            // The step is capped at ±maxDeltaStep (sign opposite to g).
            let w = g > 0 ? -maxDeltaStep : maxDeltaStep
            return -(g * w + 0.5 * d * w * w)
        }
        return g * g / (2 * d)
    }

    /// The best split of a node with totals (G, H, N) and histogram `hist`, over the touched
    /// features allowed by `mask` (nil: all). Nil when no split is valid and gainful.
    ///
    /// Internally gains are doubled (2r = G²/(H+λ) unclamped) to save a multiply per candidate;
    /// the returned gain is the true one.
    func bestSplit(hist: Histogram, totalG: Double, totalH: Double, count: Int,
                   binned: BinnedMatrix, mask: [Bool]?) -> SplitCandidate? {
        guard count >= 2 * minSamplesLeaf, count >= 2 else { return nil }
        let capped = maxDeltaStep > 0
        let cap = maxDeltaStep, l2 = self.l2, minLeaf = minSamplesLeaf, minHessian = minHessianLeaf

        @inline(__always)
        func doubled(_ g: Double, _ h: Double) -> Double {
            let d = h + l2
            if capped && abs(g) > cap * d {
                let w = g > 0 ? -cap : cap
                return -(2 * g * w + d * w * w)
            }
            return g * g / d
        }

        let parent = totalH + l2 > 0 ? doubled(totalG, totalH) : 0
        var bestGain = 0.0            // doubled; only gains above zero count
        var bestFeature = Int32.max
        var bestBin: UInt8 = 0
        var bestLG = 0.0, bestLH = 0.0, bestLN = 0
        let zeroBins = binned.mapper.zeroBin
        let layout = binned.layout
        hist.bins.withUnsafeBufferPointer { bins in
            hist.totals.withUnsafeBufferPointer { totals in
                for f in hist.touched {
                    let fi = Int(f)
                    if let mask, !mask[fi] { continue }
                    let start = Int(layout.start[fi]), binCount = Int(layout.end[fi]) - start
                    if binCount < 2 { continue }
                    let zeroBin = Int(zeroBins[fi])
                    // The zero bin: node totals minus the feature's stored entries.
                    let stored = totals[fi]
                    // Every split leaves some of the stored rows alone on one side (the side
                    // without zero's bin): fewer than min_samples_leaf of them, no valid split.
                    if stored.n < minLeaf || stored.n == 0 { continue }
                    let zg = totalG - stored.g, zh = totalH - stored.h, zn = count - stored.n
                    var lg = 0.0, lh = 0.0, ln = 0

                    /// Adds bin j to the left side and evaluates the split after it; false: stop.
                    @inline(__always)
                    func visit(_ j: Int) -> Bool {
                        if j == zeroBin {
                            if zn == 0 { return true }
                            lg += zg; lh += zh; ln += zn
                        } else {
                            let b = bins[start + j]
                            // A bin without rows of this node moves nothing: its split equals the
                            // previous one, which the tie-break (lower bin) already prefers.
                            if b.n == 0 { return true }
                            lg += b.g; lh += b.h; ln += b.n
                        }
                        if ln < minLeaf { return true }
                        if count - ln < minLeaf { return false }
                        let rh = totalH - lh
                        if lh < minHessian || rh < minHessian || lh + l2 <= 0 || rh + l2 <= 0 { return true }
                        let gain = doubled(lg, lh) + doubled(totalG - lg, rh) - parent
                        if gain > bestGain || (gain == bestGain && f < bestFeature && bestFeature != .max) {
                            bestGain = gain
                            bestFeature = f
                            bestBin = UInt8(j)
                            bestLG = lg; bestLH = lh; bestLN = ln
                        }
                        return true
                    }

                    if binCount <= 64 {
                        // Only bins that received rows (and the zero bin), in increasing order;
                        // the last bin is never a split point.
                        var bits = stored.occupied | (1 &<< UInt64(zeroBin))
                        bits &= binCount == 64 ? ~(1 &<< 63) : (1 &<< UInt64(binCount - 1)) &- 1
                        while bits != 0 {
                            let j = bits.trailingZeroBitCount
                            bits &= bits &- 1
                            if !visit(j) { break }
                        }
                    } else {
                        for j in 0 ..< binCount - 1 where !visit(j) { break }
                    }
                }
            }
        }
        guard bestFeature != .max else { return nil }
        return SplitCandidate(gain: bestGain / 2, feature: bestFeature, bin: bestBin, leftG: bestLG, leftH: bestLH, leftCount: bestLN)
    }
}
