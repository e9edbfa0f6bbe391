import Foundation
import Testing
import TriageCore
import TriageData
import TriageTestSupport

/// `triage serve` as a process: signals, and the log surviving kill -9.
@Suite("triage serve", .serialized)
struct ServeTests {
    /// A running `triage serve`, its port read from its first stdout line.
    final class ServerProcess: @unchecked Sendable {
        let process = Process()
        let port: Int
        let stderr = Pipe()

        init(_ args: [String]) throws {
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["serve", "--port", "0"] + args
            let out = Pipe()
            process.standardOutput = out
            process.standardError = stderr
            try process.run()
            // "listening on http://127.0.0.1:PORT"
            var line = Data()
            let handle = out.fileHandleForReading
            while !line.contains(0x0A) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                line += chunk
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let port = text.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
                process.terminate()
                throw HTTPConnection.Failure(description: "serve did not start: \(text) \(String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self))")
            }
            self.port = port
        }

        func signal(_ s: Int32) { kill(process.processIdentifier, s) }

        func wait(seconds: Double = 20) -> Int32? {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                process.terminate()
                return nil
            }
            return process.terminationStatus
        }
    }

    @Test func killDashNineLosesNoAcknowledgedPrediction() throws {
        let w = try Workspace.shared.get()
        let db = w.path("kill9-\(UUID().uuidString).sqlite")
        let server = try ServerProcess(["--model", w.model, "--trusted-key", w.publicKey, "--db", db])
        // Four clients post as fast as they can and remember every acknowledged id.
        let acknowledged = AcknowledgedIDs()
        let threads = (0 ..< 4).map { t in
            Thread {
                guard let c = try? HTTPConnection(port: server.port, timeoutSeconds: 5) else { return }
                var n = 0
                while true {
                    n += 1
                    let id = "c\(t)-\(n)"
                    guard let r = try? c.post("/messages", json: "{\"messages\": [{\"id\": \"\(id)\", \"body\": \"card stolen \(n)\"}]}"), r.status == 200 else { return }
                    acknowledged.add(id)
                }
            }
        }
        threads.forEach { $0.start() }
        Thread.sleep(forTimeInterval: 1.5)
        server.signal(SIGKILL)
        _ = server.wait()
        while threads.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.02) }
        let ids = acknowledged.all
        #expect(ids.count > 50, "only \(ids.count) predictions acknowledged")
        let database = try SQLiteDatabase(path: db)
        let check = try database.prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.value(0) == .text("ok"))
        var logged = Set<String>()
        let rows = try database.prepare("SELECT message_id FROM predictions")
        while try rows.step() { if case let .text(id) = rows.value(0) { logged.insert(id) } }
        let lost = ids.filter { !logged.contains($0) }
        #expect(lost.isEmpty, "\(lost.count) acknowledged predictions missing from the log, e.g. \(lost.prefix(3))")
    }

    @Test func sigtermDrainsAndExitsCleanly() throws {
        let w = try Workspace.shared.get()
        let server = try ServerProcess(["--model", w.model, "--trusted-key", w.publicKey, "--db", w.path("term.sqlite")])
        let c = try HTTPConnection(port: server.port)
        #expect(try c.post("/messages", json: #"{"messages": [{"id": "1", "body": "hello"}]}"#).status == 200)
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
    }

    /// Issue 28: the review queue of a real server's log — unsure and close calls first, the
    /// relabelled ones marked, filters, and bad flags named.
    @Test func reviewListsWhatTheServerLogged() throws {
        let w = try Workspace.shared.get()
        let db = w.path("review.sqlite")
        let server = try ServerProcess(["--model", w.model, "--trusted-key", w.publicKey, "--db", db, "--db-commit-window", "0"])
        let c = try HTTPConnection(port: server.port)
        let messages = ["my card was stolen", "I forgot my password", "hello", "the app is down and my card was stolen"]
        let body = messages.enumerated().map { #"{"id": "r\#($0.offset)", "body": "\#($0.element)"}"# }.joined(separator: ", ")
        #expect(try c.post("/messages", json: #"{"messages": [\#(body)]}"#).status == 200)
        #expect(try c.post("/messages/r2/label", json: #"{"label": "other", "agent": "ana"}"#).status == 200)
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
        let r = try CLI.run(["review", "--db", db, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let page = try JSONParser.parse(r.stdout)
        let items = page["items"]?.arrayValue ?? []
        #expect(page["total"]?.numberValue?.intValue == 4 && items.count == 4)
        // Unsure first, then by margin.
        let unsure = items.map { $0["unsure_reason"]?.stringValue != nil }
        #expect(unsure == unsure.sorted { $0 && !$1 })
        let margins = items.filter { $0["unsure_reason"]?.stringValue == nil }.compactMap { $0["margin"]?.numberValue?.doubleValue }
        #expect(margins == margins.sorted())
        #expect(items.first { $0["id"]?.stringValue == "r2" }?["label"]?.stringValue == "other")
        let unlabelled = try JSONParser.parse(try CLI.run(["review", "--db", db, "--json", "--unlabelled"]).stdout)
        #expect(unlabelled["total"]?.numberValue?.intValue == 3)
        let text = try CLI.run(["review", "--db", db, "--limit", "2"])
        #expect(text.status == 0 && text.stdout.contains("4 message(s) to review; showing 1–2"), "\(text.stdout)")
        let bad = try CLI.run(["review", "--db", db, "--since", "yesterday"])
        #expect(bad.status == 2 && bad.stderr.contains("--since yesterday: not an ISO 8601"), "\(bad.stderr)")
        #expect(try CLI.run(["review", "--db", db, "--limit", "0"]).status == 2)
        let missing = try CLI.run(["review", "--db", w.path("none.sqlite")])
        #expect(missing.status == 1 && missing.stderr.contains("none.sqlite"), "\(missing.stderr)")

        // Shadow replay: the served model agrees with itself; one that is unsure of everything
        // routes the same categories and leaves every routed message to a person.
        let same = try JSONParser.parse(try CLI.run(["replay", "--db", db, "--model", w.model, "--trusted-key", w.publicKey, "--json"]).stdout)
        #expect(same["replayed"]?.numberValue?.intValue == 4 && same["agreement"]?.numberValue?.doubleValue == 1)
        #expect(same["newly_unsure"]?.numberValue?.intValue == 0 && same["relabelled"]?.numberValue?.intValue == 1)
        let wary = w.path("wary.triage")
        let trained = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", wary, "--unsure-threshold", "1", "--calibration-folds", "0", "--quiet"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let routed = items.filter { $0["unsure_reason"]?.stringValue == nil }.count
        let replayed = try CLI.run(["replay", "--db", db, "--model", wary, "--trusted-key", w.publicKey, "--json"])
        let report = try JSONParser.parse(replayed.stdout)
        #expect(report["newly_unsure"]?.numberValue?.intValue == routed && report["newly_routed"]?.numberValue?.intValue == 0, "\(replayed.stdout)")
        let replayText = try CLI.run(["replay", "--db", db, "--model", wary, "--trusted-key", w.publicKey])
        #expect(replayText.status == 0 && replayText.stdout.contains("4 message(s) replayed") && replayText.stdout.contains("would now be left to a person"),
                "\(replayText.stdout)")
        #expect(try CLI.run(["replay", "--db", db, "--model", wary, "--trusted-key", w.publicKey, "--since", "soon"]).status == 2)

        // Drift: the categories of the 4 latest predictions against the demo training labels.
        let drift = try CLI.run(["review", "--db", db, "--drift", "--model", w.model, "--trusted-key", w.publicKey, "--json"])
        let psi = try JSONParser.parse(drift.stdout)
        #expect(psi["observed"]?.numberValue?.intValue == 4 && (psi["psi"]?.numberValue?.doubleValue ?? -1) > 0, "\(drift.stdout)\(drift.stderr)")
        let driftText = try CLI.run(["review", "--db", db, "--drift", "--model", w.model, "--trusted-key", w.publicKey])
        #expect(driftText.status == 0 && driftText.stdout.contains("PSI ") && driftText.stdout.contains("over 4 message(s)"), "\(driftText.stdout)")
        #expect(try CLI.run(["review", "--db", db, "--drift"]).status == 2)
        let prioritised = try CLI.run(["review", "--db", db, "--model", w.model, "--trusted-key", w.publicKey, "--json"])
        let prioritisedPage = try JSONParser.parse(prioritised.stdout)
        #expect(prioritised.status == 0 && prioritisedPage["items"]?.arrayValue?.count == 4, "\(prioritised.stderr)")

        // Retrain's edges on this log (one relabel, r2 → other): a gate that cannot pass refuses
        // (exit 4, nothing written) unless --force; a label the base data lacks is a new queue.
        let common = ["retrain", "--log", db, "--model", w.model, "--trusted-key", w.publicKey, "--key", w.privateKey, "--eval-data", CLI.demoTest]
        let next = w.path("next.triage")
        let refused = try CLI.run(common + ["--data", CLI.demoTrain, "--out", next, "--gate", "accuracy>1"])
        #expect(refused.status == 4 && refused.stdout.contains("nothing written") && !FileManager.default.fileExists(atPath: next), "\(refused.stdout)\(refused.stderr)")
        let judged = w.path("judged.triage")
        let forced = try CLI.run(common + ["--data", CLI.demoTrain, "--out", next, "--gate", "accuracy>1", "--force", "--json", "--candidate", judged])
        let forcedReport = try JSONParser.parse(forced.stdout)
        #expect(forced.status == 0 && forcedReport["forced"]?.boolValue == true, "\(forced.stderr)")
        #expect(try CLI.run(["verify", "--model", next, "--trusted-key", w.publicKey]).status == 0)
        #expect(try CLI.run(["verify", "--model", judged, "--trusted-key", w.publicKey]).status == 0)
        let withoutOther = try MessageReader.readCSV(path: CLI.demoTrain).messages.filter { $0.label != "other" }
        let base = w.path("without-other.csv")
        try ("id,subject,body,label\n" + withoutOther.map { [$0.id, $0.subject, $0.body, $0.label ?? ""].map(CSVWriter.field).joined(separator: ",") + "\n" }.joined())
            .write(toFile: base, atomically: true, encoding: .utf8)
        let leftOut = try CLI.run(common + ["--data", base, "--out", next])
        #expect(leftOut.status == 1 && leftOut.stderr.contains("\"other\"") && leftOut.stderr.contains("no relabel to train on"), "\(leftOut.stderr)")
        let newQueue = try CLI.run(common + ["--data", base, "--out", next, "--allow-new-labels", "--gate", "accuracy>-1", "--json"])
        #expect(newQueue.status == 0 && newQueue.stderr.contains("trained as new classes"), "\(newQueue.stderr)")
        #expect(try CLI.run(common + ["--data", base, "--out", next, "--gate", "nonsense"]).status == 2)
    }

    /// Issue 28: beyond loopback, writes need tokens (or the operator's --open-writes); a token
    /// file others can read is refused; with one, a relabel needs a token and names its agent.
    @Test func listeningBeyondLoopbackNeedsWriteTokens() throws {
        let w = try Workspace.shared.get()
        let open = try CLI.run(["serve", "--model", w.model, "--trusted-key", w.publicKey, "--host", "0.0.0.0", "--port", "0"], timeout: 30)
        #expect(open.status == 1 && open.stderr.contains("--token-file") && open.stderr.contains("--open-writes"), "\(open.stderr)")
        let tokens = w.path("tokens.txt")
        try "ana:0123456789abcdef0123\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o644)
        let tooOpen = try CLI.run(["serve", "--model", w.model, "--trusted-key", w.publicKey, "--host", "0.0.0.0", "--port", "0", "--token-file", tokens], timeout: 30)
        #expect(tooOpen.status == 1 && tooOpen.stderr.contains("chmod 600"), "\(tooOpen.stderr)")
        chmod(tokens, 0o600)
        let db = w.path("tokens.sqlite")
        let server = try ServerProcess(["--model", w.model, "--trusted-key", w.publicKey, "--host", "0.0.0.0", "--token-file", tokens, "--db", db])
        let c = try HTTPConnection(port: server.port)
        #expect(try c.post("/messages", json: #"{"messages": [{"id": "t1", "body": "hello"}]}"#).status == 200)
        let label = Array(#"{"label": "other"}"#.utf8)
        #expect(try c.request("POST", "/messages/t1/label", body: label).status == 401)
        #expect(try c.request("POST", "/messages/t1/label", body: label, headers: [("Authorization", "Bearer 0123456789abcdef0123")]).status == 200)
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
        let agent = try SQLiteDatabase(path: db, mode: .readOnly).prepare("SELECT group_concat(agent) FROM labels")
        #expect(try agent.step() && agent.value(0) == .text("ana"))
    }

    /// Issue 31: a model with rules through the loop: served, its override's answer logged as
    /// the rule's, a relabel, and `retrain` keeps the champion's rules in the new model.
    @Test func aModelsRulesSurviveTheFeedbackLoop() throws {
        let w = try Workspace.shared.get()
        let rules = CLI.repository.appendingPathComponent("corpora/demo/rules.json").path
        let served = w.path("loop-rules.triage")
        let trained = try CLI.run(["train", "--data", CLI.demoTrain, "--rules", rules, "--key", w.privateKey, "--out", served,
                                   "--calibration-folds", "0", "--quiet"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let db = w.path("loop-rules.sqlite")
        let server = try ServerProcess(["--model", served, "--trusted-key", w.publicKey, "--db", db])
        let c = try HTTPConnection(port: server.port)
        let r = try c.post("/messages", json: #"{"messages": [{"id": "lr1", "subject": "mortgage", "body": "I lost my card"}, {"id": "lr2", "body": "the app crashes"}]}"#)
        #expect(r.json?["predictions"]?.arrayValue?.first?["by"]?.stringValue == "rule:lost-or-stolen-card", "\(r.text)")
        #expect(try c.request("POST", "/messages/lr2/label", body: Array(#"{"label": "incident_outage"}"#.utf8)).status == 200)
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
        let row = try SQLiteDatabase(path: db, mode: .readOnly).prepare("SELECT group_concat(decided_by, ' ') FROM (SELECT decided_by FROM predictions ORDER BY seq)")
        #expect(try row.step() && row.value(0) == .text("rule:lost-or-stolen-card model"))
        let next = w.path("loop-rules-next.triage")
        let retrained = try CLI.run(["retrain", "--log", db, "--data", CLI.demoTrain, "--model", served, "--trusted-key", w.publicKey,
                                     "--key", w.privateKey, "--out", next, "--eval-data", CLI.demoTest, "--force"])
        #expect(retrained.status == 0, "\(retrained.stderr)")
        let inspect = try CLI.run(["inspect", "--model", next, "--trusted-key", w.publicKey])
        #expect(inspect.stdout.contains("rules         5: 2 override, 3 feature"), "\(inspect.stdout)")
    }

    /// Issue 28's loop end to end, real server and log: predictions → relabels with a token →
    /// review → retrain (report, gate passes, the served file replaced) → reload with a token →
    /// the relabelled messages are now predicted as relabelled. (The refusal of a worse
    /// candidate: CLITests.promoteJudgesACandidateAgainstTheChampion.)
    @Test func theFeedbackLoopRunsEndToEnd() throws {
        let w = try Workspace.shared.get()
        // The recommended (linear) settings: what a team would serve.
        let served = w.path("loop.triage")
        let trained = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", served, "--calibration-folds", "0", "--quiet"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let tokens = w.path("loop-tokens.txt")
        try "ana:ana-token-0123456789abcdef\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        let db = w.path("loop.sqlite")
        let server = try ServerProcess(["--model", served, "--trusted-key", w.publicKey, "--db", db, "--token-file", tokens])
        let c = try HTTPConnection(port: server.port)
        let texts = ["the app says my account is frozen", "my screen shows error QM-17 whenever I pay my rent", "how do I order a cheque book"]
        let body = texts.enumerated().map { #"{"id": "loop-\#($0.offset)", "body": "\#($0.element)"}"# }.joined(separator: ", ")
        let first = try c.post("/messages", json: #"{"messages": [\#(body)]}"#)
        #expect(first.status == 200)
        let before = (first.json?["predictions"]?.arrayValue ?? []).map { $0["category"]?.stringValue ?? "" }
        // The agents' corrections: each message to a queue it was not routed to.
        let labels = ["account_access", "payments", "new_products"]
        let bearer = [("Authorization", "Bearer ana-token-0123456789abcdef")]
        for (i, label) in labels.enumerated() {
            let r = try c.request("POST", "/messages/loop-\(i)/label", body: Array(#"{"label": "\#(label)"}"#.utf8), headers: bearer)
            #expect(r.status == 200, "\(r.text)")
        }
        #expect(try c.request("POST", "/messages/loop-0/label", body: Array(#"{"label": "other"}"#.utf8)).status == 401)
        let review = try JSONParser.parse(try CLI.run(["review", "--db", db, "--json"]).stdout)
        #expect(review["total"]?.numberValue?.intValue == 3 && (review["items"]?.arrayValue ?? []).allSatisfy { $0["agent"]?.stringValue == "ana" })
        let retrain = try CLI.run(["retrain", "--log", db, "--data", CLI.demoTrain, "--model", served, "--trusted-key", w.publicKey, "--key", w.privateKey,
                                   "--eval-data", CLI.demoTest, "--holdout", "0", "--gate", "macro_f1>=-0.02,class_f1>=-0.1", "--out", served, "--json"])
        #expect(retrain.status == 0, "\(retrain.stdout)\(retrain.stderr)")
        let report = try JSONParser.parse(retrain.stdout)
        #expect(report["passed"]?.boolValue == true && report["relabels"]?["trained_on"]?.numberValue?.intValue == 3)
        #expect(FileManager.default.fileExists(atPath: served + ".promotion.json"))
        let reload = try c.request("POST", "/admin/reload", body: nil, headers: bearer)
        #expect(reload.status == 200 && reload.json?["model"]?.stringValue != first.json?["model"]?["id"]?.stringValue, "\(reload.text)")
        let after = try c.post("/messages", json: #"{"messages": [\#(body)]}"#)
        #expect((after.json?["predictions"]?.arrayValue ?? []).map { $0["category"]?.stringValue ?? "" } == labels, "before: \(before), after: \(after.text)")
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
    }

    @Test func sighupReloadsAndRefusesABadModel() throws {
        let w = try Workspace.shared.get()
        let model = w.path("hup.triage")
        try FileManager.default.copyItem(atPath: w.model, toPath: model)
        let server = try ServerProcess(["--model", model, "--trusted-key", w.publicKey])
        defer { server.signal(SIGTERM); _ = server.wait() }
        let c = try HTTPConnection(port: server.port)
        let before = try #require(c.get("/model").json?["id"]?.stringValue)
        // A different valid model, then SIGHUP: swapped.
        let other = w.path("hup-other.triage")
        let train = try CLI.run(["train", "--data", CLI.demoTrain, "--key", w.privateKey, "--out", other, "--preset", "talk", "--set", "clf.n_estimators=3", "--quiet"])
        #expect(train.status == 0)
        _ = rename(other, model)
        server.signal(SIGHUP)
        var after = before
        for _ in 0 ..< 100 where after == before {
            Thread.sleep(forTimeInterval: 0.05)
            after = try c.get("/model").json?["id"]?.stringValue ?? before
        }
        #expect(after != before)
        // Garbage, then SIGHUP: refused, still serving the last good model.
        try Data("{\"format\": \"triage-model\"}".utf8).write(to: URL(fileURLWithPath: model))
        server.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try c.get("/model").json?["id"]?.stringValue == after)
        #expect(try c.post("/messages", json: #"{"messages": [{"id": "1", "body": "hello"}]}"#).status == 200)
    }
}

final class AcknowledgedIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    func add(_ id: String) { lock.lock(); ids.append(id); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return ids }
}
