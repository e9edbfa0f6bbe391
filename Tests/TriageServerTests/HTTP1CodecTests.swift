import Foundation
import Testing
import HTTPTypes
import NIOHTTP1
import NIOHTTPTypesHTTP1
import TriageCore
@testable import TriageServer
import TriageTestSupport

/// `HTTP1ServerCodec`: HTTP/1.0's connection rules and the `close` option in any case, on a real
/// server and socket, with the fast path on and off (the two answer `POST /messages` on
/// different paths through the pipeline).
@Suite("HTTP/1 connection rules", .serialized)
struct HTTP1CodecTests {
    func fixture() throws -> Fixture { try Fixture.shared.get() }

    static func message(_ id: String) -> [UInt8] { Array(#"{"messages": [{"id": "\#(id)", "body": "my card was stolen"}]}"#.utf8) }

    /// A server whose idle timeout is far beyond the test's patience, so a close is the codec's.
    func withServer(fastPath: Bool, _ body: (TriageServer, Int) async throws -> Void) async throws {
        try await fixture().withServer({ c in c.idleTimeoutSeconds = 60; c.messagesFastPath = fastPath }, body)
    }

    /// True when the server closes the connection within a few seconds (well before its idle timeout).
    static func closesPromptly(_ c: HTTPConnection) -> Bool {
        let start = Date()
        return c.isClosedByServer() && Date().timeIntervalSince(start) < 4
    }

    /// Issue 25 item 23: what the parser refuses is said in words, an llhttp code NIO maps to
    /// `.unknown` (an invalid Transfer-Encoding) included.
    @Test func parserRefusalsAreSaidInWords() async throws {
        try await withServer(fastPath: true) { _, port in
            for (bytes, words) in [
                ("POST /messages HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: identity\r\n\r\n{}", "invalid Transfer-Encoding"),
                ("GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n", "invalid character in header"),
            ] {
                let c = try HTTPConnection(port: port, timeoutSeconds: 8)
                try c.send(Array(bytes.utf8))
                let r = try c.readResponse()
                #expect(r.status == 400 && (r.errorMessage ?? "").contains(words) && !(r.errorMessage ?? "").contains("unknown"), "\(r.text)")
            }
        }
    }

    /// Every request is counted once in /metrics, whoever answered it: the parser's refusals
    /// (the codec), the route's errors of `POST /messages` (its endpoint), the fast path's
    /// answers (its endpoint), other routes (the middleware).
    @Test(arguments: [true, false])
    func everyAnswerIsCountedOnceWhoeverGaveIt(fastPath: Bool) async throws {
        try await withServer(fastPath: fastPath) { _, port in
            let garbage = try HTTPConnection(port: port, timeoutSeconds: 8)
            try garbage.send(Array("GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n".utf8))
            #expect(try garbage.readResponse().status == 400)
            let c = try HTTPConnection(port: port, timeoutSeconds: 8)
            #expect(try c.post("/messages", json: #"{"messages": []}"#).status == 400)
            #expect(try c.post("/messages", json: "x", contentType: "text/plain").status == 415)
            try c.send(HTTPConnection.requestBytes("POST", "/messages", body: Self.message("counted")))
            #expect(try c.readResponse().status == 200)
            #expect(try c.get("/health").status == 200)
            let text = try c.get("/metrics").text
            for line in [#"triage_http_requests_total{route="unparsed",status="400"} 1"#,
                         #"triage_http_requests_total{route="/messages",status="400"} 1"#,
                         #"triage_http_requests_total{route="/messages",status="415"} 1"#,
                         #"triage_http_requests_total{route="/messages",status="200"} 1"#,
                         #"triage_http_requests_total{route="/health",status="200"} 1"#] {
                #expect(text.contains(line + "\n"), "\(line) in\n\(text)")
            }
        }
    }

    @Test(arguments: [true, false])
    func http10WithoutKeepAliveIsAnsweredAndClosed(fastPath: Bool) async throws {
        try await withServer(fastPath: fastPath) { server, port in
            let get = try HTTPConnection(port: port, timeoutSeconds: 8)
            try get.send(HTTPConnection.requestBytes("GET", "/health", contentType: nil, version: "HTTP/1.0"))
            let health = try get.readResponse()
            #expect(health.status == 200 && health.headers["connection"] == "close")
            #expect(Self.closesPromptly(get))

            let post = try HTTPConnection(port: port, timeoutSeconds: 8)
            try post.send(HTTPConnection.requestBytes("POST", "/messages", body: Self.message("h10"), version: "HTTP/1.0"))
            let answer = try post.readResponse()
            #expect(answer.status == 200 && answer.headers["connection"] == "close", "\(answer.text)")
            #expect(answer.json?["predictions"]?[0]?["id"]?.stringValue == "h10")
            #expect(Self.closesPromptly(post))
            #expect(try MessagesFastPathTests.loggedIDs(server) == ["h10"])
        }
    }

    @Test(arguments: [true, false])
    func http10WithKeepAliveKeepsTheConnection(fastPath: Bool) async throws {
        try await withServer(fastPath: fastPath) { _, port in
            let c = try HTTPConnection(port: port, timeoutSeconds: 8)
            for id in ["k1", "k2"] {
                try c.send(HTTPConnection.requestBytes("POST", "/messages", body: Self.message(id), headers: [("Connection", "Keep-Alive")], version: "HTTP/1.0"))
                let r = try c.readResponse()
                #expect(r.status == 200 && r.headers["connection"] == "keep-alive", "\(r.text)")
            }
            try c.send(HTTPConnection.requestBytes("GET", "/health", contentType: nil, headers: [("Connection", "keep-alive")], version: "HTTP/1.0"))
            let health = try c.readResponse()
            #expect(health.status == 200 && health.headers["connection"] == "keep-alive")
        }
    }

    @Test(arguments: [true, false])
    func theCloseOptionCountsInAnyCaseAndList(fastPath: Bool) async throws {
        try await withServer(fastPath: fastPath) { _, port in
            for value in ["Close", "CLOSE", "keep-alive, close"] {
                let c = try HTTPConnection(port: port, timeoutSeconds: 8)
                let r = try c.request("POST", "/messages", body: Self.message("c"), headers: [("Connection", value)])
                #expect(r.status == 200 && r.headers["connection"] == "close", "\(value): \(r.text)")
                #expect(Self.closesPromptly(c), "\(value)")
            }
            // HTTP/1.1 without the option: no Connection header, and the connection stays open.
            let c = try HTTPConnection(port: port, timeoutSeconds: 8)
            let first = try c.request("POST", "/messages", body: Self.message("a"))
            #expect(first.status == 200 && first.headers["connection"] == nil)
            #expect(try c.get("/health").status == 200)
        }
    }

    @Test(arguments: [true, false])
    func pipelinedRequestsGetTheirOwnConnectionOption(fastPath: Bool) async throws {
        try await withServer(fastPath: fastPath) { server, port in
            let c = try HTTPConnection(port: port, timeoutSeconds: 8)
            try c.send(HTTPConnection.requestBytes("POST", "/messages", body: Self.message("p1"))
                + HTTPConnection.requestBytes("GET", "/health", contentType: nil, headers: [("Connection", "keep-alive")], version: "HTTP/1.0")
                + HTTPConnection.requestBytes("POST", "/messages", body: Self.message("p2"), headers: [("Connection", "keep-alive")], version: "HTTP/1.0")
                + HTTPConnection.requestBytes("POST", "/messages", body: Self.message("p3"), version: "HTTP/1.0"))
            var options: [String?] = []
            for _ in 0 ..< 4 {
                let r = try c.readResponse()
                #expect(r.status == 200)
                options.append(r.headers["connection"])
            }
            #expect(options == [nil, "keep-alive", "keep-alive", "close"])
            #expect(Self.closesPromptly(c))
            #expect(try MessagesFastPathTests.loggedIDs(server) == ["p1", "p2", "p3"])
        }
    }

    /// HTTP/1.0 has no chunked coding: every route's answer, errors included, carries its length.
    /// Requests NIO's HTTP parser refuses, before or after their head: a JSON error that says so,
    /// then the connection closed (nothing after a framing error can be trusted).
    @Test(arguments: [true, false])
    func whatTheHTTPParserRefusesGetsAJSONError(fastPath: Bool) async throws {
        let refused = [
            "GET /health HTTP/9.9\r\n\r\n",
            "GET /health HTTP/1.1\r\nA header without a colon\r\n\r\n",
            "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: identity\r\n\r\n{}",
        ]
        try await withServer(fastPath: fastPath) { _, port in
            for text in refused {
                let c = try HTTPConnection(port: port, timeoutSeconds: 8)
                try c.send(Array(text.utf8))
                let r = try c.readResponse()
                #expect(r.status == 400 && r.headers["content-type"] == "application/json", "\(text): \(r.text)")
                #expect(r.errorMessage?.contains("not valid HTTP/1.1") == true || r.errorMessage?.contains("cannot be read as HTTP/1.1") == true,
                        "\(text): \(r.text)")
                #expect(Self.closesPromptly(c), "\(text)")
            }
            // The same after a good request on the connection.
            let c = try HTTPConnection(port: port, timeoutSeconds: 8)
            #expect(try c.post("/messages", json: #"{"messages": [{"id": "ok", "body": "card"}]}"#).status == 200)
            try c.send(Array(refused[0].utf8))
            let r = try c.readResponse()
            #expect(r.status == 400 && r.errorMessage?.contains("invalid HTTP version") == true, "\(r.text)")
            #expect(Self.closesPromptly(c))
        }
    }

    @Test func everyAnswerToAnHTTP10ClientHasAContentLength() async throws {
        try await withServer(fastPath: true) { _, port in
            let requests: [(String, String, [UInt8]?, String?)] = [
                ("GET", "/health", nil, nil), ("GET", "/ready", nil, nil), ("GET", "/model", nil, nil),
                ("GET", "/metrics", nil, nil), ("GET", "/openapi.json", nil, nil), ("GET", "/nowhere", nil, nil),
                ("GET", "/messages", nil, nil),
                ("POST", "/messages", Array("{".utf8), "application/json"),
                ("POST", "/messages", Self.message("t"), "text/plain"),
                ("POST", "/messages/none/label", Array(#"{"label": "x"}"#.utf8), "application/json"),
            ]
            for (method, path, body, type) in requests {
                let c = try HTTPConnection(port: port, timeoutSeconds: 8)
                try c.send(HTTPConnection.requestBytes(method, path, body: body, contentType: type, version: "HTTP/1.0"))
                let r = try c.readResponse()
                #expect(r.headers["content-length"] != nil && r.headers["transfer-encoding"] == nil, "\(method) \(path): \(r.status) \(r.headers)")
                #expect(r.headers["connection"] == "close", "\(method) \(path)")
            }
        }
    }

    /// The shortcut for origin-form targets gives the value swift-nio-extras' conversion gives.
    @Test func theRequestIsTheStockConversions() throws {
        let targets = ["/messages", "/messages/m%201/label?agent=x&y", "//two/slashes", "/a:b@c", "/", "/?",
                       "/caf\u{E9}", "http://example.com/messages?x=1", "*"]
        let headerSets: [[(String, String)]] = [
            [],
            [("Host", "localhost:8080"), ("Content-Type", "application/json"), ("Content-Length", "12")],
            [("host", "a"), ("HOST", "b"), ("Cookie", "a=1; b=2"), ("cookie", "c=3"), ("X-Mixed-Case", "v")],
            [("bad header", "dropped"), ("Connection", "keep-alive")],
        ]
        for method in [HTTPMethod.GET, .POST, .HEAD, .RAW(value: "PURGE")] {
            for target in targets {
                for fields in headerSets {
                    var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
                    for (k, v) in fields { head.headers.add(name: k, value: v) }
                    let ours = try HTTP1ServerCodec.request(head)
                    let stock = try HTTPRequest(head, secure: false, splitCookie: false)
                    #expect(ours == stock, "\(method) \(target) \(fields)")
                    #expect(ours.headerFields.map(\.name.rawName) == stock.headerFields.map(\.name.rawName))
                }
            }
        }
    }

    @Test func theOptionFollowsVersionAndHeader() {
        typealias Codec = HTTP1ServerCodec
        func head(_ minor: Int, _ connection: String?) -> HTTPRequestHead {
            var h = HTTPRequestHead(version: HTTPVersion(major: 1, minor: minor), method: .GET, uri: "/")
            if let connection { h.headers.add(name: "Connection", value: connection) }
            return h
        }
        #expect(Codec.option(for: head(1, nil)) == .unchanged)
        #expect(Codec.option(for: head(1, "keep-alive")) == .unchanged)
        #expect(Codec.option(for: head(1, "Close")) == .close)
        #expect(Codec.option(for: head(0, nil)) == .close)
        #expect(Codec.option(for: head(0, "close")) == .close)
        #expect(Codec.option(for: head(0, "Keep-Alive")) == .keepAlive)
    }
}
