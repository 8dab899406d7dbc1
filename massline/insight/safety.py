"""The safety line on the Django side: read the record as it was at a moment into the scoring core
(:mod:`massline.insight.safety_core`), raise early warnings, handle them.

* ``evaluate(as_of)`` — the places over their line at ``as_of``, computed from the record as it was then (what
  was open then, its age then, the callbacks and escalation flags recorded before then), with the demands
  behind each and the warning record that stood then, if any. Reads only; a ledger imported with its
  historical dates can be replayed.
* ``raise_warnings(now)`` — the periodic step (``massline insight warnings --raise [--loop]``): a new
  :class:`SafetyWarning` for each crossing place without an open one, idempotent and safe on several hosts
  (a unique constraint on the open warning of a place); the leaders over the place's street are told once,
  after commit. A handled place warns again only after its score has fallen back below ``clear_ratio`` × line
  (a new crossing), so handling is not undone by the next run.
* ``handle(warning_id, user, note)`` — a leader, supervisor or administrator over the place closes it with a note.

Lines per level: ``safety_core.DEFAULT_LINES``, overridden by ``settings.MASSLINE["SAFETY_LINES"]`` or the
environment variable ``MASSLINE_SAFETY_LINES`` ("grid=6,community=6.5,street=7.5"). Whistle-blowing reports,
praise and suggestions do not count (reports are never shown to the area's leaders); enquiries count half.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min, Q

from massline.core import clock, events, notify
from massline.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from massline.core.events import Actor
from massline.core.models import Event
from massline.demands.models import Callback, Demand, DemandType, Satisfaction, State
from massline.demands.signals import RISK_FLAGGED
from massline.directory import access
from massline.directory import queries as directory
from massline.directory.models import Category, Org, Role

from . import safety_core as core
from .models import SafetyWarning, SafetyWarningDemand

log = logging.getLogger("massline.insight.safety")

ROLES = (Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
ACTOR = Actor.system("安全线预警")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
KIND_WEIGHT = {DemandType.COMPLAINT: 1.0, DemandType.HELP: 1.0, DemandType.ENQUIRY: 0.5}
LEVEL_OF_KIND = {Org.Kind.GRID: "grid", Org.Kind.COMMUNITY: "community", Org.Kind.VILLAGE: "community",
                 Org.Kind.STREET: "street", Org.Kind.TOWNSHIP: "street"}
LEVEL_LABELS = dict(SafetyWarning.Level.choices)
PARAMS = core.DEFAULT


def days(dt: datetime) -> float:
    return (dt - EPOCH).total_seconds() / 86400.0


def lines() -> dict[str, float]:
    """The line of each level: the defaults, then settings, then the environment."""
    out = dict(core.DEFAULT_LINES)
    out.update(getattr(settings, "MASSLINE", {}).get("SAFETY_LINES") or {})
    raw = os.environ.get("MASSLINE_SAFETY_LINES", "")
    for part in raw.split(","):
        if "=" not in part:
            continue
        level, value = (x.strip() for x in part.split("=", 1))
        try:
            if level in core.LEVELS:
                out[level] = float(value)
        except ValueError:
            log.warning("MASSLINE_SAFETY_LINES: %r is not a number", value)
    return out


# --- reading the record as it was ------------------------------------------------------------------------

@dataclass
class Record:
    """The record at ``as_of`` reduced to scoring items; ``since``: when the record begins (days)."""

    as_of: datetime
    items: list[core.Item]
    area_kind: dict[int, str]
    since: float | None = None


def _area_kinds() -> dict[int, str]:
    return {pk: LEVEL_OF_KIND[kind] for pk, kind in
            Org.objects.filter(kind__in=list(LEVEL_OF_KIND)).values_list("pk", "kind")}


def load(as_of: datetime) -> Record:
    """The demands that can matter at ``as_of`` (created by then; open then, recently closed, or inside the
    volume horizon), as the scoring core's items, with only what was known at ``as_of``."""
    p = PARAMS
    kinds = _area_kinds()
    since_created = as_of - timedelta(days=p.horizon + p.lag)
    since_closed = as_of - timedelta(days=6 * p.tau_bad)
    rows = (
        Demand.objects.filter(created_at__lte=as_of, category__isnull=False, area_path__gt="",
                              type__in=list(KIND_WEIGHT))
        .filter(Q(created_at__gt=since_created) | Q(closed_at__isnull=True) | Q(closed_at__gt=since_closed))
        .values_list("pk", "area_path", "category_id", "created_at", "closed_at", "state", "satisfaction",
                     "resolved", "due_at", "urgency", "group_visit_id", "channel", "type", "person__phone",
                     "person_id", "merged_into__closed_at")
    )
    rows = list(rows)
    ids = [r[0] for r in rows]
    dissatisfied: dict[int, list[float]] = defaultdict(list)
    risk: dict[int, float] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for demand_id, when in Callback.objects.filter(
            demand_id__in=chunk, satisfaction=Satisfaction.DISSATISFIED, created_at__lte=as_of
        ).values_list("demand_id", "created_at"):
            dissatisfied[demand_id].append(days(when))
        chains = [f"demand:{pk}" for pk in chunk]
        for chain, when in Event.objects.filter(chain__in=chains, action=RISK_FLAGGED, at__lte=as_of).values_list(
            "chain", "at"
        ):
            pk = int(chain.split(":", 1)[1])
            risk[pk] = min(risk.get(pk, days(when)), days(when))
    items = []
    for (pk, area_path, category_id, created_at, closed_at, state, satisfaction, resolved, due_at, urgency,
         group_visit_id, channel, dtype, phone, person_id, master_closed_at) in rows:
        places = tuple((kinds[i], i) for i in (int(x) for x in area_path.strip("/").split("/") if x) if i in kinds)
        if not places:
            continue
        if state == State.MERGED:
            closed_at = master_closed_at  # a merged demand stays open while the demand it joined is open
        closed = days(closed_at) if closed_at is not None and closed_at <= as_of else None
        if closed is not None:
            settled_well = state not in (State.REJECTED,) and satisfaction != Satisfaction.DISSATISFIED \
                and resolved is not False
        else:
            settled_well = True
        items.append(core.Item(
            id=pk, places=places, category=category_id, created=days(created_at), closed=closed,
            settled_well=settled_well, dissatisfied=tuple(sorted(dissatisfied.get(pk, ()))), risk_at=risk.get(pk),
            due=days(due_at) if due_at else None, group=bool(group_visit_id) or channel == "group", urgency=urgency,
            caller=phone or (f"p{person_id}" if person_id else ""), kind_weight=KIND_WEIGHT.get(dtype, 1.0),
        ))
    first = Demand.objects.aggregate(first=Min("created_at"))["first"]
    return Record(as_of, items, kinds, days(first) if first else None)


# --- evaluation -----------------------------------------------------------------------------------------

@dataclass
class Standing:
    """A place over its line at a moment, with the demands behind it (heaviest first) and the warning record
    that stood then (None: not raised yet at that moment)."""

    score: core.Score
    org: Org
    category: Category
    demands: list[tuple[Demand, float]] = field(default_factory=list)
    warning: SafetyWarning | None = None

    def as_dict(self) -> dict:
        s = self.score
        return {
            "level": s.level, "level_label": LEVEL_LABELS.get(s.level, s.level), "org_id": self.org.pk,
            "org": self.org.name, "category_id": self.category.pk, "category": self.category.full_name,
            "score": round(s.score, 2), "line": s.line, "weight": round(s.weight, 2),
            "expected": round(s.expected, 2), "arrivals_per_day": round(s.rate, 3), "open_count": s.open_count,
            "warning": None if self.warning is None else {
                "id": self.warning.pk, "state": self.warning.state, "raised_at": self.warning.raised_at.isoformat(),
            },
            "demands": [{"id": d.pk, "code": d.code, "title": d.title, "state": d.state,
                         "created_at": d.created_at.isoformat(), "weight": round(w, 2)} for d, w in self.demands],
        }


def scores(as_of: datetime, record: Record | None = None) -> list[core.Score]:
    record = record or load(as_of)
    return core.evaluate(record.items, days(as_of), PARAMS, lines(), since=record.since)


def evaluate(as_of: datetime | None = None) -> list[Standing]:
    """The warnings that stand at ``as_of`` (default now), computed from the record as it was then."""
    as_of = as_of or clock.now()
    stood = SafetyWarning.objects.filter(raised_at__lte=as_of).filter(
        Q(handled_at__isnull=True) | Q(handled_at__gt=as_of)).values_list("level", "org_id", "category_id")
    crossed = core.crossings(scores(as_of), PARAMS, standing=set(stood))
    if not crossed:
        return []
    orgs = Org.objects.in_bulk({s.org for s in crossed})
    cats = Category.objects.in_bulk({s.category for s in crossed})
    demand_ids = {pk for s in crossed for pk, _ in s.contributors}
    demands = Demand.objects.only("pk", "code", "title", "state", "created_at").in_bulk(demand_ids)
    records = _records_at(as_of, crossed)
    out = []
    for s in crossed:
        out.append(Standing(s, orgs[s.org], cats[s.category],
                            [(demands[pk], w) for pk, w in s.contributors if pk in demands],
                            records.get(s.key)))
    return out


def _records_at(as_of: datetime, crossed: list[core.Score]) -> dict[tuple[str, int, int], SafetyWarning]:
    """The warning of each place that stood at ``as_of``: raised by then, not handled before then."""
    q = Q(pk__in=[])
    for s in crossed:
        q |= Q(level=s.level, org_id=s.org, category_id=s.category)
    out: dict[tuple[str, int, int], SafetyWarning] = {}
    rows = SafetyWarning.objects.filter(q, raised_at__lte=as_of).filter(
        Q(handled_at__isnull=True) | Q(handled_at__gt=as_of)
    ).order_by("raised_at")
    for w in rows:
        out[(w.level, w.org_id, w.category_id)] = w
    return out


# --- raising --------------------------------------------------------------------------------------------

@dataclass
class RaiseReport:
    evaluated: int = 0
    crossed: int = 0
    raised: list[int] = field(default_factory=list)
    suppressed: int = 0  # handled and not yet back below the line
    cleared: int = 0

    def as_dict(self) -> dict:
        return {"evaluated": self.evaluated, "crossed": self.crossed, "raised": len(self.raised),
                "raised_ids": self.raised, "suppressed": self.suppressed, "cleared": self.cleared}


def street_of(org: Org) -> Org | None:
    if org.kind in (Org.Kind.STREET, Org.Kind.TOWNSHIP):
        return org
    return Org.objects.filter(pk__in=org.ancestor_ids(), kind__in=[Org.Kind.STREET, Org.Kind.TOWNSHIP]).first()


def recipients(org: Org) -> list[int]:
    """The leaders over the place's street (their scope contains it)."""
    street = street_of(org) or org
    return directory.users_with_role(Role.LEADER, street)


def raise_warnings(now: datetime | None = None) -> RaiseReport:
    """Raise a warning for each place over its line that has none open (see the module docstring)."""
    now = now or clock.now()
    p, line_of = PARAMS, lines()
    all_scores = scores(now)
    report = RaiseReport(evaluated=len(all_scores))
    by_key = {s.key: s for s in all_scores}
    # warnings already on record that have not cleared: update them, clear those back below the line
    for w in SafetyWarning.objects.filter(Q(state=SafetyWarning.State.OPEN) | Q(cleared_at__isnull=True)):
        s = by_key.get((w.level, w.org_id, w.category_id))
        z = s.score if s else 0.0
        changes: dict = {}
        if w.state == SafetyWarning.State.OPEN:
            changes.update(last_score=z, last_seen_at=now, peak_score=max(w.peak_score, z))
        if w.cleared_at is None and z < p.clear_ratio * line_of.get(w.level, w.line):
            changes["cleared_at"] = now
            report.cleared += 1
        if changes:
            SafetyWarning.objects.filter(pk=w.pk).update(**changes)
    blocking: dict[tuple[str, int, int], str] = {
        (level, org_id, cat_id): state for level, org_id, cat_id, state in SafetyWarning.objects.filter(
            Q(state=SafetyWarning.State.OPEN) | Q(cleared_at__isnull=True)
        ).values_list("level", "org_id", "category_id", "state")
    }
    # a place whose warning stands (open, or handled and not yet back below) also covers the places above it
    crossed = {s.key: s for s in core.crossings(all_scores, p, standing=blocking)}
    report.crossed = len(crossed)
    report.suppressed = sum(1 for key in crossed if blocking.get(key) == SafetyWarning.State.HANDLED)
    for key, s in crossed.items():
        if key in blocking:
            continue
        w = _create(s, now)
        if w is not None:
            report.raised.append(w.pk)
    return report


def _create(s: core.Score, now: datetime) -> SafetyWarning | None:
    org = Org.objects.get(pk=s.org)
    category = Category.objects.get(pk=s.category)
    try:
        with transaction.atomic():
            w = SafetyWarning.objects.create(
                level=s.level, org=org, category=category, score=s.score, line=s.line, weight=s.weight,
                expected=s.expected, open_count=s.open_count, peak_score=s.score, last_score=s.score,
                last_seen_at=now, raised_at=now,
            )
            present = set(Demand.objects.filter(pk__in=[pk for pk, _ in s.contributors]).values_list("pk", flat=True))
            SafetyWarningDemand.objects.bulk_create(
                [SafetyWarningDemand(warning=w, demand_id=pk, weight=round(weight, 4))
                 for pk, weight in s.contributors if pk in present])
            events.record(w.chain, "safety_warning_raised", ACTOR, to_state=w.state, new_chain=True, at=now,
                          data={"level": s.level, "org": org.code, "category": category.full_name,
                                "score": round(s.score, 3), "line": s.line, "weight": round(s.weight, 3),
                                "expected": round(s.expected, 3), "open_count": s.open_count,
                                "demands": sorted(present)})
            who = recipients(org)
            title = f"安全线预警：{org.name} · {category.name}"
            body = (f"{LEVEL_LABELS.get(s.level, s.level)}“{org.name}”的“{category.full_name}”类诉求积累超过安全线"
                    f"（分值 {s.score:.1f}，安全线 {s.line:g}），未办结 {s.open_count} 件，请及时研判处置。")
            transaction.on_commit(lambda: notify.inbox(who, "safety_warning", title, body, "/insight/warnings/"))
    except IntegrityError:
        # another raiser created the open warning of this place first: it notifies, not us
        log.info("safety warning for %s already raised", s.key)
        return None
    return w


# --- access and handling --------------------------------------------------------------------------------

def scope_q(user) -> Q | None:
    """Warnings whose place lies where the user holds a leader, supervisor or administrator role; None: none."""
    q: Q | None = None
    for role in ROLES:
        part = access.scope_q(user, role, "org__path")
        if part is None:
            continue
        q = part if q is None else (q | part)
    return q


def visible(user):
    q = scope_q(user)
    if q is None:
        return SafetyWarning.objects.none()
    return SafetyWarning.objects.filter(q).select_related("org", "category", "handled_by")


def covers(user, org: Org) -> bool:
    return any(access.holds(user, role, org) for role in ROLES)


@transaction.atomic
def handle(warning_id: int, user, note: str) -> SafetyWarning:
    """Mark a warning handled with a note (what was done). Leaders, supervisors and administrators over its place."""
    if not access.has_role(user, *ROLES):
        raise PermissionDenied("只有领导、督办员或管理员可以处置预警", code="role_not_allowed")
    w = SafetyWarning.objects.select_related("org", "category").filter(pk=warning_id).first()
    if w is None or not covers(user, w.org):
        raise NotFound("预警不存在或不在您的管辖范围内")  # a place out of scope is not revealed
    note = (note or "").strip()
    if len(note) < 4:
        raise DomainError("invalid_field", "请写明处置情况（至少 4 个字）", field="note")
    now = clock.now()
    won = SafetyWarning.objects.filter(pk=w.pk, state=SafetyWarning.State.OPEN).update(
        state=SafetyWarning.State.HANDLED, handled_by=user, handled_at=now, note=note,
        cleared_at=None)  # a new warning needs the place to fall back below the line after this handling
    if not won:
        raise Conflict("already_handled", "该预警已被处置")
    role = next(str(r) for r in ROLES if access.holds(user, r, w.org))
    events.record(w.chain, "safety_warning_handled", Actor(user.pk, user.get_full_name() or user.get_username(), role),
                  from_state=SafetyWarning.State.OPEN, to_state=SafetyWarning.State.HANDLED, reason=note, at=now)
    w.refresh_from_db()
    return w


def demands_behind(w: SafetyWarning, user) -> list[tuple[Demand, float]]:
    """The demands behind a warning that ``user`` may see, heaviest first."""
    from massline.demands import policy

    links = list(w.links.all())
    seen = policy.visible(user).filter(pk__in=[link.demand_id for link in links]).select_related("category").in_bulk()
    return [(seen[link.demand_id], link.weight) for link in links if link.demand_id in seen]
