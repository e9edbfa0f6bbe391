import Foundation
import Testing
import TriageCore
@testable import TriageLinear

/// Seeded sparse non-negative rows whose class depends on a few columns, with noise.
func makeData(rows: Int = 240, columns: Int = 30, classes: Int = 4, seed: UInt64 = 7) -> (x: SparseMatrix, y: [Int], names: [String]) {
    var random = SeededGenerator(seed: seed)
    var data: [[(column: Int, value: Double)]] = []
    var y: [Int] = []
    for _ in 0 ..< rows {
        let label = random.nextInt(below: classes)
        var row: [(column: Int, value: Double)] = []
        for c in 0 ..< columns {
            // Column c is more frequent in class c % classes.
            let p = c % classes == label ? 0.5 : 0.08
            if random.nextUnit() < p { row.append((c, 0.2 + random.nextUnit())) }
        }
        data.append(row)
        y.append(random.nextUnit() < 0.1 ? random.nextInt(below: classes) : label)
    }
    for k in 0 ..< classes where !y.contains(k) { y[k] = k }
    let x = (try? SparseMatrix(rows: data, columnCount: columns)) ?? SparseMatrix(zeros: rows, columnCount: columns)
    return (x, y, (0 ..< classes).map { "class\($0)" })
}

func accuracy(_ model: FittedLinearModel, _ x: SparseMatrix, _ y: [Int]) throws -> Double {
    let p = try model.predictProbabilities(x)
    let hits = zip(p, y).filter { row, label in row.indices.max { row[$0] < row[$1] } == label }.count
    return Double(hits) / Double(y.count)
}

@Suite struct LinearModelTests {
    static let data = makeData()

    func fitAll(threads: Int? = nil, data: (x: SparseMatrix, y: [Int], names: [String]) = data) throws -> [FittedLinearModel] {
        var svc = LinearSVC()
        svc.randomState = 3
        return [
            try LogisticRegression().fit(data.x, labels: data.y, classNames: data.names, threads: threads),
            try svc.fit(data.x, labels: data.y, classNames: data.names, threads: threads),
            try MultinomialNB().fit(data.x, labels: data.y, classNames: data.names),
            try ComplementNB().fit(data.x, labels: data.y, classNames: data.names),
        ]
    }

    @Test func everyModelLearnsTheTrainingData() throws {
        for model in try fitAll() {
            #expect(try accuracy(model, Self.data.x, Self.data.y) > 0.75, "\(model.kind)")
            for row in try model.predictProbabilities(Self.data.x) {
                #expect(abs(row.reduce(0, +) - 1) < 1e-12)
                #expect(row.allSatisfy { $0 >= 0 && $0 <= 1 })
            }
        }
    }

    @Test(arguments: [2, 3])
    func identicalModelsOnOneAndManyThreads(threads: Int) throws {
        let one = try fitAll(threads: 1), many = try fitAll(threads: threads)
        #expect(one == many)
        for (a, b) in zip(one, many) {
            #expect(a.coef.map(\.bitPattern) == b.coef.map(\.bitPattern))
            #expect(a.intercept.map(\.bitPattern) == b.intercept.map(\.bitPattern))
        }
    }

    @Test func logisticRegressionConvergesAndFollowsC() throws {
        var strong = LogisticRegression()
        strong.c = 0.01
        var weak = LogisticRegression()
        weak.c = 100
        weak.maxIter = 500
        let a = try strong.fit(Self.data.x, labels: Self.data.y, classNames: Self.data.names)
        let b = try weak.fit(Self.data.x, labels: Self.data.y, classNames: Self.data.names)
        #expect(a.converged && b.converged)
        func norm(_ m: FittedLinearModel) -> Double { m.coef.reduce(0) { $0 + Double($1) * Double($1) } }
        #expect(norm(a) < norm(b))
        // Stopping at max_iter is reported, not hidden.
        var short = LogisticRegression()
        short.maxIter = 2
        #expect(try short.fit(Self.data.x, labels: Self.data.y, classNames: Self.data.names).converged == false)
    }

    @Test func binaryModelsHaveOneScore() throws {
        let y = Self.data.y.map { $0 % 2 }
        let names = ["no", "yes"]
        let lr = try LogisticRegression().fit(Self.data.x, labels: y, classNames: names)
        let svc = try LinearSVC().fit(Self.data.x, labels: y, classNames: names)
        let nb = try MultinomialNB().fit(Self.data.x, labels: y, classNames: names)
        #expect(lr.scoreCount == 1 && svc.scoreCount == 1 && nb.scoreCount == 2)
        // The single score is class 1's: positive score ⇔ P(yes) > ½.
        let scores = try lr.rawScores(Self.data.x), p = try lr.predictProbabilities(Self.data.x)
        for (s, row) in zip(scores, p) where abs(s[0]) > 1e-9 { #expect((s[0] > 0) == (row[1] > 0.5)) }
    }

    @Test func svcTemperatureIsFittedOnHeldOutRows() throws {
        var svc = LinearSVC()
        let calibrated = try svc.fit(Self.data.x, labels: Self.data.y, classNames: Self.data.names)
        svc.calibration = .none
        let raw = try svc.fit(Self.data.x, labels: Self.data.y, classNames: Self.data.names)
        #expect(raw.temperature == 1)
        #expect(calibrated.temperature > 0 && calibrated.temperature != 1)
        // Same weights (the final fit uses all rows either way), so the same predicted labels.
        #expect(calibrated.coef == raw.coef)
        // The fitted temperature minimises held-out log loss: nudging it either way is no better.
        let (train, held) = StratifiedSplit.holdout(labels: Self.data.y, classCount: 4, fraction: 0.2, seed: 0, stream: StratifiedSplit.Stream.svcCalibration)
        #expect(!held.isEmpty && Set(train).isDisjoint(with: held) && train.count + held.count == Self.data.y.count)
        let scores = [[1.0, -1.0, 0.5], [0.2, 0.1, -0.3], [-1.0, 2.0, 0.0]], labels = [0, 1, 1]
        let t = fitTemperature(scores: scores, labels: labels)
        func loss(_ t: Double) -> Double {
            zip(scores, labels).reduce(0.0) { total, pair in
                let z = pair.0.map { $0 / t }, m = z.max()!
                return total + m + log(z.reduce(0) { $0 + exp($1 - m) }) - z[pair.1]
            }
        }
        #expect(loss(t) <= loss(t * 1.05) && loss(t) <= loss(t / 1.05))
    }

    @Test func contributionsSumToTheRawScores() throws {
        for model in try fitAll() {
            let scores = try model.rawScores(Self.data.x)
            for i in [0, 5, 17] {
                let parts = Self.data.x.withRow(i) { model.contributions($0) }
                for k in 0 ..< model.scoreCount {
                    let sum = parts.bias[k] + parts.perFeature[k].values.reduce(0, +)
                    #expect(abs(sum - scores[i][k]) < 1e-9)
                }
            }
        }
    }

    @Test func modelsRoundTripThroughJSONBitForBit() throws {
        for model in try fitAll() {
            let json = try JSONValueEncoder().encode(model)
            let back = try StrictJSONDecoder().decode(FittedLinearModel.self, from: json)
            #expect(back == model)
            #expect(try back.rawScores(Self.data.x) == model.rawScores(Self.data.x))
        }
    }

    @Test func corruptWeightsAreRefusedWithTheirField() throws {
        let model = try MultinomialNB().fit(Self.data.x, labels: Self.data.y, classNames: Self.data.names)
        guard case var .object(o) = try JSONValueEncoder().encode(model) else { Issue.record("not an object"); return }
        var short = o
        short["coef"] = .string(Base64.encode([0, 0, 128, 63]))
        #expect(throws: JSONDecodingError.self) { try StrictJSONDecoder().decode(FittedLinearModel.self, from: .object(short)) }
        // A NaN weight (0x7FC00000) where a finite one belongs.
        var bytes = Base64.decode(o["coef"]?.stringValue ?? "") ?? []
        bytes[0 ..< 4] = [0x00, 0x00, 0xC0, 0x7F]
        o["coef"] = .string(Base64.encode(bytes))
        do {
            _ = try StrictJSONDecoder().decode(FittedLinearModel.self, from: .object(o))
            Issue.record("a NaN weight was accepted")
        } catch {
            #expect("\(error)".contains("not finite"))
        }
    }

    @Test func namedErrors() throws {
        func error(_ body: () throws -> Void) -> LinearError? {
            do { try body() } catch let e as LinearError { return e } catch { return nil }
            return nil
        }
        let d = Self.data
        var bad = LogisticRegression()
        bad.c = 0
        #expect(error { _ = try bad.fit(d.x, labels: d.y, classNames: d.names) } == .invalidParameter(name: "C", value: "0.0", expected: "a number > 0"))
        var weighted = LinearSVC()
        weighted.classWeight = .weights(["nope": 2])
        #expect(error { _ = try weighted.fit(d.x, labels: d.y, classNames: d.names) } == .unknownClassWeightLabel("nope", known: d.names))
        #expect(error { _ = try LogisticRegression().fit(d.x, labels: Array(d.y.dropLast()), classNames: d.names) }
            == .rowCountMismatch(rows: d.x.rowCount, labels: d.y.count - 1))
        #expect(error { _ = try LogisticRegression().fit(d.x, labels: d.y.map { $0 % 3 }, classNames: d.names) } == .emptyClass("class3"))
        let negative = try SparseMatrix(rows: [[(0, -1.0)], [(1, 1.0)]], columnCount: 2)
        #expect(error { _ = try MultinomialNB().fit(negative, labels: [0, 1], classNames: ["a", "b"]) } == .negativeFeature(row: 0, column: 0, value: -1))
        let model = try ComplementNB().fit(d.x, labels: d.y, classNames: d.names)
        #expect(error { _ = try model.rawScores(SparseMatrix(zeros: 1, columnCount: 3)) } == .featureCountMismatch(expected: 30, got: 3))
        #expect(LinearError.negativeFeature(row: 0, column: 0, value: -1).description.contains("non-negative"))
    }

    @Test func settingsDecodeWithScikitLearnNames() throws {
        let lr = try StrictJSONDecoder().decode(LogisticRegression.self, from: Array(#"{"C": 10, "max_iter": 500, "class_weight": "balanced"}"#.utf8))
        #expect(lr.c == 10 && lr.maxIter == 500 && lr.classWeight == .balanced)
        let svc = try StrictJSONDecoder().decode(LinearSVC.self, from: Array(#"{"C": 0.5, "calibration": "none"}"#.utf8))
        #expect(svc.c == 0.5 && svc.calibration == LinearSVC.Calibration.none)
        #expect(throws: JSONDecodingError.self) { try StrictJSONDecoder().decode(LogisticRegression.self, from: Array(#"{"c": 10}"#.utf8)) }
        #expect(throws: JSONDecodingError.self) { try StrictJSONDecoder().decode(ComplementNB.self, from: Array(#"{"alpha": 1, "fit_prior": true}"#.utf8)) }
        for value in [lr as any Codable, svc, MultinomialNB(), ComplementNB()] {
            #expect(throws: Never.self) { _ = try JSONValueEncoder().encode(value) }
        }
    }

    @Test func lbfgsMinimisesAQuadratic() throws {
        // f(x) = Σ aᵢ (xᵢ − i)², minimum at xᵢ = i.
        let n = 50
        let x = SharedDoubles(count: n)
        var solver = LBFGS(vectors: Vectors(threads: 2))
        solver.gtol = 1e-10
        solver.maxIterations = 200
        let outcome = solver.minimize(x) { x, g in
            var f = 0.0
            for i in 0 ..< n {
                let a = 1 + Double(i % 7), d = x.base[i] - Double(i)
                f += a * d * d
                g.base[i] = 2 * a * d
            }
            return f
        }
        #expect(outcome.converged)
        for i in 0 ..< n { #expect(abs(x.base[i] - Double(i)) < 1e-6) }
    }
}
