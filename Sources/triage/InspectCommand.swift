import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageLinear
import TriageModel
import TriageText

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a model is and what it learned: provenance, labels, trees, top n-grams per label.",
        discussion: Help.prose("""
            Example:
              triage inspect --model models/demo.triage --trusted-key \\
                  models/triage.public.pem --terms 8

            The top n-grams of a label are those whose splits reduced its loss most (gain); the
            arrow says whether the n-gram's presence pushes towards (↑) or away from (↓) the label.
            Without a trusted key, pass --unverified to read a model whose signer is unknown: its
            content is still checked, but nothing vouches for who made it.
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The model artifact.", valueName: "file"))
    var model: String

    @Option(name: .customLong("trusted-key"), help: ArgumentHelp("Pinned public key(s) to verify the signature with.", valueName: "file"))
    var trustedKeys: [String] = []

    @Flag(name: .long, help: "Read the model without verifying its signature.")
    var unverified = false

    @Option(name: .long, help: ArgumentHelp("N-grams to list per label.", valueName: "n"))
    var terms: Int = 10

    @Option(name: .long, help: ArgumentHelp("Only these labels (repeatable).", valueName: "label"))
    var label: [String] = []

    @Flag(name: .long, help: "Print as JSON.")
    var json = false

    func validate() throws {
        if trustedKeys.isEmpty && !unverified && ProcessInfo.processInfo.environment["TRIAGE_TRUSTED_KEYS"] == nil {
            throw ValidationError("give --trusted-key FILE to verify the model, or --unverified to inspect it anyway")
        }
        if terms < 0 { throw ValidationError("--terms must be ≥ 0") }
    }

    func run() throws {
        let loaded: ModelArtifact.Loaded
        var verified = false
        if unverified && trustedKeys.isEmpty {
            var options = ModelArtifact.LoadOptions()
            options.measurePayloadParts = true
            do { loaded = try ModelArtifact.loadUnverified(path: model, options: options) } catch { throw CLIFailure(message: "\(model): \(error)") }
        } else {
            var options = try ModelOptions.parse(["--model", model] + trustedKeys.flatMap { ["--trusted-key", $0] })
            options.model = model
            loaded = try options.load(measuringParts: true)
            verified = true
        }
        let p = loaded.pipeline
        for l in label where !p.labels.contains(l) {
            throw CLIFailure(message: "--label \"\(l)\": the model has no such label (labels: \(p.labels.prefix(20).joined(separator: ", "))\(p.labels.count > 20 ? ", …" : ""))")
        }
        let top = p.topTerms(limit: terms).filter { label.isEmpty || label.contains($0.label) }
        let stats = p.treeStatistics
        let prov = loaded.provenance
        let settings = (try? JSONValueEncoder().encode(p.settings)) ?? .null
        if json {
            var o = JSONObject()
            o["model"] = .string(model)
            o["id"] = .string(loaded.id)
            o["key_id"] = .string(loaded.keyId)
            o["signature_verified"] = .bool(verified)
            o["format_version"] = .number(JSONNumber(loaded.formatVersion))
            o["created"] = loaded.created.map { .string($0) } ?? .null
            o["settings"] = settings
            o["provenance"] = (try? JSONValueEncoder().encode(prov)) ?? .null
            o["vocabulary"] = .number(JSONNumber(p.featureCount))
            o["head"] = .string(p.head)
            o["heads"] = .array(loaded.heads.heads.map { h in
                ["name": .string(h.head), "labels": .array(h.labels.map { .string($0) }), "classifier": .string(h.classifier.typeName)]
            })
            o["rules"] = p.routing.flatMap { try? JSONValueEncoder().encode($0.set) } ?? .null
            o["blocks"] = .array(p.blocks.map { ["name": .string($0.settings.name), "terms": .number(JSONNumber($0.featureCount))] })
            o["unsure_threshold"] = JSONValue.double(loaded.unsureThreshold) ?? .null
            o["confidence_policy"] = (try? JSONValueEncoder().encode(p.effectivePolicy())) ?? .null
            o["parts"] = .array(loaded.parts.map { ["name": .string($0.name), "bytes": .number(JSONNumber($0.bytes)), "what": .string($0.what)] })
            o["classifier"] = .string(p.classifier.typeName)
            if let stats {
                o["trees"] = [
                    "rounds": .number(JSONNumber(stats.rounds)), "trees": .number(JSONNumber(stats.trees)),
                    "leaves": .number(JSONNumber(stats.leaves)), "max_depth": .number(JSONNumber(stats.maxDepth)),
                    "terms_used": .number(JSONNumber(stats.termsUsed)),
                ]
            }
            if let m = p.classifier.model(as: FittedLinearModel.self) {
                o["linear"] = ["scores": .number(JSONNumber(m.scoreCount)), "iterations": .number(JSONNumber(m.iterations)),
                               "converged": .bool(m.converged), "temperature": JSONValue.double(m.temperature) ?? .null]
            }
            var labels = JSONObject()
            for (l, t) in top {
                labels[l] = [
                    "training_messages": .number(JSONNumber(prov.labelCounts[l] ?? 0)),
                    "top_terms": .array(t.map { ["term": .string($0.term), "gain": JSONValue.double($0.gain) ?? .null,
                                                 "direction": JSONValue.double($0.direction) ?? .null, "splits": .number(JSONNumber($0.splits))] }),
                ]
            }
            o["labels"] = .object(labels)
            print(Output.json(.object(o)), terminator: "")
            return
        }
        var lines: [String] = []
        lines.append("model         \(model)")
        lines.append("id            \(loaded.id)")
        lines.append("signed by     \(loaded.keyId)\(verified ? " (verified)" : " (NOT verified: --unverified)")")
        lines.append("format        triage-model v\(loaded.formatVersion)\(loaded.created.map { ", created \($0)" } ?? "")")
        lines.append("trained on    \(prov.rows) messages, data sha256 \(prov.dataSHA256.prefix(16))…")
        lines.append("triage        \(prov.triageVersion)\(prov.gitCommit.map { " (\($0.prefix(12)))" } ?? ""), \(prov.swiftVersion)")
        lines.append("stemmer       \(prov.stemmer ?? "none"); stop words \(prov.stopWordsSHA256.map { "sha256 \($0.prefix(16))…" } ?? "none")")
        if let cleaner = loaded.pipeline.cleaner {
            let s = cleaner.settings
            let parts = [("html", s.html), ("quotes", s.quotes), ("signature", s.signature), ("disclaimer", s.disclaimer)].filter(\.1).map(\.0)
            lines.append("clean         \(parts.isEmpty ? "nothing" : parts.joined(separator: ", ")); \(cleaner.patterns.count) mail patterns (\(s.languages?.joined(separator: ", ") ?? "every language")\(s.patterns.map { " + \($0)" } ?? "")), sha256 \(cleaner.patternsSHA256.prefix(16))…")
        } else {
            lines.append("clean         none (messages are classified as they come)")
        }
        lines.append("settings      \(JSONWriter.string(settings))")
        if !prov.metrics.isEmpty {
            lines.append("metrics       " + prov.metrics.keys.sorted().map { "\($0) \(String(format: "%.4f", prov.metrics[$0] ?? 0))" }.joined(separator: ", "))
        }
        for (k, v) in prov.notes.sorted(by: { $0.key < $1.key }) { lines.append("note          \(k): \(v)") }
        let ruleColumns = p.routing?.columnCount ?? 0
        let blockList = p.blocks.count == 1 && ruleColumns == 0 ? "" : " ("
            + (p.blocks.map { "\($0.settings.name) \($0.featureCount)" } + (ruleColumns > 0 ? ["rules \(ruleColumns)"] : [])).joined(separator: ", ") + ")"
        if loaded.heads.heads.count > 1 {
            lines.append("heads         " + loaded.heads.heads.enumerated().map { k, h in
                "\(h.head) (\(h.labels.count) labels" + (k == 0 ? "" : ", \(h.classifier.describe())") + ")"
            }.joined(separator: "; "))
        } else {
            lines.append("head          \(p.head)")
        }
        if let routing = p.routing {
            let overrides = routing.set.rules.filter { $0.mode == .override }
            lines.append("rules         \(routing.set.rules.count): \(overrides.count) override, \(routing.columnCount) feature; sha256 \(routing.sha256.prefix(16))…")
            for rule in routing.set.rules {
                let match = rule.words.map { "words \($0.count)\(rule.stem ? " (stems)" : "")" } ?? "regex"
                let effect = rule.mode == .override ? "→ \(rule.label ?? "")" + (rule.head.map { " (head \($0))" } ?? "") : "feature"
                lines.append("  rule        \(rule.name): \(rule.field.rawValue), \(match), \(effect)")
            }
        }
        if let stats {
            lines.append("vocabulary    \(p.featureCount) terms\(blockList), \(stats.termsUsed) used by the trees")
            lines.append(String(format: "trees         %d (%d rounds × %d), %d leaves (%.1f per tree), max depth %d",
                                stats.trees, stats.rounds, stats.rounds == 0 ? 0 : stats.trees / max(1, stats.rounds), stats.leaves, stats.meanLeaves, stats.maxDepth))
        } else {
            lines.append("vocabulary    \(p.featureCount) terms\(blockList)")
            lines.append("classifier    \(p.classifier.describe())")
            for member in p.classifier.members { lines.append("  member      \(member.describe())") }
        }
        lines.append("policy        \(p.effectivePolicy().summary)")
        lines.append("")
        lines.append("where the bytes go:")
        let width = loaded.parts.map(\.name.count).max() ?? 0
        for part in loaded.parts {
            let size = Output.grouped(part.bytes)
            lines.append("  " + part.name + String(repeating: " ", count: width - part.name.count) + "  "
                + String(repeating: " ", count: max(0, 13 - size.count)) + size + " bytes  " + part.what)
        }
        // Which columns of a weight matrix each linear model reads, and their bytes.
        let models = p.classifier.members.isEmpty ? [p.classifier] : p.classifier.members
        for (i, member) in models.enumerated() {
            guard let m = member.model(as: FittedLinearModel.self) else { continue }
            let who = p.classifier.members.isEmpty ? m.kind.rawValue : "member \(i) \(m.kind.rawValue)"
            let bytes = Output.grouped(m.featureCount * m.scoreCount * m.weights.encoding.bytesPerWeight)
            lines.append("    " + who + ": columns \(m.column)–\(m.column + m.scoreCount - 1) of a \(m.weights.rows) × \(m.weights.columns) "
                + "\(m.weights.encoding.rawValue) matrix, \(bytes) bytes")
        }
        lines.append("")
        let linear = stats == nil
        let whose: String
        whose = p.classifier.members.isEmpty ? "" : " (the \(p.classifier.representative.typeName) member's)"
        lines.append(linear ? "labels (\(p.labels.count)), training messages, and the n-grams with the largest weights\(whose) towards each label:"
                            : "labels (\(p.labels.count)), training messages, and top n-grams by gain (↑ towards the label, ↓ away):")
        for (l, t) in top {
            lines.append("")
            lines.append("\(l)  (\(prov.labelCounts[l] ?? 0) messages)")
            for term in t {
                let arrow = term.direction > 0.2 ? "↑" : (term.direction < -0.2 ? "↓" : "↕")
                let name = term.term.count >= 28 ? term.term : term.term + String(repeating: " ", count: 28 - term.term.count)
                lines.append(linear ? "  ↑ \(name) " + String(format: "weight %8.3f", term.gain)
                                    : "  \(arrow) \(name) " + String(format: "gain %9.3f  splits %d", term.gain, term.splits))
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
