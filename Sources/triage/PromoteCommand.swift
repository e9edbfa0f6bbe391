import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageModel

struct Promote: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a candidate model with the champion on frozen data and apply a promotion gate.",
        discussion: Help.prose("""
            Example:
              triage promote --champion models/demo.triage --candidate models/demo.triage \\
                  --trusted-key models/triage.public.pem --data corpora/demo/test.csv

            Both models predict the same labelled messages (those whose label both know); the
            report gives accuracy, macro- and weighted-F1, each label's F1 change, and McNemar's
            exact test on the messages one model gets right and the other wrong. The gate is a
            list of rules on candidate - champion differences: the default,
            "macro_f1>=-0.002,class_f1>=-0.05", lets macro-F1 fall by at most 0.002 and no
            label's F1 by more than 0.05 (metrics: accuracy, macro_f1, weighted_f1, class_f1 =
            the worst label's change; operators >=, >, <=, <). Exit 0 when the gate passes, 4
            when it refuses. --report FILE keeps the JSON report (e.g. beside the model).
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The model serving now.", valueName: "file"))
    var champion: String

    @Option(name: .long, help: ArgumentHelp("The model that would replace it.", valueName: "file"))
    var candidate: String

    @Option(name: .customLong("trusted-key"), help: ArgumentHelp("A public key (PEM) the models may be signed with; repeatable.", valueName: "file"))
    var trustedKeys: [String] = []

    @OptionGroup var data: DataOptions
    @OptionGroup var runtime: RuntimeOptions

    @Option(name: .long, help: ArgumentHelp("Rules on candidate - champion differences, comma-separated.", valueName: "rules"))
    var gate: String = PromotionGate.defaultText

    @Option(name: .long, help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file"))
    var report: String?

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if !data.isGiven { throw ValidationError("missing --data FILE: the frozen evaluation messages") }
        do { _ = try PromotionGate(parsing: gate) } catch { throw ValidationError("\(error)") }
    }

    static func loadModel(_ path: String, keys: [String]) throws -> ModelArtifact.Loaded {
        try ModelOptions.parse(["--model", path] + keys.flatMap { ["--trusted-key", $0] }).load()
    }

    func run() throws {
        runtime.apply()
        let gate = try PromotionGate(parsing: gate)
        let champion = try Self.loadModel(self.champion, keys: trustedKeys)
        let candidate = try Self.loadModel(self.candidate, keys: trustedKeys)
        let batch = try data.load()
        let comparison = ModelComparison(name: "\(batch.source)", champion: champion.pipeline, candidate: candidate.pipeline, on: batch.messages,
                                         threads: runtime.threads)
        let result = PromotionReport(comparisons: [comparison], gate: gate, championID: champion.id, candidateID: candidate.id)
        if let report { try Output.write(Output.json(result.json), to: report) }
        if json { print(Output.json(result.json), terminator: "") } else { print(result.text, terminator: "") }
        if !result.passed { throw ExitCode(4) }
    }
}
