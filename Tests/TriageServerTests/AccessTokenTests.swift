import Foundation
import Testing
import TriageData
@testable import TriageServer
import TriageTestSupport

/// Issue 28, who may write: the token file, the start refusal beyond loopback, and the routes
/// that need a token on a real server.
@Suite("Access tokens")
struct AccessTokenTests {
    func fixture() throws -> Fixture { try Fixture.shared.get() }

    static let ana = "ana-0123456789abcdef"
    static let bot = "bot-fedcba9876543210"
    static let file = "# agents\nana: \(ana)\r\n\nbot:\(bot)\n"

    @Test func theFileIsReadNamedAndComparedInFull() throws {
        let tokens = try AccessTokens(text: Self.file, source: "t")
        #expect(tokens.name(authorization: "Bearer \(Self.ana)") == "ana")
        #expect(tokens.name(authorization: "bearer  \(Self.bot)") == "bot")
        #expect(tokens.name(authorization: "Bearer \(Self.ana)x") == nil)
        #expect(tokens.name(authorization: "Basic \(Self.ana)") == nil)
        #expect(tokens.name(authorization: Self.ana) == nil)
        #expect(tokens.name(authorization: nil) == nil)
        // Mistakes are named with their line.
        for (text, error) in [
            ("ana \(Self.ana)\n", TokenFileError.malformed(path: "t", line: 1, "write name:token")),
            ("# x\n:\(Self.ana)\n", .malformed(path: "t", line: 2, "the name before ':' is empty")),
            ("ana:short\n", .malformed(path: "t", line: 1, "the token of \"ana\" has 5 characters; use at least 16 (openssl rand -hex 16)")),
            ("ana:\(Self.ana)\nana:\(Self.bot)\n", .malformed(path: "t", line: 2, "\"ana\" is named twice")),
            ("ana:\(Self.ana)\nbob:\(Self.ana)\n", .malformed(path: "t", line: 2, "the token of \"bob\" is also another name's")),
            ("# nothing\n\n", .empty(path: "t")),
        ] {
            #expect(throws: error) { _ = try AccessTokens(text: text, source: "t") }
        }
    }

    @Test func aTokenFileOthersCanReadIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)").path
        try Self.file.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        #expect(throws: TokenFileError.tooOpen(path: path, mode: "644")) { _ = try AccessTokens(path: path) }
        chmod(path, 0o600)
        #expect(try AccessTokens(path: path).name(token: Self.bot) == "bot")
        #expect { _ = try AccessTokens(path: path + ".missing") } throws: { "\($0)".contains("cannot read the token file") }
    }

    @Test func listeningBeyondLoopbackNeedsTokensOrOpenWrites() throws {
        var c = ServerConfiguration(modelPath: "m", trustedKeys: [])
        for host in ["127.0.0.1", "localhost", "::1", "127.0.1.1"] {
            c.host = host
            #expect(throws: Never.self) { try c.checkWriteAccess() }
        }
        c.host = "0.0.0.0"
        #expect { try c.checkWriteAccess() } throws: { "\($0)".contains("--token-file") && "\($0)".contains("--open-writes") }
        c.openWrites = true
        #expect(throws: Never.self) { try c.checkWriteAccess() }
        c.openWrites = false
        c.writeTokens = try AccessTokens(text: Self.file, source: "t")
        #expect(throws: Never.self) { try c.checkWriteAccess() }
    }

    @Test func writesNeedATokenAndItsNameIsTheAgent() async throws {
        let f = try fixture()
        let tokens = try AccessTokens(text: Self.file, source: "t")
        try await f.withServer({ $0.writeTokens = tokens }) { server, port in
            let c = try HTTPConnection(port: port)
            #expect(try c.post("/messages", json: #"{"messages": [{"id": "w1", "body": "my card was stolen"}]}"#).status == 200)
            let label = server.store.current.labels[0]
            let body = Array("{\"label\": \"\(label)\", \"agent\": \"mallory\"}".utf8)
            // Refused writes: 401 with a challenge, nothing in the log.
            let none = try c.request("POST", "/messages/w1/label", body: body)
            #expect(none.status == 401 && none.headers["www-authenticate"] == "Bearer" && none.text.contains("bearer token is needed"), "\(none.text)")
            let wrong = try c.request("POST", "/messages/w1/label", body: body, headers: [("Authorization", "Bearer not-a-known-token-at-all")])
            #expect(wrong.status == 401 && wrong.text.contains("not one this server knows"))
            #expect(try c.request("GET", "/review", contentType: nil).status == 401)
            #expect(try c.request("POST", "/admin/reload", body: nil).status == 401)
            let path = try #require(server.configuration.databasePath)
            let count = try SQLiteDatabase(path: path, mode: .readOnly).prepare("SELECT COUNT(*) FROM labels")
            #expect(try count.step() && count.value(0) == .integer(0))
            // With a token: recorded, the token's name as the agent whatever the body says.
            let ok = try c.request("POST", "/messages/w1/label", body: body, headers: [("Authorization", "Bearer \(Self.ana)")])
            #expect(ok.status == 200, "\(ok.text)")
            let agent = try SQLiteDatabase(path: path, mode: .readOnly).prepare("SELECT agent FROM labels")
            #expect(try agent.step() && agent.value(0) == .text("ana"))
            let review = try c.request("GET", "/review", contentType: nil, headers: [("Authorization", "Bearer \(Self.bot)")])
            #expect(review.status == 200 && review.json?["total"]?.numberValue?.intValue == 1)
            #expect(try c.request("POST", "/admin/reload", body: nil, headers: [("Authorization", "Bearer \(Self.bot)")]).status == 200)
        }
    }

    @Test(arguments: [true, false])
    func predictionsCanTakeTheirOwnTokens(fastPath: Bool) async throws {
        let f = try fixture()
        let tokens = try AccessTokens(text: "chat-app:\(Self.bot)\n", source: "t")
        try await f.withServer({ $0.predictTokens = tokens; $0.messagesFastPath = fastPath }) { server, port in
            let c = try HTTPConnection(port: port)
            let body = Array(#"{"messages": [{"id": "p1", "body": "my card was stolen"}]}"#.utf8)
            let refused = try c.request("POST", "/messages", body: body)
            #expect(refused.status == 401 && refused.headers["www-authenticate"] == "Bearer", "\(refused.text)")
            #expect(try MessagesFastPathTests.loggedIDs(server).isEmpty)
            let ok = try c.request("POST", "/messages", body: body, headers: [("Authorization", "Bearer \(Self.bot)")])
            #expect(ok.status == 200 && ok.json?["predictions"]?.arrayValue?.count == 1, "\(ok.text)")
            // Writes stay open on loopback without write tokens.
            #expect(try c.post("/messages/p1/label", json: "{\"label\": \"\(server.store.current.labels[0])\"}").status == 200)
        }
    }
}
