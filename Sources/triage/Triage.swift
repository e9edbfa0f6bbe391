import ArgumentParser
import Foundation

/// `triage`: train, evaluate, search, predict, inspect, clean, rules, serve, feedback, review, replay, retrain, promote, audit-labels, keygen, verify.
///
/// Exit codes: 0 success; 1 failure (bad data, refused model, I/O); 2 usage error (unknown
/// option, invalid value); 3 `verify`: the model was refused; 4 `promote`: the gate refused the
/// candidate; 130 interrupted.
@main
struct Triage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Route customer-service messages to queues with explainable classical models.",
        discussion: Help.prose("""
            Typical flow:
              triage keygen --out keys/
              triage train --data corpora/demo/train.csv --key keys/private.pem --out \\
                  support.triage
              triage evaluate --model support.triage --trusted-key \\
                  keys/public.pem --data corpora/demo/test.csv
              triage serve --model support.triage --trusted-key keys/public.pem

            Every example in this help runs as printed from the repository's root.

            Exit codes: 0 ok, 1 failure (data, model or I/O), 2 usage error, 3 model refused (verify),
            4 candidate refused by the promotion gate (promote).
            """),
        version: TriageInfo.version,
        subcommands: [Train.self, Evaluate.self, Search.self, Predict.self, Inspect.self, Clean.self, Rules.self, Serve.self, Feedback.self, Review.self, Replay.self, Retrain.self, Promote.self, AuditLabels.self,
                      Keygen.self, Verify.self]
    )

    static func main() async {
        // Swift runtime's default SIGPIPE would kill us silently when a pipe closes (`| head`).
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CLIFailure {
            Console.error(failure.message)
            Foundation.exit(failure.code)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            switch exitCode(for: error) {
            case .success:
                // --help, --version.
                print(fullMessage(for: error))
                Foundation.exit(0)
            case .validationFailure:
                // Unknown option, missing or invalid value: ArgumentParser's message and usage.
                Console.err(fullMessage(for: error) + "\n")
                Foundation.exit(2)
            default:
                Console.error("\(error)")
                Foundation.exit(1)
            }
        }
    }
}

enum TriageInfo {
    static let version = "0.1.0"
}

/// A failure with its exit code and a one-line message saying what to do.
struct CLIFailure: Error {
    var message: String
    var code: Int32 = 1
}

/// Standard error output, respecting `--quiet` for information but never for errors.
enum Console {
    nonisolated(unsafe) static var quiet = false

    static func error(_ message: String) {
        let line = message.replacingOccurrences(of: "\n", with: " ")
        err("triage: error: \(line)\n")
    }

    static func warning(_ message: String) {
        err("triage: warning: \(message)\n")
    }

    /// Information on stderr (suppressed by --quiet), so stdout stays data.
    static func info(_ message: String) {
        guard !quiet else { return }
        err(message + "\n")
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Writes to standard output. When the reader has gone (`triage predict | head`: EPIPE,
    /// SIGPIPE being ignored), the command stops quietly with the shell's status for a closed
    /// pipe, 141 — Foundation's `FileHandle.write(_:)` would trap instead.
    static func out(_ bytes: some Collection<UInt8>) {
        if !writeAll(1, bytes), errno == EPIPE { exit(141) }
    }

    static func out(_ text: String) { out(text.utf8) }

    /// Writes to standard error; a failure there has nowhere to be reported.
    static func err(_ text: String) { _ = writeAll(2, text.utf8) }

    private static func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
        let buffer = Array(bytes)
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}
