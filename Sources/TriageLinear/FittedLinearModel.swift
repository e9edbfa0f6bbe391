import CTriageKernels
import Foundation
import TriageCore

/// A fitted linear classifier: scores = intercept + Σ_f x_f · coef[f], one score per class (one
/// for a binary logistic regression or SVM, the score of `classNames[1]`), then probabilities.
///
/// Weights are 32-bit floats, feature-major: a feature's weights for every class sit together,
/// which is what scoring a sparse row reads. They live in a `WeightMatrix`, columns `column ..<
/// column + scoreCount` (a soft vote's members share one matrix, side by side). Training runs in
/// double precision and rounds once at the end (to float32, or to the model file's encoding:
/// `withWeights(_:)`), so the fitted model, the saved artifact and the loaded one predict the
/// same bits. Scores accumulate in double precision in column order.
public struct FittedLinearModel: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case logisticRegression = "logistic_regression"
        case linearSVC = "linear_svc"
        case multinomialNB = "multinomial_nb"
        case complementNB = "complement_nb"

        /// Whether a binary problem has one (logistic) score, as scikit-learn's
        /// `decision_function`, rather than one per class.
        public var binaryHasOneScore: Bool { self == .logisticRegression || self == .linearSVC }

        /// Whether probabilities divide the scores by a fitted temperature (else T = 1).
        public var hasTemperature: Bool { self == .linearSVC }

        /// Naive Bayes: a softmax over one score per class, so a per-feature shift of the
        /// weights (the same for every class) leaves its probabilities unchanged.
        public var isNaiveBayes: Bool { self == .multinomialNB || self == .complementNB }
    }

    public let kind: Kind
    public let classNames: [String]
    public let featureCount: Int
    /// Scores per row: 1 for a binary logistic regression or SVM, else the number of classes.
    public let scoreCount: Int
    /// The matrix holding the weights: `featureCount` rows, this model's in columns `column ..<
    /// column + scoreCount`.
    public let weights: WeightMatrix
    public let column: Int
    public let intercept: [Double]
    /// Probabilities are softmax(score / temperature) (sigmoid for one score).
    public let temperature: Double
    /// Iterations of the solver (the largest over the one-vs-rest problems); 0 for naive Bayes.
    public let iterations: Int
    /// False when the solver stopped at `max_iter` before meeting `tol`.
    public let converged: Bool

    public init(kind: Kind, classNames: [String], featureCount: Int, scoreCount: Int, coef: [Float], intercept: [Double],
                temperature: Double = 1, iterations: Int = 0, converged: Bool = true) {
        precondition(coef.count == featureCount * scoreCount && intercept.count == scoreCount)
        self.init(kind: kind, classNames: classNames, scoreCount: scoreCount,
                  weights: WeightMatrix(rows: featureCount, columns: scoreCount, values: coef), column: 0,
                  intercept: intercept, temperature: temperature, iterations: iterations, converged: converged)
    }

    /// A model reading columns `column ..< column + scoreCount` of `weights`.
    public init(kind: Kind, classNames: [String], scoreCount: Int, weights: WeightMatrix, column: Int, intercept: [Double],
                temperature: Double = 1, iterations: Int = 0, converged: Bool = true) {
        precondition(column >= 0 && column + scoreCount <= weights.columns && intercept.count == scoreCount)
        self.kind = kind
        self.classNames = classNames
        featureCount = weights.rows
        self.scoreCount = scoreCount
        self.weights = weights
        self.column = column
        self.intercept = intercept
        self.temperature = temperature
        self.iterations = iterations
        self.converged = converged
    }

    /// The same model reading its weights from `matrix` at `column` (which holds the same values).
    public func reading(_ matrix: WeightMatrix, column: Int) -> FittedLinearModel {
        FittedLinearModel(kind: kind, classNames: classNames, scoreCount: scoreCount, weights: matrix, column: column, intercept: intercept,
                          temperature: temperature, iterations: iterations, converged: converged)
    }

    /// The model with its weights rounded as `encoding` stores them (naive Bayes shifted per
    /// feature first: `WeightEncoding`). Its probabilities move by the rounding only.
    public func withWeights(_ encoding: WeightEncoding) -> FittedLinearModel {
        let own = weights.columns == scoreCount ? weights : WeightMatrix.joining([(weights, column, scoreCount)])
        let matrix = own.encoded(as: encoding, centered: kind.isNaiveBayes ? [0 ..< scoreCount] : [])
        return reading(matrix, column: 0)
    }

    /// The weights as a feature-major array of `featureCount × scoreCount` (a copy).
    public var coef: [Float] {
        if column == 0 && weights.columns == scoreCount { return weights.values }
        var out = [Float](repeating: 0, count: featureCount * scoreCount)
        for f in 0 ..< featureCount { for k in 0 ..< scoreCount { out[f * scoreCount + k] = weights.values[f * weights.columns + column + k] } }
        return out
    }

    public static func == (a: FittedLinearModel, b: FittedLinearModel) -> Bool {
        guard a.kind == b.kind, a.classNames == b.classNames, a.featureCount == b.featureCount, a.scoreCount == b.scoreCount,
              a.intercept == b.intercept, a.temperature == b.temperature, a.iterations == b.iterations, a.converged == b.converged,
              a.weights.encoding == b.weights.encoding else { return false }
        if a.weights === b.weights && a.column == b.column { return true }
        for f in 0 ..< a.featureCount {
            for k in 0 ..< a.scoreCount where a.weight(feature: f, score: k) != b.weight(feature: f, score: k) { return false }
        }
        return true
    }

    /// The weight of feature `f` for score `k`.
    public func weight(feature f: Int, score k: Int) -> Double { Double(weights.values[f * weights.columns + column + k]) }

    /// Raw scores of one row, written to `out` (`scoreCount` of them).
    /// Precondition (O(1)): the row's columns are < `featureCount`, and `out` holds `scoreCount`.
    @inline(__always)
    public func scores(_ row: SparseRow, into out: UnsafeMutableBufferPointer<Double>) {
        let s = scoreCount
        precondition(out.count >= s && row.isWithin(featureCount: featureCount), "a row outside the model's features")
        for k in 0 ..< s { out[k] = intercept[k] }
        guard !row.isEmpty else { return }
        let stride = weights.columns, first = column
        weights.values.withUnsafeBufferPointer { w in
            // A non-empty row within featureCount means the matrix has rows, so w has a base.
            guard let base = w.baseAddress else { return }
            // out[k] += v_j · w[c_j, column + k] for j in order, in C so that it uses AVX2 where
            // present (same bits as the scalar loop: see CTriageKernels).
            triage_sparse_axpy_f32(out.baseAddress, base + first, stride, row.columns.baseAddress, row.values.baseAddress,
                                   row.count, s)
        }
    }

    /// Class probabilities from raw scores (`classNames` order), with `triageExp` so that the
    /// same scores give the same bits everywhere (golden probes).
    public func probabilities(fromScores scores: UnsafeBufferPointer<Double>) -> [Double] {
        let t = temperature
        if scoreCount == 1 {
            let p = Self.positiveProbability(score: scores[0], temperature: t)
            return [1 - p, p]
        }
        return [Double](unsafeUninitializedCapacity: scoreCount) { out, n in
            _ = out.initialize(from: scores)
            Self.softmax(out, temperature: t)
            n = scoreCount
        }
    }

    /// P(second class) of a binary model from its one score: the logistic of score / temperature.
    @inline(__always)
    public static func positiveProbability(score: Double, temperature t: Double) -> Double {
        1 / (1 + triageExp(-score / t))
    }

    /// softmax(scores / temperature) in place, in C so that the exponentials use the machine's
    /// vector width: m = max_k scores[k] / t, e_k = triageExp(scores[k] / t − m), e_k / Σ e (the
    /// sum in order). The same bits as that scalar loop on every instruction set.
    @inline(__always)
    public static func softmax(_ scores: UnsafeMutableBufferPointer<Double>, temperature t: Double) {
        guard let base = scores.baseAddress else { return }
        triage_softmax(base, scores.count, t)
    }

    /// Class probabilities of one row.
    public func probabilities(_ row: SparseRow) -> [Double] {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: scoreCount) { buffer in
            scores(row, into: buffer)
            return probabilities(fromScores: UnsafeBufferPointer(buffer))
        }
    }

    /// Raw scores of every row (row-major, `scoreCount` per row).
    public func rawScores(_ x: SparseMatrix, threads: Int? = nil) throws(LinearError) -> [[Double]] {
        guard x.columnCount == featureCount else { throw .featureCountMismatch(expected: featureCount, got: x.columnCount) }
        let chunks = Parallel.chunks(count: x.rowCount, chunkSize: 512)
        let parts = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> [[Double]] in
            chunks[c].map { i in
                x.withRow(i) { row in
                    [Double](unsafeUninitializedCapacity: scoreCount) { buffer, n in
                        scores(row, into: buffer)
                        n = scoreCount
                    }
                }
            }
        }
        return Array(parts.joined())
    }

    /// Class probabilities of every row.
    public func predictProbabilities(_ x: SparseMatrix, threads: Int? = nil) throws(LinearError) -> [[Double]] {
        try rawScores(x, threads: threads).map { s in s.withUnsafeBufferPointer { probabilities(fromScores: $0) } }
    }

    /// Contributions of one row's features to each score: `perFeature[k][f] = x_f · coef[f, k]`;
    /// `bias[k]` is the intercept. bias + Σ contributions = the raw score.
    public func contributions(_ row: SparseRow) -> (bias: [Double], perFeature: [[Int32: Double]]) {
        precondition(row.isWithin(featureCount: featureCount), "a row outside the model's features")
        var per = [[Int32: Double]](repeating: [:], count: scoreCount)
        for j in 0 ..< row.count {
            for k in 0 ..< scoreCount { per[k][row.columns[j]] = row.values[j] * weight(feature: Int(row.columns[j]), score: k) }
        }
        return (intercept, per)
    }

    // MARK: Codable (artifact).
    //
    // `coef` is, in payload version 3, a reference to a matrix of the artifact's binary
    // sections, `{"matrix": i, "column": c}` (the matrices come through `userInfo`, see
    // `WeightMatrixTable`); in version 2, base64 of little-endian binary32 values.

    enum CodingKeys: String, CodingKey {
        case kind, coef, intercept, temperature, iterations, converged
        case classNames = "class_names"
        case featureCount = "feature_count"
        case scoreCount = "score_count"
    }

    struct MatrixReference: Codable {
        var matrix: Int
        var column: Int
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        classNames = try c.decode([String].self, forKey: .classNames)
        featureCount = try c.decode(Int.self, forKey: .featureCount)
        scoreCount = try c.decode(Int.self, forKey: .scoreCount)
        intercept = try c.decode([Double].self, forKey: .intercept)
        temperature = try c.decode(Double.self, forKey: .temperature)
        iterations = try c.decode(Int.self, forKey: .iterations)
        converged = try c.decode(Bool.self, forKey: .converged)
        func corrupt(_ key: CodingKeys, _ why: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: why)
        }
        guard featureCount >= 0, featureCount <= Int(Int32.max) else { throw corrupt(.featureCount, "\(featureCount) is not a feature count") }
        guard scoreCount >= 1, scoreCount <= 1 << 16 else { throw corrupt(.scoreCount, "\(scoreCount) is not a score count") }
        guard intercept.count == scoreCount else { throw corrupt(.intercept, "\(intercept.count) intercepts for \(scoreCount) scores") }
        guard temperature > 0, temperature.isFinite else { throw corrupt(.temperature, "\(temperature) is not a temperature (> 0)") }
        if let table = decoder.userInfo[WeightMatrixTable.userInfoKey] as? WeightMatrixTable {
            let reference = try c.decode(MatrixReference.self, forKey: .coef)
            guard table.matrices.indices.contains(reference.matrix) else {
                throw corrupt(.coef, "matrix \(reference.matrix) does not exist (\(table.matrices.count) matrices)")
            }
            let matrix = table.matrices[reference.matrix]
            guard matrix.rows == featureCount else {
                throw corrupt(.coef, "matrix \(reference.matrix) has \(matrix.rows) rows for \(featureCount) features")
            }
            let (end, overflow) = reference.column.addingReportingOverflow(scoreCount)
            guard reference.column >= 0, !overflow, end <= matrix.columns else {
                throw corrupt(.coef, "columns \(reference.column) ..< \(reference.column) + \(scoreCount) outside matrix \(reference.matrix)'s \(matrix.columns)")
            }
            table.markUsed(reference.matrix)
            weights = matrix
            column = reference.column
            return
        }
        let text = try c.decode(String.self, forKey: .coef)
        guard let bytes = Base64.decode(text) else { throw corrupt(.coef, "not strict base64") }
        let (expected, overflow) = featureCount.multipliedReportingOverflow(by: scoreCount * 4)
        guard !overflow, bytes.count == expected else {
            throw corrupt(.coef, "\(bytes.count) bytes; \(featureCount) features × \(scoreCount) scores need \(expected)")
        }
        var values = [Float](repeating: 0, count: featureCount * scoreCount)
        for i in 0 ..< values.count {
            let b = 4 * i
            let bits = UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24
            let w = Float(bitPattern: bits)
            guard w.isFinite else { throw corrupt(.coef, "weight \(i) (feature \(i / scoreCount), score \(i % scoreCount)) is not finite") }
            values[i] = w
        }
        weights = WeightMatrix(rows: featureCount, columns: scoreCount, values: values)
        column = 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(classNames, forKey: .classNames)
        try c.encode(featureCount, forKey: .featureCount)
        try c.encode(scoreCount, forKey: .scoreCount)
        if let table = encoder.userInfo[WeightMatrixTable.userInfoKey] as? WeightMatrixTable {
            try c.encode(MatrixReference(matrix: table.index(of: weights), column: column), forKey: .coef)
        } else {
            let bytes = coef.withUnsafeBytes { Array($0) }
            try c.encode(Base64.encode(bytes), forKey: .coef)
        }
        try c.encode(intercept, forKey: .intercept)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(iterations, forKey: .iterations)
        try c.encode(converged, forKey: .converged)
    }
}

/// The weight matrices of a model file (payload version 3), handed to `FittedLinearModel`'s
/// coding through `userInfo`: when encoding, each distinct matrix (by identity) gets the next
/// index; when decoding, the matrices already read from the file's sections, and which of them
/// a model used (a matrix no model reads is an error of the file).
public final class WeightMatrixTable: @unchecked Sendable {
    public static let userInfoKey = CodingUserInfoKey(rawValue: "triage.weightMatrices")!

    public private(set) var matrices: [WeightMatrix]
    public private(set) var used: Set<Int> = []

    public init(matrices: [WeightMatrix] = []) { self.matrices = matrices }

    func index(of matrix: WeightMatrix) -> Int {
        if let i = matrices.firstIndex(where: { $0 === matrix }) { return i }
        matrices.append(matrix)
        return matrices.count - 1
    }

    func markUsed(_ i: Int) { used.insert(i) }
}

/// A buffer that parallel chunks write at disjoint indices (the caller guarantees disjointness
/// and reads only after the parallel call returns).
final class SharedDoubles: @unchecked Sendable {
    let base: UnsafeMutablePointer<Double>
    let count: Int

    init(count: Int, value: Double = 0) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: count)
    }

    init(_ values: [Double]) {
        count = values.count
        base = .allocate(capacity: max(count, 1))
        for i in 0 ..< count { (base + i).initialize(to: values[i]) }
    }

    deinit { base.deallocate() }

    var array: [Double] { Array(UnsafeBufferPointer(start: base, count: count)) }
    var buffer: UnsafeMutableBufferPointer<Double> { UnsafeMutableBufferPointer(start: base, count: count) }
}

/// Several linear models over the same features with their weights side by side per feature
/// (one `WeightMatrix`, model m in columns `offsets[m] ..< offsets[m] + scoreCounts[m]`), so
/// that scoring a sparse row for all of them reads one contiguous stretch of memory per feature
/// instead of one per model: a soft-voting ensemble of linear models is scored in one pass.
/// Each model's scores are the same bits as its own `scores(_:into:)` (same operations in the
/// same order). `models` are the same models reading their weights from the stack's matrix, so
/// the weights are held once.
public struct LinearStack: Sendable, Equatable {
    public let featureCount: Int
    /// Scores per row, all models together.
    public let stride: Int
    /// Where each model's scores start in a row of `stride`.
    public let offsets: [Int]
    public let scoreCounts: [Int]
    /// Each model's softmax temperature.
    public let temperatures: [Double]
    /// The stacked weights.
    public let matrix: WeightMatrix
    /// The models, reading their weights from `matrix`.
    public let models: [FittedLinearModel]
    private let intercepts: [Double]

    /// Nil unless there are at least two models, all over the same number of features. Models
    /// already side by side in one matrix (as loaded from a model file) are used as they are;
    /// others are copied into a new matrix.
    public init?(_ models: [FittedLinearModel]) {
        guard models.count > 1, let f = models.first?.featureCount, models.allSatisfy({ $0.featureCount == f }) else { return nil }
        featureCount = f
        scoreCounts = models.map(\.scoreCount)
        var offsets: [Int] = []
        var at = 0
        for s in scoreCounts {
            offsets.append(at)
            at += s
        }
        self.offsets = offsets
        stride = at
        temperatures = models.map(\.temperature)
        intercepts = models.flatMap(\.intercept)
        let first = models[0].weights
        let shared = first.columns == at && zip(models, offsets).allSatisfy { $0.0.weights === first && $0.0.column == $0.1 }
        let matrix = shared ? first : WeightMatrix.joining(models.map { ($0.weights, $0.column, $0.scoreCount) })
        self.matrix = matrix
        self.models = shared ? models : zip(models, offsets).map { $0.0.reading(matrix, column: $0.1) }
    }

    public static func == (a: LinearStack, b: LinearStack) -> Bool { a.models == b.models }

    /// Raw scores of one row for every model, model m's at
    /// `out[offsets[m] ..< offsets[m] + scoreCounts[m]]`.
    /// Precondition (O(1)): the row's columns are < `featureCount`, and `out` holds `stride`.
    public func scores(_ row: SparseRow, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(out.count >= stride && row.isWithin(featureCount: featureCount), "a row outside the models' features")
        for k in 0 ..< stride { out[k] = intercepts[k] }
        guard !row.isEmpty else { return }
        matrix.values.withUnsafeBufferPointer { w in
            triage_sparse_axpy_f32(out.baseAddress, w.baseAddress, stride, row.columns.baseAddress, row.values.baseAddress, row.count, stride)
        }
    }

    /// out[k] += weight · p_k, where p is model m's probabilities (`FittedLinearModel`'s
    /// `probabilities(fromScores:)`, the same bits) from its raw scores in `scores` (a row from
    /// `scores(_:into:)`; model m's stretch is overwritten). `out` holds one slot per
    /// class: 2 for a model with one score.
    public func accumulateProbabilities(model m: Int, scores: UnsafeMutableBufferPointer<Double>, weight: Double,
                                        into out: UnsafeMutableBufferPointer<Double>) {
        let o = offsets[m], s = scoreCounts[m], t = temperatures[m]
        if s == 1 {
            let p = FittedLinearModel.positiveProbability(score: scores[o], temperature: t)
            out[0] += weight * (1 - p)
            out[1] += weight * p
            return
        }
        let mine = UnsafeMutableBufferPointer(rebasing: scores[o ..< o + s])
        FittedLinearModel.softmax(mine, temperature: t)
        for k in 0 ..< s { out[k] += weight * mine[k] }
    }
}
