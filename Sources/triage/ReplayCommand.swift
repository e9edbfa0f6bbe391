import ArgumentParser
import Foundation
import TriageCore
import TriageServer

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay logged messages through a candidate model and compare with what was served.",
        discussion: Help.prose("""
            Example:
              triage replay --db predictions.sqlite --model models/demo.triage \\
                  --trusted-key models/triage.public.pem

            Each message's latest logged prediction (with --since / --until, those received in
            that range) is predicted again by --model, with its own confidence policy, and
            compared with what the server answered: how often the category is the same, which
            routes would change (served → candidate, most frequent first), how many messages
            would newly be left to a person or newly routed, and — on the messages agents
            relabelled — how often each model was right. Messages logged with --no-store-text
            cannot be replayed; they are counted. The log is opened read-only.
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The server's SQLite log.", valueName: "file"))
    var db: String

    @OptionGroup var model: ModelOptions
    @OptionGroup var runtime: RuntimeOptions

    @OptionGroup var range: TimeRangeOptions

    @Option(name: .long, help: ArgumentHelp("Route changes listed in the text report.", valueName: "n"))
    var changes: Int = 20

    @Flag(name: .long, help: "Print the comparison as JSON (every route change).")
    var json = false

    func validate() throws {
        if changes < 0 { throw ValidationError("--changes must be 0 or more, got \(changes)") }
    }

    func run() throws {
        runtime.apply()
        let loaded = try model.load()
        let served: (messages: [ShadowReplay.Served], withoutText: Int)
        do { served = try ShadowReplay.served(database: db, since: range.since, until: range.until) } catch {
            throw CLIFailure(message: "\(db): \(error)")
        }
        let candidate = loaded.pipeline.predict(served.messages.map { Message(id: $0.messageID, subject: $0.subject, body: $0.body) }, top: 1,
                                                threads: runtime.threads)
        let report = ShadowReplay(served: served.messages, withoutText: served.withoutText, candidate: candidate)
        if json {
            var o = report.json.objectValue ?? JSONObject()
            o["model_id"] = .string(loaded.id)
            o["db"] = .string(db)
            print(Output.json(.object(o)), terminator: "")
        } else {
            print("candidate \(loaded.id.prefix(16))… on \(db)")
            print(report.text(changesShown: changes), terminator: "")
        }
    }
}
