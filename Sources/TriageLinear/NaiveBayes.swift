import Foundation
import TriageCore

/// Per-class sums of feature values (N_kf), F-major like the fitted weights.
private func featureSums(_ x: SparseMatrix, labels: [Int], classCount: Int) throws(LinearError) -> [Double] {
    var sums = [Double](repeating: 0, count: x.columnCount * classCount)
    for i in 0 ..< x.rowCount {
        for j in x.rowOffsets[i] ..< x.rowOffsets[i + 1] {
            let v = x.values[j], f = Int(x.columnIndices[j])
            guard v >= 0 else { throw .negativeFeature(row: i, column: f, value: v) }
            sums[f * classCount + labels[i]] += v
        }
    }
    return sums
}

extension MultinomialNB {
    public func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int? = nil) throws(LinearError) -> FittedLinearModel {
        try validate()
        try checkTrainingSet(x, labels: labels, classNames: classNames)
        let k = classNames.count, f = x.columnCount
        let sums = try featureSums(x, labels: labels, classCount: k)
        var totals = [Double](repeating: 0, count: k)
        for j in 0 ..< f { for c in 0 ..< k { totals[c] += sums[j * k + c] + alpha } }
        let logTotals = totals.map { log($0) }
        var coef = [Float](repeating: 0, count: f * k)
        for j in 0 ..< f { for c in 0 ..< k { coef[j * k + c] = Float(log(sums[j * k + c] + alpha) - logTotals[c]) } }
        var counts = [Double](repeating: 0, count: k)
        for y in labels { counts[y] += 1 }
        let n = Double(labels.count)
        let prior = fitPrior ? counts.map { log($0) - log(n) } : [Double](repeating: -log(Double(k)), count: k)
        return FittedLinearModel(kind: .multinomialNB, classNames: classNames, featureCount: f, scoreCount: k, coef: coef, intercept: prior)
    }
}

extension ComplementNB {
    public func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int? = nil) throws(LinearError) -> FittedLinearModel {
        try validate()
        try checkTrainingSet(x, labels: labels, classNames: classNames)
        let k = classNames.count, f = x.columnCount
        let sums = try featureSums(x, labels: labels, classCount: k)
        var complement = [Double](repeating: 0, count: f * k)
        var totals = [Double](repeating: 0, count: k)
        for j in 0 ..< f {
            var all = 0.0
            for c in 0 ..< k { all += sums[j * k + c] }
            for c in 0 ..< k {
                let v = all - sums[j * k + c] + alpha
                complement[j * k + c] = v
                totals[c] += v
            }
        }
        let logTotals = totals.map { log($0) }
        var logged = [Double](repeating: 0, count: f * k)
        var loggedSums = [Double](repeating: 0, count: k)
        for j in 0 ..< f {
            for c in 0 ..< k {
                let v = log(complement[j * k + c]) - logTotals[c]
                logged[j * k + c] = v
                loggedSums[c] += v
            }
        }
        let coef = (0 ..< f * k).map { i -> Float in Float(norm ? logged[i] / loggedSums[i % k] : -logged[i]) }
        return FittedLinearModel(kind: .complementNB, classNames: classNames, featureCount: f, scoreCount: k, coef: coef,
                                 intercept: [Double](repeating: 0, count: k))
    }
}
