import Foundation
import TriageArtifact
import TriageCore
import TriageData
import TriageLinear
import TriageModel

/// `triage-bench modelfile --train PATH --test PATH --out-dir DIR [--config FILE] [--prune T1,T2…]
///                         [--threads T]`
///
/// Fits the pipeline once (the recommended preset, or `--config`), then for each weight encoding
/// rounds the weights as the file stores them, measures test accuracy and log loss, and writes the
/// signed model file (payload version 3) to DIR/ENCODING.triage; also the same model in version 2
/// (float32 weights as base64 in JSON) to DIR/v2.triage. Prints one JSON object: per file its bytes
/// and metrics, the decoded weights' bytes, and the public key (DIR/public.pem) that verifies them.
/// With `--prune`, also the pipeline's first linear member fitted alone (DIR/lr-int8.triage: naive
/// Bayes, in the default vote, needs nearly every feature, so a vote prunes little) and pruned at
/// each threshold (`FittedPipeline.pruned`), as DIR/lr-int8-prune-T.triage, with the number of
/// features removed.
extension TriageBench {
    static func modelFile(_ o: Options) {
        guard let trainPath = o.string("train"), let testPath = o.string("test"), let dir = o.string("out-dir") else {
            fail("--train, --test and --out-dir are required")
        }
        let threads = Parallel.threadCount(o.int("threads"))
        var settings = PipelinePreset.recommended.settings
        if let config = o.string("config") {
            do {
                settings = try StrictJSONDecoder().decode(PipelineSettings.self, from: Array(try Data(contentsOf: URL(fileURLWithPath: config))))
            } catch { fail("\(config): \(error)") }
        }
        let train: [LabeledMessage], test: [LabeledMessage]
        do {
            train = try MessageReader.readCSV(path: trainPath, requireLabels: true).messages
            test = try MessageReader.readCSV(path: testPath, requireLabels: true).messages
        } catch { fail("\(error)") }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = SigningKey()
        do { try key.verifyingKey.pem.write(toFile: dir + "/public.pem", atomically: true, encoding: .utf8) } catch { fail("\(error)") }
        let clock = ContinuousClock()
        let start = clock.now
        let fitted: FittedPipeline
        do { fitted = try settings.fit(train, threads: threads) } catch { fail("fit: \(error)") }
        let fitSeconds = clock.now.durationSinceStart(start)
        progress("fitted in \(String(format: "%.1f", fitSeconds)) s: \(fitted.featureCount) features, \(fitted.labels.count) labels")
        let provenance = Provenance(pipeline: fitted, messages: train)
        var files: [String: JSONValue] = [:]
        func record(_ name: String, _ pipeline: FittedPipeline, bytes: [UInt8]) {
            let path = dir + "/\(name).triage"
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let report = ClassificationReport(pipeline, on: test, threads: threads)
            files[name] = ["path": .string(path), "bytes": .number(JSONNumber(bytes.count)),
                           "accuracy": JSONValue.double(report.accuracy) ?? .null, "log_loss": report.logLoss.flatMap { JSONValue.double($0) } ?? .null]
            progress("\(name): \(bytes.count) bytes, accuracy \(String(format: "%.4f", report.accuracy))")
        }
        do {
            record("v2", fitted, bytes: try ModelArtifact.encodeVersion2(fitted, provenance: provenance, signingKey: key))
            for encoding in WeightEncoding.allCases {
                let rounded = fitted.withWeights(encoding)
                record(encoding.rawValue, rounded, bytes: try ModelArtifact.encode(rounded, provenance: provenance, signingKey: key, weights: encoding))
            }
            let thresholds = (o.string("prune") ?? "").split(separator: ",")
            if !thresholds.isEmpty {
                var alone = settings
                if let vote = settings.clf.settings(as: VotingClassifier.self), let first = vote.estimators.first { alone.clf = first }
                let single: FittedPipeline
                do { single = try alone.fit(train, threads: threads) } catch { fail("fit: \(error)") }
                let singleProvenance = Provenance(pipeline: single, messages: train)
                let rounded = single.withWeights(.int8)
                record("lr-int8", rounded, bytes: try ModelArtifact.encode(rounded, provenance: singleProvenance, signingKey: key, weights: .int8))
                for text in thresholds {
                    guard let threshold = Double(text), let (pruned, removed) = single.pruned(threshold: threshold) else { fail("--prune \(text): cannot prune") }
                    let name = "lr-int8-prune-\(text)"
                    let prunedRounded = pruned.withWeights(.int8)
                    record(name, prunedRounded, bytes: try ModelArtifact.encode(prunedRounded, provenance: singleProvenance, signingKey: key, weights: .int8))
                    files[name]?.objectValue.map { var f = $0; f["features_removed"] = .number(JSONNumber(removed)); files[name] = .object(f) }
                }
            }
        } catch { fail("\(error)") }
        let weights = fitted.classifier.members.isEmpty ? [fitted.classifier] : fitted.classifier.members
        let weightCount = weights.compactMap { $0.model(as: FittedLinearModel.self) }.reduce(0) { $0 + $1.featureCount * $1.scoreCount }
        let out: JSONValue = [
            "benchmark": "modelfile", "train": .string(trainPath), "test": .string(testPath),
            "features": .number(JSONNumber(fitted.featureCount)), "labels": .number(JSONNumber(fitted.labels.count)),
            "decoded_weight_bytes": .number(JSONNumber(weightCount * 4)), "fit_seconds": JSONValue.double(fitSeconds) ?? .null,
            "public_key": .string(dir + "/public.pem"), "files": .object(JSONObject(files.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
        ]
        print(JSONWriter.string(out))
    }
}
