import Foundation
import TriageCore

extension GradientBoostingClassifier {
    /// Fits on `x` (one row per example) with `labels` indexing `classNames`.
    ///
    /// Deterministic: the same inputs, settings and `randomState` give the same model bit for bit
    /// on any number of threads — the K trees of a round are independent given the round's
    /// gradients and are grown in parallel, each by one thread, and every sum runs in a fixed order.
    public func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int? = nil) throws(BoostError) -> FittedGradientBoosting {
        try validate()
        let binned = BinMapper(fitting: x, maxBins: maxBins).transform(x)
        return try fit(binned: binned, features: x, labels: labels, classNames: classNames, threads: threads)
    }

    /// Fits on an already binned matrix (`binned` must come from `x` with this `maxBins`), so a
    /// grid search bins each feature matrix once for all its classifier settings.
    public func fit(binned: BinnedMatrix, features x: SparseMatrix, labels: [Int], classNames: [String],
                    threads: Int? = nil) throws(BoostError) -> FittedGradientBoosting {
        try validate()
        precondition(binned.mapper.maxBins == maxBins && binned.rowCount == x.rowCount, "the binned matrix does not match")
        let n = x.rowCount
        guard n > 0 else { throw .emptyTrainingSet }
        guard labels.count == n else { throw .rowCountMismatch(rows: n, labels: labels.count) }
        let classCount = classNames.count
        guard classCount >= 2 else { throw .tooFewClasses(classCount) }
        var y = [Int32](repeating: 0, count: n)
        var perClass = [Int](repeating: 0, count: classCount)
        for (i, label) in labels.enumerated() {
            guard label >= 0 && label < classCount else { throw .labelOutOfRange(row: i, label: label, classCount: classCount) }
            y[i] = Int32(label)
            perClass[label] += 1
        }
        if let empty = perClass.firstIndex(of: 0) { throw .emptyClass(classNames[empty]) }
        let allWeights = try rowWeights(labels: y, classNames: classNames)
        let threads = Parallel.threadCount(threads)

        // Early stopping holds out a stratified validation set.
        let (trainRows, validRows) = earlyStopping
            ? StratifiedSplit.holdout(labels: y.map(Int.init), classCount: classCount, fraction: validationFraction, seed: randomState,
                                      stream: StratifiedSplit.Stream.earlyStopping)
            : (Array(0 ..< n), [])
        let train = validRows.isEmpty ? binned : binned.selectingRows(trainRows)
        let yTrain = trainRows.map { y[$0] }, wTrain = trainRows.map { allWeights[$0] }
        let xValid = x.selectingRows(validRows)
        let yValid = validRows.map { y[$0] }, wValid = validRows.map { allWeights[$0] }

        let loss = Loss(classCount: classCount)
        let s = loss.scoreCount
        let initial = loss.initialScores(labels: yTrain, weights: wTrain, classCount: classCount)
        // Training scores class-major (scores[k * n + i]); validation scores row-major.
        var scores = [Double](repeating: 0, count: trainRows.count * s)
        for k in 0 ..< s { for i in 0 ..< trainRows.count { scores[k * trainRows.count + i] = initial[k] } }
        var validScores = [Double](repeating: 0, count: validRows.count * s)
        for i in 0 ..< validRows.count { for k in 0 ..< s { validScores[i * s + k] = initial[k] } }

        var growers = (0 ..< max(1, min(threads, s))).map { _ in TreeGrower(binned: train, rules: rules, limits: limits) }
        var trees: [[Tree]] = []
        var trainingLoss: [Double] = []
        var validationLoss: [Double] = []
        var best = (loss: Double.infinity, round: -1)
        var roundsWithoutImprovement = 0
        let allRows = (0 ..< Int32(trainRows.count)).map { $0 }
        let featureCount = x.columnCount
        let sampleSize = max(1, Int((subsample * Double(trainRows.count)).rounded(.down)))
        let featureSampleSize = max(1, Int((maxFeatures * Double(featureCount)).rounded(.down)))
        let seed = randomState

        var gh: [Double] = []
        let rowCount = trainRows.count
        // The update of the last round, per row and score (class-major), for backtracking.
        var delta = [Double](repeating: 0, count: rowCount * s)
        // Gradients of the current scores; their loss is a by-product.
        var currentLoss = loss.gradients(scores: scores, labels: yTrain, weights: wTrain, threads: threads, into: &gh)
        var round = 0
        while round < nEstimators {
            defer { round += 1 }
            let thisRound = UInt64(round)
            let ghRound = gh
            var sample = allRows
            if sampleSize < rowCount {
                var rng = SeededGenerator(seed: seed, stream: 1, thisRound)
                sample = rng.sample(sampleSize, from: rowCount).map { Int32($0) }
            }
            let rowSample = sample
            let sampleFeatures = featureSampleSize < featureCount
            let inSample: [Bool]? = rowSample.count < rowCount
                ? { var m = [Bool](repeating: false, count: rowCount); for r in rowSample { m[Int(r)] = true }; return m }()
                : nil
            var roundTrees: [Tree] = delta.withUnsafeMutableBufferPointer { deltaBuffer in
                let update = DisjointWrites(deltaBuffer)
                return Parallel.forEachChunk(chunkCount: s, states: &growers) { grower, k -> Tree in
                    var mask: [Bool]? = nil
                    if sampleFeatures {
                        var rng = SeededGenerator(seed: seed, stream: 2, thisRound, UInt64(k))
                        var m = [Bool](repeating: false, count: featureCount)
                        for f in rng.sample(featureSampleSize, from: featureCount) { m[f] = true }
                        mask = m
                    }
                    let result = ghRound.withUnsafeBufferPointer { all in
                        grower.grow(sample: rowSample, gh: UnsafeBufferPointer(rebasing: all[2 * k * rowCount ..< 2 * (k + 1) * rowCount]), mask: mask)
                    }
                    // This class's update of every training row (only this worker writes this
                    // block): sampled rows by their leaf, the others by traversal.
                    let base = k * rowCount
                    for range in result.leafRanges {
                        let v = result.tree.value[Int(range.node)]
                        for j in range.start ..< range.end { update.buffer[base + Int(result.rows[j])] = v }
                    }
                    if let inSample {
                        for i in 0 ..< rowCount where !inSample[i] {
                            update.buffer[base + i] = result.tree.value[result.tree.leaf(binned: train, row: i)]
                        }
                    }
                    return result.tree
                }
            }
            for j in 0 ..< scores.count { scores[j] += delta[j] }
            var newLoss = loss.gradients(scores: scores, labels: yTrain, weights: wTrain, threads: threads, into: &gh)

            // Backtracking: a round may not raise the training loss. Halve its step until it
            // does not (up to 20 times); if it still does, drop the round and stop.
            var alpha = 1.0
            let limit = currentLoss + 1e-12 * max(1, abs(currentLoss))
            var halvings = 0
            while !(newLoss <= limit) && halvings < Self.maxHalvings {
                alpha /= 2
                halvings += 1
                for j in 0 ..< scores.count { scores[j] -= alpha * delta[j] }
                newLoss = loss.gradients(scores: scores, labels: yTrain, weights: wTrain, threads: threads, into: &gh)
            }
            if !(newLoss <= limit) {
                for j in 0 ..< scores.count { scores[j] -= alpha * delta[j] }
                currentLoss = loss.gradients(scores: scores, labels: yTrain, weights: wTrain, threads: threads, into: &gh)
                break
            }
            if alpha < 1 {
                for k in roundTrees.indices { roundTrees[k].scale(by: alpha) }
            }
            currentLoss = newLoss
            trees.append(roundTrees)
            trainingLoss.append(newLoss)

            if !validRows.isEmpty {
                addTrees(roundTrees, to: &validScores, x: xValid, scoreCount: s)
                let v = loss.meanLoss(rowMajorScores: validScores, labels: yValid, weights: wValid)
                validationLoss.append(v)
                if v < best.loss - tol {
                    best = (v, trees.count - 1)
                    roundsWithoutImprovement = 0
                } else {
                    roundsWithoutImprovement += 1
                    if roundsWithoutImprovement >= nIterNoChange { break }
                }
            }
        }
        if !validRows.isEmpty && best.round >= 0 {
            trees = Array(trees[0 ... best.round])
        }
        return FittedGradientBoosting(settings: self, classNames: classNames, featureCount: featureCount, initialScores: initial,
                                      trees: trees, trainingLoss: trainingLoss, validationLoss: validationLoss)
    }
}

/// Adds the outputs of one round's trees (one per score) to row-major `scores` of the rows of `x`.
func addTrees(_ roundTrees: [Tree], to scores: inout [Double], x: SparseMatrix, scoreCount s: Int) {
    for i in 0 ..< x.rowCount {
        x.withRow(i) { row in
            for (k, tree) in roundTrees.enumerated() { scores[i * s + k] += tree.predict(row) }
        }
    }
}

extension GradientBoostingClassifier {
    /// Most halvings of one round's step before the round is dropped (2^-20 of the step).
    static let maxHalvings = 20
}

extension Tree {
    /// Multiplies every node's output by `factor` (a backtracked round).
    mutating func scale(by factor: Double) {
        for i in value.indices { value[i] *= factor }
    }

    /// The leaf reached by row `row` of a binned matrix (splits compare bins).
    func leaf(binned: BinnedMatrix, row: Int) -> Int {
        var i = 0
        while feature[i] >= 0 {
            i = Int(binned.bin(row: row, feature: feature[i]) <= binThreshold[i] ? left[i] : right[i])
        }
        return i
    }
}

extension BinnedMatrix {
    /// The rows `rows`, in that order, with the same bins.
    func selectingRows(_ rows: [Int]) -> BinnedMatrix {
        var offsets = [0]
        var features: [Int32] = []
        var bins: [UInt8] = []
        for r in rows {
            let range = rowOffsets[r] ..< rowOffsets[r + 1]
            features.append(contentsOf: self.features[range])
            bins.append(contentsOf: self.bins[range])
            offsets.append(features.count)
        }
        return BinnedMatrix(mapper: mapper, rowCount: rows.count, rowOffsets: offsets, features: features, bins: bins)
    }
}
