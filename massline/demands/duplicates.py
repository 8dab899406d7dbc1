"""Proposing duplicates, and recognising repeat callers. Reads only: merging stays ``services.merge``, done by a
dispatcher who has looked at the proposal.

A new demand is proposed for merging with an open one when both are about the same thing at the same place:

* the other demand is open (not closed, rejected, withdrawn or merged) and was recorded within ``window_days``;
* same place: the same area (grid, community…) or, when both have coordinates, within ``NEAR_METRES``;
* same first-level category when both have a category;
* a whistle-blowing report is only ever compared with other reports, and other demands never with reports;
* similar text: the cosine of character bigrams of title and text (``textclf.signals.similarity``, reached
  through ``demands.signals``) at least ``DUPLICATE_THRESHOLD`` (0.30, chosen and measured on labelled pairs;
  docs/signals.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet

from massline.directory.models import Category

from . import policy, queries
from . import signals as textsignals
from .models import Demand, DemandType, State

CLOSED_STATES = (State.CLOSED, State.REJECTED, State.WITHDRAWN, State.MERGED)
NEAR_METRES = 200.0
EARTH_RADIUS_M = 6_371_000.0
# about 200 m in degrees of latitude; longitude degrees shrink with latitude (handled in _box)
_LAT_DEGREES = NEAR_METRES / 111_320.0


@dataclass(frozen=True)
class Candidate:
    demand_id: int
    code: str
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Earlier:
    """An earlier demand by the same phone number (what ``repeat_caller`` returns)."""

    demand_id: int
    code: str
    title: str
    state: str
    created_at: datetime
    open: bool


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def _box(lat: float, lon: float) -> Q:
    dlon = _LAT_DEGREES / max(math.cos(math.radians(lat)), 0.01)
    return Q(
        latitude__gte=Decimal(str(lat - _LAT_DEGREES)),
        latitude__lte=Decimal(str(lat + _LAT_DEGREES)),
        longitude__gte=Decimal(str(lon - dlon)),
        longitude__lte=Decimal(str(lon + dlon)),
    )


def _roots() -> dict[int, int]:
    """Each category's first-level ancestor (the tree is a few hundred rows)."""
    parent = dict(Category.objects.values_list("id", "parent_id"))
    roots: dict[int, int] = {}
    for cid in parent:
        node, seen = cid, set()
        while parent.get(node) is not None and node not in seen:
            seen.add(node)
            node = parent[node]
        roots[cid] = node
    return roots


def _coords(d: Demand) -> tuple[float, float] | None:
    if d.latitude is None or d.longitude is None:
        return None
    return float(d.latitude), float(d.longitude)


def candidates_qs(demand: Demand, window_days: int = 30, user=None) -> QuerySet[Demand]:
    """The open demands near ``demand`` in place and time that may be about the same thing (before the text is
    compared). With ``user``, only what that user may see."""
    when = demand.created_at
    window = timedelta(days=window_days)
    qs = policy.visible(user) if user is not None else Demand.objects.all()
    qs = qs.exclude(pk=demand.pk).exclude(state__in=CLOSED_STATES)
    qs = qs.filter(created_at__gte=when - window, created_at__lte=when + window)
    qs = qs.filter(type=DemandType.REPORT) if demand.is_report else qs.exclude(type=DemandType.REPORT)
    where = Q(pk__in=[])
    if demand.place_id:
        where |= Q(place_id=demand.place_id)
    here = _coords(demand)
    if here:
        where |= _box(*here)
    return qs.filter(where).only(
        "id", "code", "title", "content", "type", "state", "category_id", "place_id", "latitude", "longitude",
        "created_at",
    )


def propose(demand: Demand, window_days: int = 30, *, user=None, limit: int = 5,
            threshold: float | None = None) -> list[Candidate]:
    """Open demands that ``demand`` probably repeats, most similar first (at most ``limit``)."""
    threshold = textsignals.DUPLICATE_THRESHOLD if threshold is None else threshold
    mine = textsignals.fingerprint(demand.title, demand.content)
    here = _coords(demand)
    roots = _roots() if demand.category_id else {}
    my_root = roots.get(demand.category_id) if demand.category_id else None
    out: list[Candidate] = []
    for other in candidates_qs(demand, window_days, user):
        reasons: list[str] = []
        if demand.place_id and other.place_id == demand.place_id:
            reasons.append("同一区域")
        there = _coords(other)
        if here and there:
            metres = distance_m(*here, *there)
            if metres <= NEAR_METRES:
                reasons.append(f"相距约{round(metres)}米")
            elif not reasons:
                continue  # in the bounding box but not within the radius
        if not reasons:
            continue
        if my_root is not None and other.category_id and roots.get(other.category_id) != my_root:
            continue
        if my_root is not None and other.category_id:
            reasons.append("同一大类")
        score = textsignals.similarity(mine, textsignals.fingerprint(other.title, other.content))
        if score < threshold:
            continue
        reasons.append(f"内容相似度{score:.2f}")
        out.append(Candidate(other.pk, other.code, round(score, 3), reasons))
    out.sort(key=lambda c: (-c.score, c.demand_id))
    return out[:limit]


def repeat_caller(phone: str, user, limit: int = 20) -> list[Earlier]:
    """The person's earlier demands by phone number, newest first, as far as ``user`` may see them (and may know
    who raised them): a repeat caller is recognised without exposing a confidential person."""
    if not (phone or "").strip():
        return []
    open_states = set(State.values) - set(CLOSED_STATES)
    return [
        Earlier(d.pk, d.code, d.title, d.state, d.created_at, d.state in open_states)
        for d in queries.earlier_by_phone(user, phone, limit)
    ]
