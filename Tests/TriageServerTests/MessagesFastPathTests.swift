import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageServer
import TriageTestSupport

/// `MessagesFastPath` answers `POST /messages` from the connection's bytes; Hummingbird's route
/// answers everything else. These tests hold it to "the same server, only cheaper": same bytes
/// as the route, order kept on a connection, the log written before the answer, and every
/// connection rule (idle timeout, `Connection: close`, end of input) as before. (Until issue 24
/// they ran a second time against a second fast path inside the pipeline, since removed.)
@Suite("POST /messages fast path", .serialized)
struct MessagesFastPathTests {
    func fixture() throws -> Fixture { try Fixture.shared.get() }

    static let good = #"{"messages": [{"id": "m1", "subject": "Card stolen", "body": "my card was stolen"}]}"#
    static func good(_ id: String) -> [UInt8] { Array(#"{"messages": [{"id": "\#(id)", "body": "I cannot log in to my account"}]}"#.utf8) }

    /// Rows in the server's log now.
    static func loggedIDs(_ server: TriageServer) throws -> [String] {
        let db = try SQLiteDatabase(path: try #require(server.configuration.databasePath), mode: .readOnly)
        let rows = try db.prepare("SELECT message_id FROM predictions ORDER BY rowid")
        var ids: [String] = []
        while try rows.step() {
            if case let .text(id) = rows.value(0) { ids.append(id) }
        }
        return ids
    }

    static func predictionIDs(_ r: HTTPConnection.Response) -> [String] {
        (r.json?["predictions"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }

    @Test func answersExactlyAsTheRouteDoes() async throws {
        let f = try fixture()
        let limits: (inout ServerConfiguration) -> Void = { c in
            c.limits.maxBodyBytes = 4096
            c.limits.maxMessages = 3
            c.limits.maxMessageBytes = 300
        }
        // (content type, body, extra headers): good ones, and every kind of refusal.
        let long = String(repeating: "x", count: 400)
        let cases: [(String?, String, [(String, String)])] = [
            ("application/json", Self.good, []),
            ("application/json; charset=utf-8", #"{"messages": [{"id": "7", "subject": null, "body": "transfer failed"}, {"id": "b", "body": ""}]}"#, []),
            ("Application/JSON", Self.good, []),
            ("application/json", #"{"messages": [{"id": "1", "body": "x"}"#, []),
            ("application/json", #"{"messages": [{"id": "a", "body": "ok"}, {"id": "c", "body": 42}]}"#, []),
            ("application/json", #"{"msgs": []}"#, []),
            ("application/json", "", []),
            ("application/json", #"{"messages": [{"id": "1", "body": "a"}, {"id": "2", "body": "b"}, {"id": "3", "body": "c"}, {"id": "4", "body": "d"}]}"#, []),
            ("application/json", #"{"messages": [{"id": "1", "body": "\#(long)"}]}"#, []),
            ("application/json", #"{"messages": [{"id": "1", "body": "\#(String(repeating: "y", count: 5000))"}]}"#, []),
            ("text/plain", Self.good, []),
            (nil, Self.good, []),
        ]
        try await f.withServer({ c in limits(&c) }) { fastServer, fast in
            try await f.withServer({ c in limits(&c); c.messagesFastPath = false }) { routeServer, route in
                let a = try HTTPConnection(port: fast)
                let b = try HTTPConnection(port: route)
                for (i, (type, body, headers)) in cases.enumerated() {
                    let x = try a.request("POST", "/messages", body: Array(body.utf8), contentType: type, headers: headers)
                    let y = try b.request("POST", "/messages", body: Array(body.utf8), contentType: type, headers: headers)
                    #expect(x.status == y.status, "case \(i): \(x.status) vs \(y.status)")
                    #expect(x.body == y.body, "case \(i): \(x.text) vs \(y.text)")
                    var hx = x.headers, hy = y.headers
                    #expect(hx.removeValue(forKey: "date") != nil && hy.removeValue(forKey: "date") != nil, "case \(i)")
                    #expect(hx == hy, "case \(i): \(hx) vs \(hy)")
                }
                // The same rows logged, and the same request counts in /metrics.
                #expect(try Self.loggedIDs(fastServer) == Self.loggedIDs(routeServer))
                #expect(try Self.loggedIDs(fastServer) == ["m1", "7", "b", "m1"])
                // (The exposition's order of series is the registry's, not part of the format.)
                let counts = { (text: String) in Set(text.split(separator: "\n").filter { $0.hasPrefix("triage_http_requests_total{route=\"/messages\"") }) }
                #expect(counts(try a.get("/metrics").text) == counts(try b.get("/metrics").text))
                #expect(counts(try a.get("/metrics").text).contains(#"triage_http_requests_total{route="/messages",status="200"} 3"#))
            }
        }
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        var t: time_t = 784_111_777  // RFC 9110's example
        var parts = tm()
        gmtime_r(&t, &parts)
        #expect(HTTPDate.format(parts) == "Sun, 06 Nov 1994 08:49:37 GMT")
        var date = HTTPDate()
        #expect(date.now().hasSuffix(" GMT") && date.now().count == 29)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let f = try fixture()
        try await f.withServer({ _ in }) { server, port in
            let c = try HTTPConnection(port: port)
            // One write: fast-path requests around requests the router answers (a GET, an error,
            // a POST to another route), so both kinds wait for each other.
            let requests: [[UInt8]] = [
                HTTPConnection.requestBytes("POST", "/messages", body: Self.good("p1")),
                HTTPConnection.requestBytes("GET", "/health", contentType: nil),
                HTTPConnection.requestBytes("POST", "/messages", body: Self.good("p2")),
                HTTPConnection.requestBytes("POST", "/messages", body: Self.good("p3")),
                HTTPConnection.requestBytes("POST", "/messages", body: Array(#"{"messages": 5}"#.utf8)),
                HTTPConnection.requestBytes("POST", "/messages", body: Self.good("p4")),
                HTTPConnection.requestBytes("POST", "/messages/p1/label", body: Array(#"{"label": "nope-not-a-label"}"#.utf8)),
                HTTPConnection.requestBytes("POST", "/messages", body: Self.good("p5")),
                HTTPConnection.requestBytes("POST", "/messages", body: Self.good("p6")),
            ]
            try c.send(requests.flatMap { $0 })
            var answers: [(Int, [String])] = []
            for _ in requests {
                let r = try c.readResponse()
                answers.append((r.status, Self.predictionIDs(r)))
            }
            #expect(answers.map(\.0) == [200, 200, 200, 200, 400, 200, 422, 200, 200])
            #expect(answers.map(\.1) == [["p1"], [], ["p2"], ["p3"], [], ["p4"], [], ["p5"], ["p6"]])
            // Every answered prediction was in the log when answered.
            #expect(try Self.loggedIDs(server) == ["p1", "p2", "p3", "p4", "p5", "p6"])
            // The connection is still usable.
            #expect(try c.post("/messages", json: Self.good).status == 200)
        }
    }

    @Test func aBodySplitAcrossReadsIsAnsweredByTheRoute() async throws {
        let f = try fixture()
        try await f.withServer({ _ in }) { server, port in
            let c = try HTTPConnection(port: port)
            let bytes = HTTPConnection.requestBytes("POST", "/messages", body: Self.good("split"))
            let cut = bytes.count - 10
            try c.send(Array(bytes[..<cut]))
            try await Task.sleep(for: .milliseconds(200))
            try c.send(Array(bytes[cut...]))
            let r = try c.readResponse()
            #expect(r.status == 200 && Self.predictionIDs(r) == ["split"], "\(r.text)")
            // And the head alone first, then the whole body.
            let head = bytes.count - Self.good("split").count
            try c.send(Array(bytes[..<head]))
            try await Task.sleep(for: .milliseconds(200))
            try c.send(Array(bytes[head...]))
            #expect(try c.readResponse().status == 200)
            #expect(try Self.loggedIDs(server) == ["split", "split"])
        }
    }

    @Test func endOfInputAfterARequestStillGetsItsAnswer() async throws {
        let f = try fixture()
        try await f.withServer({ _ in }) { server, port in
            // A client that sends its requests and closes its side at once (as `nc -N` does).
            let c = try HTTPConnection(port: port)
            try c.send(HTTPConnection.requestBytes("POST", "/messages", body: Self.good("h1"))
                + HTTPConnection.requestBytes("POST", "/messages", body: Self.good("h2")))
            c.shutdownWrite()
            #expect(Self.predictionIDs(try c.readResponse()) == ["h1"])
            #expect(Self.predictionIDs(try c.readResponse()) == ["h2"])
            #expect(c.isClosedByServer())
            #expect(try Self.loggedIDs(server) == ["h1", "h2"])
        }
    }

    @Test func connectionCloseAndIdleTimeoutStillHold() async throws {
        let f = try fixture()
        try await f.withServer({ c in c.idleTimeoutSeconds = 1 }) { _, port in
            let closing = try HTTPConnection(port: port)
            let r = try closing.request("POST", "/messages", body: Self.good("c1"), headers: [("Connection", "close")])
            #expect(r.status == 200 && Self.predictionIDs(r) == ["c1"])
            #expect(closing.isClosedByServer())
            // Idle after a fast-path answer: closed by the idle timeout, as after any other.
            let idle = try HTTPConnection(port: port, timeoutSeconds: 10)
            #expect(try idle.post("/messages", json: Self.good).status == 200)
            let start = Date()
            #expect(idle.isClosedByServer())
            #expect(Date().timeIntervalSince(start) < 8)
        }
    }

    @Test func withoutALogTheFastPathAnswersAtOnce() async throws {
        let f = try fixture()
        try await f.withServer({ c in c.databasePath = nil }) { _, port in
            let c = try HTTPConnection(port: port)
            try c.send(HTTPConnection.requestBytes("POST", "/messages", body: Self.good("n1"))
                + HTTPConnection.requestBytes("GET", "/health", contentType: nil)
                + HTTPConnection.requestBytes("POST", "/messages", body: Self.good("n2")))
            #expect(Self.predictionIDs(try c.readResponse()) == ["n1"])
            #expect(try c.readResponse().text.contains("alive"))
            #expect(Self.predictionIDs(try c.readResponse()) == ["n2"])
        }
    }
}
