"""The one place that imports ``textclf`` (an import-linter contract holds this).

The active model is loaded lazily, once per process and version, and kept; when the active row changes, the
next call loads the new one. With no active model — or one whose directory cannot be read — every caller gets
``None`` and the platform routes by the responsibility list alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings

import textclf
from textclf import cli as _cli
from textclf.io import file_sha256, read_jsonl

from .models import ClassifierModel

log = logging.getLogger("massline.routing")

ModelError = textclf.ModelError
DataError = textclf.DataError


@dataclass(frozen=True)
class Guess:
    """One prediction: the top label, its calibrated score, and the top three (label, score)."""

    label: str
    score: float
    top: list[tuple[str, float]]


class Loaded:
    """A loaded model: its version and a ``predict(title, detail) -> Guess``."""

    def __init__(self, version: str, clf: Any) -> None:
        self.version = version
        self._clf = clf

    @property
    def labels(self) -> list[str]:
        return list(self._clf.labels)

    def predict(self, title: str, detail: str) -> Guess:
        p = self._clf.predict(title or "", detail or "")
        return Guess(p.label, float(p.score), [(lab, float(s)) for lab, s in p.top])


_lock = threading.Lock()
_cache: dict[str, Loaded] = {}
_failed: set[str] = set()


def models_dir() -> Path:
    return Path(settings.DATA_DIR) / "models"


def active_row() -> ClassifierModel | None:
    return ClassifierModel.objects.filter(active=True).only("version", "path").first()


def active_version() -> str:
    """The active model's version, "" when none (one indexed read; no model is loaded)."""
    return ClassifierModel.objects.filter(active=True).values_list("version", flat=True).first() or ""


def load_dir(path: str | Path) -> Loaded:
    """Load a model directory (raises ``ModelError``)."""
    clf = textclf.Classifier.load(path)
    return Loaded(clf.version, clf)


def active() -> Loaded | None:
    """The active model, loaded (cached per process, keyed by version), or None."""
    row = active_row()
    if row is None:
        return None
    hit = _cache.get(row.version)
    if hit is not None:
        return hit
    if row.version in _failed:
        return None
    with _lock:
        hit = _cache.get(row.version)
        if hit is not None:
            return hit
        try:
            loaded = load_dir(row.path)
        except ModelError as exc:
            log.error("active classifier %s cannot be loaded from %s: %s", row.version, row.path, exc)
            _failed.add(row.version)
            return None
        if loaded.version != row.version:
            log.error("classifier directory %s holds version %s, not the registered %s", row.path, loaded.version,
                      row.version)
            _failed.add(row.version)
            return None
        _cache.clear()  # keep only the active one
        _cache[row.version] = loaded
        return loaded


def invalidate() -> None:
    with _lock:
        _cache.clear()
        _failed.clear()


# --- training, evaluation, the command line ---------------------------------------------------------

def records_from(path: str | Path) -> list[dict[str, Any]]:
    """Labelled records of a JSON-lines file (``title``, ``detail``, ``label``); raises ``DataError``."""
    return read_jsonl(path)


def sha256_of(path: str | Path) -> str:
    return file_sha256(path)


def train(records: Iterable[Mapping[str, Any]], *, seed: int = 0, source: Mapping[str, Any] | None = None) -> Any:
    """Train a classifier; returns the textclf object (save it with ``save``)."""
    return textclf.train(list(records), seed=seed, source=source)


def save(clf: Any, path: str | Path) -> Loaded:
    clf.save(path)
    return Loaded(clf.version, clf)


def metadata(clf_or_loaded: Any) -> dict[str, Any]:
    clf = clf_or_loaded._clf if isinstance(clf_or_loaded, Loaded) else clf_or_loaded
    return dict(clf.metadata)


def evaluate(model: Loaded, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Quality figures of a model on labelled records (no timing): accuracy, macro_f1, per_class, ece…"""
    out = textclf.evaluate(model._clf, records, timing=False)
    return {k: out[k] for k in ("n", "accuracy", "macro_f1", "per_class", "ece", "model_version")}


def cli(argv: list[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """``python -m textclf`` with these arguments (train, evaluate, predict, cv); returns the exit status."""
    return _cli.main(argv, stdin=stdin, stdout=stdout)
