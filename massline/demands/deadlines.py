"""Time limits: which policy applies, and when a demand is due, warned, overdue and listed.

Policies are data (``DeadlinePolicy``); the arithmetic is the working calendar's. A deadline that needs a
year the calendar does not cover is not guessed: the demand is marked ``deadline_pending``, an alert is
raised, and the sweep computes it once the year is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from massline.core import calendar as workcalendar
from massline.core.workcal import CalendarNotCovered

from .models import DeadlinePolicy, Demand, State

DEFAULT_AMOUNT = 7  # working days, when no policy matches at all


@dataclass
class Limits:
    policy: DeadlinePolicy | None
    unit: str
    amount: float
    sign_due_at: datetime
    due_at: datetime
    warn_at: datetime


def policy_for(demand: Demand, policies: list[DeadlinePolicy] | None = None) -> DeadlinePolicy | None:
    """The most specific active policy: urgency first (an emergency beats its category), then the
    deepest matching category, then the type."""
    lineage = demand.category.lineage_ids() if demand.category_id and demand.category else []
    candidates = policies if policies is not None else list(DeadlinePolicy.objects.filter(active=True))
    best: tuple[tuple[int, int, int], DeadlinePolicy] | None = None
    for p in candidates:
        if p.demand_type and p.demand_type != demand.type:
            continue
        if p.urgency and p.urgency != demand.urgency:
            continue
        if p.category_id and p.category_id not in lineage:
            continue
        depth = len(lineage) - lineage.index(p.category_id) if p.category_id else 0
        score = (1 if p.urgency else 0, depth, 1 if p.demand_type else 0)
        if best is None or score > best[0] or (score == best[0] and p.pk < best[1].pk):
            best = (score, p)
    return best[1] if best else None


def compute(demand: Demand, start: datetime, policy: DeadlinePolicy | None = None) -> Limits:
    """The limits for a demand dispatched at ``start``. Raises CalendarNotCovered."""
    policy = policy if policy is not None else policy_for(demand)
    cal = workcalendar.get_calendar()
    if policy is None:
        unit, amount, sign_unit, sign_amount, share = "working_days", float(DEFAULT_AMOUNT), "working_hours", 2.0, 0.8
    else:
        unit, amount = policy.unit, float(policy.amount)
        sign_unit, sign_amount, share = policy.sign_unit, float(policy.sign_amount), float(policy.warn_share)
    due = cal.add(start, amount, unit)
    sign_due = min(cal.add(start, sign_amount, sign_unit), due)
    warn = cal.add(start, amount * share, unit)
    return Limits(policy, unit, amount, sign_due, due, warn)


def extend(due: datetime, working_days: int) -> datetime:
    return workcalendar.get_calendar().add(due, working_days, "working_days")


def remaining(now: datetime, due: datetime, unit: str) -> float:
    return workcalendar.get_calendar().remaining(now, due, unit)


def resume_due(now: datetime, remaining_amount: float, unit: str) -> datetime:
    return workcalendar.get_calendar().add(now, max(remaining_amount, 0.0), unit)


def listing_time(demand: Demand) -> datetime:
    p = demand.policy
    unit, amount = (p.listing_unit, float(p.listing_after)) if p else ("working_days", 3.0)
    assert demand.due_at is not None
    return workcalendar.get_calendar().add(demand.due_at, amount, unit)


def callback_deadline(replied_at: datetime) -> datetime:
    return workcalendar.get_calendar().add(replied_at, settings.MASSLINE["CALLBACK_WINDOW_DAYS"], "working_days")


TIMED = {State.DISPATCHED, State.RETURN_REQUESTED, State.SIGNED, State.IN_PROGRESS, State.REOPENED}
PENDING_RETRY = timedelta(hours=6)


def next_sweep(d: Demand, now: datetime) -> datetime | None:
    """When the sweep must next look at ``d`` (the indexed ``sweep_at`` column). Raises CalendarNotCovered
    only for stages that need the calendar."""
    if d.state in TIMED:
        if d.deadline_pending:
            return now + PENDING_RETRY
        if d.due_at is None:
            return None
        if not d.warned and d.warn_at is not None:
            return d.warn_at
        if not d.overdue:
            return d.due_at
        if d.supervision < 2:
            return listing_time(d)
        return None
    if d.state == State.REPLIED and d.replied_at is not None:
        return callback_deadline(d.replied_at)
    return None


def safe_next_sweep(d: Demand, now: datetime) -> datetime | None:
    try:
        return next_sweep(d, now)
    except CalendarNotCovered as exc:
        workcalendar.raise_gap_alert(exc.year)
        return now + PENDING_RETRY
