import Foundation
import TriageCore
@testable import TriageText

/// Paths of the repository and of the shared public corpora, found from this file's location.
enum TestPaths {
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repository.appendingPathComponent("Tests/TriageTextTests/Fixtures")
    static let stopwords = repository.appendingPathComponent("stopwords").path

    /// `../shared/corpora` beside the repository, or `TRIAGE_CORPORA`.
    static var corpora: URL {
        if let env = ProcessInfo.processInfo.environment["TRIAGE_CORPORA"] { return URL(fileURLWithPath: env) }
        return repository.deletingLastPathComponent().appendingPathComponent("shared/corpora")
    }

    /// The path of a shared corpus file, or nil (with a clear note on stderr) when absent.
    static func corpusFile(_ relative: String) -> URL? {
        let url = corpora.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        FileHandle.standardError.write(Data("note: shared corpus \(url.path) is absent; the test that needs it is skipped\n".utf8))
        return nil
    }

    static func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: fixtures.appendingPathComponent(name))
    }
}

/// Minimal RFC 4180 reader for the corpora in tests (the CLI has the real, streaming one).
enum TestCSV {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text.unicodeScalars)[...]
        if chars.first == "\u{FEFF}" { chars = chars.dropFirst() }
        var i = chars.startIndex
        while i < chars.endIndex {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.endIndex && chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" { quoted = true
            } else if c == "," { row.append(field); field = ""
            } else if c == "\r" {
            } else if c == "\n" { row.append(field); rows.append(row); row = []; field = ""
            } else { field.unicodeScalars.append(c) }
            i += 1
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    /// (subject, body, label) of a corpus CSV with header id,subject,body,label (gzip allowed).
    static func messages(_ url: URL) throws -> [(subject: String, body: String, label: String)] {
        var data = try Data(contentsOf: url)
        if url.pathExtension == "gz" {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-dc", url.path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
        }
        let rows = rows(String(decoding: data, as: UTF8.self))
        return rows.dropFirst().map { ($0[1], $0[2], $0[3]) }
    }
}
