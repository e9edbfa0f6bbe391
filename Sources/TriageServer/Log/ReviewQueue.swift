import Foundation
import TriageCore
import TriageData
import TriageModel

/// The logged predictions an agent should look at first: each message's latest prediction,
/// unsure ones first, then those predicted in a category whose share drifted up from training
/// (`Query.drifted`, when given), then the smallest top-1 − top-2 margin (the closest calls),
/// then the lowest top probability, newest first on ties.
public enum ReviewQueue {
    public struct Query: Sendable, Equatable {
        /// Received at or after / before these instants (seconds since 1970).
        public var since: Double?
        public var until: Double?
        /// Only predictions of this category.
        public var category: String?
        /// Only messages no agent has relabelled yet.
        public var unlabelledOnly = false
        public var limit = 50
        public var offset = 0
        /// Categories predicted more often than training suggests (`drifted(_:)`): their
        /// messages come right after the unsure ones.
        public var drifted: [String] = []

        public init(since: Double? = nil, until: Double? = nil, category: String? = nil, unlabelledOnly: Bool = false, limit: Int = 50,
                    offset: Int = 0, drifted: [String] = []) {
            self.drifted = drifted
            self.since = since
            self.until = until
            self.category = category
            self.unlabelledOnly = unlabelledOnly
            self.limit = limit
            self.offset = offset
        }
    }

    public struct Item: Sendable, Equatable {
        public var seq: Int64
        public var messageID: String
        public var receivedAt: String
        public var modelID: String
        /// Nil when the server did not store text (`--no-store-text`).
        public var subject: String?
        public var body: String?
        public var category: String
        public var probability: Double
        /// Nil for rows logged before margins were (schema 3) with a single label in `top`.
        public var margin: Double?
        public var unsureReason: String?
        /// The latest human label, if any, and who gave it.
        public var label: String?
        public var agent: String?
    }

    public struct Page: Sendable, Equatable {
        public var items: [Item]
        /// Messages matching the query (every page).
        public var total: Int
    }

    /// Reads a page from the log at `path` (read-only: a running server keeps writing).
    public static func page(database path: String, query: Query) throws -> Page {
        let db = try ReviewQueue.openReadOnly(path)
        let version = try PredictionLog.userVersion(db)
        guard version == PredictionLog.schemaVersion else {
            throw SQLiteError(code: 1, message: version > PredictionLog.schemaVersion
                ? "the log's schema version \(version) is newer than this release's (\(PredictionLog.schemaVersion))"
                : "the log's schema version \(version) is older than this release's (\(PredictionLog.schemaVersion)); open it once with triage serve --db to migrate it",
                context: path)
        }
        var (conditions, values) = latest(since: query.since, until: query.until)
        if let category = query.category {
            conditions.append("p.category = ?")
            values.append(.text(category))
        }
        if query.unlabelledOnly { conditions.append("NOT EXISTS (SELECT 1 FROM labels l WHERE l.message_id = p.message_id AND l.head IS NULL)") }
        let filter = conditions.joined(separator: " AND ")
        let count = try db.prepare("SELECT COUNT(*) FROM predictions p WHERE \(filter)")
        try count.bind(values)
        var total = 0
        if try count.step(), case let .integer(n) = count.value(0) { total = Int(n) }
        let select = try db.prepare("""
            SELECT p.seq, p.message_id, p.received_at, p.model_id, p.subject, p.body, p.category, p.probability, p.margin, p.unsure_reason,
                   l.label, l.agent
            FROM predictions p
            LEFT JOIN labels l ON l.seq = (SELECT MAX(l2.seq) FROM labels l2 WHERE l2.prediction_seq = p.seq AND l2.head IS NULL)
            WHERE \(filter)
            ORDER BY p.unsure DESC, \(query.drifted.isEmpty ? "" : "p.category IN (\(query.drifted.map { _ in "?" }.joined(separator: ", "))) DESC, ")\
            p.margin IS NULL, p.margin, p.probability, p.seq DESC
            LIMIT ? OFFSET ?
            """)
        try select.bind(values + query.drifted.map { .text($0) } + [.integer(Int64(query.limit)), .integer(Int64(query.offset))])
        var items: [Item] = []
        while try select.step() {
            guard case let .integer(seq) = select.value(0) else { continue }
            items.append(Item(seq: seq, messageID: select.value(1).stringValue ?? "", receivedAt: select.value(2).stringValue ?? "",
                              modelID: select.value(3).stringValue ?? "", subject: select.value(4).stringValue, body: select.value(5).stringValue,
                              category: select.value(6).stringValue ?? "", probability: select.value(7).doubleValue ?? 0, margin: select.value(8).doubleValue,
                              unsureReason: select.value(9).stringValue, label: select.value(10).stringValue, agent: select.value(11).stringValue))
        }
        return Page(items: items, total: total)
    }

    /// The log at `path`, read-only (a running server keeps writing); a missing file is an error,
    /// not a new empty database.
    static func openReadOnly(_ path: String) throws(SQLiteError) -> SQLiteDatabase {
        guard FileManager.default.fileExists(atPath: path) else { throw SQLiteError(code: 14, message: "no such database file", context: path) }
        return try SQLiteDatabase(path: path, mode: .readOnly)
    }

    /// The SQL conditions (over `predictions p`) and their values that select each message's
    /// latest prediction received in [since, until).
    static func latest(since: Double?, until: Double?) -> (conditions: [String], values: [SQLiteValue]) {
        var conditions = ["p.seq = (SELECT MAX(p2.seq) FROM predictions p2 WHERE p2.message_id = p.message_id)"]
        var values: [SQLiteValue] = []
        if let since {
            conditions.append("p.received_at >= ?")
            values.append(.text(UTCTimestamp.string(since)))
        }
        if let until {
            conditions.append("p.received_at < ?")
            values.append(.text(UTCTimestamp.string(until)))
        }
        return (conditions, values)
    }

    /// Each message's latest prediction received in [since, until), counted by category (what
    /// `triage review --drift` compares with the training labels).
    public static func categoryCounts(database path: String, since: Double? = nil, until: Double? = nil) throws -> [String: Int] {
        let db = try ReviewQueue.openReadOnly(path)
        let (conditions, values) = latest(since: since, until: until)
        let statement = try db.prepare("SELECT p.category, COUNT(*) FROM predictions p WHERE \(conditions.joined(separator: " AND ")) GROUP BY p.category")
        try statement.bind(values)
        var counts: [String: Int] = [:]
        while try statement.step() {
            if case let .text(category) = statement.value(0), case let .integer(n) = statement.value(1) { counts[category] = Int(n) }
        }
        return counts
    }

    /// The categories of the latest predictions in [since, until) against the training labels.
    public static func stability(database path: String, since: Double?, until: Double?, training: [String: Int]) throws -> PopulationStability {
        PopulationStability(expected: training, actual: try categoryCounts(database: path, since: since, until: until))
    }

    /// The categories whose share of predictions grew from training enough to put their messages
    /// first: recent share above the training share and a part of the index of at least 0.02
    /// (a fifth of what makes a whole distribution's shift "moderate").
    public static func drifted(_ psi: PopulationStability) -> [String] {
        psi.categories.filter { $0.actual > $0.expected && $0.contribution >= 0.02 }.map(\.name)
    }

    /// Seconds since 1970 of an ISO 8601 date (midnight UTC) or date and time (`--since`,
    /// `?since=`); nil when it is neither.
    public static func instant(_ text: String) -> Double? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        for formatter in [plain, withFraction, day] {
            if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        }
        return nil
    }
}

extension ReviewQueue.Page {
    /// The page as `triage review --json` and `GET /review` answer it.
    public func json(query: ReviewQueue.Query) -> JSONValue {
        func num(_ x: Double?) -> JSONValue { x.flatMap { JSONValue.double($0) } ?? .null }
        func str(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        return [
            "total": .number(JSONNumber(total)), "offset": .number(JSONNumber(query.offset)), "limit": .number(JSONNumber(query.limit)),
            "drifted": .array(query.drifted.map { .string($0) }),
            "items": .array(items.map { item in
                [
                    "seq": .number(JSONNumber(Int(item.seq))), "id": .string(item.messageID), "received_at": .string(item.receivedAt),
                    "model_id": .string(item.modelID), "subject": str(item.subject), "body": str(item.body), "category": .string(item.category),
                    "probability": num(item.probability), "margin": num(item.margin), "unsure_reason": str(item.unsureReason),
                    "label": str(item.label), "agent": str(item.agent),
                ]
            }),
        ]
    }
}
