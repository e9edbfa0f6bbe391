import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageData
import TriageText

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the clean step keeps of a message and what it cuts, and why.",
        discussion: Help.prose("""
            The clean step (a pipeline's "clean" settings: clean.html, clean.quotes,
            clean.signature, clean.disclaimer, clean.languages, clean.patterns) turns an HTML body
            into text and cuts quoted replies, signatures, mobile footers and disclaimers before the
            message is classified. This command runs it on one message, so you can check it on your
            own mail, or on every message of --data (writing the cleaned messages with --out).

            Examples:
              triage clean --subject "RE: Your card" --body-file corpora/demo/email/reply.html
              triage clean --body-file corpora/demo/email/reply.html --json
              triage clean --data corpora/demo/email/test.csv --out cleaned.csv

            With --model the model's own settings and patterns apply (exactly what it does when
            serving); otherwise the flags below, with the patterns of stopwords/mail/. --json
            gives the removed parts with their offsets in the original body, in UTF-16 code units.
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The subject.", valueName: "text"))
    var subject = ""

    @Option(name: .long, help: ArgumentHelp("The body.", valueName: "text"))
    var body: String?

    @Option(name: .customLong("body-file"), help: ArgumentHelp("Read the body from a file (text or HTML, UTF-8); '-' reads standard input.", valueName: "file"))
    var bodyFile: String?

    @OptionGroup var data: DataOptions

    @Option(name: .long, help: ArgumentHelp("With --data: write the cleaned messages here as CSV (id,subject,body,label).", valueName: "file"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Clean as this model does (its settings and stored patterns).", valueName: "file"))
    var model: String?

    @Option(name: .customLong("trusted-key"), help: ArgumentHelp("A pinned public key (PEM) the --model may be signed with (repeatable; also TRIAGE_TRUSTED_KEYS).", valueName: "file"))
    var trustedKeys: [String] = []

    @Flag(name: .customLong("no-html"), help: "Keep HTML bodies as they are.")
    var noHTML = false
    @Flag(name: .customLong("no-quotes"), help: "Keep quoted replies.")
    var noQuotes = false
    @Flag(name: .customLong("no-signature"), help: "Keep signatures and mobile footers.")
    var noSignature = false
    @Flag(name: .customLong("no-disclaimer"), help: "Keep disclaimers.")
    var noDisclaimer = false

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Languages whose patterns apply (default: every stopwords/mail/*.txt).", valueName: "language"))
    var languages: [String] = []

    @Option(name: .long, help: ArgumentHelp("A patterns file of your own (format: stopwords/mail/README.md), added to the languages'.", valueName: "file"))
    var patterns: String?

    @Option(name: .customLong("stopwords-dir"), help: ArgumentHelp("Directory holding mail/<language>.txt (default: the repository's stopwords/, or TRIAGE_STOPWORDS_DIR).", valueName: "dir"))
    var stopwordsDir: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        let sources = [body != nil, bodyFile != nil, data.isGiven].filter { $0 }.count
        if sources != 1 { throw ValidationError("give one of --body, --body-file or --data") }
        if out != nil && !data.isGiven { throw ValidationError("--out writes the cleaned messages of --data; give --data") }
        if json && data.isGiven && out == nil { throw ValidationError("with --data, --json prints a summary: give --out FILE for the cleaned messages") }
        if model != nil && (noHTML || noQuotes || noSignature || noDisclaimer || !languages.isEmpty || patterns != nil) {
            throw ValidationError("--model cleans as the model does; the --no-… flags, --languages and --patterns are for cleaning without one")
        }
    }

    func cleaner() throws -> Cleaner {
        if let model {
            let options = try ModelOptions.parse(["--model", model] + trustedKeys.flatMap { ["--trusted-key", $0] })
            let loaded = try options.load()
            guard let cleaner = loaded.pipeline.cleaner else {
                throw CLIFailure(message: "\(model): this model does not clean messages (its settings have no \"clean\" step)", code: 2)
            }
            return cleaner
        }
        let settings = CleanSettings(html: !noHTML, quotes: !noQuotes, signature: !noSignature, disclaimer: !noDisclaimer,
                                     languages: languages.isEmpty ? nil : languages, patterns: patterns)
        do {
            return try settings.prepare(directories: stopwordsDir.map { [$0] })
        } catch {
            throw CLIFailure(message: error.description, code: 2)
        }
    }

    func run() throws {
        let cleaner = try cleaner()
        if data.isGiven {
            try cleanData(cleaner)
            return
        }
        var text = body ?? ""
        if let bodyFile {
            let bytes: Data?
            if bodyFile == "-" { bytes = FileHandle.standardInput.readDataToEndOfFile() } else { bytes = FileManager.default.contents(atPath: bodyFile) }
            guard let bytes else { throw CLIFailure(message: "\(bodyFile): cannot read the file", code: 2) }
            guard let decoded = String(validating: bytes, as: UTF8.self) else {
                throw CLIFailure(message: "\(bodyFile): not UTF-8 (convert it first, e.g. iconv -f latin1 -t utf-8)", code: 2)
            }
            text = decoded
        }
        let cleaned = cleaner.clean(body: text)
        let cleanSubject = cleaner.cleanSubject(subject)
        if json {
            let removed: [JSONValue] = cleaned.removed.map { part in
                let utf16 = CleanedText.utf16Range(ofUTF8: part.original, in: text)
                return .object(JSONObject([
                    ("kind", .string(part.kind.rawValue)), ("reason", .string(part.reason)), ("text", .string(part.text)),
                    ("start", .number(JSONNumber(utf16.lowerBound))), ("end", .number(JSONNumber(utf16.upperBound))),
                ]))
            }
            print(Output.json(.object(JSONObject([
                ("subject", .string(cleanSubject)), ("body", .string(cleaned.text)), ("html", .bool(cleaned.wasHTML)),
                ("fell_back", .bool(cleaned.fellBack)), ("markup_bytes", .number(JSONNumber(cleaned.markupBytes))),
                ("removed", .array(removed)),
            ]))), terminator: "")
            return
        }
        if !subject.isEmpty { print("subject: \(cleanSubject)" + (cleanSubject == subject ? "" : "   (was: \(subject))")) }
        print("kept\(cleaned.wasHTML ? " (HTML body as text)" : ""):")
        for line in cleaned.text.split(separator: "\n", omittingEmptySubsequences: false) { print("  │ \(line)") }
        if cleaned.fellBack {
            print("(cleaning would have left no words: the whole body is kept, as the classifier sees it)")
        }
        if cleaned.removed.isEmpty {
            print("removed: nothing" + (cleaned.markupBytes > 0 ? " but markup (\(cleaned.markupBytes) bytes)" : ""))
            return
        }
        print("removed:" + (cleaned.markupBytes > 0 ? " markup (\(cleaned.markupBytes) bytes), and" : ""))
        for part in cleaned.removed {
            let utf16 = CleanedText.utf16Range(ofUTF8: part.original, in: text)
            print("  \(part.kind.rawValue): \(part.reason), characters \(utf16.lowerBound)–\(utf16.upperBound)")
            let lines = part.text.split(separator: "\n")
            for line in lines.prefix(6) { print("    │ \(line.prefix(100))") }
            if lines.count > 6 { print("    │ … \(lines.count - 6) more line(s)") }
        }
    }

    private func cleanData(_ cleaner: Cleaner) throws {
        let batch = try data.load(requireLabels: false)
        var rows: [[String]] = []
        var counts: [RemovedPart.Kind: Int] = [:]
        var removedBytes: [RemovedPart.Kind: Int] = [:]
        var bytesIn = 0, bytesOut = 0, html = 0, fellBack = 0
        // The step as classifying runs it (`Cleaner.clean(_:)`), on one thread, timed alone: its
        // speed on one core. Then again with the details this command prints.
        let clock = ContinuousClock()
        let start = clock.now
        var check = 0
        for m in batch.messages { check &+= cleaner.clean(m.message).body.utf8.count }
        let elapsed = clock.now - start
        for m in batch.messages {
            let cleaned = cleaner.clean(body: m.body)
            let subject = cleaner.cleanSubject(m.subject)
            rows.append([m.id, subject, cleaned.text, m.label ?? ""])
            for kind in Set(cleaned.removed.map(\.kind)) { counts[kind, default: 0] += 1 }
            for part in cleaned.removed { removedBytes[part.kind, default: 0] += part.original.count }
            removedBytes[.markup, default: 0] += cleaned.markupBytes
            if cleaned.markupBytes > 0 { counts[.markup, default: 0] += 1 }
            bytesIn += m.body.utf8.count + m.subject.utf8.count
            bytesOut += cleaned.text.utf8.count
            if cleaned.wasHTML { html += 1 }
            if cleaned.fellBack { fellBack += 1 }
        }
        let n = batch.messages.count
        precondition(check == bytesOut, "the classifying path and the detailed one disagree")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let megabytesPerSecond = seconds > 0 ? Double(bytesIn) / 1e6 / seconds : 0
        if json {
            var parts = JSONObject()
            for kind in RemovedPart.Kind.allCases {
                parts[kind.rawValue] = .object(JSONObject([("messages", .number(JSONNumber(counts[kind] ?? 0))),
                                                           ("bytes", .number(JSONNumber(removedBytes[kind] ?? 0)))]))
            }
            try Output.write(CSVWriter.document(header: ["id", "subject", "body", "label"], rows: rows), to: out ?? "")
            print(Output.json(.object(JSONObject([
                ("messages", .number(JSONNumber(n))), ("bytes_in", .number(JSONNumber(bytesIn))), ("bytes_out", .number(JSONNumber(bytesOut))),
                ("html", .number(JSONNumber(html))), ("kept_whole", .number(JSONNumber(fellBack))), ("removed", .object(parts)),
                ("seconds", JSONValue.double(seconds) ?? .null), ("mb_per_second", JSONValue.double(megabytesPerSecond) ?? .null),
            ]))), terminator: "")
            return
        }
        func share(_ k: Int) -> String { String(format: "%d (%.1f %%)", k, 100 * Double(k) / Double(max(1, n))) }
        var summary = "\(batch.source): \(n) message(s), \(Output.grouped(bytesIn)) body bytes → \(Output.grouped(bytesOut)); HTML \(share(html))"
        for kind in RemovedPart.Kind.allCases where kind != .markup { summary += "; \(kind.rawValue) cut in \(share(counts[kind] ?? 0))" }
        summary += "; kept whole (nothing left after cleaning) \(share(fellBack)); \(String(format: "%.1f", megabytesPerSecond)) MB/s on one thread"
        let csv = CSVWriter.document(header: ["id", "subject", "body", "label"], rows: rows)
        if let out {
            try Output.write(csv, to: out)
            Console.info(summary)
        } else {
            print(csv, terminator: "")
            Console.info(summary)
        }
    }
}
