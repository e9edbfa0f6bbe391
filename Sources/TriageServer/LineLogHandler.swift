import Foundation
import Logging

/// swift-log handler for `triage serve`: one line per event on standard error,
///
///     2026-12-02T13:05:41.123Z info triage.serve: serving host=127.0.0.1 port=8080 model=d2ba…
///
/// a UTC timestamp, the level, the logger's label and message, then the metadata as logfmt
/// `key=value` pairs in key order (values with spaces, quotes or `=` are quoted).
///
/// Unlike swift-log's `StreamLogHandler`, setting metadata only stores it: the server's
/// framework sets a request id on a copy of the logger for every request, and
/// `StreamLogHandler` formats its whole metadata at each such set (2 % of the server's CPU
/// under load). Here metadata is formatted only when a line is written.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    /// A handler writing to standard error.
    public init(label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, level: level, metadataProvider: metadataProvider, write: LineLogHandler.standardError)
    }

    /// A handler giving each line (with its newline) to `write`.
    public init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        if let error = event.error, all["error"] == nil { all["error"] = .string("\(error)") }
        var line = UTCTimestamp.string(Date().timeIntervalSince1970)
        line += " \(event.level) \(label): \(event.message)"
        for key in all.keys.sorted() {
            guard let value = all[key] else { continue }
            line += " \(Self.logfmt(key))=\(Self.logfmt(Self.text(value)))"
        }
        line += "\n"
        write(line)
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case let .string(s): return s
        case let .stringConvertible(c): return c.description
        case let .array(a): return "[" + a.map(text).joined(separator: ",") + "]"
        case let .dictionary(d): return "{" + d.keys.sorted().map { "\($0):\(text(d[$0] ?? ""))" }.joined(separator: ",") + "}"
        }
    }

    /// The value as is, or quoted with `\"`, `\\` and control characters escaped.
    static func logfmt(_ s: String) -> String {
        let plain = !s.isEmpty && s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7F }
        if plain { return s }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    private static let lock = NSLock()
    @Sendable static func standardError(_ line: String) {
        // One write per line, under a lock, so lines from different threads do not interleave.
        lock.lock()
        defer { lock.unlock() }
        var line = line
        line.withUTF8 { b in
            guard let base = b.baseAddress else { return }
            var offset = 0
            while offset < b.count {
                let n = Foundation.write(2, base + offset, b.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}
