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
            return e?.line == 2 && e?.problem.contains("not a JSON object (expected {\"id\": …, \"subject\": …, \"body\": …} on each line)") == true
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

    /// Issue 25 item 16: doccano's JSONL export writes the label as a list.
    @Test func aLabelListOfOneIsTakenALongerOneRefused() throws {
        let path = try temporaryFile(#"{"id": "a", "text": "card lost", "label": ["card"]}"# + "\n" + #"{"id": "b", "text": "x", "label": ["card", "access"]}"# + "\n"
            + #"{"id": "c", "text": "y", "label": []}"# + "\n", suffix: ".jsonl")
        #expect { try MessageReader.read(path: path) } throws: { error in
            let e = error as? DataSourceError
            return e?.line == 2 && e?.problem.contains("has 2 labels") == true
        }
        let batch = try MessageReader.read(path: path, skipInvalid: true)
        #expect(batch.messages.map(\.label) == ["card"] && batch.skipped.map(\.line) == [2, 3])
        #expect(batch.skipped[1].reason.contains("empty list"))
    }

    /// Item 15: ids are unique in a corpus; a repeat names both lines, or is skipped and listed.
    @Test func aRepeatedIDNamesBothLinesOrIsSkipped() throws {
        let csv = try temporaryFile("id,subject,body,label\n1,a,card lost,card\n2,b,log in,access\n1,c,card again,card\n", suffix: ".csv")
        let jsonl = try temporaryFile(#"{"id": "1", "body": "a", "label": "x"}"# + "\n" + #"{"id": "1", "body": "b", "label": "y"}"# + "\n", suffix: ".jsonl")
        for (path, line, first) in [(csv, 4, 2), (jsonl, 2, 1)] {
            #expect { try MessageReader.read(path: path) } throws: { error in
                let e = error as? DataSourceError
                return e?.line == line && e?.problem.contains("id \"1\" again (first at line \(first))") == true
            }
            let batch = try MessageReader.read(path: path, skipInvalid: true)
            #expect(batch.messages.filter { $0.id == "1" }.map(\.line) == [first] && batch.skipped.map(\.line) == [line])
        }
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
        // Item 12: a statement that returns no columns says so.
        #expect { try MessageReader.readSQL(database: path, query: "DELETE FROM chats") } throws: { "\($0)".contains("returned no result columns") }
        // Read-only: a query cannot change the database.
        #expect(throws: DataSourceError.self) { try MessageReader.readSQL(database: path, query: "DELETE FROM chats RETURNING ref AS id, text AS body") }
        let count = try db.prepare("SELECT COUNT(*) FROM chats")
        #expect(try count.step() && count.value(0) == .integer(3))
    }

    /// sqlite3_reset repeats the error of a failed step: a prepared statement that failed once
    /// (the prediction log's insert on a full disk) must still run next time.
    @Test func aStatementThatFailedRunsAgain() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("triage-\(UUID().uuidString).sqlite").path
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
        let insert = try db.prepare("INSERT INTO t VALUES (?)")
        try insert.run([.text("a")])
        #expect { try insert.run([.text("a")]) } throws: { "\($0)".contains("UNIQUE") }
        try insert.run([.text("b")])
        // The one-parameter binds, as the log's writer uses them.
        try insert.reset()
        try insert.bind("a", at: 1)
        #expect { try insert.runBound() } throws: { "\($0)".contains("UNIQUE") }
        try insert.reset()
        try insert.bind("c", at: 1)
        try insert.runBound()
        let count = try db.prepare("SELECT COUNT(*) FROM t")
        #expect(try count.step() && count.value(0) == .integer(3))
    }
}

@Suite("SQLite WAL helpers")
struct SQLiteWALTests {
    static func walDatabase() throws -> (SQLiteDatabase, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("triage-wal-\(UUID().uuidString).sqlite").path
        let db = try SQLiteDatabase(path: path)
        try db.execute("PRAGMA journal_mode = WAL")
        try db.execute("CREATE TABLE t (x TEXT)")
        return (db, path)
    }

    @Test func walFramesCountsWhatEachCommitLeavesInTheLog() throws {
        let (db, _) = try Self.walDatabase()
        db.trackWALFrames()
        #expect(db.walFrames == 0)
        try db.execute("INSERT INTO t VALUES ('\(String(repeating: "a", count: 10_000))')")
        let afterOne = db.walFrames
        #expect(afterOne >= 3, "a 10 kB row spans three or more 4 KiB pages")
        try db.execute("INSERT INTO t VALUES ('b')")
        #expect(db.walFrames > afterOne)
        // A complete checkpoint copies every frame; the next commit starts the WAL over.
        let pass = try db.checkpoint(.passive)
        #expect(pass.walFrames == db.walFrames && pass.copied == pass.walFrames)
        try db.execute("INSERT INTO t VALUES ('c')")
        #expect(db.walFrames < afterOne)
    }

    @Test func aCheckpointFromAnotherConnectionThatHasNotReadYetStillRuns() throws {
        let (db, path) = try Self.walDatabase()
        try db.execute("INSERT INTO t VALUES ('x')")
        let other = try SQLiteDatabase(path: path)
        let pass = try other.checkpoint(.passive)
        #expect(pass.walFrames > 0 && pass.copied == pass.walFrames)
        try other.syncDatabaseFile()
        try db.checkpoint(.truncate)
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber
        #expect(wal?.intValue == 0)
    }

    @Test func theFileGrowsInWholeChunks() throws {
        let (db, path) = try Self.walDatabase()
        try db.setChunkSize(1 << 20)
        try db.execute("INSERT INTO t VALUES ('\(String(repeating: "a", count: 20_000))')")
        try db.checkpoint(.passive)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber
        #expect(size?.intValue == 1 << 20)
    }
}
