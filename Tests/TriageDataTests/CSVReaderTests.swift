import Foundation
import Testing
import TriageCore
@testable import TriageData

/// Writes `bytes` to a temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], suffix: String = ".csv") throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("triage-\(UUID().uuidString)\(suffix)")
    try Data(bytes).write(to: url)
    return url.path
}

func temporaryFile(_ text: String, suffix: String = ".csv") throws -> String {
    try temporaryFile(Array(text.utf8), suffix: suffix)
}

func gzip(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-kf", path]
    try p.run()
    p.waitUntilExit()
    return path + ".gz"
}

func records(_ text: String) throws -> [CSVRecord] {
    try CSVReader(source: MemoryByteSource(Array(text.utf8)), name: "t.csv").readAll()
}

@Suite("RFC 4180 reader")
struct CSVReaderTests {
    @Test func readsQuotedFieldsWithCommasQuotesAndNewlines() throws {
        let r = try records("a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n2,\"line1\nline2\",\r\n")
        #expect(r.map(\.fields) == [["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "line1\nline2", ""]])
        #expect(r.map(\.line) == [1, 2, 3])
    }

    @Test func acceptsLFAndCRAndNoFinalNewlineAndBOMAndBlankLines() throws {
        #expect(try records("\u{FEFF}a,b\n1,2").map(\.fields) == [["a", "b"], ["1", "2"]])
        #expect(try records("a\r1\r").map(\.fields) == [["a"], ["1"]])
        let blank = try records("a\n\n\n1\n")
        #expect(blank.map(\.fields) == [["a"], ["1"]])
        #expect(blank.map(\.line) == [1, 4])
        #expect(try records("").isEmpty)
        #expect(try records("x,\"\"\n").map(\.fields) == [["x", ""]])
    }

    @Test func keepsABareQuoteInsideAnUnquotedField() throws {
        #expect(try records("ab\"c,d\n").map(\.fields) == [["ab\"c", "d"]])
    }

    @Test func refusesAnUnterminatedQuoteAtItsLine() {
        #expect(throws: DataSourceError(file: "t.csv", line: 2, .unterminatedQuote)) { try records("a,b\n1,\"open\n2,3\n") }
    }

    @Test func refusesTextAfterAClosingQuote() {
        #expect(throws: DataSourceError(file: "t.csv", line: 2, .unexpectedAfterQuote("'x'"))) { try records("a\n\"q\"x\n") }
    }

    @Test func flagsInvalidUTF8AndReadsOn() throws {
        let bytes: [UInt8] = Array("a,b\n1,".utf8) + [0xFF, 0xFE] + Array("\n2,ok\n".utf8)
        let r = try CSVReader(source: MemoryByteSource(bytes), name: "t").readAll()
        #expect(r.map(\.hasInvalidUTF8) == [false, true, false])
        #expect(r[2].fields == ["2", "ok"])
    }

    @Test func refusesARunawayField() {
        let text = "a\n\"" + String(repeating: "x", count: 100)
        #expect(throws: DataSourceError(file: "t", line: 2, .fieldTooLarge(limit: 50))) {
            try CSVReader(source: MemoryByteSource(Array(text.utf8)), name: "t", maxFieldBytes: 50).readAll()
        }
    }

    @Test func readsAcrossBufferBoundaries() throws {
        // Records straddle the 1 MiB read buffer many times.
        var text = "id,body\n"
        for i in 0 ..< 40_000 { text += "\(i),\"quoted, \"\"text\"\" number \(i)\nsecond line\"\n" }
        let r = try records(text)
        #expect(r.count == 40_001)
        #expect(r[40_000].fields == ["39999", "quoted, \"text\" number 39999\nsecond line"])
        #expect(r[40_000].line == 2 + 39_999 * 2)
    }

    @Test func readsGzipByContentWhateverTheName() throws {
        let path = try temporaryFile("id,body\n1,hello\n2,\"wörld\"\n")
        let gz = try gzip(path)
        let renamed = gz.replacingOccurrences(of: ".csv.gz", with: ".data")
        try FileManager.default.moveItem(atPath: gz, toPath: renamed)
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: renamed) }
        #expect(try CSVReader(path: renamed).readAll().map(\.fields) == [["id", "body"], ["1", "hello"], ["2", "wörld"]])
    }

    @Test func reportsTruncatedAndCorruptGzip() throws {
        let path = try temporaryFile(String(repeating: "id,body\n1,hello there\n", count: 2000))
        let gz = try gzip(path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: gz)))
        let truncated = try temporaryFile(Array(bytes.prefix(bytes.count / 2)), suffix: ".csv.gz")
        var corrupt = bytes
        corrupt[bytes.count / 2] ^= 0xFF
        corrupt[bytes.count / 2 + 1] ^= 0xFF
        let corrupted = try temporaryFile(corrupt, suffix: ".csv.gz")
        for bad in [truncated, corrupted] {
            do {
                _ = try CSVReader(path: bad).readAll()
                Issue.record("\(bad) read without error")
            } catch {
                if case .corruptGzip = error.kind {} else { Issue.record("\(error)") }
            }
        }
    }

    @Test func missingFileAndDirectoryAreNamed() {
        #expect(throws: DataSourceError.self) { try CSVReader(path: "/nonexistent/x.csv") }
        do { _ = try CSVReader(path: "/tmp") } catch { #expect(error.description.contains("directory")) }
    }
}

@Suite("Labelled messages")
struct MessageReaderTests {
    @Test func readsDefaultColumnsInAnyOrder() throws {
        let path = try temporaryFile("label,body,subject,id\ncard,lost it,Help,m1\npay,\"sent, twice\",,m2\n")
        let batch = try MessageReader.readCSV(path: path)
        #expect(batch.messages == [
            LabeledMessage(id: "m1", subject: "Help", body: "lost it", label: "card", line: 2),
            LabeledMessage(id: "m2", subject: "", body: "sent, twice", label: "pay", line: 3),
        ])
    }

    @Test func textIsABodyAliasAndColumnsAreConfigurable() throws {
        let path = try temporaryFile("text,category\nhello,a\n")
        let batch = try MessageReader.readCSV(path: path, columns: ColumnMapping(label: "category"))
        #expect(batch.messages.first?.body == "hello" && batch.messages.first?.label == "a" && batch.messages.first?.id == "line-2")
        let renamed = try temporaryFile("msg,topic,cat\nhi,subj,x\n")
        let b2 = try MessageReader.readCSV(path: renamed, columns: ColumnMapping(subject: "topic", body: "msg", label: "cat"))
        #expect(b2.messages.first?.subject == "subj")
    }

    @Test func everyMalformedRowNamesFileAndLine() throws {
        let wrongCount = try temporaryFile("body,label\nok,a\ntoo,many,fields\n")
        #expect(throws: DataSourceError(file: wrongCount, line: 3, .wrongFieldCount(expected: 2, got: 3))) {
            try MessageReader.readCSV(path: wrongCount)
        }
        let missing = try temporaryFile("body,cat\nok,a\n")
        #expect(throws: DataSourceError(file: missing, line: 1, .missingColumn("label", available: ["body", "cat"]))) {
            try MessageReader.readCSV(path: missing)
        }
        let noBody = try temporaryFile("message,label\nok,a\n")
        #expect(throws: DataSourceError(file: noBody, line: 1, .missingColumn("body\" or \"text", available: ["message", "label"]))) {
            try MessageReader.readCSV(path: noBody)
        }
        let empty = try temporaryFile("")
        #expect(throws: DataSourceError(file: empty, line: nil, .emptyFile)) { try MessageReader.readCSV(path: empty) }
        let emptyLabel = try temporaryFile("body,label\nok,\n")
        do { _ = try MessageReader.readCSV(path: emptyLabel); Issue.record("accepted") } catch {
            #expect(error.line == 2)
            if case .emptyValue = error.kind {} else { Issue.record("\(error)") }
        }
        let badUTF8 = try temporaryFile(Array("body,label\n".utf8) + [0xC3, 0x28] + Array(",a\n".utf8))
        #expect(throws: DataSourceError(file: badUTF8, line: 2, .invalidUTF8)) { try MessageReader.readCSV(path: badUTF8) }
        let duplicate = try temporaryFile("body,label,body\nx,y,z\n")
        #expect(throws: DataSourceError(file: duplicate, line: 1, .duplicateColumn("body"))) { try MessageReader.readCSV(path: duplicate) }
    }

    @Test func skipInvalidSkipsAndReportsEveryRow() throws {
        let path = try temporaryFile(Array("body,label\ngood,a\nbad,row,extra\n".utf8) + [0xFF] + Array(",b\n,\nfine,c\n".utf8))
        let batch = try MessageReader.readCSV(path: path, skipInvalid: true)
        #expect(batch.messages.map(\.body) == ["good", "fine"])
        #expect(batch.skipped.map(\.line) == [3, 4, 5])
        #expect(batch.skipped[0].reason.contains("3 fields"))
        #expect(batch.skipped[1].reason.contains("UTF-8"))
        #expect(batch.skipped[2].reason.contains("empty label"))
    }

    @Test func labelsAreOptionalWhenNotRequired() throws {
        let path = try temporaryFile("id,body\n1,hello\n")
        let batch = try MessageReader.readCSV(path: path, requireLabels: false)
        #expect(batch.messages.first?.label == nil)
    }

    @Test func readsTheSharedCorporaQuickly() throws {
        let corpora = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpora")
        let path = corpora.appendingPathComponent("20newsgroups/train.csv.gz").path
        guard FileManager.default.fileExists(atPath: path) else {
            print("note: \(path) is absent; skipping the shared-corpus reading test")
            return
        }
        let batch = try MessageReader.readCSV(path: path)
        #expect(batch.messages.count == 11_314)
        #expect(Set(batch.messages.compactMap(\.label)).count == 20)
        #expect(batch.skipped.isEmpty)
    }
}

@Suite("RFC 4180 writer")
struct CSVWriterTests {
    @Test func whatItWritesTheReaderReadsBack() throws {
        let rows = [["1", "plain", "with, comma", "x"], ["2", "a \"quoted\" word", "two\nlines\r\nand CRLF", ""],
                    ["3", "", "é ✓ 👍", "label,with,commas"]]
        let text = CSVWriter.document(header: ["id", "subject", "body", "label"], rows: rows)
        #expect(text.hasPrefix("id,subject,body,label\r\n1,plain,\"with, comma\",x\r\n"))
        let reader = try CSVReader(path: try temporaryFile(Array(text.utf8)))
        var read: [[String]] = []
        while let record = try reader.next() { read.append(record.fields) }
        #expect(read == [["id", "subject", "body", "label"]] + rows)
    }
}
