import TriageCore
import Foundation

/// Finds and reads stop-word lists.
///
/// A list named `english` is the file `english.txt` in the first stopwords directory that has
/// it. Directories are searched in this order:
/// 1. `TRIAGE_STOPWORDS_DIR` (one directory, or several separated by `:`);
/// 2. `stopwords/` beside the running executable or in one of its parent directories (a build
///    in `.build/release/triage` finds the repository's `stopwords/`);
/// 3. `stopwords/` in the current directory;
/// 4. `/usr/local/share/triage/stopwords` and `/usr/share/triage/stopwords`.
///
/// File format: UTF-8, one word per line; surrounding whitespace is trimmed, blank lines and
/// lines starting with `#` are skipped; a word may not contain whitespace.
public enum StopWordLists {
    public static func searchDirectories() -> [String] {
        var dirs: [String] = []
        let env = ProcessInfo.processInfo.environment
        if let configured = env["TRIAGE_STOPWORDS_DIR"], !configured.isEmpty {
            dirs += configured.split(separator: ":").map(String.init)
        }
        let fm = FileManager.default
        var candidates: [String] = []
        if let exe = Bundle.main.executablePath ?? CommandLine.arguments.first {
            var dir = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0 ..< 6 {
                candidates.append(dir.appendingPathComponent("stopwords").path)
                dir = dir.deletingLastPathComponent()
            }
        }
        candidates.append(URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("stopwords").path)
        candidates += ["/usr/local/share/triage/stopwords", "/usr/share/triage/stopwords"]
        var isDir: ObjCBool = false
        for c in candidates where fm.fileExists(atPath: c, isDirectory: &isDir) && isDir.boolValue {
            dirs.append(c)
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    /// Names of the lists available in `directories`.
    public static func available(in directories: [String] = searchDirectories()) -> [String] {
        var names = Set<String>()
        for dir in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for f in files where f.hasSuffix(".txt") { names.insert(String(f.dropLast(4))) }
        }
        return names.sorted()
    }

    /// The words of `spec`, in file order (duplicates kept; callers deduplicate).
    public static func words(_ spec: StopWords, directories: [String]? = nil) throws(TextFeatureError) -> [String] {
        switch spec {
        case let .words(words):
            return words
        case let .file(path):
            return try read(path: path)
        case let .named(name):
            let valid = !name.isEmpty && name.unicodeScalars.allSatisfy {
                ("a" ... "z").contains($0) || ("0" ... "9").contains($0) || $0 == "-" || $0 == "_"
            }
            let dirs = directories ?? searchDirectories()
            if valid {
                for dir in dirs {
                    let path = URL(fileURLWithPath: dir).appendingPathComponent(name + ".txt").path
                    if FileManager.default.fileExists(atPath: path) { return try read(path: path) }
                }
            }
            throw .unknownStopWordList(name: name, searched: dirs, available: available(in: dirs))
        }
    }

    /// Reads a stop-word file.
    public static func read(path: String) throws(TextFeatureError) -> [String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableStopWordFile(path: path, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let lines = Array(data).split(separator: 0x0A, omittingEmptySubsequences: false)
            let bad = lines.firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0
            throw .invalidStopWordFile(path: path, line: bad + 1, reason: "not valid UTF-8")
        }
        var words: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.unicodeScalars.contains(where: { PythonText.isSpace($0.value) }) {
                throw .invalidStopWordFile(path: path, line: i + 1, reason: "\"\(line)\" contains whitespace; put one word per line")
            }
            words.append(line)
        }
        return words
    }
}
