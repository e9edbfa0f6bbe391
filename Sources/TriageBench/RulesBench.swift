import Foundation
import TriageArtifact
import TriageCore
import TriageData
import TriageModel
import TriageText

extension TriageBench {
    /// What rules cost per message beside a model's prediction (issue 31's serve target: 200
    /// rules, 150 of words and phrases and 50 regular expressions, within 10 % of no rules):
    ///
    ///     triage-bench rules --data PATH --model FILE --key PEM [--rules FILE] [--repeat R]
    ///     triage-bench rules --data PATH --write-rules FILE    # the 200 synthetic rules, as a rules file
    ///
    /// Without `--rules`, 200 rules are made from the data's own words (seeded): word rules of 1–3
    /// phrases of one or two frequent words, and regular expressions of the shapes teams write
    /// (alternations of words with `\b`, numbers, codes). One thread: the predictor's time per
    /// message (clean step included) and the matcher's on the same cleaned messages.
    static func rules(_ o: Options) {
        if let out = o.string("write-rules"), let path = o.string("data") {
            let messages: [Message]
            do { messages = try MessageReader.readCSV(path: path, requireLabels: false).messages.map(\.message) } catch { fail("\(error)") }
            let set = syntheticRules(messages, seed: UInt64(o.int("seed") ?? 0))
            do {
                let json = try JSONValueEncoder().encode(set)
                try Data(JSONWriter.bytes(json, options: .init(sortedKeys: true, pretty: true)) + [0x0A]).write(to: URL(fileURLWithPath: out))
            } catch { fail("\(out): \(error)") }
            return
        }
        guard let path = o.string("data"), let modelPath = o.string("model"), let keyPath = o.string("key") else {
            fail("--data, --model and --key are required")
        }
        let messages: [Message]
        do { messages = try MessageReader.readCSV(path: path, requireLabels: false).messages.map(\.message) } catch { fail("\(error)") }
        let loaded: ModelArtifact.Loaded
        do {
            let key = try VerifyingKey(path: keyPath)
            loaded = try ModelArtifact.load(path: modelPath, trusted: [key])
        } catch { fail("\(error)") }
        let set: RuleSet
        if let file = o.string("rules") {
            guard let bytes = FileManager.default.contents(atPath: file) else { fail("\(file): cannot read") }
            do { set = try RuleSet.parse(Array(bytes)) } catch { fail("\(file): \(error)") }
        } else {
            set = syntheticRules(messages, seed: UInt64(o.int("seed") ?? 0))
        }
        let matcher: RuleMatcher
        do { matcher = try RuleMatcher(set) } catch { fail("\(error)") }
        let pipeline = loaded.pipeline
        let cleaned = pipeline.cleaner.map { c in messages.map { c.clean($0) } } ?? messages
        let predictor = pipeline.makePredictor()
        var predictSeconds: [Double] = [], matchSeconds: [Double] = []
        var matched = 0
        for _ in 0 ..< (o.int("repeat") ?? 3) {
            let clock = ContinuousClock()
            var start = clock.now
            var sink = 0.0
            for m in messages { sink += predictor.predict(m).probability }
            predictSeconds.append(clock.now.durationSinceStart(start))
            start = clock.now
            matched = 0
            let worker = matcher.makeWorker()
            for m in cleaned { matched += worker.matches(subject: m.subject, body: m.body).isEmpty ? 0 : 1 }
            matchSeconds.append(clock.now.durationSinceStart(start))
            if sink.isNaN { fail("NaN") }
        }
        let words = set.rules.filter { $0.words != nil }.count
        emit([
            "benchmark": "rules", "data": .string(path), "messages": .number(JSONNumber(messages.count)),
            "rules": .number(JSONNumber(set.rules.count)), "word_rules": .number(JSONNumber(words)),
            "regex_rules": .number(JSONNumber(set.rules.count - words)), "messages_matched": .number(JSONNumber(matched)),
            "predict_seconds": .array(predictSeconds.compactMap { JSONValue.double($0) }),
            "match_seconds": .array(matchSeconds.compactMap { JSONValue.double($0) }),
        ])
    }

    /// 150 word rules and 50 regular expressions from the messages' frequent words.
    static func syntheticRules(_ messages: [Message], seed: UInt64) -> RuleSet {
        var counts: [String: Int] = [:]
        for m in messages.prefix(5000) {
            for w in (m.subject + " " + m.body).lowercased().split(whereSeparator: { !$0.isLetter }) where w.count >= 4 { counts[String(w), default: 0] += 1 }
        }
        let vocabulary = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(600).map(\.key)
        var rng = SeededGenerator(seed: seed)
        func word() -> String { vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }
        var rules: [RuleSet.Rule] = []
        for i in 0 ..< 150 {
            let phrases = (0 ..< (1 + Int(rng.next() % 3))).map { _ in rng.next() % 2 == 0 ? word() : word() + " " + word() }
            rules.append(RuleSet.Rule(name: "words-\(i)", field: [.any, .subject, .body][i % 3], words: phrases, mode: .feature))
        }
        let shapes: [(String) -> String] = [
            { "\\b(\($0)|\(word()))\\b" },
            { "\\b\($0)\\s+\\w+\\s+\(word())\\b" },
            { "\\b\($0)\\w*\\s+\\d{2,6}\\b" },
            { "(\($0)|\(word())|\(word())).{0,20}(\(word())|\(word()))" },
            { "\\b[a-z]{2}\\d{2}[a-z0-9]{8,20}\\b|\\b\($0)\\b" },
        ]
        for i in 0 ..< 50 {
            rules.append(RuleSet.Rule(name: "regex-\(i)", field: [.any, .body][i % 2], regex: shapes[i % shapes.count](word()), mode: .feature))
        }
        return RuleSet(rules: rules)
    }
}
