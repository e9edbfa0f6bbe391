import Foundation
import NIOCore
import NIOPosix
import Synchronization
import TriageCore
import TriageData

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

    enum Operation {
        /// `done` runs once the rows are committed (nil) or failed, on the caller's event loop
        /// (see `record(_:then:)`).
        case insert([LoggedPrediction], @Sendable ((any Error)?) -> Void)
        case relabel(messageID: String, label: String, agent: String?, at: Double, modelID: String, head: String?, CheckedContinuation<RelabelOutcome, any Error>)
    }

    /// A queued operation and the event loop its caller waits on (nil off any loop).
    struct Queued: Sendable {
        let operation: Operation
        let loop: (any EventLoop)?
    }

    public let path: String
    let condition = NSCondition()
    var queue: [Queued] = []
    /// When the oldest queued operation arrived (uptime nanoseconds).
    var queuedSince: UInt64 = 0
    var queuedRows = 0
    /// Longest a queued row waits for more to share its commit; 0 commits at once.
    public let commitWindow: Duration
    /// A commit starts without waiting out the window once this many rows are queued.
    public let commitRows: Int
    var closing = false
    var finished = false
    private var thread: Thread?
    let database: SQLiteDatabase
    let checkpointer: Checkpointer
    /// WAL size past which the log restarts the WAL (see `writerLoop`).
    public static let defaultWALLimit = 32 << 20
    /// The database file grows in steps of this many bytes (see `Checkpointer`).
    static let chunkBytes = 8 << 20
    /// `walLimit` in WAL frames (one frame per database page).
    let walLimitFrames: Int
    /// The last write error (cleared by a successful commit): /ready reports it.
    public var lastError: String? { lastErrorBox.withLock { $0 } }
    let lastErrorBox = Mutex<String?>(nil)
    /// Rows committed since start.
    public var committedRows: Int { rowCounter.load(ordering: .relaxed) }
    /// Transactions committed since start (rows ÷ commits: the group size).
    public var commits: Int { commitCounter.load(ordering: .relaxed) }
    // Written by the writer thread, read by /metrics and tests on others.
    let rowCounter = Atomic<Int>(0)
    let commitCounter = Atomic<Int>(0)
    /// Times the WAL started over from its beginning since start (it grows until it does).
    public var walRestarts: Int { restartCounter.load(ordering: .relaxed) }
    let restartCounter = Atomic<Int>(0)

    /// The default `commitWindow`: at most this much latency added to a logged request.
    public static let defaultCommitWindow: Duration = .microseconds(250)

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
            try Self.migrate(database, path: path)
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

    /// Records a re-classification of the latest prediction of `messageID` (for `head`, a later
    /// head of a several-head model; nil: the first head).
    public func relabel(messageID: String, label: String, agent: String?, modelID: String, head: String? = nil) async throws -> RelabelOutcome {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RelabelOutcome, any Error>) in
            enqueue(.relabel(messageID: messageID, label: label, agent: agent, at: Date().timeIntervalSince1970, modelID: modelID, head: head, continuation), rows: 1) {
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
}
