import TriageData

/// One served prediction, as logged.
public struct LoggedPrediction: Sendable {
    public var messageID: String
    /// Seconds since 1970 when the request arrived.
    public var receivedAt: Double
    public var modelID: String
    /// Nil when text is not stored (`--no-store-text`).
    public var subject: String?
    public var body: String?
    /// SHA-256 of subject + "\n" + body: always stored, to match messages without their text.
    public var textSHA256: String
    public var category: String
    public var probability: Double
    public var top: [(category: String, probability: Double)]
    public var unsure: Bool
    /// Why the confidence policy did not route it (`UnsureReason`'s raw value); nil when routed.
    public var unsureReason: String? = nil
    public var latencyMilliseconds: Double
    /// Top-1 − top-2 probability (`Prediction.margin`); nil when unknown.
    public var margin: Double? = nil
    /// Who decided the category: "model", or "rule:NAME" for an override rule.
    public var decidedBy: String = "model"
    /// A model of several heads: the answers of the heads after the first (the first's is above).
    public var heads: [LoggedHead] = []
}

/// One later head's answer to a logged message (`prediction_heads`).
public struct LoggedHead: Sendable {
    public var head: String
    public var category: String
    public var probability: Double
    public var top: [(category: String, probability: Double)]
    public var unsure: Bool
    public var unsureReason: String?
    public var margin: Double?
    public var decidedBy: String

    public init(head: String, category: String, probability: Double, top: [(category: String, probability: Double)], unsure: Bool,
                unsureReason: String?, margin: Double?, decidedBy: String) {
        self.head = head
        self.category = category
        self.probability = probability
        self.top = top
        self.unsure = unsure
        self.unsureReason = unsureReason
        self.margin = margin
        self.decidedBy = decidedBy
    }
}

/// Why the log could not take a write.
public enum LogError: Error, Sendable, CustomStringConvertible {
    case sqlite(SQLiteError)
    case closed

    public var description: String {
        switch self {
        case let .sqlite(e): return "prediction log: \(e)"
        case .closed: return "prediction log is closed (the server is shutting down)"
        }
    }
}

/// The result of recording a human re-classification.
public enum RelabelOutcome: Sendable, Equatable {
    /// Recorded against the latest prediction of the message.
    case recorded(predictionSeq: Int64)
    case unknownMessage
}
