#!/usr/bin/env python3
"""Python peers of Triage's benchmarks (the other side of `triage-bench`).

Run by scripts/bench inside the private venv .venv-bench/ (pins in
scripts/bench-requirements.txt); it can also be run by hand with that venv's python.

Every benchmark subcommand prints ONE JSON object on stdout, of the same shape as the
matching `triage-bench` subcommand, so that scripts/bench can put both in one table.
Progress and warnings go to stderr.

Subcommands:

  vectorize --data PATH --ngram-max N [--stop-file FILE] [--stemmer NAME|none]
            [--sublinear] [--min-df K] --repeat R
      Times R repetitions of scikit-learn CountVectorizer.fit_transform followed by
      TfidfTransformer.fit_transform on the texts of a corpus CSV (loading is not timed).

  boost --features DIR --model {sklearn-gbc,xgboost,lightgbm} [--params JSON] --repeat R
        [--threads T] [--curve]
      Gradient-boosted trees on the TF-IDF features `triage-bench features` wrote to DIR
      (train.svm, test.svm, meta.json). Times R fits (building the library's training matrix
      included; loading the svmlight files is not timed), then reports the test accuracy,
      macro-F1 and log loss of the last fit with the same definitions as `triage-bench boost`
      (see metrics()); --curve adds the test log loss after each round (computed after the
      timed fits, by staged prediction).

  linear --train CSV --test CSV --model {lr,svc,mnb,cnb} [--C X] [--alpha X] --repeat R
      scikit-learn's linear classifiers on the feature union of `accuracy` (TF-IDF word 1-2-grams
      + char_wb 2-5-grams, both sublinear): LogisticRegression(C, max_iter=1000), LinearSVC(C),
      MultinomialNB(alpha), ComplementNB(alpha). Times R Pipeline.fit (vectorizers included;
      loading is not timed) and R Pipeline.predict of the whole test set with the last fit;
      reports accuracy, macro-F1, the feature count and the solver's iterations, as
      `triage-bench linear`.

  versions
      Prints the versions of Python and of the peer packages as JSON.

A new benchmark adds a function `cmd_NAME(args)` and its parser in `build_parser()`.
"""

import argparse
import csv
import gc
import gzip
import importlib.metadata
import json
import os
import platform
import re
import resource
import statistics
import sys
import time

# Field bodies of 20 Newsgroups exceed the csv module's default 128 KiB field limit.
csv.field_size_limit(sys.maxsize)

# scikit-learn's default token_pattern: the same regular expression Triage applies.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"

# Distributions reported by `versions`. For each entry: the label shown, then the
# distribution names to try in order (xgboost is installed as xgboost-cpu, see
# bench-requirements.txt).
PEER_PACKAGES = [
    ("scikit-learn", ["scikit-learn"]),
    ("numpy", ["numpy"]),
    ("scipy", ["scipy"]),
    ("PyStemmer", ["PyStemmer"]),
    ("xgboost", ["xgboost", "xgboost-cpu"]),
    ("lightgbm", ["lightgbm"]),
]


def package_version(names):
    """Installed version of the first distribution in `names` that is installed, or None."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def installed_versions():
    """{"python": "3.11.7", "scikit-learn": "1.9.1", ...}; None for a package not installed."""
    versions = {"python": platform.python_version()}
    for label, names in PEER_PACKAGES:
        versions[label] = package_version(names)
    return versions


# ---------------------------------------------------------------------------------------
# Corpus loading: the project's CSV format (corpora/README.md), composed like Triage.
# ---------------------------------------------------------------------------------------

def open_corpus(path):
    """Open a corpus CSV as text for the csv module; `.gz` files are decompressed."""
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, "r", encoding="utf-8", newline="")


def load_texts(path):
    """Texts of a corpus CSV (header id,subject,body,label; RFC 4180).

    Each text is `subject + "\\n" + body`, just `body` when the subject is empty and just
    `subject` when the body is empty: exactly what Triage's TextComposer composes with
    subject_weight 1.
    """
    texts = []
    with open_corpus(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["id", "subject", "body", "label"]:
            sys.exit(f"bench_peers: {path}: header is {header!r}, expected id,subject,body,label")
        for line, row in enumerate(reader, start=2):
            if len(row) != 4:
                sys.exit(f"bench_peers: {path}: record {line} has {len(row)} fields, expected 4")
            subject, body = row[1], row[2]
            texts.append("\n".join(part for part in (subject, body) if part))
    return texts


def cmd_read(args):
    """Python's csv module (+ gzip) reading a corpus into (id, subject, body, label) tuples,
    with the same checks as Triage's reader: the header and four fields a record."""
    seconds = []
    count = 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        rows = []
        with open_corpus(args.data) as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header != ["id", "subject", "body", "label"]:
                sys.exit(f"bench_peers: {args.data}: header is {header!r}, expected id,subject,body,label")
            for line, row in enumerate(reader, start=2):
                if len(row) != 4:
                    sys.exit(f"bench_peers: {args.data}: record {line} has {len(row)} fields, expected 4")
                if not row[3]:
                    sys.exit(f"bench_peers: {args.data}: record {line} has no label")
                rows.append(tuple(row))
        seconds.append(time.perf_counter() - start)
        count = len(rows)
    print(json.dumps({"benchmark": "read", "implementation": "python-csv", "data": args.data,
                      "messages": count, "seconds": seconds}))


# ---------------------------------------------------------------------------------------
# search: scikit-learn's GridSearchCV over the talk's pipeline
# ---------------------------------------------------------------------------------------

# Triage's parameter names -> the scikit-learn Pipeline's.
SEARCH_NAMES = {
    "text.subject_weight": "text__kw_args",
    "vect.ngram_range": "vect__ngram_range",
    "vect.min_df": "vect__min_df",
    "tfidf.sublinear_tf": "tfidf__sublinear_tf",
    "clf.learning_rate": "clf__learning_rate",
    "clf.max_depth": "clf__max_depth",
}


def compose_messages(rows, subject_weight):
    """Triage's TextComposer.compose: the subject `subject_weight` times, then the body, one a line."""
    out = []
    for subject, body in rows:
        parts = [subject] * subject_weight if subject and subject_weight > 0 else []
        if body or not parts:
            parts.append(body)
        out.append("\n".join(parts))
    return out


class PicklableTokenizer:
    """make_tokenizer's tokenizer as an object GridSearchCV can send to its worker processes
    (PyStemmer objects cannot be pickled: each process builds its own)."""

    def __init__(self, stop_words, stemmer_name):
        self.stop_words, self.stemmer_name, self._tokenize = stop_words, stemmer_name, None

    def __getstate__(self):
        return {"stop_words": self.stop_words, "stemmer_name": self.stemmer_name}

    def __setstate__(self, state):
        self.__init__(state["stop_words"], state["stemmer_name"])

    def __call__(self, doc):
        if self._tokenize is None:
            self._tokenize = make_tokenizer(self.stop_words, self.stemmer_name)
        return self._tokenize(doc)


def cmd_search(args):
    """GridSearchCV (3-fold stratified, accuracy) over every candidate of a grid file (see
    `sample-grid` for a seeded sample of a large one).

    The pipeline is the talk's: subject weighting -> CountVectorizer (stop words, then Snowball
    stems: Triage's tokenizer) -> TfidfTransformer -> GradientBoostingClassifier. Every
    candidate re-tokenises and re-vectorises each fold, as GridSearchCV does: the time per fit
    extrapolates to a whole grid."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    with open(args.grid, "r", encoding="utf-8") as f:
        grid = json.load(f)
    unknown = sorted({k for g in (grid if isinstance(grid, list) else [grid]) for k in g} - set(SEARCH_NAMES))
    if unknown:
        sys.exit(f"bench_peers: {args.grid}: parameters without a scikit-learn equivalent here: {unknown}")
    rows, labels = [], []
    with open_corpus(args.data) as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            rows.append((row[1], row[2]))
            labels.append(row[3])
    stop_words = load_stop_words(args.stop_file)

    def translate(name, value):
        if name == "text.subject_weight":
            return {"subject_weight": value}
        if name == "vect.ngram_range":
            return tuple(value)
        return value

    # A grid is a dict of lists or a list of them (scikit-learn's param_grid; the sampled grids
    # of `sample-grid` are lists of single-valued dicts).
    grids = grid if isinstance(grid, list) else [grid]
    param_grid = [{SEARCH_NAMES[k]: [translate(k, v) for v in vs] for k, vs in g.items()} for g in grids]
    total = len(ParameterGrid(param_grid))
    pipeline = Pipeline([
        ("text", FunctionTransformer(compose_messages, kw_args={"subject_weight": 1})),
        ("vect", CountVectorizer(tokenizer=PicklableTokenizer(stop_words, "english"), token_pattern=None, lowercase=True)),
        ("tfidf", TfidfTransformer()),
        ("clf", GradientBoostingClassifier(n_estimators=args.n_estimators, random_state=0)),
    ])
    search = GridSearchCV(pipeline, param_grid, cv=StratifiedKFold(args.cv, shuffle=True, random_state=0),
                          scoring="accuracy", n_jobs=args.jobs, refit=False)
    gc.collect()
    start = time.perf_counter()
    search.fit(rows, labels)
    seconds = time.perf_counter() - start
    fits = total * args.cv
    print(json.dumps({
        "benchmark": "search", "implementation": "scikit-learn GridSearchCV", "data": args.data,
        "candidates": total, "folds": args.cv, "fits": fits, "n_jobs": args.jobs,
        "n_estimators": args.n_estimators, "seconds": [seconds], "seconds_per_fit_wall": seconds / fits,
        "best_score": float(search.best_score_),
    }))


def cmd_accuracy(args):
    """scikit-learn's best linear pipeline for short messages (issue 9's reference): TF-IDF word
    1-2-grams + char_wb 2-5-grams (both sublinear) side by side -> LogisticRegression. Times the
    fit (vectorizers included); reports test accuracy and macro-F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import Pipeline

    x_train, y_train = load_labelled(args.train)
    x_test, y_test = load_labelled(args.test)
    pipeline = Pipeline([("union", linear_features()), ("clf", LogisticRegression(C=args.C, max_iter=args.max_iter))])
    gc.collect()
    start = time.perf_counter()
    pipeline.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    predicted = pipeline.predict(x_test)
    print(json.dumps({
        "benchmark": "accuracy", "implementation": "scikit-learn word+char_wb TF-IDF LogisticRegression",
        "train": args.train, "test": args.test, "C": args.C, "seconds": [seconds],
        "accuracy": float(accuracy_score(y_test, predicted)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro")),
        "features": int(len(pipeline.named_steps["union"].get_feature_names_out())),
        "test_messages": len(y_test),
    }))


def load_labelled(path):
    """Texts (subject + "\\n" + body, as Triage's TextComposer with subject_weight 1) and labels."""
    texts, labels = [], []
    with open_corpus(path) as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            texts.append("\n".join(part for part in (row[1], row[2]) if part))
            labels.append(row[3])
    return texts, labels


def linear_features(word_min_df=1, char_min_df=1):
    """The feature union of cmd_accuracy: scikit-learn's best linear features for short messages
    (min_df 1 unless given)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=word_min_df)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=char_min_df)),
    ])


def linear_classifier(args):
    """The scikit-learn estimator --model names, with --C / --alpha (defaults: the suite's settings)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import ComplementNB, MultinomialNB
    from sklearn.svm import LinearSVC

    if args.model == "lr":
        clf = LogisticRegression(C=args.C if args.C is not None else 10.0, max_iter=args.max_iter, tol=args.tol)
    elif args.model == "svc":
        clf = LinearSVC(C=args.C if args.C is not None else 1.0, random_state=0)
    elif args.model == "mnb":
        clf = MultinomialNB(alpha=args.alpha if args.alpha is not None else 0.01)
    else:
        clf = ComplementNB(alpha=args.alpha if args.alpha is not None else 0.3)
    return clf


def cmd_linear(args):
    """scikit-learn's linear classifiers on the word + char_wb TF-IDF union (issue 9's
    comparison with `triage-bench linear`)."""
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import Pipeline

    x_train, y_train = load_labelled(args.train)
    x_test, y_test = load_labelled(args.test)
    fit_seconds, predict_seconds = [], []
    pipeline = None
    for rep in range(args.repeat):
        pipeline = None  # free the previous model before the next fit (not timed)
        gc.collect()
        pipeline = Pipeline([("union", linear_features(args.word_min_df, args.char_min_df)), ("clf", linear_classifier(args))])
        start = time.perf_counter()
        pipeline.fit(x_train, y_train)
        fit_seconds.append(time.perf_counter() - start)
        print(f"bench_peers: linear {args.model} fit {rep + 1}/{args.repeat}: {fit_seconds[-1]:.3f} s",
              file=sys.stderr)
    predicted = None
    for rep in range(args.repeat):
        gc.collect()
        start = time.perf_counter()
        predicted = pipeline.predict(x_test)
        predict_seconds.append(time.perf_counter() - start)
        print(f"bench_peers: linear {args.model} predict {rep + 1}/{args.repeat}: "
              f"{predict_seconds[-1]:.3f} s", file=sys.stderr)
    clf = pipeline.named_steps["clf"]
    n_iter = getattr(clf, "n_iter_", None)
    iterations = int(np.max(n_iter)) if n_iter is not None else None
    max_iter = clf.get_params().get("max_iter")
    print(json.dumps({
        "benchmark": "linear", "implementation": "scikit-learn", "model": args.model,
        "classifier": type(clf).__name__, "train": args.train, "test": args.test,
        "train_messages": len(y_train), "test_messages": len(y_test), "classes": int(len(clf.classes_)),
        "features": int(len(pipeline.named_steps["union"].get_feature_names_out())),
        "iterations": iterations,
        "converged": (iterations < max_iter) if iterations is not None and max_iter else None,
        "threads": 1,
        "accuracy": float(accuracy_score(y_test, predicted)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro")),
        "seconds": fit_seconds, "predict_seconds": predict_seconds,
        "params": {k: v for k, v in clf.get_params().items() if isinstance(v, (int, float, str, bool, type(None)))},
    }))


def largest_coverage_threshold(confidence, right, precision):
    """Triage's rule (ConfidencePolicy.choose): messages sorted most confident first (ties in input
    order); the largest cut, never between two equal confidences, whose accepted messages are at
    least `precision` right; the threshold is the confidence of the last one accepted. None when
    no cut reaches it."""
    import numpy as np

    order = sorted(range(len(confidence)), key=lambda i: (-confidence[i], i))
    c = np.asarray(confidence)[order]
    r = np.cumsum(np.asarray(right)[order])
    for k in range(len(c), 0, -1):
        if (k == len(c) or c[k - 1] > c[k]) and r[k - 1] >= precision * k - 1e-9:
            return float(c[k - 1])
    return None


def open_set_metrics(p_in, truth, p_out, threshold, class_count):
    """OpenSetReport's definitions (Sources/TriageModel/Confidence/OpenSetReport.swift)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    best_in, conf_in = p_in.argmax(1), p_in.max(1)
    best_out, conf_out = p_out.argmax(1), p_out.max(1)
    routed_in, routed_out = conf_in >= threshold, conf_out >= threshold
    open_class = class_count
    answers = np.concatenate([np.where(routed_in, best_in, open_class), np.where(routed_out, best_out, open_class)])
    truths = np.concatenate([truth, np.full(len(p_out), open_class)])
    f1s = []
    for c in range(class_count + 1):
        actual = int((truths == c).sum())
        if actual == 0:
            continue
        tp = int(((answers == c) & (truths == c)).sum())
        f1s.append(2 * tp / (int((answers == c).sum()) + actual))
    not_routed = int((~routed_in).sum() + (~routed_out).sum())
    return {
        "in_scope_accuracy": float((routed_in & (best_in == truth)).mean()),
        "closed_accuracy": float((best_in == truth).mean()),
        "oos_recall": float((~routed_out).mean()),
        "oos_precision": float((~routed_out).sum() / not_routed) if not_routed else 0.0,
        "macro_f1_known_and_open": float(np.mean(f1s)),
        "auroc": float(roc_auc_score(np.r_[np.ones(len(conf_in)), np.zeros(len(conf_out))], np.r_[conf_in, conf_out])),
        "threshold": threshold,
        # Per message, for comparisons at a matched in-scope accuracy (scripts/bench-confidence).
        "scores": {"in_confidence": conf_in.tolist(), "in_right": (best_in == truth).tolist(), "out_confidence": conf_out.tolist()},
    }


def cmd_openset(args):
    """The open-set protocol (issue 27): scikit-learn's LogisticRegression on word 1-2 + char_wb
    2-5 TF-IDF trained on the known intents; its maximum probability thresholded by Triage's rule
    (the largest coverage at --target-precision on 5-fold out-of-fold predictions of the training
    data), then scored on the known and unknown intents' test messages."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import Pipeline

    x_train, y_train = load_labelled(args.train)
    x_in, y_in = load_labelled(args.test_known)
    x_out, _ = load_labelled(args.test_unknown)
    pipeline = Pipeline([("union", linear_features()), ("clf", LogisticRegression(C=args.C, max_iter=1000))])
    start = time.perf_counter()
    oof = cross_val_predict(pipeline, x_train, y_train, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    pipeline.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    classes = list(pipeline.named_steps["clf"].classes_)
    index = {c: i for i, c in enumerate(classes)}
    y_index = np.array([index[y] for y in y_train])
    threshold = largest_coverage_threshold(oof.max(1), oof.argmax(1) == y_index, args.target_precision)
    result = open_set_metrics(pipeline.predict_proba(x_in), np.array([index[y] for y in y_in]), pipeline.predict_proba(x_out),
                              threshold if threshold is not None else 0.0, len(classes))
    print(json.dumps({"benchmark": "openset", "implementation": "scikit-learn LogisticRegression", "C": args.C,
                      "target_precision": args.target_precision, "train_messages": len(y_train), "classes": len(classes),
                      "seconds": seconds, **result}))


def cmd_labelaudit(args):
    """The label audit (issue 28): scikit-learn's LogisticRegression (C 30) on word 1-2 + char_wb
    2-5 TF-IDF, 5-fold out-of-fold probabilities (stratified, shuffled, seed 0), given to
    cleanlab's find_label_issues with its defaults (prune by noise rate), ranked by self-confidence.
    Prints the flagged rows' ids in rank order."""
    import numpy as np
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import Pipeline

    texts, labels = load_labelled(args.data)
    with open_corpus(args.data) as f:
        reader = csv.reader(f)
        next(reader, None)
        ids = [row[0] for row in reader]
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    pipeline = Pipeline([("union", linear_features()), ("clf", LogisticRegression(C=args.C, max_iter=1000))])
    start = time.perf_counter()
    oof = cross_val_predict(pipeline, texts, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    predicted = time.perf_counter()
    ranked = find_label_issues(labels=y, pred_probs=oof, return_indices_ranked_by="self_confidence")
    done = time.perf_counter()
    import cleanlab
    print(json.dumps({"benchmark": "labelaudit", "implementation": f"scikit-learn LogisticRegression + cleanlab {cleanlab.__version__}",
                      "C": args.C, "rows": len(ids), "seconds_out_of_fold": predicted - start, "seconds_audit": done - predicted,
                      "flagged": [ids[i] for i in ranked]}))


def cmd_modelfile(args):
    """The model-file comparison (issue 26): scikit-learn's LogisticRegression on Triage's
    recommended features (TF-IDF word 1-2-grams + char_wb 1-5-grams, both sublinear, min_df 1),
    fitted once and pickled (protocol 5) to --out: its size and test accuracy. The pickle's size
    depends on the shapes only (float64 coefficients, the vocabularies, the idf), not on
    --max-iter."""
    import pickle
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.pipeline import FeatureUnion, Pipeline

    x_train, y_train = load_labelled(args.train)
    x_test, y_test = load_labelled(args.test)
    union = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True)),
    ])
    pipeline = Pipeline([("union", union), ("clf", LogisticRegression(C=args.C, max_iter=args.max_iter))])
    start = time.perf_counter()
    pipeline.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = float(accuracy_score(y_test, pipeline.predict(x_test)))
    with open(args.out, "wb") as f:
        pickle.dump(pipeline, f, protocol=5)
    print(json.dumps({
        "benchmark": "modelfile", "implementation": "scikit-learn LogisticRegression, pickle protocol 5",
        "train": args.train, "test": args.test, "C": args.C, "max_iter": args.max_iter, "seconds": [seconds],
        "accuracy": accuracy, "bytes": os.path.getsize(args.out), "path": args.out,
        "features": int(len(pipeline.named_steps["union"].get_feature_names_out())),
    }))


def cmd_unpickle(args):
    """Loads a pickled pipeline (what a Flask server does at start): seconds and peak RSS."""
    import pickle
    start = time.perf_counter()
    with open(args.path, "rb") as f:
        pickle.load(f)
    seconds = time.perf_counter() - start
    print(json.dumps({"benchmark": "unpickle", "path": args.path, "seconds": [seconds], "peak_rss_mb": peak_rss_mb()}))


def cmd_sample_grid(args):
    """Writes a seeded sample of a grid's candidates as a list of single-valued dicts (Triage's
    names), so that Triage and scikit-learn can run exactly the same candidates."""
    import random
    from sklearn.model_selection import ParameterGrid

    with open(args.grid, "r", encoding="utf-8") as f:
        grid = json.load(f)
    candidates = list(ParameterGrid({k: [json.dumps(v) for v in vs] for k, vs in grid.items()}))
    chosen = sorted(random.Random(args.seed).sample(range(len(candidates)), min(args.sample, len(candidates))))
    sample = [{k: [json.loads(v)] for k, v in candidates[i].items()} for i in chosen]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(sample, f, indent=1)
    print(json.dumps({"grid_candidates": len(candidates), "sampled": chosen, "out": args.out}))


def load_stop_words(path):
    """The stop words of a list file (one word a line, stopwords/README.md)."""
    with open(path, "r", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def parse_min_df(value):
    """scikit-learn semantics: an integer is a document count, a float a proportion."""
    return float(value) if any(c in value for c in ".eE") else int(value)


# ---------------------------------------------------------------------------------------
# vectorize
# ---------------------------------------------------------------------------------------

def make_tokenizer(stop_words, stemmer_name):
    """The tokenizer handed to CountVectorizer, in Triage's order.

    scikit-learn has already lower-cased the document. Then: tokens by TOKEN_PATTERN,
    drop stop words, stem the remaining tokens with PyStemmer (one C call per document;
    PyStemmer keeps its own cache of recent stems). The stop words are matched before
    stemming, as in Triage, which is why they cannot be given to CountVectorizer's own
    `stop_words` (it filters after the tokenizer, i.e. after stemming).
    """
    findall = re.compile(TOKEN_PATTERN).findall
    if stemmer_name is None:
        if not stop_words:
            return findall
        return lambda doc: [t for t in findall(doc) if t not in stop_words]

    import Stemmer  # PyStemmer

    stem_words = Stemmer.Stemmer(stemmer_name).stemWords
    if not stop_words:
        return lambda doc: stem_words(findall(doc))
    return lambda doc: stem_words([t for t in findall(doc) if t not in stop_words])


def cmd_vectorize(args):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    texts = load_texts(args.data)
    n_bytes = sum(len(text.encode("utf-8")) for text in texts)
    stop_words = load_stop_words(args.stop_file) if args.stop_file else frozenset()
    stemmer = None if args.stemmer in (None, "none") else args.stemmer
    make_tokenizer(stop_words, stemmer)  # fail early on an unknown stemmer (not timed)

    seconds = []
    vocabulary = nnz = None
    for rep in range(args.repeat):
        gc.collect()  # start every repetition from the same heap state (not timed)
        start = time.perf_counter()
        # A new tokenizer (and PyStemmer object, whose stem cache starts empty) per
        # repetition: every repetition is a cold fit, as in a real training run.
        counts = CountVectorizer(
            tokenizer=make_tokenizer(stop_words, stemmer),
            token_pattern=None,
            lowercase=True,
            ngram_range=(1, args.ngram_max),
            min_df=args.min_df,
        )
        x_counts = counts.fit_transform(texts)
        x_tfidf = TfidfTransformer(sublinear_tf=args.sublinear).fit_transform(x_counts)
        elapsed = time.perf_counter() - start
        seconds.append(elapsed)
        vocabulary, nnz = len(counts.vocabulary_), int(x_tfidf.nnz)
        print(f"bench_peers: vectorize {args.data} ngram (1,{args.ngram_max}) "
              f"run {rep + 1}/{args.repeat}: {elapsed:.3f} s", file=sys.stderr)
        del counts, x_counts, x_tfidf

    versions = installed_versions()
    result = {
        "benchmark": "vectorize",
        "implementation": (f"scikit-learn {versions['scikit-learn']} "
                           f"CountVectorizer+TfidfTransformer, PyStemmer {versions['PyStemmer']}"),
        "data": args.data,
        "documents": len(texts),
        "bytes": n_bytes,
        "ngram_range": [1, args.ngram_max],
        "vocabulary": vocabulary,
        "nnz": nnz,
        "threads": 1,
        "seconds": seconds,
        # Extra keys (triage-bench does not print them): the settings actually used.
        "stop_words": len(stop_words),
        "stemmer": stemmer,
        "sublinear_tf": args.sublinear,
        "min_df": args.min_df,
        "median_seconds": statistics.median(seconds),
    }
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------
# boost
# ---------------------------------------------------------------------------------------

# Probabilities are clipped from below at this value in log losses, as in triage-bench.
LOG_LOSS_EPS = 1e-15


def log_loss(proba, truth):
    """Mean log loss with triage-bench's definition (`scores` in TriageBench.swift).

    -log(max(p[true class], 1e-15)) averaged over ALL test rows; a row whose label is -1 (a
    class unseen in training) counts p = 0, i.e. the clipped maximum 34.54, and stays in the
    denominator. No upper clip, no renormalisation.
    """
    import numpy as np

    n = len(truth)
    seen = truth >= 0
    p_true = np.zeros(n)
    p_true[seen] = proba[np.arange(n)[seen], truth[seen]]
    return float(-np.log(np.maximum(p_true, LOG_LOSS_EPS)).sum() / n)


def metrics(proba, truth, class_count):
    """(accuracy, macro-F1, log loss) exactly as triage-bench's `scores`.

    Prediction = the first class of highest probability (np.argmax, Triage's strict `>` scan).
    A row labelled -1 is always wrong and counts a false positive for its predicted class (no
    false negative: it has no class). Macro-F1 averages F1 = 2tp / (2tp + fp + fn) over the
    `class_count` training classes, 0 for a class with 2tp + fp + fn = 0.
    """
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.int64)
    predicted = np.argmax(proba, axis=1)
    correct = predicted == truth
    tp = np.bincount(truth[correct], minlength=class_count)
    fp = np.bincount(predicted[~correct], minlength=class_count)
    fn = np.bincount(truth[~correct & (truth >= 0)], minlength=class_count)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2.0 * tp, denominator, out=np.zeros(class_count), where=denominator > 0)
    return float(correct.mean()), float(f1.sum() / class_count), log_loss(proba, truth)


def softmax_rows(scores):
    import numpy as np

    z = scores - scores.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def load_features(directory):
    """(x_train, y_train, x_test, y_test, meta) from what `triage-bench features` wrote."""
    import numpy as np
    from sklearn.datasets import load_svmlight_file

    with open(f"{directory}/meta.json", encoding="utf-8") as f:
        meta = json.load(f)
    data = []
    for name in ("train", "test"):
        x, y = load_svmlight_file(f"{directory}/{name}.svm", n_features=meta["features"],
                                  dtype=np.float64, zero_based=True)
        data += [x.tocsr(), y.astype(np.int64)]
    x_train, y_train, x_test, y_test = data
    k = len(meta["classes"])
    if y_train.min() < 0 or y_train.max() >= k:
        sys.exit(f"bench_peers: {directory}/train.svm: labels outside 0..{k - 1}")
    if len(np.unique(y_train)) != k:
        sys.exit(f"bench_peers: {directory}/train.svm: not every one of the {k} classes occurs")
    return x_train, y_train, x_test, y_test, meta


class SklearnGBC:
    """scikit-learn GradientBoostingClassifier: exact (sorted) splits, one thread."""
    name = "sklearn-gbc"

    def __init__(self, params, class_count, threads):
        self.params = {"random_state": 0, **params}
        self.threads = 1  # GradientBoostingClassifier has no n_jobs: always one core

    def implementation(self, versions):
        return f"scikit-learn {versions['scikit-learn']} GradientBoostingClassifier"

    def fit(self, x, y):
        from sklearn.ensemble import GradientBoostingClassifier
        return GradientBoostingClassifier(**self.params).fit(x, y)

    def rounds(self, model):
        return int(model.n_estimators_)

    def settings(self, model):
        return model.get_params()

    def predict_proba(self, model, x):
        return model.predict_proba(x)

    def staged_proba(self, model, x):
        yield from model.staged_predict_proba(x)


class XGBoostPeer:
    """xgboost.train, tree_method hist, multi:softprob (native API)."""
    name = "xgboost"

    def __init__(self, params, class_count, threads):
        params = dict(params)
        self.rounds_wanted = int(params.pop("n_estimators", 100))
        self.threads = threads
        self.params = {"objective": "multi:softprob", "num_class": class_count,
                       "tree_method": "hist", "nthread": threads, "seed": 0, **params}

    def implementation(self, versions):
        return f"XGBoost {versions['xgboost']} (xgboost.train, hist)"

    def fit(self, x, y):
        import xgboost
        # A new DMatrix per fit: XGBoost caches the quantile sketch on it, which a second fit
        # on the same DMatrix would skip. Absent (zero) entries of a CSR matrix are "missing"
        # for XGBoost, sent down a learned default branch: on non-negative TF-IDF values that
        # is the same partition as zero sorting below every non-zero.
        train = xgboost.DMatrix(x, label=y, nthread=self.threads)
        return xgboost.train(self.params, train, num_boost_round=self.rounds_wanted)

    def rounds(self, model):
        return int(model.num_boosted_rounds())

    def settings(self, model):
        return {**self.params, "num_boost_round": self.rounds_wanted}

    def predict_proba(self, model, x):
        import xgboost
        return model.predict(xgboost.DMatrix(x, nthread=self.threads)).astype("float64")

    def staged_proba(self, model, x):
        import numpy as np
        import xgboost
        # Raw scores after round r = base score + trees of rounds < r. Each round's trees are
        # predicted alone with a zero base margin (which replaces the base score), summed in
        # float64; the base score is what the full model adds on top of all of them.
        data = xgboost.DMatrix(x, nthread=self.threads)
        zero = xgboost.DMatrix(x, nthread=self.threads,
                               base_margin=np.zeros((x.shape[0], self.params["num_class"])))
        rounds = self.rounds(model)
        steps = [model.predict(zero, output_margin=True, iteration_range=(r, r + 1)).astype("float64")
                 for r in range(rounds)]
        base = model.predict(data, output_margin=True).astype("float64") - sum(steps)
        scores = base
        for step in steps:
            scores = scores + step
            yield softmax_rows(scores.copy())


class LightGBMPeer:
    """lightgbm.train, objective multiclass (native API)."""
    name = "lightgbm"

    def __init__(self, params, class_count, threads):
        params = dict(params)
        self.rounds_wanted = int(params.pop("n_estimators", 100))
        self.threads = threads
        self.params = {"objective": "multiclass", "num_class": class_count, "verbose": -1,
                       "num_threads": threads, "seed": 0, "deterministic": True,
                       "force_row_wise": True, **params}

    def implementation(self, versions):
        return f"LightGBM {versions['lightgbm']} (lightgbm.train)"

    def fit(self, x, y):
        import lightgbm
        # A new Dataset per fit: lightgbm.train bins it (Dataset construction) and a
        # constructed Dataset would skip that on the next fit.
        train = lightgbm.Dataset(x, label=y, free_raw_data=True)
        return lightgbm.train(self.params, train, num_boost_round=self.rounds_wanted)

    def rounds(self, model):
        return int(model.current_iteration())

    def settings(self, model):
        return {**self.params, "num_boost_round": self.rounds_wanted}

    def predict_proba(self, model, x):
        return model.predict(x, num_threads=self.threads)

    def staged_proba(self, model, x):
        # Raw scores round by round: LightGBM folds the initial score (boost_from_average)
        # into the first round's trees, so the rounds' raw scores add up to the model's.
        scores = None
        for r in range(self.rounds(model)):
            step = model.predict(x, start_iteration=r, num_iteration=1, raw_score=True,
                                 num_threads=self.threads)
            scores = step if scores is None else scores + step
            yield softmax_rows(scores.copy())


BOOST_MODELS = {m.name: m for m in (SklearnGBC, XGBoostPeer, LightGBMPeer)}


def cmd_boost(args):
    import numpy as np

    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as error:
        sys.exit(f"bench_peers: --params is not JSON: {error}")
    if not isinstance(params, dict):
        sys.exit("bench_peers: --params must be a JSON object")
    x_train, y_train, x_test, y_test, meta = load_features(args.features)
    class_count = len(meta["classes"])
    peer = BOOST_MODELS[args.model](params, class_count, args.threads)

    seconds = []
    model = None
    for rep in range(args.repeat):
        model = None  # free the previous model before the next fit (not timed)
        gc.collect()
        start = time.perf_counter()
        model = peer.fit(x_train, y_train)
        elapsed = time.perf_counter() - start
        seconds.append(elapsed)
        print(f"bench_peers: boost {args.model} {args.features} run {rep + 1}/{args.repeat}: "
              f"{elapsed:.3f} s", file=sys.stderr)

    proba = np.asarray(peer.predict_proba(model, x_test), dtype=np.float64)
    if proba.shape != (x_test.shape[0], class_count):
        sys.exit(f"bench_peers: predicted probabilities have shape {proba.shape}, "
                 f"expected {(x_test.shape[0], class_count)}")
    accuracy, macro_f1, test_log_loss = metrics(proba, y_test, class_count)
    versions = installed_versions()
    result = {
        "benchmark": "boost",
        "implementation": peer.implementation(versions),
        "model": args.model,
        "data": args.features,
        "train_documents": int(x_train.shape[0]),
        "test_documents": int(x_test.shape[0]),
        "features": int(x_train.shape[1]),
        "classes": class_count,
        "rounds": peer.rounds(model),
        "threads": peer.threads,
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "log_loss": test_log_loss,
        "peak_rss_mb": peak_rss_mb(),
        "seconds": seconds,
        "params": peer.settings(model),
        "median_seconds": statistics.median(seconds),
    }
    if args.curve:
        result["test_log_loss_by_round"] = [log_loss(p, y_test) for p in peer.staged_proba(model, x_test)]
        last = result["test_log_loss_by_round"][-1] if result["test_log_loss_by_round"] else None
        if last is not None and abs(last - test_log_loss) > 1e-6 * max(1.0, test_log_loss):
            print(f"bench_peers: warning: the curve ends at {last} but the model's log loss is "
                  f"{test_log_loss}", file=sys.stderr)
    print(json.dumps(result, default=str))


def cmd_versions(_args):
    print(json.dumps(installed_versions()))


# ---------------------------------------------------------------------------------------

def positive_int(value):
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return n


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bench_peers.py", description="Python peers of Triage's benchmarks (JSON on stdout).")
    sub = parser.add_subparsers(dest="command", required=True)

    vec = sub.add_parser("vectorize", help="scikit-learn CountVectorizer + TfidfTransformer")
    vec.add_argument("--data", required=True, help="corpus CSV (.csv or .csv.gz)")
    vec.add_argument("--ngram-max", type=positive_int, required=True, help="ngram_range=(1, N)")
    vec.add_argument("--stop-file", help="stop-word list, one word a line (e.g. stopwords/english.txt)")
    vec.add_argument("--stemmer", default="english",
                     help="PyStemmer algorithm applied after stop words (default english; 'none' to disable)")
    vec.add_argument("--sublinear", action="store_true", help="TfidfTransformer(sublinear_tf=True)")
    vec.add_argument("--min-df", type=parse_min_df, default=1,
                     help="CountVectorizer min_df: integer count or float proportion (default 1)")
    vec.add_argument("--repeat", type=positive_int, required=True, help="timed repetitions")
    vec.set_defaults(func=cmd_vectorize)

    boo = sub.add_parser("boost", help="gradient-boosted trees (scikit-learn, XGBoost, LightGBM)")
    boo.add_argument("--features", required=True,
                     help="directory written by `triage-bench features` (train.svm, test.svm, meta.json)")
    boo.add_argument("--model", required=True, choices=sorted(BOOST_MODELS))
    boo.add_argument("--params", default="{}",
                     help="JSON object of the library's own parameter names; n_estimators = rounds "
                          "for every model")
    boo.add_argument("--repeat", type=positive_int, required=True, help="timed fits")
    boo.add_argument("--threads", type=positive_int, default=len(os.sched_getaffinity(0)),
                     help="XGBoost nthread / LightGBM num_threads (default: every core); "
                          "scikit-learn's GradientBoostingClassifier always uses one")
    boo.add_argument("--curve", action="store_true",
                     help="also report test_log_loss_by_round (staged prediction, not timed)")
    boo.set_defaults(func=cmd_boost)

    rd = sub.add_parser("read", help="Python's csv module reading a corpus (gzip by extension)")
    rd.add_argument("--data", required=True, help="corpus CSV (.csv or .csv.gz)")
    rd.add_argument("--repeat", type=positive_int, required=True, help="timed repetitions")
    rd.set_defaults(func=cmd_read)

    sea = sub.add_parser("search", help="scikit-learn GridSearchCV on a seeded sample of a grid's candidates")
    sea.add_argument("--data", required=True, help="corpus CSV (.csv or .csv.gz)")
    sea.add_argument("--grid", required=True, help="grid JSON with Triage's parameter names")
    sea.add_argument("--stop-file", required=True, help="stop-word list (stopwords/english.txt)")
    sea.add_argument("--n-estimators", type=positive_int, required=True)
    sea.add_argument("--cv", type=positive_int, default=3)
    sea.add_argument("--jobs", type=positive_int, default=len(os.sched_getaffinity(0)),
                     help="GridSearchCV n_jobs (default: every core)")
    sea.set_defaults(func=cmd_search)

    acc = sub.add_parser("accuracy", help="scikit-learn's best linear pipeline: word + char_wb TF-IDF, LogisticRegression")
    acc.add_argument("--train", required=True)
    acc.add_argument("--test", required=True)
    acc.add_argument("--C", type=float, default=1.0)
    acc.add_argument("--max-iter", type=positive_int, default=1000)
    acc.set_defaults(func=cmd_accuracy)

    la = sub.add_parser("labelaudit", help="cleanlab's find_label_issues on scikit-learn LogisticRegression out-of-fold probabilities")
    la.add_argument("--data", required=True, help="labelled messages (CSV)")
    la.add_argument("--C", type=float, default=30.0)
    la.set_defaults(func=cmd_labelaudit)

    op = sub.add_parser("openset", help="scikit-learn LogisticRegression, max probability thresholded, on an open set")
    op.add_argument("--train", required=True, help="training messages of the known intents")
    op.add_argument("--test-known", required=True, help="test messages of the known intents")
    op.add_argument("--test-unknown", required=True, help="test messages of the other intents")
    op.add_argument("--target-precision", type=float, default=0.95)
    op.add_argument("--C", type=float, default=30.0)
    op.set_defaults(func=cmd_openset)

    mf = sub.add_parser("modelfile", help="scikit-learn LogisticRegression on Triage's recommended features, pickled")
    mf.add_argument("--train", required=True)
    mf.add_argument("--test", required=True)
    mf.add_argument("--out", required=True)
    mf.add_argument("--C", type=float, default=30.0)
    mf.add_argument("--max-iter", type=positive_int, default=100)
    mf.set_defaults(func=cmd_modelfile)

    unp = sub.add_parser("unpickle", help="load a pickled pipeline: seconds and peak RSS")
    unp.add_argument("path")
    unp.set_defaults(func=cmd_unpickle)

    lin = sub.add_parser("linear", help="scikit-learn's linear classifiers on the word + char_wb TF-IDF union")
    lin.add_argument("--train", required=True, help="corpus CSV (.csv or .csv.gz)")
    lin.add_argument("--test", required=True, help="corpus CSV (.csv or .csv.gz)")
    lin.add_argument("--model", required=True, choices=["lr", "svc", "mnb", "cnb"],
                     help="LogisticRegression, LinearSVC, MultinomialNB, ComplementNB")
    lin.add_argument("--C", type=float, help="C of lr (default 10) or svc (default 1)")
    lin.add_argument("--alpha", type=float, help="alpha of mnb (default 0.01) or cnb (default 0.3)")
    lin.add_argument("--max-iter", type=positive_int, default=1000, help="LogisticRegression max_iter")
    lin.add_argument("--tol", type=float, default=1e-4, help="LogisticRegression tol")
    lin.add_argument("--word-min-df", type=positive_int, default=1, help="min_df of the word block")
    lin.add_argument("--char-min-df", type=positive_int, default=1, help="min_df of the char_wb block")
    lin.add_argument("--repeat", type=positive_int, required=True, help="timed fits (and predictions)")
    lin.set_defaults(func=cmd_linear)

    smp = sub.add_parser("sample-grid", help="write a seeded sample of a grid's candidates as a grid")
    smp.add_argument("--grid", required=True)
    smp.add_argument("--sample", type=positive_int, required=True)
    smp.add_argument("--seed", type=int, default=0)
    smp.add_argument("--out", required=True)
    smp.set_defaults(func=cmd_sample_grid)

    ver = sub.add_parser("versions", help="versions of Python and the peer packages")
    ver.set_defaults(func=cmd_versions)
    return parser


def main():
    args = build_parser().parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
