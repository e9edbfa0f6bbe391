import ArgumentParser
import Foundation
import TriageCore
import TriageModel

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a signed model on labelled messages: report and confusion matrix.",
        discussion: """
            Example:
              triage evaluate --model models/demo.triage.json --trusted-key models/demo.public.pem \\
                  --data corpora/demo/test.csv

            Labels the model does not know count as errors and are listed. --json prints the same
            data (per-class scores, averages, log loss, top-k accuracy, confusion matrix) as JSON.
            """
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

    func validate() throws {
        if !data.isGiven { throw ValidationError("missing --data FILE (or --db FILE --sql QUERY)") }
        if !(0 ... 10).contains(digits) { throw ValidationError("--digits must be between 0 and 10") }
    }

    func run() throws {
        runtime.apply()
        let loaded = try model.load()
        let batch = try data.load()
        let known = Set(loaded.pipeline.labels)
        let unknown = Dictionary(grouping: batch.messages.filter { !known.contains($0.label ?? "") }, by: { $0.label ?? "" })
        if !unknown.isEmpty {
            let list = unknown.keys.sorted().prefix(10).map { "\"\($0)\" (\(unknown[$0]?.count ?? 0))" }.joined(separator: ", ")
            Console.warning("\(unknown.values.reduce(0) { $0 + $1.count }) message(s) have labels the model does not know, counted as errors: \(list)")
        }
        let report = ClassificationReport(loaded.pipeline, on: batch.messages, threads: runtime.threads)
        if json {
            var o = report.json.objectValue ?? JSONObject()
            o["model_id"] = .string(loaded.id)
            o["data"] = .string(batch.source)
            o["unknown_labels"] = .object(JSONObject(unknown.keys.sorted().map { ($0, .number(JSONNumber(unknown[$0]?.count ?? 0))) }))
            print(Output.json(.object(o)), terminator: "")
        } else {
            print("model \(loaded.id.prefix(16))… on \(batch.source) (\(batch.messages.count) messages)\n")
            print(report.text(digits: digits), terminator: "")
            if !noConfusion {
                print("\nconfusion matrix (rows: true label, columns: predicted):\n")
                print(report.confusionText(), terminator: "")
            }
        }
    }
}
