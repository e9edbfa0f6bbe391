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
        Entry(DummyClassifier.self),
    ]

    /// The settings types' names, in registration order.
    public static var typeNames: [String] { entries.map(\.typeName) }

    /// The `type` of a `clf` object that names none.
    public static var defaultTypeName: String { entries[0].typeName }

    /// A registered classifier's settings for the generic checks, named `<type>#<i>`.
    public struct Example: Sendable, CustomStringConvertible {
        public let name: String
        public let settings: ClassifierSettings
        public var description: String { name }
    }

    /// Every registered type's `checkExamples`: what the generic classifier checks run over.
    public static var examples: [Example] {
        func of<S: ClassifierSpec>(_ type: S.Type) -> [Example] {
            S.checkExamples.enumerated().map { Example(name: "\(S.typeName)#\($0.offset)", settings: ClassifierSettings($0.element)) }
        }
        return entries.flatMap { of($0.settingsType) }
    }

    /// Every registered type's `invalidExamples`: its `type`, the members (JSON, without
    /// `type`) and a part of the message `checkSettings` must give.
    public static var invalidExamples: [(type: String, json: String, message: String)] {
        func of<S: ClassifierSpec>(_ type: S.Type) -> [(type: String, json: String, message: String)] {
            S.invalidExamples.map { (S.typeName, $0.json, $0.message) }
        }
        return entries.flatMap { of($0.settingsType) }
    }

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

/// The `type` member that names a registered type inside settings and model JSON (the other
/// members are the type's own).
enum TypeTag {
    private enum Key: String, CodingKey { case type }

    /// The name in `decoder`'s object; `fallback` when it has none (an error without one).
    static func read(_ decoder: any Decoder, default fallback: String? = nil) throws -> String {
        let c = try decoder.container(keyedBy: Key.self)
        if let fallback { return try c.decodeIfPresent(String.self, forKey: .type) ?? fallback }
        return try c.decode(String.self, forKey: .type)
    }

    /// The error for a name nothing is registered under, listing those that are.
    static func unknown(_ name: String, of what: String, known: [String], in decoder: any Decoder) -> DecodingError {
        .dataCorrupted(.init(codingPath: decoder.codingPath + [Key.type],
                             debugDescription: "unknown \(what) type \"\(name)\"; known: \(known.joined(separator: ", "))"))
    }

    static func write(_ name: String, to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: .type)
    }
}
