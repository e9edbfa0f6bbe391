#!/usr/bin/env python3
"""Writes Tests/TriageLinearTests/Fixtures/linear_parity.json: scikit-learn's linear models
fitted on small seeded sparse datasets, for TriageLinear (ParityTests.swift) to match.

Regenerate (the output is committed; it is byte-identical from one run to the next):

    .venv-bench/bin/python scripts/gen_linear_fixtures.py

with any Python that has scikit-learn 1.9.1 (and numpy 2.4.6, scipy 1.17.1): the
benchmark venv (scripts/bench-requirements.txt) or the fixtures venv of scripts/gen-fixtures.

Datasets (non-negative, CSR, every row non-empty):
  counts4   120 rows × 40 features, density ≈ 0.15, small integer counts, 4 classes
  binary2   100 rows × 30 features, counts, 2 classes (unbalanced, 60/40)
  tfidf3     90 rows × 40 features, smoothed TF-IDF with L2-normalised rows, 3 classes

Models (on each dataset unless noted):
  LogisticRegression  (lbfgs; multinomial, or one logistic column for two classes)
                      C = 1 and C = 10; class_weight="balanced" with C = 1;
                      tol = 1e-10, max_iter = 10000
  LinearSVC           (dual=True: liblinear's L2-loss dual solver; one-vs-rest)
                      C = 1 and C = 0.1; class_weight="balanced" with C = 1;
                      tol = 1e-8, max_iter = 100000
  MultinomialNB       alpha ∈ {1, 0.1} × fit_prior ∈ {True, False} on counts4; (1, True) and
                      (0.1, False) on the others (keeps the file under 300 KB)
  ComplementNB        alpha = 1, norm ∈ {False, True}

Each case records coef (class-major, as scikit-learn's coef_ / feature_log_prob_; one row for
a binary LR or SVC), intercept (intercept_, or class_log_prior_ for MultinomialNB and zeros
for ComplementNB, whose joint log-likelihood has no prior term for ≥ 2 classes), decision
(decision_function, or predict_joint_log_proba for naive Bayes; one value per row when
binary), proba (predict_proba, absent for LinearSVC) and predict (class indices) on the
training rows. Naive Bayes cases leave decision out (predict_joint_log_proba = X·coefᵀ +
intercept, which coef and intercept already pin down; keeps the file small). Floats are rounded
to 12 significant digits.
"""
import json
import os

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.svm import LinearSVC

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "Tests", "TriageLinearTests", "Fixtures", "linear_parity.json")

SEED = 20261201


def r12(v):
    """A float rounded to 12 significant digits (nested lists too)."""
    if isinstance(v, (list, tuple)):
        return [r12(x) for x in v]
    v = float(v)
    return float(f"{v:.12g}")


def make_counts(rng, n, f, k, density, class_p=None):
    """Sparse counts with class signal: each class has a block of favoured features whose
    entries are likelier and larger. Every row has at least one stored value."""
    p = np.full(k, 1.0 / k) if class_p is None else np.asarray(class_p, dtype=float)
    y = rng.choice(k, size=n, p=p)
    # Every class present, in a deterministic way: the first k rows are 0..k-1.
    y[:k] = np.arange(k)
    favoured = np.zeros((k, f), dtype=bool)
    for c in range(k):
        favoured[c, rng.choice(f, size=max(2, f // k), replace=False)] = True
    dense = np.zeros((n, f))
    for i in range(n):
        probs = np.where(favoured[y[i]], density * 2.2, density * 0.6)
        mask = rng.random(f) < probs
        if not mask.any():
            mask[rng.integers(f)] = True
        counts = rng.integers(1, 4, size=f) + favoured[y[i]] * rng.integers(0, 3, size=f)
        dense[i, mask] = counts[mask]
    return sp.csr_matrix(dense), y


def tfidf_rows(x):
    """Smoothed TF-IDF (as TfidfTransformer's defaults), rows scaled to unit L2 norm."""
    n = x.shape[0]
    df = np.bincount(x.indices, minlength=x.shape[1])
    idf = np.log((1 + n) / (1 + df)) + 1
    t = sp.csr_matrix(x.multiply(idf[np.newaxis, :]))
    norms = np.sqrt(np.asarray(t.multiply(t).sum(axis=1)).ravel())
    t = sp.csr_matrix(sp.diags(1 / norms) @ t)
    t.sort_indices()
    return t


def dataset(name, x, y, k):
    x = sp.csr_matrix(x, dtype=np.float64)
    x.sort_indices()
    return {
        "name": name,
        "rows": int(x.shape[0]),
        "columns": int(x.shape[1]),
        "row_offsets": x.indptr.tolist(),
        "column_indices": x.indices.tolist(),
        "values": r12(x.data.tolist()),
        "labels": [int(v) for v in y],
        "class_names": [f"class_{c}" for c in range(k)],
    }


def fitted_case(name, data, x, y, model, params, est):
    est.fit(x, y)
    binary = len(data["class_names"]) == 2
    case = {"name": name, "dataset": data["name"], "model": model, "params": params}
    if model in ("multinomial_nb", "complement_nb"):
        coef = est.feature_log_prob_
        if model == "multinomial_nb":
            intercept = est.class_log_prior_
        else:
            intercept = np.zeros(len(est.classes_))
        decision = None  # see the module docstring
    else:
        coef = est.coef_
        intercept = est.intercept_
        decision = est.decision_function(x)
        case["iterations"] = int(np.max(est.n_iter_))
        if binary:
            assert coef.shape[0] == 1 and decision.ndim == 1
    case["coef"] = r12(np.asarray(coef).tolist())
    case["intercept"] = r12(np.asarray(intercept).ravel().tolist())
    if decision is not None:
        case["decision"] = r12(np.asarray(decision).tolist())
    if hasattr(est, "predict_proba"):
        case["proba"] = r12(est.predict_proba(x).tolist())
    case["predict"] = [int(v) for v in est.predict(x)]
    return case


def cases_for(data, x, y):
    out = []
    d = data["name"]
    for c in (1.0, 10.0):
        out.append(fitted_case(f"{d}/lr_C{c:g}", data, x, y, "logistic_regression", {"C": c},
                               LogisticRegression(C=c, tol=1e-10, max_iter=10000)))
    out.append(fitted_case(f"{d}/lr_C1_balanced", data, x, y, "logistic_regression",
                           {"C": 1.0, "class_weight": "balanced"},
                           LogisticRegression(C=1.0, tol=1e-10, max_iter=10000, class_weight="balanced")))
    for c in (1.0, 0.1):
        out.append(fitted_case(f"{d}/svc_C{c:g}", data, x, y, "linear_svc", {"C": c},
                               LinearSVC(C=c, dual=True, tol=1e-8, max_iter=100000, random_state=0)))
    out.append(fitted_case(f"{d}/svc_C1_balanced", data, x, y, "linear_svc",
                           {"C": 1.0, "class_weight": "balanced"},
                           LinearSVC(C=1.0, dual=True, tol=1e-8, max_iter=100000, random_state=0,
                                     class_weight="balanced")))
    grid = [(1.0, True), (1.0, False), (0.1, True), (0.1, False)] if d == "counts4" else [(1.0, True), (0.1, False)]
    for alpha, prior in grid:
        out.append(fitted_case(f"{d}/mnb_a{alpha:g}_{'prior' if prior else 'uniform'}", data, x, y,
                               "multinomial_nb", {"alpha": alpha, "fit_prior": prior},
                               MultinomialNB(alpha=alpha, fit_prior=prior)))
    for norm in (False, True):
        out.append(fitted_case(f"{d}/cnb_a1{'_norm' if norm else ''}", data, x, y, "complement_nb",
                               {"alpha": 1.0, "norm": norm}, ComplementNB(alpha=1.0, norm=norm)))
    return out


def main():
    rng = np.random.default_rng(SEED)
    datasets, cases = [], []

    x, y = make_counts(rng, 120, 40, 4, 0.15)
    datasets.append(dataset("counts4", x, y, 4))

    xb, yb = make_counts(rng, 100, 30, 2, 0.15, class_p=[0.6, 0.4])
    datasets.append(dataset("binary2", xb, yb, 2))

    xt, yt = make_counts(rng, 90, 40, 3, 0.15)
    datasets.append(dataset("tfidf3", tfidf_rows(xt), yt, 3))

    for data in datasets:
        # Fit on exactly the (rounded) matrix written to the fixture.
        x = sp.csr_matrix((np.asarray(data["values"]), np.asarray(data["column_indices"]),
                           np.asarray(data["row_offsets"])), shape=(data["rows"], data["columns"]))
        y = np.asarray(data["labels"])
        cases += cases_for(data, x, y)

    out = {
        "generator": "scripts/gen_linear_fixtures.py",
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
        "datasets": datasets,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT}: {len(datasets)} datasets, {len(cases)} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
