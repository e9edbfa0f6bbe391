import TriageBoost
import TriageLinear
import TriageText

/// Why a pipeline could not be fitted or used.
public enum PipelineError: Error, Equatable, Sendable, CustomStringConvertible {
    case text(TextFeatureError)
    case classifier(BoostError)
    case linear(LinearError)
    case invalidUnion(String)
    case invalidEnsemble(String)
    /// A fit stage failed (its error, as text: cached stages keep failures as text).
    case stage(String)
    case noTrainingMessages
    case missingLabel(line: Int)
    case tooFewLabels([String])
    /// The routing rules do not fit the model (a label or head it does not have).
    case rules(RuleError)
    /// Several label heads that cannot be fitted (a name twice, too few labels, settings for a
    /// head the data lacks).
    case invalidHeads(String)

    public var description: String {
        switch self {
        case let .text(e): return e.description
        case let .classifier(e): return e.description
        case let .linear(e): return e.description
        case let .invalidUnion(why): return "invalid feature union: \(why)"
        case let .invalidEnsemble(why): return "invalid voting classifier: \(why)"
        case let .stage(why): return why
        case .noTrainingMessages: return "no training messages"
        case let .rules(e): return "rules file: \(e)"
        case let .invalidHeads(why): return "label heads: \(why)"
        case let .missingLabel(line): return "the message at line \(line) has no label"
        case let .tooFewLabels(labels):
            return "the training data has \(labels.count) distinct label\(labels.count == 1 ? "" : "s") (\(labels.joined(separator: ", "))); a classifier needs at least 2"
        }
    }
}
