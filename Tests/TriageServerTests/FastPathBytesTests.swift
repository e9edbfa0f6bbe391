import Foundation
import Testing
import TriageCore
@testable import TriageServer
import TriageTestSupport

/// `MessagesFastPath` answers `POST /messages` from the bytes, in front of the HTTP codec,
/// while a connection sends nothing else. Its parser must accept only what NIO's HTTP parser
/// would read the same way, and the server must look the same from the socket: same bytes as
/// the route, and every connection rule (idle timeout, graceful shutdown, the move to the full
/// stack) kept.
@Suite("POST /messages from the bytes", .serialized)
struct FastPathBytesTests {
    func fixture() throws -> Fixture { try Fixture.shared.get() }

    static let body = #"{"messages": [{"id": "r1", "body": "my card was stolen"}]}"#

    static func request(_ fields: [String], body: String = body, line: String = "POST /messages HTTP/1.1") -> String {
        line + "\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n" + body
    }

    static func standard(_ extra: [String] = [], body: String = body) -> String {
        request(["Host: localhost", "Content-Type: application/json", "Content-Length: \(body.utf8.count)"] + extra, body: body)
    }

    static func parse(_ text: String, maxHead: Int = 8192, maxBody: Int = 1 << 20) -> FastPathRequest {
        Array(text.utf8).withUnsafeBytes { FastPathRequest.parse($0, maxHead: maxHead, maxBody: maxBody) }
    }

    static func complete(_ text: String, body: String = body) -> FastPathRequest {
        .complete(headLength: text.utf8.count - body.utf8.count, bodyLength: body.utf8.count)
    }

    // MARK: The parser

    @Test func acceptsTheSubset() {
        let plain = Self.standard()
        #expect(Self.parse(plain) == Self.complete(plain))
        let variants = [
            Self.request(["content-type: Application/JSON; charset=utf-8", "CONTENT-LENGTH: \(Self.body.utf8.count)"]),
            Self.request(["Content-Type:application/vnd.api+json", "Content-Length:\t\(Self.body.utf8.count) ", "Connection: Keep-Alive"]),
            Self.request(["Content-Length: \(Self.body.utf8.count)", "User-Agent: wrk", "Accept: */*", "X-Trace: a\tb", "Content-Type: application/json"]),
        ]
        for v in variants { #expect(Self.parse(v) == Self.complete(v), "\(v)") }
        // Pipelined: the first request only.
        #expect(Self.parse(plain + plain) == Self.complete(plain))
        // An empty body is the route's to refuse, but framed the same.
        let empty = Self.standard(body: "")
        #expect(Self.parse(empty) == Self.complete(empty, body: ""))
    }

    @Test func everyPrefixOfAnAcceptedRequestIsIncomplete() {
        let bytes = Array(Self.standard().utf8)
        for n in 0 ..< bytes.count {
            let result = bytes[..<n].withUnsafeBytes { FastPathRequest.parse($0, maxHead: 8192, maxBody: 1 << 20) }
            #expect(result == .incomplete, "prefix of \(n) bytes")
        }
    }

    /// What the full stack must read instead: other requests, and every framing or connection
    /// choice the subset leaves to NIO's parser and Hummingbird.
    static let declined: [(String, String)] = {
        let n = body.utf8.count
        let type = "Content-Type: application/json", length = "Content-Length: \(n)"
        return [
            ("another method", request([type, length], line: "PUT /messages HTTP/1.1")),
            ("lowercase method", request([type, length], line: "post /messages HTTP/1.1")),
            ("another path", request([type, length], line: "POST /messages/r1/label HTTP/1.1")),
            ("a query", request([type, length], line: "POST /messages?x=1 HTTP/1.1")),
            ("HTTP/1.0", request([type, length], line: "POST /messages HTTP/1.0")),
            ("two spaces", request([type, length], line: "POST  /messages HTTP/1.1")),
            ("Transfer-Encoding", request([type, length, "Transfer-Encoding: chunked"])),
            ("Transfer-Encoding alone", request([type, "transfer-encoding: identity"])),
            ("two Content-Lengths", request([type, length, length])),
            ("a signed Content-Length", request([type, "Content-Length: +\(n)"])),
            ("a list Content-Length", request([type, "Content-Length: \(n), \(n)"])),
            ("a hex Content-Length", request([type, "Content-Length: 0x\(String(n, radix: 16))"])),
            ("an empty Content-Length", request([type, "Content-Length: "])),
            ("a ten-digit Content-Length", request([type, "Content-Length: 00000000\(n)"])),
            ("a tab after the Content-Length", request([type, "Content-Length: \(n)\t"])),
            ("no Content-Length", request([type])),
            ("two Content-Types", request([type, type, length])),
            ("a text Content-Type", request(["Content-Type: text/plain", length])),
            ("no Content-Type", request([length])),
            ("space before the colon", request([type, "Content-Length : \(n)"])),
            ("an empty field name", request([type, length, ": x"])),
            ("a name that is not a token", request([type, length, "X(a): b"])),
            ("obsolete line folding", request([type, length, "X-A: b", " c"])),
            ("a bare LF", request([type + "\n" + length])),
            ("a bare CR", request([type + "\r" + length])),
            ("a bare LF ending the head", "POST /messages HTTP/1.1\r\n\(type)\r\n\(length)\r\n\n" + body),
            ("a NUL in a value", request([type, length, "X-A: a\u{0}b"])),
            ("DEL in a value", request([type, length, "X-A: a\u{7F}b"])),
            ("a non-ASCII value", request([type, length, "X-Name: José"])),
            ("Connection: close", request([type, length, "Connection: close"])),
            ("Connection: Close", request([type, length, "Connection: Close"])),
            ("a Connection list", request([type, length, "Connection: keep-alive, close"])),
            ("Connection: upgrade", request([type, length, "Connection: upgrade", "Upgrade: h2c"])),
            ("Upgrade", request([type, length, "Upgrade: websocket"])),
            ("Expect", request([type, length, "Expect: 100-continue"])),
        ]
    }()

    @Test func declinesWhatTheSubsetLeavesToTheHTTPParser() {
        for (name, text) in Self.declined {
            #expect(Self.parse(text) == .declined, "\(name)")
        }
    }

    @Test func declinesOverTheLimits() {
        let plain = Self.standard()
        #expect(Self.parse(plain, maxBody: Self.body.utf8.count - 1) == .declined)
        #expect(Self.parse(plain, maxBody: Self.body.utf8.count) == Self.complete(plain))
        let long = Self.standard(["X-Padding: " + String(repeating: "p", count: 9000)])
        #expect(Self.parse(long) == .declined)
        #expect(Self.parse(String(long.prefix(8500))) == .declined)
        #expect(Self.parse(long, maxHead: 10000) == Self.complete(long))
    }

    // MARK: On a socket

    /// The head without its `Date` line, then the body.
    static func withoutDate(_ r: HTTPConnection.Response) -> String {
        r.head.components(separatedBy: "\r\n").filter { !$0.hasPrefix("Date: ") }.joined(separator: "\r\n") + "\r\n\r\n" + r.text
    }

    @Test func answersByteForByteAsTheRoute() async throws {
        let f = try fixture()
        let requests = [
            Self.standard(),
            Self.standard(["Connection: keep-alive"], body: #"{"messages": [{"id": "7", "subject": "Card", "body": "declined"}, {"id": "x", "body": ""}]}"#),
            Self.standard(body: #"{"messages": [{"id": "u", "body": "caf\u00e9 \ud83d\ude00 — a non-ASCII body"}]}"#),
        ]
        try await f.withServer { _, raw in
            try await f.withServer({ c in c.messagesFastPath = false }) { _, route in
                let a = try HTTPConnection(port: raw)
                let b = try HTTPConnection(port: route)
                for (i, text) in requests.enumerated() {
                    try a.send(Array(text.utf8))
                    try b.send(Array(text.utf8))
                    let x = try a.readResponse(), y = try b.readResponse()
                    #expect(x.status == 200, "request \(i): \(x.text)")
                    #expect(Self.withoutDate(x) == Self.withoutDate(y), "request \(i)")
                    #expect(x.headers["date"] != nil)
                }
            }
        }
    }

    /// One outcome: the answers to a request and to a good one after it on the same
    /// connection, or where the connection closed.
    static func outcome(_ request: String, port: Int) throws -> String {
        let c = try HTTPConnection(port: port, timeoutSeconds: 5)
        var parts: [String] = []
        do {
            try c.send(Array(request.utf8))
            let r = try c.readResponse()
            parts.append("\(r.status) \(r.text)")
            if r.status == 100 { let final = try c.readResponse(); parts.append("\(final.status) \(final.text)") }
            try c.send(Array(Self.standard().utf8))
            let next = try c.readResponse()
            parts.append("\(next.status) \(next.json?["predictions"]?[0]?["id"]?.stringValue ?? next.text)")
        } catch {
            parts.append("closed")
        }
        return parts.joined(separator: " | ")
    }

    @Test func declinedRequestsGetTheFullStacksAnswers() async throws {
        let f = try fixture()
        let chunked = "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(Self.body.utf8.count, radix: 16) + "\r\n" + Self.body + "\r\n0\r\n\r\n"
        let smuggle = Self.request(["Content-Type: application/json", "Content-Length: 4", "Transfer-Encoding: chunked"], body: "0\r\n\r\n")
        let cases = Self.declined + [("chunked", chunked), ("Content-Length and Transfer-Encoding", smuggle)]
        try await f.withServer { _, raw in
            try await f.withServer({ c in c.messagesFastPath = false }) { _, route in
                for (name, text) in cases {
                    let x = try Self.outcome(text, port: raw)
                    let y = try Self.outcome(text, port: route)
                    #expect(x == y, "\(name): \(x) vs \(y)")
                }
            }
        }
    }

    @Test func aConnectionMovesToTheFullStackAndStaysCorrect() async throws {
        let f = try fixture()
        try await f.withServer { server, port in
            let c = try HTTPConnection(port: port)
            #expect(try c.post("/messages", json: MessagesFastPathTests.good).status == 200)
            #expect(try c.get("/health").status == 200)
            // Now through the full stack (and the in-pipeline fast path).
            let later = try c.request("POST", "/messages", body: MessagesFastPathTests.good("later"))
            #expect(later.status == 200 && MessagesFastPathTests.predictionIDs(later) == ["later"])
            let bad = try c.post("/messages", json: #"{"messages": 5}"#)
            #expect(bad.status == 400 && bad.errorField == "messages")
            let last = try c.request("POST", "/messages", body: MessagesFastPathTests.good("last"), headers: [("Connection", "close")])
            #expect(last.status == 200 && last.headers["connection"] == "close")
            #expect(c.isClosedByServer())
            #expect(try MessagesFastPathTests.loggedIDs(server) == ["m1", "later", "last"])
        }
    }

    @Test func theIdleTimeoutCountsFromTheLastRequestOrAnswer() async throws {
        let f = try fixture()
        // 2 s, not 1: the 300 ms pauses between requests must stay well below it when a loaded CI
        // machine stretches a sleep (a 1 s timeout cut a busy connection off there once).
        try await f.withServer({ c in c.idleTimeoutSeconds = 2 }) { _, port in
            // Busy for twice the timeout: never cut off.
            let busy = try HTTPConnection(port: port, timeoutSeconds: 10)
            let start = Date()
            var sent = 0
            while Date().timeIntervalSince(start) < 4.2 {
                sent += 1
                #expect(try busy.request("POST", "/messages", body: MessagesFastPathTests.good("b\(sent)")).status == 200)
                try await Task.sleep(for: .milliseconds(300))
            }
            // Then idle: closed after about the timeout.
            let idleStart = Date()
            #expect(busy.isClosedByServer())
            let waited = Date().timeIntervalSince(idleStart)
            #expect(waited > 0.9 && waited < 6, "closed after \(waited) s")
            // A connection that never sends a byte is closed too.
            let silent = try HTTPConnection(port: port, timeoutSeconds: 10)
            let silentStart = Date()
            #expect(silent.isClosedByServer())
            #expect(Date().timeIntervalSince(silentStart) < 6)
        }
    }

    @Test func gracefulShutdownClosesConnectionsAnsweredFromTheBytes() async throws {
        let f = try fixture()
        // A long commit window, so that an answer is still waiting for the log when the shutdown
        // comes.
        try await f.withServer({ c in c.idleTimeoutSeconds = 60; c.commitWindow = .seconds(1) }) { server, port in
            let idle = try HTTPConnection(port: port, timeoutSeconds: 10)
            #expect(try idle.post("/messages", json: MessagesFastPathTests.good).status == 200)
            let c = try HTTPConnection(port: port, timeoutSeconds: 10)
            try c.send(Array(Self.standard().utf8))
            try await Task.sleep(for: .milliseconds(300))
            await server.shutdown()
            // The idle connection is closed at once, the waiting answer is written, then its
            // connection is closed; long before the idle timeout.
            let start = Date()
            #expect(idle.isClosedByServer())
            let r = try c.readResponse()
            #expect(r.status == 200 && MessagesFastPathTests.predictionIDs(r) == ["r1"])
            #expect(c.isClosedByServer())
            #expect(Date().timeIntervalSince(start) < 5)
            #expect(try MessagesFastPathTests.loggedIDs(server) == ["m1", "r1"])
        }
    }

    /// Issue 25 item 23: requests read behind an answer that waits for the log (pipelined) are
    /// answered before a graceful shutdown closes the connection, not dropped.
    @Test func gracefulShutdownAnswersThePipelinedRequestsAlreadyRead() async throws {
        let f = try fixture()
        try await f.withServer({ c in c.idleTimeoutSeconds = 60; c.commitWindow = .seconds(1) }) { server, port in
            let c = try HTTPConnection(port: port, timeoutSeconds: 10)
            let three = ["p1", "p2", "p3"].map { Self.standard(body: #"{"messages": [{"id": "\#($0)", "body": "my card was stolen"}]}"#) }.joined()
            try c.send(Array(three.utf8))
            try await Task.sleep(for: .milliseconds(300))
            await server.shutdown()
            for id in ["p1", "p2", "p3"] {
                let r = try c.readResponse()
                #expect(r.status == 200 && MessagesFastPathTests.predictionIDs(r) == [id], "\(r.text)")
            }
            #expect(c.isClosedByServer())
            #expect(try MessagesFastPathTests.loggedIDs(server) == ["p1", "p2", "p3"])
        }
    }
}
