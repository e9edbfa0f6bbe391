/// A classifier's answer for one message.
public struct Prediction: Sendable, Equatable {
    public struct Scored: Sendable, Equatable {
        public var label: String
        public var probability: Double

        public init(label: String, probability: Double) {
            self.label = label
            self.probability = probability
        }
    }

    public var id: String
    /// The most probable label (ties: the label listed first, `Ranking`).
    public var label: String
    public var probability: Double
    /// The `top` most probable labels, most probable first.
    public var top: [Scored]
    /// Why the confidence policy does not route the message; nil when routed.
    public var reason: UnsureReason?
    /// Top-1 − top-2 probability (the top probability with one label); nil when not measured.
    public var margin: Double?
    /// The override rule that decided the label (its name; answers say `"by": "rule:NAME"`), nil
    /// when the classifier did.
    public var rule: String?
    /// True when the confidence policy does not route the message (`reason` says why).
    public var unsure: Bool { reason != nil }
    /// Who decided: `"rule:NAME"` or `"model"`.
    public var decidedBy: String { rule.map { "rule:" + $0 } ?? "model" }

    public init(id: String, label: String, probability: Double, top: [Scored], unsure: Bool, reason: UnsureReason? = nil, margin: Double? = nil,
                rule: String? = nil) {
        self.rule = rule
        self.id = id
        self.label = label
        self.probability = probability
        self.top = top
        self.reason = unsure ? (reason ?? .lowConfidence) : nil
        self.margin = margin
    }
}
