#!/usr/bin/env python3
"""The HTTP serving peer of scripts/bench's "serve" suite: the talk's design.

A bank's data team served a scikit-learn pipeline from a small Flask app behind gunicorn: the
subject repeated twice and prepended to the body → TF-IDF → a classifier, pickled; POST /messages
→ category; every prediction logged to a database. This file is both halves, run with the
private venv .venv-bench/ (pins in scripts/bench-requirements.txt).

  train --train CSV --out MODEL.pkl [--test CSV]
      Fits the pipeline on a corpus CSV (columns id,subject,body,label; text = (subject + " ") * 2
      + body) — TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2,
      sublinear_tf=True) → LogisticRegression(max_iter=1000) — and pickles it to MODEL.pkl, with
      MODEL.json beside it (classes, vocabulary, fit seconds; test accuracy with --test).
      Progress on stderr.

  The Flask app, served by gunicorn (2 sync workers, as in the talk):

      PEER_MODEL=MODEL.pkl [PEER_DB=log.sqlite] \\
          .venv-bench/bin/gunicorn -w 2 -b 127.0.0.1:8081 --pythonpath scripts bench_serve_peer:app

      Each worker loads the pickle when it starts. Routes, with Triage's JSON shapes:
        POST /messages  {"messages": [{"id", "subject", "body"}]} → {"model": {"id", "version"},
                        "predictions": [{"id", "category", "probability", "top": [{"category",
                        "probability"}] (3), "unsure": probability < 0.5}]}; 405 on GET
        GET  /health    {"status": "alive", "worker": PID}
      With PEER_DB set, each request inserts its predictions into the SQLite table `predictions`
      and commits (one connection per worker, WAL, synchronous=NORMAL — the durability of Triage's
      default `--db-sync normal` — one commit per request): the talk's "log to a database".
"""

import argparse
import csv
import datetime
import hashlib
import json
import os
import pickle
import sqlite3
import sys
import time

SUBJECT_REPEAT = 2
TOP_K = 3
UNSURE_BELOW = 0.5


def compose(subject, body):
    """The talk's text: the subject repeated SUBJECT_REPEAT times, prepended to the body."""
    return (subject + " ") * SUBJECT_REPEAT + body


def read_corpus(path):
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(compose(row.get("subject") or "", row.get("body") or ""))
            labels.append(row["label"])
    return texts, labels


def cmd_train(args):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts, labels = read_corpus(args.train)
    pipeline = Pipeline([
        ("tfidf", TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2,
                                  sublinear_tf=True)),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    started = time.perf_counter()
    pipeline.fit(texts, labels)
    fit_seconds = time.perf_counter() - started
    meta = {
        "train": args.train, "documents": len(texts), "classes": len(pipeline.classes_),
        "vocabulary": len(pipeline.named_steps["tfidf"].vocabulary_),
        "fit_seconds": round(fit_seconds, 3),
        "model": "TfidfVectorizer(stop_words='english', ngram_range=(1, 2), min_df=2, "
                 "sublinear_tf=True) → LogisticRegression(max_iter=1000)",
    }
    if args.test:
        test_texts, test_labels = read_corpus(args.test)
        predicted = pipeline.predict(test_texts)
        meta["test"] = args.test
        meta["test_accuracy"] = sum(p == t for p, t in zip(predicted, test_labels)) / len(test_labels)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(pipeline, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, args.out)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"bench_serve_peer: trained on {len(texts)} messages in {fit_seconds:.1f} s "
          f"({meta['vocabulary']} features, {meta['classes']} classes"
          + (f", test accuracy {meta['test_accuracy']:.4f}" if args.test else "")
          + f") → {args.out}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------
# The Flask app.
# ---------------------------------------------------------------------------------------

LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    model_id TEXT NOT NULL,
    subject TEXT,
    body TEXT,
    category TEXT NOT NULL,
    probability REAL NOT NULL,
    top_json TEXT NOT NULL,
    unsure INTEGER NOT NULL
)"""


def open_log(path):
    """This worker's connection to the prediction log (WAL, synchronous=NORMAL)."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    # Two workers may open a fresh file at once: switching it to WAL takes a lock that the busy
    # timeout does not always wait for, so retry for a while.
    for attempt in range(100):
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(LOG_SCHEMA)
            return db
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            time.sleep(0.05)


def create_app(model_path, db_path=None):
    import numpy as np
    from flask import Flask, jsonify, request

    with open(model_path, "rb") as f:
        blob = f.read()
    pipeline = pickle.loads(blob)
    classes = [str(c) for c in pipeline.classes_]
    model_id = hashlib.sha256(blob).hexdigest()
    model = {"id": model_id, "version": model_id[:12]}
    log = open_log(db_path) if db_path else None

    app = Flask(__name__)

    def error(status, message):
        response = jsonify(error=message)
        response.status_code = status
        return response

    @app.post("/messages")
    def messages():
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            return error(400, 'expected {"messages": [{"id", "subject", "body"}]}')
        items = payload["messages"]
        if not items:
            return error(422, "no messages")
        for m in items:
            if (not isinstance(m, dict) or not isinstance(m.get("id"), str)
                    or not isinstance(m.get("subject", ""), str) or not isinstance(m.get("body", ""), str)):
                return error(422, "each message needs a string id, subject and body")
        proba = pipeline.predict_proba([compose(m.get("subject", ""), m.get("body", "")) for m in items])
        order = np.argsort(-proba, axis=1, kind="stable")[:, :TOP_K]
        predictions = []
        for m, p, top in zip(items, proba, order):
            best = float(p[top[0]])
            predictions.append({
                "id": m["id"], "category": classes[top[0]], "probability": best,
                "top": [{"category": classes[j], "probability": float(p[j])} for j in top],
                "unsure": best < UNSURE_BELOW,
            })
        if log is not None:
            now = datetime.datetime.now(datetime.timezone.utc).isoformat()
            log.execute("BEGIN")
            try:
                log.executemany(
                    "INSERT INTO predictions (message_id, received_at, model_id, subject, body, "
                    "category, probability, top_json, unsure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(m["id"], now, model_id, m.get("subject", ""), m.get("body", ""), pr["category"],
                      pr["probability"], json.dumps(pr["top"]), int(pr["unsure"]))
                     for m, pr in zip(items, predictions)])
                log.execute("COMMIT")
            except BaseException:
                log.execute("ROLLBACK")
                raise
        return jsonify(model=model, predictions=predictions)

    @app.get("/health")
    def health():
        return jsonify(status="alive", worker=os.getpid())

    @app.errorhandler(404)
    def not_found(_):
        return error(404, "not found")

    @app.errorhandler(405)
    def not_allowed(_):
        return error(405, "method not allowed")

    return app


_app = None


def __getattr__(name):
    """`bench_serve_peer:app` for gunicorn: the app of $PEER_MODEL (and $PEER_DB), made on first
    access, i.e. in each worker as it starts (gunicorn without --preload)."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        model_path = os.environ.get("PEER_MODEL")
        if not model_path:
            raise RuntimeError("bench_serve_peer: set PEER_MODEL to the pickled pipeline "
                               "(bench_serve_peer.py train --out ...)")
        _app = create_app(model_path, os.environ.get("PEER_DB") or None)
    return _app


def main():
    parser = argparse.ArgumentParser(prog="bench_serve_peer.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="fit and pickle the pipeline")
    train.add_argument("--train", required=True, metavar="CSV")
    train.add_argument("--test", metavar="CSV", help="also report the test accuracy")
    train.add_argument("--out", required=True, metavar="MODEL.pkl")
    args = parser.parse_args()
    return {"train": cmd_train}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
