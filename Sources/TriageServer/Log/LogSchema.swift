import TriageData

extension PredictionLog {
    /// The schema's migrations, in order: migration `i` takes a log file from schema version `i`
    /// (SQLite's `PRAGMA user_version`; 0 for a new, empty file) to `i + 1`, in one transaction
    /// with the version bump, so a file is always at one version. A later change appends a
    /// migration; a file written by any earlier release opens, migrates and keeps every row.
    ///
    /// - 1: `predictions` (`seq` orders rows; a message id may repeat, and the latest prediction
    ///   is the one a label applies to) and `labels`.
    /// - 2: `predictions.unsure_reason` — why the confidence policy did not route the message
    ///   (`low_confidence`, `ambiguous`, `out_of_scope`; NULL when routed). Rows of version 1
    ///   were unsure only below the threshold: theirs becomes `low_confidence`.
    /// - 3: `predictions.margin` — top-1 − top-2 probability, which orders the review queue;
    ///   older rows get it from `top_json` when it holds two labels (NULL otherwise).
    /// - 4: `predictions.decided_by` — `model`, or `rule:NAME` when an override rule of the model
    ///   decided the category; older rows were all the model's.
    /// - 5: a model of several label heads: `prediction_heads` holds the answers of the heads
    ///   after the first (the first head's is the `predictions` row), and `labels.head` names
    ///   the head a relabel is for (NULL: the first head, as every older row).
    static let migrations: [String] = [
        """
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
        """,
        """
        ALTER TABLE predictions ADD COLUMN unsure_reason TEXT;
        UPDATE predictions SET unsure_reason = 'low_confidence' WHERE unsure <> 0;
        """,
        """
        ALTER TABLE predictions ADD COLUMN margin REAL;
        UPDATE predictions SET margin = json_extract(top_json, '$[0][1]') - json_extract(top_json, '$[1][1]')
            WHERE json_valid(top_json) AND json_array_length(top_json) >= 2;
        """,
        """
        ALTER TABLE predictions ADD COLUMN decided_by TEXT NOT NULL DEFAULT 'model';
        """,
        """
        CREATE TABLE IF NOT EXISTS prediction_heads (
            prediction_seq INTEGER NOT NULL REFERENCES predictions (seq),
            head TEXT NOT NULL,
            category TEXT NOT NULL,
            probability REAL NOT NULL,
            top_json TEXT NOT NULL,
            unsure INTEGER NOT NULL,
            unsure_reason TEXT,
            margin REAL,
            decided_by TEXT NOT NULL,
            PRIMARY KEY (prediction_seq, head)
        );
        ALTER TABLE labels ADD COLUMN head TEXT;
        """,
    ]

    /// The schema version this release writes.
    public static var schemaVersion: Int { migrations.count }

    /// Brings `database` to `schemaVersion`; a file from a newer release is refused (its rows
    /// would not be written the way it expects).
    static func migrate(_ database: SQLiteDatabase, path: String) throws(SQLiteError) {
        let version = try userVersion(database)
        guard version <= schemaVersion else {
            throw SQLiteError(code: 1, message: "the log's schema is version \(version), newer than this release's \(schemaVersion): open it with a newer triage, or give another --db",
                              context: path)
        }
        for step in version ..< schemaVersion {
            try database.execute("BEGIN IMMEDIATE")
            do {
                try database.execute(migrations[step])
                try database.execute("PRAGMA user_version = \(step + 1)")
                try database.execute("COMMIT")
            } catch {
                try? database.execute("ROLLBACK")
                throw SQLiteError(code: error.code, message: "migrating the log's schema from version \(step) to \(step + 1): \(error.message)", context: path)
            }
        }
    }

    static func userVersion(_ database: SQLiteDatabase) throws(SQLiteError) -> Int {
        let statement = try database.prepare("PRAGMA user_version")
        guard try statement.step(), case let .integer(v) = statement.value(0) else { return 0 }
        return Int(v)
    }
}
