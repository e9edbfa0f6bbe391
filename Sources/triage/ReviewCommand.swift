import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageModel
import TriageServer

struct Review: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the logged predictions an agent should look at first.",
        discussion: Help.prose("""
            Example:
              triage review --db predictions.sqlite --unlabelled --limit 20

            Each message's latest prediction, in this order: the ones the confidence policy left
            to a person (unsure); with --model, those predicted in a category whose share grew
            from the model's training labels (recent share above the training share, at least
            0.02 of the population stability index); then the closest calls (smallest difference
            between the two most probable labels), then the lowest top probability; newest
            first on ties.
            Filters: --since and --until (ISO 8601: 2026-12-01 or 2026-12-01T08:00:00Z; --until
            excluded), --category (the predicted one), --unlabelled (no agent has relabelled the
            message). --limit and --offset page through the list; the total is printed. The log
            is opened read-only, so a running server keeps writing.

            --drift --model M --trusted-key K compares instead the categories of the latest
            predictions (in the time range) with the labels M was trained on: the population
            stability index, PSI = sum of (recent - training share) * ln(recent / training share),
            below 0.1 no real change, 0.1-0.25 moderate, above 0.25 large; and the categories
            that moved most.
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The server's SQLite log.", valueName: "file"))
    var db: String

    @OptionGroup var range: TimeRangeOptions

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

    @Flag(name: .long, help: "Compare the predicted categories' shares with the training labels of --model (PSI) instead of listing messages.")
    var drift = false

    @Option(name: .long, help: ArgumentHelp("The model whose training labels are the reference: with --drift, the index; without, the messages of categories predicted more often than in training come right after the unsure ones.", valueName: "file"))
    var model: String?

    @Option(name: .customLong("trusted-key"), help: ArgumentHelp("The public key (PEM) --model is signed with; repeatable.", valueName: "file"))
    var trustedKeys: [String] = []

    func validate() throws {
        if !(1 ... 10000).contains(limit) { throw ValidationError("--limit must be between 1 and 10000, got \(limit)") }
        if offset < 0 { throw ValidationError("--offset must be 0 or more, got \(offset)") }
        if drift && model == nil { throw ValidationError("--drift needs --model FILE (and --trusted-key): its training labels are the reference") }
    }

    /// The population stability of the predictions in range against --model's training labels.
    func stability() throws -> (psi: PopulationStability, model: ModelArtifact.Loaded)? {
        guard let model else { return nil }
        let loaded = try Promote.loadModel(model, keys: trustedKeys)
        do {
            return (try ReviewQueue.stability(database: db, since: range.since, until: range.until, training: loaded.provenance.labelCounts), loaded)
        } catch { throw CLIFailure(message: "\(db): \(error)") }
    }

    func run() throws {
        if drift { return try runDrift() }
        let drifted = try stability().map { ReviewQueue.drifted($0.psi) } ?? []
        let query = ReviewQueue.Query(since: range.since, until: range.until, category: category,
                                      unlabelledOnly: unlabelled, limit: limit, offset: offset, drifted: drifted)
        let page: ReviewQueue.Page
        do { page = try ReviewQueue.page(database: db, query: query) } catch { throw CLIFailure(message: "\(db): \(error)") }
        if json {
            print(Output.json(page.json(query: query)), terminator: "")
            return
        }
        let shown = page.items.isEmpty ? "none" : "\(query.offset + 1)–\(query.offset + page.items.count)"
        var lines = ["\(db): \(page.total) message(s) to review; showing \(shown)"]
        if !drifted.isEmpty { lines.append("categories predicted more often than in training, listed after the unsure: \(drifted.joined(separator: ", "))") }
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

    func runDrift() throws {
        guard let (psi, loaded) = try stability() else { return }
        if json {
            print(Output.json([
                "psi": JSONValue.double(psi.value) ?? .null, "level": .string(psi.level), "observed": .number(JSONNumber(psi.observed)),
                "model_id": .string(loaded.id),
                "categories": .array(psi.categories.map {
                    ["category": .string($0.name), "training_share": JSONValue.double($0.expected) ?? .null,
                     "recent_share": JSONValue.double($0.actual) ?? .null, "contribution": JSONValue.double($0.contribution) ?? .null]
                }),
            ]), terminator: "")
            return
        }
        guard psi.observed > 0 else {
            print("\(db): no prediction in the range; nothing to compare")
            return
        }
        var lines = [String(format: "PSI %.4f", psi.value) + " (\(psi.level)) over \(psi.observed) message(s), against the \(loaded.provenance.rows) training messages of model \(loaded.id.prefix(16))…"]
        lines.append("categories that moved most (training share → recent share, part of the index):")
        for c in psi.categories.prefix(limit) {
            lines.append("  \(c.name): " + String(format: "%.1f %% → %.1f %%  (%.4f)", 100 * c.expected, 100 * c.actual, c.contribution))
        }
        print(lines.joined(separator: "\n"))
    }
}
