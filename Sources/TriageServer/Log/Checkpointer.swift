import Foundation
import TriageData

extension PredictionLog {
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
}
