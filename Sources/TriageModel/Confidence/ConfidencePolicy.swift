import Foundation
import TriageCore

/// A policy ready to decide for one model: its per-label thresholds and out-of-scope index
/// resolved against the model's labels (`FittedPipeline.rules(threshold:)`).
public struct ConfidenceRules: Sendable {
    public let policy: ConfidencePolicy
    let byClass: [Double]?
    let oosIndex: Int?

    public init(policy: ConfidencePolicy, byClass: [Double]?, oosIndex: Int?) {
        self.policy = policy
        self.byClass = byClass
        self.oosIndex = oosIndex
    }

    /// Why `p` (calibrated, in the model's label order) is not routed; nil when it is.
    public func reason(_ p: [Double]) -> UnsureReason? { policy.reason(p, oosIndex: oosIndex, byClass: byClass) }
}

/// Why a prediction is not routed.
public enum UnsureReason: String, Sendable, Codable, CaseIterable {
    /// The calibrated top probability is below the policy's threshold.
    case lowConfidence = "low_confidence"
    /// The two most probable labels are closer than the policy's margin.
    case ambiguous
    /// The most probable label is the out-of-scope label the model was trained with.
    case outOfScope = "out_of_scope"
    /// A rules-only model (`train --rules-only`): no override rule matched the message.
    case noRule = "no_rule"
}

/// When a model routes a message and when it leaves it to a person: the calibration of its
/// probabilities and the rules applied to them, chosen from out-of-fold predictions on the
/// training data (`ConfidencePolicy.choose`) and stored in the model file.
///
/// A message is unsure when, in this order: its most probable label is `oosLabel`
/// (`out_of_scope`); its top probability is below `threshold` (`low_confidence`); or the
/// top-1 − top-2 difference is below `margin` (`ambiguous`, Rasa's `ambiguity_threshold`).
/// Probabilities are calibrated before any rule (and are what every answer shows).
public struct ConfidencePolicy: Sendable, Equatable, Codable {
    /// What the threshold was chosen for.
    public enum Goal: Sendable, Equatable, Codable {
        /// The largest coverage whose accepted messages are at least this share right.
        case precision(Double)
        /// Accept this share of messages, the most confident.
        case coverage(Double)
        /// A threshold given by hand (`--unsure-threshold`).
        case manual(Double)

        enum CodingKeys: String, CodingKey { case kind, value }

        public var kind: String {
            switch self {
            case .precision: "precision"
            case .coverage: "coverage"
            case .manual: "manual"
            }
        }

        public var value: Double {
            switch self {
            case let .precision(v), let .coverage(v), let .manual(v): v
            }
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let kind = try c.decode(String.self, forKey: .kind)
            let value = try c.decode(Double.self, forKey: .value)
            guard (0 ... 1).contains(value) else {
                throw DecodingError.dataCorruptedError(forKey: .value, in: c, debugDescription: "\(value) is not in [0, 1]")
            }
            switch kind {
            case "precision": self = .precision(value)
            case "coverage": self = .coverage(value)
            case "manual": self = .manual(value)
            default: throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown goal \"\(kind)\" (precision, coverage, manual)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(value, forKey: .value)
        }
    }

    /// What the out-of-fold predictions showed for the chosen policy.
    public struct Evidence: Sendable, Equatable, Codable {
        /// Out-of-fold predictions used, and the folds.
        public var messages: Int
        public var folds: Int
        public var seed: UInt64
        /// Share of those messages the policy routes, and the share of the routed ones that
        /// are right (out-of-scope messages routed count as wrong).
        public var coverage: Double
        public var precision: Double
        /// Calibration measured on the same predictions, before and after.
        public var logLossBefore: Double
        public var logLossAfter: Double
        public var eceBefore: Double
        public var eceAfter: Double

        public init(messages: Int, folds: Int, seed: UInt64, coverage: Double, precision: Double, logLossBefore: Double, logLossAfter: Double,
                    eceBefore: Double, eceAfter: Double) {
            self.messages = messages
            self.folds = folds
            self.seed = seed
            self.coverage = coverage
            self.precision = precision
            self.logLossBefore = logLossBefore
            self.logLossAfter = logLossAfter
            self.eceBefore = eceBefore
            self.eceAfter = eceAfter
        }

        enum CodingKeys: String, CodingKey {
            case messages, folds, seed, coverage, precision
            case logLossBefore = "log_loss_before", logLossAfter = "log_loss_after", eceBefore = "ece_before", eceAfter = "ece_after"
        }
    }

    public var calibration: Calibration
    public var goal: Goal
    /// Calibrated top probabilities below it are unsure.
    public var threshold: Double
    /// Per predicted label, a threshold replacing `threshold` (labels with enough out-of-fold
    /// evidence, `choose(scope: .perClass)`); nil or absent labels: `threshold`.
    public var classThresholds: [String: Double]?
    /// Nil: no margin rule.
    public var margin: Double?
    /// The label of out-of-scope training examples: learned, never routed.
    public var oosLabel: String?
    /// Nil for a manual policy.
    public var evidence: Evidence?

    enum CodingKeys: String, CodingKey {
        case calibration, goal, threshold, margin, evidence
        case oosLabel = "oos_label"
        case classThresholds = "class_thresholds"
    }

    public init(calibration: Calibration = .identity, goal: Goal, threshold: Double, classThresholds: [String: Double]? = nil,
                margin: Double? = nil, oosLabel: String? = nil, evidence: Evidence? = nil) {
        self.calibration = calibration
        self.goal = goal
        self.threshold = threshold
        self.classThresholds = classThresholds
        self.margin = margin
        self.oosLabel = oosLabel
        self.evidence = evidence
    }

    /// A policy of one threshold on uncalibrated probabilities: what a model without a policy
    /// (format 3 and older, or `--unsure-threshold`) does.
    public static func manual(_ threshold: Double) -> ConfidencePolicy {
        ConfidencePolicy(goal: .manual(threshold), threshold: threshold)
    }

    /// Each label's threshold, in `labels` order (nil without class thresholds).
    public func thresholds(labels: [String]) -> [Double]? {
        guard let classThresholds, !classThresholds.isEmpty else { return nil }
        return labels.map { classThresholds[$0] ?? threshold }
    }

    /// The decision for calibrated probabilities `p` in `labels` order; `oosIndex` is the
    /// index of `oosLabel` in them (nil without one), `byClass` the thresholds of
    /// `thresholds(labels:)`.
    @inlinable
    public func reason(_ p: [Double], oosIndex: Int?, byClass: [Double]? = nil) -> UnsureReason? {
        guard !p.isEmpty else { return .lowConfidence }
        var first = 0, second = -1
        for c in 1 ..< p.count {
            if p[c] > p[first] { second = first; first = c } else if second < 0 || p[c] > p[second] { second = c }
        }
        if let oosIndex, first == oosIndex { return .outOfScope }
        if p[first] < (byClass.map { $0[first] } ?? threshold) { return .lowConfidence }
        if let margin, second >= 0, p[first] - p[second] < margin { return .ambiguous }
        return nil
    }

    /// One line for people: "calibrated (temperature 0.81), unsure below 0.4721, chosen for 95 %
    /// precision (out of fold: 94.1 % routed, 95.0 % right)".
    public var summary: String {
        var parts: [String] = []
        parts.append(calibration.temperature == 1 ? "uncalibrated" : String(format: "calibrated (temperature %.3g)", calibration.temperature))
        parts.append(String(format: "unsure below %.4g", threshold))
        if let c = classThresholds, !c.isEmpty { parts.append("\(c.count) labels with their own threshold") }
        switch goal {
        case let .precision(p): parts.append(String(format: "chosen for %.3g %% precision", 100 * p))
        case let .coverage(c): parts.append(String(format: "chosen for %.3g %% coverage", 100 * c))
        case .manual: parts.append("set by hand")
        }
        if let margin { parts.append(String(format: "ambiguous below a margin of %.3g", margin)) }
        if let oosLabel { parts.append("\"\(oosLabel)\" is out of scope") }
        var text = parts.joined(separator: ", ")
        if let e = evidence {
            text += String(format: " (out of fold: %.1f %% routed, %.2f %% right)", 100 * e.coverage, 100 * e.precision)
        }
        return text
    }

    /// Checks the members a file could hold wrong.
    public func validate(labels: [String]) throws(PolicyError) {
        guard calibration.temperature.isFinite, calibration.temperature > 0 else { throw .invalid("temperature \(calibration.temperature) is not a positive number") }
        guard (0 ... 1).contains(threshold) else { throw .invalid("threshold \(threshold) is not a probability") }
        if let margin, !(0 ... 1).contains(margin) { throw .invalid("margin \(margin) is not in [0, 1]") }
        if let oosLabel, !labels.contains(oosLabel) { throw .unknownOOSLabel(oosLabel, present: labels) }
        for (label, t) in classThresholds ?? [:] {
            guard labels.contains(label) else { throw .invalid("class_thresholds names \"\(label)\", not a label of the model") }
            guard (0 ... 1).contains(t) else { throw .invalid("class threshold \(t) of \"\(label)\" is not a probability") }
        }
    }
}

public enum PolicyError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    /// No threshold meets the target: the best precision reachable and its coverage.
    case unreachable(target: Double, bestPrecision: Double, coverage: Double)
    case unknownOOSLabel(String, present: [String])
    case noEvidence(String)

    public var description: String {
        switch self {
        case let .invalid(why): return "invalid confidence policy: \(why)"
        case let .unreachable(target, best, coverage):
            return String(format: "no threshold reaches %.1f %% precision on the out-of-fold predictions: the best is %.2f %% at %.1f %% coverage",
                          100 * target, 100 * best, 100 * coverage)
        case let .unknownOOSLabel(label, present):
            let shown = present.prefix(20).map { "\"\($0)\"" }.joined(separator: ", ")
            return "--oos-label \"\(label)\" is not a label of the data; labels present: \(shown)\(present.count > 20 ? ", … (\(present.count))" : "")"
        case let .noEvidence(why): return "no out-of-fold predictions to choose a policy from: \(why)"
        }
    }
}

extension ConfidencePolicy {
    /// Where one threshold applies.
    public enum Scope: Sendable, Equatable {
        case global
        /// With a precision goal, each label predicted at least `minimum` times out of fold gets
        /// the threshold that meets the goal on those predictions alone (a label whose
        /// predictions never meet it is not routed: threshold 1); the others keep the global one.
        case perClass(minimum: Int)

        /// "Enough" out-of-fold evidence for a label's own threshold.
        public static let defaultMinimum = 50
    }

    /// Chooses a policy from out-of-fold predictions: fits the temperature, then the threshold
    /// that meets `goal` on the calibrated probabilities. Messages whose most probable label is
    /// `oosLabel` are not routed; an out-of-scope message routed counts as wrong, so the
    /// threshold also keeps out-of-scope messages out.
    public static func choose(_ oof: OutOfFold, labels: [String], goal: Goal, margin: Double? = nil, oosLabel: String? = nil,
                              calibrate: Bool = true, scope: Scope = .global) throws(PolicyError) -> ConfidencePolicy {
        guard !oof.rows.isEmpty else { throw .noEvidence("every class has fewer rows than the folds") }
        if let oosLabel, !labels.contains(oosLabel) { throw .unknownOOSLabel(oosLabel, present: labels) }
        let oosIndex = oosLabel.flatMap { labels.firstIndex(of: $0) }
        let calibration = calibrate ? Calibration.fitTemperature(truth: oof.truth, probabilities: oof.probabilities) : .identity
        let calibrated = oof.probabilities.map(calibration.applied)
        let before = ConfidenceReport(truth: oof.truth, probabilities: oof.probabilities)
        let after = ConfidenceReport(truth: oof.truth, probabilities: calibrated)
        // Candidates: messages no rule but the threshold rejects, with their confidence and
        // whether routing them is right.
        var draft = ConfidencePolicy(calibration: calibration, goal: goal, threshold: 0, margin: margin, oosLabel: oosLabel)
        var confidences: [Double] = [], right: [Bool] = [], predicted: [Int] = []
        for (p, t) in zip(calibrated, oof.truth) where draft.reason(p, oosIndex: oosIndex) == nil {
            let best = Ranking.argmax(p)
            confidences.append(p[best])
            right.append(best == t && t != oosIndex)
            predicted.append(best)
        }
        let curve = RiskCoverage(confidences: confidences, right: right)
        let total = Double(oof.rows.count)
        switch goal {
        case let .precision(target):
            guard let p = curve.largestCoverage(precision: target) else {
                let best = (1 ... max(curve.count, 1)).filter { curve.count > 0 && curve.isCut($0) }.map(curve.point(accepting:))
                    .max { $0.accuracy != $1.accuracy ? $0.accuracy < $1.accuracy : $0.accepted < $1.accepted }
                throw .unreachable(target: target, bestPrecision: best?.accuracy ?? 0, coverage: Double(best?.accepted ?? 0) / total)
            }
            draft.threshold = p.threshold
        case let .coverage(share):
            // Share of all messages: the ones other rules reject count against it.
            guard let p = curve.point(coverage: min(1, share * total / Double(max(curve.count, 1)))) else {
                throw .noEvidence("every out-of-fold message is rejected by the margin or out-of-scope rule")
            }
            draft.threshold = p.threshold
        case let .manual(threshold):
            draft.threshold = threshold
        }
        if case let .perClass(minimum) = scope, case let .precision(target) = goal {
            var byClass: [String: Double] = [:]
            for c in labels.indices where c != oosIndex {
                let rows = predicted.indices.filter { predicted[$0] == c }
                guard rows.count >= minimum else { continue }
                let classCurve = RiskCoverage(confidences: rows.map { confidences[$0] }, right: rows.map { right[$0] })
                byClass[labels[c]] = classCurve.largestCoverage(precision: target)?.threshold ?? 1
            }
            draft.classThresholds = byClass
        }
        // The evidence: what the chosen thresholds route out of fold, counted once for every goal
        // and scope (a cut never falls between equal confidences, so `≥ threshold` accepts what
        // the curve's cut accepted).
        let thresholds = draft.thresholds(labels: labels)
        var accepted = 0, acceptedRight = 0
        for i in confidences.indices where confidences[i] >= (thresholds?[predicted[i]] ?? draft.threshold) {
            accepted += 1
            if right[i] { acceptedRight += 1 }
        }
        draft.evidence = Evidence(messages: oof.rows.count, folds: oof.folds, seed: oof.seed, coverage: Double(accepted) / total,
                                  precision: accepted == 0 ? 0 : Double(acceptedRight) / Double(accepted), logLossBefore: before.logLoss,
                                  logLossAfter: after.logLoss, eceBefore: before.ece, eceAfter: after.ece)
        return draft
    }
}
