import Foundation
import Testing
import TriageCore
@testable import TriageBoost

@Suite("Gradient boosting")
struct BoostingTests {
    static let x = sparseMatrix(rows: 600, columns: 12, density: 0.4, levels: [0.3, 0.8, 1.2, 1.9], seed: 21)
    static let y = labels(for: x, classes: 4, noise: 0.15, seed: 22)
    static let classes = ["a", "b", "c", "d"]

    func fit(_ settings: GradientBoostingClassifier, threads: Int = 2, x: SparseMatrix = x, y: [Int] = y, classes: [String] = classes) throws -> FittedGradientBoosting {
        try settings.fit(x, labels: y, classNames: classes, threads: threads)
    }

    @Test func learnsTheTrainingData() throws {
        var s = GradientBoostingClassifier()
        s.nEstimators = 60
        let model = try fit(s)
        let predicted = try model.predict(Self.x)
        let accuracy = Double(zip(predicted, Self.y).filter { $0 == $1 }.count) / Double(Self.y.count)
        #expect(accuracy > 0.8)
        #expect(model.roundCount == 60 && model.scoreCount == 4)
        for p in try model.predictProbabilities(Self.x.selectingRows(0 ..< 20)) {
            #expect(abs(p.reduce(0, +) - 1) < 1e-12 && p.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    @Test(arguments: [2, 3, 4])
    func identicalBytesOnOneAndManyThreads(threads: Int) throws {
        var s = GradientBoostingClassifier()
        s.nEstimators = 15
        s.subsample = 0.7
        s.maxFeatures = 0.6
        s.earlyStopping = true
        s.nIterNoChange = 50
        let one = try JSONValueEncoder().canonicalBytes(fit(s, threads: 1))
        let many = try JSONValueEncoder().canonicalBytes(fit(s, threads: threads))
        #expect(one == many)
        // A different seed gives a different model.
        s.randomState = 1
        #expect(try JSONValueEncoder().canonicalBytes(fit(s, threads: threads)) != many)
    }

    @Test func trainingLossDecreasesMonotonicallyAtSmallLearningRates() throws {
        var s = GradientBoostingClassifier()
        s.nEstimators = 40
        s.learningRate = 0.02
        let model = try fit(s)
        #expect(model.trainingLoss.count == 40)
        for (a, b) in zip(model.trainingLoss, model.trainingLoss.dropFirst()) { #expect(b < a) }
    }

    @Test func earlyStoppingStopsAndKeepsTheBestRound() throws {
        let noisy = labels(for: Self.x, classes: 4, noise: 0.6, seed: 23)
        var s = GradientBoostingClassifier()
        s.nEstimators = 300
        s.learningRate = 0.5
        s.maxDepth = 5
        s.minSamplesLeaf = 1
        s.earlyStopping = true
        s.validationFraction = 0.25
        s.nIterNoChange = 5
        s.tol = 0
        let model = try fit(s, y: noisy)
        #expect(model.validationLoss.count < 300, "it should stop early")
        let best = model.validationLoss.indices.min { model.validationLoss[$0] < model.validationLoss[$1] } ?? -1
        #expect(model.roundCount == best + 1)
        #expect(model.validationLoss.count == best + 1 + 5)
    }

    @Test func classWeightsChangeTheSplitAsExpected() throws {
        // 200 "common" rows, 20 "rare". Feature 1 marks 5 rare rows and nothing else; feature 0
        // marks the other 15 rare rows and 45 common ones. Unweighted, the pure but small split
        // wins (gains ∝ 51 vs 25); with balanced weights the rare rows count 10× more and the
        // larger, mixed split wins (∝ 33 vs 80).
        var rows: [[(column: Int, value: Double)]] = []
        var y: [Int] = []
        for i in 0 ..< 220 {
            let rare = i >= 200
            var row: [(column: Int, value: Double)] = []
            if (!rare && i < 45) || i >= 205 { row.append((0, 1)) }
            if rare && i < 205 { row.append((1, 1)) }
            rows.append(row)
            y.append(rare ? 1 : 0)
        }
        let x = try SparseMatrix(rows: rows, columnCount: 2)
        var s = GradientBoostingClassifier()
        s.nEstimators = 1
        s.maxDepth = 1
        s.minSamplesLeaf = 1
        let plain = try fit(s, x: x, y: y, classes: ["common", "rare"])
        s.classWeight = .balanced
        let balanced = try fit(s, x: x, y: y, classes: ["common", "rare"])
        s.classWeight = .weights(["rare": 10])
        let mapped = try fit(s, x: x, y: y, classes: ["common", "rare"])
        #expect(plain.trees[0][0].feature[0] == 1)
        #expect(balanced.trees[0][0].feature[0] == 0)
        #expect(mapped.trees[0][0].feature[0] == 0)
        // The balanced weights are n / (K · n_c).
        #expect(try s.rowWeights(labels: [0, 0, 0, 1], classNames: ["common", "rare"]) == [1, 1, 1, 10])
        var b = GradientBoostingClassifier()
        b.classWeight = .balanced
        #expect(try b.rowWeights(labels: [0, 0, 0, 1], classNames: ["common", "rare"]) == [4.0 / 6, 4.0 / 6, 4.0 / 6, 2])
    }

    @Test func contributionsSumToTheRawScores() throws {
        var s = GradientBoostingClassifier()
        s.nEstimators = 30
        let model = try fit(s)
        for r in stride(from: 0, to: Self.x.rowCount, by: 37) {
            let (columns, values) = Self.x.row(r)
            let scores = SparseRow.with(columns: Array(columns), values: Array(values)) { model.rawScores($0) }
            let parts = SparseRow.with(columns: Array(columns), values: Array(values)) { model.contributions($0) }
            for k in 0 ..< model.scoreCount {
                let total = parts.bias[k] + parts.perFeature[k].values.reduce(0, +)
                #expect(abs(total - scores[k]) <= 1e-9)
            }
        }
    }

    @Test func binaryClassificationUsesOneLogisticScore() throws {
        let y2 = Self.y.map { $0 >= 2 ? 1 : 0 }
        var s = GradientBoostingClassifier()
        s.nEstimators = 30
        let model = try fit(s, y: y2, classes: ["no", "yes"])
        #expect(model.scoreCount == 1 && model.trees.allSatisfy { $0.count == 1 })
        let p = try model.predictProbabilities(Self.x)
        #expect(p.allSatisfy { $0.count == 2 && abs($0[0] + $0[1] - 1) < 1e-12 })
        let accuracy = Double(zip(try model.predict(Self.x), y2).filter { $0 == $1 }.count) / Double(y2.count)
        #expect(accuracy > 0.8)
    }

    @Test func importancesAndStagedLossAreConsistent() throws {
        var s = GradientBoostingClassifier()
        s.nEstimators = 10
        let model = try fit(s)
        let gain = model.featureImportances(.gain), splits = model.featureImportances(.split)
        let treeGain = model.trees.flatMap { $0 }.reduce(0.0) { $0 + $1.gain.reduce(0, +) }
        #expect(abs(gain.reduce(0, +) - treeGain) < 1e-9)
        let internalNodes: Int = model.trees.flatMap { $0 }.map { $0.nodeCount - $0.leafCount }.reduce(0, +)
        #expect(Int(splits.reduce(0, +)) == internalNodes)
        // The staged loss on the training rows is the recorded training loss.
        let staged = try model.stagedLogLoss(Self.x, labels: Self.y)
        for (a, b) in zip(staged, model.trainingLoss) { #expect(abs(a - b) < 1e-9) }
    }

    @Test func modelRoundTripsThroughJSONAndPredictsIdentically() throws {
        var s = GradientBoostingClassifier()
        s.nEstimators = 12
        s.classWeight = .weights(["b": 2])
        let model = try fit(s)
        let back = try StrictJSONDecoder().decode(FittedGradientBoosting.self, from: JSONValueEncoder().encode(model))
        #expect(back == model)
        #expect(try back.rawScores(Self.x) == model.rawScores(Self.x))
    }

    @Test func manyClassesAndTinyLeavesDoNotDiverge() throws {
        // The settings that make softmax boosting diverge without guards: many classes, tiny
        // leaves, no step cap, no hessian floor, a large learning rate.
        let x = sparseMatrix(rows: 900, columns: 40, density: 0.15, levels: [0.1, 0.4, 0.9, 1.7, 2.5], seed: 31)
        var random = TestRandom(32)
        let y = (0 ..< 900).map { r in r < 30 * 30 ? r % 30 : random.int(30) }
        var s = GradientBoostingClassifier()
        s.nEstimators = 60
        s.learningRate = 1.0
        s.maxDepth = nil
        s.maxLeafNodes = 31
        s.minSamplesLeaf = 1
        s.minHessianLeaf = 0
        s.maxDeltaStep = 0
        s.maxBins = 255
        let classes = (0 ..< 30).map { "c\($0)" }
        let model = try fit(s, x: x, y: y, classes: classes)
        #expect(model.trainingLoss.allSatisfy { $0.isFinite })
        for (a, b) in zip(model.trainingLoss, model.trainingLoss.dropFirst()) { #expect(b <= a + 1e-12 * max(1, abs(a))) }
        #expect((model.trainingLoss.last ?? .infinity) < log(30.0))
        #expect(try model.predictProbabilities(x).allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    @Test func namedErrors() throws {
        func error(_ body: () throws -> Void) -> BoostError? {
            do { try body(); return nil } catch let e as BoostError { return e } catch { return nil }
        }
        var s = GradientBoostingClassifier()
        s.maxBins = 300
        #expect(error { _ = try fit(s) } == .invalidParameter(name: "max_bins", value: "300", expected: "an integer in 2…255"))
        s = GradientBoostingClassifier()
        s.maxDepth = nil
        #expect(error { _ = try fit(s) } != nil)
        s = GradientBoostingClassifier()
        s.learningRate = 0
        #expect(error { _ = try fit(s) } != nil)
        s.learningRate = .nan
        #expect(error { _ = try fit(s) } != nil)
        s = GradientBoostingClassifier()
        #expect(error { _ = try fit(s, y: Self.y, classes: ["only"]) } == .tooFewClasses(1))
        #expect(error { _ = try fit(s, y: Array(Self.y.dropLast())) } == .rowCountMismatch(rows: 600, labels: 599))
        #expect(error { _ = try fit(s, y: Self.y.map { $0 == 3 ? 7 : $0 }) } != nil)
        #expect(error { _ = try fit(s, y: Self.y.map { $0 == 3 ? 0 : $0 }) } == .emptyClass("d"))
        s.classWeight = .weights(["zz": 1])
        #expect(error { _ = try fit(s) } == .unknownClassWeightLabel("zz", known: Self.classes))
        var small = GradientBoostingClassifier()
        small.nEstimators = 2
        let model = try fit(small)
        #expect(error { _ = try model.rawScores(SparseMatrix(zeros: 1, columnCount: 3)) } == .featureCountMismatch(expected: 12, got: 3))
        // Every message names the parameter or the problem.
        #expect(BoostError.emptyClass("d").description.contains("\"d\""))
    }

    @Test func settingsDecodeWithScikitLearnNames() throws {
        let json = #"{"n_estimators": 50, "max_depth": null, "max_leaf_nodes": 15, "class_weight": "balanced", "learning_rate": 0.05}"#
        let s = try StrictJSONDecoder().decode(GradientBoostingClassifier.self, from: Array(json.utf8))
        #expect(s.nEstimators == 50 && s.maxDepth == nil && s.maxLeafNodes == 15 && s.classWeight == .balanced && s.learningRate == 0.05)
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(GradientBoostingClassifier.self, from: Array(#"{"n_estimator": 5}"#.utf8))
        }
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(GradientBoostingClassifier.self, from: Array(#"{"class_weight": "heavy"}"#.utf8))
        }
        let again = try StrictJSONDecoder().decode(GradientBoostingClassifier.self, from: JSONValueEncoder().encode(s))
        #expect(again == s)
    }
}
