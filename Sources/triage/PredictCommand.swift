import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageModel

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify messages: JSON Lines (or a CSV file) in, JSON Lines out.",
        discussion: Help.prose("""
            Examples:
              echo '{"id": "m1", "body": "Please block my card"}' > m.jsonl
              triage predict --model models/demo.triage --trusted-key \\
                  models/triage.public.pem --input m.jsonl
              triage predict --model models/demo.triage --trusted-key \\
                  models/triage.public.pem --subject "Card stolen" --body \\
                  "Please block it" --explain 3
              triage predict --model models/demo.triage --trusted-key \\
                  models/triage.public.pem --input corpora/demo/test.csv

            Each output line: {"id", "category", "probability", "top": [{"category", "probability"}…],
            "unsure", "reason", "by"} (a model of several label heads adds "heads": each head's
            answer by name; the top level is the first head's) — probabilities as the model's calibration gives them, "reason"
            why the model's confidence policy leaves the message to a person (low_confidence,
            ambiguous, out_of_scope; null when routed), "by" who decided: "model", or
            "rule:NAME" when an override rule of the model matched (its label wins; the
            probabilities stay the classifier's); with --explain N also the N n-grams
            that moved the score most, each with "present" (false: an n-gram a tree tested
            and did not find — trees split on absence too), and "explanation_bias", the score
            before any n-gram. Lines are answered as they arrive, so the command can sit in a
            pipe.
            """)
    )

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: ArgumentHelp("Read messages from this file instead of standard input: JSON Lines, CSV (id,subject,body; .csv or .csv.gz) as every other command reads, or mail (an .eml file, a directory of them, an mbox).", valueName: "file"))
    var input: String?

    @Option(name: .long, help: ArgumentHelp("Classify one message with this subject (with --body).", valueName: "text"))
    var subject: String?

    @Option(name: .long, help: ArgumentHelp("Classify one message with this body.", valueName: "text"))
    var body: String?

    @Option(name: .long, help: ArgumentHelp("How many categories to list per message.", valueName: "k"))
    var top: Int = 3

    @Option(name: .long, help: ArgumentHelp("Mark predictions below this probability unsure, replacing the threshold of the model's policy.", valueName: "p"))
    var threshold: Double?

    @Option(name: .long, help: ArgumentHelp("Add the N n-grams that contributed most to the predicted category.", valueName: "n"))
    var explain: Int = 0

    @Flag(name: .customLong("skip-invalid"), help: "Report invalid input lines on stderr and go on, instead of stopping.")
    var skipInvalid = false

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if let threshold, !(0 ... 1).contains(threshold) { throw ValidationError("--threshold must be in [0, 1]") }
        if explain < 0 { throw ValidationError("--explain must be ≥ 0") }
        if subject != nil && body == nil { throw ValidationError("--subject needs --body") }
        if body != nil && input != nil { throw ValidationError("give --body or --input, not both") }
    }

    func run() throws {
        let loaded = try model.load()
        let pipeline = loaded.pipeline
        let predictor = pipeline.makePredictor()
        let rules = pipeline.rules(threshold: threshold)
        // A model of several heads: every head's answer under "heads", the first at the top level.
        let heads = loaded.heads.heads.count > 1 ? loaded.heads : nil
        let headsPredictor = heads?.makePredictor()
        let headRules = heads?.heads.map { $0.rules(threshold: threshold) }
        func fields(_ p: Prediction) -> JSONObject {
            var o = JSONObject()
            o["category"] = .string(p.label)
            o["probability"] = JSONValue.double(p.probability) ?? .null
            o["top"] = .array(p.top.map { ["category": .string($0.label), "probability": JSONValue.double($0.probability) ?? .null] })
            o["unsure"] = .bool(p.unsure)
            o["reason"] = p.reason.map { .string($0.rawValue) } ?? .null
            o["by"] = .string(p.decidedBy)
            return o
        }
        func answer(_ message: Message) -> [UInt8] {
            let all = headsPredictor?.predict(message, top: top, rules: headRules)
            let p = all?[0] ?? predictor.predict(message, top: top, rules: rules)
            var o = fields(p)
            if let all, let heads {
                o["heads"] = .object(JSONObject(zip(heads.names, all).map { ($0, .object(fields($1))) }))
            }
            o["id"] = .string(p.id)
            if explain > 0 {
                let e = pipeline.explain(message, label: p.label, limit: explain)
                // "present": false marks an n-gram a tree tested and did not find in the message;
                // bias + every contribution is the label's raw score.
                o["explanation"] = .array(e.terms.map {
                    ["term": .string($0.term), "contribution": JSONValue.double($0.contribution) ?? .null, "present": .bool($0.present)]
                })
                o["explanation_bias"] = JSONValue.double(e.bias) ?? .null
            }
            return JSONWriter.bytes(.object(o)) + [0x0A]
        }
        if let body {
            Console.out(answer(Message(id: "1", subject: subject ?? "", body: body)))
            return
        }
        if let input, let format = MessageReader.mailFormat(path: input) {
            let batch: MessageBatch
            do { batch = try MessageReader.readMail(path: input, format: format, requireLabels: false, skipInvalid: skipInvalid) } catch {
                throw CLIFailure(message: "\(error)")
            }
            DataOptions.report(batch)
            for m in batch.messages { Console.out(answer(Message(id: m.id, subject: m.subject, body: m.body))) }
            return
        }
        if let input, Self.isCSV(input) {
            let batch: MessageBatch
            do { batch = try MessageReader.readCSV(path: input, requireLabels: false, skipInvalid: skipInvalid) } catch {
                throw CLIFailure(message: "\(error)")
            }
            for row in batch.skipped { Console.warning("\(input):\(row.line): \(row.reason) (skipped)") }
            for m in batch.messages { Console.out(answer(Message(id: m.id, subject: m.subject, body: m.body))) }
            return
        }
        let reader: LineReader
        do { reader = try LineReader(path: input ?? "-") } catch { throw CLIFailure(message: "\(error)") }
        var skipped = 0
        while true {
            let line: ArraySlice<UInt8>?
            do { line = try reader.next() } catch { throw CLIFailure(message: "\(error)") }
            guard let line else { break }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do {
                guard let m = try MessageReader.parseJSONLine(Array(line), line: reader.line) else { continue }
                Console.out(answer(Message(id: m.id, subject: m.subject, body: m.body)))
            } catch {
                let where_ = "\(reader.name):\(reader.line)"
                guard skipInvalid else { throw CLIFailure(message: "\(where_): \(error.problem)") }
                skipped += 1
                Console.warning("\(where_): \(error.problem) (skipped)")
            }
        }
        if skipped > 0 { Console.warning("skipped \(skipped) invalid line(s)") }
    }

    static func isCSV(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz")
    }
}
