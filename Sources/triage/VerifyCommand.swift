import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a model's signature, schema and golden probes.",
        discussion: Help.prose("""
            Example:
              triage verify --model models/demo.triage --trusted-key \\
                  models/triage.public.pem

            Exit 0 and a summary when the model would be served; exit 3 and the reason when it
            would be refused (wrong key, tampered bytes, invalid content, probes that predict
            differently on this machine).
            """)
    )

    @OptionGroup var model: ModelOptions

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let keys = try model.keys()
        let loaded: ModelArtifact.Loaded
        do { loaded = try ModelArtifact.load(path: model.model, trusted: keys, options: model.loadOptions) } catch {
            if json {
                print(Output.json(["ok": false, "model": .string(model.model), "error": .string(error.description)]), terminator: "")
            }
            throw CLIFailure(message: "\(model.model): refused: \(error)", code: 3)
        }
        if json {
            print(Output.json([
                "ok": true, "model": .string(model.model), "id": .string(loaded.id), "key_id": .string(loaded.keyId),
                "format_version": .number(JSONNumber(loaded.formatVersion)), "labels": .number(JSONNumber(loaded.pipeline.labels.count)),
                "probes": .number(JSONNumber(loaded.probes.count)), "probe_max_difference": JSONValue.double(loaded.probeMaxDifference) ?? .null,
            ]), terminator: "")
        } else {
            print("ok: \(model.model)")
            print("  id            \(loaded.id)")
            print("  signed by     \(loaded.keyId)")
            print("  format        triage-model v\(loaded.formatVersion)")
            print("  labels        \(loaded.pipeline.labels.count)")
            print("  golden probes \(loaded.probes.count) re-predicted, max difference \(loaded.probeMaxDifference)")
        }
    }
}
