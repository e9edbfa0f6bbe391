import Foundation
import TriageCore

/// The result of one (candidate, fold) pair: one line of a search ledger.
public struct PairResult: Sendable, Equatable {
    public var search: String
    public var candidate: Int
    public var parameters: Candidate
    public var fold: Int
    /// Scoring metrics on the fold's validation rows (empty when the fit failed).
    public var scores: [String: Double]
    public var fitSeconds: Double
    public var scoreSeconds: Double
    public var error: String?

    public var pair: Pair { Pair(candidate: candidate, fold: fold) }

    var json: JSONValue {
        var o = JSONObject()
        o["hash"] = .string(StableHash.scheme)
        o["search"] = .string(search)
        o["candidate"] = .number(JSONNumber(candidate))
        o["parameters"] = .object(JSONObject(parameters.parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        o["fold"] = .number(JSONNumber(fold))
        var s = JSONObject()
        for (k, v) in scores.sorted(by: { $0.key < $1.key }) { s[k] = JSONValue.double(v) ?? .null }
        o["scores"] = .object(s)
        o["fit_seconds"] = JSONValue.double(fitSeconds) ?? .null
        o["score_seconds"] = JSONValue.double(scoreSeconds) ?? .null
        o["error"] = error.map { .string($0) } ?? .null
        return .object(o)
    }

    init(search: String, candidate: Int, parameters: Candidate, fold: Int, scores: [String: Double],
         fitSeconds: Double, scoreSeconds: Double, error: String?) {
        self.search = search
        self.candidate = candidate
        self.parameters = parameters
        self.fold = fold
        self.scores = scores
        self.fitSeconds = fitSeconds
        self.scoreSeconds = scoreSeconds
        self.error = error
    }

    init?(json: JSONValue) {
        guard let o = json.objectValue, let search = o["search"]?.stringValue, let candidate = o["candidate"]?.numberValue?.intValue,
              let parameters = o["parameters"]?.objectValue, let fold = o["fold"]?.numberValue?.intValue,
              let scores = o["scores"]?.objectValue else { return nil }
        self.search = search
        self.candidate = candidate
        self.parameters = Candidate(Dictionary(uniqueKeysWithValues: parameters.members.map { ($0.key, $0.value) }))
        self.fold = fold
        var s: [String: Double] = [:]
        for (k, v) in scores.members { if let d = v.numberValue?.doubleValue { s[k] = d } }
        self.scores = s
        fitSeconds = o["fit_seconds"]?.numberValue?.doubleValue ?? 0
        scoreSeconds = o["score_seconds"]?.numberValue?.doubleValue ?? 0
        error = o["error"]?.stringValue
    }
}

/// A (candidate, fold) pair.
public struct Pair: Hashable, Sendable, Comparable {
    public var candidate: Int
    public var fold: Int
    public static func < (a: Pair, b: Pair) -> Bool { (a.candidate, a.fold) < (b.candidate, b.fold) }
}

/// An append-only JSONL file of finished pairs. Each line is written with one `write` and
/// `fsync`ed before the pair counts as done, so a `kill -9` loses at most the pairs in flight; a
/// torn last line (no newline) is ignored when reading and cut off by the next append.
public final class SearchLedger: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private var fd: Int32 = -1

    public init(path: String) { self.path = path }

    deinit { if fd >= 0 { close(fd) } }

    /// Every well-formed line of `path` (missing file: none). Lines of other searches are kept:
    /// callers filter by search id. A line whose search id was made by another hash than
    /// `StableHash.scheme` (every ledger of a Triage before the scheme was named: 128-bit
    /// FNV-1a) is refused with an error saying so — its ids can never match, and mixing its
    /// results with new ones would silently redo or double them.
    public static func read(_ path: String) throws(SearchError) -> [PairResult] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .ledger(path: path, reason: (error as NSError).localizedDescription)
        }
        var results: [PairResult] = []
        let bytes = Array(data)
        var lineStart = 0
        var lineNumber = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lineNumber += 1
            let line = Array(bytes[lineStart ..< i])
            lineStart = i + 1
            if line.isEmpty { continue }
            guard let value = try? JSONParser.parse(line), let result = PairResult(json: value) else {
                throw .ledger(path: path, reason: "line \(lineNumber) is not a ledger entry")
            }
            let scheme = value.objectValue?["hash"]?.stringValue
            guard scheme == StableHash.scheme else {
                throw .ledger(path: path, reason: "line \(lineNumber) identifies its search by "
                    + (scheme.map { "a \"\($0)\" hash" } ?? "an FNV-1a hash (a ledger of an earlier Triage)")
                    + ", this Triage by \(StableHash.scheme): its results cannot be resumed or merged here; start a new ledger, or finish that search with the Triage that began it")
            }
            results.append(result)
        }
        // Bytes after the last newline: a line torn by a crash, ignored.
        return results
    }

    /// The length of the file up to and including its last newline.
    static func wholeLinesLength(path: String, size: Int) -> Int {
        let rfd = open(path, O_RDONLY)
        guard rfd >= 0 else { return size }
        defer { close(rfd) }
        var end = size
        var chunk = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - chunk.count)
            let n = chunk.withUnsafeMutableBytes { pread(rfd, $0.baseAddress, end - start, off_t(start)) }
            guard n == end - start else { return size }
            if let i = chunk[0 ..< n].lastIndex(of: 0x0A) { return start + i + 1 }
            end = start
        }
        return 0
    }

    /// Appends one result durably.
    public func append(_ result: PairResult) throws(SearchError) {
        lock.lock()
        defer { lock.unlock() }
        if fd < 0 {
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            guard fd >= 0 else { throw .ledger(path: path, reason: String(cString: strerror(errno))) }
            // A torn last line from a crash (no newline: never acknowledged): cut it off, so
            // the file holds only whole lines again.
            var info = stat()
            if fstat(fd, &info) == 0 && info.st_size > 0 {
                let keep = Self.wholeLinesLength(path: path, size: Int(info.st_size))
                if keep < Int(info.st_size) { _ = ftruncate(fd, off_t(keep)) }
            }
        }
        let line = JSONWriter.bytes(result.json) + [0x0A]
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else { throw .ledger(path: path, reason: String(cString: strerror(errno))) }
    }
}
