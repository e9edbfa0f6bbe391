import Foundation
import TriageCore
import TriageData

/// Writing relabelled messages back out as training data.
public enum FeedbackExport {
    public struct Summary: Sendable, Equatable {
        public var exported: Int
        /// Relabelled predictions whose text was not stored (served with --no-store-text).
        public var withoutText: Int
    }

    /// Every relabelled message once, with its latest label (the latest relabel of a message id
    /// wins, whichever of its predictions it was given to) and the text of that prediction, in
    /// the order of those labels; relabels of messages logged without text are counted.
    public static func relabels(database path: String) throws -> (messages: [LabeledMessage], withoutText: Int) {
        let db = try ReviewQueue.openReadOnly(path)
        let statement = try db.prepare("""
            SELECT l.message_id, p.subject, p.body, l.label
            FROM labels l JOIN predictions p ON p.seq = l.prediction_seq
            WHERE l.head IS NULL AND l.seq = (SELECT MAX(l2.seq) FROM labels l2 WHERE l2.message_id = l.message_id AND l2.head IS NULL)
            ORDER BY l.seq
            """)
        var messages: [LabeledMessage] = [], withoutText = 0
        while try statement.step() {
            guard let body = statement.value(2).stringValue else {
                withoutText += 1
                continue
            }
            messages.append(LabeledMessage(id: statement.value(0).stringValue ?? "", subject: statement.value(1).stringValue ?? "", body: body,
                                           label: statement.value(3).stringValue, line: messages.count + 1))
        }
        return (messages, withoutText)
    }

    /// Writes `id,subject,body,label` (RFC 4180, the training format) for every relabelled
    /// message (`relabels`).
    public static func export(database path: String, to out: String) throws -> Summary {
        let (messages, withoutText) = try relabels(database: path)
        var csv = CSVWriter.record(["id", "subject", "body", "label"])
        for m in messages { csv += CSVWriter.record([m.id, m.subject, m.body, m.label ?? ""]) }
        let summary = Summary(exported: messages.count, withoutText: withoutText)
        if out == "-" {
            FileHandle.standardOutput.write(Data(csv.utf8))
        } else {
            try Data(csv.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        }
        return summary
    }
}

