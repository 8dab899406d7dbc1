"""The relationship index (干群关系微积分, seed 001): per community, day by day, good and bad contacts between
cadres and the masses add up, and old ones fade.

Each day ``d`` a community gets

* good(d): +1 per demand closed satisfied, +0.6 closed basically satisfied, +0.3 closed without a rating but
  not marked unresolved; +0.5 per door-to-door visit (a demand recorded on a 入户走访); plus any registered
  source (kept commitments, when that part exists: :data:`SOURCES`);
* bad(d): +1 per dissatisfied callback (each reopens the demand or sends it to supervision), +0.5 per demand
  closed unresolved or refused, +0.5 when a demand passes its deadline unanswered and +0.1 for every further
  day it stays open past it (the backlog), +0.3 per repeat demand (the same phone again within 60 days);

and the two integrals fade with a time constant of ``TAU`` days: G(d) = G(d−1)·e^(−1/TAU) + good(d), likewise
B. The index is 100·(G − B)/(G + B + K) ∈ (−100, 100): positive when good contacts outweigh bad ones, near 0
when they balance or there are few of either (K damps a quiet community). The trend is the least-squares slope
of the index over the last ``TREND_DAYS`` days, in points per week.

Computed from the record on the fly (not stored): a past period is recomputed exactly, and nothing goes stale.
Whistle-blowing reports do not count (they are about cadres' conduct, and are for discipline inspection only).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from massline.demands.models import Callback, Channel, Demand, DemandType, Satisfaction, State
from massline.directory.models import Org

TAU = 30.0
K = 5.0
TREND_DAYS = 14
WARMUP_DAYS = 90  # days before ``start`` that prime the integrals
REPEAT_DAYS = 60
GOOD = {"satisfied": 1.0, "basic": 0.6, "unrated": 0.3, "visit": 0.5}
BAD = {"dissatisfied": 1.0, "unresolved": 0.5, "overdue": 0.5, "backlog_day": 0.1, "repeat": 0.3}
COMMUNITY_KINDS = (Org.Kind.COMMUNITY, Org.Kind.VILLAGE)

# Extra sources: callables (communities, first day, last day) → {(community id, day): (good, bad)}; the part
# that records kept commitments registers one here.
Source = Callable[[list[Org], date, date], dict[tuple[int, date], tuple[float, float]]]
SOURCES: list[Source] = []


@dataclass
class Point:
    day: date
    good: float
    bad: float
    G: float
    B: float
    index: float
    trend: float | None  # points per week over the last TREND_DAYS days

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(), "good": round(self.good, 2), "bad": round(self.bad, 2),
                "good_integral": round(self.G, 2), "bad_integral": round(self.B, 2), "index": round(self.index, 1),
                "trend_per_week": None if self.trend is None else round(self.trend, 2)}


def trend_label(trend: float | None) -> str:
    if trend is None:
        return "—"
    if trend > 1.0:
        return "向好"
    if trend < -1.0:
        return "趋紧"
    return "平稳"


def _local_day(dt: datetime) -> date:
    return timezone.localtime(dt).date()


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def communities_in(scope_paths: list[str] | None) -> list[Org]:
    """Communities (and villages) under any of ``scope_paths`` ("" or None: all)."""
    qs = Org.objects.filter(kind__in=COMMUNITY_KINDS, active=True)
    if scope_paths is not None and "" not in scope_paths:
        q = Q(pk__in=[])
        for p in scope_paths:
            q |= Q(path__startswith=p)
        qs = qs.filter(q)
    return list(qs.order_by("path"))


def daily_flows(communities: list[Org], start: date, end: date) -> dict[int, dict[date, list[float]]]:
    """good and bad of each community on each day in [start − WARMUP_DAYS, end]: {id: {day: [good, bad]}}."""
    flows: dict[int, dict[date, list[float]]] = {c.pk: defaultdict(lambda: [0.0, 0.0]) for c in communities}
    if not communities:
        return flows
    first = start - timedelta(days=WARMUP_DAYS)
    lo, hi = _day_start(first), _day_start(end + timedelta(days=1))
    by_path = {c.path: c.pk for c in communities}

    def community_of(area_path: str) -> int | None:
        ids = [x for x in area_path.strip("/").split("/") if x]
        for n in range(len(ids), 0, -1):
            hit = by_path.get("/" + "/".join(ids[:n]) + "/")
            if hit is not None:
                return hit
        return None

    scope = Q(pk__in=[])
    for c in communities:
        scope |= Q(area_path__startswith=c.path)
    demands = (Demand.objects.filter(scope, created_at__lt=hi).exclude(type=DemandType.REPORT)
               .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=lo) | Q(created_at__gte=lo - timedelta(days=REPEAT_DAYS)))
               .values_list("pk", "area_path", "created_at", "closed_at", "state", "satisfaction", "resolved", "due_at",
                            "channel", "person__phone"))
    rows = list(demands)
    last_by_phone: dict[tuple[int, str], datetime] = {}
    for _pk, area_path, created_at, closed_at, state, satisfaction, resolved, due_at, channel, phone in sorted(
        rows, key=lambda r: (r[2], r[0])
    ):
        cid = community_of(area_path)
        if cid is None:
            continue
        f = flows[cid]
        created = _local_day(created_at)
        if created >= first:
            if channel == Channel.DOOR:
                f[created][0] += GOOD["visit"]
            if phone:
                prev = last_by_phone.get((cid, phone))
                if prev is not None and created_at - prev <= timedelta(days=REPEAT_DAYS):
                    f[created][1] += BAD["repeat"]
        if phone:
            last_by_phone[(cid, phone)] = created_at
        if closed_at is not None and lo <= closed_at < hi:
            day = _local_day(closed_at)
            if state == State.REJECTED or resolved is False:
                f[day][1] += BAD["unresolved"]
            elif state == State.CLOSED:
                if satisfaction == Satisfaction.SATISFIED:
                    f[day][0] += GOOD["satisfied"]
                elif satisfaction == Satisfaction.BASIC:
                    f[day][0] += GOOD["basic"]
                elif satisfaction == Satisfaction.DISSATISFIED:
                    f[day][1] += BAD["unresolved"]
                else:
                    f[day][0] += GOOD["unrated"]
        if due_at is not None and state != State.MERGED:
            end_open = closed_at if closed_at is not None else hi
            if due_at < end_open and due_at < hi:
                d0 = _local_day(due_at)
                if d0 >= first:
                    f[d0][1] += BAD["overdue"]
                d = max(d0 + timedelta(days=1), first)
                last_open = min(_local_day(end_open - timedelta(microseconds=1)), end)
                while d <= last_open:
                    f[d][1] += BAD["backlog_day"]
                    d += timedelta(days=1)
    ids = {r[0]: community_of(r[1]) for r in rows}
    for demand_id, when in Callback.objects.filter(
        demand_id__in=list(ids), satisfaction=Satisfaction.DISSATISFIED, created_at__gte=lo, created_at__lt=hi
    ).values_list("demand_id", "created_at"):
        cid = ids.get(demand_id)
        if cid is not None:
            flows[cid][_local_day(when)][1] += BAD["dissatisfied"]
    for source in SOURCES:
        for (cid, day), (good, bad) in source(communities, first, end).items():
            if cid in flows:
                flows[cid][day][0] += good
                flows[cid][day][1] += bad
    return flows


def _slope(values: list[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    mx, my = (n - 1) / 2, sum(values) / n
    sxx = sum((i - mx) ** 2 for i in range(n))
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / sxx


def integrate(flows: dict[date, list[float]], start: date, end: date) -> list[Point]:
    """The index of one community for each day of [start, end] from its daily flows."""
    decay = math.exp(-1.0 / TAU)
    G = B = 0.0
    history: list[float] = []
    out: list[Point] = []
    d = start - timedelta(days=WARMUP_DAYS)
    while d <= end:
        good, bad = flows[d] if d in flows else (0.0, 0.0)
        G = G * decay + good
        B = B * decay + bad
        index = 100.0 * (G - B) / (G + B + K)
        history.append(index)
        if d >= start:
            window = history[-TREND_DAYS:]
            trend = _slope(window)
            out.append(Point(d, good, bad, G, B, index, None if trend is None else trend * 7))
        d += timedelta(days=1)
    return out


def series(communities: list[Org], start: date, end: date) -> dict[int, list[Point]]:
    """The index of each community, day by day over [start, end]."""
    flows = daily_flows(communities, start, end)
    return {c.pk: integrate(flows[c.pk], start, end) for c in communities}
