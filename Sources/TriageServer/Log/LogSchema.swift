extension PredictionLog {
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
}
