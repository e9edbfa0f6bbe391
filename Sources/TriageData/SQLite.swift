import CSQLite
import Foundation
import TriageCore

/// An error from SQLite, with the statement or file it concerns.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public let context: String

    public init(code: Int32, message: String, context: String) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String { "\(context): \(message) (SQLite code \(code))" }
}

/// A minimal, safe wrapper over one SQLite connection (the system library, Debian
/// `libsqlite3-dev`). Not thread-safe: one user at a time (callers serialise).
public final class SQLiteDatabase: @unchecked Sendable {
    public let path: String
    let handle: OpaquePointer

    /// SQLITE_TRANSIENT: SQLite copies bound text/blobs.
    static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    public enum Mode: Sendable { case readOnly, readWriteCreate }

    public init(path: String, mode: Mode = .readWriteCreate) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (mode == .readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message, context: path)
        }
        handle = db
        self.path = path
        walFrameBox = .allocate(capacity: 1)
        walFrameBox.initialize(to: 0)
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
        walFrameBox.deallocate()
    }

    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs one or more statements without results.
    public func execute(_ sql: String) throws(SQLiteError) {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message, context: path)
        }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let rc = sql.withCString { sqlite3_prepare_v3(handle, $0, -1, 0, &statement, &tail) }
        guard rc == SQLITE_OK, let statement else {
            throw SQLiteError(code: rc, message: rc == SQLITE_OK ? "empty statement" : lastMessage, context: "\(path): \(sql)")
        }
        return SQLiteStatement(database: self, handle: statement, sql: sql)
    }

    /// Runs `body` in a transaction (BEGIN IMMEDIATE … COMMIT; ROLLBACK on error).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Frames in the write-ahead log after this connection's last commit, once `trackWALFrames`
    /// installed SQLite's WAL hook (0 before).
    public var walFrames: Int { Int(walFrameBox.pointee) }

    /// The rowid of the last row this connection inserted (`sqlite3_last_insert_rowid`).
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// Where the WAL hook writes its frame count (read by `walFrames`, freed with the connection).
    private let walFrameBox: UnsafeMutablePointer<Int32>

    /// Starts counting WAL frames (see `walFrames`). The hook replaces the automatic
    /// checkpoints, which are then off: call `checkpoint` yourself.
    public func trackWALFrames() {
        sqlite3_wal_hook(handle, { context, _, _, frames in
            context?.assumingMemoryBound(to: Int32.self).pointee = frames
            return SQLITE_OK
        }, walFrameBox)
    }

    /// Grows and truncates the database file in whole chunks of `bytes` (SQLITE_FCNTL_CHUNK_SIZE),
    /// so that its size changes once per chunk rather than with every few pages.
    public func setChunkSize(_ bytes: Int) throws(SQLiteError) {
        var size = Int32(clamping: bytes)
        let rc = sqlite3_file_control(handle, "main", SQLITE_FCNTL_CHUNK_SIZE, &size)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: lastMessage, context: "\(path): chunk size") }
    }

    /// Flushes the database file to the disk (the VFS's xSync on this connection's own file
    /// handle: fdatasync on Linux). A checkpoint that does not reach the end of the WAL does not
    /// sync what it copied; the one that does syncs all of it at once.
    public func syncDatabaseFile() throws(SQLiteError) {
        var file: UnsafeMutablePointer<sqlite3_file>?
        var rc = sqlite3_file_control(handle, "main", SQLITE_FCNTL_FILE_POINTER, &file)
        guard rc == SQLITE_OK, let file, let methods = file.pointee.pMethods, let sync = methods.pointee.xSync else {
            throw SQLiteError(code: rc == SQLITE_OK ? SQLITE_MISUSE : rc, message: "no database file to sync", context: path)
        }
        rc = sync(file, SQLITE_SYNC_NORMAL)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: "sync failed", context: path) }
    }

    public enum CheckpointMode: Sendable {
        /// Copies what it can without waiting for readers or writers.
        case passive
        /// Also truncates the WAL to zero bytes (waits for readers).
        case truncate
    }

    /// Runs a checkpoint of the WAL into the database: the frames in the WAL when it started,
    /// and how many of them are now copied into the database. (The pragma, not
    /// `sqlite3_wal_checkpoint_v2`: on a connection that has not read the database yet, that
    /// call found no WAL open and did nothing, seen with Debian 12's SQLite 3.40.)
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .passive) throws(SQLiteError) -> (walFrames: Int, copied: Int) {
        let statement = try prepare(mode == .passive ? "PRAGMA wal_checkpoint(PASSIVE)" : "PRAGMA wal_checkpoint(TRUNCATE)")
        guard try statement.step(), case let .integer(log) = statement.value(1), case let .integer(copied) = statement.value(2) else {
            throw SQLiteError(code: SQLITE_ERROR, message: "PRAGMA wal_checkpoint returned no counts", context: path)
        }
        return (Int(max(0, log)), Int(max(0, copied)))
    }
}

/// A SQLite value read from a result row.
public enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The text; nil for any other kind of value.
    public var stringValue: String? {
        if case let .text(s) = self { return s }
        return nil
    }

    /// A number (an integer converted); nil for any other kind of value.
    public var doubleValue: Double? {
        switch self {
        case let .real(x): return x
        case let .integer(n): return Double(n)
        default: return nil
        }
    }
}

/// A prepared statement.
public final class SQLiteStatement {
    let database: SQLiteDatabase
    let handle: OpaquePointer
    public let sql: String

    init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    private func check(_ rc: Int32) throws(SQLiteError) {
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: database.lastMessage, context: sql) }
    }

    /// Binds parameters 1…n (after a reset).
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        try reset()
        for (i, v) in values.enumerated() {
            let at = Int32(i + 1)
            switch v {
            case .null: try check(sqlite3_bind_null(handle, at))
            case let .integer(x): try check(sqlite3_bind_int64(handle, at, x))
            case let .real(x): try check(sqlite3_bind_double(handle, at, x))
            case let .text(s): try check(sqlite3_bind_text(handle, at, s, -1, SQLiteDatabase.transient))
            case let .blob(b): try check(b.withUnsafeBytes { sqlite3_bind_blob(handle, at, $0.baseAddress, Int32($0.count), SQLiteDatabase.transient) })
            }
        }
    }

    /// Resets the statement and clears its bindings, for the `bind(_:at:)` calls of a new run.
    public func reset() throws(SQLiteError) {
        // sqlite3_reset's result is the error of the last step, already thrown by `step`: checked
        // here, one failed run (a full disk, a busy file) would fail the next run too.
        _ = sqlite3_reset(handle)
        try check(sqlite3_clear_bindings(handle))
    }

    /// Binds one parameter (1-based), without the array of `bind(_:)`: for statements run many
    /// times a second (the prediction log's insert).
    public func bind(_ value: Int64, at i: Int32) throws(SQLiteError) { try check(sqlite3_bind_int64(handle, i, value)) }
    public func bind(_ value: Double, at i: Int32) throws(SQLiteError) { try check(sqlite3_bind_double(handle, i, value)) }
    /// NULL for nil (and for a value that is not a number: SQLite stores NaN as NULL anyway).
    public func bind(_ value: Double?, at i: Int32) throws(SQLiteError) {
        guard let value, value.isFinite else { return try check(sqlite3_bind_null(handle, i)) }
        try check(sqlite3_bind_double(handle, i, value))
    }
    public func bind(_ value: String?, at i: Int32) throws(SQLiteError) {
        guard var value else { return try check(sqlite3_bind_null(handle, i)) }
        try check(value.withUTF8 { bindText($0, at: i) })
    }
    /// Binds UTF-8 bytes as TEXT (the caller guarantees they are UTF-8).
    public func bind(utf8 bytes: [UInt8], at i: Int32) throws(SQLiteError) {
        try check(bytes.withUnsafeBufferPointer { bindText($0, at: i) })
    }

    private func bindText(_ b: UnsafeBufferPointer<UInt8>, at i: Int32) -> Int32 {
        // A nil pointer would bind NULL, not the empty string.
        guard let base = b.baseAddress, !b.isEmpty else { return sqlite3_bind_text(handle, i, "", 0, SQLiteDatabase.transient) }
        return base.withMemoryRebound(to: CChar.self, capacity: b.count) { sqlite3_bind_text(handle, i, $0, Int32(b.count), SQLiteDatabase.transient) }
    }

    /// Steps a statement that returns no rows to completion (after `bind(_:at:)` calls).
    public func runBound() throws(SQLiteError) {
        while try step() {}
    }

    /// Steps once: true when a row is available.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: rc, message: database.lastMessage, context: sql)
        }
    }

    /// Runs the statement with `values` to completion, ignoring rows.
    public func run(_ values: [SQLiteValue] = []) throws(SQLiteError) {
        try bind(values)
        while try step() {}
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func columnName(_ i: Int) -> String { sqlite3_column_name(handle, Int32(i)).map { String(cString: $0) } ?? "" }

    public func value(_ i: Int) -> SQLiteValue {
        let at = Int32(i)
        switch sqlite3_column_type(handle, at) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, at))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, at))
        case SQLITE_TEXT:
            let n = Int(sqlite3_column_bytes(handle, at))
            guard let p = sqlite3_column_text(handle, at) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(handle, at))
            guard let p = sqlite3_column_blob(handle, at) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }

    /// Raw UTF-8 bytes of a text column (to check validity), nil when not text.
    func textBytes(_ i: Int) -> [UInt8]? {
        let at = Int32(i)
        guard sqlite3_column_type(handle, at) == SQLITE_TEXT, let p = sqlite3_column_text(handle, at) else { return nil }
        return Array(UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, at))))
    }
}

extension MessageReader {
    /// Reads messages with a query, as pandas.read_sql does: the result's columns are matched by
    /// name (`id`, `subject`, `body` or `text`, `label` by default; alias them in the SQL, e.g.
    /// `SELECT title AS subject, text AS body, category AS label FROM chats`). Rows are numbered
    /// from 1 in errors. The database is opened read-only.
    public static func readSQL(database path: String, query: String, columns: ColumnMapping = ColumnMapping(),
                               requireLabels: Bool = true, skipInvalid: Bool = false) throws(DataSourceError) -> MessageBatch {
        let place = "\(path) (query)"
        guard FileManager.default.fileExists(atPath: path) else { throw DataSourceError(file: path, line: nil, .unreadable("no such database file")) }
        do {
            let db = try SQLiteDatabase(path: path, mode: .readOnly)
            let statement = try db.prepare(query)
            let names = (0 ..< statement.columnCount).map(statement.columnName)
            guard !names.isEmpty else { throw DataSourceError(file: place, line: nil, .noResultColumns) }
            func column(_ name: String?, _ fallback: [String], required: Bool) throws(DataSourceError) -> Int? {
                for candidate in name.map({ [$0] }) ?? fallback { if let i = names.firstIndex(of: candidate) { return i } }
                if required { throw DataSourceError(file: place, line: nil, .missingColumn((name.map { [$0] } ?? fallback).joined(separator: "\" or \""), available: names)) }
                return nil
            }
            let idColumn = try column(columns.id, ["id"], required: false)
            let subjectColumn = try column(columns.subject, ["subject"], required: false)
            let bodyColumn = try column(columns.body, ["body", "text"], required: true)
            let labelColumn = try column(columns.label, [columns.label], required: requireLabels)
            var batch = MessageBatch(messages: [], skipped: [], source: place)
            var row = 0
            while try statement.step() {
                row += 1
                func text(_ i: Int?, _ what: String) throws(DataSourceError) -> String? {
                    guard let i else { return nil }
                    switch statement.value(i) {
                    case .null: return nil
                    case let .integer(x): return String(x)
                    case let .real(x): return String(x)
                    case .text:
                        guard let bytes = statement.textBytes(i), String(validating: bytes, as: UTF8.self) != nil else {
                            throw DataSourceError(file: place, line: row, .invalidUTF8)
                        }
                        return String(decoding: bytes, as: UTF8.self)
                    case .blob: throw DataSourceError(file: place, line: row, .invalidValue("column \"\(what)\" holds a BLOB; cast it to TEXT in the query"))
                    }
                }
                do throws(DataSourceError) {
                    let label = try text(labelColumn, "label")
                    if requireLabels && (label ?? "").isEmpty { throw DataSourceError(file: place, line: row, .emptyValue(column: "label")) }
                    batch.messages.append(LabeledMessage(id: try text(idColumn, "id") ?? "row-\(row)", subject: try text(subjectColumn, "subject") ?? "",
                                                         body: try text(bodyColumn, "body") ?? "", label: label, line: row))
                } catch {
                    guard skipInvalid else { throw error }
                    batch.skipped.append(SkippedRow(line: row, reason: error.problem))
                }
            }
            return try batch.refusingDuplicateIDs(skipInvalid: skipInvalid)
        } catch let error as SQLiteError {
            throw DataSourceError(file: place, line: nil, .unreadable(error.message))
        } catch let error as DataSourceError {
            throw error
        } catch {
            throw DataSourceError(file: place, line: nil, .unreadable("\(error)"))
        }
    }
}
