"""The three rates (三率) and the rankings, read from the rollup tables (never by scanning demands).

- response rate (响应率) = signed on time / signed, per sign (签收) of a demand by its lead unit;
- resolution rate (解决率) = rated as resolved / rated, per callback (回访);
- satisfaction rate (满意率) = (satisfied + basically satisfied) / rated, per callback;
- composite score (综合得分) = the rates weighted by ``MASSLINE_RATE_WEIGHTS`` (default 30,35,35).

What counts and what is left out is the ``RateDefinition`` (settings ``MASSLINE_RATES`` or the environment):
see docs/rates.md. How the counts are kept: ``massline.insight.rollups`` and docs/adr/0003-rollups.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Sum
from django.utils import timezone

from massline.directory.models import Org

from .models.rollups import COUNTERS, Level, Period, RateRollup

# what may be left out of the rates (the keys of MASSLINE_RATE_EXCLUDE) and what each means
EXCLUSIONS = {
    "certified": "督办员审核办结时认定不计入考核的诉求（如无理诉求）",
    "merged": "被合并的重复诉求（随主诉求计算）",
    "withdrawn": "诉求人撤回的诉求",
    "report": "举报件（只由纪检监察机关办理，不参加排名）",
}
DEFAULT_WEIGHTS = (30.0, 35.0, 35.0)
DEFAULT_EXCLUDE = ("certified", "merged", "withdrawn", "report")
RATE_NAMES = ("响应率", "解决率", "满意率")


@dataclass(frozen=True)
class RateDefinition:
    """What the rates count. ``exclude`` changes what the rollups hold (rebuild them after changing it:
    ``massline insight rollup --rebuild``); ``weights`` and ``basic_is_satisfied`` only change the reading."""

    weights: tuple[float, float, float] = DEFAULT_WEIGHTS
    exclude: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_EXCLUDE))
    basic_is_satisfied: bool = True

    def describe(self) -> list[str]:
        w = self.weights
        lines = [
            "响应率 = 按时签收件次 ÷ 签收件次（每次派单、改派、重办后的签收各计一次，按签收时间计入周期）",
            "解决率 = 群众认为已解决的回访件次 ÷ 回访评价件次（按回访时间计入周期）",
            "满意率 = （满意 + 基本满意）÷ 回访评价件次" if self.basic_is_satisfied
            else "满意率 = 满意 ÷ 回访评价件次（基本满意不计入分子）",
            f"综合得分 = 响应率×{w[0]:g} + 解决率×{w[1]:g} + 满意率×{w[2]:g}，除以权重之和（缺少的率不计权重）",
        ]
        if self.exclude:
            lines.append("不计入：" + "；".join(EXCLUSIONS[k] for k in sorted(self.exclude)))
        else:
            lines.append("不排除任何诉求")
        return lines


def _env_weights(raw: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in raw.replace("/", ",").split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0:
        raise ImproperlyConfigured(
            f"MASSLINE_RATE_WEIGHTS={raw!r}: expected three non-negative numbers for response, resolution and "
            "satisfaction, e.g. 30,35,35")
    return parts  # type: ignore[return-value]


def _env_exclude(raw: str) -> frozenset[str]:
    keys = frozenset(k.strip() for k in raw.split(",") if k.strip() and k.strip() != "none")
    unknown = keys - set(EXCLUSIONS)
    if unknown:
        raise ImproperlyConfigured(f"MASSLINE_RATE_EXCLUDE: unknown {sorted(unknown)}; known {sorted(EXCLUSIONS)}")
    return keys


def definition() -> RateDefinition:
    """The definition in force: ``settings.MASSLINE_RATES`` (a dict with ``weights``, ``exclude``,
    ``basic_is_satisfied``) over the environment (``MASSLINE_RATE_WEIGHTS``, ``MASSLINE_RATE_EXCLUDE``,
    ``MASSLINE_RATE_BASIC_SATISFIED``) over the defaults."""
    conf = getattr(settings, "MASSLINE_RATES", None) or {}
    weights = conf.get("weights")
    weights = _env_weights(",".join(str(w) for w in weights)) if weights is not None else _env_weights(
        os.environ.get("MASSLINE_RATE_WEIGHTS", "30,35,35"))
    exclude = conf.get("exclude")
    exclude = _env_exclude(",".join(exclude) or "none") if exclude is not None else _env_exclude(
        os.environ.get("MASSLINE_RATE_EXCLUDE", ",".join(DEFAULT_EXCLUDE)))
    basic = conf.get("basic_is_satisfied")
    if basic is None:
        basic = os.environ.get("MASSLINE_RATE_BASIC_SATISFIED", "1").strip().lower() not in ("0", "false", "no", "off")
    return RateDefinition(weights=weights, exclude=exclude, basic_is_satisfied=bool(basic))


# --- periods ---------------------------------------------------------------------------------------------

def project_tz() -> ZoneInfo:
    """The project's time zone (``MASSLINE_TIME_ZONE``), never a per-request one: a fact's period must not
    depend on who was looking."""
    return ZoneInfo(settings.TIME_ZONE)


def local_date(at: datetime) -> date:
    return timezone.localtime(at, project_tz()).date()


def period_starts(day: date) -> list[tuple[str, date]]:
    """The four periods a day belongs to, as (kind, first day)."""
    return [
        (Period.DAY, day),
        (Period.MONTH, day.replace(day=1)),
        (Period.QUARTER, date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)),
        (Period.YEAR, date(day.year, 1, 1)),
    ]


def period_end(period: str, start: date) -> date:
    """The first day after the period."""
    if period == Period.DAY:
        return start + timedelta(days=1)
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period]
    m = start.month - 1 + months
    return date(start.year + m // 12, m % 12 + 1, 1)


def previous_start(period: str, start: date) -> date:
    if period == Period.DAY:
        return start - timedelta(days=1)
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period]
    m = start.month - 1 - months
    return date(start.year + m // 12, m % 12 + 1, 1)


def window(period: str, start: date) -> tuple[datetime, datetime]:
    """The period as aware datetimes [from, to) in the project's time zone."""
    tz = project_tz()
    return (datetime.combine(start, time.min, tzinfo=tz), datetime.combine(period_end(period, start), time.min, tzinfo=tz))


def parse_month(text: str | None, default: date | None = None) -> date:
    """``2026-10`` → 2026-10-01; junk or nothing → ``default`` (the current month)."""
    if text:
        try:
            y, m = (int(p) for p in text.strip().split("-")[:2])
            return date(y, m, 1)
        except (ValueError, TypeError):
            pass
    if default is not None:
        return default
    from massline.core import clock

    return local_date(clock.now()).replace(day=1)


# --- figures ---------------------------------------------------------------------------------------------

def pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


@dataclass
class Figure:
    """One org's counts and rates in one period (and its place in the ranking)."""

    org: Org
    signed: int = 0
    signed_on_time: int = 0
    rated: int = 0
    resolved: int = 0
    satisfied: int = 0
    basic: int = 0
    response: float | None = None
    resolution: float | None = None
    satisfaction: float | None = None
    score: float | None = None
    rank: int | None = None
    prev_score: float | None = None
    prev_rank: int | None = None

    @property
    def satisfied_count(self) -> int:
        return self.satisfied + (self.basic if self._basic_ok else 0)

    _basic_ok: bool = True

    @property
    def dissatisfied(self) -> int:
        return self.rated - self.satisfied - self.basic

    @property
    def score_change(self) -> float | None:
        if self.score is None or self.prev_score is None:
            return None
        return round(self.score - self.prev_score, 2)

    @property
    def rank_change(self) -> int | None:
        """Places gained since last period (positive: moved up)."""
        if self.rank is None or self.prev_rank is None:
            return None
        return self.prev_rank - self.rank

    def as_dict(self) -> dict:
        return {
            "org_id": self.org.pk, "org": self.org.name, "code": self.org.code,
            "signed": self.signed, "signed_on_time": self.signed_on_time, "rated": self.rated,
            "resolved": self.resolved, "satisfied": self.satisfied, "basic": self.basic,
            "response_rate": self.response, "resolution_rate": self.resolution,
            "satisfaction_rate": self.satisfaction, "score": self.score, "rank": self.rank,
            "prev_score": self.prev_score, "prev_rank": self.prev_rank, "score_change": self.score_change,
            "rank_change": self.rank_change,
        }


def _finish(f: Figure, defn: RateDefinition) -> Figure:
    f._basic_ok = defn.basic_is_satisfied
    f.response = pct(f.signed_on_time, f.signed)
    f.resolution = pct(f.resolved, f.rated)
    f.satisfaction = pct(f.satisfied_count, f.rated)
    f.score = composite((f.response, f.resolution, f.satisfaction), defn.weights)
    return f


def composite(rates: Iterable[float | None], weights: Iterable[float]) -> float | None:
    """The weighted mean of the rates that exist (a rate with no denominator carries no weight)."""
    pairs = [(w, r) for r, w in zip(rates, weights, strict=True) if r is not None]
    total = sum(w for w, _ in pairs)
    if not pairs or total <= 0:
        return None
    return round(sum(w * r for w, r in pairs) / total, 2)


def figures(period: str, start: date, level: str, org_ids: Iterable[int] | None = None,
            defn: RateDefinition | None = None) -> dict[int, Figure]:
    """Every org's figure at ``level`` in the period (or only ``org_ids``): one indexed read of rollup rows."""
    defn = defn or definition()
    qs = RateRollup.objects.filter(period=period, start=start, level=level).select_related("org")
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    out: dict[int, Figure] = {}
    for row in qs:
        if not any(getattr(row, c) for c in COUNTERS):
            continue  # everything in it was taken back (an exclusion)
        out[row.org_id] = _finish(Figure(row.org, **{c: getattr(row, c) for c in COUNTERS}), defn)
    return out


def _rank(figs: Iterable[Figure]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) by score, highest first; orgs without a score have no rank."""
    scored = sorted((f for f in figs if f.score is not None), key=lambda f: -f.score)  # type: ignore[operator]
    ranks: dict[int, int] = {}
    prev_score, prev_rank = None, 0
    for i, f in enumerate(scored, start=1):
        if f.score != prev_score:
            prev_rank, prev_score = i, f.score
        ranks[f.org.pk] = prev_rank
    return ranks


def ranking(start: date, level: str = Level.UNIT, period: str = Period.MONTH,
            defn: RateDefinition | None = None) -> list[Figure]:
    """Every org's figure in the period with its rank among all orgs of the level and the change since the
    previous period (two reads of rollup rows)."""
    defn = defn or definition()
    now = figures(period, start, level, defn=defn)
    before = figures(period, previous_start(period, start), level, defn=defn)
    ranks, prev_ranks = _rank(now.values()), _rank(before.values())
    for org_id, f in now.items():
        f.rank = ranks.get(org_id)
        if org_id in before:
            f.prev_score = before[org_id].score
            f.prev_rank = prev_ranks.get(org_id)
    return sorted(now.values(), key=lambda f: (f.rank is None, f.rank or 0, f.org.path))


def figure(period: str, start: date, level: str, org: Org, defn: RateDefinition | None = None) -> Figure:
    """One org's figure (zeros when it has no rollup row), ranked among all orgs of the level."""
    ranked = {f.org.pk: f for f in ranking(start, level, period, defn)}
    return ranked.get(org.pk) or _finish(Figure(org), defn or definition())


def trend(level: str, org_ids: Iterable[int] | None, months: int, last: date,
          defn: RateDefinition | None = None) -> list[dict]:
    """Monthly sums over ``org_ids`` (all orgs of the level when None) for ``months`` months up to ``last``."""
    defn = defn or definition()
    first = last
    for _ in range(months - 1):
        first = previous_start(Period.MONTH, first)
    qs = RateRollup.objects.filter(period=Period.MONTH, level=level, start__gte=first, start__lte=last)
    if org_ids is not None:
        qs = qs.filter(org_id__in=list(org_ids))
    sums = {row["start"]: row for row in qs.values("start").annotate(**{c: Sum(c) for c in COUNTERS})}
    out = []
    month = first
    while month <= last:
        row = sums.get(month) or {}
        f = Figure(Org(name="合计"), **{c: int(row.get(c) or 0) for c in COUNTERS})
        _finish(f, defn)
        out.append({"month": month, "label": month.strftime("%Y-%m"), "figure": f})
        month = period_end(Period.MONTH, month)
    return out
