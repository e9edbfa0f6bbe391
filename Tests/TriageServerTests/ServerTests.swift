import Foundation
import Logging
import NIOPosix
import Testing
import TriageArtifact
import TriageBoost
import TriageCore
import TriageData
import TriageModel
import TriageText
@testable import TriageServer
import TriageTestSupport

/// A model trained once on the demo corpus and signed with a fresh key, in a temporary directory.
final class Fixture: @unchecked Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let directory: URL
    let key: SigningKey
    let modelPath: String
    let otherModelBytes: [UInt8]
    let modelBytes: [UInt8]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("triage-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        key = SigningKey()
        let messages = try MessageReader.readCSV(path: Self.repository.appendingPathComponent("corpora/demo/train.csv").path).messages
        var settings = PipelineSettings.talk
        settings.clean = CleanSettings()
        var clf = GradientBoostingClassifier()
        clf.nEstimators = 10
        settings.clf = .gradientBoosting(clf)
        let stopwords = [Self.repository.appendingPathComponent("stopwords").path]
        let pipeline = try settings.fit(messages, threads: 2, stopWordDirectories: stopwords)
        modelBytes = try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: messages), signingKey: key)
        clf.nEstimators = 5
        settings.clf = .gradientBoosting(clf)
        let other = try settings.fit(messages, threads: 2, stopWordDirectories: stopwords)
        otherModelBytes = try ModelArtifact.encode(other, provenance: Provenance(pipeline: other, messages: messages), signingKey: key)
        modelPath = directory.appendingPathComponent("model.triage").path
        try Data(modelBytes).write(to: URL(fileURLWithPath: modelPath))
    }

    static let shared = Result { try Fixture() }

    /// Starts a server on a free loopback port; `body` runs with it; the server stops after.
    func withServer(_ adjust: (inout ServerConfiguration) -> Void = { _ in }, _ body: (TriageServer, Int) async throws -> Void) async throws {
        var configuration = ServerConfiguration(modelPath: modelPath, trustedKeys: [key.verifyingKey])
        configuration.port = 0
        configuration.reloadOnSIGHUP = false
        configuration.databasePath = directory.appendingPathComponent("log-\(UUID().uuidString).sqlite").path
        adjust(&configuration)
        let server = try TriageServer(configuration: configuration)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { port in continuation.yield(port) } }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HTTPConnection.Failure(description: "server did not start") }
        do {
            try await body(server, port)
        } catch {
            await server.shutdown()
            _ = try? await task.value
            throw error
        }
        await server.shutdown()
        try await task.value
    }
}

@Suite("HTTP server", .serialized)
struct ServerTests {
    func fixture() throws -> Fixture { try Fixture.shared.get() }

    @Test func predictsBatchesAndLogsEveryPrediction() async throws {
        let f = try fixture()
        try await f.withServer { server, port in
            let c = try HTTPConnection(port: port)
            let r = try c.post("/messages", json: #"{"messages": [{"id": "m1", "subject": "Card stolen", "body": "my card was stolen"}, {"id": "m2", "body": "cannot log in"}, {"id": "3", "subject": null, "body": ""}]}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.headers["content-type"] == "application/json")
            let predictions = try #require(r.json?["predictions"]?.arrayValue)
            #expect(predictions.map { $0["id"]?.stringValue } == ["m1", "m2", "3"])
            for p in predictions {
                #expect(p["top"]?.arrayValue?.count == 3 && p["unsure"]?.boolValue != nil)
                #expect(p["category"]?.stringValue == p["top"]?.arrayValue?[0]["category"]?.stringValue)
            }
            #expect(r.json?["model"]?["id"]?.stringValue == server.store.current.id)
            // Same answer as the pipeline itself.
            let direct = server.store.current.loaded.pipeline.predict([Message(subject: "Card stolen", body: "my card was stolen")])[0]
            #expect(predictions[0]["category"]?.stringValue == direct.label)
            #expect(predictions[0]["probability"]?.numberValue?.doubleValue == direct.probability)
            // Logged before the response: the rows are there now.
            let db = try SQLiteDatabase(path: try #require(server.configuration.databasePath), mode: .readOnly)
            let count = try db.prepare("SELECT COUNT(*), MIN(subject), MAX(text_sha256) FROM predictions")
            #expect(try count.step() && count.value(0) == .integer(3))
            // With the margin the review queue orders by: top-1 − top-2.
            let top = try #require(predictions[0]["top"]?.arrayValue?.compactMap { $0["probability"]?.numberValue?.doubleValue })
            let margin = try db.prepare("SELECT margin FROM predictions WHERE message_id = 'm1'")
            #expect(try margin.step() && margin.value(0) == .real(top[0] - top[1]))
        }
    }

    @Test func anEmailIsCleanedBeforeItIsClassifiedAndLoggedAsItCame() async throws {
        let f = try fixture()
        try await f.withServer { server, port in
            let body = "<div>my card was stolen yesterday</div><div class=\"gmail_quote\">On Mon, 3 Jun 2024 at 14:02 Bank &lt;b@x.example&gt; wrote:"
                + "<blockquote>" + String(repeating: "I cannot log in to the app, my password does not work. ", count: 8) + "</blockquote></div>"
            let request = JSONWriter.string(["messages": [["id": "e1", "subject": "Re: Card", "body": .string(body)]]])
            let r = try HTTPConnection(port: port).post("/messages", json: request)
            #expect(r.status == 200, "\(r.text)")
            let pipeline = server.store.current.loaded.pipeline
            let cleaned = try #require(pipeline.cleaner).clean(Message(id: "e1", subject: "Re: Card", body: body))
            #expect(cleaned.body == "my card was stolen yesterday" && cleaned.subject == "Card")
            let answer = r.json?["predictions"]?[0]
            #expect(answer?["category"]?.stringValue == pipeline.predict([cleaned])[0].label)
            #expect(answer?["probability"]?.numberValue?.doubleValue == pipeline.predict([cleaned])[0].probability)
            // The log keeps the message as it came (what an agent reviews and a retrain reads).
            let db = try SQLiteDatabase(path: try #require(server.configuration.databasePath), mode: .readOnly)
            let row = try db.prepare("SELECT subject, body FROM predictions WHERE message_id = 'e1'")
            #expect(try row.step() && row.value(0) == .text("Re: Card") && row.value(1) == .text(body))
        }
    }

    /// Issue 30: a chat app forwards the e-mail as it came; the server reads it (MIME, charsets,
    /// encoded words), classifies its text, and logs the subject and body it read.
    @Test func aRawEmailIsReadClassifiedAndLogged() async throws {
        let f = try fixture()
        try await f.withServer({ c in c.limits.maxRawBytes = 4000 }) { server, port in
            let raw = "From: Zo=?utf-8?q?=C3=AB?= <z@x.example>\r\nSubject: =?utf-8?B?TWEgY2FydGU=?= stolen\r\nMessage-ID: <raw-1@x.example>\r\n"
                + "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n"
                + "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + "my card was stolen at the caf=E9 =\r\nyesterday\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>ignored</p>\r\n--b--\r\n"
            let request = JSONWriter.string(["messages": [["raw": .string(raw)], ["id": "own-id", "raw": .string(raw)]]])
            let r = try HTTPConnection(port: port).post("/messages", json: request)
            #expect(r.status == 200, "\(r.text)")
            let predictions = try #require(r.json?["predictions"]?.arrayValue)
            #expect(predictions.map { $0["id"]?.stringValue } == ["raw-1@x.example", "own-id"])
            let read = Message(id: "raw-1@x.example", subject: "Ma carte stolen", body: "my card was stolen at the café yesterday")
            let direct = server.store.current.loaded.pipeline.predict([read])[0]
            #expect(predictions[0]["category"]?.stringValue == direct.label)
            #expect(predictions[0]["probability"]?.numberValue?.doubleValue == direct.probability)
            let db = try SQLiteDatabase(path: try #require(server.configuration.databasePath), mode: .readOnly)
            let row = try db.prepare("SELECT subject, body FROM predictions WHERE message_id = 'raw-1@x.example'")
            #expect(try row.step() && row.value(0) == .text(read.subject) && row.value(1) == .text(read.body))

            // Bad raw input is a 400/422 naming the field, never a 500.
            let c = try HTTPConnection(port: port)
            func post(_ message: JSONValue) throws -> HTTPConnection.Response { try c.post("/messages", json: JSONWriter.string(["messages": [message]])) }
            let both = try post(["raw": .string(raw), "body": "x"])
            #expect(both.status == 400 && (both.errorMessage ?? "").contains("not both"), "\(both.text)")
            let number = try post(["raw": 3])
            #expect(number.status == 400 && number.json?["error"]?["field"]?.stringValue == "messages[0].raw")
            let noBoundary = try post(["raw": "Subject: x\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n"])
            #expect(noBoundary.status == 400 && (noBoundary.errorMessage ?? "").contains("without a boundary parameter: its parts cannot be found (byte 12)"), "\(noBoundary.text)")
            let longID = try post(["raw": .string("Message-ID: <" + String(repeating: "m", count: 300) + "@x.example>\r\nSubject: x\r\n\r\nbody\r\n")])
            #expect(longID.status == 422 && longID.json?["error"]?["field"]?.stringValue == "messages[0].raw"
                    && (longID.errorMessage ?? "").contains("give the message an \"id\""), "\(longID.text)")
            let big = try post(["raw": .string("Subject: x\r\n\r\n" + String(repeating: "a", count: 4000))])
            #expect(big.status == 422 && (big.errorMessage ?? "").contains("the limit is 4000"), "\(big.text)")
        }
    }

    @Test func aModelsOverrideRuleDecidesAndTheLogSaysSo() async throws {
        let f = try fixture()
        let messages = try MessageReader.readCSV(path: Fixture.repository.appendingPathComponent("corpora/demo/train.csv").path).messages
        let bytes = try Array(Data(contentsOf: Fixture.repository.appendingPathComponent("corpora/demo/rules.json")))
        let rules = try ModelRules(RuleSet.parse(bytes))
        var settings = PipelineSettings.talk
        var clf = GradientBoostingClassifier()
        clf.nEstimators = 5
        settings.clf = .gradientBoosting(clf)
        let fit = try PipelineFit(messages: messages, stopWordDirectories: [Fixture.repository.appendingPathComponent("stopwords").path], rules: rules)
        let pipeline = try fit.fit(settings, threads: 2).pipeline
        let path = f.directory.appendingPathComponent("rules-\(UUID().uuidString).triage").path
        try ModelArtifact.save(pipeline, to: path, provenance: Provenance(pipeline: pipeline, messages: messages), signingKey: f.key)
        try await f.withServer({ $0.modelPath = path }) { server, port in
            let c = try HTTPConnection(port: port)
            let r = try c.post("/messages", json: #"{"messages": [{"id": "r1", "subject": "Mortgage question", "body": "and I lost my card"}, {"id": "r2", "body": "how do I top up?"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            let predictions = try #require(r.json?["predictions"]?.arrayValue)
            #expect(predictions[0]["by"]?.stringValue == "rule:lost-or-stolen-card")
            #expect(predictions[0]["category"]?.stringValue == "card_loss_fraud" && predictions[0]["unsure"]?.boolValue == false)
            #expect(predictions[1]["by"]?.stringValue == "model")
            let db = try SQLiteDatabase(path: try #require(server.configuration.databasePath), mode: .readOnly)
            let row = try db.prepare("SELECT message_id, category, decided_by FROM predictions ORDER BY seq")
            #expect(try row.step() && row.value(0) == .text("r1") && row.value(1) == .text("card_loss_fraud") && row.value(2) == .text("rule:lost-or-stolen-card"))
            #expect(try row.step() && row.value(2) == .text("model"))
            // GET /model shows the rules and the head.
            let model = try c.get("/model")
            #expect(model.json?["head"]?.stringValue == "label")
            #expect(model.json?["rules"]?["rules"]?.arrayValue?.count == 5)
            // /metrics counts the rule's decision.
            let metrics = try c.get("/metrics")
            #expect(metrics.text.contains(#"triage_rule_decisions_total{rule="lost-or-stolen-card"} 1"#), "\(metrics.text)")
        }
    }

    @Test func aModelOfTwoHeadsAnswersEveryHeadAndLogsAndRelabelsEach() async throws {
        let f = try fixture()
        let path = Fixture.repository.appendingPathComponent("corpora/demo/heads/train.csv").path
        let queue = try MessageReader.readCSV(path: path, columns: ColumnMapping(label: "queue"), requireLabels: false)
        let priority = try MessageReader.readCSV(path: path, columns: ColumnMapping(label: "priority"), requireLabels: false)
        let messages = try queue.joiningHeads([priority], names: ["queue", "priority"], skipInvalid: false).messages
        let rules = try ModelRules(RuleSet(rules: [RuleSet.Rule(name: "stolen", words: ["stolen"], mode: .override, head: "priority", label: "urgent")]))
        var settings = PipelineSettings.talk
        var clf = GradientBoostingClassifier()
        clf.nEstimators = 5
        settings.clf = .gradientBoosting(clf)
        let fit = try PipelineFit(messages: messages, stopWordDirectories: [Fixture.repository.appendingPathComponent("stopwords").path], rules: rules,
                                  head: "queue", otherHeads: ["priority"])
        let heads = try fit.fitHeads(settings, threads: 2)
        let file = f.directory.appendingPathComponent("heads-\(UUID().uuidString).triage").path
        try ModelArtifact.save(heads.primary, to: file, provenance: Provenance(pipeline: heads.primary, messages: messages), signingKey: f.key,
                               otherHeads: Array(heads.heads.dropFirst()))
        try await f.withServer({ $0.modelPath = file }) { server, port in
            let c = try HTTPConnection(port: port)
            let r = try c.post("/messages", json: #"{"messages": [{"id": "h1", "subject": "card", "body": "my card was stolen"}, {"id": "h2", "body": "how do I order a new card?"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            let predictions = try #require(r.json?["predictions"]?.arrayValue)
            let first = predictions[0]
            // The top level is the first head; "heads" holds both, the rule deciding priority.
            #expect(first["heads"]?["queue"]?["category"]?.stringValue == first["category"]?.stringValue)
            #expect(first["heads"]?["priority"]?["category"]?.stringValue == "urgent" && first["heads"]?["priority"]?["by"]?.stringValue == "rule:stolen", "\(r.text)")
            #expect(first["by"]?.stringValue == "model")
            let direct = heads.predict([Message(id: "h2", subject: "", body: "how do I order a new card?")], threads: 1)[0]
            #expect(predictions[1]["heads"]?["priority"]?["category"]?.stringValue == direct[1].label)
            // The canonical document the writer promises.
            #expect(try JSONWriter.bytes(JSONParser.parse(Array(r.text.utf8))) == Array(r.text.utf8))
            // Each head's answer is logged; a relabel names its head, an unknown head or label is a 422.
            #expect(try c.request("POST", "/messages/h2/label", body: Array(#"{"label": "low", "head": "priority"}"#.utf8)).status == 200)
            #expect(try c.request("POST", "/messages/h2/label", body: Array(#"{"label": "low"}"#.utf8)).status == 422)
            #expect(try c.request("POST", "/messages/h2/label", body: Array(#"{"label": "low", "head": "severity"}"#.utf8)).status == 422)
            let db = try SQLiteDatabase(path: try #require(server.configuration.databasePath), mode: .readOnly)
            let row = try db.prepare("SELECT p.message_id, h.head, h.category, h.decided_by FROM prediction_heads h JOIN predictions p ON p.seq = h.prediction_seq ORDER BY p.seq")
            #expect(try row.step() && row.value(0) == .text("h1") && row.value(1) == .text("priority") && row.value(2) == .text("urgent") && row.value(3) == .text("rule:stolen"))
            #expect(try row.step() && row.value(0) == .text("h2"))
            let label = try db.prepare("SELECT label, head FROM labels")
            #expect(try label.step() && label.value(0) == .text("low") && label.value(1) == .text("priority"))
            let model = try c.get("/model")
            #expect(model.json?["heads"]?.arrayValue?.map { $0["name"]?.stringValue } == ["queue", "priority"])
        }
    }

    @Test func everyErrorStatusIsJSONNamingTheProblem() async throws {
        let f = try fixture()
        try await f.withServer({ c in
            c.limits.maxBodyBytes = 4096
            c.limits.maxMessages = 5
            c.limits.maxMessageBytes = 200
        }) { _, port in
            let c = try HTTPConnection(port: port)
            // 405 with Allow.
            let get = try c.get("/messages")
            #expect(get.status == 405 && get.headers["allow"] == "POST" && get.errorMessage != nil)
            // 415.
            #expect(try c.post("/messages", json: #"{"messages": []}"#, contentType: "text/plain").status == 415)
            #expect(try c.post("/messages", json: #"{"messages": []}"#, contentType: nil).status == 415)
            // 400: malformed JSON with its place; missing and mistyped fields named.
            let malformed = try c.post("/messages", json: #"{"messages": [{"id": "1", "body": "x"}"#)
            #expect(malformed.status == 400 && (malformed.errorMessage ?? "").contains("malformed JSON at line 1"), "\(malformed.text)")
            #expect(try c.post("/messages", json: #"{"msgs": []}"#).errorField == "messages")
            #expect(try c.post("/messages", json: #"{"messages": {}}"#).errorField == "messages")
            #expect(try c.post("/messages", json: #"{"messages": []}"#).status == 400)
            #expect(try c.post("/messages", json: "[1, 2]").status == 400)
            // Issue 25 item 22: an id is a string, as the OpenAPI document says; a number is refused.
            let numeric = try c.post("/messages", json: #"{"messages": [{"id": 1, "body": "card"}]}"#)
            #expect(numeric.status == 400 && numeric.json?["error"]?["field"]?.stringValue == "messages[0].id", "\(numeric.text)")
            #expect((numeric.errorMessage ?? "").contains(#"write "1" for the number 1"#))
            #expect(try c.post("/messages", json: "").status == 400)
            // A batch with one bad message is refused whole, naming its index.
            let mixed = try c.post("/messages", json: #"{"messages": [{"id": "a", "body": "ok"}, {"id": "b", "body": "ok"}, {"id": "c", "body": 42}]}"#)
            #expect(mixed.status == 400 && mixed.errorField == "messages[2].body", "\(mixed.text)")
            #expect(try c.post("/messages", json: #"{"messages": [{"body": "no id"}]}"#).errorField == "messages[0].id")
            #expect(try c.post("/messages", json: #"{"messages": [{"id": "x", "subject": 1, "body": "b"}]}"#).errorField == "messages[0].subject")
            // 413 over the body limit (declared or streamed).
            let big = "{\"messages\": [{\"id\": \"1\", \"body\": \"" + String(repeating: "a", count: 5000) + "\"}]}"
            #expect(try c.post("/messages", json: big).status == 413)
            // 422: too many messages, over-long message.
            let six = "{\"messages\": [" + (0 ..< 6).map { "{\"id\": \"\($0)\", \"body\": \"hi\"}" }.joined(separator: ",") + "]}"
            let tooMany = try c.post("/messages", json: six)
            #expect(tooMany.status == 422 && tooMany.errorField == "messages")
            let long = "{\"messages\": [{\"id\": \"1\", \"body\": \"" + String(repeating: "b", count: 300) + "\"}]}"
            #expect(try c.post("/messages", json: long).status == 422)
            // 404 as JSON.
            let missing = try c.get("/nope")
            #expect(missing.status == 404 && missing.json?["error"]?["status"]?.numberValue?.intValue == 404)
            // The connection survived all of it.
            #expect(try c.get("/health").status == 200)
        }
    }

    @Test func relabelRoundTripIntoTheExport() async throws {
        let f = try fixture()
        try await f.withServer { server, port in
            let c = try HTTPConnection(port: port)
            _ = try c.post("/messages", json: #"{"messages": [{"id": "chat-9", "subject": "Help", "body": "my card, was \"lost\"\nyesterday"}, {"id": "chat-10", "body": "hello"}]}"#)
            let label = server.store.current.labels[1]
            let ok = try c.post("/messages/chat-9/label", json: "{\"label\": \"\(label)\", \"agent\": \"ana\"}")
            #expect(ok.status == 200, "\(ok.text)")
            #expect(try c.post("/messages/unknown/label", json: "{\"label\": \"\(label)\"}").status == 404)
            let bad = try c.post("/messages/chat-9/label", json: #"{"label": "no-such-queue"}"#)
            #expect(bad.status == 422 && bad.errorField == "label")
            #expect(try c.post("/messages/chat-9/label", json: #"{"agent": "x"}"#).errorField == "label")
            #expect(try c.get("/messages/chat-9/label").status == 405)
            let out = f.directory.appendingPathComponent("corrections-\(UUID().uuidString).csv").path
            let summary = try FeedbackExport.export(database: try #require(server.configuration.databasePath), to: out)
            #expect(summary == FeedbackExport.Summary(exported: 1, withoutText: 0))
            let exported = try MessageReader.readCSV(path: out).messages
            #expect(exported.count == 1 && exported[0].id == "chat-9" && exported[0].body == "my card, was \"lost\"\nyesterday" && exported[0].label == label)
            // The review queue over HTTP: both messages, the relabelled one marked; bad parameters named.
            let review = try c.get("/review?limit=10&unlabelled=false")
            #expect(review.status == 200 && review.json?["total"]?.numberValue?.intValue == 2, "\(review.text)")
            #expect(review.json?["drifted"]?.arrayValue != nil)
            let items = review.json?["items"]?.arrayValue ?? []
            #expect(items.first { $0["id"]?.stringValue == "chat-9" }?["label"]?.stringValue == label)
            #expect(try c.get("/review?unlabelled=true").json?["total"]?.numberValue?.intValue == 1)
            #expect(try c.get("/review?since=2000-01-01&until=2000-01-02").json?["total"]?.numberValue?.intValue == 0)
            for bad in ["limit=0", "offset=-1", "since=yesterday", "unlabelled=maybe", "colour=blue"] {
                let r = try c.get("/review?\(bad)")
                #expect(r.status == 400 && r.errorField == String(bad.prefix { $0 != "=" }), "\(bad): \(r.text)")
            }
            #expect(try c.post("/review", json: "{}").status == 405)
        }
    }

    @Test func withoutStoredTextOnlyHashesAreLogged() async throws {
        let f = try fixture()
        try await f.withServer({ $0.storeText = false }) { server, port in
            let c = try HTTPConnection(port: port)
            #expect(try c.post("/messages", json: #"{"messages": [{"id": "p1", "subject": "secret", "body": "my IBAN is DE00"}]}"#).status == 200)
            let db = try SQLiteDatabase(path: try #require(server.configuration.databasePath), mode: .readOnly)
            let row = try db.prepare("SELECT subject, body, text_sha256 FROM predictions")
            #expect(try row.step())
            #expect(row.value(0) == .null && row.value(1) == .null)
            #expect(row.value(2) == .text(StableHash.hex(Array("secret\nmy IBAN is DE00".utf8))))
        }
    }

    @Test func informationRoutes() async throws {
        let f = try fixture()
        try await f.withServer { server, port in
            let c = try HTTPConnection(port: port)
            #expect(try c.get("/health").json?["status"]?.stringValue == "alive")
            let ready = try c.get("/ready")
            #expect(ready.status == 200 && ready.json?["status"]?.stringValue == "ready")
            let model = try c.get("/model")
            #expect(model.json?["labels"]?.arrayValue?.count == 8 && model.json?["key_id"]?.stringValue == f.key.verifyingKey.id)
            #expect(model.json?["parameters"]?["vect"]?["stemmer"]?.stringValue == "english")
            // The policy as served: a fixture model of this release holds one (manual here).
            #expect(model.json?["confidence_policy"]?["goal"]?["kind"]?.stringValue != nil)
            #expect(model.json?["confidence_policy"]?["threshold"]?.numberValue?.doubleValue == model.json?["unsure_threshold"]?.numberValue?.doubleValue)
            let answer = try c.post("/messages", json: #"{"messages": [{"id": "1", "body": "my card was stolen"}]}"#)
            let first = answer.json?["predictions"]?.arrayValue?.first
            #expect(first?["reason"] != nil && (first?["unsure"]?.boolValue == true) == (first?["reason"]?.stringValue != nil), "\(answer.text)")
            let metrics = try c.get("/metrics")
            #expect(metrics.text.contains("triage_unsure_predictions_total{reason=\"low_confidence\"}"), "\(metrics.text)")
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("triage_http_requests_total{route=\"/messages\",status=\"200\"} 1"), "\(metrics.text)")
            #expect(metrics.text.contains("triage_http_request_duration_seconds_bucket{route=\"/messages\",le=\"+Inf\"} 1"))
            #expect(metrics.text.contains("triage_predictions_total{category="))
            #expect(metrics.text.contains("# TYPE triage_prediction_drift_psi gauge"), "\(metrics.text)")
            #expect(metrics.text.contains("triage_model_info{model_id=\"\(server.store.current.id)\""))
            let openapi = try c.get("/openapi.json")
            let paths = try #require(openapi.json?["paths"]?.objectValue)
            #expect(Set(paths.keys) == ["/messages", "/messages/{id}/label", "/health", "/ready", "/model", "/metrics", "/openapi.json", "/review", "/admin/reload"])
        }
    }

    @Test func reloadUnderConcurrentRequestsFailsNone() async throws {
        let f = try fixture()
        try await f.withServer { server, port in
            let first = server.store.current.id
            let failures = Counter(), served = Counter()
            let stop = Counter()
            let clients = (0 ..< 4).map { i in
                Thread {
                    guard let c = try? HTTPConnection(port: port) else { failures.add(); return }
                    var n = 0
                    while stop.value == 0 || n < 50 {
                        n += 1
                        let r = try? c.post("/messages", json: "{\"messages\": [{\"id\": \"t\(i)-\(n)\", \"body\": \"my card was stolen \(n)\"}]}")
                        if r?.status == 200 { served.add() } else { failures.add() }
                    }
                }
            }
            clients.forEach { $0.start() }
            let admin = try HTTPConnection(port: port)
            var ids = Set<String>()
            for round in 0 ..< 6 {
                // Swap the file atomically between two valid models, then reload.
                let bytes = round % 2 == 0 ? f.otherModelBytes : f.modelBytes
                let temporary = f.modelPath + ".tmp"
                try Data(bytes).write(to: URL(fileURLWithPath: temporary))
                _ = rename(temporary, f.modelPath)
                let r = try admin.request("POST", "/admin/reload", contentType: nil)
                #expect(r.status == 200, "\(r.text)")
                ids.insert(server.store.current.id)
                if round == 2 { _ = try admin.get("/metrics") }  // the counts are copied in at each scrape
                try await Task.sleep(for: .milliseconds(100))
            }
            stop.add()
            while clients.contains(where: { !$0.isFinished }) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(failures.value == 0)
            #expect(served.value >= 200)
            #expect(ids.count == 2 && ids.contains(first))
            #expect(server.store.snapshot.reloads == 6)
            // /metrics: every reload counted once, and only the model now served described.
            let metrics = try admin.get("/metrics").text
            #expect(metrics.contains(#"triage_model_reloads_total{result="ok"} 6"#), "\(metrics)")
            #expect(metrics.contains(#"triage_model_reloads_total{result="refused"} 0"#))
            let info = metrics.split(separator: "\n").filter { $0.hasPrefix("triage_model_info{") }
            #expect(info.count == 1 && info.first?.contains(server.store.current.id) == true, "\(info)")
            try Data(f.modelBytes).write(to: URL(fileURLWithPath: f.modelPath))
        }
    }

    @Test func tamperedArtifactIsRefusedAndTheOldModelKeepsServing() async throws {
        let f = try fixture()
        try await f.withServer { server, port in
            let before = server.store.current.id
            var bytes = f.modelBytes
            bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "Q") ? UInt8(ascii: "R") : UInt8(ascii: "Q")
            try Data(bytes).write(to: URL(fileURLWithPath: f.modelPath))
            defer { try? Data(f.modelBytes).write(to: URL(fileURLWithPath: f.modelPath)) }
            let c = try HTTPConnection(port: port)
            let r = try c.request("POST", "/admin/reload", contentType: nil)
            #expect(r.status == 422 && (r.errorMessage ?? "").contains("old model keeps serving"), "\(r.text)")
            #expect(server.store.current.id == before && server.store.snapshot.refusedReloads == 1)
            #expect(try c.post("/messages", json: #"{"messages": [{"id": "1", "body": "hello"}]}"#).status == 200)
            #expect(try c.get("/model").json?["id"]?.stringValue == before)
            #expect(try c.get("/metrics").text.contains(#"triage_model_reloads_total{result="refused"} 1"#))
        }
    }

    @Test func slowAndIdleClientsAreCutOff() async throws {
        let f = try fixture()
        try await f.withServer({ c in
            c.idleTimeoutSeconds = 1
            c.limits.bodyTimeoutSeconds = 1
        }) { _, port in
            // Idle: connected, sends nothing.
            let idle = try HTTPConnection(port: port, timeoutSeconds: 10)
            let start = Date()
            #expect(idle.isClosedByServer())
            #expect(Date().timeIntervalSince(start) < 8)
            // Trickling a body, a byte every 0.4 s (never idle for 1 s): 408 once the body is late.
            let slow = try HTTPConnection(port: port, timeoutSeconds: 10)
            let body = Array(#"{"messages": [{"id": "1", "body": "hello there"}]}"#.utf8)
            try slow.send(Array("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
            // Six bytes over 2.4 s: past the 1 s body deadline but never idle for 1 s.
            for b in body.prefix(6) {
                try slow.send([b])
                try await Task.sleep(for: .milliseconds(400))
            }
            let status = (try? slow.readResponse())?.status
            #expect(status == 408, "status \(String(describing: status))")
        }
    }
    /// Issue 25 item 21: the body deadline is a timer — a body that stalls after its head, or
    /// trickles, gets its 408 at the body timeout, long before the idle timeout, on either path;
    /// then the connection is closed.
    @Test(arguments: [true, false]) func aStalledOrTrickledBodyGets408AtTheBodyTimeout(fastPath: Bool) async throws {
        let f = try fixture()
        try await f.withServer({ c in
            c.idleTimeoutSeconds = 30
            c.limits.bodyTimeoutSeconds = 1
            c.messagesFastPath = fastPath
        }) { _, port in
            let body = Array(#"{"messages": [{"id": "1", "body": "hello there"}]}"#.utf8)
            let head = Array("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
            for trickle in [false, true] {
                let c = try HTTPConnection(port: port, timeoutSeconds: 10)
                let start = Date()
                try c.send(head + body.prefix(3))
                if trickle {
                    for b in body.dropFirst(3).prefix(5) {
                        try await Task.sleep(for: .milliseconds(400))
                        try? c.send([b])
                    }
                }
                let response = try c.readResponse()
                #expect(response.status == 408, "trickle \(trickle): \(response.status)")
                #expect(Date().timeIntervalSince(start) < 4, "trickle \(trickle): 408 after \(Date().timeIntervalSince(start)) s")
                #expect(c.isClosedByServer())
                #expect(Date().timeIntervalSince(start) < 6, "trickle \(trickle): closed after \(Date().timeIntervalSince(start)) s")
            }
        }
    }

    /// Item 21: a head that stalls or trickles gets the JSON 408 at the head timeout, counted
    /// from its first byte, long before the idle timeout; then the connection is closed.
    @Test(arguments: [true, false]) func aSlowHeadGets408AtTheHeadTimeout(fastPath: Bool) async throws {
        let f = try fixture()
        try await f.withServer({ c in
            c.idleTimeoutSeconds = 30
            c.headTimeoutSeconds = 1
            c.messagesFastPath = fastPath
        }) { server, port in
            let head = Array("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Padding: abcdefghij\r\n".utf8)
            for trickle in [false, true] {
                let c = try HTTPConnection(port: port, timeoutSeconds: 10)
                // A connection may wait before its first byte (the idle rule, not this one).
                try await Task.sleep(for: .milliseconds(1500))
                let start = Date()
                try c.send(Array(head.prefix(10)))
                if trickle {
                    for b in head.dropFirst(10).prefix(8) {
                        try await Task.sleep(for: .milliseconds(250))
                        try? c.send([b])
                    }
                }
                let response = try c.readResponse()
                #expect(response.status == 408 && response.errorMessage?.contains("request head took longer") == true, "\(response.text)")
                #expect(response.headers["connection"] == "close")
                #expect(Date().timeIntervalSince(start) < 3, "trickle \(trickle): 408 after \(Date().timeIntervalSince(start)) s")
                #expect(c.isClosedByServer())
            }
            // A request that comes whole on the same kind of connection is untouched.
            let ok = try HTTPConnection(port: port)
            #expect(try ok.post("/messages", json: #"{"messages": [{"id": "1", "body": "my card was stolen"}]}"#).status == 200)
            #expect(server.metrics.render(server.store.snapshot, log: nil).contains(#"triage_http_requests_total{route="unparsed",status="408"} 2"#))
        }
    }

    /// The head rule of `ConnectionRules`: a head trickled a byte at a time is not activity —
    /// only a whole request or an answer is — so it must be complete within the idle timeout
    /// of the connection's start (or last answer), on either path, or the connection is closed.
    @Test(arguments: [true, false]) func aTrickledHeadIsCutOffAtTheIdleTimeout(fastPath: Bool) async throws {
        let f = try fixture()
        try await f.withServer({ c in
            c.idleTimeoutSeconds = 1
            c.messagesFastPath = fastPath
        }) { _, port in
            let slow = try HTTPConnection(port: port, timeoutSeconds: 10)
            let head = Array("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Padding: abcdefghijklmnopqrstuvwxyz\r\n".utf8)
            let start = Date()
            var sent = 0
            // A byte every 0.25 s (never idle for 1 s): the head would take 15 s.
            for b in head {
                guard (try? slow.send([b])) != nil else { break }
                sent += 1
                try await Task.sleep(for: .milliseconds(250))
                if Date().timeIntervalSince(start) > 3 { break }
            }
            #expect(slow.isClosedByServer())
            #expect(Date().timeIntervalSince(start) < 2.5, "closed after \(Date().timeIntervalSince(start)) s, \(sent) bytes sent")
            #expect(sent < head.count)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

@Suite struct ResponseWritingTests {
    /// The answer as a `JSONValue` tree, written canonically: what the direct writer must equal.
    static func reference(_ predictions: [Prediction], modelID: String, version: String) -> [UInt8] {
        let rows: [JSONValue] = predictions.map { p in
            var o = JSONObject()
            o["id"] = .string(p.id)
            o["category"] = .string(p.label)
            o["probability"] = JSONValue.double(p.probability) ?? .null
            o["top"] = .array(p.top.map { ["category": .string($0.label), "probability": JSONValue.double($0.probability) ?? .null] })
            o["unsure"] = .bool(p.unsure)
            o["reason"] = p.reason.map { .string($0.rawValue) } ?? .null
            o["by"] = .string(p.decidedBy)
            return .object(o)
        }
        return JSONWriter.bytes(["model": ["id": .string(modelID), "version": .string(version)], "predictions": .array(rows)])
    }

    @Test func predictionsAreWrittenAsTheCanonicalDocument() throws {
        let odd = "quote \" backslash \\ newline \n tab \t nul \u{0} é 🙂"
        let predictions = [
            Prediction(id: "1", label: "card_arrival", probability: 0.75, top: [.init(label: "card_arrival", probability: 0.75), .init(label: odd, probability: 1e-7)], unsure: false),
            Prediction(id: odd, label: odd, probability: 0.1, top: [.init(label: odd, probability: 0.1)], unsure: true),
            Prediction(id: "3", label: "x", probability: 1, top: [], unsure: false),
            Prediction(id: "4", label: "y", probability: .nan, top: [.init(label: "y", probability: .infinity)], unsure: true),
            Prediction(id: "5", label: "oos", probability: 0.9, top: [], unsure: true, reason: .outOfScope),
            Prediction(id: "6", label: "z", probability: 0.5, top: [], unsure: true, reason: .ambiguous),
            Prediction(id: "7", label: "card_loss", probability: 0.2, top: [], unsure: false, rule: "lost-card.v2"),
        ]
        for n in 0 ... predictions.count {
            let part = Array(predictions.prefix(n))
            let direct = ResponseJSON.predictions(part, modelID: "abc\"d", version: "2026-12-01T00:00:00Z")
            #expect(direct == Self.reference(part, modelID: "abc\"d", version: "2026-12-01T00:00:00Z"), "\(String(decoding: direct, as: UTF8.self))")
            #expect(throws: Never.self) { try JSONParser.parse(direct) }
        }
    }
}

@Suite struct TimestampTests {
    @Test func logTimestampsMatchFoundationsISO8601() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var random = SeededGenerator(seed: 9)
        // Leap days, century years, the epoch, and random instants from 1970 to 2200.
        var instants: [Double] = [0, 0.999, 951_782_400, 951_868_799.5, 4_107_542_400, 1_764_614_232.123, 1_709_164_800 - 0.001]
        for _ in 0 ..< 2000 { instants.append(random.nextUnit() * 7_258_118_400) }
        for t in instants {
            #expect(UTCTimestamp.string(t) == formatter.string(from: Date(timeIntervalSince1970: t)), "\(t)")
        }
    }
}

@Suite struct PredictionLogTests {
    static func row(_ i: Int) -> LoggedPrediction {
        LoggedPrediction(messageID: "m\(i)", receivedAt: 1_764_614_232.5 + Double(i), modelID: "model", subject: i % 2 == 0 ? "" : "s\(i)",
                         body: "body \(i)", textSHA256: "h", category: "c\(i % 3)", probability: 0.5,
                         top: [("c\(i % 3)", 0.5), ("quote \" é", 1e-7)], unsure: i % 2 == 0, latencyMilliseconds: 0.1)
    }

    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("triage-log-\(UUID().uuidString).sqlite").path
    }

    /// Issue 27: a log written by the previous release (schema version 1, exactly as it created
    /// it) opens, migrates to the current version and keeps every row; a newer file is refused.
    @Test func aLogOfTheLastReleaseMigratesAndKeepsEveryRow() async throws {
        let path = Self.temporaryPath()
        do {
            let old = try SQLiteDatabase(path: path)
            try old.execute(PredictionLog.migrations[0] + "PRAGMA user_version = 1;")
            try old.execute("""
                INSERT INTO predictions (message_id, received_at, model_id, subject, body, text_sha256, category, probability, top_json, unsure, latency_ms)
                VALUES ('old-1', '2026-12-01T00:00:00Z', 'm', 's', 'b', 'h', 'c', 0.9, '[]', 0, 1.0),
                       ('old-2', '2026-12-01T00:00:01Z', 'm', 's', 'b', 'h', 'c', 0.2, '[]', 1, 1.0);
                INSERT INTO labels (prediction_seq, message_id, label, agent, labelled_at, model_id) VALUES (2, 'old-2', 'd', 'ana', '2026-12-01T00:01:00Z', 'm');
                """)
        }
        let log = try PredictionLog(path: path, commitWindow: .zero)
        var fresh = Self.row(7)
        fresh.unsure = true
        fresh.unsureReason = "ambiguous"
        try await log.record([fresh])
        #expect(try await log.relabel(messageID: "old-1", label: "e", agent: nil, modelID: "m") == .recorded(predictionSeq: 1))
        log.close()
        let db = try SQLiteDatabase(path: path, mode: .readOnly)
        #expect(try PredictionLog.userVersion(db) == PredictionLog.schemaVersion)
        let q = try db.prepare("SELECT group_concat(message_id || ':' || coalesce(unsure_reason, '-'), ' ') FROM (SELECT * FROM predictions ORDER BY seq)")
        #expect(try q.step() && q.value(0) == .text("old-1:- old-2:low_confidence m7:ambiguous"))
        let labels = try db.prepare("SELECT COUNT(*) FROM labels")
        #expect(try labels.step() && labels.value(0) == .integer(2))
        // A file from a newer release is refused, named.
        let newer = Self.temporaryPath()
        try SQLiteDatabase(path: newer).execute("PRAGMA user_version = \(PredictionLog.schemaVersion + 1)")
        #expect { _ = try PredictionLog(path: newer) } throws: { "\($0)".contains("newer than this release") }
    }

    /// Issue 28: a log of schema 2 (the release before margins) gains `margin`, computed from
    /// the two first labels of `top_json` where it has them.
    @Test func aLogOfSchemaTwoGainsMargins() async throws {
        let path = Self.temporaryPath()
        do {
            let old = try SQLiteDatabase(path: path)
            try old.execute(PredictionLog.migrations[0] + PredictionLog.migrations[1] + "PRAGMA user_version = 2;")
            try old.execute("""
                INSERT INTO predictions (message_id, received_at, model_id, subject, body, text_sha256, category, probability, top_json, unsure, latency_ms, unsure_reason)
                VALUES ('two', '2026-12-01T00:00:00.000Z', 'm', 's', 'b', 'h', 'c', 0.625, '[["c",0.625],["d",0.25]]', 0, 1.0, NULL),
                       ('one', '2026-12-01T00:00:01.000Z', 'm', 's', 'b', 'h', 'c', 0.5, '[["c",0.5]]', 0, 1.0, NULL);
                """)
        }
        let log = try PredictionLog(path: path, commitWindow: .zero)
        var fresh = Self.row(3)
        fresh.margin = 0.125
        try await log.record([fresh])
        log.close()
        let db = try SQLiteDatabase(path: path, mode: .readOnly)
        let q = try db.prepare("SELECT group_concat(message_id || ':' || coalesce(margin, '-'), ' ') FROM (SELECT * FROM predictions ORDER BY seq)")
        #expect(try q.step() && q.value(0) == .text("two:0.375 one:- m3:0.125"))
    }

    /// The review queue: each message's latest prediction, unsure first, then by margin; the
    /// filters and the pages.
    @Test func theReviewQueueOrdersFiltersAndPages() async throws {
        let path = Self.temporaryPath()
        let log = try PredictionLog(path: path, commitWindow: .zero)
        func row(_ id: String, _ second: Double, category: String = "c", margin: Double?, reason: String? = nil) -> LoggedPrediction {
            var r = Self.row(0)
            r.messageID = id
            r.receivedAt = 1_764_547_200 + second   // 2025-12-01T00:00:00Z + second
            r.category = category
            r.margin = margin
            r.unsure = reason != nil
            r.unsureReason = reason
            return r
        }
        try await log.record([
            row("sure", 0, margin: 0.9), row("close", 1, margin: 0.05), row("unsure", 2, margin: 0.3, reason: "low_confidence"),
            row("other", 3, category: "d", margin: 0.01), row("old-margin", 4, margin: nil),
            // A message predicted twice: only its latest prediction counts.
            row("again", 5, margin: 0.02), row("again", 6, margin: 0.8),
        ])
        #expect(try await log.relabel(messageID: "close", label: "d", agent: "ana", modelID: "model") == .recorded(predictionSeq: 2))
        log.close()
        func ids(_ query: ReviewQueue.Query) throws -> [String] { try ReviewQueue.page(database: path, query: query).items.map(\.messageID) }
        #expect(try ids(.init()) == ["unsure", "other", "close", "again", "sure", "old-margin"])
        let page = try ReviewQueue.page(database: path, query: .init(limit: 2, offset: 2))
        #expect(page.total == 6 && page.items.map(\.messageID) == ["close", "again"])
        #expect(page.items[0].label == "d" && page.items[0].agent == "ana" && page.items[1].label == nil)
        #expect(try ids(.init(category: "d")) == ["other"])
        // Drifted categories come right after the unsure messages.
        #expect(try ids(.init(drifted: ["c"])) == ["unsure", "close", "again", "sure", "old-margin", "other"])
        let psi = PopulationStability(expected: ["c": 50, "d": 50], actual: ["c": 9, "d": 1])
        #expect(ReviewQueue.drifted(psi) == ["c"])
        #expect(try ids(.init(unlabelledOnly: true)) == ["unsure", "other", "again", "sure", "old-margin"])
        #expect(try ids(.init(since: 1_764_547_202, until: 1_764_547_204)) == ["unsure", "other"])
        #expect(try ids(.init(offset: 10)).isEmpty)
        // A file that is not there, or of another schema, is named.
        #expect { _ = try ReviewQueue.page(database: path + ".missing", query: .init()) } throws: { "\($0)".contains("no such database file") }
        let old = Self.temporaryPath()
        try SQLiteDatabase(path: old).execute(PredictionLog.migrations[0] + "PRAGMA user_version = 1;")
        #expect { _ = try ReviewQueue.page(database: old, query: .init()) } throws: { "\($0)".contains("older than this release") }
    }

    @Test func concurrentRowsShareCommitsWithinTheWindow() async throws {
        let path = Self.temporaryPath()
        let log = try PredictionLog(path: path, commitWindow: .milliseconds(200))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0 ..< 64 { group.addTask { try await log.record([Self.row(i)]) } }
            try await group.waitForAll()
        }
        #expect(log.committedRows == 64)
        #expect(log.commits < 16, "64 rows queued within a 200 ms window took \(log.commits) commits")
        log.close()
        let db = try SQLiteDatabase(path: path, mode: .readOnly)
        let q = try db.prepare("SELECT COUNT(*), COUNT(DISTINCT message_id), SUM(subject = ''), SUM(subject IS NULL) FROM predictions")
        #expect(try q.step())
        #expect(q.value(0) == .integer(64) && q.value(1) == .integer(64))
        #expect(q.value(2) == .integer(32), "an empty subject is stored as '', not NULL")
        #expect(q.value(3) == .integer(0))
    }

    /// A batch that cannot be written fails its callers (the server answers them 503) and the
    /// next batch is written: here another connection holds the write lock past the writer's
    /// 5 s busy timeout, then lets go.
    @Test(.timeLimit(.minutes(2))) func aFailedCommitFailsItsBatchAndTheNextOneIsWritten() async throws {
        let path = Self.temporaryPath()
        let log = try PredictionLog(path: path, commitWindow: .zero)
        try await log.record([Self.row(0)])
        let other = try SQLiteDatabase(path: path)
        try other.execute("BEGIN IMMEDIATE")
        await #expect { try await log.record([Self.row(1)]) } throws: { "\($0)".contains("locked") }
        #expect(log.lastError?.contains("locked") == true, "/ready reports the failure")
        try other.execute("ROLLBACK")
        try await log.record([Self.row(2)])
        #expect(log.lastError == nil, "a commit clears the failure")
        #expect(log.committedRows == 2)
        log.close()
        let q = try other.prepare("SELECT group_concat(message_id) FROM predictions")
        #expect(try q.step() && q.value(0) == .text("m0,m2"))
    }

    // Windows of an hour: a test that waited one out would hit its time limit and fail.
    @Test(.timeLimit(.minutes(2))) func aZeroWindowCommitsAtOnceAndAFullBatchDoesNotWait() async throws {
        let immediate = try PredictionLog(path: Self.temporaryPath(), commitWindow: .zero)
        try await immediate.record([Self.row(1)])
        #expect(immediate.committedRows == 1)
        immediate.close()
        // The batch reaches commitRows: committed without waiting out the window.
        let full = try PredictionLog(path: Self.temporaryPath(), commitWindow: .seconds(3600), commitRows: 4)
        try await full.record((0 ..< 4).map(Self.row))
        #expect(full.committedRows == 4)
        full.close()
    }

    @Test(.timeLimit(.minutes(2))) func closingCommitsWhatIsQueuedWithoutWaitingOutTheWindow() async throws {
        let path = Self.temporaryPath()
        let log = try PredictionLog(path: path, commitWindow: .seconds(3600))
        let pending = Task { try await log.record([Self.row(7)]) }
        while log.queuedRowCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        log.close()
        try await pending.value
        #expect(log.committedRows == 1)
    }

    // A WAL limit of 64 pages and eight writers that never pause: the background checkpoints
    // alone could never copy the whole WAL, so it starts over only through the catch-up.
    @Test(.timeLimit(.minutes(2))) func aSustainedStreamOfCommitsStillStartsTheWALOver() async throws {
        let path = Self.temporaryPath()
        let log = try PredictionLog(path: path, commitWindow: .zero, walLimit: 64 * 4096)
        let written = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0 ..< 8 {
                group.addTask {
                    var i = 0
                    while log.walRestarts < 3 && i < 40_000 {
                        try await log.record((0 ..< 4).map { Self.row(writer * 1_000_000 + i + $0) })
                        for _ in 0 ..< 4 { written.add() }
                        i += 4
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(log.walRestarts >= 3, "\(written.value) rows and the WAL never started over")
        log.close()
        let db = try SQLiteDatabase(path: path, mode: .readOnly)
        let count = try db.prepare("SELECT COUNT(*) FROM predictions")
        #expect(try count.step() && count.value(0) == .integer(Int64(written.value)))
        let check = try db.prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.value(0) == .text("ok"))
    }

    #if os(Linux)
    @Test func theLogsThreadsCarryTheirNames() throws {
        let log = try PredictionLog(path: Self.temporaryPath())
        defer { log.close() }
        func names() -> Set<String> {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return Set(tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        }
        var seen = names()
        for _ in 0 ..< 100 where !seen.isSuperset(of: ["triage-logwrite", "triage-ckpoint"]) {
            Thread.sleep(forTimeInterval: 0.01)
            seen = names()
        }
        #expect(seen.isSuperset(of: ["triage-logwrite", "triage-ckpoint"]), "threads: \(seen.sorted())")
    }
    #endif

    @Test func aCallerOnAnEventLoopIsResumedOnThatLoop() async throws {
        let log = try PredictionLog(path: Self.temporaryPath(), commitWindow: .milliseconds(1))
        defer { log.close() }
        let executor = EventLoopTaskExecutor()
        for i in 0 ..< 20 {
            let sameLoop = try await Task(executorPreference: executor) {
                let before = MultiThreadedEventLoopGroup.currentEventLoop
                try await log.record([Self.row(i)])
                let after = MultiThreadedEventLoopGroup.currentEventLoop
                return before != nil && before === after
            }.value
            #expect(sameLoop, "request \(i) came back on another thread than its event loop")
        }
    }

    @Test func topCategoriesAreWrittenAsCanonicalJSON() {
        let top: [(category: String, probability: Double)] = [("a", 0.75), ("quote \" backslash \\ é", 1e-7), ("n", .nan)]
        var out: [UInt8] = [1, 2, 3]
        PredictionLog.topJSON(top, into: &out)
        let reference = JSONWriter.string(.array(top.map { [.string($0.category), JSONValue.double($0.probability) ?? .null] }))
        #expect(String(decoding: out, as: UTF8.self) == reference)
        PredictionLog.topJSON([], into: &out)
        #expect(out == Array("[]".utf8))
    }
}

@Suite struct RequestHelperTests {
    @Test func jsonMediaTypes() {
        for good in ["application/json", "Application/JSON", " application/json ; charset=utf-8", "application/problem+json", "application/json;charset=UTF-8", "\tapplication/json"] {
            #expect(RequestBody.isJSON(good), "\(good)")
        }
        for bad in ["", "text/plain", "application/jsonp", "+json", "application/json5", "text/json-ish", "application/x-www-form-urlencoded"] {
            #expect(!RequestBody.isJSON(bad), "\(bad)")
        }
    }

    @Test func textHashIsTheHashOfTheJoinedText() {
        for (subject, body) in [("", ""), ("Card", "lost it"), ("é 🙂", "line\nbreak")] {
            #expect(StableHash.hex(utf8Of: subject, "\n", body) == StableHash.hex(Array((subject + "\n" + body).utf8)))
        }
    }
}

@Suite struct LineLogHandlerTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.withLock { lines.append(s) } }
        var all: [String] { lock.withLock { lines } }
    }

    @Test func linesCarryLevelLabelMessageAndSortedLogfmtMetadata() throws {
        let lines = Lines()
        var logger = Logger(label: "triage.test") { label in LineLogHandler(label: label, level: .info, write: { lines.add($0) }) }
        logger[metadataKey: "request"] = "r1"
        logger.debug("not shown")
        logger.info("serving", metadata: ["port": "8080", "model": "a b \"c\"", "empty": "", "nested": ["x": "1"]])
        logger.logLevel = .error
        logger.warning("not shown either")
        logger.error("reload refused", error: APIError(422, "bad"))
        let got = lines.all
        #expect(got.count == 2)
        let first = try #require(got.first)
        #expect(first.hasSuffix(#" info triage.test: serving empty="" model="a b \"c\"" nested={x:1} port=8080 request=r1"# + "\n"), "\(first)")
        #expect(first.utf8.count > 24 && first.prefix(4).allSatisfy(\.isNumber) && first.dropFirst(23).hasPrefix("Z "), "\(first)")
        #expect(got[1].contains(" error triage.test: reload refused error="), "\(got[1])")
    }

    @Test func controlCharactersAreEscaped() {
        #expect(LineLogHandler.logfmt("plain") == "plain")
        #expect(LineLogHandler.logfmt("a=b") == #""a=b""#)
        #expect(LineLogHandler.logfmt("line\nbreak\u{1}") == #""line\nbreak\u0001""#)
    }
}

@Suite struct ShadowReplayTests {
    @Test func countsAgreementChangesAndUnsureFlips() {
        func served(_ id: String, _ category: String, unsure: Bool = false, label: String? = nil) -> ShadowReplay.Served {
            ShadowReplay.Served(messageID: id, subject: "", body: "b", category: category, unsure: unsure, label: label)
        }
        func predicted(_ label: String, unsure: Bool = false) -> Prediction {
            Prediction(id: "", label: label, probability: 0.5, top: [], unsure: unsure)
        }
        let r = ShadowReplay(served: [served("1", "a"), served("2", "a", label: "b"), served("3", "b", unsure: true), served("4", "a"), served("5", "c", label: "c")],
                             withoutText: 2,
                             candidate: [predicted("a"), predicted("b"), predicted("b"), predicted("b", unsure: true), predicted("a")])
        #expect(r.replayed == 5 && r.withoutText == 2 && r.agreeing == 2 && r.agreement == 0.4)
        #expect(r.changes == [.init(from: "a", to: "b", count: 2), .init(from: "c", to: "a", count: 1)])
        #expect(r.newlyUnsure == 1 && r.newlyRouted == 1)
        #expect(r.relabelled == 2 && r.servedRight == 1 && r.candidateRight == 1)
        #expect(r.text().contains("5 message(s) replayed (2 logged without text, not replayed)"))
    }
}

