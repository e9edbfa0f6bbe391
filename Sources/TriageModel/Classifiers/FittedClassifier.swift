import TriageCore
import TriageLinear

/// A fitted classifier at the end of a pipeline: any registered `FittedClassifierModel`. In an
/// artifact: `{"type": <payloadType>, …the model's members}`.
public struct FittedClassifier: Sendable, Equatable, Codable {
    /// The model itself.
    public let model: any FittedClassifierModel

    public init(_ model: some FittedClassifierModel) { self.model = model }

    /// The model as `M`, or nil when it is another kind.
    public func model<M: FittedClassifierModel>(as type: M.Type) -> M? { model as? M }

    /// The settings' `type` (`logistic_regression`, …).
    public var typeName: String { model.typeName }

    /// Columns of the feature matrix the classifier expects.
    public var featureCount: Int { model.featureCount }

    /// Raw scores per row (1 for a binary model with one logistic score).
    public var scoreCount: Int { model.scoreCount }

    /// The model that explains and summarises this one: itself, or one member of an ensemble.
    public var representative: FittedClassifier { model.representative }

    /// Members of an ensemble (none for a single model).
    public var members: [FittedClassifier] { model.members }

    /// A per-thread scorer of single rows.
    public func makeRowScorer() -> any RowScorer { model.makeRowScorer() }

    /// Class probabilities of every row of a feature matrix.
    public func predictProbabilities(_ x: SparseMatrix, threads: Int? = nil) throws(PipelineError) -> [[Double]] {
        try model.probabilities(x, threads: threads)
    }

    /// One line for people.
    public func describe() -> String { model.describe() }

    /// The classifier with its weights rounded as `encoding` stores them (`WeightEncoding`).
    public func withWeights(_ encoding: WeightEncoding) -> FittedClassifier { model.withWeights(encoding) }

    public static func == (a: FittedClassifier, b: FittedClassifier) -> Bool { a.model.isEqual(to: b.model) }

    // MARK: Codable, through the registry.

    public init(from decoder: any Decoder) throws {
        let name = try TypeTag.read(decoder)
        guard let type = ClassifierRegistry.fittedType(payloadType: name) else {
            throw TypeTag.unknown(name, of: "model", known: ClassifierRegistry.payloadTypes.map { $0.payloadType }, in: decoder)
        }
        model = try type.init(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try model.encode(to: encoder)
        try TypeTag.write(type(of: model).payloadType, to: encoder)
    }
}

extension FittedClassifierModel {
    /// Equality across the existential: the same type and equal values.
    func isEqual(to other: any FittedClassifierModel) -> Bool { (other as? Self) == self }
}
