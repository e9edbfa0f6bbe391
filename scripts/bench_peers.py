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
import platform
import re
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
    `subject` when the body is empty: exactly what Triage's MessageText composes with
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

    ver = sub.add_parser("versions", help="versions of Python and the peer packages")
    ver.set_defaults(func=cmd_versions)
    return parser


def main():
    args = build_parser().parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
