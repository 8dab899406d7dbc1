"""Keeping the rate rollups exact: maintained in the transaction of every demand change, recomputed from the
event record on demand (``rebuild``), and compared with a recomputation (``check``).

A *fact* is what a rate counts: a **response** (a sign, 签收, on time or late) or a **rating** (a callback,
回访: resolved or not, satisfied / basically satisfied / dissatisfied). Each fact belongs to the period of the
moment it became final (the sign, the callback), to the demand's lead unit at that moment, and to the areas
(district, street, community, grid) of the demand's place. A demand's facts count unless the definition
excludes the demand (certified unreasonable, merged, withdrawn, a whistle-blowing report): when a change
excludes a demand, the facts it had contributed are taken back from their own periods.

Invariant (checked by ``check``): for every rollup row, the counts are the sum of the facts of the counted
demands, where a demand's facts are read from its events (``replay``); demands written without events (the
demo city's bulk loader) are read from their rows (``row_facts``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from massline.core.models import Event
from massline.demands import policy
from massline.demands.hooks import Change
from massline.demands.models import Callback, Demand, DemandType, DemandUnit, Satisfaction, State
from massline.directory.models import Org

from .models.rollups import COUNTERS, Level, RateRollup, RateRollupCheck
from .rates import RateDefinition, definition, local_date, period_starts, window

log = logging.getLogger("massline.insight.rollups")

RESPONSE, RATING = "response", "rating"
# the events a replay reads: the lead unit changes at dispatch and re-dispatch; facts at sign and callback
REPLAY_ACTIONS = ("receive", "dispatch", "uphold_return", "sign", "callback")
AREA_LEVEL = {"district": Level.DISTRICT, "street": Level.STREET, "township": Level.STREET,
              "community": Level.COMMUNITY, "village": Level.COMMUNITY, "grid": Level.GRID}
Key = tuple[str, date, str, int]


@dataclass(frozen=True)
class Fact:
    demand_id: int
    kind: str  # RESPONSE | RATING
    at: datetime
    unit_id: int | None
    area_path: str
    on_time: bool = False
    resolved: bool = False
    satisfaction: str = ""

    def vector(self) -> tuple[int, int, int, int, int, int]:
        """The fact's contribution to (signed, signed_on_time, rated, resolved, satisfied, basic)."""
        if self.kind == RESPONSE:
            return (1, int(self.on_time), 0, 0, 0, 0)
        return (0, 0, 1, int(self.resolved), int(self.satisfaction == Satisfaction.SATISFIED),
                int(self.satisfaction == Satisfaction.BASIC))


def counted(d: Demand, defn: RateDefinition) -> bool:
    """Do this demand's facts count under the definition?"""
    ex = defn.exclude
    if "report" in ex and d.type == DemandType.REPORT:
        return False
    if "merged" in ex and d.merged_into_id:
        return False
    if "withdrawn" in ex and d.state == State.WITHDRAWN:
        return False
    return not ("certified" in ex and d.excluded)


# --- where a fact goes ------------------------------------------------------------------------------------

def _path_ids(path: str) -> list[int]:
    return [int(p) for p in (path or "").strip("/").split("/") if p]


# An org's kind is set when it is created and never changed by the services, and PostgreSQL never hands out an
# id twice: there the kinds are kept for the life of the process (one query less per fact). Not on SQLite, where
# a rolled-back test transaction gives the same ids to the next test's different orgs.
_KINDS: dict[int, str] = {}


class Areas:
    """The (level, org id) pairs of an area path, from the kinds of the orgs on it."""

    def __init__(self, paths: Iterable[str] = (), everything: bool = False) -> None:
        self.kinds: dict[int, str] = dict(_KINDS) if connection.vendor == "postgresql" else {}
        if everything:
            self.kinds = dict(Org.objects.values_list("pk", "kind"))
        else:
            self.load(paths)
        self._cache: dict[str, list[tuple[str, int]]] = {}

    def load(self, paths: Iterable[str]) -> None:
        ids = {i for p in paths for i in _path_ids(p)} - set(self.kinds)
        if ids:
            found = dict(Org.objects.filter(pk__in=ids).values_list("pk", "kind"))
            self.kinds.update(found)
            if connection.vendor == "postgresql" and len(_KINDS) < 200_000:
                _KINDS.update(found)

    def of(self, path: str) -> list[tuple[str, int]]:
        out = self._cache.get(path)
        if out is None:
            out = [(AREA_LEVEL[self.kinds[i]], i) for i in _path_ids(path) if self.kinds.get(i) in AREA_LEVEL]
            self._cache[path] = out
        return out


class Tally:
    """Counts per rollup key, added up in memory and then written with one upsert per few hundred keys."""

    def __init__(self, areas: Areas) -> None:
        self.areas = areas
        self.rows: dict[Key, list[int]] = defaultdict(lambda: [0] * len(COUNTERS))

    def add(self, fact: Fact, sign: int = 1) -> None:
        vec = fact.vector()
        targets = self.areas.of(fact.area_path)
        if fact.unit_id is not None:
            targets = [(Level.UNIT, fact.unit_id), *targets]
        for period, start in period_starts(local_date(fact.at)):
            for level, org_id in targets:
                row = self.rows[(str(period), start, str(level), org_id)]
                for i, v in enumerate(vec):
                    row[i] += sign * v

    def flush(self, model=RateRollup) -> int:
        n = upsert(model, self.rows)
        self.rows.clear()
        return n


def upsert(model, rows: dict[Key, list[int]]) -> int:
    """Add ``rows`` to the table: ``INSERT … ON CONFLICT (key) DO UPDATE SET n = n + EXCLUDED.n`` (PostgreSQL
    and SQLite alike), keys in sorted order so that concurrent transactions lock rows in the same order."""
    items = sorted((k, v) for k, v in rows.items() if any(v))
    if not items:
        return 0
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    key_cols = ["period", "start", "level", "org_id"]
    cols = ", ".join(qn(c) for c in [*key_cols, *COUNTERS])
    sets = ", ".join(f"{qn(c)} = {table}.{qn(c)} + EXCLUDED.{qn(c)}" for c in COUNTERS)
    width = 4 + len(COUNTERS)
    chunk = 500 if connection.vendor == "postgresql" else 90
    with connection.cursor() as cursor:
        for i in range(0, len(items), chunk):
            part = items[i:i + chunk]
            values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(part))
            params: list = []
            for (period, start, level, org_id), vec in part:
                params += [period, connection.ops.adapt_datefield_value(start), level, org_id, *vec]
            cursor.execute(f"INSERT INTO {table} ({cols}) VALUES {values} "
                           f"ON CONFLICT ({', '.join(qn(c) for c in key_cols)}) DO UPDATE SET {sets}", params)
    return len(items)


# --- a demand's facts ----------------------------------------------------------------------------------------

def _event_facts(d: Demand, evs: list[tuple[str, datetime, dict]], code_ids: dict[str, int]) -> list[Fact]:
    """Replay a demand's events (action, at, data), in order: the lead unit as of each sign and callback."""
    lead: int | None = None
    out: list[Fact] = []
    for action, at, data in evs:
        if action in ("dispatch", "uphold_return"):
            lead = code_ids.get((data or {}).get("lead"))
        elif action == "sign":
            out.append(Fact(d.pk, RESPONSE, at, lead, d.area_path, on_time=not (data or {}).get("late")))
        elif action == "callback":
            out.append(Fact(d.pk, RATING, at, lead, d.area_path, resolved=bool((data or {}).get("resolved")),
                            satisfaction=(data or {}).get("satisfaction") or ""))
    return out


def row_facts(d: Demand, callbacks: Iterable[Callback]) -> list[Fact]:
    """The facts of a demand written without events (the bulk loader): its sign and its callbacks."""
    out: list[Fact] = []
    if d.signed_at is not None:
        out.append(Fact(d.pk, RESPONSE, d.signed_at, d.lead_unit_id, d.area_path, on_time=not d.signed_late))
    for cb in callbacks:
        out.append(Fact(d.pk, RATING, cb.created_at, d.lead_unit_id, d.area_path, resolved=cb.resolved,
                        satisfaction=cb.satisfaction))
    return out


def facts_of(demands: list[Demand], code_ids: dict[str, int] | None = None) -> dict[int, list[Fact]]:
    """Every fact of each demand (whether or not it counts), from its events (two queries for the lot)."""
    if not demands:
        return {}
    chains = {d.chain: d for d in demands}
    evs: dict[int, list[tuple[str, datetime, dict]]] = defaultdict(list)
    rows = (Event.objects.filter(chain__in=list(chains), action__in=REPLAY_ACTIONS).order_by("chain", "seq")
            .values_list("chain", "action", "at", "data"))
    for chain, action, at, data in rows:
        evs[chains[chain].pk].append((action, at, data))
    if code_ids is None:
        codes = {(data or {}).get("lead") for lst in evs.values() for a, _, data in lst
                 if a in ("dispatch", "uphold_return")}
        code_ids = dict(Org.objects.filter(code__in=[c for c in codes if c]).values_list("code", "pk"))
    without = [d.pk for d in demands if not evs.get(d.pk)]
    cbs: dict[int, list[Callback]] = defaultdict(list)
    if without:
        for cb in Callback.objects.filter(demand_id__in=without).order_by("created_at", "pk"):
            cbs[cb.demand_id].append(cb)
    out: dict[int, list[Fact]] = {}
    for d in demands:
        out[d.pk] = _event_facts(d, evs[d.pk], code_ids) if evs.get(d.pk) else row_facts(d, cbs.get(d.pk, []))
    return out


# --- maintained in the transaction of each change -------------------------------------------------------------

def _new_facts(ch: Change) -> list[Fact]:
    """The facts this change makes final (a sign, a callback), with the lead unit as it was."""
    out: list[Fact] = []
    d, b = ch.after, ch.before
    unit = b.lead_unit_id if b is not None else d.lead_unit_id
    for action in ch.actions:
        if action == "sign":
            out.append(Fact(d.pk, RESPONSE, ch.at, unit, d.area_path, on_time=not d.signed_late))
        elif action == "callback":
            out.append(Fact(d.pk, RATING, ch.at, unit, d.area_path, resolved=bool(d.resolved),
                            satisfaction=d.satisfaction or ""))
    return out


def on_changed(changes: list[Change]) -> None:
    """The in-transaction hook (registered in ``InsightConfig.ready``): add what the changes made final; when
    a change excludes a demand (or brings one back), take back (or add) every fact it had."""
    defn = definition()
    plus: list[Fact] = []
    minus: list[Fact] = []
    flipped: list[tuple[Change, bool, bool]] = []
    bulk: list[Demand] = []
    for ch in changes:
        if ch.actions == ("bulk",):
            if counted(ch.after, defn):
                bulk.append(ch.after)
            continue
        now = counted(ch.after, defn)
        was = counted(ch.before, defn) if ch.before is not None else now
        if was == now:
            if now:
                plus += _new_facts(ch)
        else:
            flipped.append((ch, was, now))
    if flipped:
        history = facts_of([ch.after for ch, _, _ in flipped])
        for ch, was, now in flipped:
            facts = history[ch.after.pk]
            if was:
                new = _new_facts(ch)
                minus += [f for f in facts if f not in new]
            if now:
                plus += facts
    if bulk:
        for facts in facts_of(bulk).values():
            plus += facts
    if not plus and not minus:
        return
    tally = Tally(Areas({f.area_path for f in plus + minus}))
    for f in plus:
        tally.add(f)
    for f in minus:
        tally.add(f, -1)
    tally.flush()


# --- recomputation --------------------------------------------------------------------------------------------

_DEMAND_FIELDS = ("id", "type", "state", "merged_into_id", "excluded", "area_path", "lead_unit_id", "signed_at",
                  "signed_late")


def _recompute(into, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Empty ``into`` and fill it from every counted demand's facts. Returns the demands read."""
    defn = definition()
    into.objects.all().delete()
    code_ids = dict(Org.objects.values_list("code", "pk"))
    tally = Tally(Areas(everything=True))
    last, seen = 0, 0
    while True:
        ds = list(Demand.objects.filter(pk__gt=last).order_by("pk").only(*_DEMAND_FIELDS)[:batch])
        if not ds:
            break
        last = ds[-1].pk
        seen += len(ds)
        for facts in facts_of([d for d in ds if counted(d, defn)], code_ids).values():
            for f in facts:
                tally.add(f)
        if len(tally.rows) > 50_000:
            tally.flush(into)
        if progress:
            progress(seen)
    tally.flush(into)
    return seen


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Recompute the rollups from the record, in one transaction. On PostgreSQL the rollup table is locked
    (EXCLUSIVE: reads go on, changes that would add to it wait) so that no change is counted twice or lost."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {connection.ops.quote_name(RateRollup._meta.db_table)} IN EXCLUSIVE MODE")
        return _recompute(RateRollup, progress=progress)


@dataclass(frozen=True)
class Difference:
    period: str
    start: date
    level: str
    org_id: int
    delta: tuple[int, ...]  # kept minus recomputed, per counter

    def __str__(self) -> str:
        parts = ", ".join(f"{c} {v:+d}" for c, v in zip(COUNTERS, self.delta, strict=True) if v)
        return f"{self.period} {self.start} {self.level} org={self.org_id}: {parts}"


def check() -> list[Difference]:
    """Recompute into the scratch table and compare with the kept rollups (the scratch rows are rolled back).
    Outside a transaction on PostgreSQL it runs in one REPEATABLE READ snapshot, so concurrent changes do not
    show up as differences."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _recompute(RateRollupCheck)
        diffs = compare()
        transaction.set_rollback(True)
    return diffs


def compare(kept=RateRollup, fresh=RateRollupCheck) -> list[Difference]:
    qn = connection.ops.quote_name
    keys = ", ".join(qn(c) for c in ("period", "start", "level", "org_id"))
    plus = ", ".join(qn(c) for c in COUNTERS)
    neg = ", ".join(f"-{qn(c)}" for c in COUNTERS)
    sums = ", ".join(f"SUM({qn(c)})" for c in COUNTERS)
    having = " OR ".join(f"SUM({qn(c)}) <> 0" for c in COUNTERS)
    sql = (f"SELECT {keys}, {sums} FROM (SELECT {keys}, {plus} FROM {qn(kept._meta.db_table)} "
           f"UNION ALL SELECT {keys}, {neg} FROM {qn(fresh._meta.db_table)}) AS u "
           f"GROUP BY {keys} HAVING {having} ORDER BY {keys}")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    out = []
    for period, start, level, org_id, *delta in rows:
        if isinstance(start, str):
            start = date.fromisoformat(start)
        out.append(Difference(period, start, level, org_id, tuple(int(v) for v in delta)))
    return out


# --- the demands behind a figure -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Behind:
    """The demands behind one org's figure in one period, as the user may see them."""

    response: list[tuple[Demand, Fact]]
    rating: list[tuple[Demand, Fact]]
    hidden: int  # facts of demands the user may not see (counted in the figure, not listed)
    too_many: int = 0  # more candidate demands than the limit: nothing listed (look at a smaller org)


BEHIND_LIMIT = 20_000


def facts_behind(user, period: str, start: date, level: str, org: Org, limit: int | None = None) -> Behind:
    """Every fact counted in ``org``'s figure (the same replay the check uses), newest first, with its demand.
    Reads only the demands that can have a fact there: those of the unit (or the area) alive in the period;
    when there are more than ``limit`` of them (a whole district's month), lists nothing and says so."""
    defn = definition()
    since, until = window(period, start)
    qs = Demand.objects.filter(created_at__lt=until).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=since - timedelta(minutes=1)))
    if level == Level.UNIT:
        qs = qs.filter(pk__in=DemandUnit.objects.filter(unit=org, role=DemandUnit.Role.LEAD).values("demand_id"))
    else:
        qs = qs.filter(area_path__startswith=org.path)
    candidates = qs.count()
    if candidates > (BEHIND_LIMIT if limit is None else limit):
        return Behind([], [], 0, too_many=candidates)
    ds = [d for d in qs.select_related("lead_unit", "category").defer("content", "restatement") if counted(d, defn)]
    visible = set(policy.visible(user).filter(pk__in=[d.pk for d in ds]).values_list("pk", flat=True))
    by_id = {d.pk: d for d in ds}
    response: list[tuple[Demand, Fact]] = []
    rating: list[tuple[Demand, Fact]] = []
    hidden = 0
    for pk, facts in facts_of(ds).items():
        for f in facts:
            if not since <= f.at < until:
                continue
            if level == Level.UNIT and f.unit_id != org.pk:
                continue
            if pk not in visible:
                hidden += 1
                continue
            (response if f.kind == RESPONSE else rating).append((by_id[pk], f))
    response.sort(key=lambda x: x[1].at, reverse=True)
    rating.sort(key=lambda x: x[1].at, reverse=True)
    return Behind(response, rating, hidden)
