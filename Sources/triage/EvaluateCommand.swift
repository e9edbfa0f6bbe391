import ArgumentParser
import Foundation
import TriageCore
import TriageModel

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a signed model on labelled messages: report and confusion matrix.",
        discussion: Help.prose("""
            Example:
              triage evaluate --model models/demo.triage --trusted-key \\
                  models/triage.public.pem --data corpora/demo/test.csv

            Messages whose label the model does not know are left out of every metric (one
            denominator for all) and listed. After the report: how far the top probability can
            be trusted — log loss, Brier score, expected calibration error (15 equal bins),
            the share of messages that can be accepted at 95 % and 98 % precision, the
            reliability table and the risk–coverage table; then what the model's confidence
            policy does on these messages (how many it routes, how many of those are right,
            why the others are left to a person). --json prints the same data (per-class
            scores, averages, log loss, top-k accuracy, confusion matrix, "confidence",
            "policy", "open_set") as JSON. With --oos-data, messages that belong to no class
            measure the model on an open set: in-scope accuracy (a message left to a person
            counts as wrong), out-of-scope recall and precision, macro-F1 over the known
            classes and "open", AUROC of the top probability, and risk–coverage over both.
            """)
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var runtime: RuntimeOptions

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Digits in the text report.", valueName: "n"))
    var digits: Int = 2

    @Flag(name: .customLong("no-confusion"), help: "Leave the confusion matrix out of the text report.")
    var noConfusion = false

    @Flag(name: .customLong("no-confidence"), help: "Leave the confidence tables (calibration, risk–coverage) out of the text report.")
    var noConfidence = false

    @Option(name: .customLong("oos-data"), help: ArgumentHelp("Messages that belong to no class (same format and column options as --data; labels, if any, are ignored): adds in-scope accuracy, out-of-scope recall and precision, AUROC and an open-set risk–coverage table.", valueName: "file"))
    var oosData: String?

    func validate() throws {
        if !data.isGiven { throw ValidationError("missing --data FILE (or --db FILE --sql QUERY)") }
        if !(0 ... 10).contains(digits) { throw ValidationError("--digits must be between 0 and 10") }
    }

    /// The open-set report: --data's messages with a label the model knows are in scope (those
    /// labelled with the model's out-of-scope label count as out of scope), --oos-data's are
    /// out of scope. --data's predictions are the evaluation's; only --oos-data is predicted.
    func openSetReport(_ pipeline: FittedPipeline, evaluation: ModelEvaluation, oosPath: String) throws -> OpenSetReport {
        var options = data
        options.data = oosPath
        options.db = nil
        options.sql = nil
        let outside = try options.load(requireLabels: false).messages
        let inside = evaluation.truth.indices.filter { evaluation.truth[$0] != pipeline.oosIndex }
        let labelledOOS = evaluation.truth.indices.filter { evaluation.truth[$0] == pipeline.oosIndex }
        let rules = pipeline.rules()
        return OpenSetReport(truth: inside.map { evaluation.truth[$0] }, inScope: inside.map { evaluation.probabilities[$0] },
                             outOfScope: labelledOOS.map { evaluation.probabilities[$0] }
                                 + pipeline.predictProbabilities(outside.map(\.message), threads: runtime.threads),
                             classCount: pipeline.labels.count, oosIndex: pipeline.oosIndex) { rules.reason($0) == nil }
    }

    /// A model of several heads measured on several --label-column (named as its heads): each
    /// head on the messages labelled for it, and the share of messages labelled for every head
    /// whose every head is right.
    struct HeadsEvaluation {
        var reports: [(name: String, evaluation: ModelEvaluation)]
        var exactMessages: Int
        var exactRight: Int
        var exactMatch: Double { exactMessages == 0 ? 0 : Double(exactRight) / Double(exactMessages) }
    }

    func evaluateHeads(_ heads: FittedHeads, messages: [LabeledMessage]) throws -> HeadsEvaluation {
        let columns = data.labelColumns
        guard columns == heads.names else {
            throw CLIFailure(message: "--label-column \(columns.joined(separator: ", ")): give the model's heads in its order (\(heads.names.joined(separator: ", ")))", code: 2)
        }
        func truth(_ m: LabeledMessage, _ k: Int) -> String? { k == 0 ? m.label : (k - 1 < m.otherLabels.count ? m.otherLabels[k - 1] : nil) }
        var reports: [(String, ModelEvaluation)] = []
        for (k, head) in heads.heads.enumerated() {
            let own = messages.compactMap { m in truth(m, k).map { LabeledMessage(id: m.id, subject: m.subject, body: m.body, label: $0, line: m.line) } }
            reports.append((head.head, ModelEvaluation(head, on: own, threads: runtime.threads)))
        }
        let complete = messages.filter { m in heads.heads.indices.allSatisfy { truth(m, $0) != nil } }
        let answers = heads.predict(complete.map(\.message), top: 1, threads: runtime.threads)
        let right = zip(complete, answers).filter { m, a in a.indices.allSatisfy { a[$0].label == truth(m, $0) } }.count
        return HeadsEvaluation(reports: reports, exactMessages: complete.count, exactRight: right)
    }

    func run() throws {
        runtime.apply()
        let loaded = try model.load()
        let batch = data.labelColumns.count > 1 ? try data.loadHeads() : try data.load()
        let headsEvaluation = data.labelColumns.count > 1 ? try evaluateHeads(loaded.heads, messages: batch.messages) : nil
        let evaluation = headsEvaluation?.reports[0].evaluation ?? ModelEvaluation(loaded.pipeline, on: batch.messages, threads: runtime.threads)
        let report = evaluation.report
        let openSet = try oosData.map { try openSetReport(loaded.pipeline, evaluation: evaluation, oosPath: $0) }
        if let unknown = report.unknownLabelsSummary(limit: 10) { Console.warning("left out of every metric: \(unknown)") }
        guard report.count > 0 else { throw CLIFailure(message: "\(batch.source): no message has a label the model knows; nothing to measure") }
        if json {
            var o = report.json.objectValue ?? JSONObject()
            o["model_id"] = .string(loaded.id)
            o["data"] = .string(batch.source)
            o["confidence"] = evaluation.confidence?.json ?? .null
            var policy = evaluation.policy.json.objectValue ?? JSONObject()
            policy["policy"] = (try? JSONValueEncoder().encode(loaded.pipeline.effectivePolicy())) ?? .null
            o["policy"] = .object(policy)
            if let openSet { o["open_set"] = openSet.json }
            if let headsEvaluation {
                o["heads"] = .object(JSONObject(headsEvaluation.reports.map { name, e in
                    var r = e.report.json.objectValue ?? JSONObject()
                    r["policy"] = e.policy.json
                    return (name, .object(r))
                }))
                o["exact_match"] = ["messages": .number(JSONNumber(headsEvaluation.exactMessages)),
                                    "accuracy": JSONValue.double(headsEvaluation.exactMatch) ?? .null]
            }
            print(Output.json(.object(o)), terminator: "")
        } else {
            print("model \(loaded.id.prefix(16))… on \(batch.source) (\(batch.messages.count) messages\(report.unknownLabels.isEmpty ? "" : ", \(report.count) with labels it knows"))\n")
            print(report.text(digits: digits), terminator: "")
            if !noConfusion {
                print("\nconfusion matrix (rows: true label, columns: predicted):\n")
                print(report.confusionText(), terminator: "")
            }
            if !noConfidence, let confidence = evaluation.confidence {
                print("")
                print(confidence.text(), terminator: "")
            }
            print("\nthe model's confidence policy (\(loaded.pipeline.effectivePolicy().summary)):\n  \(evaluation.policy.text)")
            if let openSet {
                print("")
                print(openSet.text(), terminator: "")
            }
            if let headsEvaluation {
                for (name, e) in headsEvaluation.reports.dropFirst() {
                    print("\nhead \"\(name)\" (\(e.report.count) messages labelled for it):\n")
                    print(e.report.text(digits: digits), terminator: "")
                    if !noConfusion {
                        print("\nconfusion matrix (rows: true label, columns: predicted):\n")
                        print(e.report.confusionText(), terminator: "")
                    }
                    print("\nits confidence policy:\n  \(e.policy.text)")
                }
                print(String(format: "\nevery head right (exact match): %.4f of %d messages labelled for every head", headsEvaluation.exactMatch, headsEvaluation.exactMessages))
            }
        }
    }
}
