import ArgumentParser
import Foundation
import TriageArtifact
import TriageCore
import TriageData
import TriageLinear
import TriageModel
import TriageServer

/// Where messages come from: a CSV / gzipped CSV / JSON Lines file, mail (.eml, a directory of
/// them, an mbox), or a SQL query.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Messages: CSV (RFC 4180, optionally gzipped), JSON Lines (.jsonl), an .eml file, a directory of .eml files or an mbox; '-' reads CSV or JSON Lines from standard input.", valueName: "file"))
    var data: String?

    @Option(name: .long, help: ArgumentHelp("A SQLite database to read messages from with --sql.", valueName: "file"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("The query for --db; name its columns id, subject, body (or text) and label, e.g. \"SELECT title AS subject, text AS body, category AS label FROM chats\".", valueName: "query"))
    var sql: String?

    @Option(name: .customLong("id-column"), help: ArgumentHelp("Column (or JSON field) holding the message id (default: id, else the line number).", valueName: "name"))
    var idColumn: String?

    @Option(name: .customLong("subject-column"), help: ArgumentHelp("Column holding the subject (default: subject; none: empty subjects).", valueName: "name"))
    var subjectColumn: String?

    @Option(name: .customLong("body-column"), help: ArgumentHelp("Column holding the body (default: body, or text).", valueName: "name"))
    var bodyColumn: String?

    @Option(name: .customLong("label-column"), help: ArgumentHelp("Column holding the label (for mail, the --labels file's column). train: repeat it for a model of several label heads, e.g. --label-column queue --label-column priority (the first is the model's primary head).", valueName: "name"))
    var labelColumns: [String] = []

    /// The (first) label column.
    var labelColumn: String { labelColumns.first ?? "label" }

    @Option(name: .customLong("label-header"), help: ArgumentHelp("Mail input: the header holding each message's label, e.g. X-Queue.", valueName: "name"))
    var labelHeader: String?

    @Option(name: .customLong("labels"), help: ArgumentHelp("Mail input: a CSV with columns id (the Message-ID, without <>) and label (or --label-column); its label wins over --label-header's.", valueName: "file"))
    var labelsFile: String?

    @Flag(name: .customLong("skip-invalid"), help: "Skip malformed rows or messages (wrong field count, invalid UTF-8, missing label, unreadable MIME) and list them, instead of stopping at the first.")
    var skipInvalid = false

    func validate() throws {
        if let h = labelHeader, h.isEmpty || h.contains(":") || h.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
            throw ValidationError("--label-header wants a header name such as X-Queue (no colon, no spaces)")
        }
        if db != nil && data != nil { throw ValidationError("give either --data or --db with --sql, not both") }
        if db != nil && sql == nil { throw ValidationError("--db needs --sql \"SELECT … FROM …\"") }
        if sql != nil && db == nil { throw ValidationError("--sql needs --db FILE") }
        if let twice = labelColumns.enumerated().first(where: { labelColumns[..<$0.offset].contains($0.element) })?.element {
            throw ValidationError("--label-column \(twice) is given twice")
        }
    }

    /// The messages with every label head: read once per --label-column (labels optional), joined
    /// by line; a row with no label at all is an error naming it (or skipped with --skip-invalid).
    func loadHeads() throws -> MessageBatch {
        guard labelColumns.count > 1 else { return try load() }
        // One header cannot hold several heads' labels: mail gives them through --labels.
        if labelHeader != nil {
            throw CLIFailure(message: "--label-header reads one label per message; with several --label-column give mail's labels in a --labels FILE with one column per head (id,\(labelColumns.joined(separator: ",")))", code: 2)
        }
        var batches: [MessageBatch] = []
        for column in labelColumns {
            var one = self
            one.labelColumns = [column]
            batches.append(try one.loadQuietly(requireLabels: false))
        }
        let joined: MessageBatch
        do { joined = try batches[0].joiningHeads(Array(batches.dropFirst()), names: labelColumns, skipInvalid: skipInvalid) } catch {
            throw CLIFailure(message: error.description)
        }
        Self.report(joined)
        if joined.messages.isEmpty { throw CLIFailure(message: "\(joined.source): no messages to use") }
        return joined
    }

    var columns: ColumnMapping { ColumnMapping(id: idColumn, subject: subjectColumn, body: bodyColumn, label: labelColumn) }

    var mail: MailOptions { MailOptions(labelHeader: labelHeader, labelsFile: labelsFile, labelColumn: labelColumn) }

    var isGiven: Bool { data != nil || db != nil }

    /// Reads the messages, reporting skipped rows on stderr.
    func load(requireLabels: Bool = true) throws -> MessageBatch {
        // Commands of one label head (all but train, so far).
        if labelColumns.count > 1 {
            throw CLIFailure(message: "this command reads one label column; several (--label-column \(labelColumns.joined(separator: ", "))) are for triage train so far", code: 2)
        }
        let batch = try loadQuietly(requireLabels: requireLabels)
        Self.report(batch)
        if batch.messages.isEmpty { throw CLIFailure(message: "\(batch.source): no messages to use") }
        return batch
    }

    /// Reads the messages without reporting.
    private func loadQuietly(requireLabels: Bool) throws -> MessageBatch {
        let batch: MessageBatch
        do {
            if let db, let sql {
                batch = try MessageReader.readSQL(database: db, query: sql, columns: columns, requireLabels: requireLabels, skipInvalid: skipInvalid)
            } else if let data {
                if (labelHeader != nil || labelsFile != nil) && MessageReader.mailFormat(path: data) == nil {
                    throw CLIFailure(message: "\(data): --label-header and --labels are for mail input (.eml, a directory of .eml files, an mbox); this file is read as CSV or JSON Lines", code: 2)
                }
                batch = try MessageReader.read(path: data, columns: columns, mail: mail, requireLabels: requireLabels, skipInvalid: skipInvalid)
            } else {
                throw CLIFailure(message: "no messages given: use --data FILE (or --db FILE --sql QUERY)", code: 2)
            }
        } catch let error as DataSourceError {
            throw CLIFailure(message: error.description)
        }
        return batch
    }

    /// Says on stderr what reading skipped (--skip-invalid) and which fallbacks it took.
    static func report(_ batch: MessageBatch) {
        let what = batch.unit == "message" ? "message(s)" : "row(s)"
        if !batch.skipped.isEmpty {
            let places = batch.skipped.prefix(10).map(\.place).joined(separator: ", ")
            Console.warning("skipped \(batch.skipped.count) invalid \(what) of \(batch.source) (--skip-invalid): \(places)\(batch.skipped.count > 10 ? ", …" : "")")
            for row in batch.skipped.prefix(50) {
                Console.info(batch.unit == "line" ? "  \(batch.source):\(row.line): \(row.reason)" : "  \(batch.source): \(row.place): \(row.reason)")
            }
            if batch.skipped.count > 50 { Console.info("  … and \(batch.skipped.count - 50) more") }
        }
        for note in batch.notes.prefix(20) { Console.warning(note) }
        if batch.notes.count > 20 { Console.warning("… and \(batch.notes.count - 20) more note(s) on \(batch.source)") }
    }
}

/// A signed model and the keys it must be signed with.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The signed model artifact (.triage).", valueName: "file"))
    var model: String

    @Option(name: .customLong("trusted-key"), help: ArgumentHelp("A pinned public key (PEM) the model may be signed with; repeat for several. Also: TRIAGE_TRUSTED_KEYS (colon-separated paths).", valueName: "file"))
    var trustedKeys: [String] = []

    @Option(name: .customLong("max-model-bytes"), help: ArgumentHelp("Refuse model files larger than this.", valueName: "bytes"))
    var maxModelBytes: Int = ModelArtifact.LoadOptions.defaultMaxBytes

    func validate() throws {
        if maxModelBytes <= 0 { throw ValidationError("--max-model-bytes must be positive") }
    }

    var keyPaths: [String] {
        var paths = trustedKeys
        if let env = ProcessInfo.processInfo.environment["TRIAGE_TRUSTED_KEYS"], !env.isEmpty {
            paths += env.split(separator: ":").map(String.init)
        }
        return paths
    }

    func keys() throws -> [VerifyingKey] {
        let paths = keyPaths
        guard !paths.isEmpty else {
            throw CLIFailure(message: "no trusted key: pin the public key that signed the model with --trusted-key FILE (see triage keygen)", code: 2)
        }
        var keys: [VerifyingKey] = []
        for path in paths {
            do { keys.append(try VerifyingKey(path: path)) } catch { throw CLIFailure(message: "\(path): \(error)") }
        }
        return keys
    }

    var loadOptions: ModelArtifact.LoadOptions {
        var options = ModelArtifact.LoadOptions()
        options.maxBytes = maxModelBytes
        return options
    }

    /// Loads and verifies the model (signature, schema, golden probes); `measuringParts` also
    /// sizes the payload's parts (for inspect).
    func load(measuringParts: Bool = false) throws -> ModelArtifact.Loaded {
        let keys = try keys()
        var options = loadOptions
        options.measurePayloadParts = measuringParts
        do { return try ModelArtifact.load(path: model, trusted: keys, options: options) } catch {
            throw CLIFailure(message: "\(model): \(error)")
        }
    }
}

/// Threads, output and stop-word locations.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Worker threads (default: all cores). Results do not depend on it.", valueName: "n"))
    var threads: Int?

    @Flag(name: .shortAndLong, help: "Print only results and errors.")
    var quiet = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func apply() { Console.quiet = quiet }
}

/// A pipeline's settings: a preset, then a JSON config file's steps, then `--set name=value`
/// overrides with scikit-learn's names. Every setting is checked here, stop-word lists found
/// included, before any data is read (exit 2 when one is wrong).
struct PipelineOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The settings to start from (default: recommended): \(PipelinePreset.allCases.map { "'\($0.rawValue)' (\($0.summary))" }.joined(separator: "; ")).", valueName: "name"))
    var preset: PipelinePreset?

    @Option(name: .customLong("config-from"), help: ArgumentHelp("Start from a model's own settings instead of a preset (retraining it on new data), and its routing rules unless --rules is given; its signature is checked with --config-from-key, or with the public half of --key.", valueName: "model"))
    var configFrom: String?

    @Option(name: .customLong("config-from-key"), help: ArgumentHelp("The public key (PEM) that signed the --config-from model.", valueName: "file"))
    var configFromKey: String?

    @Option(name: .long, help: ArgumentHelp("Pipeline settings as JSON ({\"text\": …, \"vect\": …, \"tfidf\": …, \"clf\": …} or a \"union\" of blocks): each step the file names replaces the preset's; the steps it leaves out keep the preset's.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Set a parameter by its scikit-learn name, the value in JSON: --set vect.ngram_range=[1,2] --set clf.learning_rate=0.3 (repeatable; clf.type first starts the classifier from that type's defaults). With several --label-column, clf@HEAD.name=value sets one head's classifier: --set clf@priority.type=multinomial_nb.", valueName: "name=value"))
    var overrides: [String] = []

    @Option(name: .customLong("stopwords-dir"), help: ArgumentHelp("Directory of stop-word lists (default: the repository's stopwords/, or TRIAGE_STOPWORDS_DIR).", valueName: "dir"))
    var stopwordsDirectory: String?

    var stopWordDirectories: [String]? { stopwordsDirectory.map { [$0] } }

    func validate() throws {
        for o in overrides where !o.contains("=") {
            throw ValidationError("--set \(o): write name=value, e.g. --set vect.min_df=2")
        }
        if preset != nil && configFrom != nil { throw ValidationError("give --preset or --config-from, not both") }
        if configFromKey != nil && configFrom == nil { throw ValidationError("--config-from-key goes with --config-from MODEL") }
    }

    /// Where the settings come from, for people: "preset recommended, config c.json, --set clf.C=10".
    var origin: String {
        let start = configFrom.map { "settings of \($0)" } ?? "preset \((preset ?? .recommended).rawValue)"
        return ([start] + (config.map { ["config \($0)"] } ?? []) + overrides.map { "--set \($0)" }).joined(separator: ", ")
    }

    /// The settings: the preset (or a model's own), the file's steps over it, then the
    /// overrides; checked. `signingKey` is the command's private key, whose public half checks
    /// a --config-from model when no --config-from-key is given.
    func settings(signingKey: String? = nil) throws -> PipelineSettings {
        var settings = (preset ?? .recommended).settings
        if let configFrom { settings = try modelSettings(configFrom, signingKey: signingKey) }
        if let config {
            let bytes: [UInt8]
            do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: config))) } catch {
                throw CLIFailure(message: "\(config): cannot read: \((error as NSError).localizedDescription)")
            }
            let json: JSONValue
            do { json = try JSONParser.parse(bytes) } catch { throw CLIFailure(message: "\(config): \(error)", code: 2) }
            do { settings = try PipelineParameters.applyConfig(json, to: settings) } catch {
                throw CLIFailure(message: "\(config): \(error)", code: 2)
            }
        }
        var parameters: [String: JSONValue] = [:]
        for o in overrides where !o.hasPrefix(Self.headClassifierPrefix) {
            let parts = o.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0], text = parts.count > 1 ? parts[1] : ""
            // A bare word that is not JSON is taken as a string: --set vect.stop_words=english.
            let value = (try? JSONParser.parse(text)) ?? .string(text)
            parameters[name] = value
        }
        if !parameters.isEmpty {
            do { settings = try PipelineParameters.apply(parameters, to: settings) } catch {
                throw CLIFailure(message: "--set: \(error)", code: 2)
            }
        }
        do { try settings.check(stopWordDirectories: stopWordDirectories) } catch { throw CLIFailure(message: "settings: \(error)", code: 2) }
        return settings
    }
}

extension PipelineOptions {
    /// `--set clf@HEAD.name=value`: a classifier parameter of one label head (a model of several
    /// heads, `train --label-column … --label-column HEAD`).
    static let headClassifierPrefix = "clf@"

    /// The classifier settings of the heads named in `--set clf@HEAD.…` overrides: `base`'s
    /// classifier with those parameters applied (`clf@HEAD.type=…` first starts from that type's
    /// defaults, as `clf.type` does).
    func headClassifiers(base: PipelineSettings) throws -> [String: ClassifierSettings] {
        var byHead: [String: [String: JSONValue]] = [:]
        for o in overrides where o.hasPrefix(Self.headClassifierPrefix) {
            let parts = o.split(separator: "=", maxSplits: 1).map(String.init)
            let name = String(parts[0].dropFirst(Self.headClassifierPrefix.count))
            guard let dot = name.firstIndex(of: "."), dot != name.startIndex else {
                throw CLIFailure(message: "--set \(o): write clf@HEAD.name=value, e.g. --set clf@priority.type=multinomial_nb", code: 2)
            }
            let head = String(name[..<dot]), parameter = "clf" + name[dot...]
            let text = parts.count > 1 ? parts[1] : ""
            byHead[head, default: [:]][parameter] = (try? JSONParser.parse(text)) ?? .string(text)
        }
        var out: [String: ClassifierSettings] = [:]
        for (head, parameters) in byHead {
            do {
                let settings = try PipelineParameters.apply(parameters, to: base)
                try settings.clf.validate()
                out[head] = settings.clf
            } catch { throw CLIFailure(message: "--set clf@\(head): \(error)", code: 2) }
        }
        return out
    }

    /// The settings a signed model was trained with, read once its signature is checked.
    private func modelSettings(_ path: String, signingKey: String?) throws -> PipelineSettings {
        try configModel(path, signingKey: signingKey).pipeline.settings
    }

    /// The routing rules of the --config-from model (nil without --config-from, or when the
    /// model has none): retraining a model keeps its rules unless --rules gives others.
    func configFromRules(signingKey: String?) throws -> ModelRules? {
        guard let configFrom else { return nil }
        return try configModel(configFrom, signingKey: signingKey).pipeline.routing
    }

    private func configModel(_ path: String, signingKey: String?) throws -> ModelArtifact.Loaded {
        let key: VerifyingKey
        if let configFromKey {
            do { key = try VerifyingKey(path: configFromKey) } catch { throw CLIFailure(message: "\(configFromKey): \(error)") }
        } else if let signingKey {
            do { key = try SigningKey(path: signingKey).verifyingKey } catch { throw CLIFailure(message: "\(signingKey): \(error)") }
        } else {
            throw CLIFailure(message: "--config-from \(path): give --config-from-key FILE, the public key that signed it", code: 2)
        }
        do { return try ModelArtifact.load(path: path, trusted: [key]) } catch {
            throw CLIFailure(message: "--config-from \(path): \(error)")
        }
    }
}

extension PipelinePreset: ExpressibleByArgument {}

/// Files written by commands.
enum Output {
    /// Writes text to a path ('-': stdout).
    static func write(_ text: String, to path: String) throws {
        if path == "-" {
            Console.out(text)
            return
        }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CLIFailure(message: "\(path): cannot write: \((error as NSError).localizedDescription)")
        }
    }

    static func json(_ value: JSONValue) -> String { JSONWriter.string(value, options: .init(pretty: true)) }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }
}

extension Double {
    /// A duration for people: 0.42 s, 12.3 s, 4 min 05 s, 1 h 02 min.
    var humanDuration: String {
        if self < 10 { return String(format: "%.2f s", self) }
        if self < 60 { return String(format: "%.1f s", self) }
        if self < 3600 { return String(format: "%d min %02d s", Int(self) / 60, Int(self) % 60) }
        return String(format: "%d h %02d min", Int(self) / 3600, Int(self) % 3600 / 60)
    }
}

extension WeightEncoding: ExpressibleByArgument {}

/// Help text as ArgumentParser should wrap it.
enum Help {
    /// The lines of each prose paragraph joined into one, so that ArgumentParser wraps them at
    /// the terminal's width (it wraps every source line on its own: text wrapped at 100 columns
    /// in the source came out ragged at 80). Indented lines (examples) and blank lines stay.
    static func prose(_ text: String) -> String {
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let isProse = !line.isEmpty && !line.hasPrefix(" ")
            if isProse, let last = lines.last, !last.isEmpty, !last.hasPrefix(" "), !last.hasSuffix(":") {
                lines[lines.count - 1] = last + " " + line
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// `--since` / `--until` over the prediction log (review, replay).
struct TimeRangeOptions: ParsableArguments {
    @Option(name: .customLong("since"), help: ArgumentHelp("Only predictions received at or after this instant (ISO 8601, UTC unless it says otherwise).", valueName: "time"))
    var sinceText: String?

    @Option(name: .customLong("until"), help: ArgumentHelp("Only predictions received before this instant.", valueName: "time"))
    var untilText: String?

    func validate() throws {
        for (flag, value) in [("--since", sinceText), ("--until", untilText)] {
            if let value, ReviewQueue.instant(value) == nil {
                throw ValidationError("\(flag) \(value): not an ISO 8601 date or time (2026-12-01, 2026-12-01T08:00:00Z, 2026-12-01T09:00:00+01:00)")
            }
        }
    }

    /// Seconds since 1970 (validated).
    var since: Double? { sinceText.flatMap(ReviewQueue.instant) }
    var until: Double? { untilText.flatMap(ReviewQueue.instant) }
}
