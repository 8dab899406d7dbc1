"""Feature extraction: normalised text → blocks of TF-IDF weighted character n-grams.

A model's features are a list of *blocks*. Each block reads one field (``title`` or ``detail``),
optionally cuts it to its first ``max_chars`` characters, splits it into tokens (character n-grams,
or jieba words when ``analyzer == "words"``), and maps the tokens it knows to columns. Within a block a
message's vector is ``(1 + log tf) * idf``, L2-normalised, then multiplied by the block's ``weight``;
the blocks are laid side by side.

Everything a fitted block needs is its parameters (JSON) plus two arrays (vocabulary, idf), so a
model file can be rebuilt without executing code. Training uses the same code path as prediction
(:meth:`FeatureSpace.transform`), so scores seen during training are the scores served.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

    Counted = list[tuple[list[str], sp.csr_matrix]]

FIELDS = ("title", "detail")
ANALYZERS = ("char", "words")
_WS = re.compile(r"\s+")


def normalize(text: str | None) -> str:
    """NFKC (full-width → half-width), lower case, every run of white space → one space, trimmed."""
    if not text:
        return ""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def char_ngrams(text: str, nmin: int, nmax: int) -> list[str]:
    """All character n-grams of ``text`` with nmin ≤ n ≤ nmax (spaces included, like sklearn's 'char')."""
    out: list[str] = []
    length = len(text)
    for n in range(nmin, nmax + 1):
        out.extend(text[i : i + n] for i in range(length - n + 1))
    return out


_jieba = None


def _get_jieba():  # pragma: no cover - only used by the optional "words" analyzer
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    return _jieba


def words(text: str, nmin: int = 1, nmax: int = 1) -> list[str]:
    """jieba words (no HMM, white space dropped) and, if nmax ≥ 2, word n-grams joined by a space."""
    if not text:
        return []
    toks = [w for w in _get_jieba().lcut(text, HMM=False) if w.strip()]
    out: list[str] = []
    for n in range(nmin, nmax + 1):
        out.extend(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return out


@dataclass(frozen=True)
class BlockSpec:
    """How one block of features is made (everything here is stored in model.json)."""

    name: str
    field: str
    analyzer: str = "char"
    ngram_min: int = 1
    ngram_max: int = 3
    max_chars: int | None = None
    min_df: int = 1
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise ValueError(f"block {self.name!r}: field must be one of {FIELDS}, not {self.field!r}")
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"block {self.name!r}: analyzer must be one of {ANALYZERS}")
        if not (1 <= self.ngram_min <= self.ngram_max <= 8):
            raise ValueError(f"block {self.name!r}: need 1 ≤ ngram_min ≤ ngram_max ≤ 8")
        if self.max_chars is not None and self.max_chars < 1:
            raise ValueError(f"block {self.name!r}: max_chars must be positive or None")
        if self.min_df < 1 or not math.isfinite(self.weight) or self.weight <= 0:
            raise ValueError(f"block {self.name!r}: min_df ≥ 1 and a positive finite weight required")

    def text(self, title: str, detail: str) -> str:
        """The normalised text this block reads (``title``/``detail`` must already be normalised)."""
        s = title if self.field == "title" else detail
        return s[: self.max_chars] if self.max_chars is not None else s

    def tokens(self, text: str) -> list[str]:
        if self.analyzer == "char":
            return char_ngrams(text, self.ngram_min, self.ngram_max)
        return words(text, self.ngram_min, self.ngram_max)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> BlockSpec:
        return cls(**data)


@dataclass
class Block:
    """A fitted block: its spec, vocabulary (term → column, built on first use) and idf."""

    spec: BlockSpec
    terms: list[str]
    idf: np.ndarray
    # column of the training count matrix behind each term (set by fit_from_counts; not stored)
    source_columns: np.ndarray | None = field(default=None, repr=False)

    @cached_property
    def vocab(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.terms)}

    @property
    def size(self) -> int:
        return len(self.terms)


def encode_terms(terms: Sequence[str]) -> np.ndarray:
    """Vocabulary → one uint8 array (UTF-8, joined by newlines; normalised terms never hold one)."""
    for t in terms:
        if "\n" in t or not t:
            raise ValueError(f"term {t!r} cannot be stored")
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8).copy()


def decode_terms(arr: np.ndarray) -> list[str]:
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ValueError("vocabulary array must be 1-D uint8")
    if arr.size == 0:
        return []
    return arr.tobytes().decode("utf-8").split("\n")


class FeatureSpace:
    """The fitted blocks, laid side by side."""

    def __init__(self, blocks: list[Block]):
        self.blocks = blocks
        self.offsets: list[int] = []
        total = 0
        for b in blocks:
            self.offsets.append(total)
            total += b.size
        self.n_features = total

    # ----- fitting (training only) -------------------------------------------------------------
    @staticmethod
    def count(specs: Sequence[BlockSpec], docs: Sequence[tuple[str, str]]) -> Counted:
        """Tokenise every document once. Returns, per block, (terms, CSR count matrix docs × terms).

        Column order is first appearance; :meth:`fit_from_counts` picks and sorts the kept columns.
        """
        import scipy.sparse as sp

        normed = [(normalize(t), normalize(d)) for t, d in docs]
        out = []
        for spec in specs:
            index: dict[str, int] = {}
            indptr = array("q", [0])
            indices = array("q")
            data = array("d")
            for t, d in normed:
                row: dict[int, int] = {}
                for tok in spec.tokens(spec.text(t, d)):
                    j = index.setdefault(tok, len(index))
                    row[j] = row.get(j, 0) + 1
                indices.extend(row.keys())
                data.extend(row.values())
                indptr.append(len(indices))
            mat = sp.csr_matrix(
                (
                    np.frombuffer(data, dtype=np.float64),
                    np.frombuffer(indices, dtype=np.int64),
                    np.frombuffer(indptr, dtype=np.int64),
                ),
                shape=(len(normed), len(index)),
            )
            out.append((list(index), mat))
        return out

    @classmethod
    def fit_from_counts(
        cls, specs: Sequence[BlockSpec], counted: Counted, rows: np.ndarray | None = None
    ) -> tuple[FeatureSpace, sp.csr_matrix]:
        """Fit vocabulary and idf on the given rows of pre-counted documents.

        Returns the feature space and the transformed training matrix (same rows), computed with
        exactly the formula :meth:`transform` uses.
        """
        import scipy.sparse as sp

        blocks: list[Block] = []
        mats = []
        for spec, (terms, counts) in zip(specs, counted, strict=True):
            sub = counts if rows is None else counts[rows]
            n = sub.shape[0]
            df = np.bincount(sub.indices, minlength=sub.shape[1])
            keep = np.flatnonzero(df >= spec.min_df)
            # canonical column order: sorted terms (independent of document order)
            kept_terms = [terms[j] for j in keep]
            order = sorted(range(len(keep)), key=kept_terms.__getitem__)
            keep = keep[order]
            kept_terms = [kept_terms[i] for i in order]
            idf = (np.log((1.0 + n) / (1.0 + df[keep])) + 1.0).astype(np.float64)
            block = Block(spec, kept_terms, idf, source_columns=keep)
            blocks.append(block)
            m = sub[:, keep].tocsr().astype(np.float64)
            mats.append(_weight_rows(m, idf, spec.weight))
        space = cls(blocks)
        return space, sp.hstack(mats, format="csr") if mats else None

    def transform_counted(self, counted: Counted, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """Transform pre-counted documents (from :meth:`count` on the same specs) into this space."""
        import scipy.sparse as sp

        mats = []
        for block, (terms, counts) in zip(self.blocks, counted, strict=True):
            sub = counts if rows is None else counts[rows]
            # map counted columns → this block's columns (-1 when unknown)
            if block.source_columns is not None and len(terms) == counts.shape[1]:
                mapping = np.full(len(terms), -1, dtype=np.int64)
                mapping[block.source_columns] = np.arange(block.size)
            else:
                mapping = np.fromiter(
                    (block.vocab.get(t, -1) for t in terms), dtype=np.int64, count=len(terms)
                )
            sub = sub.tocoo()
            ok = mapping[sub.col] >= 0
            m = sp.csr_matrix(
                (sub.data[ok], (sub.row[ok], mapping[sub.col[ok]])), shape=(sub.shape[0], block.size)
            )
            m.sum_duplicates()
            m.sort_indices()
            mats.append(_weight_rows(m, block.idf, block.spec.weight))
        return sp.hstack(mats, format="csr")

    # ----- prediction ----------------------------------------------------------------------------
    def vector(self, title: str | None, detail: str | None) -> tuple[np.ndarray, np.ndarray]:
        """One message → (column indices, values) of its sparse feature vector (pure numpy)."""
        t, d = normalize(title), normalize(detail)
        idx_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        for block, off in zip(self.blocks, self.offsets, strict=True):
            counts: dict[int, int] = {}
            vocab = block.vocab
            for tok in block.spec.tokens(block.spec.text(t, d)):
                j = vocab.get(tok)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            val = (1.0 + np.log(tf)) * block.idf[idx]
            val *= block.spec.weight / np.sqrt(np.dot(val, val))
            idx_parts.append(idx + off)
            val_parts.append(val)
        if not idx_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return np.concatenate(idx_parts), np.concatenate(val_parts)

    def transform(self, docs: Iterable[tuple[str | None, str | None]]) -> sp.csr_matrix:
        """Many messages → CSR matrix (rows in order)."""
        import scipy.sparse as sp

        indptr = [0]
        idx_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        for title, detail in docs:
            i, v = self.vector(title, detail)
            idx_parts.append(i)
            val_parts.append(v)
            indptr.append(indptr[-1] + len(i))
        indices = np.concatenate(idx_parts) if idx_parts else np.zeros(0, dtype=np.int64)
        data = np.concatenate(val_parts) if val_parts else np.zeros(0)
        return sp.csr_matrix((data, indices, np.asarray(indptr)), shape=(len(indptr) - 1, self.n_features))

    # ----- storage -------------------------------------------------------------------------------
    def to_json(self) -> list[dict]:
        return [{**b.spec.to_json(), "n_features": b.size} for b in self.blocks]

    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i, b in enumerate(self.blocks):
            out[f"vocab_{i}"] = encode_terms(b.terms)
            out[f"idf_{i}"] = b.idf.astype(np.float64)
        return out


def _weight_rows(m, idf: np.ndarray, weight: float):
    """In place on a CSR count matrix: sublinear tf × idf, rows L2-normalised, times ``weight``."""
    m.data = (1.0 + np.log(m.data)) * idf[m.indices]
    lens = np.diff(m.indptr)
    sq = np.bincount(np.repeat(np.arange(m.shape[0]), lens), weights=m.data**2, minlength=m.shape[0])
    norms = np.sqrt(np.where(sq > 0, sq, 1.0))
    m.data *= np.repeat(weight / norms, lens)
    return m
