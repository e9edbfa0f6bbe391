import Foundation
import NIOCore
import NIOPosix
import Synchronization
import TriageCore
import TriageData

/// One served prediction, as logged.
public struct LoggedPrediction: Sendable {
    public var messageID: String
    /// Seconds since 1970 when the request arrived.
    public var receivedAt: Double
    public var modelID: String
    /// Nil when text is not stored (`--no-store-text`).
    public var subject: String?
    public var body: String?
    /// SHA-256 of subject + "\n" + body: always stored, to match messages without their text.
    public var textSHA256: String
    public var category: String
    public var probability: Double
    public var top: [(category: String, probability: Double)]
    public var unsure: Bool
    public var latencyMilliseconds: Double
}

/// Why the log could not take a write.
public enum LogError: Error, Sendable, CustomStringConvertible {
    case sqlite(SQLiteError)
    case closed

    public var description: String {
        switch self {
        case let .sqlite(e): return "prediction log: \(e)"
        case .closed: return "prediction log is closed (the server is shutting down)"
        }
    }
}

/// The result of recording a human re-classification.
public enum RelabelOutcome: Sendable, Equatable {
    /// Recorded against the latest prediction of the message.
    case recorded(predictionSeq: Int64)
    case unknownMessage
}

/// The SQLite log of predictions and human re-classifications (WAL mode).
///
/// Writes go through one writer thread that commits whatever is queued as one transaction
/// (group commit), then resumes every waiting request: a caller's `await` returns only once its
/// rows are committed, so a response sent after it is never lost to a crash of the server
/// (`kill -9`). With `synchronous = NORMAL` (the default) a commit survives a process crash but
/// the last commits may be lost on power failure; `FULL` also fsyncs every commit.
///
/// Under load the writer holds a transaction open for at most `commitWindow` after the first
/// queued row, so that one commit carries the rows of many requests: every commit writes whole
/// WAL pages and costs the writer a sleep and a wake-up, and with one commit per request or two
/// (the natural group size at 15k requests/s) those were a fifth of the server's CPU. A waiting
/// request is resumed on the event loop it was suspended on, all of one loop's requests in one
/// hop, so that its response is written without another thread hop.
public final class PredictionLog: @unchecked Sendable {
    public enum Durability: String, Sendable, CaseIterable {
        /// Survives a crash of the server process (kill -9); fsync at checkpoints.
        case normal
        /// Survives power loss: fsync on every commit (slower).
        case full
    }

    private enum Operation {
        /// `done` runs once the rows are committed (nil) or failed, on the caller's event loop
        /// (see `record(_:then:)`).
        case insert([LoggedPrediction], @Sendable ((any Error)?) -> Void)
        case relabel(messageID: String, label: String, agent: String?, at: Double, modelID: String, CheckedContinuation<RelabelOutcome, any Error>)
    }

    /// A queued operation and the event loop its caller waits on (nil off any loop).
    private struct Queued: Sendable {
        let operation: Operation
        let loop: (any EventLoop)?
    }

    public let path: String
    private let condition = NSCondition()
    private var queue: [Queued] = []
    /// When the oldest queued operation arrived (uptime nanoseconds).
    private var queuedSince: UInt64 = 0
    private var queuedRows = 0
    /// Longest a queued row waits for more to share its commit; 0 commits at once.
    public let commitWindow: Duration
    /// A commit starts without waiting out the window once this many rows are queued.
    public let commitRows: Int
    private var closing = false
    private var finished = false
    private var thread: Thread?
    private let database: SQLiteDatabase
    private let checkpointer: Checkpointer
    /// WAL size past which the log restarts the WAL (see `writerLoop`).
    public static let defaultWALLimit = 32 << 20
    /// The database file grows in steps of this many bytes (see `Checkpointer`).
    static let chunkBytes = 8 << 20
    /// `walLimit` in WAL frames (one frame per database page).
    private let walLimitFrames: Int
    /// The last write error (cleared by a successful commit): /ready reports it.
    public var lastError: String? { lastErrorBox.withLock { $0 } }
    private let lastErrorBox = Mutex<String?>(nil)
    /// Rows committed since start.
    public var committedRows: Int { rowCounter.load(ordering: .relaxed) }
    /// Transactions committed since start (rows ÷ commits: the group size).
    public var commits: Int { commitCounter.load(ordering: .relaxed) }
    // Written by the writer thread, read by /metrics and tests on others.
    private let rowCounter = Atomic<Int>(0)
    private let commitCounter = Atomic<Int>(0)
    /// Times the WAL started over from its beginning since start (it grows until it does).
    public var walRestarts: Int { restartCounter.load(ordering: .relaxed) }
    private let restartCounter = Atomic<Int>(0)

    /// The default `commitWindow`: at most this much latency added to a logged request.
    public static let defaultCommitWindow: Duration = .microseconds(500)

    public init(path: String, durability: Durability = .normal, commitWindow: Duration = PredictionLog.defaultCommitWindow,
                commitRows: Int = 256, walLimit: Int = PredictionLog.defaultWALLimit) throws(LogError) {
        self.path = path
        self.commitWindow = max(.zero, commitWindow)
        self.commitRows = max(1, commitRows)
        do throws(SQLiteError) {
            database = try SQLiteDatabase(path: path)
            try database.execute("PRAGMA journal_mode = WAL")
            try database.execute("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            // Checkpoints (copying the WAL into the database, with an fsync of each) run on
            // their own thread and connection, not in the writer's commits: measured on this
            // project's 2-core VM, the automatic ones halved throughput and put 30 ms stalls
            // into the p99 of every request waiting for its commit.
            try database.execute("PRAGMA wal_autocheckpoint = 0")
            try database.execute("PRAGMA journal_size_limit = \(64 << 20)")
            // The message-id index takes a random page per row: past SQLite's default 2 MiB
            // cache, once the index outgrows it, most inserts would read their page back.
            try database.execute("PRAGMA cache_size = -32768")
            try database.execute(Self.schema)
            try database.setChunkSize(Self.chunkBytes)
            database.trackWALFrames()
            let pageSize = try database.prepare("PRAGMA page_size")
            let page = try pageSize.step() ? pageSize.value(0) : .null
            guard case let .integer(bytes) = page, bytes > 0 else {
                throw SQLiteError(code: 1, message: "PRAGMA page_size gave \(page)", context: path)
            }
            walLimitFrames = max(1, walLimit / Int(bytes))
        } catch {
            throw .sqlite(error)
        }
        checkpointer = try Checkpointer(path: path)
        let thread = Thread { [unowned self] in
            nameThisThread("triage-logwrite")
            self.writerLoop()
        }
        self.thread = thread
        thread.start()
    }

    /// Runs passive checkpoints on its own connection every `interval` seconds: they copy the
    /// WAL into the database, with the fsyncs that takes, off the writer's thread. A passive
    /// checkpoint never blocks the writer; what it cannot copy yet, the next one will.
    ///
    /// Under a sustained stream of commits they never copy the whole WAL, as the writer appends
    /// to it while they run, and SQLite starts the WAL over only when a write transaction begins
    /// with all of it copied. So when the WAL is past its limit the writer asks for a catch-up:
    /// passes back to back, each copying what arrived during the one before, until one finds
    /// at most `tailFrames` new frames, then an fsync of the database file (a pass that does not
    /// reach the end of the WAL leaves its copies unsynced: the one that does syncs them all).
    /// Then the writer runs the last pass itself, between two transactions, on that short tail,
    /// and its next transaction starts the WAL over. Measured on this project's 2-core VM at
    /// ~8k logged requests/s: the writer's pass takes 1.7–3 ms, where before (the writer
    /// checkpointing by itself once the WAL file was past the limit) it took 10–130 ms, growing
    /// with the log, and every request waiting for its commit waited with it. The database file
    /// grows in `chunkBytes` steps, so that most of these fsyncs find its size unchanged.
    final class Checkpointer: @unchecked Sendable {
        private let database: SQLiteDatabase
        private let condition = NSCondition()
        private var stopping = false, stopped = false
        private var catchUp = false, tailReady = false
        /// When the last catch-up ended (uptime ns): at most one per `interval`, so that a reader
        /// holding the WAL (which keeps a checkpoint from finishing) does not make them continuous.
        private var lastCatchUp: UInt64 = 0
        private let interval: TimeInterval
        /// A catch-up ends when a pass finds at most this many new frames (or after `maxPasses`).
        static let tailFrames = 64
        static let maxPasses = 8

        init(path: String, interval: TimeInterval = 0.2) throws(LogError) {
            do {
                database = try SQLiteDatabase(path: path)
                try database.setChunkSize(PredictionLog.chunkBytes)
            } catch { throw .sqlite(error) }
            self.interval = interval
            let thread = Thread { [unowned self] in
                nameThisThread("triage-ckpoint")
                self.loop()
            }
            thread.start()
        }

        /// Asks for a catch-up (see the type); a no-op while one is running or its tail waits.
        func requestCatchUp() {
            condition.lock()
            let now = DispatchTime.now().uptimeNanoseconds
            if !catchUp && !tailReady && now &- lastCatchUp >= UInt64(interval * 1e9) {
                catchUp = true
                condition.broadcast()
            }
            condition.unlock()
        }

        /// True once per finished catch-up: the writer's turn to copy the tail.
        func takeTail() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard tailReady else { return false }
            tailReady = false
            return true
        }

        private func loop() {
            condition.lock()
            while !stopping {
                if !catchUp { _ = condition.wait(until: Date(timeIntervalSinceNow: interval)) }
                if stopping { break }
                let converge = catchUp
                condition.unlock()
                if converge {
                    var previous: Int?
                    for _ in 0 ..< Self.maxPasses {
                        guard let pass = try? database.checkpoint(.passive) else { break }
                        // Frames appended while the previous pass ran (negative: the WAL restarted).
                        if let previous, pass.walFrames - previous <= Self.tailFrames { break }
                        previous = pass.walFrames
                    }
                    // Those passes did not sync what they copied (only a pass that reaches
                    // the end of the WAL does): sync it here, so that the writer's last pass
                    // syncs only its tail, then copy what arrived during the sync.
                    _ = try? database.syncDatabaseFile()
                    _ = try? database.checkpoint(.passive)
                    condition.lock()
                    catchUp = false
                    tailReady = true
                    lastCatchUp = DispatchTime.now().uptimeNanoseconds
                } else {
                    _ = try? database.checkpoint(.passive)
                    condition.lock()
                }
            }
            stopped = true
            condition.broadcast()
            condition.unlock()
        }

        func stop() {
            condition.lock()
            stopping = true
            condition.broadcast()
            while !stopped { condition.wait() }
            condition.unlock()
        }
    }

    /// Version 1 of the schema. `predictions.seq` orders rows; a message id may repeat (the
    /// latest prediction is the one a label applies to).
    static let schema = """
        CREATE TABLE IF NOT EXISTS predictions (
            seq INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL,
            received_at TEXT NOT NULL,
            model_id TEXT NOT NULL,
            subject TEXT,
            body TEXT,
            text_sha256 TEXT NOT NULL,
            category TEXT NOT NULL,
            probability REAL NOT NULL,
            top_json TEXT NOT NULL,
            unsure INTEGER NOT NULL,
            latency_ms REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS predictions_by_message ON predictions (message_id, seq);
        CREATE TABLE IF NOT EXISTS labels (
            seq INTEGER PRIMARY KEY,
            prediction_seq INTEGER NOT NULL REFERENCES predictions (seq),
            message_id TEXT NOT NULL,
            label TEXT NOT NULL,
            agent TEXT,
            labelled_at TEXT NOT NULL,
            model_id TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS labels_by_prediction ON labels (prediction_seq, seq);
        PRAGMA user_version = 1;
        """

    /// Rows queued and not yet taken by the writer (for tests and diagnostics).
    var queuedRowCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedRows
    }

    /// Queues rows and returns once they are committed.
    public func record(_ rows: [LoggedPrediction]) async throws {
        guard !rows.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            record(rows) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Queues rows and calls `done` once they are committed (nil) or failed. Called on an event
    /// loop, `done` runs on that loop; a closed log calls it at once, before this returns.
    /// For the channel handler that answers `POST /messages` without a Swift task.
    public func record(_ rows: [LoggedPrediction], then done: @escaping @Sendable ((any Error)?) -> Void) {
        guard !rows.isEmpty else { return done(nil) }
        enqueue(.insert(rows, done), rows: rows.count) { done(LogError.closed) }
    }

    /// Records a re-classification of the latest prediction of `messageID`.
    public func relabel(messageID: String, label: String, agent: String?, modelID: String) async throws -> RelabelOutcome {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RelabelOutcome, any Error>) in
            enqueue(.relabel(messageID: messageID, label: label, agent: agent, at: Date().timeIntervalSince1970, modelID: modelID, continuation), rows: 1) {
                continuation.resume(throwing: LogError.closed)
            }
        }
    }

    private func enqueue(_ op: Operation, rows: Int, ifClosed: () -> Void) {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop
        condition.lock()
        if closing {
            condition.unlock()
            ifClosed()
            return
        }
        // The writer waits for the first operation of a batch, then for the window or for
        // `commitRows`: it needs a wake-up only then, not for every request.
        let wake = queue.isEmpty || (queuedRows < commitRows && queuedRows + rows >= commitRows)
        if queue.isEmpty { queuedSince = DispatchTime.now().uptimeNanoseconds }
        queue.append(Queued(operation: op, loop: loop))
        queuedRows += rows
        if wake { condition.signal() }
        condition.unlock()
    }

    /// Commits what is queued, stops the writer and closes the file.
    public func close() {
        checkpointer.stop()
        condition.lock()
        closing = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    // MARK: Writer

    private func writerLoop() {
        var insert: SQLiteStatement?, latest: SQLiteStatement?, addLabel: SQLiteStatement?
        // Prepared once: `execute` would parse them again for every commit.
        var begin: SQLiteStatement?, commit: SQLiteStatement?
        do {
            begin = try database.prepare("BEGIN IMMEDIATE")
            commit = try database.prepare("COMMIT")
            insert = try database.prepare("""
                INSERT INTO predictions (message_id, received_at, model_id, subject, body, text_sha256, category, probability, top_json, unsure, latency_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            latest = try database.prepare("SELECT seq FROM predictions WHERE message_id = ? ORDER BY seq DESC LIMIT 1")
            addLabel = try database.prepare("INSERT INTO labels (prediction_seq, message_id, label, agent, labelled_at, model_id) VALUES (?, ?, ?, ?, ?, ?)")
        } catch {
            lastErrorBox.withLock { $0 = "\(error)" }
        }
        var walFrames = 0
        let window = commitWindow.components
        let windowNanoseconds = UInt64(window.seconds) * 1_000_000_000 + UInt64(window.attoseconds / 1_000_000_000)
        var top: [UInt8] = []
        while true {
            condition.lock()
            while queue.isEmpty && !closing { condition.wait() }
            // The commit window: wait for more rows unless closing or enough are queued.
            if windowNanoseconds > 0 {
                let deadline = queuedSince &+ windowNanoseconds
                while !closing && queuedRows < commitRows {
                    let now = DispatchTime.now().uptimeNanoseconds
                    guard now < deadline else { break }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) * 1e-9))
                }
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            queuedRows = 0
            let stop = closing && batch.isEmpty
            condition.unlock()
            if stop { break }
            // One transaction for the whole batch: the group commit.
            var outcomes: [RelabelOutcome?] = []
            outcomes.reserveCapacity(batch.count)
            var failure: (any Error)?
            do {
                guard let insert, let latest, let addLabel, let begin, let commit else {
                    throw LogError.sqlite(SQLiteError(code: 1, message: lastError ?? "statements not prepared", context: path))
                }
                try begin.run()
                var rows = 0
                for queued in batch {
                    switch queued.operation {
                    case let .insert(predictions, _):
                        for p in predictions {
                            Self.topJSON(p.top, into: &top)
                            try insert.reset()
                            try insert.bind(p.messageID, at: 1)
                            try insert.bind(UTCTimestamp.string(p.receivedAt), at: 2)
                            try insert.bind(p.modelID, at: 3)
                            try insert.bind(p.subject, at: 4)
                            try insert.bind(p.body, at: 5)
                            try insert.bind(p.textSHA256, at: 6)
                            try insert.bind(p.category, at: 7)
                            try insert.bind(p.probability, at: 8)
                            try insert.bind(utf8: top, at: 9)
                            try insert.bind(Int64(p.unsure ? 1 : 0), at: 10)
                            try insert.bind(p.latencyMilliseconds, at: 11)
                            try insert.runBound()
                            rows += 1
                        }
                        outcomes.append(nil)
                    case let .relabel(messageID, label, agent, at, modelID, _):
                        try latest.bind([.text(messageID)])
                        if try latest.step(), case let .integer(seq) = latest.value(0) {
                            try latest.bind([])
                            try addLabel.run([.integer(seq), .text(messageID), .text(label), agent.map { .text($0) } ?? .null,
                                              .text(UTCTimestamp.string(at)), .text(modelID)])
                            outcomes.append(.recorded(predictionSeq: seq))
                        } else {
                            try latest.bind([])
                            outcomes.append(.unknownMessage)
                        }
                    }
                }
                try commit.run()
                rowCounter.add(rows, ordering: .relaxed)
                commitCounter.add(1, ordering: .relaxed)
                let frames = database.walFrames
                if frames < walFrames { restartCounter.add(1, ordering: .relaxed) }
                walFrames = frames
                if frames > walLimitFrames { checkpointer.requestCatchUp() }
                if lastError != nil { lastErrorBox.withLock { $0 = nil } }
            } catch {
                try? database.execute("ROLLBACK")
                failure = error
                lastErrorBox.withLock { $0 = "\(error)" }
            }
            Self.resume(batch, outcomes: outcomes, failure: failure)
            // After answering the batch: the rows queued meanwhile wait for this, not those.
            if checkpointer.takeTail() { _ = try? database.checkpoint(.passive) }
        }
        insert = nil
        latest = nil
        addLabel = nil
        begin = nil
        commit = nil
        _ = try? database.checkpoint(.truncate)
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}

extension PredictionLog {
    /// `[[category, probability], …]`, the `top_json` column (the canonical form `JSONWriter`
    /// gives the same array), written into `out`.
    static func topJSON(_ top: [(category: String, probability: Double)], into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(UInt8(ascii: "["))
        for (i, t) in top.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONWriter.writeString(t.category, into: &out)
            out.append(UInt8(ascii: ","))
            if let n = JSONNumber(t.probability) { out.append(contentsOf: n.literal.utf8) } else { out.append(contentsOf: "null".utf8) }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Resumes the callers of a committed (or failed) batch: those waiting on an event loop on
    /// that loop, all of a loop's in one task in queue order; the others from this thread.
    private static func resume(_ batch: [Queued], outcomes: [RelabelOutcome?], failure: (any Error)?) {
        @Sendable func resumeOne(_ i: Int) {
            switch batch[i].operation {
            case let .insert(_, done):
                done(failure)
            case let .relabel(_, _, _, _, _, continuation):
                if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: outcomes[i] ?? .unknownMessage) }
            }
        }
        var loops: [any EventLoop] = []
        var indices: [[Int]] = []
        for (i, queued) in batch.enumerated() {
            guard let loop = queued.loop else {
                resumeOne(i)
                continue
            }
            if let at = loops.firstIndex(where: { $0 === loop }) {
                indices[at].append(i)
            } else {
                loops.append(loop)
                indices.append([i])
            }
        }
        for (at, loop) in loops.enumerated() {
            let mine = indices[at]
            loop.execute { for i in mine { resumeOne(i) } }
        }
    }
}

/// ISO 8601 UTC timestamps with milliseconds (`2026-12-01T18:37:12.345Z`), as the log stores
/// them. Written by hand: Foundation's ISO8601DateFormatter goes through ICU and took a tenth of
/// the log writer's time. Rounded to the nearest millisecond, as the formatter does.
enum UTCTimestamp {
    static func string(_ secondsSince1970: Double) -> String {
        let totalMilliseconds = Int64((secondsSince1970 * 1000).rounded())
        let (daysSince1970, msOfDay) = floorDivide(totalMilliseconds, 86_400_000)
        let (year, month, day) = civilDate(daysSince1970: daysSince1970)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1 ..< count { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(v / divisor))
                v %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-"))
        digits(month, 2); out.append(UInt8(ascii: "-"))
        digits(day, 2); out.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2); out.append(UInt8(ascii: ":"))
        digits(msOfDay / 60000 % 60, 2); out.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2); out.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// Proleptic Gregorian year, month, day of a day count from 1970-01-01 (the "days from
    /// civil" inversion over 400-year eras, as in H. Hinnant's public-domain date algorithms).
    static func civilDate(daysSince1970: Int64) -> (Int64, Int64, Int64) {
        let z = daysSince1970 + 719_468
        let era = floorDivide(z, 146_097).0
        let dayOfEra = z - era * 146_097                                               // [0, 146096]
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365  // [0, 399]
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)   // [0, 365], from March 1
        let mp = (5 * dayOfYear + 2) / 153                                               // [0, 11], March = 0
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Writing relabelled messages back out as training data.
public enum FeedbackExport {
    public struct Summary: Sendable, Equatable {
        public var exported: Int
        /// Relabelled predictions whose text was not stored (served with --no-store-text).
        public var withoutText: Int
    }

    /// Writes `id,subject,body,label` (RFC 4180, the training format) for every prediction with
    /// a human label, taking the latest label of each.
    public static func export(database path: String, to out: String) throws -> Summary {
        guard FileManager.default.fileExists(atPath: path) else { throw SQLiteError(code: 14, message: "no such database file", context: path) }
        let db = try SQLiteDatabase(path: path, mode: .readOnly)
        let statement = try db.prepare("""
            SELECT p.message_id, p.subject, p.body, l.label
            FROM labels l JOIN predictions p ON p.seq = l.prediction_seq
            WHERE l.seq = (SELECT MAX(l2.seq) FROM labels l2 WHERE l2.prediction_seq = l.prediction_seq)
            ORDER BY l.prediction_seq
            """)
        var csv = "id,subject,body,label\r\n"
        var summary = Summary(exported: 0, withoutText: 0)
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        func text(_ v: SQLiteValue) -> String? {
            if case let .text(s) = v { return s }
            return nil
        }
        while try statement.step() {
            guard let body = text(statement.value(2)) else {
                summary.withoutText += 1
                continue
            }
            let row = [text(statement.value(0)) ?? "", text(statement.value(1)) ?? "", body, text(statement.value(3)) ?? ""]
            csv += row.map(field).joined(separator: ",") + "\r\n"
            summary.exported += 1
        }
        if out == "-" {
            FileHandle.standardOutput.write(Data(csv.utf8))
        } else {
            try Data(csv.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        }
        return summary
    }
}

/// Names the calling thread as ps, top and perf show it (Linux keeps 15 bytes). Foundation's
/// `Thread.name`, set before `start()`, did not reach the thread on Linux: the log's threads
/// showed as the dispatch worker that created them ("oot.default-qos").
func nameThisThread(_ name: String) {
    #if os(Linux)
    // pthread_setname_np is a GNU extension Glibc's Swift module does not show; the kernel's
    // file for the same name is there on every Linux since 3.17.
    try? String(decoding: name.utf8.prefix(15), as: UTF8.self).write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
    #endif
}
