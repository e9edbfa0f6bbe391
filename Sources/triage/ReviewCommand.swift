import ArgumentParser
import Foundation
import TriageCore
import TriageServer

struct Review: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the logged predictions an agent should look at first.",
        discussion: """
            Example:
              triage review --db predictions.sqlite --unlabelled --limit 20

            Each message's latest prediction, in this order: the ones the confidence policy left
            to a person (unsure), then the closest calls (smallest difference between the two
            most probable labels), then the lowest top probability; newest first on ties.
            Filters: --since and --until (ISO 8601: 2026-12-01 or 2026-12-01T08:00:00Z; --until
            excluded), --category (the predicted one), --unlabelled (no agent has relabelled the
            message). --limit and --offset page through the list; the total is printed. The log
            is opened read-only, so a running server keeps writing.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The server's SQLite log.", valueName: "file"))
    var db: String

    @Option(name: .long, help: ArgumentHelp("Only predictions received at or after this instant (ISO 8601, UTC unless it says otherwise).", valueName: "time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only predictions received before this instant.", valueName: "time"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp("Only messages predicted as this category.", valueName: "name"))
    var category: String?

    @Flag(name: .long, help: "Only messages no agent has relabelled.")
    var unlabelled = false

    @Option(name: .long, help: ArgumentHelp("Messages per page (1–10000).", valueName: "n"))
    var limit: Int = 50

    @Option(name: .long, help: ArgumentHelp("Skip this many messages (the pages before).", valueName: "n"))
    var offset: Int = 0

    @Flag(name: .long, help: "Print the page as JSON.")
    var json = false

    func validate() throws {
        if !(1 ... 10000).contains(limit) { throw ValidationError("--limit must be between 1 and 10000, got \(limit)") }
        if offset < 0 { throw ValidationError("--offset must be 0 or more, got \(offset)") }
        for (flag, value) in [("--since", since), ("--until", until)] {
            if let value, ReviewQueue.instant(value) == nil {
                throw ValidationError("\(flag) \(value): not an ISO 8601 date or time (2026-12-01, 2026-12-01T08:00:00Z, 2026-12-01T09:00:00+01:00)")
            }
        }
    }

    func run() throws {
        let query = ReviewQueue.Query(since: since.flatMap(ReviewQueue.instant), until: until.flatMap(ReviewQueue.instant), category: category,
                                      unlabelledOnly: unlabelled, limit: limit, offset: offset)
        let page: ReviewQueue.Page
        do { page = try ReviewQueue.page(database: db, query: query) } catch { throw CLIFailure(message: "\(db): \(error)") }
        if json {
            print(Output.json(page.json(query: query)), terminator: "")
            return
        }
        let shown = page.items.isEmpty ? "none" : "\(query.offset + 1)–\(query.offset + page.items.count)"
        var lines = ["\(db): \(page.total) message(s) to review; showing \(shown)"]
        if !page.items.isEmpty {
            lines.append("  #  received                  id  category  p  margin  unsure  relabelled  text")
        }
        for (i, item) in page.items.enumerated() {
            var text = [item.subject, item.body].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " — ").replacingOccurrences(of: "\n", with: " ")
            if item.body == nil { text = "(text not stored)" }
            if text.count > 60 { text = String(text.prefix(59)) + "…" }
            let margin = item.margin.map { String(format: "%.3f", $0) } ?? "-"
            let relabelled = item.label.map { $0 + (item.agent.map { " (\($0))" } ?? "") } ?? "-"
            lines.append(String(format: "%3d  ", query.offset + i + 1) + "\(item.receivedAt)  \(item.messageID)  \(item.category)  "
                + String(format: "%.3f", item.probability) + "  \(margin)  \(item.unsureReason ?? "-")  \(relabelled)  \(text)")
        }
        print(lines.joined(separator: "\n"))
    }
}
