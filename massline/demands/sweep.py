"""The deadline authority. One pass looks only at demands whose indexed ``sweep_at`` has come, in
locked batches (``SKIP LOCKED`` on PostgreSQL), so any number of hosts may run it at once and each
stage — warning, overdue with supervision (督办), listing for a leader (挂牌督办), closing an unrated
reply, computing a deadline that waited for the calendar — happens exactly once."""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from massline.core import calendar as workcalendar
from massline.core import clock, events, notify
from massline.core.events import Actor, Entry
from massline.core.workcal import CalendarNotCovered
from massline.directory.models import Role, RoleAssignment

from . import deadlines, hooks
from .models import Demand, State

log = logging.getLogger("massline.sweep")
SWEEP_ACTOR = Actor.system("期限巡检")


@dataclass
class SweepReport:
    examined: int = 0
    warned: int = 0
    overdue: int = 0
    listed: int = 0
    auto_closed: int = 0
    deadlines_computed: int = 0
    lost: int = 0
    batches: int = 0
    stages: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "stages"}


class _Recipients:
    """Role holders loaded once per pass, so a batch of notifications costs no query per demand."""

    def __init__(self) -> None:
        self.handlers: dict[int, list[int]] = defaultdict(list)
        self.scoped: dict[str, list[tuple[int, str]]] = defaultdict(list)
        rows = RoleAssignment.objects.filter(active=True, user__is_active=True).select_related("scope")
        for ra in rows.only("user_id", "role", "scope_id", "scope__path"):
            if ra.role == Role.HANDLER and ra.scope_id:
                self.handlers[ra.scope_id].append(ra.user_id)
            self.scoped[ra.role].append((ra.user_id, ra.scope.path if ra.scope else ""))

    def over(self, role: str, path: str) -> list[int]:
        return [uid for uid, scope in self.scoped.get(role, []) if scope == "" or (path and path.startswith(scope))]

    def for_demand(self, d: Demand, *roles: str) -> list[int]:
        if d.type == "report":
            return self.over(Role.DISCIPLINE, d.area_path or d.lead_path)
        out: list[int] = []
        for role in roles:
            if role == Role.HANDLER:
                out += self.handlers.get(d.lead_unit_id or 0, [])
            else:
                out += self.over(role, d.area_path or d.lead_path)
        return out


def _stage(d: Demand, now: datetime) -> tuple[str, dict[str, Any]] | None:
    """The next stage due for ``d`` at ``now``, with the fields it changes (applied to ``d``)."""
    if d.state in deadlines.TIMED:
        if d.deadline_pending:
            try:
                limits = deadlines.compute(d, d.dispatched_at or now)
            except CalendarNotCovered as exc:
                workcalendar.raise_gap_alert(exc.year)
                return None
            return "deadline_computed", {
                "deadline_pending": False, "policy_id": limits.policy.pk if limits.policy else None,
                "policy": limits.policy, "deadline_unit": limits.unit, "deadline_amount": limits.amount,
                "due_at": limits.due_at, "warn_at": limits.warn_at, "sign_due_at": limits.sign_due_at,
            }
        if d.due_at is None:
            return None
        if not d.warned and d.warn_at is not None and d.warn_at <= now:
            return "deadline_warning", {"warned": True}
        if not d.overdue and d.due_at <= now:
            return "overdue", {"overdue": True, "warned": True, "supervision": max(1, d.supervision),
                               "supervised_at": d.supervised_at or now}
        if d.overdue and d.supervision < 2 and deadlines.listing_time(d) <= now:
            return "listed_supervision", {"supervision": 2, "listed_at": now}
        return None
    if d.state == State.REPLIED and d.replied_at is not None and deadlines.callback_deadline(d.replied_at) <= now:
        return "auto_close", {"state": State.CLOSED, "closed_at": now}
    return None


_COUNTERS = {"deadline_warning": "warned", "overdue": "overdue", "listed_supervision": "listed",
             "auto_close": "auto_closed", "deadline_computed": "deadlines_computed"}


def _notify(d: Demand, stage: str, rec: _Recipients, out: list[tuple[list[int], str, str]]) -> None:
    if stage == "deadline_warning":
        out.append((rec.for_demand(d, Role.HANDLER), "deadline_warning", f"临期预警 {d.code}：{d.title}"))
    elif stage == "overdue":
        out.append((rec.for_demand(d, Role.HANDLER, Role.SUPERVISOR), "overdue", f"超期督办 {d.code}：{d.title}"))
    elif stage == "listed_supervision":
        out.append((rec.for_demand(d, Role.LEADER, Role.SUPERVISOR), "listed", f"挂牌督办 {d.code}：{d.title}"))


def _cas_update(rows: list[tuple[int, str, int, dict[str, Any]]]) -> set[int]:
    """Write each row's changed fields only where its state and version are still those it was read with
    (compare-and-swap); the ids that won. On PostgreSQL one ``UPDATE … FROM unnest(arrays) … RETURNING`` per
    set of changed fields instead of one statement per row (the rows are locked anyway; the CAS stays as the
    guard); elsewhere the plain per-row update."""
    if connection.vendor != "postgresql":
        return {pk for pk, state, version, fields in rows
                if Demand.objects.filter(pk=pk, state=state, version=version).update(**fields)}
    groups: dict[tuple[str, ...], list[tuple[int, str, int, dict[str, Any]]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row[3]))].append(row)
    meta, qn = Demand._meta, connection.ops.quote_name
    pk_col, state_col, version_col = (qn(meta.get_field(n).column) for n in ("id", "state", "version"))
    key_types = [meta.get_field(n).db_type(connection) for n in ("id", "state", "version")]
    won: set[int] = set()
    for names, members in groups.items():
        model_fields = [meta.get_field(n) for n in names]
        cols = [qn(f.column) for f in model_fields]
        arrays = ", ".join(f"%s::{t}[]" for t in key_types + [f.db_type(connection) for f in model_fields])
        params: list[list[Any]] = [[m[0] for m in members], [m[1] for m in members], [m[2] for m in members]]
        params += [[f.get_db_prep_save(m[3][n], connection) for m in members]
                   for n, f in zip(names, model_fields, strict=True)]
        sql = (f"UPDATE {qn(meta.db_table)} AS d SET {', '.join(f'{c} = v.{c}' for c in cols)} "
               f"FROM unnest({arrays}) AS v(_pk, _state, _version, {', '.join(cols)}) "
               f"WHERE d.{pk_col} = v._pk AND d.{state_col} = v._state AND d.{version_col} = v._version "
               f"RETURNING d.{pk_col}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            won.update(row[0] for row in cursor.fetchall())
    return won


def sweep(now: datetime | None = None, batch: int | None = None, max_batches: int | None = None) -> SweepReport:
    """One pass over everything due by ``now``."""
    now = now or clock.now()
    batch = batch or settings.MASSLINE["SWEEP_BATCH"]
    report = SweepReport()
    rec: _Recipients | None = None
    skip_locked = connection.features.has_select_for_update_skip_locked
    lost_ids: set[int] = set()  # rows changed under us; without them every handled row leaves the window
    while max_batches is None or report.batches < max_batches:
        with transaction.atomic():
            # ordered by the indexed sweep_at alone, so the LIMIT stops the index scan after one batch; with a
            # tie-breaker (pk) every pass would read and sort all rows due at the same instant, once per batch
            qs = Demand.objects.filter(sweep_at__lte=now).exclude(pk__in=lost_ids).order_by("sweep_at")
            if skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            rows = list(qs.select_related("policy", "category").defer("content", "restatement")[:batch])
            rows.sort(key=lambda d: (d.sweep_at, d.pk))
            if not rows:
                break
            report.batches += 1
            entries: list[Entry] = []
            messages: list[tuple[list[int], str, str]] = []
            changed: list[tuple[Demand, str, int, dict[str, Any], list[Entry], list[tuple[list[int], str, str]]]] = []
            for d in rows:
                report.examined += 1
                original_state, original_version = d.state, d.version
                before = copy.copy(d)  # for the in-transaction hooks (rollups)
                fields: dict[str, Any] = {}
                row_entries: list[Entry] = []
                row_messages: list[tuple[list[int], str, str]] = []
                for _ in range(5):
                    step = _stage(d, now)
                    if step is None:
                        break
                    name, changes = step
                    prev_state = d.state
                    for k, v in changes.items():
                        setattr(d, k, v)
                    fields.update(changes)
                    row_entries.append(Entry(d.chain, name, SWEEP_ACTOR, from_state=prev_state, to_state=d.state, at=now,
                                         data={"due_at": d.due_at.isoformat() if d.due_at else None,
                                               "supervision": d.supervision}))
                    if rec is None and name in ("deadline_warning", "overdue", "listed_supervision"):
                        rec = _Recipients()
                    if rec is not None:
                        _notify(d, name, rec, row_messages)
                fields.pop("policy", None)
                fields["sweep_at"] = deadlines.safe_next_sweep(d, now)
                if fields["sweep_at"] is not None and fields["sweep_at"] <= now:
                    fields["sweep_at"] = None  # nothing more can happen at this moment; never loop on a row
                if len(fields) > 1:
                    fields["version"] = original_version + 1
                    fields["updated_at"] = now
                changed.append((d, original_state, original_version, fields, row_entries, row_messages, before))
            won = _cas_update([(d.pk, state, version, fields) for d, state, version, fields, _, _, _ in changed])
            hook_changes: list[hooks.Change] = []
            for d, _, _, _, row_entries, row_messages, before in changed:
                if d.pk not in won:
                    # changed under us (only possible without row locks): its stages wait for the next pass
                    report.lost += 1
                    lost_ids.add(d.pk)
                    continue
                entries += row_entries
                messages += row_messages
                if row_entries:
                    hook_changes.append(hooks.Change(before, d, tuple(e.action for e in row_entries), now))
            events.record_many(entries)
            hooks.changed(hook_changes)
            for e in entries:
                report.stages[e.action] = report.stages.get(e.action, 0) + 1
                counter = _COUNTERS.get(e.action)
                if counter:
                    setattr(report, counter, getattr(report, counter) + 1)
            notify.inbox_many([(ids, kind, title, "", "") for ids, kind, title in messages])
        if len(rows) < batch:
            break
    return report
