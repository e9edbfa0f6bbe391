/// Gradient statistics of one bin: sums of gradients and hessians, and the row count.
struct HistBin {
    var g: Double = 0
    var h: Double = 0
    var n: Int = 0
}

/// Per-feature sums over its stored entries, and (when the feature has at most 64 bins) a bit
/// per bin that has received rows — a superset of the non-empty bins after subtraction.
struct FeatureTotal {
    var g: Double = 0
    var h: Double = 0
    var n: Int = 0
    var occupied: UInt64 = 0
}

/// The histogram of one node over every bin of every feature, plus the features its rows store
/// (`touched`). Only touched features have non-zero bins, and the zero bin of every feature is
/// left empty (it is derived from the node totals), so building, clearing and scanning a node
/// cost O(its rows' stored entries + its touched features' bins), never O(all features).
///
/// Unsafe code (this file): `accumulate` writes `bins[slot]` for the slots of the binned matrix,
/// which are `< layout.total == bins.count`; it reads `gh[2i]`, `gh[2i + 1]` for row indices
/// `i < rowCount == gh.count / 2`, and `stamps[f]`, `totals[f]` for features
/// `f < featureCount == stamps.count == totals.count`. `BinnedMatrix` guarantees the slots and
/// features; the grower the rest. `subtract`, `compactTouched` and `clear` index by the bin layout
/// of touched features, whose slots are `< layout.total == bins.count`.
struct Histogram {
    var bins: [HistBin]
    /// Per feature: the sums over its stored (non-zero) entries, i.e. over all its bins but the
    /// zero bin — so the zero bin is `node totals − totals[f]`, in O(1).
    var totals: [FeatureTotal]
    var touched: [Int32] = []

    init(totalBins: Int, featureCount: Int) {
        bins = [HistBin](repeating: HistBin(), count: totalBins)
        totals = [FeatureTotal](repeating: FeatureTotal(), count: featureCount)
    }

    /// Adds the stored entries of `rows` to an empty histogram and records the touched features.
    /// `stamps` is per-feature scratch; `stamp` must differ from every value in it.
    mutating func accumulate(rows: UnsafeBufferPointer<Int32>, binned: BinnedMatrix,
                             gh: UnsafeBufferPointer<Double>,
                             stamps: inout [UInt32], stamp: UInt32) {
        let layoutStart = binned.layout.start, layoutEnd = binned.layout.end
        var touchedFeatures: [Int32] = []
        swap(&touchedFeatures, &touched)   // moved out, not copied
        touchedFeatures.removeAll(keepingCapacity: true)
        var featureTotals: [FeatureTotal] = []
        swap(&featureTotals, &totals)
        defer { swap(&featureTotals, &totals) }
        featureTotals.withUnsafeMutableBufferPointer { totals in
        bins.withUnsafeMutableBufferPointer { hist in
            stamps.withUnsafeMutableBufferPointer { stamps in
                binned.rowOffsets.withUnsafeBufferPointer { offsets in
                    binned.features.withUnsafeBufferPointer { features in
                        binned.slots.withUnsafeBufferPointer { slots in
                          binned.bins.withUnsafeBufferPointer { binOf in
                            for r in rows {
                                let i = Int(r)
                                let gi = gh[2 &* i], hi = gh[2 &* i &+ 1]
                                for k in offsets[i] ..< offsets[i + 1] {
                                    let f = Int(features[k])
                                    if stamps[f] != stamp {
                                        // First entry of f in this build: its bins may hold an
                                        // earlier node's sums (lazy zeroing; see `clear`).
                                        stamps[f] = stamp
                                        touchedFeatures.append(Int32(f))
                                        totals[f] = FeatureTotal()
                                        for z in Int(layoutStart[f]) ..< Int(layoutEnd[f]) { hist[z] = HistBin() }
                                    }
                                    let s = Int(slots[k])
                                    hist[s].g += gi
                                    hist[s].h += hi
                                    hist[s].n += 1
                                    totals[f].g += gi
                                    totals[f].h += hi
                                    totals[f].n += 1
                                    totals[f].occupied |= 1 &<< UInt64(binOf[k] & 63)
                                }
                            }
                          }
                        }
                    }
                }
            }
        }
        }
        touched = touchedFeatures
    }

    /// Turns this (a parent's histogram) into the histogram of its larger child by subtracting
    /// the smaller child's: histogram subtraction. Only the smaller child's touched features
    /// change, so it costs O(the smaller child's touched bins); the result keeps the parent's
    /// touched list (a superset of the larger child's features).
    mutating func subtract(_ smaller: Histogram, layout: BinLayout) {
        var featureTotals: [FeatureTotal] = []
        swap(&featureTotals, &totals)
        defer { swap(&featureTotals, &totals) }
        featureTotals.withUnsafeMutableBufferPointer { totals in
            bins.withUnsafeMutableBufferPointer { hist in
                smaller.bins.withUnsafeBufferPointer { small in
                    smaller.totals.withUnsafeBufferPointer { smallTotals in
                        layout.start.withUnsafeBufferPointer { start in
                          layout.end.withUnsafeBufferPointer { end in
                            for f32 in smaller.touched {
                                let f = Int(f32)
                                totals[f].g -= smallTotals[f].g
                                totals[f].h -= smallTotals[f].h
                                totals[f].n -= smallTotals[f].n
                                for s in Int(start[f]) ..< Int(end[f]) {
                                    hist[s].g -= small[s].g
                                    hist[s].h -= small[s].h
                                    hist[s].n -= small[s].n
                                }
                            }
                          }
                        }
                    }
                }
            }
        }
    }

    /// Keeps in `touched` only the features with at least `minimumCount` stored rows: the
    /// others cannot be split on in this node (any split leaves some of their stored rows alone
    /// on one side) nor below it, so scans skip them. Call it only once the histogram is no
    /// longer needed as the smaller operand of a subtraction, which must see every feature the
    /// node touched. Dropped features' bins are never read again (bins are zeroed when a build
    /// first touches a feature).
    mutating func retainSplittable(minimumCount: Int) {
        var kept: [Int32] = []
        swap(&kept, &touched)
        var write = 0
        for read in 0 ..< kept.count where totals[Int(kept[read])].n >= minimumCount {
            kept[write] = kept[read]
            write += 1
        }
        kept.removeLast(kept.count - write)
        touched = kept
    }

    /// Readies the buffer for reuse: O(1). Bins are not zeroed here but when the next build
    /// first touches each feature (`accumulate`), so a node never pays for features it lacks.
    mutating func clear() {
        touched.removeAll(keepingCapacity: true)
    }

    /// Column-wise build: adds, for every feature, the stored entries of the rows with
    /// `mark[r] != 0`, walking the feature's column (rows increasing). For large nodes this
    /// replaces scattered writes over the whole histogram by a sequential walk of the columns
    /// with each feature's few bins in cache. Rows within a node are increasing too, so both
    /// builds add the same values in the same order: identical sums.
    mutating func accumulateByColumn(mark: UnsafeBufferPointer<UInt8>, binned: BinnedMatrix,
                                     gh: UnsafeBufferPointer<Double>,
                                     stamps: inout [UInt32], stamp: UInt32) {
        var touchedFeatures: [Int32] = []
        swap(&touchedFeatures, &touched)
        touchedFeatures.removeAll(keepingCapacity: true)
        var featureTotals: [FeatureTotal] = []
        swap(&featureTotals, &totals)
        defer { swap(&featureTotals, &totals) }
        let layoutStart = binned.layout.start
        featureTotals.withUnsafeMutableBufferPointer { totals in
            bins.withUnsafeMutableBufferPointer { hist in
                stamps.withUnsafeMutableBufferPointer { stamps in
                    binned.columnOffsets.withUnsafeBufferPointer { offsets in
                        binned.columnRows.withUnsafeBufferPointer { rows in
                            binned.columnBins.withUnsafeBufferPointer { columnBins in
                                for f in 0 ..< binned.featureCount {
                                    let start = Int(layoutStart[f])
                                    var total = FeatureTotal()
                                    for k in offsets[f] ..< offsets[f + 1] {
                                        let r = Int(rows[k])
                                        if mark[r] == 0 { continue }
                                        if total.n == 0 {
                                            stamps[f] = stamp
                                            touchedFeatures.append(Int32(f))
                                            for z in start ..< Int(binned.layout.end[f]) { hist[z] = HistBin() }
                                        }
                                        let gi = gh[2 &* r], hi = gh[2 &* r &+ 1]
                                        let s = start + Int(columnBins[k])
                                        hist[s].g += gi
                                        hist[s].h += hi
                                        hist[s].n += 1
                                        total.g += gi
                                        total.h += hi
                                        total.n += 1
                                        total.occupied |= 1 &<< UInt64(columnBins[k] & 63)
                                    }
                                    if total.n > 0 { totals[f] = total }
                                }
                            }
                        }
                    }
                }
            }
        }
        touched = touchedFeatures
    }
}

/// Reusable histogram buffers of one tree grower (one per thread).
struct HistogramPool {
    private var buffers: [Histogram] = []
    private var free: [Int] = []
    let totalBins: Int
    let featureCount: Int

    init(totalBins: Int, featureCount: Int) {
        self.totalBins = totalBins
        self.featureCount = featureCount
    }

    mutating func acquire() -> Int {
        if let i = free.popLast() { return i }
        buffers.append(Histogram(totalBins: totalBins, featureCount: featureCount))
        return buffers.count - 1
    }

    mutating func release(_ i: Int) {
        buffers[i].clear()
        free.append(i)
    }

    subscript(i: Int) -> Histogram {
        get { buffers[i] }
        _modify { yield &buffers[i] }
    }

    /// Runs `body` with buffer `a` mutable and buffer `b` read-only (a ≠ b).
    mutating func with<R>(_ a: Int, reading b: Int, _ body: (inout Histogram, Histogram) -> R) -> R {
        precondition(a != b)
        var first = Histogram(totalBins: 0, featureCount: 0)
        swap(&first, &buffers[a])
        defer { swap(&first, &buffers[a]) }
        return body(&first, buffers[b])
    }
}
