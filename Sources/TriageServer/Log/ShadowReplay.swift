import Foundation
import TriageCore
import TriageData
import TriageModel

/// A candidate model replayed on what the server answered: each logged message's latest
/// prediction, predicted again by the candidate, compared with what was served (`triage replay`).
public struct ShadowReplay: Sendable {
    /// One logged message with its stored text and what was served.
    public struct Served: Sendable, Equatable {
        public var messageID: String
        public var subject: String
        public var body: String
        public var category: String
        public var unsure: Bool
        /// The latest human label, if any.
        public var label: String?
    }

    public struct Change: Sendable, Equatable {
        public var from: String
        public var to: String
        public var count: Int
    }

    /// Messages replayed (latest prediction of each, with stored text, in the time range).
    public var replayed = 0
    /// Messages in range whose text was not stored (`--no-store-text`): not replayed.
    public var withoutText = 0
    /// Same category as served.
    public var agreeing = 0
    /// Routes that change, most frequent first (ties: by name).
    public var changes: [Change] = []
    /// Served routed, candidate unsure; and the other way.
    public var newlyUnsure = 0
    public var newlyRouted = 0
    /// Relabelled messages among those replayed, and how many each model's category matches.
    public var relabelled = 0
    public var servedRight = 0
    public var candidateRight = 0

    public var agreement: Double { replayed == 0 ? 0 : Double(agreeing) / Double(replayed) }

    /// Compares `served` with the candidate's predictions of the same messages.
    public init(served: [Served], withoutText: Int, candidate: [Prediction]) {
        precondition(served.count == candidate.count)
        replayed = served.count
        self.withoutText = withoutText
        var counts: [String: [String: Int]] = [:]
        for (s, c) in zip(served, candidate) {
            if s.category == c.label {
                agreeing += 1
            } else {
                counts[s.category, default: [:]][c.label, default: 0] += 1
            }
            if !s.unsure && c.unsure { newlyUnsure += 1 }
            if s.unsure && !c.unsure { newlyRouted += 1 }
            if let label = s.label {
                relabelled += 1
                if s.category == label { servedRight += 1 }
                if c.label == label { candidateRight += 1 }
            }
        }
        changes = counts.flatMap { from, tos in tos.map { Change(from: from, to: $0.key, count: $0.value) } }
            .sorted { ($0.count, $1.from, $1.to) > ($1.count, $0.from, $0.to) }
    }

    /// Each message's latest prediction in the log at `path` received in [since, until), with
    /// its text and latest label; the count of those without stored text.
    public static func served(database path: String, since: Double? = nil, until: Double? = nil) throws -> (messages: [Served], withoutText: Int) {
        let db = try ReviewQueue.openReadOnly(path)
        let (conditions, values) = ReviewQueue.latest(since: since, until: until)
        let statement = try db.prepare("""
            SELECT p.message_id, p.subject, p.body, p.category, p.unsure,
                   (SELECT l.label FROM labels l WHERE l.prediction_seq = p.seq AND l.head IS NULL ORDER BY l.seq DESC LIMIT 1)
            FROM predictions p WHERE \(conditions.joined(separator: " AND ")) ORDER BY p.seq
            """)
        try statement.bind(values)
        var messages: [Served] = [], withoutText = 0
        while try statement.step() {
            guard let body = statement.value(2).stringValue else {
                withoutText += 1
                continue
            }
            var unsure = false
            if case let .integer(n) = statement.value(4) { unsure = n != 0 }
            messages.append(Served(messageID: statement.value(0).stringValue ?? "", subject: statement.value(1).stringValue ?? "", body: body,
                                   category: statement.value(3).stringValue ?? "", unsure: unsure, label: statement.value(5).stringValue))
        }
        return (messages, withoutText)
    }

    public var json: JSONValue {
        func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
        func int(_ n: Int) -> JSONValue { .number(JSONNumber(n)) }
        return [
            "replayed": int(replayed), "without_text": int(withoutText), "agreeing": int(agreeing), "agreement": num(agreement),
            "changes": .array(changes.map { ["from": .string($0.from), "to": .string($0.to), "count": int($0.count)] }),
            "newly_unsure": int(newlyUnsure), "newly_routed": int(newlyRouted),
            "relabelled": int(relabelled), "served_right": int(servedRight), "candidate_right": int(candidateRight),
        ]
    }

    public func text(changesShown: Int = 20) -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", 100 * x) }
        var lines = ["\(replayed) message(s) replayed\(withoutText > 0 ? " (\(withoutText) logged without text, not replayed)" : ""); "
            + "the candidate agrees with what was served on \(agreeing) (\(pct(agreement)))"]
        lines.append("unsure: \(newlyUnsure) routed before would now be left to a person, \(newlyRouted) left to a person before would now be routed")
        if relabelled > 0 {
            lines.append("relabelled by agents: \(relabelled); served right \(servedRight) (\(pct(Double(servedRight) / Double(relabelled)))), "
                + "candidate right \(candidateRight) (\(pct(Double(candidateRight) / Double(relabelled))))")
        }
        if !changes.isEmpty {
            lines += ["", "routes that change (served → candidate)\(changes.count > changesShown ? ", the \(changesShown) most frequent of \(changes.count)" : ""):"]
            for c in changes.prefix(changesShown) { lines.append(String(format: "%6d  ", c.count) + "\(c.from) → \(c.to)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
