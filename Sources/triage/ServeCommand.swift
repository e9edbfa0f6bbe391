import ArgumentParser
import Foundation
import Logging
import TriageArtifact
import TriageCore
import TriageServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a signed model over HTTP: POST /messages, with a SQLite prediction and feedback log.",
        discussion: Help.prose("""
            Example:
              triage serve --model models/demo.triage --trusted-key \\
                  models/triage.public.pem --port 8080 --db predictions.sqlite &
              curl -s localhost:8080/messages -H 'Content-Type: application/json' -d \\
                  '{"messages": [{"id": "chat-1", "body": "I lost my card"}]}'
              curl -s localhost:8080/messages/chat-1/label -H \\
                  'Content-Type: application/json' -d \\
                  '{"label": "card_loss_fraud", "agent": "ana"}'

            Routes: POST /messages, POST /messages/{id}/label, GET /health, /ready, /model, /metrics,
            /openapi.json, /review, POST /admin/reload. Writes (relabels, /admin/*, /review) are
            open on loopback (the admin routes and /review from loopback only) until --token-file
            names who may make them (Authorization: Bearer <token>; 401 otherwise); a server
            listening beyond loopback refuses to start without it, unless --open-writes. The
            model is verified (signature,
            schema, golden probes) at start and on reload (SIGHUP or /admin/reload); a model that
            fails is refused and the old one keeps serving. SIGTERM drains in-flight requests and
            closes the log. A prediction is in the log before its response is sent.
            """)
    )

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: ArgumentHelp("Address to listen on (0.0.0.0 for all interfaces).", valueName: "address"))
    var host: String = "127.0.0.1"

    @Option(name: .long, help: ArgumentHelp("Port to listen on (0: any free port, printed at start).", valueName: "port"))
    var port: Int = 8080

    @Option(name: .long, help: ArgumentHelp("SQLite file logging every prediction and re-classification (WAL mode); default: no log.", valueName: "file"))
    var db: String?

    @Flag(name: .customLong("no-store-text"), help: "Log a SHA-256 of each message instead of its subject and body.")
    var noStoreText = false

    @Option(name: .customLong("db-sync"), help: ArgumentHelp("'normal': a commit survives a crash of the server; 'full': also a power failure (slower).", valueName: "mode"))
    var dbSync: PredictionLog.Durability = .normal

    @Option(name: .customLong("db-commit-window"), help: ArgumentHelp("Longest a logged prediction waits for others to share its commit, in milliseconds (0: commit at once). Larger groups cost less CPU per row under load.", valueName: "ms"))
    var dbCommitWindow: Double = PredictionLog.defaultCommitWindow.milliseconds

    @Option(name: .long, help: ArgumentHelp("Mark predictions below this (calibrated) probability unsure, replacing the threshold of the model's confidence policy.", valueName: "p"))
    var threshold: Double?

    @Option(name: .long, help: ArgumentHelp("Categories listed per prediction.", valueName: "k"))
    var top: Int = 3

    @Option(name: .customLong("max-body-bytes"), help: ArgumentHelp("Largest request body (413 above).", valueName: "bytes"))
    var maxBodyBytes: Int = 1 << 20

    @Option(name: .customLong("max-messages"), help: ArgumentHelp("Most messages per request (422 above).", valueName: "n"))
    var maxMessages: Int = 256

    @Option(name: .customLong("max-message-bytes"), help: ArgumentHelp("Longest message, subject + body in UTF-8 bytes (422 above).", valueName: "bytes"))
    var maxMessageBytes: Int = 64 << 10

    @Option(name: .customLong("max-raw-bytes"), help: ArgumentHelp("Longest \"raw\" e-mail in a message, in UTF-8 bytes (422 above).", valueName: "bytes"))
    var maxRawBytes: Int = 256 << 10

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Close a connection after this many seconds without bytes from the client.", valueName: "seconds"))
    var idleTimeout: Double = 30

    @Option(name: .customLong("head-timeout"), help: ArgumentHelp("A request head must arrive within this many seconds of its first byte (408 and close otherwise).", valueName: "seconds"))
    var headTimeout: Double = 10

    @Option(name: .customLong("body-timeout"), help: ArgumentHelp("A request body must arrive within this many seconds (408 otherwise).", valueName: "seconds"))
    var bodyTimeout: Double = 10

    @Flag(name: .customLong("no-fast-path"), help: "Answer POST /messages through Hummingbird's router too (same responses, more CPU per request; for comparison).")
    var noFastPath = false

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Bearer tokens of those who may write — relabel (their name is the agent), /admin/*, GET /review — one name:token per line, mode 0600; needed to listen beyond loopback.", valueName: "file"))
    var tokenFile: String?

    @Option(name: .customLong("predict-token-file"), help: ArgumentHelp("Bearer tokens of those who may POST /messages (default: anyone); same format.", valueName: "file"))
    var predictTokenFile: String?

    @Flag(name: .customLong("open-writes"), help: "Listen beyond loopback without --token-file: anyone who can connect may relabel and administer.")
    var openWrites = false

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        if !(0 ... 65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if let threshold, !(0 ... 1).contains(threshold) { throw ValidationError("--threshold must be in [0, 1]") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if maxBodyBytes < 64 || maxMessages < 1 || maxMessageBytes < 1 || maxRawBytes < 1 { throw ValidationError("limits must be positive (--max-body-bytes at least 64)") }
        if !(idleTimeout > 0) || !(bodyTimeout > 0) || !(headTimeout > 0) { throw ValidationError("timeouts must be positive") }
        if !(0 ... 100).contains(dbCommitWindow) { throw ValidationError("--db-commit-window must be between 0 and 100 milliseconds") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level \(logLevel): use trace, debug, info, notice, warning, error or critical") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
        var configuration = ServerConfiguration(modelPath: model.model, trustedKeys: try model.keys())
        configuration.host = host
        configuration.port = port
        configuration.loadOptions = model.loadOptions
        configuration.databasePath = db
        configuration.durability = dbSync
        configuration.commitWindow = .microseconds(Int64((dbCommitWindow * 1000).rounded()))
        configuration.storeText = !noStoreText
        configuration.threshold = threshold
        configuration.top = top
        configuration.limits.maxBodyBytes = maxBodyBytes
        configuration.limits.maxMessages = maxMessages
        configuration.limits.maxMessageBytes = maxMessageBytes
        configuration.limits.maxRawBytes = maxRawBytes
        configuration.limits.bodyTimeoutSeconds = bodyTimeout
        configuration.idleTimeoutSeconds = idleTimeout
        configuration.headTimeoutSeconds = headTimeout
        configuration.messagesFastPath = !noFastPath
        configuration.openWrites = openWrites
        do {
            configuration.writeTokens = try tokenFile.map { try AccessTokens(path: $0) }
            configuration.predictTokens = try predictTokenFile.map { try AccessTokens(path: $0) }
        } catch { throw CLIFailure(message: "\(error)") }
        do { try configuration.checkWriteAccess() } catch { throw CLIFailure(message: "\(error)") }
        let server: TriageServer
        do { server = try TriageServer(configuration: configuration) } catch let error as LogError {
            // The log's own problem: named by its option, not by the model.
            throw CLIFailure(message: "--db \(db ?? ""): \(error)")
        } catch {
            throw CLIFailure(message: "\(model.model): \(error)")
        }
        let host = host
        try await server.run { port in
            // The one line a script waits for (stdout), then logs go to stderr.
            Console.out("listening on http://\(host):\(port)\n")
        }
    }
}

extension PredictionLog.Durability: ExpressibleByArgument {}

struct Feedback: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Human re-classifications logged by the server.",
        subcommands: [FeedbackExportCommand.self]
    )
}

struct FeedbackExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write relabelled messages as training data (id,subject,body,label CSV).",
        discussion: Help.prose("""
            Example:
              triage feedback export --db predictions.sqlite --out corrections.csv
              tail -n +2 corrections.csv | cat corpora/demo/train.csv - > train2.csv
              triage train --data train2.csv --config-from models/demo.triage \\
                  --config-from-key models/triage.public.pem --key keys/private.pem \\
                  --out demo2.triage

            Each relabelled message id appears once, with its latest label. Predictions logged with
            --no-store-text have no text to export; they are counted and reported.
            """)
    )

    @Option(name: .long, help: ArgumentHelp("The server's SQLite log.", valueName: "file"))
    var db: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the CSV ('-': stdout).", valueName: "file"))
    var out: String

    func run() throws {
        let summary: FeedbackExport.Summary
        do { summary = try FeedbackExport.export(database: db, to: out) } catch { throw CLIFailure(message: "\(db): \(error)") }
        if summary.withoutText > 0 {
            Console.warning("\(summary.withoutText) relabelled message(s) were logged without text (--no-store-text) and are not in \(out)")
        }
        Console.info("exported \(summary.exported) relabelled message(s) to \(out)")
    }
}
