import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageLinear
import TriageModel
import TriageServer

struct Retrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrain the serving model with the agents' relabels and promote it only if a gate passes.",
        discussion: Help.prose("""
            Example:
              triage retrain --log predictions.sqlite --data corpora/demo/train.csv \\
                  --model models/demo.triage --trusted-key models/triage.public.pem \\
                  --key keys/private.pem --eval-data corpora/demo/test.csv --out \\
                  demo-next.triage

            The training data is --data plus the relabels in --log, the server's --db (the
            latest relabel of a message id wins; a base row with the same id is replaced by it;
            relabels of messages logged without text are reported, not guessed; a label --data
            does not have is a new queue: reported and left out, or trained with
            --allow-new-labels). The settings and the confidence policy's goal are --model's
            own. A seeded share of the relabels (--holdout) is held out: the candidate is
            trained without it (--candidate FILE keeps it, signed, e.g. for triage replay), then
            compared with --model on --eval-data (a frozen file) and on the held-out relabels,
            as triage promote does, and the gate (--gate) decides. When it passes, the model
            written to --out is fitted on --data plus all the relabels and signed, with the
            report beside it (--out.promotion.json); when it refuses, nothing is written
            (exit 4), unless --force, which writes it and says so in the report.
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The server's SQLite log, its --db (--db here reads training data from SQLite, as for train).", valueName: "file"))
    var log: String

    @OptionGroup var data: DataOptions

    @Option(name: .long, help: ArgumentHelp("The model serving now: its settings and policy goal are reused, and it is the champion.", valueName: "file"))
    var model: String

    @Option(name: .customLong("trusted-key"), help: ArgumentHelp("A public key (PEM) --model may be signed with; repeatable.", valueName: "file"))
    var trustedKeys: [String] = []

    @Option(name: .long, help: ArgumentHelp("The private signing key (PEM, mode 0600).", valueName: "file"))
    var key: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the promoted model (e.g. the file the server reloads from).", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Also write the candidate the gate judged (trained without the held-out relabels), signed, e.g. for triage replay.", valueName: "file"))
    var candidate: String?

    @Option(name: .customLong("eval-data"), help: ArgumentHelp("Frozen labelled messages both models are judged on (same format and column options as --data).", valueName: "file"))
    var evalData: String

    @Option(name: .long, help: ArgumentHelp("Rules on candidate - champion differences (see triage promote).", valueName: "rules"))
    var gate: String = PromotionGate.defaultText

    @Option(name: .long, help: ArgumentHelp("Share of the relabels held out to judge the candidate.", valueName: "fraction"))
    var holdout: Double = 0.2

    @Option(name: .long, help: ArgumentHelp("Seed of the held-out split and of the calibration folds.", valueName: "n"))
    var seed: UInt64 = 0

    @Flag(name: .customLong("allow-new-labels"), help: "Train relabels to labels --data does not have as new classes (new queues).")
    var allowNewLabels = false

    @Flag(name: .long, help: "Write the model even when the gate refuses it (the report says so).")
    var force = false

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if !data.isGiven { throw ValidationError("missing --data FILE: the base training data") }
        if !(0 ..< 1).contains(holdout) { throw ValidationError("--holdout must be a fraction in [0, 1), got \(holdout)") }
        do { _ = try PromotionGate(parsing: gate) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        runtime.apply()
        let gate = try PromotionGate(parsing: gate)
        let signingKey: SigningKey
        do { signingKey = try SigningKey(path: key) } catch { throw CLIFailure(message: "\(key): \(error)") }
        let champion = try Promote.loadModel(model, keys: trustedKeys)
        let base = try data.load().messages
        var frozenOptions = data
        frozenOptions.data = evalData
        frozenOptions.db = nil
        frozenOptions.sql = nil
        let frozen = try frozenOptions.load().messages
        var (relabels, withoutText) = ([LabeledMessage](), 0)
        do { (relabels, withoutText) = try FeedbackExport.relabels(database: log) } catch { throw CLIFailure(message: "\(log): \(error)") }
        if withoutText > 0 { Console.warning("\(withoutText) relabel(s) of messages logged without text (--no-store-text): not trained on") }
        let known = Set(base.compactMap(\.label))
        let newLabels = relabels.filter { !known.contains($0.label ?? "") }
        if !newLabels.isEmpty {
            let names = Set(newLabels.compactMap(\.label)).sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            if allowNewLabels {
                Console.warning("\(newLabels.count) relabel(s) to label(s) --data does not have (\(names)): trained as new classes (--allow-new-labels)")
            } else {
                Console.warning("\(newLabels.count) relabel(s) to label(s) --data does not have (\(names)): left out; --allow-new-labels trains them as new queues")
                relabels.removeAll { !known.contains($0.label ?? "") }
            }
        }
        guard !relabels.isEmpty else { throw CLIFailure(message: "\(log): no relabel to train on; the model stays as it is") }
        let relabelled = Set(relabels.map(\.id))
        let kept = base.filter { !relabelled.contains($0.id) }
        if kept.count < base.count { Console.info("\(base.count - kept.count) row(s) of --data replaced by their relabel") }
        // The held-out relabels: a seeded shuffle, the first share.
        var order = Array(relabels.indices)
        var generator = SeededGenerator(seed: seed)
        order.shuffle(using: &generator)
        let heldCount = relabels.count >= 2 ? Int((holdout * Double(relabels.count)).rounded()) : 0
        let held = order.prefix(heldCount).sorted().map { relabels[$0] }
        let trainedOn = order.dropFirst(heldCount).sorted().map { relabels[$0] }
        Console.info("\(relabels.count) relabel(s): \(trainedOn.count) trained on, \(held.count) held out to judge; base \(kept.count) messages")
        let judged = try fit(kept + trainedOn, champion: champion)
        if let candidate {
            try save(judged, to: candidate, messages: kept + trainedOn, champion: champion, signingKey: signingKey, frozen: frozen,
                     note: "the candidate judged by the gate: \(trainedOn.count) of \(relabels.count) relabels from \(log)")
        }
        var comparisons = [ModelComparison(name: "frozen evaluation \(evalData)", champion: champion.pipeline, candidate: judged, on: frozen,
                                           threads: runtime.threads)]
        if !held.isEmpty {
            comparisons.append(ModelComparison(name: "held-out relabels", champion: champion.pipeline, candidate: judged, on: held, threads: runtime.threads))
        }
        let report = PromotionReport(comparisons: comparisons, gate: gate, championID: champion.id, candidateID: "retrained without the held-out relabels")
        var output = report.json.objectValue ?? JSONObject()
        output["relabels"] = ["trained_on": .number(JSONNumber(trainedOn.count)), "held_out": .number(JSONNumber(held.count)),
                              "without_text": .number(JSONNumber(withoutText)), "new_labels": .number(JSONNumber(newLabels.count))]
        output["forced"] = .bool(!report.passed && force)
        var written: String?
        if report.passed || force {
            let final = try fit(kept + relabels, champion: champion)
            try save(final, to: out, messages: kept + relabels, champion: champion, signingKey: signingKey, frozen: frozen,
                     note: "\(relabels.count) relabels from \(log)")
            output["written"] = .string(out)
            try Output.write(Output.json(.object(output)), to: out + ".promotion.json")
            written = out
        }
        if json {
            print(Output.json(.object(output)), terminator: "")
        } else {
            print(report.text, terminator: "")
            if let written {
                print(report.passed ? "wrote \(written), fitted on --data and all \(relabels.count) relabels (report: \(written).promotion.json)"
                    : "wrote \(written) although the gate refused it (--force; the report says so)")
            } else {
                print("nothing written")
            }
        }
        if !report.passed && !force { throw ExitCode(4) }
    }

    /// Signs `pipeline` to `path`, measured on the frozen file as train --eval-data stores it.
    func save(_ pipeline: FittedPipeline, to path: String, messages: [LabeledMessage], champion: ModelArtifact.Loaded, signingKey: SigningKey,
              frozen: [LabeledMessage], note: String) throws {
        let evaluation = ModelEvaluation(pipeline, on: frozen, threads: runtime.threads)
        var metrics = evaluation.report.scores.filter { $0.key != "neg_log_loss" }
        if let loss = evaluation.report.logLoss { metrics["log_loss"] = loss }
        metrics["policy_coverage"] = evaluation.policy.coverage
        metrics["policy_precision"] = evaluation.policy.precision
        let provenance = Provenance(pipeline: pipeline, messages: messages, metrics: metrics,
                                    notes: ["weights": weights(champion).rawValue, "retrained_from": champion.id, "relabels": note,
                                            "metrics_measured_on": "\(evalData): \(frozen.count) messages, sha256 \(StableHash.messages(frozen))"])
        do {
            try ModelArtifact.save(pipeline, to: path, provenance: provenance, unsureThreshold: pipeline.effectivePolicy().threshold,
                                   signingKey: signingKey, weights: weights(champion))
        } catch { throw CLIFailure(message: "\(path): \(error)") }
    }

    /// How the champion's file stores its weights (the retrained model stores them the same way).
    func weights(_ champion: ModelArtifact.Loaded) -> WeightEncoding {
        champion.provenance.notes["weights"].flatMap(WeightEncoding.init(rawValue:)) ?? ModelArtifact.defaultWeights
    }

    /// `messages` fitted with the champion's settings and rules, weights rounded as its file stores them,
    /// and a confidence policy with the champion's goal chosen again on out-of-fold predictions
    /// (a policy set by hand is kept as it is).
    func fit(_ messages: [LabeledMessage], champion: ModelArtifact.Loaded) throws -> FittedPipeline {
        let settings = champion.pipeline.settings
        let weights = weights(champion)
        do {
            // The champion's rules and head come along: a retrained model routes by the same rules.
            let fit = try PipelineFit(messages: messages, rules: champion.pipeline.routing, head: champion.pipeline.head)
            var fitted = try fit.fit(settings, threads: runtime.threads).pipeline.withWeights(weights)
            let own = champion.pipeline.effectivePolicy()
            var policy = own
            if let evidence = own.evidence {
                let oof = try fit.outOfFold(settings, folds: evidence.folds, seed: seed, weights: weights, threads: runtime.threads)
                policy = try ConfidencePolicy.choose(oof, labels: fit.labels.classes, goal: own.goal, margin: own.margin, oosLabel: own.oosLabel,
                                                     calibrate: own.calibration.temperature != 1,
                                                     scope: own.classThresholds == nil ? .global : .perClass(minimum: ConfidencePolicy.Scope.defaultMinimum))
            }
            fitted = try fitted.withPolicy(policy)
            return fitted
        } catch { throw CLIFailure(message: "retraining failed: \(error)") }
    }
}
