import Foundation
import Testing
import TriageTestSupport

/// Issue 25 item 4: every example in every `--help` runs as printed, from a copy of the
/// repository's root (its corpora, stop words and bundled models), in the order a reader meets
/// them. A `triage serve` line is started in the background and stopped once the lines after it
/// (its `curl`s) have run.
@Suite("Help examples", .serialized)
struct HelpExampleTests {
    static let commands: [[String]] = [[], ["train"], ["evaluate"], ["search"], ["search", "merge"], ["predict"], ["inspect"], ["clean"], ["rules", "test"],
                                       ["verify"], ["serve"], ["feedback", "export"], ["review"], ["replay"], ["retrain"], ["promote"], ["audit-labels"], ["keygen"]]

    /// The example lines of a help text: after "Example:", "Examples:" or "Typical flow:" until a
    /// blank line, continuations joined, comments dropped.
    static func examples(_ help: String) -> [String] {
        var lines: [String] = [], inside = false, pending = ""
        for raw in help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if ["Example:", "Examples:", "Typical flow:"].contains(raw.trimmingCharacters(in: .whitespaces)) { inside = true; continue }
            guard inside else { continue }
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { inside = false; continue }
            if line.hasPrefix("#") { continue }
            if line.hasSuffix("\\") { pending += line.dropLast() ; continue }
            lines.append(pending + line)
            pending = ""
        }
        return lines
    }

    @Test func everyHelpExampleRunsAsPrinted() throws {
        CLI.defaultPort.lock()
        defer { CLI.defaultPort.unlock() }
        let (root, path) = try CLI.repositoryCopy()
        let fm = FileManager.default
        var ran = 0
        for command in Self.commands {
            let help = try CLI.run(command + ["--help"], environment: ["COLUMNS": "100"])
            let lines = Self.examples(help.stdout)
            #expect(!lines.isEmpty, "\(command): no example")
            // keygen never overwrites keys: its own example runs in a directory of its own.
            let directory = command == ["keygen"] ? root.appendingPathComponent("keygen-example") : root
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            var server: Process?
            for line in lines {
                ran += 1
                if line.hasPrefix("triage serve") {
                    server = try Self.startServer(line, directory: directory, path: path)
                    continue
                }
                let r = try CLI.run(["-c", line], environment: ["PATH": path], directory: directory, executable: "/bin/sh")
                #expect(r.status == 0, "\(command): \(line)\n\(r.stderr)")
                if line.hasPrefix("curl") { #expect(r.stdout.contains("\"category\"") || r.stdout.contains("\"label\""), "\(line): \(r.stdout)") }
            }
            if let server {
                server.terminate()
                server.waitUntilExit()
                #expect(server.terminationStatus == 0, "\(command): triage serve exited \(server.terminationStatus)")
            }
        }
        #expect(ran >= 25)
    }

    /// Starts a `triage serve` line (without its `&`) and waits until it answers on its port.
    static func startServer(_ line: String, directory: URL, path: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec " + line.replacingOccurrences(of: " &", with: "")]
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = path
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let c = try? HTTPConnection(port: 8080, timeoutSeconds: 2), (try? c.get("/ready"))?.status == 200 { return process }
            Thread.sleep(forTimeInterval: 0.2)
        }
        process.terminate()
        throw HTTPConnection.Failure(description: "\(line): not answering on :8080 after 120 s")
    }
}
