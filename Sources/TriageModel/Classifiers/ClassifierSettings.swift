import TriageCore

/// The classifier at the end of a pipeline: any registered `ClassifierSpec`. JSON:
/// `{"type": "logistic_regression", …parameters}` with scikit-learn's parameter names; the
/// type defaults to `ClassifierRegistry.defaultTypeName` (gradient boosting). The types:
/// `ClassifierRegistry.typeNames`.
public struct ClassifierSettings: Hashable, Sendable, Codable {
    /// The settings themselves.
    public let spec: any ClassifierSpec

    public init(_ spec: some ClassifierSpec) { self.spec = spec }

    /// The settings' `type`.
    public var typeName: String { type(of: spec).typeName }

    /// The settings as `S`, or nil when they are another classifier's.
    public func settings<S: ClassifierSpec>(as type: S.Type) -> S? { spec as? S }

    /// The seed of the classifier's random choices (0 for the deterministic ones).
    public var randomState: UInt64 { spec.randomState }

    /// Checks the settings without data.
    public func validate() throws(PipelineError) { try spec.checkSettings() }

    /// Fits on a feature matrix with labels (indices into `classNames`), preparing the features
    /// itself (no sharing).
    public func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int?) throws(PipelineError) -> FittedClassifier {
        try fit(x, labels: labels, classNames: classNames, threads: threads) { _, prepare in try prepare() }
    }

    /// Fits, asking `share` for the prepared features: `share(key, prepare)` returns what
    /// `prepare()` returns, computed once for every fit with the same features and key (the
    /// stage cache of a search), or computes it on the spot.
    func fit(_ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int?,
             share: (JSONValue, () throws -> any Sendable) throws -> any Sendable) throws(PipelineError) -> FittedClassifier {
        try Self.fitOpened(spec, x, labels: labels, classNames: classNames, threads: threads, share: share)
    }

    private static func fitOpened<S: ClassifierSpec>(_ spec: S, _ x: SparseMatrix, labels: [Int], classNames: [String], threads: Int?,
                                                     share: (JSONValue, () throws -> any Sendable) throws -> any Sendable) throws(PipelineError) -> FittedClassifier {
        let prepared: S.Prepared
        if let key = spec.preparationKey {
            let shared: any Sendable
            do { shared = try share(["type": .string(S.typeName), "settings": key]) { spec.prepare(x) } } catch {
                throw .stage("\(S.typeName) preparation: \(error)")
            }
            guard let value = shared as? S.Prepared else { throw .stage("\(S.typeName) preparation: a shared value of another type") }
            prepared = value
        } else {
            prepared = spec.prepare(x)
        }
        return FittedClassifier(try spec.fit(x, prepared: prepared, labels: labels, classNames: classNames, threads: threads))
    }

    // MARK: Equality and hashing: the type, then the settings.

    public static func == (a: ClassifierSettings, b: ClassifierSettings) -> Bool {
        a.typeName == b.typeName && AnyHashable(a.spec) == AnyHashable(b.spec)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(typeName)
        hasher.combine(AnyHashable(spec))
    }

    // MARK: Codable, through the registry.

    public init(from decoder: any Decoder) throws {
        let name = try TypeTag.read(decoder, default: ClassifierRegistry.defaultTypeName)
        guard let type = ClassifierRegistry.settingsType(named: name) else {
            throw TypeTag.unknown(name, of: "classifier", known: ClassifierRegistry.typeNames, in: decoder)
        }
        spec = try type.init(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try spec.encode(to: encoder)
        try TypeTag.write(typeName, to: encoder)
    }
}
