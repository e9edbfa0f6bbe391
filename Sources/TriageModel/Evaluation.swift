import TriageCore

extension ClassificationReport {
    /// The metrics of a fitted pipeline on labelled messages: each predicted label is the
    /// argmax of its probabilities (`Ranking`) or an override rule's, each true label encoded in the pipeline's label
    /// order. Messages whose label the model does not know are left out of every metric — one
    /// denominator for accuracy, the averages and balanced accuracy, as scikit-learn's
    /// `classification_report(labels=model.classes_)` keeps to the model's labels — and are
    /// counted in `unknownLabels`.
    public init(_ pipeline: FittedPipeline, on messages: [LabeledMessage], threads: Int? = nil) {
        self = ModelEvaluation(pipeline, on: messages, threads: threads).report
    }
}

/// A fitted pipeline measured on labelled messages: the classification report and how far its
/// confidence can be trusted (`ConfidenceReport`), from one pass of predictions over the
/// messages whose label the model knows.
public struct ModelEvaluation: Sendable {
    public let report: ClassificationReport
    /// Nil when no message has a label the model knows.
    public let confidence: ConfidenceReport?
    /// What the model's confidence policy did on these messages.
    public let policy: PolicyOutcome
    /// The measured messages (those with a label the model knows): each one's class index and
    /// (calibrated) probabilities, for reports built on the same predictions.
    public let truth: [Int]
    public let probabilities: [[Double]]

    /// Messages routed and left to a person by a confidence policy.
    public struct PolicyOutcome: Sendable, Equatable {
        public var messages: Int
        public var routed: Int
        /// Routed and right.
        public var routedRight: Int
        public var unsure: [UnsureReason: Int]
        /// Routed by an override rule of the model (whatever the policy), and of those, right.
        public var byRules = 0
        public var byRulesRight = 0

        /// Share of messages routed.
        public var coverage: Double { messages == 0 ? 0 : Double(routed) / Double(messages) }
        /// Share of the routed ones that are right.
        public var precision: Double { routed == 0 ? 0 : Double(routedRight) / Double(routed) }
        /// Routed and right, over all messages (a message left to a person counts as not right).
        public var accuracy: Double { messages == 0 ? 0 : Double(routedRight) / Double(messages) }

        public var json: JSONValue {
            func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
            return ["messages": .number(JSONNumber(messages)), "routed": .number(JSONNumber(routed)), "coverage": num(coverage),
                    "precision": num(precision), "accuracy": num(accuracy),
                    "unsure": .object(JSONObject(UnsureReason.allCases.map { ($0.rawValue, .number(JSONNumber(unsure[$0] ?? 0))) })),
                    "by_rules": .number(JSONNumber(byRules)), "by_rules_right": .number(JSONNumber(byRulesRight))]
        }

        public var text: String {
            let reasons = UnsureReason.allCases.compactMap { r in unsure[r].map { "\($0) \(r.rawValue)" } }.joined(separator: ", ")
            return String(format: "routed %d of %d messages (%.1f %%), %.2f %% of them right; left to a person: %d", routed, messages,
                          100 * coverage, 100 * precision, messages - routed) + (reasons.isEmpty ? "" : " (\(reasons))")
                + (byRules == 0 ? "" : String(format: "; %d of the routed decided by override rules, %d of them right", byRules, byRulesRight))
        }
    }

    public init(_ pipeline: FittedPipeline, on messages: [LabeledMessage], threads: Int? = nil, threshold: Double? = nil) {
        let known = Set(pipeline.labels)
        let kept = messages.filter { known.contains($0.label ?? "") }
        let truth = LabelEncoder(classes: pipeline.labels).encode(kept)
        let (p, matched) = pipeline.predictProbabilitiesAndMatches(kept.map(\.message), threads: threads)
        // An override rule decides the label of the messages it matches.
        let overrides = matched.map { $0.isEmpty ? nil : pipeline.override($0)?.label }
        let predicted = zip(p, overrides).map { $1 ?? Ranking.argmax($0) }
        var report = ClassificationReport(labels: pipeline.labels, truth: truth, predicted: predicted, probabilities: p)
        for m in messages where !known.contains(m.label ?? "") { report.unknownLabels[m.label ?? "", default: 0] += 1 }
        self.report = report
        confidence = kept.isEmpty ? nil : ConfidenceReport(truth: truth, probabilities: p)
        self.truth = truth
        probabilities = p
        let rules = pipeline.rules(threshold: threshold)
        var outcome = PolicyOutcome(messages: kept.count, routed: 0, routedRight: 0, unsure: [:])
        for (i, t) in truth.enumerated() {
            if overrides[i] == nil, let reason = pipeline.isRulesOnly ? .noRule : rules.reason(p[i]) {
                outcome.unsure[reason, default: 0] += 1
            } else {
                outcome.routed += 1
                if predicted[i] == t && t != pipeline.oosIndex { outcome.routedRight += 1 }
                if overrides[i] != nil {
                    outcome.byRules += 1
                    if predicted[i] == t { outcome.byRulesRight += 1 }
                }
            }
        }
        policy = outcome
    }
}
