import CTriageKernels
import Foundation
import Testing
import TriageCore
@testable import TriageLinear

/// The C scoring kernel and the stacked weights of a voting ensemble must give exactly the bits of
/// the plain scalar loop: models carry golden probes checked at load with tolerance 0.
@Suite(.serialized) struct ScoringKernelTests {
    /// out[k] = out[k] + v_j · Double(w[c_j · stride + k]), j in order: the definition.
    static func reference(start: [Double], w: [Float], stride: Int, columns: [Int32], values: [Double], count: Int) -> [Double] {
        var out = start
        for j in columns.indices {
            let base = Int(columns[j]) * stride
            for k in 0 ..< count { out[k] = out[k] + values[j] * Double(w[base + k]) }
        }
        return out
    }

    static func bits(_ a: [Double]) -> [UInt64] { a.map(\.bitPattern) }

    /// Runs `body` once under each kernel this machine can run — the scalar one always — then
    /// restores the kernel chosen before (TRIAGE_KERNELS, or the best for the CPU).
    static func forEachKernel(_ body: (String) -> Void) {
        let before = String(cString: triage_kernels_isa())
        for isa in ["baseline", "avx2"] where triage_kernels_select(isa) == 1 {
            #expect(String(cString: triage_kernels_isa()) == isa)
            body(isa)
        }
        _ = triage_kernels_select(before)
    }

    /// The default model's members (LogisticRegression, LinearSVC, MultinomialNB) fitted on `data`.
    static func threeModels(_ data: (x: SparseMatrix, y: [Int], names: [String]), svcSeed: UInt64) throws -> [FittedLinearModel] {
        var svc = LinearSVC()
        svc.randomState = svcSeed
        return [
            try LogisticRegression().fit(data.x, labels: data.y, classNames: data.names),
            try svc.fit(data.x, labels: data.y, classNames: data.names),
            try MultinomialNB().fit(data.x, labels: data.y, classNames: data.names),
        ]
    }

    @Test(arguments: [(1, 1), (3, 3), (7, 7), (77, 77), (77, 231), (5, 9), (64, 64), (65, 130)])
    func kernelMatchesTheScalarLoopBitForBit(count: Int, stride: Int) {
      Self.forEachKernel { isa in
        var random = SeededGenerator(seed: UInt64(count * 1000 + stride))
        let features = 300
        // Values spanning many magnitudes, so that any reordering or fused multiply-add would show.
        let w = (0 ..< features * stride).map { _ in Float((random.nextUnit() - 0.5) * pow(10, Double(random.nextInt(below: 12)) - 6)) }
        for n in [0, 1, 2, 3, 40, 250] {
            let columns = (0 ..< n).map { _ in Int32(random.nextInt(below: features)) }.sorted()
            let values = (0 ..< n).map { _ in random.nextUnit() * pow(10, Double(random.nextInt(below: 8)) - 4) }
            let start = (0 ..< count).map { _ in random.nextUnit() - 0.5 }
            let expected = Self.reference(start: start, w: w, stride: stride, columns: columns, values: values, count: count)
            var out = start
            out.withUnsafeMutableBufferPointer { o in
                w.withUnsafeBufferPointer { wb in
                    columns.withUnsafeBufferPointer { c in
                        values.withUnsafeBufferPointer { v in
                            triage_sparse_axpy_f32(o.baseAddress, wb.baseAddress, stride, c.baseAddress, v.baseAddress, n, count)
                        }
                    }
                }
            }
            #expect(Self.bits(out) == Self.bits(expected), "count \(count), stride \(stride), n \(n), isa \(isa)")
        }
      }
    }

    @Test func kernelReportsItsInstructionSet() {
        #expect(["avx2", "baseline"].contains(String(cString: triage_kernels_isa())))
    }

    /// `make test` runs the kernel-sensitive suites a second time with TRIAGE_KERNELS=baseline.
    @Test func theEnvironmentChoosesTheKernel() {
        let isa = String(cString: triage_kernels_isa())
        switch ProcessInfo.processInfo.environment["TRIAGE_KERNELS"] {
        case "baseline"?: #expect(isa == "baseline")
        case "avx2"?: #expect(isa == "avx2" || triage_kernels_select("avx2") == 0)
        default: #expect(["avx2", "baseline"].contains(isa))
        }
    }

    @Test func theScalarKernelCanBeForcedAndAnUnknownNameChangesNothing() {
        let before = String(cString: triage_kernels_isa())
        #expect(triage_kernels_select("sse9") == 0 && String(cString: triage_kernels_isa()) == before)
        #expect(triage_kernels_select("baseline") == 1 && String(cString: triage_kernels_isa()) == "baseline")
        _ = triage_kernels_select(before)
        #expect(String(cString: triage_kernels_isa()) == before)
    }

    @Test func stackedModelsScoreLikeEachModelAlone() throws {
        let data = makeData(rows: 200, columns: 40, classes: 5, seed: 11)
        let models = try Self.threeModels(data, svcSeed: 1)
        let stack = try #require(LinearStack(models))
        #expect(stack.stride == 15 && stack.offsets == [0, 5, 10])
        let alone = try models.map { try $0.rawScores(data.x) }
        for i in 0 ..< data.x.rowCount {
            let stacked = data.x.withRow(i) { row in
                [Double](unsafeUninitializedCapacity: stack.stride) { out, n in
                    stack.scores(row, into: out)
                    n = stack.stride
                }
            }
            for m in models.indices {
                let o = stack.offsets[m]
                #expect(Self.bits(Array(stacked[o ..< o + models[m].scoreCount])) == Self.bits(alone[m][i]), "row \(i), model \(m)")
            }
        }
    }

    @Test func aStackNeedsTwoModelsOverTheSameFeatures() throws {
        let a = makeData(rows: 60, columns: 10, classes: 3, seed: 2), b = makeData(rows: 60, columns: 12, classes: 3, seed: 2)
        let m1 = try MultinomialNB().fit(a.x, labels: a.y, classNames: a.names)
        let m2 = try MultinomialNB().fit(b.x, labels: b.y, classNames: b.names)
        #expect(LinearStack([m1]) == nil)
        #expect(LinearStack([m1, m2]) == nil)
        #expect(LinearStack([m1, m1]) != nil)
    }

    /// The softmax as it was written in Swift before the C kernel took it over: the definition.
    static func referenceSoftmax(_ scores: [Double], temperature t: Double) -> [Double] {
        var m = -Double.infinity
        for x in scores { m = max(m, x / t) }
        var out = [Double](repeating: 0, count: scores.count)
        var sum = 0.0
        for k in scores.indices {
            out[k] = triageExp(scores[k] / t - m)
            sum += out[k]
        }
        for k in scores.indices { out[k] /= sum }
        return out
    }

    @Test(arguments: [2, 3, 4, 5, 7, 8, 77, 231])
    func softmaxKernelMatchesTheSwiftLoopBitForBit(count: Int) {
      Self.forEachKernel { isa in
        var random = SeededGenerator(seed: UInt64(count))
        for round in 0 ..< 40 {
            // Scores from tiny to beyond exp's clamp, ties and signed zeros, several temperatures.
            var scores = (0 ..< count).map { _ in (random.nextUnit() - 0.5) * pow(10, Double(random.nextInt(below: 8)) - 3) }
            if round % 5 == 0 { scores[0] = 0; scores[count - 1] = -0.0 }
            if round % 7 == 0 { scores[count / 2] = scores[0] }
            if round % 9 == 0 { scores[0] = -2000; scores[count - 1] = 1500 }
            let t = [1, 0.5, 3.75, 1e-3][round % 4]
            let expected = Self.referenceSoftmax(scores, temperature: t)
            var out = scores
            out.withUnsafeMutableBufferPointer { FittedLinearModel.softmax($0, temperature: t) }
            #expect(Self.bits(out) == Self.bits(expected), "count \(count), round \(round), isa \(isa)")
        }
      }
    }

    @Test func stackedProbabilitiesAreEachModelsOwnWeighted() throws {
        for classes in [2, 5] {
            let data = makeData(rows: 120, columns: 30, classes: classes, seed: 5)
            let models = try Self.threeModels(data, svcSeed: 3)
            let stack = try #require(LinearStack(models))
            let weights = [0.5, 0.2, 0.3]
            for i in 0 ..< data.x.rowCount {
                let (stacked, alone) = data.x.withRow(i) { row -> ([Double], [[Double]]) in
                    var scores = [Double](repeating: 0, count: stack.stride)
                    var out = [Double](repeating: 0, count: classes)
                    scores.withUnsafeMutableBufferPointer { s in
                        stack.scores(row, into: s)
                        out.withUnsafeMutableBufferPointer { o in
                            for m in models.indices { stack.accumulateProbabilities(model: m, scores: s, weight: weights[m], into: o) }
                        }
                    }
                    return (out, models.map { $0.probabilities(row) })
                }
                var expected = [Double](repeating: 0, count: classes)
                for m in models.indices { for k in 0 ..< classes { expected[k] += weights[m] * alone[m][k] } }
                #expect(Self.bits(stacked) == Self.bits(expected), "classes \(classes), row \(i)")
            }
        }
    }
}
