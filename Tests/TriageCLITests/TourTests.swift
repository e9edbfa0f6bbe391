import Foundation
import Testing
import TriageCore
import TriageTestSupport

/// Issue 25: the README's tour, run end to end as one bash script from a copy of the
/// repository's root (corpora, stop words, bundled models), the built `triage` on the PATH.
@Suite("README tour")
struct TourTests {
    /// The tour's shell block in README.md.
    static func script() throws -> String {
        let readme = try String(contentsOf: CLI.repository.appendingPathComponent("README.md"), encoding: .utf8)
        guard let tour = readme.range(of: "## A tour"), let start = readme.range(of: "```sh\n", range: tour.upperBound ..< readme.endIndex),
              let end = readme.range(of: "\n```\n", range: start.upperBound ..< readme.endIndex) else {
            throw HTTPConnection.Failure(description: "README.md has no ```sh block under ## A tour")
        }
        return String(readme[start.upperBound ..< end.lowerBound])
    }

    @Test func theREADMETourRunsEndToEnd() throws {
        CLI.defaultPort.lock()
        defer { CLI.defaultPort.unlock() }
        let (root, path) = try CLI.repositoryCopy()
        // -e: any failing step fails the tour; `wait` lets the stopped server finish its shutdown.
        let r = try CLI.run(["-e", "-c", try Self.script() + "\nwait\n"], environment: ["PATH": path], directory: root, timeout: 600,
                            executable: "/bin/bash")
        #expect(r.status == 0, "the tour failed:\n\(r.stderr.suffix(3000))")
        // Step 7 shows a real correction: the model's answer for chat-1 is not the agent's label.
        // (curl's answers end without a newline: the category is read from the text.)
        let category = r.stdout.firstMatch(of: /"category":"([a-z_]+)","id":"chat-1"/).map { String($0.1) }
        #expect(category != nil && category != "account_access", "chat-1 was answered \(category ?? "nothing"): pick another message for step 7")
        let corrections = try String(contentsOf: root.appendingPathComponent("corrections.csv"), encoding: .utf8)
        #expect(corrections.contains("chat-1") && corrections.contains("account_access"))
        // Step 8's gate passed: the report is beside the model, which was measured on the test
        // split (its metrics are stored).
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("best.triage.promotion.json").path))
        let inspect = try CLI.run(["inspect", "--model", root.appendingPathComponent("best.triage").path,
                                   "--trusted-key", root.appendingPathComponent("keys/public.pem").path, "--json"])
        #expect(try JSONParser.parse(inspect.stdout)["provenance"]?["metrics"]?["accuracy"] != nil, "\(inspect.stderr)")
    }
}
