import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageModel
import TriageText

/// `triage rules …`: a team's routing rules, tried before a model uses them.
struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Routing rules: words, phrases or regular expressions that decide a label or add a feature.",
        subcommands: [RulesTestCommand.self]
    )
}

struct RulesTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Measure a rules file on labelled messages: each rule's coverage and precision, and the conflicts.",
        discussion: Help.prose("""
            Example:
              triage rules test --rules corpora/demo/rules.json --data corpora/demo/train.csv

            Messages are cleaned first, as the recommended settings do (--model M: as model M
            does), and words are compared after lower-casing and stripping accents. For each
            rule: the messages it matches (coverage); for an override, the share of them labelled
            as it says (precision) and the messages it decides (the first matching override
            decides, later ones that disagree are conflicts, listed with example ids). A rule
            whose label no message carries is flagged.
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The rules file (JSON; see the README's Rules).", valueName: "file"))
    var rules: String

    @OptionGroup var data: DataOptions

    @Option(name: .long, help: ArgumentHelp("Clean messages as this model does (default: the recommended clean step).", valueName: "file"))
    var model: String?

    @Option(name: .customLong("trusted-key"), help: ArgumentHelp("Public key that must have signed --model (repeatable).", valueName: "file"))
    var trustedKeys: [String] = []

    @Option(name: .long, help: ArgumentHelp("Worker threads (default: all cores).", valueName: "n"))
    var threads: Int?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        let matcher = try Self.loadRules(rules)
        let cleaner: Cleaner?
        if let model {
            let options = try ModelOptions.parse(["--model", model] + trustedKeys.flatMap { ["--trusted-key", $0] })
            cleaner = try options.load().pipeline.cleaner
        } else {
            do { cleaner = try CleanSettings().prepare(directories: nil) } catch { throw CLIFailure(message: error.description, code: 2) }
        }
        let batch = try data.load()
        var messages = batch.messages
        if let cleaner {
            let cleaned = cleaner.clean(messages.map(\.message), threads: threads)
            for i in messages.indices {
                messages[i].subject = cleaned[i].subject
                messages[i].body = cleaned[i].body
            }
        }
        let report = RulesReport(matcher: matcher, messages: messages, head: data.labelColumn, threads: threads)
        if json {
            Console.out(JSONWriter.bytes(report.json) + [0x0A])
            return
        }
        Console.out(Self.text(report, rules: rules, source: batch.source))
    }

    /// A rules file read and compiled; its problems are usage errors naming the rule.
    static func loadRules(_ path: String) throws -> RuleMatcher {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw CLIFailure(message: "\(path): cannot read the file", code: 2) }
        do { return try RuleMatcher(RuleSet.parse(Array(bytes))) } catch { throw CLIFailure(message: "\(path): \(error)", code: 2) }
    }

    static func text(_ r: RulesReport, rules: String, source: String) -> String {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f %%", 100 * $0) } ?? "—" }
        var lines = ["rules \(rules) on \(source): \(r.messages) messages, head \"\(r.head)\"", ""]
        let width = max(4, r.rules.map(\.name.count).max() ?? 4)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func right(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        lines.append(pad("rule", width) + "  mode      matched  coverage  precision  decided (right)  label / most frequent labels")
        for s in r.rules {
            let coverage = pct(r.messages > 0 ? Double(s.matched) / Double(r.messages) : nil)
            let decided = s.mode == .override ? "\(s.decided) (\(s.decidedRight))" : "—"
            let labels = s.mode == .override ? (s.label ?? "") : s.topLabels.map { "\($0.label) \($0.count)" }.joined(separator: ", ")
            lines.append(pad(s.name, width) + "  " + pad(s.mode.rawValue, 8) + "  " + right(String(s.matched), 7) + "  " + right(coverage, 8) + "  "
                         + right(pct(s.precision), 9) + "  " + right(decided, 15) + "  " + labels)
        }
        lines.append("")
        lines.append("overrides decided \(r.decided) of \(r.messages) messages (\(pct(r.messages > 0 ? Double(r.decided) / Double(r.messages) : nil))), \(r.decidedRight) right (\(pct(r.decided > 0 ? Double(r.decidedRight) / Double(r.decided) : nil)))")
        if r.conflicts.isEmpty {
            lines.append("conflicts: none")
        } else {
            lines.append("conflicts (the earlier rule wins):")
            for c in r.conflicts { lines.append("  \(c.winner) over \(c.loser): \(c.messages) message(s), e.g. \(c.examples.joined(separator: ", "))") }
        }
        for u in r.unseenLabels { lines.append("warning: rule \"\(u.rule)\" routes to \"\(u.label)\", which no message of the data carries") }
        if !r.otherHeads.isEmpty { lines.append("not measured (another head): \(r.otherHeads.joined(separator: ", "))") }
        return lines.joined(separator: "\n") + "\n"
    }
}
