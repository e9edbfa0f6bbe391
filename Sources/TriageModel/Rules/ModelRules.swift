import TriageCore
import TriageText

/// A model's routing rules (issue 31), compiled: the rule set as signed in the model file, its
/// matcher, and where its feature rules sit among the model's columns.
///
/// Rules read the message after the clean step (what the model reads). A *feature* rule's match
/// is one column after the feature blocks' (value 1 when it matches, else absent), in rule
/// order, for the classifier to learn a weight for; an *override* rule decides its head's label
/// whatever the classifier says, the first matching override in file order winning.
public struct ModelRules: Sendable {
    public let set: RuleSet
    public let matcher: RuleMatcher
    /// The feature rules' indices in `set.rules`, in column order.
    public let featureRules: [Int]
    /// For each rule, its column among the rule columns (nil for an override).
    let columnOfRule: [Int?]

    public init(_ set: RuleSet) throws(RuleError) {
        matcher = try RuleMatcher(set)
        self.set = set
        var columns: [Int?] = []
        var features: [Int] = []
        for (i, rule) in set.rules.enumerated() {
            if rule.mode == .feature {
                columns.append(features.count)
                features.append(i)
            } else {
                columns.append(nil)
            }
        }
        featureRules = features
        columnOfRule = columns
    }

    /// The number of columns the feature rules add.
    public var columnCount: Int { featureRules.count }

    /// The rules matching a (cleaned) message, in rule order.
    public func matches(_ message: Message) -> [Int] {
        matcher.matches(subject: message.subject, body: message.body)
    }

    /// The rules each (cleaned) message matches, in parallel (a worker per chunk of messages).
    public func matches(_ messages: [Message], threads: Int?) -> [[Int]] {
        let chunks = Parallel.chunks(count: messages.count, chunkSize: 256)
        let parts = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> [[Int]] in
            let worker = matcher.makeWorker()
            return chunks[c].map { worker.matches(subject: messages[$0].subject, body: messages[$0].body) }
        }
        return Array(parts.joined())
    }

    /// The rule columns (0-based among the rule columns) of matched rules, ascending.
    public func columns(_ matched: [Int]) -> [Int] {
        matched.compactMap { columnOfRule[$0] }
    }

    /// The override deciding `head` among matched rules (a rule without a head decides the
    /// first head, `firstHead`).
    public func override(_ matched: [Int], head: String, firstHead: String) -> Int? {
        matched.first { i in
            let rule = set.rules[i]
            return rule.mode == .override && (rule.head ?? firstHead) == head
        }
    }

    /// The column name of a feature rule, as explanations and `inspect` show it.
    public func term(ofColumn column: Int) -> String { "rule:" + set.rules[featureRules[column]].name }

    /// Checks the rules against a model's heads and labels: every override names a head the
    /// model has (none: the first) and a label that head has. Errors name the rule.
    public func validate(heads: [(name: String, labels: [String])]) throws(RuleError) {
        guard let first = heads.first else { return }
        for (i, rule) in set.rules.enumerated() where rule.mode == .override {
            let at = RuleError.Place(index: i, name: rule.name)
            let headName = rule.head ?? first.name
            guard let head = heads.first(where: { $0.name == headName }) else {
                throw RuleError(rule: at, "head \"\(headName)\" is not one of the model's (\(heads.map(\.name).joined(separator: ", ")))")
            }
            guard let label = rule.label, head.labels.contains(label) else {
                let known = head.labels.prefix(12).joined(separator: ", ") + (head.labels.count > 12 ? ", …" : "")
                throw RuleError(rule: at, "label \"\(rule.label ?? "")\" is not one of head \"\(head.name)\"'s \(head.labels.count) labels (\(known))")
            }
        }
    }

    /// SHA-256 of the rule set's canonical JSON: what a fit's stage keys and a model's
    /// provenance record of the rules.
    public var sha256: String {
        StableHash.hex(JSONWriter.bytes((try? JSONValueEncoder().encode(set)) ?? .null))
    }
}
