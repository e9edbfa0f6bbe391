import Foundation
import TriageData

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
        let db = try ReviewQueue.openReadOnly(path)
        let statement = try db.prepare("""
            SELECT p.message_id, p.subject, p.body, l.label
            FROM labels l JOIN predictions p ON p.seq = l.prediction_seq
            WHERE l.seq = (SELECT MAX(l2.seq) FROM labels l2 WHERE l2.prediction_seq = l.prediction_seq)
            ORDER BY l.prediction_seq
            """)
        var csv = CSVWriter.record(["id", "subject", "body", "label"])
        var summary = Summary(exported: 0, withoutText: 0)
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
            csv += CSVWriter.record(row)
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

