import Foundation
import NIOCore
import NIOPosix
import Synchronization
import TriageCore
import TriageData

/// The writer thread: group commits of what is queued (see `PredictionLog`).
extension PredictionLog {
    func writerLoop() {
        var insert: SQLiteStatement?, latest: SQLiteStatement?, addLabel: SQLiteStatement?, insertHead: SQLiteStatement?
        // Prepared once: `execute` would parse them again for every commit.
        var begin: SQLiteStatement?, commit: SQLiteStatement?
        do {
            begin = try database.prepare("BEGIN IMMEDIATE")
            commit = try database.prepare("COMMIT")
            insert = try database.prepare("""
                INSERT INTO predictions (message_id, received_at, model_id, subject, body, text_sha256, category, probability, top_json, unsure, latency_ms,
                                         unsure_reason, margin, decided_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            latest = try database.prepare("SELECT seq FROM predictions WHERE message_id = ? ORDER BY seq DESC LIMIT 1")
            addLabel = try database.prepare("INSERT INTO labels (prediction_seq, message_id, label, agent, labelled_at, model_id, head) VALUES (?, ?, ?, ?, ?, ?, ?)")
            insertHead = try database.prepare("""
                INSERT INTO prediction_heads (prediction_seq, head, category, probability, top_json, unsure, unsure_reason, margin, decided_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
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
                guard let insert, let latest, let addLabel, let insertHead, let begin, let commit else {
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
                            try insert.bind(p.unsureReason, at: 12)
                            try insert.bind(p.margin, at: 13)
                            try insert.bind(p.decidedBy, at: 14)
                            try insert.runBound()
                            rows += 1
                            if !p.heads.isEmpty {
                                let seq = database.lastInsertRowID
                                for h in p.heads {
                                    Self.topJSON(h.top, into: &top)
                                    try insertHead.reset()
                                    try insertHead.bind(seq, at: 1)
                                    try insertHead.bind(h.head, at: 2)
                                    try insertHead.bind(h.category, at: 3)
                                    try insertHead.bind(h.probability, at: 4)
                                    try insertHead.bind(utf8: top, at: 5)
                                    try insertHead.bind(Int64(h.unsure ? 1 : 0), at: 6)
                                    try insertHead.bind(h.unsureReason, at: 7)
                                    try insertHead.bind(h.margin, at: 8)
                                    try insertHead.bind(h.decidedBy, at: 9)
                                    try insertHead.runBound()
                                }
                            }
                        }
                        outcomes.append(nil)
                    case let .relabel(messageID, label, agent, at, modelID, head, _):
                        try latest.bind([.text(messageID)])
                        if try latest.step(), case let .integer(seq) = latest.value(0) {
                            try latest.bind([])
                            try addLabel.run([.integer(seq), .text(messageID), .text(label), agent.map { .text($0) } ?? .null,
                                              .text(UTCTimestamp.string(at)), .text(modelID), head.map { .text($0) } ?? .null])
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
    static func resume(_ batch: [Queued], outcomes: [RelabelOutcome?], failure: (any Error)?) {
        @Sendable func resumeOne(_ i: Int) {
            switch batch[i].operation {
            case let .insert(_, done):
                done(failure)
            case let .relabel(_, _, _, _, _, _, continuation):
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

