#!/usr/bin/env python3
"""Writes Tests/TriageModelTests/Fixtures/metrics_parity.json: scikit-learn's classification
metrics on seeded random cases, for TriageModel's ClassificationReport to match.

Run through scripts/gen-fixtures (which pins scikit-learn 1.9.1 in .venv-fixtures/).
Cases include classes never predicted and classes absent from the truth (zero division → 0).
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn import metrics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "Tests", "TriageModelTests", "Fixtures", "metrics_parity.json")


def case(name, rng, n, k, skew, absent_truth=(), never_predicted=()):
    labels = [f"c{i}" for i in range(k)]
    p = np.array([skew ** i for i in range(k)], dtype=float)
    for c in absent_truth:
        p[c] = 0
    p /= p.sum()
    y_true = rng.choice(k, size=n, p=p)
    raw = rng.dirichlet(np.ones(k) * 0.7, size=n)
    raw[np.arange(n), y_true] += rng.uniform(0, 1.2, size=n)      # informative but noisy
    for c in never_predicted:
        raw[:, c] *= 1e-3
    prob = raw / raw.sum(axis=1, keepdims=True)
    y_pred = prob.argmax(axis=1)
    rng_labels = list(range(k))
    report = metrics.classification_report(y_true, y_pred, labels=rng_labels, target_names=labels,
                                           zero_division=0, output_dict=True)
    text = metrics.classification_report(y_true, y_pred, labels=rng_labels, target_names=labels, zero_division=0)
    top = {}
    for kk in (2, 3):
        if kk < k:
            top[str(kk)] = metrics.top_k_accuracy_score(y_true, prob, k=kk, labels=rng_labels)
    present = sorted(set(y_true.tolist()))
    # Confidence: scikit-learn's multiclass Brier score and ROC AUC of the top probability as a
    # score of right vs wrong; ECE (15 equal bins over the top probability, (lo, hi], Guo et al.
    # 2017) has no scikit-learn function and is computed here with numpy.
    confidence = prob.max(axis=1)
    right = (y_pred == y_true)
    bins = np.clip(np.ceil(confidence * 15).astype(int) - 1, 0, 14)
    ece = 0.0
    for b in range(15):
        mask = bins == b
        if mask.any():
            ece += mask.sum() / n * abs(right[mask].mean() - confidence[mask].mean())
    auroc = metrics.roc_auc_score(right, confidence) if 0 < right.sum() < n else None
    return {
        "name": name,
        "labels": labels,
        "truth": y_true.tolist(),
        "predicted": y_pred.tolist(),
        "probabilities": prob.tolist(),
        "expected": {
            "accuracy": metrics.accuracy_score(y_true, y_pred),
            # scikit-learn averages recall over the classes present in y_true.
            "balanced_accuracy": metrics.balanced_accuracy_score(y_true, y_pred),
            "per_class": {lab: {"precision": report[lab]["precision"], "recall": report[lab]["recall"],
                                "f1": report[lab]["f1-score"], "support": int(report[lab]["support"])} for lab in labels},
            "macro": {key: report["macro avg"][key] for key in ("precision", "recall", "f1-score")},
            "weighted": {key: report["weighted avg"][key] for key in ("precision", "recall", "f1-score")},
            "log_loss": metrics.log_loss(y_true, prob, labels=rng_labels),
            "top_k": top,
            "confusion": metrics.confusion_matrix(y_true, y_pred, labels=rng_labels).tolist(),
            "report_text": text,
            "present_classes": present,
            "brier": metrics.brier_score_loss(y_true, prob, labels=rng_labels),
            "ece_15": ece,
            "auroc_right_vs_wrong": auroc,
        },
    }


def main():
    rng = np.random.default_rng(20261123)
    cases = [
        case("balanced_4", rng, 200, 4, 1.0),
        case("skewed_6", rng, 300, 6, 0.6),
        case("never_predicted_5", rng, 150, 5, 0.9, never_predicted=(4,)),
        case("absent_truth_5", rng, 150, 5, 0.9, absent_truth=(3,)),
        case("binary", rng, 120, 2, 0.5),
        case("many_12", rng, 600, 12, 0.85),
    ]
    data = {"generator": "scripts/gen-fixtures (scripts/gen_metric_fixtures.py)",
            "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
            "cases": cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True, indent=1)
        f.write("\n")
    print(f"gen_metric_fixtures: wrote {len(cases)} cases to {os.path.relpath(OUT, REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
