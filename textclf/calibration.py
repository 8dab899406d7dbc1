"""Turning raw scores into probabilities that mean what they say.

The classifier's raw scores (a weighted sum of linear decision functions) are not probabilities.
We use *temperature scaling*: ``p = softmax(scores / T)`` with one scalar ``T`` chosen to minimise
the negative log-likelihood of scores the model produced for messages it had **not** been trained on
(out-of-fold scores from an inner cross-validation). One parameter cannot over-fit a few thousand
messages and it never changes which label ranks first.

The expected calibration error (ECE) measures the result: messages are put in equal-width bins by
their top probability, and ECE is the average, weighted by bin size, of
``|accuracy in bin − mean confidence in bin|``.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BINS = 15


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature`` (numerically stable; rows sum to 1)."""
    z = np.asarray(scores, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll(scores: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels ``y`` (integer indices)."""
    z = np.asarray(scores, dtype=np.float64) / float(temperature)
    m = z.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    return float(np.mean(logsum - z[np.arange(len(y)), y]))


def fit_temperature(scores: np.ndarray, y: np.ndarray, lo: float = 1e-3, hi: float = 1e3) -> float:
    """The temperature minimising :func:`nll` (golden-section search on log T; deterministic)."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if scores.ndim != 2 or len(scores) != len(y) or len(y) == 0:
        raise ValueError("scores must be (n, k) and y (n,) with n > 0")
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(scores, y, np.exp(c)), nll(scores, y, np.exp(d))
    for _ in range(80):  # interval shrinks by 0.618^80: far below any useful precision
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(scores, y, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(scores, y, np.exp(d))
    return float(np.exp((a + b) / 2.0))


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> list[dict]:
    """Per-bin counts, mean confidence and accuracy. Bin i holds confidences in (i/n, (i+1)/n]
    (bin 0 also holds exactly 0)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if confidence.shape != correct.shape or confidence.ndim != 1:
        raise ValueError("confidence and correct must be 1-D and of the same length")
    if np.any((confidence < 0) | (confidence > 1)):
        raise ValueError("confidence must lie in [0, 1]")
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    out = []
    for i in range(n_bins):
        sel = bins == i
        n = int(sel.sum())
        out.append(
            {
                "lo": i / n_bins,
                "hi": (i + 1) / n_bins,
                "n": n,
                "confidence": float(confidence[sel].mean()) if n else None,
                "accuracy": float(correct[sel].mean()) if n else None,
            }
        )
    return out


def ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> float:
    """Expected calibration error of top-label confidences against 0/1 correctness."""
    table = reliability(confidence, correct, n_bins)
    total = sum(b["n"] for b in table)
    if total == 0:
        return 0.0
    return float(sum(b["n"] / total * abs(b["accuracy"] - b["confidence"]) for b in table if b["n"]))


def ece_from_proba(proba: np.ndarray, y: np.ndarray, n_bins: int = DEFAULT_BINS) -> float:
    """ECE of a probability matrix (n, k) against integer labels ``y``."""
    proba = np.asarray(proba, dtype=np.float64)
    return ece(proba.max(axis=1), (proba.argmax(axis=1) == np.asarray(y)).astype(np.float64), n_bins)
