import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageData
import TriageBoost
import TriageLinear
import TriageModel

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a pipeline on labelled messages and write a signed model.",
        discussion: Help.prose("""
            Example:
              triage train --data corpora/demo/train.csv --key keys/private.pem \\
                  --test-size 0.2 --out demo.triage
              triage train --preset talk --set clf.n_estimators=50 --data \\
                  corpora/demo/train.csv --key keys/private.pem --out \\
                  trees.triage

            Settings: the preset (default: recommended), then the steps a --config file names,
            then each --set; the summary prints the result and where it came from (triage train
            --show-config prints it alone). Every setting is checked before the data is read.
            With --test-size, a stratified part of the data is held out, the model is fitted
            on the rest and its held-out metrics are printed and stored in the artifact.
            Same data, settings and key give a byte-identical file (set SOURCE_DATE_EPOCH to
            record a creation time).
            """)
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var runtime: RuntimeOptions

    @Option(name: .long, help: ArgumentHelp("The private signing key (PEM, mode 0600; see triage keygen).", valueName: "file"))
    var key: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the signed model.", valueName: "file"))
    var out: String?

    @Option(name: .customLong("test-size"), help: ArgumentHelp("Hold out this fraction (stratified) to measure the model.", valueName: "fraction"))
    var testSize: Double?

    @Option(name: .customLong("eval-data"), help: ArgumentHelp("Measure the model on these labelled messages (same format and column options as --data); the metrics are stored in the artifact.", valueName: "file"))
    var evalData: String?

    @Option(name: .long, help: ArgumentHelp("Seed of the held-out split and of the calibration folds.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(name: .customLong("unsure-threshold"), help: ArgumentHelp("Predictions whose (calibrated) probability is below this are unsure, set by hand (default 0.5 without a target; the server may override).", valueName: "p"))
    var unsureThreshold: Double?

    @Option(name: .customLong("target-precision"), help: ArgumentHelp("Choose the unsure threshold from out-of-fold predictions: the most messages routed whose routed ones are at least this share right.", valueName: "P"))
    var targetPrecision: Double?

    @Option(name: .customLong("target-coverage"), help: ArgumentHelp("Choose the unsure threshold from out-of-fold predictions: route this share of messages, the most confident.", valueName: "C"))
    var targetCoverage: Double?

    @Option(name: .customLong("ambiguity-margin"), help: ArgumentHelp("Also unsure (\"ambiguous\") when the two most probable labels are closer than this.", valueName: "m"))
    var ambiguityMargin: Double?

    @Option(name: .customLong("oos-label"), help: ArgumentHelp("The label of out-of-scope examples in the data: learned from, never routed (predictions of it are unsure, \"out_of_scope\").", valueName: "name"))
    var oosLabel: String?

    @Flag(name: .customLong("per-class-thresholds"), help: "With --target-precision: each label predicted at least 50 times out of fold gets the threshold that meets the target on its own predictions; the others keep the global one.")
    var perClassThresholds = false

    @Option(name: .customLong("calibration-folds"), help: ArgumentHelp("Folds of the out-of-fold predictions the calibration and the policy are chosen from (0: neither; the model's probabilities as they are).", valueName: "k"))
    var calibrationFolds: Int = 5

    @Option(name: .customLong("small-classes"), help: ArgumentHelp("With --test-size: a class too small to split is an 'error' or is 'drop'ped (reported).", valueName: "policy"))
    var smallClasses: SmallClassPolicy = .error

    @Option(name: .long, help: ArgumentHelp("How the model file stores linear weights: int8 (a byte each and a scale per label; the default), float16, or float32 (exact). The metrics are measured on the stored weights.", valueName: "encoding"))
    var weights: WeightEncoding = ModelArtifact.defaultWeights

    @Option(name: .long, help: ArgumentHelp("Drop the features whose every linear weight is below this fraction of the largest weight of its label (e.g. 0.004: the weights int8 rounds to 0); the pruned model is what is measured and saved.", valueName: "fraction"))
    var prune: Double?

    @Option(name: .long, help: ArgumentHelp("A rules file (JSON; README \"Rules\"): its feature rules become columns the model learns weights for, its override rules decide the label of the messages they match. Signed into the model.", valueName: "file"))
    var rules: String?

    @Flag(name: .customLong("rules-only"), help: "With --rules: a model of rules alone — its override rules decide, every other message is unsure (\"no_rule\"). The classifier is a dummy that reads no feature: the labels' frequencies in --data, or with no --data the override rules' labels, all equally likely.")
    var rulesOnly = false

    @Flag(name: .customLong("show-config"), help: "Print the resolved settings as JSON and exit.")
    var showConfig = false

    @Flag(name: .long, help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        if let testSize, !(testSize > 0 && testSize < 1) { throw ValidationError("--test-size must be a fraction in (0, 1), got \(testSize)") }
        if testSize != nil && evalData != nil { throw ValidationError("give --test-size or --eval-data, not both") }
        if let unsureThreshold, !(0 ... 1).contains(unsureThreshold) { throw ValidationError("--unsure-threshold must be in [0, 1]") }
        if let targetPrecision, !(targetPrecision > 0 && targetPrecision <= 1) { throw ValidationError("--target-precision must be in (0, 1], got \(targetPrecision)") }
        if let targetCoverage, !(targetCoverage > 0 && targetCoverage <= 1) { throw ValidationError("--target-coverage must be in (0, 1], got \(targetCoverage)") }
        if let ambiguityMargin, !(0 ... 1).contains(ambiguityMargin) { throw ValidationError("--ambiguity-margin must be in [0, 1]") }
        if [unsureThreshold != nil, targetPrecision != nil, targetCoverage != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --unsure-threshold, --target-precision and --target-coverage")
        }
        if calibrationFolds == 1 || calibrationFolds < 0 { throw ValidationError("--calibration-folds must be 0 (none) or at least 2, got \(calibrationFolds)") }
        if calibrationFolds == 0 && (targetPrecision != nil || targetCoverage != nil) {
            throw ValidationError("--target-precision and --target-coverage choose from out-of-fold predictions: they need --calibration-folds ≥ 2")
        }
        if let oosLabel, oosLabel.isEmpty { throw ValidationError("--oos-label must not be empty") }
        if perClassThresholds && targetPrecision == nil { throw ValidationError("--per-class-thresholds needs --target-precision") }
        if let prune, !(prune > 0 && prune < 1) { throw ValidationError("--prune must be a fraction in (0, 1), got \(prune)") }
        if rulesOnly && rules == nil { throw ValidationError("--rules-only needs --rules FILE") }
        if rulesOnly && (targetPrecision != nil || targetCoverage != nil || perClassThresholds || prune != nil || oosLabel != nil) {
            throw ValidationError("--rules-only: the rules decide, so there is no threshold to choose and nothing to prune (drop --target-precision, --target-coverage, --per-class-thresholds, --prune and --oos-label)")
        }
        if rulesOnly && !data.isGiven && testSize != nil { throw ValidationError("--test-size holds out part of --data: give --data, or measure with --eval-data") }
        if !showConfig {
            if !data.isGiven && !rulesOnly { throw ValidationError("missing --data FILE (or --db FILE --sql QUERY)") }
            if key == nil { throw ValidationError("missing --key FILE: the private key that signs the model (create one with triage keygen)") }
            if out == nil { throw ValidationError("missing --out FILE: where to write the model") }
        }
    }

    func run() throws {
        runtime.apply()
        var settings = try pipeline.settings(signingKey: key)
        if rulesOnly {
            // A small word vocabulary (the dummy reads none of it) and the rules' own clean step.
            var plain = PipelineSettings()
            plain.clean = settings.clean
            plain.clf = .dummy(DummyClassifier(strategy: data.isGiven ? "prior" : "uniform"))
            settings = plain
        }
        if showConfig {
            print(Output.json((try? JSONValueEncoder().encode(settings)) ?? .null), terminator: "")
            return
        }
        guard let key, let out else { return }
        // Read the key first: a wrong key path should not cost a training run.
        let signingKey: SigningKey
        do { signingKey = try SigningKey(path: key) } catch { throw CLIFailure(message: "\(key): \(error)") }
        // Per-head classifier settings (--set clf@HEAD.…), checked before the data is read.
        let headClassifiers = try pipeline.headClassifiers(base: settings)
        if !headClassifiers.isEmpty && data.labelColumns.count < 2 {
            throw CLIFailure(message: "--set clf@HEAD.…: per-head classifier settings are for a model of several heads (give --label-column twice or more)", code: 2)
        }
        // The rules file, checked before the data is read.
        let modelRules = try rules.map { path throws -> ModelRules in
            let matcher = try RulesTestCommand.loadRules(path)
            do { return try ModelRules(matcher.set) } catch { throw CLIFailure(message: "\(path): \(error)", code: 2) }
        } ?? pipeline.configFromRules(signingKey: key)
        if rulesOnly, let modelRules, let path = rules, !modelRules.featureRules.isEmpty {
            let names = modelRules.featureRules.map { "\"\(modelRules.set.rules[$0].name)\"" }.joined(separator: ", ")
            throw CLIFailure(message: "\(path): --rules-only: feature rules (\(names)) need a learned model; drop --rules-only, or make them overrides", code: 2)
        }
        let batch = data.isGiven ? try data.loadHeads() : Self.rulesAsMessages(modelRules, path: rules ?? "")
        if !data.isGiven, let path = rules {
            let labels = Set(batch.messages.compactMap(\.label))
            guard labels.count >= 2 else {
                throw CLIFailure(message: "\(path): --rules-only without --data: the override rules name \(labels.count) label\(labels.count == 1 ? "" : "s") (\(labels.sorted().joined(separator: ", "))); a model needs at least 2 (or give --data)", code: 2)
            }
        }
        var training = batch.messages
        var heldOut: [LabeledMessage] = []
        if let testSize {
            let labels = LabelEncoder(fitting: training)
            do {
                let split = try StratifiedSplit.trainTest(labels: labels.encode(training), labelNames: labels.classes, testSize: testSize,
                                                          seed: seed, smallClasses: smallClasses)
                for d in split.dropped { Console.warning("class \"\(d.label)\" has \(d.rows.count) row(s), too few to split: dropped (--small-classes drop)") }
                heldOut = split.test.map { training[$0] }
                training = split.train.map { training[$0] }
            } catch { throw CLIFailure(message: "--test-size: \(error)") }
        }
        var measuredOn = heldOut.isEmpty ? nil : "held out \(heldOut.count) messages (test_size \(testSize ?? 0), seed \(seed))"
        if let evalData {
            var options = data
            options.data = evalData
            options.db = nil
            options.sql = nil
            heldOut = try options.loadHeads().messages
            measuredOn = "\(evalData): \(heldOut.count) messages, sha256 \(StableHash.messages(heldOut))"
        }
        if let oosLabel, !training.contains(where: { $0.label == oosLabel }) {
            let present = LabelEncoder(fitting: training).classes
            throw CLIFailure(message: "\(PolicyError.unknownOOSLabel(oosLabel, present: present))")
        }
        Console.info("training on \(training.count) messages from \(batch.source)\(heldOut.isEmpty ? "" : ", measuring on \(heldOut.count)")")
        let clock = ContinuousClock()
        let start = clock.now
        var fitted: FittedPipeline
        // With several --label-column: the heads after the first (sharing `fitted`'s features).
        var otherHeads: [FittedPipeline] = []
        let dataHash: String
        let fit: PipelineFit
        do {
            try settings.validate()
            fit = try PipelineFit(messages: training, stopWordDirectories: pipeline.stopWordDirectories, rules: modelRules, head: data.labelColumn,
                                  otherHeads: Array(data.labelColumns.dropFirst()))
            dataHash = fit.dataHash
            if fit.otherHeads.isEmpty {
                fitted = try fit.fit(settings, threads: runtime.threads).pipeline
            } else {
                let heads = try fit.fitHeads(settings, classifiers: headClassifiers, threads: runtime.threads)
                fitted = heads.primary
                otherHeads = Array(heads.heads.dropFirst())
            }
        } catch {
            if case .rules = error, let rules { throw CLIFailure(message: "\(rules): \(error)", code: 2) }
            throw CLIFailure(message: "training failed: \(error)")
        }
        var pruneNote: String?
        if prune != nil && !otherHeads.isEmpty {
            throw CLIFailure(message: "--prune with several label heads: the heads share their features, and pruning by one head's weights would take features from the others; drop --prune", code: 2)
        }
        if let prune {
            guard let (pruned, removed) = fitted.pruned(threshold: prune) else {
                throw CLIFailure(message: "--prune needs a linear classifier (or a vote of linear ones) and no fixed vocabulary; \(fitted.classifier.typeName) has no weights to prune")
            }
            pruneNote = "\(removed) of \(fitted.featureCount) features below \(prune) of their label's largest weight"
            Console.info("pruned \(pruneNote ?? "")")
            fitted = pruned
        }
        // Rounded as the file stores them, before anything is measured: the metrics, the
        // probes and the file all see the same weights.
        fitted = fitted.withWeights(weights)
        otherHeads = otherHeads.map { $0.withWeights(weights) }
        let policy = rulesOnly ? ConfidencePolicy(goal: .manual(unsureThreshold ?? 0.5), threshold: unsureThreshold ?? 0.5, margin: ambiguityMargin, oosLabel: nil)
            : try choosePolicy(fit: fit, settings: settings)
        do { fitted = try fitted.withPolicy(policy) } catch { throw CLIFailure(message: "\(error)") }
        Console.info("confidence policy: \(policy.summary)")
        let fitSeconds = (clock.now - start).seconds
        var metrics: [String: Double] = [:]
        var report: ClassificationReport?
        var evaluation: ModelEvaluation?
        if !heldOut.isEmpty {
            let e = ModelEvaluation(fitted, on: heldOut, threads: runtime.threads)
            let r = e.report
            evaluation = e
            report = r
            metrics = r.scores.filter { $0.key != "neg_log_loss" }
            if let loss = r.logLoss { metrics["log_loss"] = loss }
            if let c = e.confidence {
                metrics["ece"] = c.ece
                metrics["brier"] = c.brier
            }
            metrics["policy_coverage"] = e.policy.coverage
            metrics["policy_precision"] = e.policy.precision
        }
        // Each later head on the held-out messages that have its label.
        var headReports: [(name: String, report: ClassificationReport)] = []
        if !heldOut.isEmpty {
            for (k, head) in otherHeads.enumerated() {
                let own = heldOut.compactMap { m -> LabeledMessage? in
                    guard k < m.otherLabels.count, let label = m.otherLabels[k] else { return nil }
                    return LabeledMessage(id: m.id, subject: m.subject, body: m.body, label: label, line: m.line)
                }
                guard !own.isEmpty else { continue }
                let r = ModelEvaluation(head, on: own, threads: runtime.threads).report
                headReports.append((head.head, r))
                for (name, value) in r.scores where name != "neg_log_loss" { metrics["\(name)@\(head.head)"] = value }
            }
        }
        var notes = measuredOn.map { ["metrics_measured_on": $0] } ?? [:]
        notes["weights"] = weights.rawValue
        if let pruneNote { notes["pruned"] = pruneNote }
        let provenance = Provenance(pipeline: fitted, messages: training, dataSHA256: dataHash, metrics: metrics, notes: notes)
        do {
            // The later heads: uncalibrated, the same hand-set threshold (their own policies from
            // out-of-fold predictions are still to come).
            let manual = ConfidencePolicy(goal: .manual(unsureThreshold ?? 0.5), threshold: unsureThreshold ?? 0.5, margin: ambiguityMargin, oosLabel: nil)
            otherHeads = try otherHeads.map { h throws -> FittedPipeline in
                do { return try h.withPolicy(manual) } catch { throw CLIFailure(message: "\(error)") }
            }
            try ModelArtifact.save(fitted, to: out, provenance: provenance, unsureThreshold: policy.threshold, signingKey: signingKey,
                                   weights: weights, otherHeads: otherHeads)
        } catch { throw CLIFailure(message: "\(error)") }
        let summary = Summary(pipeline: fitted, settings: settings, origin: rulesOnly ? "rules only (--rules-only)" : pipeline.origin, messages: training.count, fitSeconds: fitSeconds,
                              out: out, keyId: signingKey.verifyingKey.id)
        if json {
            var o = summary.json
            o["confidence_policy"] = (try? JSONValueEncoder().encode(policy)) ?? .null
            if let report, var e = report.json.objectValue {
                e["confidence"] = evaluation?.confidence?.json ?? .null
                e["policy"] = evaluation?.policy.json ?? .null
                o["evaluation"] = .object(e)
                if !headReports.isEmpty {
                    o["evaluation_heads"] = .object(JSONObject(headReports.map { ($0.name, $0.report.json) }))
                }
            }
            print(Output.json(.object(o)), terminator: "")
        } else {
            print(summary.text, terminator: "")
            print("policy       \(policy.summary)")
            if let report {
                print("\nevaluation on \(measuredOn ?? "held-out data"):\n")
                print(report.text(), terminator: "")
                if let c = evaluation?.confidence {
                    print(String(format: "\ncalibration: ECE (15 bins) %.4f, Brier %.4f", c.ece, c.brier))
                }
                if let p = evaluation?.policy { print("confidence policy: \(p.text)") }
                for (name, r) in headReports {
                    print("\nhead \"\(name)\" on the same messages (those labelled for it, \(r.perClass.reduce(0) { $0 + $1.support }) of them):\n")
                    print(r.text(), terminator: "")
                }
            }
        }
    }

    /// A rules-only model without data: its vocabulary and labels from the override rules'
    /// own phrases, one message per phrase.
    static func rulesAsMessages(_ rules: ModelRules?, path: String) -> MessageBatch {
        var messages: [LabeledMessage] = []
        for rule in rules?.set.rules ?? [] where rule.mode == .override {
            for phrase in rule.words ?? [rule.regex ?? rule.name] {
                messages.append(LabeledMessage(id: "\(rule.name)-\(messages.count + 1)", subject: "", body: phrase, label: rule.label, line: messages.count + 1))
            }
        }
        return MessageBatch(messages: messages, skipped: [], source: "\(path) (the override rules' phrases)")
    }

    /// The confidence policy: from out-of-fold predictions of the same settings on the training
    /// rows (calibration, then the threshold for the target), or set by hand without folds. The
    /// fold models are rounded to the saved weight encoding but not pruned: `--prune` drops
    /// only near-zero weights of the final model, after the calibration was fitted.
    func choosePolicy(fit: PipelineFit, settings: PipelineSettings) throws -> ConfidencePolicy {
        let goal: ConfidencePolicy.Goal = targetPrecision.map { .precision($0) } ?? targetCoverage.map { .coverage($0) } ?? .manual(unsureThreshold ?? 0.5)
        guard calibrationFolds >= 2 else {
            return ConfidencePolicy(goal: goal, threshold: goal.value, margin: ambiguityMargin, oosLabel: oosLabel)
        }
        Console.info("out-of-fold predictions (\(calibrationFolds) folds) for the calibration and the confidence policy")
        // Too little data for the folds: a threshold set by hand still works uncalibrated; a
        // target needs the evidence.
        func uncalibrated(_ why: String) throws -> ConfidencePolicy {
            if case .manual = goal {
                Console.warning("\(why): the model is not calibrated and its policy is the threshold \(goal.value) (--calibration-folds 0 does the same without this warning)")
                return ConfidencePolicy(goal: goal, threshold: goal.value, margin: ambiguityMargin, oosLabel: oosLabel)
            }
            throw CLIFailure(message: "\(why); --target-precision and --target-coverage need them")
        }
        let oof: OutOfFold
        do {
            oof = try fit.outOfFold(settings, folds: calibrationFolds, seed: seed, weights: weights, threads: runtime.threads)
        } catch { return try uncalibrated("no out-of-fold predictions (\(error))") }
        for s in oof.skipped {
            Console.warning("class \"\(s.label)\" has \(s.rows) row(s), fewer than --calibration-folds \(calibrationFolds): no out-of-fold prediction for it")
        }
        if oof.rows.isEmpty { return try uncalibrated("no class has --calibration-folds \(calibrationFolds) rows: no out-of-fold predictions") }
        do {
            return try ConfidencePolicy.choose(oof, labels: fit.labels.classes, goal: goal, margin: ambiguityMargin, oosLabel: oosLabel,
                                               scope: perClassThresholds ? .perClass(minimum: ConfidencePolicy.Scope.defaultMinimum) : .global)
        } catch { throw CLIFailure(message: "\(error)") }
    }

    struct Summary {
        let pipeline: FittedPipeline
        let settings: PipelineSettings
        let origin: String
        let messages: Int
        let fitSeconds: Double
        let out: String
        let keyId: String

        var text: String {
            let blocks = pipeline.blocks.count == 1 ? "" : " (" + pipeline.blocks.map { "\($0.settings.name) \($0.featureCount)" }.joined(separator: ", ") + ")"
            return """
                model        \(out)
                labels       \(pipeline.labels.count)
                messages     \(messages)
                vocabulary   \(pipeline.featureCount) terms\(blocks)
                classifier   \(pipeline.classifier.describe())
                fit time     \(fitSeconds.humanDuration)
                signed by    \(keyId)
                settings     \(origin): \(settingsJSON.map { JSONWriter.string($0) } ?? "?")

                """
        }

        var json: JSONObject {
            var o = JSONObject()
            o["model"] = .string(out)
            o["labels"] = .array(pipeline.labels.map { .string($0) })
            o["messages"] = .number(JSONNumber(messages))
            o["vocabulary"] = .number(JSONNumber(pipeline.featureCount))
            o["classifier"] = .string(pipeline.classifier.typeName)
            if pipeline.classifier.model is FittedGradientBoosting, let t = pipeline.treeStatistics {
                o["rounds"] = .number(JSONNumber(t.rounds))
                o["trees"] = .number(JSONNumber(t.trees))
                o["leaves"] = .number(JSONNumber(t.leaves))
            }
            if let m = pipeline.classifier.model(as: FittedLinearModel.self) {
                o["iterations"] = .number(JSONNumber(m.iterations))
                o["converged"] = .bool(m.converged)
            }
            o["fit_seconds"] = JSONValue.double(fitSeconds) ?? .null
            o["key_id"] = .string(keyId)
            o["settings"] = settingsJSON ?? .null
            o["settings_from"] = .string(origin)
            return o
        }

        var settingsJSON: JSONValue? { try? JSONValueEncoder().encode(settings) }
    }
}

extension SmallClassPolicy: ExpressibleByArgument {}
