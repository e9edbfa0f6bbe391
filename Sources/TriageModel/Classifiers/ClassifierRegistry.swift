import TriageBoost
import TriageLinear

/// Every classifier Triage knows, in one list. Adding a classifier is one file (its settings
/// conforming to `ClassifierSpec`, its fitted model to `FittedClassifierModel`) and one line
/// here; decoding settings and model files, fitting, search, prediction, the artifact checks and
/// the generic conformance tests then cover it.
public enum ClassifierRegistry {
    /// One registered classifier.
    public struct Entry: Sendable {
        public let settingsType: any ClassifierSpec.Type
        public let fittedType: any FittedClassifierModel.Type

        public init<S: ClassifierSpec>(_ type: S.Type) {
            settingsType = type
            fittedType = S.Fitted.self
        }

        /// The `type` in settings JSON.
        public var typeName: String { settingsType.typeName }
    }

    /// The registered classifiers. The first is the default `clf` (a settings object without
    /// `type`).
    public static let entries: [Entry] = [
        Entry(GradientBoostingClassifier.self),
        Entry(LogisticRegression.self),
        Entry(LinearSVC.self),
        Entry(MultinomialNB.self),
        Entry(ComplementNB.self),
        Entry(VotingClassifier.self),
    ]

    /// The settings types' names, in registration order.
    public static var typeNames: [String] { entries.map(\.typeName) }

    /// The `type` of a `clf` object that names none.
    public static var defaultTypeName: String { entries[0].typeName }

    static func settingsType(named name: String) -> (any ClassifierSpec.Type)? {
        entries.first { $0.typeName == name }?.settingsType
    }

    /// The model types of artifacts, each once, in registration order.
    static var payloadTypes: [any FittedClassifierModel.Type] {
        var seen: [String] = []
        var types: [any FittedClassifierModel.Type] = []
        for e in entries where !seen.contains(e.fittedType.payloadType) {
            seen.append(e.fittedType.payloadType)
            types.append(e.fittedType)
        }
        return types
    }

    static func fittedType(payloadType name: String) -> (any FittedClassifierModel.Type)? {
        payloadTypes.first { $0.payloadType == name }
    }
}
