import ArgumentParser
import Foundation
import TriageCore
import TriageModel

struct AuditLabels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-labels",
        abstract: "Rank training rows whose label looks wrong, before training on them.",
        discussion: Help.prose("""
            Example:
              triage audit-labels --data corpora/demo/train.csv --top 10

            The settings (as train takes them: preset, --config, --set) are fitted on --folds
            stratified folds; each row is predicted by the fold that did not see it. Confident
            learning (Northcutt, Jiang & Chuang, JAIR 2021) then flags the rows whose label
            those predictions contradict: each label's threshold is the mean probability of it
            over its own rows; the rows confidently placed in another label are counted, the
            counts scaled to the label's size estimate how many of its rows belong elsewhere,
            and that many rows, the most contradicted, are flagged (never one whose most
            probable label is its own). Flagged rows are listed least self-confident first
            (the probability of their own label), with the label suggested (the most probable).
            Labels with fewer rows than folds are not audited (listed). --json prints every
            flagged row, the per-label thresholds and estimated noise; --top limits the text.
            """)
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var runtime: RuntimeOptions

    @Option(name: .long, help: ArgumentHelp("Folds of the out-of-fold predictions.", valueName: "k"))
    var folds: Int = 5

    @Option(name: .long, help: ArgumentHelp("Seed of the folds.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Flagged rows shown in the text report (0: all).", valueName: "n"))
    var top: Int = 25

    @Flag(name: .long, help: "Print the audit as JSON (every flagged row).")
    var json = false

    func validate() throws {
        if !data.isGiven { throw ValidationError("missing --data FILE (or --db FILE --sql QUERY)") }
        if folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
        if top < 0 { throw ValidationError("--top must be 0 (all) or more, got \(top)") }
    }

    func run() throws {
        runtime.apply()
        let settings = try pipeline.settings()
        let batch = try data.load()
        let messages = batch.messages
        Console.info("auditing \(messages.count) messages from \(batch.source): \(folds)-fold out-of-fold predictions (\(pipeline.origin))")
        let fit: PipelineFit
        let oof: OutOfFold
        do {
            try settings.validate()
            fit = try PipelineFit(messages: messages, stopWordDirectories: pipeline.stopWordDirectories)
            oof = try fit.outOfFold(settings, folds: folds, seed: seed, threads: runtime.threads)
        } catch {
            throw CLIFailure(message: "out-of-fold predictions failed: \(error)")
        }
        for s in oof.skipped { Console.warning("label \"\(s.label)\" has \(s.rows) row(s), fewer than the \(folds) folds: not audited") }
        guard !oof.rows.isEmpty else { throw CLIFailure(message: "\(batch.source): every label has fewer rows than the \(folds) folds; nothing to audit") }
        let names = fit.labels.classes
        let audit = LabelAudit(oof, classCount: names.count)
        if json {
            print(Output.json(Self.json(audit, messages: messages, labels: names, source: batch.source, folds: folds, seed: seed)), terminator: "")
        } else {
            print(Self.text(audit, messages: messages, labels: names, source: batch.source, top: top), terminator: "")
        }
    }

    static func json(_ audit: LabelAudit, messages: [LabeledMessage], labels: [String], source: String, folds: Int, seed: UInt64) -> JSONValue {
        func num(_ x: Double) -> JSONValue { JSONValue.double(x) ?? .null }
        return [
            "data": .string(source), "rows": .number(JSONNumber(messages.count)), "audited": .number(JSONNumber(audit.audited)),
            "folds": .number(JSONNumber(folds)), "seed": .number(JSONNumber(Int(seed))),
            "flagged": .number(JSONNumber(audit.suspects.count)), "estimated_noise": num(audit.estimatedNoise),
            "suspects": .array(audit.suspects.enumerated().map { rank, s in
                [
                    "rank": .number(JSONNumber(rank + 1)), "id": .string(messages[s.row].id), "line": .number(JSONNumber(messages[s.row].line)),
                    "label": .string(labels[s.label]), "suggested": .string(labels[s.suggested]),
                    "self_confidence": num(s.selfConfidence), "suggested_probability": num(s.suggestedProbability),
                ]
            }),
            "labels": .array(audit.labels.map { l in
                [
                    "label": .string(labels[l.label]), "rows": .number(JSONNumber(l.rows)), "threshold": num(l.threshold),
                    "estimated_noise": num(l.estimatedNoise), "flagged": .number(JSONNumber(l.flagged)),
                ]
            }),
        ]
    }

    static func text(_ audit: LabelAudit, messages: [LabeledMessage], labels: [String], source: String, top: Int) -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", 100 * x) }
        var lines = [
            "\(source): \(audit.audited) rows audited, \(audit.suspects.count) flagged (\(pct(Double(audit.suspects.count) / Double(max(audit.audited, 1))))); "
                + "estimated share of wrong labels \(pct(audit.estimatedNoise))",
        ]
        if !audit.suspects.isEmpty {
            let shown = top == 0 ? audit.suspects[...] : audit.suspects.prefix(top)
            lines += ["", "flagged, least self-confident first\(shown.count < audit.suspects.count ? " (\(shown.count) of \(audit.suspects.count); --top 0 for all)" : ""):",
                      "  rank  line  id  label → suggested  (p label, p suggested)  text"]
            for (rank, s) in shown.enumerated() {
                let m = messages[s.row]
                var text = (m.subject.isEmpty ? m.body : m.subject + " — " + m.body).replacingOccurrences(of: "\n", with: " ")
                if text.count > 60 { text = String(text.prefix(59)) + "…" }
                lines.append(String(format: "  %4d  %4d  ", rank + 1, m.line) + "\(m.id)  \(labels[s.label]) → \(labels[s.suggested])  "
                    + String(format: "(%.3f, %.3f)  ", s.selfConfidence, s.suggestedProbability) + text)
            }
        }
        let noisy = audit.labels.filter { $0.estimatedNoise > 0 }.sorted { $0.estimatedNoise != $1.estimatedNoise ? $0.estimatedNoise > $1.estimatedNoise : $0.label < $1.label }
        if !noisy.isEmpty {
            lines += ["", "labels with the most estimated noise (share of their rows that belong elsewhere):"]
            for l in noisy.prefix(10) {
                lines.append("  \(labels[l.label]): \(pct(l.estimatedNoise)) of \(l.rows) rows, \(l.flagged) flagged (threshold \(String(format: "%.3f", l.threshold)))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
