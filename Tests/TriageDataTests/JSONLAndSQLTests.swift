import Foundation
import Testing
@testable import TriageData

@Suite("JSON Lines and SQL sources")
struct JSONLAndSQLTests {
    @Test func readsJSONLinesWithCRLFBlankLinesAndGzip() throws {
        let text = "{\"id\": \"a\", \"subject\": \"Hi\", \"body\": \"card lost\", \"label\": \"card\"}\r\n\n"
            + "{\"id\": 7, \"text\": \"login fails\", \"label\": \"access\", \"extra\": [1, 2]}\n"
            + "{\"body\": \"no id\", \"label\": \"other\"}"
        let path = try temporaryFile(text, suffix: ".jsonl")
        for p in [path, try gzip(path)] {
            let batch = try MessageReader.read(path: p)
            #expect(batch.messages.map(\.id) == ["a", "7", "line-4"])
            #expect(batch.messages.map(\.body) == ["card lost", "login fails", "no id"])
            #expect(batch.messages.map(\.subject) == ["Hi", "", ""])
            #expect(batch.messages.map(\.line) == [1, 3, 4])
        }
    }

    @Test func badLinesAreNamedOrSkippedAndReported() throws {
        let path = try temporaryFile("{\"body\": \"ok\", \"label\": \"a\"}\n{\"body\": \"ok\"\n[1]\n{\"body\": 3, \"label\": \"a\"}\n{\"body\": \"x\", \"label\": \"\"}\n", suffix: ".jsonl")
        #expect { try MessageReader.read(path: path) } throws: { error in
            let e = error as? DataSourceError
            return e?.line == 2 && e?.problem.contains("invalid JSON") == true
        }
        let batch = try MessageReader.read(path: path, skipInvalid: true)
        #expect(batch.messages.count == 1)
        #expect(batch.skipped.map(\.line) == [2, 3, 4, 5])
        #expect(batch.skipped[1].reason.contains("expected a JSON object"))
        #expect(batch.skipped[2].reason.contains("\"body\" must be a string"))
        #expect(batch.skipped[3].reason.contains("label"))
        // Unlabelled messages are fine when labels are not required (prediction input).
        let unlabelled = try temporaryFile("{\"body\": \"hello\"}\n", suffix: ".ndjson")
        #expect(try MessageReader.read(path: unlabelled, requireLabels: false).messages[0].label == nil)
        #expect(throws: DataSourceError.self) { try MessageReader.read(path: try temporaryFile("", suffix: ".jsonl")) }
    }

    @Test func lineReaderHandlesLongLinesAndLimits() throws {
        let long = String(repeating: "x", count: 200_000)
        let reader = LineReader(source: MemoryByteSource(Array((long + "\nshort").utf8)), name: "m")
        #expect(try reader.next()?.count == 200_000)
        #expect(try reader.next().map { String(decoding: $0, as: UTF8.self) } == "short")
        #expect(try reader.next() == nil)
        let limited = LineReader(source: MemoryByteSource(Array(long.utf8)), name: "m", maxLineBytes: 1000)
        #expect(throws: DataSourceError.self) { try limited.next() }
    }

    @Test func readsAQueryLikePandasReadSQL() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("triage-\(UUID().uuidString).sqlite").path
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE chats (ref INTEGER, title TEXT, text TEXT, category TEXT)")
        let insert = try db.prepare("INSERT INTO chats VALUES (?, ?, ?, ?)")
        try insert.run([.integer(1), .text("Card"), .text("lost my card"), .text("card")])
        try insert.run([.integer(2), .null, .text("cannot log in"), .text("access")])
        try insert.run([.integer(3), .text("x"), .text("no label"), .null])
        let query = "SELECT ref AS id, title AS subject, text AS body, category AS label FROM chats ORDER BY ref"
        #expect { try MessageReader.readSQL(database: path, query: query) } throws: { error in
            (error as? DataSourceError)?.line == 3
        }
        let batch = try MessageReader.readSQL(database: path, query: query, skipInvalid: true)
        #expect(batch.messages.map(\.id) == ["1", "2"] && batch.messages[1].subject == "" && batch.skipped.map(\.line) == [3])
        #expect { try MessageReader.readSQL(database: path, query: "SELECT nope FROM chats") } throws: { "\($0)".contains("no such column") }
        #expect { try MessageReader.readSQL(database: path, query: "SELECT ref FROM chats") } throws: { "\($0)".contains("no column \"body\" or \"text\"") }
        #expect { try MessageReader.readSQL(database: path + ".missing", query: query) } throws: { "\($0)".contains("no such database file") }
        // Read-only: a query cannot change the database.
        #expect(throws: DataSourceError.self) { try MessageReader.readSQL(database: path, query: "DELETE FROM chats RETURNING ref AS id, text AS body") }
        let count = try db.prepare("SELECT COUNT(*) FROM chats")
        #expect(try count.step() && count.value(0) == .integer(3))
    }
}
