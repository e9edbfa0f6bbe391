import TriageCore
import TriageText

/// What a rule set does on labelled messages (`triage rules test`): how many messages each rule
/// matches, how often an override rule's label is the message's, which overrides decide, which
/// are overruled by an earlier one, and where two overrides disagree.
public struct RulesReport: Sendable {
    public struct RuleStats: Sendable {
        public var name: String
        public var mode: RuleSet.Mode
        public var label: String?
        /// Messages the rule matches.
        public var matched: Int
        /// Matched messages whose label is the rule's (overrides).
        public var agreeing: Int
        /// Messages whose head this rule decided (the first matching override for it).
        public var decided: Int
        /// Of those, decided right.
        public var decidedRight: Int
        /// The most frequent labels among the matched messages, most frequent first.
        public var topLabels: [(label: String, count: Int)]

        /// Share of matched messages labelled as the rule says (nil when nothing matched or not an override).
        public var precision: Double? { mode == .override && matched > 0 ? Double(agreeing) / Double(matched) : nil }
    }

    /// Two overrides for one head with different labels matching the same messages; the earlier wins.
    public struct Conflict: Sendable {
        public var winner: String
        public var loser: String
        public var messages: Int
        /// Up to three message ids.
        public var examples: [String]
    }

    public var messages: Int
    public var head: String
    public var rules: [RuleStats]
    /// Messages an override decided, and how many of them right.
    public var decided: Int
    public var decidedRight: Int
    public var conflicts: [Conflict]
    /// Override labels that no message carries (a typo, or a queue the data lacks).
    public var unseenLabels: [(rule: String, label: String)]
    /// Override rules naming another head than `head`: not measured here.
    public var otherHeads: [String]

    /// Measures `matcher` on `messages` (already cleaned as the model would), whose labels are the
    /// head `head`'s.
    public init(matcher: RuleMatcher, messages: [LabeledMessage], head: String, threads: Int? = nil) {
        let set = matcher.set
        let chunks = Parallel.chunks(count: messages.count, chunkSize: 256)
        let matches = Array(Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> [[Int]] in
            let worker = matcher.makeWorker()
            return chunks[c].map { worker.matches(subject: messages[$0].subject, body: messages[$0].body) }
        }.joined())
        let labels = Set(messages.compactMap(\.label))
        var stats = set.rules.map { RuleStats(name: $0.name, mode: $0.mode, label: $0.label, matched: 0, agreeing: 0, decided: 0, decidedRight: 0, topLabels: []) }
        var labelCounts = [[String: Int]](repeating: [:], count: set.rules.count)
        var decided = 0, decidedRight = 0
        var conflictCounts: [String: (winner: Int, loser: Int, count: Int, examples: [String])] = [:]
        for (m, matched) in zip(messages, matches) {
            for i in matched {
                stats[i].matched += 1
                if let label = m.label {
                    labelCounts[i][label, default: 0] += 1
                    if label == set.rules[i].label { stats[i].agreeing += 1 }
                }
            }
            let forHead = matched.filter { set.rules[$0].mode == .override && (set.rules[$0].head ?? head) == head }
            guard let winner = forHead.first else { continue }
            decided += 1
            stats[winner].decided += 1
            if m.label == set.rules[winner].label {
                decidedRight += 1
                stats[winner].decidedRight += 1
            }
            for loser in forHead.dropFirst() where set.rules[loser].label != set.rules[winner].label {
                let key = "\(winner) \(loser)"
                var entry = conflictCounts[key] ?? (winner, loser, 0, [])
                entry.count += 1
                if entry.examples.count < 3 { entry.examples.append(m.id) }
                conflictCounts[key] = entry
            }
        }
        for i in stats.indices {
            stats[i].topLabels = labelCounts[i].sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3).map { ($0.key, $0.value) }
        }
        self.messages = messages.count
        self.head = head
        rules = stats
        self.decided = decided
        self.decidedRight = decidedRight
        conflicts = conflictCounts.values.sorted { ($0.winner, $0.loser) < ($1.winner, $1.loser) }.map {
            Conflict(winner: set.rules[$0.winner].name, loser: set.rules[$0.loser].name, messages: $0.count, examples: $0.examples)
        }
        unseenLabels = set.rules.compactMap { r in
            guard r.mode == .override, (r.head ?? head) == head, let l = r.label, !labels.contains(l) else { return nil }
            return (r.name, l)
        }
        otherHeads = set.rules.filter { $0.mode == .override && ($0.head ?? head) != head }.map(\.name)
    }

    public var json: JSONValue {
        func number(_ x: Double?) -> JSONValue { x.flatMap { JSONValue.double($0) } ?? .null }
        return .object(JSONObject([
            ("messages", .number(JSONNumber(messages))), ("head", .string(head)),
            ("decided", .number(JSONNumber(decided))), ("decided_right", .number(JSONNumber(decidedRight))),
            ("rules", .array(rules.map { r in
                .object(JSONObject([
                    ("name", .string(r.name)), ("mode", .string(r.mode.rawValue)), ("label", r.label.map { .string($0) } ?? .null),
                    ("matched", .number(JSONNumber(r.matched))), ("coverage", number(messages > 0 ? Double(r.matched) / Double(messages) : nil)),
                    ("precision", number(r.precision)), ("decided", .number(JSONNumber(r.decided))), ("decided_right", .number(JSONNumber(r.decidedRight))),
                    ("top_labels", .array(r.topLabels.map { .object(JSONObject([("label", .string($0.label)), ("count", .number(JSONNumber($0.count)))])) })),
                ]))
            })),
            ("conflicts", .array(conflicts.map { c in
                .object(JSONObject([("winner", .string(c.winner)), ("loser", .string(c.loser)), ("messages", .number(JSONNumber(c.messages))),
                                    ("examples", .array(c.examples.map { .string($0) }))]))
            })),
            ("unseen_labels", .array(unseenLabels.map { .object(JSONObject([("rule", .string($0.rule)), ("label", .string($0.label))])) })),
            ("other_heads", .array(otherHeads.map { .string($0) })),
        ]))
    }
}
