import TriageCore

/// Which columns hold what. Defaults: `id` (optional), `subject` (optional), `body` — or `text`
/// when there is no `body` column — and `label`.
public struct ColumnMapping: Equatable, Sendable {
    public var id: String?
    public var subject: String?
    public var body: String?
    public var label: String

    /// Nil means "the default name, and optional where the column is optional".
    public init(id: String? = nil, subject: String? = nil, body: String? = nil, label: String = "label") {
        self.id = id
        self.subject = subject
        self.body = body
        self.label = label
    }
}

/// A row that `skipInvalid` left out, and why.
public struct SkippedRow: Equatable, Sendable, CustomStringConvertible {
    /// The line (CSV, JSON Lines), row (SQL) or message number (mail).
    public let line: Int
    public let reason: String
    /// Where, in words: "line 12", or for mail "message 3 (byte 5120)" or the .eml file's path.
    public let place: String
    public var description: String { "\(place): \(reason)" }

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
        place = "line \(line)"
    }

    public init(number: Int, place: String, reason: String) {
        line = number
        self.reason = reason
        self.place = place
    }
}

/// Messages read from a source, and the rows skipped (only with `skipInvalid`).
public struct MessageBatch: Sendable {
    public var messages: [LabeledMessage]
    public var skipped: [SkippedRow]
    public var source: String
    /// What `LabeledMessage.line` counts: "line", "row" or "message".
    public var unit = "line"
    /// Fallbacks taken while reading that changed no message's presence (mail: an unknown charset
    /// read as UTF-8, a truncated part), for the caller to report.
    public var notes: [String] = []

    public init(messages: [LabeledMessage], skipped: [SkippedRow], source: String) {
        self.messages = messages
        self.skipped = skipped
        self.source = source
    }

    /// Several label heads (issue 31) from batches of the same source read once per label
    /// column, with labels optional (this batch: the first head's): each message keeps its own
    /// `label` (empty → nil) and gets the other batches' labels, matched by line, as
    /// `otherLabels`. A message with no label for any head is an error naming its place (with
    /// `skipInvalid`, skipped and listed).
    public func joiningHeads(_ others: [MessageBatch], names: [String], skipInvalid: Bool) throws(DataSourceError) -> MessageBatch {
        let byLine = others.map { batch in Dictionary(batch.messages.map { ($0.line, $0.label) }, uniquingKeysWith: { first, _ in first }) }
        var batch = self
        batch.messages = []
        batch.messages.reserveCapacity(messages.count)
        for var m in messages {
            if m.label?.isEmpty == true { m.label = nil }
            m.otherLabels = byLine.map { labels in labels[m.line].flatMap { $0 }.flatMap { $0.isEmpty ? nil : $0 } }
            if m.label == nil && m.otherLabels.allSatisfy({ $0 == nil }) {
                let problem = DataSourceError.Kind.emptyValue(column: "every label column (\(names.joined(separator: ", ")))")
                let error = unit == "line" ? DataSourceError(file: source, line: m.line, problem)
                    : DataSourceError(file: source, location: "\(unit) \(m.line)", problem)
                guard skipInvalid else { throw error }
                batch.skipped.append(unit == "line" ? SkippedRow(line: m.line, reason: error.problem)
                    : SkippedRow(number: m.line, place: "\(unit) \(m.line)", reason: error.problem))
                continue
            }
            batch.messages.append(m)
        }
        batch.skipped.sort { $0.line < $1.line }
        return batch
    }

    /// Ids are unique in a corpus (corpora/README.md): a repeated id is an error naming both
    /// lines, or with `skipInvalid` the first is kept and the others are listed in `skipped`.
    /// Messages without an id (numbered by their line) cannot repeat.
    func refusingDuplicateIDs(skipInvalid: Bool) throws(DataSourceError) -> MessageBatch {
        var first: [String: Int] = [:]
        var kept: [LabeledMessage] = []
        var batch = self
        kept.reserveCapacity(messages.count)
        for m in messages {
            if let line = first[m.id] {
                if unit != "line" {
                    let error = DataSourceError(file: source, location: "\(unit) \(m.line)", .duplicateMessageID(m.id, first: "\(unit) \(line)"))
                    guard skipInvalid else { throw error }
                    batch.skipped.append(SkippedRow(number: m.line, place: "\(unit) \(m.line)", reason: "id \"\(m.id)\" again (first: \(unit) \(line)): skipped, the first kept"))
                    continue
                }
                let error = DataSourceError(file: source, line: m.line, .duplicateID(m.id, firstLine: line))
                guard skipInvalid else { throw error }
                batch.skipped.append(SkippedRow(line: m.line, reason: "id \"\(m.id)\" again (first at line \(line)): skipped, the first kept"))
                continue
            }
            first[m.id] = m.line
            kept.append(m)
        }
        batch.messages = kept
        batch.skipped.sort { $0.line < $1.line }
        return batch
    }
}

public enum MessageReader {
    /// Reads labelled messages from a CSV file (gzip allowed).
    ///
    /// Every problem is an error naming the file and line, unless `skipInvalid` is set, in which
    /// case rows with the wrong number of fields, invalid UTF-8 or (when `requireLabels`) an
    /// empty label are skipped and listed in `skipped`. A missing column or a broken quote is
    /// always an error: it affects every row after it.
    public static func readCSV(path: String, columns: ColumnMapping = ColumnMapping(), requireLabels: Bool = true,
                               skipInvalid: Bool = false) throws(DataSourceError) -> MessageBatch {
        let reader = try CSVReader(path: path)
        guard let header = try reader.next() else { throw DataSourceError(file: path, line: nil, .emptyFile) }
        if header.hasInvalidUTF8 { throw DataSourceError(file: path, line: header.line, .invalidUTF8) }
        var index: [String: Int] = [:]
        for (i, name) in header.fields.enumerated() {
            if index[name] != nil { throw DataSourceError(file: path, line: header.line, .duplicateColumn(name)) }
            index[name] = i
        }
        func column(_ name: String?, default fallback: [String], required: Bool) throws(DataSourceError) -> Int? {
            if let name {
                guard let i = index[name] else { throw DataSourceError(file: path, line: header.line, .missingColumn(name, available: header.fields)) }
                return i
            }
            for candidate in fallback { if let i = index[candidate] { return i } }
            if required {
                throw DataSourceError(file: path, line: header.line, .missingColumn(fallback.joined(separator: "\" or \""), available: header.fields))
            }
            return nil
        }
        let idColumn = try column(columns.id, default: ["id"], required: false)
        let subjectColumn = try column(columns.subject, default: ["subject"], required: false)
        let bodyColumn = try column(columns.body, default: ["body", "text"], required: true)
        let labelColumn = try column(requireLabels ? columns.label : (index[columns.label] != nil ? columns.label : nil),
                                     default: [], required: requireLabels)

        var batch = MessageBatch(messages: [], skipped: [], source: path)
        while let record = try reader.next() {
            var problem: DataSourceError.Kind?
            if record.fields.count != header.fields.count {
                problem = .wrongFieldCount(expected: header.fields.count, got: record.fields.count)
            } else if record.hasInvalidUTF8 {
                problem = .invalidUTF8
            } else if let labelColumn, requireLabels, record.fields[labelColumn].isEmpty {
                problem = .emptyValue(column: "label (column \"\(header.fields[labelColumn])\")")
            }
            if let problem {
                let error = DataSourceError(file: path, line: record.line, problem)
                guard skipInvalid else { throw error }
                batch.skipped.append(SkippedRow(line: record.line, reason: error.problem))
                continue
            }
            let f = record.fields
            batch.messages.append(LabeledMessage(
                id: idColumn.map { f[$0] } ?? "line-\(record.line)",
                subject: subjectColumn.map { f[$0] } ?? "",
                body: bodyColumn.map { f[$0] } ?? "",
                label: labelColumn.map { f[$0] },
                line: record.line))
        }
        return batch
    }
}
