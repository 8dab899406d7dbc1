"""Reads of demands shared by pages, the API and exports. Everything starts from ``policy.visible``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from massline.core.models import Event

from . import policy
from .models import Demand


@dataclass
class Filters:
    q: str = ""
    code: str = ""
    phone: str = ""
    state: str = ""
    type: str = ""
    channel: str = ""
    unit_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool | None = None
    supervision: int | None = None


def search(user, f: Filters) -> QuerySet[Demand]:
    qs = policy.visible(user).select_related("category", "lead_unit", "place", "person")
    if f.code:
        qs = qs.filter(code__iexact=f.code.strip())
    if f.phone:
        qs = qs.filter((Q(person__phone=f.phone.strip()) & policy.identity_q(user)) | Q(agent__phone=f.phone.strip()))
    if f.q:
        qs = qs.filter(Q(title__icontains=f.q) | Q(content__icontains=f.q) | Q(address__icontains=f.q))
    for name in ("state", "type", "channel"):
        value = getattr(f, name)
        if value:
            qs = qs.filter(**{name: value})
    if f.unit_id is not None:
        qs = qs.filter(lead_unit_id=f.unit_id)
    if f.created_from:
        qs = qs.filter(created_at__date__gte=f.created_from)
    if f.created_to:
        qs = qs.filter(created_at__date__lte=f.created_to)
    if f.overdue is not None:
        qs = qs.filter(overdue=f.overdue)
    if f.supervision is not None:
        qs = qs.filter(supervision=f.supervision)
    return qs.order_by("-created_at", "-pk")


def timeline(demand: Demand) -> QuerySet[Event]:
    return Event.objects.filter(chain=demand.chain).order_by("seq")


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    return (name[0] + "*" * (len(name) - 1)) if name else ""


def person_view(user, d: Demand, *, full: bool = False) -> dict:
    """The person as ``user`` may see them: anonymous and confidential identities stay hidden from those
    who may not see them; phone numbers are masked unless ``full`` (a detail view for a role that needs it)."""
    if d.identity == "anonymous" or d.person is None:
        return {"identity": d.identity, "name": "匿名", "phone": ""}
    if not policy.may_see_identity(user, d):
        return {"identity": d.identity, "name": "（保密）", "phone": ""}
    p = d.person
    return {"identity": d.identity, "name": p.name, "phone": p.phone if full else mask_phone(p.phone)}


def earlier_by_phone(user, phone: str, limit: int = 20) -> QuerySet[Demand]:
    """The person's earlier demands, for recognising repeat callers (only what the user may see)."""
    return policy.visible(user).filter(policy.identity_q(user), person__phone=phone.strip()).order_by("-created_at")[:limit]


# --- desks: waiting returns, supervision lists, an area's summary (appended for the staff desks) ------------

OPEN_STATES = ("dispatched", "return_requested", "signed", "in_progress", "suspended", "reopened")


def pending_returns(user) -> QuerySet:
    """Return requests waiting for a ruling on demands ``user`` may see, oldest first."""
    from .models import ReturnRequest

    return (ReturnRequest.objects
            .filter(status=ReturnRequest.Status.PENDING, demand__state="return_requested",
                    demand__in=policy.visible(user).values("pk"))
            .select_related("demand", "demand__lead_unit", "demand__category", "unit", "suggested_unit",
                            "cited_entry", "cited_entry__category", "cited_entry__lead_unit", "requested_by")
            .order_by("created_at", "pk"))


def supervision_list(user, which: str) -> QuerySet[Demand]:
    """Demands for the supervisors' and leaders' desks: ``overdue`` (open and past the deadline),
    ``supervised`` (督办), ``listed`` (挂牌督办), ``due_soon`` (warned, not yet overdue), ``replied``
    (answered, waiting for the callback). Oldest deadline first."""
    from django.db.models import F

    qs = policy.visible(user).select_related("category", "lead_unit", "place")
    if which == "overdue":
        qs = qs.filter(overdue=True, state__in=OPEN_STATES)
    elif which == "supervised":
        qs = qs.filter(supervision=1, state__in=OPEN_STATES)
    elif which == "listed":
        qs = qs.filter(supervision__gte=2, state__in=OPEN_STATES)
    elif which == "due_soon":
        qs = qs.filter(warned=True, overdue=False, state__in=OPEN_STATES)
    elif which == "replied":
        return qs.filter(state="replied").order_by("replied_at", "pk")
    else:
        raise ValueError(which)
    return qs.order_by(F("due_at").asc(nulls_last=True), "pk")


def pending_extensions(user) -> QuerySet:
    """Extension requests waiting for a decision on demands ``user`` may see."""
    from .models import ExtensionRequest

    return (ExtensionRequest.objects
            .filter(status=ExtensionRequest.Status.PENDING, demand__in=policy.visible(user).values("pk"))
            .select_related("demand", "demand__lead_unit", "unit", "requested_by")
            .order_by("created_at", "pk"))


@dataclass
class AreaSummary:
    by_state: list[tuple[str, str, int]]  # (state, label, count)
    total: int
    open: int
    overdue: int
    supervised: int
    listed: int
    received_month: int
    closed_month: int
    rated_month: int
    satisfied_month: int  # satisfied or basically satisfied

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied_month / self.rated_month if self.rated_month else None


def area_summary(user, now) -> AreaSummary:
    """A leader's compact view of the demands in their area, with aggregate queries only: counts by state,
    the open, overdue and supervised ones, this month's received and closed, and this month's callbacks'
    satisfaction (demands excluded from assessment are left out of it)."""
    from django.db.models import Count
    from django.utils import timezone

    from .models import Callback, Satisfaction, State

    local = timezone.localtime(now)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    visible = policy.visible(user)
    counts = dict(visible.order_by().values_list("state").annotate(n=Count("pk")))
    by_state = [(s.value, s.label, counts.get(s.value, 0)) for s in State if counts.get(s.value)]
    agg = visible.order_by().aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(state__in=OPEN_STATES)),
        overdue=Count("pk", filter=Q(state__in=OPEN_STATES, overdue=True)),
        supervised=Count("pk", filter=Q(state__in=OPEN_STATES, supervision=1)),
        listed=Count("pk", filter=Q(state__in=OPEN_STATES, supervision__gte=2)),
        received_month=Count("pk", filter=Q(created_at__gte=month_start)),
        closed_month=Count("pk", filter=Q(state=State.CLOSED, closed_at__gte=month_start)),
    )
    rated = (Callback.objects.filter(created_at__gte=month_start, demand__excluded=False,
                                     demand__in=visible.values("pk"))
             .aggregate(n=Count("pk"),
                        good=Count("pk", filter=Q(satisfaction__in=[Satisfaction.SATISFIED, Satisfaction.BASIC]))))
    return AreaSummary(by_state=by_state, rated_month=rated["n"], satisfied_month=rated["good"], **agg)


# --- the handler's desk (queues) and working time left ------------------------------------------------

HANDLER_TABS: list[tuple[str, str]] = [
    ("sign", "待签收"), ("doing", "办理中"), ("soon", "即将到期"), ("late", "已超期"), ("reopened", "重办"),
    ("co", "协办"),
]
_OPEN_TIMED = ("dispatched", "return_requested", "signed", "in_progress", "reopened")
_DOING = ("signed", "in_progress", "suspended", "return_requested")


def handler_units(user) -> list[str]:
    """The paths of the units where ``user`` is a handler (a handler acts for that unit only, not below it)."""
    from massline.directory.models import Role

    return sorted({g.scope_path for g in policy.grants(user) if g.role == Role.HANDLER and g.scope_path})


def handler_queue(user, tab: str, now=None) -> QuerySet[Demand]:
    """One tab of the handler's desk, over the demands the user sees and whose lead unit is one of theirs:

    - ``sign`` 待签收: dispatched, waiting to be signed for;
    - ``doing`` 办理中: signed, in progress, suspended, or a return waiting for the dispatcher's ruling;
    - ``soon`` 即将到期: open with a deadline, past its warning point and not yet due;
    - ``late`` 已超期: open and overdue (flagged by the sweep, or past its deadline and not yet swept);
    - ``reopened`` 重办: reopened after a dissatisfied callback, or a second round still open;
    - ``co`` 协办: open demands where one of the user's units co-handles.

    Ordered by the nearest deadline first. An unknown tab is ``sign``."""
    from django.db.models import Exists, F, OuterRef

    from massline.core import clock

    from .models import DemandUnit

    now = now or clock.now()
    paths = handler_units(user)
    base = policy.visible(user).select_related("category", "lead_unit", "place", "person")
    if tab == "co":
        co = Exists(DemandUnit.objects.filter(demand=OuterRef("pk"), active=True, role=DemandUnit.Role.CO,
                                              unit_path__in=paths))
        qs = base.filter(co, state__in=(*_OPEN_TIMED, "suspended"))
    else:
        qs = base.filter(lead_path__in=paths)
        if tab == "doing":
            qs = qs.filter(state__in=_DOING)
        elif tab == "soon":
            qs = qs.filter(state__in=_OPEN_TIMED, overdue=False, due_at__gt=now).filter(
                Q(warned=True) | Q(warn_at__lte=now))
        elif tab == "late":
            qs = qs.filter(Q(state__in=_OPEN_TIMED) & (Q(overdue=True) | Q(due_at__lte=now))
                           | Q(state="suspended", overdue=True))
        elif tab == "reopened":
            qs = qs.filter(Q(state="reopened") | Q(round__gt=1, state__in=_DOING))
        else:
            qs = qs.filter(state="dispatched")
    return qs.order_by(F("due_at").asc(nulls_last=True), "pk")


def handler_counts(user, now=None) -> dict[str, int]:
    """How many demands each tab of the handler's desk holds (for the tab labels)."""
    return {key: handler_queue(user, key, now).count() for key, _ in HANDLER_TABS}


def _span_text(minutes: int, per_day: int, day_word: str) -> str:
    days, rest = divmod(max(0, minutes), per_day) if per_day else (0, max(0, minutes))
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} {day_word}")
    if hours:
        parts.append(f"{hours} 小时")
    if not days and mins:
        parts.append(f"{mins} 分钟")
    return " ".join(parts) or "不到 1 分钟"


def time_left(d: Demand, now=None) -> dict:
    """The demand's handling deadline as time left, in words: ``{"text", "level", "minutes"}``.

    Working time (the working calendar: "剩余 1 个工作日 3 小时", "已超期 2 小时") unless the demand's
    time limit runs in calendar time (emergencies: "剩余 1 小时 20 分钟"). ``level`` is ``ok``, ``warn``
    (past the warning point), ``late`` (overdue), ``paused`` (suspended: the clock stands), ``none`` (no
    deadline, or closed). A year missing from the calendar is not guessed: the due time is shown instead."""
    from django.utils import timezone

    from massline.core import calendar as workcalendar
    from massline.core import clock
    from massline.core.workcal import CalendarNotCovered

    now = now or clock.now()
    if d.state == "suspended":
        text = "已挂起，时限暂停"
        if d.paused_remaining is not None and d.deadline_unit:
            if d.paused_remaining < 0:
                return {"text": text + "（挂起前已超期）", "level": "late", "minutes": None}
            text += f"（恢复后剩余 {_paused_text(d.paused_remaining, d.deadline_unit)}）"
        return {"text": text, "level": "paused", "minutes": None}
    if d.deadline_pending and d.state in _OPEN_TIMED:
        return {"text": "期限待算（工作日历未覆盖）", "level": "warn", "minutes": None}
    if d.due_at is None or d.state not in _OPEN_TIMED:
        return {"text": "", "level": "none", "minutes": None}
    calendar_time = d.deadline_unit in ("calendar_hours", "calendar_days")
    try:
        if calendar_time:
            minutes = int((d.due_at - now).total_seconds() // 60)
            per_day, word = 24 * 60, "天"
        else:
            cal = workcalendar.get_calendar()
            per_day, word = cal.hours.minutes_per_day, "个工作日"
            minutes = cal.working_minutes_between(now, d.due_at) if d.due_at > now \
                else -cal.working_minutes_between(d.due_at, now)
    except CalendarNotCovered:
        return {"text": f"期限 {timezone.localtime(d.due_at):%Y-%m-%d %H:%M}", "level": "warn", "minutes": None}
    if d.overdue or d.due_at <= now:
        return {"text": "已超期 " + _span_text(-minutes, per_day, word), "level": "late", "minutes": minutes}
    level = "warn" if d.warned or (d.warn_at is not None and d.warn_at <= now) else "ok"
    return {"text": "剩余 " + _span_text(minutes, per_day, word), "level": level, "minutes": minutes}


def _paused_text(amount: float, unit: str) -> str:
    from massline.core import calendar as workcalendar

    if unit in ("calendar_hours", "calendar_days"):
        minutes = round(amount * (60 if unit == "calendar_hours" else 24 * 60))
        return _span_text(minutes, 24 * 60, "天")
    per_day = workcalendar.get_calendar().hours.minutes_per_day
    minutes = round(amount * (60 if unit == "working_hours" else per_day))
    return _span_text(minutes, per_day, "个工作日")


def with_time_left(demands, now=None) -> list[Demand]:
    """The demands as a list, each with ``.left`` = ``time_left(d)`` (what ``demands/_demand_row.html`` shows)."""
    from massline.core import clock

    now = now or clock.now()
    out = list(demands)
    for d in out:
        d.left = time_left(d, now)
    return out
