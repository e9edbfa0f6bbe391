import Foundation
import Testing
import TriageCore
@testable import TriageLinear

/// TriageLinear against scikit-learn 1.9.1 on small seeded sparse datasets
/// (Fixtures/linear_parity.json, written by scripts/gen_linear_fixtures.py; see its header).
///
/// Logistic regression and the linear SVM have unique minimisers (strictly convex, the SVM's
/// intercept penalised as liblinear does), so both libraries must land on the same weights up to
/// their stopping tolerances: 1e-3 × max(1, |value|). Naive Bayes is closed-form; Triage stores
/// weights as Float32, hence 1e-5 relative. scikit-learn's coef_ is class-major, Triage's coef
/// feature-major (`weight(feature:score:)`).
@Suite("scikit-learn parity")
struct ParityTests {
    struct Dataset: Decodable, Sendable {
        let name: String
        let rows: Int
        let columns: Int
        let row_offsets: [Int]
        let column_indices: [Int32]
        let values: [Double]
        let labels: [Int]
        let class_names: [String]

        func matrix() throws -> SparseMatrix {
            try SparseMatrix(rowCount: rows, columnCount: columns, rowOffsets: row_offsets, columnIndices: column_indices, values: values)
        }
    }

    struct Params: Decodable, Sendable {
        let C: Double?
        let class_weight: String?
        let alpha: Double?
        let fit_prior: Bool?
        let norm: Bool?
    }

    struct Case: Decodable, Sendable {
        let name: String
        let dataset: String
        let model: String
        let params: Params
        /// Class-major: coef[k][f].
        let coef: [[Double]]
        let intercept: [Double]
        /// Per row, one value per score (one for a binary LR / SVC).
        let decision: [[Double]]?
        let proba: [[Double]]?
        let predict: [Int]

        enum CodingKeys: String, CodingKey { case name, dataset, model, params, coef, intercept, decision, proba, predict }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            dataset = try c.decode(String.self, forKey: .dataset)
            model = try c.decode(String.self, forKey: .model)
            params = try c.decode(Params.self, forKey: .params)
            coef = try c.decode([[Double]].self, forKey: .coef)
            intercept = try c.decode([Double].self, forKey: .intercept)
            // scikit-learn's binary decision_function is 1-D.
            if let matrix = try? c.decodeIfPresent([[Double]].self, forKey: .decision) {
                decision = matrix
            } else {
                decision = try c.decodeIfPresent([Double].self, forKey: .decision)?.map { [$0] }
            }
            proba = try c.decodeIfPresent([[Double]].self, forKey: .proba)
            predict = try c.decode([Int].self, forKey: .predict)
        }
    }

    struct Fixture: Decodable, Sendable {
        let datasets: [Dataset]
        let cases: [Case]
    }

    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/linear_parity.json")

    static let fixture: Fixture? = try? JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL))

    static func caseNames(_ model: String) -> [String] {
        fixture?.cases.filter { $0.model == model }.map(\.name) ?? []
    }

    /// Cases that fail against scikit-learn because of a known bug in TriageLinear (none today).
    static let knownIssues: Set<String> = []

    @Test func fixtureIsPresent() throws {
        let f = try #require(Self.fixture, "cannot read \(Self.fixtureURL.path)")
        #expect(f.datasets.count == 3)
        #expect(f.cases.count == 32)
        for model in ["logistic_regression", "linear_svc", "multinomial_nb", "complement_nb"] {
            #expect(!Self.caseNames(model).isEmpty, "no \(model) cases")
        }
    }

    @Test(arguments: ParityTests.caseNames("logistic_regression"))
    func logisticRegression(_ name: String) throws { try check(name) }

    @Test(arguments: ParityTests.caseNames("linear_svc"))
    func linearSVC(_ name: String) throws { try check(name) }

    @Test(arguments: ParityTests.caseNames("multinomial_nb"))
    func multinomialNB(_ name: String) throws { try check(name) }

    @Test(arguments: ParityTests.caseNames("complement_nb"))
    func complementNB(_ name: String) throws { try check(name) }

    // MARK: -

    func check(_ name: String) throws {
        let fixture = try #require(Self.fixture)
        let c = try #require(fixture.cases.first { $0.name == name })
        let d = try #require(fixture.datasets.first { $0.name == c.dataset })
        let x = try d.matrix()
        if Self.knownIssues.contains(name) {
            withKnownIssue("TriageLinear disagrees with scikit-learn on \(name)") { try compare(c, d, x) }
        } else {
            try compare(c, d, x)
        }
    }

    func fit(_ c: Case, _ d: Dataset, _ x: SparseMatrix) throws -> FittedLinearModel {
        let classWeight: ClassWeight = c.params.class_weight == "balanced" ? .balanced : .none
        switch c.model {
        case "logistic_regression":
            var s = LogisticRegression()
            s.c = try #require(c.params.C)
            s.classWeight = classWeight
            s.tol = 1e-10
            s.maxIter = 10000
            return try s.fit(x, labels: d.labels, classNames: d.class_names, threads: nil)
        case "linear_svc":
            var s = LinearSVC()
            s.c = try #require(c.params.C)
            s.classWeight = classWeight
            s.tol = 1e-8
            s.maxIter = 100_000
            s.calibration = .none
            return try s.fit(x, labels: d.labels, classNames: d.class_names, threads: nil)
        case "multinomial_nb":
            var s = MultinomialNB()
            s.alpha = try #require(c.params.alpha)
            s.fitPrior = try #require(c.params.fit_prior as Bool?)
            return try s.fit(x, labels: d.labels, classNames: d.class_names)
        case "complement_nb":
            var s = ComplementNB()
            s.alpha = try #require(c.params.alpha)
            s.norm = try #require(c.params.norm as Bool?)
            return try s.fit(x, labels: d.labels, classNames: d.class_names)
        default:
            Issue.record("unknown model \(c.model) in \(c.name)")
            throw CancellationError()
        }
    }

    func compare(_ c: Case, _ d: Dataset, _ x: SparseMatrix) throws {
        let model = try fit(c, d, x)
        let naiveBayes = c.model.hasSuffix("_nb")
        // Allowed |Triage − scikit-learn| for a weight or intercept of value v.
        func weightTolerance(_ v: Double) -> Double { naiveBayes ? 1e-5 * abs(v) + 1e-12 : 1e-3 * max(1, abs(v)) }

        #expect(model.converged, "\(c.name): the solver stopped at max_iter after \(model.iterations) iterations")
        try #require(model.scoreCount == c.coef.count && model.scoreCount == c.intercept.count,
                     "\(c.name): \(model.scoreCount) scores, scikit-learn has \(c.coef.count)")
        try #require(model.featureCount == d.columns)

        // Weights: report the worst one per case rather than hundreds of expectations.
        var worst: (excess: Double, what: String) = (0, "")
        for k in 0 ..< model.scoreCount {
            for f in 0 ..< d.columns {
                let mine = model.weight(feature: f, score: k), theirs = c.coef[k][f]
                let excess = abs(mine - theirs) / weightTolerance(theirs)
                if excess > worst.excess { worst = (excess, "coef[class \(k), feature \(f)] = \(mine), scikit-learn \(theirs)") }
            }
            let mine = model.intercept[k], theirs = c.intercept[k]
            let excess = abs(mine - theirs) / weightTolerance(theirs)
            if excess > worst.excess { worst = (excess, "intercept[\(k)] = \(mine), scikit-learn \(theirs)") }
        }
        #expect(worst.excess <= 1, "\(c.name): \(worst.what)")

        let scores = try model.rawScores(x)
        if let decision = c.decision {
            var worstScore: (excess: Double, what: String) = (0, "")
            for (i, row) in decision.enumerated() {
                for (k, theirs) in row.enumerated() {
                    let mine = scores[i][k]
                    let excess = abs(mine - theirs) / (1e-3 * max(1, abs(theirs)))
                    if excess > worstScore.excess { worstScore = (excess, "row \(i) score \(k) = \(mine), scikit-learn \(theirs)") }
                }
            }
            #expect(worstScore.excess <= 1, "\(c.name): \(worstScore.what)")
        }

        let probabilities = try model.predictProbabilities(x)
        if let proba = c.proba {
            var worstP: (diff: Double, what: String) = (0, "")
            for (i, row) in proba.enumerated() {
                for (k, theirs) in row.enumerated() {
                    let diff = abs(probabilities[i][k] - theirs)
                    if diff > worstP.diff { worstP = (diff, "row \(i) P(class \(k)) = \(probabilities[i][k]), scikit-learn \(theirs)") }
                }
            }
            #expect(worstP.diff <= 1e-4, "\(c.name): \(worstP.what)")
        }

        // Predicted labels: argmax of the scores (first on ties), skipping rows where
        // scikit-learn's own top two are tied to within rounding.
        var mismatches: [String] = []
        for i in 0 ..< d.rows {
            let mine = argmax(probabilities[i])
            if mine == c.predict[i] { continue }
            if let reference = c.proba ?? c.decision.map({ rows in rows.map { $0.count == 1 ? [-$0[0], $0[0]] : $0 } }),
               nearTie(reference[i]) { continue }
            mismatches.append("row \(i): \(mine) vs \(c.predict[i])")
        }
        #expect(mismatches.isEmpty, "\(c.name): predicted labels differ: \(mismatches.prefix(5).joined(separator: "; "))")
    }

    func argmax(_ v: [Double]) -> Int {
        var best = 0
        for k in v.indices where v[k] > v[best] { best = k }
        return best
    }

    func nearTie(_ v: [Double]) -> Bool {
        let sorted = v.sorted(by: >)
        return sorted.count >= 2 && sorted[0] - sorted[1] <= 1e-9 * max(1, abs(sorted[0]))
    }
}
