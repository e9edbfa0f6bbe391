import Foundation
import Testing
import TriageCore
import TriageData

@Suite("triage command line", .serialized)
struct CLITests {
    func workspace() throws -> Workspace { try Workspace.shared.get() }

    @Test func keygenWritesAPrivateKeyOnlyTheOwnerCanRead() throws {
        let w = try workspace()
        let attributes = try FileManager.default.attributesOfItem(atPath: w.privateKey)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let again = try CLI.run(["keygen", "--out", URL(fileURLWithPath: w.privateKey).deletingLastPathComponent().path])
        #expect(again.status == 1 && again.stderr.contains("exist"), "\(again.stderr)")
    }

    @Test func trainEvaluatePredictInspectVerifyRoundTrip() throws {
        let w = try workspace()
        // evaluate: scikit-learn's report layout and a confusion matrix.
        let evaluation = try CLI.run(["evaluate", "--model", w.model, "--trusted-key", w.publicKey, "--data", CLI.demoTest])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.contains("precision    recall  f1-score   support"))
        #expect(evaluation.stdout.contains("confusion matrix"))
        // …and how far its confidence can be trusted.
        #expect(evaluation.stdout.contains("ECE (15 bins)") && evaluation.stdout.contains("risk–coverage"))
        let json = try CLI.run(["evaluate", "--model", w.model, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--json"])
        let report = try JSONParser.parse(json.stdout)
        let accuracy = try #require(report["accuracy"]?.numberValue?.doubleValue)
        #expect(accuracy > 0.5, "demo accuracy \(accuracy)")
        let confidence = try #require(report["confidence"])
        #expect(confidence["accuracy"]?.numberValue?.doubleValue == accuracy)
        #expect(confidence["reliability"]?.arrayValue?.count == 15 && confidence["risk_coverage"]?.arrayValue?.count == 10)
        #expect(confidence["brier"]?.numberValue != nil && confidence["coverage_at_precision"]?["0.95"] != nil)

        // predict: JSON Lines in, one line out per message, ids kept.
        let input = """
            {"id": "a1", "subject": "Card stolen", "body": "Someone took my wallet, please block my card"}
            {"id": 7, "body": "The app shows an error when I log in"}

            {"subject": "", "text": "How do I open a savings account?"}
            """
        let predicted = try CLI.run(["predict", "--model", w.model, "--trusted-key", w.publicKey, "--top", "2", "--explain", "3"], input: input)
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let lines = predicted.stdout.split(separator: "\n").map { try? JSONParser.parse(String($0)) }
        #expect(lines.count == 3)
        #expect(lines.map { $0?["id"]?.stringValue } == ["a1", "7", "line-4"])
        for line in lines {
            #expect(line?["top"]?.arrayValue?.count == 2)
            #expect(line?["category"]?.stringValue == line?["top"]?.arrayValue?.first?["category"]?.stringValue)
            #expect(line?["explanation"]?.arrayValue?.isEmpty == false)
            #expect(line?["unsure"]?.boolValue != nil)
        }
        let single = try CLI.run(["predict", "--model", w.model, "--trusted-key", w.publicKey, "--subject", "Lost card", "--body", "I lost my card yesterday"])
        #expect(single.status == 0 && single.stdout.contains("\"category\""))

        // inspect: provenance, trees, top n-grams per label.
        let inspect = try CLI.run(["inspect", "--model", w.model, "--trusted-key", w.publicKey, "--terms", "5"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("(verified)") && inspect.stdout.contains("top n-grams") && inspect.stdout.contains("vocabulary"))
        let inspectJSON = try JSONParser.parse(try CLI.run(["inspect", "--model", w.model, "--unverified", "--json"]).stdout)
        #expect(inspectJSON["signature_verified"]?.boolValue == false)
        #expect(inspectJSON["labels"]?.objectValue?.count == 8)

        // verify: 0 when good.
        let verify = try CLI.run(["verify", "--model", w.model, "--trusted-key", w.publicKey])
        #expect(verify.status == 0 && verify.stdout.hasPrefix("ok: "), "\(verify.stderr)")
    }

    @Test func verifyRefusesTamperedModelsAndOtherKeys() throws {
        let w = try workspace()
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: w.model)))
        // Change one base64 character in the middle of the payload.
        let middle = bytes.count / 2
        bytes[middle] = bytes[middle] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let tampered = w.path("tampered.triage")
        try Data(bytes).write(to: URL(fileURLWithPath: tampered))
        let bad = try CLI.run(["verify", "--model", tampered, "--trusted-key", w.publicKey])
        #expect(bad.status == 3 && bad.stderr.contains("refused"), "\(bad.stderr)")
        let other = try CLI.temporaryDirectory().appendingPathComponent("other")
        #expect(try CLI.run(["keygen", "--out", other.path]).status == 0)
        let wrongKey = try CLI.run(["verify", "--model", w.model, "--trusted-key", other.appendingPathComponent("public.pem").path])
        #expect(wrongKey.status == 3 && wrongKey.stderr.contains("not among the trusted keys"), "\(wrongKey.stderr)")
        // Other commands refuse the tampered model too (exit 1), and without a key at all.
        let predict = try CLI.run(["predict", "--model", tampered, "--trusted-key", w.publicKey, "--body", "hello"])
        #expect(predict.status == 1 && predict.stdout.isEmpty)
        let noKey = try CLI.run(["predict", "--model", w.model, "--body", "hello"])
        #expect(noKey.status == 2 && noKey.stderr.contains("--trusted-key"))
    }

    @Test func trainingIsReproducibleByteForByte() throws {
        let w = try workspace()
        var outputs: [Data] = []
        for threads in ["1", "2"] {
            let out = w.path("repro-\(threads).triage")
            let r = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", out, "--preset", "talk", "--set", "clf.n_estimators=15",
                                 "--threads", threads, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0] == (try Data(contentsOf: URL(fileURLWithPath: w.model))))
    }

    /// Issue 27: a policy chosen for a precision from out-of-fold predictions, stored in the
    /// model, used by evaluate and predict; an out-of-scope label is learned and never routed.
    @Test func aConfidencePolicyIsChosenStoredAndUsed() throws {
        let w = try workspace()
        let out = w.path("policy.triage")
        let r = try CLI.run(["train", "--data", CLI.demoTrain, "--eval-data", CLI.demoTest, "--key", w.privateKey, "--out", out,
                             "--target-precision", "0.9", "--ambiguity-margin", "0.05", "--calibration-folds", "3", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONParser.parse(r.stdout)
        let policy = try #require(summary["confidence_policy"])
        #expect(policy["goal"]?["kind"]?.stringValue == "precision" && policy["goal"]?["value"]?.numberValue?.doubleValue == 0.9)
        #expect((policy["evidence"]?["precision"]?.numberValue?.doubleValue ?? 0) >= 0.9 && policy["evidence"]?["folds"]?.numberValue?.intValue == 3)
        #expect(policy["calibration"]?["temperature"]?.numberValue?.doubleValue != 1)
        #expect(summary["evaluation"]?["policy"]?["coverage"]?.numberValue != nil && summary["evaluation"]?["confidence"]?["ece"]?.numberValue != nil)
        let evaluation = try JSONParser.parse(try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--json"]).stdout)
        #expect(evaluation["policy"]?["policy"]?["threshold"]?.numberValue?.doubleValue == policy["threshold"]?.numberValue?.doubleValue)
        let unsure = evaluation["policy"]?["unsure"]?.objectValue
        #expect((unsure?["low_confidence"]?.numberValue?.intValue ?? 0) + (unsure?["ambiguous"]?.numberValue?.intValue ?? 0) > 0)
        let text = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--no-confusion"])
        #expect(text.stdout.contains("chosen for 90 % precision") && text.stdout.contains("routed "), "\(text.stdout)")
        let predicted = try CLI.run(["predict", "--model", out, "--trusted-key", w.publicKey, "--input", CLI.demoTest])
        let lines = predicted.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
        #expect(lines.count == 177)
        #expect(lines.allSatisfy { ($0["unsure"]?.boolValue == true) == ($0["reason"]?.stringValue != nil) })
        #expect(lines.contains { $0["reason"]?.stringValue == "low_confidence" } && lines.contains { $0["reason"] == .null })

        // Out of scope: one queue of the demo corpus plays the part; it is predicted, never routed.
        let labels = Set(try MessageReader.readCSV(path: CLI.demoTrain).messages.compactMap(\.label)).sorted()
        let oos = labels[0]
        let scoped = w.path("scoped.triage")
        let s = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", scoped, "--oos-label", oos,
                             "--calibration-folds", "3", "--quiet"])
        #expect(s.status == 0, "\(s.stderr)")
        let scopedLines = try CLI.run(["predict", "--model", scoped, "--trusted-key", w.publicKey, "--input", CLI.demoTest]).stdout
            .split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
        let predictedOOS = scopedLines.filter { $0["category"]?.stringValue == oos }
        #expect(!predictedOOS.isEmpty && predictedOOS.allSatisfy { $0["reason"]?.stringValue == "out_of_scope" && $0["unsure"]?.boolValue == true })
        // Open-set evaluation: the first queue's test messages are out of scope.
        let test = try MessageReader.readCSV(path: CLI.demoTest).messages
        var outside = "id,subject,body\n", inside = "id,subject,body,label\n"
        func field(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        for m in test {
            if m.label == oos { outside += "\(m.id),\(field(m.subject)),\(field(m.body))\n" } else { inside += "\(m.id),\(field(m.subject)),\(field(m.body)),\(m.label ?? "")\n" }
        }
        let insidePath = try w.write("inside.csv", inside), outsidePath = try w.write("outside.csv", outside)
        let open = try CLI.run(["evaluate", "--model", scoped, "--trusted-key", w.publicKey, "--data", insidePath, "--oos-data", outsidePath, "--json"])
        #expect(open.status == 0, "\(open.stderr)")
        let openSet = try #require(try JSONParser.parse(open.stdout)["open_set"])
        #expect(openSet["out_of_scope"]?.numberValue?.intValue == test.filter { $0.label == oos }.count)
        #expect((openSet["oos_recall"]?.numberValue?.doubleValue ?? 0) > 0.3 && openSet["auroc"]?.numberValue != nil, "\(openSet)")
        let openText = try CLI.run(["evaluate", "--model", scoped, "--trusted-key", w.publicKey, "--data", insidePath, "--oos-data", outsidePath, "--no-confusion"])
        #expect(openText.stdout.contains("out-of-scope recall") && openText.stdout.contains("in-scope accuracy"), "\(openText.stdout)")

        // Bad input: an unknown out-of-scope label names the labels present; a target no
        // threshold meets says the best reachable (exit 1); conflicting flags exit 2.
        let unknown = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", w.path("x.triage"), "--oos-label", "nope"])
        #expect(unknown.status == 1 && unknown.stderr.contains("\"nope\" is not a label") && unknown.stderr.contains(oos), "\(unknown.stderr)")
        var coin = "id,subject,body,label\n"
        for i in 0 ..< 40 { coin += "\(i),,the very same words,\(i % 2 == 0 ? "heads" : "tails")\n" }
        let coinPath = try w.write("coin.csv", coin)
        let unreachable = try CLI.run(["train", "--data", coinPath, "--key", w.privateKey, "--out", w.path("x.triage"), "--target-precision", "0.9"])
        #expect(unreachable.status == 1 && unreachable.stderr.contains("no threshold reaches 90.0 % precision") && unreachable.stderr.contains("the best is 50.00 %"),
                "\(unreachable.stderr)")
        for bad in [["--target-precision", "0.9", "--unsure-threshold", "0.5"], ["--calibration-folds", "1"],
                    ["--calibration-folds", "0", "--target-coverage", "0.8"], ["--target-precision", "0"], ["--ambiguity-margin", "2"], ["--per-class-thresholds"]] {
            let r = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", w.path("x.triage")] + bad)
            #expect(r.status == 2, "\(bad): \(r.stderr)")
        }
    }

    @Test func trainWithHeldOutDataReportsMetrics() throws {
        let w = try workspace()
        let out = w.path("held.triage")
        let r = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", out, "--preset", "talk", "--set", "clf.n_estimators=10",
                             "--test-size", "0.25", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONParser.parse(r.stdout)
        #expect(summary["evaluation"]?["accuracy"]?.numberValue?.doubleValue != nil)
        #expect(summary["labels"]?.arrayValue?.count == 8)
        let inspect = try JSONParser.parse(try CLI.run(["inspect", "--model", out, "--trusted-key", w.publicKey, "--json"]).stdout)
        #expect(inspect["provenance"]?["metrics"]?["accuracy"] != nil)
    }

    /// Issue 25 items 8–10: the default is the recommended preset, printed with where each
    /// setting came from; a bad setting of any kind exits 2 before any data is read.
    @Test func settingsArePrintedAndCheckedBeforeAnyData() throws {
        let w = try workspace()
        let shown = try CLI.run(["train", "--show-config"])
        #expect(try JSONParser.parse(shown.stdout)["clf"]?["type"]?.stringValue == "voting")
        let r = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", w.path("talk.triage"),
                             "--preset", "talk", "--set", "clf.n_estimators=3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#"settings     preset talk, --set clf.n_estimators=3: {"clf":{"#), "\(r.stdout)")
        for bad in [["--set", "vect.stop_words=klingon"], ["--set", "vect.stemmer=klingon"], ["--set", "clf.nope=1"]] {
            let failed = try CLI.run(["train", "--data", "no-such-file.csv", "--key", w.privateKey, "--out", w.path("x.json"), "--preset", "talk"] + bad)
            #expect(failed.status == 2 && failed.stderr.contains(bad[1].split(separator: "=")[0].split(separator: ".")[1] == "nope" ? "clf.nope" : "klingon"),
                    "\(bad): \(failed.status) \(failed.stderr)")
            #expect(!failed.stderr.contains("no-such-file") && !failed.stderr.contains("training on"), "\(failed.stderr)")
        }
    }

    /// Issue 25 item 2: retraining with a model's own settings (checked with the public half of
    /// --key) gives the same settings — here, the same data too, so the same bytes.
    @Test func retrainingWithAModelsOwnSettings() throws {
        let w = try workspace()
        let first = w.path("first.triage"), again = w.path("again.triage")
        let a = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", first, "--preset", "talk",
                             "--set", "clf.n_estimators=4", "--set", "text.subject_weight=3", "--quiet"])
        #expect(a.status == 0, "\(a.stderr)")
        let b = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", again, "--config-from", first, "--quiet"])
        #expect(b.status == 0 && b.stdout.contains("settings     settings of \(first): "), "\(b.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: first)) == Data(contentsOf: URL(fileURLWithPath: again)))
        // Another key must be named, and must be the one that signed it.
        let other = try CLI.run(["train", "--show-config", "--config-from", first, "--config-from-key", CLI.repository.appendingPathComponent("models/triage.public.pem").path])
        #expect(other.status == 1 && other.stderr.contains("not among the trusted keys"), "\(other.stderr)")
        let both = try CLI.run(["train", "--show-config", "--config-from", first, "--preset", "talk"])
        #expect(both.status == 2)
    }

    /// Issue 25 items 11, 13, 14: predict's input errors and CSV input, a closed pipe, the key
    /// halves, an unwritable log.
    @Test func predictReadsCSVAndSaysWhatIsWrongWithALine() throws {
        let w = try workspace()
        let model = ["--model", w.model, "--trusted-key", w.publicKey]
        let csv = try CLI.run(["predict"] + model + ["--input", CLI.demoTest])
        #expect(csv.status == 0 && csv.stdout.split(separator: "\n").count == 177, "\(csv.stderr)")
        #expect(try JSONParser.parse(String(csv.stdout.split(separator: "\n")[0]))["id"]?.stringValue == "demo-test-0001")
        let lines = try w.write("in.jsonl", #"{"id": "a", "body": "my card was stolen"}"# + "\nnot json\n")
        let bad = try CLI.run(["predict"] + model + ["--input", lines])
        #expect(bad.status == 1 && bad.stderr.contains("in.jsonl:2: not a JSON object (expected {\"id\": …"), "\(bad.stderr)")
        // A reader that goes away mid-stream (more output than a pipe holds): a quiet stop, no crash.
        let many = try w.write("many.jsonl", String(repeating: #"{"id": "m", "body": "my card was stolen and I cannot log in"}"# + "\n", count: 3000))
        let piped = try CLI.run(["-c", "\"$0\" predict --model \"$1\" --trusted-key \"$2\" --input \"$3\" | head -n 1", CLI.binary, w.model, w.publicKey, many],
                                executable: "/bin/sh")
        #expect(piped.status == 0 && piped.stdout.split(separator: "\n").count == 1 && !piped.stderr.contains("Fatal error"), "\(piped.stderr)")
        let publicAsPrivate = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.publicKey, "--out", w.path("x.json")])
        #expect(publicAsPrivate.status == 1 && publicAsPrivate.stderr.contains("a public key; signing needs the private key"), "\(publicAsPrivate.stderr)")
        let unwritable = try CLI.run(["serve"] + model + ["--db", "/nonexistent-dir/log.sqlite", "--port", "0"])
        #expect(unwritable.status == 1 && unwritable.stderr.hasPrefix("triage: error: --db /nonexistent-dir/log.sqlite: "), "\(unwritable.stderr)")
    }

    /// Issue 25 item 5: the doc comment at the top of the command's source names every subcommand.
    @Test func theSourcesDocCommentNamesEverySubcommand() throws {
        let source = try String(contentsOf: CLI.repository.appendingPathComponent("Sources/triage/Triage.swift"), encoding: .utf8)
        let summary = try #require(source.split(separator: "\n").first { $0.hasPrefix("/// `triage`:") })
        let help = try CLI.run(["--help"]).stdout
        // The section's entries are indented two spaces (wrapped descriptions more).
        let section = help.components(separatedBy: "SUBCOMMANDS:").last?.components(separatedBy: "\n\n").first ?? ""
        let names = section.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(names.count >= 9)
        for name in names { #expect(summary.contains(name), "\(name) missing from: \(summary)") }
    }

    /// Issue 25 item 19: every form of verify's output ends its last line.
    @Test func verifyEndsEveryLine() throws {
        let w = try workspace()
        let tampered = try w.write("bad.triage", "{}")
        for (model, json) in [(w.model, false), (w.model, true), (tampered, false), (tampered, true)] {
            let r = try CLI.run(["verify", "--model", model, "--trusted-key", w.publicKey] + (json ? ["--json"] : []))
            #expect(r.status == (model == w.model ? 0 : 3))
            for text in [r.stdout, r.stderr] where !text.isEmpty { #expect(text.hasSuffix("\n"), "\(model) json \(json): \(text.debugDescription)") }
        }
    }

    @Test func trainWithSeparateEvaluationDataStoresItsMetricsAndSource() throws {
        let w = try workspace()
        let out = w.path("eval.triage")
        let r = try CLI.run(["train", "--data", CLI.demoTrain, "--eval-data", CLI.demoTest, "--key", w.privateKey, "--out", out,
                             "--preset", "talk", "--set", "clf.n_estimators=10", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONParser.parse(r.stdout)
        let accuracy = try #require(summary["evaluation"]?["accuracy"]?.numberValue?.doubleValue)
        // The same number `triage evaluate` measures on that file.
        let evaluation = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--json"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        let measured = try #require(try JSONParser.parse(evaluation.stdout)["accuracy"]?.numberValue?.doubleValue)
        #expect(abs(measured - accuracy) < 1e-12)
        let inspect = try JSONParser.parse(try CLI.run(["inspect", "--model", out, "--trusted-key", w.publicKey, "--json"]).stdout)
        #expect(inspect["provenance"]?["notes"]?["metrics_measured_on"]?.stringValue?.hasPrefix(CLI.demoTest) == true)
        let both = try CLI.run(["train", "--data", CLI.demoTrain, "--eval-data", CLI.demoTest, "--test-size", "0.2",
                                "--key", w.privateKey, "--out", out])
        #expect(both.status == 2 && both.stderr.contains("--eval-data"), "\(both.stderr)")
    }

    /// `--weights` chooses how the file stores linear weights, `--prune` drops near-zero
    /// features; the metrics stored and printed are the saved model's (evaluate agrees), and
    /// inspect shows the encoding and where the bytes go.
    @Test func weightEncodingsAndPruningAreMeasuredAsSaved() throws {
        let w = try workspace()
        var sizes: [String: Int] = [:]
        // Pruning needs weights near zero in every member: a logistic regression has many, naive
        // Bayes (in the default vote) has none, so it is measured on a logistic regression.
        let lr = ["--set", "clf.type=logistic_regression"]
        for (name, extra) in [("float32", ["--weights", "float32"]), ("int8", []), ("lr", lr), ("pruned", lr + ["--prune", "0.02"])] {
            let out = w.path("\(name).triage")
            let r = try CLI.run(["train", "--data", CLI.demoTrain, "--eval-data", CLI.demoTest, "--key", w.privateKey, "--out", out, "--json"] + extra)
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let accuracy = try #require(try JSONParser.parse(r.stdout)["evaluation"]?["accuracy"]?.numberValue?.doubleValue)
            let evaluation = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--json"])
            #expect(try JSONParser.parse(evaluation.stdout)["accuracy"]?.numberValue?.doubleValue == accuracy, "\(name)")
            let inspect = try CLI.run(["inspect", "--model", out, "--trusted-key", w.publicKey])
            #expect(inspect.stdout.contains("where the bytes go:") && inspect.stdout.contains("matrices[0]"), "\(inspect.stdout)")
            #expect(inspect.stdout.contains(name == "float32" ? "(float32)" : "(int8)") && inspect.stdout.contains("note          weights: "),
                    "\(inspect.stdout)")
            if name == "pruned" { #expect(inspect.stdout.contains("note          pruned: "), "\(inspect.stdout)") }
            sizes[name] = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int
        }
        #expect(sizes["float32"]! > 2 * sizes["int8"]! && sizes["lr"]! > sizes["pruned"]!)
        for bad in [["--weights", "float8"], ["--prune", "1.5"]] {
            let r = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", w.path("x.triage")] + bad)
            #expect(r.status == 2 && r.stderr.contains(bad[0]), "\(bad): \(r.stderr)")
        }
        let trees = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", w.path("x.triage"), "--preset", "talk",
                                 "--set", "clf.n_estimators=2", "--prune", "0.01"])
        #expect(trees.status == 1 && trees.stderr.contains("--prune needs a linear classifier"), "\(trees.stderr)")
    }

    @Test func malformedCSVNamesFileLineAndProblem() throws {
        let w = try workspace()
        let cases: [(name: String, content: [UInt8], expect: [String])] = [
            ("unterminated.csv", Array("id,subject,body,label\n1,hi,\"never closed,card\n2,a,b,c\n".utf8), ["unterminated.csv:2", "never closed"]),
            ("columns.csv", Array("id,subject,body,label\n1,hi,there,card\n2,too,many,fields,here\n".utf8), ["columns.csv:3", "5 fields", "header has 4"]),
            ("utf8.csv", Array("id,subject,body,label\n1,hi,".utf8) + [0xC3, 0x28] + Array(",card\n".utf8), ["utf8.csv:2", "UTF-8"]),
            ("missing.csv", Array("id,subject,message,label\n1,hi,there,card\n".utf8), ["missing.csv:1", "no column \"body\" or \"text\""]),
            ("empty.csv", [], ["empty.csv", "empty"]),
            ("nolabel.csv", Array("id,subject,body,label\n1,hi,there,\n".utf8), ["nolabel.csv:2", "empty label"]),
        ]
        for c in cases {
            let path = w.path(c.name)
            try Data(c.content).write(to: URL(fileURLWithPath: path))
            let r = try CLI.run(["train", "--data", path, "--key", w.privateKey, "--out", w.path("x.triage")])
            #expect(r.status == 1, "\(c.name): exit \(r.status)")
            #expect(r.stderr.hasPrefix("triage: error: ") && r.stderr.split(separator: "\n").count == 1, "\(c.name): \(r.stderr)")
            for e in c.expect { #expect(r.stderr.contains(e), "\(c.name): \(r.stderr)") }
        }
        // --skip-invalid skips and reports, never silently.
        let mixed = try w.write("mixed.csv", "id,subject,body,label\n1,a,my card was stolen,card\n2,b,c\n3,c,log in fails,access\n4,d,card gone,card\n5,e,cannot log in,access\n")
        let skipped = try CLI.run(["train", "--data", mixed, "--key", w.privateKey, "--out", w.path("mixed.triage"), "--skip-invalid",
                                   "--set", "vect.min_df=1", "--preset", "talk", "--set", "clf.n_estimators=2", "--set", "clf.min_samples_leaf=1"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("skipped 1 invalid row") && skipped.stderr.contains("line 3"), "\(skipped.stderr)")
    }

    @Test func jsonlAndGzipAndSQLiteSources() throws {
        let w = try workspace()
        // JSON Lines with a bad line: named by line.
        let jsonl = try w.write("bad.jsonl", "{\"body\": \"hello\", \"label\": \"a\"}\n{\"body\": 3, \"label\": \"b\"}\n")
        let bad = try CLI.run(["evaluate", "--model", w.model, "--trusted-key", w.publicKey, "--data", jsonl])
        #expect(bad.status == 1 && bad.stderr.contains("bad.jsonl:2") && bad.stderr.contains("\"body\" must be a string"), "\(bad.stderr)")

        // SQLite, as pandas.read_sql: columns aliased in the query.
        let dbPath = w.path("chats.sqlite")
        let db = try SQLiteDatabase(path: dbPath)
        try db.execute("CREATE TABLE chats (ref TEXT, title TEXT, text TEXT, category TEXT)")
        let csv = try MessageReader.readCSV(path: CLI.demoTest)
        let insert = try db.prepare("INSERT INTO chats VALUES (?, ?, ?, ?)")
        for m in csv.messages { try insert.run([.text(m.id), .text(m.subject), .text(m.body), .text(m.label ?? "")]) }
        let fromSQL = try CLI.run(["evaluate", "--model", w.model, "--trusted-key", w.publicKey, "--db", dbPath,
                                   "--sql", "SELECT ref AS id, title AS subject, text AS body, category AS label FROM chats", "--json"])
        let fromCSV = try CLI.run(["evaluate", "--model", w.model, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--json"])
        #expect(fromSQL.status == 0, "\(fromSQL.stderr)")
        #expect(try JSONParser.parse(fromSQL.stdout)["accuracy"] == JSONParser.parse(fromCSV.stdout)["accuracy"])
        let badSQL = try CLI.run(["evaluate", "--model", w.model, "--trusted-key", w.publicKey, "--db", dbPath, "--sql", "SELECT nope FROM chats"])
        #expect(badSQL.status == 1 && badSQL.stderr.contains("no such column"), "\(badSQL.stderr)")
    }

    /// Issue 30: train on the demo mbox (labels in X-Queue), measure on the directory of .eml
    /// files (labels in a CSV keyed by Message-ID), predict an .eml; bad mail is named by its
    /// message number and byte offset, or skipped and listed.
    @Test func mailInputEndToEnd() throws {
        let w = try workspace()
        let mail = CLI.repository.appendingPathComponent("corpora/demo/mail").path
        let out = w.path("mail.triage")
        let train = try CLI.run(["train", "--data", mail + "/train.mbox", "--label-header", "X-Queue", "--eval-data", mail + "/test",
                                 "--labels", mail + "/test-labels.csv", "--key", w.privateKey, "--out", out,
                                 "--preset", "talk", "--set", "clf.n_estimators=10"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("training on 534 messages from \(mail)/train.mbox, measuring on 177"), "\(train.stderr)")
        let fromDirectory = try CLI.run(["train", "--data", mail + "/test", "--labels", mail + "/test-labels.csv", "--key", w.privateKey,
                                         "--out", w.path("eml.triage"), "--preset", "talk", "--set", "clf.n_estimators=3"])
        #expect(fromDirectory.status == 0 && fromDirectory.stderr.contains("training on 177 messages"), "\(fromDirectory.stderr)")
        let predict = try CLI.run(["predict", "--model", out, "--trusted-key", w.publicKey, "--input", mail + "/test/demo-test-0001.eml"])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(try JSONParser.parse(predict.stdout)["id"]?.stringValue == "demo-test-0001@quillmere.example")

        // No label source: said, with both options named.
        let unlabelled = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", mail + "/test"])
        #expect(unlabelled.status == 1 && unlabelled.stderr.contains("--label-header") && unlabelled.stderr.contains("--labels"), "\(unlabelled.stderr)")
        // Mail options on a CSV are a usage error.
        let onCSV = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--label-header", "X-Queue"])
        #expect(onCSV.status == 2, "\(onCSV.stderr)")
        // A broken From line and a message without its label: named, or skipped and listed.
        let broken = try w.write("broken.mbox", "From a@x.example Mon Jan  1 10:00:00 2024\nSubject: card\nX-Queue: card_loss_fraud\n\nmy card was stolen\n\n"
            + "From nobody\nSubject: junk\n\nno date in the From line\n\n"
            + "From b@x.example Mon Jan  1 11:00:00 2024\nSubject: login\n\nno label here\n")
        let named = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", broken, "--label-header", "X-Queue"])
        #expect(named.status == 1 && named.stderr.contains("broken.mbox: message 2 (byte 102): a broken mbox From line \"From nobody\""), "\(named.stderr)")
        let skipped = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", broken, "--label-header", "X-Queue", "--skip-invalid"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("skipped 2 invalid message(s)") && skipped.stderr.contains("message 3 (byte 155): no label: no X-Queue header"),
                "\(skipped.stderr)")
    }

    /// Issue 31 (first part): a rules file measured on labelled data; its mistakes are usage
    /// errors naming the rule.
    @Test func rulesTestMeasuresARulesFile() throws {
        let w = try workspace()
        let rules = CLI.repository.appendingPathComponent("corpora/demo/rules.json").path
        let text = try CLI.run(["rules", "test", "--rules", rules, "--data", CLI.demoTrain])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("534 messages, head \"label\"") && text.stdout.contains("lost-or-stolen-card  override"), "\(text.stdout)")
        let json = try JSONParser.parse(try CLI.run(["rules", "test", "--rules", rules, "--data", CLI.demoTrain, "--json"]).stdout)
        let first = try #require(json["rules"]?[0])
        #expect(first["name"]?.stringValue == "lost-or-stolen-card")
        let matched = try #require(first["matched"]?.numberValue?.doubleValue)
        let precision = try #require(first["precision"]?.numberValue?.doubleValue)
        #expect(matched > 0 && precision > 0.5 && precision <= 1)
        // Conflicts and unseen labels are reported.
        let clash = try w.write("clash.json", #"{"rules": [{"name": "a", "words": ["card"], "label": "card_loss_fraud"}, {"name": "b", "words": ["card"], "label": "payments"}, {"name": "c", "words": ["card"], "label": "nosuchqueue"}]}"#)
        let conflicts = try CLI.run(["rules", "test", "--rules", clash, "--data", CLI.demoTrain])
        #expect(conflicts.stdout.contains("a over b:") && conflicts.stdout.contains("rule \"c\" routes to \"nosuchqueue\", which no message of the data carries"), "\(conflicts.stdout)")
        // A bad rule is a usage error naming it.
        let bad = try w.write("bad.json", #"{"rules": [{"name": "ok", "words": ["x"], "label": "l"}, {"name": "look", "regex": "(?=card)", "label": "l"}]}"#)
        let refused = try CLI.run(["rules", "test", "--rules", bad, "--data", CLI.demoTrain])
        #expect(refused.status == 2 && refused.stderr.contains("rules[1] \"look\": \"regex\" at character"), "\(refused.stderr)")
    }

    @Test func trainWithRulesSignsThemAndOverridesSayWhichRuleDecided() throws {
        let w = try workspace()
        let rules = CLI.repository.appendingPathComponent("corpora/demo/rules.json").path
        let out = w.path("rules.triage")
        let train = try CLI.run(["train", "--data", CLI.demoTrain, "--rules", rules, "--key", w.privateKey, "--out", out,
                                 "--calibration-folds", "0", "--eval-data", CLI.demoTest])
        #expect(train.status == 0, "\(train.stderr)")
        let inspect = try CLI.run(["inspect", "--model", out, "--trusted-key", w.publicKey])
        #expect(inspect.stdout.contains("rules         5: 2 override, 3 feature") && inspect.stdout.contains("format        triage-model v7"), "\(inspect.stdout)")
        #expect(try CLI.run(["verify", "--model", out, "--trusted-key", w.publicKey]).status == 0)
        // An override decides against the words around it; a feature rule is an explained column.
        let input = try w.write("rules-input.jsonl", #"{"id": "a", "subject": "New mortgage", "body": "Also I lost my card yesterday."}"# + "\n"
            + #"{"id": "b", "subject": "", "body": "this is a scam"}"# + "\n")
        let predict = try CLI.run(["predict", "--model", out, "--trusted-key", w.publicKey, "--input", input, "--explain", "40"])
        #expect(predict.status == 0, "\(predict.stderr)")
        let lines = predict.stdout.split(separator: "\n").map { try? JSONParser.parse(Array($0.utf8)) }
        #expect(lines.count == 2)
        #expect(lines[0]?["by"]?.stringValue == "rule:lost-or-stolen-card" && lines[0]?["category"]?.stringValue == "card_loss_fraud")
        #expect(lines[1]?["by"]?.stringValue == "model")
        #expect(predict.stdout.contains(#""term":"rule:fraud-words""#), "\(predict.stdout)")
        // Same data, settings, rules and key: the same bytes.
        let again = w.path("rules-again.triage")
        #expect(try CLI.run(["train", "--data", CLI.demoTrain, "--rules", rules, "--key", w.privateKey, "--out", again,
                             "--calibration-folds", "0", "--eval-data", CLI.demoTest, "--threads", "1"]).status == 0)
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: again))
        // Retraining from the model's own settings keeps its rules.
        let from = w.path("rules-from.triage")
        #expect(try CLI.run(["train", "--data", CLI.demoTrain, "--config-from", out, "--key", w.privateKey, "--out", from,
                             "--calibration-folds", "0", "--quiet"]).status == 0)
        #expect(try CLI.run(["inspect", "--model", from, "--trusted-key", w.publicKey]).stdout.contains("rules         5: 2 override, 3 feature"))
        // A rule routing to a label the data does not have: a usage error naming the rule, before training.
        let bad = try w.write("bad-rules.json", #"{"rules": [{"name": "wire", "words": ["wire"], "label": "wire_fraud"}]}"#)
        let refused = try CLI.run(["train", "--data", CLI.demoTrain, "--rules", bad, "--key", w.privateKey, "--out", w.path("bad-rules.triage")])
        #expect(refused.status == 2 && refused.stderr.contains("rules[0] \"wire\": label \"wire_fraud\" is not one of head \"label\""), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("bad-rules.triage")))
    }

    @Test func aRulesOnlyModelRoutesWhatItsRulesDecideAndLeavesTheRest() throws {
        let w = try workspace()
        let rules = try w.write("rules-only.json", #"{"rules": [{"name": "lost-card", "words": ["lost my card", "stolen card"], "label": "card_loss_fraud"}, {"name": "complaint", "field": "subject", "words": ["complaint"], "label": "complaint"}]}"#)
        let out = w.path("rules-only.triage")
        let train = try CLI.run(["train", "--rules", rules, "--rules-only", "--key", w.privateKey, "--out", out])
        #expect(train.status == 0 && train.stdout.contains("dummy, uniform"), "\(train.stdout)\(train.stderr)")
        let input = try w.write("rules-only.jsonl", #"{"id": "a", "body": "Help, I lost my card"}"# + "\n" + #"{"id": "b", "subject": "Complaint", "body": "slow answers"}"# + "\n"
            + #"{"id": "c", "body": "What are your opening hours?"}"# + "\n")
        let predict = try CLI.run(["predict", "--model", out, "--trusted-key", w.publicKey, "--input", input])
        let lines = predict.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
        #expect(lines.map { $0["by"]?.stringValue } == ["rule:lost-card", "rule:complaint", "model"], "\(predict.stdout)")
        #expect(lines.map { $0["unsure"]?.boolValue } == [false, false, true])
        #expect(lines[2]["reason"]?.stringValue == "no_rule")
        // With data: the labels' frequencies, and evaluate counts what the rules routed.
        let withData = try CLI.run(["train", "--rules", rules, "--rules-only", "--data", CLI.demoTrain, "--eval-data", CLI.demoTest,
                                    "--key", w.privateKey, "--out", w.path("rules-only-data.triage")])
        #expect(withData.status == 0 && withData.stdout.contains("dummy, prior") && withData.stdout.contains("no_rule"), "\(withData.stdout)")
        // Feature rules, one label, or no --rules: usage errors.
        let feature = try w.write("rules-feature.json", #"{"rules": [{"name": "f", "words": ["card"], "mode": "feature"}, {"name": "o", "words": ["x"], "label": "a"}]}"#)
        let refused = try CLI.run(["train", "--rules", feature, "--rules-only", "--key", w.privateKey, "--out", w.path("x.triage")])
        #expect(refused.status == 2 && refused.stderr.contains("feature rules (\"f\") need a learned model"), "\(refused.stderr)")
        let one = try w.write("rules-one.json", #"{"rules": [{"name": "o", "words": ["x"], "label": "a"}]}"#)
        let single = try CLI.run(["train", "--rules", one, "--rules-only", "--key", w.privateKey, "--out", w.path("x.triage")])
        #expect(single.status == 2 && single.stderr.contains("name 1 label (a)"), "\(single.stderr)")
        #expect(try CLI.run(["train", "--rules-only", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", w.path("x.triage")]).status == 2)
    }

    @Test func trainFitsSeveralLabelHeadsIntoOneModel() throws {
        let w = try workspace()
        let heads = CLI.repository.appendingPathComponent("corpora/demo/heads").path
        let out = w.path("two-heads.triage")
        let args = ["train", "--data", heads + "/train.csv", "--label-column", "queue", "--label-column", "priority", "--eval-data", heads + "/test.csv",
                    "--set", "clf@priority.type=multinomial_nb", "--set", "clf@priority.alpha=0.1",
                    "--key", w.privateKey, "--out", out, "--calibration-folds", "0", "--json"]
        let train = try CLI.run(args)
        #expect(train.status == 0, "\(train.stderr)")
        let summary = try JSONParser.parse(train.stdout)
        #expect(summary["evaluation_heads"]?["priority"]?["accuracy"]?.numberValue != nil, "\(train.stdout)")
        let inspect = try CLI.run(["inspect", "--model", out, "--trusted-key", w.publicKey, "--json"])
        let model = try JSONParser.parse(inspect.stdout)
        #expect(model["format_version"]?.numberValue?.intValue == 7)
        #expect(model["heads"]?.arrayValue?.map { $0["name"]?.stringValue } == ["queue", "priority"], "\(inspect.stdout)")
        #expect(model["heads"]?.arrayValue?.map { $0["classifier"]?.stringValue } == ["voting", "multinomial_nb"], "\(inspect.stdout)")
        // Per-head settings name a head the data has, and need several heads.
        let unknown = try CLI.run(["train", "--data", heads + "/train.csv", "--label-column", "queue", "--label-column", "priority",
                                   "--set", "clf@severity.type=multinomial_nb", "--key", w.privateKey, "--out", w.path("x.triage")])
        #expect(unknown.status == 1 && unknown.stderr.contains("head \"severity\""), "\(unknown.stderr)")
        let mail = CLI.repository.appendingPathComponent("corpora/demo/mail/train.mbox").path
        let header = try CLI.run(["train", "--data", mail, "--label-header", "X-Queue", "--label-column", "queue", "--label-column", "priority",
                                  "--key", w.privateKey, "--out", w.path("x.triage")])
        #expect(header.status == 2 && header.stderr.contains("--labels FILE with one column per head"), "\(header.stderr)")
        let oneHead = try CLI.run(["train", "--data", CLI.demoTrain, "--set", "clf@priority.type=multinomial_nb", "--key", w.privateKey, "--out", w.path("x.triage")])
        #expect(oneHead.status == 2 && oneHead.stderr.contains("several heads"), "\(oneHead.stderr)")
        let badParameter = try CLI.run(["train", "--data", heads + "/train.csv", "--label-column", "queue", "--label-column", "priority",
                                        "--set", "clf@priority.alpha=-1", "--key", w.privateKey, "--out", w.path("x.triage")])
        #expect(badParameter.status == 2 && badParameter.stderr.contains("clf@priority"), "\(badParameter.stderr)")
        #expect(try CLI.run(["verify", "--model", out, "--trusted-key", w.publicKey]).status == 0)
        let predict = try CLI.run(["predict", "--model", out, "--trusted-key", w.publicKey, "--body", "someone is using my card right now"])
        let answer = try JSONParser.parse(predict.stdout)
        #expect(answer["heads"]?["queue"]?["category"]?.stringValue == answer["category"]?.stringValue, "\(predict.stdout)")
        #expect(["urgent", "normal", "low"].contains(answer["heads"]?["priority"]?["category"]?.stringValue ?? ""), "\(predict.stdout)")
        // Byte-identical on one thread.
        let again = w.path("two-heads-again.triage")
        #expect(try CLI.run(Array(args.dropLast(7)) + ["--key", w.privateKey, "--out", again, "--calibration-folds", "0", "--threads", "1"]).status == 0)
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: again))
        // evaluate measures every head and the exact match over heads.
        let evaluate = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", heads + "/test.csv",
                                    "--label-column", "queue", "--label-column", "priority", "--json"])
        let measured = try JSONParser.parse(evaluate.stdout)
        let exact = try #require(measured["exact_match"]?["accuracy"]?.numberValue?.doubleValue, "\(evaluate.stdout)\(evaluate.stderr)")
        let queueAccuracy = try #require(measured["heads"]?["queue"]?["accuracy"]?.numberValue?.doubleValue)
        let priorityAccuracy = try #require(measured["heads"]?["priority"]?["accuracy"]?.numberValue?.doubleValue)
        #expect(exact > 0 && exact <= min(queueAccuracy, priorityAccuracy) && measured["exact_match"]?["messages"]?.numberValue?.intValue == 177)
        #expect(measured["accuracy"]?.numberValue?.doubleValue == queueAccuracy)
        let text = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", heads + "/test.csv", "--label-column", "queue", "--label-column", "priority"])
        #expect(text.stdout.contains("head \"priority\" (177 messages labelled for it)") && text.stdout.contains("exact match"), "\(text.stdout)")
        let swapped = try CLI.run(["evaluate", "--model", out, "--trusted-key", w.publicKey, "--data", heads + "/test.csv", "--label-column", "priority", "--label-column", "queue"])
        #expect(swapped.status == 2 && swapped.stderr.contains("in its order (queue, priority)"), "\(swapped.stderr)")
        // Commands of one head say so; a column given twice is a usage error.
        let audit = try CLI.run(["audit-labels", "--data", heads + "/test.csv", "--label-column", "queue", "--label-column", "priority"])
        #expect(audit.status == 2 && audit.stderr.contains("one label column"), "\(audit.stderr)")
        #expect(try CLI.run(["train", "--data", heads + "/train.csv", "--label-column", "queue", "--label-column", "queue", "--key", w.privateKey, "--out", w.path("x.triage")]).status == 2)
        // A row with no label for any head is named.
        let blank = try w.write("heads-blank.csv", "id,subject,body,queue,priority\na,s,card stolen,card_loss_fraud,urgent\nb,s,hello,,\nc,s,login,account_access,normal\n")
        let refused = try CLI.run(["train", "--data", blank, "--label-column", "queue", "--label-column", "priority", "--key", w.privateKey, "--out", w.path("x.triage")])
        #expect(refused.status == 1 && refused.stderr.contains(":3") && refused.stderr.contains("queue, priority"), "\(refused.stderr)")
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try CLI.run(["train", "--no-such-flag"]).status == 2)
        let missing = try CLI.run(["train", "--key", "k", "--out", "o"])
        #expect(missing.status == 2 && missing.stderr.contains("--data"))
        #expect(try CLI.run(["search", "--grid", "g.json", "--data", "d.csv", "--shard", "3/2", "--ledger", "l"]).status == 2)
        #expect(try CLI.run(["train", "--data", "x.csv", "--key", "k", "--out", "o", "--test-size", "1.5"]).status == 2)
        let unknownParameter = try CLI.run(["train", "--show-config", "--preset", "talk", "--set", "clf.n_estimator=3"])
        #expect(unknownParameter.status == 2 && unknownParameter.stderr.contains("clf.n_estimators"), "\(unknownParameter.stderr)")
        #expect(try CLI.run(["frobnicate"]).status == 2)
        #expect(try CLI.run(["--version"]).status == 0)
    }

    @Test func helpMatchesTheSnapshot() throws {
        // Regenerate with TRIAGE_UPDATE_SNAPSHOTS=1 after an intended change.
        var text = ""
        for command in [[], ["train"], ["evaluate"], ["search"], ["search", "run"], ["search", "merge"], ["predict"], ["inspect"], ["clean"], ["keygen"], ["verify"], ["serve"], ["feedback", "export"], ["review"], ["replay"], ["retrain"], ["promote"], ["audit-labels"], ["rules", "test"]] {
            let r = try CLI.run(command + ["--help"])
            #expect(r.status == 0)
            text += "$ triage \((command + ["--help"]).joined(separator: " "))\n" + r.stdout + "\n"
        }
        let snapshot = CLI.repository.appendingPathComponent("Tests/TriageCLITests/Fixtures/help.txt")
        if ProcessInfo.processInfo.environment["TRIAGE_UPDATE_SNAPSHOTS"] == "1" {
            try Data(text.utf8).write(to: snapshot)
        }
        let expected = try String(contentsOf: snapshot, encoding: .utf8)
        #expect(text == expected, "help output changed; run with TRIAGE_UPDATE_SNAPSHOTS=1 if intended")
    }

    @Test func searchResumesShardsAndRefits() throws {
        let w = try workspace()
        let grid = try w.write("grid.json", #"{"vect.min_df": [1, 2], "clf.learning_rate": [0.1, 0.5]}"#)
        let common = ["--grid", grid, "--data", CLI.demoTrain, "--cv", "3", "--preset", "talk", "--set", "clf.n_estimators=5", "--quiet"]
        let ledger = w.path("ledger.jsonl")
        let first = try CLI.run(["search"] + common + ["--ledger", ledger, "--results", w.path("cv.json")])
        #expect(first.status == 0, "\(first.stderr)")
        let results = try JSONParser.parse(Data(contentsOf: URL(fileURLWithPath: w.path("cv.json"))).map { $0 })
        #expect(results["counters"]?["fits"]?.numberValue?.intValue == 12)
        #expect(results["counters"]?["tokenizations"]?.numberValue?.intValue == 1)
        // Re-running resumes everything from the ledger.
        let again = try CLI.run(["search"] + common + ["--ledger", ledger, "--results", w.path("cv2.json"), "--json"])
        let second = try JSONParser.parse(again.stdout)
        #expect(second["counters"]?["resumed"]?.numberValue?.intValue == 12 && second["best_index"] == results["best_index"])
        // Two shards, merged, give the same best candidate; then refit it into a signed model.
        var ledgers: [String] = []
        for i in 0 ..< 2 {
            let l = w.path("shard-\(i).jsonl")
            let r = try CLI.run(["search"] + common + ["--shard", "\(i)/2", "--ledger", l])
            #expect(r.status == 0, "\(r.stderr)")
            ledgers.append(l)
        }
        let model = w.path("refit.triage")
        let merged = try CLI.run(["search", "merge"] + ledgers + common + ["--json", "--refit", "--key", w.privateKey, "--out", model])
        #expect(merged.status == 0, "\(merged.stderr)")
        let mergedResults = try JSONParser.parse(merged.stdout)
        #expect(mergedResults["best_index"] == results["best_index"] && mergedResults["best_score"] == results["best_score"])
        #expect(try CLI.run(["verify", "--model", model, "--trusted-key", w.publicKey]).status == 0)
        // Calibrated on the search's folds, like a trained model.
        let inspected = try JSONParser.parse(try CLI.run(["inspect", "--model", model, "--trusted-key", w.publicKey, "--json"]).stdout)
        #expect(inspected["confidence_policy"]?["evidence"]?["folds"] != nil && inspected["confidence_policy"]?["goal"]?["kind"]?.stringValue == "manual")
        // One shard is not enough.
        let partial = try CLI.run(["search", "merge", ledgers[0]])
        #expect(partial.status == 1 && partial.stderr.contains("have no result yet"), "\(partial.stderr)")
    }

    @Test func auditLabelsFindsFlippedLabels() throws {
        let w = try workspace()
        // The demo training data with every 20th row's label moved to the next label.
        let rows = try MessageReader.readCSV(path: CLI.demoTrain).messages
        let labels = Set(rows.compactMap(\.label)).sorted()
        var flipped: Set<String> = []
        var noisy = "id,subject,body,label\n"
        for (i, m) in rows.enumerated() {
            var label = m.label ?? ""
            if i % 20 == 7, let at = labels.firstIndex(of: label) {
                label = labels[(at + 1) % labels.count]
                flipped.insert(m.id)
            }
            noisy += [m.id, m.subject, m.body, label].map(CSVWriter.field).joined(separator: ",") + "\n"
        }
        #expect(flipped.count >= 20)
        let data = w.path("noisy.csv")
        try noisy.write(toFile: data, atomically: true, encoding: .utf8)
        let r = try CLI.run(["audit-labels", "--data", data, "--folds", "3", "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let audit = try JSONParser.parse(r.stdout)
        let suspects = audit["suspects"]?.arrayValue ?? []
        let ids = suspects.compactMap { $0["id"]?.stringValue }
        let hits = ids.prefix(flipped.count).filter { flipped.contains($0) }.count
        // Measured: 18 of 27 with the recommended settings (the clean step cuts the demo's
        // signatures, which carried a little label signal), 20 without it; the audit's real
        // measure is scripts/bench-label-audit on banking77.
        #expect(Double(hits) >= 0.65 * Double(flipped.count), "\(hits) of the first \(flipped.count) flagged were flipped")
        #expect(audit["audited"]?.numberValue?.intValue == rows.count && audit["folds"]?.numberValue?.intValue == 3)
        let first = try #require(suspects.first)
        #expect(first["rank"]?.numberValue?.intValue == 1 && first["line"]?.numberValue != nil && first["suggested"]?.stringValue != first["label"]?.stringValue)
        #expect((audit["labels"]?.arrayValue ?? []).count == labels.count)
        // Text: the top rows and the noisiest labels.
        let text = try CLI.run(["audit-labels", "--data", data, "--folds", "3", "--top", "3"])
        #expect(text.status == 0 && text.stdout.contains("flagged, least self-confident first (3 of") && text.stdout.contains("estimated noise"), "\(text.stdout)")
        // Bad input.
        #expect(try CLI.run(["audit-labels", "--data", data, "--folds", "1"]).status == 2)
        #expect(try CLI.run(["audit-labels"]).status == 2)
        let broken = w.path("broken.csv")
        try "id,subject,body,label\n1,a,\"unterminated,x\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try CLI.run(["audit-labels", "--data", broken])
        #expect(bad.status == 1 && bad.stderr.contains("broken.csv:2: a quoted field"), "\(bad.stderr)")
    }

    /// Issue 28: the promotion gate passes a model against itself and refuses one trained on
    /// shuffled labels (exit 4), keeping its report; a gate it cannot read is a usage error.
    @Test func promoteJudgesACandidateAgainstTheChampion() throws {
        let w = try workspace()
        let rows = try MessageReader.readCSV(path: CLI.demoTrain).messages
        var labels = rows.compactMap(\.label)
        var generator = SeededGenerator(seed: 7)
        labels.shuffle(using: &generator)
        var shuffled = "id,subject,body,label\n"
        for (m, label) in zip(rows, labels) { shuffled += [m.id, m.subject, m.body, label].map(CSVWriter.field).joined(separator: ",") + "\n" }
        let data = w.path("shuffled.csv")
        try shuffled.write(toFile: data, atomically: true, encoding: .utf8)
        let worse = w.path("worse.triage")
        let trained = try CLI.run(["train", "--data", data, "--key", w.privateKey, "--out", worse, "--calibration-folds", "0", "--quiet"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let same = try CLI.run(["promote", "--champion", w.model, "--candidate", w.model, "--trusted-key", w.publicKey, "--data", CLI.demoTest])
        #expect(same.status == 0 && same.stdout.contains("gate passed"), "\(same.stdout)\(same.stderr)")
        let report = w.path("promotion.json")
        let refused = try CLI.run(["promote", "--champion", w.model, "--candidate", worse, "--trusted-key", w.publicKey, "--data", CLI.demoTest,
                                   "--report", report])
        #expect(refused.status == 4 && refused.stdout.contains("gate refused") && refused.stdout.contains("FAIL macro_f1"), "\(refused.stdout)")
        let kept = try JSONParser.parse(try String(contentsOfFile: report, encoding: .utf8))
        #expect(kept["passed"]?.boolValue == false && (kept["comparisons"]?.arrayValue?.first?["delta"]?["macro_f1"]?.numberValue?.doubleValue ?? 0) < -0.1)
        #expect(kept["comparisons"]?.arrayValue?.first?["mcnemar"]?["p"]?.numberValue?.doubleValue ?? 1 < 0.001)
        let bad = try CLI.run(["promote", "--champion", w.model, "--candidate", worse, "--trusted-key", w.publicKey, "--data", CLI.demoTest, "--gate", "macro_f1>=0,recall>0"])
        #expect(bad.status == 2 && bad.stderr.contains("cannot read \"recall>0\": unknown metric"), "\(bad.stderr)")
    }
}
