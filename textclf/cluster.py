"""Hot issues: clusters of similar demands, named by their key terms, ranked by a heat score.

No Django here: the caller hands in :class:`Item` rows (from the database or from a messages file).

Method (see ``docs/hot-issues.md`` for the figures):

1. **Tokens.** jieba words of the title (counted twice: a title states the issue) and of the first
   ``DETAIL_CHARS`` characters of the text, without stop words, punctuation and bare numbers. Identical
   texts are cut once; large inputs are cut on two processes.
2. **Vectors.** TF-IDF with sublinear term frequency; terms in fewer than 2 items or in more than
   ``max_df`` of them are dropped; each vector keeps its ``TOP_TERMS`` heaviest terms and is L2-normalised
   (sparser vectors make the neighbour search cheap and drop the boilerplate of long letters).
3. **Neighbours.** Cosine similarities ≥ ``threshold`` by blocked sparse products ``X[block] · Xᵀ``
   (only pairs sharing a kept term are ever computed), within a group (place × category when given).
4. **Stars, then merge.** Items with the most neighbours become centres first and take their unassigned
   neighbours (every member is similar to its centre: no single-link chaining); stars whose centroids are
   similar (≥ ``merge_threshold``) are merged.
5. **Names.** Key terms by class-based TF-IDF (c-TF-IDF: a term's weight in the cluster × log(1 + average
   cluster size / its frequency over all clusters)); the representative is the member closest to the
   centroid.
6. **Heat** (:func:`heat`): a weighted sum of log volume, growth, people affected, repeats and likes
   (weights in :class:`HeatWeights`).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp

DETAIL_CHARS = 200
TITLE_REPEAT = 2
TOP_TERMS = 24
BLOCK = 1024

STOPWORDS = frozenset(
    """的 了 是 在 我 我们 你 你们 您 他 他们 她 它 和 与 及 以及 或 或者 有 没有 也 都 就 还 而 但 但是 因为 所以 如果
    这个 那个 这 那 这样 那样 这里 那里 一个 什么 怎么 怎么办 如何 请问 问题 反映 关于 希望 请 领导 政府 相关 部门
    能否 是否 可以 能 要 会 对 把 被 让 给 从 到 向 为 以 等 已经 现在 目前 由于 进行 情况 这些 那些 没 不 很 非常
    一些 一下 尊敬 您好 你好 谢谢 感谢 市长 书记 省长 局长 网友 留言 咨询 建议 投诉 举报 要求 解决 处理 之 其 及其
    上 下 中 后 前 里 又 再 并 且 已 将 该 此 每 各 本人 自己 大家 他人 个人 时候 时间 年 月 日 号 多 少 一直 一样 已经
    没有 不是 就是 还是 只是 只有 为什么 怎样 哪里 为了 通过 根据 按照 对于 由 其他 有关 有些 还有 而且 同时 然后 一定
    应该 需要 不能 不会 可能 得到 出现 存在 发现 导致 造成 希望能 能够 帮忙 帮助 恳请 恳求 急需 尽快 及时 立即 一次
    多次 几次 几个 很多 许多 所有 全部 任何 严重 直接 主要 相关 相应 当地 我市 本市 西地省 市民 居民 群众 老百姓
    A市""".split()
)
_KEEP = re.compile(r"[\u4e00-\u9fff]|[a-z]")
_DIGITS = re.compile(r"^[\d.,%:/\-]+$")
_WS = re.compile(r"\s+")
# anonymised place codes ("A市", "A3区", "K9县"): the place is read separately, and jieba would glue the
# character to the next name ("市伊景园")
_PLACE_CODE = re.compile(r"[A-Z]\d{0,2}[市区县]")

log = logging.getLogger("textclf.cluster")


# --------------------------------------------------------------------------------------------------
# tokens
# --------------------------------------------------------------------------------------------------

_jieba = None


def _get_jieba():
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    return _jieba


def normalize(text: str | None) -> str:
    if not text:
        return ""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def words(text: str) -> list[str]:
    """Content words of ``text``: jieba (with its new-word model), stop words, single characters that are
    not letters, punctuation and bare numbers dropped; Latin letters lower-cased ("A3区" → "a3", "区")."""
    out = []
    for w in _get_jieba().lcut(_PLACE_CODE.sub(" ", normalize(text))):
        w = w.strip().lower()
        if len(w) < 2 or w in STOPWORDS or w.upper() in STOPWORDS or _DIGITS.match(w) or not _KEEP.search(w):
            continue
        out.append(w)
    return out


def item_tokens(title: str, text: str, detail_chars: int = DETAIL_CHARS) -> list[str]:
    """The tokens an item is compared by: the title's words ``TITLE_REPEAT`` times, then the text's."""
    t = words(title)
    return t * TITLE_REPEAT + words((text or "")[:detail_chars])


def _tokens_worker(pairs: list[tuple[str, str]]) -> list[list[str]]:
    return [item_tokens(a, b) for a, b in pairs]


def tokenize_all(pairs: Sequence[tuple[str, str]], workers: int = 1) -> list[list[str]]:
    """Tokens of many (title, text) pairs; identical pairs are cut once, ``workers`` > 1 forks processes."""
    unique: dict[tuple[str, str], int] = {}
    order = [unique.setdefault((a or "", (b or "")[:DETAIL_CHARS]), len(unique)) for a, b in pairs]
    keys = list(unique)
    if workers > 1 and len(keys) >= 20000:
        import multiprocessing as mp

        _get_jieba()  # loaded once, shared by the forked workers
        size = math.ceil(len(keys) / (workers * 4))
        chunks = [keys[i : i + size] for i in range(0, len(keys), size)]
        with mp.get_context("fork").Pool(workers) as pool:
            done = [tok for part in pool.map(_tokens_worker, chunks) for tok in part]
    else:
        done = _tokens_worker(keys)
    return [done[i] for i in order]


# --------------------------------------------------------------------------------------------------
# items, clusters, heat
# --------------------------------------------------------------------------------------------------


@dataclass
class Item:
    """One demand or message. ``person``: who raised it ("" when unknown or anonymous — counted as one
    person each); ``people``: how many people it speaks for (a group visit's headcount); ``duplicates``:
    demands merged into it; ``likes``: supporters on a message board."""

    id: str
    title: str
    text: str = ""
    time: datetime | None = None
    person: str = ""
    people: int = 1
    duplicates: int = 0
    likes: int = 0
    place: str = ""
    category: str = ""


@dataclass(frozen=True)
class HeatWeights:
    """heat = volume·ln(1+n) + growth·g + people·ln(1+people) + repeats·ln(1+repeats) + likes·ln(1+likes)

    n: items in the window; g: log2 of (recent daily rate + 1/recent_days) / (earlier daily rate +
    1/earlier_days), clipped to [-2, 3] (the recent period is the last ``recent_share`` of the window);
    people: distinct people affected (a group visit counts its headcount); repeats: items beyond the first
    from the same person plus demands merged in as duplicates; likes: message-board supporters."""

    volume: float = 1.0
    growth: float = 0.5
    people: float = 1.0
    repeats: float = 0.5
    likes: float = 0.5
    recent_share: float = 0.25


@dataclass
class Cluster:
    members: list[int]  # positions in the input
    ids: list[str] = field(default_factory=list)
    size: int = 0
    key_terms: list[tuple[str, float]] = field(default_factory=list)
    representative: str = ""
    representative_title: str = ""
    cohesion: float = 0.0  # mean cosine of the members to the centroid
    place: str = ""
    category: str = ""
    people: int = 0
    repeats: int = 0
    likes: int = 0
    recent: int = 0
    earlier: int = 0
    growth: float = 0.0
    heat: float = 0.0
    first: datetime | None = None
    last: datetime | None = None

    @property
    def name(self) -> str:
        return "·".join(t for t, _ in self.key_terms[:4])

    def as_dict(self) -> dict:
        d = asdict(self)
        d["name"] = self.name
        d["key_terms"] = [[t, round(w, 4)] for t, w in self.key_terms]
        for k in ("first", "last"):
            d[k] = d[k].isoformat() if d[k] else None
        for k in ("cohesion", "growth", "heat"):
            d[k] = round(d[k], 3)
        return d


# --------------------------------------------------------------------------------------------------
# vectors and neighbours
# --------------------------------------------------------------------------------------------------


def vectorize(tokens: Sequence[list[str]], *, max_df: float = 0.1, top_terms: int = TOP_TERMS):
    """(X, vocabulary): rows L2-normalised sublinear TF-IDF restricted to each row's ``top_terms``."""
    counts: list[Counter] = [Counter(t) for t in tokens]
    df: Counter = Counter()
    for c in counts:
        df.update(c.keys())
    n = len(tokens)
    cap = max(2, int(max_df * n)) if n >= 50 else n
    vocab = sorted(t for t, k in df.items() if 2 <= k <= cap)
    index = {t: i for i, t in enumerate(vocab)}
    idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in vocab], dtype=np.float32)
    indptr = [0]
    cols: list[int] = []
    vals: list[float] = []
    for c in counts:
        row = [(index[t], (1.0 + math.log(k)) * idf[index[t]]) for t, k in c.items() if t in index]
        if len(row) > top_terms:
            row.sort(key=lambda p: -p[1])
            row = row[:top_terms]
        norm = math.sqrt(sum(v * v for _, v in row)) or 1.0
        cols.extend(j for j, _ in row)
        vals.extend(v / norm for _, v in row)
        indptr.append(len(cols))
    X = sp.csr_matrix((np.array(vals, dtype=np.float32), np.array(cols, dtype=np.int64), np.array(indptr)),
                      shape=(n, len(vocab)))
    return X, vocab


def neighbours(X: sp.csr_matrix, threshold: float, block: int = BLOCK) -> sp.csr_matrix:
    """Symmetric sparse matrix of cosine similarities ≥ ``threshold`` (diagonal dropped)."""
    n = X.shape[0]
    XT = X.T.tocsr()
    parts = []
    for start in range(0, n, block):
        S = (X[start : start + block] @ XT).tocsr()
        S.data[S.data < threshold] = 0
        S.eliminate_zeros()
        parts.append(S)
    S = sp.vstack(parts).tocsr() if parts else sp.csr_matrix((0, 0), dtype=np.float32)
    S.setdiag(0)
    S.eliminate_zeros()
    return S


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def stars(S: sp.csr_matrix) -> np.ndarray:
    """Star clustering on a thresholded similarity graph: label per row (-1: no neighbour at all)."""
    n = S.shape[0]
    degree = np.diff(S.indptr)
    strength = np.asarray(S.sum(axis=1)).ravel()
    order = np.lexsort((-strength, -degree))
    label = np.full(n, -1, dtype=np.int64)
    k = 0
    for i in order:
        if label[i] >= 0 or degree[i] == 0:
            continue
        label[i] = k
        nb = S.indices[S.indptr[i] : S.indptr[i + 1]]
        free = nb[label[nb] < 0]
        label[free] = k
        k += 1
    return label


def _merge(X: sp.csr_matrix, label: np.ndarray, merge_threshold: float) -> np.ndarray:
    """Union clusters whose centroids have cosine ≥ ``merge_threshold``."""
    k = int(label.max()) + 1 if label.size and label.max() >= 0 else 0
    if k < 2:
        return label
    rows = np.flatnonzero(label >= 0)
    M = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (label[rows], rows)), shape=(k, X.shape[0]))
    C = (M @ X).tocsr()
    norms = np.sqrt(np.asarray(C.multiply(C).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    C = sp.diags(1 / norms).astype(np.float32) @ C
    S = neighbours(C.tocsr(), merge_threshold)
    parent = list(range(k))
    coo = S.tocoo()
    for a, b in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    root = np.array([_find(parent, i) for i in range(k)])
    out = label.copy()
    out[rows] = root[label[rows]]
    return out


def c_tfidf(X_counts: sp.csr_matrix, groups: list[np.ndarray], vocab: list[str], top: int = 8) -> list[list]:
    """Key terms of each group of rows by class-based TF-IDF (see the module docstring)."""
    if not groups:
        return []
    per = np.vstack([np.asarray(X_counts[g].sum(axis=0)).ravel() for g in groups])  # groups × terms
    total = per.sum(axis=0)
    avg = per.sum() / len(groups)
    tf = per / np.maximum(per.sum(axis=1, keepdims=True), 1)
    w = tf * np.log1p(avg / np.maximum(total, 1))
    out = []
    for r in range(len(groups)):
        idx = np.argsort(-w[r])[:top]
        out.append([(vocab[j], float(w[r, j])) for j in idx if w[r, j] > 0])
    return out


# --------------------------------------------------------------------------------------------------
# the whole thing
# --------------------------------------------------------------------------------------------------


def _counts(tokens: Sequence[list[str]], vocab: list[str]) -> sp.csr_matrix:
    index = {t: i for i, t in enumerate(vocab)}
    indptr, cols, vals = [0], [], []
    for toks in tokens:
        c = Counter(index[t] for t in toks if t in index)
        cols.extend(c.keys())
        vals.extend(c.values())
        indptr.append(len(cols))
    return sp.csr_matrix((np.array(vals, dtype=np.float32), np.array(cols, dtype=np.int64), np.array(indptr)),
                         shape=(len(tokens), len(vocab)))


def cluster(items: Sequence[Item], *, threshold: float = 0.4, merge_threshold: float = 0.5, min_size: int = 2,
            by_group: bool = True, workers: int = 1, tokens: Sequence[list[str]] | None = None,
            max_df: float = 0.1) -> list[Cluster]:
    """Clusters of ≥ ``min_size`` similar items, largest first (heat is filled in by :func:`score`).

    With ``by_group`` items are only ever clustered with items of the same (place, category)."""
    n = len(items)
    if n == 0:
        return []
    if tokens is None:
        tokens = tokenize_all([(it.title, it.text) for it in items], workers=workers)
    X, vocab = vectorize(tokens, max_df=max_df)
    label = np.full(n, -1, dtype=np.int64)
    keys: dict[tuple[str, str], list[int]] = {}
    for i, it in enumerate(items):
        keys.setdefault((it.place, it.category) if by_group else ("", ""), []).append(i)
    offset = 0
    for rows in keys.values():
        if len(rows) < min_size:
            continue
        idx = np.array(rows)
        Xg = X[idx]
        lab = _merge(Xg, stars(neighbours(Xg, threshold)), merge_threshold)
        ok = lab >= 0
        label[idx[ok]] = lab[ok] + offset
        offset += int(lab.max()) + 1 if ok.any() else 0
    groups = [g for g in (np.flatnonzero(label == k) for k in np.unique(label[label >= 0])) if g.size >= min_size]
    counts = _counts(tokens, vocab)
    terms = c_tfidf(counts, groups, vocab)
    out = []
    for g, kt in zip(groups, terms, strict=True):
        Xg = X[g]
        centroid = np.asarray(Xg.sum(axis=0)).ravel()
        norm = float(np.linalg.norm(centroid)) or 1.0
        sims = Xg @ (centroid / norm)
        rep = int(g[int(np.argmax(sims))])
        members = [int(i) for i in g]
        places = Counter(items[i].place for i in members if items[i].place)
        cats = Counter(items[i].category for i in members if items[i].category)
        out.append(Cluster(
            members=members, ids=[items[i].id for i in members], size=len(members), key_terms=kt,
            representative=items[rep].id, representative_title=items[rep].title, cohesion=float(np.mean(sims)),
            place=places.most_common(1)[0][0] if places else "", category=cats.most_common(1)[0][0] if cats else "",
        ))
    out.sort(key=lambda c: -c.size)
    return out


def score(clusters: Iterable[Cluster], items: Sequence[Item], since: datetime | None, until: datetime | None,
          weights: HeatWeights = HeatWeights()) -> list[Cluster]:
    """Fill in people, repeats, likes, growth and heat of each cluster; hottest first."""
    clusters = list(clusters)
    times = [it.time for it in items if it.time is not None]
    if since is None:
        since = min(times) if times else None
    if until is None:
        until = max(times) + timedelta(seconds=1) if times else None
    cut = None
    recent_days = earlier_days = 1.0
    if since is not None and until is not None and until > since:
        span = (until - since).total_seconds() / 86400
        recent_days = max(span * weights.recent_share, 1 / 24)
        earlier_days = max(span - recent_days, 1 / 24)
        cut = until - timedelta(days=recent_days)
    for c in clusters:
        members = [items[i] for i in c.members]
        persons = Counter(m.person for m in members if m.person)
        anonymous = [m for m in members if not m.person]
        c.people = sum(max(m.people, 1) for m in anonymous) + sum(
            max(max(m.people, 1) for m in members if m.person == p) for p in persons)
        c.repeats = sum(k - 1 for k in persons.values()) + sum(m.duplicates for m in members)
        c.likes = sum(max(m.likes, 0) for m in members)
        stamped = [m.time for m in members if m.time is not None]
        c.first = min(stamped) if stamped else None
        c.last = max(stamped) if stamped else None
        if cut is not None:
            c.recent = sum(1 for t in stamped if t >= cut)
            c.earlier = len(stamped) - c.recent
            rate_recent = (c.recent + 1) / recent_days
            rate_earlier = (c.earlier + 1) / earlier_days
            c.growth = min(max(math.log2(rate_recent / rate_earlier), -2.0), 3.0)
        c.heat = heat(c.size, c.growth, c.people, c.repeats, c.likes, weights)
    clusters.sort(key=lambda c: (-c.heat, -c.size))
    return clusters


def heat(n: int, growth: float, people: int, repeats: int, likes: int, w: HeatWeights = HeatWeights()) -> float:
    """The heat score (see :class:`HeatWeights`)."""
    return (w.volume * math.log1p(n) + w.growth * growth + w.people * math.log1p(people)
            + w.repeats * math.log1p(repeats) + w.likes * math.log1p(max(likes, 0)))


def hot(items: Sequence[Item], since: datetime | None = None, until: datetime | None = None, *, top: int = 20,
        weights: HeatWeights = HeatWeights(), **kwargs) -> list[Cluster]:
    """The ``top`` hottest clusters among ``items`` whose time lies in [since, until)."""
    chosen = [it for it in items if it.time is None or ((since is None or it.time >= since)
                                                         and (until is None or it.time < until))]
    return score(cluster(chosen, **kwargs), chosen, since, until, weights)[:top]


# --------------------------------------------------------------------------------------------------
# matching a new item against a topic's key terms
# --------------------------------------------------------------------------------------------------


def match_tokens(title: str, text: str = "") -> set[str]:
    """The tokens a new item is matched by (the title and twice as much of the text as for clustering)."""
    return set(item_tokens(title, text, detail_chars=DETAIL_CHARS * 2))


def match_score(key_terms: Sequence[tuple[str, float]] | dict, title: str = "", text: str = "", *,
                tokens: set[str] | None = None) -> float:
    """Share of a topic's key-term weight found in an item's tokens (0…1)."""
    terms = dict(key_terms)
    total = sum(w for w in terms.values() if w > 0)
    if not total:
        return 0.0
    toks = match_tokens(title, text) if tokens is None else tokens
    return sum(w for t, w in terms.items() if t in toks and w > 0) / total


def matches(key_terms, title: str = "", text: str = "", *, tokens: set[str] | None = None, min_share: float = 0.4,
            min_terms: int = 2) -> bool:
    """Does an item match a topic? At least ``min_terms`` key terms (or all of them, when fewer) and
    ``min_share`` of their weight. ``tokens`` (from :func:`match_tokens`) saves cutting the text again."""
    terms = dict(key_terms)
    if not terms:
        return False
    toks = match_tokens(title, text) if tokens is None else tokens
    found = sum(1 for t in terms if t in toks)
    return found >= min(min_terms, len(terms)) and match_score(terms, tokens=toks) >= min_share


# --------------------------------------------------------------------------------------------------
# messages files
# --------------------------------------------------------------------------------------------------

_PLACE = re.compile(r"A\d{1,2}[区县市]")
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%Y-%m-%d")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def place_of(title: str, text: str = "") -> str:
    """The district a board message names (``A3区``…), title first; "" when none."""
    m = _PLACE.search(title or "") or _PLACE.search((text or "")[:300])
    return m.group(0) if m else ""


def items_from_records(records: Iterable[dict]) -> list[Item]:
    """Items from message-board records (``id, user, title, detail, time, likes``)."""
    out = []
    for r in records:
        title, text = r.get("title") or "", r.get("detail") or r.get("content") or ""
        out.append(Item(id=str(r.get("id", len(out))), title=title, text=text, time=parse_time(r.get("time")),
                        person=str(r.get("user") or ""), likes=int(r.get("likes") or 0),
                        place=r.get("place") or place_of(title, text), category=r.get("category") or ""))
    return out
