"""Measuring a classifier: held-out evaluation and (grouped, stratified) cross-validation."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .calibration import ece_from_proba, reliability
from .features import normalize
from .model import Classifier, DataError, TrainConfig, _clean_records, train

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
_NON_WORD = re.compile(r"[\W_]+")


def metrics(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Quality figures of probabilities ``proba`` (n × len(labels)) against true label names."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    labels = list(labels)
    proba = np.asarray(proba, dtype=np.float64)
    pred_idx = proba.argmax(axis=1)
    y_pred = [labels[i] for i in pred_idx]
    y_true = list(y_true)
    all_labels = labels + sorted(set(y_true) - set(labels))  # labels the model does not know: errors
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=all_labels, zero_division=0)
    correct = np.array([a == b for a, b in zip(y_true, y_pred, strict=True)], dtype=np.float64)
    conf = proba.max(axis=1)
    thresholds = []
    for t in THRESHOLDS:
        sel = conf >= t
        thresholds.append(
            {
                "threshold": t,
                "coverage": float(sel.mean()),
                "accuracy": float(correct[sel].mean()) if sel.any() else None,
            }
        )
    return {
        "n": len(y_true),
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(y_true, y_pred, labels=all_labels, average="macro", zero_division=0)),
        "per_class": {lab: float(v) for lab, v in zip(all_labels, f, strict=True)},
        "per_class_detail": {
            lab: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
            for lab, a, b, c, d in zip(all_labels, p, r, f, s, strict=True)
        },
        "confusion": {
            "labels": all_labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=all_labels).tolist(),
            "rows": "true label",
            "columns": "predicted label",
        },
        "ece": float(ece_from_proba_names(proba, y_true, labels)),
        "mean_confidence": float(conf.mean()),
        "reliability": reliability(conf, correct),
        "thresholds": thresholds,
    }


def ece_from_proba_names(proba: np.ndarray, y_true: Sequence[str], labels: Sequence[str]) -> float:
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.array([index.get(v, -1) for v in y_true], dtype=np.int64)
    return ece_from_proba(proba, y)


def evaluate(
    clf: Classifier,
    records: Iterable[Mapping[str, Any]],
    *,
    timing: bool = True,
    latency_sample: int | None = None,
) -> dict[str, Any]:
    """Evaluate a loaded classifier on labelled records.

    Latency: each message classified alone with :meth:`Classifier.predict` (model already loaded),
    in milliseconds. Throughput: :meth:`Classifier.predict_many` over all records, messages/second.
    """
    titles, details, labels = _clean_records(records)
    if not titles:
        raise DataError("no records to evaluate")
    pairs = list(zip(titles, details, strict=True))
    clf.predict(*pairs[0])  # a model fresh from train() builds its vocabulary maps on first use
    t0 = time.perf_counter()
    proba = clf.proba_many(pairs)
    batch_s = time.perf_counter() - t0
    out = metrics(labels, proba, clf.labels)
    out["model_version"] = clf.version
    if timing:
        sample = pairs if latency_sample is None else pairs[:latency_sample]
        for t, d in sample[:20]:  # warm caches
            clf.predict(t, d)
        lat = np.empty(len(sample))
        for i, (t, d) in enumerate(sample):
            s = time.perf_counter_ns()
            clf.predict(t, d)
            lat[i] = (time.perf_counter_ns() - s) / 1e6
        out["latency_ms_p50"] = float(np.percentile(lat, 50))
        out["latency_ms_p99"] = float(np.percentile(lat, 99))
        out["latency_ms_max"] = float(lat.max())
        out["throughput_per_s"] = float(len(pairs) / batch_s) if batch_s > 0 else None
    return out


# --------------------------------------------------------------------------------------------------
# cross-validation
# --------------------------------------------------------------------------------------------------
def duplicate_groups(titles: Sequence[str], details: Sequence[str]) -> np.ndarray:
    """Group ids joining near-duplicate messages, so that cross-validation never splits them.

    Two messages are joined when their titles are equal after normalisation with punctuation and
    spaces removed, or when the first 60 such characters of their details (≥ 30 of them) are equal.
    """
    parent = list(range(len(titles)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    for i, (t, d) in enumerate(zip(titles, details, strict=True)):
        keys = []
        tk = _NON_WORD.sub("", normalize(t))
        if tk:
            keys.append("t:" + tk)
        dk = _NON_WORD.sub("", normalize(d))[:60]
        if len(dk) >= 30:
            keys.append("d:" + dk)
        for k in keys:
            j = seen.setdefault(k, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(len(titles))], dtype=np.int64)


def cross_validate(
    records: Iterable[Mapping[str, Any]],
    *,
    folds: int = 5,
    seed: int = 0,
    config: TrainConfig | None = None,
    group_duplicates: bool = True,
    progress: Any = None,
) -> dict[str, Any]:
    """Stratified k-fold cross-validation of :func:`train` (calibration included, fitted inside each
    training fold only). With ``group_duplicates`` near-duplicates stay in one fold
    (:func:`duplicate_groups`). Returns per-fold and pooled figures."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    recs = [dict(r) for r in records]
    titles, details, labels = _clean_records(recs)
    if folds < 2:
        raise DataError("cross-validation needs at least 2 folds")
    y = np.array(labels)
    if group_duplicates:
        groups = duplicate_groups(titles, details)
        splits = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y, groups)
        n_groups = len(set(groups.tolist()))
    else:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y)
        n_groups = len(y)
    label_list = sorted(set(labels))
    oof = np.zeros((len(y), len(label_list)))
    fold_rows = []
    t_all = time.perf_counter()
    for k, (tr, te) in enumerate(splits):
        t0 = time.perf_counter()
        clf = train([recs[i] for i in tr], seed=seed, config=config)
        train_s = time.perf_counter() - t0
        p = clf.proba_many([(titles[i], details[i]) for i in te])
        # align columns (a label missing from a training fold gets probability 0)
        cols = [label_list.index(lab) for lab in clf.labels]
        oof[np.ix_(te, cols)] = p
        m = metrics(y[te].tolist(), p, clf.labels)
        fold_rows.append(
            {
                "fold": k,
                "n_train": len(tr),
                "n_test": len(te),
                "macro_f1": m["macro_f1"],
                "accuracy": m["accuracy"],
                "ece": m["ece"],
                "train_seconds": round(train_s, 2),
                "temperature": clf.temperature,
            }
        )
        if progress:
            progress(fold_rows[-1])
    f1s = np.array([r["macro_f1"] for r in fold_rows])
    pooled = metrics(labels, oof, label_list)
    return {
        "folds": folds,
        "seed": seed,
        "grouped": group_duplicates,
        "n": len(y),
        "n_groups": n_groups,
        "macro_f1_mean": float(f1s.mean()),
        "macro_f1_std": float(f1s.std()),
        "accuracy_mean": float(np.mean([r["accuracy"] for r in fold_rows])),
        "ece_mean": float(np.mean([r["ece"] for r in fold_rows])),
        "per_fold": fold_rows,
        "pooled": pooled,
        "seconds": round(time.perf_counter() - t_all, 1),
        "config": (config or TrainConfig()).to_json(),
    }
