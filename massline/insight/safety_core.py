"""The safety line's scoring core (琐事积累 → 安全线): plain Python, no Django, so the simulator and the tests
use exactly what production uses.

Times are plain numbers: days since any fixed epoch (the Django side converts datetimes, the simulator counts
days). A *place* is (level, org id, category id); an :class:`Item` is one demand reduced to what the score
needs, each field known at a moment (so the score can be computed "as of" any moment from the record):

* weight of an open demand at ``t`` = age weight × risk multiplier × kind weight, where the age weight grows
  linearly with the age in days (``age / age_unit``, from ``age_floor``, capped at ``age_cap``) and the risk
  multiplier multiplies the signals known by ``t`` (dissatisfied callbacks, a group visit, escalation words,
  a repeat caller, urgency, overdue), capped at ``m_cap``;
* a demand that left the open set at ``c`` keeps its weight at ``c`` and decays out: × exp(-(t - c)/τ), with
  τ short for a satisfactory close and long for an unresolved/dissatisfied one or a refusal;
* a place's accumulation W is the sum of its demands' weights; its usual level is what its own volume predicts:
  by Little's law (M/G/∞) an arrival rate λ (the place's arrivals over the last ``horizon`` days) carries an
  expected accumulation λ·r and variance λ·q; λ is the place's arrivals per day over ``horizon`` days ending ``lag``
  days ago, r = ΣW/Σλ and q = Σw²/Σλ of the same category at the same level over *every other place*
  (leave-one-out), shrunk toward the level's all-category ratio;
* the score is the standardised excess Z = (W − λ·r) / sqrt(φ·λ·q + s0²); a place crosses its level's line when
  Z ≥ line and at least ``min_items`` of its demands are open.

A busy place with ordinary handling has W ≈ λ·r (its demands are many but young), so it stays near 0; a build-up
(small complaints about one thing in one place, left unresolved for weeks) adds old, heavy demands that its
volume does not explain. See docs/safety-line.md for the figures.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

LEVELS = ("grid", "community", "street")
DEFAULT_LINES = {"grid": 6.0, "community": 6.5, "street": 7.5}


@dataclass(frozen=True)
class Params:
    age_unit: float = 5.0  # days of age that make weight 1 (about the general 7-day deadline in working days)
    age_floor: float = 0.1  # weight of a brand-new demand
    age_cap: float = 4.0  # weight stops growing at 4 × age_unit = 20 days
    tau_good: float = 3.0  # days: decay after a satisfactory close
    tau_bad: float = 14.0  # days: decay after an unresolved or dissatisfied close, a refusal
    horizon: float = 84.0  # days of arrivals that give a place's usual volume λ
    lag: float = 14.0  # … ending this many days before the moment scored (so a build-up does not explain itself)
    min_cover: float = 14.0  # days of record before the lag that the volume window needs (else it ends now)
    shrink: float = 0.5  # arrivals/day of the level-wide profile mixed into a category's profile
    overdispersion: float = 2.0  # φ: demands come in clusters, not as a pure Poisson stream
    floor_sd: float = 2.0  # s0: the noise floor of a quiet place, in weight units
    min_items: int = 3  # open demands a warning needs behind it
    clear_ratio: float = 0.75  # a warning's place is "back below" when Z < clear_ratio × line
    m_dissatisfied: float = 0.6  # + per dissatisfied callback (reopened / sent to supervision), up to 3
    m_group: float = 2.0
    m_risk: float = 2.0  # escalation words (threats of extreme action, many affected, petitioning higher up…)
    m_repeat: float = 1.3
    m_urgent: float = 1.2
    m_emergency: float = 1.5
    m_overdue: float = 1.25
    m_cap: float = 6.0
    repeat_window: float = 60.0  # days: an earlier demand from the same caller within it makes a repeat call
    r_default: float = 1.0  # profile ratios when a level has no data at all
    q_default: float = 1.0


DEFAULT = Params()


@dataclass(frozen=True)
class Item:
    id: int
    places: tuple[tuple[str, int], ...]  # ((level, org id), …): the grid, its community, its street
    category: int
    created: float
    closed: float | None = None  # left the open set (closed, refused, withdrawn; merged: when its master closed)
    settled_well: bool = True  # closed resolved and satisfied / basically satisfied / unrated
    dissatisfied: tuple[float, ...] = ()  # times of dissatisfied callbacks
    risk_at: float | None = None  # escalation words found
    due: float | None = None  # handling deadline (overdue after it while open)
    group: bool = False  # raised by a group visit
    urgency: str = "normal"
    caller: str = ""  # phone or person key; "" when unknown or anonymous
    kind_weight: float = 1.0  # complaint / help 1, enquiry 0.5

    def open_at(self, t: float) -> bool:
        return self.created <= t and (self.closed is None or self.closed > t)


@dataclass
class Score:
    level: str
    org: int
    category: int
    score: float
    line: float
    weight: float
    expected: float
    rate: float  # arrivals per day over the horizon
    open_count: int
    contributors: list[tuple[int, float]] = field(default_factory=list)  # (item id, weight), heaviest first
    open_ids: frozenset[int] = frozenset()  # the open demands behind it
    sd: float = 1.0  # the noise the excess is measured in
    members: dict[int, float] = field(default_factory=dict)  # every demand with weight here → its weight

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.level, self.org, self.category)


def repeat_ids(items: Iterable[Item], p: Params = DEFAULT) -> set[int]:
    """Items whose caller raised another demand in the ``repeat_window`` days before (known at creation)."""
    by_caller: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        if it.caller:
            by_caller[it.caller].append(it)
    out: set[int] = set()
    for group in by_caller.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda i: (i.created, i.id))
        for prev, cur in itertools.pairwise(group):
            if cur.created - prev.created <= p.repeat_window:
                out.add(cur.id)
    return out


def age_weight(age: float, p: Params) -> float:
    return min(p.age_cap, p.age_floor + max(0.0, age) / p.age_unit)


def multiplier(it: Item, t: float, p: Params, repeat: bool = False) -> float:
    """The risk multiplier of ``it`` from the signals known by ``t``."""
    m = 1.0
    k = sum(1 for x in it.dissatisfied if x <= t)
    if k:
        m *= 1.0 + p.m_dissatisfied * min(k, 3)
    if it.group:
        m *= p.m_group
    if it.risk_at is not None and it.risk_at <= t:
        m *= p.m_risk
    if repeat:
        m *= p.m_repeat
    if it.urgency == "emergency":
        m *= p.m_emergency
    elif it.urgency == "urgent":
        m *= p.m_urgent
    end = t if it.closed is None or it.closed > t else it.closed
    if it.due is not None and it.due < end:
        m *= p.m_overdue
    return min(m, p.m_cap)


def weight(it: Item, t: float, p: Params, repeat: bool = False) -> float:
    """The weight of ``it`` at ``t``: grows while it is open, decays out once it has left the open set."""
    if it.created > t:
        return 0.0
    if it.closed is None or it.closed > t:
        return age_weight(t - it.created, p) * multiplier(it, t, p, repeat) * it.kind_weight
    at_close = age_weight(it.closed - it.created, p) * multiplier(it, it.closed, p, repeat) * it.kind_weight
    tau = p.tau_good if it.settled_well else p.tau_bad
    w = at_close * math.exp(-(t - it.closed) / tau)
    return w if w >= 0.01 else 0.0


def relevant(it: Item, t: float, p: Params) -> bool:
    """Whether ``it`` can matter at ``t`` (open, decaying, or inside the volume horizon)."""
    if it.created > t:
        return False
    if it.created > t - p.horizon - p.lag:
        return True
    if it.closed is None or it.closed > t:
        return True
    tau = p.tau_good if it.settled_well else p.tau_bad
    return t - it.closed < 6 * tau


def volume_window(t: float, p: Params = DEFAULT, since: float | None = None) -> tuple[float, float]:
    """The (start, end] of the arrivals that give a place's usual volume at ``t``."""
    lo, hi = t - p.horizon - p.lag, t - p.lag
    if since is not None and since > lo:
        lo = since
        if hi - lo < p.min_cover:
            lo, hi = max(since, t - p.horizon), t
    return lo, max(hi, lo + 1.0)


def evaluate(items: Iterable[Item], t: float, p: Params = DEFAULT, lines: dict[str, float] | None = None,
             repeats: set[int] | None = None, levels: Iterable[str] = LEVELS, top: int = 50,
             since: float | None = None) -> list[Score]:
    """The score of every place with weight at ``t``, highest first (the crossings: :func:`crossings`).
    ``since``: when the record begins (a new deployment, an imported ledger): the volume window is cut to the days
    the record covers, and without ``min_cover`` days of it before the lag, the window ends at ``t`` instead. ``repeats``: from :func:`repeat_ids` over the same items (computed
    here when not given)."""
    lines = {**DEFAULT_LINES, **(lines or {})}
    items = [it for it in items if relevant(it, t, p)]
    if repeats is None:
        repeats = repeat_ids(items, p)
    wanted = set(levels)
    lo, hi = volume_window(t, p, since)
    W: dict[tuple[str, int, int], float] = defaultdict(float)
    Q: dict[tuple[str, int, int], float] = defaultdict(float)
    N: dict[tuple[str, int, int], int] = defaultdict(int)
    n_open: dict[tuple[str, int, int], int] = defaultdict(int)
    open_ids: dict[tuple[str, int, int], set[int]] = defaultdict(set)
    contrib: dict[tuple[str, int, int], dict[int, float]] = defaultdict(dict)
    for it in items:
        w = weight(it, t, p, it.id in repeats)
        recent = lo < it.created <= hi
        is_open = it.open_at(t)
        for level, org in it.places:
            if level not in wanted:
                continue
            key = (level, org, it.category)
            if recent:
                N[key] += 1
            if w > 0:
                W[key] += w
                Q[key] += w * w
                contrib[key][it.id] = w
                if is_open:
                    n_open[key] += 1
                    open_ids[key].add(it.id)
    # profile totals per (level, category) and per level
    Wc: dict[tuple[str, int], float] = defaultdict(float)
    Qc: dict[tuple[str, int], float] = defaultdict(float)
    Nc: dict[tuple[str, int], int] = defaultdict(int)
    Wl: dict[str, float] = defaultdict(float)
    Ql: dict[str, float] = defaultdict(float)
    Nl: dict[str, int] = defaultdict(int)
    for key in set(W) | set(N):
        level, _, cat = key
        Wc[level, cat] += W.get(key, 0.0)
        Qc[level, cat] += Q.get(key, 0.0)
        Nc[level, cat] += N.get(key, 0)
        Wl[level] += W.get(key, 0.0)
        Ql[level] += Q.get(key, 0.0)
        Nl[level] += N.get(key, 0)
    H, K = hi - lo, p.shrink
    out: list[Score] = []
    for key, w_p in W.items():
        level, org, cat = key
        lam_l = Nl[level] / H
        r_l = Wl[level] / lam_l if lam_l > 0 else p.r_default
        q_l = Ql[level] / lam_l if lam_l > 0 else p.q_default
        lam_p = N.get(key, 0) / H
        lam_rest = (Nc[level, cat] - N.get(key, 0)) / H
        r = (Wc[level, cat] - w_p + K * r_l) / (lam_rest + K)
        q = (Qc[level, cat] - Q[key] + K * q_l) / (lam_rest + K)
        expected = lam_p * r
        sd = math.sqrt(p.overdispersion * lam_p * q + p.floor_sd ** 2)
        z = (w_p - expected) / sd
        members = contrib[key]
        items_here = sorted(members.items(), key=lambda c: (-c[1], c[0]))[:top]
        out.append(Score(level, org, cat, z, lines.get(level, math.inf), w_p, expected, lam_p, n_open.get(key, 0),
                         items_here, frozenset(open_ids.get(key, ())), sd, members))
    out.sort(key=lambda s: (-s.score, s.level, s.org, s.category))
    return out


def crossings(scores: Iterable[Score], p: Params = DEFAULT, nested: bool = True,
              standing: Iterable[tuple[str, int, int]] = ()) -> list[Score]:
    """The places over their line with at least ``min_items`` open demands behind them.

    ``nested``: a community (street) over its line because a grid (community) inside it is over its own line for the
    same category — or has a warning standing (``standing``: keys of places warned and not yet back below) — is the
    same build-up seen from higher up. It is left out unless it is still over its line, with ``min_items`` open
    demands, without the demands behind those places below it: one grid's build-up warns once, at the grid; a
    build-up spread over several grids warns at the community."""
    scores = list(scores)
    over = [s for s in scores if s.score >= s.line and s.open_count >= p.min_items]
    if not nested:
        return over
    standing = set(standing)
    covered: dict[int, set[int]] = defaultdict(set)  # category → demands behind a crossing or standing place below
    out = []
    for level in LEVELS:
        kept = []
        for s in sorted((s for s in over if s.level == level), key=lambda s: (-s.score, s.org)):
            below = covered[s.category]
            if below:
                rest = s.weight - sum(w for pk, w in s.members.items() if pk in below)
                if (rest - s.expected) / s.sd < s.line or len(s.open_ids - below) < p.min_items:
                    continue
            kept.append(s)
        for s in kept:
            covered[s.category] |= set(s.members)
        for s in scores:
            if s.level == level and s.key in standing:
                covered[s.category] |= set(s.members)
        out += kept
    out.sort(key=lambda s: (-s.score, s.level, s.org, s.category))
    return out
