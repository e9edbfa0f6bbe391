import TriageCore

/// Reads a byte stream line by line (LF or CRLF), without loading it whole. Lines are byte
/// arrays; a line longer than `maxLineBytes` is an error rather than unbounded memory.
public final class LineReader {
    public let name: String
    public let maxLineBytes: Int
    private let source: ByteSource
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false
    /// 1-based number of the line `next()` returned last.
    public private(set) var line = 0
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)

    deinit { scratch.deallocate() }

    public init(source: ByteSource, name: String, maxLineBytes: Int = 64 << 20) {
        self.source = source
        self.name = name
        self.maxLineBytes = maxLineBytes
    }

    public convenience init(path: String, maxLineBytes: Int = 64 << 20) throws(DataSourceError) {
        self.init(source: try openByteSource(path: path), name: path == "-" ? "<stdin>" : path, maxLineBytes: maxLineBytes)
    }

    /// The next line without its terminator, or nil at the end.
    public func next() throws(DataSourceError) -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var end = nl
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                let out = buffer[start ..< end]
                start = nl + 1
                line += 1
                return out
            }
            if finished {
                guard start < buffer.count else { return nil }
                let out = buffer[start...]
                start = buffer.count
                line += 1
                return out
            }
            if buffer.count - start > maxLineBytes {
                throw DataSourceError(file: name, line: line + 1, .fieldTooLarge(limit: maxLineBytes))
            }
            // Compact, then read more.
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            let chunk = 1 << 16
            let got = try source.read(into: scratch)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0 ..< min(got, chunk)]))
            if got == 0 { finished = true }
        }
    }
}

extension MessageReader {
    /// Reads messages from JSON Lines: one object per line with string fields `id` (or a
    /// number), `subject`, `body` (or `text`) and `label`, named as `columns` says. Other fields
    /// are ignored; blank lines are skipped. A line that is not valid JSON, not an object, or
    /// lacks a required string field is an error naming the line (or, with `skipInvalid`,
    /// skipped and listed).
    public static func readJSONL(path: String, columns: ColumnMapping = ColumnMapping(), requireLabels: Bool = true,
                                 skipInvalid: Bool = false) throws(DataSourceError) -> MessageBatch {
        let reader = try LineReader(path: path)
        var batch = MessageBatch(messages: [], skipped: [], source: reader.name)
        var sawLine = false
        while let bytes = try reader.next() {
            sawLine = true
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                if let message = try parseJSONLine(Array(bytes), line: reader.line, columns: columns, requireLabels: requireLabels) {
                    batch.messages.append(message)
                }
            } catch {
                let failure = DataSourceError(file: reader.name, line: reader.line, .invalidJSON(error.problem))
                guard skipInvalid else { throw failure }
                batch.skipped.append(SkippedRow(line: reader.line, reason: failure.problem))
            }
        }
        if !sawLine { throw DataSourceError(file: reader.name, line: nil, .emptyFile) }
        return batch
    }

    /// One JSONL line as a message (errors carry only the problem; the caller adds the place).
    public static func parseJSONLine(_ bytes: [UInt8], line: Int, columns: ColumnMapping = ColumnMapping(),
                                     requireLabels: Bool = false) throws(JSONLineError) -> LabeledMessage? {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, limits: JSONLimits(maxDepth: 16, maxBytes: 64 << 20)) } catch {
            throw JSONLineError(problem: "not a JSON object (expected {\"id\": …, \"subject\": …, \"body\": …} on each line): \(error.what) at column \(error.column)")
        }
        guard case let .object(o) = value else { throw JSONLineError(problem: "expected a JSON object {\"subject\": …, \"body\": …}") }
        func string(_ names: [String], required: Bool) throws(JSONLineError) -> String? {
            for name in names {
                guard let v = o[name] else { continue }
                switch v {
                case let .string(s): return s
                case .null where !required: return nil
                default: throw JSONLineError(problem: "field \"\(name)\" must be a string")
                }
            }
            if required { throw JSONLineError(problem: "missing field \"\(names.joined(separator: "\" or \""))\"") }
            return nil
        }
        var id: String?
        let idName = columns.id ?? "id"
        switch o[idName] {
        case let .string(s)?: id = s
        case let .number(n)? where n.isInteger: id = n.literal
        case nil, .null?: id = nil
        default: throw JSONLineError(problem: "field \"\(idName)\" must be a string or an integer")
        }
        let subject = try string([columns.subject ?? "subject"], required: false) ?? ""
        let body = try string(columns.body.map { [$0] } ?? ["body", "text"], required: true) ?? ""
        // doccano's JSONL export writes labels as a list: one label is taken, more are refused.
        let label: String?
        if case let .array(items)? = o[columns.label] {
            guard items.count <= 1 else {
                throw JSONLineError(problem: "field \"\(columns.label)\" has \(items.count) labels; a message goes to one queue here (keep one label per line)")
            }
            if items.isEmpty && requireLabels {
                throw JSONLineError(problem: "field \"\(columns.label)\" is an empty list; every message needs a label")
            }
            switch items.first {
            case nil: label = nil
            case let .string(text)?: label = text
            default: throw JSONLineError(problem: "field \"\(columns.label)\" must be a string or a list of one string")
            }
        } else {
            label = try string([columns.label], required: requireLabels)
        }
        if requireLabels && (label ?? "").isEmpty { throw JSONLineError(problem: "empty field \"\(columns.label)\"; every message needs a label") }
        return LabeledMessage(id: id ?? "line-\(line)", subject: subject, body: body, label: label, line: line)
    }

    /// Reads CSV or JSON Lines by the file name (`.jsonl`, `.ndjson`, optionally `.gz`: JSON
    /// Lines; anything else: CSV).
    public static func read(path: String, columns: ColumnMapping = ColumnMapping(), mail: MailOptions = MailOptions(),
                            requireLabels: Bool = true, skipInvalid: Bool = false) throws(DataSourceError) -> MessageBatch {
        if let format = mailFormat(path: path) {
            return try readMail(path: path, format: format, options: mail, requireLabels: requireLabels, skipInvalid: skipInvalid)
                .refusingDuplicateIDs(skipInvalid: skipInvalid)
        }
        let lower = path.lowercased()
        let base = lower.hasSuffix(".gz") ? String(lower.dropLast(3)) : lower
        if base.hasSuffix(".jsonl") || base.hasSuffix(".ndjson") {
            return try readJSONL(path: path, columns: columns, requireLabels: requireLabels, skipInvalid: skipInvalid)
                .refusingDuplicateIDs(skipInvalid: skipInvalid)
        }
        return try readCSV(path: path, columns: columns, requireLabels: requireLabels, skipInvalid: skipInvalid)
            .refusingDuplicateIDs(skipInvalid: skipInvalid)
    }
}

/// Why a JSONL line is not a message.
public struct JSONLineError: Error, Equatable, Sendable, CustomStringConvertible {
    public let problem: String
    public var description: String { problem }
}
