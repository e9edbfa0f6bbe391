import Foundation
import Testing

/// Runs the built `triage` binary: the real executable, on files the tests write.
enum CLI {
    /// Held by the tests that start `triage serve` on its default port, 8080 (the README tour and
    /// the --help examples, as printed): they are in different suites, which may run at once.
    static let defaultPort = NSLock()

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary: $TRIAGE_BIN, else beside the test bundle, else .build/debug/triage.
    static let binary: String = {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["TRIAGE_BIN"], fm.isExecutableFile(atPath: path) { return path }
        var candidates: [URL] = []
        for start in [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments.first ?? ".")] {
            var dir = start
            for _ in 0 ..< 3 {
                candidates.append(dir.appendingPathComponent("triage"))
                dir = dir.deletingLastPathComponent()
            }
        }
        candidates.append(repository.appendingPathComponent(".build/debug/triage"))
        return candidates.first { fm.isExecutableFile(atPath: $0.path) && !$0.hasDirectoryPath }?.path
            ?? repository.appendingPathComponent(".build/debug/triage").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `triage args…` with `input` on stdin; kills it after `timeout` seconds.
    @discardableResult
    static func run(_ args: [String], input: String? = nil, environment: [String: String] = [:], directory: URL? = nil,
                    timeout: Double = 300, executable: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "100"
        env["SOURCE_DATE_EPOCH"] = nil
        env["TRIAGE_TRUSTED_KEYS"] = nil
        env["TRIAGE_STOPWORDS_DIR"] = repository.appendingPathComponent("stopwords").path
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try? inp.fileHandleForWriting.close()
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            Issue.record("triage \(args.joined(separator: " ")) timed out after \(timeout) s")
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triage-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A directory that stands for the repository's root in examples run as printed: its
    /// corpora and stop words linked, its models copied (examples write beside them); and the
    /// PATH that finds the built `triage` first.
    static func repositoryCopy() throws -> (root: URL, path: String) {
        let root = try temporaryDirectory()
        let fm = FileManager.default
        for name in ["corpora", "stopwords"] {
            try fm.createSymbolicLink(at: root.appendingPathComponent(name), withDestinationURL: repository.appendingPathComponent(name))
        }
        try fm.copyItem(at: repository.appendingPathComponent("models"), to: root.appendingPathComponent("models"))
        let path = URL(fileURLWithPath: binary).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return (root, path)
    }

    static let demoTrain = repository.appendingPathComponent("corpora/demo/train.csv").path
    static let demoTest = repository.appendingPathComponent("corpora/demo/test.csv").path
}

/// Keys and a small model shared by the tests of a suite (trained once).
final class Workspace: @unchecked Sendable {
    let directory: URL
    let privateKey: String
    let publicKey: String
    let model: String

    init() throws {
        directory = try CLI.temporaryDirectory()
        let keys = directory.appendingPathComponent("keys")
        let keygen = try CLI.run(["keygen", "--out", keys.path])
        guard keygen.status == 0 else { throw Failure("keygen failed: \(keygen.stderr)") }
        privateKey = keys.appendingPathComponent("private.pem").path
        publicKey = keys.appendingPathComponent("public.pem").path
        model = directory.appendingPathComponent("demo.triage").path
        let train = try CLI.run(["train", "--data", CLI.demoTrain, "--key", privateKey, "--out", model,
                                 "--preset", "talk", "--set", "clf.n_estimators=15", "--quiet"])
        guard train.status == 0 else { throw Failure("train failed: \(train.stderr)") }
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static let shared = Result { try Workspace() }
}
